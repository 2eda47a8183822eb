// Attention and Transformer layers against PyTorch (test/golden/transformer.json, from
// gen_transformer.py): nn.MultiheadAttention (self and cross attention, batchFirst, kdim/vdim,
// bool and float key padding and attention masks, 2-D and 3-D masks, averaged and per-head
// weights, needWeights false, no bias, unbatched), TransformerEncoderLayer (post-norm and
// pre-norm, relu and gelu, masks), TransformerDecoderLayer (causal tgt mask, memory masks),
// a 2-layer TransformerEncoder with a final norm and a small nn.Transformer (2 + 2 layers).
// Outputs, attention weights and the gradients of every parameter and input, with PyTorch's
// state dicts loaded through loadStateDict (which checks the key names). Also: initialisation,
// dropout in training mode, deep-copied layers, and the errors of bad input.
//
// Tolerances. Everything is float32 with small reductions (embedDim 8, headDim 4, sequences
// <= 5, feed-forward 16), so Kiln and PyTorch differ by summation order and by a few ulps of
// exp/erf/rsqrt. PyTorch's own float32 results differ from float64 by at most 8.5e-7 (outputs)
// and 2.6e-6 (gradients) in these cases (outErrF64 / gradErrF64 in the JSON), on values of
// size ~1-10. An element passes when |actual - expected| <= RTOL*|expected| + ATOL*max|expected|
// with RTOL = ATOL = 2e-5: ~10x PyTorch's own float32 error (a wrong mask, head split or
// layer order is off by O(1)). Measured worst: 0.06 of that (Transformer gradients). The worst
// ratio err / allowed per family is printed at the end. Cost: ~28 s of CPU for the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { expectClose as compare } from './compare.js';
import {
  MultiheadAttention, TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, Transformer,
} from '../src/layers/transformer.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
interface Mask { dtype: 'bool' | 'float32'; shape: number[]; data: (number | boolean)[] }
const G = loadGolden('transformer.json');

const RTOL = 2e-5, ATOL = 2e-5;
const worst: Record<string, number> = {};

const f32 = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data), t.shape, opts);
const tensors = (s: Record<string, T>) => Object.fromEntries(Object.entries(s).map(([k, t]) => [k, f32(t)]));
/** A mask of the JSON; "causal" stands for Transformer.generateSquareSubsequentMask(L). */
const mask = (m: Mask | 'causal' | undefined, L = 0): kn.Tensor | undefined => {
  if (!m) return undefined;
  if (m === 'causal') return Transformer.generateSquareSubsequentMask(L);
  if (m.dtype === 'bool') return kn.tensor(Uint8Array.from(m.data, (v) => (v ? 1 : 0)), m.shape, { dtype: 'bool' });
  return f32(m as T);
};

/**
 * Compares each [what, tensor, expected, family]: all tensors are read in one go (one run:
 * the backward pass's shared intermediates are computed once, not once per gradient).
 */
async function expectAllClose(checks: [string, kn.Tensor | null | undefined, T, string][]): Promise<void> {
  for (const [what, t, e] of checks) {
    expect(t, `${what}: missing`).toBeTruthy();
    expect(t!.shape, `${what}: shape`).toEqual(e.shape);
  }
  const all = await kn.cat(checks.map(([, t]) => t!.reshape(-1))).data();
  let at = 0;
  for (const [what, t, expected, family] of checks) {
    const a = all.subarray(at, at += t!.numel());
    const scale = expected.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const wr = compare(a, expected.data, { atol: ATOL * scale, rtol: RTOL }, `${what} (against PyTorch)`);
    worst[family] = Math.max(worst[family] ?? 0, wr);
  }
}

/** The error thrown by fn (constructing a module counts), or a failure if none. */
function errorOf(fn: () => unknown): string {
  try { fn(); } catch (e) { return (e as Error).message; }
  return expect.fail('expected an error, none was thrown');
}

beforeAll(async () => { await kn.init(); kn.debug.setMatmulTiling(kn.debug.QUICK_TILING); });
afterAll(() => {
  console.log(`transformer.test worst err/allowed (rtol ${RTOL}, atol ${ATOL}*S): ${JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, +v.toPrecision(3)])))}`);
  kn.debug.setMatmulTiling(undefined);
  kn.shutdown();
});

function build(c: any): kn.nn.Module {
  switch (c.module) {
    case 'MultiheadAttention': return new MultiheadAttention(c.args[0], c.args[1], c.options);
    case 'TransformerEncoderLayer': return new TransformerEncoderLayer(c.args[0], c.args[1], c.options);
    case 'TransformerDecoderLayer': return new TransformerDecoderLayer(c.args[0], c.args[1], c.options);
    case 'TransformerEncoder':
      return new TransformerEncoder(new TransformerEncoderLayer(c.args[0], c.args[1], c.options), c.numLayers, { norm: new kn.nn.LayerNorm(c.args[0]) });
    case 'Transformer': return new Transformer(c.options);
  }
  throw new Error(`unknown module ${c.module}`);
}

/** Runs the module on the case's inputs and masks; returns the output, the weights and the leaves. */
function forwardCase(m: kn.nn.Module, c: any): { out: kn.Tensor; weights: kn.Tensor | null; leaves: Record<string, kn.Tensor> } {
  const leaves = Object.fromEntries(Object.entries(c.inputs as Record<string, T>).map(([k, t]) => [k, f32(t, { requiresGrad: true })]));
  const mk = c.masks as Record<string, Mask>;
  if (m instanceof MultiheadAttention) {
    const q = leaves.query, k = c.selfAttn ? q : leaves.key, v = c.selfAttn ? q : leaves.value;
    const [out, weights] = m.forward(q, k, v, { ...c.forward, keyPaddingMask: mask(mk.key_padding_mask), attnMask: mask(mk.attn_mask) });
    return { out, weights, leaves };
  }
  // the length of a sequence, for its causal mask
  const len = (x: kn.Tensor) => x.shape[x.ndim === 2 || !c.options.batchFirst ? 0 : 1];
  const { src, tgt, memory } = leaves;
  if (m instanceof TransformerEncoderLayer) return { out: m.forward(src, { srcMask: mask(mk.src_mask, len(src)), srcKeyPaddingMask: mask(mk.src_key_padding_mask) }), weights: null, leaves };
  if (m instanceof TransformerEncoder) return { out: m.forward(src, { mask: mask(mk.mask), srcKeyPaddingMask: mask(mk.src_key_padding_mask) }), weights: null, leaves };
  const dec = {
    tgtMask: mask(mk.tgt_mask, len(tgt)), memoryMask: mask(mk.memory_mask),
    tgtKeyPaddingMask: mask(mk.tgt_key_padding_mask), memoryKeyPaddingMask: mask(mk.memory_key_padding_mask),
  };
  if (m instanceof TransformerDecoderLayer) return { out: m.forward(tgt, memory, dec), weights: null, leaves };
  if (m instanceof Transformer) {
    return { out: m.forward(src, tgt, { ...dec, srcMask: mask(mk.src_mask), srcKeyPaddingMask: mask(mk.src_key_padding_mask) }), weights: null, leaves };
  }
  throw new Error(`unknown module ${c.module}`);
}

function goldenCases(pred: (c: any) => boolean): void {
  for (const c of (G.cases as any[]).filter(pred)) {
    it(`${c.name}: output, weights, gradients of parameters and inputs`, async () => {
      const m = build(c);
      // PyTorch's keys, in PyTorch's order
      expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.params));
      m.loadStateDict(tensors(c.params));
      const { out, weights, leaves } = forwardCase(m, c);
      const fam = c.module;
      let loss = out.mul(f32(c.r)).sum();
      if (c.weights) loss = loss.add(weights!.mul(f32(c.r2)).sum());
      else expect(weights).toBeNull();
      loss.backward();
      const named = Object.fromEntries(m.namedParameters());
      await expectAllClose([
        [`${c.name} out`, out, c.out, fam],
        ...(c.weights ? [[`${c.name} weights`, weights, c.weights, fam] as [string, kn.Tensor | null, T, string]] : []),
        ...Object.entries(c.gradInputs as Record<string, T>).map(([k, g]) => [`${c.name} grad ${k}`, leaves[k].grad, g, `${fam} grad`] as [string, kn.Tensor | null, T, string]),
        ...Object.entries(c.grads as Record<string, T>).map(([k, g]) => [`${c.name} grad ${k}`, named[k].grad, g, `${fam} grad`] as [string, kn.Tensor | null, T, string]),
      ]);
    });
  }
}

describe('golden: MultiheadAttention against PyTorch', () => {
  goldenCases((c) => c.module === 'MultiheadAttention');
});

describe('golden: Transformer layers against PyTorch', () => {
  goldenCases((c) => c.module !== 'MultiheadAttention');
});

describe('MultiheadAttention: initialisation, masks, dropout', () => {
  it('parameters have PyTorch names and shapes: xavier_uniform_ in-projections, zero biases', async () => {
    const m = new MultiheadAttention(16, 4);
    const sd = m.stateDict();
    expect(Object.keys(sd)).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    expect(sd.in_proj_weight.shape).toEqual([48, 16]);
    const w = Array.from(await sd.in_proj_weight.data()), a = Math.sqrt(6 / (16 + 48));
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(a);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.95 * a);
    expect(Array.from(await sd.in_proj_bias.data()).every((v) => v === 0)).toBe(true);
    expect(Array.from(await sd['out_proj.bias'].data()).every((v) => v === 0)).toBe(true);
    // out_proj.weight keeps Linear's U(-1/sqrt(16), 1/sqrt(16))
    expect(Math.max(...Array.from(await sd['out_proj.weight'].data(), Math.abs))).toBeLessThanOrEqual(0.25);
    const kv = new MultiheadAttention(8, 2, { kdim: 6, vdim: 5 }).stateDict();
    expect(Object.fromEntries(Object.entries(kv).map(([k, t]) => [k, t.shape]))).toEqual({
      q_proj_weight: [8, 8], k_proj_weight: [8, 6], v_proj_weight: [8, 5], in_proj_bias: [24], 'out_proj.weight': [8, 8], 'out_proj.bias': [8],
    });
    expect(Object.keys(new MultiheadAttention(8, 2, { bias: false }).stateDict())).toEqual(['in_proj_weight', 'out_proj.weight']);
  });

  it('isCausal without attnMask applies the causal mask (weights and the attention kernel path)', async () => {
    const m = new MultiheadAttention(8, 2, { batchFirst: true });
    const x = kn.randn([2, 4, 8]);
    const bool = kn.tensor(Uint8Array.from({ length: 16 }, (_, i) => (i % 4 > Math.floor(i / 4) ? 1 : 0)), [4, 4], { dtype: 'bool' });
    const [ref, refW] = m.forward(x, x, x, { attnMask: bool });
    const [o1, w1] = m.forward(x, x, x, { isCausal: true });
    const [o2, w2] = m.forward(x, x, x, { isCausal: true, needWeights: false });
    expect(w2).toBeNull();
    const r = Array.from(await ref.data());
    for (const o of [o1, o2]) Array.from(await o.data()).forEach((v, i) => expect(v).toBeCloseTo(r[i], 5));
    expect(Array.from(await w1!.data())).toEqual(Array.from(await refW!.data()));
    // above the diagonal the weights are exactly zero
    const w = await w1!.data();
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) expect(w[i * 4 + j]).toBe(0);
  });

  it('dropout on the attention weights in training mode keeps their mean; eval() turns it off', async () => {
    kn.manualSeed(5);
    const m = new MultiheadAttention(8, 2, { dropout: 0.5 });
    // small inputs: nearly uniform weights (1/8), so each row sum after dropout has std ~0.35
    // and the mean of 64*2*8 = 1024 row sums has std ~0.011; 0.05 is ~4.5 standard errors
    const x = kn.randn([8, 64, 8]).mul(0.1);
    const [, w] = m.forward(x, x, x, { averageAttnWeights: false });
    const wd = await w!.data();
    const zeros = wd.filter((v) => v === 0).length / wd.length;
    expect(Math.abs(zeros - 0.5)).toBeLessThan(0.03); // 8192 draws: std 0.0055
    let rows = 0;
    for (let i = 0; i < wd.length; i++) rows += wd[i];
    expect(Math.abs(rows / (wd.length / 8) - 1)).toBeLessThan(0.05);
    const [o1] = m.forward(x, x, x, { needWeights: false }), [o2] = m.forward(x, x, x, { needWeights: false });
    expect(Array.from(await o1.data())).not.toEqual(Array.from(await o2.data())); // a fresh mask per call
    m.eval();
    const [e1, ew] = m.forward(x, x, x), [e2] = m.forward(x, x, x, { needWeights: false });
    const a = await e1.data(), b = await e2.data();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
    const ewd = await ew!.data();
    expect(ewd.every((v) => v > 0)).toBe(true);
    for (let i = 0; i < ewd.length; i += 8) expect(ewd.slice(i, i + 8).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });
});

describe('MultiheadAttention: bad input', () => {
  const z = (...s: number[]) => kn.zeros(s);
  const b = (...s: number[]) => kn.zeros(s, { dtype: 'bool' as any });
  it('bad constructor options', () => {
    expect(errorOf(() => new MultiheadAttention(10, 4))).toMatch(/^MultiheadAttention: embedDim \(10\) must be divisible by numHeads \(4\)/);
    expect(errorOf(() => new MultiheadAttention(0, 1))).toMatch(/^MultiheadAttention: embedDim must be a positive integer, got 0/);
    expect(errorOf(() => new MultiheadAttention(8, 2, { dropout: 1 }))).toMatch(/^MultiheadAttention: dropout must be a number in \[0, 1\), got 1/);
  });
  it('feature sizes, ranks, batch and sequence mix-ups', () => {
    const m = new MultiheadAttention(8, 2), kv = new MultiheadAttention(8, 2, { kdim: 6, vdim: 5 });
    expect(errorOf(() => m.forward(z(3, 2, 7), z(5, 2, 8), z(5, 2, 8)))).toMatch(/^MultiheadAttention: query \[3, 2, 7\] has 7 features in its last dim, expected embedDim 8/);
    expect(errorOf(() => kv.forward(z(3, 2, 8), z(5, 2, 8), z(5, 2, 5)))).toMatch(/^MultiheadAttention: key \[5, 2, 8\] has 8 features in its last dim, expected kdim 6/);
    expect(errorOf(() => kv.forward(z(3, 2, 8), z(5, 2, 6), z(5, 2, 6)))).toMatch(/^MultiheadAttention: value \[5, 2, 6\] has 6 features in its last dim, expected vdim 5/);
    expect(errorOf(() => m.forward(z(8), z(8), z(8)))).toMatch(/^MultiheadAttention: expected query of shape \[seq, batch, feature\] \(or unbatched \[seq, feature\]\), got \[8\]/);
    expect(errorOf(() => m.forward(z(3, 2, 8), z(5, 8), z(5, 8)))).toMatch(/^MultiheadAttention: for batched 3-D query \[3, 2, 8\], key must also be 3-D, got \[5, 8\]/);
    expect(errorOf(() => m.forward(z(3, 2, 8), z(5, 2, 8), z(4, 2, 8)))).toMatch(/^MultiheadAttention: key \[5, 2, 8\] and value \[4, 2, 8\] must have the same sequence length and batch size/);
    // batch-major tensors given to a sequence-major module: the batches (dim 1) disagree
    expect(errorOf(() => m.forward(z(2, 3, 8), z(2, 5, 8), z(2, 5, 8))))
      .toMatch(/^MultiheadAttention: query \[2, 3, 8\] and key \[2, 5, 8\] have different batch sizes \(3 and 5 in dim 1\): batchFirst is false, so inputs are read as \[seq, batch, feature\]; were they given in the other layout \(batchFirst true\)\?/);
    expect(errorOf(() => new MultiheadAttention(8, 2, { batchFirst: true }).forward(z(3, 2, 8), z(5, 2, 8), z(5, 2, 8))))
      .toMatch(/different batch sizes \(3 and 5 in dim 0\): batchFirst is true, so inputs are read as \[batch, seq, feature\]/);
    expect(errorOf(() => m.forward(kn.zeros([3, 2, 8], { dtype: 'int32' }), z(5, 2, 8), z(5, 2, 8)))).toMatch(/^MultiheadAttention: expected query of dtype float32, got int32/);
  });
  it('masks of the wrong shape or dtype', () => {
    const m = new MultiheadAttention(8, 2), q = z(3, 2, 8), k = z(5, 2, 8);
    expect(errorOf(() => m.forward(q, k, k, { keyPaddingMask: b(5, 2) }))).toMatch(/^MultiheadAttention: expected keyPaddingMask of shape \[2, 5\] \[batch, S\], got \[5, 2\]/);
    expect(errorOf(() => m.forward(z(3, 8), z(5, 8), z(5, 8), { keyPaddingMask: b(1, 5) }))).toMatch(/^MultiheadAttention: expected keyPaddingMask of shape \[5\] \[S\], got \[1, 5\]/);
    expect(errorOf(() => m.forward(q, k, k, { keyPaddingMask: kn.zeros([2, 5], { dtype: 'int32' }) }))).toMatch(/^MultiheadAttention: keyPaddingMask must be bool \(true = ignore that key\) or float32 \(added to the scores\), got dtype int32/);
    expect(errorOf(() => m.forward(q, k, k, { attnMask: b(5, 3) })))
      .toMatch(/^MultiheadAttention: expected attnMask of shape \[L, S\] = \[3, 5\] or \[batch \* numHeads, L, S\] = \[4, 3, 5\] \(L: query length, S: key length\), got \[5, 3\]/);
    expect(errorOf(() => m.forward(q, k, k, { attnMask: z(2, 3, 5) }))).toMatch(/attnMask of shape .* got \[2, 3, 5\]/);
    expect(errorOf(() => m.forward(z(3, 8), z(5, 8), z(5, 8), { attnMask: z(4, 3, 5) }))).toMatch(/or \[numHeads, L, S\] = \[2, 3, 5\] .*got \[4, 3, 5\]/);
    expect(errorOf(() => m.forward(q, k, k, { attnMask: kn.zeros([3, 5], { dtype: 'int32' }) }))).toMatch(/^MultiheadAttention: attnMask must be bool \(true = not allowed\) or float32/);
  });
});

describe('Transformer layers: state dicts, copies, masks, dropout', () => {
  it('bias: false drops every bias (Linear, attention and LayerNorm), as PyTorch', () => {
    expect(Object.keys(new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, bias: false }).stateDict())).toEqual(
      ['self_attn.in_proj_weight', 'self_attn.out_proj.weight', 'linear1.weight', 'linear2.weight', 'norm1.weight', 'norm2.weight']);
  });

  it('TransformerEncoder deep-copies its layer: equal values, independent storage', async () => {
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const enc = new TransformerEncoder(layer, 2);
    const sd = enc.stateDict();
    expect(Object.keys(sd).length).toBe(24);
    expect(Object.keys(sd).slice(0, 2)).toEqual(['layers.0.self_attn.in_proj_weight', 'layers.0.self_attn.in_proj_bias']);
    const w = Array.from(await layer.linear1.weight.data());
    expect(Array.from(await sd['layers.0.linear1.weight'].data())).toEqual(w);
    expect(Array.from(await sd['layers.1.linear1.weight'].data())).toEqual(w);
    // loading into one copy changes neither the other copy nor the original layer
    enc.loadStateDict({ ...sd, 'layers.0.linear1.weight': kn.full([16, 8], 0.5) });
    expect(Array.from(await enc.stateDict()['layers.0.linear1.weight'].data()).every((v) => v === 0.5)).toBe(true);
    expect(Array.from(await enc.stateDict()['layers.1.linear1.weight'].data())).toEqual(w);
    expect(Array.from(await layer.linear1.weight.data())).toEqual(w);
    expect(enc.parameters().length).toBe(24);
  });

  it('Transformer: PyTorch keys, xavier_uniform_ on every matrix after copying (the copies differ)', async () => {
    const t = new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 1, dimFeedforward: 16 });
    const sd = t.stateDict();
    expect(Object.keys(sd).length).toBe(24 + 2 + 18 + 2);
    expect(Object.keys(sd)).toContain('decoder.layers.0.multihead_attn.in_proj_weight');
    expect(Object.keys(sd)).toContain('encoder.norm.weight');
    expect(Object.keys(sd)).toContain('decoder.norm.bias');
    const a = Array.from(await sd['encoder.layers.0.linear1.weight'].data()), b = Array.from(await sd['encoder.layers.1.linear1.weight'].data());
    expect(a).not.toEqual(b);
    const bound = Math.sqrt(6 / (8 + 16));
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Array.from(await sd['encoder.layers.0.linear1.bias'].data()).every((v) => Math.abs(v) <= 1 / Math.sqrt(8))).toBe(true);
  });

  it('generateSquareSubsequentMask is 0 on and below the diagonal, -inf above', async () => {
    expect(Array.from(await Transformer.generateSquareSubsequentMask(3).data())).toEqual([0, -Infinity, -Infinity, 0, 0, -Infinity, 0, 0, 0]);
  });

  it('isCausal equals the causal mask; dropout acts in training mode only', async () => {
    kn.manualSeed(11);
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.5 });
    const plain = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 });
    plain.loadStateDict(layer.stateDict());
    const x = kn.randn([4, 2, 8]);
    const t1 = await layer.forward(x).data(), t2 = await layer.forward(x).data();
    expect(Array.from(t1)).not.toEqual(Array.from(t2));
    expect(t1.every(Number.isFinite)).toBe(true);
    layer.eval();
    expect(layer.dropout1.training).toBe(false);
    const e = await layer.forward(x).data(), p = await plain.forward(x).data();
    expect(Array.from(e)).toEqual(Array.from(p));
    const c1 = await plain.forward(x, { isCausal: true }).data();
    const c2 = await plain.forward(x, { srcMask: Transformer.generateSquareSubsequentMask(4) }).data();
    c1.forEach((v, i) => expect(v).toBeCloseTo(c2[i], 5));
  });
});

describe('Transformer layers: bad input', () => {
  const z = (...s: number[]) => kn.zeros(s);
  it('dModel mismatches, batch mix-ups and bad options', () => {
    const enc = new TransformerEncoder(new TransformerEncoderLayer(8, 2, { dimFeedforward: 16 }), 2);
    expect(errorOf(() => new TransformerEncoderLayer(8, 2).forward(z(4, 2, 6)))).toMatch(/^TransformerEncoderLayer: src \[4, 2, 6\] has 6 features in its last dim, expected dModel 8$/);
    expect(errorOf(() => enc.call(z(4, 2, 6)))).toMatch(/^TransformerEncoderLayer: src \[4, 2, 6\] has 6 features in its last dim, expected dModel 8 \(in TransformerEncoder > TransformerEncoderLayer\)/);
    expect(errorOf(() => new TransformerEncoderLayer(8, 2).forward(z(8)))).toMatch(/^TransformerEncoderLayer: expected src of shape \[seq, batch, dModel\] \(or unbatched \[seq, dModel\]\), got \[8\]/);
    const dec = new TransformerDecoderLayer(8, 2, { dimFeedforward: 16 });
    expect(errorOf(() => dec.forward(z(3, 2, 8), z(5, 2, 4)))).toMatch(/^TransformerDecoderLayer: memory \[5, 2, 4\] has 4 features in its last dim, expected dModel 8/);
    expect(errorOf(() => dec.forward(z(3, 2, 8), z(2, 5, 8)))).toMatch(/^MultiheadAttention: query \[3, 2, 8\] and key \[2, 5, 8\] have different batch sizes.*batchFirst is false/);
    const t = new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 });
    expect(errorOf(() => t.forward(z(5, 2, 8), z(2, 3, 8)))).toMatch(/^Transformer: src \[5, 2, 8\] and tgt \[2, 3, 8\] have different batch sizes \(dim 1\); batchFirst is false/);
    expect(errorOf(() => t.forward(z(5, 2, 8), z(3, 2, 6)))).toMatch(/^Transformer: tgt \[3, 2, 6\] has 6 features in its last dim, expected dModel 8/);
    expect(errorOf(() => new TransformerEncoderLayer(10, 4))).toMatch(/^TransformerEncoderLayer: dModel \(10\) must be divisible by nhead \(4\)/);
    expect(errorOf(() => new TransformerDecoderLayer(8, 2, { activation: 'tanh' as any }))).toMatch(/^TransformerDecoderLayer: activation must be 'relu', 'gelu', a function or a Module, got 'tanh'/);
    expect(errorOf(() => new TransformerEncoder(new TransformerEncoderLayer(8, 2), 0))).toMatch(/^TransformerEncoder: numLayers must be a positive integer, got 0/);
    expect(errorOf(() => Transformer.generateSquareSubsequentMask(0))).toMatch(/n must be a positive integer, got 0/);
  });
});
