// The VAE module: an MLP encoder to (mu, logvar), an MLP decoder to logits (Bernoulli) or a
// mean (Gaussian), optionally conditioned on a class (its one-hot vector concatenated to the
// encoder's input and to the decoder's latent). Sampling and interpolation run as compiled
// programs (sampler.ts).
import { shapeStr } from '../graph/ir.js';
import { Tensor, tensor, concat, arange } from '../graph/tensor.js';
import { randn } from '../graph/random.js';
import { options, checkInt, describe } from '../graph/args.js';
import { Module } from '../layers/module.js';
import { Linear, Sequential, ReLU } from '../layers/layers.js';
import { checkTensor, checkShapeIs, checkChoice, checkRange } from './args.js';
import type { Likelihood } from './autoencoder.js';
import { elbo, reparameterize, importanceWeightedBound, type Elbo } from './vae.js';
import { SamplerCache } from './sampler.js';

export interface VAEOptions {
  /** features per input (default 784, a flattened 28x28 image) */
  inputSize?: number;
  /** hidden layer widths of the encoder; the decoder mirrors them (default [400]) */
  hidden?: number[];
  /** latent dimensions (default 20) */
  latent?: number;
  /** > 0: a conditional VAE over this many classes (default 0) */
  numClasses?: number;
  /** 'bernoulli' (decoder gives logits; default) or 'gaussian' (decoder gives the mean) */
  likelihood?: Likelihood;
  /** the Gaussian likelihood's standard deviation (default 1) */
  sigma?: number;
}
/** Class labels: int32 indices [N] or a float32 one-hot (or soft) matrix [N, numClasses]. */
export type Labels = Tensor;

function mlp(sizes: number[]): Sequential {
  const layers = [];
  for (let i = 1; i < sizes.length; i++) {
    layers.push(new Linear(sizes[i - 1], sizes[i]));
    if (i < sizes.length - 1) layers.push(new ReLU());
  }
  return new Sequential(...layers);
}

export class VAE extends Module<[Tensor, Tensor, Tensor]> {
  readonly inputSize: number;
  readonly latent: number;
  readonly numClasses: number;
  readonly likelihood: Likelihood;
  readonly sigma: number | undefined;
  encoder: Sequential;
  fcMu: Linear;
  fcLogvar: Linear;
  decoder: Sequential;
  #samplers = new SamplerCache();

  constructor(opts: VAEOptions = {}) {
    super();
    const fn = 'VAE';
    options(fn, opts, ['inputSize', 'hidden', 'latent', 'numClasses', 'likelihood', 'sigma']);
    this.inputSize = checkInt(fn, 'inputSize', opts.inputSize ?? 784, 1);
    this.latent = checkInt(fn, 'latent', opts.latent ?? 20, 1);
    this.numClasses = checkInt(fn, 'numClasses', opts.numClasses ?? 0, 0);
    this.likelihood = checkChoice(fn, 'likelihood', opts.likelihood ?? 'bernoulli', ['bernoulli', 'gaussian'] as const);
    if (opts.sigma !== undefined && this.likelihood !== 'gaussian') throw new Error(`${fn}: sigma applies to likelihood 'gaussian' only, got sigma ${describe(opts.sigma)}`);
    this.sigma = opts.sigma === undefined ? undefined : checkRange(fn, 'sigma', opts.sigma, 0, Infinity, { lo: true });
    const hidden = opts.hidden ?? [400];
    if (!Array.isArray(hidden) || hidden.length === 0) throw new Error(`${fn}: hidden must be a non-empty array of layer widths, got ${describe(hidden)}`);
    hidden.forEach((h, i) => checkInt(fn, `hidden[${i}]`, h, 1));
    const c = this.numClasses;
    this.encoder = new Sequential(...mlp([this.inputSize + c, ...hidden]).layers, new ReLU());
    this.fcMu = new Linear(hidden[hidden.length - 1], this.latent);
    this.fcLogvar = new Linear(hidden[hidden.length - 1], this.latent);
    this.decoder = mlp([this.latent + c, ...hidden.slice().reverse(), this.inputSize]);
  }

  /** The one-hot matrix [N, numClasses] of `y` (required exactly when the VAE is conditional). */
  private condition(fn: string, y: Labels | undefined, n: number): Tensor | null {
    if (this.numClasses === 0) {
      if (y !== undefined) throw new Error(`${fn}: y was given, but this VAE is not conditional (numClasses 0)`);
      return null;
    }
    if (!(y instanceof Tensor)) throw new Error(`${fn}: y must be a Tensor of ${n} class labels (this VAE is conditional on ${this.numClasses} classes), got ${describe(y)}`);
    if (y.dtype === 'int32') {
      checkShapeIs(fn, 'y', y, [n], ' (one class index per sample)');
      // an index outside [0, numClasses) gives a zero row: indices are not read back to check
      return y.unsqueeze(1).eq(arange(this.numClasses).unsqueeze(0)).cast('float32');
    }
    checkTensor(fn, 'y', y);
    checkShapeIs(fn, 'y', y, [n, this.numClasses], ' (one-hot rows)');
    return y;
  }

  private withClass(h: Tensor, c: Tensor | null): Tensor { return c ? concat([h, c], 1) : h; }

  /** [mu, logvar] of q(z | x), each [N, latent]. */
  encode(x: Tensor, y?: Labels): [Tensor, Tensor] {
    const fn = 'VAE.encode';
    checkShapeIs(fn, 'x', checkTensor(fn, 'x', x), [-1, this.inputSize]);
    const h = this.encoder.call(this.withClass(x, this.condition(fn, y, x.shape[0])));
    return [this.fcMu.call(h), this.fcLogvar.call(h)];
  }

  /** The decoder's output for latents z [N, latent]: logits (Bernoulli) or means (Gaussian). */
  decode(z: Tensor, y?: Labels): Tensor {
    const fn = 'VAE.decode';
    checkShapeIs(fn, 'z', checkTensor(fn, 'z', z), [-1, this.latent], ` (latent size ${this.latent})`);
    return this.decoder.call(this.withClass(z, this.condition(fn, y, z.shape[0])));
  }

  /** [output, mu, logvar] for x, through one reparameterized sample of z. */
  forward(x: Tensor, y?: Labels): [Tensor, Tensor, Tensor] {
    const [mu, logvar] = this.encode(x, y);
    return [this.decode(reparameterize(mu, logvar), y), mu, logvar];
  }

  /** The ELBO terms of a batch (mean nats per sample); loss = reconstruction + beta * kl. */
  loss(x: Tensor, opts: { y?: Labels; beta?: number } = {}): Elbo {
    options('VAE.loss', opts, ['y', 'beta']);
    const [out, mu, logvar] = this.forward(x, opts.y);
    return elbo(out, x, mu, logvar, { likelihood: this.likelihood, sigma: this.sigma, beta: opts.beta });
  }

  /** The importance-weighted bound on log p(x) with k samples (mean over the batch; -it is the NLL estimate). */
  importanceWeightedBound(x: Tensor, opts: { y?: Labels; k?: number; eps?: Tensor } = {}): Tensor {
    options('VAE.importanceWeightedBound', opts, ['y', 'k', 'eps']);
    const [mu, logvar] = this.encode(x, opts.y);
    const k = opts.eps?.shape[0] ?? opts.k ?? 50;
    checkInt('VAE.importanceWeightedBound', 'k', k, 1);
    // each of the k samples of input n keeps its class: the labels repeat sample-major, as z
    const ys = opts.y === undefined ? undefined : opts.y.unsqueeze(0).expand(k, ...opts.y.shape).reshape(k * x.shape[0], ...opts.y.shape.slice(1));
    return importanceWeightedBound((z) => this.decode(z, ys), x, mu, logvar, { likelihood: this.likelihood, sigma: this.sigma, k, eps: opts.eps });
  }

  /** What the decoder's output means as data: probabilities (Bernoulli) or the mean. */
  private mean(out: Tensor): Tensor { return this.likelihood === 'bernoulli' ? out.sigmoid() : out; }

  /** n samples' means from the prior, [n, inputSize]: one compiled program per n, fresh noise per call. */
  sample(n: number, opts: { y?: Labels | number } = {}): Promise<Tensor> {
    const fn = 'VAE.sample';
    checkInt(fn, 'n', n, 1);
    options(fn, opts, ['y']);
    const y = this.labels(fn, opts.y, n);
    return this.#samplers.run(`sample ${n} ${y ? y.dtype : ''}`, (...a) => this.mean(this.decode(randn(n, this.latent), a[0])), y ? [y] : []);
  }

  /**
   * Decodes `steps` latents on the line from z0 to z1 (each [latent] or [1, latent]), both ends
   * included: [steps, inputSize] means. One compiled program per steps.
   */
  interpolate(z0: Tensor, z1: Tensor, steps: number, opts: { y?: Labels | number } = {}): Promise<Tensor> {
    const fn = 'VAE.interpolate';
    checkInt(fn, 'steps', steps, 2);
    options(fn, opts, ['y']);
    const ends = [['z0', z0], ['z1', z1]] as const;
    for (const [name, z] of ends) {
      checkTensor(fn, name, z);
      if (z.numel() !== this.latent || z.ndim > 2 || (z.ndim === 2 && z.shape[0] !== 1)) throw new Error(`${fn}: ${name} must have shape [${this.latent}] or [1, ${this.latent}] (latent size ${this.latent}), got ${shapeStr(z.shape)}`);
    }
    const y = this.labels(fn, opts.y, steps);
    const t = tensor(Array.from({ length: steps }, (_, i) => i / (steps - 1)), [steps, 1]);
    return this.#samplers.run(`interpolate ${steps} ${y ? y.dtype : ''}`, (a, b, w, c) => {
      const z = a.reshape(1, -1).mul(w.neg().add(1)).add(b.reshape(1, -1).mul(w));
      return this.mean(this.decode(z, c));
    }, [z0.reshape(1, -1), z1.reshape(1, -1), t, ...(y ? [y] : [])]);
  }

  /** Labels for n generated samples: a class index for all, or a tensor as in decode. */
  private labels(fn: string, y: Labels | number | undefined, n: number): Tensor | undefined {
    if (typeof y === 'number') {
      if (this.numClasses === 0) throw new Error(`${fn}: y was given, but this VAE is not conditional (numClasses 0)`);
      checkInt(fn, 'y', y, 0);
      if (y >= this.numClasses) throw new Error(`${fn}: y must be a class index in [0, ${this.numClasses}), got ${y}`);
      return tensor(new Int32Array(n).fill(y), [n], { dtype: 'int32' });
    }
    this.condition(fn, y, n);
    return y;
  }

  override extraRepr(): string {
    return `latent=${this.latent}, likelihood='${this.likelihood}'${this.numClasses ? `, num_classes=${this.numClasses}` : ''}`;
  }
}
