// Embeddings and positional encodings: nn.Embedding / F.embedding (PyTorch's semantics:
// N(0, 1) init, paddingIdx row zeroed and never updated, maxNorm renormalising the looked-up
// rows in place), sinusoidal and learned positional encodings, and rotary embeddings.
//
// Indices. Kiln's integer dtype is int32 (PyTorch's int64 indices arrive as int32). An index
// must lie in [0, numEmbeddings); negative indices are an error, as in PyTorch.
//  - indices given as a JS array or Int32Array are known on the host: they are checked there
//    and a bad one is a thrown error naming it;
//  - indices in a tensor live on the GPU and are not read back (that would stall the step):
//    the lowering clamps the row it reads (no read ever goes past the weight buffer), and
//    the output rows of an out-of-range index are NaN, so the mistake shows up in the loss
//    instead of silently reading a neighbour row. Such an index adds no gradient.
//
// Gradient. The lookup is weight.indexSelect(0, flat indices), whose generic gradient is a
// masked reduction over an [m, n, D] tensor. Embedding gives it its own gradient
// (customGradient): gradW = onehot(indices)^T @ gradOut, a matmul with a [N, V] one-hot built
// by comparing the indices with an arange; the paddingIdx row's entries are left out of the
// one-hot, so it gets no gradient. Memory is N * V floats: fine up to vocabularies of tens of
// thousands at a few thousand tokens per step. Measured (compiled SGD step, SwiftShader, N = 256
// lookups, D = 32): V = 1000: 82 ms with the one-hot matmul vs 230 ms through indexSelect's
// gradient; V = 10000: 576 ms vs 2093 ms.
//
// maxNorm renormalises with an assign, as running statistics are updated: it works eagerly
// and inside kn.compile while the weight is a buffer of its own. Once an optimizer holds the
// weight it is a view of the optimizer's arena, which assign cannot write into yet: that case
// is refused with an error saying so.
import { Tensor, tensor, assign, arange, concat, constant, type Data } from '../graph/tensor.js';
import { customGradient } from '../graph/autodiff.js';
import { noGrad, scopeSuffix } from '../graph/state.js';
import { shapeStr } from '../graph/ir.js';
import { Module, Parameter } from './module.js';
import { normalArray } from './random.js';
import { dropout } from './functional.js';
import { pyFloat } from './repr.js';

/** A one-element float32 NaN in a buffer (WGSL has no NaN literal: a NaN constant would lower to 0). */
const nanTensor = () => tensor(Float32Array.of(NaN), [1]);

function fail(fn: string, msg: string): never { throw new Error(`${fn}: ${msg}${scopeSuffix()}`); }

/** Indices: an int32 tensor of any shape, or host data (a JS array, nested or flat, or an Int32Array). */
export type Indices = Tensor | Data | Int32Array;

export interface EmbeddingOptions {
  /** the row that maps to zeros and gets no gradient; negative counts from the end */
  paddingIdx?: number | null;
  /** rows looked up whose normType-norm exceeds maxNorm are rescaled to maxNorm, in place */
  maxNorm?: number | null;
  /** the p of the p-norm for maxNorm (default 2; Infinity allowed) */
  normType?: number;
  scaleGradByFreq?: boolean;
  sparse?: boolean;
}

/** PyTorch's normalisation of padding_idx: negative counts from the end; out of range is an error. */
function normPaddingIdx(fn: string, paddingIdx: number | null | undefined, V: number): number | null {
  if (paddingIdx === null || paddingIdx === undefined) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx >= V || paddingIdx < -V) {
    fail(fn, `paddingIdx must be an integer within numEmbeddings (${-V}..${V - 1}), got ${paddingIdx}`);
  }
  return paddingIdx < 0 ? paddingIdx + V : paddingIdx;
}

function flattenHost(data: any, out: number[], shape: number[], depth: number): void {
  if (typeof data === 'number' || typeof data === 'boolean') { out.push(+data); return; }
  if (shape.length <= depth) shape.push(data.length);
  else if (shape[depth] !== data.length) fail('embedding', `ragged nested index array at depth ${depth}`);
  for (let i = 0; i < data.length; i++) flattenHost(data[i], out, shape, depth + 1);
}

/** Host indices -> an int32 tensor, after checking every value; a tensor is checked for dtype only. */
function toIndexTensor(fn: string, input: Indices, V: number): Tensor {
  if (input instanceof Tensor) {
    if (input.dtype !== 'int32') fail(fn, `indices must be an int32 tensor, got dtype ${input.dtype} with shape ${shapeStr(input.shape)} (cast with .int() if the values are whole numbers)`);
    return input;
  }
  const values: number[] = [], shape: number[] = [];
  if (ArrayBuffer.isView(input)) { values.push(...Array.from(input as ArrayLike<number>)); shape.push(values.length); }
  else flattenHost(input, values, shape, 0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) fail(fn, `indices must be integers, got ${v} at position ${i}`);
    if (v < 0 || v >= V) fail(fn, `index ${v} (at position ${i}) is out of range for an embedding with ${V} rows (expected 0..${V - 1})`);
  }
  return tensor(Int32Array.from(values), shape, { dtype: 'int32' });
}

/** Whether assign can write into t: a realized tensor, or a chain of assigns onto one (not a view of another buffer). */
function assignable(t: Tensor): boolean {
  let n = t.node;
  while (!n.realized && n.op === 'assign') n = n.inputs[0];
  return n.realized;
}

/** Rescales, in place (an assign, no gradient), the rows of weight that `flat` looks up and whose norm exceeds maxNorm. */
function renorm(weight: Tensor, flat: Tensor, maxNorm: number, normType: number): void {
  const V = weight.shape[0];
  noGrad(() => {
    const a = weight.abs();
    const norm = normType === Infinity ? a.amax(1) : normType === 2 ? weight.mul(weight).sum(1).sqrt() : normType === 1 ? a.sum(1) : a.pow(normType).sum(1).pow(1 / normType);
    const used = flat.unsqueeze(1).eq(arange(V).unsqueeze(0)).float().sum(0).gt(0);
    // PyTorch's embedding_renorm_: row *= maxNorm / (norm + 1e-7) where norm > maxNorm
    const scale = used.logicalAnd(norm.gt(maxNorm)).where(constant(maxNorm, [V], 'float32').div(norm.add(1e-7)), 1);
    assign(weight, weight.mul(scale.unsqueeze(1)));
  });
}

/**
 * F.embedding(input, weight, {paddingIdx, maxNorm, normType}): rows of weight [V, D] picked by
 * input (int32 indices of any shape, or host data); the result has shape [...input.shape, D].
 * With maxNorm, the looked-up rows of weight are renormalised in place first (PyTorch).
 */
export function embedding(input: Indices, weight: Tensor, opts: EmbeddingOptions = {}): Tensor {
  const { maxNorm = null, normType = 2, scaleGradByFreq = false, sparse = false } = opts;
  if (!(weight instanceof Tensor) || weight.ndim !== 2) fail('embedding', `weight must be a 2-D tensor [numEmbeddings, embeddingDim], got ${weight instanceof Tensor ? `shape ${shapeStr(weight.shape)}` : typeof weight}`);
  if (weight.dtype !== 'float32') fail('embedding', `weight must be float32, got ${weight.dtype}`);
  if (scaleGradByFreq) fail('embedding', 'scaleGradByFreq is not supported');
  if (sparse) fail('embedding', 'sparse gradients are not supported (Kiln gradients are dense)');
  const [V, D] = weight.shape;
  const pad = normPaddingIdx('embedding', opts.paddingIdx, V);
  const idx = toIndexTensor('embedding', input, V);
  const flat = idx.reshape(-1);
  if (maxNorm !== null && maxNorm !== undefined) {
    if (!(maxNorm > 0)) fail('embedding', `maxNorm must be positive, got ${maxNorm}`);
    if (!(normType > 0)) fail('embedding', `normType must be positive, got ${normType}`);
    if (!assignable(weight)) {
      fail('embedding', `maxNorm renormalises the weight in place, and this weight (shape ${shapeStr(weight.shape)}) is a view of another buffer, `
        + 'as parameters become once an optimizer holds them (Kiln cannot assign into a view yet); use maxNorm without an optimizer, or renormalise the weight yourself');
    }
    renorm(weight, flat, maxNorm, normType);
  }
  const rows = weight.indexSelect(0, flat);
  // out-of-range rows read NaN (the lowering clamps the row actually read)
  const ok = flat.ge(0).logicalAnd(flat.lt(V)).unsqueeze(1);
  const out = ok.where(rows, nanTensor()).reshape(...idx.shape, D);
  return customGradient(out, [weight], (g) => {
    const key = pad === null ? flat : flat.eq(pad).where(-1, flat);
    const onehot = key.unsqueeze(1).eq(arange(V).unsqueeze(0)).float();
    return [onehot.t().matmul(g.reshape(-1, D))];
  });
}

export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number,
    { paddingIdx = null, maxNorm = null, normType = 2, weight = null }: { paddingIdx?: number | null; maxNorm?: number | null; normType?: number; weight?: Tensor | null } = {}) {
    super();
    for (const [k, v] of [['numEmbeddings', numEmbeddings], ['embeddingDim', embeddingDim]] as const) {
      if (!Number.isInteger(v) || v <= 0) fail('Embedding', `${k} must be a positive integer, got ${v}`);
    }
    this.paddingIdx = normPaddingIdx('Embedding', paddingIdx, numEmbeddings);
    if (maxNorm !== null && !(maxNorm > 0)) fail('Embedding', `maxNorm must be positive, got ${maxNorm}`);
    this.maxNorm = maxNorm; this.normType = normType;
    if (weight) {
      if (weight.shape.join() !== `${numEmbeddings},${embeddingDim}`) fail('Embedding', `weight must have shape [${numEmbeddings}, ${embeddingDim}], got ${shapeStr(weight.shape)}`);
      this.weight = new Parameter(weight);
    } else {
      // PyTorch: normal_(0, 1), then the padding row is zeroed
      const w = normalArray(numEmbeddings * embeddingDim);
      if (this.paddingIdx !== null) w.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
      this.weight = new Parameter(tensor(w, [numEmbeddings, embeddingDim]));
    }
  }
  /** nn.Embedding.from_pretrained: the weight is used as given (not copied); frozen by default. */
  static fromPretrained(embeddings: Tensor, { freeze = true, paddingIdx = null, maxNorm = null, normType = 2 }: { freeze?: boolean; paddingIdx?: number | null; maxNorm?: number | null; normType?: number } = {}): Embedding {
    if (!(embeddings instanceof Tensor) || embeddings.ndim !== 2) fail('Embedding.fromPretrained', `embeddings must be a 2-D tensor, got ${embeddings instanceof Tensor ? shapeStr(embeddings.shape) : typeof embeddings}`);
    const [V, D] = embeddings.shape;
    const e = new Embedding(V, D, { paddingIdx, maxNorm, normType, weight: embeddings });
    e.weight.requiresGrad_(!freeze);
    return e;
  }
  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, max_norm=${pyFloat(this.maxNorm)}`;
    if (this.normType !== 2) s += `, norm_type=${pyFloat(this.normType)}`;
    return s;
  }
  forward(input: Indices): Tensor {
    return embedding(input, this.weight, { paddingIdx: this.paddingIdx, maxNorm: this.maxNorm, normType: this.normType });
  }
}

// ------------------------------------------------------------------ positional encodings

/** The "Attention is all you need" table [maxLen, d], in float64 then rounded: sin on even columns, cos on odd. */
export function sinusoidalTable(maxLen: number, d: number): Float32Array {
  const out = new Float32Array(maxLen * d);
  for (let p = 0; p < maxLen; p++) {
    for (let j = 0; j < d; j++) {
      const angle = p * Math.pow(10000, -(2 * Math.floor(j / 2)) / d);
      out[p * d + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return out;
}

function checkSeq(fn: string, x: Tensor, d: number, maxLen: number, batchFirst: boolean, offset = 0): number {
  const layout = batchFirst ? '[B, T, d]' : '[T, B, d]';
  if (!(x instanceof Tensor) || x.ndim !== 3 || x.shape[2] !== d) fail(fn, `expected input ${layout} with d = ${d}${batchFirst ? '' : ' (batchFirst: false)'}, got ${x instanceof Tensor ? shapeStr(x.shape) : typeof x}`);
  const T = x.shape[batchFirst ? 1 : 0];
  if (offset + T > maxLen) fail(fn, `sequence length ${T}${offset ? ` at offset ${offset}` : ''} exceeds maxLen ${maxLen} (input ${shapeStr(x.shape)}, ${layout})`);
  return T;
}

/**
 * x + PE[:T] followed by dropout, as the PyTorch transformer tutorial's PositionalEncoding:
 * PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)). x is [T, B, d]
 * (batchFirst: false, the default, as nn.Transformer) or [B, T, d]. The table is a constant
 * of the module (a non-persistent buffer: not in the state dict). Odd d is allowed.
 */
export class SinusoidalPositionalEncoding extends Module {
  readonly maxLen: number;
  readonly p: number;
  readonly batchFirst: boolean;
  #pe: Tensor;
  constructor(readonly dModel: number, { maxLen = 5000, dropout: p = 0.1, batchFirst = false }: { maxLen?: number; dropout?: number; batchFirst?: boolean } = {}) {
    super();
    if (!Number.isInteger(dModel) || dModel <= 0) fail('SinusoidalPositionalEncoding', `dModel must be a positive integer, got ${dModel}`);
    if (!Number.isInteger(maxLen) || maxLen <= 0) fail('SinusoidalPositionalEncoding', `maxLen must be a positive integer, got ${maxLen}`);
    if (!(p >= 0 && p <= 1)) fail('SinusoidalPositionalEncoding', `dropout must be in [0, 1], got ${p}`);
    this.maxLen = maxLen; this.p = p; this.batchFirst = batchFirst;
    this.#pe = tensor(sinusoidalTable(maxLen, dModel), [maxLen, dModel]);
  }
  /** the table [maxLen, dModel] */
  get pe(): Tensor { return this.#pe; }
  forward(x: Tensor): Tensor {
    const T = checkSeq('SinusoidalPositionalEncoding', x, this.dModel, this.maxLen, this.batchFirst);
    const pe = this.#pe.narrow(0, 0, T);
    return dropout(x.add(this.batchFirst ? pe.unsqueeze(0) : pe.unsqueeze(1)), { p: this.p, training: this.training });
  }
}

/**
 * x + weight[offset : offset + T]: a learned table [maxLen, dModel] (state-dict key `weight`,
 * initialised N(0, 1) as nn.Embedding). x is [T, B, d] (default) or [B, T, d] with batchFirst.
 */
export class LearnedPositionalEmbedding extends Module {
  weight: Parameter;
  readonly batchFirst: boolean;
  constructor(readonly maxLen: number, readonly dModel: number, { batchFirst = false }: { batchFirst?: boolean } = {}) {
    super();
    for (const [k, v] of [['maxLen', maxLen], ['dModel', dModel]] as const) {
      if (!Number.isInteger(v) || v <= 0) fail('LearnedPositionalEmbedding', `${k} must be a positive integer, got ${v}`);
    }
    this.batchFirst = batchFirst;
    this.weight = new Parameter(tensor(normalArray(maxLen * dModel), [maxLen, dModel]));
  }
  forward(x: Tensor, { offset = 0 }: { offset?: number } = {}): Tensor {
    if (!Number.isInteger(offset) || offset < 0) fail('LearnedPositionalEmbedding', `offset must be a non-negative integer, got ${offset}`);
    const T = checkSeq('LearnedPositionalEmbedding', x, this.dModel, this.maxLen, this.batchFirst, offset);
    const pe = this.weight.narrow(0, offset, T);
    return x.add(this.batchFirst ? pe.unsqueeze(0) : pe.unsqueeze(1));
  }
}

// ------------------------------------------------------------------ rotary embeddings

export interface RotaryOptions {
  /** theta_i = base^(-2i / rotaryDim); default 10000 */
  base?: number;
  /**
   * position of each of the T rows, default 0..T-1: host numbers (any values), or an int32
   * tensor [T] of positions in [0, maxPositions) whose cos/sin rows are gathered from a table
   * computed on the host (an out-of-range position gives NaN rows)
   */
  positions?: Tensor | number[] | Int32Array;
  /** how many leading channels of the head are rotated (even; default all of Dh), as GPT-NeoX's rotary_pct */
  rotaryDim?: number;
  /** size of the table that a positions tensor indexes (default 4096) */
  maxPositions?: number;
}

/**
 * cos and sin [P, h] of pos[t] * base^(-2i / rd), i < h = rd / 2, computed in float64 on the
 * host and rounded once (WGSL's sin/cos are only accurate to 2^-11 absolute, and PyTorch's
 * float32 tables are exact to an ulp).
 */
function hostTables(pos: ArrayLike<number>, rd: number, base: number): [Tensor, Tensor] {
  const h = rd / 2, P = pos.length;
  const c = new Float32Array(P * h), s = new Float32Array(P * h);
  for (let t = 0; t < P; t++) {
    for (let i = 0; i < h; i++) {
      const a = pos[t] * Math.pow(base, (-2 * i) / rd);
      c[t * h + i] = Math.cos(a); s[t * h + i] = Math.sin(a);
    }
  }
  return [tensor(c, [P, h]), tensor(s, [P, h])];
}

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

function checkPositions(fn: string, positions: Tensor, T: number): void {
  if (positions.dtype !== 'int32' || positions.ndim !== 1 || positions.shape[0] !== T) {
    fail(fn, `a positions tensor must be int32 with shape [${T}] (one per row of the sequence), got dtype ${positions.dtype} with shape ${shapeStr(positions.shape)}`);
  }
}

/** Rows `positions` of the tables; rows of out-of-range positions are NaN (the read itself is clamped). */
function gatherTables([cosT, sinT]: [Tensor, Tensor], positions: Tensor): [Tensor, Tensor] {
  const ok = positions.ge(0).logicalAnd(positions.lt(cosT.shape[0])).unsqueeze(1);
  const nan = nanTensor();
  return [ok.where(cosT.indexSelect(0, positions), nan), ok.where(sinT.indexSelect(0, positions), nan)];
}

function rotate(x: Tensor, cos: Tensor, sin: Tensor, rd: number): Tensor {
  const Dh = x.shape[x.ndim - 1], h = rd / 2;
  const x1 = x.narrow(-1, 0, h), x2 = x.narrow(-1, h, h);
  const parts = [x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))];
  if (rd < Dh) parts.push(x.narrow(-1, rd, Dh - rd));
  return concat(parts, -1);
}

function checkRotary(fn: string, x: Tensor, rd: number): void {
  if (!(x instanceof Tensor) || x.ndim !== 4) fail(fn, `expected input [B, H, T, Dh], got ${x instanceof Tensor ? shapeStr(x.shape) : typeof x}`);
  if (x.dtype !== 'float32') fail(fn, `expected a float32 input, got ${x.dtype}`);
  const Dh = x.shape[3];
  if (!Number.isInteger(rd) || rd <= 0 || rd % 2 !== 0 || rd > Dh) fail(fn, `the rotated dims must be a positive even number <= the head dim ${Dh} (input ${shapeStr(x.shape)}), got ${rd}`);
}

function hostPositions(fn: string, positions: number[] | Int32Array, T: number): ArrayLike<number> {
  if (positions.length !== T) fail(fn, `positions must have ${T} entries (one per row of the sequence), got ${positions.length}`);
  for (const p of Array.from(positions)) if (!Number.isFinite(p)) fail(fn, `positions must be finite numbers, got ${p}`);
  return positions;
}

/**
 * Rotary position embedding of x [B, H, T, Dh] (queries or keys), in the GPT-NeoX / LLaMA
 * (Hugging Face) half-split convention: channel i is paired with channel i + rd/2, not with
 * its neighbour (the original RoFormer / Meta-LLaMA interleaved layout);
 *   out[..., :h] = x1 cos - x2 sin,  out[..., h:rd] = x2 cos + x1 sin,  angle(t, i) = pos_t * base^(-2i/rd),
 * channels past rd pass through unchanged.
 */
export function rotaryEmbedding(x: Tensor, { base = 10000, positions, rotaryDim, maxPositions = 4096 }: RotaryOptions = {}): Tensor {
  const rd = rotaryDim ?? (x instanceof Tensor ? x.shape[x.ndim - 1] : 0);
  checkRotary('rotaryEmbedding', x, rd);
  if (!(base > 0)) fail('rotaryEmbedding', `base must be positive, got ${base}`);
  const T = x.shape[2];
  let tables: [Tensor, Tensor];
  if (positions instanceof Tensor) {
    checkPositions('rotaryEmbedding', positions, T);
    if (!Number.isInteger(maxPositions) || maxPositions <= 0) fail('rotaryEmbedding', `maxPositions must be a positive integer, got ${maxPositions}`);
    tables = gatherTables(hostTables(range(maxPositions), rd, base), positions);
  } else tables = hostTables(positions ? hostPositions('rotaryEmbedding', positions, T) : range(T), rd, base);
  return rotate(x, tables[0], tables[1], rd);
}

/**
 * nn.RotaryEmbedding(dim, {base, maxPositions}): rotates the first `dim` channels of each head
 * of x [B, H, T, Dh] (dim <= Dh, even); see F.rotaryEmbedding. The cos/sin table for
 * positions 0..maxPositions-1 is built once on first use (grown if a longer sequence comes
 * with default positions); a constant, not in the state dict.
 */
export class RotaryEmbedding extends Module {
  readonly base: number;
  readonly maxPositions: number;
  #table: [Tensor, Tensor] | null = null;
  constructor(readonly dim: number, { base = 10000, maxPositions = 4096 }: { base?: number; maxPositions?: number } = {}) {
    super();
    if (!Number.isInteger(dim) || dim <= 0 || dim % 2 !== 0) fail('RotaryEmbedding', `dim must be a positive even integer, got ${dim}`);
    if (!(base > 0)) fail('RotaryEmbedding', `base must be positive, got ${base}`);
    if (!Number.isInteger(maxPositions) || maxPositions <= 0) fail('RotaryEmbedding', `maxPositions must be a positive integer, got ${maxPositions}`);
    this.base = base; this.maxPositions = maxPositions;
  }
  private table(n: number): [Tensor, Tensor] {
    const t = this.#table;
    if (t && !t[0].isDisposed && !t[1].isDisposed && t[0].shape[0] >= n) return t;
    this.#table = hostTables(range(Math.max(n, this.maxPositions)), this.dim, this.base);
    return this.#table;
  }
  forward(x: Tensor, { positions }: { positions?: RotaryOptions['positions'] } = {}): Tensor {
    checkRotary('RotaryEmbedding', x, this.dim);
    const T = x.shape[2];
    let cs: [Tensor, Tensor];
    if (positions instanceof Tensor) { checkPositions('RotaryEmbedding', positions, T); cs = gatherTables(this.table(this.maxPositions), positions); }
    else if (positions) cs = hostTables(hostPositions('RotaryEmbedding', positions, T), this.dim, this.base);
    else { const [c, s] = this.table(T); cs = [c.narrow(0, 0, T), s.narrow(0, 0, T)]; }
    return rotate(x, cs[0], cs[1], this.dim);
  }
}
