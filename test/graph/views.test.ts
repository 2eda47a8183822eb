// View ops against plain loops written here from PyTorch's definitions. The op table writes
// each view's index map once and both the float64 reference and the WGSL lowering use it, so
// the reference alone cannot catch a wrong map: these loops can. Every view runs on the device
// (also fused into an elementwise consumer, and on a packed int8 input) and through the
// reference, and both must equal the loop exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../../src/index.js';
import { evaluateReference } from '../../src/graph/reference.js';
import type { Node } from '../../src/graph/ir.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((a, b) => a * b, 1));
const index = (shape: number[], f: number) => shape.map((d, i) => Math.floor(f / strides(shape)[i]) % d);
const at = (shape: number[], idx: number[]) => idx.reduce((a, v, i) => a + v * strides(shape)[i], 0);
const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
/** out[f] = src at the input index `map(outIndex)` (null: pad) */
const gatherLoop = (src: number[], inShape: number[], outShape: number[], map: (o: number[]) => number[] | null, pad = 0) =>
  Array.from({ length: count(outShape) }, (_, f) => { const i = map(index(outShape, f)); return i ? src[at(inShape, i)] : pad; });

interface Case { name: string; shape: number[]; f: (x: kn.Tensor) => kn.Tensor; want: (v: number[]) => number[] }

const X = [5, 7, 3];
const cases: Case[] = [
  { name: 'reshape [5,7,3] -> [7,15]', shape: X, f: (x) => x.reshape(7, 15), want: (v) => v },
  { name: 'permute (2, 0, 1)', shape: X, f: (x) => x.permute(2, 0, 1), want: (v) => gatherLoop(v, X, [3, 5, 7], ([c, a, b]) => [a, b, c]) },
  { name: 'permute then reshape (not a plain stride)', shape: X, f: (x) => x.permute(1, 0, 2).reshape(35, 3),
    want: (v) => gatherLoop(v, X, [35, 3], ([r, c]) => [r % 5, Math.floor(r / 5), c]) },
  { name: 'expand [5,1,3] -> [2,5,4,3]', shape: [5, 1, 3], f: (x) => x.expand(2, 5, 4, 3), want: (v) => gatherLoop(v, [5, 1, 3], [2, 5, 4, 3], ([, a, , c]) => [a, 0, c]) },
  { name: 'slice with steps', shape: X, f: (x) => x.slice([1, 0, 2], [5, 7, 3], [2, 3, 1]),
    want: (v) => gatherLoop(v, X, [2, 3, 1], ([a, b, c]) => [1 + 2 * a, 3 * b, 2 + c]) },
  { name: 'pad before and after', shape: X, f: (x) => x.pad([1, 0, 2], [0, 2, 1]),
    want: (v) => gatherLoop(v, X, [6, 9, 6], ([a, b, c]) => (a >= 1 && b < 7 && c >= 2 && c < 5 ? [a - 1, b, c - 2] : null)) },
  { name: 'cat of three along dim 1', shape: X, f: (x) => kn.cat([x, x.narrow(1, 2, 3), x], 1),
    want: (v) => gatherLoop(v, X, [5, 17, 3], ([a, b, c]) => [a, b < 7 ? b : b < 10 ? b - 7 + 2 : b - 10, c]) },
  { name: 'flip dims 0 and 2', shape: X, f: (x) => x.flip([0, 2]), want: (v) => gatherLoop(v, X, X, ([a, b, c]) => [4 - a, b, 2 - c]) },
  { name: 'indexSelect with repeats', shape: X, f: (x) => x.indexSelect(1, kn.tensor(Int32Array.of(6, 0, 0, 3))),
    want: (v) => gatherLoop(v, X, [5, 4, 3], ([a, b, c]) => [a, [6, 0, 0, 3][b], c]) },
  { name: 'gather along dim 2', shape: X, f: (x) => x.gather(2, kn.tensor(Int32Array.from({ length: 5 * 7 * 2 }, (_, i) => (i * 5) % 3), [5, 7, 2])),
    want: (v) => gatherLoop(v, X, [5, 7, 2], ([a, b, c]) => [a, b, ((((a * 7 + b) * 2 + c) * 5) % 3)]) },
];

// the sliding windows of a 3x3 convolution, stride 2, dilation 2, padding 1 on [1, 2, 9, 8]:
// out[n, c, i, j, p, q] = x[n, c, 2p + 2i - 1, 2q + 2j - 1] (0 outside), as torch's unfold
const W = [1, 2, 9, 8];
const OH = Math.floor((9 + 2 - 2 * 2 - 1) / 2) + 1, OW = Math.floor((8 + 2 - 2 * 2 - 1) / 2) + 1;
cases.push({
  name: 'conv windows (unfold) 3x3, stride 2, dilation 2, padding 1', shape: W,
  f: (x) => kn.F.conv2d(x, kn.ones([1, 2, 3, 3]), { stride: 2, dilation: 2, padding: 1 }),
  want: (v) => Array.from({ length: OH * OW }, (_, f) => {
    const p = Math.floor(f / OW), q = f % OW;
    let s = 0;
    for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      const h = 2 * p + 2 * i - 1, w = 2 * q + 2 * j - 1;
      if (h >= 0 && h < 9 && w >= 0 && w < 8) s += v[at(W, [0, c, h, w])];
    }
    return s;
  }),
});

/** The values of every stored leaf under t (the reference reads them instead of computing them). */
async function leafValues(t: kn.Tensor): Promise<Map<Node, ArrayLike<number>>> {
  const out = new Map<Node, ArrayLike<number>>(), stack = [t.node];
  while (stack.length) {
    const n = stack.pop()!;
    if (out.has(n)) continue;
    if (n.realized) out.set(n, await kn.Tensor.fromNode(n).data());
    else stack.push(...n.inputs);
  }
  return out;
}

describe('view index maps against plain loops', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const n = count(c.shape);
      const v = Array.from({ length: n }, (_, i) => ((i * 37) % 101) - 50); // small integers: sums are exact
      const x = kn.tensor(v, c.shape);
      const want = c.want(v);
      const y = c.f(x);
      expect(Array.from(await y.clone().data()), 'device').toEqual(want);
      expect(Array.from(evaluateReference([y.node], await leafValues(y)).get(y.node)!), 'reference').toEqual(want);
      expect(Array.from(await c.f(x).mul(2).add(1).data()), 'fused').toEqual(want.map((w) => 2 * w + 1));
      if (!c.name.startsWith('conv')) {
        const q = kn.tensor(v, c.shape, { dtype: 'int8' });
        expect(Array.from(await c.f(q).clone().data()), 'int8').toEqual(want);
      }
    });
  }
});

describe('unwindow: the adjoint of the sliding windows', () => {
  it('the input gradient of a strided, dilated, padded convolution counts each pixel\'s windows', async () => {
    const x = kn.zeros(W, { requiresGrad: true });
    const y = kn.F.conv2d(x, kn.ones([1, 2, 3, 3]), { stride: 2, dilation: 2, padding: 1 });
    y.sum().backward();
    const got = Array.from(await x.grad!.data());
    const want = new Array(count(W)).fill(0);
    for (let p = 0; p < OH; p++) for (let q = 0; q < OW; q++) for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      const h = 2 * p + 2 * i - 1, w = 2 * q + 2 * j - 1;
      if (h >= 0 && h < 9 && w >= 0 && w < 8) want[at(W, [0, c, h, w])] += 1;
    }
    expect(got).toEqual(want);
  });
});
