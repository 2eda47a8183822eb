// Transfer learning from PyTorch weights (issue 4, item 7), against test/golden/transfer/
// written by test/golden/gen_transfer.py (torch 1.13): a small CNN with named submodules
// (`features`: conv-BN-ReLU-pool-conv-BN-ReLU-adaptive pool-flatten; `classifier`: Linear),
// pre-trained in PyTorch and saved as safetensors the way `safetensors.torch.save_file`
// writes a state_dict (int64 num_batches_tracked included). Kiln builds the same model, checks
// its state-dict keys, order and shapes are PyTorch's, loads the file and gives PyTorch's
// eval-mode outputs; then freezes the features (`requiresGrad_(false)`), puts in a new head
// Linear(64, 3) with the init PyTorch wrote, and fine-tunes it with compiled SGD (momentum
// 0.9, weight decay 0.01) steps whose losses and head parameters match PyTorch's per step.
// Two recipes, both mirrored exactly in PyTorch:
//   eval:  model.train(); features.eval()  (the usual one for a frozen backbone): batch norm
//          uses the loaded running statistics, which stay bit-identical;
//   train: the whole model in train mode: batch norm uses batch statistics and moves its
//          running statistics (compared to PyTorch's) although its weight and bias are frozen.
// Each recipe runs with SGD over the head's parameters only and over all parameters: frozen
// ones get no gradient and are skipped, as torch.optim.SGD skips them (with weight decay, a
// frozen parameter that was not skipped would shrink); PyTorch gives bit-identical
// trajectories for both, asserted by the generator. Frozen parameters stay bit-identical to
// the loaded values. Then loadStateDict's errors (missing, unexpected and
// mismatched-shape keys) and strict = false.
//
// Tolerances. Everything is float32 in both; the two differ by summation order and by WGSL's
// exp/log/inverseSqrt (a few ulps). Each compared value passes when
//   |kiln - torch| <= ATOL + RTOL * |torch|.
// - eval outputs (logits of size ~1): every logit is a chain of sums of 9 (conv 1), 72
//   (conv 2), 4 (pooling) and 64 (linear) float32 terms of size <= ~1, with two batch norms
//   in eval mode (rsqrt of the running variance, 2 ulps in WGSL); a few ulps per stage of
//   values ~1 is ~1e-6. ATOL 1e-5, RTOL 1e-5 leaves a margin of ~10; a wrong key, a
//   transposed weight, the wrong variance or eps is off by O(0.1..1).
// - losses: cross-entropy of those logits (WGSL log/exp): ATOL 2e-6, RTOL 1e-5 as in
//   conv.test.ts and golden.test.ts.
// - head parameters after each step: each step moves them by lr (0.05) times a momentum sum
//   of float32 gradients (errors ~1e-6 relative, gradients ~0.1), so ~1e-8 per step on values
//   ~0.1: ATOL 2e-6, RTOL 1e-5 as in conv.test.ts.
// - running statistics in train mode: a batch mean / unbiased variance over N*H*W = 2304
//   (BN 1) and 256 (BN 2) float32 values (summation order: ~sqrt(K) ulps relative), blended
//   with momentum 0.1 five times: ATOL 1e-6, RTOL 1e-5. num_batches_tracked is exact.
// The worst measured value as a fraction of its tolerance is printed at the end and stated
// here: eval outputs 0.012, losses 0.010, head parameters 0.012, running statistics 0.035.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../src/index.js';
import { expectClose as compare } from './compare.js';

type Module = InstanceType<typeof kn.nn.Module>;
interface T { shape: number[]; data: number[] }
interface Step { loss: number; weight: T; bias: T; buffers: Record<string, T> }
const DIR = new URL('./golden/transfer/', import.meta.url);
const ref = JSON.parse(readFileSync(new URL('reference.json', DIR), 'utf8')) as {
  torchVersion: string; stateDictKeys: string[]; shapes: Record<string, number[]>;
  evalX: T; evalY: T; headInit: { weight: T; bias: T }; x: T; y: T;
  options: { lr: number; momentum: number; weightDecay: number }; runs: { eval: Step[]; train: Step[] };
};
const fileBytes = new Uint8Array(readFileSync(new URL('pretrained.safetensors', DIR)));

const TOL = {
  eval: { atol: 1e-5, rtol: 1e-5 },
  loss: { atol: 2e-6, rtol: 1e-5 },
  head: { atol: 2e-6, rtol: 1e-5 },
  stats: { atol: 1e-6, rtol: 1e-5 },
};
const worst: Record<string, number> = {};

beforeAll(async () => { await kn.init(); });
afterAll(() => {
  console.log(`transfer: worst |kiln - torch| / tolerance: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
  kn.shutdown();
});

/** The PyTorch model of gen_transfer.py: named submodules `features` and `classifier`. */
class Net extends kn.nn.Module {
  features = new kn.nn.Sequential(
    new kn.nn.Conv2d(1, 8, 3, { padding: 1 }), new kn.nn.BatchNorm2d(8), new kn.nn.ReLU(), new kn.nn.MaxPool2d(2),
    new kn.nn.Conv2d(8, 16, 3), new kn.nn.BatchNorm2d(16), new kn.nn.ReLU(), new kn.nn.AdaptiveAvgPool2d(2), new kn.nn.Flatten(),
  );
  classifier: Module;
  constructor(classes = 10) { super(); this.classifier = new kn.nn.Linear(64, classes); }
  forward(x: kn.Tensor): kn.Tensor { return this.classifier.call(this.features.call(x)); }
}

const f32 = (t: T) => kn.tensor(Float32Array.from(t.data), t.shape);
const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
const isBuffer = (k: string) => /running_|num_batches_tracked/.test(k);

/** Elementwise |a - e| <= atol + rtol |e|, the worst ratio recorded under `kind`. */
function expectClose(what: string, kind: keyof typeof TOL, actual: ArrayLike<number>, expected: T | number[]): void {
  const e = Array.isArray(expected) ? expected : expected.data;
  const { atol, rtol } = TOL[kind];
  worst[kind] = Math.max(worst[kind] ?? 0, compare(actual, e, { atol, rtol }, `${what} (against torch)`));
}

async function values(m: Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(m.stateDict())) out[k] = Array.from(await t.data());
  return out;
}

/** The file's tensors, as decoded by the plain reader (the reference for bit-identity). */
const fileTensors = kn.train.decodeSafetensors(fileBytes).tensors;

async function pretrained(): Promise<Net> {
  const net = new Net();
  const res = net.loadStateDict(kn.train.stateDictFromBytes(fileBytes));
  expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
  return net;
}

// ------------------------------------------------------------------ the file and the model

describe('a PyTorch state_dict saved as safetensors', () => {
  it('the Kiln model has PyTorch\'s state-dict keys, in PyTorch\'s order, with its shapes', () => {
    const sd = new Net().stateDict();
    expect(Object.keys(sd)).toEqual(ref.stateDictKeys);
    for (const [k, t] of Object.entries(sd)) expect(t.shape, k).toEqual(ref.shapes[k]);
    expect(sd['features.1.num_batches_tracked'].dtype).toBe('int32');
  });

  it('the file is laid out as the reference writer lays it out; int64 num_batches_tracked reads as int32', async () => {
    const keys = Object.keys(fileTensors);
    // I64 first, then F32, each sorted by name: not PyTorch's state_dict order, so loading is by key
    expect(keys.slice(0, 2)).toEqual(['features.1.num_batches_tracked', 'features.5.num_batches_tracked']);
    expect(keys.slice(2)).toEqual(keys.slice(2).sort());
    expect(new Set(keys)).toEqual(new Set(ref.stateDictKeys));
    expect(fileTensors['features.1.num_batches_tracked']).toMatchObject({ dtype: 'I64', shape: [] });
    const sd = kn.train.stateDictFromBytes(fileBytes);
    expect(sd['features.5.num_batches_tracked'].dtype).toBe('int32');
    expect(await sd['features.5.num_batches_tracked'].item()).toBe(12);
  });

  it('loads with strict = true (values bit-identical, running stats included) and gives PyTorch\'s eval outputs', async () => {
    const net = await pretrained();
    const got = await values(net);
    for (const k of ref.stateDictKeys) {
      const want = fileTensors[k];
      if (want.dtype === 'I64') expect(got[k], k).toEqual(Array.from(want.data));
      else expect(bits(got[k]), k).toEqual(bits(want.data));
    }
    net.eval();
    const y = net.call(f32(ref.evalX));
    expect(y.shape).toEqual(ref.evalY.shape);
    expectClose('eval outputs', 'eval', await y.data(), ref.evalY);
    // eval mode leaves the buffers alone
    const after = await values(net);
    for (const k of ref.stateDictKeys.filter(isBuffer)) expect(bits(after[k]), k).toEqual(bits(got[k]));
  });

  it('Module.requiresGrad_(false) freezes every parameter of a submodule, recursively, and returns the module', () => {
    const net = new Net();
    expect(net.features.requiresGrad_(false)).toBe(net.features);
    for (const [k, p] of net.namedParameters()) expect(p.requiresGrad, k).toBe(k.startsWith('classifier.'));
    // buffers are not parameters and never require grad
    expect(net.stateDict()['features.1.running_mean'].requiresGrad).toBe(false);
    net.requiresGrad_();
    for (const [k, p] of net.namedParameters()) expect(p.requiresGrad, k).toBe(true);
    // a frozen backbone gets no gradient; the head does
    net.features.requiresGrad_(false);
    const loss = kn.F.crossEntropy(net.call(f32(ref.x)), kn.tensor(Int32Array.from(ref.y.data), ref.y.shape, { dtype: 'int32' }));
    loss.backward();
    for (const [k, p] of net.namedParameters()) expect(p.grad === null, k).toBe(!k.startsWith('classifier.'));
  });
});

// ------------------------------------------------------------------ fine-tuning a new head

describe('fine-tuning a new head on a frozen backbone matches PyTorch step by step', () => {
  for (const mode of ['eval', 'train'] as const) {
    for (const which of ['head', 'all'] as const) {
      it(`features in ${mode} mode, SGD over ${which === 'head' ? 'the head\'s parameters' : 'all parameters'}`, async () => {
        const net = await pretrained();
        const loaded = await values(net);
        net.features.requiresGrad_(false);
        net.classifier = new kn.nn.Linear(64, 3);
        net.classifier.loadStateDict({ weight: f32(ref.headInit.weight), bias: f32(ref.headInit.bias) });
        net.train();
        if (mode === 'eval') net.features.eval();
        expect(net.training).toBe(true);
        expect(net.features.at(1).training).toBe(mode === 'train');
        const params = which === 'head' ? net.classifier.parameters() : net.parameters();
        expect(params.length).toBe(which === 'head' ? 2 : 10);
        const opt = new kn.optim.SGD(params, ref.options);
        const step = kn.compile((x: kn.Tensor, y: kn.Tensor) => {
          opt.zeroGrad();
          const loss = kn.F.crossEntropy(net.call(x), y);
          loss.backward();
          opt.step();
          return loss;
        });
        const x = f32(ref.x), y = kn.tensor(Int32Array.from(ref.y.data), ref.y.shape, { dtype: 'int32' });
        const steps = ref.runs[mode];
        for (let i = 0; i < steps.length; i++) {
          const loss = await step(x, y);
          const s = steps[i];
          expectClose(`step ${i}: loss`, 'loss', [await loss.item()], [s.loss]);
          const sd = net.stateDict();
          expectClose(`step ${i}: classifier.weight`, 'head', await sd['classifier.weight'].data(), s.weight);
          expectClose(`step ${i}: classifier.bias`, 'head', await sd['classifier.bias'].data(), s.bias);
          for (const [k, e] of Object.entries(s.buffers)) {
            const got = await sd[k].data();
            if (k.endsWith('num_batches_tracked')) expect(Array.from(got), `step ${i}: ${k}`).toEqual(e.data);
            else if (mode === 'eval') expect(bits(got), `step ${i}: ${k} (kept as loaded)`).toEqual(bits(loaded[k]));
            else expectClose(`step ${i}: ${k}`, 'stats', got, e);
          }
        }
        expect(step.stats().traces).toBe(1);
        // frozen parameters: bit-identical to the file, and no gradient
        const now = await values(net);
        for (const [k, p] of net.features.namedParameters('features.')) {
          expect(p.requiresGrad, k).toBe(false);
          expect(p.grad, k).toBeNull();
          expect(bits(now[k]), `${k} (frozen)`).toEqual(bits(fileTensors[k].data));
        }
        if (mode === 'train') {
          expect(now['features.1.num_batches_tracked']).toEqual([12 + steps.length]);
          expect(now['features.1.running_mean']).not.toEqual(loaded['features.1.running_mean']);
        }
      });
    }
  }
});

// ------------------------------------------------------------------ loadStateDict errors

describe('loadStateDict: missing, unexpected and mismatched keys', () => {
  const file = () => kn.train.stateDictFromBytes(fileBytes);

  it('a missing key is an error naming it (strict), and nothing is loaded', async () => {
    const net = new Net();
    const before = await values(net);
    const sd = file();
    delete sd['features.5.running_var'];
    expect(() => net.loadStateDict(sd)).toThrow(/^loadStateDict: missing keys: features\.5\.running_var$/);
    expect(await values(net)).toEqual(before);
  });

  it('an unexpected key is an error naming it (strict); both kinds are listed together', async () => {
    const net = new Net();
    const sd = file();
    sd['features.9.weight'] = kn.zeros([3]);
    expect(() => net.loadStateDict(sd)).toThrow(/^loadStateDict: unexpected keys: features\.9\.weight$/);
    delete sd['classifier.bias'];
    expect(() => net.loadStateDict(sd)).toThrow(/^loadStateDict: missing keys: classifier\.bias; unexpected keys: features\.9\.weight$/);
  });

  it('a key with the wrong shape is an error naming the key and both shapes, strict or not, and nothing is loaded', async () => {
    // the pre-trained 10-class head into a 3-class model
    const net = new Net(3);
    const before = await values(net);
    expect(() => net.loadStateDict(file())).toThrow(
      /^loadStateDict: size mismatch for classifier\.weight: the checkpoint has shape \[10, 64\], the model expects \[3, 64\]; size mismatch for classifier\.bias: the checkpoint has shape \[10\], the model expects \[3\]$/);
    expect(() => net.loadStateDict(file(), { strict: false })).toThrow(/size mismatch for classifier\.weight/);
    expect(await values(net)).toEqual(before);
  });

  it('strict = false loads what matches and reports the rest (the backbone into a new 3-class model)', async () => {
    const net = new Net(3);
    const head = await values(net.classifier);
    const sd = file();
    delete sd['classifier.weight'];
    delete sd['classifier.bias'];
    sd['extra.scale'] = kn.ones([1]);
    const res = net.loadStateDict(sd, { strict: false });
    expect(res).toEqual({ missingKeys: ['classifier.weight', 'classifier.bias'], unexpectedKeys: ['extra.scale'] });
    const got = await values(net);
    for (const k of ref.stateDictKeys.filter((k) => k.startsWith('features.'))) {
      if (fileTensors[k].dtype === 'I64') expect(got[k], k).toEqual(Array.from(fileTensors[k].data));
      else expect(bits(got[k]), k).toEqual(bits(fileTensors[k].data));
    }
    expect(await values(net.classifier)).toEqual(head);
    // and it gives the pre-trained features' outputs
    net.eval();
    const ref10 = await pretrained();
    ref10.eval();
    const a = await net.features.call(f32(ref.evalX)).data();
    const b = await ref10.features.call(f32(ref.evalX)).data();
    expect(bits(a)).toEqual(bits(b));
  });
});
