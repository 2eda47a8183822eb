// Modules as PyTorch's: traversal (modules, children, namedModules, buffers), registerBuffer,
// containers (ModuleList, ModuleDict, ParameterList) with PyTorch's state-dict keys, apply +
// nn.init (in place, seen by compiled programs), zeroGrad, the printout (repr), loss modules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import * as kn from '../src/index.js';
import { expectArrayClose } from './graph/helpers.js';

const { nn } = kn;
beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

const mlp = () => new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));

describe('traversal', () => {
  it('children, namedChildren, modules and namedModules in registration order, shared modules once', () => {
    const shared = new nn.Linear(2, 2);
    class Net extends nn.Module {
      body = mlp(); head = shared; again = shared;
      forward(x: kn.Tensor) { return this.head.call(this.body.call(x)); }
    }
    const net = new Net();
    expect([...net.namedChildren()].map(([k]) => k)).toEqual(['body', 'head', 'again']);
    expect(net.children()).toEqual([net.body, shared, shared]);
    expect([...net.namedModules()].map(([k]) => k)).toEqual(['', 'body', 'body.0', 'body.1', 'body.2', 'head']);
    expect(net.modules()[0]).toBe(net);
    expect(net.parameters().length).toBe(6); // shared parameters counted once
  });

  it('registerBuffer: persistent buffers are in the state dict, non-persistent ones only in buffers()', () => {
    class M extends nn.Module {
      declare stats: kn.Tensor; declare cache: kn.Tensor;
      plain = kn.zeros([2]);
      weight = new nn.Parameter(kn.ones([2]));
      constructor() { super(); this.registerBuffer('stats', kn.zeros([3])); this.registerBuffer('cache', kn.ones([1]), { persistent: false }); }
      forward(x: kn.Tensor) { return x; }
    }
    const m = new M();
    expect(Object.keys(m.stateDict())).toEqual(['weight', 'stats']);
    expect([...m.namedBuffers()].map(([k]) => k)).toEqual(['stats', 'cache']);
    expect(m.buffers()).toEqual([m.stats, m.cache]);
    expect(m.parameters()).toEqual([m.weight]);
    expect(() => m.registerBuffer('a.b', kn.zeros([1]))).toThrow(/M.registerBuffer: name must be an identifier \(no dots\), got "a.b"/);
    expect(() => m.registerBuffer('weight', kn.zeros([1]))).toThrow(/'weight' already holds a parameter/);
    expect(() => m.registerBuffer('x', 3 as any)).toThrow(/buffer 'x' must be a Tensor or null, got number/);
  });

  it('BatchNorm keeps its running statistics as buffers, named as PyTorch', () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2));
    expect([...model.namedBuffers()].map(([k]) => k)).toEqual(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
    expect(Object.keys(model.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
  });

  it('modules or parameters in a Map, a plain object or an array of parameters are an error naming the field', () => {
    class InMap extends nn.Module { heads = new Map([['a', new nn.Linear(2, 2)]]); forward(x: kn.Tensor) { return x; } }
    class InObject extends nn.Module { heads = { a: new nn.Linear(2, 2) }; forward(x: kn.Tensor) { return x; } }
    class InArray extends nn.Module { ws = [new nn.Parameter(kn.zeros([2]))]; forward(x: kn.Tensor) { return x; } }
    expect(() => new InMap().parameters()).toThrow(/InMap: field 'heads' keeps modules or parameters in a Map.*use nn.ModuleDict/);
    expect(() => new InObject().stateDict()).toThrow(/InObject: field 'heads' keeps modules or parameters in a plain object/);
    expect(() => new InArray().parameters()).toThrow(/InArray: field 'ws' keeps modules or parameters in an array.*nn.ParameterList/);
    // plain data in objects and Maps is fine
    class Data extends nn.Module { cfg = { lr: 1 }; names = new Map([['a', 1]]); forward(x: kn.Tensor) { return x; } }
    expect(new Data().parameters()).toEqual([]);
  });

  it('apply visits children before the module; zeroGrad drops every gradient', () => {
    const model = mlp();
    const seen: string[] = [];
    expect(model.apply((m) => seen.push(m.constructor.name))).toBe(model);
    expect(seen).toEqual(['Linear', 'ReLU', 'Linear', 'Sequential']);
    model.forward(kn.ones([1, 4])).sum().backward();
    expect(model.parameters().every((p) => p.grad !== null)).toBe(true);
    model.zeroGrad();
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    expect(() => model.apply(3 as any)).toThrow(/Sequential.apply: expected a function, got number/);
  });
});

describe('containers', () => {
  it('ModuleList: keys layers.0.weight, iteration, append/insert/at, train() reaches the items', () => {
    class Net extends nn.Module {
      layers = new nn.ModuleList([new nn.Linear(2, 3), new nn.Linear(3, 1)]);
      forward(x: kn.Tensor) { for (const l of this.layers) x = l.call(x); return x; }
    }
    const net = new Net();
    expect(Object.keys(net.stateDict())).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    net.layers.insert(1, new nn.ReLU()).append(new nn.Sigmoid());
    expect(net.layers.length).toBe(4);
    expect(net.layers.at(-1)).toBeInstanceOf(nn.Sigmoid);
    expect(net.forward(kn.ones([5, 2])).shape).toEqual([5, 1]);
    net.eval();
    expect([...net.layers].every((l) => !l.training)).toBe(true);
    expect(() => net.layers.at(4)).toThrow(/ModuleList.at: index 4 is out of range for 4 entries \(expected an integer in -4..3\)/);
    expect(() => net.layers.append(3 as any)).toThrow(/ModuleList.append: expected a Module, got number/);
    expect(() => net.layers.forward()).toThrow(/ModuleList: a container has no forward/);
  });

  it('ModuleDict: keys as given, in insertion order; set replaces in place; pop', () => {
    const d = new nn.ModuleDict({ encoder: new nn.Linear(2, 2), headA: new nn.Linear(2, 1) });
    d.set('encoder', new nn.Linear(2, 2, { bias: false })).set('extra', new nn.ReLU());
    expect([...d]).toEqual(['encoder', 'headA', 'extra']);
    expect(Object.keys(d.stateDict())).toEqual(['encoder.weight', 'headA.weight', 'headA.bias']);
    expect(d.pop('extra')).toBeInstanceOf(nn.ReLU);
    expect(d.has('extra')).toBe(false);
    expect(() => d.pop('nope')).toThrow(/ModuleDict.pop: no key 'nope'; the keys are encoder, headA/);
    expect(() => d.set('a.b', new nn.ReLU())).toThrow(/a key must be a non-empty string without dots, got "a.b"/);
  });

  it('ParameterList: tensors become parameters named 0, 1, ...; an optimizer trains them', async () => {
    const pl = new nn.ParameterList([kn.tensor([1, 2]), new nn.Parameter(kn.tensor([3]))]);
    expect(Object.keys(pl.stateDict())).toEqual(['0', '1']);
    expect(pl.at(0)).toBeInstanceOf(nn.Parameter);
    const opt = new kn.optim.SGD(pl.parameters(), { lr: 0.5 });
    pl.at(0).sum().add(pl.at(1).sum()).backward();
    opt.step();
    expect(Array.from(await pl.at(0).data())).toEqual([0.5, 1.5]);
    expect(Array.from(await pl.at(1).data())).toEqual([2.5]);
  });
});

describe('nn.init', () => {
  const stats = (a: ArrayLike<number>) => {
    let m = 0, v = 0;
    for (let i = 0; i < a.length; i++) m += a[i] / a.length;
    for (let i = 0; i < a.length; i++) v += (a[i] - m) ** 2 / (a.length - 1);
    return { mean: m, std: Math.sqrt(v), min: Math.min(...Array.from(a)), max: Math.max(...Array.from(a)) };
  };

  it('calculateGain as PyTorch', () => {
    const g = nn.init.calculateGain;
    expect([g('linear'), g('conv2d'), g('sigmoid'), g('tanh'), g('relu'), g('selu')]).toEqual([1, 1, 1, 5 / 3, Math.SQRT2, 0.75]);
    expect(g('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(g('leaky_relu', { param: 0.2 })).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
    expect(() => g('swish' as any)).toThrow(/calculateGain: unknown nonlinearity 'swish'/);
  });

  it('bounds and standard deviations from the fans (conv weight [64, 32, 3, 3]: fan_in 288, fan_out 576)', async () => {
    const w = kn.zeros([64, 32, 3, 3]);
    const n = 64 * 32 * 9;
    const check = async (bound: number | null, std: number) => {
      const s = stats(await w.data());
      // the sample std of n draws is within a few percent of the true one (n = 18432)
      expect(Math.abs(s.std / std - 1)).toBeLessThan(0.03);
      expect(Math.abs(s.mean)).toBeLessThan(4 * std / Math.sqrt(n));
      if (bound !== null) { expect(s.max).toBeLessThanOrEqual(bound); expect(s.min).toBeGreaterThanOrEqual(-bound); expect(s.max).toBeGreaterThan(0.99 * bound); }
    };
    nn.init.kaimingUniform_(w, { a: Math.sqrt(5) });
    const b = Math.sqrt(6 / (1 + 5) / 288);
    await check(b, b / Math.sqrt(3));
    nn.init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
    await check(null, Math.sqrt(2 / 576));
    nn.init.xavierUniform_(w, { gain: 2 });
    const xb = 2 * Math.sqrt(6 / (288 + 576));
    await check(xb, xb / Math.sqrt(3));
    nn.init.xavierNormal_(w);
    await check(null, Math.sqrt(2 / (288 + 576)));
    nn.init.uniform_(w, { a: -3, b: 1 });
    const u = stats(await w.data());
    expect(u.min).toBeGreaterThanOrEqual(-3); expect(u.max).toBeLessThanOrEqual(1); expect(Math.abs(u.mean + 1)).toBeLessThan(0.05);
    nn.init.normal_(w, { mean: 2, std: 0.5 });
    const g = stats(await w.data());
    expect(Math.abs(g.mean - 2)).toBeLessThan(0.02); expect(Math.abs(g.std - 0.5)).toBeLessThan(0.02);
    nn.init.truncNormal_(w, { std: 1, a: -0.5, b: 1 });
    const t = stats(await w.data());
    expect(t.min).toBeGreaterThanOrEqual(-0.5); expect(t.max).toBeLessThanOrEqual(1);
    // mean of N(0, 1) truncated to [-0.5, 1]: (phi(-0.5) - phi(1)) / (Phi(1) - Phi(-0.5)) = 0.2066
    // (standard error of the sample mean about 0.003)
    expect(Math.abs(t.mean - 0.2066)).toBeLessThan(0.012);
  });

  it('constant_, zeros_, ones_ and orthogonal_ (W W^T = gain^2 I for a wide matrix)', async () => {
    const w = kn.zeros([3, 5]);
    expect(Array.from(await nn.init.constant_(w, 0.25).data())).toEqual(Array(15).fill(0.25));
    expect(Array.from(await nn.init.ones_(w).data())).toEqual(Array(15).fill(1));
    expect(Array.from(await nn.init.zeros_(w).data())).toEqual(Array(15).fill(0));
    for (const shape of [[3, 5], [6, 2, 2]]) {
      const q = nn.init.orthogonal_(kn.zeros(shape), { gain: 2 }).reshape(shape[0], -1);
      const gram = q.shape[0] <= q.shape[1] ? q.matmul(q.t()) : q.t().matmul(q);
      const k = gram.shape[0];
      expectArrayClose(await gram.data(), Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 4 : 0)), { rtol: 1e-5, atol: 1e-5 }, `orthogonal ${shape}`);
    }
  });

  it('reproducible under kn.manualSeed; writes in place, so a compiled program sees the new weights', async () => {
    const lin = new nn.Linear(3, 2);
    kn.manualSeed(7); const a = Array.from(await nn.init.normal_(kn.zeros([20])).data());
    kn.manualSeed(7); const b = Array.from(await nn.init.normal_(kn.zeros([20])).data());
    expect(a).toEqual(b);
    const f = kn.compile((x: kn.Tensor) => lin.forward(x));
    const x = kn.ones([1, 3]);
    await (await f(x)).data();
    lin.apply((m) => { if (m instanceof nn.Linear) { nn.init.constant_(m.weight, 0.5); nn.init.zeros_(m.bias!); } });
    expect(Array.from(await (await f(x)).data())).toEqual([1.5, 1.5]);
  });

  it('rejects what PyTorch rejects, naming the function and the argument', () => {
    expect(() => nn.init.xavierUniform_(kn.zeros([5]))).toThrow(/xavierUniform_: fan in and fan out need a tensor with at least 2 dims, got shape \[5\]/);
    expect(() => nn.init.kaimingNormal_(kn.zeros([2, 2]), { mode: 'fanIn' as any })).toThrow(/kaimingNormal_: mode must be 'fan_in' or 'fan_out', got 'fanIn'/);
    expect(() => nn.init.normal_(kn.zeros([2]), { std: -1 })).toThrow(/normal_: std must be >= 0, got -1/);
    expect(() => nn.init.uniform_(kn.zeros([2]), { low: 0 } as any)).toThrow(/uniform_: unknown option 'low'; expected one of a, b/);
    expect(() => nn.init.zeros_(kn.zeros([2], { dtype: 'int32' }))).toThrow(/zeros_: expected a floating-point tensor, got dtype int32/);
    expect(() => nn.init.constant_(kn.zeros([2]), NaN)).toThrow(/constant_: val must be a number, got NaN/);
  });
});

describe('printout', () => {
  it('a model prints as PyTorch 1.13 prints it (String and util.inspect)', () => {
    const m = new nn.Sequential(new nn.Conv2d(1, 8, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(8), new nn.ReLU(),
      new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(128, 10), new nn.Dropout(0.25), new nn.LeakyReLU({ negativeSlope: 0.2 }), new nn.GELU({ approximate: 'tanh' }));
    const want = `Sequential(
  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (2): ReLU()
  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (4): Flatten(start_dim=1, end_dim=-1)
  (5): Linear(in_features=128, out_features=10, bias=True)
  (6): Dropout(p=0.25, inplace=False)
  (7): LeakyReLU(negative_slope=0.2)
  (8): GELU(approximate='tanh')
)`;
    expect(String(m)).toBe(want);
    expect(inspect(m)).toBe(want);
  });

  it('containers and nested modules indent as PyTorch', () => {
    const d = new nn.ModuleDict({ enc: new nn.LSTM(3, 4, { numLayers: 2, batchFirst: true }), emb: new nn.Embedding(10, 3, { paddingIdx: 0 }), ln: new nn.LayerNorm(6, { eps: 1e-6 }) });
    expect(String(d)).toBe(`ModuleDict(
  (enc): LSTM(3, 4, num_layers=2, batch_first=True)
  (emb): Embedding(10, 3, padding_idx=0)
  (ln): LayerNorm((6,), eps=1e-06, elementwise_affine=True)
)`);
    expect(String(new nn.ParameterList([kn.zeros([3, 4]), kn.zeros([2])]))).toBe(`ParameterList(
    (0): Parameter containing: [float32 of size 3x4]
    (1): Parameter containing: [float32 of size 2]
)`);
    const enc = String(new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8 }), 1));
    expect(enc).toMatch(/^TransformerEncoder\(\n  \(layers\): ModuleList\(\n    \(0\): TransformerEncoderLayer\(\n      \(self_attn\): MultiheadAttention\(\n        \(out_proj\): Linear\(in_features=4, out_features=4, bias=True\)\n      \)\n      \(linear1\): Linear\(in_features=4, out_features=8, bias=True\)/);
    expect(String(new nn.CrossEntropyLoss())).toBe('CrossEntropyLoss()');
  });

  it('a tensor prints its shape, dtype and device, in String() and util.inspect', () => {
    const t = kn.zeros([2, 3], { dtype: 'int32' });
    expect(String(t)).toBe('Tensor(shape=[2, 3], dtype=int32, device=webgpu)');
    expect(inspect({ t })).toBe('{ t: Tensor(shape=[2, 3], dtype=int32, device=webgpu) }');
  });
});

describe('loss modules', () => {
  const x = () => kn.tensor([[0.2, -1, 3], [1.5, 0.3, -0.7]]);
  const y = () => kn.tensor([2, 0], [2], { dtype: 'int32' });
  const same = async (a: kn.Tensor, b: kn.Tensor, what: string) => expectArrayClose(await a.data(), await b.data(), { rtol: 0, atol: 0 }, what);

  it('each module computes its functional form with the options it was given', async () => {
    const w = kn.tensor([0.5, 1, 2]);
    const p = x().sigmoid(), t = kn.tensor([[0, 1, 1], [1, 0, 0.5]]);
    await same(new nn.CrossEntropyLoss({ weight: w, labelSmoothing: 0.1 }).forward(x(), y()), kn.F.crossEntropy(x(), y(), { weight: w, labelSmoothing: 0.1 }), 'CrossEntropyLoss');
    await same(new nn.NLLLoss({ reduction: 'sum' }).forward(x().logSoftmax(1), y()), kn.F.nllLoss(x().logSoftmax(1), y(), { reduction: 'sum' }), 'NLLLoss');
    await same(new nn.MSELoss({ reduction: 'none' }).forward(x(), t), kn.F.mseLoss(x(), t, { reduction: 'none' }), 'MSELoss');
    await same(new nn.L1Loss().forward(x(), t), kn.F.l1Loss(x(), t), 'L1Loss');
    await same(new nn.BCELoss({ weight: w }).forward(p, t), kn.F.binaryCrossEntropy(p, t, { weight: w }), 'BCELoss');
    await same(new nn.BCEWithLogitsLoss({ posWeight: w }).forward(x(), t), kn.F.binaryCrossEntropyWithLogits(x(), t, { posWeight: w }), 'BCEWithLogitsLoss');
    await same(new nn.SmoothL1Loss({ beta: 0.5 }).forward(x(), t), kn.F.smoothL1Loss(x(), t, { beta: 0.5 }), 'SmoothL1Loss');
    await same(new nn.HuberLoss({ delta: 0.5 }).forward(x(), t), kn.F.huberLoss(x(), t, { delta: 0.5 }), 'HuberLoss');
    await same(new nn.KLDivLoss({ reduction: 'batchmean' }).forward(x().logSoftmax(1), p.softmax(1)), kn.F.klDiv(x().logSoftmax(1), p.softmax(1), { reduction: 'batchmean' }), 'KLDivLoss');
  });

  it('weight and posWeight are buffers (in the state dict, as PyTorch); unknown options are refused', () => {
    expect(Object.keys(new nn.CrossEntropyLoss({ weight: kn.ones([3]) }).stateDict())).toEqual(['weight']);
    expect(Object.keys(new nn.BCEWithLogitsLoss({ posWeight: kn.ones([3]) }).stateDict())).toEqual(['pos_weight']);
    expect(Object.keys(new nn.MSELoss().stateDict())).toEqual([]);
    expect(() => new nn.CrossEntropyLoss({ label_smoothing: 0.1 } as any)).toThrow(/CrossEntropyLoss: unknown option 'label_smoothing'; expected one of weight, ignoreIndex, reduction, labelSmoothing/);
    expect(() => new nn.HuberLoss({ beta: 1 } as any)).toThrow(/HuberLoss: unknown option 'beta'; expected one of reduction, delta/);
  });
});

describe('loss arguments', () => {
  it('binaryCrossEntropy at exactly 0 and 1: finite loss (log clamped at -100) and no NaN gradient', async () => {
    const p = kn.tensor([0, 1, 0.5], [3], { requiresGrad: true });
    const loss = kn.F.binaryCrossEntropy(p, kn.tensor([0, 1, 1]), { reduction: 'sum' });
    loss.backward();
    expect(await loss.item()).toBeCloseTo(Math.LN2, 5);
    expect(Array.from(await p.grad!.data()).every(Number.isFinite)).toBe(true);
  });

  it('bad weights, reductions, targets and options name the function and what was expected', () => {
    const x = kn.zeros([4, 3]), t = kn.zeros([4], { dtype: 'int32' });
    expect(() => kn.F.crossEntropy(x, t, { weight: kn.ones([4]) })).toThrow(/crossEntropy: weight must have shape \[3\] \(one per class\), got \[4\]/);
    expect(() => kn.F.nllLoss(x, t, { weight: [1, 2, 3] as any })).toThrow(/nllLoss: weight must be a Tensor, got object/);
    expect(() => kn.F.klDiv(x, x, { reduction: 'avg' as any })).toThrow(/klDiv: reduction must be 'mean', 'sum', 'none' or 'batchmean', got 'avg'/);
    expect(() => kn.F.klDiv(x, x, { logTarget: 1 as any })).toThrow(/klDiv: logTarget must be a boolean, got 1/);
    expect(() => kn.F.smoothL1Loss(x, x, { beta: -1 })).toThrow(/smoothL1Loss: beta must be a finite number >= 0, got -1/);
    expect(() => kn.F.huberLoss(x, x, { delta: 0 })).toThrow(/huberLoss: delta must be a finite number > 0, got 0/);
    expect(() => kn.F.binaryCrossEntropy(x, x, { weight: kn.ones([2]) })).toThrow(/binaryCrossEntropy: weight of shape \[2\] does not broadcast to the input's shape \[4, 3\]/);
    expect(() => kn.F.binaryCrossEntropyWithLogits(x, x, { pos_weight: x } as any)).toThrow(/unknown option 'pos_weight'; expected one of reduction, weight, posWeight/);
    expect(() => kn.F.cosineEmbeddingLoss(x, x, kn.ones([3]))).toThrow(/cosineEmbeddingLoss: target must have shape \[4\] for inputs of shape \[4, 3\], got \[3\]/);
    expect(() => kn.F.cosineEmbeddingLoss(x, kn.zeros([4, 2]), kn.ones([4]))).toThrow(/input1 \[4, 3\] and input2 \[4, 2\] must have the same shape/);
    expect(() => kn.F.mseLoss(3 as any, x)).toThrow(/mseLoss: input must be a Tensor, got number/);
  });
});

describe('a tensor prints its values once read, as PyTorch does (with the device)', () => {
  it('matches torch repr for floats, NaN, 3-D, int32, bool, 0-d, wide ranges and empty tensors', async () => {
    const shown = async (t: kn.Tensor) => { await t.data(); return String(t); };
    expect(await shown(kn.tensor([[1, 2], [3, -4]]))).toBe("tensor([[ 1.,  2.],\n        [ 3., -4.]], device='webgpu')");
    expect(await shown(kn.tensor([0.1, 2.5, NaN]))).toBe("tensor([0.1000, 2.5000,    nan], device='webgpu')");
    expect(await shown(kn.arange(8).float().reshape(2, 2, 2))).toBe("tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]], device='webgpu')");
    expect(await shown(kn.tensor([1, 20], [2], { dtype: 'int32' }))).toBe("tensor([ 1, 20], dtype=int32, device='webgpu')");
    expect(await shown(kn.tensor([1, 0]).gt(0))).toBe("tensor([ True, False], dtype=bool, device='webgpu')");
    expect(await shown(kn.tensor([3], []))).toBe("tensor(3., device='webgpu')");
    expect(await shown(kn.tensor([1e9, 1.5]))).toBe("tensor([1.0000e+09, 1.5000e+00], device='webgpu')");
    expect(await shown(kn.zeros([2, 0]))).toBe("tensor([], size=(2, 0), device='webgpu')");
  });

  it('an activation module refuses a positional number where PyTorch-style options belong', () => {
    expect(() => new kn.nn.LeakyReLU(0.2 as never)).toThrow(/LeakyReLU: optional arguments go in an options object, as LeakyReLU\(\.\.\., \{negativeSlope\}\); got 0.2/);
    expect(() => new kn.nn.ELU({ alfa: 1 } as never)).toThrow(/ELU: unknown option 'alfa'/);
  });

  it('shows no stale values: a tensor changed after its read prints its shape again', async () => {
    const p = new kn.nn.Parameter(kn.tensor([1, 2]));
    await p.data();
    expect(String(p)).toContain('tensor([1., 2.]');
    kn.noGrad(() => p.mul(2)); // a new tensor, p unchanged
    expect(String(p)).toContain('tensor([1., 2.]');
    p.grad = kn.ones([2]);
    new kn.optim.SGD([p], { lr: 1 }).step();
    expect(String(p)).toBe('Tensor(shape=[2], dtype=float32, device=webgpu)');
  });
});
