// The tuning cache's effect on the MLP step (784-256-256-10, Adam, batch 128), one run per process:
//   npx tsx bench/tuning_mlp.ts first|steady
// 'first': kn.init, the model, one compiled step and loss.item() (the first step's latency);
// 'steady' also waits for step.ready() (tuned kernels in) and times 7 x 5 steps.
// Which run it is comes from the environment: KILN_TUNING=off (default kernels), or
// KILN_TUNING_CACHE=FILE (an empty FILE: a first run; the FILE a first run wrote: a second run).
import * as kn from '../src/index.js';
const mode = process.argv[2];
if (mode !== 'first' && mode !== 'steady') throw new Error(`usage: npx tsx bench/tuning_mlp.ts first|steady (got ${JSON.stringify(mode)})`);
await kn.init();
kn.manualSeed(0);
const model = new kn.nn.Sequential(new kn.nn.Linear(784, 256), new kn.nn.ReLU(), new kn.nn.Linear(256, 256), new kn.nn.ReLU(), new kn.nn.Linear(256, 10));
const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-3 });
const x = kn.randn([128, 784]);
const y = kn.tensor(Int32Array.from({ length: 128 }, (_, i) => i % 10), [128], { dtype: 'int32' });
await x.data();
const step = kn.compile((a: kn.Tensor, b: kn.Tensor) => { const l = kn.F.crossEntropy(model.forward(a), b); l.backward(); opt.step(); opt.zeroGrad(); return l; });
const t1 = performance.now();
await (await step(x, y)).item();
const first = performance.now() - t1;
let line = `first ${first.toFixed(0)} ms`;
if (mode === 'steady') {
  const r0 = performance.now();
  await step.ready();
  const ready = performance.now() - r0;
  for (let i = 0; i < 3; i++) await (await step(x, y)).item();
  const times: number[] = [];
  for (let rep = 0; rep < 7; rep++) {
    const s = performance.now();
    let l; for (let i = 0; i < 5; i++) l = await step(x, y);
    await l!.item();
    times.push((performance.now() - s) / 5);
  }
  times.sort((a, b) => a - b);
  line += ` | ready +${ready.toFixed(0)} ms | steady median ${times[3].toFixed(1)} ms (${times[0].toFixed(1)}-${times[6].toFixed(1)})`;
}
console.log(line);
kn.shutdown();
process.exit(0);
