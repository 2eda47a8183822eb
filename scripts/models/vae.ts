// --model vae: a VAE (784-400-20, Bernoulli likelihood on logits) on Fashion-MNIST binarized
// at a fixed threshold (pixel >= 128 is 1: deterministic, so a true likelihood in nats and
// the same data in scripts/reference_vae.py). Adam, a compiled step; per epoch the test ELBO
// (all 10,000 images, one sample of z each) and the importance-weighted NLL (k = 50 on the
// first 1,000 test images); then grids of samples, reconstructions and an interpolation, and
// the Fréchet distance of samples to test images where --model fid-classifier has run.
import * as kn from '../../src/index.ts';
import { loadFashionMNIST } from '../../src/train/fashion_mnist.ts';
import { writeFileAtomic } from '../../src/train/plot_node.ts';
import type { Dataset } from '../../src/train/data.ts';
import { loadFidClassifier, normalizePixels } from './fid_classifier.ts';
import path from 'node:path';
import fs from 'node:fs';
import { deflateSync } from 'node:zlib';
import type { Recipe } from './recipe.ts';

const G = kn.generative;
const IW_K = 50, IW_IMAGES = 1000, IW_BATCH = 100, EVAL_BATCH = 500, FID_IMAGES = 5000;

const binarize = (d: Dataset): Float32Array => d.x.map((v) => (v >= 0.5 ? 1 : 0));

/** Mean of per-batch means weighted by batch size, over rows [0, n) of x in batches. */
async function average(x: Float32Array, n: number, batch: number, f: (b: kn.Tensor) => Promise<kn.Tensor[]>): Promise<number[]> {
  let sums: number[] = [];
  for (let s = 0; s < n; s += batch) {
    const rows = Math.min(batch, n - s);
    const vals = await Promise.all((await f(kn.tensor(x.subarray(s * 784, (s + rows) * 784), [rows, 784]))).map((t) => t.item()));
    sums = vals.map((v, i) => (sums[i] ?? 0) + v * rows);
  }
  return sums.map((v) => v / n);
}

function writeGrid(file: string, data: ArrayLike<number>, n: number, cols: number): void {
  writeFileAtomic(file, kn.train.encodePNG(G.imageGrid(data, n, 28, 28, { cols, scale: 2 }), (b) => deflateSync(b)));
}

export const vae: Recipe = {
  defaults: { epochs: 3, batchSize: 128, lr: 1e-3 },
  async run({ epochs, batchSize, lr, seed, outDir }) {
    const { train, test } = loadFashionMNIST({ normalize: false });
    const trainX = binarize(train), testX = binarize(test);
    console.log(`Fashion-MNIST binarized (pixel >= 128): ${train.n} training and ${test.n} test images`);
    kn.manualSeed(seed);
    const model = new G.VAE({ inputSize: 784, hidden: [400], latent: 20 });
    const opt = new kn.optim.Adam(model.parameters(), { lr });
    const loader = new kn.data.DataLoader({ ...train, x: trainX }, { batchSize, shuffle: true, seed });
    const step = kn.compile((x: kn.Tensor) => {
      const r = model.loss(x);
      r.loss.backward(); opt.step(); opt.zeroGrad();
      return r.loss;
    });
    const evalElbo = kn.compile((x: kn.Tensor) => kn.noGrad(() => { const r = model.loss(x); return [r.elbo, r.reconstruction, r.kl]; }));
    const evalIw = kn.compile((x: kn.Tensor) => kn.noGrad(() => model.importanceWeightedBound(x, { k: IW_K })));
    let trainSecs = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const t0 = performance.now();
      let lossSum = 0, n = 0;
      for (const b of loader.batches(epoch)) {
        lossSum += (await (await step(kn.tensor(b.x, [b.size, 784]))).item()) * b.size;
        n += b.size;
      }
      const secs = (performance.now() - t0) / 1000;
      trainSecs += secs;
      const t1 = performance.now();
      const [elbo, rec, kl] = await average(testX, test.n, EVAL_BATCH, (x) => evalElbo(x));
      const [iw] = await average(testX, IW_IMAGES, IW_BATCH, async (x) => [await evalIw(x)]);
      console.log(`epoch ${epoch + 1}: train loss ${(lossSum / n).toFixed(2)}, test ELBO ${elbo.toFixed(2)} nats (reconstruction ${rec.toFixed(2)}, KL ${kl.toFixed(2)}), ` +
        `IW NLL ${(-iw).toFixed(2)} nats (k=${IW_K}, first ${IW_IMAGES} test images); train ${secs.toFixed(1)} s, eval ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    }
    console.log(`training took ${trainSecs.toFixed(1)} s (${(trainSecs / epochs).toFixed(1)} s per epoch, ${((trainSecs * 1000) / (epochs * loader.length)).toFixed(1)} ms per step)`);

    fs.mkdirSync(outDir, { recursive: true });
    const samplesFile = path.resolve(outDir, 'vae_samples.png');
    const t2 = performance.now();
    const samples = await (await model.sample(64)).data();
    console.log(`64 samples in ${(performance.now() - t2).toFixed(0)} ms (first call: tracing included)`);
    writeGrid(samplesFile, samples, 64, 8);
    // reconstructions from the posterior mean: rows of 8 test images, each row followed by its reconstruction
    const first = kn.tensor(testX.subarray(0, 32 * 784), [32, 784]);
    const recon = await kn.noGrad(() => model.decode(model.encode(first)[0]).sigmoid()).data();
    const pairs = new Float32Array(64 * 784);
    for (let r = 0; r < 4; r++) {
      pairs.set(testX.subarray(r * 8 * 784, (r + 1) * 8 * 784), 2 * r * 8 * 784);
      pairs.set(recon.subarray(r * 8 * 784, (r + 1) * 8 * 784), (2 * r + 1) * 8 * 784);
    }
    const reconFile = path.resolve(outDir, 'vae_reconstructions.png');
    writeGrid(reconFile, pairs, 64, 8);
    const [mu] = kn.noGrad(() => model.encode(kn.tensor(testX.subarray(0, 2 * 784), [2, 784])));
    const line = await (await model.interpolate(mu.narrow(0, 0, 1), mu.narrow(0, 1, 1), 10)).data();
    const lineFile = path.resolve(outDir, 'vae_interpolation.png');
    writeGrid(lineFile, line, 10, 10);
    console.log(`samples: ${samplesFile}\nreconstructions (odd rows: the test images above them): ${reconFile}\ninterpolation (test image 0 to 1): ${lineFile}`);
    const ckpt = path.resolve(outDir, 'vae.ckpt');
    await kn.train.saveCheckpoint(ckpt, { model });
    console.log(`model saved to ${ckpt}`);

    const classifier = await loadFidClassifier(outDir);
    if (!classifier) return;
    const feats = (x: Float32Array, n: number) => G.classifierFeatures(classifier, x, n, { transform: normalizePixels });
    const fakeX = new Float32Array(FID_IMAGES * 784);
    for (let s = 0; s < FID_IMAGES; s += 500) fakeX.set(await (await model.sample(500)).data(), s * 784);
    const testF = await feats(testX.subarray(0, FID_IMAGES * 784), FID_IMAGES);
    const floor = await G.frechetDistance(await feats(trainX.subarray(0, FID_IMAGES * 784), FID_IMAGES), testF);
    const fd = await G.frechetDistance(await feats(fakeX, FID_IMAGES), testF);
    console.log(`Fréchet distance (the CNN's 128 penultimate features, ${FID_IMAGES} images each): samples vs test ${fd.toFixed(2)}; training vs test images (the floor) ${floor.toFixed(2)}`);
  },
};
