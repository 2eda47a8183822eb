// The scheduler's fusion decisions, pinned: the kernel count and the WGSL of every dispatch of
// a few compiled programs (MLP and CNN training steps, three MLP steps in one program, a
// transformer layer's step, a hand-written attention that the pattern rewrite fuses) must
// equal test/graph/schedule_fixtures.json, recorded from the scheduler before it became
// incremental (reachability from topological ranks, no restart after a merge). A change of
// the graphs the layers build changes the fixtures too: rewrite them with
// KILN_WRITE_SCHEDULE_FIXTURES=1 only after checking that the kernel counts still hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as kn from '../../src/index.js';
import { eagerStats } from '../../src/graph/realize.js';
import { state } from '../../src/graph/state.js';

const FILE = new URL('./schedule_fixtures.json', import.meta.url);
const write = process.env.KILN_WRITE_SCHEDULE_FIXTURES === '1';
interface Fixture { kernels: number; dispatches: number; wgsl: string[] }
const fixtures: Record<string, Fixture> = write ? {} : JSON.parse(readFileSync(FILE, 'utf8'));

beforeAll(async () => {
  await kn.init();
  // a forced tiling: no quick matmul stand-in, so the WGSL does not depend on compile timing
  kn.debug.setMatmulTiling(kn.debug.DEFAULT_TILING);
});
afterAll(() => {
  kn.debug.setMatmulTiling(undefined);
  if (write) writeFileSync(FILE, `${JSON.stringify(fixtures, null, 1)}\n`);
  kn.shutdown();
});

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

async function check(name: string, f: kn.CompiledFunction<kn.Tensor[], kn.Tensor | kn.Tensor[]>): Promise<void> {
  const got: Fixture = { kernels: f.stats().kernels, dispatches: f.stats().dispatches, wgsl: f.kernels().map(hash) };
  if (write) { fixtures[name] = got; return; }
  const want = fixtures[name];
  expect(got.kernels, `${name}: kernels`).toBe(want.kernels);
  expect(got.dispatches, `${name}: dispatches`).toBe(want.dispatches);
  expect(got.wgsl, `${name}: WGSL of each dispatch`).toEqual(want.wgsl);
}

const labels = (n: number, classes: number) => kn.tensor(Int32Array.from({ length: n }, (_, i) => i % classes), [n], { dtype: 'int32' });

describe('schedules as before the incremental scheduler', () => {
  it('MLP training steps (Adam), one and three in a program, with activations as outputs', async () => {
    kn.manualSeed(0);
    const l1 = new kn.nn.Linear(20, 16), l2 = new kn.nn.Linear(16, 5);
    const opt = new kn.optim.Adam([...l1.parameters(), ...l2.parameters()], { lr: 1e-3 });
    const x = kn.randn([8, 20]), y = labels(8, 5);
    const once = () => {
      opt.zeroGrad();
      const h = l1.forward(x).relu(), logits = l2.forward(h);
      const loss = kn.F.crossEntropy(logits, y);
      loss.backward();
      opt.step();
      return [loss, logits, h];
    };
    const one = kn.compile(() => once());
    await one();
    await check('mlp', one);
    const three = kn.compile(() => [once()[0], once()[0], once()[0]]);
    await three();
    await check('mlp x3', three);
  });

  it('CNN training step (conv, batch norm, pool, linear; SGD with momentum)', async () => {
    kn.manualSeed(0);
    const model = new kn.nn.Sequential(
      new kn.nn.Conv2d(1, 4, 3, { padding: 1 }), new kn.nn.BatchNorm2d(4), new kn.nn.ReLU(), new kn.nn.MaxPool2d(2),
      new kn.nn.Flatten(), new kn.nn.Linear(4 * 4 * 4, 10));
    const opt = new kn.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = kn.randn([4, 1, 8, 8]), y = labels(4, 10);
    const step = kn.compile(() => {
      opt.zeroGrad();
      const loss = kn.F.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss;
    });
    await step();
    await check('cnn', step);
  });

  it('a transformer encoder layer\'s training step (AdamW), and hand-written attention', async () => {
    kn.manualSeed(0);
    const layer = new kn.nn.TransformerEncoderLayer(16, 2, { dimFeedforward: 32, dropout: 0, batchFirst: true });
    const opt = new kn.optim.AdamW(layer.parameters(), { lr: 1e-3 });
    const x = kn.randn([2, 6, 16]);
    const step = kn.compile(() => {
      opt.zeroGrad();
      const loss = layer.forward(x).pow(2).mean();
      loss.backward();
      opt.step();
      return loss;
    });
    await step();
    await check('transformer', step);
    const q = kn.randn([2, 6, 8]), k = kn.randn([2, 7, 8]), v = kn.randn([2, 7, 8]);
    const attn = kn.compile(() => kn.F.softmax(q.matmul(k.permute(0, 2, 1)).mul(0.35), -1).matmul(v).add(1));
    await attn();
    await check('attention', attn);
  });
});

describe('the cut at optimizer.step()', () => {
  it('an eager step starts its own program: reading every third step builds one per step and gives the same values', async () => {
    const run = async (every: number) => {
      kn.manualSeed(1);
      const model = new kn.nn.Sequential(new kn.nn.Linear(12, 8), new kn.nn.ReLU(), new kn.nn.Linear(8, 3));
      const opt = new kn.optim.Adam(model.parameters(), { lr: 0.05 });
      const x = kn.randn([6, 12]), y = labels(6, 3);
      await x.data();
      const before = eagerStats.programs;
      const losses: number[] = [];
      for (let i = 1; i <= 6; i++) {
        opt.zeroGrad();
        const loss = kn.F.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        expect(state.pendingAssigns.length, 'nothing pending after a step').toBe(0);
        if (i % every === 0) losses.push(await loss.item());
      }
      const programs = eagerStats.programs - before;
      return { losses, programs, weight: await (model.parameters()[0]).data() };
    };
    const each = await run(1), third = await run(3);
    expect(each.programs).toBe(6);
    expect(third.programs, 'one program per step, not one per read').toBe(6);
    expect(third.losses).toEqual([each.losses[2], each.losses[5]]);
    expect(Array.from(third.weight)).toEqual(Array.from(each.weight));
    expect(each.losses[5]).toBeLessThan(each.losses[0]);
  });
});
