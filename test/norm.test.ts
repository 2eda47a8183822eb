// Normalisation layers against PyTorch (test/golden/norm.json, from gen_norm.py):
// BatchNorm1d/2d (train and eval mode, running statistics and num_batches_tracked after 3
// training steps, eager and inside kn.compile, stateDict keys, loading PyTorch's buffers),
// LayerNorm, GroupNorm, RMSNorm (modules and F.*, train and eval mode, affine and not),
// Dropout2d (whole channels, 1/(1-p) scaling, identity in eval) and bad input.
//
// Tolerances. Inputs are float32; PyTorch computed in float32 (RMSNorm: float64, rounded
// once), and Kiln computes in float32. Each output is a reduction over n elements per
// channel/row/group (n <= 300 here): mean, variance, then (x - mean) * rsqrt(var + eps).
// Summation order differs, so mean and var each carry a relative error of order
// sqrt(n)..n ulps (n * 2^-24 <= 1.8e-5 at n = 300, typically far less), and WGSL's
// inverseSqrt is within 2 ulps. An element passes when
//     |actual - expected| <= RTOL * |expected| + ATOL * max|expected over the tensor|
// RTOL = 2e-5; ATOL = 2e-5 of the tensor's largest magnitude: gradients through batch
// statistics are differences of terms of that size (dx = (g - mean(g) - xhat*mean(g*xhat))/std),
// so their error is absolute in the tensor's scale, not relative to each element.
// Running statistics are convex combinations of such means/variances: same tolerance.
// The worst measured ratio err / allowed per family is printed at the end of the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { expectClose as compare } from './compare.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
const G = loadGolden('norm.json');

const RTOL = 1e-5, ATOL = 4e-6;
const worst: Record<string, number> = {};

const f32 = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data), t.shape, opts);
/** PyTorch state_dict (JSON) -> tensors; num_batches_tracked (int64 in PyTorch) as int32. */
const stateOf = (s: Record<string, T>) => Object.fromEntries(Object.entries(s).map(([k, t]) =>
  [k, k === 'num_batches_tracked' ? kn.tensor(Int32Array.from(t.data), t.shape, { dtype: 'int32' }) : f32(t)]));

async function expectClose(what: string, actual: kn.Tensor | null | undefined, expected: T, family: string, termScale = 0): Promise<void> {
  expect(actual, `${what}: missing`).toBeTruthy();
  expect(actual!.shape, `${what}: shape`).toEqual(expected.shape);
  const a = await actual!.data();
  const scale = expected.data.reduce((m, v) => Math.max(m, Math.abs(v)), termScale);
  const wr = compare(a, expected.data, { atol: ATOL * scale, rtol: RTOL }, `${what} (against PyTorch)`);
  worst[family] = Math.max(worst[family] ?? 0, wr);
}

/** y, dx, dW, db of (y * r).sum() against the case's expected values. */
async function checkGrad(tag: string, fam: string, y: kn.Tensor, x: kn.Tensor, r: T, exp: any, w: kn.Tensor | null, b: kn.Tensor | null) {
  y.mul(f32(r)).sum().backward();
  await expectClose(`${tag} y`, y, exp.y, fam, exp.yScale);
  await expectClose(`${tag} gradX`, x.grad, exp.gradX, fam, exp.gradXScale);
  if (exp.gradWeight) await expectClose(`${tag} gradWeight`, w?.grad, exp.gradWeight, fam, exp.gradWeightScale);
  else expect(w, `${tag}: no weight`).toBeNull();
  if (exp.gradBias) await expectClose(`${tag} gradBias`, b?.grad, exp.gradBias, fam, exp.gradBiasScale);
  else expect(b, `${tag}: no bias`).toBeNull();
}

const BN: Record<string, any> = { BatchNorm1d: kn.nn.BatchNorm1d, BatchNorm2d: kn.nn.BatchNorm2d };
const newBN = (c: any, extra: object = {}) => new BN[c.module](c.numFeatures, { affine: c.affine, eps: c.eps, momentum: c.momentum, ...extra });
const sdValue = (m: InstanceType<typeof kn.nn.Module>, k: string) => m.stateDict()[k];

beforeAll(async () => { await kn.init(); });
afterAll(() => {
  console.log(`norm.test worst err/allowed (rtol ${RTOL}, atol ${ATOL}*S): ${JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, +v.toPrecision(3)])))}`);
  kn.shutdown();
});

describe('BatchNorm1d/2d against PyTorch (batchNorm)', () => {
  it('covers BatchNorm1d on [N, C] and [N, C, L], BatchNorm2d, channels 1, 3, 5, 16, affine and not', () => {
    const cs = G.batchNorm as any[];
    expect(new Set(cs.map((c) => `${c.module}/${c.x.shape.length}`))).toEqual(new Set(['BatchNorm1d/2', 'BatchNorm1d/3', 'BatchNorm2d/4']));
    expect(new Set(cs.map((c) => c.numFeatures))).toEqual(new Set([1, 3, 5, 16]));
    expect(new Set(cs.map((c) => c.affine))).toEqual(new Set([true, false]));
  });

  for (const c of G.batchNorm) {
    it(`${c.name} ${JSON.stringify(c.x.shape)} train: y, grads, running stats, num_batches_tracked`, async () => {
      const m = newBN(c);
      m.loadStateDict(stateOf(c.state));
      m.train();
      const x = f32(c.x, { requiresGrad: true });
      await checkGrad('train', 'batchNorm train', m.call(x), x, c.r, c.train, m.weight, m.bias);
      await expectClose('running_mean', sdValue(m, 'running_mean'), c.train.runningMean, 'running stats');
      await expectClose('running_var', sdValue(m, 'running_var'), c.train.runningVar, 'running stats');
      expect(await sdValue(m, 'num_batches_tracked').item()).toBe(c.train.numBatchesTracked);
    });

    it(`${c.name} eval: loadStateDict of PyTorch's buffers gives PyTorch's output and grads`, async () => {
      const m = newBN(c);
      m.loadStateDict(stateOf(c.evalState));
      m.eval();
      const x = f32(c.x, { requiresGrad: true });
      await checkGrad('eval', 'batchNorm eval', m.call(x), x, c.r, c.eval, m.weight, m.bias);
      // eval mode leaves the buffers alone
      await expectClose('running_mean', sdValue(m, 'running_mean'), c.evalState.running_mean, 'running stats');
      expect(await sdValue(m, 'num_batches_tracked').item()).toBe(c.evalState.num_batches_tracked.data[0]);
    });

    it(`${c.name} F.batchNorm (training true and false) matches the module's PyTorch values`, async () => {
      const s = stateOf(c.state), e = stateOf(c.evalState);
      const w = c.affine ? s.weight : null, b = c.affine ? s.bias : null;
      const rm = f32(c.state.running_mean), rv = f32(c.state.running_var);
      const x = f32(c.x, { requiresGrad: true });
      await checkGrad('F train', 'batchNorm train', kn.F.batchNorm(x, rm, rv, { weight: w, bias: b, training: true, eps: c.eps }), x, c.r, { ...c.train, gradWeight: null, gradBias: null }, null, null);
      await expectClose('F running_mean', rm, c.train.runningMean, 'running stats');
      await expectClose('F running_var', rv, c.train.runningVar, 'running stats');
      const x2 = f32(c.x, { requiresGrad: true });
      await checkGrad('F eval', 'batchNorm eval', kn.F.batchNorm(x2, e.running_mean, e.running_var, { weight: w, bias: b, training: false, eps: c.eps }), x2, c.r, { ...c.eval, gradWeight: null, gradBias: null }, null, null);
    });
  }

  it('track_running_stats=false: batch statistics in train and in eval mode; only weight and bias in stateDict', async () => {
    const c = G.batchNormNoTrack;
    const m = new kn.nn.BatchNorm2d(c.numFeatures, { trackRunningStats: false });
    expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.state));
    m.loadStateDict(stateOf(c.state));
    for (const mode of ['train', 'eval'] as const) {
      m.train(mode === 'train');
      for (const p of m.parameters()) p.grad = null;
      const x = f32(c.x, { requiresGrad: true });
      await checkGrad(mode, `batchNorm ${mode}`, m.call(x), x, c.r, c[mode], m.weight, m.bias);
    }
  });
});

describe('BatchNorm running statistics over 3 steps (batchNormSteps)', () => {
  it('covers momentum 0.1 and other values', () => {
    expect(new Set(G.batchNormSteps.map((c: any) => c.momentum))).toEqual(new Set([0.1, 0.3, 0.7]));
  });

  for (const c of G.batchNormSteps) {
    const check = async (m: InstanceType<typeof kn.nn.Module>) => {
      const sd = m.stateDict();
      expect(Object.keys(sd)).toEqual(Object.keys(c.after));
      await expectClose('running_mean after 3 steps', sd.running_mean, c.after.running_mean, 'running stats');
      await expectClose('running_var after 3 steps', sd.running_var, c.after.running_var, 'running stats');
      expect(sd.num_batches_tracked.shape).toEqual([]);
      expect(await sd.num_batches_tracked.item()).toBe(3);
      m.eval();
      await expectClose('eval output from the running stats', m.call(f32(c.evalX)), c.evalY, 'batchNorm eval');
    };

    it(`${c.name} ${JSON.stringify(c.xs[0].shape)} eager: outputs, buffers after 3 forwards, then eval output`, async () => {
      const m = newBN(c);
      m.loadStateDict(stateOf(c.state));
      m.train();
      for (let k = 0; k < 3; k++) await expectClose(`step ${k} y`, m.call(f32(c.xs[k])), c.ys[k], 'batchNorm train');
      await check(m);
    });

    it(`${c.name} compiled: 3 calls of kn.compile(x => bn(x)) update the buffers like 3 PyTorch forwards`, async () => {
      const m = newBN(c);
      m.loadStateDict(stateOf(c.state));
      m.train();
      const step = kn.compile((x: kn.Tensor) => m.call(x) as kn.Tensor);
      const ys: kn.Tensor[] = [];
      for (let k = 0; k < 3; k++) ys.push(await step(f32(c.xs[k])));
      for (let k = 0; k < 3; k++) await expectClose(`compiled step ${k} y`, ys[k], c.ys[k], 'batchNorm train');
      await check(m);
    });
  }
});

describe('BatchNorm stateDict', () => {
  it("keys are PyTorch's ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'), defaults match", async () => {
    for (const c of [...G.batchNorm, ...G.batchNormSteps]) {
      const m = newBN(c);
      const sd = m.stateDict();
      expect(Object.keys(sd), c.name).toEqual(Object.keys(c.state));
      expect(Object.keys(sd), c.name).toEqual(c.affine ? ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        : ['running_mean', 'running_var', 'num_batches_tracked']);
      for (const k of Object.keys(sd)) expect(sd[k].shape, `${c.name} ${k}`).toEqual(c.state[k].shape);
      // fresh buffers are PyTorch's fresh buffers (zeros, ones, 0)
      for (const k of ['running_mean', 'running_var', 'num_batches_tracked']) expect(Array.from(await sd[k].data()), `${c.name} ${k}`).toEqual(c.state[k].data);
      expect(sd.num_batches_tracked.dtype).toBe('int32');
      if (c.affine) expect(m.parameters().length).toBe(2);
      else expect(m.parameters().length).toBe(0);
    }
  });
});

describe('LayerNorm against PyTorch (layerNorm)', () => {
  for (const c of G.layerNorm) {
    it(`${c.name} ${JSON.stringify(c.x.shape)} over ${JSON.stringify(c.normalizedShape)}: module in train and eval mode, F.layerNorm`, async () => {
      const m = new kn.nn.LayerNorm(c.normalizedShape, { eps: c.eps, elementwiseAffine: c.affine });
      expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.state));
      m.loadStateDict(stateOf(c.state));
      for (const mode of [true, false]) {
        m.train(mode);
        for (const p of m.parameters()) p.grad = null;
        const x = f32(c.x, { requiresGrad: true });
        await checkGrad(mode ? 'train' : 'eval', 'layerNorm', m.call(x), x, c.r, c, m.weight, m.bias);
      }
      const s = stateOf(c.state);
      const x = f32(c.x, { requiresGrad: true });
      await checkGrad('F', 'layerNorm', kn.F.layerNorm(x, c.normalizedShape, { weight: s.weight ?? null, bias: s.bias ?? null, eps: c.eps }), x, c.r, { ...c, gradWeight: null, gradBias: null }, null, null);
    });
  }
});

describe('GroupNorm against PyTorch (groupNorm)', () => {
  for (const c of G.groupNorm) {
    it(`${c.name} ${JSON.stringify(c.x.shape)} in ${c.numGroups} groups: module in train and eval mode, F.groupNorm`, async () => {
      const m = new kn.nn.GroupNorm(c.numGroups, c.numChannels, { eps: c.eps, affine: c.affine });
      expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.state));
      m.loadStateDict(stateOf(c.state));
      for (const mode of [true, false]) {
        m.train(mode);
        for (const p of m.parameters()) p.grad = null;
        const x = f32(c.x, { requiresGrad: true });
        await checkGrad(mode ? 'train' : 'eval', 'groupNorm', m.call(x), x, c.r, c, m.weight, m.bias);
      }
      const s = stateOf(c.state);
      const x = f32(c.x, { requiresGrad: true });
      await checkGrad('F', 'groupNorm', kn.F.groupNorm(x, c.numGroups, { weight: s.weight ?? null, bias: s.bias ?? null, eps: c.eps }), x, c.r, { ...c, gradWeight: null, gradBias: null }, null, null);
    });
  }
});

describe('RMSNorm against a float64 reference (rmsNorm)', () => {
  it('the default eps is torch.finfo(float32).eps (2^-23): visible on an input with mean(x^2) = 1e-8', async () => {
    const x = [1e-4, -1e-4, 1e-4, -1e-4];
    const want = x.map((v) => Math.fround(v) / Math.sqrt(Math.fround(1e-4) ** 2 + 2 ** -23)); // ~ +-0.2771
    for (const y of [new kn.nn.RMSNorm(4).call(kn.tensor([x])), kn.F.rmsNorm(kn.tensor([x]), [4])]) {
      const got = Array.from(await y.data()) as number[];
      got.forEach((v, i) => expect(Math.abs(v - want[i]), `element ${i}: ${v} vs ${want[i]}`).toBeLessThan(1e-5 * Math.abs(want[i])));
    }
  });
  for (const c of G.rmsNorm) {
    it(`${c.name} ${JSON.stringify(c.x.shape)} over ${JSON.stringify(c.normalizedShape)} eps ${c.eps ?? 'default'}: module in train and eval mode, F.rmsNorm`, async () => {
      const opts: any = { elementwiseAffine: c.affine };
      if (c.eps !== null) opts.eps = c.eps;
      const m = new kn.nn.RMSNorm(c.normalizedShape, opts);
      expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.state));
      m.loadStateDict(stateOf(c.state));
      for (const mode of [true, false]) {
        m.train(mode);
        for (const p of m.parameters()) p.grad = null;
        const x = f32(c.x, { requiresGrad: true });
        await checkGrad(mode ? 'train' : 'eval', 'rmsNorm', m.call(x), x, c.r, c, m.weight, null);
      }
      const s = stateOf(c.state);
      const fo: any = { weight: s.weight ?? null };
      if (c.eps !== null) fo.eps = c.eps;
      const x = f32(c.x, { requiresGrad: true });
      await checkGrad('F', 'rmsNorm', kn.F.rmsNorm(x, c.normalizedShape, fo), x, c.r, { ...c, gradWeight: null }, null, null);
    });
  }
});

describe('Dropout2d', () => {
  // x > 0 everywhere, so a zero in the output can only come from the mask
  const N = 8, C = 64, H = 3, W = 5, HW = H * W;
  const xData = Float32Array.from({ length: N * C * HW }, (_, i) => 1 + (i % 7) / 8);

  async function channels(y: kn.Tensor, x: Float32Array, p: number, planes: number) {
    const a = await y.data();
    let dropped = 0;
    for (let c = 0; c < planes; c++) {
      const zero = a[c * HW] === 0;
      if (zero) dropped++;
      for (let j = 0; j < HW; j++) {
        const i = c * HW + j;
        // a channel is dropped whole or kept whole, scaled by 1/(1-p)
        if (zero) expect(a[i], `channel ${c} element ${j}`).toBe(0);
        else expect(a[i], `channel ${c} element ${j}`).toBeCloseTo(x[i] / (1 - p), 5);
      }
    }
    return dropped;
  }

  for (const p of [0.2, 0.5]) {
    it(`p=${p}: whole channels zeroed (about p of ${N * C}), survivors scaled by 1/(1-p); grad uses the same mask`, async () => {
      kn.manualSeed(123);
      const m = new kn.nn.Dropout2d(p);
      const x = kn.tensor(xData, [N, C, H, W], { requiresGrad: true });
      const y = m.call(x);
      const dropped = await channels(y, xData, p, N * C);
      // binomial(512, p): 5 standard deviations either side of n*p
      const n = N * C, sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(dropped - n * p), `dropped ${dropped} of ${n}`).toBeLessThan(5 * sd);
      y.sum().backward();
      const [ya, ga] = [await y.data(), await x.grad!.data()];
      for (let i = 0; i < ya.length; i++) expect(ga[i]).toBeCloseTo(ya[i] === 0 ? 0 : 1 / (1 - p), 5);
    });
  }

  it('two calls draw different masks; not every sample drops the same channels', async () => {
    kn.manualSeed(7);
    const m = new kn.nn.Dropout2d(0.5);
    const x = kn.tensor(xData, [N, C, H, W]);
    const [a, b] = [await m.call(x).data(), await m.call(x).data()];
    const mask = (v: Float32Array) => Array.from({ length: N * C }, (_, c) => v[c * HW] === 0);
    expect(mask(a)).not.toEqual(mask(b));
    const ma = mask(a);
    expect(ma.slice(0, C)).not.toEqual(ma.slice(C, 2 * C));
  });

  it('identity in eval mode, and for p = 0; p = 1 zeroes everything', async () => {
    const x = kn.tensor(xData, [N, C, H, W]);
    const m = new kn.nn.Dropout2d(0.5);
    m.eval();
    expect(Array.from(await m.call(x).data())).toEqual(Array.from(xData));
    expect(Array.from(await kn.F.dropout2d(x, 0.5, false).data())).toEqual(Array.from(xData));
    expect(Array.from(await kn.F.dropout2d(x, 0, true).data())).toEqual(Array.from(xData));
    expect((await kn.F.dropout2d(x, 1, true).data()).every((v) => v === 0)).toBe(true);
  });

  it('a 3-D input [C, H, W] drops whole dim-0 planes (PyTorch >= 2.0 semantics)', async () => {
    kn.manualSeed(9);
    const x3 = xData.slice(0, C * HW);
    const y = kn.F.dropout2d(kn.tensor(x3, [C, H, W]), 0.5, true);
    const dropped = await channels(y, x3, 0.5, C);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(C);
  });
});

describe('bad input names the layer and the shapes', () => {
  it('BatchNorm2d given a 3-D input', () => {
    expect(() => new kn.nn.BatchNorm2d(3).call(kn.zeros([2, 3, 5]))).toThrow(/BatchNorm2d.*4 dims.*\[2, 3, 5\]/);
  });
  it('BatchNorm1d given a 4-D input', () => {
    expect(() => new kn.nn.BatchNorm1d(3).call(kn.zeros([2, 3, 5, 5]))).toThrow(/BatchNorm1d.*2 or 3 dims.*\[2, 3, 5, 5\]/);
  });
  it('BatchNorm2d given the wrong channel count', () => {
    expect(() => new kn.nn.BatchNorm2d(3).call(kn.zeros([2, 4, 5, 5]))).toThrow(/BatchNorm2d.*3 channels.*\[2, 4, 5, 5\]/);
    expect(() => new kn.nn.BatchNorm1d(16).call(kn.zeros([4, 5]))).toThrow(/BatchNorm1d.*16 channels.*\[4, 5\]/);
  });
  it('BatchNorm training with one value per channel', () => {
    expect(() => new kn.nn.BatchNorm1d(3).call(kn.zeros([1, 3]))).toThrow(/BatchNorm1d.*more than 1 value per channel.*\[1, 3\]/);
  });
  it('F.batchNorm with running stats of the wrong size', () => {
    expect(() => kn.F.batchNorm(kn.zeros([2, 3, 4]), kn.zeros([4]), kn.ones([4]))).toThrow(/batchNorm.*runningMean.*\[3\].*\[2, 3, 4\].*\[4\]/);
  });
  it('GroupNorm with channels not divisible by groups (constructor and F.groupNorm)', () => {
    expect(() => new kn.nn.GroupNorm(4, 6)).toThrow(/GroupNorm.*6.*divisible.*4/);
    expect(() => kn.F.groupNorm(kn.zeros([2, 6, 3]), 4)).toThrow(/groupNorm.*6.*\[2, 6, 3\].*divisible.*4/);
  });
  it('GroupNorm given an input whose channel count is not numChannels', () => {
    // not divisible by the groups: caught by F.groupNorm, named with the module
    expect(() => new kn.nn.GroupNorm(2, 4).call(kn.zeros([2, 5, 3]))).toThrow(/groupNorm.*\[2, 5, 3\].*GroupNorm/);
    // divisible by the groups but not numChannels: PyTorch says "Expected weight to be a vector
    // of size equal to the number of channels in input, but got weight of shape [4] and input of shape [2, 6, 3]"
    // GroupNorm checks the input's channel count against numChannels (once it only failed
    // inside a reshape of the weight, without naming the input shape)
    expect(() => new kn.nn.GroupNorm(2, 4).call(kn.zeros([2, 6, 3]))).toThrow(/GroupNorm.*\[4\].*\[2, 6, 3\]|GroupNorm.*\[2, 6, 3\].*\b4\b/);
  });
  it('LayerNorm with a normalizedShape that does not match the input', () => {
    expect(() => new kn.nn.LayerNorm(4).call(kn.zeros([2, 5]))).toThrow(/ayerNorm.*\[4\].*\[2, 5\].*LayerNorm/);
    expect(() => new kn.nn.LayerNorm([3, 5]).call(kn.zeros([2, 5, 3]))).toThrow(/ayerNorm.*\[3, 5\].*\[2, 5, 3\]/);
    expect(() => kn.F.layerNorm(kn.zeros([2, 5]), [4])).toThrow(/layerNorm.*\[4\].*\[2, 5\]/);
  });
  it('RMSNorm with a normalizedShape that does not match the input', () => {
    expect(() => new kn.nn.RMSNorm(4).call(kn.zeros([2, 5]))).toThrow(/rmsNorm.*\[4\].*\[2, 5\].*RMSNorm/);
  });
  it('Dropout2d given a 2-D input or p outside [0, 1]', () => {
    expect(() => new kn.nn.Dropout2d(0.5).call(kn.zeros([4, 5]))).toThrow(/dropout2d.*\[4, 5\]/);
    expect(() => kn.F.dropout2d(kn.zeros([1, 2, 3, 3]), 1.5)).toThrow(/dropout2d.*p.*1\.5/);
  });
});
