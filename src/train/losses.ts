// Loss functions with PyTorch's options and reductions. Cross-entropy on class indices runs
// as one fused log-softmax + NLL row kernel; its gradient is written in ops (autodiff).
// The other losses are compositions of elementwise ops and reductions.
import { Tensor, crossEntropyRows } from '../graph/tensor.js';
import { shapeStr } from '../graph/ir.js';
import { autocastInputs } from '../graph/autocast.js';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(fn: string, r: string, extra: string[] = []): void {
  const ok = ['mean', 'sum', 'none', ...extra];
  if (!ok.includes(r)) throw new Error(`${fn}: reduction must be ${ok.map((o) => `'${o}'`).join(', ').replace(/, ([^,]*)$/, ' or $1')}, got '${r}'`);
}
function checkOptions(fn: string, opts: object, allowed: string[]): void {
  if (typeof opts !== 'object' || opts === null) throw new Error(`${fn}: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  for (const k of Object.keys(opts)) if (!allowed.includes(k)) throw new Error(`${fn}: unknown option '${k}'; expected one of ${allowed.join(', ')}`);
}
function checkTensor(fn: string, what: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${fn}: ${what} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
}
function checkNumber(fn: string, what: string, v: number, ok: (v: number) => boolean, expected: string): void {
  if (typeof v !== 'number' || !ok(v)) throw new Error(`${fn}: ${what} must be ${expected}, got ${v}`);
}
function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? loss : reduction === 'sum' ? loss.sum() : loss.mean();
}

/** Moves the class dim (1) last and flattens: [N, C, d1...] -> [N*d1*..., C]. */
function classesLast(x: Tensor): Tensor {
  if (x.ndim <= 2) return x.ndim === 1 ? x.unsqueeze(0) : x;
  const perm = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2), 1];
  return x.permute(...perm).reshape(-1, x.shape[1]);
}

/** A class-weight tensor: float32 [C]. */
function classWeight(fn: string, weight: Tensor | null | undefined, C: number): Tensor | null {
  if (weight === undefined || weight === null) return null;
  checkTensor(fn, 'weight', weight);
  if (weight.ndim !== 1 || weight.shape[0] !== C) throw new Error(`${fn}: weight must have shape [${C}] (one per class), got ${shapeStr(weight.shape)}`);
  return autocastInputs('float32', [weight])[0];
}

export interface CrossEntropyOptions { reduction?: Reduction; labelSmoothing?: number; ignoreIndex?: number; weight?: Tensor | null }

export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  checkTensor('crossEntropy', 'input', input); checkTensor('crossEntropy', 'target', target);
  [input, target] = autocastInputs('float32', [input, target]);
  checkOptions('crossEntropy', opts, ['reduction', 'labelSmoothing', 'ignoreIndex', 'weight']);
  const { reduction = 'mean', labelSmoothing = 0, ignoreIndex = -100 } = opts;
  checkReduction('crossEntropy', reduction);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  checkNumber('crossEntropy', 'ignoreIndex', ignoreIndex, Number.isInteger, 'an integer');
  if (input.dtype !== 'float32') throw new Error(`crossEntropy: expected float32 logits, got dtype ${input.dtype}`);
  if (input.ndim < 1) throw new Error(`crossEntropy: expected logits of shape [N, C] or [C], got ${shapeStr(input.shape)}`);
  const C = input.ndim === 1 ? input.shape[0] : input.shape[1];
  const weight = classWeight('crossEntropy', opts.weight, C);
  const batchShape = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (target.dtype === 'int32') {
    if (target.shape.join() !== batchShape.join()) {
      throw new Error(`crossEntropy: class-index target must have shape ${shapeStr(batchShape)} for logits of shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}`);
    }
    if (weight) return weightedCrossEntropy(input, target, weight, reduction, labelSmoothing, ignoreIndex);
    const logits = classesLast(input);
    const t = target.reshape(-1);
    const rows = crossEntropyRows(logits, t, { labelSmoothing, ignoreIndex });
    if (reduction === 'none') return rows.reshape(...batchShape);
    if (reduction === 'sum') return rows.sum();
    return rows.sum().div(t.ne(ignoreIndex).float().sum());
  }
  if (target.dtype === 'float32') {
    if (target.shape.join() !== input.shape.join()) throw new Error(`crossEntropy: probability target must have the logits' shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}`);
    const logp = classesLast(input).logSoftmax(-1);
    let q = classesLast(target);
    if (labelSmoothing) q = q.mul(1 - labelSmoothing).add(labelSmoothing / C);
    if (weight) q = q.mul(weight);
    const rows = logp.mul(q).sum(-1).neg();
    if (reduction === 'none') return rows.reshape(...batchShape);
    // PyTorch divides by the number of samples for probability targets, weighted or not
    return reduction === 'sum' ? rows.sum() : rows.sum().div(input.ndim === 1 ? 1 : rows.numel());
  }
  throw new Error(`crossEntropy: target must be int32 class indices or float32 probabilities, got dtype ${target.dtype}`);
}

/**
 * PyTorch's weighted form: (1 - eps) * nll(weight) + eps / C * sum_c w_c * -logp_c, where the
 * mean divides both terms by the summed weight of the kept targets.
 */
function weightedCrossEntropy(input: Tensor, target: Tensor, weight: Tensor, reduction: Reduction, eps: number, ignoreIndex: number): Tensor {
  const logp = input.logSoftmax(input.ndim === 1 ? 0 : 1);
  const nll = nllLoss(logp, target, { weight, ignoreIndex, reduction });
  if (!eps) return nll;
  const C = weight.shape[0];
  const t = target.reshape(-1), keep = t.ne(ignoreIndex);
  const smooth = keep.where(classesLast(logp).mul(weight).sum(-1).neg(), 0);
  const total = reduction === 'none' ? smooth.reshape(...target.shape)
    : reduction === 'sum' ? smooth.sum()
      : smooth.sum().div(keep.where(weight.indexSelect(0, keep.where(t, 0)), 0).sum());
  return nll.mul(1 - eps).add(total.mul(eps / C));
}

export interface NllLossOptions { reduction?: Reduction; ignoreIndex?: number; weight?: Tensor | null }

export function nllLoss(input: Tensor, target: Tensor, opts: NllLossOptions = {}): Tensor {
  checkTensor('nllLoss', 'input', input); checkTensor('nllLoss', 'target', target);
  [input] = autocastInputs('float32', [input]);
  checkOptions('nllLoss', opts, ['reduction', 'ignoreIndex', 'weight']);
  const { reduction = 'mean', ignoreIndex = -100 } = opts;
  checkReduction('nllLoss', reduction);
  checkNumber('nllLoss', 'ignoreIndex', ignoreIndex, Number.isInteger, 'an integer');
  if (target.dtype !== 'int32') throw new Error(`nllLoss: expected int32 class indices, got dtype ${target.dtype}`);
  if (input.ndim < 1) throw new Error(`nllLoss: expected input of shape [N, C] or [C], got ${shapeStr(input.shape)}`);
  const weight = classWeight('nllLoss', opts.weight, input.ndim === 1 ? input.shape[0] : input.shape[1]);
  const x = classesLast(input), t = target.reshape(-1);
  if (x.shape[0] !== t.shape[0]) throw new Error(`nllLoss: input ${shapeStr(input.shape)} and target ${shapeStr(target.shape)} disagree on the number of samples`);
  const keep = t.ne(ignoreIndex);
  const safe = keep.where(t, 0);
  // w[t_i] for kept rows, 0 for ignored ones: the weights of the weighted mean
  const w = weight ? keep.where(weight.indexSelect(0, safe), 0) : keep.float();
  // where, not a product: an ignored row's -inf log-probability must not give NaN
  const rows = keep.where(x.gather(1, safe.unsqueeze(1)).squeeze(1).neg().mul(w), 0);
  if (reduction === 'none') return rows.reshape(...target.shape);
  if (reduction === 'sum') return rows.sum();
  return rows.sum().div(w.sum());
}

/** Checks the shared arguments of an elementwise loss and returns its reduction. */
function elementwiseLoss(fn: string, input: Tensor, target: Tensor, opts: { reduction?: string }, allowed: string[], extra: string[] = []): Reduction {
  checkTensor(fn, 'input', input); checkTensor(fn, 'target', target);
  checkOptions(fn, opts, allowed);
  const { reduction = 'mean' } = opts;
  checkReduction(fn, reduction, extra);
  if (input.shape.join() !== target.shape.join()) throw new Error(`${fn}: input shape ${shapeStr(input.shape)} and target shape ${shapeStr(target.shape)} must match`);
  return reduction as Reduction;
}

/** An elementwise `weight` (broadcast to the input's shape), or null. */
function elementWeight(fn: string, what: string, w: Tensor | null | undefined, shape: number[]): Tensor | null {
  if (w === undefined || w === null) return null;
  checkTensor(fn, what, w);
  const n = w.ndim, m = shape.length;
  if (n > m || w.shape.some((d, i) => d !== 1 && d !== shape[m - n + i])) throw new Error(`${fn}: ${what} of shape ${shapeStr(w.shape)} does not broadcast to the input's shape ${shapeStr(shape)}`);
  return autocastInputs('float32', [w])[0];
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const r = elementwiseLoss('mseLoss', input, target, opts, ['reduction']);
  [input, target] = autocastInputs('float32', [input, target]);
  const d = input.sub(target);
  return reduce(d.mul(d), r);
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const r = elementwiseLoss('l1Loss', input, target, opts, ['reduction']);
  [input, target] = autocastInputs('float32', [input, target]);
  return reduce(input.sub(target).abs(), r);
}

/** |d| < beta: 0.5 d^2 / beta, else |d| - 0.5 beta (beta 0 is the L1 loss), as PyTorch. */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; beta?: number } = {}): Tensor {
  const r = elementwiseLoss('smoothL1Loss', input, target, opts, ['reduction', 'beta']);
  const { beta = 1 } = opts;
  checkNumber('smoothL1Loss', 'beta', beta, (v) => v >= 0 && Number.isFinite(v), 'a finite number >= 0');
  [input, target] = autocastInputs('float32', [input, target]);
  const a = input.sub(target).abs();
  if (beta === 0) return reduce(a, r);
  return reduce(a.lt(beta).where(a.mul(a).mul(0.5 / beta), a.sub(0.5 * beta)), r);
}

/** |d| < delta: 0.5 d^2, else delta (|d| - 0.5 delta), as PyTorch. */
export function huberLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; delta?: number } = {}): Tensor {
  const r = elementwiseLoss('huberLoss', input, target, opts, ['reduction', 'delta']);
  const { delta = 1 } = opts;
  checkNumber('huberLoss', 'delta', delta, (v) => v > 0 && Number.isFinite(v), 'a finite number > 0');
  [input, target] = autocastInputs('float32', [input, target]);
  const a = input.sub(target).abs();
  return reduce(a.lt(delta).where(a.mul(a).mul(0.5), a.sub(0.5 * delta).mul(delta)), r);
}

/** -w (y log x + (1 - y) log(1 - x)), each log clamped at -100 as PyTorch's. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: { reduction?: Reduction; weight?: Tensor | null } = {}): Tensor {
  const r = elementwiseLoss('binaryCrossEntropy', input, target, opts, ['reduction', 'weight']);
  const w = elementWeight('binaryCrossEntropy', 'weight', opts.weight, input.shape);
  [input, target] = autocastInputs('float32', [input, target]);
  // log(0) is not -inf on every device (SwiftShader gives -88), so zero is picked out first,
  // and log never sees it (its gradient there, 0 * inf, would be NaN). Where the clamp
  // binds, the gradient is the clamped function's (0), not PyTorch's -(y - x) / 1e-12.
  const clampedLog = (t: Tensor) => { const pos = t.gt(0); return pos.where(pos.where(t, 1).log(), -100).maximum(-100); };
  const logX = clampedLog(input), log1mX = clampedLog(input.neg().add(1));
  const loss = target.mul(logX).add(target.neg().add(1).mul(log1mX)).neg();
  return reduce(w ? loss.mul(w) : loss, r);
}

export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: { reduction?: Reduction; weight?: Tensor | null; posWeight?: Tensor | null } = {}): Tensor {
  const fn = 'binaryCrossEntropyWithLogits';
  const r = elementwiseLoss(fn, input, target, opts, ['reduction', 'weight', 'posWeight']);
  const w = elementWeight(fn, 'weight', opts.weight, input.shape);
  const pw = elementWeight(fn, 'posWeight', opts.posWeight, input.shape);
  [input, target] = autocastInputs('float32', [input, target]);
  // log(1 + exp(-|x|)) + max(-x, 0) is log(1 + exp(-x)) without overflow
  const logSigNeg = input.abs().neg().exp().add(1).log().add(input.neg().relu());
  const scale = pw ? pw.sub(1).mul(target).add(1) : null;
  const loss = target.neg().add(1).mul(input).add(scale ? scale.mul(logSigNeg) : logSigNeg);
  return reduce(w ? loss.mul(w) : loss, r);
}

/**
 * Kullback-Leibler divergence with PyTorch's argument order: input holds log-probabilities,
 * target probabilities (or log-probabilities with logTarget). 'batchmean' divides the sum by
 * the batch size (dim 0), the true KL divergence per sample; 'mean' divides by every element.
 */
export function klDiv(input: Tensor, target: Tensor, opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}): Tensor {
  const r = elementwiseLoss('klDiv', input, target, opts, ['reduction', 'logTarget'], ['batchmean']) as Reduction | 'batchmean';
  const { logTarget = false } = opts;
  if (typeof logTarget !== 'boolean') throw new Error(`klDiv: logTarget must be a boolean, got ${logTarget}`);
  [input, target] = autocastInputs('float32', [input, target]);
  let loss: Tensor;
  if (logTarget) loss = target.exp().mul(target.sub(input));
  else {
    // xlogy(t, t) - t * input, with 0 log 0 = 0 and no NaN gradient at t = 0
    const pos = target.gt(0);
    loss = pos.where(target.mul(pos.where(target, 1).log()), 0).sub(target.mul(input));
  }
  if (r !== 'batchmean') return reduce(loss, r);
  return loss.sum().div(input.ndim ? input.shape[0] : 1);
}

/** 1 - cos(x1, x2) where y = 1, max(0, cos - margin) where y = -1; cosines over dim 1 (or 0 unbatched). */
export function cosineEmbeddingLoss(input1: Tensor, input2: Tensor, target: Tensor, opts: { margin?: number; reduction?: Reduction } = {}): Tensor {
  const fn = 'cosineEmbeddingLoss';
  checkTensor(fn, 'input1', input1); checkTensor(fn, 'input2', input2); checkTensor(fn, 'target', target);
  checkOptions(fn, opts, ['margin', 'reduction']);
  const { margin = 0, reduction = 'mean' } = opts;
  checkReduction(fn, reduction);
  checkNumber(fn, 'margin', margin, (v) => v >= -1 && v <= 1, 'a number in [-1, 1]');
  if (input1.shape.join() !== input2.shape.join()) throw new Error(`${fn}: input1 ${shapeStr(input1.shape)} and input2 ${shapeStr(input2.shape)} must have the same shape`);
  if (input1.ndim !== 1 && input1.ndim !== 2) throw new Error(`${fn}: expected inputs of shape [N, D] or [D], got ${shapeStr(input1.shape)}`);
  const want = input1.ndim === 2 ? [input1.shape[0]] : [];
  if (target.shape.join() !== want.join()) throw new Error(`${fn}: target must have shape ${shapeStr(want)} for inputs of shape ${shapeStr(input1.shape)}, got ${shapeStr(target.shape)}`);
  [input1, input2] = autocastInputs('float32', [input1, input2]);
  const d = input1.ndim - 1;
  // PyTorch's EPSILON = 1e-12 on each squared norm
  const denom = input1.mul(input1).sum(d).add(1e-12).mul(input2.mul(input2).sum(d).add(1e-12)).sqrt();
  const cos = input1.mul(input2).sum(d).div(denom);
  const loss = target.eq(1).where(cos.neg().add(1), 0).add(target.eq(-1).where(cos.sub(margin).relu(), 0));
  return reduce(loss, reduction);
}
