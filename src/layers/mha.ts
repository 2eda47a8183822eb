// nn.MultiheadAttention with PyTorch's parameter names, initialisation, masks and return
// values. Masks follow MHA's convention (bool true = may NOT attend; float masks are added to
// the scores), the opposite of F.scaledDotProductAttention's bool masks.
import { Tensor, tensor, constant, concat } from '../graph/tensor.js';
import { scopeSuffix } from '../graph/state.js';
import { shapeStr } from '../graph/ir.js';
import { Module, Parameter } from './module.js';
import { Linear } from './layers.js';
import { uniformArray, normalArray } from './random.js';
import { scaledDotProductAttention } from './attention.js';
import * as F from './functional.js';

export function fail(name: string, msg: string): never { throw new Error(`${name}: ${msg}${scopeSuffix()}`); }

/** xavier_uniform_ of a [out, in] weight: U(-a, a) with a = sqrt(6 / (in + out)). */
export function xavierUniform(shape: [number, number]): Tensor {
  const a = Math.sqrt(6 / (shape[0] + shape[1]));
  return tensor(uniformArray(shape[0] * shape[1], -a, a), shape);
}

export interface MultiheadAttentionOptions {
  /** dropout on the attention weights, in training mode */
  dropout?: number;
  bias?: boolean;
  /** key features (default embedDim) */
  kdim?: number;
  /** value features (default embedDim) */
  vdim?: number;
  /** inputs and output are [batch, seq, feature] instead of [seq, batch, feature] */
  batchFirst?: boolean;
  /** learned biasK, biasV ([1, 1, embedDim]) appended to the keys and values as one more position */
  addBiasKv?: boolean;
  /** a key and value of zeros appended (after the biases), per head */
  addZeroAttn?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /** [batch, S] (unbatched: [S]); bool true = that key is padding, float = added */
  keyPaddingMask?: Tensor | null;
  needWeights?: boolean;
  /** [L, S] or [batch * numHeads, L, S] (unbatched: [numHeads, L, S]); bool true = not allowed, float = added */
  attnMask?: Tensor | null;
  /** false: per-head weights [batch, numHeads, L, S] instead of their mean over the heads */
  averageAttnWeights?: boolean;
  /**
   * PyTorch's hint that attnMask is the causal mask (PyTorch then requires attnMask). Without
   * attnMask, Kiln applies the causal mask itself (query i attends keys j <= i).
   */
  isCausal?: boolean;
}

function checkPositive(what: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) fail('MultiheadAttention', `${what} must be a positive integer, got ${v}`);
}

/** A bool MHA mask (true = not allowed) as the additive float mask (-inf where true). */
function additive(m: Tensor): Tensor { return m.dtype === 'bool' ? m.where(constant(-Infinity, [], 'float32'), 0) : m; }

export class MultiheadAttention extends Module<[Tensor, Tensor | null]> {
  // fields in PyTorch's registration order, so stateDict() keys come in PyTorch's order
  inProjWeight: Parameter | null = null;
  qProjWeight: Parameter | null = null;
  kProjWeight: Parameter | null = null;
  vProjWeight: Parameter | null = null;
  inProjBias: Parameter | null;
  biasK: Parameter | null = null;
  biasV: Parameter | null = null;
  outProj: Linear;
  readonly kdim: number;
  readonly vdim: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;

  constructor(readonly embedDim: number, readonly numHeads: number,
    { dropout = 0, bias = true, kdim, vdim, batchFirst = false, addBiasKv = false, addZeroAttn = false }: MultiheadAttentionOptions = {}) {
    super();
    checkPositive('embedDim', embedDim);
    checkPositive('numHeads', numHeads);
    if (embedDim % numHeads !== 0) fail('MultiheadAttention', `embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    this.kdim = kdim ?? embedDim; this.vdim = vdim ?? embedDim;
    checkPositive('kdim', this.kdim); checkPositive('vdim', this.vdim);
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail('MultiheadAttention', `dropout must be a number in [0, 1), got ${dropout}`);
    this.headDim = embedDim / numHeads;
    this.dropout = dropout; this.batchFirst = batchFirst;
    // as MultiheadAttention._reset_parameters: xavier_uniform_ in-projections, zero biases,
    // out_proj.weight keeps Linear's initialisation
    if (this.kdim === embedDim && this.vdim === embedDim) {
      this.inProjWeight = new Parameter(xavierUniform([3 * embedDim, embedDim]));
    } else {
      this.qProjWeight = new Parameter(xavierUniform([embedDim, embedDim]));
      this.kProjWeight = new Parameter(xavierUniform([embedDim, this.kdim]));
      this.vProjWeight = new Parameter(xavierUniform([embedDim, this.vdim]));
    }
    this.inProjBias = bias ? new Parameter(tensor(new Float32Array(3 * embedDim), [3 * embedDim])) : null;
    // xavier_normal_ of a [1, 1, E] tensor: std = sqrt(2 / (E + E))
    if (addBiasKv) [this.biasK, this.biasV] = [0, 1].map(() => new Parameter(tensor(normalArray(embedDim, 0, Math.sqrt(1 / embedDim)), [1, 1, embedDim])));
    this.addZeroAttn = addZeroAttn;
    this.outProj = new Linear(embedDim, embedDim, { bias });
    if (this.outProj.bias) this.outProj.bias = new Parameter(tensor(new Float32Array(embedDim), [embedDim]));
  }

  /**
   * query [L, batch, embedDim], key [S, batch, kdim], value [S, batch, vdim] ([batch, seq, ..]
   * with batchFirst; unbatched: [L, embedDim], [S, kdim], [S, vdim]). Returns [output like
   * query, weights [batch, L, S] (per head: [batch, numHeads, L, S]) or null].
   */
  forward(query: Tensor, key: Tensor, value: Tensor,
    { keyPaddingMask = null, needWeights = true, attnMask = null, averageAttnWeights = true, isCausal = false }: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const [N, L, S, unbatched] = this.checkInputs(query, key, value);
    const E = this.embedDim, H = this.numHeads, D = this.headDim;
    const kpm0 = keyPaddingMask ? this.checkKeyPaddingMask(keyPaddingMask, N, S, unbatched) : null;
    let mask = attnMask ? this.checkAttnMask(attnMask, N, L, S, unbatched) : null;
    if (isCausal && !mask) mask = causalMask(L, S);

    // in-projections, on the inputs in their own layout (one matmul when q = k = v)
    const [q, k, v] = this.inProjection(query, key, value);
    // [seq, batch, E] (or [batch, seq, E]) -> [batch, heads, seq, headDim]
    const heads = (t: Tensor) => {
      const t4 = unbatched ? t.reshape(t.shape[0], 1, H, D) : t.reshape(t.shape[0], t.shape[1], H, D);
      return this.batchFirst && !unbatched ? t4.permute(0, 2, 1, 3) : t4.permute(1, 2, 0, 3);
    };
    const qh = heads(q);
    let kh = heads(k), vh = heads(v);
    // addBiasKv, addZeroAttn: one more key/value position each (the biases, then zeros), which
    // the masks allow
    const extra: [Tensor | null, Tensor | null][] = [];
    if (this.biasK) extra.push([this.biasK, this.biasV]);
    if (this.addZeroAttn) extra.push([null, null]);
    const position = (b: Tensor | null) => (b ? b.reshape(1, H, 1, D).expand(N, H, 1, D) : constant(0, [N, H, 1, D], 'float32'));
    for (const [bk, bv] of extra) { kh = concat([kh, position(bk)], 2); vh = concat([vh, position(bv)], 2); }
    const allow = (m: Tensor | null) => (m && extra.length ? concat([m, constant(0, [...m.shape.slice(0, -1), extra.length], m.dtype)], -1) : m);
    mask = allow(mask);
    const kpm = allow(kpm0);
    const dropoutP = this.training ? this.dropout : 0;

    let o: Tensor, weights: Tensor | null = null;
    if (needWeights) {
      let scores = qh.mul(1 / Math.sqrt(D)).matmul(kh.transpose(-2, -1));
      if (mask) scores = scores.add(additive(mask));
      if (kpm) scores = scores.add(additive(kpm));
      weights = F.dropout(scores.softmax(-1), { p: dropoutP, training: dropoutP > 0 });
      o = weights.matmul(vh);
    } else {
      // bool masks are inverted for F.scaledDotProductAttention (true = may attend there)
      let sdpaMask: Tensor | null = null;
      if (mask && kpm && mask.dtype === 'bool' && kpm.dtype === 'bool') sdpaMask = mask.logicalOr(kpm).logicalNot();
      else if (mask && kpm) sdpaMask = additive(mask).add(additive(kpm));
      else if (mask ?? kpm) sdpaMask = (mask ?? kpm)!.dtype === 'bool' ? (mask ?? kpm)!.logicalNot() : (mask ?? kpm);
      // the causal hint without other masks goes to the kernel as isCausal (no mask tensor)
      const causalOnly = isCausal && !kpm && !extra.length;
      o = scaledDotProductAttention(qh, kh, vh, causalOnly ? { isCausal: true, dropoutP } : { attnMask: sdpaMask, dropoutP });
    }
    // [batch, heads, L, headDim] -> the query's layout, heads concatenated
    const merged = unbatched ? o.permute(2, 0, 1, 3).reshape(L, E)
      : this.batchFirst ? o.permute(0, 2, 1, 3).reshape(N, L, E) : o.permute(2, 0, 1, 3).reshape(L, N, E);
    const out = this.outProj.call(merged);
    if (weights) {
      if (averageAttnWeights) weights = weights.mean(1);
      if (unbatched) weights = weights.squeeze(0);
    }
    return [out, weights];
  }

  private inProjection(query: Tensor, key: Tensor, value: Tensor): [Tensor, Tensor, Tensor] {
    const E = this.embedDim, b = this.inProjBias;
    const bias = (i: number) => (b ? b.narrow(0, i * E, E) : null);
    if (this.inProjWeight) {
      const w = this.inProjWeight;
      if (query === key && key === value) {
        const qkv = F.linear(query, w, b);
        const last = qkv.ndim - 1;
        return [qkv.narrow(last, 0, E), qkv.narrow(last, E, E), qkv.narrow(last, 2 * E, E)];
      }
      const wi = (i: number) => w.narrow(0, i * E, E);
      return [F.linear(query, wi(0), bias(0)), F.linear(key, wi(1), bias(1)), F.linear(value, wi(2), bias(2))];
    }
    return [F.linear(query, this.qProjWeight!, bias(0)), F.linear(key, this.kProjWeight!, bias(1)), F.linear(value, this.vProjWeight!, bias(2))];
  }

  /** Checks ranks, dtypes, feature sizes and batch/sequence agreement; returns [batch, L, S, unbatched]. */
  private checkInputs(query: Tensor, key: Tensor, value: Tensor): [number, number, number, boolean] {
    const name = 'MultiheadAttention';
    const layout = this.batchFirst ? '[batch, seq, feature]' : '[seq, batch, feature]';
    for (const [what, t] of [['query', query], ['key', key], ['value', value]] as const) {
      if (!(t instanceof Tensor)) fail(name, `expected ${what} to be a Tensor, got ${typeof t}`);
      if (t.dtype !== 'float32') fail(name, `expected ${what} of dtype float32, got ${t.dtype}`);
    }
    if (query.ndim !== 2 && query.ndim !== 3) fail(name, `expected query of shape ${layout} (or unbatched [seq, feature]), got ${shapeStr(query.shape)}`);
    const unbatched = query.ndim === 2;
    for (const [what, t] of [['key', key], ['value', value]] as const) {
      if (t.ndim !== query.ndim) fail(name, `for ${unbatched ? 'unbatched 2-D' : 'batched 3-D'} query ${shapeStr(query.shape)}, ${what} must also be ${query.ndim}-D, got ${shapeStr(t.shape)}`);
    }
    for (const [what, t, want, opt] of [['query', query, this.embedDim, 'embedDim'], ['key', key, this.kdim, 'kdim'], ['value', value, this.vdim, 'vdim']] as const) {
      const f = t.shape[t.ndim - 1];
      if (f !== want) fail(name, `${what} ${shapeStr(t.shape)} has ${f} features in its last dim, expected ${opt} ${want}`);
    }
    const sdim = unbatched || !this.batchFirst ? 0 : 1, bdim = 1 - sdim;
    const S = key.shape[sdim];
    if (value.shape[sdim] !== S || (!unbatched && value.shape[bdim] !== key.shape[bdim])) {
      fail(name, `key ${shapeStr(key.shape)} and value ${shapeStr(value.shape)} must have the same sequence length and batch size (${unbatched ? '[seq, feature]' : layout})`);
    }
    if (!unbatched && query.shape[bdim] !== key.shape[bdim]) {
      fail(name, `query ${shapeStr(query.shape)} and key ${shapeStr(key.shape)} have different batch sizes (${query.shape[bdim]} and ${key.shape[bdim]} in dim ${bdim}): batchFirst is ${this.batchFirst}, so inputs are read as ${layout}; were they given in the other layout (batchFirst ${!this.batchFirst})?`);
    }
    const L = query.shape[sdim], N = unbatched ? 1 : query.shape[bdim];
    if (L === 0 || S === 0) fail(name, `expected non-empty sequences, got query ${shapeStr(query.shape)} and key ${shapeStr(key.shape)}`);
    return [N, L, S, unbatched];
  }

  /** The mask as [batch, 1, 1, S], to broadcast over the scores [batch, heads, L, S]. */
  private checkKeyPaddingMask(m: Tensor, N: number, S: number, unbatched: boolean): Tensor {
    const name = 'MultiheadAttention';
    if (!(m instanceof Tensor)) fail(name, `expected keyPaddingMask to be a Tensor, got ${typeof m}`);
    if (m.dtype !== 'bool' && m.dtype !== 'float32') fail(name, `keyPaddingMask must be bool (true = ignore that key) or float32 (added to the scores), got dtype ${m.dtype}`);
    const want = unbatched ? [S] : [N, S];
    if (m.shape.join() !== want.join()) fail(name, `expected keyPaddingMask of shape ${shapeStr(want)} ${unbatched ? '[S]' : '[batch, S]'}, got ${shapeStr(m.shape)}`);
    return m.reshape(N, 1, 1, S);
  }

  /** The mask as [L, S] or [batch, heads, L, S], to broadcast over the scores. */
  private checkAttnMask(m: Tensor, N: number, L: number, S: number, unbatched: boolean): Tensor {
    const name = 'MultiheadAttention', H = this.numHeads;
    if (!(m instanceof Tensor)) fail(name, `expected attnMask to be a Tensor, got ${typeof m}`);
    if (m.dtype !== 'bool' && m.dtype !== 'float32') fail(name, `attnMask must be bool (true = not allowed) or float32 (added to the scores), got dtype ${m.dtype}`);
    if (m.ndim === 2 && m.shape[0] === L && m.shape[1] === S) return m;
    if (m.ndim === 3 && m.shape[0] === N * H && m.shape[1] === L && m.shape[2] === S) return m.reshape(N, H, L, S);
    const three = unbatched ? `[numHeads, L, S] = [${H}, ${L}, ${S}]` : `[batch * numHeads, L, S] = [${N * H}, ${L}, ${S}]`;
    return fail(name, `expected attnMask of shape [L, S] = [${L}, ${S}] or ${three} (L: query length, S: key length), got ${shapeStr(m.shape)}`);
  }
}

/** The causal mask in MHA's convention: true above the diagonal (key j > query i not allowed). */
export function causalMask(L: number, S: number): Tensor {
  const m = new Uint8Array(L * S);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < S; j++) m[i * S + j] = 1;
  return tensor(m, [L, S], { dtype: 'bool' });
}
