// Steady MLP step on default kernels (tuning off) against the choices in a tuning cache file,
// interleaved in one process (5 steps of each in turn, 12 pairs) so drifting load hits both alike:
//   npx tsx bench/tuning_paired.ts CACHE_FILE      (a file written by a first run of tuning_mlp.ts)
import * as kn from '../src/index.js';
if (!process.argv[2]) throw new Error('usage: npx tsx bench/tuning_paired.ts CACHE_FILE (a tuning cache a first run wrote)');
await kn.init({ tuning: { cache: process.argv[2] } });
const build = () => {
  kn.manualSeed(0);
  const model = new kn.nn.Sequential(new kn.nn.Linear(784, 256), new kn.nn.ReLU(), new kn.nn.Linear(256, 256), new kn.nn.ReLU(), new kn.nn.Linear(256, 10));
  const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-3 });
  return kn.compile((a: kn.Tensor, b: kn.Tensor) => { const l = kn.F.crossEntropy(model.forward(a), b); l.backward(); opt.step(); opt.zeroGrad(); return l; });
};
const x = kn.randn([128, 784]);
const y = kn.tensor(Int32Array.from({ length: 128 }, (_, i) => i % 10), [128], { dtype: 'int32' });
kn.debug.setTuning(false);
const A = build(); await (await A(x, y)).item(); await A.ready();
kn.debug.setTuning(true);
const B = build(); await (await B(x, y)).item(); await B.ready();
const cached = kn.debug.tuning().filter((r) => r.source === 'cache').length;
const time = async (f: typeof A) => { const s = performance.now(); let l; for (let i = 0; i < 5; i++) l = await f(x, y); await l!.item(); return (performance.now() - s) / 5; };
for (let i = 0; i < 2; i++) { await time(A); await time(B); }
const a: number[] = [], b: number[] = [], r: number[] = [];
for (let i = 0; i < 12; i++) { const ta = await time(A), tb = await time(B); a.push(ta); b.push(tb); r.push(tb / ta); }
const med = (v: number[]) => { const s = [...v].sort((p, q) => p - q); return (s[5] + s[6]) / 2; };
console.log(`cached choices ${cached} | default kernels: median ${med(a).toFixed(1)} ms (min ${Math.min(...a).toFixed(1)}) | tuned: median ${med(b).toFixed(1)} ms (min ${Math.min(...b).toFixed(1)}) | tuned/default per pair: median ${med(r).toFixed(3)} (${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)})`);
kn.shutdown();
process.exit(0);
