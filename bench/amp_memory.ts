// GPU memory of the CNN training step (the main job's --model cnn, batch 128, Adam) in float32
// and under mixed precision (kn.autocast + kn.amp.GradScaler), in Node: each compiled step's
// buffers as its program plans them (stats(): outputs and intermediates, which include every
// activation the backward reads), and the step time on this adapter.
//   npx tsx bench/amp_memory.ts [--batch=128] [--steps=3]
import * as kn from '../src/index.ts';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const batch = arg('batch', 128), steps = arg('steps', 3);
await kn.init();
const nn = kn.nn;
const MiB = (b: number) => (b / 2 ** 20).toFixed(2);

for (const amp of [false, true]) {
  kn.manualSeed(0);
  const model = new nn.Sequential(
    new nn.Unflatten(1, [1, 28, 28]),
    new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.BatchNorm2d(64), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Dropout(0.25), new nn.Linear(64 * 7 * 7, 128), new nn.ReLU(), new nn.Linear(128, 10),
  );
  const opt = new kn.optim.Adam(model.parameters(), { lr: 2e-3 });
  const scaler = new kn.amp.GradScaler({ enabled: amp });
  const step = kn.compile((x: kn.Tensor, y: kn.Tensor) => {
    opt.zeroGrad();
    const loss = kn.autocast(() => kn.F.crossEntropy(model.forward(x), y), { enabled: amp });
    scaler.scale(loss).backward();
    scaler.step(opt); scaler.update();
    return loss;
  });
  const x = kn.randn([batch, 784]), y = kn.tensor(Int32Array.from({ length: batch }, (_, i) => i % 10));
  let loss = 0, ms = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    loss = await (await step(x, y)).item();
    ms = performance.now() - t0;
  }
  const s = step.stats();
  console.log(`${amp ? 'autocast float16' : 'float32         '}: ${s.kernels} kernels, buffers ${MiB(s.bufferBytes)} MiB (intermediates ${MiB(s.intermediateBytes)} MiB), last step ${ms.toFixed(0)} ms, loss ${loss.toFixed(4)}`);
}
kn.shutdown();
process.exit(0);
