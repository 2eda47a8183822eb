// Scheduling time against graph size: N eager MLP training steps (784-128-10, Adam, batch
// 128) recorded without a read and without the step's cut, then schedule() of what a read
// would compute (every pending assign and every unrealized live tensor), timed alone:
//   npx tsx bench/schedule_size.ts [N ...]       (default 8 16 50)
import * as kn from '../src/index.js';
import { mlpProblem } from './mlp_problem.ts';
import { state } from '../src/graph/state.js';
import { readable } from '../src/graph/views.js';
import type { Node } from '../src/graph/ir.js';
import { schedule } from '../src/graph/schedule.js';

const sizes = process.argv.slice(2).map(Number);
await kn.init();
const maxBindings = kn.info().limits.maxStorageBuffersPerShaderStage;
for (const n of sizes.length ? sizes : [8, 16, 50]) {
  const { model, opt, x, y } = await mlpProblem();
  for (let i = 0; i < n; i++) {
    opt.zeroGrad();
    kn.F.crossEntropy(model.forward(x), y).backward();
    // the update as opt.step() records it, without the cut that would realize it at once
    (opt as unknown as { recordStep(f: null): void }).recordStep(null);
  }
  // what a read computes: the pending assigns and the live tensors that read the versions they overwrite
  const targets = new Set<Node>(state.pendingAssigns);
  for (const ref of state.live) {
    const t = ref.deref() as unknown as kn.Tensor | undefined;
    if (t && !t.isDisposed && !t.node.realized && t.node.op !== 'assign') targets.add(readable(t.node));
  }
  const t0 = performance.now();
  const s = schedule([...targets], maxBindings);
  const ms = performance.now() - t0;
  console.log(`${n} steps: ${targets.size} targets, ${s.groups.length} kernels, schedule ${ms.toFixed(0)} ms`);
  await kn.tensor([0]).data(); // realizes the steps before the next size
}
kn.shutdown();
process.exit(0);
