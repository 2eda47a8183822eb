// The main job: trains a model on Fashion-MNIST with kn.train.fit (a compiled Adam step),
// prints test accuracy per epoch and writes a plot of loss and accuracy.
//   --model mlp: 784-256-256-10 (default; 10 epochs)
//   --model cnn: two conv-BN-ReLU-pool blocks, dropout, two linear layers (3 epochs)
//   npm start -- [--model mlp|cnn] [--epochs N] [--batch 128] [--lr 1e-3] [--seed 0] [--out out]
import * as kn from '../src/index.ts';
import { loadFashionMNIST } from '../src/train/fashion_mnist.ts';
import { writeChartsPNG } from '../src/train/plot_node.ts';
import path from 'node:path';
import fs from 'node:fs';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const modelName = arg('model', 'mlp');
if (modelName !== 'mlp' && modelName !== 'cnn') throw new Error(`--model ${modelName}: expected 'mlp' or 'cnn'`);
const epochs = Number(arg('epochs', modelName === 'cnn' ? '3' : '10'));
const batchSize = Number(arg('batch', '128'));
const lr = Number(arg('lr', modelName === 'cnn' ? '2e-3' : '1e-3'));
const seed = Number(arg('seed', '0'));
const outDir = arg('out', 'out');
for (const [k, v] of Object.entries({ epochs, batch: batchSize, lr })) if (!(v > 0)) throw new Error(`--${k} must be a positive number, got ${v}`);

const t0 = performance.now();
const info = await kn.init();
console.log(`Kiln on ${info.adapter.vendor} ${info.adapter.architecture} (${info.adapter.description || info.adapter.device})${info.software ? ', software WebGPU' : ''}`);
const { train, test } = loadFashionMNIST();
console.log(`Fashion-MNIST: ${train.n} training and ${test.n} test images`);

kn.manualSeed(seed);
const nn = kn.nn;
const model = modelName === 'cnn'
  ? new nn.Sequential(
    new nn.Unflatten(1, [1, 28, 28]),
    new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.BatchNorm2d(64), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Dropout(0.25), new nn.Linear(64 * 7 * 7, 128), new nn.ReLU(), new nn.Linear(128, 10),
  )
  : new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 10));
const opt = new kn.optim.Adam(model.parameters(), { lr });

// cosine decay of the learning rate to 0, stepped every batch (a device scalar: no retrace);
// in PyTorch this recipe reaches 91.45% in 3 epochs against 90.73% with one value per epoch
const stepsPerEpoch = Math.ceil(train.n / batchSize);
const cosine = new kn.optim.lrScheduler.CosineAnnealingLR(opt, epochs * stepsPerEpoch);
const trainStart = performance.now();
const history = await kn.train.fit(model, opt, train, {
  epochs, batchSize, seed, validation: test, metrics: ['accuracy', 'top2'], scheduler: cosine, schedulerStep: 'batch',
});
const trainSecs = (performance.now() - trainStart) / 1000;
const acc = history.valAccuracy[history.valAccuracy.length - 1] * 100;
console.log(`test accuracy: ${acc.toFixed(2)}% after ${history.loss.length} epochs`);
console.log(`training took ${trainSecs.toFixed(1)} s (${((trainSecs * 1000) / (history.loss.length * stepsPerEpoch)).toFixed(1)} ms per step including evaluation)`);
fs.mkdirSync(outDir, { recursive: true });
const plot = path.resolve(outDir, `fashion_mnist_${modelName}.png`);
writeChartsPNG(plot, kn.train.historyCharts(history));
console.log(`plot written to ${plot}`);
console.log(`total time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
kn.shutdown();
