// cumsum, cumprod, sort, argsort, topk, scatter, scatterAdd and indexAdd against PyTorch's
// values and gradients (test/golden/gen_ordered.py), plus the float64 references of the row ops
// and argument errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import * as O from '../src/graph/ordered.js';
import { expectClose } from './compare.js';
import { Leaves, expectMatchesReference } from './graph/helpers.js';
import { loadGolden } from './golden.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

interface Case {
  name: string; op: string; x: (number | string)[]; shape: number[]; out: (number | string)[][]; dim: number;
  dtype?: 'int32'; descending?: boolean; k?: number; largest?: boolean; index?: number[][] | number[];
  src?: number[]; srcShape?: number[]; value?: number; alpha?: number; w?: number[]; grads?: number[][];
}
const golden = loadGolden('ordered.json') as { count: number; cases: Case[] };
const num = (v: number | string) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));
const tol = { atol: 1e-5, rtol: 1e-5 };
const arr = async (t: kn.Tensor) => Array.from(await t.data());

/** The op of a case on leaves x (and src); returns its outputs. */
function run(c: Case, x: kn.Tensor, src: kn.Tensor | null): kn.Tensor[] {
  const index = () => kn.tensor((c.index as number[][]).flat(), c.op === 'indexAdd' ? [c.index!.length] : [c.index!.length, (c.index as number[][])[0].length], { dtype: 'int32' });
  switch (c.op) {
    case 'cumsum': return [O.cumsum(x, c.dim)];
    case 'cumprod': return [O.cumprod(x, c.dim)];
    case 'sort': return O.sort(x, { dim: c.dim, descending: c.descending });
    case 'topk': return O.topk(x, c.k!, { dim: c.dim, largest: c.largest });
    case 'scatterAdd': return [O.scatterAdd(x, c.dim, index(), src!)];
    case 'scatter': return [O.scatter(x, c.dim, index(), src!)];
    case 'scatterValue': return [O.scatter(x, c.dim, index(), c.value!)];
    case 'indexAdd': return [O.indexAdd(x, c.dim, index(), src!, { alpha: c.alpha })];
    default: throw new Error(`unknown op ${c.op}`);
  }
}

describe('PyTorch golden vectors', () => {
  it('holds every case the generator wrote', () => {
    expect(golden.cases.length).toBe(golden.count);
    expect(golden.count).toBe(22);
  });
  for (const c of golden.cases) {
    it(c.name, async () => {
      const grad = !!c.grads;
      const x = kn.tensor(c.x.map(num), c.shape, { dtype: c.dtype ?? 'float32', requiresGrad: grad });
      const src = c.src ? kn.tensor(c.src, c.srcShape!, { requiresGrad: grad }) : null;
      const outs = run(c, x, src);
      for (const [i, o] of outs.entries()) expectClose(await arr(o), c.out[i].map(num), tol, `${c.name}: output ${i}`);
      if (grad) {
        outs[0].mul(kn.tensor(c.w!, outs[0].shape)).sum().backward();
        expectClose(await arr(x.grad!), c.grads![0], tol, `${c.name}: grad of x`);
        if (src) expectClose(await arr(src.grad!), c.grads![1], tol, `${c.name}: grad of src`);
      }
    });
  }
});

describe('float64 references of the row ops', () => {
  it('scan and argsortRows: kernel and reference agree, fused with the ops around them', async () => {
    const L = new Leaves();
    const x = L.grid([4, 3, 9]), y = L.randn([4, 9, 3]);
    await expectMatchesReference(O.cumsum(x.mul(2).add(y.transpose(1, 2)), 1).exp(), L, { atol: 1e-5, rtol: 1e-5 }, 'exp(cumsum(2x + yT))');
    await expectMatchesReference(O.cumprod(y.mul(0.5), 0), L, { atol: 1e-6, rtol: 1e-5 }, 'cumprod');
    await expectMatchesReference(O.argsort(x, { dim: 2, descending: true }), L, { atol: 0, rtol: 0 }, 'argsort of ties');
    await expectMatchesReference(O.sort(y.neg(), { dim: 0 })[0], L, { atol: 0, rtol: 0 }, 'sort values');
  });
});

describe('larger rows', () => {
  it('sort of 3 x 1000 with many ties matches a stable host sort; cumsum matches float64 sums', async () => {
    kn.manualSeed(5);
    const x = kn.randint(0, 50, [3, 1000]).float();
    const xs = await arr(x);
    const [v, i] = O.sort(x, { dim: 1 });
    const [gv, gi] = [await arr(v), await arr(i)];
    for (let r = 0; r < 3; r++) {
      const row = xs.slice(r * 1000, r * 1000 + 1000);
      const order = row.map((_, k) => k).sort((a, b) => row[a] - row[b] || a - b);
      expect(gi.slice(r * 1000, r * 1000 + 1000)).toEqual(order);
      expect(gv.slice(r * 1000, r * 1000 + 1000)).toEqual(order.map((k) => row[k]));
    }
    const cs = await arr(O.cumsum(x, 1));
    const want = xs.map((_, k) => xs.slice(k - (k % 1000), k + 1).reduce((a, b) => a + b, 0));
    expectClose(cs, want, { atol: 0, rtol: 0 }, 'cumsum of integers is exact');
  });

  it('float16 keeps its dtype; cumsum of bool counts', async () => {
    const h = kn.tensor([1, 2, 3], [3], { dtype: 'float16' });
    expect(O.cumsum(h, 0).dtype).toBe('float16');
    expect(await arr(O.cumsum(h, 0))).toEqual([1, 3, 6]);
    const b = kn.tensor([1, 0, 1, 1], [4]).gt(0);
    const c = O.cumsum(b, 0);
    expect(c.dtype).toBe('int32');
    expect(await arr(c)).toEqual([1, 1, 2, 3]);
  });
});

describe('arguments', () => {
  const x = () => kn.zeros([2, 3]);
  const idx = (shape: number[]) => kn.zeros(shape, { dtype: 'int32' });
  it('are checked, naming the function and the argument', () => {
    expect(() => O.cumsum(x(), 2)).toThrow(/cumsum: dim 2 is out of range/);
    expect(() => O.sort(x(), { dim: 0, decending: true } as never)).toThrow(/sort: unknown option 'decending'/);
    expect(() => O.topk(x(), 4)).toThrow(/topk: k \(4\) is larger than the size 3 of dim 1/);
    expect(() => O.topk(x(), -1)).toThrow(/topk: k must be an integer >= 0, got -1/);
    expect(() => O.scatterAdd(x(), 0, kn.zeros([2, 3]), x())).toThrow(/scatterAdd: index must be an int32 tensor with 2 dims, got float32/);
    expect(() => O.scatterAdd(x(), 0, idx([2, 4]), x())).toThrow(/scatterAdd: index \[2, 4\] is larger than the input \[2, 3\] in dim 1/);
    expect(() => O.scatter(x(), 0, idx([3, 3]), kn.zeros([2, 3]))).toThrow(/scatter: index \[3, 3\] is larger than src \[2, 3\] in dim 0/);
    expect(() => O.indexAdd(x(), 0, idx([2]), kn.zeros([3, 3]))).toThrow(/indexAdd: source must have shape \[2, 3\]/);
    expect(() => O.cumsum('x' as never, 0)).toThrow(/cumsum: input must be a Tensor, got 'x'/);
  });
});

describe('the public surface', () => {
  it('Tensor methods and kn functions reach the same ops', async () => {
    const x = kn.tensor([[3, 1, 2], [0, 5, 4]]);
    expect(await arr(x.cumsum(1))).toEqual([3, 4, 6, 0, 5, 9]);
    expect(await arr(kn.cumprod(x, 0))).toEqual([3, 1, 2, 0, 5, 8]);
    const [v, i] = x.sort({ dim: 1, descending: true });
    expect([await arr(v), await arr(i)]).toEqual([[3, 2, 1, 5, 4, 0], [0, 2, 1, 1, 2, 0]]);
    expect(await arr(kn.argsort(x, { dim: 0 }))).toEqual([1, 0, 0, 0, 1, 1]);
    const [tv, ti] = x.topk(1);
    expect([await arr(tv), await arr(ti)]).toEqual([[3, 5], [0, 1]]);
    const idx = kn.tensor([[2, 0, 1]], [1, 3], { dtype: 'int32' });
    expect(await arr(kn.zeros([2, 3]).scatter(1, idx, 7))).toEqual([7, 7, 7, 0, 0, 0]);
    expect(await arr(kn.zeros([1, 3]).scatterAdd(1, idx, kn.ones([1, 3])))).toEqual([1, 1, 1]);
    expect(await arr(kn.zeros([3]).indexAdd(0, kn.tensor([2, 2], [2], { dtype: 'int32' }), kn.ones([2])))).toEqual([0, 0, 2]);
  });
});
