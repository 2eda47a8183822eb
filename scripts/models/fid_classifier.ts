// --model fid-classifier: trains the CNN recipe's network (cnn.ts) on Fashion-MNIST and saves
// it to <out>/fid_classifier.ckpt, where the generative recipes find it: its penultimate layer
// (128 features) is the feature space of their Fréchet distance.
import * as kn from '../../src/index.ts';
import { trainClassifier } from './fashion_mnist.ts';
import { buildCnn } from './cnn.ts';
import path from 'node:path';
import fs from 'node:fs';
import type { Recipe } from './recipe.ts';

type Sequential = InstanceType<typeof kn.nn.Sequential>;
export const fidClassifierPath = (outDir: string) => path.resolve(outDir, 'fid_classifier.ckpt');
/** The classifier's input normalisation (trainClassifier trains on normalised pixels). */
export const normalizePixels = (x: kn.Tensor) => x.sub(0.2860).div(0.3530);

/** The trained classifier, or null (with a note of how to make it) when there is none. */
export async function loadFidClassifier(outDir: string): Promise<Sequential | null> {
  const file = fidClassifierPath(outDir);
  if (!fs.existsSync(file)) {
    console.log(`no classifier at ${file}: run \`npm start -- --model fid-classifier\` for the Fréchet distance`);
    return null;
  }
  const model = buildCnn();
  await kn.train.loadCheckpoint(file, { model });
  return model.eval();
}

export const fidClassifier: Recipe = {
  defaults: { epochs: 2, batchSize: 128, lr: 2e-3 },
  async run(opts) {
    let model: Sequential | undefined;
    await trainClassifier('fid_classifier', () => (model = buildCnn()), opts);
    const file = fidClassifierPath(opts.outDir);
    await kn.train.saveCheckpoint(file, { model: model! });
    console.log(`classifier saved to ${file}`);
  },
};
