// --model mlp: 784-256-256-10 with ReLU on Fashion-MNIST.
import * as kn from '../../src/index.ts';
import { trainClassifier } from './fashion_mnist.ts';
import type { Recipe } from './recipe.ts';

const nn = kn.nn;
export const mlp: Recipe = {
  defaults: { epochs: 10, batchSize: 128, lr: 1e-3 },
  run: (opts) => trainClassifier('mlp', () => new nn.Sequential(
    new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 10),
  ), opts),
};
