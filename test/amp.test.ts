// Mixed precision: kn.autocast (PyTorch's op lists: matmul, linear, convolutions and attention
// in float16; sums, softmax, norms, losses, exp/log/pow in float32) and kn.amp.GradScaler
// (dynamic loss scaling with the inf/NaN check and the skipped step on the GPU).
//
// Tolerances, each against an independent reference:
//   f16 matmul / conv2d / attention: the float64 result of the float16-rounded inputs, rounded
//     to float16, within 1 float16 ulp of it. The kernels accumulate in float32 (for K <= 200
//     terms of size ~1 the accumulated error is below 2e-4 absolute, against an ulp of 2^-8 ..
//     2^-6 at these magnitudes), so a result can only land on the other side of a rounding
//     boundary; at least 90% of the elements must be exactly the reference.
//   gradients under autocast vs float32: |g16 - g32| <= 1e-2 * max|g32| per tensor. Each input
//     is rounded to float16 (relative 2^-11 = 4.9e-4), each matmul output is rounded again in
//     the forward and in the backward pass: about six roundings along any path, so ~3e-3 of the
//     largest magnitudes; 1e-2 leaves a factor 3. The difference must also be above 1e-6 *
//     max|g32| (float32 noise), or autocast did nothing.
//   GradScaler vs PyTorch (golden/grad_scaler.json): scale and growth tracker exact; a skipped
//     step leaves parameters and state bit for bit; parameters and optimizer state otherwise
//     within RTOL 1e-5, ATOL 2e-6, as test/optim.test.ts (float32 Adam/SGD updates; the SGD
//     case's scales 6, 1.5, 3.375 ... make 1/scale inexact, an ulp of the gradient).
//   compiled vs eager under autocast + GradScaler: the same graph, fused differently; float16
//     roundings of float32 values that differ in the last bit can differ by an f16 ulp, so
//     parameters after 4 steps agree within 1e-4 absolute (lr 1e-2 times a relative 1e-2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { castValue } from '../src/graph/dtype.js';
import { normalArray } from '../src/layers/random.js';
import { loadGolden } from './golden.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

const h = (v: number) => castValue(v, 'float16');
/** The spacing of float16 values at |v| (normal range). */
const ulp16 = (v: number) => 2 ** (Math.max(Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -14))), -14) - 10);
const randn = (shape: number[], scale = 1) => kn.tensor(normalArray(shape.reduce((a, b) => a * b, 1)).map((v) => Math.fround(v * scale)), shape);

/** The values of several tensors, computed in one program (each data() call alone would recompute the shared graph). */
async function readAll(ts: kn.Tensor[]): Promise<Float32Array[]> {
  const all = await kn.cat(ts.map((t) => t.reshape(-1)), 0).data();
  let at = 0;
  return ts.map((t) => { const n = t.numel(); at += n; return Float32Array.from(all.subarray(at - n, at)); });
}

/** Every element within 1 float16 ulp of the reference, at least 90% exactly; returns the exact share. */
function checkF16(what: string, got: ArrayLike<number>, want: number[]): number {
  expect(got.length, `${what}: length`).toBe(want.length);
  let exact = 0;
  for (let i = 0; i < want.length; i++) {
    expect(h(got[i]), `${what}[${i}] is a float16 value`).toBe(got[i]);
    const err = Math.abs(got[i] - want[i]);
    if (err > ulp16(want[i])) expect.fail(`${what}[${i}] is ${got[i]}, the reference ${want[i]} (|diff| ${err} > 1 ulp ${ulp16(want[i])})`);
    if (err === 0) exact++;
  }
  expect(exact / want.length, `${what}: share of exact elements`).toBeGreaterThanOrEqual(0.9);
  return exact / want.length;
}

describe('autocast: the dtype of each op class', () => {
  it('matmul, linear, convolutions and attention run in float16; their float32 inputs are cast', () => {
    const x = randn([2, 3, 6, 6]), w = randn([4, 3, 3, 3]), b = randn([4]);
    kn.autocast(() => {
      expect(kn.isAutocastEnabled()).toBe(true);
      const a = randn([5, 6]), m = randn([6, 7]);
      expect(a.matmul(m).dtype).toBe('float16');
      expect(kn.F.matmul(a, m).dtype).toBe('float16');
      expect(kn.F.linear(a, randn([7, 6]), randn([7])).dtype).toBe('float16');
      expect(new kn.nn.Linear(6, 2).forward(a).dtype).toBe('float16');
      expect(kn.F.conv2d(x, w, { bias: b, padding: 1 }).dtype).toBe('float16');
      expect(kn.F.conv1d(randn([2, 3, 9]), randn([4, 3, 3]), { bias: b }).dtype).toBe('float16');
      expect(kn.F.convTranspose2d(x, randn([3, 4, 2, 2]), { stride: 2 }).dtype).toBe('float16');
      const q = randn([1, 2, 5, 8]);
      expect(kn.F.scaledDotProductAttention(q, q, q).dtype).toBe('float16');
      expect(kn.F.scaledDotProductAttention(q, q, q, { isCausal: true }).dtype).toBe('float16');
      // ops on no list keep their inputs' dtype; float16 with float32 promotes to float32
      const y = a.matmul(m);
      expect(y.relu().dtype).toBe('float16');
      expect(y.add(1).dtype).toBe('float16');
      expect(y.add(randn([7])).dtype).toBe('float32');
      // integer and bool tensors are never cast
      expect(kn.F.embedding(kn.tensor([1, 0], [2], { dtype: 'int32' }), randn([3, 4])).dtype).toBe('float32');
    });
    expect(kn.isAutocastEnabled()).toBe(false);
    // outside: float32 as before
    expect(randn([2, 3]).matmul(randn([3, 2])).dtype).toBe('float32');
    expect(kn.F.conv2d(x, w).dtype).toBe('float32');
  });

  it('sums, softmax, norms, losses and exp/log/pow/rsqrt/softplus run in float32 on float16 inputs', () => {
    const x16 = randn([4, 6]).to('float16');
    const target = kn.tensor(Int32Array.from([0, 5, 2, 1]), [4], { dtype: 'int32' });
    kn.autocast(() => {
      const f32 = (t: kn.Tensor) => expect(t.dtype).toBe('float32');
      f32(x16.sum()); f32(x16.sum(1)); f32(x16.mean()); f32(x16.softmax(-1)); f32(x16.logSoftmax(0));
      f32(kn.F.softmax(x16, 1)); f32(kn.F.logSoftmax(x16, 1));
      f32(kn.F.layerNorm(x16, [6])); f32(kn.F.rmsNorm(x16, [6]));
      f32(kn.F.groupNorm(x16.reshape(2, 4, 3), 2));
      f32(kn.F.crossEntropy(x16, target)); f32(kn.F.nllLoss(x16.logSoftmax(1), target));
      f32(kn.F.mseLoss(x16, x16)); f32(kn.F.l1Loss(x16, x16)); f32(kn.F.binaryCrossEntropyWithLogits(x16, x16.sigmoid()));
      f32(x16.exp()); f32(x16.log()); f32(x16.pow(2)); f32(x16.rsqrt()); f32(kn.F.softplus(x16));
      // max and the activations are on neither list
      expect(x16.max().dtype).toBe('float16'); expect(x16.tanh().dtype).toBe('float16');
      // batch norm computes in float32 and keeps its input's dtype (as PyTorch's CUDA kernels)
      expect(kn.F.batchNorm(x16, null, null, { training: true }).dtype).toBe('float16');
    });
  });

  it('nests, can be turned off inside, and restores the setting after a throw', () => {
    const a = randn([2, 2]);
    kn.autocast(() => {
      expect(kn.autocast(() => a.matmul(a), { enabled: false }).dtype).toBe('float32');
      expect(kn.autocast(() => a.matmul(a)).dtype).toBe('float16');
      expect(a.matmul(a).dtype).toBe('float16');
    });
    expect(() => kn.autocast(() => { throw new Error('inside'); })).toThrow('inside');
    expect(kn.isAutocastEnabled()).toBe(false);
    expect(kn.amp.autocast(() => a.matmul(a)).dtype).toBe('float16');
  });

  it('batch norm under autocast equals float32 batch norm of the same float16 input, rounded', async () => {
    const x16 = randn([3, 4, 2, 2], 2).to('float16');
    const bn = new kn.nn.BatchNorm2d(4);
    const got = await kn.autocast(() => bn.forward(x16)).data();
    const want = await kn.F.batchNorm(x16.float(), null, null, { training: true }).data();
    expect(Array.from(got)).toEqual(Array.from(want, h));
    // the running statistics stay float32 and are updated from float32 statistics
    expect(bn.runningMean!.dtype).toBe('float32');
  });
});

describe('autocast: numerics against float64 references of the float16-rounded inputs', () => {
  it('matmul (33x65 @ 65x17, and batched 3x7x33 @ 33x5) within 1 float16 ulp', async () => {
    for (const [sa, sb] of [[[33, 65], [65, 17]], [[3, 7, 33], [3, 33, 5]]] as const) {
      const a = randn([...sa]), b = randn([...sb]);
      const [ad, bd] = [await a.data(), await b.data()];
      const out = kn.autocast(() => a.matmul(b));
      expect(out.dtype).toBe('float16');
      const got = await out.data();
      const B = sa.length === 3 ? sa[0] : 1, M = sa[sa.length - 2], K = sa[sa.length - 1], N = sb[sb.length - 1];
      const want: number[] = [];
      for (let bi = 0; bi < B; bi++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += h(ad[bi * M * K + i * K + k]) * h(bd[bi * K * N + k * N + j]);
        want.push(h(s));
      }
      checkF16(`matmul ${sa} @ ${sb}`, got, want);
      // and it is not the float32 product: autocast really rounds
      const full = await a.matmul(b).data();
      expect(Array.from(full).some((v, i) => Math.abs(v - got[i]) > 1e-5 * (1 + Math.abs(v)))).toBe(true);
    }
  });

  it('conv2d (2x3x7x7, 5 filters 3x3, padding 1) within 1 float16 ulp', async () => {
    const x = randn([2, 3, 7, 7]), w = randn([5, 3, 3, 3]);
    const [xd, wd] = [await x.data(), await w.data()];
    const got = await kn.autocast(() => kn.F.conv2d(x, w, { padding: 1 })).data();
    const want: number[] = [];
    for (let n = 0; n < 2; n++) for (let o = 0; o < 5; o++) for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) {
      let s = 0;
      for (let c = 0; c < 3; c++) for (let u = 0; u < 3; u++) for (let v = 0; v < 3; v++) {
        const yi = i + u - 1, xj = j + v - 1;
        if (yi < 0 || yi >= 7 || xj < 0 || xj >= 7) continue;
        s += h(xd[((n * 3 + c) * 7 + yi) * 7 + xj]) * h(wd[((o * 3 + c) * 3 + u) * 3 + v]);
      }
      want.push(h(s));
    }
    checkF16('conv2d', got, want);
  });

  it('scaled-dot-product attention ([1, 2, 7, 8], causal) within 1 float16 ulp', async () => {
    const [L, E] = [7, 8];
    const q = randn([1, 2, L, E]), k = randn([1, 2, L, E]), v = randn([1, 2, L, E]);
    const [qd, kd, vd] = [await q.data(), await k.data(), await v.data()];
    const got = await kn.autocast(() => kn.F.scaledDotProductAttention(q, k, v, { isCausal: true })).data();
    const want: number[] = [];
    for (let hd = 0; hd < 2; hd++) for (let i = 0; i < L; i++) {
      const at = (d: ArrayLike<number>, r: number, c: number) => h(d[(hd * L + r) * E + c]);
      const s = Array.from({ length: i + 1 }, (_, j) => { let t = 0; for (let c = 0; c < E; c++) t += at(qd, i, c) * at(kd, j, c); return t / Math.sqrt(E); });
      const m = Math.max(...s), p = s.map((x) => Math.exp(x - m)), z = p.reduce((a, b) => a + b, 0);
      for (let c = 0; c < E; c++) want.push(h(p.reduce((acc, pj, j) => acc + (pj / z) * at(vd, j, c), 0)));
    }
    checkF16('attention', got, want);
  });

  it('gradients flow back through the casts: a linear-relu-linear-crossEntropy net under autocast vs float32', async () => {
    const x = randn([16, 12]), y = kn.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 5), [16], { dtype: 'int32' });
    const make = () => [randn([20, 12], 0.3), randn([20], 0.1), randn([5, 20], 0.3), randn([5], 0.1)];
    const init = make();
    const vals = await Promise.all(init.map((t) => t.data()));
    const grads = async (amp: boolean) => {
      const ps = init.map((t, i) => kn.tensor(Float32Array.from(vals[i]), t.shape, { requiresGrad: true }));
      const [w1, b1, w2, b2] = ps;
      const loss = kn.autocast(() => kn.F.crossEntropy(kn.F.linear(kn.F.linear(x, w1, b1).relu(), w2, b2), y), { enabled: amp });
      expect(loss.dtype).toBe('float32');
      loss.backward();
      for (const p of ps) expect(p.grad!.dtype).toBe('float32');
      return readAll(ps.map((p) => p.grad!));
    };
    const g16 = await grads(true), g32 = await grads(false);
    g32.forEach((g, t) => {
      const scale = Math.max(...Array.from(g, Math.abs));
      const diff = Math.max(...Array.from(g, (v, i) => Math.abs(v - g16[t][i])));
      expect(diff, `parameter ${t}: max |g16 - g32| against 1e-2 * ${scale}`).toBeLessThanOrEqual(1e-2 * scale);
      expect(diff, `parameter ${t}: autocast changed the gradient`).toBeGreaterThan(1e-6 * scale);
    });
  });

  it('conv2d gradients under autocast vs float32', async () => {
    const xv = randn([2, 3, 6, 6]), wv = randn([4, 3, 3, 3], 0.3);
    const [xd, wd] = [await xv.data(), await wv.data()];
    const grads = async (amp: boolean) => {
      const x = kn.tensor(Float32Array.from(xd), [2, 3, 6, 6], { requiresGrad: true }), w = kn.tensor(Float32Array.from(wd), [4, 3, 3, 3], { requiresGrad: true });
      const out = kn.autocast(() => kn.F.conv2d(x, w, { padding: 1 }).relu().sum(), { enabled: amp });
      out.backward();
      return readAll([x.grad!, w.grad!]);
    };
    const g16 = await grads(true), g32 = await grads(false);
    g32.forEach((g, t) => {
      const scale = Math.max(...Array.from(g, Math.abs));
      const diff = Math.max(...Array.from(g, (v, i) => Math.abs(v - g16[t][i])));
      expect(diff, `${t ? 'weight' : 'input'}: max |g16 - g32|`).toBeLessThanOrEqual(1e-2 * scale);
      expect(diff).toBeGreaterThan(1e-6 * scale);
    });
  });
});

describe('kn.compile and autocast', () => {
  it('the trace records the autocast setting of the call and retraces when it changes', async () => {
    const f = kn.compile((a: kn.Tensor, b: kn.Tensor) => a.matmul(b));
    const a = randn([4, 5]), b = randn([5, 3]);
    const plain = await f(a, b);
    expect(plain.dtype).toBe('float32');
    const amp = await kn.autocast(() => f(a, b));
    expect(amp.dtype).toBe('float16');
    expect(f.stats().traces).toBe(2);
    expect((await f(a, b)).dtype).toBe('float32');
    expect((await kn.autocast(() => f(a, b))).dtype).toBe('float16');
    expect(f.stats().traces).toBe(2);
    // the same values as the eager autocast product
    expect(Array.from(await amp.data())).toEqual(Array.from(await kn.autocast(() => a.matmul(b)).data()));
  });
});

// ---------------------------------------------------------------- GradScaler

interface T { shape: number[]; data: (number | string)[] }
const golden = loadGolden('grad_scaler.json');
const num = (v: number | string) => (typeof v === 'number' ? v : v === 'nan' ? NaN : v === 'inf' ? Infinity : -Infinity);
const fromGolden = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data, num), t.shape, opts);
const RTOL = 1e-5, ATOL = 2e-6;

function close(what: string, got: ArrayLike<number>, want: (number | string)[]): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const e = num(want[i]), err = Math.abs(got[i] - e);
    if (!(err <= ATOL + RTOL * Math.abs(e))) expect.fail(`${what}[${i}] is ${got[i]}, PyTorch has ${e} (|diff| ${err})`);
  }
}

async function runGoldenCase(c: any, compiled: boolean): Promise<void> {
  const w = fromGolden(c.init.w, { requiresGrad: true }), b = fromGolden(c.init.b, { requiresGrad: true });
  const opt = c.optimizer.type === 'Adam' ? new kn.optim.Adam([w, b], { lr: c.optimizer.lr }) : new kn.optim.SGD([w, b], { lr: c.optimizer.lr, momentum: c.optimizer.momentum });
  const scaler = new kn.amp.GradScaler(c.scaler);
  const iteration = (C: kn.Tensor, D: kn.Tensor) => {
    opt.zeroGrad();
    const loss = w.mul(C).sum().add(b.mul(D).sum());
    scaler.scale(loss).backward();
    if (c.clip !== null) { scaler.unscale_(opt); kn.nn.utils.clipGradNorm_([w, b], c.clip); }
    scaler.step(opt);
    scaler.update();
    return loss;
  };
  const step = compiled ? kn.compile(iteration) : null;
  let before = [await w.data(), await b.data()];
  for (const [t, s] of (c.steps as any[]).entries()) {
    const C = fromGolden(s.C), D = fromGolden(s.D);
    if (step) await step(C, D); else iteration(C, D);
    const at = `${c.name}${compiled ? ' (compiled)' : ''} step ${t}`;
    expect(await scaler.getScale(), `${at}: scale`).toBe(s.scale);
    expect((await scaler.stateDict() as kn.GradScalerState)._growth_tracker, `${at}: growth tracker`).toBe(s.growthTracker);
    const now = [await w.data(), await b.data()];
    if (!s.stepped) {
      // a skipped step changes nothing, bit for bit
      expect(Array.from(now[0]), `${at}: w unchanged`).toEqual(Array.from(before[0]));
      expect(Array.from(now[1]), `${at}: b unchanged`).toEqual(Array.from(before[1]));
    }
    close(`${at}: w`, now[0], s.w.data); close(`${at}: b`, now[1], s.b.data);
    const sd = await opt.stateDict();
    for (const [pid, name] of [[0, 'w'], [1, 'b']] as const) {
      const want = s.state[name];
      const mine = sd.state[pid] ?? {};
      expect(Object.keys(mine).sort(), `${at}: state keys of ${name}`).toEqual(Object.keys(want).sort());
      for (const [k, v] of Object.entries(want)) {
        if (k === 'step') expect(mine.step, `${at}: ${name} step`).toBe(v);
        else close(`${at}: ${name}.${k}`, await (mine[k] as kn.Tensor).data(), (v as T).data);
      }
    }
    before = now;
  }
  expect(await scaler.stateDict()).toEqual(c.stateDict);
  if (step) expect(step.stats().traces, 'one trace for every step').toBe(1);
}

describe('GradScaler against PyTorch (golden/grad_scaler.json)', () => {
  for (const c of golden.cases) {
    it(`${c.name}: eager`, async () => { await runGoldenCase(c, false); });
  }
  it(`${golden.cases[0].name}: compiled, one trace, no read-back inside the step`, async () => { await runGoldenCase(golden.cases[0], true); });
});

describe('GradScaler', () => {
  const setup = (opts: kn.GradScalerOptions = {}) => {
    const w = kn.tensor([1, -2, 3], [3], { requiresGrad: true });
    const opt = new kn.optim.Adam([w], { lr: 0.1 });
    const scaler = new kn.amp.GradScaler(opts);
    const iterate = (c: number[]) => {
      opt.zeroGrad();
      scaler.scale(w.mul(kn.tensor(c, [3])).sum()).backward();
      scaler.step(opt); scaler.update();
    };
    return { w, opt, scaler, iterate };
  };

  it('skips the step when a gradient is inf: parameters and optimizer state unchanged, scale halved', async () => {
    const { w, opt, scaler, iterate } = setup({ initScale: 1024 });
    iterate([0.5, 1, -1]);
    const wBefore = Array.from(await w.data());
    const sdBefore = await opt.stateDict();
    const stateBefore = await Promise.all(['exp_avg', 'exp_avg_sq'].map(async (k) => Array.from(await (sdBefore.state[0][k] as kn.Tensor).data())));
    iterate([0.5, Infinity, -1]);
    expect(Array.from(await w.data())).toEqual(wBefore);
    const sd = await opt.stateDict();
    expect(sd.state[0].step).toBe(1);
    for (const [i, k] of ['exp_avg', 'exp_avg_sq'].entries()) expect(Array.from(await (sd.state[0][k] as kn.Tensor).data())).toEqual(stateBefore[i]);
    expect(await scaler.getScale()).toBe(512);
    // a NaN too, and then a good step moves the parameters again
    iterate([NaN, 1, 1]);
    expect(await scaler.getScale()).toBe(256);
    expect(Array.from(await w.data())).toEqual(wBefore);
    iterate([1, 1, 1]);
    expect(Array.from(await w.data())).not.toEqual(wBefore);
    expect((await opt.stateDict()).state[0].step).toBe(2);
  });

  it('grows the scale after growthInterval good steps in a row, and the tracker restarts', async () => {
    const { scaler, iterate } = setup({ initScale: 4, growthInterval: 3, growthFactor: 2 });
    iterate([1, 1, 1]); iterate([1, 1, 1]);
    expect(await scaler.getScale()).toBe(4);
    expect((await scaler.stateDict() as kn.GradScalerState)._growth_tracker).toBe(2);
    iterate([1, 1, 1]);
    expect(await scaler.getScale()).toBe(8);
    expect((await scaler.stateDict() as kn.GradScalerState)._growth_tracker).toBe(0);
    // an inf resets the count
    iterate([1, 1, 1]); iterate([Infinity, 1, 1]);
    expect(await scaler.stateDict()).toEqual({ scale: 4, growth_factor: 2, backoff_factor: 0.5, growth_interval: 3, _growth_tracker: 0 });
    // the hyper-parameters are device scalars: setting one takes effect without a retrace
    scaler.setGrowthInterval(1);
    iterate([1, 1, 1]);
    expect(await scaler.getScale()).toBe(8);
  });

  it('stateDict/loadStateDict use PyTorch keys; update(newScale) sets the scale', async () => {
    const { scaler, iterate } = setup();
    expect(await scaler.stateDict()).toEqual({ scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 0 });
    iterate([1, 2, 3]);
    const other = new kn.amp.GradScaler();
    other.loadStateDict(await scaler.stateDict() as kn.GradScalerState);
    expect(await other.stateDict()).toEqual({ scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 1 });
    scaler.loadStateDict({ scale: 128, growth_factor: 4, backoff_factor: 0.25, growth_interval: 10, _growth_tracker: 3 });
    expect(await scaler.stateDict()).toEqual({ scale: 128, growth_factor: 4, backoff_factor: 0.25, growth_interval: 10, _growth_tracker: 3 });
    expect(scaler.getGrowthFactor()).toBe(4);
    iterate([1, 1, Infinity]);
    expect(await scaler.getScale()).toBe(32);
    iterate([1, 1, 1]);
    scaler.update(1000);
    expect(await scaler.getScale()).toBe(1000);
  });

  it('disabled: scale returns its input, step is optimizer.step(), getScale is 1, stateDict is {}', async () => {
    const { w, opt, scaler } = setup({ enabled: false });
    const loss = w.sum();
    expect(scaler.scale(loss)).toBe(loss);
    loss.backward();
    scaler.step(opt); scaler.update();
    expect(Array.from(await w.data())).not.toEqual([1, -2, 3]);
    expect(await scaler.getScale()).toBe(1);
    expect(await scaler.stateDict()).toEqual({});
    expect(scaler.isEnabled()).toBe(false);
  });

  it('a compiled MLP step under autocast + GradScaler equals the eager one, without retracing', async () => {
    kn.manualSeed(3);
    const x = randn([8, 10]), y = kn.tensor(Int32Array.from({ length: 8 }, (_, i) => i % 4), [8], { dtype: 'int32' });
    const xBad = kn.tensor(new Float32Array(80).fill(1e5), [8, 10]); // 1e5 overflows float16: inf activations
    const init = new kn.nn.Sequential(new kn.nn.Linear(10, 16), new kn.nn.ReLU(), new kn.nn.Linear(16, 4));
    const sd = Object.fromEntries(await Promise.all(Object.entries(init.stateDict()).map(async ([k, v]) => [k, kn.tensor(await v.data(), v.shape)] as const)));
    const run = async (compiled: boolean) => {
      const model = new kn.nn.Sequential(new kn.nn.Linear(10, 16), new kn.nn.ReLU(), new kn.nn.Linear(16, 4));
      model.loadStateDict(sd);
      const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-2 });
      const scaler = new kn.amp.GradScaler({ initScale: 256, growthInterval: 2 });
      const iteration = (xb: kn.Tensor, yb: kn.Tensor) => {
        const loss = kn.autocast(() => kn.F.crossEntropy(model.forward(xb), yb));
        scaler.scale(loss).backward();
        scaler.step(opt); scaler.update(); opt.zeroGrad();
        return loss;
      };
      const step = compiled ? kn.compile(iteration) : null;
      const losses: number[] = [], scales: number[] = [];
      for (const xb of [x, x, xBad, x]) {
        const loss = step ? await step(xb, y) : iteration(xb, y);
        losses.push(await loss.item()); scales.push(await scaler.getScale());
      }
      if (step) expect(step.stats().traces).toBe(1);
      return { losses, scales, params: (await readAll(model.parameters())).map((p) => Array.from(p)) };
    };
    const eager = await run(false), compiled = await run(true);
    expect(eager.scales).toEqual([256, 512, 256, 256]);
    expect(compiled.scales).toEqual(eager.scales);
    eager.params.forEach((p, i) => p.forEach((v, j) => expect(Math.abs(v - compiled.params[i][j]), `parameter ${i}[${j}]`).toBeLessThanOrEqual(1e-4)));
    [0, 1, 3].forEach((i) => expect(Math.abs(eager.losses[i] - compiled.losses[i])).toBeLessThanOrEqual(1e-3));
  });

  it('bad arguments raise errors naming the argument', () => {
    const { w, opt, scaler } = setup();
    expect(() => new kn.amp.GradScaler({ initScale: NaN })).toThrow(/initScale must be a finite number > 0, got NaN/);
    expect(() => new kn.amp.GradScaler({ initScale: -1 })).toThrow(/initScale/);
    expect(() => new kn.amp.GradScaler({ growthFactor: 1 })).toThrow(/growthFactor must be a finite number > 1, got 1/);
    expect(() => new kn.amp.GradScaler({ backoffFactor: 1.5 })).toThrow(/backoffFactor must be a number in \(0, 1\), got 1.5/);
    expect(() => new kn.amp.GradScaler({ growthInterval: 2.5 })).toThrow(/growthInterval must be an integer >= 1, got 2.5/);
    expect(() => new kn.amp.GradScaler({ enabled: 'yes' as any })).toThrow(/enabled must be true or false, got "yes"/);
    expect(() => new kn.amp.GradScaler({ initscale: 2 } as any)).toThrow(/unknown option 'initscale'/);
    expect(() => scaler.scale(3 as any)).toThrow(/outputs must be a Tensor or an array of Tensors/);
    expect(() => scaler.step({} as any)).toThrow(/optimizer must be a kn.optim optimizer/);
    expect(() => scaler.unscale_(opt)).toThrow(/call scaler.scale\(loss\) earlier/);
    expect(() => scaler.update()).toThrow(/scale\(loss\) earlier/);
    scaler.scale(w.sum()).backward();
    expect(() => scaler.update()).toThrow(/no inf checks were recorded prior to update/);
    scaler.unscale_(opt);
    expect(() => scaler.unscale_(opt)).toThrow(/unscale_\(\) has already been called on this optimizer since the last update\(\)/);
    scaler.step(opt);
    expect(() => scaler.step(opt)).toThrow(/step\(\) has already been called since the last update\(\)/);
    expect(() => scaler.unscale_(opt)).toThrow(/unscale_\(\) is being called after step\(\)/);
    expect(() => scaler.update(NaN)).toThrow(/newScale must be a finite number > 0, got NaN/);
    expect(() => scaler.update(kn.tensor([1, 2], [2]))).toThrow(/newScale must be a number or a one-element float32 tensor/);
    scaler.update();
    expect(() => scaler.loadStateDict({} as any)).toThrow(/source state dict is empty/);
    const good = { scale: 2, growth_factor: 2, backoff_factor: 0.5, growth_interval: 5, _growth_tracker: 0 };
    expect(() => scaler.loadStateDict({ ...good, scale: 'x' } as any)).toThrow(/scale must be a finite number > 0, got "x"/);
    expect(() => scaler.loadStateDict({ ...good, _growth_tracker: -1 })).toThrow(/_growth_tracker must be an integer >= 0, got -1/);
    expect(() => scaler.loadStateDict({ ...good, extra: 1 } as any)).toThrow(/unknown key 'extra'/);
    const { _growth_tracker: _, ...missing } = good;
    expect(() => scaler.loadStateDict(missing as any)).toThrow(/missing key '_growth_tracker'/);
    expect(() => scaler.setBackoffFactor(0)).toThrow(/backoffFactor must be a number in \(0, 1\), got 0/);
    expect(() => opt.stepUnlessFound(kn.tensor([0, 0], [2]))).toThrow(/foundInf must be a one-element tensor, got shape \[2\]/);
    // autocast's own arguments
    expect(() => kn.autocast(3 as any)).toThrow(/autocast: fn must be a function, got number/);
    expect(() => kn.autocast(() => 0, { dtype: 'bfloat16' as any })).toThrow(/dtype must be 'float16', got "bfloat16" \(Kiln has no bfloat16\)/);
    expect(() => kn.autocast(() => 0, { enabled: 1 as any })).toThrow(/enabled must be true or false, got 1/);
    expect(() => kn.autocast(() => 0, { cacheEnabled: true } as any)).toThrow(/unknown option 'cacheEnabled'/);
  });
});
