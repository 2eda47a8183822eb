// kn.compile's guards: a compiled function gives what the eager one gives after a change of
// mode (train/eval), of requiresGrad or grad mode, and reads kn.scalar values without a
// retrace; past maxTraces it runs eagerly with a warning; a trace that throws changes nothing.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as kn from '../src/index.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

const arr = async (t: kn.Tensor) => Array.from(await t.data());

describe('guards', () => {
  it('train() then eval(): the compiled model stops dropping out, as the eager one does', async () => {
    kn.manualSeed(3);
    const model = new kn.nn.Sequential(new kn.nn.Linear(8, 8), new kn.nn.Dropout(0.5));
    const f = kn.compile((x: kn.Tensor) => model.forward(x));
    const x = kn.ones([4, 8]);
    const trained = await arr(await f(x));
    expect(trained.filter((v) => v === 0).length).toBeGreaterThan(4); // about half of 32 dropped
    model.eval();
    const evaluated = await arr(await f(x));
    expect(evaluated).toEqual(await arr(model.forward(x)));
    expect(f.stats().traces).toBe(2);
    model.train();
    await f(x);
    expect(f.stats().traces).toBe(2); // the train-mode trace is reused
  });

  it('BatchNorm in eval mode uses its running statistics when compiled', async () => {
    const bn = new kn.nn.BatchNorm1d(3);
    const f = kn.compile((x: kn.Tensor) => bn.forward(x));
    const x = kn.tensor([[1, 2, 3], [3, 6, 9]]);
    await f(x);
    bn.eval();
    const got = await arr(await f(x));
    expect(got).toEqual(await arr(bn.forward(x)));
    // train mode would normalize each column to [-1, 1]; eval mode does not
    expect(got[0]).not.toBeCloseTo(-1, 2);
  });

  it('retraces when requiresGrad of an argument or the grad mode changes', async () => {
    const f = kn.compile((x: kn.Tensor) => x.mul(x).sum());
    await f(kn.ones([3]));
    await f(kn.ones([3], { requiresGrad: true }));
    expect(f.stats().traces).toBe(2);
    await kn.noGrad(() => f(kn.ones([3])));
    expect(f.stats().traces).toBe(3);
  });

  it('kn.scalar changes what a compiled function computes without a retrace', async () => {
    const s = kn.scalar(2);
    const f = kn.compile((x: kn.Tensor) => x.mul(s));
    const x = kn.tensor([1, 2, 3]);
    expect(await arr(await f(x))).toEqual([2, 4, 6]);
    s.value = -0.5;
    expect(await arr(await f(x))).toEqual([-0.5, -1, -1.5]);
    expect(f.stats().traces).toBe(1);
    expect(() => kn.scalar(1, { dtyp: 'int32' } as never)).toThrow(/scalar: unknown option 'dtyp'/);
  });

  it('past maxTraces it runs eagerly, warning once with what changed', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const f = kn.compile((x: kn.Tensor) => x.add(1), { maxTraces: 2 });
      for (const n of [1, 2, 3, 4]) expect(await arr(await f(kn.zeros([n])))).toEqual(new Array(n).fill(1));
      expect(f.stats().traces).toBe(2);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/2 traces .*running it eagerly.*argument 0: float32\[3\] \(was argument 0: float32\[2\]\)/);
    } finally { warn.mockRestore(); }
    expect(() => kn.compile((x: kn.Tensor) => x, { maxTrace: 3 } as never)).toThrow(/compile: unknown option 'maxTrace'/);
    expect(() => kn.compile((x: kn.Tensor) => x, { maxTraces: 0 })).toThrow(/compile: maxTraces must be an integer >= 1, got 0/);
  });

  it('a trace that throws after opt.step() leaves the parameters and the step count as they were', async () => {
    const model = new kn.nn.Linear(2, 1);
    const opt = new kn.optim.Adam(model.parameters(), { lr: 0.1 });
    const before = await arr(model.weight);
    const f = kn.compile((x: kn.Tensor) => {
      opt.zeroGrad();
      model.forward(x).sum().backward();
      opt.step();
      throw new Error('user error after the step');
    });
    await expect(f(kn.ones([1, 2]))).rejects.toThrow('user error after the step');
    expect(await arr(model.weight)).toEqual(before);
    // one real step afterwards is Adam's first: its update is lr * sign(grad) = 0.1 per weight
    opt.zeroGrad();
    model.forward(kn.ones([1, 2])).sum().backward();
    opt.step();
    const after = await arr(model.weight);
    after.forEach((w, i) => expect(w - before[i]).toBeCloseTo(-0.1, 5));
  });
});
