// --model cnn: two conv-BN-ReLU-pool blocks, dropout and two linear layers on Fashion-MNIST.
import * as kn from '../../src/index.ts';
import { trainClassifier } from './fashion_mnist.ts';
import type { Recipe } from './recipe.ts';

const nn = kn.nn;
/** The CNN (also the Fréchet distance's feature extractor: its penultimate layer has 128 features). */
export const buildCnn = () => new nn.Sequential(
  new nn.Unflatten(1, [1, 28, 28]),
  new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.BatchNorm2d(64), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Flatten(), new nn.Dropout(0.25), new nn.Linear(64 * 7 * 7, 128), new nn.ReLU(), new nn.Linear(128, 10),
);
export const cnn: Recipe = {
  defaults: { epochs: 3, batchSize: 128, lr: 2e-3 },
  run: (opts) => trainClassifier('cnn', buildCnn, opts),
};
