// Composite ops (var, std, logsumexp, K-dim crossEntropy) against float64 definitions written
// here from the formulas, independent of Kiln's own decomposition (which the reference
// interpreter in test/graph/ops.test.ts shares).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as kn from '../src/index.js';
import { expectClose } from './compare.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

/** Deterministic values in [-3, 5): a linear congruential sequence, not Kiln's generator. */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return -3 + 8 * s / 2 ** 32; });
}

/** Rows of a [a, b, c] array along `dim`, each as a list of flat indices (others fixed). */
function lines(shape: number[], dim: number): number[][] {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, q) => p * q, 1));
  const out: number[][] = [];
  const n = shape.reduce((p, q) => p * q, 1);
  for (let f = 0; f < n; f++) {
    if (Math.floor(f / strides[dim]) % shape[dim] !== 0) continue;
    out.push(Array.from({ length: shape[dim] }, (_, k) => f + k * strides[dim]));
  }
  return out;
}

const SHAPE = [4, 37, 6];
const F32 = { rtol: 2e-6, atol: 2e-6 };

describe('composite ops against float64 definitions', () => {
  const x = values(4 * 37 * 6, 11);
  const t = () => kn.tensor(x, SHAPE);

  it.each([0, 1, 2])('var and std along dim %i, with correction 1, 0 and unbiased', async (dim) => {
    const rows = lines(SHAPE, dim);
    const want = (corr: number) => rows.map((r) => {
      const m = r.reduce((s, i) => s + x[i], 0) / r.length;
      return r.reduce((s, i) => s + (x[i] - m) ** 2, 0) / (r.length - corr);
    });
    expectClose(await t().var(dim).data(), want(1), F32, `var(${dim})`);
    expectClose(await t().var(dim, false, { correction: 0 }).data(), want(0), F32, `var(${dim}, correction 0)`);
    expectClose(await t().var(dim, false, { unbiased: false }).data(), want(0), F32, `var(${dim}, unbiased false)`);
    expectClose(await t().std(dim, false, { unbiased: true }).data(), want(1).map(Math.sqrt), F32, `std(${dim})`);
    expectClose(await t().std(dim, false, { correction: 0 }).data(), want(0).map(Math.sqrt), F32, `std(${dim}, correction 0)`);
  });

  it('var of one element with correction 1 is 0/0, NaN, as PyTorch', async () => {
    const v = await kn.tensor([2.5], [1]).var().data();
    expect(Number.isNaN(v[0])).toBe(true);
  });

  it('var rejects a non-boolean unbiased, both spellings at once, and unknown options', () => {
    expect(() => t().var(0, false, { unbiased: 1 as unknown as boolean })).toThrow(/var: unbiased must be a boolean, got 1/);
    expect(() => t().var(0, false, { unbiased: true, correction: 1 })).toThrow(/var: give correction or unbiased, not both/);
    expect(() => t().std(0, false, { ddof: 1 } as never)).toThrow(/std: unknown option 'ddof'/);
    expect(() => t().var(0, false, { correction: -1 })).toThrow(/var: correction must be >= 0, got -1/);
  });

  it.each([0, 1, 2])('logsumexp along dim %i', async (dim) => {
    const want = lines(SHAPE, dim).map((r) => {
      const m = Math.max(...r.map((i) => x[i]));
      return m + Math.log(r.reduce((s, i) => s + Math.exp(x[i] - m), 0));
    });
    expectClose(await t().logsumexp(dim).data(), want, F32, `logsumexp(${dim})`);
  });

  it('crossEntropy over [N, C, d1, d2] with class weights and label smoothing, each reduction', async () => {
    const [N, C, D1, D2] = [3, 5, 2, 4];
    const logits = values(N * C * D1 * D2, 5);
    const target = Array.from({ length: N * D1 * D2 }, (_, i) => (i * 7 + 3) % C);
    const weight = [0.5, 1, 2, 1.5, 0.25];
    const eps = 0.1;
    // PyTorch's definition: per position, loss = (1 - eps) * w[y] * (-log p_y) + eps/C * sum_c w[c] * (-log p_c);
    // 'mean' divides by the sum of w[y] over positions
    const per: number[] = [], wy: number[] = [];
    for (let n = 0; n < N; n++) for (let p = 0; p < D1 * D2; p++) {
      const at = (c: number) => logits[(n * C + c) * D1 * D2 + p];
      const m = Math.max(...Array.from({ length: C }, (_, c) => at(c)));
      const lse = m + Math.log(Array.from({ length: C }, (_, c) => Math.exp(at(c) - m)).reduce((a, b) => a + b));
      const y = target[n * D1 * D2 + p];
      const smooth = Array.from({ length: C }, (_, c) => weight[c] * (lse - at(c))).reduce((a, b) => a + b) * eps / C;
      per.push((1 - eps) * weight[y] * (lse - at(y)) + smooth);
      wy.push(weight[y]);
    }
    const input = kn.tensor(logits, [N, C, D1, D2]);
    const tgt = kn.tensor(target, [N, D1, D2], { dtype: 'int32' });
    const opts = { weight: kn.tensor(weight, [C]), labelSmoothing: eps };
    const none = await kn.F.crossEntropy(input, tgt, { ...opts, reduction: 'none' }).data();
    expectClose(none, per, F32, 'crossEntropy none');
    const sum = per.reduce((a, b) => a + b);
    expectClose(await kn.F.crossEntropy(input, tgt, { ...opts, reduction: 'sum' }).data(), [sum], F32, 'crossEntropy sum');
    expectClose(await kn.F.crossEntropy(input, tgt, opts).data(), [sum / wy.reduce((a, b) => a + b)], F32, 'crossEntropy mean');
  });
});
