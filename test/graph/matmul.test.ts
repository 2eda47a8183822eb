// The matmul emitter under every tiling Kiln uses (quick, default, big) and an odd one, on
// sizes that are not multiples of any tile, with transposed and broadcast operands and a
// fused epilogue; and tiered compilation: quick kernels first, tuned kernels swapped in.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import * as kn from '../../src/index.js';
import { Leaves, expectMatchesReference, type Tol } from './helpers.js';
import { expectClose } from '../compare.js';
import type { MatmulTiling } from '../../src/shaders/matmul.js';

beforeAll(async () => { await kn.init(); kn.manualSeed(11); });
afterEach(() => kn.debug.setMatmulTiling(undefined));
afterAll(() => kn.shutdown());

// float32 sums of K products: error grows like sqrt(K) ulps of the magnitude (~sqrt(K) here)
const tol = (K: number): Tol => ({ rtol: 1e-5, atol: 4e-6 * Math.sqrt(K) * Math.sqrt(K) });

const TILINGS: [string, MatmulTiling | undefined][] = [
  ['quick', kn.debug.QUICK_TILING],
  ['default', kn.debug.DEFAULT_TILING],
  ['big', kn.debug.BIG_TILING],
  ['odd 3x5, K unrolled by 3', { tm: 3, tn: 5, wgx: 2, wgy: 3, ku: 3 }],
];
// the last three take the vec4 path (N-contiguous B in whole vec4 blocks; K % 4 == 0 for A)
const SHAPES: [number, number, number][] = [[1, 1, 1], [7, 33, 1], [33, 7, 65], [65, 127, 33], [127, 65, 7], [128, 10, 256], [96, 64, 128], [33, 20, 64]];

describe.each(TILINGS)('matmul with the %s tiling', (name, tiling) => {
  it('plain, transposed and batched-broadcast operands with a bias + relu epilogue match float64', async () => {
    kn.debug.setMatmulTiling(tiling);
    // the big tiling's kernels take seconds each to compile on SwiftShader: its edge cases only
    for (const [M, K, N] of name === 'big' ? SHAPES.slice(2, 5) : SHAPES) {
      const L = new Leaves();
      const a = L.randn([M, K]), b = L.randn([K, N]), bias = L.randn([N]);
      await expectMatchesReference(a.matmul(b).add(bias).relu(), L, tol(K), `${M}x${K}x${N} + bias, relu`);
      const at = L.randn([K, M]), bt = L.randn([N, K]);
      await expectMatchesReference(at.t().matmul(bt.t()), L, tol(K), `${M}x${K}x${N} both transposed`);
      const batched = L.randn([3, M, K]);
      await expectMatchesReference(batched.matmul(b), L, tol(K), `[3,${M},${K}] x [${K},${N}] broadcast`);
    }
  });
});

describe('vec4 loads', () => {
  it('are used where the layout allows and give float64-close results', async () => {
    kn.debug.setMatmulTiling(kn.debug.DEFAULT_TILING);
    const L = new Leaves();
    const a = L.randn([64, 32]), b = L.randn([32, 64]), wt = L.randn([64, 32]);
    const mm = kn.compile((x: kn.Tensor, y: kn.Tensor) => x.matmul(y));
    const got = await (await mm(a, b)).data();
    expect(mm.kernels()[0]).toMatch(/vec4 B and A/);
    expectClose(got, L.reference(a.matmul(b)), tol(32), 'vec4 kernel');
    // B = W^T is K-contiguous, not N-contiguous: the scalar kernel
    const mt = kn.compile((x: kn.Tensor, w: kn.Tensor) => x.matmul(w.t()));
    const got2 = await (await mt(a, wt)).data();
    expect(mt.kernels()[0]).not.toMatch(/vec4/);
    expectClose(got2, L.reference(a.matmul(wt.t())), tol(32), 'scalar kernel');
  });
});

describe('tiered compilation', () => {
  it('a compiled matmul starts on the quick kernel and gives the same values on the tuned one', async () => {
    const L = new Leaves();
    const a = L.randn([256, 300]), b = L.randn([300, 256]);
    const mm = kn.compile((x: kn.Tensor, y: kn.Tensor) => x.matmul(y));
    const first = await (await mm(a, b)).data();
    await mm.ready();
    const second = await (await mm(a, b)).data();
    const want = L.reference(a.matmul(b));
    for (const [got, label] of [[first, 'quick'], [second, 'tuned']] as const) expectClose(got, want, tol(300), `${label} kernel`);
    expect(mm.stats().kernels).toBe(1);
  });
});
