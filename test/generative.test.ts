// src/generative (issue 16): the ELBO terms, reparameterization, the importance-weighted bound
// and a small (conditional) VAE module against PyTorch (test/golden/vae.json, gen_vae.py), with
// their gradients; the Fréchet distance against numpy's float64 reference and closed forms;
// compiled samplers (one program, fresh noise, equal to the eager computation); corruption,
// features, grids; and bad input.
//
// Tolerances: rtol 1e-5 with atol 2e-6 for float32 values summed over a few dozen terms (as
// losses.test.ts: WGSL's exp/log promise an absolute error near 2^-21, gradients chain a few);
// the extreme-logits bound sums terms near 100, so its atol scales to 1e-4. The Fréchet
// distance is float64 throughout: rtol 1e-9 against numpy, looser (1e-6) where the
// covariances are singular and both sides take square roots of rounding-sized eigenvalues.
// expectClose fails on a NaN anywhere (JSON holds none).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { expectClose, type Tol } from './compare.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
const golden = loadGolden('vae.json');
const TOL: Tol = { rtol: 1e-5, atol: 2e-6 };
const G = kn.generative;

const f32 = (t: T, requiresGrad = false) => kn.tensor(Float32Array.from(t.data), t.shape, { requiresGrad });
async function close(what: string, got: kn.Tensor | null, want: T | number, tol = TOL): Promise<void> {
  expect(got, `${what}: missing`).not.toBeNull();
  const w = typeof want === 'number' ? { shape: [], data: [want] } : want;
  expect(got!.shape, `${what}: shape`).toEqual(w.shape);
  expectClose(await got!.data(), w.data, tol, what);
}

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

describe('golden: ELBO terms and reparameterization (vae.json)', () => {
  for (const c of golden.elbo) {
    it(c.name, async () => {
      const out = f32(c.output, true), mu = f32(c.mu, true), logvar = f32(c.logvar, true), x = f32(c.x);
      const opts = { likelihood: c.likelihood, beta: c.beta, ...(c.sigma === null ? {} : { sigma: c.sigma }) };
      const r = G.elbo(out, x, mu, logvar, opts);
      await close('loss', r.loss, c.loss);
      await close('elbo', r.elbo, c.elbo);
      await close('reconstruction', r.reconstruction, c.reconstructionMean);
      await close('kl', r.kl, c.klMean);
      // float32 against the float64 truth: a few ulps of values near 10
      expectClose([await r.loss.item()], [c.lossF64], { rtol: 1e-6, atol: 0 }, 'loss vs float64');
      const none = G.elbo(out, x, mu, logvar, { ...opts, reduction: 'none' });
      await close('reconstruction per sample', none.reconstruction, c.reconstruction);
      await close('kl per sample', none.kl, c.kl);
      await close('kl alone', G.klStandardNormal(mu, logvar), c.kl);
      r.loss.backward();
      await close('d loss / d output', out.grad, c.gradOutput);
      await close('d loss / d mu', mu.grad, c.gradMu);
      await close('d loss / d logvar', logvar.grad, c.gradLogvar);

      const m = f32(c.mu, true), lv = f32(c.logvar, true);
      const z = G.reparameterize(m, lv, { eps: f32(c.eps) });
      await close('z', z, c.z);
      const n = z.shape[0] * z.shape[1];
      z.mul(kn.arange(n).float().add(1).reshape(z.shape)).sum().backward();
      await close('d z / d mu', m.grad, c.zGradMu);
      await close('d z / d logvar', lv.grad, c.zGradLogvar);
    });
  }
});

describe('golden: importance-weighted bound on fixed noise (vae.json)', () => {
  for (const c of golden.iwae) {
    it(c.name, async () => {
      const w = f32(c.weight, true), b = f32(c.bias, true), mu = f32(c.mu, true), logvar = f32(c.logvar, true);
      const tol = c.name.includes('extreme') ? { rtol: 1e-5, atol: 1e-4 } : TOL;
      const opts = { eps: f32(c.eps), likelihood: c.likelihood, ...(c.likelihood === 'gaussian' ? { sigma: c.sigma } : {}) };
      const decode = (z: kn.Tensor) => kn.F.linear(z, w, b);
      const bound = G.importanceWeightedBound(decode, f32(c.x), mu, logvar, { ...opts, reduction: 'none' });
      await close('bound per sample', bound, c.bound, tol);
      expectClose(await bound.data(), c.boundF64, { rtol: 1e-5, atol: tol.atol }, 'bound vs float64');
      const mean = G.importanceWeightedBound(decode, f32(c.x), mu, logvar, opts);
      await close('mean bound', mean, c.mean, tol);
      mean.backward();
      await close('d / d weight', w.grad, c.gradWeight, tol);
      await close('d / d bias', b.grad, c.gradBias, tol);
      await close('d / d mu', mu.grad, c.gradMu, tol);
      await close('d / d logvar', logvar.grad, c.gradLogvar, tol);
    });
  }

  it('k = 1 averages to the analytic-KL ELBO (its KL is a one-sample estimate)', async () => {
    const c = golden.iwae.find((x: any) => x.k === 1);
    const w = f32(c.weight), b = f32(c.bias), reps = 4000, [n, l] = c.mu.shape, d = c.x.shape[1];
    const rep = (t: kn.Tensor, cols: number) => t.unsqueeze(0).expand(reps, n, cols).reshape(reps * n, cols);
    const mu = rep(f32(c.mu), l), logvar = rep(f32(c.logvar), l), x = rep(f32(c.x), d);
    const decode = (z: kn.Tensor) => kn.F.linear(z, w, b);
    const bound = await G.importanceWeightedBound(decode, x, mu, logvar, { k: 1, reduction: 'none' }).data();
    const terms = G.elbo(decode(G.reparameterize(mu, logvar)), x, mu, logvar, { reduction: 'none' });
    const rec = await terms.reconstruction.data(), kl = await terms.kl.data();
    const stats = (f: (r: number) => number) => {
      const v = Array.from({ length: reps }, (_, r) => f(r)), m = v.reduce((s, t) => s + t, 0) / reps;
      return { m, se2: v.reduce((s, t) => s + (t - m) ** 2, 0) / (reps - 1) / reps };
    };
    for (let i = 0; i < n; i++) {
      // two independent Monte Carlo estimates of one expectation: within 5 standard errors
      const iw = stats((r) => bound[r * n + i]), re = stats((r) => rec[r * n + i]);
      const gap = Math.abs(iw.m - (-re.m - kl[i]));
      expect(gap, `input ${i}: E[bound] ${iw.m} vs ELBO ${-re.m - kl[i]}`).toBeLessThan(5 * Math.sqrt(iw.se2 + re.se2));
    }
  });

  it('logMeanExp stays finite where exp underflows and overflows', async () => {
    const x = kn.tensor([-1000, -1001, -1002, 800, 801, 799], [2, 3]);
    const host = (r: number[]) => { const m = Math.max(...r); return m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0) / r.length); };
    expectClose(await G.logMeanExp(x, 1).data(), [host([-1000, -1001, -1002]), host([800, 801, 799])], { rtol: 1e-6, atol: 0 }, 'logMeanExp');
  });
});

describe('golden: the VAE module (PyTorch weights, fixed noise)', () => {
  for (const c of golden.module) {
    it(c.name, async () => {
      const vae = new G.VAE({ inputSize: c.inputSize, hidden: [c.hidden], latent: c.latent, numClasses: c.numClasses });
      await vae.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, f32(v as T)])));
      const y = c.y === null ? undefined : kn.tensor(Int32Array.from(c.y), [c.y.length], { dtype: 'int32' });
      const [mu, logvar] = vae.encode(f32(c.x), y);
      await close('mu', mu, c.mu);
      await close('logvar', logvar, c.logvar);
      const bound = vae.importanceWeightedBound(f32(c.x), { y, eps: f32(c.eps) });
      await close('bound', bound, c.mean);
      bound.backward();
      for (const [k, p] of vae.namedParameters()) await close(`d bound / d ${k}`, p.grad, c.grads[k]);
    });
  }
});

/** n rows of d values with the given covariance eigenvalues in a random orthonormal basis. */
function rotation(d: number, seed: number): Float64Array {
  // Gram-Schmidt on a seeded matrix: an orthonormal basis as columns
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const q = new Float64Array(d * d).map(rnd);
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += q[i * d + j] * q[i * d + k];
      for (let i = 0; i < d; i++) q[i * d + j] -= dot * q[i * d + k];
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += q[i * d + j] ** 2;
    for (let i = 0; i < d; i++) q[i * d + j] /= Math.sqrt(norm);
  }
  return q;
}
function conjugate(q: Float64Array, eig: number[], d: number): Float64Array {
  const c = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) c[i * d + j] += q[i * d + k] * eig[k] * q[j * d + k];
  return c;
}

describe('Fréchet distance (float64)', () => {
  for (const c of golden.frechet) {
    it(`numpy's reference: ${c.name}`, async () => {
      const tol = c.name.includes('singular') ? { rtol: 1e-6, atol: 0 } : { rtol: 1e-9, atol: 0 };
      const got = await G.frechetDistance({ data: c.real.data, n: c.real.n, d: c.d }, { data: c.fake.data, n: c.fake.n, d: c.d });
      expectClose([got], [c.distance], tol, 'Fréchet distance');
    });
  }

  it('commuting covariances: |m1 - m2|^2 + sum (sqrt a - sqrt b)^2', () => {
    const d = 12, q = rotation(d, 7);
    const a = Array.from({ length: d }, (_, i) => 0.5 + i), b = Array.from({ length: d }, (_, i) => (i % 3) * 2 + 0.1);
    const m1 = Float64Array.from({ length: d }, (_, i) => i / 3), m2 = new Float64Array(d).fill(1);
    let want = 0;
    for (let i = 0; i < d; i++) want += (m1[i] - m2[i]) ** 2 + (Math.sqrt(a[i]) - Math.sqrt(b[i])) ** 2;
    const got = G.frechetDistanceFromMoments({ mean: m1, cov: conjugate(q, a, d), d }, { mean: m2, cov: conjugate(q, b, d), d });
    expectClose([got], [want], { rtol: 1e-10, atol: 0 }, 'commuting');
  });

  it('sqrtmPsd squares back, and a set against itself is at distance 0', async () => {
    const d = 9, q = rotation(d, 3), eig = [0, 1e-3, 0.5, 1, 2, 3, 5, 8, 13];
    const a = conjugate(q, eig, d), s = G.sqrtmPsd(a, d);
    const ss = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) ss[i * d + j] += s[i * d + k] * s[k * d + j];
    expectClose(ss, a, { rtol: 0, atol: 1e-12 }, 'sqrtm^2');
    const set = { data: golden.frechet[0].real.data, n: golden.frechet[0].real.n, d: golden.frechet[0].d };
    expect(Math.abs(await G.frechetDistance(set, set))).toBeLessThan(1e-9);
  });

  it('takes Tensors [N, D] and gives the float64 figure of their float32 values', async () => {
    const c = golden.frechet[0];
    const real = new Float32Array(c.real.data), fake = new Float32Array(c.fake.data);
    const got = await G.frechetDistance(kn.tensor(real, [c.real.n, c.d]), kn.tensor(fake, [c.fake.n, c.d]));
    const want = await G.frechetDistance({ data: real, n: c.real.n, d: c.d }, { data: fake, n: c.fake.n, d: c.d });
    expect(got).toBe(want);
    expectClose([got], [c.distance], { rtol: 1e-5, atol: 0 }, 'float32 features');
  });
});

describe('compiled samplers', () => {
  it('vae.sample(n) is one program: fresh samples per call, no JavaScript per op on replay, equal to eager', async () => {
    kn.manualSeed(5);
    const vae = new G.VAE({ inputSize: 12, hidden: [8], latent: 3 });
    let calls = 0;
    const fwd = vae.decoder.forward.bind(vae.decoder);
    vae.decoder.forward = (x: kn.Tensor) => { calls++; return fwd(x); };
    kn.manualSeed(11);
    const a = await (await vae.sample(6)).data();
    const b = await (await vae.sample(6)).data();
    const c = await (await vae.sample(6)).data();
    expect(calls).toBe(1);
    expect(Array.from(a).some((v, i) => v !== b[i]) && Array.from(b).some((v, i) => v !== c[i])).toBe(true);
    for (const v of [...a, ...b]) expect(v > 0 && v < 1).toBe(true);
    // the same seed, eagerly: the sampler computes sigmoid(decode(z)), z ~ N(0, I) from the device stream
    kn.manualSeed(11);
    const eager = [];
    for (let i = 0; i < 3; i++) eager.push(...await vae.decode(kn.randn(6, 3)).sigmoid().data());
    expectClose([...a, ...b, ...c], eager, TOL, 'compiled vs eager samples');
  });

  it('interpolate decodes the line between two latents, ends included; conditional sampling by class', async () => {
    const vae = new G.VAE({ inputSize: 10, hidden: [6], latent: 4, numClasses: 3 });
    const z0 = kn.tensor([1, -1, 0.5, 2], [4]), z1 = kn.tensor([-2, 0, 1, 0], [1, 4]);
    const got = await vae.interpolate(z0, z1, 5, { y: 2 });
    const y = kn.tensor(new Int32Array(5).fill(2), [5], { dtype: 'int32' });
    const t = [0, 0.25, 0.5, 0.75, 1];
    const z = kn.tensor(t.flatMap((s) => [1, -1, 0.5, 2].map((v, i) => v * (1 - s) + [-2, 0, 1, 0][i] * s)), [5, 4]);
    await close('interpolation', got, { shape: [5, 10], data: Array.from(await vae.decode(z, y).sigmoid().data()) });
    const s = await vae.sample(4, { y: 1 });
    expect(s.shape).toEqual([4, 10]);
    expect(Array.from(await s.data()).every((v) => v > 0 && v < 1)).toBe(true);
  });
});

describe('autoencoder helpers, features, grids', () => {
  it('corrupt: masking, salt-and-pepper and Gaussian noise at their rates, fresh in every compiled call', async () => {
    const n = 20000, ones = kn.ones([n]);
    const frac = (a: ArrayLike<number>, f: (v: number) => boolean) => Array.from(a).filter(f).length / n;
    // 4.5 standard deviations of a binomial fraction: a correct generator passes with p > 0.99999
    const bound = (p: number) => 4.5 * Math.sqrt(p * (1 - p) / n);
    const step = kn.compile((x: kn.Tensor) => G.corrupt(x, { noise: 'masking', p: 0.3 }));
    const m1 = await (await step(ones)).data(), m2 = await (await step(ones)).data();
    expect(Math.abs(frac(m1, (v) => v === 0) - 0.3)).toBeLessThan(bound(0.3));
    expect(Array.from(m1).some((v, i) => v !== m2[i])).toBe(true);
    const half = kn.full([n], 0.5);
    const sp = await G.corrupt(half, { noise: 'saltAndPepper', p: 0.2 }).data();
    expect(Math.abs(frac(sp, (v) => v === 0) - 0.1)).toBeLessThan(bound(0.1));
    expect(Math.abs(frac(sp, (v) => v === 1) - 0.1)).toBeLessThan(bound(0.1));
    expect(frac(sp, (v) => v === 0.5) + frac(sp, (v) => v === 0) + frac(sp, (v) => v === 1)).toBe(1);
    const g = Array.from(await G.corrupt(half, { std: 2 }).data());
    const mean = g.reduce((s, v) => s + v, 0) / n, sd = Math.sqrt(g.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    expect(Math.abs(mean - 0.5)).toBeLessThan(4.5 * 2 / Math.sqrt(n));
    expect(Math.abs(sd - 2)).toBeLessThan(4.5 * 2 / Math.sqrt(2 * n));
    const clipped = await G.corrupt(half, { std: 2, clip: true }).data();
    expect(Array.from(clipped).every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('reconstructionLoss: Gaussian is half the squared error over sigma^2 plus the normaliser; Bernoulli the summed BCE', async () => {
    const out = kn.tensor([0.1, 0.4, -0.3, 1, 2, 0], [2, 3]), x = kn.tensor([0, 1, 0, 1, 1, 0], [2, 3]);
    const o = [0.1, 0.4, -0.3, 1, 2, 0], t = [0, 1, 0, 1, 1, 0], sigma = 0.5;
    const gauss = [0, 1].map((r) => [0, 1, 2].reduce((s, j) => s + 0.5 * ((t[r * 3 + j] - o[r * 3 + j]) / sigma) ** 2 + Math.log(sigma) + 0.5 * Math.log(2 * Math.PI), 0));
    expectClose(await G.reconstructionLoss(out, x, { likelihood: 'gaussian', sigma, reduction: 'none' }).data(), gauss, TOL, 'gaussian');
    const bce = (z: number, y: number) => Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
    const want = [0, 1].map((r) => [0, 1, 2].reduce((s, j) => s + bce(o[r * 3 + j], t[r * 3 + j]), 0));
    expectClose([await G.reconstructionLoss(out, x).item()], [(want[0] + want[1]) / 2], TOL, 'bernoulli mean');
  });

  it('classifierFeatures: every layer but the last, in eval mode, batches padded', async () => {
    const net = new kn.nn.Sequential(new kn.nn.Linear(4, 3), new kn.nn.ReLU(), new kn.nn.Dropout(0.5), new kn.nn.Linear(3, 2));
    const w = Array.from(await net.at(0).weight.data()), b = Array.from(await net.at(0).bias.data());
    const x = Array.from({ length: 5 * 4 }, (_, i) => Math.sin(i));
    const want = [];
    for (let r = 0; r < 5; r++) for (let o = 0; o < 3; o++) want.push(Math.max(0, b[o] + [0, 1, 2, 3].reduce((s, i) => s + w[o * 4 + i] * x[r * 4 + i], 0)));
    const f = await G.classifierFeatures(net, x, 5, { batchSize: 2 });
    expect([f.n, f.d]).toEqual([5, 3]);
    expectClose(f.data, want, TOL, 'features');
    expect(net.training).toBe(true);
  });

  it('imageGrid lays images out in rows, clamps to [0, 1] and draws NaN red', () => {
    const img = G.imageGrid([0, 1, 2, -1, Number.NaN, 0.5], 3, 1, 2, { cols: 2, pad: 1, scale: 1 });
    expect([img.width, img.height]).toEqual([2 * 3 + 1, 2 * 2 + 1]);
    const px = (x: number, y: number) => Array.from(img.rgba.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));
    expect([px(1, 1), px(2, 1), px(4, 1), px(5, 1), px(1, 3), px(2, 3)]).toEqual([[0, 0, 0, 255], [255, 255, 255, 255], [255, 255, 255, 255], [0, 0, 0, 255], [255, 0, 0, 255], [128, 128, 128, 255]]);
  });
});

describe('a VAE learns (compiled step, fresh noise each call)', () => {
  it('the test ELBO of 8 binary patterns rises by 3 nats in 60 steps', async () => {
    kn.manualSeed(3);
    const vae = new G.VAE({ inputSize: 16, hidden: [16], latent: 2 });
    const opt = new kn.optim.Adam(vae.parameters(), { lr: 0.02 });
    const data = Float32Array.from({ length: 8 * 16 }, (_, i) => ((i >> 4) >> (i % 4)) & 1 ? 1 : 0);
    const x = kn.tensor(data, [8, 16]);
    const step = kn.compile((b: kn.Tensor) => { const r = vae.loss(b); r.loss.backward(); opt.step(); opt.zeroGrad(); return r.elbo; });
    const evalBound = async () => kn.noGrad(() => vae.importanceWeightedBound(x, { k: 64 })).item();
    const before = await evalBound();
    for (let i = 0; i < 60; i++) await step(x);
    const after = await evalBound();
    expect(after - before).toBeGreaterThan(3);
    expect(step.stats().traces).toBe(1);
  });
});

describe('bad input names the function and the argument', () => {
  let vae: InstanceType<typeof G.VAE>, mu: kn.Tensor, lv: kn.Tensor;
  beforeAll(() => { vae = new G.VAE({ latent: 20 }); mu = kn.zeros([4, 3]); lv = kn.zeros([4, 3]); });
  it.each([
    ['a latent of the wrong size', () => vae.decode(kn.zeros([4, 7])), /VAE\.decode: z must have shape \[N, 20\] \(latent size 20\), got \[4, 7\]/],
    ['an input of the wrong size', () => vae.encode(kn.zeros([2, 100])), /VAE\.encode: x must have shape \[N, 784\], got \[2, 100\]/],
    ['sample(0)', () => vae.sample(0), /VAE\.sample: n must be an integer >= 1, got 0/],
    ['interpolate with a wrong latent', () => vae.interpolate(kn.zeros([20]), kn.zeros([2, 20]), 3), /VAE\.interpolate: z1 must have shape \[20\] or \[1, 20\].*got \[2, 20\]/],
    ['labels to an unconditional VAE', () => vae.sample(2, { y: 1 }), /VAE\.sample: y was given, but this VAE is not conditional/],
    ['no labels to a conditional VAE', () => new G.VAE({ numClasses: 10 }).decode(kn.zeros([2, 20])), /VAE\.decode: y must be a Tensor of 2 class labels.*got undefined/],
    ['a class out of range', () => new G.VAE({ numClasses: 10 }).sample(2, { y: 10 }), /VAE\.sample: y must be a class index in \[0, 10\), got 10/],
    ['an unknown VAE option', () => new G.VAE({ latentSize: 3 } as any), /VAE: unknown option 'latentSize'/],
    ['sigma with Bernoulli', () => new G.VAE({ sigma: 1 }), /VAE: sigma applies to likelihood 'gaussian' only/],
    ['mu and logvar of different shapes', () => G.reparameterize(mu, kn.zeros([4, 2])), /reparameterize: logvar must have shape \[4, 3\] \(the shape of mu\), got \[4, 2\]/],
    ['a negative beta', () => G.elbo(kn.zeros([4, 5]), kn.zeros([4, 5]), mu, lv, { beta: -1 }), /elbo: beta must be a number in \[0, Infinity\], got -1/],
    ['a misspelt option', () => G.elbo(kn.zeros([4, 5]), kn.zeros([4, 5]), mu, lv, { betta: 2 } as any), /elbo: unknown option 'betta'/],
    ['an unknown likelihood', () => G.elbo(kn.zeros([4, 5]), kn.zeros([4, 5]), mu, lv, { likelihood: 'poisson' } as any), /elbo: likelihood must be 'bernoulli' or 'gaussian', got 'poisson'/],
    ['a batch mismatch', () => G.elbo(kn.zeros([5, 5]), kn.zeros([5, 5]), mu, lv), /elbo: x must have 4 samples \(the rows of mu\), got shape \[5, 5\]/],
    ['eps of the wrong shape', () => G.importanceWeightedBound((z) => z, kn.zeros([4, 3]), mu, lv, { eps: kn.zeros([2, 4, 2]) }), /importanceWeightedBound: eps must have shape \[2, 4, 3\].*got \[2, 4, 2\]/],
    ['k = 0', () => G.importanceWeightedBound((z) => z, kn.zeros([4, 3]), mu, lv, { k: 0 }), /importanceWeightedBound: k must be an integer >= 1, got 0/],
    ['a decoder of the wrong output', () => G.importanceWeightedBound((z) => z, kn.zeros([4, 5]), mu, lv, { k: 2 }), /importanceWeightedBound: decode\(z\) must have shape \[8, 5\] for z of shape \[8, 3\], got \[8, 3\]/],
    ['an unknown noise', () => G.corrupt(mu, { noise: 'uniform' } as any), /corrupt: noise must be 'gaussian' or 'masking' or 'saltAndPepper', got 'uniform'/],
    ['p above 1', () => G.corrupt(mu, { noise: 'masking', p: 1.5 }), /corrupt: p must be a number in \[0, 1\], got 1.5/],
    ['std with masking', () => G.corrupt(mu, { noise: 'masking', std: 1 }), /corrupt: std applies to noise 'gaussian'/],
    ['an int32 input', () => G.reconstructionLoss(kn.zeros([2, 2], { dtype: 'int32' }), mu), /reconstructionLoss: output must be float32, got dtype int32/],
  ])('%s', async (_, f, re) => {
    let err: unknown;
    try { await f(); } catch (e) { err = e; }
    expect(err, 'no error thrown').toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(re);
  });

  it('frechetDistance rejects NaN features, mismatched sizes and too few rows', async () => {
    const ok = { data: [1, 2, 3, 4, 5, 7], n: 3, d: 2 };
    await expect(G.frechetDistance({ data: [1, 2, Number.NaN, 4, 5, 6], n: 3, d: 2 }, ok)).rejects.toThrow(/frechetDistance: realFeatures holds NaN at row 1, column 0; features must be finite/);
    await expect(G.frechetDistance(ok, { data: [1, 2, 3], n: 1, d: 3 })).rejects.toThrow(/frechetDistance: fakeFeatures needs at least 2 feature vectors/);
    await expect(G.frechetDistance(ok, { data: [1, 2, 3, 4, 5, 6], n: 2, d: 3 })).rejects.toThrow(/frechetDistance: realFeatures and fakeFeatures must have the same feature size, got 2 and 3/);
    await expect(G.frechetDistance(kn.zeros([4]), ok)).rejects.toThrow(/frechetDistance: realFeatures must have shape \[N, D\].*got \[4\]/);
    await expect(G.frechetDistance(ok, { data: [1, 2], n: 3, d: 2 })).rejects.toThrow(/frechetDistance: fakeFeatures must be \{data, n, d\} with data holding n \* d values/);
  });
});
