// Strided views: when a chain of reshape/permute/expand/slice over a buffer can be read with
// one offset and one stride per dim, kernels such as matmul read it in place, so a transpose
// or a broadcast never costs a copy.
import { type Node, contiguousStrides } from './ir.js';

export interface StridedView { base: Node; offset: number; strides: number[] }

export function stridedView(n: Node, isBase: (n: Node) => boolean): StridedView | null {
  if (isBase(n)) return { base: n, offset: 0, strides: contiguousStrides(n.shape) };
  const inner = () => stridedView(n.inputs[0], isBase);
  switch (n.op) {
    case 'permute': {
      const v = inner(); if (!v) return null;
      return { ...v, strides: n.attrs.dims.map((d: number) => v.strides[d]) };
    }
    case 'expand': {
      const v = inner(); if (!v) return null;
      const inShape = n.inputs[0].shape;
      return { ...v, strides: n.shape.map((_, i) => (inShape[i] === 1 && n.shape[i] !== 1 ? 0 : v.strides[i])) };
    }
    case 'slice': {
      const v = inner(); if (!v) return null;
      const off = v.offset + n.attrs.starts.reduce((s: number, st: number, i: number) => s + st * v.strides[i], 0);
      return { base: v.base, offset: off, strides: v.strides.map((s, i) => s * n.attrs.steps[i]) };
    }
    case 'reshape': {
      const v = inner(); if (!v) return null;
      const st = reshapeStrides(n.inputs[0].shape, v.strides, n.shape);
      return st ? { ...v, strides: st } : null;
    }
  }
  return null;
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
