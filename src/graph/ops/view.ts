// View ops: each output element is an input element (or padding). The index map of each is
// written once, against IndexAlgebra: the float64 reference evaluates it on numbers and the
// lowering renders it into whatever kernel reads the view, so a view never costs a kernel.
import { type Node, type Shape, contiguousStrides, shapeStr } from '../ir.js';
import type { Tensor } from '../tensor.js';
import { type IndexAlgebra, type Meta, type ViewDef, type ViewNode, type ViewSource, type Strided, tensorClass } from './types.js';

/** Attributes shared by window and unwindow: kernel, stride, dilation, top/left padding. */
export interface WindowAttrs { kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number }

export interface ViewAttrs {
  reshape: { shape: number[] };
  permute: { dims: number[] };
  expand: { shape: number[] };
  /** x[starts[i] : ends[i] : steps[i]] per dim, starts and ends already within the dim */
  slice: { starts: number[]; ends: number[]; steps: number[] };
  /** before[i] and after[i] zeros on each side of dim i */
  pad: { before: number[]; after: number[] };
  concat: { axis: number };
  /** x[..., index[j], ...] along axis; input 1 is the 1-D int32 index */
  indexSelect: { axis: number };
  /** x[..., index[..., j, ...], ...] along axis; input 1 has the output's shape */
  gather: { axis: number };
  /** [N, C, KH, KW, OH, OW] <- x[N, C, H, W]: the sliding windows of a convolution or pooling */
  window: WindowAttrs & { oh: number; ow: number; padValue: number };
  /** x reversed along each of dims, as torch.flip */
  flip: { dims: number[] };
  /** [N, C, H, W, KH, KW] <- g[N, C, KH, KW, OH, OW]: for each input element, the windows that read it */
  unwindow: WindowAttrs & { h: number; w: number };
}

type T = Tensor;
type Def<K extends keyof ViewAttrs> = ViewDef<ViewAttrs[K]>;
const same = (ins: readonly Node[], shape: number[]): Meta => ({ shape, dtype: ins[0].dtype });
const one = <E>(index: E[], valid?: E): ViewSource<E>[] => [{ input: 0, index, valid }];

const reshape: Def<'reshape'> = {
  family: 'view',
  infer: (ins, a) => {
    const n = ins[0].shape.reduce((p, d) => p * d, 1), m = a.shape.reduce((p, d) => p * d, 1);
    if (n !== m) throw new Error(`reshape: cannot view shape ${shapeStr(ins[0].shape)} (${n} elements) as ${shapeStr(a.shape)} (${m})`);
    return same(ins, a.shape.slice());
  },
  flatIdentity: true,
  // each group of output dims with the same extent as a group of input dims is raveled and
  // unraveled on its own: no trip through one flat index for every dim
  source: (ix, out, n) => {
    const inShape = n.inputs[0].shape;
    const inDims = inShape.map(() => ix.c(0));
    for (const [og, ig] of reshapeGroups(n.shape, inShape)) {
      const sub = og.length === 1 ? out[og[0]] : ix.ravel(og.map((k) => out[k]), og.map((k) => n.shape[k]));
      if (ig.length === 1) { inDims[ig[0]] = sub; continue; }
      const parts = ix.unravel(sub, ig.map((k) => inShape[k]));
      ig.forEach((k, m) => { inDims[k] = parts[m]; });
    }
    return one(inDims);
  },
  strided: (v, n) => {
    const st = reshapeStrides(n.inputs[0].shape, v.strides, n.shape);
    return st ? { offset: v.offset, strides: st } : null;
  },
  grad: (g, [x]) => [g.reshape(...x.shape)],
};

const permute: Def<'permute'> = {
  family: 'view',
  infer: (ins, a) => same(ins, a.dims.map((d) => ins[0].shape[d])),
  source: (_ix, out, n) => {
    const r = new Array(out.length);
    n.attrs.dims.forEach((d, i) => { r[d] = out[i]; });
    return one(r);
  },
  strided: (v, n) => ({ offset: v.offset, strides: n.attrs.dims.map((d) => v.strides[d]) }),
  grad: (g, _, __, a) => {
    const inv = new Array<number>(a.dims.length);
    a.dims.forEach((d, i) => { inv[d] = i; });
    return [g.permute(...inv)];
  },
};

const expand: Def<'expand'> = {
  family: 'view',
  infer: (ins, a) => {
    const s = ins[0].shape;
    if (s.length !== a.shape.length || s.some((d, i) => d !== 1 && d !== a.shape[i])) throw new Error(`expand: cannot broadcast shape ${shapeStr(s)} to ${shapeStr(a.shape)}`);
    return same(ins, a.shape.slice());
  },
  source: (ix, out, n) => one(out.map((o, i) => (n.inputs[0].shape[i] === 1 ? ix.c(0) : o))),
  strided: (v, n) => ({ offset: v.offset, strides: n.shape.map((d, i) => (n.inputs[0].shape[i] === 1 && d !== 1 ? 0 : v.strides[i])) }),
  grad: (g, [x], out) => {
    const axes = x.shape.map((d, i) => (d === 1 && out.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
    return [axes.length ? g.sum(axes, true) : g];
  },
};

const slice: Def<'slice'> = {
  family: 'view',
  infer: (ins, a) => same(ins, ins[0].shape.map((_, i) => Math.max(0, Math.ceil((a.ends[i] - a.starts[i]) / a.steps[i])))),
  source: (ix, out, n) => one(out.map((o, i) => ix.add(ix.mul(o, n.attrs.steps[i]), n.attrs.starts[i]))),
  strided: (v, n) => ({
    offset: v.offset + n.attrs.starts.reduce((s, st, i) => s + st * v.strides[i], 0),
    strides: v.strides.map((s, i) => s * n.attrs.steps[i]),
  }),
  grad: (g, [x], out, a) => {
    if (a.steps.some((s) => s !== 1)) return [stridedSliceGrad(g, x.shape, a.starts, a.steps)];
    return [g.pad(a.starts, x.shape.map((d, i) => d - a.starts[i] - out.shape[i]))];
  },
};

const pad: Def<'pad'> = {
  family: 'view',
  infer: (ins, a) => same(ins, ins[0].shape.map((d, i) => d + a.before[i] + a.after[i])),
  source: (ix, out, n) => {
    const r = out.map((o, i) => (n.attrs.before[i] ? ix.sub(o, n.attrs.before[i]) : o));
    return one(r, ix.and(...r.map((x, i) => ix.lt(x, n.inputs[0].shape[i]))));
  },
  grad: (g, [x], _, a) => [g.slice(a.before, x.shape.map((d, i) => a.before[i] + d))],
};

const concat: Def<'concat'> = {
  family: 'view',
  concatAxis: (a) => a.axis,
  infer: (ins, a) => {
    const s = ins[0].shape.slice();
    s[a.axis] = ins.reduce((t, x) => t + x.shape[a.axis], 0);
    return same(ins, s);
  },
  source: (ix, out, n) => {
    let off = 0;
    return n.inputs.map((inp, k) => {
      const len = inp.shape[n.attrs.axis];
      const r = out.slice();
      r[n.attrs.axis] = off ? ix.sub(out[n.attrs.axis], off) : out[n.attrs.axis];
      off += len;
      return { input: k, index: r, valid: ix.lt(r[n.attrs.axis], len) };
    });
  },
  grad: (g, inputs, out, a) => {
    let off = 0;
    return inputs.map((inp) => {
      const starts = out.shape.map(() => 0), ends = out.shape.slice();
      starts[a.axis] = off; ends[a.axis] = off + inp.shape[a.axis]; off += inp.shape[a.axis];
      return g.slice(starts, ends);
    });
  },
};

const indexSelect: Def<'indexSelect'> = {
  family: 'view',
  readsIndex: true,
  infer: (ins, a) => { const s = ins[0].shape.slice(); s[a.axis] = ins[1].shape[0]; return same(ins, s); },
  source: (ix, out, n) => {
    const r = out.slice();
    r[n.attrs.axis] = ix.read(1, [out[n.attrs.axis]], n.inputs[0].shape[n.attrs.axis] - 1);
    return one(r);
  },
  // grad[.., i, ..] = sum_j [index[j] == i] g[.., j, ..]: a masked reduction, no atomics needed
  grad: (g, [x, index], out, a) => {
    const n = x.shape[a.axis], m = index.shape[0];
    const gE = g.unsqueeze(a.axis + 1).expandTo(insertAt(out.shape, a.axis + 1, n));
    const shapeIdx = out.shape.map(() => 1); shapeIdx[a.axis] = m;
    const hit = index.reshape(...insertAt(shapeIdx, a.axis + 1, 1)).eq(arangeLike(g, n).reshape(...insertAt(out.shape.map(() => 1), a.axis + 1, n)));
    return [hit.expandTo(gE.shape).where(gE, 0).sum(a.axis), null];
  },
};

const gather: Def<'gather'> = {
  family: 'view',
  readsIndex: true,
  infer: (ins) => same(ins, ins[1].shape.slice()),
  source: (ix, out, n) => {
    const r = out.slice();
    r[n.attrs.axis] = ix.read(1, out, n.inputs[0].shape[n.attrs.axis] - 1);
    return one(r);
  },
  grad: (g, [x, index], out, a) => {
    const n = x.shape[a.axis];
    const gE = g.unsqueeze(a.axis + 1).expandTo(insertAt(out.shape, a.axis + 1, n));
    const ar = arangeLike(g, n).reshape(...insertAt(out.shape.map(() => 1), a.axis + 1, n));
    const hit = index.unsqueeze(a.axis + 1).eq(ar);
    return [hit.expandTo(gE.shape).where(gE, 0).sum(a.axis), null];
  },
};

const flip: Def<'flip'> = {
  family: 'view',
  infer: (ins) => same(ins, ins[0].shape.slice()),
  source: (ix, out, n) => one(out.map((o, d) => (n.attrs.dims.includes(d) ? ix.sub(ix.c(n.shape[d] - 1), o) : o))),
  grad: (g, _, __, a) => [g.flip(a.dims)],
};

const window: Def<'window'> = {
  family: 'view',
  infer: (ins, a) => { const [N, C] = ins[0].shape; return same(ins, [N, C, a.kh, a.kw, a.oh, a.ow]); },
  // x[n, c, p*sh + i*dh - pt, q*sw + j*dw - pl]
  source: (ix, [n, c, i, j, p, q], node) => {
    const a = node.attrs, [, , H, W] = node.inputs[0].shape;
    const h = ix.sub(ix.add(ix.mul(p, a.sh), ix.mul(i, a.dh)), a.pt);
    const w = ix.sub(ix.add(ix.mul(q, a.sw), ix.mul(j, a.dw)), a.pl);
    return one([n, c, h, w], ix.and(ix.lt(h, H), ix.lt(w, W)));
  },
  padValue: (a) => a.padValue,
  // the adjoint of taking windows: every window that read x[n, c, h, w] sends its gradient back
  grad: (g, [x], _, a) => {
    const [, , H, W] = x.shape;
    const { oh: _oh, ow: _ow, padValue: _p, ...w } = a;
    return [tensorClass(g).make('unwindow', [g], { ...w, h: H, w: W }).sum([4, 5])];
  },
};

const unwindow: Def<'unwindow'> = {
  family: 'view',
  infer: (ins, a) => { const [N, C] = ins[0].shape; return same(ins, [N, C, a.h, a.w, a.kh, a.kw]); },
  // g[n, c, i, j, (h + pt - i*dh) / sh, (w + pl - j*dw) / sw] where that lands on a window;
  // a negative offset wraps around to a large u32 and fails the range check
  source: (ix, [n, c, h, w, i, j], node) => {
    const a = node.attrs, [, , , , OH, OW] = node.inputs[0].shape;
    const p = ix.sub(ix.add(h, a.pt), ix.mul(i, a.dh)), q = ix.sub(ix.add(w, a.pl), ix.mul(j, a.dw));
    const valid = ix.and(ix.lt(p, OH * a.sh), ix.lt(q, OW * a.sw), ix.eq(ix.mod(p, a.sh), 0), ix.eq(ix.mod(q, a.sw), 0));
    return one([n, c, i, j, ix.div(p, a.sh), ix.div(q, a.sw)], valid);
  },
  // second derivatives through convolutions are not supported
};

export const VIEW_OPS: { [K in keyof ViewAttrs]: Def<K> } = { reshape, permute, expand, slice, pad, concat, indexSelect, gather, flip, window, unwindow };

// ------------------------------------------------------------------ helpers

/** Groups of dims (size-1 dims left out) with equal extents in two shapes of one size. */
export function reshapeGroups(a: Shape, b: Shape): [number[], number[]][] {
  const ia = a.map((_, i) => i).filter((i) => a[i] !== 1), ib = b.map((_, i) => i).filter((i) => b[i] !== 1);
  const groups: [number[], number[]][] = [];
  let x = 0, y = 0;
  while (x < ia.length && y < ib.length) {
    const ga = [ia[x++]], gb = [ib[y++]];
    let pa = a[ga[0]], pb = b[gb[0]];
    while (pa !== pb) {
      if (pa < pb) { ga.push(ia[x]); pa *= a[ia[x++]]; } else { gb.push(ib[y]); pb *= b[ib[y++]]; }
    }
    groups.push([ga, gb]);
  }
  return groups;
}

/** Strides for viewing (shape, strides) as newShape without a copy, or null (torch's computeStride). */
export function reshapeStrides(shape: readonly number[], strides: number[], newShape: readonly number[]): number[] | null {
  const out = new Array<number>(newShape.length).fill(0);
  if (shape.length === 0) return newShape.every((d) => d === 1) ? out : null;
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1];
  let tensorNumel = 1, viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    // a chunk ends where the next-outer dim is not contiguous with this one
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) { chunkBase = strides[d - 1]; tensorNumel = 1; viewNumel = 1; }
    }
  }
  return viewD === -1 ? out : null;
}

/** The identity layout of a buffer. */
export function contiguous(shape: Shape): Strided { return { offset: 0, strides: contiguousStrides(shape) }; }

function insertAt(shape: Shape, at: number, v: number): number[] { const r = shape.slice(); r.splice(at, 0, v); return r; }
function arangeLike(t: T, n: number): T { return tensorClass(t).arange(n); }

function stridedSliceGrad(g: T, inShape: Shape, starts: number[], steps: number[]): T {
  // place each element at stride `step` with a pad-then-reshape per axis
  let r = g;
  for (let ax = 0; ax < inShape.length; ax++) {
    const st = steps[ax];
    if (st === 1) continue;
    const n = r.shape[ax];
    const sh = r.shape.slice();
    r = r.unsqueeze(ax + 1);
    const before = sh.map(() => 0), after = sh.map(() => 0);
    before.splice(ax + 1, 0, 0); after.splice(ax + 1, 0, st - 1);
    r = r.pad(before, after).reshape(...sh.map((d, i) => (i === ax ? n * st : d)));
    const keep = Math.min(n * st, inShape[ax] - starts[ax]);
    const s0 = r.shape.map(() => 0), e0 = r.shape.slice(); e0[ax] = keep;
    r = r.slice(s0, e0);
  }
  return r.pad(starts, inShape.map((d, i) => d - starts[i] - r.shape[i]));
}

export type { ViewNode, IndexAlgebra };
