// Embeddings and positional encodings (src/layers/embedding.ts).
// Against PyTorch (test/golden/embedding.json, from gen_embedding.py): F.embedding forward and
// weight gradient (index shapes [5], [2, 3], [2, 2, 3], repeated indices, paddingIdx none /
// 3 / 0 / -1), nn.Embedding with maxNorm (output, the weight renormalised in place after the
// forward, the gradient), one compiled SGD step of Embedding + Linear with cross-entropy.
// Against float64 references computed here: the sinusoidal table, rotary embeddings (default,
// host and tensor positions, partial rotary dims) and the rotary gradient (rotary is linear
// in x, so the gradient of sum(out * r) is R^T r). Bad input with the messages asserted.
//
// Tolerances: a lookup copies float32 values (exact); a weight gradient is a sum of at most
// a dozen float32 terms (1e-6 relative to the tensor's scale covers any summation order);
// rotary and the sinusoidal table are float32 sin/cos products: 1e-6 absolute on values of
// size <= 3 for host tables; 2e-5 for the tensor-positions path (WGSL sin/cos of float32
// angles up to ~20 rad).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { assign } from '../src/graph/tensor.js';
import { embedding, Embedding, SinusoidalPositionalEncoding, LearnedPositionalEmbedding, rotaryEmbedding, RotaryEmbedding, sinusoidalTable } from '../src/layers/embedding.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
const G = loadGolden('embedding.json');
const f32 = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data), t.shape, opts);
const i32 = (t: T) => kn.tensor(Int32Array.from(t.data), t.shape, { dtype: 'int32' });
const arr = async (t: kn.Tensor) => Array.from(await t.data());

async function close(what: string, actual: kn.Tensor | null | undefined, expected: T | { shape: number[]; data: ArrayLike<number> }, rtol = 1e-6, atol = 0): Promise<void> {
  expect(actual, `${what}: missing`).toBeTruthy();
  expect(actual!.shape, `${what}: shape`).toEqual(expected.shape);
  const a = await actual!.data();
  const e = Array.from(expected.data);
  const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - Math.fround(e[i]));
    if (!(d <= rtol * scale + atol)) expect.fail(`${what}: element ${i} is ${a[i]}, expected ${e[i]} (|diff| ${d}, allowed ${rtol * scale + atol})`);
  }
}

beforeAll(async () => { await kn.init(); });
afterAll(() => { kn.shutdown(); });

describe('F.embedding / nn.Embedding against PyTorch', () => {
  it('forward and weight gradient: index shapes [5], [2, 3], [2, 2, 3], repeats, paddingIdx none/3/0/-1', async () => {
    expect(G.lookup.map((c: any) => c.paddingIdx)).toEqual([null, null, null, 3, 0, -1]);
    for (const [k, c] of (G.lookup as any[]).entries()) {
      const w = f32(c.weight, { requiresGrad: true });
      const y = embedding(i32(c.indices), w, { paddingIdx: c.paddingIdx });
      await close(`lookup ${k} y`, y, c.y, 0);
      y.mul(f32(c.r)).sum().backward();
      await close(`lookup ${k} gradWeight`, w.grad, c.gradWeight);
      if (c.paddingIdx !== null) {
        const p = (c.paddingIdx + c.V) % c.V;
        expect(c.indices.data.filter((v: number) => v === p).length, 'the case looks up the padding row').toBeGreaterThanOrEqual(2);
        expect((await arr(w.grad!)).slice(p * c.D, (p + 1) * c.D)).toEqual(new Array(c.D).fill(0));
      }
    }
  });

  it('nn.Embedding: host indices, state dict key weight, N(0, 1) init with the padding row zeroed, fromPretrained', async () => {
    kn.manualSeed(3);
    const e = new Embedding(200, 50, { paddingIdx: 7 });
    expect(Object.keys(e.stateDict())).toEqual(['weight']);
    expect(e.weight.shape).toEqual([200, 50]);
    const w = await arr(e.weight);
    expect(w.slice(350, 400)).toEqual(new Array(50).fill(0));
    const rest = w.filter((_, i) => i < 350 || i >= 400);
    const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
    const sd = Math.sqrt(rest.reduce((a, b) => a + (b - mean) ** 2, 0) / rest.length);
    // 9,950 N(0, 1) draws: the sample mean's standard error is 0.010 and the sample std's 0.007,
    // so 0.05 is 5-7 standard errors; a uniform or a badly scaled init misses by 0.4 or more
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
    // host indices (nested arrays) give the same rows as an int32 tensor
    const y = e.forward([[1, 7], [199, 1]]);
    expect(y.shape).toEqual([2, 2, 50]);
    const v = await arr(y);
    expect(v.slice(0, 50)).toEqual(w.slice(50, 100));
    expect(v.slice(50, 100)).toEqual(new Array(50).fill(0));
    expect(v.slice(100, 150)).toEqual(w.slice(199 * 50));
    // a 0-d index gives one row
    expect(e.forward(kn.tensor(5, [], { dtype: 'int32' })).shape).toEqual([50]);
    const pre = Embedding.fromPretrained(kn.tensor([[1, 2], [3, 4]]));
    expect(pre.weight.requiresGrad).toBe(false);
    expect(await arr(pre.forward([1, 0]))).toEqual([3, 4, 1, 2]);
    expect(Embedding.fromPretrained(kn.tensor([[1, 2], [3, 4]]), { freeze: false }).weight.requiresGrad).toBe(true);
  });

  it('maxNorm renormalises the looked-up rows of the weight in place during forward (normType 2 and 1)', async () => {
    for (const [k, c] of (G.maxNorm as any[]).entries()) {
      const e = new Embedding(c.V, c.D, { maxNorm: c.maxNorm, normType: c.normType, weight: f32(c.weight) });
      const before = await arr(e.weight);
      const y = e.forward(i32(c.indices));
      await close(`maxNorm ${k} y`, y, c.y, 2e-7);
      await close(`maxNorm ${k} weightAfter`, e.weight, c.weightAfter, 2e-7);
      y.mul(f32(c.r)).sum().backward();
      await close(`maxNorm ${k} gradWeight`, e.weight.grad, c.gradWeight);
      // rows not looked up are untouched, rows looked up now have norm <= maxNorm
      const after = await arr(e.weight);
      const used = new Set(c.indices.data);
      for (let r = 0; r < c.V; r++) {
        const row = after.slice(r * c.D, (r + 1) * c.D);
        if (!used.has(r)) expect(row).toEqual(before.slice(r * c.D, (r + 1) * c.D));
        else {
          const n = c.normType === 1 ? row.reduce((a, b) => a + Math.abs(b), 0) : Math.hypot(...row);
          expect(n).toBeLessThanOrEqual(c.maxNorm * (1 + 1e-6));
        }
      }
      expect(before.some((v, i) => v !== after[i]), 'some row was renormalised').toBe(true);
    }
  });

  it('one compiled SGD step of Embedding(20, 8, paddingIdx 0) + Linear(8, 5) matches PyTorch', async () => {
    const c = G.step;
    const emb = new Embedding(20, 8, { paddingIdx: 0 });
    const lin = new kn.nn.Linear(8, 5);
    emb.loadStateDict({ weight: f32(c.before['emb.weight']) });
    lin.loadStateDict({ weight: f32(c.before['lin.weight']), bias: f32(c.before['lin.bias']) });
    const opt = new kn.optim.SGD([...emb.parameters(), ...lin.parameters()], { lr: 0.1 });
    const step = kn.compile((ix: kn.Tensor, tg: kn.Tensor) => {
      opt.zeroGrad();
      const loss = kn.F.crossEntropy(lin.forward(emb.forward(ix)).reshape(-1, 5), tg);
      loss.backward();
      opt.step();
      return loss;
    });
    const loss = await (await step(i32(c.indices), i32(c.target))).item();
    expect(Math.abs(loss - c.loss)).toBeLessThan(1e-6 * Math.abs(c.loss));
    await close('step emb.weight', emb.weight, c.after['emb.weight'], 1e-6);
    await close('step lin.weight', lin.weight, c.after['lin.weight'], 1e-6);
    await close('step lin.bias', lin.bias, c.after['lin.bias'], 1e-6);
    // the padding row stayed zero
    expect((await arr(emb.weight)).slice(0, 8)).toEqual(new Array(8).fill(0));
  });
  it('maxNorm inside kn.compile: each forward renormalises the rows it looks up (two hand-written SGD steps, as PyTorch)', async () => {
    const c = G.maxNormStep;
    const e = new Embedding(10, 4, { maxNorm: 1.0, weight: f32(c.weight) });
    const r = f32(c.r);
    const step = kn.compile((ix: kn.Tensor) => {
      e.weight.grad = null;
      const loss = e.forward(ix).mul(r).sum();
      loss.backward();
      kn.noGrad(() => assign(e.weight, e.weight.sub(e.weight.grad!.mul(0.5))));
      return loss;
    });
    const ix = i32(c.indices);
    for (let k = 0; k < 2; k++) {
      const loss = await (await step(ix)).item();
      expect(Math.abs(loss - c.losses[k]), `loss ${k}`).toBeLessThan(1e-5 * Math.abs(c.losses[k]) + 1e-6);
    }
    expect(step.stats().traces).toBe(1);
    await close('maxNorm step weight', e.weight, c.weightAfter, 1e-6);
    // an optimizer turns its parameters into views of one arena, which assign cannot write into yet
    const held = new Embedding(10, 4, { maxNorm: 1.0 });
    new kn.optim.SGD(held.parameters(), { lr: 0.1 });
    expect(() => held.call([1, 2])).toThrow('embedding: maxNorm renormalises the weight in place, and this weight (shape [10, 4]) is a view of another buffer, as parameters become once an optimizer holds them (Kiln cannot assign into a view yet); use maxNorm without an optimizer, or renormalise the weight yourself (in Embedding)');
  });
});

describe('F.embedding: indices out of range and bad input', () => {
  const w = () => kn.tensor(Float32Array.from({ length: 12 }, (_, i) => i), [4, 3]);
  it('host-known indices are checked on the host, with the bad index named', () => {
    expect(() => embedding([0, 4], w())).toThrow('embedding: index 4 (at position 1) is out of range for an embedding with 4 rows (expected 0..3)');
    expect(() => embedding([[1], [-1]], w())).toThrow('embedding: index -1 (at position 1) is out of range');
    expect(() => embedding([1.5], w())).toThrow('embedding: indices must be integers, got 1.5 at position 0');
    expect(() => new Embedding(4, 3).call(Int32Array.from([9]))).toThrow('embedding: index 9 (at position 0) is out of range for an embedding with 4 rows (expected 0..3) (in Embedding)');
  });
  it('indices in a GPU tensor are not read back: out-of-range rows come out NaN, no read past the buffer, no gradient', async () => {
    const wt = w().requiresGrad_();
    const y = embedding(kn.tensor(Int32Array.from([1, 4, -1, 1000000, 3]), [5], { dtype: 'int32' }), wt);
    const v = await arr(y);
    expect(v.slice(0, 3)).toEqual([3, 4, 5]);
    expect(v.slice(3, 12).every(Number.isNaN)).toBe(true);
    expect(v.slice(12)).toEqual([9, 10, 11]);
    y.slice([0, 0], [1, 3]).sum().add(y.slice([4, 0], [5, 3]).sum()).backward();
    expect(await arr(wt.grad!)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]);
  });
  it('float indices, a weight that is not 2-D, paddingIdx out of range', () => {
    expect(() => embedding(kn.tensor([0, 1]), w())).toThrow('embedding: indices must be an int32 tensor, got dtype float32 with shape [2]');
    expect(() => embedding([0], kn.tensor([1, 2, 3]))).toThrow('embedding: weight must be a 2-D tensor [numEmbeddings, embeddingDim], got shape [3]');
    expect(() => embedding([0], kn.zeros([2, 2, 2]))).toThrow('got shape [2, 2, 2]');
    expect(() => embedding([0], w(), { paddingIdx: 4 })).toThrow('embedding: paddingIdx must be an integer within numEmbeddings (-4..3), got 4');
    expect(() => embedding([0], w(), { paddingIdx: -5 })).toThrow('got -5');
    expect(() => new Embedding(4, 3, { paddingIdx: 10 })).toThrow('Embedding: paddingIdx must be an integer within numEmbeddings (-4..3), got 10');
    expect(() => new Embedding(0, 3)).toThrow('Embedding: numEmbeddings must be a positive integer, got 0');
    expect(() => embedding([0], w(), { maxNorm: -1 })).toThrow('embedding: maxNorm must be positive, got -1');
  });
});

describe('positional encodings', () => {
  it('the sinusoidal table matches a float64 reference; added to [T, B, d] and [B, T, d]; dropout off in eval', async () => {
    const d = 6, maxLen = 50;
    const pe = new SinusoidalPositionalEncoding(d, { maxLen, dropout: 0 });
    const ref = new Float64Array(maxLen * d);
    for (let p = 0; p < maxLen; p++) for (let i = 0; i < d / 2; i++) {
      const a = p / 10000 ** ((2 * i) / d);
      ref[p * d + 2 * i] = Math.sin(a); ref[p * d + 2 * i + 1] = Math.cos(a);
    }
    await close('sinusoidal table', pe.pe, { shape: [maxLen, d], data: ref }, 0, 1e-7);
    expect(Object.keys(pe.stateDict())).toEqual([]);
    const x = kn.randn([4, 2, d]);
    const xs = await arr(x);
    const want = xs.map((v, k) => v + ref[Math.floor(k / (2 * d)) * d + (k % d)]);
    await close('x + pe [T, B, d]', pe.forward(x), { shape: [4, 2, d], data: want }, 0, 1e-6);
    const bf = new SinusoidalPositionalEncoding(d, { maxLen, dropout: 0.5, batchFirst: true }).eval();
    const wantBF = xs.map((v, k) => v + ref[Math.floor(k / d) % 2 * d + (k % d)]);
    await close('x + pe [B, T, d] (eval)', bf.forward(x), { shape: [4, 2, d], data: wantBF }, 0, 1e-6);
    // odd d: the last column is a sine
    const odd = sinusoidalTable(3, 5);
    expect(odd[2 * 5 + 4]).toBeCloseTo(Math.sin(2 / 10000 ** (4 / 5)), 7);
    // training mode with dropout: zeros and 1/(1-p) scaling
    const tr = new SinusoidalPositionalEncoding(d, { maxLen, dropout: 0.5, batchFirst: true });
    const yd = await arr(tr.forward(x));
    expect(yd.every((v, k) => v === 0 || Math.abs(v - 2 * wantBF[k]) < 1e-5)).toBe(true);
    expect(yd.some((v) => v === 0)).toBe(true);
  });

  it('learned positional embedding: x + weight[offset:offset+T], gradient into those rows only', async () => {
    const m = new LearnedPositionalEmbedding(10, 3, { batchFirst: true });
    expect(Object.keys(m.stateDict())).toEqual(['weight']);
    const w = await arr(m.weight);
    const x = kn.zeros([2, 4, 3]);
    const y = m.forward(x, { offset: 2 });
    expect(await arr(y)).toEqual([...w.slice(6, 18), ...w.slice(6, 18)]);
    y.sum().backward();
    expect(await arr(m.weight.grad!)).toEqual(Array.from({ length: 30 }, (_, k) => (k >= 6 && k < 18 ? 2 : 0)));
    const tb = new LearnedPositionalEmbedding(10, 3);
    expect(await arr(tb.forward(kn.zeros([2, 1, 3])))).toEqual((await arr(tb.weight)).slice(0, 6));
  });

  it('bad input to the encodings: wrong rank, wrong d, too long', () => {
    const pe = new SinusoidalPositionalEncoding(8, { maxLen: 5 });
    expect(() => pe.forward(kn.zeros([5, 8]))).toThrow('SinusoidalPositionalEncoding: expected input [T, B, d] with d = 8 (batchFirst: false), got [5, 8]');
    expect(() => pe.forward(kn.zeros([5, 2, 6]))).toThrow('expected input [T, B, d] with d = 8 (batchFirst: false), got [5, 2, 6]');
    expect(() => pe.forward(kn.zeros([6, 2, 8]))).toThrow('SinusoidalPositionalEncoding: sequence length 6 exceeds maxLen 5 (input [6, 2, 8], [T, B, d])');
    const lp = new LearnedPositionalEmbedding(5, 8, { batchFirst: true });
    expect(() => lp.forward(kn.zeros([2, 4, 8]), { offset: 2 })).toThrow('LearnedPositionalEmbedding: sequence length 4 at offset 2 exceeds maxLen 5 (input [2, 4, 8], [B, T, d])');
    expect(() => rotaryEmbedding(kn.zeros([2, 3, 4]))).toThrow('rotaryEmbedding: expected input [B, H, T, Dh], got [2, 3, 4]');
    expect(() => rotaryEmbedding(kn.zeros([1, 1, 2, 5]))).toThrow('rotaryEmbedding: the rotated dims must be a positive even number <= the head dim 5 (input [1, 1, 2, 5]), got 5');
    expect(() => rotaryEmbedding(kn.zeros([1, 1, 2, 4]), { positions: [0, 1, 2] })).toThrow('rotaryEmbedding: positions must have 2 entries (one per row of the sequence), got 3');
    expect(() => new RotaryEmbedding(8).forward(kn.zeros([1, 1, 2, 4]))).toThrow('RotaryEmbedding: the rotated dims must be a positive even number <= the head dim 4 (input [1, 1, 2, 4]), got 8');
    expect(() => rotaryEmbedding(kn.zeros([1, 1, 2, 4]), { positions: kn.tensor([0, 1]) })).toThrow('rotaryEmbedding: a positions tensor must be int32 with shape [2] (one per row of the sequence), got dtype float32 with shape [2]');
    expect(() => new RotaryEmbedding(3)).toThrow('RotaryEmbedding: dim must be a positive even integer, got 3');
  });
});

describe('rotary embeddings (GPT-NeoX / LLaMA half-split)', () => {
  /** float64 reference: pairs (i, i + rd/2) rotated by pos * base^(-2i/rd); also R^T applied to r. */
  function ref(x: number[], shape: number[], pos: number[], base: number, rd: number, transpose = false): number[] {
    const [B, H, Tn, Dh] = shape, h = rd / 2, out = x.slice();
    for (let b = 0; b < B * H; b++) for (let t = 0; t < Tn; t++) for (let i = 0; i < h; i++) {
      const a = pos[t] * base ** ((-2 * i) / rd), c = Math.cos(a), s = Math.sin(a) * (transpose ? -1 : 1);
      const o = (b * Tn + t) * Dh, x1 = x[o + i], x2 = x[o + i + h];
      out[o + i] = x1 * c - x2 * s; out[o + i + h] = x2 * c + x1 * s;
    }
    return out;
  }
  it('matches the float64 reference: default, host and tensor positions, base, partial rotary dims; nn.RotaryEmbedding', async () => {
    const shape = [2, 3, 5, 8];
    const x = kn.randn(shape);
    const xs = await arr(x);
    const ar = [0, 1, 2, 3, 4];
    await close('rope default', rotaryEmbedding(x), { shape, data: ref(xs, shape, ar, 10000, 8) }, 0, 2e-6);
    const pos = [3, 7, 8, 12, 20];
    await close('rope host positions, base 500', rotaryEmbedding(x, { positions: pos, base: 500 }), { shape, data: ref(xs, shape, pos, 500, 8) }, 0, 2e-6);
    await close('rope tensor positions', rotaryEmbedding(x, { positions: kn.tensor(Int32Array.from(pos), [5], { dtype: 'int32' }) }), { shape, data: ref(xs, shape, pos, 10000, 8) }, 0, 2e-6);
    // a positions tensor past the table gives NaN rows (read clamped), the others are right
    const far = await arr(rotaryEmbedding(x, { positions: kn.tensor(Int32Array.from([0, 1, 2, 3, 99]), [5], { dtype: 'int32' }), maxPositions: 50 }));
    const r0 = ref(xs, shape, [0, 1, 2, 3, 0], 10000, 8);
    for (let k = 0; k < far.length; k++) {
      if (Math.floor(k / 8) % 5 === 4) expect(Number.isNaN(far[k]), `row of position 99, element ${k}`).toBe(true);
      else expect(Math.abs(far[k] - r0[k])).toBeLessThan(2e-6);
    }
    await close('nn.RotaryEmbedding tensor positions', new RotaryEmbedding(8, { maxPositions: 32 }).forward(x, { positions: kn.tensor(Int32Array.from(pos), [5], { dtype: 'int32' }) }), { shape, data: ref(xs, shape, pos, 10000, 8) }, 0, 2e-6);
    await close('rope rotaryDim 4', rotaryEmbedding(x, { rotaryDim: 4 }), { shape, data: ref(xs, shape, ar, 10000, 4) }, 0, 2e-6);
    const m = new RotaryEmbedding(4, { base: 100 });
    expect(Object.keys(m.stateDict())).toEqual([]);
    await close('nn.RotaryEmbedding', m.forward(x), { shape, data: ref(xs, shape, ar, 100, 4) }, 0, 2e-6);
    await close('nn.RotaryEmbedding again (cached tables)', m.forward(x), { shape, data: ref(xs, shape, ar, 100, 4) }, 0, 2e-6);
    // the half-split convention: channel 0 pairs with channel Dh/2 (not with channel 1)
    const e0 = kn.tensor([1, 0, 0, 0], [1, 1, 1, 4]);
    const one = await arr(rotaryEmbedding(e0, { positions: [1] }));
    expect(one[0]).toBeCloseTo(Math.cos(1), 6); expect(one[1]).toBe(0); expect(one[2]).toBeCloseTo(Math.sin(1), 6); expect(one[3]).toBe(0);
  });
  it('gradient: d sum(rope(x) * r) / dx = R^T r, also inside kn.compile', async () => {
    const shape = [1, 2, 4, 6];
    const x = kn.randn(shape, { requiresGrad: true }), r = kn.randn(shape);
    const rs = await arr(r);
    const want = { shape, data: ref(rs, shape, [0, 1, 2, 3], 10000, 6, true) };
    rotaryEmbedding(x).mul(r).sum().backward();
    await close('rope grad', x.grad, want, 0, 2e-6);
    const g = kn.compile((xx: kn.Tensor, rr: kn.Tensor) => kn.grad((v: kn.Tensor) => rotaryEmbedding(v).mul(rr).sum())(xx) as kn.Tensor);
    await close('rope grad (compiled)', await g(x.detach(), r), want, 0, 2e-6);
  });
});
