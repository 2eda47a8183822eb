// The non-elementwise ops: shape rules, float64 references and gradients. Their lowering
// lives in src/shaders (view ops become index arithmetic inside whatever kernel reads them).
import type { Tensor } from '../tensor.js';
import { Node, type Shape, numel, contiguousStrides } from '../ir.js';

type T = Tensor;

export type Family = 'source' | 'elementwise' | 'view' | 'reduce' | 'matmul' | 'rows' | 'attention' | 'assign';

/** Which family each non-elementwise op belongs to. */
export const FAMILY: Record<string, Family> = {
  buffer: 'source', const: 'source', arange: 'source', rand: 'source',
  reshape: 'view', permute: 'view', expand: 'view', slice: 'view', pad: 'view', concat: 'view',
  indexSelect: 'view', gather: 'view', window: 'view', unwindow: 'view',
  sum: 'reduce', max: 'reduce', min: 'reduce', argmax: 'reduce', argmin: 'reduce',
  matmul: 'matmul',
  softmax: 'rows', crossEntropyRows: 'rows', moments: 'rows', sumDot: 'rows',
  attention: 'attention', attentionGradQ: 'attention', attentionGradKV: 'attention', // ops/attention.ts
  assign: 'assign',
};

// ---------------------------------------------------------------- view ops: index maps
/** Where output element `out` of a view node reads from: [input number, index in it] or null (padding). */
export function viewSource(node: Node, out: number[], readIndex: (input: number, flat: number) => number): [number, number[]] | null {
  const a = node.attrs, inShape = node.inputs[0]?.shape ?? [];
  switch (node.op) {
    case 'reshape': return [0, unravel(ravel(out, node.shape), inShape)];
    case 'permute': { const r = new Array(out.length); a.dims.forEach((d: number, i: number) => { r[d] = out[i]; }); return [0, r]; }
    case 'expand': return [0, out.map((o, i) => (inShape[i] === 1 ? 0 : o))];
    case 'slice': return [0, out.map((o, i) => a.starts[i] + o * a.steps[i])];
    case 'pad': {
      const r = out.map((o, i) => o - a.before[i]);
      return r.every((v, i) => v >= 0 && v < inShape[i]) ? [0, r] : null;
    }
    case 'concat': {
      let o = out[a.axis];
      for (let k = 0; k < node.inputs.length; k++) {
        const n = node.inputs[k].shape[a.axis];
        if (o < n) { const r = out.slice(); r[a.axis] = o; return [k, r]; }
        o -= n;
      }
      throw new Error('concat index out of range');
    }
    case 'indexSelect': {
      const r = out.slice(); r[a.axis] = readIndex(1, out[a.axis]); return [0, r];
    }
    case 'gather': {
      const r = out.slice(); r[a.axis] = readIndex(1, ravel(out, node.inputs[1].shape)); return [0, r];
    }
    case 'window': {
      // [N, C, KH, KW, OH, OW] <- x[N, C, H, W]: element (n, c, i, j, p, q) is x[n, c, h, w]
      const [n, c, i, j, p, q] = out;
      const h = p * a.sh + i * a.dh - a.pt, w = q * a.sw + j * a.dw - a.pl;
      return h >= 0 && h < inShape[2] && w >= 0 && w < inShape[3] ? [0, [n, c, h, w]] : null;
    }
    case 'unwindow': {
      // [N, C, H, W, KH, KW] <- g[N, C, KH, KW, OH, OW]: the windows that read x[n, c, h, w]
      const [n, c, h, w, i, j] = out;
      const p = h + a.pt - i * a.dh, q = w + a.pl - j * a.dw;
      const ok = p >= 0 && q >= 0 && p % a.sh === 0 && q % a.sw === 0 && p / a.sh < inShape[4] && q / a.sw < inShape[5];
      return ok ? [0, [n, c, i, j, p / a.sh, q / a.sw]] : null;
    }
  }
  throw new Error(`not a view op: ${node.op}`);
}

/** Attributes shared by window and unwindow: kernel, stride, dilation, top/left padding. */
export interface WindowAttrs { kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; padValue?: number }

export function ravel(idx: readonly number[], shape: Shape): number {
  let f = 0;
  for (let i = 0; i < shape.length; i++) f = f * shape[i] + idx[i];
  return f;
}
export function unravel(flat: number, shape: Shape): number[] {
  const r = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) { r[i] = flat % shape[i]; flat = Math.floor(flat / shape[i]); }
  return r;
}

/** Gradients of view ops, in other ops. */
export function viewGrad(node: Node, g: T, inputs: T[]): (T | null)[] {
  const a = node.attrs, x = inputs[0];
  switch (node.op) {
    case 'reshape': return [g.reshape(...x.shape)];
    case 'permute': { const inv = new Array(a.dims.length); a.dims.forEach((d: number, i: number) => { inv[d] = i; }); return [g.permute(...inv)]; }
    case 'expand': {
      const axes = x.shape.map((d, i) => (d === 1 && node.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
      return [axes.length ? g.sum(axes, true) : g];
    }
    case 'slice': {
      if (a.steps.some((s: number) => s !== 1)) {
        // strided slice: scatter by padding each kept element; done through a reshape trick per axis
        return [stridedSliceGrad(g, x.shape, a.starts, a.steps)];
      }
      const before = a.starts, after = x.shape.map((d, i) => d - a.starts[i] - node.shape[i]);
      return [g.pad(before, after)];
    }
    case 'pad': return [g.slice(a.before, x.shape.map((d, i) => a.before[i] + d))];
    case 'concat': {
      let off = 0;
      return inputs.map((inp) => {
        const starts = node.shape.map(() => 0), ends = node.shape.slice();
        starts[a.axis] = off; ends[a.axis] = off + inp.shape[a.axis]; off += inp.shape[a.axis];
        return g.slice(starts, ends);
      });
    }
    case 'indexSelect': {
      // grad[.., i, ..] = sum_j [index[j] == i] g[.., j, ..]: a masked reduction, no atomics needed
      const n = x.shape[a.axis], m = inputs[1].shape[0];
      const gE = g.unsqueeze(a.axis + 1).expandTo(insertAt(node.shape, a.axis + 1, n));
      const shapeIdx = node.shape.map(() => 1); shapeIdx[a.axis] = m;
      const hit = inputs[1].reshape(...insertAt(shapeIdx, a.axis + 1, 1)).eq(arangeLike(g, n).reshape(...insertAt(node.shape.map(() => 1), a.axis + 1, n)));
      return [hit.expandTo(gE.shape).where(gE, 0).sum(a.axis), null];
    }
    case 'window': {
      // the adjoint of taking windows: every window that read x[n, c, h, w] sends its gradient back
      const [N, C, H, W] = x.shape;
      const un = new Node('unwindow', [g.node], { ...a, padValue: 0 }, [N, C, H, W, a.kh, a.kw], g.dtype);
      un.requiresGrad = g.requiresGrad;
      return [(g.constructor as typeof import('../tensor.js').Tensor).fromNode(un).sum([4, 5])];
    }
    case 'unwindow': return [null]; // second derivatives through convolutions are not supported
    case 'gather': {
      const n = x.shape[a.axis];
      const gE = g.unsqueeze(a.axis + 1).expandTo(insertAt(node.shape, a.axis + 1, n));
      const ar = arangeLike(g, n).reshape(...insertAt(node.shape.map(() => 1), a.axis + 1, n));
      const hit = inputs[1].unsqueeze(a.axis + 1).eq(ar);
      return [hit.expandTo(gE.shape).where(gE, 0).sum(a.axis), null];
    }
  }
  throw new Error(`not a view op: ${node.op}`);
}

function insertAt(shape: Shape, at: number, v: number): number[] { const r = shape.slice(); r.splice(at, 0, v); return r; }
function arangeLike(t: T, n: number): T { return (t.constructor as any).arange(n); }

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
  const before = starts.map((s, i) => (steps[i] === 1 ? s : s));
  const after = inShape.map((d, i) => d - before[i] - r.shape[i]);
  return r.pad(before, after);
}

// ---------------------------------------------------------------- references (float64, tests only)
export type RefValue = { shape: Shape; data: Float64Array };

export function refReduce(op: string, x: RefValue, axes: number[]): Float64Array {
  const keep = x.shape.map((_, i) => !axes.includes(i));
  const outShape = x.shape.filter((_, i) => keep[i]);
  const n = numel(outShape);
  const init = op === 'sum' ? 0 : op === 'max' || op === 'argmax' ? -Infinity : Infinity;
  const best = new Float64Array(n).fill(init), arg = new Float64Array(n), count = new Float64Array(n);
  const xs = x.shape;
  for (let f = 0; f < x.data.length; f++) {
    const idx = unravel(f, xs);
    const kIdx = idx.filter((_, i) => keep[i]);
    const rIdx = idx.filter((_, i) => !keep[i]);
    const o = ravel(kIdx, outShape);
    const v = x.data[f];
    const r = ravel(rIdx, xs.filter((_, i) => !keep[i]));
    if (op === 'sum') best[o] += v;
    else if (op === 'max' || op === 'argmax') { if (v > best[o] || Number.isNaN(v)) { best[o] = v; arg[o] = r; } }
    else if (v < best[o] || Number.isNaN(v)) { best[o] = v; arg[o] = r; }
    count[o]++;
  }
  return op === 'argmax' || op === 'argmin' ? arg : best;
}

export function refMatmul(a: RefValue, b: RefValue): Float64Array {
  const [B, M, K] = a.shape, N = b.shape[2];
  const out = new Float64Array(B * M * N);
  for (let bi = 0; bi < B; bi++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a.data[(bi * M + i) * K + k] * b.data[(bi * K + k) * N + j];
        out[(bi * M + i) * N + j] = s;
      }
  return out;
}

export function refRows(node: Node, inputs: RefValue[]): Float64Array {
  const x = inputs[0];
  const C = x.shape[x.shape.length - 1], R = numel(x.shape) / C;
  const out = new Float64Array(node.op === 'softmax' ? R * C : node.op === 'moments' || node.op === 'sumDot' ? R * 2 : R);
  for (let r = 0; r < R; r++) {
    const row = x.data.subarray(r * C, r * C + C);
    if (node.op === 'sumDot') {
      const y = inputs[1].data.subarray(r * C, r * C + C);
      let s = 0, d = 0;
      for (let c = 0; c < C; c++) { s += row[c]; d += row[c] * y[c]; }
      out[r * 2] = s; out[r * 2 + 1] = d;
      continue;
    }
    if (node.op === 'moments') {
      let mean = 0, q = 0;
      for (const v of row) mean += v;
      mean /= C;
      for (const v of row) q += (v - mean) ** 2;
      out[r * 2] = mean; out[r * 2 + 1] = q / C;
      continue;
    }
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    const lse = m + Math.log(s);
    if (node.op === 'softmax') {
      for (let c = 0; c < C; c++) out[r * C + c] = node.attrs.log ? row[c] - lse : Math.exp(row[c] - lse);
    } else {
      const t = inputs[1].data[r], { labelSmoothing: ls, ignoreIndex } = node.attrs;
      if (t === ignoreIndex) { out[r] = 0; continue; }
      let mean = 0;
      for (const v of row) mean += v;
      mean /= C;
      out[r] = (1 - ls) * (lse - row[t]) + ls * (lse - mean);
    }
  }
  return out;
}

export { contiguousStrides };
