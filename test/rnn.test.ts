// Recurrent layers against PyTorch (test/golden/rnn.json, from gen_rnn.py): nn.RNN (tanh,
// relu), nn.LSTM (initial states, projSize) and nn.GRU, 1-3 layers, bidirectional,
// batchFirst, unbatched input, no bias, sequence lengths 1..7, hidden sizes 3, 5, 6, 7, 9.
// Outputs, final states, and the gradients of every parameter, of the input and of the
// initial states for loss = (out*r).sum() + (hN*r2).sum() [+ (cN*r3).sum()]. Also: a compiled
// SGD training run of an LSTM classifier, state-dict keys and shapes, parameter
// initialisation, kernel counts, dropout between layers, and the errors of bad input.
//
// Tolerances. Everything is float32. One step is a matmul over K <= inputSize + hiddenSize
// (<= 10 here) terms plus gate math (sigmoid/tanh, within a few ulps in WGSL), so each step
// adds a relative error of a few ulps to values of size <= 1. The gates are contracting
// (|tanh'|, |sigmoid'| <= 1, weights U(-1/sqrt(H), 1/sqrt(H))), so errors accumulate at most
// about linearly over the T <= 7 steps and L <= 2 layers; backpropagation through time sums
// T*B such terms per parameter gradient, in another order than PyTorch's. PyTorch's own
// float32 results differ from float64 by at most 1.2e-7 (outputs) and 6e-7 (gradients) in
// these cases (outErrF64 / gradErrF64 in the JSON): a few ulps of the largest values.
// An element passes when |actual - expected| <= RTOL*|expected| + ATOL*max|expected| with
// RTOL = ATOL = 4e-6 (~30 ulps of the tensor's scale: T*L*few ulps, with T = 7, L = 2). Measured
// worst: ~0.1 of that. The worst ratio err / allowed per family is printed at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { expectClose as compare } from './compare.js';
import { RNN, LSTM, GRU } from '../src/layers/rnn.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
const G = loadGolden('rnn.json');

const RTOL = 4e-6, ATOL = 4e-6;
const worst: Record<string, number> = {};

const f32 = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data), t.shape, opts);
const tensors = (s: Record<string, T>) => Object.fromEntries(Object.entries(s).map(([k, t]) => [k, f32(t)]));

async function expectClose(what: string, actual: kn.Tensor | null | undefined, expected: T, family: string, rtol = RTOL, atol = ATOL): Promise<void> {
  expect(actual, `${what}: missing`).toBeTruthy();
  expect(actual!.shape, `${what}: shape`).toEqual(expected.shape);
  const a = await actual!.data();
  const scale = expected.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const wr = compare(a, expected.data, { atol: atol * scale, rtol }, `${what} (against PyTorch)`);
  worst[family] = Math.max(worst[family] ?? 0, wr);
}

type AnyRNN = RNN | LSTM | GRU;
function build(c: any): AnyRNN {
  const cls = c.module === 'RNN' ? RNN : c.module === 'LSTM' ? LSTM : GRU;
  return new (cls as any)(c.inputSize, c.hiddenSize, c.options);
}

/** Runs the module on the case's inputs; returns the outputs and the leaves. */
function forwardCase(m: AnyRNN, c: any) {
  const x = f32(c.x, { requiresGrad: true });
  const h0 = c.h0 ? f32(c.h0, { requiresGrad: true }) : null;
  const c0 = c.c0 ? f32(c.c0, { requiresGrad: true }) : null;
  let out: kn.Tensor, hN: kn.Tensor, cN: kn.Tensor | null = null;
  if (m instanceof LSTM) [out, [hN, cN]] = m.forward(x, h0 ? [h0, c0!] : undefined);
  else [out, hN] = (m as RNN).forward(x, h0);
  let loss = out.mul(f32(c.r)).sum().add(hN.mul(f32(c.r2)).sum());
  if (cN) loss = loss.add(cN.mul(f32(c.r3)).sum());
  return { x, h0, c0, out, hN, cN, loss };
}

// matmuls pinned to one tiling: no background tuning compiles (SwiftShader compiles every
// pipeline slowly, and each time step's kernels differ in their offsets)
beforeAll(async () => { await kn.init(); kn.debug.setMatmulTiling(kn.debug.QUICK_TILING); });
afterAll(() => {
  console.log(`rnn.test worst err/allowed (rtol ${RTOL}, atol ${ATOL}*S): ${JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, +v.toPrecision(3)])))}`);
  kn.debug.setMatmulTiling(undefined);
  kn.shutdown();
});

describe('golden: RNN, LSTM, GRU against PyTorch', () => {
  it('covers the configurations the issue asks for', () => {
    const cs = G.cases as any[];
    expect(new Set(cs.map((c) => c.module))).toEqual(new Set(['RNN', 'LSTM', 'GRU']));
    expect(cs.some((c) => c.module === 'RNN' && c.options.nonlinearity === 'relu')).toBe(true);
    expect(cs.some((c) => c.options.numLayers === 2 && c.options.bidirectional && c.options.batchFirst)).toBe(true);
    expect(cs.some((c) => c.module === 'LSTM' && c.c0)).toBe(true);
    expect(cs.some((c) => c.module === 'GRU' && c.options.numLayers === 2)).toBe(true);
    expect(cs.some((c) => c.module === 'LSTM' && c.options.projSize)).toBe(true);
    expect(new Set(cs.map((c) => c.x.shape[c.options.batchFirst ? 1 : 0]))).toContain(1);
    expect(new Set(cs.map((c) => c.x.shape[c.options.batchFirst ? 1 : 0]))).toContain(7);
    expect(cs.some((c) => c.x.shape.length === 2)).toBe(true);
    expect(cs.every((c) => c.outErrF64 < 2e-7 && c.gradErrF64 < 1e-6)).toBe(true);
  });

  for (const c of G.cases as any[]) {
    it(`${c.name}: output, final states, gradients of parameters, input and initial states`, async () => {
      const m = build(c);
      // state-dict keys in PyTorch's order, shapes equal
      const sd = m.stateDict();
      expect(Object.keys(sd)).toEqual(Object.keys(c.params));
      for (const [k, t] of Object.entries(c.params as Record<string, T>)) expect(sd[k].shape, k).toEqual(t.shape);
      m.loadStateDict(tensors(c.params));
      const { x, h0, c0, out, hN, cN, loss } = forwardCase(m, c);
      loss.backward();
      const fam = c.module;
      await expectClose(`${c.name} out`, out, c.out, fam);
      await expectClose(`${c.name} hN`, hN, c.hN, fam);
      if (c.cN) await expectClose(`${c.name} cN`, cN, c.cN, fam);
      await expectClose(`${c.name} gradX`, x.grad, c.gradX, `${fam} grad`);
      if (c.gradH0) await expectClose(`${c.name} gradH0`, h0!.grad, c.gradH0, `${fam} grad`);
      if (c.gradC0) await expectClose(`${c.name} gradC0`, c0!.grad, c.gradC0, `${fam} grad`);
      const named = Object.fromEntries(m.namedParameters());
      for (const [k, g] of Object.entries(c.grads as Record<string, T>)) await expectClose(`${c.name} grad ${k}`, named[k].grad, g, `${fam} grad`);
    });
  }
});

describe('initialisation and state dict', () => {
  it('parameters are U(-1/sqrt(hidden), 1/sqrt(hidden)) with PyTorch names and shapes', async () => {
    const m = new LSTM(10, 12, { numLayers: 2, bidirectional: true, projSize: 4 });
    const keys = Object.keys(m.stateDict());
    expect(keys.slice(0, 5)).toEqual(['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_hr_l0']);
    expect(keys.slice(5, 10)).toEqual(['weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse', 'weight_hr_l0_reverse']);
    expect(keys.length).toBe(20);
    const sd = m.stateDict();
    expect(sd.weight_ih_l0.shape).toEqual([48, 10]);
    expect(sd.weight_hh_l0.shape).toEqual([48, 4]);
    expect(sd.weight_hr_l0.shape).toEqual([4, 12]);
    expect(sd.weight_ih_l1.shape).toEqual([48, 8]);
    expect(m.parameters().length).toBe(20);
    const k = 1 / Math.sqrt(12);
    const all = (await Promise.all(m.parameters().map((p) => p.data()))).flatMap((a) => Array.from(a));
    expect(Math.max(...all)).toBeLessThanOrEqual(k);
    expect(Math.min(...all)).toBeGreaterThanOrEqual(-k);
    expect(Math.max(...all)).toBeGreaterThan(0.9 * k);
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Object.keys(new GRU(3, 5, { bias: false }).stateDict())).toEqual(['weight_ih_l0', 'weight_hh_l0']);
    expect(Object.keys(new RNN(3, 5, { numLayers: 2 }).stateDict())).toEqual(
      ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1']);
  });
});

describe('kernels', () => {
  it('one matmul for the input projection, then 2 kernels per time step (RNN: 1), counted by kn.compile', async () => {
    const perStep: Record<string, number> = {};
    for (const [name, make] of [['RNN', () => new RNN(4, 5)], ['LSTM', () => new LSTM(4, 5)], ['GRU', () => new GRU(4, 5)]] as [string, () => AnyRNN][]) {
      const m = make();
      const counts: number[] = [];
      for (const Tn of [2, 3]) {
        const fwd = kn.compile((x: kn.Tensor, h: kn.Tensor) => (m instanceof LSTM ? m.forward(x, [h, h]) : (m as RNN).forward(x, h))[0]);
        await fwd(kn.randn([Tn, 3, 4]), kn.randn([1, 3, 5]));
        counts.push(fwd.stats().kernels);
      }
      perStep[name] = counts[1] - counts[0];
    }
    // a long sequence: the outputs are stacked from many steps (a wide concat)
    const g = new GRU(4, 5);
    const [out, hN] = g.forward(kn.randn([12, 3, 4]));
    expect(Array.from(await out.narrow(0, 11, 1).reshape(3, 5).data())).toEqual(Array.from(await hN.reshape(3, 5).data()));
    console.log(`rnn.test forward kernels per time step: ${JSON.stringify(perStep)}`);
    expect(perStep).toEqual({ RNN: 1, LSTM: 2, GRU: 2 });
  });
});

describe('training: an LSTM classifier, compiled SGD steps against PyTorch (lstmStep)', () => {
  class Classifier extends kn.nn.Module {
    lstm = new LSTM(4, 6, { batchFirst: true });
    fc = new kn.nn.Linear(6, 3);
    forward(x: kn.Tensor): kn.Tensor {
      const [out] = this.lstm.call(x);
      const [B, Tn] = out.shape;
      return this.fc.call(out.narrow(1, Tn - 1, 1).reshape(B, -1));
    }
  }
  it('losses and parameters after every step match, traced once', async () => {
    const S = G.lstmStep;
    const model = new Classifier();
    expect(Object.keys(model.stateDict())).toEqual(Object.keys(S.init));
    model.loadStateDict(tensors(S.init));
    const opt = new kn.optim.SGD(model.parameters(), S.options);
    const step = kn.compile((x: kn.Tensor, y: kn.Tensor) => {
      opt.zeroGrad();
      const loss = kn.F.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss;
    });
    const x = f32(S.x), y = kn.tensor(Int32Array.from(S.y), [S.y.length], { dtype: 'int32' });
    for (let i = 0; i < S.steps.length; i++) {
      const loss = await step(x, y);
      await expectClose(`step ${i} loss`, loss, { shape: [], data: [S.steps[i].loss] }, 'train');
      const sd = model.stateDict();
      for (const [k, e] of Object.entries(S.steps[i].params as Record<string, T>)) await expectClose(`step ${i} ${k}`, sd[k], e, 'train');
    }
    expect(step.stats().traces).toBe(1);
  });
});

describe('dropout between layers', () => {
  it('runs in training mode (seeded), differs from eval, and is off in eval and for the last layer', async () => {
    kn.manualSeed(3);
    const m = new GRU(4, 5, { numLayers: 2, dropout: 0.5 });
    const x = kn.randn([3, 2, 4]);
    const a = await m.forward(x)[0].data();
    const b = await m.forward(x)[0].data();
    m.eval();
    const e1 = await m.forward(x)[0].data(), e2 = await m.forward(x)[0].data();
    expect(Array.from(e1)).toEqual(Array.from(e2));
    expect(Array.from(a)).not.toEqual(Array.from(e1));
    expect(Array.from(a)).not.toEqual(Array.from(b)); // a fresh mask per call
    expect([...a, ...b].every(Number.isFinite)).toBe(true);
    // one layer: no dropout at all (it acts between layers only)
    const one = new LSTM(4, 5, { dropout: 0.5 });
    const t1 = await one.forward(x)[0].data();
    one.eval();
    expect(Array.from(await one.forward(x)[0].data())).toEqual(Array.from(t1));
  });
});

/** The error thrown by fn (constructing a module counts), or a failure if none. */
function errorOf(fn: () => unknown): string {
  try { fn(); } catch (e) { return (e as Error).message; }
  return expect.fail('expected an error, none was thrown');
}

describe('bad input', () => {
  const z = (...s: number[]) => kn.zeros(s);
  it('wrong input rank, dtype and feature count', () => {
    expect(errorOf(() => new LSTM(4, 5).forward(z(4)))).toMatch(/^LSTM: expected input of shape \[seq, batch, inputSize\] \(or unbatched \[seq, inputSize\]\), got \[4\]/);
    expect(errorOf(() => new GRU(4, 5, { batchFirst: true }).forward(z(1, 2, 3, 4)))).toMatch(/^GRU: expected input of shape \[batch, seq, inputSize\].*got \[1, 2, 3, 4\]/);
    expect(errorOf(() => new RNN(4, 5).call(z(7, 2, 3)))).toMatch(/^RNN: input \[7, 2, 3\] has 3 features in its last dim, expected inputSize 4 \(in RNN\)/);
    expect(errorOf(() => new RNN(4, 5).forward(kn.zeros([7, 2, 4], { dtype: 'int32' })))).toMatch(/^RNN: expected a float32 input, got int32/);
    expect(errorOf(() => new GRU(4, 5).forward(z(0, 2, 4)))).toMatch(/^GRU: expected a non-empty sequence/);
  });
  it('initial states of the wrong shape, batch and sequence dims mixed up', () => {
    expect(errorOf(() => new GRU(4, 5, { numLayers: 2 }).forward(z(7, 2, 4), z(1, 2, 5))))
      .toMatch(/^GRU: expected h0 of shape \[2, 2, 5\] \[numLayers \* numDirections, batch, size\], got \[1, 2, 5\]$/);
    expect(errorOf(() => new RNN(4, 5, { bidirectional: true }).forward(z(7, 2, 4), z(1, 2, 5)))).toMatch(/^RNN: expected h0 of shape \[2, 2, 5\]/);
    // batchFirst set but the input given as [seq, batch, feature]: its batch is read as 7
    expect(errorOf(() => new GRU(4, 5, { batchFirst: true }).forward(z(7, 3, 4), z(1, 3, 5))))
      .toMatch(/^GRU: expected h0 of shape \[1, 7, 5\].*got \[1, 3, 5\]; the input's batch is 7 \(batchFirst is true, so the input is read as \[batch, seq, feature\]\)/);
    expect(errorOf(() => new LSTM(4, 5).forward(z(3, 7, 4), [z(1, 3, 5), z(1, 3, 5)])))
      .toMatch(/^LSTM: expected h0 of shape \[1, 7, 5\].*the input's batch is 7 \(batchFirst is false, so the input is read as \[seq, batch, feature\]\)/);
    expect(errorOf(() => new LSTM(4, 5, { projSize: 3 }).forward(z(7, 2, 4), [z(1, 2, 3), z(1, 2, 3)]))).toMatch(/^LSTM: expected c0 of shape \[1, 2, 5\]/);
    expect(errorOf(() => new LSTM(4, 5, { projSize: 3 }).forward(z(7, 2, 4), [z(1, 2, 5), z(1, 2, 5)]))).toMatch(/^LSTM: expected h0 of shape \[1, 2, 3\]/);
    expect(errorOf(() => new GRU(4, 5).forward(z(7, 4), z(1, 1, 5)))).toMatch(/^GRU: for unbatched 2-D input, h0 must also be 2-D.*got shape \[1, 1, 5\]/);
    expect(errorOf(() => new GRU(4, 5).forward(z(7, 1, 4), z(1, 5)))).toMatch(/^GRU: for batched 3-D input, h0 must also be 3-D.*got shape \[1, 5\]/);
    expect(errorOf(() => new LSTM(4, 5).forward(z(7, 2, 4), z(1, 2, 5) as any))).toMatch(/^LSTM: expected hx to be \[h0, c0\]/);
    expect(errorOf(() => new GRU(4, 5).forward(z(7, 2, 4), [z(1, 2, 5), z(1, 2, 5)] as any))).toMatch(/^GRU: expected hx to be one tensor h0, got an array/);
  });
  it('bad constructor options', () => {
    expect(errorOf(() => new LSTM(4, 0))).toMatch(/^LSTM: hiddenSize must be a positive integer, got 0/);
    expect(errorOf(() => new GRU(2.5, 4))).toMatch(/^GRU: inputSize must be a positive integer, got 2.5/);
    expect(errorOf(() => new RNN(4, 4, { numLayers: 0 }))).toMatch(/^RNN: numLayers must be a positive integer, got 0/);
    expect(errorOf(() => new LSTM(4, 4, { dropout: 1.5 }))).toMatch(/^LSTM: dropout must be a number in \[0, 1\], got 1.5/);
    expect(errorOf(() => new LSTM(4, 4, { projSize: 4 }))).toMatch(/^LSTM: projSize \(4\) must be smaller than hiddenSize \(4\)/);
    expect(errorOf(() => new GRU(4, 4, { projSize: 2 } as any))).toMatch(/^GRU: projSize is only supported by LSTM/);
    expect(errorOf(() => new RNN(4, 4, { nonlinearity: 'sigmoid' as any }))).toMatch(/^RNN: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'/);
  });
});
