// kn.F: the functional forms of the layers (activations, linear, softmax, dropout).
import { Tensor } from '../graph/tensor.js';
import { uniform } from '../graph/random.js';
import { scopeSuffix } from '../graph/state.js';
import { autocastInputs } from '../graph/autocast.js';
import { options, describe } from '../graph/args.js';
export { oneHot, normalize, cosineSimilarity, pairwiseDistance } from '../graph/compose.js';

export const relu = (x: Tensor) => x.relu();
export const leakyRelu = (x: Tensor, opts?: { negativeSlope?: number }) => x.leakyRelu(opts);
export const elu = (x: Tensor, opts?: { alpha?: number }) => x.elu(opts);
export const gelu = (x: Tensor, opts?: { approximate?: 'none' | 'tanh' }) => x.gelu(opts);
export const silu = (x: Tensor) => x.silu();
export const sigmoid = (x: Tensor) => x.sigmoid();
export const tanh = (x: Tensor) => x.tanh();
export const softplus = (x: Tensor, opts?: { beta?: number; threshold?: number }) => x.softplus(opts);
export const hardtanh = (x: Tensor, opts?: { minVal?: number; maxVal?: number }) => x.hardtanh(opts);
export const relu6 = (x: Tensor) => x.relu6();
export const hardswish = (x: Tensor) => x.hardswish();
export const logSigmoid = (x: Tensor) => x.logSigmoid();
export const softmax = (x: Tensor, dim: number) => x.softmax(dim);
export const logSoftmax = (x: Tensor, dim: number) => x.logSoftmax(dim);
export const matmul = (a: Tensor, b: Tensor) => a.matmul(b);

/** y = x W^T + b, as torch.nn.functional.linear. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  // one op under autocast, as PyTorch's: the bias joins the float16 product in float16
  [x, weight, bias] = autocastInputs('lowerPrecision', [x, weight, bias]);
  if (x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new Error(`linear: input has ${x.shape[x.ndim - 1]} features (shape [${x.shape}]) but the weight expects ${weight.shape[1]} (weight shape [${weight.shape}])${scopeSuffix()}`);
  }
  const y = x.matmul(weight.t());
  return bias ? y.add(bias) : y;
}

export function dropout(x: Tensor, opts?: { p?: number; training?: boolean }): Tensor {
  const { p = 0.5, training = true } = options('dropout', opts, ['p', 'training']);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${describe(p)}`);
  if (typeof training !== 'boolean') throw new Error(`dropout: training must be a boolean, got ${describe(training)}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const keep = uniform(x.shape).ge(p);
  return keep.where(x.div(1 - p), 0);
}
