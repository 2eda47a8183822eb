// Kiln's bench workloads in Node through Dawn (the `webgpu` package): the browser harness's Kiln
// column, from the same workload code, data, weights and timing loops (pages/kiln_workloads.ts),
// with Kiln imported from src/.
//   npx tsx bench/node.ts [--workloads=matmul,mlp,conv,cnn,infer,mlpinfer,attn,encoder] [--only=kiln,kiln-unfused]
//                         [--quick] [--out=NAME] [--gpu | --software] [--tiling=JSON] [--profile] [--kernels[=label]]
// Dawn picks the adapter: the GPU where the machine has one with a Vulkan driver, SwiftShader where
// not. --gpu: fail unless the adapter is a hardware one; --software: SwiftShader even beside a GPU.
// --tiling: the matmul tiling to use (src/graph/tuning.ts, e.g. '{"tm":16,"tn":8,"wgx":4,"wgy":1,"ku":4}');
// --profile: each timed compiled function's per-kernel wall times; --kernels[=label]: its WGSL
// (the kernels whose label contains `label`).
// Writes bench/results/NAME-node.{json,md} (NAME latest, but not with --only/--workloads unless --out is given).
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kn from '../src/index.js';
import { setTiling } from '../src/graph/tuning.js';
import {
  ATTN, CNN, CONV_SHAPES, convLabel, ENCODER, timingOpts, type AttnResult, type ConvResult, type InferResult, type MatmulResult, type MlpResult,
} from './pages/common';
import { kilnWorkloads, type KilnWorkloads } from './pages/kiln_workloads';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
if (flag('help')) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 11).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const msg = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').slice(0, 500);

/** One call of a workload function, made in a child process. */
interface Call { method: keyof KilnWorkloads; args: unknown[]; name?: string }
type Cell = { ok: true; value: any } | { ok: false; error: string };
/** What a child sends: the adapter once, then each call's result in order; `fatal` if it could not start. */
type Message = { adapter: Adapter } | { cell: Cell } | { fatal: string };
interface Adapter { description: string; info: kn.KilnInfo }

// ---------------------------------------------------------------- child: runs its calls, reports each
async function child(calls: Call[]) {
  const send = (m: Message) => new Promise<void>((res) => process.send!(m, () => res()));
  let info: kn.KilnInfo;
  try {
    const tiling = value('tiling');
    if (tiling) setTiling(JSON.parse(tiling));
    info = await kn.init({ forceSoftware: flag('software') });
    if (flag('gpu') && info.software) throw new Error(`--gpu: Dawn gave the software adapter ${describe(info)} (is the GPU's Vulkan driver installed? see bench/README.md)`);
  } catch (e) {
    await send({ fatal: msg(e) });
    process.exit(1);
  }
  await send({ adapter: { description: describe(info), info } });
  // Kiln with `compile` noting what it compiles, so --profile / --kernels can look at the timed function
  const compiled: kn.CompiledFunction<any, any>[] = [];
  const traced = { ...kn, compile: (fn: any) => { const f = kn.compile(fn); compiled.push(f); return f; } };
  const workloads = kilnWorkloads(async () => traced);
  for (const c of calls) {
    let cell: Cell;
    const before = compiled.length;
    try {
      cell = { ok: true, value: await (workloads[c.method] as (...a: unknown[]) => Promise<unknown>)(...c.args) };
    } catch (e) {
      cell = { ok: false, error: msg(e) };
    }
    const what = c.name ?? c.method;
    if (cell.ok && compiled.length > before) await inspect(what, compiled.at(-1)!).catch((e) => console.log(`  ${what}: --profile / --kernels failed: ${msg(e)}`));
    await send({ cell });
  }
  kn.shutdown(); // Node does not exit while Dawn's device lives
  process.exit(0);
}

const describe = (i: kn.KilnInfo) => {
  const a = i.adapter;
  return `${a.vendor || '?'} / ${a.architecture || '?'}${a.device ? ' / ' + a.device : ''}${a.description ? ' (' + a.description + ')' : ''}`;
};

/** --profile / --kernels (nothing without them): the timed compiled function `f`, after its timing */
async function inspect(what: string, f: kn.CompiledFunction<any, any>) {
  if (flag('profile')) {
    const prof = await f.profile();
    const total = prof.reduce((a, p) => a + p.ms, 0);
    const st = f.stats();
    console.log(`  profile of ${what}: ${st.kernels} kernels, ${st.dispatches} dispatches, intermediates ${MiB(st.intermediateBytes).toFixed(1)} MiB; each dispatch alone:`);
    for (const p of [...prof].sort((a, b) => b.ms - a.ms)) console.log(`${p.ms.toFixed(2).padStart(10)} ms ${(100 * p.ms / total).toFixed(1).padStart(5)}%  ${p.label}`);
    console.log(`${total.toFixed(2).padStart(10)} ms total`);
  }
  if (flag('kernels')) {
    const want = value('kernels');
    const labels = (await f.profile(1)).map((p) => p.label);
    f.kernels().forEach((k, i) => { if (!want || labels[i].includes(want)) console.log(`// ${what}: ${labels[i]}\n${k}`); });
  }
}

// ---------------------------------------------------------------- parent: fresh processes, the report
/**
 * Runs `calls` in one child process, as the browser harness runs a group in one fresh browser (so
 * the first call is cold); a call that crashes the process or outlasts `timeoutMs` is an error and
 * the calls after it go on in a new process. Hands each call's result to `onCell`, in order.
 */
async function runCalls(calls: Call[], timeoutMs: number, onCell: (i: number, c: Cell) => void): Promise<void> {
  const cells: Cell[] = [];
  const push = (c: Cell) => { onCell(cells.length, c); cells.push(c); };
  while (cells.length < calls.length) {
    const rest = calls.slice(cells.length);
    // --expose-gc: Kiln's workloads collect garbage before each memory reading (bench/README.md, "Memory")
    const child = fork(process.argv[1], [...argv, `--child=${JSON.stringify(rest)}`], { execArgv: [...process.execArgv, '--expose-gc'] });
    let timer: NodeJS.Timeout | undefined;
    let why = '';
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { why = `timed out after ${timeoutMs / 1000} s`; child.kill('SIGKILL'); }, timeoutMs);
    };
    child.on('message', (m: Message) => {
      if ('adapter' in m) adapter ??= m.adapter;
      else if ('cell' in m) { push(m.cell); arm(); }
      else while (cells.length < calls.length) push({ ok: false, error: m.fatal });
    });
    arm();
    // 'close', not 'exit': it comes after the last message has been read
    const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.on('close', (c, s) => res([c, s])));
    clearTimeout(timer);
    if (cells.length < calls.length) push({ ok: false, error: why || `the process exited (${signal ?? `code ${code}`})` });
  }
}

let adapter: Adapter | undefined;
const QUICK = flag('quick');
const opts = timingOpts(QUICK);
/** attention sequence lengths: --quick leaves out 2048, as the browser harness does */
const SEQS = QUICK ? ATTN.seqs.filter((n) => n <= 512) : ATTN.seqs;
const SIZES = [256, 512, 1024];
const WORKLOADS = ['matmul', 'mlp', 'conv', 'cnn', 'infer', 'mlpinfer', 'attn', 'encoder'] as const;
type Workload = typeof WORKLOADS[number];
// the browser harness's time limits: per call, a conv/CNN/inference call, an attention call
const TIMEOUT_MS = 300_000, SLOW_TIMEOUT_MS = 600_000, ATTN_TIMEOUT_MS = 1_500_000;

/** One timed case: the report's row name and unit, the call, and the number the table shows. */
interface Case { workload: Workload; name: string; unit: string; call: Call; metric: (v: any) => number; timeoutMs: number; fresh?: boolean }
const attnName = (dir: string, n: number) => `attention ${dir === 'fwd' ? 'forward' : 'forward + backward'}, [${ATTN.batch}, ${ATTN.heads}, ${n}, ${ATTN.headDim}]`;
const DIRS = ['fwd', 'bwd'] as const;

function cases(variant?: string): Case[] {
  const ms = 'ms (lower is better)';
  const c: Case[] = [
    ...SIZES.map((n): Case => ({ workload: 'matmul', name: `matmul ${n}x${n}x${n}`, unit: 'GFLOP/s (higher is better)',
      call: { method: 'matmul', args: [n, opts.matmul] }, metric: (v: MatmulResult) => v.gflops, timeoutMs: TIMEOUT_MS })),
    { workload: 'mlp', name: 'MLP 784-256-256-10 train step, batch 128, Adam', unit: 'ms/step (lower is better)',
      call: { method: 'mlp', args: [opts.mlp] }, metric: (v: MlpResult) => v.msPerStep, timeoutMs: TIMEOUT_MS },
    ...DIRS.flatMap((dir) => CONV_SHAPES.map((s, i): Case => ({
      workload: 'conv', name: `conv2d ${dir === 'fwd' ? 'forward' : 'backward (dx, dw)'} ${convLabel(s)}`,
      unit: `GFLOP/s${dir === 'bwd' ? ' (2x fwd FLOPs)' : ''} (higher is better)`,
      call: { method: 'conv', args: [i, dir, opts.conv] }, metric: (v: ConvResult) => v.gflops, timeoutMs: SLOW_TIMEOUT_MS,
    }))),
    { workload: 'cnn', name: `CNN train step (conv-BN-pool x2, dense 128, 10), batch ${CNN.batch}, Adam`, unit: 'ms/step (lower is better)',
      call: { method: 'cnn', args: [opts.cnn] }, metric: (v: MlpResult) => v.msPerStep, timeoutMs: SLOW_TIMEOUT_MS },
    ...CNN.inferBatches.map((b): Case => ({ workload: 'infer', name: `CNN inference (eval), batch ${b}`, unit: 'ms/forward (lower is better)',
      call: { method: 'cnnInfer', args: [b, opts.infer] }, metric: (v: InferResult) => v.msPerForward, timeoutMs: SLOW_TIMEOUT_MS })),
    ...CNN.inferBatches.map((b): Case => ({ workload: 'mlpinfer', name: `MLP 784-256-256-10 inference, batch ${b}`, unit: 'ms/forward (lower is better)',
      call: { method: 'mlpInfer', args: [b, opts.infer] }, metric: (v: InferResult) => v.msPerForward, timeoutMs: SLOW_TIMEOUT_MS })),
    // a fresh process per attention case, so each peak memory is that case's own
    ...DIRS.flatMap((dir) => SEQS.map((n): Case => ({ workload: 'attn', name: attnName(dir, n), unit: ms,
      call: { method: 'attention', args: [n, dir, opts.attn, variant] }, metric: (v: AttnResult) => v.msPerCall, timeoutMs: ATTN_TIMEOUT_MS, fresh: true }))),
    { workload: 'encoder', name: `Transformer encoder layer (d ${ENCODER.dModel}, ${ENCODER.heads} heads, ff ${ENCODER.ff}, post-norm, eval), [${ENCODER.batch}, ${ENCODER.seq}, ${ENCODER.dModel}]`,
      unit: 'ms/forward (lower is better)', call: { method: 'encoder', args: [opts.infer] }, metric: (v: InferResult) => v.msPerForward, timeoutMs: SLOW_TIMEOUT_MS },
  ];
  return c.filter((x) => workloads.includes(x.workload) && (variant === undefined || x.workload === 'attn'));
}

const SYSTEMS = [
  { id: 'kiln', label: 'Kiln', variant: undefined },
  // attention written out (matmul, scale, softmax, matmul) with fusion off: the unfused baseline
  { id: 'kiln-unfused', label: 'Kiln unfused attention', variant: 'unfused' },
];
const only = value('only')?.split(',');
const workloads = value('workloads')?.split(',') ?? [...WORKLOADS];
const unknown = workloads.filter((w) => !(WORKLOADS as readonly string[]).includes(w));
if (unknown.length && !flag('child')) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${WORKLOADS.join(', ')}`);

/** The median, its spread, repetitions, the first call, peak memory and the page's note, from any result shape. */
function detail(v: any): string {
  const med = v.msPerMatmul ?? v.msPerCall ?? v.msPerForward ?? v.msPerStep;
  const samples: number[] = v.samplesMs;
  const d = med >= 100 ? 0 : 2;
  const parts = [`median ${med.toFixed(d)} ms (${Math.min(...samples).toFixed(d)}–${Math.max(...samples).toFixed(d)}) over ${v.reps} reps of ${v.chain ?? v.stepsPerSync}`];
  const first = v.firstMs ?? v.firstStepMs;
  if (first !== undefined) parts.push(`first call ${first.toFixed(0)} ms`);
  if (v.firstLoss !== undefined) parts.push(`loss ${v.firstLoss.toFixed(4)} → ${v.lastLoss.toFixed(4)}`);
  if (v.peakBytes !== undefined) parts.push(`peak ${MiB(v.peakBytes).toFixed(1)} MiB`);
  return parts.join('; ') + (v.note ? ` (${v.note})` : '');
}
const MiB = (b: number) => b / 2 ** 20;
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

async function main() {
  const started = Date.now(), load0 = os.loadavg()[0];
  const results: { id: string; label: string; cases: { name: string; unit: string; workload: Workload; cell: Cell }[] }[] = [];
  for (const sys of SYSTEMS.filter((s) => !only || only.includes(s.id))) {
    const mine = cases(sys.variant);
    if (!mine.length) continue;
    console.log(sys.label);
    const out = { id: sys.id, label: sys.label, cases: [] as (typeof results)[number]['cases'] };
    results.push(out);
    // one process per workload group (per case where `fresh`), in the browser harness's order
    const groups: Case[][] = [];
    for (const c of mine) {
      const g = groups.at(-1);
      if (g && !c.fresh && g[0].workload === c.workload) g.push(c);
      else groups.push([c]);
    }
    for (const g of groups) {
      let t = Date.now();
      await runCalls(g.map((c) => ({ ...c.call, name: c.name })), Math.max(...g.map((c) => c.timeoutMs)), (i, cell) => {
        const c = g[i];
        out.cases.push({ name: c.name, unit: c.unit, workload: c.workload, cell });
        console.log(`  ${c.name}: ${cell.ok ? `${fmt(c.metric(cell.value))} ${c.unit.split(' ')[0]}; ${detail(cell.value)}` : `ERROR ${cell.error}`} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        t = Date.now();
      });
    }
  }
  // the table: one row per case and its peak memory (bench/README.md, "Memory"), a column per system
  const rows = new Map<string, { workload: string; unit: string; cells: Record<string, string> }>();
  const put = (name: string, unit: string, id: string, cell: string) => {
    const r = rows.get(name) ?? { workload: name, unit, cells: {} };
    r.cells[id] = cell;
    rows.set(name, r);
  };
  const all = cases();
  for (const r of results) for (const c of r.cases) {
    const metric = all.find((x) => x.name === c.name)!.metric;
    put(c.name, c.unit, r.id, c.cell.ok ? fmt(metric(c.cell.value)) : 'error');
    if (c.workload === 'mlp') put('MLP first step (fresh process, incl. shader compilation)', 'ms (lower is better)', r.id, c.cell.ok ? fmt(c.cell.value.firstStepMs) : 'error');
    if (c.workload === 'cnn') put('CNN first step (fresh process, incl. shader compilation)', 'ms (lower is better)', r.id, c.cell.ok ? fmt(c.cell.value.firstStepMs) : 'error');
    if (!c.cell.ok ? c.workload === 'attn' : c.cell.value.peakBytes !== undefined) put(`${c.name}: peak memory`, 'MiB (lower is better)', r.id, c.cell.ok ? fmt(MiB(c.cell.value.peakBytes)) : 'error');
  }
  const table = [...rows.values()];
  const head = ['workload', 'unit', ...results.map((r) => r.label)];
  const body = table.map((r) => [r.workload, r.unit, ...results.map((s) => r.cells[s.id] ?? 'n/a')]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  const meta: Record<string, string> = {
    date: new Date().toISOString(),
    adapter: adapter ? `${adapter.description}${adapter.info.software ? ', software' : ''}; features ${Object.entries(adapter.info.features).filter(([, on]) => on).map(([f]) => f).join(', ') || 'none'}` : 'none (no child process got one)',
    command: `npx tsx bench/node.ts${argv.length ? ' ' + argv.join(' ') : ''}`,
    runtime: `Node ${process.version}, webgpu ${pkgVersion('webgpu')} (Dawn); Kiln ${pkgVersion('..')} from src/; each workload group in a fresh process, each attention case in its own`,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`,
    duration: `${((Date.now() - started) / 1000).toFixed(0)} s`,
    'load average (1 min) at start / end': `${load0.toFixed(2)} / ${os.loadavg()[0].toFixed(2)}`,
  };
  console.log(`\nadapter: ${meta.adapter}`);
  console.log([line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n'));
  const name = value('out') ?? (only || value('workloads') ? undefined : 'latest');
  if (!name) return;
  const file = (ext: string) => path.join(here, 'results', `${name}-node.${ext}`);
  fs.mkdirSync(path.dirname(file('md')), { recursive: true });
  fs.writeFileSync(file('json'), JSON.stringify({ ...meta, kilnInfo: adapter?.info, sizes: SIZES, convShapes: CONV_SHAPES, attention: { ...ATTN, seqs: SEQS }, encoder: ENCODER, opts, table, results }, null, 2) + '\n');
  const L = ['# Kiln benchmark in Node (Dawn)', '', ...Object.entries(meta).map(([k, v]) => `- **${k}**: ${v}`), ''];
  L.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`));
  L.push('', '## Details', '');
  for (const r of results) for (const c of r.cases) L.push(`- ${r.label} ${c.name}: ${c.cell.ok ? detail(c.cell.value) : `ERROR ${c.cell.error}`}`);
  fs.writeFileSync(file('md'), L.join('\n') + '\n');
  console.log(`\nwrote bench/results/${name}-node.json and bench/results/${name}-node.md`);
}

function pkgVersion(name: string): string {
  const dir = name === '..' ? path.join(here, '..') : path.join(here, '..', 'node_modules', name);
  try { return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version; } catch { return '?'; }
}

const childCalls = value('child');
if (childCalls) await child(JSON.parse(childCalls));
else await main();
