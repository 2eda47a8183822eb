// Autoencoder helpers: input corruption for denoising autoencoders (device noise, fresh in
// every compiled call) and the reconstruction loss as a negative log-likelihood, the term an
// autoencoder minimises and a VAE's ELBO contains.
import { shapeStr } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { randnLike, randLike } from '../graph/random.js';
import { options, describe } from '../graph/args.js';
import { binaryCrossEntropyWithLogits } from '../train/losses.js';
import { checkTensor, checkChoice, checkRange } from './args.js';

export type Likelihood = 'bernoulli' | 'gaussian';
export type Reduction = 'mean' | 'sum' | 'none';
export interface LikelihoodOptions {
  /** 'bernoulli': the output holds logits; 'gaussian': the output is the mean */
  likelihood?: Likelihood;
  /** the Gaussian's standard deviation: a number, or a tensor broadcast against x (learned) */
  sigma?: number | Tensor;
}
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Sums every dim but the first: [N, ...] -> [N]. */
function perSample(t: Tensor): Tensor {
  return t.ndim === 1 ? t : t.reshape(t.shape[0], -1).sum(1);
}

/** Reduces per-sample values [N]: 'mean' over the batch, 'sum', or 'none'. */
export function reduceBatch(t: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? t : reduction === 'sum' ? t.sum() : t.mean();
}

/**
 * -log p(x | output) per sample, in nats, summed over each sample's elements: [N]. Bernoulli
 * on logits (targets in [0, 1]; binary targets make it a true log-likelihood), or Gaussian
 * with standard deviation sigma (default 1).
 */
export function reconstructionNll(fn: string, output: Tensor, x: Tensor, opts: LikelihoodOptions = {}): Tensor {
  const likelihood = checkChoice(fn, 'likelihood', opts.likelihood ?? 'bernoulli', ['bernoulli', 'gaussian'] as const);
  if (output.shape.join() !== x.shape.join()) throw new Error(`${fn}: output and x must have one shape, got ${shapeStr(output.shape)} and ${shapeStr(x.shape)}`);
  if (x.ndim < 1) throw new Error(`${fn}: x must have a batch dimension, got a scalar`);
  if (likelihood === 'bernoulli') {
    if (opts.sigma !== undefined) throw new Error(`${fn}: sigma applies to likelihood 'gaussian' only, got sigma ${describe(opts.sigma)} with 'bernoulli'`);
    return perSample(binaryCrossEntropyWithLogits(output, x, { reduction: 'none' }));
  }
  const sigma = opts.sigma ?? 1;
  if (!(sigma instanceof Tensor)) checkRange(fn, 'sigma', sigma, 0, Infinity, { lo: true });
  else checkTensor(fn, 'sigma', sigma);
  const logSigma = sigma instanceof Tensor ? sigma.log() : Math.log(sigma);
  const r = x.sub(output).div(sigma);
  return perSample(r.mul(r).mul(0.5).add(logSigma).add(HALF_LOG_2PI));
}

/**
 * The reconstruction loss of an autoencoder, as a negative log-likelihood (nats per sample,
 * averaged over the batch by default): reconstructionLoss(decoder(z), x, {likelihood, sigma,
 * reduction}). With 'gaussian' and sigma 1 it is half the summed squared error plus a constant.
 */
export function reconstructionLoss(output: Tensor, x: Tensor, opts: LikelihoodOptions & { reduction?: Reduction } = {}): Tensor {
  const fn = 'reconstructionLoss';
  checkTensor(fn, 'output', output); checkTensor(fn, 'x', x);
  options(fn, opts, ['likelihood', 'sigma', 'reduction']);
  const reduction = checkChoice(fn, 'reduction', opts.reduction ?? 'mean', ['mean', 'sum', 'none'] as const);
  return reduceBatch(reconstructionNll(fn, output, x, opts), reduction);
}

export interface CorruptOptions {
  /** 'gaussian': x + std * N(0, 1); 'masking': each element zeroed with probability p; 'saltAndPepper': set to 0 or 1 with probability p */
  noise?: 'gaussian' | 'masking' | 'saltAndPepper';
  /** the Gaussian noise's standard deviation (default 0.5) */
  std?: number;
  /** the probability that an element is masked or replaced (default 0.25) */
  p?: number;
  /** clamp the result to [0, 1] (pixel data; default false) */
  clip?: boolean;
}

/** The noisy input of a denoising autoencoder: fresh device noise at every call, compiled or not. */
export function corrupt(x: Tensor, opts: CorruptOptions = {}): Tensor {
  const fn = 'corrupt';
  checkTensor(fn, 'x', x);
  options(fn, opts, ['noise', 'std', 'p', 'clip']);
  const noise = checkChoice(fn, 'noise', opts.noise ?? 'gaussian', ['gaussian', 'masking', 'saltAndPepper'] as const);
  if (noise === 'gaussian' && opts.p !== undefined) throw new Error(`${fn}: p applies to noise 'masking' or 'saltAndPepper', got p ${describe(opts.p)} with 'gaussian'`);
  if (noise !== 'gaussian' && opts.std !== undefined) throw new Error(`${fn}: std applies to noise 'gaussian', got std ${describe(opts.std)} with '${noise}'`);
  const clip = opts.clip ?? false;
  if (typeof clip !== 'boolean') throw new Error(`${fn}: clip must be a boolean, got ${describe(clip)}`);
  let y: Tensor;
  if (noise === 'gaussian') y = x.add(randnLike(x).mul(checkRange(fn, 'std', opts.std ?? 0.5, 0, Infinity)));
  else {
    const p = checkRange(fn, 'p', opts.p ?? 0.25, 0, 1);
    const u = randLike(x);
    if (noise === 'masking') y = u.lt(p).where(0, x);
    // one uniform draw decides both: below p/2 pepper (0), in [p/2, p) salt (1)
    else y = u.lt(p / 2).where(0, u.lt(p).where(1, x));
  }
  return clip ? y.clamp(0, 1) : y;
}
