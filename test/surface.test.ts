// The PyTorch surface of issue 14 against PyTorch (test/golden/surface.json, from
// gen_surface.py): each op's outputs and the gradients of sum(out_i * r_i) for its float
// inputs. Then the calling convention's errors and loadStateDict's ordering.
//
// Tolerances: |actual - expected| <= ATOL + RTOL * |expected| with RTOL 1e-5 and ATOL 1e-6,
// as test/golden.test.ts (float32 on both sides; only summation order and the device's
// exp/log differ). Integer and bool outputs must match exactly. A NaN anywhere fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
interface Case { name: string; inputs: Record<string, T>; outputs: T[]; r: T[]; grads: Record<string, T> | null }
const golden = loadGolden('surface.json') as { cases: Case[] };

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

describe('the calling convention: options objects, checked', () => {
  const x = () => kn.tensor([-2, -0.5, 0, 1.5]);
  it('a positional number where an options object belongs names the function and the form', () => {
    expect(() => F.leakyRelu(x(), 0.2 as any)).toThrow(/leakyRelu: optional arguments go in an options object, as leakyRelu\(\.\.\., \{negativeSlope\}\); got 0\.2/);
    expect(() => F.elu(x(), 0.7 as any)).toThrow(/elu: .*as elu\(\.\.\., \{alpha\}\); got 0\.7/);
    expect(() => F.dropout(x(), 0.5 as any)).toThrow(/dropout: .*\{p, training\}\); got 0\.5/);
    expect(() => x().add(x(), 2 as any)).toThrow(/add: .*\{alpha\}\); got 2/);
    expect(() => x().chunk(2, 0 as any)).toThrow(/chunk: .*\{dim\}\); got 0/);
    expect(() => x().norm(2 as any)).toThrow(/norm: .*\{p, dim, keepdim\}\); got 2/);
    expect(() => F.gelu(x(), 'tanh' as any)).toThrow(/gelu: .*\{approximate\}\); got 'tanh'/);
  });
  it('an unknown option names itself and the expected form', () => {
    expect(() => F.leakyRelu(x(), { negativeSlop: 0.2 } as any)).toThrow(/leakyRelu: unknown option 'negativeSlop'; expected leakyRelu\(\.\.\., \{negativeSlope\}\)/);
    expect(() => x().clamp({ minimum: 0 } as any)).toThrow(/clamp: unknown option 'minimum'/);
  });
  it('options take effect: leakyRelu, elu, dropout in eval, add with alpha, clamp positional', async () => {
    expect(Array.from(await F.leakyRelu(x(), { negativeSlope: 0.5 }).data())).toEqual([-1, -0.25, 0, 1.5]);
    expect(Array.from(await F.dropout(x(), { p: 0.9, training: false }).data())).toEqual([-2, -0.5, 0, 1.5]);
    expect(Array.from(await x().add(kn.tensor([1, 1, 1, 1]), { alpha: 2 }).data())).toEqual([0, 1.5, 2, 3.5]);
    expect(Array.from(await x().clamp(-1, 1).data())).toEqual([-1, -0.5, 0, 1]);
    expect(Array.from(await x().clamp(null, 0).data())).toEqual([-2, -0.5, 0, 0]);
    expect(() => x().clamp()).toThrow(/clamp: at least one of min and max must be given/);
    expect(() => x().clamp({ min: NaN })).toThrow(/clamp: min must be a number, a tensor or null, got NaN/);
  });
  it('max/min: no dim is the scalar, a dim gives [values, indices], a tensor is maximum', async () => {
    const m = kn.tensor([[1, 5, 2], [7, 0, 7]]);
    expect(await m.max().item()).toBe(7);
    const [v, i] = m.max(1);
    expect(Array.from(await v.data())).toEqual([5, 7]);
    expect(i.dtype).toBe('int32');
    expect(Array.from(await i.data())).toEqual([1, 0]);
    const [vk] = m.min(-1, true);
    expect(vk.shape).toEqual([2, 1]);
    expect(Array.from(await m.max(kn.tensor([6])).data())).toEqual([6, 6, 6, 7, 6, 7]);
    expect(() => m.max([0, 1] as any)).toThrow(/max: dim must be one integer \(amax\/amin take several\), got \[0, 1\]/);
    expect(() => m.max(2)).toThrow(/max: dim 2 is out of range/);
  });
  it('kn.zeros/ones take sizes as PyTorch; full and arange refuse what PyTorch refuses', async () => {
    expect(kn.zeros(2, 3).shape).toEqual([2, 3]);
    expect(kn.ones([2, 3], { dtype: 'int32' }).dtype).toBe('int32');
    expect(kn.ones(4, { dtype: 'int32' }).shape).toEqual([4]);
    expect(Array.from(await kn.ones(2, 2).data())).toEqual([1, 1, 1, 1]);
    expect(() => kn.zeros(2, 1.5)).toThrow(/zeros: size must be non-negative integers, as zeros\(2, 3\) or zeros\(\[2, 3\]\); got \[2, 1\.5\]/);
    expect(() => kn.full(2 as any, 3)).toThrow(/full: size must be an array of non-negative integers, as full\(\[2, 3\], value\); got 2/);
    expect(kn.arange(5).dtype).toBe('int32');
    expect(Array.from(await kn.arange(5).data())).toEqual([0, 1, 2, 3, 4]);
    expect(kn.arange(3, { dtype: 'float32' }).dtype).toBe('float32');
    expect(() => kn.arange(0, 5, 0)).toThrow(/arange: step must be nonzero/);
    expect(() => kn.arange(5, 0)).toThrow(/arange: end 0 cannot be reached from start 5 with step 1/);
    expect(() => kn.arange(NaN)).toThrow(/arange: end must be a finite number, got NaN/);
  });
  it('kn.where(cond, x, y)', async () => {
    const c = kn.tensor([1, 0, 1], [3], { dtype: 'bool' });
    expect(Array.from(await kn.where(c, kn.tensor([1, 2, 3]), 0).data())).toEqual([1, 0, 3]);
    expect(() => kn.where(1 as any, 1, 2)).toThrow(/where: condition must be a tensor, got 1/);
  });
  it('new ops check their arguments', () => {
    const m = kn.zeros(3, 4);
    expect(() => m.split([1, 1], { dim: 0 })).toThrow(/split: sizes \[1, 1\] sum to 2, but dim 0 has size 3 \(shape \[3, 4\]\)/);
    expect(() => m.split(0)).toThrow(/split: splitSize must be an integer >= 1, got 0/);
    expect(() => m.chunk(0)).toThrow(/chunk: chunks must be an integer >= 1, got 0/);
    expect(() => m.select(1, 4)).toThrow(/select: index 4 is out of range for dim 1 of size 4 \(shape \[3, 4\]\)/);
    expect(() => m.at(0, 0, 0)).toThrow(/at: got 3 indices for a tensor of shape \[3, 4\]/);
    expect(() => m.roll([1, 2])).toThrow(/roll: without dims, shifts must be one integer, got \[1, 2\]/);
    expect(() => m.repeat(2)).toThrow(/repeat: expected at least 2 sizes for shape \[3, 4\], got \[2\]/);
    expect(() => kn.zeros(3).tril()).toThrow(/tril: expected a tensor of at least 2 dims, got shape \[3\]/);
    expect(() => m.triu({ diagonal: 0.5 })).toThrow(/triu: diagonal must be an integer, got 0\.5/);
    expect(() => kn.eye(-1)).toThrow(/eye: n must be an integer >= 0, got -1/);
    expect(() => kn.linspace(0, 1, 2.5)).toThrow(/linspace: steps must be an integer >= 0, got 2\.5/);
    expect(() => kn.outer(m, m)).toThrow(/outer: expected two 1-D tensors, got shapes \[3, 4\] and \[3, 4\]/);
    expect(() => kn.bmm(m, m)).toThrow(/bmm: expected \[B, N, M\] and \[B, M, P\], got shapes \[3, 4\] and \[3, 4\]/);
    expect(() => kn.einsum('ij,jk->ik', m, m)).toThrow(/einsum: letter 'j' has size 4 and 3/);
    expect(() => kn.einsum('ii->i', kn.zeros(3, 3))).toThrow(/einsum: a letter repeated within one operand \('ii': a diagonal or trace\) is not supported/);
    expect(() => kn.einsum('...i->i', m)).toThrow(/einsum: subscripts must be letters \('\.\.\.' is not supported\)/);
    expect(() => kn.einsum('ij->ik', m)).toThrow(/einsum: output letter 'k' is in no operand/);
    expect(() => kn.einsum('ij,jk->ik', m)).toThrow(/einsum: the equation 'ij,jk->ik' names 2 operands, got 1 tensors/);
    expect(() => m.norm({ p: 0 })).toThrow(/norm: p must be 'fro', a positive number, Infinity or -Infinity, got 0/);
    expect(() => F.oneHot(kn.tensor([1, 2], [2], { dtype: 'int32' }), {})).toThrow(/oneHot: numClasses is required/);
    expect(() => F.oneHot(m, 3)).toThrow(/oneHot: expected an int32 tensor of class indices, got dtype float32/);
    expect(() => m.maskedFill(kn.zeros(4), 1)).toThrow(/maskedFill: expected a bool tensor, got dtype float32/);
    expect(() => m.maskedFill(kn.zeros(2, 4).gt(0), 1)).toThrow(/maskedFill: mask shape \[2, 4\] does not broadcast to the input's \[3, 4\]/);
    expect(() => F.hardtanh(m, { minVal: 2, maxVal: 1 })).toThrow(/hardtanh: minVal 2 must not exceed maxVal 1/);
    expect(() => F.cosineSimilarity(m, kn.zeros(2, 4))).toThrow(/cosineSimilarity: shapes \[3, 4\] and \[2, 4\] do not broadcast/);
  });
  it('split, chunk and unbind give views whose pieces cover the input', async () => {
    const v = kn.arange(10, { dtype: 'float32' });
    expect(v.chunk(4).map((t) => t.shape[0])).toEqual([3, 3, 3, 1]);
    expect(v.chunk(6).map((t) => t.shape[0])).toEqual([2, 2, 2, 2, 2]);
    expect(Array.from(await kn.cat(v.split(4)).data())).toEqual(Array.from(await v.data()));
  });
});

describe('loadStateDict is synchronous and ordered in the graph', () => {
  const lin = () => { const m = new kn.nn.Linear(2, 1); m.loadStateDict({ weight: kn.tensor([[1, 1]]), bias: kn.tensor([0]) }); return m; };
  const x = () => kn.tensor([[1, 2]]);
  it('a forward recorded before the load sees the old weights, one after it the new', async () => {
    const m = lin();
    const before = m.forward(x());
    const r = m.loadStateDict({ weight: kn.tensor([[10, 100]]), bias: kn.tensor([1]) });
    expect(r).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const after = m.forward(x());
    expect(await after.item()).toBe(211);
    expect(await before.item()).toBe(3);
  });
  it('parameters an optimizer holds take the values (through its arena) and the optimizer keeps updating them', async () => {
    const m = lin();
    const opt = new kn.optim.SGD(m.parameters(), { lr: 0.5 });
    m.forward(x()).sum().backward(); opt.step(); opt.zeroGrad();
    m.loadStateDict({ weight: kn.tensor([[2, 3]]), bias: kn.tensor([4]) });
    expect(Array.from(await m.weight.data())).toEqual([2, 3]);
    expect(await m.forward(x()).item()).toBe(12);
    // d(out)/dw = x = [1, 2], d/db = 1: one step of lr 0.5 from the loaded values
    m.forward(x()).sum().backward(); opt.step();
    expect(Array.from(await m.weight.data())).toEqual([1.5, 2]);
    expect(Array.from(await m.bias!.data())).toEqual([3.5]);
  });
  it('a compiled forward sees the loaded weights without a retrace', async () => {
    const m = lin();
    const f = kn.compile((t: kn.Tensor) => m.forward(t));
    expect(await (await f(x())).item()).toBe(3);
    m.loadStateDict({ weight: kn.tensor([[0, 1]]), bias: kn.tensor([5]) });
    expect(await (await f(x())).item()).toBe(7);
  });
  it('a source disposed right after the load is still read', async () => {
    const m = lin();
    const w = kn.tensor([[3, 3]]), b = kn.tensor([1]);
    m.loadStateDict({ weight: w, bias: b });
    w.dispose(); b.dispose();
    expect(await m.forward(x()).item()).toBe(10);
  });
  it('refusals change nothing and are thrown, not rejected', async () => {
    const m = lin();
    expect(() => m.loadStateDict({ weight: kn.zeros(1, 3), bias: kn.zeros(1) })).toThrow(/loadStateDict: size mismatch for weight/);
    expect(() => m.loadStateDict({ weight: [[1, 2]] as any, bias: kn.zeros(1) })).toThrow(/loadStateDict: entry 'weight' must be a tensor, got \[\[1, 2\]\]/);
    expect(() => m.loadStateDict({ weight: kn.zeros(1, 2), bias: kn.zeros(1) }, true as any)).toThrow(/loadStateDict: optional arguments go in an options object/);
    expect(await m.forward(x()).item()).toBe(3);
  });
});
