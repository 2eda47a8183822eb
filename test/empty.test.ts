// Tensors with a dimension of 0 work where PyTorch allows them: results as PyTorch gives them
// (reductions give their identity, or NaN for a mean), gradients of zeros, no WebGPU error
// and nothing dispatched for zero work.
import { describe, it, expect, beforeAll, afterAll, afterEach, vi } from 'vitest';
import * as kn from '../src/index.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

// a WebGPU validation error is logged, not thrown: any console output fails the test
const logged = [vi.spyOn(console, 'error'), vi.spyOn(console, 'warn')];
afterEach(async () => {
  expect(Array.from(await kn.tensor([1, 4], [2]).sqrt().data()), 'a valid op after the test').toEqual([1, 2]);
  for (const s of logged) { expect(s.mock.calls).toEqual([]); s.mockClear(); }
});

const values = async (t: kn.Tensor) => Array.from(await t.data());

describe('empty tensors', () => {
  it('matmul: an inner dim of 0 gives zeros; an outer dim of 0 gives an empty result; batched too', async () => {
    const z = kn.zeros([2, 0]).matmul(kn.zeros([0, 3]));
    expect(z.shape).toEqual([2, 3]);
    expect(await values(z)).toEqual([0, 0, 0, 0, 0, 0]);
    expect((kn.zeros([0, 4]).matmul(kn.ones([4, 3]))).shape).toEqual([0, 3]);
    expect(await values(kn.zeros([0, 4]).matmul(kn.ones([4, 3])))).toEqual([]);
    const b = kn.ones([5, 2, 0]).matmul(kn.ones([5, 0, 2]));
    expect(b.shape).toEqual([5, 2, 2]);
    expect(await values(b)).toEqual(new Array(20).fill(0));
    expect(await values(kn.ones([0]).matmul(kn.ones([0])))).toEqual([0]);
  });

  it('Linear, Conv2d and LayerNorm on a batch of 0, forward and backward: empty outputs, zero weight gradients', async () => {
    const lin = new kn.nn.Linear(4, 3);
    const y = lin.forward(kn.zeros([0, 4]));
    expect(y.shape).toEqual([0, 3]);
    y.sum().backward();
    expect(await values(lin.weight.grad!)).toEqual(new Array(12).fill(0));
    expect(await values(lin.bias!.grad!)).toEqual([0, 0, 0]);
    expect(new kn.nn.Conv2d(1, 2, 3).forward(kn.zeros([0, 1, 5, 5])).shape).toEqual([0, 2, 3, 3]);
    expect(new kn.nn.LayerNorm(4).forward(kn.zeros([0, 4])).shape).toEqual([0, 4]);
  });

  it('a compiled step on a batch of 0 dispatches nothing for the empty output and matches eager', async () => {
    const lin = new kn.nn.Linear(4, 2);
    const f = kn.compile((x: kn.Tensor) => lin.forward(x).relu());
    const out = await f(kn.zeros([0, 4]));
    expect(out.shape).toEqual([0, 2]);
    expect(await values(out)).toEqual([]);
    expect(f.stats().dispatches).toBe(0);
    const s = kn.compile((x: kn.Tensor) => lin.forward(x).sum());
    expect(await values(await s(kn.zeros([0, 4])))).toEqual([0]);
    expect(s.stats().dispatches).toBe(1);
  });

  it('softmax and logSoftmax over an empty dim or with an empty batch', async () => {
    for (const shape of [[3, 0], [0, 3]]) {
      expect(kn.zeros(shape).softmax(1).shape).toEqual(shape);
      expect(await values(kn.zeros(shape).logSoftmax(1))).toEqual([]);
    }
  });

  it('reductions over an empty dim: sum 0, prod 1, mean and var NaN, logsumexp -inf; max and min refuse (no identity)', async () => {
    expect(await values(kn.zeros([3, 0]).sum(1))).toEqual([0, 0, 0]);
    expect(await values(kn.zeros([0]).sum())).toEqual([0]);
    expect(await values(kn.zeros([3, 0]).sum(1, true))).toEqual([0, 0, 0]);
    expect(kn.zeros([3, 0]).sum(1, true).shape).toEqual([3, 1]);
    expect(await values(kn.zeros([3, 0]).prod(1))).toEqual([1, 1, 1]);
    expect(await values(kn.zeros([0]).mean())).toEqual([NaN]);
    expect(await values(kn.zeros([2, 0]).var(1))).toEqual([NaN, NaN]);
    expect(await values(kn.zeros([2, 0]).logsumexp(1))).toEqual([-Infinity, -Infinity]);
    expect(await values(kn.zeros([0, 2]).sum(0))).toEqual([0, 0]);
    expect(await values(kn.zeros([0, 2], { dtype: 'int32' }).sum(0))).toEqual([0, 0]);
    expect(() => kn.zeros([3, 0]).amax(1)).toThrow(/max: cannot reduce over an empty dimension 1 of shape \[3, 0\]: it has no identity/);
    expect(() => kn.zeros([3, 0]).argmin(1)).toThrow(/argmin: cannot reduce over an empty dimension 1/);
    expect(kn.zeros([0, 3]).amax(1).shape).toEqual([0]);
  });

  it('cat with empty parts, and of empty parts only', async () => {
    expect(await values(kn.cat([kn.ones([2, 3]), kn.zeros([0, 3])], 0))).toEqual(new Array(6).fill(1));
    const e = kn.cat([kn.zeros([0, 3]), kn.zeros([0, 3])], 0);
    expect(e.shape).toEqual([0, 3]);
    expect(kn.cat([kn.zeros([2, 0]), kn.zeros([2, 0])], 1).shape).toEqual([2, 0]);
    expect(await values(kn.cat([kn.ones([1, 2]), kn.zeros([1, 0]), kn.full([1, 1], 5)], 1))).toEqual([1, 1, 5]);
  });

  it('crossEntropy on a batch of 0: NaN for the mean (0/0, as PyTorch), 0 for the sum', async () => {
    const target = kn.tensor([], [0], { dtype: 'int32' });
    expect(await values(kn.F.crossEntropy(kn.zeros([0, 3]), target))).toEqual([NaN]);
    expect(await values(kn.F.crossEntropy(kn.zeros([0, 3]), target, { reduction: 'sum' }))).toEqual([0]);
  });
});
