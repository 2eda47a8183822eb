// The per-adapter tuning cache (src/graph/tuning.ts, src/runtime/tuning_store.ts): every
// configuration an emitter declares gives the float64 reference's result on awkward shapes; a
// kernel shape's first use runs the default while the candidates are measured, and a compiled
// function then runs the fastest; the cache round-trips through its file, ignores a corrupt one
// with one warning and keeps each adapter's choices apart; kn.debug.setTuning forces a
// configuration (seen in the WGSL) and checks its arguments; tuning off measures nothing.
//
// Tolerances are those of the emitters' own tests, for the same reasons: float32 sums of K terms
// drift like sqrt(K) ulps (test/graph/matmul.test.ts, test/graph/ops.test.ts), and attention's
// outputs and gradients sum over E + S or L + S + E + Ev terms (test/attention.test.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as kn from '../src/index.js';
import { Leaves, expectArrayClose, type Tol } from './graph/helpers.js';
import { evaluateReference } from '../src/graph/reference.js';
import { attentionComposite } from '../src/layers/attention.js';
import { MATMUL_TUNING, fitTiling, type MatmulTiling } from '../src/shaders/matmul.js';
import { REDUCE_TUNING, type ReduceConfig } from '../src/shaders/reduce.js';
import { ATTENTION_TUNING, type AttentionLayout } from '../src/shaders/attention.js';
import type { AdapterTraits, Tunable } from '../src/shaders/tunable.js';
import { tuningCounters } from '../src/graph/tuning.js';
import { tuningStore, adapterKey } from '../src/runtime/tuning_store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tuning-'));
const cacheFile = path.join(dir, 'tuning.json');

beforeAll(async () => { await kn.init({ tuning: { cache: cacheFile } }); kn.manualSeed(5); });
afterEach(() => {
  for (const e of ['matmul', 'reduce', 'attention']) kn.debug.setTuning(e, undefined);
  kn.debug.setTuning(true);
});
afterAll(() => { kn.shutdown(); fs.rmSync(dir, { recursive: true, force: true }); });

const SOFTWARE: AdapterTraits = { software: true, maxInvocations: 256 };
const GPU: AdapterTraits = { software: false, maxInvocations: 256 };
/** Every configuration an emitter offers, on a CPU or a GPU adapter, for problems big enough to be tuned. */
function offered<P, C>(t: Tunable<P, C>, problems: P[]): C[] {
  const all = problems.flatMap((p) => [...t.candidates(p, SOFTWARE), ...t.candidates(p, GPU)]);
  return all.filter((c, i) => all.findIndex((d) => t.label(d) === t.label(c)) === i);
}
/** The comment line the emitters write above the entry point. */
const comment = (wgsl: string, what: string) => wgsl.split('\n').find((l) => l.startsWith(`// ${what}`)) ?? '';
const matmulComment = (t: Required<MatmulTiling>) => `${t.tm}x${t.tn} per invocation`;
const matmulWorkgroup = (t: Required<MatmulTiling>) => `workgroup ${t.wgx}x${t.wgy}, K unrolled by ${t.ku}`;

describe('every configuration an emitter declares computes the same result', () => {
  it('matmul: each tiling on shapes of 1, 7, 33 and 65 (scalar and vec4 loads, a transposed operand) with an epilogue', async () => {
    const configs = offered(MATMUL_TUNING, [{ batch: 1, M: 128, N: 256, K: 784, a: 'c4', b: 'c4', dtype: 'float32' }, { batch: 8, M: 512, N: 512, K: 512, a: 'c4', b: 'c4', dtype: 'float32' }]);
    expect(configs.length).toBeGreaterThanOrEqual(5);
    const tol = (K: number): Tol => ({ rtol: 1e-5, atol: 4e-6 * K });
    // [33, 64] x [64, 64] takes the vec4 path under every tiling offered (N a multiple of the block's columns)
    const shapes: [number, number, number, boolean][] = [[65, 33, 65, true], [7, 1, 33, false], [33, 64, 64, false]];
    for (const config of configs) {
      kn.debug.setTuning('matmul', config);
      for (const [M, K, N, transposed] of shapes) {
        const L = new Leaves();
        const a = L.randn([M, K]), b = L.randn([K, N]), bias = L.randn([N]), bt = L.randn([N, K]);
        const f = kn.compile((x: kn.Tensor, y: kn.Tensor, c: kn.Tensor, yt: kn.Tensor) => [x.matmul(y).add(c).relu(), ...(transposed ? [x.matmul(yt.t())] : [])]);
        const outs = await f(a, b, bias, bt);
        const label = `${MATMUL_TUNING.label(config)} ${M}x${K}x${N}`;
        const fitted = fitTiling(config, 1, M, N);
        const heads = f.kernels().map((w) => comment(w, 'matmul')).filter(Boolean);
        expect(heads.length, label).toBe(transposed ? 2 : 1);
        for (const h of heads) expect(h, label).toContain(matmulWorkgroup(fitted));
        if (N === 64) expect(heads[0], label).toContain('vec4 B and A');
        expectArrayClose(await outs[0].data(), L.reference(a.matmul(b).add(bias).relu()), tol(K), `${label} + bias, relu`);
        if (transposed) expectArrayClose(await outs[1].data(), L.reference(a.matmul(bt.t())), tol(K), `${label} transposed`);
      }
    }
  });

  it('reduce: each kernel shape where valid, for sum, max and argmax', async () => {
    const configs = offered(REDUCE_TUNING, [{ op: 'sum', outputs: 4096, reduceSize: 4096, dtype: 'float32' }, { op: 'sum', outputs: 8, reduceSize: 65536, dtype: 'float32' }]);
    expect(configs.map((c) => REDUCE_TUNING.label(c)).sort()).toEqual(['a workgroup per output, workgroup 256', 'a workgroup per output, workgroup 64', 'an invocation per output, workgroup 64']);
    // [65, 33, 7] over dims 0 and 2: 33 outputs of 455; [7, 65] over 1: 7 of 65; [1, 300]: 1 of 300
    const cases: [number[], number[]][] = [[[65, 33, 7], [0, 2]], [[7, 65], [1]], [[1, 300], [1]]];
    let used = 0;
    for (const config of configs) {
      kn.debug.setTuning('reduce', config);
      for (const [shape, dims] of cases) {
        const K = dims.reduce((p, d) => p * shape[d], 1);
        if (REDUCE_TUNING.invalid(config, { op: 'sum', outputs: 1, reduceSize: K, dtype: 'float32' })) continue;
        const L = new Leaves();
        const x = L.grid(shape, 9);
        const last = dims.length === 1 ? dims[0] : undefined;
        const f = kn.compile((t: kn.Tensor) => [t.sum(dims), t.amax(dims), ...(last !== undefined ? [t.argmax(last)] : [])]);
        const outs = await f(x);
        const label = `${REDUCE_TUNING.label(config)} [${shape}] over ${dims}`;
        for (const k of f.kernels().filter((w) => w.includes('// reduce'))) expect(comment(k, 'reduce'), label).toContain(REDUCE_TUNING.label(config));
        // grid values are small integers: every sum is exact in float32
        expectArrayClose(await outs[0].data(), L.reference(x.sum(dims)), { rtol: 0, atol: 0 }, `${label}: sum`);
        expectArrayClose(await outs[1].data(), L.reference(x.amax(dims)), { rtol: 0, atol: 0 }, `${label}: max`);
        if (last !== undefined) expectArrayClose(await outs[2].data(), L.reference(x.argmax(last)), { rtol: 0, atol: 0 }, `${label}: argmax`);
        used++;
      }
    }
    expect(used).toBeGreaterThanOrEqual(7);
  });

  it('attention: each rows-per-invocation and workgroup size, forward and both gradients', async () => {
    const configs = offered(ATTENTION_TUNING, [{ mode: 'forward', batch: 8, L: 512, S: 512, E: 8, Ev: 8, causal: false, mask: 'none', dropout: false, dtype: 'float32' }]);
    expect(configs.map((c) => c.rowsPerInvocation).sort()).toEqual(expect.arrayContaining([1, 2, 4, 8]));
    const cases = [
      { q: [2, 33, 7], k: [2, 65, 7], v: [2, 65, 5], causal: true },
      { q: [1, 65, 8], k: [1, 1, 8], v: [1, 1, 3], causal: false },
    ];
    for (const c of cases) {
      const L = new Leaves();
      const q = L.randn(c.q), k = L.randn(c.k), v = L.randn(c.v);
      const [Lq, E] = c.q.slice(-2), [S, Ev] = c.v.slice(-2);
      const r = L.randn([...c.q.slice(0, -1), Ev]);
      const causal = c.causal ? kn.tensor(Array.from({ length: Lq * S }, (_, x) => (x % S <= Math.floor(x / S) ? 1 : 0)), [Lq, S], { dtype: 'bool' }) : null;
      if (causal) L.values.set(causal.node, Float64Array.from(await causal.data()));
      const composite = (a: kn.Tensor, b: kn.Tensor, d: kn.Tensor) => attentionComposite(a, b, d, { scale: 1 / Math.sqrt(E), dropoutP: 0, mask: causal });
      const wantT = [composite(q, k, v), ...kn.grad((a, b, d) => composite(a, b, d).mul(r).sum(), { argnums: [0, 1, 2] })(q, k, v) as kn.Tensor[]];
      const ref = evaluateReference(wantT.map((t) => t.node), L.values);
      const want = wantT.map((t) => ref.get(t.node)!);
      for (const config of configs) {
        kn.debug.setTuning('attention', config);
        const attn = (a: kn.Tensor, b: kn.Tensor, d: kn.Tensor) => kn.F.scaledDotProductAttention(a, b, d, { isCausal: c.causal });
        const f = kn.compile((a: kn.Tensor, b: kn.Tensor, d: kn.Tensor, w: kn.Tensor) => [attn(a, b, d), ...kn.grad((x, y, z) => attn(x, y, z).mul(w).sum(), { argnums: [0, 1, 2] })(a, b, d) as kn.Tensor[]]);
        const got = await f(q, k, v, r);
        const label = `${ATTENTION_TUNING.label(config)} q [${c.q}] k [${c.k}] v [${c.v}]${c.causal ? ' causal' : ''}`;
        const heads = f.kernels().map((w) => comment(w, 'attention')).filter(Boolean);
        for (const mode of ['forward', 'gradQ', 'gradKV']) expect(heads.some((h) => h.startsWith(`// attention ${mode} `)), `${label}: ${mode}`).toBe(true);
        for (const h of heads) expect(h, label).toContain(ATTENTION_TUNING.label(config));
        const K = [E + S, Lq + S + E + Ev, Lq + S + E + Ev, Lq + S + E + Ev];
        for (let i = 0; i < 4; i++) {
          expectArrayClose(await got[i].data(), want[i], { rtol: 1e-5, atol: 5e-7 * Math.sqrt(K[i]) }, `${label}: ${['out', 'dq', 'dk', 'dv'][i]}`);
        }
      }
    }
  });
});

// a matmul big enough to be tuned (2^18 multiply-adds and more) and quick to compile
const [M, K, N] = [64, 72, 96];
const matmulKey = `matmul 1x${M}x${N}x${K} a:c4 b:c4 float32,float32`;
const mmInputs = () => { const L = new Leaves(); return { L, a: L.randn([M, K]), b: L.randn([K, N]) }; };
const matmulTol: Tol = { rtol: 1e-5, atol: 4e-6 * K };

describe('the tuner', () => {
  it('runs the default at once, measures the candidates in the background and switches a compiled function to the fastest', async () => {
    const before = tuningCounters.measurements;
    const { L, a, b } = mmInputs();
    const f = kn.compile((x: kn.Tensor, y: kn.Tensor) => x.matmul(y));
    const first = await (await f(a, b)).data();
    // the first call ran before any measurement finished: the quick tier, the default waiting
    expect(tuningCounters.measurements).toBe(before);
    await f.ready();
    expect(tuningCounters.measurements).toBe(before + 1);
    const rec = kn.debug.tuning().find((r) => r.key === matmulKey)!;
    expect(rec, JSON.stringify(kn.debug.tuning().map((r) => r.key))).toBeDefined();
    expect(rec.source).toBe('measured');
    const cands = MATMUL_TUNING.candidates({ batch: 1, M, N, K, a: 'c4', b: 'c4', dtype: 'float32,float32' }, SOFTWARE);
    expect(rec.ms.map((m) => m.label).sort()).toEqual(cands.map((c) => MATMUL_TUNING.label(c)).sort());
    for (const m of rec.ms) expect(m.ms).toBeGreaterThan(0);
    expect(cands.map((c) => MATMUL_TUNING.label(c))).toContain(rec.label);
    // the program now runs the chosen tiling
    const fitted = fitTiling(rec.config as MatmulTiling, 1, M, N);
    expect(comment(f.kernels()[0], 'matmul')).toContain(matmulWorkgroup(fitted));
    expect(comment(f.kernels()[0], 'matmul')).toContain(matmulComment(fitted));
    const want = L.reference(a.matmul(b));
    expectArrayClose(first, want, matmulTol, 'first call');
    expectArrayClose(await (await f(a, b)).data(), want, matmulTol, 'on the tuned kernel');
  });

  it('measures an eager program\'s kernel shape from its second use, not its first', async () => {
    const before = tuningCounters.measurements;
    const L = new Leaves();
    const a = L.randn([64, 72]), b = L.randn([72, 80]);
    const key = 'matmul 1x64x80x72 a:c4 b:c4 float32,float32';
    expectArrayClose(await a.matmul(b).data(), L.reference(a.matmul(b)), matmulTol, 'first eager use');
    await kn.debug.tuningSettled();
    expect(tuningCounters.measurements).toBe(before);
    expect(kn.debug.tuning().find((r) => r.key === key)!.source).toBe('default');
    expectArrayClose(await a.matmul(b).data(), L.reference(a.matmul(b)), matmulTol, 'second eager use');
    await kn.debug.tuningSettled();
    expect(tuningCounters.measurements).toBe(before + 1);
    expect(kn.debug.tuning().find((r) => r.key === key)!.source).toBe('measured');
  });

  it('writes the choices to the cache file; cleared from memory and reloaded, they are the same, and a new program starts tuned', async () => {
    await kn.debug.tuningSettled();
    const file = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
    const mine = file.adapters[adapterKey(kn.info().adapter)];
    expect(Object.keys(mine)).toContain(matmulKey);
    const measured = kn.debug.tuning().filter((r) => r.source === 'measured').map(({ key, config, ms }) => ({ key, config, ms }));
    expect(measured.length).toBeGreaterThanOrEqual(1);
    tuningStore.clearMemory();
    expect(kn.debug.tuning().find((r) => r.key === matmulKey)!.source).toBe('default');
    await tuningStore.load();
    const reloaded = kn.debug.tuning().filter((r) => r.source === 'cache').map(({ key, config, ms }) => ({ key, config, ms }));
    expect(reloaded).toEqual(measured);
    // a new program with the same kernel shape measures nothing and runs the cached choice
    const before = tuningCounters.measurements;
    const { L, a, b } = mmInputs();
    const f = kn.compile((x: kn.Tensor, y: kn.Tensor) => x.matmul(y));
    const out = await (await f(a, b)).data();
    await f.ready();
    await kn.debug.tuningSettled();
    expect(tuningCounters.measurements).toBe(before);
    const fitted = fitTiling(measured.find((r) => r.key === matmulKey)!.config as MatmulTiling, 1, M, N);
    expect(comment(f.kernels()[0], 'matmul')).toContain(matmulWorkgroup(fitted));
    expectArrayClose(out, L.reference(a.matmul(b)), matmulTol, 'cached choice');
  });

  it('ignores a corrupt cache file with one warning, and rewrites it', async () => {
    const bad = path.join(dir, 'corrupt.json');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      for (const text of ['{"format": "kiln-tuning-cache", "adapters": {', '{"something": "else"}', '{"format": "kiln-tuning-cache", "adapters": {"x": {"matmul 1x1x1x1": {"config": 3}}}}']) {
        fs.writeFileSync(bad, text);
        warn.mockClear();
        await tuningStore.open(kn.info().adapter, { cache: bad });
        expect(warn, text).toHaveBeenCalledTimes(1);
        expect(String(warn.mock.calls[0][0])).toContain(bad);
        expect(kn.debug.tuning().filter((r) => r.source === 'cache'), text).toEqual([]);
      }
      tuningStore.set(matmulKey, { config: { tm: 8, tn: 8, wgx: 4, wgy: 4, ku: 4 }, ms: [], source: 'measured' });
      await tuningStore.save();
      expect(JSON.parse(fs.readFileSync(bad, 'utf8')).adapters[adapterKey(kn.info().adapter)][matmulKey].config.tm).toBe(8);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
      await tuningStore.open(kn.info().adapter, { cache: cacheFile });
    }
  });

  it('an unwritable cache warns once and keeps the choices in memory', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      // a path below a regular file: every write fails (ENOTDIR)
      await tuningStore.open(kn.info().adapter, { cache: path.join(cacheFile, 'below-a-file.json') });
      expect(warn).not.toHaveBeenCalled();
      for (const k of ['reduce sum 1x1 float32', 'reduce sum 2x2 float32']) {
        tuningStore.set(k, { config: { perOutput: 'invocation', workgroup: 64 }, ms: [], source: 'measured' });
        await tuningStore.save();
      }
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/could not write the tuning cache .*below-a-file\.json/);
      expect(tuningStore.list().map(([k]) => k)).toEqual(['reduce sum 1x1 float32', 'reduce sum 2x2 float32']);
    } finally {
      warn.mockRestore();
      await tuningStore.open(kn.info().adapter, { cache: cacheFile });
    }
  });

  it('keeps each adapter\'s choices apart, and another adapter\'s section survives a write', async () => {
    const info = kn.info().adapter;
    const other = { ...info, description: `${info.description} (another one)` };
    expect(adapterKey(other)).not.toBe(adapterKey(info));
    expect(adapterKey({ ...info, vendor: 'x' })).not.toBe(adapterKey(info));
    const file = path.join(dir, 'two-adapters.json');
    const theirs = { [matmulKey]: { config: { tm: 1, tn: 1, wgx: 1, wgy: 1, ku: 1 }, ms: [] } };
    const ours = { [matmulKey]: { config: { tm: 8, tn: 16, wgx: 4, wgy: 2, ku: 4 }, ms: [] } };
    fs.writeFileSync(file, JSON.stringify({ format: 'kiln-tuning-cache', adapters: { [adapterKey(other)]: theirs, [adapterKey(info)]: ours } }));
    try {
      await tuningStore.open(info, { cache: file });
      expect(tuningStore.list().map(([k, e]) => [k, e.config])).toEqual([[matmulKey, ours[matmulKey].config]]);
      tuningStore.set('reduce sum 1x1 float32', { config: { perOutput: 'invocation', workgroup: 64 }, ms: [], source: 'measured' });
      await tuningStore.save();
      const back = JSON.parse(fs.readFileSync(file, 'utf8')).adapters;
      expect(back[adapterKey(other)]).toEqual(theirs);
      expect(Object.keys(back[adapterKey(info)]).sort()).toEqual([matmulKey, 'reduce sum 1x1 float32']);
    } finally {
      await tuningStore.open(info, { cache: cacheFile });
    }
  });

  it('obeys a forced configuration for one kernel shape or a whole emitter (seen in the WGSL)', async () => {
    const forced = { tm: 4, tn: 8, wgx: 2, wgy: 8, ku: 2 };
    kn.debug.setTuning(matmulKey, forced);
    const { L, a, b } = mmInputs();
    const f = kn.compile((x: kn.Tensor, y: kn.Tensor) => x.matmul(y).sum(1));
    const out = await (await f(a, b)).data();
    expect(comment(f.kernels()[0], 'matmul')).toContain('4x8 per invocation');
    expect(comment(f.kernels()[0], 'matmul')).toContain('workgroup 2x8, K unrolled by 2');
    expect(kn.debug.tuning().find((r) => r.key === matmulKey)!.source).toBe('forced');
    expectArrayClose(out, L.reference(a.matmul(b).sum(1)), { rtol: 1e-5, atol: 4e-6 * K * Math.sqrt(N) }, 'forced tiling');
    // the emitter-wide override of reduce, where valid: a workgroup of 64 per output
    kn.debug.setTuning('reduce', { perOutput: 'workgroup', workgroup: 64 });
    const g = kn.compile((x: kn.Tensor) => x.sum(1));
    await g(a);
    expect(comment(g.kernels()[0], 'reduce')).toContain('a workgroup per output, workgroup 64');
    // lifted: the default (an invocation per output on a CPU adapter) again
    kn.debug.setTuning('reduce', undefined);
    const h = kn.compile((x: kn.Tensor) => x.sum(1));
    await h(a);
    expect(comment(h.kernels()[0], 'reduce')).toContain(REDUCE_TUNING.label(REDUCE_TUNING.default({ op: 'sum', outputs: M, reduceSize: K, dtype: 'float32' }, { software: kn.info().software, maxInvocations: 256 }) as ReduceConfig));
  });

  it('checks setTuning\'s and init\'s arguments', async () => {
    expect(() => kn.debug.setTuning('conv', { tm: 4 })).toThrow(/unknown emitter "conv".*expected one of matmul, reduce, attention/);
    expect(() => kn.debug.setTuning('matmul', { tm: 0, tn: 4, wgx: 4, wgy: 4 })).toThrow(/config\.tm must be an integer from 1 to 32, got 0/);
    expect(() => kn.debug.setTuning('matmul', { tm: 4, tn: 4, wgx: 4, wgy: 4, tiles: 2 })).toThrow(/unknown field 'tiles'; expected only tm, tn, wgx, wgy, ku, fit/);
    expect(() => kn.debug.setTuning('matmul', { tm: 4, tn: 4, wgx: 32, wgy: 32 })).toThrow(/wgx \* config\.wgy must be at most 256.*got 1024/);
    expect(() => kn.debug.setTuning('matmul', 'fast')).toThrow(/the config must be an object, got "fast"/);
    expect(() => kn.debug.setTuning('reduce', { perOutput: 'warp', workgroup: 64 })).toThrow(/config\.perOutput must be one of "invocation", "workgroup", got "warp"/);
    expect(() => kn.debug.setTuning('reduce', { perOutput: 'workgroup', workgroup: 48 })).toThrow(/power of two from 2 to 256.*got 48/);
    expect(() => kn.debug.setTuning('attention', { workgroup: 64 })).toThrow(/config\.rowsPerInvocation is missing/);
    expect(() => kn.debug.setTuning('matmul 1x2x3x4 a:c b:c float32', { tm: 4, tn: 4, wgx: 4, wgy: 4 })).toThrow(/unknown key "matmul 1x2x3x4 a:c b:c float32"/);
    // a key whose problem the config cannot compute: 65 elements per output, a workgroup of 256
    const x = kn.randn([3, 65]);
    await kn.compile((t: kn.Tensor) => t.sum(1))(x);
    expect(() => kn.debug.setTuning('reduce sum 3x65 float32', { perOutput: 'workgroup', workgroup: 256 })).toThrow(/needs at least 256 elements per output, this reduction has 65/);
    expect(() => kn.debug.setTuning(3 as unknown as boolean)).toThrow(/must be true, false, an emitter name.*got 3/);
    expect(() => kn.debug.setTuning(false, { tm: 4 })).toThrow(/takes no config/);
    await expect(kn.init({ tuning: 'yes' as unknown as boolean })).rejects.toThrow(/options\.tuning must be true, false or \{cache\}, got "yes"/);
    await expect(kn.init({ tuning: { cache: 3 as unknown as string } })).rejects.toThrow(/options\.tuning\.cache must be a file path or false, got 3/);
    await expect(kn.init({ tuning: { file: 'x' } as unknown as boolean })).rejects.toThrow(/unknown field 'file'/);
  });

  it('measures nothing with tuning off (kn.debug.setTuning(false), kn.init({tuning: false}), KILN_TUNING=off)', async () => {
    kn.debug.setTuning(false);
    const before = tuningCounters.measurements, fileBefore = fs.readFileSync(cacheFile, 'utf8');
    const L = new Leaves();
    const a = L.randn([80, 72]), b = L.randn([72, 96]);
    const f = kn.compile((x: kn.Tensor, y: kn.Tensor) => x.matmul(y));
    const out = await (await f(a, b)).data();
    await f.ready();
    await kn.debug.tuningSettled();
    expect(tuningCounters.measurements).toBe(before);
    const rec = kn.debug.tuning().find((r) => r.key === 'matmul 1x80x96x72 a:c4 b:c4 float32,float32')!;
    expect(rec.source).toBe('default');
    expect(rec.ms).toEqual([]);
    expect(fs.readFileSync(cacheFile, 'utf8')).toBe(fileBefore);
    expectArrayClose(out, L.reference(a.matmul(b)), matmulTol, 'tuning off');
    // the init option and the environment variable switch it off the same way
    try {
      await tuningStore.open(kn.info().adapter, false);
      expect(tuningStore.enabled).toBe(false);
      expect(tuningStore.where).toBe('memory');
      expect(process.env.KILN_TUNING).toBe('off'); // vitest.config.ts
      await tuningStore.open(kn.info().adapter, undefined);
      expect(tuningStore.enabled).toBe(false);
    } finally {
      await tuningStore.open(kn.info().adapter, { cache: cacheFile });
    }
    expect(tuningStore.enabled).toBe(true);
  });
});
