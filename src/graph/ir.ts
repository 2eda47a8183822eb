// The graph IR: typed SSA nodes with static shapes. A node is a value; once realized it
// owns a Storage (a slice of a GPU buffer) and acts as a leaf for later graphs.
import type { Storage } from '../runtime/buffers.js';
import type { Tensor } from './tensor.js';

import type { DType } from './dtype.js';
export { type DType, DTYPES } from './dtype.js';
export type Shape = readonly number[];

let nextId = 0;

// GPU memory follows JavaScript's garbage collector: a collected node gives its buffer back.
const collector = new FinalizationRegistry<Storage>((s) => s.buf.release());

export class Node {
  readonly id = nextId++;
  storage?: Storage;
  /** Set when an assign wrote over this version's storage: reading it again is an error. */
  overwritten = false;
  requiresGrad = false;
  /** the user-visible tensor that gradients for this node accumulate into (parameters, inputs) */
  leaf?: Tensor;
  /**
   * A gradient rule that replaces differentiating the subgraph behind this node (see
   * customGradient in autodiff.ts): gradients go straight to `inputs`.
   */
  customGrad?: { inputs: Node[]; rule: (g: Tensor) => (Tensor | null)[] };
  constructor(
    readonly op: string,
    public inputs: Node[],
    readonly attrs: Record<string, any>,
    readonly shape: Shape,
    readonly dtype: DType,
  ) {}
  get size(): number { return numel(this.shape); }
  setStorage(s: Storage): void {
    this.storage = s;
    collector.register(this, s, this);
  }
  releaseStorage(): void {
    if (!this.storage) return;
    collector.unregister(this);
    this.storage.buf.release();
    this.storage = undefined;
  }
  get realized(): boolean { return this.storage !== undefined; }
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

export function ravelIndex(idx: readonly number[], shape: Shape): number {
  let f = 0;
  for (let i = 0; i < shape.length; i++) f = f * shape[i] + idx[i];
  return f;
}

export function unravelIndex(flat: number, shape: Shape): number[] {
  const r = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) { r[i] = flat % shape[i]; flat = Math.floor(flat / shape[i]); }
  return r;
}

export function shapeStr(shape: Shape): string { return `[${shape.join(', ')}]`; }

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting of two shapes; null when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Topological order of the unrealized nodes reachable from roots (realized nodes are leaves). */
export function topoSort(roots: Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const stack: [Node, number][] = roots.map((r) => [r, 0]);
  // iterative DFS: deep graphs (long RNN unrolls) must not overflow the JS stack
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i === 0) {
      if (seen.has(node)) { stack.pop(); continue; }
      seen.add(node);
    }
    const deps = node.realized ? [] : node.inputs;
    if (i < deps.length) { top[1]++; if (!seen.has(deps[i])) stack.push([deps[i], 0]); }
    else { stack.pop(); order.push(node); }
  }
  return order;
}
