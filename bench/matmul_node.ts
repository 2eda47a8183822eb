// Kiln's matmul kernel alone in Node (Dawn's binding; SwiftShader on a machine without a GPU): the
// square sizes and every matmul shape of the MLP step (forward, data and weight gradients), with
// the process CPU time per call beside the wall time; a tool for tuning the matmul emitter. The
// bench workloads themselves (the browser harness's Kiln column) run in Node with bench/node.ts.
// Each case is one compiled function, so the timing covers the kernel (plus one small input copy
// per call), not JavaScript: warm up, run many calls back to back, then read one result back.
// --dtype=float16 stores both operands as float16 (two per word, read in place as u32 words and
// unpacked in the kernel, float32 accumulation): the bytes read halve, the unpacking costs ALU.
//   npx tsx bench/matmul_node.ts [--quick] [--only=square,mlp] [--dtype=float16] [--tiling='{"tm":16,"tn":8,"wgx":4,"wgy":1,"ku":4}']
import * as kn from '../src/index.ts';
import { setTiling } from '../src/graph/tuning.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const want = (what: string) => !only || only.includes(what);
const budgetMs = quick ? 400 : 1500;
const tiling = args.find((a) => a.startsWith('--tiling='))?.slice(9);
if (tiling) setTiling(JSON.parse(tiling));
const dtype = (args.find((a) => a.startsWith('--dtype='))?.slice(8) ?? 'float32') as kn.DType;

await kn.init(); kn.manualSeed(0);
const info = kn.info();
console.log(`adapter: ${JSON.stringify((info as any).adapter ?? info)}`.slice(0, 200));
console.log(`operands: ${dtype}`);

interface Case { name: string; a: number[]; b: number[]; f: (a: kn.Tensor, b: kn.Tensor) => kn.Tensor; flops: number }
const mm = (M: number, N: number, K: number) => 2 * M * N * K;

const cases: Case[] = [];
if (want('square')) for (const n of [256, 512, 1024])
  cases.push({ name: `square ${n}`, a: [n, n], b: [n, n], f: (a, b) => a.matmul(b), flops: mm(n, n, n) });
if (want('mlp')) {
  // forward: x @ W^T with W [out, in]
  cases.push({ name: 'fwd x[128,784] @ W1[256,784]^T', a: [128, 784], b: [256, 784], f: (a, b) => a.matmul(b.t()), flops: mm(128, 256, 784) });
  cases.push({ name: 'fwd h[128,256] @ W2[256,256]^T', a: [128, 256], b: [256, 256], f: (a, b) => a.matmul(b.t()), flops: mm(128, 256, 256) });
  cases.push({ name: 'fwd h[128,256] @ W3[10,256]^T', a: [128, 256], b: [10, 256], f: (a, b) => a.matmul(b.t()), flops: mm(128, 10, 256) });
  // backward data: g @ W
  cases.push({ name: 'dX g[128,256] @ W2[256,256]', a: [128, 256], b: [256, 256], f: (a, b) => a.matmul(b), flops: mm(128, 256, 256) });
  cases.push({ name: 'dX g[128,10] @ W3[10,256]', a: [128, 10], b: [10, 256], f: (a, b) => a.matmul(b), flops: mm(128, 256, 10) });
  // backward weights: g^T @ x
  cases.push({ name: 'dW g[128,256]^T @ x[128,784]', a: [128, 256], b: [128, 784], f: (a, b) => a.t().matmul(b), flops: mm(256, 784, 128) });
  cases.push({ name: 'dW g[128,256]^T @ h[128,256]', a: [128, 256], b: [128, 256], f: (a, b) => a.t().matmul(b), flops: mm(256, 256, 128) });
  cases.push({ name: 'dW g[128,10]^T @ h[128,256]', a: [128, 10], b: [128, 256], f: (a, b) => a.t().matmul(b), flops: mm(10, 256, 128) });
}

/** Wall ms per call, and process CPU ms per call (SwiftShader's threads are in-process; CPU time
 * is far less disturbed by other load on the machine, but includes Dawn's spinning waits). */
async function timeCalls(call: () => Promise<kn.Tensor>, ready: () => Promise<void>): Promise<[number, number]> {
  // warm-up (trace + pipeline creation on the first call), then wait for the tuned kernels
  // that tiered compilation swaps in: steady state is what is timed
  for (let i = 0; i < 2; i++) await (await call()).data();
  await ready();
  await (await call()).data();
  let reps = 1;
  for (;;) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    let out: kn.Tensor | undefined;
    for (let i = 0; i < reps; i++) { out?.dispose(); out = await call(); }
    await out!.data();
    out!.dispose();
    const dt = performance.now() - t0, cu = process.cpuUsage(c0);
    if (dt > budgetMs || reps >= 4096) return [dt / reps, (cu.user + cu.system) / 1000 / reps];
    reps = Math.min(4096, Math.max(reps * 2, Math.ceil(reps * budgetMs / Math.max(dt, 1) * 1.1)));
  }
}

for (const c of cases) {
  const a = kn.randn(c.a).to(dtype), b = kn.randn(c.b).to(dtype);
  const f = kn.compile(c.f);
  const [ms, cpu] = await timeCalls(() => f(a, b), () => f.ready());
  const line = `${c.name.padEnd(34)} ${ms.toFixed(3).padStart(9)} ms  ${(c.flops / ms / 1e6).toFixed(2).padStart(7)} GFLOP/s   cpu ${cpu.toFixed(3).padStart(9)} ms`;
  console.log(line);
  a.dispose(); b.dispose();
}
process.exit(0);
