// Kiln's benchmark harness: Kiln and its peers side by side in headless Chromium, same adapter.
//   npx tsx bench/run.ts            SwiftShader (software WebGPU), the default on machines without a GPU
//   npx tsx bench/run.ts --gpu      let Chromium pick the real GPU (drops the software flags)
//   npx tsx bench/run.ts --node     Kiln's workloads in Node through Dawn instead (runs bench/node.ts)
// Options: --only=kiln,tfjs,jax,ort,kiln-unfused,handwritten  --workloads=matmul,mlp,conv,cnn,infer,mlpinfer,attn,encoder
//          --quick  --out=NAME  --chrome=PATH
//          --kiln=PATH: the Kiln bundle to test (relative to the repository root; default dist/kiln.js)
//          --tune[=n] | --tune-focus[=n]: sweep hand-written kernel shapes at size n (default 1024)
// Writes bench/results/latest.{json,md} (not with --only/--workloads, unless --out=NAME is given).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { serveRepo, type StaticServer } from './server';
import { encodePNG, renderBarChart } from '../src/train/plot';
import { focusCandidates, tuneCandidates } from './handwritten/matmul';
import {
  ATTN, CNN, CONV_SHAPES, convLabel, ENCODER, type AdapterInfo, type AttnResult, type ConvResult, type InferResult, type MatmulResult, type MlpResult,
  timingOpts, type TimingOpts,
} from './pages/common';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const buildDir = path.join(here, '.build');

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name: string) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
if (flag('help')) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 9).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
if (flag('node')) { // the same options, to the Node runner
  const r = spawnSync(process.execPath, [...process.execArgv, path.join(here, 'node.ts'), ...argv.filter((a) => a !== '--node')], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const GPU = flag('gpu');
const QUICK = flag('quick');
const CHROME = value('chrome') ?? process.env.CHROME ?? '/usr/bin/chromium';
/** the Kiln bundle the Kiln page imports, relative to the repository root (default dist/kiln.js) */
const KILN_BUNDLE = (value('kiln') ?? 'dist/kiln.js').replace(/^\/+/, '');

const WORKLOADS = ['matmul', 'mlp', 'conv', 'cnn', 'infer', 'mlpinfer', 'attn', 'encoder'] as const;
type Workload = typeof WORKLOADS[number];
/** `page`: the page it runs in (default: its id), `variant`: passed to that page's attention() */
interface System { id: string; label: string; version: string; workloads: readonly Workload[]; page?: string; variant?: string }
const pkgVersion = (name: string) => {
  try { return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version as string; }
  catch { return '?'; }
};
/** the Kiln bundle's size, as the build prints it, and gzipped (what a page downloads) */
const bundleSize = () => {
  const file = path.join(root, KILN_BUNDLE);
  if (!fs.existsSync(file)) return `${KILN_BUNDLE} missing`;
  const bytes = fs.readFileSync(file);
  return `${KILN_BUNDLE} ${(bytes.length / 1024).toFixed(1)} KiB (${(gzipSync(bytes).length / 1024).toFixed(1)} KiB gzipped)`;
};
const kilnVersion = () => {
  const dist = path.join(root, KILN_BUNDLE);
  const v = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  return fs.existsSync(dist) ? `${v} (${KILN_BUNDLE} ${new Date(fs.statSync(dist).mtimeMs).toISOString()})` : `${v} (${KILN_BUNDLE} missing)`;
};
const SYSTEMS: System[] = [
  { id: 'kiln', label: 'Kiln', version: kilnVersion(), workloads: WORKLOADS },
  { id: 'tfjs', label: 'TF.js webgpu', version: `tfjs-core ${pkgVersion('@tensorflow/tfjs-core')}, backend-webgpu ${pkgVersion('@tensorflow/tfjs-backend-webgpu')}`, workloads: WORKLOADS },
  { id: 'jax', label: 'jax-js webgpu', version: `@jax-js/jax ${pkgVersion('@jax-js/jax')}`, workloads: ['matmul', 'mlp', 'conv', 'cnn', 'infer', 'mlpinfer', 'attn'] },
  { id: 'ort', label: 'ORT Web webgpu', version: `onnxruntime-web ${pkgVersion('onnxruntime-web')}`, workloads: ['mlpinfer', 'infer', 'encoder'] },
  // Kiln's attention written out (matmul, scale, softmax, matmul) with fusion off: the unfused baseline
  { id: 'kiln-unfused', label: 'Kiln unfused attention', version: 'the Kiln page, variant unfused', workloads: ['attn'], page: 'kiln', variant: 'unfused' },
  { id: 'handwritten', label: 'hand-written WGSL', version: 'bench/handwritten/matmul.ts', workloads: ['matmul'] },
];
const can = (id: string, w: Workload) => !!SYSTEMS.find((s) => s.id === id)?.workloads.includes(w);
const only = value('only')?.split(',');
const systems = SYSTEMS.filter((s) => !only || only.includes(s.id));
const workloads = value('workloads')?.split(',') ?? [...WORKLOADS];
const unknown = workloads.filter((w) => !(WORKLOADS as readonly string[]).includes(w));
if (unknown.length) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${WORKLOADS.join(', ')}`);
/** attention sequence lengths: --quick leaves out 2048 (tens of seconds per call for the slow peers here) */
const SEQS = QUICK ? ATTN.seqs.filter((n) => n <= 512) : ATTN.seqs;
const SIZES = [256, 512, 1024];

// how long each kind of case is timed (pages/common.ts: shared with the Node runner)
const { matmul: matmulOpts, mlp: mlpOpts, conv: convOpts, cnn: cnnOpts, infer: inferOpts, attn: attnOpts } = timingOpts(QUICK);
const WORKLOAD_TIMEOUT_MS = 300_000;
// one conv case / the CNN step / one inference batch: TF.js's backward conv at 16x64x56x56 takes
// 25-70 s per call here, and a case makes about four calls
const SLOW_WORKLOAD_TIMEOUT_MS = 600_000;
// one attention case: at seq 2048 a forward + backward call takes minutes here for the slow systems
// (Kiln's flash kernels ~2 min under load), and a case makes about four calls
const ATTN_TIMEOUT_MS = 1_500_000;

// Headless Chromium flags. Verified here (Chromium 156, no GPU): `--headless=new --enable-unsafe-webgpu`
// alone yields the SwiftShader Vulkan adapter (google / swiftshader); without --enable-unsafe-webgpu
// requestAdapter() returns null. --use-vulkan=swiftshader pins SwiftShader even where a GPU exists;
// --gpu drops it and lets Chromium/Dawn pick the hardware adapter.
// --js-flags=--expose-gc: the Kiln page collects garbage before each memory reading (bench/README.md, "Memory").
const BASE_ARGS = ['--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--js-flags=--expose-gc',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const SOFTWARE_ARGS = ['--use-vulkan=swiftshader'];
const GPU_ARGS = ['--enable-features=Vulkan', '--ignore-gpu-blocklist'];
const chromeArgs = [...BASE_ARGS, ...(GPU ? GPU_ARGS : SOFTWARE_ARGS)];

// ---------------------------------------------------------------- build the pages
/** Bundles each page separately, so one page that fails to build only fails its own rows. */
async function buildPages(ids: string[]): Promise<Record<string, string>> {
  fs.mkdirSync(buildDir, { recursive: true });
  const failures: Record<string, string> = {};
  for (const id of ids) {
    try {
      await esbuild.build({
        entryPoints: { [id]: path.join(here, 'pages', `${id}.ts`) },
        outdir: buildDir,
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        logLevel: 'silent',
        define: { 'process.env.NODE_ENV': '"production"' },
      });
    } catch (e) {
      failures[id] = `bundling bench/pages/${id}.ts failed: ${msg(e)}`;
    }
  }
  return failures;
}

// ---------------------------------------------------------------- browser
async function withBrowser<T>(fn: (b: Browser) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-'));
  const browser = await puppeteer.launch({
    executablePath: CHROME,
    headless: false, // the headless mode is chosen by --headless=new in the args
    args: [...chromeArgs, `--user-data-dir=${dir}`],
    protocolTimeout: Math.max(WORKLOAD_TIMEOUT_MS, SLOW_WORKLOAD_TIMEOUT_MS, ATTN_TIMEOUT_MS) + 60_000,
    timeout: 120_000, // Chromium can take over puppeteer's default 30 s to start on a loaded 2-core machine
  });
  try {
    return await fn(browser);
  } finally {
    await browser.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens the page of `id` and waits for its script to expose `kilnBench`; rejects with the page's own error. */
async function openPage(browser: Browser, server: StaticServer, id: string): Promise<Page> {
  id = SYSTEMS.find((s) => s.id === id)?.page ?? id;
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message ?? e}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    if (process.env.BENCH_DEBUG) log(`    [${id} console.${m.type()}] ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url().replace(server.origin, '')}`); });
  const query = id === 'kiln' && KILN_BUNDLE !== 'dist/kiln.js' ? `?kiln=${encodeURIComponent('/' + KILN_BUNDLE)}` : '';
  await page.goto(`${server.origin}/bench/page/${id}.html${query}`, { waitUntil: 'load' });
  try {
    await page.waitForFunction('globalThis.kilnBench || globalThis.kilnBenchError', { timeout: 60_000 });
  } catch {
    throw new Error(`page did not start: ${problems.join('; ') || 'no kilnBench after 60 s'}`);
  }
  const startErr = await page.evaluate('globalThis.kilnBenchError');
  if (startErr) throw new Error(String(startErr) + (problems.length ? ` (${problems.join('; ')})` : ''));
  return page;
}

function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return callWithin<T>(WORKLOAD_TIMEOUT_MS, page, method, ...args);
}

async function callWithin<T>(timeoutMs: number, page: Page, method: string, ...args: unknown[]): Promise<T> {
  const work = page.evaluate(
    (m: string, a: unknown[]) => (globalThis as any).kilnBench[m](...a),
    method, args,
  ) as Promise<T>;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs); });
  try { return await Promise.race([work, timeout]); } finally { clearTimeout(timer); }
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').slice(0, 500);

// ---------------------------------------------------------------- run
type Cell<T> = { ok: true; value: T } | { ok: false; error: string };
interface SystemResult {
  id: string; label: string; version: string;
  adapter?: AdapterInfo | { error: string };
  matmul: Record<string, Cell<MatmulResult>>;
  mlp?: Cell<MlpResult>;
  conv: Record<string, Cell<ConvResult>>; // key `${'fwd' | 'bwd'} ${index into CONV_SHAPES}`
  cnn?: Cell<MlpResult>;
  infer: Record<string, Cell<InferResult>>; // key: batch
  mlpInfer: Record<string, Cell<InferResult>>; // key: batch
  attn: Record<string, Cell<AttnResult>>; // key `${'fwd' | 'bwd'} ${seq}`
  encoder?: Cell<InferResult>;
}
const DIRS = ['fwd', 'bwd'] as const;
const convKeys = () => DIRS.flatMap((d) => CONV_SHAPES.map((_, i) => `${d} ${i}`));
const attnKeys = () => DIRS.flatMap((d) => SEQS.map((n) => `${d} ${n}`));
const MiB = (b: number) => b / 2 ** 20;

function log(s: string) { process.stdout.write(s + '\n'); }

async function benchSystem(server: StaticServer, sys: System, buildError?: string): Promise<SystemResult> {
  const out: SystemResult = { id: sys.id, label: sys.label, version: sys.version, matmul: {}, conv: {}, infer: {}, mlpInfer: {}, attn: {} };
  const runs = (w: Workload) => sys.workloads.includes(w) && workloads.includes(w);
  if (buildError) {
    log(`  ${sys.id}: ERROR ${buildError}`);
    out.adapter = { error: buildError };
    const e = { ok: false as const, error: buildError };
    if (runs('matmul')) for (const n of SIZES) out.matmul[n] = e;
    if (runs('mlp')) out.mlp = e;
    if (runs('conv')) for (const k of convKeys()) out.conv[k] = e;
    if (runs('cnn')) out.cnn = e;
    if (runs('infer')) for (const b of CNN.inferBatches) out.infer[b] = e;
    if (runs('mlpinfer')) for (const b of CNN.inferBatches) out.mlpInfer[b] = e;
    if (runs('attn')) for (const k of attnKeys()) out.attn[k] = e;
    if (runs('encoder')) out.encoder = e;
    return out;
  }
  // matmul: one fresh browser for the three sizes
  if (runs('matmul')) await withBrowser(async (browser) => {
    let page: Page;
    try {
      page = await openPage(browser, server, sys.id);
    } catch (e) {
      out.adapter = { error: msg(e) };
      for (const n of SIZES) out.matmul[n] = { ok: false, error: msg(e) };
      return;
    }
    try { out.adapter = await call<AdapterInfo>(page, 'adapter'); } catch (e) { out.adapter = { error: msg(e) }; }
    for (const n of SIZES) {
      const t = Date.now();
      try {
        out.matmul[n] = { ok: true, value: await call<MatmulResult>(page, 'matmul', n, matmulOpts) };
        const r = out.matmul[n].value;
        log(`  ${sys.id} matmul ${n}: ${r.gflops.toFixed(2)} GFLOP/s (${r.msPerMatmul.toFixed(2)} ms, chain ${r.chain}, ${r.reps} reps, ${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (e) {
        out.matmul[n] = { ok: false, error: msg(e) };
        log(`  ${sys.id} matmul ${n}: ERROR ${msg(e)}`);
      }
    }
  });
  // MLP: another fresh browser (fresh profile, so no cached pipelines) so the first step is cold
  if (runs('mlp')) await withBrowser(async (browser) => {
    const t = Date.now();
    try {
      const page = await openPage(browser, server, sys.id);
      out.mlp = { ok: true, value: await call<MlpResult>(page, 'mlp', mlpOpts) };
      if (!out.adapter || 'error' in out.adapter) out.adapter = await call<AdapterInfo>(page, 'adapter').catch((e) => ({ error: msg(e) }));
      const r = out.mlp.value;
      log(`  ${sys.id} mlp: ${r.msPerStep.toFixed(2)} ms/step, first step ${r.firstStepMs.toFixed(0)} ms, loss ${r.firstLoss.toFixed(3)} -> ${r.lastLoss.toFixed(3)} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    } catch (e) {
      out.mlp = { ok: false, error: msg(e) };
      log(`  ${sys.id} mlp: ERROR ${msg(e)}`);
    }
  });
  const ensureAdapter = async (page: Page) => {
    if (!out.adapter || 'error' in out.adapter) out.adapter = await call<AdapterInfo>(page, 'adapter').catch((e) => ({ error: msg(e) }));
  };
  // conv2d forward and backward at every shape: one fresh browser
  if (runs('conv')) await withBrowser(async (browser) => {
    let page: Page;
    try {
      page = await openPage(browser, server, sys.id);
    } catch (e) {
      for (const k of convKeys()) out.conv[k] = { ok: false, error: msg(e) };
      log(`  ${sys.id} conv: ERROR ${msg(e)}`);
      return;
    }
    await ensureAdapter(page);
    for (const dir of DIRS) {
      for (const [i, shape] of CONV_SHAPES.entries()) {
        const key = `${dir} ${i}`, t = Date.now();
        try {
          const r = await callWithin<ConvResult>(SLOW_WORKLOAD_TIMEOUT_MS, page, 'conv', i, dir, convOpts);
          out.conv[key] = { ok: true, value: r };
          log(`  ${sys.id} conv ${dir} ${convLabel(shape)}: ${r.gflops.toFixed(2)} GFLOP/s (${r.msPerCall.toFixed(1)} ms, first ${r.firstMs.toFixed(0)} ms, chain ${r.chain}, ${r.reps} reps, ${((Date.now() - t) / 1000).toFixed(1)} s)`);
        } catch (e) {
          out.conv[key] = { ok: false, error: msg(e) };
          log(`  ${sys.id} conv ${dir} ${convLabel(shape)}: ERROR after ${((Date.now() - t) / 1000).toFixed(1)} s: ${msg(e)}`);
        }
      }
    }
  });
  // CNN training step: a fresh browser, so the first step is cold
  if (runs('cnn')) await withBrowser(async (browser) => {
    const t = Date.now();
    try {
      const page = await openPage(browser, server, sys.id);
      out.cnn = { ok: true, value: await callWithin<MlpResult>(SLOW_WORKLOAD_TIMEOUT_MS, page, 'cnn', cnnOpts) };
      await ensureAdapter(page);
      const r = out.cnn.value;
      log(`  ${sys.id} cnn: ${r.msPerStep.toFixed(1)} ms/step, first step ${r.firstStepMs.toFixed(0)} ms, loss ${r.firstLoss.toFixed(3)} -> ${r.lastLoss.toFixed(3)} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    } catch (e) {
      out.cnn = { ok: false, error: msg(e) };
      log(`  ${sys.id} cnn: ERROR after ${((Date.now() - t) / 1000).toFixed(1)} s: ${msg(e)}`);
    }
  });
  /** Runs `cases` in one fresh browser, in one page or (pagePerCase) a fresh page each, storing each result or error in `store`. */
  const runCases = async <T>(name: string, cases: string[], store: Record<string, Cell<T>>, run: (page: Page, key: string) => Promise<T>,
    show: (r: T) => string, pagePerCase = false) => withBrowser(async (browser) => {
    let page: Page | undefined;
    for (const key of cases) {
      const t = Date.now();
      try {
        if (!page || pagePerCase) {
          await page?.close();
          page = await openPage(browser, server, sys.id);
          await ensureAdapter(page);
        }
        const r = await run(page, key);
        store[key] = { ok: true, value: r };
        log(`  ${sys.id} ${name} ${key}: ${show(r)} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (e) {
        store[key] = { ok: false, error: msg(e) };
        log(`  ${sys.id} ${name} ${key}: ERROR after ${((Date.now() - t) / 1000).toFixed(1)} s: ${msg(e)}`);
        if (pagePerCase) continue;
        page = undefined; // a page that failed to open, or a call that timed out, is not reused
      }
    }
  }).catch((e) => { // the browser did not start (or close): every case not run yet shows why
    for (const key of cases) store[key] ??= { ok: false, error: `browser: ${msg(e)}` };
    log(`  ${sys.id} ${name}: ERROR ${msg(e)}`);
  });
  const showInfer = (r: InferResult) => `${r.msPerForward.toFixed(2)} ms/forward (first ${r.firstMs.toFixed(0)} ms, chain ${r.chain}, ${r.reps} reps)`;
  const batches = CNN.inferBatches.map(String);
  // CNN inference at each batch size: one more fresh browser
  if (runs('infer')) await runCases('infer batch', batches, out.infer,
    (page, b) => callWithin<InferResult>(SLOW_WORKLOAD_TIMEOUT_MS, page, 'cnnInfer', Number(b), inferOpts), showInfer);
  // MLP inference likewise
  if (runs('mlpinfer')) await runCases('mlp inference batch', batches, out.mlpInfer,
    (page, b) => callWithin<InferResult>(SLOW_WORKLOAD_TIMEOUT_MS, page, 'mlpInfer', Number(b), inferOpts), showInfer);
  // attention: a fresh page per case, so each case's peak memory is its own
  if (runs('attn')) await runCases('attention', attnKeys(), out.attn, (page, key) => {
    const [dir, seq] = key.split(' ');
    return callWithin<AttnResult>(ATTN_TIMEOUT_MS, page, 'attention', Number(seq), dir, attnOpts, sys.variant);
  }, (r) => `${r.msPerCall.toFixed(2)} ms (first ${r.firstMs.toFixed(0)} ms, chain ${r.chain}, ${r.reps} reps), peak ${r.peakBytes === undefined ? 'n/a' : MiB(r.peakBytes).toFixed(1) + ' MiB'}`, true);
  if (runs('encoder')) {
    const store: Record<string, Cell<InferResult>> = {};
    await runCases('encoder layer', ['batch 8'], store, (page) => callWithin<InferResult>(SLOW_WORKLOAD_TIMEOUT_MS, page, 'encoder', inferOpts), showInfer);
    out.encoder = store['batch 8'];
  }
  return out;
}

async function tune(server: StaticServer, n: number, focus: boolean) {
  const rounds = focus ? 2 : 1;
  const configs = Array.from({ length: rounds }, () => (focus ? focusCandidates() : tuneCandidates())).flat();
  log(`tuning the hand-written matmul at n=${n} over ${configs.length / rounds} configurations, ${rounds} round(s)`);
  const o: TimingOpts = { targetRepMs: 200, budgetMs: 1500, minReps: 3, maxReps: 5, maxChain: 16 };
  const rows = await withBrowser(async (b) => {
    const page = await openPage(b, server, 'handwritten');
    log(`adapter: ${fmtAdapter(await call<AdapterInfo>(page, 'adapter'))}`);
    const res: { config: string; gflops?: number; error?: string }[] = [];
    for (const c of configs) {
      const [r] = await call<typeof res>(page, 'tune', n, [c], o);
      log(`  ${r.config.padEnd(36)} ${r.gflops !== undefined ? r.gflops.toFixed(2) + ' GFLOP/s' : 'ERROR ' + r.error}`);
      res.push(r);
    }
    return res;
  });
  // best of the rounds per configuration (noise on a shared 2-core machine only ever slows a run down)
  const best = new Map<string, { config: string; gflops?: number; error?: string; rounds: number[] }>();
  for (const r of rows) {
    const b = best.get(r.config) ?? { ...r, rounds: [] };
    if (r.gflops !== undefined) { b.rounds.push(r.gflops); b.gflops = Math.max(b.gflops ?? 0, r.gflops); }
    best.set(r.config, b);
  }
  const out = [...best.values()].sort((a, b) => (b.gflops ?? -1) - (a.gflops ?? -1));
  if (rounds > 1) for (const r of out) log(`  ${r.config.padEnd(36)} best ${r.gflops?.toFixed(2)} (${r.rounds.map((x) => x.toFixed(2)).join(', ')})`);
  log(`best: ${out[0].config} ${out[0].gflops?.toFixed(2)} GFLOP/s`);
  return out;
}

const fmtAdapter = (a?: AdapterInfo | { error: string }) =>
  !a ? 'unknown' : 'error' in a ? `error: ${a.error}` : `${a.vendor || '?'} / ${a.architecture || '?'}${a.device ? ' / ' + a.device : ''}${a.description ? ' (' + a.description + ')' : ''}`;

// ---------------------------------------------------------------- report
interface Row { workload: string; unit: string; cells: Record<string, string>; ratios: Record<string, string> }

function table(results: SystemResult[]): Row[] {
  const rows: Row[] = [];
  const kiln = results.find((r) => r.id === 'kiln');
  const peers = results.filter((r) => r.id !== 'kiln');
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const ratio = (k: number | undefined, p: number | undefined) => (k === undefined || p === undefined ? '–' : `${(k / p).toFixed(2)}x`);
  for (const n of SIZES) {
    if (!results.some((r) => r.matmul[n])) continue;
    const get = (r?: SystemResult) => { const c = r?.matmul[n]; return c?.ok ? c.value.gflops : undefined; };
    rows.push({
      workload: `matmul ${n}x${n}x${n}`, unit: 'GFLOP/s (higher is better)',
      cells: Object.fromEntries(results.map((r) => { const c = r.matmul[n]; return [r.id, !c ? (can(r.id, 'matmul') ? 'not run' : 'n/a') : c.ok ? f(c.value.gflops) : 'error']; })),
      ratios: Object.fromEntries(peers.filter((p) => can(p.id, 'matmul')).map((p) => [p.id, ratio(get(kiln), get(p))])),
    });
  }
  const mlpRow = (name: string, unit: string, pick: (m: MlpResult) => number) => {
    if (!results.some((r) => r.mlp)) return;
    const get = (r?: SystemResult) => (r?.mlp?.ok ? pick(r.mlp.value) : undefined);
    rows.push({
      workload: name, unit,
      cells: Object.fromEntries(results.map((r) => [r.id, !r.mlp ? (can(r.id, 'mlp') ? 'not run' : 'n/a') : r.mlp.ok ? f(pick(r.mlp.value)) : 'error'])),
      ratios: Object.fromEntries(peers.filter((p) => p.mlp).map((p) => [p.id, ratio(get(p), get(kiln))])),
    });
  };
  /** a row over the systems that run workload `w` (n/a for the rest, and where `get` gives no
   * number from a run that succeeded); `higher`: GFLOP/s (Kiln ÷ peer), else ms or bytes (peer ÷ Kiln) */
  const caseRow = (w: Workload, name: string, unit: string, higher: boolean, get: (r: SystemResult) => Cell<number | undefined> | undefined) => {
    const val = (r?: SystemResult) => { const c = r && get(r); return c?.ok ? c.value : undefined; };
    rows.push({
      workload: name, unit,
      cells: Object.fromEntries(results.map((r) => {
        const c = get(r);
        return [r.id, !can(r.id, w) ? 'n/a' : !c ? 'not run' : !c.ok ? 'error' : c.value === undefined ? 'n/a' : f(c.value)];
      })),
      ratios: Object.fromEntries(peers.filter((p) => can(p.id, w)).map((p) => [p.id, higher ? ratio(val(kiln), val(p)) : ratio(val(p), val(kiln))])),
    });
  };
  const map = <T, U>(c: Cell<T> | undefined, fn: (v: T) => U): Cell<U> | undefined => (!c ? undefined : c.ok ? { ok: true, value: fn(c.value) } : c);
  /** the memory row under a case's row (bench/README.md, "Memory"), where some system reported a figure */
  const memRow = (w: Workload, name: string, get: (r: SystemResult) => Cell<{ peakBytes?: number }> | undefined) => {
    if (!results.some((r) => { const c = get(r); return c?.ok && c.value.peakBytes !== undefined; })) return;
    caseRow(w, `${name}: peak memory`, 'MiB (lower is better)', false, (r) => map(get(r), (v) => v.peakBytes === undefined ? undefined : MiB(v.peakBytes)));
  };
  // matmul's memory rows follow its GFLOP/s rows; the MLP step's follow its first step
  for (const n of SIZES) memRow('matmul', `matmul ${n}x${n}x${n}`, (r) => r.matmul[n]);
  const mlpName = 'MLP 784-256-256-10 train step, batch 128, Adam';
  mlpRow(mlpName, 'ms/step (lower is better)', (m) => m.msPerStep);
  mlpRow('MLP first step (fresh page, incl. shader compilation)', 'ms (lower is better)', (m) => m.firstStepMs);
  memRow('mlp', mlpName, (r) => r.mlp);
  for (const dir of DIRS) {
    for (const [i, shape] of CONV_SHAPES.entries()) {
      if (!results.some((r) => r.conv[`${dir} ${i}`])) continue;
      const name = `conv2d ${dir === 'fwd' ? 'forward' : 'backward (dx, dw)'} ${convLabel(shape)}`;
      caseRow('conv', name, `GFLOP/s${dir === 'bwd' ? ' (2x fwd FLOPs)' : ''} (higher is better)`, true, (r) => map(r.conv[`${dir} ${i}`], (v) => v.gflops));
      memRow('conv', name, (r) => r.conv[`${dir} ${i}`]);
    }
  }
  if (results.some((r) => r.cnn)) {
    const name = `CNN train step (conv-BN-pool x2, dense 128, 10), batch ${CNN.batch}, Adam`;
    caseRow('cnn', name, 'ms/step (lower is better)', false, (r) => map(r.cnn, (v) => v.msPerStep));
    caseRow('cnn', 'CNN first step (fresh page, incl. shader compilation)', 'ms (lower is better)', false, (r) => map(r.cnn, (v) => v.firstStepMs));
    memRow('cnn', name, (r) => r.cnn);
  }
  for (const b of CNN.inferBatches) {
    if (!results.some((r) => r.mlpInfer[b])) continue;
    const name = `MLP 784-256-256-10 inference, batch ${b}`;
    caseRow('mlpinfer', name, 'ms/forward (lower is better)', false, (r) => map(r.mlpInfer[b], (v) => v.msPerForward));
    memRow('mlpinfer', name, (r) => r.mlpInfer[b]);
  }
  for (const b of CNN.inferBatches) {
    if (!results.some((r) => r.infer[b])) continue;
    const name = `CNN inference (eval), batch ${b}`;
    caseRow('infer', name, 'ms/forward (lower is better)', false, (r) => map(r.infer[b], (v) => v.msPerForward));
    memRow('infer', name, (r) => r.infer[b]);
  }
  const { batch, heads, headDim } = ATTN;
  for (const dir of DIRS) {
    for (const n of SEQS) {
      if (!results.some((r) => r.attn[`${dir} ${n}`])) continue;
      const name = `attention ${dir === 'fwd' ? 'forward' : 'forward + backward'}, [${batch}, ${heads}, ${n}, ${headDim}]`;
      caseRow('attn', name, 'ms (lower is better)', false, (r) => map(r.attn[`${dir} ${n}`], (v) => v.msPerCall));
      memRow('attn', name, (r) => r.attn[`${dir} ${n}`]);
    }
  }
  if (results.some((r) => r.encoder)) {
    const { dModel, heads: h, ff, seq } = ENCODER;
    const name = `Transformer encoder layer (d ${dModel}, ${h} heads, ff ${ff}, post-norm, eval), [${ENCODER.batch}, ${seq}, ${dModel}]`;
    caseRow('encoder', name, 'ms/forward (lower is better)', false, (r) => map(r.encoder, (v) => v.msPerForward));
    memRow('encoder', name, (r) => r.encoder);
  }
  return rows;
}

function renderText(results: SystemResult[], rows: Row[]): string {
  const hasKiln = results.some((r) => r.id === 'kiln');
  const peers = results.filter((r) => r.id !== 'kiln');
  const head = ['workload', 'unit', ...results.map((r) => r.label), ...(hasKiln ? peers.map((p) => `Kiln vs ${p.label}`) : [])];
  const body = rows.map((r) => [r.workload, r.unit, ...results.map((s) => r.cells[s.id] ?? ''), ...(hasKiln ? peers.map((p) => r.ratios[p.id] ?? '') : [])]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/**
 * A PNG of Kiln's speed ratio against each peer, one row of bars per timed workload (memory rows
 * left out), on a log axis from 1x: bars to the right mean Kiln is faster. Undefined when no row
 * has a ratio (e.g. --only without Kiln).
 */
function ratioChart(results: SystemResult[], rows: Row[]): Uint8Array | undefined {
  const peers = results.filter((r) => r.id !== 'kiln');
  const timed = rows.filter((r) => !r.unit.startsWith('MiB') && peers.some((p) => r.ratios[p.id]?.endsWith('x')));
  if (!results.some((r) => r.id === 'kiln') || timed.length === 0) return undefined;
  const withRatios = peers.filter((p) => timed.some((r) => r.ratios[p.id]?.endsWith('x')));
  const label = (w: string) => (w.length > 70 ? w.slice(0, 67) + '...' : w); // the 5x7 font is ASCII
  const rowPx = Math.max(12, 5 * withRatios.length + 6);
  const img = renderBarChart({
    title: 'Kiln speed / peer speed (log scale; right of 1x: Kiln is faster)',
    categories: timed.map((r) => label(r.workload)),
    series: withRatios.map((p) => ({ name: p.label, values: timed.map((r) => parseFloat(r.ratios[p.id] ?? '')) })),
    log: true,
    format: (v) => `${v}x`,
    width: 1000,
    height: 90 + rowPx * timed.length,
  });
  return encodePNG(img, (b) => deflateSync(b));
}

function renderMarkdown(results: SystemResult[], rows: Row[], meta: Record<string, string>, chart?: string): string {
  const hasKiln = results.some((r) => r.id === 'kiln');
  const peers = results.filter((r) => r.id !== 'kiln');
  const head = ['workload', 'unit', ...results.map((r) => r.label), ...(hasKiln ? peers.map((p) => `Kiln vs ${p.label}`) : [])];
  const L: string[] = ['# Kiln benchmark', ''];
  for (const [k, v] of Object.entries(meta)) L.push(`- **${k}**: ${v}`);
  L.push('', `| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
  for (const r of rows) L.push(`| ${[r.workload, r.unit, ...results.map((s) => r.cells[s.id] ?? ''), ...(hasKiln ? peers.map((p) => r.ratios[p.id] ?? '') : [])].join(' | ')} |`);
  L.push('', 'Ratios are Kiln ÷ peer for GFLOP/s and peer ÷ Kiln for milliseconds and MiB: above 1x means Kiln is faster (or uses less memory).',
    'Peak memory (bench/README.md, "Memory"): what a case holds at a call\'s high point, inputs, weights and the result included, less what the page held before the case;',
    'Kiln: its buffer pool\'s bytes in use (`kn.memoryStats().bytesInUse`, after a garbage collection) with the last result alive, attention: the pool\'s peak in a fresh page;',
    'TF.js: `tf.profile`\'s peakBytes over one more call (bytes of live tensors, not its buffer pool); jax-js and ORT Web expose no such figure (n/a).', '');
  if (chart) L.push(`![Kiln's speed ratio against each peer, per workload](${chart})`, '');
  L.push('## Systems', '');
  for (const r of results) L.push(`- **${r.label}**: ${r.version}; adapter ${fmtAdapter(r.adapter)}`);
  const errs = errors(results);
  if (errs.length) { L.push('', '## Errors', ''); for (const e of errs) L.push(`- ${e}`); }
  L.push('', '## Details', '');
  for (const r of results) {
    for (const n of SIZES) { const c = r.matmul[n]; if (c?.ok) L.push(`- ${r.label} matmul ${n}: median ${c.value.msPerMatmul.toFixed(2)} ms over ${c.value.reps} reps of ${c.value.chain} chained matmuls${memText(c.value)}${c.value.note ? ` (${c.value.note})` : ''}`); }
    if (r.mlp?.ok) { const m = r.mlp.value; L.push(`- ${r.label} MLP: median ${m.msPerStep.toFixed(2)} ms/step over ${m.reps} reps of ${m.stepsPerSync} steps per sync; setup ${m.setupMs.toFixed(0)} ms; first step ${m.firstStepMs.toFixed(0)} ms; loss ${m.firstLoss.toFixed(4)} → ${m.lastLoss.toFixed(4)}${memText(m)}${m.note ? ` (${m.note})` : ''}`); }
    for (const dir of DIRS) for (const [i, shape] of CONV_SHAPES.entries()) {
      const c = r.conv[`${dir} ${i}`];
      if (c?.ok) L.push(`- ${r.label} conv2d ${dir} ${convLabel(shape)}: median ${c.value.msPerCall.toFixed(2)} ms ${spread(c.value.samplesMs)} over ${c.value.reps} reps of ${c.value.chain} calls; first call ${c.value.firstMs.toFixed(0)} ms${memText(c.value)}${c.value.note ? ` (${c.value.note})` : ''}`);
    }
    if (r.cnn?.ok) { const m = r.cnn.value; L.push(`- ${r.label} CNN step: median ${m.msPerStep.toFixed(1)} ms/step ${spread(m.samplesMs)} over ${m.reps} reps of ${m.stepsPerSync} steps per sync; setup ${m.setupMs.toFixed(0)} ms; first step ${m.firstStepMs.toFixed(0)} ms; loss ${m.firstLoss.toFixed(4)} → ${m.lastLoss.toFixed(4)}${memText(m)}${m.note ? ` (${m.note})` : ''}`); }
    const inferLine = (what: string, c?: Cell<InferResult>) => {
      if (c?.ok) L.push(`- ${r.label} ${what}: median ${c.value.msPerForward.toFixed(2)} ms ${spread(c.value.samplesMs)} over ${c.value.reps} reps of ${c.value.chain} forwards; first call ${c.value.firstMs.toFixed(0)} ms${memText(c.value)}${c.value.note ? ` (${c.value.note})` : ''}`);
    };
    for (const b of CNN.inferBatches) inferLine(`MLP inference batch ${b}`, r.mlpInfer[b]);
    for (const b of CNN.inferBatches) inferLine(`CNN inference batch ${b}`, r.infer[b]);
    for (const [key, c] of Object.entries(r.attn)) {
      if (c.ok) L.push(`- ${r.label} attention ${key}: median ${c.value.msPerCall.toFixed(2)} ms ${spread(c.value.samplesMs)} over ${c.value.reps} reps of ${c.value.chain} calls; first call ${c.value.firstMs.toFixed(0)} ms; peak ${c.value.peakBytes === undefined ? 'n/a' : MiB(c.value.peakBytes).toFixed(1) + ' MiB'}${c.value.note ? ` (${c.value.note})` : ''}`);
    }
    inferLine('Transformer encoder layer', r.encoder);
  }
  return L.join('\n') + '\n';
}

/** a case's memory figure for the details, where the system reported one */
const memText = (v: { peakBytes?: number }) => (v.peakBytes === undefined ? '' : `; peak memory ${MiB(v.peakBytes).toFixed(1)} MiB`);
/** the spread of a case's repetitions: (min–max) */
const spread = (xs: number[]) => `(${Math.min(...xs).toFixed(xs[0] >= 100 ? 0 : 2)}–${Math.max(...xs).toFixed(xs[0] >= 100 ? 0 : 2)})`;

function errors(results: SystemResult[]): string[] {
  const e: string[] = [];
  for (const r of results) {
    for (const n of SIZES) { const c = r.matmul[n]; if (c && !c.ok) e.push(`${r.label} matmul ${n}: ${c.error}`); }
    if (r.mlp && !r.mlp.ok) e.push(`${r.label} MLP: ${r.mlp.error}`);
    for (const dir of DIRS) for (const [i, shape] of CONV_SHAPES.entries()) {
      const c = r.conv[`${dir} ${i}`];
      if (c && !c.ok) e.push(`${r.label} conv2d ${dir} ${convLabel(shape)}: ${c.error}`);
    }
    if (r.cnn && !r.cnn.ok) e.push(`${r.label} CNN step: ${r.cnn.error}`);
    for (const b of CNN.inferBatches) { const c = r.infer[b]; if (c && !c.ok) e.push(`${r.label} CNN inference batch ${b}: ${c.error}`); }
    for (const b of CNN.inferBatches) { const c = r.mlpInfer[b]; if (c && !c.ok) e.push(`${r.label} MLP inference batch ${b}: ${c.error}`); }
    for (const [key, c] of Object.entries(r.attn)) if (!c.ok) e.push(`${r.label} attention ${key}: ${c.error}`);
    if (r.encoder && !r.encoder.ok) e.push(`${r.label} Transformer encoder layer: ${r.encoder.error}`);
  }
  return e;
}

async function main() {
  const tuning = flag('tune') || flag('tune-focus');
  const buildErrors = await buildPages(tuning ? ['handwritten'] : [...new Set(systems.map((s) => s.page ?? s.id))]);
  if (tuning && buildErrors.handwritten) throw new Error(buildErrors.handwritten);
  const server = await serveRepo(root);
  try {
    if (flag('tune') || flag('tune-focus')) {
      const focus = flag('tune-focus');
      const n = Number(value(focus ? 'tune-focus' : 'tune') ?? 1024);
      const rows = await tune(server, n, focus);
      const file = path.join(here, 'results', `tune${focus ? '-focus' : ''}-${GPU ? 'gpu' : 'swiftshader'}-${n}.json`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), n, rows }, null, 2) + '\n');
      log(`wrote ${path.relative(root, file)}`);
      return;
    }
    const started = Date.now();
    const load0 = os.loadavg()[0];
    log(`Chromium ${CHROME} ${chromeArgs.join(' ')}`);
    const results: SystemResult[] = [];
    for (const sys of systems) {
      log(`${sys.label} (${sys.version})`);
      results.push(await benchSystem(server, sys, buildErrors[sys.page ?? sys.id]));
    }
    const adapters = [...new Set(results.map((r) => fmtAdapter(r.adapter)).filter((a) => !a.startsWith('error')))];
    const rows = table(results);
    const command = `npx tsx bench/run.ts${argv.length ? ' ' + argv.join(' ') : ''}`;
    const meta: Record<string, string> = {
      date: new Date().toISOString(),
      adapter: adapters.join('; ') || 'none',
      command,
      chromium: `${(await withBrowser((b) => b.version()).catch((e) => msg(e)))} (${chromeArgs.join(' ')})`,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`,
      duration: `${((Date.now() - started) / 1000).toFixed(0)} s`,
      'Kiln bundle': bundleSize(),
      'load average (1 min) at start / end': `${load0.toFixed(2)} / ${os.loadavg()[0].toFixed(2)} (other processes slow SwiftShader down: keep the machine quiet)`,
    };
    log('');
    log(`adapter: ${meta.adapter}`);
    if (adapters.length > 1) log('WARNING: the systems did not all get the same adapter');
    log(renderText(results, rows));
    const errs = errors(results);
    if (errs.length) { log('\nerrors:'); for (const e of errs) log(`  ${e}`); }
    const name = value('out') ?? (only || value('workloads') ? undefined : 'latest');
    if (name) {
      const dir = path.join(here, 'results');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ ...meta, chromeArgs, sizes: SIZES, convShapes: CONV_SHAPES, attention: { ...ATTN, seqs: SEQS }, encoder: ENCODER, matmulOpts, mlpOpts, convOpts, cnnOpts, inferOpts, attnOpts, table: rows, results }, null, 2) + '\n');
      const png = ratioChart(results, rows);
      if (png) fs.writeFileSync(path.join(dir, `${name}-ratios.png`), png);
      fs.writeFileSync(path.join(dir, `${name}.md`), renderMarkdown(results, rows, meta, png && `${name}-ratios.png`));
      log(`\nwrote bench/results/${name}.json and bench/results/${name}.md${png ? ` and bench/results/${name}-ratios.png` : ''}`);
    }
  } finally {
    await server.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
