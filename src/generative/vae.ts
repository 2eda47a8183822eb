// The variational autoencoder's terms: reparameterization with device noise, the analytic KL
// divergence to N(0, I), the ELBO (Bernoulli or Gaussian reconstruction, beta-VAE weighting)
// and the importance-weighted bound (Burda et al. 2016) for evaluation. All in nats per sample.
import { shapeStr } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { randn } from '../graph/random.js';
import { options, checkInt, describe } from '../graph/args.js';
import { checkTensor, checkShapeIs, checkChoice, checkRange } from './args.js';
import { reconstructionNll, reduceBatch, type LikelihoodOptions, type Reduction } from './autoencoder.js';

/** mu and logvar: float32 [N, L], one shape. */
function checkPosterior(fn: string, mu: unknown, logvar: unknown): [Tensor, Tensor] {
  const m = checkTensor(fn, 'mu', mu), lv = checkTensor(fn, 'logvar', logvar);
  checkShapeIs(fn, 'mu', m, [-1, -1]);
  checkShapeIs(fn, 'logvar', lv, m.shape, ' (the shape of mu)');
  return [m, lv];
}

/**
 * z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) drawn on the device (fresh in every
 * compiled call); pass {eps} to fix the noise. Gradients flow to mu and logvar.
 */
export function reparameterize(mu: Tensor, logvar: Tensor, opts: { eps?: Tensor } = {}): Tensor {
  const fn = 'reparameterize';
  const [m, lv] = checkPosterior(fn, mu, logvar);
  options(fn, opts, ['eps']);
  const eps = opts.eps === undefined ? randn(m.shape) : checkTensor(fn, 'eps', opts.eps);
  checkShapeIs(fn, 'eps', eps, m.shape, ' (the shape of mu)');
  return m.add(lv.mul(0.5).exp().mul(eps));
}

/** KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over the latent: [N]. */
export function klStandardNormal(mu: Tensor, logvar: Tensor): Tensor {
  const [m, lv] = checkPosterior('klStandardNormal', mu, logvar);
  return m.mul(m).add(lv.exp()).sub(lv).sub(1).sum(1).mul(0.5);
}

export interface ElboOptions extends LikelihoodOptions {
  /** the weight of the KL term in `loss` (beta-VAE; default 1) */
  beta?: number;
  /** 'mean' over the batch (default), 'sum', or 'none' (per sample, [N]) */
  reduction?: Reduction;
}
export interface Elbo {
  /** reconstruction + beta * kl: what training minimises */
  loss: Tensor;
  /** the evidence lower bound, -(reconstruction + kl), whatever beta is */
  elbo: Tensor;
  /** -log p(x | z), nats */
  reconstruction: Tensor;
  /** KL(q(z | x) || N(0, I)), nats */
  kl: Tensor;
}

/**
 * The ELBO of a batch: `output` is the decoder's output for z sampled from q(z | x) =
 * N(mu, exp(logvar)) (logits for 'bernoulli', the mean for 'gaussian'), x the data [N, ...].
 */
export function elbo(output: Tensor, x: Tensor, mu: Tensor, logvar: Tensor, opts: ElboOptions = {}): Elbo {
  const fn = 'elbo';
  checkTensor(fn, 'output', output); checkTensor(fn, 'x', x);
  const [m, lv] = checkPosterior(fn, mu, logvar);
  options(fn, opts, ['likelihood', 'sigma', 'beta', 'reduction']);
  const beta = checkRange(fn, 'beta', opts.beta ?? 1, 0, Infinity);
  const reduction = checkChoice(fn, 'reduction', opts.reduction ?? 'mean', ['mean', 'sum', 'none'] as const);
  if (x.ndim < 1 || x.shape[0] !== m.shape[0]) throw new Error(`${fn}: x must have ${m.shape[0]} samples (the rows of mu), got shape ${shapeStr(x.shape)}`);
  const rec = reconstructionNll(fn, output, x, opts);
  const kl = klStandardNormal(m, lv);
  const r = (t: Tensor) => reduceBatch(t, reduction);
  return { loss: r(rec.add(kl.mul(beta))), elbo: r(rec.add(kl).neg()), reconstruction: r(rec), kl: r(kl) };
}

/** log(mean(exp(x))) over `dim`, without overflow (the max is taken out first). */
export function logMeanExp(x: Tensor, dim: number): Tensor {
  checkTensor('logMeanExp', 'x', x);
  checkInt('logMeanExp', 'dim', dim);
  if (dim < -x.ndim || dim >= x.ndim) throw new Error(`logMeanExp: dim must be in [${-x.ndim}, ${x.ndim - 1}], got ${dim}`);
  const d = dim < 0 ? dim + x.ndim : dim;
  return x.logsumexp(d).sub(Math.log(x.shape[d]));
}

export interface IwaeOptions extends LikelihoodOptions {
  /** importance samples per input (default 50) */
  k?: number;
  /** the standard normal noise [k, N, L] (default: drawn on the device) */
  eps?: Tensor;
  reduction?: Reduction;
}

/**
 * The importance-weighted bound log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x): a
 * lower bound on log p(x) that tightens as k grows (k = 1 is the ELBO); -bound estimates the
 * NLL. `decode` maps latents [k * N, L] to outputs [k * N, ...x.shape[1:]]; the samples are
 * ordered sample-major (row i * N + n is sample i of input n).
 */
export function importanceWeightedBound(decode: (z: Tensor) => Tensor, x: Tensor, mu: Tensor, logvar: Tensor, opts: IwaeOptions = {}): Tensor {
  const fn = 'importanceWeightedBound';
  if (typeof decode !== 'function') throw new Error(`${fn}: decode must be a function from latents to outputs, got ${describe(decode)}`);
  checkTensor(fn, 'x', x);
  const [m, lv] = checkPosterior(fn, mu, logvar);
  options(fn, opts, ['likelihood', 'sigma', 'k', 'eps', 'reduction']);
  const reduction = checkChoice(fn, 'reduction', opts.reduction ?? 'mean', ['mean', 'sum', 'none'] as const);
  const [n, l] = m.shape;
  if (x.ndim < 1 || x.shape[0] !== n) throw new Error(`${fn}: x must have ${n} samples (the rows of mu), got shape ${shapeStr(x.shape)}`);
  let k: number, eps: Tensor;
  if (opts.eps !== undefined) {
    eps = checkTensor(fn, 'eps', opts.eps);
    if (eps.ndim !== 3) throw new Error(`${fn}: eps must have shape [k, ${n}, ${l}], got ${shapeStr(eps.shape)}`);
    k = eps.shape[0];
    if (opts.k !== undefined && opts.k !== k) throw new Error(`${fn}: k is ${describe(opts.k)} but eps holds ${k} samples`);
    checkShapeIs(fn, 'eps', eps, [k, n, l], ` ([k, N, L] for mu of shape [${n}, ${l}])`);
  } else {
    k = checkInt(fn, 'k', opts.k ?? 50, 1);
    eps = randn([k, n, l]);
  }
  const z = m.unsqueeze(0).add(lv.mul(0.5).exp().unsqueeze(0).mul(eps));
  const out = decode(z.reshape(k * n, l));
  checkTensor(fn, 'decode(z)', out);
  const rows = [k * n, ...x.shape.slice(1)];
  if (out.shape.join() !== rows.join()) throw new Error(`${fn}: decode(z) must have shape ${shapeStr(rows)} for z of shape [${k * n}, ${l}], got ${shapeStr(out.shape)}`);
  const xs = x.unsqueeze(0).expand(k, ...x.shape).reshape(...rows);
  const logPx = reconstructionNll(fn, out, xs, opts).neg().reshape(k, n);
  // log N(z; 0, I) - log N(z; mu, sigma): the 2 pi terms cancel, and (z - mu) / sigma = eps
  const logPz = z.mul(z).sum(2).mul(-0.5);
  const logQz = eps.mul(eps).add(lv.unsqueeze(0)).sum(2).mul(-0.5);
  return reduceBatch(logMeanExp(logPx.add(logPz).sub(logQz), 0), reduction);
}

