// Normalisation layers with PyTorch's names, buffers and statistics. The statistics of each
// row (a channel for batch norm, a sample or group for layer and group norm) come from one
// `moments` kernel with a workgroup reduction; the normalisation is elementwise, fused into
// whatever reads it; the gradients are written out (customGradient) so that backward is one
// `sumDot` row kernel (sum gy and sum gy * xhat per row) and an elementwise pass fused into its
// consumer, not the autodiff of mean and variance. Running
// statistics are updated on the GPU by assigns, so a compiled step carries them with no read-back.
import { Tensor, assign, tensor, moments, sumDot } from '../graph/tensor.js';
import { customGradient } from '../graph/autodiff.js';
import { noGrad, scopeSuffix, state } from '../graph/state.js';
import { autocastInputs } from '../graph/autocast.js';
import { shapeStr } from '../graph/ir.js';
import { Module, Parameter } from './module.js';
import { uniform } from '../graph/random.js';
import { pyBool, pyFloat, pyTuple } from './repr.js';

function fail(fn: string, msg: string): never { throw new Error(`${fn}: ${msg}${scopeSuffix()}`); }
const full = (n: number, v: number) => tensor(new Float32Array(n).fill(v), [n]);

export interface BatchNormOptions { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number }

/** F.batchNorm(x, runningMean, runningVar, {weight, bias, training, momentum, eps}) over dim 1. */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormOptions = {}, fn = 'batchNorm'): Tensor {
  // under autocast batch norm computes in float32 and returns its input's dtype (PyTorch lists
  // it on neither autocast list; its CUDA kernels keep float32 statistics and return float16)
  if (state.autocast && x.dtype === 'float16') {
    return batchNorm(x.float(), runningMean, runningVar, { ...opts, weight: opts.weight?.float(), bias: opts.bias?.float() }, fn).cast(x.dtype);
  }
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 } = opts;
  if (x.ndim < 2) fail(fn, `expected input with a channel dim, shape [N, C, ...], got ${shapeStr(x.shape)}`);
  const C = x.shape[1];
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== C)) fail(fn, `${name} must have shape [${C}] for input ${shapeStr(x.shape)}, got ${shapeStr(t.shape)}`);
  }
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  if (!training && runningMean && runningVar) {
    let y = x.sub(runningMean.reshape(...bshape)).mul(runningVar.reshape(...bshape).add(eps).rsqrt());
    if (weight) y = y.mul(weight.reshape(...bshape));
    if (bias) y = y.add(bias.reshape(...bshape));
    return y;
  }
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  if (training && n <= 1) fail(fn, `expected more than 1 value per channel when training, got input ${shapeStr(x.shape)}`);
  // one row per channel: [C, N * spatial], a view
  const rows = (t: Tensor) => t.transpose(0, 1).reshape(C, n);
  const stats = moments(rows(x));
  const mean = stats.slice([0, 0], [C, 1]).reshape(C), varB = stats.slice([0, 1], [C, 2]).reshape(C);
  if (training && runningMean && runningVar) {
    noGrad(() => {
      // PyTorch keeps the unbiased variance in the running estimate
      assign(runningMean, runningMean.mul(1 - momentum).add(mean.mul(momentum)));
      assign(runningVar, runningVar.mul(1 - momentum).add(varB.mul((momentum * n) / (n - 1))));
    });
  }
  const rstd = varB.add(eps).rsqrt().reshape(...bshape);
  const xhat = x.sub(mean.reshape(...bshape)).mul(rstd);
  let y = weight ? xhat.mul(weight.reshape(...bshape)) : xhat;
  y = bias ? y.add(bias.reshape(...bshape)) : y.add(0);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return customGradient(y, inputs, (gy) => {
    // gb = sum gy, gw = sum gy * xhat, gx = w * rstd * (gy - gb / n - xhat * gw / n)
    const sums = sumDot(rows(gy), rows(xhat));
    const gb = sums.slice([0, 0], [C, 1]).reshape(C), gw = sums.slice([0, 1], [C, 2]).reshape(C);
    const scale = weight ? rstd.mul(weight.reshape(...bshape)) : rstd;
    const gx = x.requiresGrad ? gy.sub(gb.reshape(...bshape).div(n)).sub(xhat.mul(gw.reshape(...bshape).div(n))).mul(scale) : null;
    return [gx, ...(weight ? [weight.requiresGrad ? gw : null] : []), ...(bias ? [bias.requiresGrad ? gb : null] : [])];
  });
}

/** (rows - mean) / sqrt(var + eps) per row of a [R, L] view, with its gradient written out. */
function normalizeRows(rows: Tensor, eps: number): Tensor {
  const R = rows.shape[0];
  const stats = moments(rows);
  const rstd = stats.slice([0, 1], [R, 2]).add(eps).rsqrt();
  const xhat = rows.sub(stats.slice([0, 0], [R, 1])).mul(rstd);
  return customGradient(xhat, [rows], (g) => {
    const sums = sumDot(g, xhat).div(rows.shape[1]);
    return [g.sub(sums.slice([0, 0], [R, 1])).sub(xhat.mul(sums.slice([0, 1], [R, 2]))).mul(rstd)];
  });
}

class BatchNormBase extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  runningMean!: Tensor | null;
  runningVar!: Tensor | null;
  numBatchesTracked!: Tensor | null;
  constructor(readonly numFeatures: number, readonly ranks: number[], readonly name: string,
    { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true }: { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean } = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`${name}: numFeatures must be a positive integer, got ${numFeatures}`);
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${name}: momentum must be in [0, 1], got ${momentum}`);
    if (!(eps > 0)) throw new Error(`${name}: eps must be positive, got ${eps}`);
    this.weight = affine ? new Parameter(full(numFeatures, 1)) : null;
    this.bias = affine ? new Parameter(full(numFeatures, 0)) : null;
    this.registerBuffer('runningMean', trackRunningStats ? full(numFeatures, 0) : null);
    this.registerBuffer('runningVar', trackRunningStats ? full(numFeatures, 1) : null);
    this.registerBuffer('numBatchesTracked', trackRunningStats ? tensor([0], [], { dtype: 'int32' }) : null);
    Object.assign(this, { eps, momentum });
  }
  eps!: number;
  momentum!: number;
  forward(x: Tensor): Tensor {
    if (!this.ranks.includes(x.ndim)) fail(this.name, `expected input with ${this.ranks.join(' or ')} dims, got ${shapeStr(x.shape)}`);
    if (x.shape[1] !== this.numFeatures) fail(this.name, `expected ${this.numFeatures} channels (dim 1), got input ${shapeStr(x.shape)}`);
    if (this.training && this.numBatchesTracked) noGrad(() => assign(this.numBatchesTracked!, this.numBatchesTracked!.add(1)));
    const useBatch = this.training || !this.runningMean;
    return batchNorm(x, useBatch && !this.training ? null : this.runningMean, useBatch && !this.training ? null : this.runningVar,
      { weight: this.weight, bias: this.bias, training: useBatch, momentum: this.momentum, eps: this.eps }, this.name);
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, affine=${pyBool(!!this.weight)}, track_running_stats=${pyBool(!!this.runningMean)}`;
  }
}
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean } = {}) { super(numFeatures, [2, 3], 'BatchNorm1d', opts); }
}
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean } = {}) { super(numFeatures, [4], 'BatchNorm2d', opts); }
}

/** F.layerNorm(x, normalizedShape, {weight, bias, eps}): over the trailing dims. */
export function layerNorm(x: Tensor, normalizedShape: number[], { weight = null, bias = null, eps = 1e-5 }: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  [x, weight, bias] = autocastInputs('float32', [x, weight, bias]);
  const k = normalizedShape.length;
  if (x.shape.slice(-k).join() !== normalizedShape.join()) fail('layerNorm', `normalizedShape ${shapeStr(normalizedShape)} does not match the trailing dims of input ${shapeStr(x.shape)}`);
  const L = normalizedShape.reduce((a, b) => a * b, 1);
  let y = normalizeRows(x.reshape(-1, L), eps).reshape(...x.shape);
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/** F.groupNorm(x, numGroups, {weight, bias, eps}). */
export function groupNorm(x: Tensor, numGroups: number, { weight = null, bias = null, eps = 1e-5 }: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  [x, weight, bias] = autocastInputs('float32', [x, weight, bias]);
  const [N, C] = x.shape;
  if (x.ndim < 2 || C % numGroups !== 0) fail('groupNorm', `channels (${C}) of input ${shapeStr(x.shape)} must be divisible by numGroups (${numGroups})`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== C)) fail('groupNorm', `input ${shapeStr(x.shape)} has ${C} channels but ${name} has shape ${shapeStr(t.shape)}; expected [${C}]`);
  }
  let y = normalizeRows(x.reshape(N * numGroups, -1), eps).reshape(...x.shape);
  const bshape = x.shape.map((s, i) => (i === 1 ? s : 1));
  if (weight) y = y.mul(weight.reshape(...bshape));
  if (bias) y = y.add(bias.reshape(...bshape));
  return y;
}

/** F.rmsNorm(x, normalizedShape, {weight, eps}): x / sqrt(mean(x^2) + eps). */
export function rmsNorm(x: Tensor, normalizedShape: number[], { weight = null, eps = 1.1920928955078125e-7 }: { weight?: Tensor | null; eps?: number } = {}): Tensor {
  [x, weight] = autocastInputs('float32', [x, weight]);
  const k = normalizedShape.length;
  if (x.shape.slice(-k).join() !== normalizedShape.join()) fail('rmsNorm', `normalizedShape ${shapeStr(normalizedShape)} does not match the trailing dims of input ${shapeStr(x.shape)}`);
  const axes = normalizedShape.map((_, i) => x.ndim - k + i);
  const y = x.mul(x.mul(x).mean(axes, true).add(eps).rsqrt());
  return weight ? y.mul(weight) : y;
}

export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: number[];
  constructor(normalizedShape: number | number[], readonly opts: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    this.normalizedShape = Array.isArray(normalizedShape) ? normalizedShape : [normalizedShape];
    const n = this.normalizedShape.reduce((a, b) => a * b, 1);
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(full(n, 1).reshape(...this.normalizedShape)) : null;
    this.bias = affine && (opts.bias ?? true) ? new Parameter(full(n, 0).reshape(...this.normalizedShape)) : null;
  }
  forward(x: Tensor): Tensor { return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.opts.eps }); }
  override extraRepr(): string { return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.opts.eps ?? 1e-5)}, elementwise_affine=${pyBool(!!this.weight)}`; }
}

export class GroupNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  constructor(readonly numGroups: number, readonly numChannels: number, readonly opts: { eps?: number; affine?: boolean } = {}) {
    super();
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    const affine = opts.affine ?? true;
    this.weight = affine ? new Parameter(full(numChannels, 1)) : null;
    this.bias = affine ? new Parameter(full(numChannels, 0)) : null;
  }
  forward(x: Tensor): Tensor {
    // channels that do not even divide into the groups get groupNorm's own message
    if (x.ndim >= 2 && x.shape[1] % this.numGroups === 0 && x.shape[1] !== this.numChannels) fail('GroupNorm', `input ${shapeStr(x.shape)} has ${x.shape[1]} channels (dim 1); expected ${this.numChannels} (numChannels)`);
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.opts.eps });
  }
  override extraRepr(): string { return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.opts.eps ?? 1e-5)}, affine=${pyBool(!!this.weight)}`; }
}

export class RMSNorm extends Module {
  weight: Parameter | null;
  readonly normalizedShape: number[];
  constructor(normalizedShape: number | number[], readonly opts: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = Array.isArray(normalizedShape) ? normalizedShape : [normalizedShape];
    const n = this.normalizedShape.reduce((a, b) => a * b, 1);
    this.weight = (opts.elementwiseAffine ?? true) ? new Parameter(full(n, 1).reshape(...this.normalizedShape)) : null;
  }
  forward(x: Tensor): Tensor { return rmsNorm(x, this.normalizedShape, { weight: this.weight, eps: this.opts.eps }); }
  override extraRepr(): string { return `${pyTuple(this.normalizedShape)}, eps=${this.opts.eps === undefined ? 'None' : pyFloat(this.opts.eps)}, elementwise_affine=${pyBool(!!this.weight)}`; }
}

/** F.dropout2d: zeroes whole channels (dim 1) with probability p, scaling the rest by 1/(1-p). */
export function dropout2d(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout2d: p must be in [0, 1], got ${p}`);
  if (x.ndim !== 3 && x.ndim !== 4) fail('dropout2d', `expected input [N, C, H, W] or [C, H, W], got ${shapeStr(x.shape)}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const maskShape = x.shape.map((d, i) => (i < x.ndim - 2 ? d : 1));
  return uniform(maskShape).ge(p).where(x.div(1 - p), 0);
}

export class Dropout2d extends Module {
  constructor(readonly p = 0.5) { super(); }
  forward(x: Tensor): Tensor { return dropout2d(x, this.p, this.training); }
  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=False`; }
}

