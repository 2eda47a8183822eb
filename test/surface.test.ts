// The PyTorch surface of issue 14 against PyTorch (test/golden/surface.json, from
// gen_surface.py): each op's outputs and the gradients of sum(out_i * r_i) for its float
// inputs. Then the calling convention's errors and loadStateDict's ordering.
//
// Tolerances: |actual - expected| <= ATOL + RTOL * |expected| with RTOL 1e-5 and ATOL 1e-6,
// as test/golden.test.ts (float32 on both sides; only summation order and the device's
// exp/log differ). Integer and bool outputs must match exactly. A NaN anywhere fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../src/index.js';

interface T { shape: number[]; data: number[] }
interface Case { name: string; inputs: Record<string, T>; outputs: T[]; r: T[]; grads: Record<string, T> | null }
const golden = JSON.parse(readFileSync(new URL('./golden/surface.json', import.meta.url), 'utf8')) as { cases: Case[] };

const RTOL = 1e-5, ATOL = 1e-6;
type In = Record<string, kn.Tensor>;
const { F } = kn;

/** Kiln's form of each golden case (by name); x, a, b, m, x0... are the case's inputs. */
const OPS: Record<string, (i: In) => kn.Tensor | kn.Tensor[]> = {
  'chunk 3 dim 1': ({ x }) => x.chunk(3, { dim: 1 }),
  'split 3': ({ x }) => x.split(3),
  'split sizes dim 1': ({ x }) => kn.split(x, [1, 2, 3], { dim: 1 }),
  'unbind dim 1': ({ x }) => kn.unbind(x, { dim: 1 }),
  'select 1 -2': ({ x }) => x.select(1, -2),
  'index [2, 1]': ({ x }) => x.at(2, 1),
  'roll 2 dim 1': ({ x }) => x.roll(2, { dims: 1 }),
  'roll (-1, 7) dims (0, 1)': ({ x }) => kn.roll(x, [-1, 7], { dims: [0, 1] }),
  'roll 4 flat': ({ x }) => x.roll(4),
  'repeat 2 1 3': ({ x }) => x.repeat(2, 1, 3),
  'tile (2,)': ({ x }) => x.tile([2]),
  'tile (2, 1, 2)': ({ x }) => kn.tile(x, [2, 1, 2]),
  tril: ({ x }) => x.tril(),
  'tril -1': ({ x }) => kn.tril(x, { diagonal: -1 }),
  'triu 1 batched': ({ x }) => x.triu({ diagonal: 1 }),
  masked_fill: ({ x, m }) => x.maskedFill(m.cast('bool'), -1.5),
  'masked_fill broadcast': ({ x, m }) => kn.maskedFill(x, m.cast('bool'), 2),
  outer: ({ a, b }) => kn.outer(a, b),
  bmm: ({ a, b }) => kn.bmm(a, b),
  'norm': ({ x }) => x.norm(),
  'norm p 2 dim 1': ({ x }) => x.norm({ p: 2, dim: 1 }),
  'norm p 1 dim 0 keepdim': ({ x }) => kn.norm(x, { p: 1, dim: 0, keepdim: true }),
  'norm p inf dim 1': ({ x }) => x.norm({ p: Infinity, dim: 1 }),
  'norm p 3 dim 1': ({ x }) => x.norm({ p: 3, dim: 1 }),
  'norm fro dims (0, 1)': ({ x }) => x.norm({ p: 'fro', dim: [0, 1] }),
  'prod dim 1 with zeros': ({ x }) => x.prod(1),
  prod: ({ x }) => kn.prod(x),
  'prod dim 0 keepdim': ({ x }) => x.prod(0, true),
  'any dim 1': ({ x }) => x.any(1),
  'all dim 1': ({ x }) => kn.all(x, 1),
  any: ({ x }) => kn.any(x),
  all: ({ x }) => x.all(),
  'max dim 1': ({ x }) => x.max(1),
  'min dim 0 keepdim': ({ x }) => x.min(0, { keepdim: true }),
  round: ({ x }) => kn.round(x),
  ceil: ({ x }) => x.ceil(),
  expm1: ({ x }) => kn.expm1(x),
  square: ({ x }) => x.square(),
  reciprocal: ({ x }) => kn.reciprocal(x),
  hardtanh: ({ x }) => F.hardtanh(x),
  'hardtanh -0.5 2': ({ x }) => F.hardtanh(x, { minVal: -0.5, maxVal: 2 }),
  relu6: ({ x }) => F.relu6(x),
  hardswish: ({ x }) => F.hardswish(x),
  logsigmoid: ({ x }) => F.logSigmoid(x),
  'leaky_relu 0.2': ({ x }) => F.leakyRelu(x, { negativeSlope: 0.2 }),
  'elu 0.7': ({ x }) => F.elu(x, { alpha: 0.7 }),
  'clamp min': ({ x }) => x.clamp({ min: 0.3 }),
  'clamp max': ({ x }) => x.clamp({ max: -0.2 }),
  one_hot: ({ x }) => F.oneHot(x, { numClasses: 5 }),
  normalize: ({ x }) => F.normalize(x),
  'normalize p 1 dim 0': ({ x }) => F.normalize(x, { p: 1, dim: 0 }),
  cosine_similarity: ({ a, b }) => F.cosineSimilarity(a, b),
  'cosine_similarity broadcast dim -1': ({ a, b }) => F.cosineSimilarity(a, b, { dim: -1 }),
  pairwise_distance: ({ a, b }) => F.pairwiseDistance(a, b),
  'pairwise_distance p 1 keepdim': ({ a, b }) => F.pairwiseDistance(a, b, { p: 1, keepdim: true }),
  'arange 2 5': () => kn.arange(2, 5),
  'arange 1 2 0.25': () => kn.arange(1, 2, 0.25),
  'arange 5 1 -1.5': () => kn.arange(5, 1, -1.5),
  'arange 0.1 1.0 0.3': () => kn.arange(0.1, 1.0, 0.3),
  'eye 3': () => kn.eye(3),
  'eye 2 4': () => kn.eye(2, 4),
  'linspace -1 2 7': () => kn.linspace(-1, 2, 7),
  'linspace 0 1 10': () => kn.linspace(0, 1, 10),
  'linspace 0.3 -7.1 13': () => kn.linspace(0.3, -7.1, 13),
};

const isInt = (t: T) => t.data.every(Number.isInteger);
/** Integer golden inputs (class indices, masks) become int32; the rest float32. */
const input = (t: T, float: boolean) => (float ? kn.tensor(Float32Array.from(t.data), t.shape, { requiresGrad: true }) : kn.tensor(Int32Array.from(t.data), t.shape, { dtype: 'int32' }));

/** Shape and values within tolerance (exact for integer tensors); NaN never passes. */
async function expectClose(what: string, actual: kn.Tensor | null | undefined, expected: T, exact: boolean): Promise<void> {
  expect(actual, `${what}: missing`).toBeTruthy();
  expect(actual!.shape, `${what}: shape`).toEqual(expected.shape);
  const a = await actual!.data();
  expect(a.length, `${what}: length`).toBe(expected.data.length);
  for (let i = 0; i < a.length; i++) {
    const e = expected.data[i], err = Math.abs(a[i] - e);
    if (!(err <= (exact ? 0 : ATOL + RTOL * Math.abs(e)))) expect.fail(`${what}: element ${i} is ${a[i]}, PyTorch has ${e}`);
  }
}

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

const einsums = golden.cases.filter((c) => c.name.startsWith('einsum '));
const others = golden.cases.filter((c) => !c.name.startsWith('einsum '));

describe('surface ops against PyTorch (surface.json)', () => {
  it('every golden case has a Kiln form and every Kiln form a case', () => {
    expect(Object.keys(OPS).sort()).toEqual(others.map((c) => c.name).sort());
  });
  for (const c of others) {
    it(`${c.name}: outputs${c.grads ? ' and gradients' : ''}`, async () => {
      // masks and class indices are integer inputs, the rest floats
      const ins: In = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, input(t, (c.grads !== null && k in c.grads) || !isInt(t))]));
      const res = OPS[c.name](ins);
      const outs = Array.isArray(res) ? res : [res];
      expect(outs.length, 'number of outputs').toBe(c.outputs.length);
      for (let i = 0; i < outs.length; i++) {
        const exact = !outs[i].dtype.startsWith('float');
        await expectClose(`output ${i}`, exact && outs[i].dtype === 'bool' ? outs[i].int() : outs[i], c.outputs[i], exact);
      }
      if (!c.grads) return;
      const floats = outs.filter((o) => o.dtype.startsWith('float'));
      floats.map((o, i) => o.mul(kn.tensor(Float32Array.from(c.r[i].data), c.r[i].shape)).sum()).reduce((p, q) => p.add(q)).backward();
      for (const [k, g] of Object.entries(c.grads)) {
        // an input that no output reads gets no gradient; PyTorch's is then zeros
        const got = ins[k].grad ?? kn.zerosLike(ins[k]);
        await expectClose(`grad ${k}`, got, g, false);
      }
    });
  }
});

describe('einsum with the golden operands', () => {
  for (const c of einsums) {
    it(`${c.name}`, async () => {
      const xs = Object.keys(c.inputs).sort().map((k) => input(c.inputs[k], true));
      const y = kn.einsum(c.name.slice('einsum '.length), ...xs);
      await expectClose('output', y, c.outputs[0], false);
      y.mul(kn.tensor(Float32Array.from(c.r[0].data), c.r[0].shape)).sum().backward();
      for (const [i, x] of xs.entries()) await expectClose(`grad x${i}`, x.grad, c.grads![`x${i}`], false);
    });
  }
});
