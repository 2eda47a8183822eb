// Bad input: every public entry rejects it with a message that names what was wrong and
// what was expected. Each assertion matches the informative part of the message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

const ints = () => kn.tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' });
const param = (n = 2) => new kn.nn.Parameter(kn.zeros([n]));

describe('shapes', () => {
  it('matmul with mismatched inner dims names both shapes and the dims that must agree', () => {
    expect(() => kn.zeros([2, 3]).matmul(kn.zeros([4, 5]))).toThrow(/matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied.*last dim of the first \(3\) must equal the second-to-last dim of the second \(4\)/);
    expect(() => kn.F.matmul(kn.zeros([3]), kn.zeros([4]))).toThrow(/matmul: shapes \[3\] and \[4\]/);
    expect(() => kn.zeros([2, 2, 3]).matmul(kn.zeros([3, 3, 4]))).toThrow(/matmul: batch dimensions \[2\] and \[3\].*do not broadcast/);
  });

  it('add with shapes that do not broadcast names both shapes and the rule', () => {
    expect(() => kn.zeros([2, 3]).add(kn.zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] do not broadcast: each dimension must match or be 1/);
    expect(() => kn.zeros([2, 3]).mul(kn.zeros([3, 2]))).toThrow(/mul: shapes \[2, 3\] and \[3, 2\] do not broadcast/);
    // broadcasting that is valid still works
    expect(kn.zeros([2, 3]).add(kn.zeros([3])).shape).toEqual([2, 3]);
    expect(kn.zeros([2, 1]).add(kn.zeros([1, 3])).shape).toEqual([2, 3]);
  });

  it('reshape to an incompatible shape names the shape, its size and the target', () => {
    expect(() => kn.zeros([2, 3]).reshape(4, 2)).toThrow(/reshape: cannot reshape a tensor of shape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    expect(() => kn.zeros([2, 3]).reshape(4, -1)).toThrow(/cannot reshape a tensor of shape \[2, 3\] \(6 elements\) to \[4, -1\]/);
    expect(() => kn.zeros([2, 3]).reshape(-1, -1)).toThrow(/reshape: invalid shape \[-1, -1\]/);
    expect(kn.zeros([2, 3]).reshape(3, -1).shape).toEqual([3, 2]);
  });

  it('a dim out of range names the dim, the rank and the valid range', () => {
    expect(() => kn.zeros([2, 3]).sum(2)).toThrow(/sum: dim 2 is out of range for a tensor with 2 dims \(expected -2\.\.1\)/);
    expect(() => kn.zeros([2, 3]).softmax(-3)).toThrow(/softmax: dim -3 is out of range/);
  });

  it('kn.tensor with data that does not fill the shape', () => {
    expect(() => kn.tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\] \(4 elements\)/);
    expect(() => kn.tensor([[1, 2], [3]])).toThrow(/ragged nested array: expected length 2 at depth 1, got 1/);
  });

  it('a Linear layer fed the wrong number of features names the layer, both shapes and the count', () => {
    const lin = new kn.nn.Linear(4, 3);
    expect(() => lin.call(kn.zeros([2, 5]))).toThrow(/linear: input has 5 features.*expects 4.*\(in Linear\)/);
    const model = new kn.nn.Sequential(new kn.nn.Linear(4, 8), new kn.nn.ReLU(), new kn.nn.Linear(7, 2));
    // the second Linear of a Sequential gets 8 features but wants 7
    expect(() => model.call(kn.zeros([2, 4]))).toThrow(/input has 8 features.*expects 7.*\(in Sequential > Linear\)/);
  });

  it('losses: mismatched input and target shapes', () => {
    expect(() => kn.F.mseLoss(kn.zeros([3]), kn.zeros([4]))).toThrow(/mseLoss: input shape \[3\] and target shape \[4\] must match/);
    expect(() => kn.F.l1Loss(kn.zeros([2, 3]), kn.zeros([3, 2]))).toThrow(/l1Loss: input shape \[2, 3\] and target shape \[3, 2\] must match/);
    expect(() => kn.F.binaryCrossEntropyWithLogits(kn.zeros([4]), kn.zeros([4, 1]))).toThrow(/binaryCrossEntropyWithLogits: input shape \[4\] and target shape \[4, 1\] must match/);
  });
});

describe('dtypes', () => {
  it('float-only ops on int32: elementwise math promotes to float32 as PyTorch does', async () => {
    const e = ints().exp();
    expect(e.dtype).toBe('float32');
    expect(Array.from(await e.data())[0]).toBeCloseTo(Math.E, 5);
    expect(ints().add(1).dtype).toBe('int32');       // integer arithmetic stays integer
    // torch.div on integer tensors is true division and returns float
    // ([1, 2, 3, -3] / 2 = [0.5, 1, 1.5, -1.5]); Kiln once kept int32 and truncated.
    const q = kn.tensor([1, 2, 3, -3], [4], { dtype: 'int32' }).div(2);
    expect(q.dtype).toBe('float32');
    expect(Array.from(await q.data())).toEqual([0.5, 1, 1.5, -1.5]);
  });

  it('softmax / logSoftmax / mean on int32 are rejected, naming the dtype and the expectation', () => {
    expect(() => ints().softmax(-1)).toThrow(/softmax: expected a floating-point tensor \(float32\), got dtype int32 with shape \[2, 2\]/);
    expect(() => kn.F.logSoftmax(ints(), 1)).toThrow(/logSoftmax: expected a floating-point tensor.*got dtype int32/);
    expect(() => ints().mean()).toThrow(/mean: expected a floating-point tensor.*got dtype int32/);
  });

  it('matmul on int32 is rejected, naming the dtype', () => {
    expect(() => ints().matmul(ints())).toThrow(/matmul: expected a floating-point tensor \(float32\), got dtype int32 with shape \[2, 2\]/);
    expect(() => kn.zeros([2, 2]).matmul(ints())).toThrow(/matmul: expected a floating-point tensor.*got dtype int32/);
  });

  it('only floating-point tensors can require gradients', () => {
    expect(() => kn.tensor([1, 2], [2], { dtype: 'int32', requiresGrad: true })).toThrow(/only floating-point tensors can require gradients, got dtype int32/);
  });

  it('unknown and unsupported dtypes', () => {
    expect(() => kn.tensor([1], [1], { dtype: 'float64' as any })).toThrow(/unknown dtype 'float64'; expected one of float32/);
    expect(() => kn.zeros([2]).cast('complex64' as any)).toThrow(/cast: unknown dtype 'complex64'/);
  });

  it('crossEntropy: a class-index target of the wrong shape names both shapes', () => {
    expect(() => kn.F.crossEntropy(kn.zeros([4, 3]), kn.zeros([3], { dtype: 'int32' }))).toThrow(/crossEntropy: class-index target must have shape \[4\] for logits of shape \[4, 3\], got \[3\]/);
    expect(() => kn.F.crossEntropy(kn.zeros([4, 3]), kn.zeros([4, 1], { dtype: 'int32' }))).toThrow(/must have shape \[4\].*got \[4, 1\]/);
  });

  it('crossEntropy: a probability target of the wrong shape, and a target of the wrong dtype', () => {
    expect(() => kn.F.crossEntropy(kn.zeros([4, 3]), kn.zeros([4]))).toThrow(/crossEntropy: probability target must have the logits' shape \[4, 3\], got \[4\]/);
    const boolTarget = kn.tensor([1, 0, 1, 0], [4], { dtype: 'bool' });
    expect(() => kn.F.crossEntropy(kn.zeros([4, 3]), boolTarget)).toThrow(/crossEntropy: target must be int32 class indices or float32 probabilities, got dtype bool/);
    expect(() => kn.F.crossEntropy(ints(), kn.zeros([2], { dtype: 'int32' }))).toThrow(/crossEntropy: expected float32 logits, got dtype int32/);
    expect(() => kn.F.nllLoss(kn.zeros([4, 3]), kn.zeros([4]))).toThrow(/nllLoss: expected int32 class indices, got dtype float32/);
  });

  it('loss options: an unknown option or reduction is named with the allowed values', () => {
    const x = kn.zeros([4, 3]), y = kn.zeros([4], { dtype: 'int32' });
    expect(() => kn.F.crossEntropy(x, y, { reduction: 'avg' as any })).toThrow(/crossEntropy: reduction must be 'mean', 'sum' or 'none', got 'avg'/);
    expect(() => kn.F.crossEntropy(x, y, { label_smoothing: 0.1 } as any)).toThrow(/crossEntropy: unknown option 'label_smoothing'; expected one of reduction, labelSmoothing/);
    expect(() => kn.F.crossEntropy(x, y, { labelSmoothing: 1.5 })).toThrow(/labelSmoothing must be in \[0, 1\], got 1.5/);
  });
});

describe('disposed tensors', () => {
  it('using a disposed tensor again names it as disposed, with its shape', async () => {
    const t = kn.tensor([1, 2, 3]);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(() => t.add(1)).toThrow(/Tensor with shape \[3\] was disposed; it cannot be used any more/);
    expect(() => kn.zeros([3]).mul(t)).toThrow(/was disposed/);
    await expect(t.data()).rejects.toThrow(/was disposed/);
    expect(() => t.dispose()).not.toThrow(); // disposing twice is harmless
  });
});

describe('optimizers', () => {
  for (const name of ['SGD', 'Adam', 'AdamW'] as const) {
    it(`${name}: NaN and negative learning rates are rejected, naming the value and the range`, () => {
      const Opt = kn.optim[name] as any;
      expect(() => new Opt([param()], { lr: NaN })).toThrow(new RegExp(`${name}: invalid lr NaN: expected a number >= 0`));
      expect(() => new Opt([param()], { lr: -0.1 })).toThrow(new RegExp(`${name}: invalid lr -0.1: expected a number >= 0`));
      expect(() => new Opt([param()], { lr: '0.1' })).toThrow(new RegExp(`${name}: invalid lr 0.1: expected a number`));
    });

    it(`${name}: setting a bad lr on a parameter group later is rejected too`, () => {
      const Opt = kn.optim[name] as any;
      const opt = new Opt([param()], { lr: 0.1 });
      expect(() => { opt.paramGroups[0].lr = NaN; }).toThrow(new RegExp(`${name}: invalid lr NaN`));
      expect(() => { opt.paramGroups[0].lr = -1; }).toThrow(new RegExp(`${name}: invalid lr -1`));
      expect(opt.paramGroups[0].lr).toBe(0.1);
    });

    it(`${name}: an unknown option is named with the allowed ones`, () => {
      const Opt = kn.optim[name] as any;
      expect(() => new Opt([param()], { lr: 0.1, weight_decay: 0.1 })).toThrow(new RegExp(`${name}: unknown option 'weight_decay'; expected one of .*weightDecay`));
    });

    it(`${name}: a parameter given twice is rejected`, () => {
      const Opt = kn.optim[name] as any;
      const p = param(3);
      expect(() => new Opt([p, param(), p], { lr: 0.1 })).toThrow(new RegExp(`${name}: a parameter \\(shape \\[3\\]\\) appears more than once`));
      expect(() => new Opt([{ params: [p] }, { params: [p] }], { lr: 0.1 })).toThrow(/appears more than once/);
    });
  }

  it('other bad hyper-parameters name the option and the range', () => {
    expect(() => new kn.optim.SGD([param()], { lr: 0.1, momentum: -0.5 })).toThrow(/SGD: invalid momentum -0.5: expected a number >= 0/);
    expect(() => new kn.optim.SGD([param()], { lr: 0.1, nesterov: true })).toThrow(/SGD: nesterov momentum requires momentum > 0 and dampening = 0/);
    expect(() => new kn.optim.Adam([param()], { betas: [1, 0.999] })).toThrow(/Adam: .*betas? .*1/);
    expect(() => new kn.optim.Adam([param()], { eps: NaN })).toThrow(/Adam: invalid eps NaN/);
    expect(() => new kn.optim.AdamW([param()], { weightDecay: -1 })).toThrow(/AdamW: invalid weightDecay -1/);
    expect(() => new kn.optim.SGD([], { lr: 0.1 })).toThrow(/SGD: got an empty parameter list/);
    expect(() => new kn.optim.SGD([kn.zeros([2], { dtype: 'int32' })], { lr: 0.1 })).toThrow(/SGD: parameters must be float32, got int32/);
  });
});

describe('module options', () => {
  it('Linear and Dropout reject bad constructor arguments', () => {
    expect(() => new kn.nn.Linear(0, 3)).toThrow(/Linear: inFeatures must be a positive integer, got 0/);
    expect(() => new kn.nn.Linear(3, 2.5)).toThrow(/Linear: outFeatures must be a positive integer, got 2.5/);
    expect(() => new kn.nn.Dropout(1.5)).toThrow(/Dropout: p must be in \[0, 1\], got 1.5/);
    expect(() => kn.F.dropout(kn.zeros([2]), { p: NaN })).toThrow(/dropout: p must be in \[0, 1\], got NaN/);
  });
});

// Runs last: it shuts the device down and brings it back.
describe('use before kn.init()', () => {
  it('kn.tensor after kn.shutdown() says to call kn.init(); init again works', async () => {
    const kept = kn.tensor([1, 2]);
    kn.shutdown();
    expect(() => kn.tensor([1])).toThrow(/Kiln is not initialised: call `await kn\.init\(\)`/);
    expect(() => kn.zeros([2])).toThrow(/not initialised.*kn\.init\(\)/);
    expect(() => kn.info()).toThrow(/not initialised/);
    await expect(kept.add(1).data()).rejects.toThrow(/not initialised|device was lost/);
    await kn.init();
    expect(Array.from(await kn.tensor([1, 2]).add(1).data())).toEqual([2, 3]);
  });
});
