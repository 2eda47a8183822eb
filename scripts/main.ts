// The main job: trains an MLP (784-256-256-10) on Fashion-MNIST with a compiled Adam step,
// prints test accuracy per epoch and writes a plot of loss and accuracy.
//   npm start -- [--epochs 10] [--batch 128] [--lr 1e-3] [--seed 0] [--out out]
import * as kn from '../src/index.ts';
import { loadFashionMNIST } from '../src/train/fashion_mnist.ts';
import { DataLoader } from '../src/train/data.ts';
import { ProgressBar } from '../src/train/progress.ts';
import { writeChartsPNG } from '../src/train/plot_node.ts';
import path from 'node:path';
import fs from 'node:fs';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const epochs = Number(arg('epochs', '10'));
const batchSize = Number(arg('batch', '128'));
const lr = Number(arg('lr', '1e-3'));
const seed = Number(arg('seed', '0'));
const outDir = arg('out', 'out');
const modelName = arg('model', 'mlp');
if (modelName !== 'mlp') throw new Error(`--model ${modelName}: only 'mlp' exists so far`);
for (const [k, v] of Object.entries({ epochs, batch: batchSize, lr })) if (!(v > 0)) throw new Error(`--${k} must be a positive number, got ${v}`);

const t0 = performance.now();
const info = await kn.init();
console.log(`Kiln on ${info.adapter.vendor} ${info.adapter.architecture} (${info.adapter.description || info.adapter.device})${info.software ? ', software WebGPU' : ''}`);
const { train, test } = loadFashionMNIST();
console.log(`Fashion-MNIST: ${train.n} training and ${test.n} test images`);

kn.manualSeed(seed);
const model = new kn.nn.Sequential(
  new kn.nn.Linear(784, 256), new kn.nn.ReLU(),
  new kn.nn.Linear(256, 256), new kn.nn.ReLU(),
  new kn.nn.Linear(256, 10),
);
const opt = new kn.optim.Adam(model.parameters(), { lr });

const trainStep = kn.compile((x: kn.Tensor, y: kn.Tensor) => {
  const loss = kn.F.crossEntropy(model.forward(x), y);
  loss.backward();
  opt.step();
  opt.zeroGrad();
  return loss;
});
const correct = kn.compile((x: kn.Tensor, y: kn.Tensor) => model.forward(x).argmax(1).eq(y).float().sum());

async function testAccuracy(): Promise<number> {
  let right = 0;
  for (const b of new DataLoader(test, { batchSize: 1000 })) {
    const x = kn.tensor(b.x, [b.size, 784]), y = kn.tensor(b.y, [b.size], { dtype: 'int32' });
    const c = await correct(x, y);
    right += await c.item();
    x.dispose(); y.dispose(); c.dispose();
  }
  return right / test.n;
}

const loader = new DataLoader(train, { batchSize, shuffle: true, seed, dropLast: true });
const history = { loss: [] as number[], acc: [] as number[] };
const trainStart = performance.now();
let firstStepMs = 0;
for (let epoch = 1; epoch <= epochs; epoch++) {
  // cosine decay of the learning rate over the run, applied per epoch (a device scalar: no retrace)
  opt.paramGroups[0].lr = lr * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / epochs));
  const bar = new ProgressBar({ total: loader.length, label: `epoch ${epoch}/${epochs}` });
  let sum = 0, steps = 0;
  const e0 = performance.now();
  for (const b of loader) {
    const s0 = performance.now();
    const x = kn.tensor(b.x, [b.size, 784]), y = kn.tensor(b.y, [b.size], { dtype: 'int32' });
    const loss = await trainStep(x, y);
    const v = await loss.item();
    if (epoch === 1 && steps === 0) firstStepMs = performance.now() - s0;
    x.dispose(); y.dispose(); loss.dispose();
    sum += v; steps++;
    const secs = (performance.now() - e0) / 1000;
    bar.update(steps, { loss: sum / steps, 'ex/s': (steps * batchSize) / secs });
  }
  const acc = await testAccuracy();
  history.loss.push(sum / steps);
  history.acc.push(acc * 100);
  bar.finish({ loss: sum / steps, 'test acc': `${(acc * 100).toFixed(2)}%` });
}
const trainSecs = (performance.now() - trainStart) / 1000;
const stats = trainStep.stats();
console.log(`test accuracy: ${history.acc[history.acc.length - 1].toFixed(2)}% after ${epochs} epochs`);
console.log(`training took ${trainSecs.toFixed(1)} s (${((trainSecs * 1000) / (epochs * loader.length)).toFixed(1)} ms/step, first step ${firstStepMs.toFixed(0)} ms); the compiled step runs ${stats.kernels} kernels`);
fs.mkdirSync(outDir, { recursive: true });
const plot = path.resolve(outDir, 'fashion_mnist_mlp.png');
writeChartsPNG(plot, [
  { title: 'training loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [{ name: 'train loss', values: history.loss }] },
  { title: 'test accuracy', xLabel: 'epoch', yLabel: 'accuracy %', series: [{ name: 'test accuracy', values: history.acc }] },
]);
console.log(`plot written to ${plot}`);
console.log(`total time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
kn.shutdown();
