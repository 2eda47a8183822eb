// Loss functions with PyTorch's options and reductions. Cross-entropy on class indices runs
// as one fused log-softmax + NLL row kernel; its gradient is written in ops (autodiff).
import { Tensor, crossEntropyRows } from '../graph/tensor.js';
import { shapeStr } from '../graph/ir.js';
import { autocastInputs } from '../graph/autocast.js';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(fn: string, r: string): void {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${fn}: reduction must be 'mean', 'sum' or 'none', got '${r}'`);
}
function checkOptions(fn: string, opts: object, allowed: string[]): void {
  for (const k of Object.keys(opts)) if (!allowed.includes(k)) throw new Error(`${fn}: unknown option '${k}'; expected one of ${allowed.join(', ')}`);
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

export interface CrossEntropyOptions { reduction?: Reduction; labelSmoothing?: number; ignoreIndex?: number; weight?: Tensor }

export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  [input, target] = autocastInputs('float32', [input, target]);
  checkOptions('crossEntropy', opts, ['reduction', 'labelSmoothing', 'ignoreIndex', 'weight']);
  const { reduction = 'mean', labelSmoothing = 0, ignoreIndex = -100 } = opts;
  checkReduction('crossEntropy', reduction);
  if (opts.weight) throw new Error('crossEntropy: class weights are not supported yet');
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  if (input.dtype !== 'float32') throw new Error(`crossEntropy: expected float32 logits, got dtype ${input.dtype}`);
  if (input.ndim < 1) throw new Error(`crossEntropy: expected logits of shape [N, C] or [C], got ${shapeStr(input.shape)}`);
  const C = input.ndim === 1 ? input.shape[0] : input.shape[1];
  if (target.dtype === 'int32') {
    const wantShape = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
    if (target.shape.join() !== wantShape.join()) {
      throw new Error(`crossEntropy: class-index target must have shape ${shapeStr(wantShape)} for logits of shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}`);
    }
    const logits = classesLast(input);
    const t = target.reshape(-1);
    const rows = crossEntropyRows(logits, t, { labelSmoothing, ignoreIndex });
    if (reduction === 'none') return rows.reshape(...wantShape);
    if (reduction === 'sum') return rows.sum();
    return rows.sum().div(t.ne(ignoreIndex).float().sum());
  }
  if (target.dtype === 'float32') {
    if (target.shape.join() !== input.shape.join()) throw new Error(`crossEntropy: probability target must have the logits' shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}`);
    const logp = classesLast(input).logSoftmax(-1);
    let q = classesLast(target);
    if (labelSmoothing) q = q.mul(1 - labelSmoothing).add(labelSmoothing / C);
    const rows = logp.mul(q).sum(-1).neg();
    const batchShape = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
    if (reduction === 'none') return rows.reshape(...batchShape);
    // PyTorch divides by the number of samples for probability targets
    return reduction === 'sum' ? rows.sum() : rows.sum().div(input.ndim === 1 ? 1 : rows.numel());
  }
  throw new Error(`crossEntropy: target must be int32 class indices or float32 probabilities, got dtype ${target.dtype}`);
}

export function nllLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; ignoreIndex?: number } = {}): Tensor {
  [input] = autocastInputs('float32', [input]);
  checkOptions('nllLoss', opts, ['reduction', 'ignoreIndex']);
  const { reduction = 'mean', ignoreIndex = -100 } = opts;
  checkReduction('nllLoss', reduction);
  if (target.dtype !== 'int32') throw new Error(`nllLoss: expected int32 class indices, got dtype ${target.dtype}`);
  const x = classesLast(input), t = target.reshape(-1);
  if (x.shape[0] !== t.shape[0]) throw new Error(`nllLoss: input ${shapeStr(input.shape)} and target ${shapeStr(target.shape)} disagree on the number of samples`);
  const keep = t.ne(ignoreIndex);
  const safe = keep.where(t, 0);
  const picked = x.gather(1, safe.unsqueeze(1)).squeeze(1).neg();
  const rows = keep.where(picked, 0);
  if (reduction === 'none') return rows.reshape(...target.shape);
  if (reduction === 'sum') return rows.sum();
  return rows.sum().div(keep.float().sum());
}

function elementwiseLoss(fn: string, input: Tensor, target: Tensor, opts: { reduction?: Reduction }, allowed: string[]): Reduction {
  checkOptions(fn, opts, allowed);
  const { reduction = 'mean' } = opts;
  checkReduction(fn, reduction);
  if (input.shape.join() !== target.shape.join()) throw new Error(`${fn}: input shape ${shapeStr(input.shape)} and target shape ${shapeStr(target.shape)} must match`);
  return reduction;
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  [input, target] = autocastInputs('float32', [input, target]);
  const r = elementwiseLoss('mseLoss', input, target, opts, ['reduction']);
  const d = input.sub(target);
  return reduce(d.mul(d), r);
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  [input, target] = autocastInputs('float32', [input, target]);
  const r = elementwiseLoss('l1Loss', input, target, opts, ['reduction']);
  return reduce(input.sub(target).abs(), r);
}

export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: { reduction?: Reduction; posWeight?: Tensor } = {}): Tensor {
  [input, target] = autocastInputs('float32', [input, target]);
  if (opts.posWeight) opts = { ...opts, posWeight: autocastInputs('float32', [opts.posWeight])[0] };
  const r = elementwiseLoss('binaryCrossEntropyWithLogits', input, target, opts, ['reduction', 'posWeight']);
  // log(1 + exp(-|x|)) + max(-x, 0) is log(1 + exp(-x)) without overflow
  const logSigNeg = input.abs().neg().exp().add(1).log().add(input.neg().relu());
  const w = opts.posWeight ? opts.posWeight.sub(1).mul(target).add(1) : null;
  const loss = target.neg().add(1).mul(input).add(w ? w.mul(logSigNeg) : logSigNeg);
  return reduce(loss, r);
}
