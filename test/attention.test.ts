// F.scaledDotProductAttention on the flash-attention kernels: forward and the gradients of q,
// k and v against PyTorch's golden vectors (test/golden/attention.json, written by
// test/golden/gen_attention.py: sequence lengths 1 to 127, causal, bool and float masks,
// L != S, head dims 8 to 64, broadcast batch dims, a given scale) and against the float64
// reference of the composite graph (matmul, scale, mask, softmax, matmul) at sequence length
// 1000; dropout against the composite with the same random stream; that no L x S buffer is
// allocated; and the errors of bad input.
//
// Tolerances. Kiln computes in float32 and the expected values are float64, so the
// difference is float32 rounding. A score is a sum of E products, an output element a sum of
// S probability-weighted values, and a gradient element sums over L or S terms that each hold
// dot products of E or Ev terms; rounding errors of a sum of K terms of random sign grow like
// sqrt(K) ulps of the terms (a random walk), and the inputs are unit normal (terms and results
// of order 1), so an element passes when
//   |actual - expected| <= RTOL * |expected| + ATOL * sqrt(K)
// with K = E + S for the output, K = L + S + E + Ev for the gradients, RTOL = 1e-5 (~80 ulps,
// for elements far from 0) and ATOL = 5e-7 (~4 ulps of 1 per sqrt(K)). A wrong index, a missing
// key or a mask applied to the wrong element is off by O(1/S) at least, far outside this.
// The worst element as a fraction of its tolerance is printed after the run; measured on
// SwiftShader: golden out 0.08, dq 0.12, dk 0.07, dv 0.08; float64 reference (seq 127 and 7,
// all-masked row, dropout) out 0.06, dq 0.05, dk 0.06, dv 0.05.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { expectClose as compare } from './compare.js';
import { evaluateReference } from '../src/graph/reference.js';
import { attentionComposite } from '../src/layers/attention.js';
import { Leaves } from './graph/helpers.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: (number | boolean | null)[] }
const golden = loadGolden('attention.json');

const RTOL = 1e-5, ATOL = 5e-7;
const F = kn.F;

/** Worst |diff| / allowed per quantity, printed at the end. */
const worstSeen: Record<string, number> = {};

function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, K: number): void {
  const wr = compare(got, want, { atol: ATOL * Math.sqrt(K), rtol: RTOL }, what);
  const key = what.replace(/^.*: /, '');
  worstSeen[key] = Math.max(worstSeen[key] ?? 0, wr);
}

const f32 = (t: T) => kn.tensor(Float32Array.from(t.data as number[]), t.shape);
/** A golden mask: booleans, or floats with null for -inf. */
const maskOf = (t: T | null) => {
  if (!t) return undefined;
  if (typeof t.data[0] === 'boolean') return kn.tensor(t.data.map((x) => (x ? 1 : 0)), t.shape, { dtype: 'bool' });
  return kn.tensor(Float32Array.from(t.data, (x) => (x === null ? -Infinity : (x as number))), t.shape);
};

/** Output and the gradients of sum(out * r) for q, k, v. */
function withGrads(attn: (q: kn.Tensor, k: kn.Tensor, v: kn.Tensor) => kn.Tensor, q: kn.Tensor, k: kn.Tensor, v: kn.Tensor, r: kn.Tensor) {
  const out = attn(q, k, v);
  const grads = kn.grad((a, b, c) => attn(a, b, c).mul(r).sum(), { argnums: [0, 1, 2] })(q, k, v) as kn.Tensor[];
  return [out, ...grads];
}

describe('scaledDotProductAttention (flash kernels)', () => {
  beforeAll(async () => { await kn.init(); });
  afterAll(() => { console.log(`attention: worst error / tolerance ${JSON.stringify(worstSeen)}`); });

  describe('PyTorch golden vectors', () => {
    for (const c of golden.cases) {
      it(c.name, async () => {
        const [q, k, v, r] = [c.q, c.k, c.v, c.r].map(f32);
        const opts = { attnMask: maskOf(c.mask), isCausal: c.isCausal, scale: c.scale };
        const [L, E] = c.q.shape.slice(-2), [S, Ev] = c.v.shape.slice(-2);
        const got = withGrads((a, b, d) => F.scaledDotProductAttention(a, b, d, opts), q, k, v, r);
        const names = ['out', 'dq', 'dk', 'dv'];
        for (let i = 0; i < 4; i++) {
          expect(got[i].shape, `${c.name}: ${names[i]} shape`).toEqual(c[names[i]].shape);
          expectClose(`${c.name}: ${names[i]}`, await got[i].data(), c[names[i]].data, i === 0 ? E + S : L + S + E + Ev);
        }
      });
    }
  });

  describe('float64 reference of the composite graph', () => {
    const cases: { name: string; q: number[]; k: number[]; v: number[]; mask?: { shape: number[]; kind: 'bool' | 'float' }; isCausal?: boolean; scale?: number }[] = [
      { name: 'seq 1000, E 64, causal', q: [1, 1000, 64], k: [1, 1000, 64], v: [1, 1000, 64], isCausal: true },
      { name: 'L 1000 x S 300, E 16, float mask [1000, 300], scale 0.2', q: [1000, 16], k: [300, 16], v: [300, 8], mask: { shape: [1000, 300], kind: 'float' }, scale: 0.2 },
      { name: 'seq 127, E 64, heads broadcast, bool mask [2, 1, 127, 127]', q: [2, 3, 127, 64], k: [3, 127, 64], v: [2, 1, 127, 64], mask: { shape: [2, 1, 127, 127], kind: 'bool' } },
      { name: 'seq 7, q and k strided views (transposed)', q: [2, 8, 7], k: [2, 8, 7], v: [2, 7, 8] },
      // the kernel's row layouts (attentionLayout): on a CPU adapter 4 or 8 rows per invocation up
      // to head dim 64, 2 at 128, 1 (and rolled loops) at 256; rows not a multiple of 4 are padded
      { name: 'seq 45, E 128, Ev 100', q: [2, 45, 128], k: [2, 45, 128], v: [2, 45, 100] },
      { name: 'seq 20, E 256, Ev 36, causal', q: [20, 256], k: [20, 256], v: [20, 36], isCausal: true },
      { name: 'L 9 x S 11, E 6, Ev 5, bool mask [9, 11]', q: [3, 9, 6], k: [3, 11, 6], v: [3, 11, 5], mask: { shape: [9, 11], kind: 'bool' } },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const leaves = new Leaves();
        // the transposed case makes q and k [..., 8, 7] and reads them as [..., 7, 8] in place
        const view = c.name.includes('strided') ? (t: kn.Tensor) => t.transpose(-2, -1) : (t: kn.Tensor) => t;
        const q = view(leaves.randn(c.q)), k = view(leaves.randn(c.k)), v = leaves.randn(c.v);
        const mask = c.mask ? (c.mask.kind === 'bool' ? leaves.bools(c.mask.shape, 0.8) : leaves.randn(c.mask.shape)) : undefined;
        const [L, E] = q.shape.slice(-2), [S, Ev] = v.shape.slice(-2);
        const r = leaves.randn([...(kn.F.scaledDotProductAttention(q, k, v, { attnMask: mask }).shape)]);
        const opts = { attnMask: mask, isCausal: c.isCausal, scale: c.scale };
        const got = withGrads((a, b, d) => F.scaledDotProductAttention(a, b, d, opts), q, k, v, r);
        const scale = c.scale ?? 1 / Math.sqrt(E);
        const causal = c.isCausal ? kn.tensor(Array.from({ length: L * S }, (_, x) => (x % S <= Math.floor(x / S) ? 1 : 0)), [L, S], { dtype: 'bool' }) : null;
        if (causal) leaves.values.set(causal.node, Float64Array.from(await causal.data()));
        const want = withGrads((a, b, d) => attentionComposite(a, b, d, { scale, dropoutP: 0, mask: causal ?? mask ?? null }), q, k, v, r);
        const ref = evaluateReference(want.map((t) => t.node), leaves.values);
        const names = ['out', 'dq', 'dk', 'dv'];
        for (let i = 0; i < 4; i++) expectClose(`${c.name}: ${names[i]}`, await got[i].data(), ref.get(want[i].node)!, i === 0 ? E + S : L + S + E + Ev);
      }, 600_000);
    }

    it('a query row with every key masked gives NaN, the others are unaffected', async () => {
      const leaves = new Leaves();
      const q = leaves.randn([2, 5, 8]), k = leaves.randn([2, 6, 8]), v = leaves.randn([2, 6, 8]);
      const m = Array.from({ length: 30 }, (_, x) => (Math.floor(x / 6) === 2 ? 0 : (x % 6) % 2));
      const mask = kn.tensor(m, [5, 6], { dtype: 'bool' });
      leaves.values.set(mask.node, Float64Array.from(m));
      const got = await F.scaledDotProductAttention(q, k, v, { attnMask: mask }).data();
      const want = leaves.reference(attentionComposite(q, k, v, { scale: 1 / Math.sqrt(8), dropoutP: 0, mask }));
      for (let b = 0; b < 2; b++) for (let e = 0; e < 8; e++) expect(got[(b * 5 + 2) * 8 + e]).toBeNaN();
      expectClose('all-masked row: out', got, want, 8 + 6);
    });
  });

  it('dropout: the kernels replay the composite\'s random stream, forward and backward', async () => {
    const q = kn.randn([2, 33, 16]), k = kn.randn([2, 40, 16]), v = kn.randn([2, 40, 8]), r = kn.randn([2, 33, 8]);
    const run = (attn: (a: kn.Tensor, b: kn.Tensor, c: kn.Tensor) => kn.Tensor) => { kn.manualSeed(7); return withGrads(attn, q, k, v, r); };
    const got = run((a, b, c) => F.scaledDotProductAttention(a, b, c, { dropoutP: 0.3 }));
    const want = run((a, b, c) => attentionComposite(a, b, c, { scale: 0.25, dropoutP: 0.3, mask: null }));
    const names = ['out', 'dq', 'dk', 'dv'];
    for (let i = 0; i < 4; i++) expectClose(`dropout: ${names[i]}`, await got[i].data(), await want[i].data(), 33 + 40 + 16 + 8);
    // dropout really dropped something: eval mode (training false) differs
    const plain = await F.scaledDotProductAttention(q, k, v, { dropoutP: 0.3, training: false }).data();
    const dropped = await got[0].data();
    expect(plain.some((x, i) => Math.abs(x - dropped[i]) > 1e-3)).toBe(true);
  });

  it('allocates no L x S buffer: forward and backward run as three attention kernels', async () => {
    const L = 256, S = 256;
    const q = kn.randn([2, L, 16]), k = kn.randn([2, S, 16]), v = kn.randn([2, S, 16]), r = kn.randn([2, L, 16]);
    const mask = kn.tensor(Array.from({ length: L * S }, (_, x) => (x % 3 ? 1 : 0)), [L, S], { dtype: 'bool' });
    const loss = (x: kn.Tensor, y: kn.Tensor, z: kn.Tensor) => F.scaledDotProductAttention(x, y, z, { attnMask: mask }).mul(r).sum();
    const step = kn.compile((a: kn.Tensor, b: kn.Tensor, c: kn.Tensor) => kn.grad(loss, { argnums: [0, 1, 2] })(a, b, c) as kn.Tensor[]);
    await step(q, k, v);
    const stats = step.stats();
    expect(stats.intermediateBytes).toBeLessThan(L * S * 4);
    expect(step.kernels().filter((w) => w.includes('fn kn_score')).length).toBe(3);
  });

  describe('pattern recognition: hand-written attention runs on the flash kernel', () => {
    const L = 130, S = 70, E = 16;
    const variants: [string, (q: kn.Tensor, k: kn.Tensor, v: kn.Tensor, fm: kn.Tensor, bm: kn.Tensor) => kn.Tensor][] = [
      ['softmax(q @ k^T * scale) @ v', (q, k, v) => q.matmul(k.transpose(-2, -1)).mul(0.25).softmax(-1).matmul(v)],
      ['softmax(q @ k^T / c + float mask) @ v', (q, k, v, fm) => q.matmul(k.transpose(-2, -1)).div(4).add(fm).softmax(-1).matmul(v)],
      ['softmax(mask.where(q @ k^T * scale, -inf)) @ v', (q, k, v, _, bm) => bm.where(q.matmul(k.transpose(-2, -1)).mul(0.25), -Infinity).softmax(-1).matmul(v)],
      ['softmax((q * scale) @ k^T) @ v, 3-D', (q, k, v) => q.reshape(6, L, E).mul(0.25).matmul(k.reshape(6, S, E).transpose(-2, -1)).softmax(-1).matmul(v.reshape(6, S, 8))],
    ];
    for (const [name, f] of variants) {
      it(name, async () => {
        const leaves = new Leaves();
        const args = [leaves.randn([2, 3, L, E]), leaves.randn([2, 3, S, E]), leaves.randn([2, 3, S, 8]), leaves.randn([L, S]), leaves.bools([L, S], 0.8)] as const;
        const want = leaves.reference(f(...args)); // before the rewrite: the composite graph in float64
        const attn = kn.compile((q: kn.Tensor, k: kn.Tensor, v: kn.Tensor) => f(q, k, v, args[3], args[4]));
        const got = await (await attn(args[0], args[1], args[2])).data();
        expectClose(`pattern ${name}: out`, got, want, E + S);
        expect(attn.kernels().filter((w) => w.includes('fn kn_score')).length).toBe(1);
        expect(attn.stats().intermediateBytes).toBeLessThan(6 * L * S * 4);
      });
    }
    it('leaves the pattern alone where its gradient is needed', async () => {
      const q = kn.randn([1, 7, 8], { requiresGrad: true }), k = kn.randn([1, 7, 8]), v = kn.randn([1, 7, 8]);
      const step = kn.compile((a: kn.Tensor) => kn.grad((x: kn.Tensor) => x.matmul(k.transpose(-2, -1)).mul(0.3).softmax(-1).matmul(v).sum())(a) as kn.Tensor);
      await step(q);
      expect(step.kernels().some((w) => w.includes('fn kn_score'))).toBe(false);
    });
  });

  describe('errors', () => {
    let q: kn.Tensor, k: kn.Tensor, v: kn.Tensor;
    beforeAll(() => { [q, k, v] = [kn.randn([2, 5, 8]), kn.randn([2, 6, 8]), kn.randn([2, 6, 4])]; });
    it('a mask of the wrong shape', () => {
      expect(() => F.scaledDotProductAttention(q, k, v, { attnMask: kn.ones([5, 7]).cast('bool') }))
        .toThrow('scaledDotProductAttention: attnMask of shape [5, 7] does not broadcast to the scores\' shape [2, 5, 6] (query [2, 5, 8], key [2, 6, 8])');
    });
    it('a mask of the wrong dtype', () => {
      expect(() => F.scaledDotProductAttention(q, k, v, { attnMask: kn.tensor([1, 0, 1, 1, 0, 1], [6], { dtype: 'int32' }) }))
        .toThrow('scaledDotProductAttention: attnMask must be bool (true = attend) or float (added to the scores), got dtype int32');
    });
    it('a mask and isCausal together', () => {
      expect(() => F.scaledDotProductAttention(q, k, v, { attnMask: kn.ones([5, 6]), isCausal: true })).toThrow('pass either attnMask or isCausal, not both');
    });
    it('mismatched feature sizes and sequence lengths', () => {
      expect(() => F.scaledDotProductAttention(q, kn.randn([2, 6, 4]), v)).toThrow('query and key must have the same feature size');
      expect(() => F.scaledDotProductAttention(q, k, kn.randn([2, 5, 4]))).toThrow('key and value must have the same sequence length');
    });
  });
});
