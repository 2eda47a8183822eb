// An eager training loop as PyTorch users write it, reading the loss every N steps:
//   npx tsx bench/eager_loop.ts [N ...] [--steps S]     (default N: 1 10 50 100, S: 100)
// MLP 784-128-10, ReLU, cross-entropy, Adam (lr 1e-3), batch 128, fixed random data. For each
// N: S steps (rounded up to a multiple of N), loss.item() after every N-th; ms per step over
// the whole run. Pipelines are warmed by 3 steps read every step first. KILN_TUNING=off keeps
// kernels at their default shapes, so runs compare.
import * as kn from '../src/index.js';
import { mlpProblem } from './mlp_problem.ts';

const args = process.argv.slice(2);
const si = args.indexOf('--steps');
const total = si >= 0 ? Number(args.splice(si, 2)[1]) : 100;
const everies = args.length ? args.map(Number) : [1, 10, 50, 100];
if (!(total > 0) || everies.some((n) => !(n > 0))) throw new Error('usage: npx tsx bench/eager_loop.ts [N ...] [--steps S]');

await kn.init();
const { model, opt, x, y } = await mlpProblem();

const step = () => {
  opt.zeroGrad();
  const loss = kn.F.crossEntropy(model.forward(x), y);
  loss.backward();
  opt.step();
  return loss;
};
for (let i = 0; i < 3; i++) await step().item();

for (const every of everies) {
  const steps = Math.ceil(total / every) * every;
  const t0 = performance.now();
  let last = 0;
  for (let i = 1; i <= steps; i++) {
    const loss = step();
    if (i % every === 0) last = await loss.item();
  }
  const ms = (performance.now() - t0) / steps;
  console.log(`read every ${every}: ${ms.toFixed(1)} ms/step over ${steps} steps (last loss ${last.toFixed(4)})`);
}
kn.shutdown();
process.exit(0);
