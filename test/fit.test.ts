// The fit loop (validation metrics, callbacks, early stopping, accumulation), gradient
// clipping on the GPU, and flat GPU memory over a long compiled run.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as kn from '../src/index.js';
import type { Dataset } from '../src/train/data.js';
import { normalArray } from '../src/layers/random.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

/** Three Gaussian blobs in 4-D: an easy task with a known answer. */
function blobs(n: number, seed: number): Dataset {
  kn.manualSeed(seed);
  const noise = normalArray(n * 4);
  const x = new Float32Array(n * 4), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let j = 0; j < 4; j++) x[i * 4 + j] = (j === y[i] ? 3 : 0) + noise[i * 4 + j];
  }
  return { x, y, n, featureSize: 4 };
}
const mlp = () => new kn.nn.Sequential(new kn.nn.Linear(4, 16), new kn.nn.ReLU(), new kn.nn.Linear(16, 3));
const values = async (m: kn.nn.Module) => Object.fromEntries(await Promise.all(Object.entries(m.stateDict()).map(async ([k, t]) => [k, Array.from(await t.data())])));

describe('fit', () => {
  it('trains with validation accuracy and top-k in the history, one value per epoch', async () => {
    kn.manualSeed(1);
    const model = mlp();
    const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-2 });
    const seen: number[] = [];
    const history = await kn.train.fit(model, opt, blobs(512, 2), {
      epochs: 3, batchSize: 32, validation: blobs(300, 3), metrics: ['accuracy', 'top2'], progress: false,
      callbacks: [{ onEpochEnd: (e) => { seen.push(e); } }],
    });
    expect(Object.keys(history).sort()).toEqual(['loss', 'lr', 'valAccuracy', 'valLoss', 'valTop2']);
    expect(history.loss).toHaveLength(3);
    expect(seen).toEqual([1, 2, 3]);
    expect(history.loss[2]).toBeLessThan(history.loss[0]);
    // measured: 91%, 96%, 97% over the epochs (top-2: 99%); top-2 is never below top-1
    expect(history.valAccuracy[2]).toBeGreaterThan(0.95);
    expect(history.valTop2[2]).toBeGreaterThanOrEqual(history.valAccuracy[2]);
    expect(kn.train.historyCharts(history)).toHaveLength(2);
  });

  it('EarlyStopping ends training when the monitored value stops improving', async () => {
    kn.manualSeed(1);
    const model = mlp();
    // lr 0: the parameters never change, so the epoch loss never improves after epoch 1
    const opt = new kn.optim.SGD(model.parameters(), { lr: 0 });
    const stop = new kn.train.EarlyStopping({ monitor: 'loss', patience: 1 });
    const history = await kn.train.fit(model, opt, blobs(96, 2), { epochs: 10, batchSize: 32, shuffle: false, progress: false, callbacks: [stop] });
    expect(history.loss).toHaveLength(3); // best at 1, no improvement at 2 (wait 1) and 3 (wait 2 > patience)
    expect(stop.bestEpoch).toBe(1);
  });

  it('accumulating 4 micro-batches of 8 equals one step on the batch of 32', async () => {
    const data = blobs(32, 5);
    const run = async (batchSize: number, accumulate: number) => {
      kn.manualSeed(9);
      const model = mlp();
      const opt = new kn.optim.SGD(model.parameters(), { lr: 0.5, momentum: 0.9 });
      await kn.train.fit(model, opt, data, { epochs: 2, batchSize, accumulate, shuffle: false, progress: false });
      return values(model);
    };
    const a = await run(8, 4), b = await run(32, 1);
    for (const k of Object.keys(a)) {
      // sums of the same products in another order: float32 rounding only
      a[k].forEach((v: number, i: number) => expect(Math.abs(v - b[k][i])).toBeLessThan(1e-5 + 1e-5 * Math.abs(b[k][i])));
    }
  });

  it('rejects unknown options and bad values with messages that name them', async () => {
    const model = mlp();
    const opt = new kn.optim.SGD(model.parameters(), { lr: 0.1 });
    await expect(kn.train.fit(model, opt, blobs(8, 1), { epochs: 1, batchsize: 4 } as any)).rejects.toThrow(/unknown option 'batchsize'/);
    await expect(kn.train.fit(model, opt, blobs(8, 1), { epochs: 0 })).rejects.toThrow(/epochs must be a positive integer, got 0/);
    await expect(kn.train.fit(model, opt, blobs(8, 1), { epochs: 1, metrics: ['f1'] })).rejects.toThrow(/unknown metric 'f1'/);
    await expect(kn.train.fit(model, opt, blobs(8, 1), { epochs: 1, inputShape: [3] })).rejects.toThrow(/inputShape \[3\] does not hold the dataset's 4 features/);
  });
});

describe('gradient clipping', () => {
  it('clipGradNorm_ returns the global norm and scales every gradient by maxNorm / (norm + 1e-6)', async () => {
    const w = kn.tensor([1, 2, 3], [3], { requiresGrad: true }), b = kn.tensor([4, 5], [2], { requiresGrad: true });
    const c = [3, -4, 12], d = [0, 84];
    w.mul(kn.tensor(c)).sum().add(b.mul(kn.tensor(d)).sum()).backward();
    const norm = kn.nn.utils.clipGradNorm_([w, b], 5);
    const want = Math.hypot(...c, ...d); // 85
    expect(await norm.item()).toBeCloseTo(want, 3);
    const coef = 5 / (want + 1e-6);
    const gw = Array.from(await w.grad!.data());
    c.forEach((v, i) => expect(gw[i]).toBeCloseTo(v * coef, 5));
    const gb = Array.from(await b.grad!.data());
    d.forEach((v, i) => expect(gb[i]).toBeCloseTo(v * coef, 5));
    // a norm already below maxNorm leaves the gradients alone
    kn.nn.utils.clipGradNorm_([w, b], 1e6);
    expect(Array.from(await b.grad!.data())[1]).toBeCloseTo(84 * coef, 5);
    // infinity norm
    const v = kn.tensor([1, -7], [2], { requiresGrad: true });
    v.mul(kn.tensor([2, -9])).sum().backward();
    expect(await kn.nn.utils.clipGradNorm_([v], 3, { normType: Infinity }).item()).toBe(9);
    expect(Array.from(await v.grad!.data()).map((x) => Number(x.toFixed(4)))).toEqual([0.6667, -3]);
  });

  it('clipGradValue_ clamps elementwise', async () => {
    const w = kn.tensor([1, 2, 3], [3], { requiresGrad: true });
    w.mul(kn.tensor([-5, 0.5, 9])).sum().backward();
    kn.nn.utils.clipGradValue_([w], 1);
    expect(Array.from(await w.grad!.data())).toEqual([-1, 0.5, 1]);
  });

  it('clips inside a compiled step without a read-back: same parameters as eager clipping', async () => {
    const data = blobs(64, 4);
    const run = async (compiled: boolean) => {
      kn.manualSeed(3);
      const model = mlp();
      const opt = new kn.optim.SGD(model.parameters(), { lr: 1 });
      const x = kn.tensor(data.x, [64, 4]), y = kn.tensor(data.y, [64], { dtype: 'int32' });
      const body = (xb: kn.Tensor, yb: kn.Tensor) => {
        const loss = kn.F.crossEntropy(model.forward(xb), yb);
        loss.backward();
        const n = kn.nn.utils.clipGradNorm_(model.parameters(), 0.1);
        opt.step(); opt.zeroGrad();
        return n;
      };
      const step = kn.compile(body);
      const norms: number[] = [];
      for (let i = 0; i < 3; i++) norms.push(await (compiled ? await step(x, y) : body(x, y)).item());
      return { norms, params: await values(model) };
    };
    const a = await run(true), b = await run(false);
    expect(a.norms[0]).toBeGreaterThan(0.1); // clipping really happened
    a.norms.forEach((v, i) => expect(v).toBeCloseTo(b.norms[i], 5));
    for (const k of Object.keys(a.params)) a.params[k].forEach((v: number, i: number) => expect(v).toBeCloseTo(b.params[k][i], 5));
  });
});

describe('memory', () => {
  it('10,000 compiled training steps keep GPU memory flat after the first steps', async () => {
    kn.manualSeed(0);
    const model = new kn.nn.Sequential(new kn.nn.Linear(8, 8), new kn.nn.ReLU(), new kn.nn.Linear(8, 2));
    const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-3 });
    const step = kn.compile((x: kn.Tensor, y: kn.Tensor) => {
      const loss = kn.F.crossEntropy(model.forward(x), y);
      loss.backward(); opt.step(); opt.zeroGrad();
      return loss;
    });
    const x = kn.randn([16, 8]), y = kn.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 2), [16], { dtype: 'int32' });
    const total = () => { const m = kn.memoryStats(); return m.bytesInUse + m.bytesPooled; };
    let after100 = 0;
    for (let i = 1; i <= 10_000; i++) {
      const loss = await step(x, y);
      if (i % 1000 === 0) await loss.item(); // let the GPU catch up now and then
      loss.dispose();
      if (i === 100) after100 = total();
    }
    // every buffer the pool ever allocated, in use or free: the same after 100 and 10,000 steps
    expect(total()).toBe(after100);
    expect(step.stats().traces).toBe(1);
  }, 300_000);
});
