// Matmuls of packed float16 operands (two halves per u32 word), read in place by the matmul
// emitter: word pairs along K or along rows / columns, vector loads of 4 or 8 halves, and one
// word load per element where the layout splits words (odd offsets, odd K unrolls, odd strides).
// Every case is checked against float64 on the float16-rounded inputs.
//
// Tolerance: float16 values times float16 values are exact in float32 (11 x 11 significant
// bits), and each fma rounds once, so K terms summed in float32 err by at most
// K * 2^-24 * sum|terms| (one more term for a float32 operand, whose products may round where
// fma is not fused, and one for a bias added in the epilogue). A float16 x float16 product is
// float16, as PyTorch's: rounded once more, so one float16 ulp of the product (at most that of
// sum|terms|) is added where both operands are float16 (two sums that close may round to
// neighbouring halves).
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import * as kn from '../../src/index.js';
import { Leaves, count } from './helpers.js';
import { f16round } from '../../src/graph/dtype.js';
import { normalArray } from '../../src/layers/random.js';
import { windows } from '../../src/graph/tensor.js';
import { MATMUL_TUNING, fitTiling, readsWholeWords, type MatmulTiling, type MatmulProblem } from '../../src/shaders/matmul.js';
import type { AdapterTraits } from '../../src/shaders/tunable.js';

type Tensor = kn.Tensor;

beforeAll(async () => { await kn.init(); kn.manualSeed(16); });
afterEach(() => kn.debug.setMatmulTiling(undefined));
afterAll(() => kn.shutdown());

/** A float16 leaf; the reference sees the rounded values. */
function half(L: Leaves, shape: number[]): Tensor {
  const d = Array.from(normalArray(count(shape)), f16round);
  const t = kn.tensor(d, shape, { dtype: 'float16' });
  L.values.set(t.node, Float64Array.from(d));
  return t;
}

/**
 * Runs f on the operands (one compiled call, so its kernels can be inspected) and checks every
 * element against float64: |got - want| <= terms * 2^-24 * (f on the operands' absolute values).
 * Unless `inPlace` is false, the operands must be read in place (no load function). Returns the
 * kernels' WGSL.
 */
async function check(L: Leaves, label: string, f: (...x: Tensor[]) => Tensor, xs: Tensor[], terms: number, inPlace = true): Promise<string[]> {
  const g = kn.compile(f);
  const out = await g(...xs), got = await out.data();
  const halfProduct = xs.filter((x) => x.dtype === 'float16').length >= 2;
  const ulp16 = (v: number) => (halfProduct ? 2 ** Math.max(Math.floor(Math.log2(Math.abs(v) || 2 ** -24)) - 10, -24) : 0);
  if (inPlace) for (const k of g.kernels()) expect(k, `${label}: an operand goes through a load function`).not.toMatch(/fn kn_load_/);
  const want = L.reference(f(...xs)), mag = L.reference(f(...xs.map((x) => x.abs())));
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const bound = terms * 2 ** -24 * mag[i] + ulp16(mag[i]);
    if (!(Math.abs(got[i] - want[i]) <= bound)) throw new Error(`${label}: element ${i} is ${got[i]}, expected ${want[i]} (bound ${bound.toExponential(2)})`);
  }
  return g.kernels();
}

const heads = (kernels: string[]) => kernels.flatMap((w) => w.split('\n').filter((l) => l.startsWith('// matmul')));

describe('float16 matmul operands read as strided words', () => {
  // [M, K, N]: sizes that are no multiple of any tile, and ones that take the vector loads
  const SHAPES: [number, number, number][] = [[1, 1, 1], [7, 33, 1], [33, 7, 65], [65, 127, 33], [127, 65, 7], [33, 64, 64]];

  it('float16 x float16 and mixed with float32, plain, transposed and batch-broadcast, with an epilogue', async () => {
    kn.debug.setMatmulTiling(kn.debug.DEFAULT_TILING);
    const seen = new Set<string>();
    for (const [M, K, N] of SHAPES) {
      const L = new Leaves();
      const s = `${M}x${K}x${N}`;
      const a = half(L, [M, K]), b = half(L, [K, N]), bias = L.randn([N]);
      const a32 = L.randn([M, K]), b32 = L.randn([K, N]);
      const at = half(L, [K, M]), bt = half(L, [N, K]);
      const a3t = half(L, [3, K, M]), b4 = half(L, [2, 1, K, N]), a4 = half(L, [3, M, K]);
      const ks = [
        ...await check(L, `${s} f16 @ f16 + bias, relu`, (x, y, c) => x.matmul(y).add(c).relu(), [a, b, bias], K + 1),
        ...await check(L, `${s} f16 @ f32`, (x, y) => x.matmul(y), [a, b32], K + 1),
        ...await check(L, `${s} f32 @ f16`, (x, y) => x.matmul(y), [a32, b], K + 1),
        ...await check(L, `${s} f16^T @ f16^T`, (x, y) => x.t().matmul(y.t()), [at, bt], K),
        ...await check(L, `${s} transpose(1, 2) batched @ f16 broadcast`, (x, y) => x.transpose(1, 2).matmul(y), [a3t, b], K),
        // two batch dims folded into one have no single batch stride: a load function, as for float32
        ...await check(L, `${s} [3, M, K] @ [2, 1, K, N] broadcast batch dims`, (x, y) => x.matmul(y), [a4, b4], K, false),
      ];
      for (const h of heads(ks)) if (/packed/.test(h)) seen.add(h.replace(/^.*per invocation/, '').replace(/, workgroup.*$/, ''));
    }
    // the layouts above reach every way the emitter reads words
    expect([...seen].sort()).toEqual([
      ' (vec4 B and A), A and B packed float16', ' (vec4 B and A), A packed float16', ' (vec4 B and A), B packed float16',
      ' (vec4 B), A and B packed float16',
      ', A and B packed float16', ', A packed float16', ', B packed float16',
    ].sort());
  });

  it('vec4<u32> (8 halves), vec2<u32> (4 halves), word pairs and single words appear where the layout allows', async () => {
    kn.debug.setMatmulTiling(kn.debug.DEFAULT_TILING);
    const L = new Leaves();
    // N = 128 in blocks of 32 columns, 8 per invocation: B in vec4<u32>, A (K % 4 == 0) in vec2<u32>
    const [k1] = await check(L, 'vec', (x, y) => x.matmul(y), [half(L, [64, 32]), half(L, [32, 128])], 32);
    expect(k1).toMatch(/array<vec4<u32>>/);
    expect(k1).toMatch(/array<vec2<u32>>/);
    // x @ W^T: both K-contiguous, two K steps per word (aw*/bw* words, .x and .y)
    const [k2] = await check(L, 'x @ W^T', (x, w) => x.matmul(w.t()), [half(L, [33, 64]), half(L, [65, 64])], 64);
    expect(k2).toMatch(/let aw0_0 = unpack2x16float\(/);
    expect(k2).toMatch(/let bw0_0 = unpack2x16float\(/);
    expect(k2).not.toMatch(/>> \(\(/);
    // g^T @ h with 66 rows: A contiguous along M, pairs of rows share a word, edge blocks clamped
    const [k3] = await check(L, 'g^T @ h', (g, h) => g.t().matmul(h), [half(L, [33, 66]), half(L, [33, 7])], 33);
    expect(k3).toMatch(/let wa0 = \(oa \+ min\(row0/);
    // an odd start along K: one word load per element
    const [k4] = await check(L, 'odd offset', (x, y) => x.narrow(1, 1, 31).matmul(y), [half(L, [9, 32]), half(L, [31, 9])], 31);
    expect(k4).toMatch(/>> \(\(ae0_0 % 2u\) \* 16u\)/);
  });

  it('odd element offsets and strides: narrow, slice with a step, batch slices', async () => {
    kn.debug.setMatmulTiling(kn.debug.DEFAULT_TILING);
    const L = new Leaves();
    const a = half(L, [3, 35, 67]), b = half(L, [67, 66]);
    // K starts at an odd element in every row of A, and B starts one row (66 halves) plus one column in
    await check(L, 'narrow K at 1, B from (1, 1)', (x, y) => x.narrow(2, 1, 65).matmul(y.narrow(0, 1, 65).narrow(1, 1, 65)), [a, b], 65);
    // rows from an odd row of an odd-width matrix: every row starts at a different parity
    await check(L, 'rows from 3 of width 67', (x, y) => x.narrow(1, 3, 32).matmul(y.narrow(1, 0, 64)), [a, b], 67);
    // the batch from 1 (odd batch stride 35 * 67), K with step 2, transposed
    await check(L, 'batch from 1, K step 2', (x, y) => x.narrow(0, 1, 2).slice([0, 0, 0], [2, 35, 67], [1, 1, 2]).matmul(y.slice([0, 0], [67, 34], [2, 1])), [a, b], 34);
    await check(L, 'transposed, odd start', (x, y) => x.narrow(0, 2, 1).narrow(2, 1, 33).transpose(1, 2).matmul(y.narrow(0, 1, 35).narrow(1, 5, 33)), [a, b], 35);
  });

  it('the implicit GEMM of a conv2d (sliding windows of a float16 input, float16 weight)', async () => {
    kn.debug.setMatmulTiling(kn.debug.DEFAULT_TILING);
    const L = new Leaves();
    // F.conv2d's forward (src/layers/conv.ts, convolve): weight [groups, OC/groups, C*KH*KW] @
    // windows [N, groups, C*KH*KW, OH*OW]. F.conv2d itself takes float32 inputs only on this branch.
    const [N, H, W, OC] = [2, 9, 7, 5], pad = 1, [oh, ow] = [H + 2 * pad - 2, W + 2 * pad - 2];
    const conv = (C: number) => (x: Tensor, w: Tensor) => {
      const cols = windows(x, { kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: pad, pl: pad, padValue: 0, oh, ow }).reshape(N, 1, C * 9, oh * ow);
      return w.reshape(1, OC, C * 9).matmul(cols).reshape(N, OC, oh, ow);
    };
    // the windows are a load function (padding); the weight is read in place (K = 27: an odd row
    // stride, one word per element; K = 36 with 4 channels: two K steps per word)
    for (const C of [3, 4]) {
      const ks = await check(L, `conv2d ${C} channels 3x3 pad 1`, conv(C), [half(L, [N, C, H, W]), half(L, [OC, C, 3, 3])], C * 9, false);
      expect(heads(ks).join('\n')).toMatch(/A packed float16/);
      expect(ks.join('\n')).toMatch(C === 4 ? /let aw0_0 = / : /let ae0_0 = /);
    }
  });
});

describe('tilings for float16 problems', () => {
  const SOFTWARE: AdapterTraits = { software: true, maxInvocations: 256 };
  const GPU: AdapterTraits = { software: false, maxInvocations: 256 };

  it('candidates keep an even K unroll for float16 operands (two K steps per word)', () => {
    const p = (dtype: string): MatmulProblem => ({ batch: 1, M: 128, N: 256, K: 784, a: 'c4', b: 'c4', dtype });
    const odd: MatmulTiling = { tm: 8, tn: 8, wgx: 4, wgy: 4, ku: 3 };
    expect(readsWholeWords(odd, p('float32,float32'))).toBe(true);
    expect(readsWholeWords(odd, p('float16,float32'))).toBe(false);
    expect(readsWholeWords({ ...odd, ku: 4 }, p('float32,float16'))).toBe(true);
    for (const t of [SOFTWARE, GPU]) for (const c of MATMUL_TUNING.candidates(p('float16,float16'), t)) expect(readsWholeWords(c, p('float16,float16'))).toBe(true);
  });

  it('every candidate of MATMUL_TUNING, the quick tiling and an odd one compute float16 products', async () => {
    const problems: MatmulProblem[] = [
      { batch: 1, M: 128, N: 256, K: 784, a: 'c4', b: 't', dtype: 'float16,float16' },
      { batch: 8, M: 512, N: 512, K: 512, a: 'c4', b: 'c4', dtype: 'float16,float16' },
    ];
    const all = problems.flatMap((p) => [...MATMUL_TUNING.candidates(p, SOFTWARE), ...MATMUL_TUNING.candidates(p, GPU)]);
    const configs = [...all.filter((c, i) => all.findIndex((d) => MATMUL_TUNING.label(d) === MATMUL_TUNING.label(c)) === i),
      kn.debug.QUICK_TILING, { tm: 3, tn: 5, wgx: 2, wgy: 3, ku: 3 }];
    expect(configs.length).toBeGreaterThanOrEqual(7);
    // [33, 64] x [64, 64]: the vector loads under every candidate; 65 x 33 x 65: edges and W^T
    const shapes: [number, number, number][] = [[65, 33, 65], [7, 1, 33], [33, 64, 64]];
    for (const config of configs) {
      kn.debug.setMatmulTiling(config);
      // 16x16 blocks take seconds each to compile on SwiftShader: their edge cases only
      for (const [M, K, N] of config.tm * config.tn >= 256 ? shapes.slice(0, 1) : shapes) {
        const L = new Leaves();
        const label = `${MATMUL_TUNING.label(config)} ${M}x${K}x${N}`;
        const ks = await check(L, `${label} + bias`, (x, y, c) => x.matmul(y).add(c), [half(L, [M, K]), half(L, [K, N]), L.randn([N])], K + 1);
        // the transposed layouts on the shape with edges only (each kernel costs compile time)
        if (M === 65) {
          ks.push(...await check(L, `${label} W^T`, (x, w) => x.matmul(w.t()), [half(L, [M, K]), half(L, [N, K])], K));
          // g^T with an even row stride (66): pairs of rows share a word, the last pair clamped
          ks.push(...await check(L, `${label} g^T`, (g, h) => g.narrow(1, 0, M).t().matmul(h), [half(L, [K, M + 1]), half(L, [K, N])], K));
        }
        const f = fitTiling(config, 1, M, N);
        for (const h of heads(ks)) expect(h, label).toContain(`${f.tm}x${f.tn} per invocation`);
      }
    }
  });
});
