// Strided views: when a chain of views over a buffer can be read with one offset and one
// stride per dim (each view op says how, ops/view.ts), kernels such as matmul read it in
// place, so a transpose or a broadcast never costs a copy.
import { type Node, contiguousStrides } from './ir.js';
import { opOf, node } from './ops/index.js';

export interface StridedView { base: Node; offset: number; strides: number[] }

export function stridedView(n: Node, isBase: (n: Node) => boolean): StridedView | null {
  if (isBase(n)) return { base: n, offset: 0, strides: contiguousStrides(n.shape) };
  const def = opOf(n);
  if (def.family !== 'view' || !def.strided) return null;
  const v = stridedView(n.inputs[0], isBase);
  if (!v) return null;
  const r = def.strided(v, n);
  return r && { base: v.base, ...r };
}

/** A chain of strided views (reshape, permute, expand, slice) ends at a node other than a view. */
export function isStridedViewOp(n: Node): boolean {
  const def = opOf(n);
  return def.family === 'view' && def.strided !== undefined;
}

/** The node itself, or a copy of it when it is an unrealized strided view: reading a view of
 * stored data (a parameter inside an optimizer's arena) must not give the view storage of its
 * own, which would freeze it at today's value. */
export function readable(n: Node): Node {
  return n.realized || !isStridedViewOp(n) ? n : node('copy', [n], {});
}
