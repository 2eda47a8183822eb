// Backward of every differentiable op, checked three ways on seeded random inputs, with
// loss = sum(op(inputs) * r) for a fixed random r (so every output element matters):
//  1. the GPU gradient from loss.backward() against central finite differences of the float64
//     reference evaluator (perturb one float64 input element by ±h, re-evaluate the forward
//     graph in float64). In float64, h = 1e-5 leaves truncation (~h^2 f''') and cancellation
//     (~1e-16 |loss| / h) errors near 1e-9, so the check can be tight: rtol 1e-3 covers the
//     float32 arithmetic of the GPU forward and backward kernels (a few ulp compounded over a
//     handful of ops and accumulations), atol 1e-4 the elements whose gradient is near 0.
//  2. the float64 reference evaluator run on the backward graph itself (the gradient tensors
//     are graph nodes too) against the same finite differences, at rtol 1e-6: both are
//     float64, so this checks each gradient rule's mathematics exactly, apart from float32 rounding.
//  3. the GPU gradient against that float64 backward graph at every element (rtol 1e-4,
//     atol 1e-5: several float32 ops and reductions compounded).
// Finite differences are taken at up to FD_SAMPLES elements of each input (all of them for
// small inputs). Inputs stay away from kinks (relu at 0, ties of max) by construction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../../src/index.js';
import type { Node } from '../../src/graph/ir.js';
import { evaluateReference } from '../../src/graph/reference.js';
import { moments, sumDot } from '../../src/graph/tensor.js';
import { Leaves, expectArrayClose, type Tensor, type Tol } from './helpers.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

const FD_SAMPLES = 24;
const H = 1e-5;
const GPU_VS_FD: Tol = { rtol: 1e-3, atol: 1e-4 };
const REF_VS_FD: Tol = { rtol: 1e-6, atol: 1e-8 };
const GPU_VS_REF: Tol = { rtol: 1e-4, atol: 1e-5 };

function fresh(seed: number): Leaves { kn.manualSeed(seed); return new Leaves(); }

/** d scalar / d leaf by central differences of the float64 reference, at the given elements. */
function finiteDiff(scalar: Node, leaf: Node, values: Map<Node, Float64Array>, at: number[]): Float64Array {
  const base = values.get(leaf)!;
  const out = new Float64Array(at.length);
  at.forEach((j, k) => {
    const h = H * Math.max(1, Math.abs(base[j]));
    const evalAt = (v: number) => {
      const x = base.slice(); x[j] = v;
      const vals = new Map(values); vals.set(leaf, x);
      return evaluateReference([scalar], vals).get(scalar)![0];
    };
    out[k] = (evalAt(base[j] + h) - evalAt(base[j] - h)) / (2 * h);
  });
  return out;
}

function sampleIndices(n: number, seed: number): number[] {
  if (n <= FD_SAMPLES) return Array.from({ length: n }, (_, i) => i);
  const s = new Set<number>([0, n - 1]);
  let state = seed * 7919 + 1;
  while (s.size < FD_SAMPLES) { state = (state * 1103515245 + 12345) % 2147483648; s.add(state % n); }
  return [...s].sort((a, b) => a - b);
}

/**
 * Builds `out = f(inputs)` (inputs require grad), runs backward of sum(out * r), and checks
 * every input's gradient against finite differences and the reference backward graph.
 */
async function checkGrad(label: string, seed: number, build: (L: Leaves) => { inputs: Tensor[]; out: Tensor }, gpuVsFd: Tol = GPU_VS_FD, gpuVsRef: Tol = GPU_VS_REF): Promise<void> {
  const L = fresh(seed);
  const { inputs, out } = build(L);
  for (const x of inputs) expect(x.requiresGrad, `${label}: input requires grad`).toBe(true);
  const r = L.randn(out.shape);
  const loss = out.mul(r).sum();
  loss.backward();
  for (const [i, x] of inputs.entries()) {
    const name = `${label} d/d input ${i} [${x.shape}]`;
    expect(x.grad, `${name}: a gradient`).not.toBeNull();
    expect(x.grad!.shape, `${name}: gradient shape`).toEqual(x.shape);
    const gpu = await x.grad!.data();
    const refBackward = evaluateReference([x.grad!.node], L.values).get(x.grad!.node)!;
    const at = sampleIndices(x.numel(), seed + i);
    const fd = finiteDiff(loss.node, x.node, L.values, at);
    expectArrayClose(at.map((j) => refBackward[j]), fd, REF_VS_FD, `${name}: float64 backward graph vs finite differences`);
    expectArrayClose(at.map((j) => gpu[j]), fd, gpuVsFd, `${name}: GPU gradient vs finite differences`);
    expectArrayClose(gpu, refBackward, gpuVsRef, `${name}: GPU gradient vs float64 backward graph`);
  }
}

const rg = { requiresGrad: true };

// ------------------------------------------------------------------ elementwise
type Un = { name: string; f: (x: Tensor) => Tensor; domain?: [number, number]; tol?: Tol };
// WGSL only promises sin/cos to 2^-11 absolute (SwiftShader is ~4e-4 off); times |r| <= ~4
const TRIG: Tol = { rtol: 0, atol: 2e-3 };
const UNARY: Un[] = [
  { name: 'neg', f: (x) => x.neg() },
  { name: 'exp', f: (x) => x.exp(), domain: [-3, 3] },
  { name: 'log', f: (x) => x.log(), domain: [0.2, 5] },
  { name: 'sqrt', f: (x) => x.sqrt(), domain: [0.2, 5] },
  { name: 'rsqrt', f: (x) => x.rsqrt(), domain: [0.2, 5] },
  { name: 'abs', f: (x) => x.abs() },
  { name: 'sin', f: (x) => x.sin(), domain: [-3, 3], tol: TRIG },
  { name: 'cos', f: (x) => x.cos(), domain: [-3, 3], tol: TRIG },
  { name: 'erf', f: (x) => x.erf() },
  { name: 'relu', f: (x) => x.relu() },
  { name: 'leakyRelu', f: (x) => x.leakyRelu({ negativeSlope: 0.2 }) },
  { name: 'elu', f: (x) => x.elu({ alpha: 0.7 }) },
  { name: 'sigmoid', f: (x) => x.sigmoid(), domain: [-6, 6] },
  { name: 'tanh', f: (x) => x.tanh(), domain: [-3, 3] },
  { name: 'softplus', f: (x) => x.softplus(), domain: [-6, 6] },
  { name: 'softplus beta 2 threshold 3', f: (x) => x.softplus({ beta: 2, threshold: 3 }), domain: [-3, 3] },
  { name: 'gelu', f: (x) => kn.F.gelu(x), domain: [-4, 4] },
  { name: 'gelu-tanh', f: (x) => kn.F.gelu(x, { approximate: 'tanh' }), domain: [-4, 4] },
  { name: 'silu', f: (x) => x.silu(), domain: [-6, 6] },
  { name: 'pow 3', f: (x) => x.pow(3), domain: [-2, 2] },
  { name: 'pow -1.5', f: (x) => x.pow(-1.5), domain: [0.5, 3] },
  { name: 'clamp', f: (x) => x.clamp(-0.5, 0.7) },
  { name: 'chain', f: (x) => x.mul(x).add(1).log().mul(x.sigmoid()).sub(x.div(3).tanh()) },
  { name: 'log1p', f: (x) => x.log1p(), domain: [-0.5, 3] },
];

describe('elementwise', () => {
  const shapes = [[7, 5], [1, 33], [3, 1, 7]];
  UNARY.forEach((u, i) => {
    it(u.name, async () => {
      const s = shapes[i % shapes.length];
      await checkGrad(u.name, 10 + i, (L) => {
        const x = u.domain ? L.uniform(s, ...u.domain, rg) : L.randn(s, { ...rg, scale: 1.5 });
        return { inputs: [x], out: u.f(x) };
      }, u.tol ?? GPU_VS_FD, u.tol ?? GPU_VS_REF);
    });
  });

  const posAway = (L: Leaves, s: number[]) => L.uniform(s, 0.5, 2, rg);
  const BINARY: { name: string; f: (a: Tensor, b: Tensor) => Tensor; a?: (L: Leaves, s: number[]) => Tensor; b?: (L: Leaves, s: number[]) => Tensor }[] = [
    { name: 'add', f: (a, b) => a.add(b) },
    { name: 'sub', f: (a, b) => a.sub(b) },
    { name: 'mul', f: (a, b) => a.mul(b) },
    { name: 'div', f: (a, b) => a.div(b), b: posAway },
    { name: 'pow', f: (a, b) => a.pow(b), a: posAway, b: (L, s) => L.uniform(s, -2, 2, rg) },
    { name: 'maximum', f: (a, b) => a.maximum(b) },
    { name: 'minimum', f: (a, b) => a.minimum(b) },
  ];
  // b broadcasts, so its gradient is summed over the broadcast dims
  BINARY.forEach((op, i) => {
    const [aShape, bShape] = [[[7, 5], [5]], [[3, 7], [3, 1]], [[1, 33], [1, 33]], [[7, 1, 3], [5, 1]]][i % 4];
    it(`${op.name} [${aShape}] with [${bShape}]`, async () => {
      await checkGrad(op.name, 50 + i, (L) => {
        const a = (op.a ?? ((LL: Leaves, s: number[]) => LL.randn(s, rg)))(L, aShape);
        const b = (op.b ?? ((LL: Leaves, s: number[]) => LL.randn(s, rg)))(L, bShape);
        return { inputs: [a, b], out: op.f(a, b) };
      });
    });
  });

  it('a tensor used twice, and number operands', async () => {
    await checkGrad('x * x + 2x / 3', 60, (L) => {
      const x = L.randn([7, 7], rg);
      return { inputs: [x], out: x.mul(x).add(x.mul(2).div(3)).sub(1) };
    });
  });

  it('where (gradient to both branches, none to the condition)', async () => {
    await checkGrad('where', 61, (L) => {
      const c = L.bools([7, 5]), a = L.randn([7, 5], rg), b = L.randn([5], rg);
      return { inputs: [a, b], out: c.where(a.exp(), b.mul(b)) };
    });
  });
});

// ------------------------------------------------------------------ reductions
describe('reductions', () => {
  const cases: [string, (x: Tensor) => Tensor][] = [
    ['sum all', (x) => x.sum()],
    ['sum dim 1 keepdim', (x) => x.sum(1, true)],
    ['sum dims [0, 2]', (x) => x.sum([0, 2])],
    ['mean dim -1', (x) => x.mean(-1)],
    ['mean all', (x) => x.mean()],
    ['max dim 1', (x) => x.amax(1)],
    ['min dim 0 keepdim', (x) => x.amin(0, true)],
    ['max all', (x) => x.max()],
    ['var dim 2', (x) => x.var(2)],
    ['var all', (x) => x.var()],
    ['std dim 1 keepdim', (x) => x.std(1, true)],
    ['logsumexp dim -1', (x) => x.logsumexp(-1)],
    ['logsumexp dim 0 keepdim', (x) => x.logsumexp(0, true)],
  ];
  cases.forEach(([name, f], i) => {
    it(name, async () => {
      await checkGrad(name, 100 + i, (L) => {
        const x = L.randn([7, 5, 3], rg);
        return { inputs: [x], out: f(x) };
      });
    });
  });
});

// ------------------------------------------------------------------ views
describe('views and data movement', () => {
  const cases: [string, number[], (x: Tensor, L: Leaves) => Tensor][] = [
    ['reshape', [7, 6], (x) => x.reshape(3, 14).mul(x.reshape(3, 14))],
    ['permute', [7, 1, 3, 2], (x) => x.permute(2, 0, 3, 1)],
    ['transpose + matmul-free mix', [7, 5], (x) => x.t().mul(x.t().sum(0, true))],
    ['expand', [7, 1, 3], (x) => x.expand(2, 7, 5, 3)],
    ['slice', [7, 9], (x) => x.slice([1, 2], [6, 9])],
    ['strided slice', [9, 11, 4], (x) => x.slice([1, 0, 1], [9, 11, 4], [3, 4, 2])],
    ['strided slice to one element', [7, 5], (x) => x.slice([2, 1], [7, 5], [7, 5])],
    ['narrow', [7, 5], (x) => x.narrow(1, 1, 3)],
    ['pad', [7, 5], (x) => x.pad([1, 0], [2, 3])],
    ['cat with itself', [7, 5], (x) => kn.cat([x, x.mul(2), x.narrow(0, 0, 1)], 0)],
    ['stack', [7, 5], (x) => kn.stack([x, x.exp()], 1)],
    // indices repeat, so gradients accumulate into the same rows
    ['indexSelect', [7, 5], (x, L) => x.indexSelect(0, L.ints([33], 7))],
    ['indexSelect dim 1', [7, 5], (x, L) => x.indexSelect(1, L.ints([9], 5))],
    ['gather', [7, 5], (x, L) => x.gather(1, L.ints([7, 9], 5))],
    ['gather dim 0', [7, 5], (x, L) => x.gather(0, L.ints([3, 5], 7))],
    ['flip', [7, 5, 3], (x) => x.flip([0, 2]).mul(x)],
  ];
  cases.forEach(([name, shape, f], i) => {
    it(name, async () => {
      await checkGrad(name, 200 + i, (L) => {
        const x = L.randn(shape, rg);
        return { inputs: [x], out: f(x, L) };
      });
    });
  });

  it('cat of two different tensors', async () => {
    await checkGrad('cat', 230, (L) => {
      const a = L.randn([7, 3], rg), b = L.randn([7, 1], rg);
      return { inputs: [a, b], out: kn.cat([a, b, a], 1) };
    });
  });
});

// ------------------------------------------------------------------ matmul
describe('matmul', () => {
  const cases: [string, number[], number[], ((a: Tensor, b: Tensor) => Tensor)?][] = [
    ['2-D', [7, 33], [33, 5]],
    ['1 x K x 1', [1, 7], [7, 1]],
    ['batched', [3, 7, 5], [3, 5, 4]],
    ['broadcast batch', [2, 1, 7, 5], [3, 5, 4]],
    ['matrix x batched', [7, 5], [3, 5, 4]],
    ['vec x mat', [33], [33, 7]],
    ['mat x vec', [7, 33], [33]],
    ['dot', [33], [33]],
    ['a^T b', [33, 7], [33, 5], (a, b) => a.t().matmul(b)],
    ['a b^T', [7, 33], [5, 33], (a, b) => a.matmul(b.t())],
    ['batched q k^T', [2, 7, 5], [2, 3, 5], (a, b) => a.matmul(b.transpose(1, 2))],
    ['linear + relu epilogue', [7, 33], [5, 33], (a, b) => a.matmul(b.t()).add(1).relu()],
  ];
  cases.forEach(([name, aShape, bShape, f], i) => {
    it(name, async () => {
      await checkGrad(`matmul ${name}`, 300 + i, (L) => {
        const a = L.randn(aShape, rg), b = L.randn(bShape, rg);
        return { inputs: [a, b], out: f ? f(a, b) : a.matmul(b) };
      });
    });
  });
});

// ------------------------------------------------------------------ rows
describe('moments', () => {
  it('mean and variance rows, short and long', async () => {
    await checkGrad('moments short', 430, (L) => {
      const x = L.randn([5, 7], { ...rg, scale: 2 });
      return { inputs: [x], out: moments(x) };
    });
    await checkGrad('moments long', 431, (L) => {
      const x = L.randn([2, 300], { ...rg, scale: 2 });
      return { inputs: [x], out: moments(x) };
    });
  });
  it('sumDot rows, short and long', async () => {
    await checkGrad('sumDot short', 432, (L) => {
      const x = L.randn([5, 7], { ...rg, scale: 2 }), y = L.randn([5, 7], rg);
      return { inputs: [x, y], out: sumDot(x, y) };
    });
    await checkGrad('sumDot long', 433, (L) => {
      const x = L.randn([2, 300], rg), y = L.randn([2, 300], rg);
      return { inputs: [x, y], out: sumDot(x, y) };
    });
  });
});

describe('softmax, logSoftmax, crossEntropy', () => {
  for (const dim of [0, -1]) {
    it(`softmax and logSoftmax dim ${dim}`, async () => {
      await checkGrad(`softmax ${dim}`, 400 + dim, (L) => {
        const x = L.randn([7, 5], { ...rg, scale: 2 });
        return { inputs: [x], out: x.softmax(dim) };
      });
      await checkGrad(`logSoftmax ${dim}`, 410 + dim, (L) => {
        const x = L.randn([1, 7], { ...rg, scale: 2 });
        return { inputs: [x], out: x.logSoftmax(dim) };
      });
    });
  }

  it('softmax over the middle dim of 3-D', async () => {
    await checkGrad('softmax 3d', 420, (L) => {
      const x = L.randn([3, 7, 2], rg);
      return { inputs: [x], out: x.softmax(1) };
    });
  });

  const ce: [string, object, number[]][] = [
    ['mean', {}, [7, 5]],
    ['sum, labelSmoothing 0.2', { reduction: 'sum', labelSmoothing: 0.2 }, [7, 5]],
    ['none', { reduction: 'none' }, [33, 3]],
    ['single class', {}, [5, 1]],
  ];
  ce.forEach(([name, opts, [N, C]], i) => {
    it(`crossEntropy ${name} [${N}, ${C}]`, async () => {
      await checkGrad(`crossEntropy ${name}`, 430 + i, (L) => {
        const logits = L.randn([N, C], { ...rg, scale: 2 }), y = L.ints([N], C);
        return { inputs: [logits], out: kn.F.crossEntropy(logits, y, opts) };
      });
    });
  });

  it('crossEntropy with ignoreIndex on [N, C, d]', async () => {
    await checkGrad('crossEntropy ignoreIndex', 440, (L) => {
      const logits = L.randn([3, 4, 2], rg);
      const y = kn.tensor(Int32Array.from([0, -100, 3, 1, -100, 2]), [3, 2], { dtype: 'int32' });
      L.values.set(y.node, Float64Array.from([0, -100, 3, 1, -100, 2]));
      return { inputs: [logits], out: kn.F.crossEntropy(logits, y) };
    });
  });
});

// ------------------------------------------------------------------ kn.grad: higher order, argnums
describe('kn.grad', () => {
  const SECOND: Tol = { rtol: 1e-4, atol: 1e-5 }; // a few float32 ops on the value, no accumulation

  it('second derivative of sum(x^3) is 6x', async () => {
    const L = fresh(500);
    const x = L.randn([7, 33]);
    const f = (t: Tensor) => t.pow(3).sum();
    const df = kn.grad(f) as (t: Tensor) => Tensor;
    const d2f = kn.grad((t: Tensor) => df(t).sum()) as (t: Tensor) => Tensor;
    const xs = L.values.get(x.node)!;
    expectArrayClose(await df(x).data(), xs.map((v) => 3 * v * v), SECOND, "f'");
    const g2 = d2f(x);
    expectArrayClose(await g2.data(), xs.map((v) => 6 * v), SECOND, "f''");
    // and the float64 reference of the second-order graph agrees exactly
    expectArrayClose(L.reference(g2), xs.map((v) => 6 * v), { rtol: 1e-12, atol: 1e-12 }, "f'' reference");
  });

  it('second derivative of sum(tanh(x)) is -2 tanh(x) (1 - tanh(x)^2)', async () => {
    const L = fresh(501);
    const x = L.randn([65], { scale: 1.5 });
    const d2f = kn.grad((t: Tensor) => (kn.grad((u: Tensor) => u.tanh().sum()) as (u: Tensor) => Tensor)(t).sum()) as (t: Tensor) => Tensor;
    const want = L.values.get(x.node)!.map((v) => { const th = Math.tanh(v); return -2 * th * (1 - th * th); });
    expectArrayClose(await d2f(x).data(), want, SECOND, "tanh''");
  });

  it('third derivative of sum(sin(x)) is -cos(x)', async () => {
    const L = fresh(502);
    const x = L.randn([7]);
    const d = (f: (t: Tensor) => Tensor) => (t: Tensor) => (kn.grad(f) as (u: Tensor) => Tensor)(t).sum();
    const d3 = kn.grad(d(d((t: Tensor) => t.sin().sum()))) as (t: Tensor) => Tensor;
    expectArrayClose(await d3(x).data(), L.values.get(x.node)!.map((v) => -Math.cos(v)), SECOND, "sin'''");
  });

  // Hessian-vector products of composite functions against finite differences of the
  // float64 reference of the first-derivative graph
  const hvp: [string, number[], (x: Tensor) => Tensor][] = [
    ['sigmoid * x', [7, 5], (x) => x.sigmoid().mul(x).sum()],
    ['logsumexp', [7, 5], (x) => x.logsumexp(1).sum()],
    ['softmax', [3, 7], (x) => x.softmax(-1).mul(x).sum()],
    ['x^T x matmul', [5, 7], (x) => x.t().matmul(x).exp().sum()],
    ['gelu / (1 + x^2)', [33], (x) => kn.F.gelu(x).div(x.mul(x).add(1)).sum()],
  ];
  hvp.forEach(([name, shape, f], i) => {
    it(`Hessian-vector product of ${name}`, async () => {
      const L = fresh(510 + i);
      const x = L.randn(shape, { scale: 0.7 }), v = L.randn(shape);
      const gradF = kn.grad(f) as (t: Tensor) => Tensor;
      const gv = (t: Tensor) => gradF(t).mul(v).sum(); // v . grad f(x)
      const hv = (kn.grad(gv) as (t: Tensor) => Tensor)(x); // H v
      // finite differences of v . grad f(x) built on a fresh leaf, evaluated in float64
      const leaf = L.randn(shape, { requiresGrad: true });
      L.values.set(leaf.node, L.values.get(x.node)!);
      const scalar = gv(leaf);
      const at = sampleIndices(x.numel(), i);
      const fd = finiteDiff(scalar.node, leaf.node, L.values, at);
      const got = await hv.data();
      expectArrayClose(at.map((j) => L.reference(hv)[j]), fd, REF_VS_FD, `${name}: float64 Hv vs finite differences`);
      expectArrayClose(at.map((j) => got[j]), fd, GPU_VS_FD, `${name}: GPU Hv vs finite differences`);
    });
  });

  it('argnums selects and orders the differentiated arguments', async () => {
    const L = fresh(520);
    const x = L.randn([7, 5]), y = L.randn([5]);
    const f = (a: Tensor, b: Tensor) => a.mul(b.mul(b)).sum(); // d/da = b^2, d/db = 2 sum_rows(a) b
    const xs = L.values.get(x.node)!, ys = L.values.get(y.node)!;
    const dA = Float64Array.from(xs, (_, k) => ys[k % 5] ** 2);
    const colSum = ys.map((_, j) => { let s = 0; for (let r = 0; r < 7; r++) s += xs[r * 5 + j]; return s; });
    const dB = ys.map((v, j) => 2 * colSum[j] * v);
    const tol: Tol = { rtol: 1e-5, atol: 1e-6 };
    expectArrayClose(await (kn.grad(f)(x, y) as Tensor).data(), dA, tol, 'argnums default (0)');
    expectArrayClose(await (kn.grad(f, { argnums: 1 })(x, y) as Tensor).data(), dB, tol, 'argnums 1');
    const both = kn.grad(f, { argnums: [1, 0] })(x, y) as Tensor[];
    expect(Array.isArray(both)).toBe(true);
    expect(both.map((t) => t.shape)).toEqual([[5], [7, 5]]);
    expectArrayClose(await both[0].data(), dB, tol, 'argnums [1, 0] first');
    expectArrayClose(await both[1].data(), dA, tol, 'argnums [1, 0] second');
    // an argument the output does not depend on gets zeros
    const g = kn.grad((a: Tensor, _b: Tensor) => a.sum(), { argnums: [0, 1] })(x, y) as Tensor[];
    expectArrayClose(await g[1].data(), new Float64Array(5), EXACT0, 'unused argument');
  });
});
const EXACT0: Tol = { rtol: 0, atol: 0 };
