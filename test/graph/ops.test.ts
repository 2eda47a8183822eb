// Every op forward against the float64 reference evaluator (src/graph/reference.ts) on
// seeded random shapes, including sizes that are not multiples of any tile (1, 7, 33, 65,
// 127). The GPU computes in float32 from exactly the float32 inputs the reference reads, so
// each tolerance below only has to cover float32 rounding inside the op:
//  - EXACT (0): data movement (views, gather, concat), comparisons, max/min/argmax, sign,
//    relu, where: no arithmetic, so the values must be bit-identical.
//  - ROUNDED (rtol 1e-6): one correctly rounded float32 operation (add, mul, neg, abs,
//    maximum, ...) is within half an ulp (6e-8 relative); 1e-6 (~8 ulp) also covers WGSL's
//    2.5-ulp division.
//  - TRANSC (rtol 1e-5, atol 1e-6): WGSL's exp/log/pow/tanh are allowed a few ulp plus
//    error growing with |x| (exp: 3 + 2|x| ulp; log: 2^-21 absolute near 1), and composites
//    (sigmoid, gelu via the 1.5e-7 erf approximation, softmax) add a few roundings.
//  - sums and matmul: float32 accumulation over K terms drifts like eps * sqrt(K) * |terms|,
//    so their atol scales with sqrt(K) (see `sumTol`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../../src/index.js';
import { Leaves, count, expectArrayClose, expectMatchesReference, type Tensor, type Tol } from './helpers.js';
import { moments, sumDot } from '../../src/graph/tensor.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => { kn.debug.setFusion(true); kn.shutdown(); });

const EXACT: Tol = { rtol: 0, atol: 0 };
const ROUNDED: Tol = { rtol: 1e-6, atol: 1e-30 };
const TRANSC: Tol = { rtol: 1e-5, atol: 1e-6 };
/** accumulating K terms of size ~`scale`: rounding drift ~ eps32 * sqrt(K) * scale; 2e-6 leaves a ~10x margin */
const sumTol = (K: number, scale = 1): Tol => ({ rtol: 1e-5, atol: 2e-6 * Math.sqrt(K) * scale });

const SIZES = [1, 7, 33, 65, 127];
/** a 2-D shape per case index, walking through every pairing of SIZES */
const shape2 = (i: number): number[] => [SIZES[i % 5], SIZES[(i * 3 + 2) % 5]];

function fresh(seed: number): Leaves { kn.manualSeed(seed); return new Leaves(); }

// ------------------------------------------------------------------ elementwise
type Un = { name: string; f: (x: Tensor) => Tensor; tol: Tol; domain?: [number, number]; grid?: boolean };
const UNARY: Un[] = [
  { name: 'neg', f: (x) => x.neg(), tol: EXACT },
  { name: 'exp', f: (x) => x.exp(), tol: TRANSC, domain: [-5, 5] },
  { name: 'log', f: (x) => x.log(), tol: TRANSC, domain: [0.01, 50] },
  { name: 'sqrt', f: (x) => x.sqrt(), tol: ROUNDED, domain: [0, 50] },
  { name: 'rsqrt', f: (x) => x.rsqrt(), tol: TRANSC, domain: [0.01, 50] },
  { name: 'abs', f: (x) => x.abs(), tol: EXACT },
  { name: 'sign', f: (x) => x.sign(), tol: EXACT, grid: true },
  { name: 'clamp', f: (x) => x.clamp(-0.5, 0.75), tol: EXACT },
  { name: 'clamp(min only)', f: (x) => x.clamp(0.1), tol: EXACT },
  // WGSL only promises sin/cos to 2^-11 absolute on [-pi, pi] (SwiftShader is ~4e-4 off)
  { name: 'sin', f: (x) => x.sin(), tol: { rtol: 0, atol: 2 ** -11 }, domain: [-Math.PI, Math.PI] },
  { name: 'cos', f: (x) => x.cos(), tol: { rtol: 0, atol: 2 ** -11 }, domain: [-Math.PI, Math.PI] },
  // Kiln's WGSL erf is Abramowitz-Stegun 7.1.26: 1.5e-7 absolute
  { name: 'erf', f: (x) => x.erf(), tol: { rtol: 1e-6, atol: 5e-7 }, domain: [-4, 4] },
  { name: 'floor', f: (x) => x.floor(), tol: EXACT },
  { name: 'pow scalar 3', f: (x) => x.pow(3), tol: TRANSC, domain: [-3, 3] },
  { name: 'pow scalar 0.5', f: (x) => x.pow(0.5), tol: TRANSC, domain: [0, 9] },
  // activations
  { name: 'relu', f: (x) => x.relu(), tol: EXACT },
  { name: 'leakyRelu', f: (x) => x.leakyRelu({ negativeSlope: 0.1 }), tol: ROUNDED },
  { name: 'elu', f: (x) => x.elu({ alpha: 1.5 }), tol: TRANSC },
  { name: 'gelu', f: (x) => kn.F.gelu(x), tol: TRANSC, domain: [-6, 6] },
  { name: 'gelu-tanh', f: (x) => kn.F.gelu(x, { approximate: 'tanh' }), tol: TRANSC, domain: [-6, 6] },
  { name: 'silu', f: (x) => x.silu(), tol: TRANSC, domain: [-8, 8] },
  { name: 'sigmoid', f: (x) => x.sigmoid(), tol: TRANSC, domain: [-8, 8] },
  { name: 'tanh', f: (x) => x.tanh(), tol: TRANSC, domain: [-20, 20] },
  // log(1 + exp(x)) loses relative precision where exp(x) << 1; atol 1e-6 covers it
  { name: 'softplus', f: (x) => x.softplus(), tol: TRANSC, domain: [-10, 25] },
  { name: 'softplus beta 2', f: (x) => x.softplus({ beta: 2, threshold: 5 }), tol: TRANSC, domain: [-5, 5] },
  // near 0, where log(1 + x) would cancel (relative error up to ~6%): a few ulp only without
  // cancellation, so no absolute slack
  { name: 'log1p near 0', f: (x) => x.mul(1e-6).log1p(), tol: { rtol: 1e-5, atol: 1e-30 }, domain: [-1, 1] },
  { name: 'log1p', f: (x) => x.log1p(), tol: TRANSC, domain: [-0.9, 20] },
];

describe('elementwise unary and activations', () => {
  UNARY.forEach((u, i) => {
    it(`${u.name} on [${shape2(i)}]`, async () => {
      const L = fresh(100 + i);
      const s = shape2(i);
      const x = u.grid ? L.grid(s) : u.domain ? L.uniform(s, ...u.domain) : L.randn(s, { scale: 2 });
      await expectMatchesReference(u.f(x), L, u.tol, u.name);
    });
  });
});

type Bin = { name: string; f: (a: Tensor, b: Tensor) => Tensor; tol: Tol; a?: (L: Leaves, s: number[]) => Tensor; b?: (L: Leaves, s: number[]) => Tensor };
const awayFromZero = (L: Leaves, s: number[]) => L.uniform(s, 0.5, 2).mul(L.grid(s, 2).mul(2).add(1)); // ±[0.5, 2)
const grid = (L: Leaves, s: number[]) => L.grid(s, 5);
const BINARY: Bin[] = [
  { name: 'add', f: (a, b) => a.add(b), tol: ROUNDED },
  { name: 'sub', f: (a, b) => a.sub(b), tol: ROUNDED },
  { name: 'mul', f: (a, b) => a.mul(b), tol: ROUNDED },
  { name: 'div', f: (a, b) => a.div(b), tol: ROUNDED, b: awayFromZero },
  { name: 'pow', f: (a, b) => a.pow(b), tol: TRANSC, a: (L, s) => L.uniform(s, 0.2, 3), b: (L, s) => L.uniform(s, -2, 2) },
  // negative bases with integral exponents are real (PyTorch semantics)
  { name: 'pow negative base', f: (a, b) => a.pow(b), tol: TRANSC, a: (L, s) => L.uniform(s, -3, 3), b: grid },
  { name: 'maximum', f: (a, b) => a.maximum(b), tol: EXACT, a: grid, b: grid },
  { name: 'minimum', f: (a, b) => a.minimum(b), tol: EXACT, a: grid, b: grid },
  { name: 'eq', f: (a, b) => a.eq(b), tol: EXACT, a: grid, b: grid },
  { name: 'ne', f: (a, b) => a.ne(b), tol: EXACT, a: grid, b: grid },
  { name: 'lt', f: (a, b) => a.lt(b), tol: EXACT, a: grid, b: grid },
  { name: 'le', f: (a, b) => a.le(b), tol: EXACT, a: grid, b: grid },
  { name: 'gt', f: (a, b) => a.gt(b), tol: EXACT, a: grid, b: grid },
  { name: 'ge', f: (a, b) => a.ge(b), tol: EXACT, a: grid, b: grid },
];

describe('elementwise binary with broadcasting', () => {
  BINARY.forEach((op, i) => {
    // b broadcasts: a row vector, a column, a full tensor, a scalar tensor, in turn
    const [m, n] = shape2(i + 3);
    const bShape = [[n], [m, 1], [m, n], []][i % 4];
    it(`${op.name} [${m}, ${n}] with [${bShape}]`, async () => {
      const L = fresh(200 + i);
      const a = (op.a ?? ((LL: Leaves, s: number[]) => LL.randn(s)))(L, [m, n]);
      const b = (op.b ?? ((LL: Leaves, s: number[]) => LL.randn(s)))(L, bShape);
      await expectMatchesReference(op.f(a, b), L, op.tol, op.name);
      // the swapped broadcast too (b on the left)
      if (op.name !== 'pow negative base') await expectMatchesReference(op.f(b.expand(m, n), a), L, op.tol, `${op.name} swapped`);
    });
  });

  it('number operands (add 1.5, mul -2, sub from, div by)', async () => {
    const L = fresh(250);
    const x = L.randn([33, 7]);
    await expectMatchesReference(x.add(1.5).mul(-2).sub(0.25).div(3), L, { rtol: 4e-6, atol: 1e-7 }, 'scalar chain');
  });

  it('where (bool condition, broadcast branches)', async () => {
    const L = fresh(260);
    const c = L.bools([65, 7]), a = L.randn([65, 1]), b = L.randn([7]);
    await expectMatchesReference(c.where(a, b), L, EXACT, 'where');
    await expectMatchesReference(c.where(a, 0.5), L, EXACT, 'where scalar');
    // a condition computed on the GPU, fused with the select
    const x = L.randn([127, 33]);
    await expectMatchesReference(x.gt(0.3).where(x.mul(2), x.neg()), L, ROUNDED, 'where computed');
  });

  it('integer division is true division, as torch.div (int32 / int32 -> float32)', async () => {
    // regression test: the front end used to keep int32 and truncate ([3, 4] / 2 gave [1, 2]); fixed in c49b80b
    const a = kn.tensor([3, 4, -7], [3], { dtype: 'int32' });
    const q = a.div(2);
    expect(q.dtype).toBe('float32');
    expect(Array.from(await q.data())).toEqual([1.5, 2, -3.5]);
  });

  // the schedule gives the widest inline input its own buffer until each kernel fits
  it('an expression over more distinct inputs than a kernel may bind is split, not refused', async () => {
    // 13 distinct inputs: more than SwiftShader's 12 (or Chromium's 10) storage bindings
    const L = fresh(265);
    let s = L.randn([65]);
    for (let i = 0; i < 12; i++) s = s.add(L.randn([65]).mul(i + 1));
    await expectMatchesReference(s, L, { rtol: 1e-5, atol: 1e-5 }, 'sum of 13 inputs');
  });

  it('a long fused chain over broadcast inputs', async () => {
    const L = fresh(270);
    const x = L.randn([7, 33, 65]), y = L.randn([33, 1]), z = L.uniform([65], 0.5, 2);
    const r = x.mul(y).add(z).div(z.add(1)).tanh().mul(x.abs().add(1).log()).sub(y.sigmoid());
    await expectMatchesReference(r, L, TRANSC, 'chain');
  });
});

// ------------------------------------------------------------------ reductions
describe('reductions', () => {
  const X = [7, 33, 65];
  const dimsCases: { dim: number | number[] | undefined; keepdim: boolean }[] = [
    { dim: undefined, keepdim: false }, { dim: 0, keepdim: false }, { dim: 1, keepdim: true },
    { dim: -1, keepdim: false }, { dim: [0, 2], keepdim: true }, { dim: [1, 2], keepdim: false },
  ];
  const K = (dim: number | number[] | undefined) => (dim === undefined ? X : (Array.isArray(dim) ? dim : [dim]).map((d) => X.at(d)!)).reduce((a, b) => a * b, 1);

  it.each(dimsCases)('sum and mean over dim $dim keepdim $keepdim', async ({ dim, keepdim }) => {
    const L = fresh(300);
    const x = L.randn(X);
    const s = x.sum(dim, keepdim);
    if (keepdim) expect(s.ndim).toBe(3);
    await expectMatchesReference(s, L, sumTol(K(dim)), 'sum');
    await expectMatchesReference(x.mean(dim, keepdim), L, sumTol(K(dim), 1 / K(dim)), 'mean');
  });

  it.each(dimsCases)('max and min over dim $dim keepdim $keepdim (exact)', async ({ dim, keepdim }) => {
    // dim undefined, [0, 2] and [1, 2] take the workgroup-tree path (>= 256 elements)
    const L = fresh(310);
    const x = L.randn(X);
    await expectMatchesReference(x.amax(dim, keepdim), L, EXACT, 'max');
    await expectMatchesReference(x.amin(dim, keepdim), L, EXACT, 'min');
  });

  it('argmax over each dim, and flat; ties give the first index (as torch)', async () => {
    const L = fresh(320);
    const x = L.randn([33, 7, 65]);
    for (const d of [0, 1, 2, -1]) await expectMatchesReference(x.argmax(d), L, EXACT, `argmax ${d}`);
    await expectMatchesReference(x.narrow(0, 0, 1).narrow(2, 0, 30).argmax(), L, EXACT, 'argmax flat (210 elements)');
    const k = x.argmax(1, true);
    expect(k.shape).toEqual([33, 1, 65]);
    // ties: values from {-2..2} over 127 entries per row, the maximum repeats
    const t = L.grid([7, 127]);
    await expectMatchesReference(t.argmax(1), L, EXACT, 'argmax ties');
  });

  it('var and std (unbiased) over dims', async () => {
    const L = fresh(330);
    const x = L.randn(X, { scale: 3, shift: 1 });
    for (const { dim, keepdim } of dimsCases.slice(1, 5)) {
      // var = sum((x - mean)^2) / (n - 1): two accumulations over K terms of size ~9
      await expectMatchesReference(x.var(dim, keepdim), L, sumTol(K(dim), 9 / K(dim)), `var ${dim}`);
      await expectMatchesReference(x.std(dim, keepdim), L, sumTol(K(dim), 3 / K(dim)), `std ${dim}`);
    }
  });

  it.each(dimsCases.slice(1, 5))('logsumexp over dim $dim keepdim $keepdim', async ({ dim, keepdim }) => {
    // dim [0, 2]: logsumexp's max over both axes takes the workgroup-tree path
    const L = fresh(335);
    const x = L.randn(X, { scale: 3, shift: 1 });
    await expectMatchesReference(x.logsumexp(dim!, keepdim), L, TRANSC, `logsumexp ${dim}`);
  });

  it('a sum of 100k elements (all and per row)', async () => {
    const L = fresh(340);
    const n = 100_000;
    // uniform [0, 1): every term has the same sign, so the sum is ~5e4 and a naive
    // sequential float32 loop would drift by ~1e-4 relative; a blocked/tree reduction
    // stays near log2(n) * eps ~ 1e-6
    const x = L.uniform([n], 0, 1);
    await expectMatchesReference(x.sum(), L, { rtol: 1e-5, atol: 0 }, 'sum 100k');
    await expectMatchesReference(x.mean(), L, { rtol: 1e-5, atol: 0 }, 'mean 100k');
    const y = L.randn([4, 25_000]);
    await expectMatchesReference(y.sum(1), L, sumTol(25_000), 'sum rows 25k');
    await expectMatchesReference(y.sum(0), L, sumTol(4), 'sum cols');
  });

  it('max and argmax of 100k elements', async () => {
    // the workgroup-tree path of max/min/argmax (>= 1024 elements, or >= 256 with few outputs)
    const L = fresh(345);
    const x = L.uniform([100_000], 0, 1);
    await expectMatchesReference(x.max(), L, EXACT, 'max 100k');
    await expectMatchesReference(x.argmax(), L, EXACT, 'argmax 100k');
    await expectMatchesReference(x.neg().min(), L, EXACT, 'min 100k');
    await expectMatchesReference(L.randn([33, 7, 65]).argmax(), L, EXACT, 'argmax flat 15015');
  });

  // max/min once started from -FLT_MAX/+FLT_MAX (WGSL has no infinite constants); they now
  // start from each invocation's first element
  it('max of a row of -inf is -inf, min of +inf is +inf (as torch)', async () => {
    const x = kn.tensor([-Infinity, -Infinity, 1, 2], [2, 2]);
    expect(Array.from(await x.amax(1).data())).toEqual([-Infinity, 2]);
    expect(Array.from(await x.neg().amin(1).data())).toEqual([Infinity, -2]);
  });

  it('reductions of computed (fused) inputs and of views', async () => {
    const L = fresh(350);
    const x = L.randn([65, 33]);
    await expectMatchesReference(x.mul(x).add(1).log().sum(1), L, sumTol(33, 2), 'sum of log(1+x^2)');
    await expectMatchesReference(x.t().sum(1), L, sumTol(65), 'sum of transposed');
    await expectMatchesReference(x.slice([1, 0], [64, 33], [2, 3]).amax(0), L, EXACT, 'max of strided slice');
  });
});

// ------------------------------------------------------------------ views
describe('views and data movement (exact)', () => {
  it('reshape / view / flatten / squeeze / unsqueeze', async () => {
    const L = fresh(400);
    const x = L.randn([7, 33, 5]);
    await expectMatchesReference(x.reshape(33, 35), L, EXACT, 'reshape');
    await expectMatchesReference(x.view(-1, 5).add(1), L, ROUNDED, 'view + add');
    await expectMatchesReference(x.flatten(1), L, EXACT, 'flatten');
    await expectMatchesReference(x.unsqueeze(1).squeeze(), L, EXACT, 'unsqueeze/squeeze');
  });

  it('permute and transpose (2-D to 4-D) with sizes 1, 7, 33', async () => {
    const L = fresh(410);
    const x = L.randn([7, 1, 33, 3]);
    await expectMatchesReference(x.permute(2, 0, 3, 1), L, EXACT, 'permute 4d');
    await expectMatchesReference(x.permute(3, 2, 1, 0), L, EXACT, 'permute reverse');
    await expectMatchesReference(x.transpose(0, 2), L, EXACT, 'transpose');
    const m = L.randn([65, 127]);
    await expectMatchesReference(m.t(), L, EXACT, 't()');
    // a view of a view of a view, then a reshape that cannot be a plain stride
    await expectMatchesReference(x.permute(2, 0, 3, 1).reshape(33, 21).t().reshape(-1), L, EXACT, 'composed views');
  });

  it('expand and broadcasting', async () => {
    const L = fresh(420);
    const x = L.randn([7, 1, 33]);
    await expectMatchesReference(x.expand(7, 65, 33), L, EXACT, 'expand');
    await expectMatchesReference(x.expand(2, 7, 5, -1), L, EXACT, 'expand new leading dim');
    const v = L.randn([127]);
    await expectMatchesReference(v.expand(3, 127).permute(1, 0), L, EXACT, 'expand then permute');
  });

  it('slice (with steps) and narrow', async () => {
    const L = fresh(430);
    const x = L.randn([65, 33, 7]);
    await expectMatchesReference(x.slice([1, 0, 2], [64, 33, 7]), L, EXACT, 'slice');
    await expectMatchesReference(x.slice([0, 3, 1], [65, 33, 7], [7, 5, 3]), L, EXACT, 'strided slice');
    await expectMatchesReference(x.slice([-5], [65]), L, EXACT, 'negative start');
    await expectMatchesReference(x.narrow(1, 10, 13), L, EXACT, 'narrow');
    await expectMatchesReference(x.narrow(-1, 6, 1), L, EXACT, 'narrow to 1');
  });

  it('flip along one, two and all dims (against reversed arrays, and the reference)', async () => {
    const L = fresh(435);
    const x = L.randn([7, 33, 5]);
    const v = await x.data();
    const want = (dims: number[]) => Float32Array.from({ length: 7 * 33 * 5 }, (_, f) => {
      const i = [Math.floor(f / 165), Math.floor(f / 5) % 33, f % 5];
      for (const d of dims) i[d] = [7, 33, 5][d] - 1 - i[d];
      return v[i[0] * 165 + i[1] * 5 + i[2]];
    });
    for (const dims of [[0], [1], [2], [0, 2], [0, 1, 2]]) {
      expect(Array.from(await x.flip(dims).data()), `flip [${dims}]`).toEqual(Array.from(want(dims)));
      await expectMatchesReference(x.flip(dims).mul(2), L, ROUNDED, `flip [${dims}] * 2`);
    }
    expect(Array.from(await x.flip(-1).flip(-1).data())).toEqual(Array.from(v));
    expect(() => x.flip([0, -3])).toThrow(/dims must be distinct, got \[0,0\]/);
    expect(() => x.flip(3)).toThrow(/flip: dim 3 is out of range/);
  });

  it('pad', async () => {
    const L = fresh(440);
    const x = L.randn([7, 33]);
    await expectMatchesReference(x.pad([1, 0], [2, 5]), L, EXACT, 'pad');
    await expectMatchesReference(x.pad([0, 3], [0, 0]).add(1), L, ROUNDED, 'pad + add');
    const y = L.randn([1]);
    await expectMatchesReference(y.pad([64], [62]), L, EXACT, 'pad 1 -> 127');
  });

  it('cat and stack', async () => {
    const L = fresh(450);
    const a = L.randn([7, 33]), b = L.randn([1, 33]), c = L.randn([65, 33]);
    await expectMatchesReference(kn.cat([a, b, c], 0), L, EXACT, 'cat 0');
    const d = L.randn([7, 1]), e = L.randn([7, 127]);
    await expectMatchesReference(kn.cat([a, d, e], 1), L, EXACT, 'cat 1');
    await expectMatchesReference(kn.cat([a, a.mul(2)], -1), L, ROUNDED, 'cat of computed');
    const s = kn.stack([a, a.neg(), a], 1);
    expect(s.shape).toEqual([7, 3, 33]);
    await expectMatchesReference(s, L, EXACT, 'stack 1');
    await expectMatchesReference(kn.stack([b, b], 0), L, EXACT, 'stack 0');
  });

  it('indexSelect and gather', async () => {
    const L = fresh(460);
    const x = L.randn([33, 65]);
    const i0 = L.ints([127], 33), i1 = L.ints([7], 65);
    await expectMatchesReference(x.indexSelect(0, i0), L, EXACT, 'indexSelect 0');
    await expectMatchesReference(x.indexSelect(1, i1), L, EXACT, 'indexSelect 1');
    const g0 = L.ints([7, 65], 33), g1 = L.ints([33, 1], 65);
    await expectMatchesReference(x.gather(0, g0), L, EXACT, 'gather 0');
    await expectMatchesReference(x.gather(1, g1), L, EXACT, 'gather 1');
    const emb = L.randn([127, 7]);
    await expectMatchesReference(emb.indexSelect(0, L.ints([33], 127)).relu(), L, EXACT, 'embedding-like + relu');
  });
});

// ------------------------------------------------------------------ matmul
describe('matmul', () => {
  // (large tiles are slow to compile on SwiftShader, so only [65, 65] x [65, 127] and
  // [64, 128] x [128, 64] get the full 16x16 register tile)
  const cases: [number, number, number][] = [[1, 7, 33], [7, 33, 65], [33, 127, 7], [65, 65, 127], [127, 1, 7], [64, 128, 64], [1, 127, 1]];
  it.each(cases)('M %i, K %i, N %i', async (M, K, N) => {
    const L = fresh(500 + M + K + N);
    const a = L.randn([M, K]), b = L.randn([K, N]);
    await expectMatchesReference(a.matmul(b), L, sumTol(K), `mm ${M}x${K}x${N}`);
  });

  it('batched and broadcast batch dims', async () => {
    const L = fresh(510);
    const a = L.randn([3, 7, 33]), b = L.randn([3, 33, 65]);
    await expectMatchesReference(a.matmul(b), L, sumTol(33), 'bmm');
    const c = L.randn([2, 1, 7, 33]), d = L.randn([3, 33, 5]);
    const r = c.matmul(d);
    expect(r.shape).toEqual([2, 3, 7, 5]);
    await expectMatchesReference(r, L, sumTol(33), 'broadcast batch');
    const w = L.randn([33, 65]);
    await expectMatchesReference(a.matmul(w), L, sumTol(33), 'batched x matrix');
  });

  it('1-D operands', async () => {
    const L = fresh(520);
    const v = L.randn([33]), m = L.randn([33, 7]), u = L.randn([65, 33]);
    const vm = v.matmul(m), mv = u.matmul(v), vv = v.matmul(v);
    expect(vm.shape).toEqual([7]); expect(mv.shape).toEqual([65]); expect(vv.shape).toEqual([]);
    await expectMatchesReference(vm, L, sumTol(33), 'vec x mat');
    await expectMatchesReference(mv, L, sumTol(33), 'mat x vec');
    await expectMatchesReference(vv, L, sumTol(33), 'dot');
  });

  it('transposed operands via .t() and transpose', async () => {
    const L = fresh(530);
    const a = L.randn([33, 7]), b = L.randn([65, 33]), c = L.randn([7, 33]);
    await expectMatchesReference(a.t().matmul(b.t()), L, sumTol(33), 'a^T b^T');
    await expectMatchesReference(b.matmul(a), L, sumTol(33), 'b a');
    await expectMatchesReference(c.matmul(b.t()), L, sumTol(33), 'c b^T');
    await expectMatchesReference(a.t().matmul(a), L, sumTol(33), 'a^T a');
    const q = L.randn([3, 7, 33]), k = L.randn([3, 65, 33]);
    await expectMatchesReference(q.matmul(k.transpose(1, 2)), L, sumTol(33), 'q k^T batched');
  });

  it('with a fused epilogue (bias, activation, residual)', async () => {
    const L = fresh(540);
    const x = L.randn([33, 127]), w = L.randn([7, 127], { scale: 0.1 }), b = L.randn([7]), r = L.randn([33, 7]);
    await expectMatchesReference(x.matmul(w.t()).add(b).relu().add(r), L, sumTol(127, 0.1), 'linear + relu + residual');
  });
});

// ------------------------------------------------------------------ rows
describe('wide concat', () => {
  it('splits by the buffers its inputs read, not by their count', async () => {
    // 10 parts (a wide concat: chunked copies), one computed inline from five buffers
    const L = fresh(760);
    const ps = Array.from({ length: 9 }, () => L.randn([3, 5]));
    const [a, b, c] = [L.randn([3, 5]), L.randn([3, 5]), L.randn([3, 5])];
    const last = a.add(b).mul(c).add(ps[8]).sub(ps[7]);
    await expectMatchesReference(kn.stack([...ps, last]), L, ROUNDED, 'stack of 10');
  });
});

describe('non-finite constants', () => {
  it('NaN and infinities written as numbers reach the kernel as themselves', async () => {
    const x = kn.tensor([1, -2, 0], [3]);
    expect(Array.from(await x.add(NaN).data()).every(Number.isNaN)).toBe(true);
    expect(Array.from(await x.mul(Infinity).data())).toEqual([Infinity, -Infinity, NaN]);
    expect(Array.from(await x.gt(0).where(x, -Infinity).data())).toEqual([1, -Infinity, -Infinity]);
    expect(Array.from(await kn.full([2], Infinity).data())).toEqual([Infinity, Infinity]);
  });
});

describe('moments (mean and variance rows, the statistics of the norm layers)', () => {
  // mean and variance sum L terms: sumTol(L); the variance's terms are squares of size ~scale^2
  const cases: [string, number[], (x: Tensor) => Tensor][] = [
    ['many short rows (an invocation per row)', [127, 33], (x) => x],
    ['one value per row', [7, 1], (x) => x],
    ['few long rows (a workgroup per row)', [7, 1000], (x) => x],
    ['long rows not a multiple of 256', [3, 257], (x) => x],
    ['batch-norm channels: a permuted view [C, N*H*W]', [5, 3, 9, 11], (x) => x.permute(1, 0, 2, 3).reshape(3, -1)],
    ['a computed input', [4, 300], (x) => x.mul(3).add(2)],
  ];
  for (const subgroups of [true, false]) {
    for (const [what, shape, view] of cases) {
      it(`${what}${subgroups ? '' : ', subgroups off'}`, async () => {
        kn.debug.setSubgroups(subgroups);
        try {
          const L = fresh(700 + shape.length * 10 + shape[0]);
          const x = view(L.randn(shape, { scale: 2, shift: 1 }));
          await expectMatchesReference(moments(x), L, sumTol(x.shape[x.ndim - 1], 4), `moments of ${x.shape}`);
        } finally { kn.debug.setSubgroups(true); }
      });
    }
  }
  it('rejects an empty row', () => {
    expect(() => moments(kn.zeros([3, 0]))).toThrow(/^moments: expected a non-empty last dim, got shape \[3, 0\]/);
  });
});

describe('sumDot ([sum x, sum x y] rows, the sums of a norm backward)', () => {
  // both sums add L terms of size ~scale^2: sumTol(L)
  const cases: [string, number[], (x: Tensor) => Tensor][] = [
    ['many short rows (an invocation per row)', [127, 33], (x) => x],
    ['one value per row', [7, 1], (x) => x],
    ['few long rows (a workgroup per row)', [7, 1000], (x) => x],
    ['batch-norm channels: permuted views [C, N*H*W]', [5, 3, 9, 11], (x) => x.permute(1, 0, 2, 3).reshape(3, -1)],
    ['computed inputs', [4, 300], (x) => x.mul(3).add(2)],
  ];
  for (const subgroups of [true, false]) {
    for (const [what, shape, view] of cases) {
      it(`${what}${subgroups ? '' : ', subgroups off'}`, async () => {
        kn.debug.setSubgroups(subgroups);
        try {
          const L = fresh(760 + shape.length * 10 + shape[0]);
          const x = view(L.randn(shape, { scale: 2, shift: 1 })), y = view(L.randn(shape, { scale: 2 }));
          await expectMatchesReference(sumDot(x, y), L, sumTol(x.shape[x.ndim - 1], 8), `sumDot of ${x.shape}`);
        } finally { kn.debug.setSubgroups(true); }
      });
    }
  }
  it('rejects mismatched shapes and empty rows', () => {
    expect(() => sumDot(kn.zeros([3, 4]), kn.zeros([3, 5]))).toThrow(/^sumDot: expected two tensors of the same shape, got \[3, 4\] and \[3, 5\]/);
    expect(() => sumDot(kn.zeros([3, 0]), kn.zeros([3, 0]))).toThrow(/^sumDot: expected a non-empty last dim/);
  });
});

describe('softmax, logSoftmax, crossEntropy', () => {
  it.each([[65, 127], [7, 1], [1, 33], [127, 7]])('softmax and logSoftmax on dims 0 and -1 of [%i, %i]', async (m, n) => {
    const L = fresh(600 + m + n);
    const x = L.randn([m, n], { scale: 4 });
    for (const d of [0, -1]) {
      const s = x.softmax(d);
      await expectMatchesReference(s, L, TRANSC, `softmax ${d}`);
      await expectMatchesReference(x.logSoftmax(d), L, TRANSC, `logSoftmax ${d}`);
      // each distribution sums to 1 along d
      const sums = await s.sum(d).data();
      expectArrayClose(sums, new Float64Array(sums.length).fill(1), { rtol: 0, atol: 1e-5 }, 'softmax rows sum to 1');
    }
  });

  it('softmax on the middle dim of a 3-D tensor and of a computed input', async () => {
    const L = fresh(610);
    const x = L.randn([7, 33, 5], { scale: 3 });
    await expectMatchesReference(x.softmax(1), L, TRANSC, 'softmax dim 1');
    await expectMatchesReference(x.mul(2).add(1).softmax(-1), L, TRANSC, 'softmax of computed');
  });

  it('softmax of large logits is stable', async () => {
    const L = fresh(620);
    const x = L.randn([7, 65], { scale: 100, shift: 500 });
    await expectMatchesReference(x.softmax(-1), L, TRANSC, 'softmax large');
    await expectMatchesReference(x.logSoftmax(-1), L, { rtol: 1e-5, atol: 1e-4 }, 'logSoftmax large'); // |x| ~ 800: ulp 6e-5
  });

  it.each([[33, 7], [127, 10], [1, 65], [7, 1]])('crossEntropy with class indices, [%i, %i]', async (N, C) => {
    const L = fresh(630 + N + C);
    const logits = L.randn([N, C], { scale: 2 }), y = L.ints([N], C);
    await expectMatchesReference(kn.F.crossEntropy(logits, y), L, TRANSC, 'crossEntropy mean');
    await expectMatchesReference(kn.F.crossEntropy(logits, y, { reduction: 'none' }), L, TRANSC, 'crossEntropy none');
    await expectMatchesReference(kn.F.crossEntropy(logits, y, { reduction: 'sum', labelSmoothing: 0.1 }), L, { rtol: 1e-5, atol: 1e-5 }, 'crossEntropy smoothed sum');
  });

  it('crossEntropy with ignoreIndex and K-dim input [N, C, d]', async () => {
    const L = fresh(640);
    const logits = L.randn([7, 5, 3]);
    const y = kn.tensor(Int32Array.from([0, 4, -100, 2, 1, -100, 3, 3, 0, 1, 2, 4, -100, 0, 1, 2, 3, 4, 0, 1, 2]), [7, 3], { dtype: 'int32' });
    L.values.set(y.node, Float64Array.from(await y.data()));
    await expectMatchesReference(kn.F.crossEntropy(logits, y), L, TRANSC, 'crossEntropy ignoreIndex');
    await expectMatchesReference(kn.F.crossEntropy(logits, y, { reduction: 'none' }), L, TRANSC, 'crossEntropy none 3d');
  });
});

// ------------------------------------------------------------------ fusion
describe('fused vs unfused', () => {
  // 784-256-256-10 works too, but its 16x16-register-tile matmul kernels take ~50 s to compile
  // on SwiftShader; these sizes give the same graph (and kernel count) with small tiles
  const SIZES_MLP = [96, 48, 48, 10];
  const BATCH = 16;
  /** The loss and grads of an MLP, then two compiled Adam steps; everything read back. */
  async function run(fusion: boolean) {
    kn.debug.setFusion(fusion);
    try {
      kn.manualSeed(7);
      const model = new kn.nn.Sequential(
        new kn.nn.Linear(SIZES_MLP[0], SIZES_MLP[1]), new kn.nn.ReLU(),
        new kn.nn.Linear(SIZES_MLP[1], SIZES_MLP[2]), new kn.nn.ReLU(),
        new kn.nn.Linear(SIZES_MLP[2], SIZES_MLP[3]),
      );
      const params = model.parameters();
      const x = kn.randn([BATCH, SIZES_MLP[0]]);
      const y = kn.tensor(Int32Array.from({ length: BATCH }, (_, i) => (i * 7) % 10), [BATCH], { dtype: 'int32' });
      const read = (ts: Tensor[]) => Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
      // loss and grads, computed eagerly as one graph
      const loss = kn.F.crossEntropy(model.forward(x), y);
      loss.backward();
      const lossAndGrads = await read([loss, ...params.map((p) => p.grad!)]);
      // the compiled training step (forward, backward, Adam) returning only the loss, as a
      // training loop does: the grads then live only inside the update kernels
      const opt = new kn.optim.Adam(params, { lr: 1e-2 });
      const step = kn.compile((xb: Tensor, yb: Tensor) => {
        opt.zeroGrad();
        const l = kn.F.crossEntropy(model.forward(xb), yb);
        l.backward();
        opt.step();
        return l;
      });
      const losses: number[] = [];
      for (let s = 0; s < 2; s++) losses.push(await (await step(x, y)).item());
      const finalParams = await read(params);
      return { lossAndGrads, losses, finalParams, kernels: step.stats().kernels };
    } finally {
      kn.debug.setFusion(true);
    }
  }

  it(`an MLP training step (${SIZES_MLP.join('-')}, Adam) gives the same loss, grads and parameters`, async () => {
    const fused = await run(true);
    const unfused = await run(false);
    // the same float32 operations grouped into different kernels: registers and memory are
    // both float32, so only the order of a few roundings may differ; agreement is tight
    const TIGHT: Tol = { rtol: 1e-5, atol: 1e-7 };
    fused.lossAndGrads.forEach((v, i) => expectArrayClose(v, unfused.lossAndGrads[i], TIGHT, i === 0 ? 'loss' : `grad ${i - 1}`));
    expectArrayClose(fused.losses, unfused.losses, TIGHT, 'compiled step losses');
    expect(fused.losses[0]).toBeCloseTo(fused.lossAndGrads[0][0], 5);
    expect(fused.losses[1]).toBeLessThan(fused.losses[0]); // the step really updated the model
    // Adam's update is lr * m / (sqrt(v) + eps), about lr per element whatever the grad's size,
    // so a grad differing in its last bits moves a parameter by at most ~lr * 1e-5
    fused.finalParams.forEach((v, i) => expectArrayClose(v, unfused.finalParams[i], { rtol: 1e-5, atol: 1e-6 }, `param ${i}`));
    console.log(`MLP training step kernels: fused ${fused.kernels}, unfused ${unfused.kernels}`);
    // measured: 21 kernels fused (3 forward matmuls with their epilogues, the loss, the
    // backward matmuls and bias reductions, one multi-tensor Adam update), 63 unfused; the
    // same count as 784-256-256-10. A fusion regression (an op left on its own) shows up here
    expect(fused.kernels).toBeLessThanOrEqual(23);
    expect(unfused.kernels).toBeGreaterThan(2 * fused.kernels);
  });
});
