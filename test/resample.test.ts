// F.interpolate, F.pad and their modules (Upsample, the padding layers, Unflatten) against
// PyTorch's golden vectors (test/golden/resample.json, written by test/golden/gen_resample.py):
// forward and the input gradient of (y * r).sum() for 30 interpolate and 19 pad
// configurations and 18 module cases, PyTorch's index rules over a table of sizes, one
// compiled function (bilinear, reflect pad and nearest, forward and gradients, replayed), the
// structure of the graphs (views where views suffice) and the errors of bad input.
//
// Tolerances. Inputs are float32 and PyTorch computed in float32. Nearest resampling and
// padding copy elements, so their forward values must be exact (as must a gradient that is a
// copy of r: kGrad = 1). Everything else is a sum of products: an element of y sums kY terms,
// an element of the input gradient kGrad terms (the generator counts them: the nonzeros of the
// Jacobian's rows and columns), each a weight <= 1 times a unit-normal value, and Kiln sums
// them in another order than PyTorch (two separable matmuls, zero weights included, which
// add exactly 0). Rounding errors of a sum of k terms of random sign grow like sqrt(k) ulps
// of the terms, so an element passes when
//   |actual - expected| <= RTOL * |expected| + ATOL * sqrt(k)
// with RTOL = 1e-5 (~80 ulps, for large elements) and ATOL = 1e-6 (~8 ulps of 1 per sqrt(k);
// the terms reach |x| ~ 4). The interpolation weights themselves are PyTorch's bit for bit
// (the linearMatrix table is compared exactly), so a wrong index or weight is off by O(0.01)
// or more, far outside this. The worst element of each quantity, as a fraction of its
// tolerance, is printed at the end; measured on SwiftShader: y 0.03, gradX 0.05.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { normalArray } from '../src/layers/random.js';
import { expectClose as compare } from './compare.js';
import * as R from '../src/layers/resample.js';
import { interpolate, pad, unflatten, nearestSourceIndex, linearMatrix } from '../src/layers/resample.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
const golden = loadGolden('resample.json');

const RTOL = 1e-5, ATOL = 1e-6;
const f32 = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data), t.shape, opts);

const worst: Record<string, number> = {};

/** Asserts shape and values: exactly, or within RTOL*|e| + ATOL*sqrt(k); names the worst element. */
async function expectClose(what: string, actual: kn.Tensor | null | undefined, expected: T, exact: boolean, k: number): Promise<void> {
  expect(actual, `${what}: missing`).toBeTruthy();
  expect(actual!.shape, `${what}: shape`).toEqual(expected.shape);
  const a = await actual!.data();
  const atol = exact ? 0 : ATOL * Math.sqrt(k), rtol = exact ? 0 : RTOL;
  const wr = compare(a, expected.data.map(Math.fround), { atol, rtol }, `${what} (against PyTorch)`);
  if (!exact) {
    const key = what.replace(/^.*: /, '');
    worst[key] = Math.max(worst[key] ?? 0, wr);
  }
}

/** Whether a case only copies elements (nearest modes, padding, reshapes). */
const copies = (c: any) => {
  const mode = c.options?.mode ?? c.args?.[0]?.mode ?? (c.cls === 'UpsamplingBilinear2d' ? 'bilinear' : 'nearest');
  return !['bilinear', 'linear', 'area'].includes(mode);
};

async function checkCase(label: string, c: any, y: kn.Tensor, gx: kn.Tensor | null) {
  await expectClose(`${label}: y`, y, c.y, copies(c) && c.kY === 1, c.kY);
  // where PyTorch's nearest backward is not the adjoint of its own forward (see the
  // generator), Kiln's gradient is the adjoint: compare with that
  await expectClose(`${label}: gradX`, gx, c.gradXAdjoint ?? c.gradX, copies(c) && c.kGrad === 1, c.kGrad);
}

beforeAll(async () => { await kn.init(); });
afterAll(() => {
  console.log('resample.test worst |diff|/tolerance (inexact quantities):', JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, +v.toPrecision(2)]))));
  kn.shutdown();
});

function errorOf(fn: () => unknown): string {
  try { fn(); } catch (e) { return (e as Error).message; }
  return expect.fail('expected an error, none was thrown');
}

/** The op names of a tensor's graph, down to its stored inputs. */
function opsOf(t: kn.Tensor): Set<string> {
  const seen = new Set<any>(), ops = new Set<string>();
  const walk = (n: any) => {
    if (seen.has(n)) return;
    seen.add(n); ops.add(n.op);
    for (const i of n.inputs) walk(i);
  };
  walk(t.node);
  return ops;
}

// ------------------------------------------------------------------ golden: interpolate

describe('golden: F.interpolate (resample.json)', () => {
  it('covers the configurations the issue asks for', () => {
    const cs: any[] = golden.interpolate;
    expect(cs.length).toBeGreaterThanOrEqual(12);
    const o = (c: any) => c.options;
    const up = (c: any) => c.y.shape.slice(2).some((d: number, i: number) => d > c.x.shape[2 + i]);
    const down = (c: any) => c.y.shape.slice(2).some((d: number, i: number) => d < c.x.shape[2 + i]);
    expect(cs.some((c) => o(c).mode === 'nearest' && up(c)) && cs.some((c) => o(c).mode === 'nearest' && down(c))).toBe(true);
    expect(cs.some((c) => o(c).mode === 'nearest' && typeof o(c).scaleFactor === 'number' && !Number.isInteger(o(c).scaleFactor))).toBe(true);
    expect(cs.some((c) => o(c).size) && cs.some((c) => o(c).scaleFactor)).toBe(true);
    expect(cs.some((c) => o(c).mode === 'bilinear' && o(c).alignCorners === true)).toBe(true);
    expect(cs.some((c) => o(c).mode === 'bilinear' && o(c).alignCorners === false)).toBe(true);
    expect(cs.some((c) => c.x.shape.slice(2).some((d: number) => d % 2 === 1))).toBe(true);
    expect(cs.some((c) => o(c).mode === 'nearest-exact') && cs.some((c) => o(c).mode === 'linear') && cs.some((c) => c.x.shape.length === 3)).toBe(true);
  });
  it("two cases where PyTorch's nearest gradient is not the adjoint of its forward", () => {
    const odd = golden.interpolate.filter((c: any) => c.gradXAdjoint);
    expect(odd.map((c: any) => c.name)).toEqual(['nearest x1.1: out == in, yet not a copy', 'nearest 1-d x2.1: out == 2 in, yet not a halving']);
    // PyTorch 1.13 sends the gradient back as a copy (x1.1) or a halving (x2.1), not along its forward's indices
    expect(odd[0].gradX.data).toEqual(odd[0].r.data);
  });
  for (const c of golden.interpolate) {
    it(`${c.name}: ${JSON.stringify(c.options)} on ${JSON.stringify(c.x.shape)} (y, dx)`, async () => {
      const x = f32(c.x, { requiresGrad: true });
      const y = interpolate(x, c.options);
      y.mul(f32(c.r)).sum().backward();
      await checkCase(c.options.mode, c, y, x.grad);
    });
  }
});

describe('golden: PyTorch index rules (resample.json tables)', () => {
  it('nearest and nearest-exact source indices, sizes and scale factors', () => {
    expect(golden.nearestIndex.length).toBeGreaterThan(100);
    for (const e of golden.nearestIndex) {
      const got = nearestSourceIndex(e.n, e.size, e.scaleFactor, e.mode === 'nearest-exact');
      expect(got, `${e.mode} n=${e.n} size=${e.size} scaleFactor=${e.scaleFactor}`).toEqual(e.index);
    }
  });
  it('linear interpolation weights, bit for bit', () => {
    for (const e of golden.linearMatrix) {
      const got = linearMatrix(e.n, e.size, e.scaleFactor, e.alignCorners);
      expect(Array.from(got), `n=${e.n} size=${e.size} scaleFactor=${e.scaleFactor} alignCorners=${e.alignCorners}`).toEqual(e.matrix.data.map(Math.fround));
    }
  });
});

// ------------------------------------------------------------------ golden: pad

describe('golden: F.pad (resample.json)', () => {
  it('covers the configurations the issue asks for', () => {
    const cs: any[] = golden.pad;
    expect(cs.length).toBeGreaterThanOrEqual(10);
    for (const mode of ['constant', 'reflect', 'replicate', 'circular']) {
      expect(cs.some((c) => c.mode === mode && c.pad.length === 2), `${mode} 1-d`).toBe(true);
      expect(cs.some((c) => c.mode === mode && c.pad.length === 4), `${mode} 2-d`).toBe(true);
    }
    expect(cs.some((c) => c.mode === 'constant' && c.pad.some((p: number) => p < 0))).toBe(true);
    expect(cs.some((c) => new Set(c.pad).size > 1)).toBe(true);
  });
  for (const c of golden.pad) {
    it(`${c.name}: ${c.mode} ${JSON.stringify(c.pad)} on ${JSON.stringify(c.x.shape)} (y, dx)`, async () => {
      const x = f32(c.x, { requiresGrad: true });
      const y = c.mode === 'constant' ? pad(x, c.pad, 'constant', c.value) : pad(x, c.pad, c.mode);
      y.mul(f32(c.r)).sum().backward();
      await checkCase(`pad ${c.mode}`, c, y, x.grad);
    });
  }
});

// ------------------------------------------------------------------ golden: modules

describe('golden: modules (resample.json)', () => {
  for (const c of golden.modules) {
    it(`${c.name}: nn.${c.cls}(${JSON.stringify(c.args).slice(1, -1)}) on ${JSON.stringify(c.x.shape)} (y, dx)`, async () => {
      const m = new (R as any)[c.cls](...c.args) as InstanceType<typeof kn.nn.Module>;
      expect(Object.keys(m.stateDict())).toEqual([]);
      const x = f32(c.x, { requiresGrad: true });
      const y = m.call(x);
      y.mul(f32(c.r)).sum().backward();
      await checkCase(c.cls, c, y, x.grad);
    });
  }
});

// ------------------------------------------------------------------ compiled

describe('golden: under kn.compile', () => {
  it('bilinear and reflect pad, compiled forward + grads, traced once, replayed', async () => {
    const ci = golden.interpolate.find((c: any) => c.name === 'bilinear x1.5 odd');
    const cp = golden.pad.find((c: any) => c.name === 'reflect 2-d asymmetric');
    const cn = golden.interpolate.find((c: any) => c.name === 'nearest x1.5 (scale 1/1.5, not in/out)');
    const ri = f32(ci.r), rp = f32(cp.r), rn = f32(cn.r);
    const fi = (x: kn.Tensor) => interpolate(x, ci.options);
    const fp = (x: kn.Tensor) => pad(x, cp.pad, 'reflect');
    const fn = (x: kn.Tensor) => interpolate(x, cn.options);
    const step = kn.compile((xi: kn.Tensor, xp: kn.Tensor, xn: kn.Tensor) => [
      fi(xi), kn.grad((x: kn.Tensor) => fi(x).mul(ri).sum())(xi) as kn.Tensor,
      fp(xp), kn.grad((x: kn.Tensor) => fp(x).mul(rp).sum())(xp) as kn.Tensor,
      fn(xn), kn.grad((x: kn.Tensor) => fn(x).mul(rn).sum())(xn) as kn.Tensor,
    ]);
    for (let call = 0; call < 2; call++) {
      const [yi, gi, yp, gp, yn, gn] = await step(f32(ci.x), f32(cp.x), f32(cn.x));
      await checkCase(`compiled call ${call} bilinear`, ci, yi, gi);
      await checkCase(`compiled call ${call} reflect`, cp, yp, gp);
      await checkCase(`compiled call ${call} nearest`, cn, yn, gn);
    }
    expect(step.stats().traces).toBe(1);
  });
});

// ------------------------------------------------------------------ behaviour beyond the goldens

describe('interpolate and pad: structure and details', () => {
  // host data, uploaded: the graphs below hold the op under test and a buffer, not a draw
  const randn = (shape: number[], opts: { requiresGrad?: boolean } = {}) =>
    kn.tensor(normalArray(shape.reduce((p, d) => p * d, 1)), shape, opts);
  const x4 = () => randn([2, 3, 4, 5]);

  it('resampling by integer and small rational factors is views; other sizes a gather or a matmul', () => {
    const only = (t: kn.Tensor, allowed: string[]) => {
      const ops = [...opsOf(t)];
      expect(ops.every((o) => allowed.includes(o)), ops.join()).toBe(true);
    };
    only(interpolate(x4(), { scaleFactor: 2 }), ['reshape', 'expand', 'buffer']);
    only(interpolate(x4(), { size: [2, 5] }), ['slice', 'buffer']);
    only(interpolate(x4(), { size: [6, 10] , mode: 'nearest-exact' }), ['slice', 'concat', 'reshape', 'expand', 'buffer']);
    expect(opsOf(interpolate(x4(), { size: [5, 7] })).has('indexSelect')).toBe(true);
    // bilinear x2 and x0.5: strided slices of the input extended by its edges, multiply-adds, interleaves
    for (const scaleFactor of [2, 0.5]) {
      const ops = opsOf(interpolate(randn([1, 2, 6, 8]), { scaleFactor, mode: 'bilinear' }));
      expect(!ops.has('matmul') && !ops.has('indexSelect'), [...ops].join()).toBe(true);
    }
    const bil = opsOf(interpolate(x4(), { size: [5, 7], mode: 'bilinear' }));
    expect(bil.has('matmul') && !bil.has('indexSelect')).toBe(true);
    const same = randn([1, 2, 3, 3]);
    expect(interpolate(same, { size: 3, mode: 'bilinear' })).toBe(same);
    expect(interpolate(same, { scaleFactor: 1 })).toBe(same);
  });

  it('replicate and circular padding are slices, expands and a concat; reflect reverses only its borders', () => {
    for (const mode of ['replicate', 'circular'] as const) {
      const ops = opsOf(pad(x4(), [2, 1, 1, 3], mode));
      expect([...ops].every((o) => ['slice', 'expand', 'reshape', 'concat', 'buffer'].includes(o)), `${mode}: ${[...ops].join()}`).toBe(true);
    }
    const y = pad(randn([1, 8, 30]), [3, 2], 'reflect');
    const sizes: number[] = [];
    const walk = (n: any) => { if (n.op === 'indexSelect') sizes.push(n.inputs[0].shape[n.attrs.axis]); n.inputs.forEach(walk); };
    walk(y.node);
    expect(sizes.sort()).toEqual([2, 3]);
  });

  it('the default mode is nearest; alignCorners false equals alignCorners unset', async () => {
    const x = randn([1, 2, 3, 4]);
    expect(Array.from(await interpolate(x, { size: [5, 6] }).data())).toEqual(Array.from(await interpolate(x, { size: [5, 6], mode: 'nearest' }).data()));
    const a = await interpolate(x, { scaleFactor: 1.5, mode: 'bilinear' }).data();
    const b = await interpolate(x, { scaleFactor: 1.5, mode: 'bilinear', alignCorners: false }).data();
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('pad takes its mode and value also as an options object; a NaN fill is kept', async () => {
    const x = kn.tensor([[1, 2, 3]]);
    expect(Array.from(await pad(x, [1, 1], { mode: 'reflect' }).data())).toEqual([2, 1, 2, 3, 2]);
    expect(Array.from(await pad(x, [1, 0], { value: 7 }).data())).toEqual([7, 1, 2, 3]);
    const n = await pad(x, [1, 1], 'constant', NaN).data();
    expect(Number.isNaN(n[0]) && Number.isNaN(n[4]) && n[1] === 1).toBe(true);
    expect(Array.from(await pad(x, [0, 1], 'constant', -Infinity).data())).toEqual([1, 2, 3, -Infinity]);
    expect(pad(x, [0, 0])).toBe(x);
    // a zero-size pad leaves a constant-padded dim of 0 (PyTorch allows it)
    expect(pad(randn([2, 3]), [-3, 0]).shape).toEqual([2, 0]);
  });

  it('Unflatten: shape and gradient; unflatten with -1', async () => {
    const x = randn([2, 12], { requiresGrad: true });
    const m = new R.Unflatten(1, [3, 2, 2]);
    const y = m.call(x);
    expect(y.shape).toEqual([2, 3, 2, 2]);
    y.mul(kn.arange(24).reshape(2, 3, 2, 2).float()).sum().backward();
    expect(Array.from(await x.grad!.data())).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(unflatten(kn.zeros([4, 6, 5]), -2, [-1, 3]).shape).toEqual([4, 2, 3, 5]);
    expect(unflatten(kn.zeros([4, 6]), 0, [4]).shape).toEqual([4, 6]);
  });
});

// ------------------------------------------------------------------ bad input

describe('interpolate, pad and the modules reject bad input with clear errors', () => {
  const z = (...s: number[]) => kn.zeros(s);

  it('interpolate: size and scaleFactor', () => {
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), {}))).toMatch(/^interpolate: either size or scaleFactor must be given/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: 8, scaleFactor: 2 }))).toMatch(/^interpolate: only one of size and scaleFactor may be given, got both/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: [8, 8, 8] }))).toMatch(/^interpolate: size must be a number or a list of 2 \(one per spatial dim of the input \[1, 2, 4, 4\]\), got \[8,8,8\]/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: 0 }))).toMatch(/^interpolate: size must be positive integers, got 0/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: [3, 2.5] }))).toMatch(/^interpolate: size must be positive integers, got \[3,2.5\]/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { scaleFactor: -2 }))).toMatch(/^interpolate: scaleFactor must be positive finite numbers, got -2/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { scaleFactor: NaN }))).toMatch(/^interpolate: scaleFactor must be positive finite numbers, got NaN/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { scaleFactor: [2] }))).toMatch(/^interpolate: scaleFactor must be a number or a list of 2 .*got \[2\]/);
    expect(errorOf(() => interpolate(z(1, 2, 2, 6), { scaleFactor: 0.3 })))
      .toMatch(/^interpolate: the output size \[0, 1\] \(input size \[2, 6\] times scaleFactor 0.3, rounded down\) must be at least 1 in every dim/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: 8, recomputeScaleFactor: true }))).toMatch(/^interpolate: recomputeScaleFactor is only meaningful with scaleFactor/);
  });

  it('interpolate: mode, alignCorners, rank and dtype', () => {
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: 8, mode: 'bicubic' as any })))
      .toMatch(/^interpolate: mode must be one of 'nearest', 'nearest-exact', 'linear', 'bilinear', 'area', got "bicubic"/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: 8, alignCorners: true })))
      .toMatch(/^interpolate: alignCorners can only be set with the interpolating modes 'linear' and 'bilinear', got mode 'nearest'/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: 8, mode: 'nearest-exact', alignCorners: false }))).toMatch(/^interpolate: alignCorners can only be set/);
    expect(errorOf(() => interpolate(z(1, 2, 4), { size: 8, mode: 'bilinear' })))
      .toMatch(/^interpolate: mode 'bilinear' needs a 4-d input \[N, C, H, W\], got \[1, 2, 4\] \(use 'linear' for \[N, C, L\]\)/);
    expect(errorOf(() => interpolate(z(1, 2, 4, 4), { size: 8, mode: 'linear' })))
      .toMatch(/^interpolate: mode 'linear' needs a 3-d input \[N, C, L\], got \[1, 2, 4, 4\]/);
    expect(errorOf(() => interpolate(z(2, 4, 4, 4, 4), { size: 8 }))).toMatch(/^interpolate: expected input of shape \[N, C, L\] or \[N, C, H, W\], got \[2, 4, 4, 4, 4\]/);
    expect(errorOf(() => interpolate(z(4, 4), { size: 8 }))).toMatch(/^interpolate: expected input of shape .*got \[4, 4\]/);
    expect(errorOf(() => interpolate(kn.zeros([1, 1, 4], { dtype: 'int32' }), { size: 8 }))).toMatch(/^interpolate: expected a float32 input, got int32/);
  });

  it('pad: the pad list', () => {
    expect(errorOf(() => pad(z(1, 3, 4), [1, 2, 3])))
      .toMatch(/^pad: pad must hold pairs of \(before, after\) pads, last dim first, so its length must be even; got 3 values \[1,2,3\]/);
    expect(errorOf(() => pad(z(3, 4), [1, 1, 1, 1, 1, 1]))).toMatch(/^pad: pad \[1,1,1,1,1,1\] pads 3 dims, but the input \[3, 4\] has only 2/);
    expect(errorOf(() => pad(z(3, 4), [1, 1.5]))).toMatch(/^pad: pad must be a list of integers, got \[1,1.5\]/);
    expect(errorOf(() => pad(z(1, 3, 4), [-3, -2])))
      .toMatch(/^pad: padding \(-3, -2\) would leave -1 elements in dim 2 \(size 4\) of the input \[1, 3, 4\]; negative pads may crop at most the whole dim/);
    expect(errorOf(() => pad(z(1, 3, 4), [1, 1], 'wrap' as any))).toMatch(/^pad: mode must be one of 'constant', 'reflect', 'replicate', 'circular', got "wrap"/);
  });

  it('pad: reflect, replicate and circular limits', () => {
    expect(errorOf(() => pad(z(1, 3, 4), [4, 0], 'reflect')))
      .toMatch(/^pad: reflect padding must be less than the size of the dim it pads: got padding \(4, 0\) for dim 2 \(size 4\) of the input \[1, 3, 4\]/);
    expect(errorOf(() => pad(z(1, 3, 4), [1, 2, 3, 1], 'reflect')))
      .toMatch(/^pad: reflect padding must be less than the size of the dim it pads: got padding \(3, 1\) for dim 1 \(size 3\)/);
    expect(errorOf(() => pad(z(1, 3, 4), [5, 0], 'circular')))
      .toMatch(/^pad: circular padding may wrap around at most once: got padding \(5, 0\) for dim 2 \(size 4\)/);
    expect(errorOf(() => pad(z(1, 3, 5), [-1, 5], 'circular')))
      .toMatch(/^pad: circular padding may wrap around at most once: got padding \(-1, 5\) for dim 2 \(size 5\) of the input \[1, 3, 5\], 4 after the negative pad/);
    expect(errorOf(() => pad(z(1, 3, 5), [-5, 1], 'circular')))
      .toMatch(/^pad: negative padding \(-5, 1\) leaves nothing of dim 2 \(size 5\) of the input \[1, 3, 5\] to wrap around/);
    expect(errorOf(() => pad(z(1, 3, 4), [-2, -2], 'replicate')))
      .toMatch(/^pad: padding \(-2, -2\) would leave 0 elements in dim 2 \(size 4\) of the input \[1, 3, 4\]; at least 1 must remain/);
    expect(errorOf(() => pad(z(12), [1, 2], 'reflect')))
      .toMatch(/^pad: mode 'reflect' pads the last 1, 2 or 3 dims of an input with one or two more dims \(\[N, C, \.\.\.\] or \[C, \.\.\.\]\): pad \[1,2\] needs a 2-d or 3-d input, got \[12\]/);
    expect(errorOf(() => pad(z(1, 1, 3, 4), [1, 2], 'replicate'))).toMatch(/^pad: mode 'replicate' pads .*needs a 2-d or 3-d input, got \[1, 1, 3, 4\]/);
    expect(errorOf(() => pad(z(3, 4), [1, 1, 1, 1], 'circular'))).toMatch(/^pad: mode 'circular' pads .*needs a 3-d or 4-d input, got \[3, 4\]/);
    expect(errorOf(() => pad(z(1, 3, 4), [1, 1], 'reflect', 2)))
      .toMatch(/^pad: mode 'reflect' takes no value \(only 'constant' fills with one\), got value 2/);
  });

  it('modules: construction and forward', () => {
    expect(errorOf(() => new R.ZeroPad2d([1, 2, 3]))).toMatch(/^ZeroPad2d: padding must be an integer or a list of 4 integers \(left, right, top, bottom\), got \[1,2,3\]/);
    expect(errorOf(() => new R.ReflectionPad1d(1.5))).toMatch(/^ReflectionPad1d: padding must be an integer or a list of 2 integers \(left, right\), got 1.5/);
    expect(errorOf(() => new R.ConstantPad2d(1, 'a' as any))).toMatch(/^ConstantPad2d: value must be a number, got "a"/);
    expect(errorOf(() => new R.ReflectionPad2d(3).call(z(1, 2, 3, 8))))
      .toMatch(/^pad: reflect padding must be less than the size of the dim it pads: got padding \(3, 3\) for dim 2 \(size 3\) of the input \[1, 2, 3, 8\] \(in ReflectionPad2d\)$/);
    expect(errorOf(() => new R.ReplicationPad2d(1).call(z(8, 8)))).toMatch(/^pad: mode 'replicate' pads .*got \[8, 8\] \(in ReplicationPad2d\)$/);
    expect(errorOf(() => new R.Upsample())).toMatch(/^Upsample: exactly one of size and scaleFactor must be given/);
    expect(errorOf(() => new R.Upsample({ size: 4, mode: 'cubic' as any }))).toMatch(/^Upsample: mode must be one of .*got "cubic"/);
    expect(errorOf(() => new R.Upsample({ scaleFactor: 2, mode: 'bilinear' }).call(z(1, 2, 8))))
      .toMatch(/^interpolate: mode 'bilinear' needs a 4-d input .*got \[1, 2, 8\].*\(in Upsample\)$/);
    expect(errorOf(() => new R.Unflatten(1, [4, 4]).call(z(2, 12))))
      .toMatch(/^unflatten: unflattenedSize \[4,4\] does not fill dim 1 \(size 12\) of the input \[2, 12\]: the sizes must multiply to 12 \(in Unflatten\)$/);
    expect(errorOf(() => new R.Unflatten(2, [3, 4]).call(z(2, 12)))).toMatch(/^unflatten: dim 2 is out of range for the input \[2, 12\] \(expected -2\.\.1\)/);
    expect(errorOf(() => new R.Unflatten(1, [-1, -1]).call(z(2, 12)))).toMatch(/^unflatten: unflattenedSize may hold at most one -1, got \[-1,-1\]/);
    expect(errorOf(() => new R.Unflatten(1, []))).toMatch(/^Unflatten: unflattenedSize must be a non-empty list of sizes, got \[\]/);
    expect(errorOf(() => new R.Unflatten(1, [5, -1]).call(z(2, 12)))).toMatch(/^unflatten: unflattenedSize \[5,-1\] does not fill dim 1/);
  });
});
