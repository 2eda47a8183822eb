// The Transformer layers with PyTorch's names, options, defaults and state-dict keys:
// TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder
// (numLayers deep copies of one layer, as PyTorch's _get_clones) and Transformer. Composed of
// MultiheadAttention (mha.ts), Linear, LayerNorm and Dropout; masks follow MHA's convention
// (bool true = not allowed, float added).
import { Tensor, tensor, zeros, assign } from '../graph/tensor.js';
import { shapeStr } from '../graph/ir.js';
import { Module, Parameter, type AnyModule } from './module.js';
import { Linear, Dropout } from './layers.js';
import { ModuleList } from './containers.js';
import { LayerNorm } from './norm.js';
import { MultiheadAttention, fail, xavierUniform } from './mha.js';
import * as F from './functional.js';

export { MultiheadAttention } from './mha.js';
export type { MultiheadAttentionOptions, MultiheadAttentionForwardOptions } from './mha.js';

export type Activation = 'relu' | 'gelu' | ((x: Tensor) => Tensor) | Module;

export interface TransformerLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  /** 'relu', 'gelu', a function of a tensor or a module */
  activation?: Activation;
  layerNormEps?: number;
  /** inputs and outputs are [batch, seq, feature] instead of [seq, batch, feature] */
  batchFirst?: boolean;
  /** LayerNorm before attention and feed-forward (pre-norm) instead of after the residual add */
  normFirst?: boolean;
  /** false: no bias in the Linear layers, MultiheadAttention and LayerNorm */
  bias?: boolean;
}

export interface EncoderLayerForwardOptions {
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

export interface DecoderLayerForwardOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

function checkActivation(name: string, a: Activation): void {
  if (a !== 'relu' && a !== 'gelu' && typeof a !== 'function' && !(a instanceof Module)) {
    fail(name, `activation must be 'relu', 'gelu', a function or a Module, got ${typeof a === 'string' ? `'${a}'` : typeof a}`);
  }
}

function activate(a: Activation, x: Tensor): Tensor {
  if (a === 'relu') return x.relu();
  if (a === 'gelu') return F.gelu(x);
  return a instanceof Module ? a.call(x) : a(x);
}

/** Checks that x is a float32 [.., dModel] sequence (2-D unbatched or 3-D). */
function checkInput(name: string, what: string, x: Tensor, dModel: number, batchFirst: boolean): void {
  if (!(x instanceof Tensor)) fail(name, `expected ${what} to be a Tensor, got ${typeof x}`);
  if (x.dtype !== 'float32') fail(name, `expected ${what} of dtype float32, got ${x.dtype}`);
  if (x.ndim !== 2 && x.ndim !== 3) fail(name, `expected ${what} of shape ${batchFirst ? '[batch, seq, dModel]' : '[seq, batch, dModel]'} (or unbatched [seq, dModel]), got ${shapeStr(x.shape)}`);
  if (x.shape[x.ndim - 1] !== dModel) fail(name, `${what} ${shapeStr(x.shape)} has ${x.shape[x.ndim - 1]} features in its last dim, expected dModel ${dModel}`);
}

/** The parts both layers share: the feed-forward block and the options. */
abstract class TransformerLayerBase extends Module {
  abstract selfAttn: MultiheadAttention;
  abstract linear1: Linear;
  abstract dropout: Dropout;
  abstract linear2: Linear;
  readonly dModel: number;
  readonly normFirst: boolean;
  readonly activation: Activation;

  constructor(name: string, dModel: number, nhead: number, opts: TransformerLayerOptions) {
    super();
    const { dimFeedforward = 2048, dropout = 0.1, activation = 'relu', normFirst = false } = opts;
    if (!Number.isInteger(dimFeedforward) || dimFeedforward <= 0) fail(name, `dimFeedforward must be a positive integer, got ${dimFeedforward}`);
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail(name, `dropout must be a number in [0, 1), got ${dropout}`);
    if (!Number.isInteger(nhead) || nhead <= 0) fail(name, `nhead must be a positive integer, got ${nhead}`);
    if (dModel % nhead !== 0) fail(name, `dModel (${dModel}) must be divisible by nhead (${nhead})`);
    checkActivation(name, activation);
    this.dModel = dModel; this.normFirst = normFirst; this.activation = activation;
  }

  protected get batchFirst(): boolean { return this.selfAttn.batchFirst; }

  protected ffBlock(x: Tensor, out: Dropout): Tensor {
    return out.call(this.linear2.call(this.dropout.call(activate(this.activation, this.linear1.call(x)))));
  }
}

/** The submodules shared by both layers, created in PyTorch's registration order. */
function parts(dModel: number, nhead: number, opts: TransformerLayerOptions) {
  const { dimFeedforward = 2048, dropout = 0.1, layerNormEps = 1e-5, batchFirst = false, bias = true } = opts;
  return {
    attn: () => new MultiheadAttention(dModel, nhead, { dropout, bias, batchFirst }),
    linear1: () => new Linear(dModel, dimFeedforward, { bias }),
    linear2: () => new Linear(dimFeedforward, dModel, { bias }),
    dropout: () => new Dropout(dropout),
    norm: () => new LayerNorm(dModel, { eps: layerNormEps, bias }),
  };
}

/** torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with a residual. */
export class TransformerEncoderLayer extends TransformerLayerBase {
  // fields in PyTorch's registration order (the state-dict order)
  selfAttn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;

  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super('TransformerEncoderLayer', dModel, nhead, opts);
    const p = parts(dModel, nhead, opts);
    this.selfAttn = p.attn(); this.linear1 = p.linear1(); this.dropout = p.dropout(); this.linear2 = p.linear2();
    this.norm1 = p.norm(); this.norm2 = p.norm(); this.dropout1 = p.dropout(); this.dropout2 = p.dropout();
  }

  /** src [seq, batch, dModel] ([batch, seq, dModel] with batchFirst, or unbatched [seq, dModel]). */
  forward(src: Tensor, { srcMask = null, srcKeyPaddingMask = null, isCausal = false }: EncoderLayerForwardOptions = {}): Tensor {
    checkInput('TransformerEncoderLayer', 'src', src, this.dModel, this.batchFirst);
    const sa = (x: Tensor) => this.dropout1.call(this.selfAttn.call(x, x, x, { attnMask: srcMask, keyPaddingMask: srcKeyPaddingMask, needWeights: false, isCausal })[0]);
    let x = src;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      return x.add(this.ffBlock(this.norm2.call(x), this.dropout2));
    }
    x = this.norm1.call(x.add(sa(x)));
    return this.norm2.call(x.add(this.ffBlock(x, this.dropout2)));
  }
}

/** torch.nn.TransformerDecoderLayer: self-attention, attention over the memory, feed-forward. */
export class TransformerDecoderLayer extends TransformerLayerBase {
  selfAttn: MultiheadAttention;
  multiheadAttn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;

  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super('TransformerDecoderLayer', dModel, nhead, opts);
    const p = parts(dModel, nhead, opts);
    this.selfAttn = p.attn(); this.multiheadAttn = p.attn();
    this.linear1 = p.linear1(); this.dropout = p.dropout(); this.linear2 = p.linear2();
    this.norm1 = p.norm(); this.norm2 = p.norm(); this.norm3 = p.norm();
    this.dropout1 = p.dropout(); this.dropout2 = p.dropout(); this.dropout3 = p.dropout();
  }

  /** tgt [T, batch, dModel], memory [S, batch, dModel] (batchFirst: batch first; or unbatched). */
  forward(tgt: Tensor, memory: Tensor, o: DecoderLayerForwardOptions = {}): Tensor {
    const name = 'TransformerDecoderLayer';
    checkInput(name, 'tgt', tgt, this.dModel, this.batchFirst);
    checkInput(name, 'memory', memory, this.dModel, this.batchFirst);
    const sa = (x: Tensor) => this.dropout1.call(this.selfAttn.call(x, x, x,
      { attnMask: o.tgtMask, keyPaddingMask: o.tgtKeyPaddingMask, isCausal: o.tgtIsCausal, needWeights: false })[0]);
    const mha = (x: Tensor) => this.dropout2.call(this.multiheadAttn.call(x, memory, memory,
      { attnMask: o.memoryMask, keyPaddingMask: o.memoryKeyPaddingMask, isCausal: o.memoryIsCausal, needWeights: false })[0]);
    let x = tgt;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      x = x.add(mha(this.norm2.call(x)));
      return x.add(this.ffBlock(this.norm3.call(x), this.dropout3));
    }
    x = this.norm1.call(x.add(sa(x)));
    x = this.norm2.call(x.add(mha(x)));
    return this.norm3.call(x.add(this.ffBlock(x, this.dropout3)));
  }
}

/**
 * copy.deepcopy of a module, as PyTorch's _get_clones: the same structure and options, each
 * parameter and buffer in storage of its own holding the same values (copied on the device by
 * the next run; assign keeps the copy ordered before any later write to the original).
 */
export function deepCopy<M extends AnyModule>(m: M): M {
  const c = Object.create(Object.getPrototypeOf(m));
  for (const [k, v] of Object.entries(m)) c[k] = copyValue(v);
  return c;
}
function copyValue(v: unknown): unknown {
  if (v instanceof Module) return deepCopy(v);
  if (v instanceof Parameter) return assign(new Parameter(zeros(v.shape), v.requiresGrad), v.detach());
  if (v instanceof Tensor) return assign(zeros(v.shape, { dtype: v.dtype }), v.detach());
  if (Array.isArray(v)) return v.map(copyValue);
  if (v instanceof Set) return new Set(v);
  if (v instanceof Map) return new Map(v);
  return v;
}

function checkNumLayers(name: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) fail(name, `numLayers must be a positive integer, got ${n}`);
}

/** torch.nn.TransformerEncoder: numLayers copies of encoderLayer, then an optional norm. */
export class TransformerEncoder extends Module {
  layers: ModuleList<Module>;
  norm: Module | null;
  constructor(encoderLayer: Module, readonly numLayers: number, { norm = null }: { norm?: Module | null } = {}) {
    super();
    checkNumLayers('TransformerEncoder', numLayers);
    if (!(encoderLayer instanceof Module)) fail('TransformerEncoder', `encoderLayer must be a Module, got ${typeof encoderLayer}`);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepCopy(encoderLayer)));
    this.norm = norm;
  }
  /** src as the layer's; mask [S, S] or [batch * nhead, S, S], srcKeyPaddingMask [batch, S]. */
  forward(src: Tensor, { mask = null, srcKeyPaddingMask = null, isCausal = false }: { mask?: Tensor | null; srcKeyPaddingMask?: Tensor | null; isCausal?: boolean } = {}): Tensor {
    let x = src;
    for (const l of this.layers) x = l.call(x, { srcMask: mask, srcKeyPaddingMask, isCausal });
    return this.norm ? this.norm.call(x) : x;
  }
}

/** torch.nn.TransformerDecoder: numLayers copies of decoderLayer, then an optional norm. */
export class TransformerDecoder extends Module {
  layers: ModuleList<Module>;
  norm: Module | null;
  constructor(decoderLayer: Module, readonly numLayers: number, { norm = null }: { norm?: Module | null } = {}) {
    super();
    checkNumLayers('TransformerDecoder', numLayers);
    if (!(decoderLayer instanceof Module)) fail('TransformerDecoder', `decoderLayer must be a Module, got ${typeof decoderLayer}`);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepCopy(decoderLayer)));
    this.norm = norm;
  }
  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}): Tensor {
    let x = tgt;
    for (const l of this.layers) x = l.call(x, memory, opts);
    return this.norm ? this.norm.call(x) : x;
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  /** used instead of the TransformerEncoder built from the options */
  customEncoder?: Module | null;
  customDecoder?: Module | null;
}

export interface TransformerForwardOptions extends DecoderLayerForwardOptions {
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
}

/** torch.nn.Transformer: an encoder over src and a decoder over tgt attending to its output. */
export class Transformer extends Module {
  encoder: Module;
  decoder: Module;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(opts: TransformerOptions = {}) {
    super();
    const { dModel = 512, nhead = 8, numEncoderLayers = 6, numDecoderLayers = 6, customEncoder = null, customDecoder = null, ...layer } = opts;
    const lo: TransformerLayerOptions = { dimFeedforward: 2048, dropout: 0.1, ...layer };
    const norm = () => new LayerNorm(dModel, { eps: lo.layerNormEps ?? 1e-5, bias: lo.bias ?? true });
    this.encoder = customEncoder ?? new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, lo), numEncoderLayers, { norm: norm() });
    this.decoder = customDecoder ?? new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, lo), numDecoderLayers, { norm: norm() });
    this.dModel = dModel; this.nhead = nhead; this.batchFirst = lo.batchFirst ?? false;
    // as Transformer._reset_parameters: xavier_uniform_ on every matrix, so the copies differ
    for (const p of this.parameters()) if (p.ndim === 2) assign(p, xavierUniform([p.shape[0], p.shape[1]]));
  }

  /** src [S, batch, dModel], tgt [T, batch, dModel] (batchFirst: batch first; or unbatched 2-D); returns [T, batch, dModel]. */
  forward(src: Tensor, tgt: Tensor, o: TransformerForwardOptions = {}): Tensor {
    const name = 'Transformer';
    checkInput(name, 'src', src, this.dModel, this.batchFirst);
    checkInput(name, 'tgt', tgt, this.dModel, this.batchFirst);
    if (src.ndim !== tgt.ndim) fail(name, `src ${shapeStr(src.shape)} and tgt ${shapeStr(tgt.shape)} must both be batched (3-D) or both unbatched (2-D)`);
    const bdim = this.batchFirst ? 0 : 1;
    if (src.ndim === 3 && src.shape[bdim] !== tgt.shape[bdim]) {
      fail(name, `src ${shapeStr(src.shape)} and tgt ${shapeStr(tgt.shape)} have different batch sizes (dim ${bdim}); batchFirst is ${this.batchFirst}, so they are read as ${this.batchFirst ? '[batch, seq, dModel]' : '[seq, batch, dModel]'}`);
    }
    const memory = this.encoder.call(src, { mask: o.srcMask, srcKeyPaddingMask: o.srcKeyPaddingMask, isCausal: o.srcIsCausal });
    return this.decoder.call(tgt, memory, o);
  }

  /** The float causal mask [n, n]: 0 on and below the diagonal, -inf above, as PyTorch. */
  static generateSquareSubsequentMask(n: number): Tensor {
    if (!Number.isInteger(n) || n <= 0) fail('Transformer.generateSquareSubsequentMask', `n must be a positive integer, got ${n}`);
    const m = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = -Infinity;
    return tensor(m, [n, n]);
  }
}
