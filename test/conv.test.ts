// Convolution and pooling against PyTorch's golden vectors (test/golden/conv*.json, written by
// test/golden/gen_conv.py): F.conv2d / F.conv1d and nn.Conv2d / nn.Conv1d on 40 + 8 random
// configurations (forward, grad of x, weight and bias), maxPool2d / avgPool2d /
// adaptiveAvgPool2d through F and the modules (forward and grad of x), a few cases under
// kn.compile, a small CNN trained 5 compiled SGD steps, and the errors of bad input.
//
// Tolerances. Inputs are float32 and PyTorch computed in float32; Kiln computes in float32,
// so the two differ by summation order only. Each output element is a sum of K products
// (K: the reduction size: Cin/groups*KH*KW for y, Cout/groups*KH*KW for grad x,
// N*OH*OW for grad weight and grad bias, KH*KW for pooling). Rounding errors of a sum of K
// terms of random sign grow like sqrt(K) ulps of the terms (a random walk), and a sum of K
// random-sign unit terms is itself of size ~sqrt(K), so an element passes when
//   |actual - expected| <= RTOL * |expected| + ATOL * sqrt(K) * scale
// with RTOL = 1e-5 (~80 ulps, for elements far from 0) and ATOL = 5e-7 (~4 ulps of 1 per
// sqrt(K): unit-normal x and r, kaiming weights <= 1 in size, so the terms are at most ~1).
// A wrong index, a missing term or a wrong divisor is off by O(1), far outside this.
// Measured on SwiftShader, the worst element as a fraction of its tolerance: y 0.06, grad x
// 0.05, grad weight 0.34 (a sum of up to N*OH*OW = 867 terms), grad bias 0.03; pooling
// likewise; maxPool2d forward is exact (a gather of distinct values) and is compared exactly.
// The CNN: losses at RTOL 1e-5 / ATOL 2e-6 (WGSL log/exp, as golden.test.ts), parameters after
// each step at RTOL 1e-5 / ATOL 2e-6 (lr times float32 gradients); measured worst 0.01.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { expectClose as compare } from './compare.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
const load = loadGolden;
const convJson = load('conv.json');
const poolJson = load('conv_pool.json');
const cnnJson = load('conv_cnn.json');

const RTOL = 1e-5, ATOL = 5e-7;
const LOSS_RTOL = 1e-5, LOSS_ATOL = 2e-6; // cross-entropy: WGSL's log/exp, as in golden.test.ts

const f32 = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data), t.shape, opts);
const i32 = (t: T) => kn.tensor(Int32Array.from(t.data), t.shape, { dtype: 'int32' });
const prod = (a: number[]) => a.reduce((p, v) => p * v, 1);

/** Worst |diff| / allowed over all elements, recorded per quantity for the summary below. */
const worst: Record<string, number> = {};

/** Asserts shape and values within RTOL*|e| + atol, naming the worst element. */
async function expectClose(what: string, actual: kn.Tensor | null | undefined, expected: T, atol: number, rtol = RTOL): Promise<void> {
  expect(actual, `${what}: missing`).toBeTruthy();
  expect(actual!.shape, `${what}: shape`).toEqual(expected.shape);
  const a = await actual!.data();
  const wr = compare(a, expected.data, { atol, rtol }, `${what} (against PyTorch)`);
  const key = what.replace(/^.*: /, '');
  worst[key] = Math.max(worst[key] ?? 0, wr);
}

/** Absolute tolerances of a conv case from its reduction sizes (see the header). */
function convTols(c: any) {
  const [N, , ...spatial] = c.y.shape as number[];
  const [OC, Cg, ...k] = c.weight.shape as number[];
  const kk = prod(k), groups = c.options.groups;
  return {
    y: ATOL * Math.sqrt(Cg * kk + 1),
    gradX: ATOL * Math.sqrt((OC / groups) * kk),
    gradWeight: ATOL * Math.sqrt(N * prod(spatial)),
    gradBias: ATOL * Math.sqrt(N * prod(spatial)),
  };
}

async function checkConv(label: string, c: any, y: kn.Tensor, gx: kn.Tensor | null, gw: kn.Tensor | null, gb: kn.Tensor | null | undefined) {
  const tol = convTols(c);
  await expectClose(`${label}: gradX`, gx, c.gradX, tol.gradX);
  await expectClose(`${label}: gradWeight`, gw, c.gradWeight, tol.gradWeight);
  if (c.hasBias) await expectClose(`${label}: gradBias`, gb, c.gradBias, tol.gradBias);
  else expect(gb ?? null, `${label}: no bias, no bias grad`).toBeNull();
  await expectClose(`${label}: y`, y, c.y, tol.y);
}

beforeAll(async () => { await kn.init(); });
afterAll(() => {
  // the worst element per quantity, as a fraction of its tolerance (1 = at the limit)
  console.log('conv.test worst |diff|/tolerance:', JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, +v.toPrecision(2)]))));
  kn.shutdown();
});

/** Forward and the three gradients of one case, through F or the module. */
async function runCase(kind: string, c: any, via: 'F' | 'M') {
  const x = f32(c.x, { requiresGrad: true });
  let y: kn.Tensor, w: kn.Tensor, b: kn.Tensor | null;
  if (via === 'F') {
    w = f32(c.weight, { requiresGrad: true });
    b = c.hasBias ? f32(c.bias, { requiresGrad: true }) : null;
    y = (kind === 'conv2d' ? kn.F.conv2d : kn.F.conv1d)(x, w, { bias: b, ...c.options } as any);
  } else {
    const m = kind === 'conv2d'
      ? new kn.nn.Conv2d(c.inChannels, c.outChannels, c.kernelSize, { ...c.options, bias: c.hasBias })
      : new kn.nn.Conv1d(c.inChannels, c.outChannels, c.kernelSize, { ...c.options, bias: c.hasBias });
    m.loadStateDict(c.hasBias ? { weight: f32(c.weight), bias: f32(c.bias) } : { weight: f32(c.weight) });
    y = m.call(x); w = m.weight; b = m.bias ?? null;
  }
  y.mul(f32(c.r)).sum().backward();
  return { y, gx: x.grad, gw: w.grad, gb: b && b.grad };
}

describe('golden: conv2d and conv1d (conv.json), F and modules', () => {
  const keys = [...convJson.conv2d.map((_: any, i: number) => `conv2d:${i}`), ...convJson.conv1d.map((_: any, i: number) => `conv1d:${i}`)];
  it('covers the configurations the issue asks for', () => {
    const cases: any[] = convJson.conv2d;
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(convJson.conv1d.length).toBeGreaterThanOrEqual(8);
    const opt = (c: any, k: string) => c.options[k];
    const flat = (v: any) => (Array.isArray(v) ? v : [v]);
    expect(cases.some((c) => opt(c, 'padding') === 'same')).toBe(true);
    expect(cases.some((c) => opt(c, 'padding') === 'valid')).toBe(true);
    expect(cases.some((c) => Array.isArray(opt(c, 'padding')))).toBe(true);
    expect(cases.some((c) => flat(opt(c, 'stride')).includes(3))).toBe(true);
    expect(cases.some((c) => flat(opt(c, 'dilation')).includes(3))).toBe(true);
    expect(cases.some((c) => opt(c, 'groups') === 2)).toBe(true);
    expect(cases.some((c) => opt(c, 'groups') === 3 && c.inChannels > 3)).toBe(true);
    expect(cases.some((c) => opt(c, 'groups') === c.inChannels && c.inChannels > 1)).toBe(true);
    expect(cases.some((c) => c.kernelSize[0] !== c.kernelSize[1])).toBe(true);
    expect(cases.some((c) => !c.hasBias) && cases.some((c) => c.hasBias)).toBe(true);
    expect(cases.some((c) => c.inChannels % 4 !== 0 && c.inChannels > 4)).toBe(true);
  });

  for (const key of keys) {
    const [kind, i] = key.split(':');
    const c = convJson[kind][+i];
    it(`${c.name}: F.${kind} and nn.${kind === 'conv2d' ? 'Conv2d' : 'Conv1d'} (y, dx, dW, db)`, async () => {
      for (const via of ['F', 'M'] as const) {
        const r = await runCase(kind, c, via);
        await checkConv(`${via === 'F' ? 'F.' : 'nn.'}${kind}`, c, r.y, r.gx, r.gw, r.gb);
      }
    });
  }
});

describe('golden: convTranspose2d (conv.json), F and module', () => {
  it('covers stride, outputPadding, dilation, groups, depthwise', () => {
    const cases: any[] = convJson.convTranspose2d;
    expect(cases.length).toBeGreaterThanOrEqual(8);
    expect(cases.some((c) => c.options.outputPadding !== 0)).toBe(true);
    expect(cases.some((c) => c.options.groups === c.inChannels && c.inChannels > 1)).toBe(true);
    expect(cases.some((c) => c.options.dilation !== 1)).toBe(true);
  });
  for (const c of convJson.convTranspose2d as any[]) {
    it(`${c.name}: y, dx, dW, db`, async () => {
      // each y element sums Cin/groups * KH * KW products at most; dx sums (OC/groups)*KH*KW; dW and db sum N*H*W
      const [N, Cin] = c.x.shape, [, OCg, KH, KW] = c.weight.shape;
      const tol = { y: ATOL * Math.sqrt((Cin / c.options.groups) * KH * KW + 1), gradX: ATOL * Math.sqrt(OCg * KH * KW), gradWeight: ATOL * Math.sqrt(N * c.y.shape[2] * c.y.shape[3]), gradBias: ATOL * Math.sqrt(N * c.y.shape[2] * c.y.shape[3]) };
      for (const via of ['F', 'M'] as const) {
        const x = f32(c.x, { requiresGrad: true });
        let y: kn.Tensor, w: kn.Tensor, b: kn.Tensor | null;
        if (via === 'F') {
          w = f32(c.weight, { requiresGrad: true });
          b = c.hasBias ? f32(c.bias, { requiresGrad: true }) : null;
          y = kn.F.convTranspose2d(x, w, { bias: b, ...c.options });
        } else {
          const m = new kn.nn.ConvTranspose2d(c.inChannels, c.outChannels, c.kernelSize, { ...c.options, bias: c.hasBias });
          expect(m.weight.shape).toEqual(c.weight.shape);
          m.loadStateDict(c.hasBias ? { weight: f32(c.weight), bias: f32(c.bias) } : { weight: f32(c.weight) });
          y = m.call(x); w = m.weight; b = m.bias;
        }
        y.mul(f32(c.r)).sum().backward();
        await expectClose(`${via}: y`, y, c.y, tol.y);
        await expectClose(`${via}: gradX`, x.grad, c.gradX, tol.gradX);
        await expectClose(`${via}: gradWeight`, w.grad, c.gradWeight, tol.gradWeight);
        if (c.hasBias) await expectClose(`${via}: gradBias`, b!.grad, c.gradBias, tol.gradBias);
      }
    });
  }
  it('rejects bad input by name', () => {
    const z = (...s: number[]) => kn.zeros(s);
    expect(() => kn.F.convTranspose2d(z(1, 3, 4, 4), z(4, 2, 3, 3))).toThrow(/^convTranspose2d: input \[1, 3, 4, 4\] has 3 channels, but the weight \[4, 2, 3, 3\] expects 4/);
    expect(() => kn.F.convTranspose2d(z(1, 2, 4, 4), z(2, 2, 3, 3), { stride: 2, outputPadding: 2 })).toThrow(/^convTranspose2d: outputPadding \[2,2\] must be smaller than stride \[2,2\] or dilation \[1,1\]/);
    expect(() => new kn.nn.ConvTranspose2d(3, 4, 3, { groups: 2 })).toThrow(/^ConvTranspose2d: inChannels \(3\) and outChannels \(4\) must be divisible by groups \(2\)/);
    expect(() => kn.F.convTranspose2d(z(4, 4), z(4, 2, 3, 3))).toThrow(/^convTranspose2d: expected input of shape \[N, C, H, W\]/);
  });
});

describe('golden: conv under kn.compile', () => {
  // a few varied cases: groups, depthwise, 'same' with dilation, stride pairs, no bias, conv1d
  const picks = [
    ...convJson.conv2d.filter((_: any, i: number) => [1, 7, 11, 21, 26].includes(i)).map((c: any) => ['conv2d', c]),
    ['conv1d', convJson.conv1d[2]],
  ] as [string, any][];
  for (const [fn, c] of picks) {
    it(`${c.name}: compiled forward + grads, traced once, replayed`, async () => {
      const r = f32(c.r);
      const F = (fn === 'conv2d' ? kn.F.conv2d : kn.F.conv1d) as (x: kn.Tensor, w: kn.Tensor, o: any) => kn.Tensor;
      const obj = (x: kn.Tensor, w: kn.Tensor, b: kn.Tensor) => F(x, w, { ...c.options, bias: c.hasBias ? b : null }).mul(r).sum();
      const step = kn.compile((x: kn.Tensor, w: kn.Tensor, b: kn.Tensor) => {
        const y = F(x, w, { ...c.options, bias: c.hasBias ? b : null });
        const gs = kn.grad(obj, { argnums: c.hasBias ? [0, 1, 2] : [0, 1] })(x, w, b) as kn.Tensor[];
        return [y, ...gs];
      });
      const b = c.hasBias ? f32(c.bias) : kn.zeros([c.outChannels]);
      for (let call = 0; call < 2; call++) {
        const [y, gx, gw, gb] = await step(f32(c.x), f32(c.weight), b);
        await checkConv(`compiled call ${call}`, c, y, gx, gw, c.hasBias ? gb : null);
      }
      expect(step.stats().traces).toBe(1);
    });
  }
});

// ------------------------------------------------------------------ pooling

function poolF(c: any, x: kn.Tensor): kn.Tensor {
  if (c.kind === 'maxPool2d') return kn.F.maxPool2d(x, c.kernelSize, c.options);
  if (c.kind === 'avgPool2d') return kn.F.avgPool2d(x, c.kernelSize, c.options);
  return kn.F.adaptiveAvgPool2d(x, c.outputSize);
}
function poolModule(c: any): InstanceType<typeof kn.nn.Module> {
  if (c.kind === 'maxPool2d') return new kn.nn.MaxPool2d(c.kernelSize, c.options);
  if (c.kind === 'avgPool2d') return new kn.nn.AvgPool2d(c.kernelSize, c.options);
  return new kn.nn.AdaptiveAvgPool2d(c.outputSize);
}
/** Reduction size of a pooled element: the window (max/avg), the largest bin (adaptive). */
function poolK(c: any): number {
  const [H, W] = c.x.shape.slice(2);
  if (c.kind !== 'adaptiveAvgPool2d') return prod(Array.isArray(c.kernelSize) ? c.kernelSize : [c.kernelSize, c.kernelSize]);
  const o = Array.isArray(c.outputSize) ? c.outputSize : [c.outputSize, c.outputSize];
  return (Math.ceil(H / o[0]) + 1) * (Math.ceil(W / o[1]) + 1);
}

describe('golden: pooling (conv_pool.json)', () => {
  it('covers the options the issue asks for', () => {
    const mp = poolJson.maxPool2d, ap = poolJson.avgPool2d;
    expect(mp.some((c: any) => c.options.ceilMode) && mp.some((c: any) => c.options.dilation !== 1)).toBe(true);
    expect(ap.some((c: any) => c.options.countIncludePad === false) && ap.some((c: any) => c.options.ceilMode)).toBe(true);
    expect(ap.some((c: any) => c.options.divisorOverride)).toBe(true);
    expect(poolJson.adaptiveAvgPool2d.some((c: any) => c.x.shape[2] % (Array.isArray(c.outputSize) ? c.outputSize[0] : c.outputSize) !== 0)).toBe(true);
  });
  for (const kind of ['maxPool2d', 'avgPool2d', 'adaptiveAvgPool2d']) {
    for (const c of poolJson[kind]) {
      it(`${c.name}: F and module (y, dx)`, async () => {
        const atol = ATOL * Math.sqrt(poolK(c));
        for (const via of ['F', 'module']) {
          const x = f32(c.x, { requiresGrad: true });
          const y = via === 'F' ? poolF(c, x) : poolModule(c).call(x);
          y.mul(f32(c.r)).sum().backward();
          if (kind === 'maxPool2d') {
            // a gather of distinct values: exact; the gradient sums r over the windows that pick an element
            await expectClose(`${kind} ${via}: y (exact)`, y, c.y, 0, 0);
            await expectClose(`${kind} ${via}: gradX`, x.grad, c.gradX, atol);
          } else {
            await expectClose(`${kind} ${via}: y`, y, c.y, atol);
            await expectClose(`${kind} ${via}: gradX`, x.grad, c.gradX, atol);
          }
        }
      });
    }
  }
  it('unbatched [C, H, W] input pools like a batch of one', async () => {
    const c = poolJson.maxPool2d[1];
    const chw = c.x.shape.slice(1);
    const y = kn.F.maxPool2d(f32({ shape: chw, data: c.x.data.slice(0, prod(chw)) }), c.kernelSize, c.options);
    expect(y.shape).toEqual(c.y.shape.slice(1));
    const a = await y.data();
    expect(Array.from(a)).toEqual(c.y.data.slice(0, a.length));
  });
});

// ------------------------------------------------------------------ small CNN, compiled SGD

describe('golden: a small CNN trained 5 compiled SGD steps (conv_cnn.json)', () => {
  it('losses and parameters after every step match PyTorch', async () => {
    const model = new kn.nn.Sequential(
      new kn.nn.Conv2d(3, 5, 3, { padding: 1 }), new kn.nn.ReLU(), new kn.nn.MaxPool2d(2),
      new kn.nn.Conv2d(5, 6, 3), new kn.nn.ReLU(), new kn.nn.AdaptiveAvgPool2d(2),
      new kn.nn.Flatten(), new kn.nn.Linear(24, 4),
    );
    expect(Object.keys(model.stateDict()).sort()).toEqual(Object.keys(cnnJson.init).sort());
    model.loadStateDict(Object.fromEntries(Object.entries(cnnJson.init as Record<string, T>).map(([k, v]) => [k, f32(v)])));
    const opt = new kn.optim.SGD(model.parameters(), cnnJson.options);
    const step = kn.compile((x: kn.Tensor, y: kn.Tensor) => {
      opt.zeroGrad();
      const loss = kn.F.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss;
    });
    const x = f32(cnnJson.x), y = i32(cnnJson.y);
    for (let i = 0; i < cnnJson.steps.length; i++) {
      const loss = await step(x, y);
      await expectClose(`step ${i}: loss`, loss, { shape: [], data: [cnnJson.steps[i].loss] }, LOSS_ATOL, LOSS_RTOL);
      const sd = model.stateDict();
      for (const [k, e] of Object.entries(cnnJson.steps[i].params as Record<string, T>)) {
        // each step moves a parameter by lr * (a float32 gradient, errors ~1e-6 relative)
        await expectClose(`step ${i} ${k}: params`, sd[k], e, 2e-6, 1e-5);
      }
    }
    expect(step.stats().traces).toBe(1);
  });
});

// ------------------------------------------------------------------ bad input (issue 4, item 9)

/** The error thrown by fn (constructing a module counts), or a failure if none. */
function errorOf(fn: () => unknown): string {
  try { fn(); } catch (e) { return (e as Error).message; }
  return expect.fail('expected an error, none was thrown');
}

describe('conv and pooling reject bad input with clear errors', () => {
  const z = (...s: number[]) => kn.zeros(s);

  it('wrong input rank', () => {
    expect(errorOf(() => kn.F.conv2d(z(3, 8), z(4, 3, 3, 3)))).toMatch(/^conv2d: .*\[N, C, H, W\].*got \[3, 8\]/);
    expect(errorOf(() => kn.F.conv2d(z(1, 2, 3, 8, 8), z(4, 3, 3, 3)))).toMatch(/^conv2d: .*got \[1, 2, 3, 8, 8\]/);
    expect(errorOf(() => new kn.nn.Conv2d(3, 4, 3).call(z(3, 8)))).toMatch(/^Conv2d: .*\[N, C, H, W\].*got \[3, 8\]/);
    expect(errorOf(() => kn.F.conv2d(z(1, 3, 8, 8), z(4, 3, 3)))).toMatch(/^conv2d: expected weight of shape .*got \[4, 3, 3\]/);
    expect(errorOf(() => kn.F.conv1d(z(1, 3, 8, 8), z(4, 3, 3)))).toMatch(/^conv1d: .*\[N, C, L\].*got \[1, 3, 8, 8\]/);
    expect(errorOf(() => new kn.nn.Conv1d(3, 4, 3).call(z(8)))).toMatch(/Conv1d.*\[N, C, L\].*got \[8\]/i);
    expect(errorOf(() => kn.F.maxPool2d(z(8, 8), 2))).toMatch(/^maxPool2d: .*got \[8, 8\]/);
    expect(errorOf(() => kn.F.avgPool2d(z(8), 2))).toMatch(/^avgPool2d: .*got \[8\]/);
    expect(errorOf(() => kn.F.adaptiveAvgPool2d(z(1, 1, 1, 8, 8), 2))).toMatch(/^adaptiveAvgPool2d: .*got \[1, 1, 1, 8, 8\]/);
    expect(errorOf(() => new kn.nn.MaxPool2d(2).call(z(8, 8)))).toMatch(/maxPool2d.*got \[8, 8\].*\(in MaxPool2d\)/i);
  });

  it('channels that do not match inChannels', () => {
    expect(errorOf(() => kn.F.conv2d(z(2, 5, 8, 8), z(4, 3, 3, 3))))
      .toMatch(/^conv2d: input \[2, 5, 8, 8\] has 5 channels, but the weight \[4, 3, 3, 3\] expects 3/);
    expect(errorOf(() => new kn.nn.Conv2d(3, 4, 3).call(z(2, 5, 8, 8))))
      .toMatch(/^Conv2d: input \[2, 5, 8, 8\] has 5 channels, but the weight \[4, 3, 3, 3\] expects 3/);
    expect(errorOf(() => new kn.nn.Conv2d(4, 4, 3, { groups: 2 }).call(z(1, 6, 8, 8))))
      .toMatch(/^Conv2d: input \[1, 6, 8, 8\] has 6 channels, but the weight \[4, 2, 3, 3\] expects 4 \(2 per group x 2 groups\)/);
  });

  it('channels not divisible by groups', () => {
    expect(errorOf(() => kn.F.conv2d(z(1, 5, 8, 8), z(4, 2, 3, 3), { groups: 2 })))
      .toMatch(/^conv2d: input channels \(5\) must be divisible by groups \(2\)/);
    expect(errorOf(() => kn.F.conv2d(z(1, 6, 8, 8), z(5, 3, 3, 3), { groups: 2 })))
      .toMatch(/^conv2d: output channels \(5\) must be divisible by groups \(2\)/);
    expect(errorOf(() => new kn.nn.Conv2d(5, 4, 3, { groups: 2 })))
      .toMatch(/^Conv2d: inChannels \(5\) and outChannels \(4\) must be divisible by groups \(2\)/);
    expect(errorOf(() => new kn.nn.Conv2d(6, 4, 3, { groups: 3 })))
      .toMatch(/^Conv2d: inChannels \(6\) and outChannels \(4\) must be divisible by groups \(3\)/);
    expect(errorOf(() => new kn.nn.Conv1d(5, 4, 3, { groups: 2 })))
      .toMatch(/^Conv1d: inChannels \(5\) and outChannels \(4\) must be divisible by groups \(2\)/);
  });

  it('a kernel larger than the padded input', () => {
    expect(errorOf(() => kn.F.conv2d(z(1, 1, 3, 3), z(1, 1, 5, 5))))
      .toMatch(/^conv2d: the kernel \(size 5, dilation 1, so 5 wide\) is larger than the padded input \(3 \+ 0\)/);
    expect(errorOf(() => new kn.nn.Conv2d(1, 1, 3, { dilation: 3 }).call(z(1, 1, 8, 6))))
      .toMatch(/^Conv2d: the kernel \(size 3, dilation 3, so 7 wide\) is larger than the padded input \(6 \+ 0\) \(in Conv2d\)$/);
    expect(errorOf(() => new kn.nn.Conv2d(1, 1, [2, 6], { padding: 1 }).call(z(1, 1, 8, 3))))
      .toMatch(/^Conv2d: the kernel \(size 6, dilation 1, so 6 wide\) is larger than the padded input \(3 \+ 2\)/);
    expect(errorOf(() => kn.F.conv1d(z(1, 1, 4), z(1, 1, 3), { dilation: 2 })))
      .toMatch(/^conv1d: the kernel \(size 3, dilation 2, so 5 wide\) is larger than the padded input \(4 \+ 0\)/);
    expect(errorOf(() => kn.F.maxPool2d(z(1, 1, 2, 2), 3, { padding: 0 })))
      .toMatch(/^maxPool2d: the kernel \(size 3.*larger than the padded input \(2 \+ 0\)/);
    expect(errorOf(() => kn.F.avgPool2d(z(1, 1, 5, 2), [2, 3])))
      .toMatch(/^avgPool2d: the kernel \(size 3.*larger than the padded input \(2 \+ 0\)/);
  });

  it("padding='same' with stride 2", () => {
    expect(errorOf(() => kn.F.conv2d(z(1, 1, 8, 8), z(1, 1, 3, 3), { padding: 'same', stride: 2 })))
      .toMatch(/^conv2d: padding='same' needs stride 1, got stride \[2,2\]/);
    // PyTorch refuses this when the module is built; Kiln may refuse then or at the first call
    expect(errorOf(() => new kn.nn.Conv2d(1, 1, 3, { padding: 'same', stride: [1, 2] }).call(z(1, 1, 8, 8))))
      .toMatch(/^Conv2d: padding='same' needs stride 1, got stride \[1,2\]/);
    expect(errorOf(() => new kn.nn.Conv1d(1, 1, 3, { padding: 'same', stride: 2 }).call(z(1, 1, 8))))
      .toMatch(/Conv1d: padding='same' needs stride 1/i);
  });

  it('bad option values', () => {
    const x = z(1, 2, 8, 8), w = z(2, 2, 3, 3);
    expect(errorOf(() => kn.F.conv2d(x, w, { stride: 0 }))).toMatch(/^conv2d: stride must be an integer >= 1 or a pair of them, got 0/);
    expect(errorOf(() => kn.F.conv2d(x, w, { stride: [1, 1.5] }))).toMatch(/^conv2d: stride must be .*got \[1,1.5\]/);
    expect(errorOf(() => kn.F.conv2d(x, w, { stride: NaN }))).toMatch(/^conv2d: stride must be .*got null|^conv2d: stride must be .*NaN/);
    expect(errorOf(() => kn.F.conv2d(x, w, { padding: -1 }))).toMatch(/^conv2d: padding must be an integer >= 0 or a pair of them, got -1/);
    expect(errorOf(() => kn.F.conv2d(x, w, { padding: 'full' as any }))).toMatch(/^conv2d: padding .*"full"/);
    expect(errorOf(() => kn.F.conv2d(x, w, { dilation: 0 }))).toMatch(/^conv2d: dilation must be an integer >= 1 or a pair of them, got 0/);
    expect(errorOf(() => kn.F.conv2d(x, w, { groups: 0 }))).toMatch(/^conv2d: groups must be a positive integer, got 0/);
    expect(errorOf(() => kn.F.conv2d(x, w, { groups: 1.5 }))).toMatch(/^conv2d: groups must be a positive integer, got 1.5/);
    expect(errorOf(() => kn.F.conv2d(x, w, { bias: z(3) }))).toMatch(/^conv2d: expected bias of shape \[2\], got \[3\]/);
    expect(errorOf(() => kn.F.conv2d(kn.zeros([1, 2, 8, 8], { dtype: 'int32' } as any), w))).toMatch(/^conv2d: expected a float32 input, got int32/);
    expect(errorOf(() => new kn.nn.Conv2d(2, 2, 0))).toMatch(/^Conv2d: kernelSize must be an integer >= 1 or a pair of them, got 0/);
    expect(errorOf(() => new kn.nn.Conv2d(0, 2, 3))).toMatch(/^Conv2d: inChannels and outChannels must be positive integers, got 0 and 2/);
    expect(errorOf(() => new kn.nn.Conv2d(2, 2, 3, { stride: -1 }).call(x))).toMatch(/^Conv2d: stride must be .*got -1/);
    expect(errorOf(() => kn.F.maxPool2d(x, 0))).toMatch(/^maxPool2d: kernelSize must be an integer >= 1 or a pair of them, got 0/);
    expect(errorOf(() => kn.F.maxPool2d(x, 2, { padding: 2 }))).toMatch(/^maxPool2d: padding \[2,2\] must be at most half the kernel size \[2,2\]/);
    expect(errorOf(() => kn.F.maxPool2d(x, 2, { stride: 0 }))).toMatch(/^maxPool2d: stride must be .*got 0/);
    expect(errorOf(() => kn.F.maxPool2d(x, 2, { dilation: 0 }))).toMatch(/^maxPool2d: dilation must be .*got 0/);
    expect(errorOf(() => kn.F.avgPool2d(x, [2, 3], { padding: [1, 2] }))).toMatch(/^avgPool2d: padding \[1,2\] must be at most half the kernel size \[2,3\]/);
    expect(errorOf(() => kn.F.adaptiveAvgPool2d(x, 0))).toMatch(/^adaptiveAvgPool2d: outputSize must be an integer >= 1 or a pair of them, got 0/);
    expect(errorOf(() => new kn.nn.AvgPool2d(2, { stride: 0 }).call(x))).toMatch(/avgPool2d: stride must be .*got 0.*\(in AvgPool2d\)/i);
  });

  it('nn.Conv2d rejects groups 0 by name', () => {
    expect(errorOf(() => new kn.nn.Conv2d(2, 2, 3, { groups: 0 }).call(z(1, 2, 8, 8)))).toMatch(/^Conv2d: .*groups.*0/);
  });

  it('nn.Conv1d rejects kernelSize 0', () => {
    expect(errorOf(() => new kn.nn.Conv1d(2, 2, 0).call(z(1, 2, 8)))).toMatch(/Conv1d: .*kernelSize.*0/);
  });

  it('nn.Conv1d names itself and the shapes the user passed', () => {
    expect(errorOf(() => new kn.nn.Conv1d(3, 4, 3).call(z(2, 5, 8))))
      .toMatch(/^Conv1d: input \[2, 5, 8\] has 5 channels, but the weight \[4, 3, 3\] expects 3/);
  });

  it('conv2d rejects a padding of three numbers', () => {
    const x = z(1, 2, 8, 8), w = z(2, 2, 3, 3);
    expect(errorOf(() => kn.F.conv2d(x, w, { padding: [1, 1, 1] as any }))).toMatch(/^conv2d: padding .*\[1,1,1\]/);
  });

  it('avgPool2d rejects divisorOverride 0 and NaN (PyTorch: "divisor must be not zero")', () => {
    const x = z(1, 1, 4, 4);
    expect(errorOf(() => kn.F.avgPool2d(x, 2, { divisorOverride: 0 }))).toMatch(/^avgPool2d: divisorOverride/);
    expect(errorOf(() => kn.F.avgPool2d(x, 2, { divisorOverride: NaN }))).toMatch(/^avgPool2d: divisorOverride/);
  });
});
