// Tensor: a lazy handle to a graph node. Ops record nodes (shapes and dtypes checked here,
// when the node is built); nothing runs until a value is asked for.
import { Node, type Shape, numel, shapeStr, broadcastShapes, sameShape } from './ir.js';
import { type DType, type HostArray, DTYPES, DTYPE_INFO, isFloat, isDType, resultType, f16fromBits, perWord } from './dtype.js';
import { OPS, node, type OpName, type OpAttrs } from './ops/index.js';
import type { ElementwiseDef } from './ops/types.js';
import type { ElementwiseOp } from './ops/elementwise.js';
import { attentionInputList, type AttentionInputs, type AttentionAttrs, type AttentionOp } from './ops/attention.js';
import type { WindowAttrs } from './ops/view.js';
import { readable } from './views.js';
import { state, scopeSuffix } from './state.js';
import { realize, readback, uploadNode } from './realize.js';
import { backward as runBackward } from './autodiff.js';
import { autocastInputs, autocastElementwise } from './autocast.js';
import { options, argError, describe, checkNumber, checkTensor, sizeArgs } from './args.js';
import * as C from './compose.js';
import * as O from './ordered.js';
import { formatTensor, PRINT_LIMIT } from './print.js';

export type TensorLike = Tensor | number;
export type Data = ArrayLike<number> | number | NestedArray;
type NestedArray = (number | boolean | NestedArray)[];


function opError(op: string, msg: string): Error {
  return new Error(`${op}: ${msg}${scopeSuffix()}`);
}

export function checkDtype(op: string, t: Tensor, accepts: 'float' | 'numeric' | 'bool' | 'any' = 'numeric'): void {
  const ok = accepts === 'any' ? true : accepts === 'bool' ? t.dtype === 'bool' : accepts === 'float' ? isFloat(t.dtype) : t.dtype !== 'bool';
  if (!ok) {
    const want = accepts === 'float' ? 'a floating-point tensor (float32)' : accepts === 'bool' ? 'a bool tensor' : 'a numeric tensor (float32 or int32)';
    throw opError(op, `expected ${want}, got dtype ${t.dtype} with shape ${shapeStr(t.shape)}`);
  }
}

export interface VarOptions { correction?: number; unbiased?: boolean }

export class Tensor {
  #grad: Tensor | null = null;
  /** the values data() last read, while the tensor still holds that node (for printing) */
  #host: { node: Node; values: HostArray } | null = null;
  private disposed = false;
  /** a human-readable name for errors (set by modules for their parameters) */
  name?: string;

  constructor(private _node: Node) {
    if (!_node.realized && !state.tracing) state.live.add(new WeakRef(this));
  }

  get node(): Node {
    if (this.disposed) throw new Error(`Tensor${this.name ? ` '${this.name}'` : ''} with shape ${shapeStr(this._node.shape)} was disposed; it cannot be used any more.`);
    return this._node;
  }
  /** Gradient accumulated by backward(), a lazy tensor like any other. */
  get grad(): Tensor | null { return this.#grad; }
  set grad(g: Tensor | null) {
    const prev = this.#grad;
    state.undo?.push(() => { this.#grad = prev; });
    this.#grad = g;
  }
  /**
   * Replaces the value this handle points at (optimizers and load_state_dict use it). While a
   * trace records, the change can be undone: a trace that throws leaves every tensor as it was.
   */
  setNode(n: Node): void {
    const prev = this._node;
    state.undo?.push(() => { this._node = prev; });
    n.leaf = this._node.leaf ? this : n.leaf;
    n.requiresGrad = this._node.requiresGrad;
    this._node = n;
  }
  get shape(): number[] { return this.node.shape.slice(); }
  get dtype(): DType { return this.node.dtype; }
  get ndim(): number { return this.node.shape.length; }
  get requiresGrad(): boolean { return this.node.requiresGrad; }
  get isDisposed(): boolean { return this.disposed; }
  numel(): number { return numel(this.node.shape); }
  size(dim?: number): number | number[] { return dim === undefined ? this.shape : this.shape[normDim(dim, this.ndim, 'size')]; }

  static fromNode(n: Node): Tensor { return new Tensor(n); }

  // ---------------------------------------------------------------- values
  /** Runs what is needed and reads the value back as a typed array. */
  async data(): Promise<HostArray> {
    // a view of stored data (a parameter inside an optimizer's arena) is read through a
    // copy: giving the view its own storage would freeze it at today's value
    const n = readable(this.node), at = this._node;
    await realize([n]);
    const values = await readback(n);
    if (values.length <= PRINT_LIMIT) this.#host = { node: at, values: values.slice() };
    return values;
  }
  async item(): Promise<number> {
    if (this.numel() !== 1) throw new Error(`item(): expected a tensor with one element, got shape ${shapeStr(this.shape)}`);
    return (await this.data())[0];
  }
  async tolist(): Promise<number[]> { return Array.from(await this.data()); }
  /** Releases the GPU memory now instead of waiting for garbage collection. */
  dispose(): void {
    if (this.disposed) return;
    // a pending assign (loadStateDict) may still read it: the collector frees it later
    if (this._node.storage && !this._node.leaf && !state.pendingAssigns.length) this._node.releaseStorage();
    this.disposed = true;
  }

  requiresGrad_(on = true): this {
    if (on && !isFloat(this.dtype)) throw new Error(`requiresGrad_(): only floating-point tensors can require gradients, got dtype ${this.dtype}`);
    const n = this.node;
    n.requiresGrad = on;
    n.leaf = on ? this : undefined;
    return this;
  }
  /** A copy with storage of its own, as torch.clone (gradients flow through it). */
  clone(): Tensor { return make('copy', [this], {}); }
  detach(): Tensor { return new Tensor(node('reshape', [this.node], { shape: this.shape })); }
  backward(gradient?: Tensor): void { runBackward(this, gradient); }

  // ---------------------------------------------------------------- elementwise
  private un(op: ElementwiseOp, attrs: any = {}): Tensor { return elementwise(op, [this], attrs); }
  private bin(op: ElementwiseOp, other: TensorLike): Tensor { return elementwise(op, [this, other], {}); }
  neg(): Tensor { return this.un('neg'); }
  exp(): Tensor { return this.un('exp'); }
  log(): Tensor { return this.un('log'); }
  log1p(): Tensor { return this.un('log1p'); }
  sqrt(): Tensor { return this.un('sqrt'); }
  rsqrt(): Tensor { return this.un('rsqrt'); }
  abs(): Tensor { return this.un('abs'); }
  sign(): Tensor { return this.un('sign'); }
  sin(): Tensor { return this.un('sin'); }
  cos(): Tensor { return this.un('cos'); }
  floor(): Tensor { return this.un('floor'); }
  ceil(): Tensor { return C.ceil(this); }
  round(): Tensor { return isFloat(this.dtype) ? this.un('round') : this; }
  expm1(): Tensor { return this.un('expm1'); }
  square(): Tensor { return C.square(this); }
  reciprocal(): Tensor { return C.reciprocal(this); }
  erf(): Tensor { return this.un('erf'); }
  relu(): Tensor { return this.un('relu'); }
  leakyRelu(opts?: { negativeSlope?: number }): Tensor {
    const { negativeSlope = 0.01 } = options('leakyRelu', opts, ['negativeSlope']);
    return this.un('leakyRelu', { negativeSlope: checkNumber('leakyRelu', 'negativeSlope', negativeSlope) });
  }
  elu(opts?: { alpha?: number }): Tensor {
    const { alpha = 1 } = options('elu', opts, ['alpha']);
    return this.un('elu', { alpha: checkNumber('elu', 'alpha', alpha) });
  }
  sigmoid(): Tensor { return this.un('sigmoid'); }
  tanh(): Tensor { return this.un('tanh'); }
  softplus(opts?: { beta?: number; threshold?: number }): Tensor {
    const { beta = 1, threshold = 20 } = options('softplus', opts, ['beta', 'threshold']);
    return this.un('softplus', { beta: checkNumber('softplus', 'beta', beta), threshold: checkNumber('softplus', 'threshold', threshold) });
  }
  gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor {
    const { approximate = 'none' } = options('gelu', opts, ['approximate']);
    if (approximate !== 'none' && approximate !== 'tanh') throw opError('gelu', `approximate must be 'none' or 'tanh', got ${describe(approximate)}`);
    return this.un(approximate === 'tanh' ? 'geluTanh' : 'gelu');
  }
  silu(): Tensor { return this.un('silu'); }
  logicalNot(): Tensor { return this.un('logicalNot'); }
  isfinite(): Tensor { return this.un('isfinite'); }
  hardtanh(opts?: { minVal?: number; maxVal?: number }): Tensor { return C.hardtanh(this, opts); }
  relu6(): Tensor { return C.relu6(this); }
  hardswish(): Tensor { return C.hardswish(this); }
  logSigmoid(): Tensor { return C.logSigmoid(this); }
  /** this + alpha * o, as torch.add */
  add(o: TensorLike, opts?: { alpha?: number }): Tensor { return this.bin('add', scaled('add', o, opts)); }
  sub(o: TensorLike, opts?: { alpha?: number }): Tensor { return this.bin('sub', scaled('sub', o, opts)); }
  isnan(): Tensor { return this.un('isnan'); }
  isinf(): Tensor { return this.un('isinf'); }
  /** As torch.nan_to_num: NaN to `nan` (0), infinities to `posinf`/`neginf` (default: the dtype's largest finite values). */
  nanToNum(opts?: { nan?: number; posinf?: number; neginf?: number }): Tensor {
    const { nan = 0, posinf, neginf } = options('nanToNum', opts, ['nan', 'posinf', 'neginf']);
    checkDtype('nanToNum', this, 'float');
    const big = this.dtype === 'float16' ? 65504 : 3.4028234663852886e38;
    for (const [k, v] of Object.entries({ nan, posinf, neginf })) {
      if (v !== undefined && typeof v !== 'number') throw opError('nanToNum', `${k} must be a number, got ${typeof v}`);
    }
    return this.un('nanToNum', { nan, posinf: posinf ?? big, neginf: neginf ?? -big });
  }
  mul(o: TensorLike): Tensor { return this.bin('mul', o); }
  div(o: TensorLike): Tensor { return this.bin('div', o); }
  pow(o: TensorLike): Tensor { return this.bin('pow', o); }
  maximum(o: TensorLike): Tensor { return this.bin('maximum', o); }
  minimum(o: TensorLike): Tensor { return this.bin('minimum', o); }
  eq(o: TensorLike): Tensor { return this.bin('eq', o); }
  ne(o: TensorLike): Tensor { return this.bin('ne', o); }
  lt(o: TensorLike): Tensor { return this.bin('lt', o); }
  le(o: TensorLike): Tensor { return this.bin('le', o); }
  gt(o: TensorLike): Tensor { return this.bin('gt', o); }
  ge(o: TensorLike): Tensor { return this.bin('ge', o); }
  logicalAnd(o: TensorLike): Tensor { return this.bin('logicalAnd', o); }
  logicalOr(o: TensorLike): Tensor { return this.bin('logicalOr', o); }
  /** `cond.where(a, b)`: a where this (bool) is true, else b. */
  where(a: TensorLike, b: TensorLike): Tensor { return elementwise('where', [this, a, b], {}); }
  maskedFill(mask: Tensor, value: TensorLike): Tensor { return C.maskedFill(this, mask, value); }
  /** x.clamp(min, max), x.clamp({min}), x.clamp({max}); a bound is a number, a tensor or null. */
  clamp(min?: TensorLike | null | { min?: TensorLike | null; max?: TensorLike | null }, max?: TensorLike | null): Tensor {
    let lo = min as TensorLike | null | undefined, hi = max;
    if (min !== null && typeof min === 'object' && !(min instanceof Tensor)) {
      if (max !== undefined) throw opError('clamp', `expected clamp(min, max) or clamp({min, max}), got an options object and ${describe(max)}`);
      ({ min: lo = null, max: hi = null } = options('clamp', min, ['min', 'max']));
    }
    lo ??= null; hi ??= null;
    for (const [k, v] of [['min', lo], ['max', hi]] as const) {
      if (v !== null && !(v instanceof Tensor) && (typeof v !== 'number' || Number.isNaN(v))) throw opError('clamp', `${k} must be a number, a tensor or null, got ${describe(v)}`);
    }
    if (lo === null && hi === null) throw opError('clamp', 'at least one of min and max must be given');
    let r: Tensor = this;
    if (lo !== null) r = r.maximum(lo);
    if (hi !== null) r = r.minimum(hi);
    return r;
  }
  clampMin(min: TensorLike): Tensor { return this.clamp(min, null); }
  clampMax(max: TensorLike): Tensor { return this.clamp(null, max); }
  cast(dtype: DType): Tensor {
    if (!DTYPES.includes(dtype)) throw opError('cast', `unknown dtype '${dtype}'; expected one of ${DTYPES.join(', ')}`);
    if (dtype === this.dtype) return this;
    return elementwise('cast', [this], { dtype });
  }
  to(dtype: DType): Tensor { return this.cast(dtype); }
  float(): Tensor { return this.cast('float32'); }
  int(): Tensor { return this.cast('int32'); }

  // ---------------------------------------------------------------- reductions
  private reduce(op: 'sum' | 'max' | 'min' | 'argmax' | 'argmin', dim: number | number[] | undefined, keepdim: boolean): Tensor {
    const axes = normAxes(dim, this.ndim, op);
    if (op !== 'sum') checkDtype(op, this, 'numeric');
    const outShape = this.shape.filter((_, i) => !axes.includes(i));
    const src = this.dtype === 'bool' ? this.cast('int32') : this;
    const empty = axes.find((a) => this.shape[a] === 0);
    if (empty !== undefined && op !== 'sum') throw opError(op, `cannot reduce over an empty dimension ${empty} of shape ${shapeStr(this.shape)}: it has no identity`);
    // axes of size 1 need no kernel: reducing over them is a reshape
    const arg = op === 'argmax' || op === 'argmin';
    const reduced = arg ? axes : axes.filter((a) => this.shape[a] !== 1);
    let r = empty !== undefined ? make('fill', [src], { value: 0, shape: outShape, dtype: src.dtype })
      : reduced.length ? make(op, [src], { axes: reduced }).reshape(...outShape) : src.reshape(...outShape);
    // the kernel gives a packed dtype's wide one (float16 -> float32); integer sums stay int32
    const want: DType = arg ? 'int32' : op === 'sum' && !isFloat(src.dtype) ? 'int32' : src.dtype;
    if (r.dtype !== want) r = r.cast(want);
    return keepdim ? r.reshape(...this.shape.map((d, i) => (axes.includes(i) ? 1 : d))) : r;
  }
  private extreme(op: 'max' | 'min', dim?: number | Tensor, keepdim?: boolean | { keepdim?: boolean }): Tensor | [Tensor, Tensor] {
    if (dim instanceof Tensor || dim === undefined) {
      if (keepdim !== undefined) throw opError(op, `keepdim needs a dim, as ${op}(dim, {keepdim})`);
      return dim === undefined ? this.reduce(op, undefined, false) : op === 'max' ? this.maximum(dim) : this.minimum(dim);
    }
    if (typeof dim !== 'number') throw opError(op, `dim must be one integer (amax/amin take several), got ${describe(dim)}`);
    const kd = typeof keepdim === 'object' ? options(op, keepdim, ['keepdim']).keepdim ?? false : keepdim ?? false;
    if (typeof kd !== 'boolean') throw opError(op, `keepdim must be a boolean, got ${describe(kd)}`);
    const d = normDim(dim, this.ndim, op);
    if (this.ndim === 0) return this.reshape(1).extreme(op, 0, kd);
    const indices = this.reduce(op === 'max' ? 'argmax' : 'argmin', d, true);
    // the gradient goes to the element the index names, as PyTorch's (amax shares it among ties)
    const values = this.requiresGrad ? this.gather(d, indices) : this.reduce(op, d, true);
    return kd ? [values, indices] : [values.squeeze(d), indices.squeeze(d)];
  }
  sum(dim?: number | number[], keepdim = false): Tensor { return autocastInputs('float32', [this] as const)[0].reduce('sum', dim, keepdim); }
  /**
   * As torch.max: x.max() is the largest element; x.max(dim, keepdim?) is [values, indices]
   * (keepdim also as {keepdim}); x.max(other) is maximum(x, other).
   */
  max(): Tensor;
  max(other: Tensor): Tensor;
  max(dim: number, keepdim?: boolean | { keepdim?: boolean }): [Tensor, Tensor];
  max(dim?: number | Tensor, keepdim?: boolean | { keepdim?: boolean }): Tensor | [Tensor, Tensor] { return this.extreme('max', dim, keepdim); }
  min(): Tensor;
  min(other: Tensor): Tensor;
  min(dim: number, keepdim?: boolean | { keepdim?: boolean }): [Tensor, Tensor];
  min(dim?: number | Tensor, keepdim?: boolean | { keepdim?: boolean }): Tensor | [Tensor, Tensor] { return this.extreme('min', dim, keepdim); }
  /** The largest values over dims (ties share the gradient evenly, as torch.amax). */
  amax(dim?: number | number[], keepdim = false): Tensor { return this.reduce('max', dim, keepdim); }
  amin(dim?: number | number[], keepdim = false): Tensor { return this.reduce('min', dim, keepdim); }
  argmax(dim?: number, keepdim = false): Tensor {
    if (dim === undefined) return this.reshape(-1).reduce('argmax', 0, false);
    return this.reduce('argmax', dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    if (dim === undefined) return this.reshape(-1).reduce('argmin', 0, false);
    return this.reduce('argmin', dim, keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    checkDtype('mean', this, 'float');
    const axes = normAxes(dim, this.ndim, 'mean');
    const n = axes.reduce((p, a) => p * this.shape[a], 1);
    return this.sum(axes, keepdim).div(n);
  }
  /**
   * Variance with Bessel's correction by default (correction 1), as torch.var;
   * `{unbiased: false}` is `{correction: 0}` (PyTorch's older spelling).
   */
  var(dim?: number | number[], keepdim = false, opts?: VarOptions, fn = 'var'): Tensor {
    checkDtype(fn, this, 'float');
    const { correction: c, unbiased } = options(fn, opts, ['correction', 'unbiased']);
    if (c !== undefined && unbiased !== undefined) throw argError(fn, 'give correction or unbiased, not both');
    if (unbiased !== undefined && typeof unbiased !== 'boolean') throw argError(fn, `unbiased must be a boolean, got ${describe(unbiased)}`);
    const correction = unbiased === undefined ? (c === undefined ? 1 : checkNumber(fn, 'correction', c)) : Number(unbiased);
    if (correction < 0) throw argError(fn, `correction must be >= 0, got ${correction}`);
    const axes = normAxes(dim, this.ndim, fn);
    const n = axes.reduce((p, a) => p * this.shape[a], 1);
    const d = this.sub(this.mean(axes, true));
    // n <= correction divides by 0 as PyTorch does (inf, or NaN for a zero sum)
    return d.mul(d).sum(axes, keepdim).div(Math.max(n - correction, 0));
  }
  std(dim?: number | number[], keepdim = false, opts?: VarOptions): Tensor { return this.var(dim, keepdim, opts, 'std').sqrt(); }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    const axes = normAxes(dim, this.ndim, 'logsumexp');
    if (axes.some((a) => this.shape[a] === 0)) {
      // as PyTorch: the log of an empty sum is -inf
      const shape = this.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const r = make('fill', [this], { value: -Infinity, shape, dtype: this.dtype });
      return keepdim ? r : r.reshape(...this.shape.filter((_, i) => !axes.includes(i)));
    }
    // as PyTorch: an infinite max is not subtracted (all -inf gives -inf, a +inf gives +inf)
    const top = this.amax(axes, true).detach();
    const m = top.isinf().where(0, top);
    const r = this.sub(m).exp().sum(axes, true).log().add(m);
    return keepdim ? r : r.reshape(...this.shape.filter((_, i) => !axes.includes(i)));
  }
  /** The product over dim (every element without one), as torch.prod. */
  prod(dim?: number, keepdim = false): Tensor { return C.prod(this, dim, keepdim); }
  all(dim?: number | number[], keepdim = false): Tensor { return C.all(this, dim, keepdim); }
  any(dim?: number | number[], keepdim = false): Tensor { return C.any(this, dim, keepdim); }
  norm(opts?: { p?: number | 'fro'; dim?: number | number[]; keepdim?: boolean }): Tensor { return C.norm(this, opts); }
  softmax(dim: number): Tensor { return rows(this, dim, false); }
  logSoftmax(dim: number): Tensor { return rows(this, dim, true); }

  // ---------------------------------------------------------------- views
  reshape(...shape: (number | number[])[]): Tensor {
    const s = inferShape(flatArgs(shape), this.numel(), this.shape);
    if (sameShape(s, this.shape)) return this;
    return make('reshape', [this], { shape: s });
  }
  view(...shape: (number | number[])[]): Tensor { return this.reshape(...shape); }
  flatten(startDim = 0, endDim = -1): Tensor {
    const s = normDim(startDim, this.ndim, 'flatten'), e = normDim(endDim, this.ndim, 'flatten');
    if (this.ndim === 0) return this.reshape(1);
    const sh = this.shape;
    return this.reshape(...sh.slice(0, s), sh.slice(s, e + 1).reduce((a, b) => a * b, 1), ...sh.slice(e + 1));
  }
  unsqueeze(dim: number): Tensor {
    const d = normDim(dim, this.ndim + 1, 'unsqueeze');
    const s = this.shape; s.splice(d, 0, 1);
    return this.reshape(...s);
  }
  squeeze(dim?: number): Tensor {
    if (dim === undefined) return this.reshape(...this.shape.filter((d) => d !== 1));
    const d = normDim(dim, this.ndim, 'squeeze');
    return this.shape[d] === 1 ? this.reshape(...this.shape.filter((_, i) => i !== d)) : this;
  }
  permute(...dims: (number | number[])[]): Tensor {
    const ds = flatArgs(dims).map((d) => normDim(d, this.ndim, 'permute'));
    if (ds.length !== this.ndim || new Set(ds).size !== ds.length) throw opError('permute', `expected a permutation of ${this.ndim} dims, got [${flatArgs(dims)}] for shape ${shapeStr(this.shape)}`);
    if (ds.every((d, i) => d === i)) return this;
    return make('permute', [this], { dims: ds });
  }
  transpose(d0: number, d1: number): Tensor {
    const p = this.shape.map((_, i) => i);
    const a = normDim(d0, this.ndim, 'transpose'), b = normDim(d1, this.ndim, 'transpose');
    [p[a], p[b]] = [p[b], p[a]];
    return this.permute(...p);
  }
  t(): Tensor {
    if (this.ndim > 2) throw opError('t', `expected a tensor of at most 2 dims, got shape ${shapeStr(this.shape)}`);
    return this.ndim < 2 ? this : this.transpose(0, 1);
  }
  get T(): Tensor { return this.permute(...this.shape.map((_, i) => this.ndim - 1 - i)); }
  expand(...shape: (number | number[])[]): Tensor {
    const s = flatArgs(shape);
    const target = s.map((d, i) => (d === -1 ? this.shape[i - (s.length - this.ndim)] : d));
    return this.expandTo(target);
  }
  /** Broadcasts to `shape` (NumPy rules). */
  expandTo(shape: Shape): Tensor {
    if (sameShape(shape, this.shape)) return this;
    const b = broadcastShapes(this.shape, shape);
    if (!b || !sameShape(b, shape)) throw opError('expand', `cannot broadcast shape ${shapeStr(this.shape)} to ${shapeStr(shape)}`);
    const padded = this.ndim < shape.length ? this.reshape(...new Array(shape.length - this.ndim).fill(1), ...this.shape) : this;
    return make('expand', [padded], { shape: shape.slice() });
  }
  /** Slice per dim: starts and ends (exclusive), optional steps; like x[a:b:c, ...]. */
  slice(starts: number[], ends: number[], steps?: number[]): Tensor {
    const sh = this.shape;
    const st = sh.map((d, i) => clampIdx(starts[i] ?? 0, d));
    const en = sh.map((d, i) => clampIdx(ends[i] ?? d, d));
    const sp = sh.map((_, i) => steps?.[i] ?? 1);
    if (sp.some((s) => !(s >= 1) || !Number.isInteger(s))) throw opError('slice', `steps must be positive integers, got [${sp}]`);
    if (sh.every((d, i) => st[i] === 0 && en[i] === d && sp[i] === 1)) return this;
    return make('slice', [this], { starts: st, ends: en, steps: sp });
  }
  /** x.narrow(dim, start, length), as torch.narrow. */
  narrow(dim: number, start: number, length: number): Tensor {
    const d = normDim(dim, this.ndim, 'narrow');
    const s = this.shape.map(() => 0), e = this.shape.slice();
    s[d] = start; e[d] = start + length;
    return this.slice(s, e);
  }
  /** Zero padding: `before[i]` and `after[i]` elements on each side of dim i. */
  pad(before: number[], after: number[]): Tensor {
    if (before.every((b) => !b) && after.every((a) => !a)) return this;
    return make('pad', [this], { before: this.shape.map((_, i) => before[i] ?? 0), after: this.shape.map((_, i) => after[i] ?? 0) });
  }
  /** Reverses the order of elements along the given dims, as torch.flip (a view: no copy). */
  flip(dims: number | number[]): Tensor {
    const ds = (Array.isArray(dims) ? dims : [dims]).map((d) => normDim(d, this.ndim, 'flip'));
    if (new Set(ds).size !== ds.length) throw opError('flip', `dims must be distinct, got [${ds}]`);
    const wide = ds.filter((d) => this.shape[d] > 1).sort((a, b) => a - b);
    return wide.length ? make('flip', [this], { dims: wide }) : this;
  }
  indexSelect(dim: number, index: Tensor): Tensor { return indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return gather(this, dim, index); }
  select(dim: number, index: number): Tensor { return C.select(this, dim, index); }
  /** x.at(i, j): PyTorch's x[i, j] (integer indices, negative from the end). */
  at(...indices: number[]): Tensor { return C.at(this, ...indices); }
  unbind(opts?: { dim?: number }): Tensor[] { return C.unbind(this, opts); }
  split(sizes: number | number[], opts?: { dim?: number }): Tensor[] { return C.split(this, sizes, opts); }
  chunk(chunks: number, opts?: { dim?: number }): Tensor[] { return C.chunk(this, chunks, opts); }
  roll(shifts: number | number[], opts?: { dims?: number | number[] }): Tensor { return C.roll(this, shifts, opts); }
  repeat(...sizes: (number | number[])[]): Tensor { return C.repeat(this, flatArgs(sizes)); }
  tile(dims: number[]): Tensor { return C.tile(this, dims); }
  tril(opts?: { diagonal?: number }): Tensor { return C.tril(this, opts); }
  triu(opts?: { diagonal?: number }): Tensor { return C.triu(this, opts); }

  // ---------------------------------------------------------------- order and scatter (ordered.ts)
  cumsum(dim: number): Tensor { return O.cumsum(this, dim); }
  cumprod(dim: number): Tensor { return O.cumprod(this, dim); }
  sort(opts?: O.SortOptions): [Tensor, Tensor] { return O.sort(this, opts); }
  argsort(opts?: O.SortOptions): Tensor { return O.argsort(this, opts); }
  topk(k: number, opts?: O.TopkOptions): [Tensor, Tensor] { return O.topk(this, k, opts); }
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor { return O.scatter(this, dim, index, src); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return O.scatterAdd(this, dim, index, src); }
  indexAdd(dim: number, index: Tensor, source: Tensor, opts?: { alpha?: number }): Tensor { return O.indexAdd(this, dim, index, source, opts); }

  // ---------------------------------------------------------------- matmul
  matmul(other: Tensor): Tensor { return matmul(this, other); }
  mm(other: Tensor): Tensor { return matmul(this, other); }
  bmm(other: Tensor): Tensor { return C.bmm(this, other); }
  outer(other: Tensor): Tensor { return C.outer(this, other); }

  toString(): string {
    const host = this.#host && this.#host.node === this._node ? this.#host.values : null;
    return formatTensor(host, this.shape, this.dtype);
  }
  /** console.log(t) in Node prints toString() rather than the handle's internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string { return this.toString(); }

  static arange(n: number): Tensor { return arange(n); }
  /** Builds a node of any op (for gradient rules in the op table, which cannot import this file). */
  static make<K extends OpName>(op: K, inputs: Tensor[], attrs: OpAttrs[K]): Tensor { return make(op, inputs, attrs); }
}

// ------------------------------------------------------------------ node construction

/**
 * Records `target <- value` in place (optimizer updates, running statistics, counters);
 * `target` then refers to the new version, and readers of the old one run before the write.
 */
export function assign(target: Tensor, value: Tensor): Tensor {
  const old = target.node;
  if (value.shape.join() !== old.shape.join()) throw new Error(`assign: value shape ${shapeStr(value.shape)} does not match ${shapeStr(old.shape)}`);
  const v = value.dtype === old.dtype ? value : value.cast(old.dtype);
  const n = node('assign', [old, v.node], {});
  state.pendingAssigns.push(n);
  target.setNode(n);
  return target;
}

/** Builds a node (its op's rule gives shape and dtype) and its tensor; gradient tracking follows the inputs. */
export function make<K extends OpName>(op: K, inputs: Tensor[], attrs: OpAttrs[K]): Tensor {
  const nodes = inputs.map((t) => t.node);
  const n = node(op, nodes, attrs);
  n.requiresGrad = state.gradEnabled && nodes.some((x) => x.requiresGrad);
  return new Tensor(n);
}

function scaled(fn: string, o: TensorLike, opts?: { alpha?: number }): TensorLike {
  const { alpha } = options(fn, opts, ['alpha']);
  if (alpha === undefined) return o;
  checkNumber(fn, 'alpha', alpha);
  return typeof o === 'number' ? o * alpha : o.mul(alpha);
}

export function constant(value: number, shape: Shape, dtype: DType): Tensor {
  if (dtype === 'int32' && !Number.isInteger(value)) dtype = 'float32';
  return make('const', [], { value, shape: shape.slice(), dtype });
}

/** PyTorch's result_type of the operands (dtype.ts); where(c, 1, 0) of two numbers is float32. */
function resultDtype(op: string, ts: TensorLike[]): DType {
  const dts = ts.filter((t): t is Tensor => t instanceof Tensor).map((t) => t.dtype);
  if (op === 'where' && !dts.length) return 'float32';
  return resultType(dts, ts.filter((t): t is number => typeof t === 'number'));
}

export function elementwise(op: ElementwiseOp, args: TensorLike[], attrs: any): Tensor {
  const def = OPS[op] as ElementwiseDef<unknown>;
  args = autocastElementwise(op, args);
  const first = args.find((a): a is Tensor => a instanceof Tensor)!;
  // dtype promotion as PyTorch: floats win over ints; bool promotes in arithmetic
  let common: DType;
  if (op === 'where') {
    if (!(args[0] instanceof Tensor) || args[0].dtype !== 'bool') throw opError('where', `expected a bool condition, got ${args[0] instanceof Tensor ? `dtype ${args[0].dtype}` : 'a number'}`);
    common = resultDtype(op, args.slice(1));
  } else if (op === 'cast') common = first.dtype;
  else common = resultDtype(op, args);
  // true division, as torch.div: integers divide into floats
  if ((def.accepts === 'float' || op === 'div') && !isFloat(common)) common = 'float32';
  if (def.accepts === 'bool') for (const a of args) if (a instanceof Tensor) checkDtype(op, a, 'bool');
  // shapes: NumPy broadcasting; the error names both shapes
  let shape: number[] = [];
  for (const a of args) {
    if (!(a instanceof Tensor)) continue;
    const b = broadcastShapes(shape, a.shape);
    if (!b) {
      const shapes = args.filter((x): x is Tensor => x instanceof Tensor).map((x) => shapeStr(x.shape)).join(' and ');
      throw opError(op, `shapes ${shapes} do not broadcast: each dimension must match or be 1`);
    }
    shape = b;
  }
  const ins = args.map((a, i) => {
    const want: DType = op === 'where' && i === 0 ? 'bool' : def.accepts === 'bool' || op === 'cast' ? (a instanceof Tensor ? a.dtype : common) : common;
    if (!(a instanceof Tensor)) {
      if (Number.isNaN(a) && op !== 'where' && op !== 'maximum' && op !== 'minimum' && op !== 'add' && op !== 'sub' && op !== 'mul' && op !== 'div') throw opError(op, 'a NaN operand is not allowed here');
      return constant(a, shape, want);
    }
    if (def.accepts !== 'any' && def.accepts !== 'bool' && a.dtype === 'bool' && op !== 'where') return a.cast(want).expandTo(shape);
    const c = a.dtype !== want && def.accepts !== 'any' && op !== 'cast' ? a.cast(want) : a;
    return c.expandTo(shape);
  });
  if (def.accepts === 'numeric' || def.accepts === undefined) for (const t of ins) checkDtype(op, t, 'numeric');
  return make(op, ins, attrs);
}

function rows(x: Tensor, dim: number, log: boolean): Tensor {
  [x] = autocastInputs('float32', [x]);
  const name = log ? 'logSoftmax' : 'softmax';
  if (dim === undefined || dim === null) throw opError(name, 'dim is required, e.g. softmax(x, -1)');
  checkDtype(name, x, 'float');
  if (x.ndim === 0) return rows(x.reshape(1), 0, log).reshape();
  const d = normDim(dim, x.ndim, name);
  // the row kernels work on the last dim: move dim d there and back (views, no copies)
  const last = d === x.ndim - 1 ? x : x.transpose(d, -1);
  let y = make('softmax', [last], { log });
  if (y.dtype !== x.dtype) y = y.cast(x.dtype); // computed in the wide dtype (float16 -> float32)
  return d === x.ndim - 1 ? y : y.transpose(d, -1);
}

/**
 * Mean and biased variance over the last dim: [..., L] -> [..., 2], in one row kernel with a
 * workgroup reduction (two passes over the row, so the variance is not a difference of squares).
 * The statistics behind every normalisation layer.
 */
export function moments(x: Tensor): Tensor {
  checkDtype('moments', x, 'float');
  if (x.ndim === 0 || x.shape[x.ndim - 1] === 0) throw opError('moments', `expected a non-empty last dim, got shape ${shapeStr(x.shape)}`);
  return make('moments', [x], {});
}

/**
 * [sum(a), sum(a * b)] over the last dim: [..., L] x2 -> [..., 2], in one row kernel (one pass,
 * two accumulators). The two sums every normalisation's backward needs: sum(gy) and sum(gy * xhat).
 */
export function sumDot(a: Tensor, b: Tensor): Tensor {
  checkDtype('sumDot', a, 'float'); checkDtype('sumDot', b, 'float');
  if (!sameShape(a.shape, b.shape)) throw opError('sumDot', `expected two tensors of the same shape, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  if (a.ndim === 0 || a.shape[a.ndim - 1] === 0) throw opError('sumDot', `expected a non-empty last dim, got shape ${shapeStr(a.shape)}`);
  return make('sumDot', [a, b], {});
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  [a, b] = autocastInputs('lowerPrecision', [a, b]);
  checkDtype('matmul', a, 'float'); checkDtype('matmul', b, 'float');
  if (a.ndim === 0 || b.ndim === 0) throw opError('matmul', `both arguments need at least 1 dimension, got shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const a2 = a.ndim === 1 ? a.reshape(1, -1) : a;
  const b2 = b.ndim === 1 ? b.reshape(-1, 1) : b;
  const K = a2.shape[a2.ndim - 1];
  if (b2.shape[b2.ndim - 2] !== K) {
    throw opError('matmul', `shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied: the last dim of the first (${K}) must equal the second-to-last dim of the second (${b2.shape[b2.ndim - 2]})`);
  }
  const M = a2.shape[a2.ndim - 2], N = b2.shape[b2.ndim - 1];
  const batchA = a2.shape.slice(0, -2), batchB = b2.shape.slice(0, -2);
  const batch = broadcastShapes(batchA, batchB);
  if (!batch) throw opError('matmul', `batch dimensions ${shapeStr(batchA)} and ${shapeStr(batchB)} of shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} do not broadcast`);
  const B = numel(batch);
  const a3 = a2.expandTo([...batch, M, K]).reshape(B, M, K);
  const b3 = b2.expandTo([...batch, K, N]).reshape(B, K, N);
  // float16 operands give a float16 product, as PyTorch's: the kernel accumulates and stores
  // float32 (packed float16 is written by elementwise kernels), then the product is rounded
  let out = K === 0 ? make('fill', [a3, b3], { value: 0, shape: [B, M, N], dtype: 'float32' }) : make('matmul', [a3, b3], {});
  const want = resultType([a.dtype, b.dtype]);
  if (out.dtype !== want) out = out.cast(want);
  out = out.reshape(...batch, M, N);
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, x.ndim, 'indexSelect');
  if (index.dtype !== 'int32' || index.ndim !== 1) throw opError('indexSelect', `expected a 1-D int32 index, got dtype ${index.dtype} with shape ${shapeStr(index.shape)}`);
  return make('indexSelect', [x, index], { axis: d });
}

function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, x.ndim, 'gather');
  if (index.dtype !== 'int32' || index.ndim !== x.ndim) throw opError('gather', `expected an int32 index with ${x.ndim} dims, got dtype ${index.dtype} with shape ${shapeStr(index.shape)}`);
  for (let i = 0; i < x.ndim; i++) if (i !== d && index.shape[i] > x.shape[i]) throw opError('gather', `index shape ${shapeStr(index.shape)} exceeds input shape ${shapeStr(x.shape)} at dim ${i}`);
  return make('gather', [x, index], { axis: d });
}

export function concat(ts: Tensor[], dim = 0): Tensor {
  if (!ts.length) throw opError('cat', 'expected a non-empty list of tensors');
  const d = normDim(dim, ts[0].ndim, 'cat');
  const dt = ts[0].dtype;
  for (const t of ts) {
    if (t.ndim !== ts[0].ndim || t.shape.some((s, i) => i !== d && s !== ts[0].shape[i]) || t.dtype !== dt) {
      throw opError('cat', `all tensors must have the same dtype and shape except in dim ${d}; got ${ts.map((x) => `${shapeStr(x.shape)} ${x.dtype}`).join(', ')}`);
    }
  }
  const parts = ts.filter((t) => t.shape[d] > 0);
  if (parts.length <= 1) return parts[0] ?? ts[0];
  // a packed dtype is stored a word at a time by one kernel: a few inputs per concat node
  if (perWord(dt) > 1 && parts.length > 4) {
    const chunks: Tensor[] = [];
    for (let i = 0; i < parts.length; i += 4) chunks.push(concat(parts.slice(i, i + 4), d));
    return concat(chunks, d);
  }
  return make('concat', parts, { axis: d });
}

export function stack(ts: Tensor[], dim = 0): Tensor {
  if (!ts.length) throw opError('stack', 'expected a non-empty list of tensors');
  const d = normDim(dim, ts[0].ndim + 1, 'stack');
  for (const t of ts) if (!sameShape(t.shape, ts[0].shape)) throw opError('stack', `all tensors must have the same shape; got ${ts.map((x) => shapeStr(x.shape)).join(', ')}`);
  return concat(ts.map((t) => t.unsqueeze(d)), d);
}

/** kn.isnan(x), kn.isinf(x), kn.isfinite(x), kn.nanToNum(x, {nan, posinf, neginf}): the Tensor methods as functions. */
export const isnan = (x: Tensor): Tensor => x.isnan();
export const isinf = (x: Tensor): Tensor => x.isinf();
export const isfinite = (x: Tensor): Tensor => x.isfinite();
export const nanToNum = (x: Tensor, opts?: { nan?: number; posinf?: number; neginf?: number }): Tensor => x.nanToNum(opts);

export type CreationOptions = { dtype?: DType; requiresGrad?: boolean };
const CREATION_KEYS = ['dtype', 'requiresGrad'] as const;
export const isOptions = (v: unknown): v is object => v !== null && typeof v === 'object' && !Array.isArray(v);

/** kn.arange(end), kn.arange(start, end, step?), options last: as torch.arange (integers give int32). */
export function arange(...args: (number | CreationOptions)[]): Tensor {
  const opts = isOptions(args[args.length - 1]) ? options('arange', args.pop() as CreationOptions, CREATION_KEYS) : {};
  const names = args.length === 1 ? ['end'] : ['start', 'end', 'step'];
  if (args.length < 1 || args.length > 3) throw argError('arange', `expected arange(end), arange(start, end) or arange(start, end, step), got ${describe(args)}`);
  args.forEach((v, i) => { if (typeof v !== 'number' || !Number.isFinite(v)) throw argError('arange', `${names[i]} must be a finite number, got ${describe(v)}`); });
  const [start, end, step = 1] = (args.length === 1 ? [0, args[0]] : args) as number[];
  if (step === 0) throw argError('arange', 'step must be nonzero');
  if ((end - start) * step < 0) throw argError('arange', `end ${end} cannot be reached from start ${start} with step ${step}`);
  const n = Math.ceil((end - start) / step);
  const ints = [start, end, step].every(Number.isInteger);
  // integers: the index op, exact in int32; fractions: computed in float64 on the host, as PyTorch
  const r = ints ? make('arange', [], { n }).mul(step).add(start) : tensor(Float64Array.from({ length: n }, (_, i) => start + i * step), [n]);
  return creation('arange', r, opts, ints ? 'int32' : 'float32');
}

/** The result of a creation function in the dtype the options ask for, maybe requiring gradients. */
export function creation(fn: string, t: Tensor, opts: CreationOptions, dflt: DType): Tensor {
  const dtype = opts.dtype ?? dflt;
  if (!isDType(dtype)) throw argError(fn, `unknown dtype ${describe(dtype)}; expected one of ${DTYPES.join(', ')}`);
  const r = t.cast(dtype);
  return opts.requiresGrad ? r.detach().requiresGrad_() : r;
}

/** [N, C, KH, KW, OH, OW]: the sliding windows of x[N, C, H, W] (padValue outside it). */
export function windows(x: Tensor, attrs: WindowAttrs & { oh: number; ow: number; padValue: number }): Tensor {
  if (x.ndim !== 4) throw opError('windows', `expected a 4-D input [N, C, H, W], got shape ${shapeStr(x.shape)}`);
  return make('window', [x], attrs);
}

/** Per-row cross-entropy of [N, C] logits and [N] int32 targets, one fused row kernel. */
export function crossEntropyRows(logits: Tensor, target: Tensor, attrs: { labelSmoothing: number; ignoreIndex: number }): Tensor {
  if (logits.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== logits.shape[0] || target.dtype !== 'int32') {
    throw opError('crossEntropy', `expected [N, C] logits and [N] int32 targets, got ${shapeStr(logits.shape)} and ${target.dtype} ${shapeStr(target.shape)}`);
  }
  return make('crossEntropyRows', [logits, target], attrs);
}

/** One of the flash-attention ops (ops/attention.ts) on checked operands. */
export function attentionOp(op: AttentionOp, inputs: AttentionInputs<Tensor>, attrs: AttentionAttrs): Tensor {
  return make(op, attentionInputList(inputs), attrs);
}

// ------------------------------------------------------------------ creation

function flatten(data: Data, out: number[], shape: number[], depth: number): void {
  if (typeof data === 'number' || typeof data === 'boolean') { out.push(+data); return; }
  const arr = data as ArrayLike<any>;
  if (shape.length <= depth) shape.push(arr.length);
  else if (shape[depth] !== arr.length) throw new Error(`tensor(): ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${arr.length}`);
  for (let i = 0; i < arr.length; i++) flatten(arr[i], out, shape, depth + 1);
}

/** The dtype a typed array holds (Uint16Array: float16 bits), or undefined for another kind of array. */
function arrayDtype(data: ArrayBufferView): DType | undefined {
  const F16 = (globalThis as any).Float16Array;
  if (data instanceof Float32Array || data instanceof Float64Array) return 'float32';
  if (F16 && data instanceof F16) return 'float16';
  if (data instanceof Uint16Array) return 'float16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  return undefined;
}

/** Values bound for an integer dtype must be integers within its range (a float truncates, as torch.tensor's). */
function checkRange(values: ArrayLike<number>, dtype: DType): void {
  const { min, max, category } = DTYPE_INFO[dtype];
  if (category !== 'int') return;
  for (let i = 0; i < values.length; i++) {
    const v = Math.trunc(values[i]);
    if (!(v >= min! && v <= max!)) throw new Error(`tensor(): value ${values[i]} at index ${i} does not fit dtype ${dtype} (${min}..${max})`);
  }
}

/**
 * kn.tensor(data, shape?, {dtype, requiresGrad}). Typed arrays give their dtype (Float32Array,
 * Int32Array, Int8Array, Uint8Array; Float16Array, or Uint16Array holding float16 bits).
 */
export function tensor(data: Data | ArrayBufferView, shape?: number[] | null, opts: { dtype?: DType; requiresGrad?: boolean } = {}): Tensor {
  let values: ArrayLike<number>, inferred: number[] = [];
  let given: DType | undefined;
  if (typeof data === 'number' || typeof data === 'boolean') { values = [+data]; inferred = []; }
  else if (ArrayBuffer.isView(data)) {
    given = arrayDtype(data);
    if (!given) throw new Error(`tensor(): a ${data.constructor.name} is not supported; pass a Float32Array, Int32Array, Int8Array, Uint8Array, Uint16Array (float16 bits) or a plain array`);
    if (data instanceof Uint16Array) {
      if (opts.dtype && opts.dtype !== 'float16') throw new Error(`tensor(): a Uint16Array holds float16 bits, so dtype must be 'float16', got '${opts.dtype}'`);
      values = Array.from(data, f16fromBits);
    } else values = data as unknown as ArrayLike<number>;
    inferred = [values.length];
  } else { const out: number[] = []; flatten(data as Data, out, inferred, 0); values = out; }
  const s = shape ?? inferred;
  if (s.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`tensor(): shape must be non-negative integers, got ${shapeStr(s)}`);
  if (numel(s) !== values.length) throw new Error(`tensor(): ${values.length} values do not fill shape ${shapeStr(s)} (${numel(s)} elements)`);
  const dtype = opts.dtype ?? given ?? 'float32';
  if (!isDType(dtype)) throw new Error(`tensor(): unknown dtype '${dtype}'; expected one of ${DTYPES.join(', ')}`);
  if (dtype !== given) checkRange(values, dtype);
  const t = new Tensor(uploadNode(values, s, dtype));
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** kn.full(size, value, {dtype, requiresGrad}): size is an array, as torch.full's. */
export function full(shape: number[], value: number, opts?: CreationOptions): Tensor {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw argError('full', `size must be an array of non-negative integers, as full([2, 3], value); got ${describe(shape)}`);
  if (typeof value !== 'number' && typeof value !== 'boolean') throw argError('full', `value must be a number, got ${describe(value)}`);
  const { dtype = 'float32' } = options('full', opts, CREATION_KEYS);
  if (!isDType(dtype)) throw argError('full', `unknown dtype ${describe(dtype)}; expected one of ${DTYPES.join(', ')}`);
  checkRange([value], dtype);
  const n = numel(shape);
  const arr = isFloat(dtype) ? new Float32Array(n).fill(value) : new Int32Array(n).fill(value);
  return tensor(arr, shape, { dtype, requiresGrad: opts?.requiresGrad });
}

/** The size and options of zeros/ones: (2, 3), ([2, 3]), either with options last, as torch.zeros. */
function sizeAndOptions(fn: string, args: unknown[]): [number[], CreationOptions] {
  const { shape, opts } = sizeArgs<CreationOptions>(fn, args);
  return [shape, options(fn, opts, CREATION_KEYS)];
}
export function zeros(...args: (number | number[] | CreationOptions)[]): Tensor { const [s, o] = sizeAndOptions('zeros', args); return full(s, 0, o); }
export function ones(...args: (number | number[] | CreationOptions)[]): Tensor { const [s, o] = sizeAndOptions('ones', args); return full(s, 1, o); }

/** kn.where(cond, x, y): x where cond (bool) is true, else y; broadcast as torch.where. */
export function where(cond: Tensor, x: TensorLike, y: TensorLike): Tensor {
  return checkTensor('where', 'condition', cond).where(x, y);
}

// ------------------------------------------------------------------ argument helpers

export function normDim(d: number, ndim: number, op: string): number {
  if (!Number.isInteger(d)) throw opError(op, `dim must be an integer, got ${d}`);
  const r = d < 0 ? d + Math.max(ndim, 1) : d;
  if (r < 0 || r >= Math.max(ndim, 1)) throw opError(op, `dim ${d} is out of range for a tensor with ${ndim} dims (expected ${-Math.max(ndim, 1)}..${Math.max(ndim, 1) - 1})`);
  return r;
}

function normAxes(dim: number | number[] | undefined, ndim: number, op: string): number[] {
  if (dim === undefined || dim === null) return Array.from({ length: ndim }, (_, i) => i);
  const ds = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(d, ndim, op));
  return [...new Set(ds)].sort((a, b) => a - b).filter((d) => d < ndim);
}

function flatArgs(a: (number | number[])[]): number[] { return a.length === 1 && Array.isArray(a[0]) ? a[0].slice() : (a as number[]); }

function inferShape(s: number[], n: number, from: Shape): number[] {
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1 || s.some((d) => !Number.isInteger(d) || d < -1)) throw opError('reshape', `invalid shape ${shapeStr(s)}`);
  const known = s.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const r = s.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (numel(r) !== n || r.some((d) => !Number.isInteger(d))) throw opError('reshape', `cannot reshape a tensor of shape ${shapeStr(from)} (${n} elements) to ${shapeStr(s)}`);
  return r;
}

function clampIdx(i: number, d: number): number { const r = i < 0 ? i + d : i; return Math.min(Math.max(r, 0), d); }
