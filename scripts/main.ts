// The main job: trains one model, printing its progress and results, and writes a plot of its
// training (the recipes are in scripts/models/):
//   --model mlp   784-256-256-10 on Fashion-MNIST (the default)
//   --model cnn   conv-BN-ReLU-pool x2, dropout, two linear layers on Fashion-MNIST
//   --model lstm  an LSTM reading each Fashion-MNIST image as 28 rows of 28 pixels
//   --model gpt   a character-level GPT on Alice's Adventures in Wonderland, then a sample
//   --model vae   a VAE on binarized Fashion-MNIST: test ELBO and importance-weighted NLL, sample grids
//   --model fid-classifier  the CNN whose features the generative recipes' Fréchet distance uses
//   npm start -- [--model mlp|cnn|lstm|gpt|vae|fid-classifier] [--epochs N] [--batch N] [--lr X] [--seed 0] [--out out] [--amp]
// --amp trains with mixed precision (kn.autocast and kn.amp.GradScaler; the classifiers only).
// Without --epochs, --batch or --lr each model uses its own defaults.
import * as kn from '../src/index.ts';
import { mlp } from './models/mlp.ts';
import { cnn } from './models/cnn.ts';
import { lstm } from './models/lstm.ts';
import { gpt } from './models/gpt.ts';
import { vae } from './models/vae.ts';
import { fidClassifier } from './models/fid_classifier.ts';
import type { Recipe } from './models/recipe.ts';

const recipes: Record<string, Recipe> = { mlp, cnn, lstm, gpt, vae, 'fid-classifier': fidClassifier };

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const modelName = arg('model', 'mlp');
const recipe = recipes[modelName];
if (!recipe) throw new Error(`--model ${modelName}: expected one of ${Object.keys(recipes).join(', ')}`);
const { defaults } = recipe;
const epochs = Number(arg('epochs', String(defaults.epochs)));
const batchSize = Number(arg('batch', String(defaults.batchSize)));
const lr = Number(arg('lr', String(defaults.lr)));
const seed = Number(arg('seed', '0'));
const outDir = arg('out', 'out');
const amp = process.argv.includes('--amp');
if (amp && (modelName === 'gpt' || modelName === 'vae')) throw new Error(`--amp: the ${modelName} recipe has no mixed-precision path yet; use it with mlp, cnn or lstm`);
for (const [k, v] of Object.entries({ epochs, batch: batchSize, lr })) if (!(v > 0)) throw new Error(`--${k} must be a positive number, got ${v}`);

const t0 = performance.now();
const info = await kn.init();
console.log(`Kiln on ${info.adapter.vendor} ${info.adapter.architecture} (${info.adapter.description || info.adapter.device})${info.software ? ', software WebGPU' : ''}`);
await recipe.run({ epochs, batchSize, lr, seed, outDir, amp });
console.log(`total time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
kn.shutdown();
