// Kiln against PyTorch's golden vectors (test/golden/*.json, see test/golden/README.md):
// Linear forward/backward, every loss case, and one MLP forward/backward step.
//
// Tolerances. Inputs are float32 and PyTorch computed in float32; Kiln computes in float32
// too, so the differences are summation order and the precision of exp/log on the device.
// An element passes when |actual - expected| <= ATOL + RTOL * |expected|:
//   RTOL = 1e-5  (~80 float32 ulps: a handful of roundings in reordered sums of <= 33 terms)
//   ATOL = 1e-6  (results that are sums of cancelling terms, near 0)
// Losses and everything after a loss (MLP grads) use ATOL 2e-6: WGSL only promises log an
// absolute error below 2^-21 (4.8e-7) on [0.5, 2], where log(1 + exp(-|x|)) and
// log-sum-exp land, and gradients chain a few such values. Measured on SwiftShader: every
// case passes at rtol 1e-5/atol 1e-6; the worst is BCE (|diff| ~2e-7 at loss 0.004).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
const load = loadGolden;
const linearJson = load('linear.json');
const ceJson = load('cross_entropy.json');
const mlpJson = load('mlp_step.json');

const RTOL = 1e-5, ATOL = 1e-6;
const LOSS_RTOL = 1e-5, LOSS_ATOL = 2e-6;

const f32 = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data), t.shape, opts);
const i32 = (t: T) => kn.tensor(Int32Array.from(t.data), t.shape, { dtype: 'int32' });

/** Asserts shape and values within atol + rtol*|expected|, naming the worst element. */
async function expectClose(what: string, actual: kn.Tensor | null, expected: T, rtol = RTOL, atol = ATOL): Promise<void> {
  expect(actual, `${what}: missing`).not.toBeNull();
  expect(actual!.shape, `${what}: shape`).toEqual(expected.shape);
  const a = await actual!.data();
  expect(a.length, `${what}: length`).toBe(expected.data.length);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - expected.data[i]);
    const excess = err - (atol + rtol * Math.abs(expected.data[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    expect.fail(`${what}: element ${worst} is ${a[worst]}, PyTorch has ${expected.data[worst]} (|diff| ${Math.abs(a[worst] - expected.data[worst])} > ${atol} + ${rtol}*|expected|)`);
  }
}

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

describe('golden: Linear (linear.json)', () => {
  for (const c of linearJson.cases) {
    it(`${c.name}: y, dx, dW, db`, async () => {
      const model = new kn.nn.Linear(c.inFeatures, c.outFeatures);
      model.loadStateDict({ weight: f32(c.weight), bias: f32(c.bias) });
      const x = f32(c.x, { requiresGrad: true });
      const y = model.forward(x);
      y.mul(f32(c.r)).sum().backward();
      await expectClose('y', y, c.y);
      await expectClose('gradX', x.grad, c.gradX);
      await expectClose('gradWeight', model.weight.grad, c.gradWeight);
      await expectClose('gradBias', model.bias!.grad, c.gradBias);
    });
  }
});

function runLoss(c: any, input: kn.Tensor): kn.Tensor {
  const target = c.targetKind === 'index' ? i32(c.target) : f32(c.target);
  const opts: any = { ...c.options };
  if (opts.posWeight) opts.posWeight = f32(opts.posWeight);
  switch (c.fn) {
    case 'cross_entropy': return kn.F.crossEntropy(input, target, opts);
    case 'nll_loss': return kn.F.nllLoss(input, target, opts);
    case 'mse_loss': return kn.F.mseLoss(input, target, opts);
    case 'l1_loss': return kn.F.l1Loss(input, target, opts);
    case 'binary_cross_entropy_with_logits': return kn.F.binaryCrossEntropyWithLogits(input, target, opts);
    default: throw new Error(`unknown fn ${c.fn}`);
  }
}

describe('golden: losses (cross_entropy.json)', () => {
  it('covers every loss function', () => {
    const fns = new Set(ceJson.cases.map((c: any) => c.fn));
    expect([...fns].sort()).toEqual(['binary_cross_entropy_with_logits', 'cross_entropy', 'l1_loss', 'mse_loss', 'nll_loss']);
  });
  for (const c of ceJson.cases) {
    it(`${c.name}: loss and gradInput`, async () => {
      const input = f32(c.input, { requiresGrad: true });
      const loss = runLoss(c, input);
      // the objective: the loss itself, or (loss * r).sum() for reduction 'none'
      const objective = c.r ? loss.mul(f32(c.r)).sum() : loss;
      objective.backward();
      await expectClose('loss', loss, c.loss, LOSS_RTOL, LOSS_ATOL);
      await expectClose('gradInput', input.grad, c.gradInput, LOSS_RTOL, LOSS_ATOL);
    });
  }
});

describe('golden: MLP step (mlp_step.json)', () => {
  const sizes: number[] = mlpJson.sizes;
  const build = () => new kn.nn.Sequential(
    new kn.nn.Linear(sizes[0], sizes[1]), new kn.nn.ReLU(),
    new kn.nn.Linear(sizes[1], sizes[2]), new kn.nn.ReLU(),
    new kn.nn.Linear(sizes[2], sizes[3]),
  );
  const params = () => Object.fromEntries(Object.entries(mlpJson.params as Record<string, T>).map(([k, v]) => [k, f32(v)]));

  it('activations, logits, loss and every gradient', async () => {
    const model = build();
    expect(Object.keys(model.stateDict()).sort()).toEqual(Object.keys(mlpJson.params).sort());
    model.loadStateDict(params());
    let h = f32(mlpJson.x);
    for (let i = 0; i < model.length; i++) {
      h = model.at(i).call(h);
      await expectClose(`activation ${i}`, h, mlpJson.activations[String(i)]);
    }
    const logits = model.forward(f32(mlpJson.x));
    await expectClose('logits', logits, mlpJson.logits);
    const loss = kn.F.crossEntropy(logits, i32(mlpJson.y));
    loss.backward();
    await expectClose('loss', loss, { shape: [], data: [mlpJson.loss] }, LOSS_RTOL, LOSS_ATOL);
    const sd = model.stateDict();
    for (const [k, g] of Object.entries(mlpJson.grads as Record<string, T>)) {
      await expectClose(`grad ${k}`, sd[k].grad, g, LOSS_RTOL, LOSS_ATOL);
    }
  });

  it('the same through kn.compile (forward + backward in one program)', async () => {
    const model = build();
    model.loadStateDict(params());
    const ps = model.stateDict();
    const step = kn.compile((x: kn.Tensor, y: kn.Tensor) => {
      for (const p of Object.values(ps)) p.grad = null;
      const logits = model.forward(x);
      const loss = kn.F.crossEntropy(logits, y);
      loss.backward();
      return [logits, loss, ...Object.keys(mlpJson.grads).map((k) => ps[k].grad!)];
    });
    for (let call = 0; call < 2; call++) {
      const [logits, loss, ...grads] = await step(f32(mlpJson.x), i32(mlpJson.y));
      await expectClose(`call ${call} logits`, logits, mlpJson.logits);
      await expectClose(`call ${call} loss`, loss, { shape: [], data: [mlpJson.loss] }, LOSS_RTOL, LOSS_ATOL);
      const keys = Object.keys(mlpJson.grads);
      for (let i = 0; i < keys.length; i++) await expectClose(`call ${call} grad ${keys[i]}`, grads[i], mlpJson.grads[keys[i]], LOSS_RTOL, LOSS_ATOL);
    }
    expect(step.stats().traces).toBe(1);
  });
});
