// The losses of issue 14 against PyTorch (test/golden/losses.json, from gen_losses.py):
// values and input gradients of binaryCrossEntropy (with and without logits), klDiv,
// smoothL1Loss, huberLoss, cosineEmbeddingLoss and class weights in crossEntropy and
// nllLoss; then the loss modules, and argument checks.
//
// Tolerance as test/golden.test.ts's losses: rtol 1e-5 (reordered float32 sums of a few
// dozen terms) and atol 2e-6 (WGSL's log/exp promise an absolute error near 2^-21, and
// gradients chain a few such values). NaN anywhere fails (JSON holds no NaN).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { expectArrayClose } from './graph/helpers.js';
import { loadGolden } from './golden.js';

interface T { shape: number[]; data: number[] }
interface Case { name: string; fn: string; args: { name: string; kind: string; tensor: T }[]; options: Record<string, any>; loss: T; r: T | null; grads: Record<string, T | null> }
const golden = loadGolden('losses.json');
const TOL = { rtol: 1e-5, atol: 2e-6 };

const f32 = (t: T, opts: { requiresGrad?: boolean } = {}) => kn.tensor(Float32Array.from(t.data), t.shape, opts);
const i32 = (t: T) => kn.tensor(Int32Array.from(t.data), t.shape, { dtype: 'int32' });

async function expectClose(what: string, got: kn.Tensor | null, want: T): Promise<void> {
  expect(got, `${what}: missing`).not.toBeNull();
  expect(got!.shape, `${what}: shape`).toEqual(want.shape);
  expectArrayClose(await got!.data(), want.data, TOL, what);
}

const FNS: Record<string, (...a: any[]) => kn.Tensor> = {
  binary_cross_entropy: kn.F.binaryCrossEntropy,
  binary_cross_entropy_with_logits: kn.F.binaryCrossEntropyWithLogits,
  kl_div: kn.F.klDiv,
  smooth_l1_loss: kn.F.smoothL1Loss,
  huber_loss: kn.F.huberLoss,
  cosine_embedding_loss: kn.F.cosineEmbeddingLoss,
  cross_entropy: kn.F.crossEntropy,
  nll_loss: kn.F.nllLoss,
};

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

describe('golden: losses (losses.json)', () => {
  it('covers every new loss and reduction', () => {
    expect(new Set(golden.cases.map((c: Case) => c.fn))).toEqual(new Set(Object.keys(FNS)));
    for (const r of ['mean', 'sum', 'none', 'batchmean']) expect(golden.cases.some((c: Case) => c.options.reduction === r), r).toBe(true);
  });
  for (const c of golden.cases as Case[]) {
    it(`${c.name}: loss and gradients`, async () => {
      const args = c.args.map((a) => (a.kind === 'index' ? i32(a.tensor) : f32(a.tensor, { requiresGrad: a.name in c.grads })));
      const opts = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, v && typeof v === 'object' ? f32(v) : v]));
      const loss = FNS[c.fn](...args, opts);
      await expectClose('loss', loss, c.loss);
      if (!Object.keys(c.grads).length) return;
      (c.r ? loss.mul(f32(c.r)).sum() : loss).backward();
      for (const [i, a] of c.args.entries()) if (c.grads[a.name]) await expectClose(`grad ${a.name}`, args[i].grad, c.grads[a.name]!);
    });
  }
});
