// The eager MLP step the scheduling benches share: 784-128-10, Adam, one batch of 128 (seed 0),
// its data already on the device.
import * as kn from '../src/index.js';

export async function mlpProblem() {
  kn.manualSeed(0);
  const model = new kn.nn.Sequential(new kn.nn.Linear(784, 128), new kn.nn.ReLU(), new kn.nn.Linear(128, 10));
  const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = kn.randn([128, 784]);
  const y = kn.tensor(Int32Array.from({ length: 128 }, (_, i) => i % 10), [128], { dtype: 'int32' });
  await x.data();
  await y.data();
  return { model, opt, x, y };
}
