// Kiln convolution and CNN-step timings in Node (Dawn's binding; SwiftShader on a machine without
// a GPU). Each case is one compiled function: warm up, run calls back to back, read one result.
//   npx tsx bench/conv_node.ts [--quick] [--only=fwd,bwd,step] [--kernels] [--profile] [--dump=label]
import * as kn from '../src/index.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const want = (what: string) => !only || only.includes(what);
const budgetMs = quick ? 500 : 2000;

await kn.init(); kn.manualSeed(0);

async function timeCalls(call: () => Promise<kn.Tensor | kn.Tensor[]>, ready: () => Promise<void>): Promise<number> {
  const first = (r: kn.Tensor | kn.Tensor[]) => (Array.isArray(r) ? r[0] : r);
  for (let i = 0; i < 2; i++) await first(await call()).data();
  await ready();
  await first(await call()).data();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    let out: kn.Tensor | kn.Tensor[] | undefined;
    for (let i = 0; i < reps; i++) out = await call();
    await first(out!).data();
    const dt = performance.now() - t0;
    if (dt > budgetMs || reps >= 1024) return dt / reps;
    reps = Math.min(1024, Math.max(reps * 2, Math.ceil(reps * budgetMs / Math.max(dt, 1) * 1.1)));
  }
}

// [N, C, H, W], out channels, kernel, padding: the CNN's two convolutions and a ResNet-like layer
const shapes: [string, number[], number, number, number][] = [
  ['cnn conv1 64x1x28x28 -> 32', [64, 1, 28, 28], 32, 3, 1],
  ['cnn conv2 64x32x14x14 -> 64', [64, 32, 14, 14], 64, 3, 1],
  ['16x64x56x56 -> 64', [16, 64, 56, 56], 64, 3, 1],
];
for (const [name, xs, oc, k, pad] of shapes) {
  const [N, C, H, W] = xs;
  const flops = 2 * N * oc * H * W * C * k * k; // 'same' output size
  const x = kn.randn(xs), w = kn.randn([oc, C, k, k]);
  if (want('fwd')) {
    const f = kn.compile((x: kn.Tensor, w: kn.Tensor) => kn.F.conv2d(x, w, { padding: pad }));
    const ms = await timeCalls(() => f(x, w), () => f.ready());
    console.log(`fwd ${name.padEnd(30)} ${ms.toFixed(2).padStart(9)} ms ${(flops / ms / 1e6).toFixed(2).padStart(7)} GFLOP/s  kernels ${f.stats().kernels}`);
    if (args.includes('--kernels')) console.log(f.kernels().join('\n'));
  }
  if (want('bwd')) {
    const r = kn.randn([N, oc, H, W]);
    const obj = (x: kn.Tensor, w: kn.Tensor) => kn.F.conv2d(x, w, { padding: pad }).mul(r).sum();
    const f = kn.compile((x: kn.Tensor, w: kn.Tensor) => kn.grad(obj, { argnums: [0, 1] })(x, w) as kn.Tensor[]);
    const ms = await timeCalls(() => f(x, w), () => f.ready());
    console.log(`bwd ${name.padEnd(30)} ${ms.toFixed(2).padStart(9)} ms ${(2 * flops / ms / 1e6).toFixed(2).padStart(7)} GFLOP/s  kernels ${f.stats().kernels}`);
    if (args.includes('--kernels')) console.log(f.kernels().join('\n'));
  }
}

if (want('step')) {
  // the CNN: conv 3x3 32 + BN + pool, conv 3x3 64 + BN + pool, dense 128, dense 10; batch 64, Adam
  kn.manualSeed(0);
  const nn = kn.nn;
  const model = new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.BatchNorm2d(64), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(64 * 7 * 7, 128), new nn.ReLU(), new nn.Linear(128, 10),
  );
  const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = kn.randn([64, 1, 28, 28]);
  const y = kn.tensor(Int32Array.from({ length: 64 }, (_, i) => i % 10), [64], { dtype: 'int32' });
  const step = kn.compile((x: kn.Tensor, y: kn.Tensor) => { opt.zeroGrad(); const loss = kn.F.crossEntropy(model.forward(x), y); loss.backward(); opt.step(); return loss; });
  const t0 = performance.now();
  await (await step(x, y)).data();
  console.log(`CNN first step (trace + compile): ${(performance.now() - t0).toFixed(0)} ms`);
  const ms = await timeCalls(() => step(x, y), () => step.ready());
  const s = step.stats();
  console.log(`CNN step batch 64: ${ms.toFixed(1)} ms  kernels ${s.kernels}  intermediates ${(s.intermediateBytes / 2 ** 20).toFixed(1)} MiB`);
  if (args.includes('--kernels')) console.log(step.kernels().join('\n'));
  const dump = args.find((a) => a.startsWith('--dump='))?.slice(7);
  if (dump) {
    const prof = await step.profile(1);
    step.kernels().forEach((k, i) => { if (prof[i].label.includes(dump)) console.log(`// ${prof[i].label}\n${k}`); });
  }
  if (args.includes('--profile')) {
    const prof = await step.profile();
    const total = prof.reduce((a, p) => a + p.ms, 0);
    for (const p of [...prof].sort((a, b) => b.ms - a.ms)) console.log(`${p.ms.toFixed(1).padStart(8)} ms ${(100 * p.ms / total).toFixed(1).padStart(5)}%  ${p.label}`);
    console.log(`${total.toFixed(1).padStart(8)} ms total`);
  }
}
process.exit(0);
