// A float64 reference evaluator for graphs (tests only). It walks every input of every
// node, realized or not, and computes each node with the reference in its op's entry
// (ops/index.ts): per element for elementwise ops, the index map on numbers for views, the
// op's own function for the rest. Leaves ('buffer' nodes, and assigns whose inputs were
// dropped once they ran) take their values from `leafValues`; fill it with the data the
// tensors were made from, or with `await tensor.data()`.
import { type Node, numel, ravelIndex, unravelIndex } from './ir.js';
import { castValue } from './dtype.js';
import { opOf } from './ops/index.js';
import type { IndexAlgebra } from './ops/types.js';

/** Values of `outputs` (and of every node on the way) in float64, by node. */
export function evaluateReference(outputs: Node[], leafValues: Map<Node, ArrayLike<number>> = new Map()): Map<Node, Float64Array> {
  const values = new Map<Node, Float64Array>();
  for (const n of dependencyOrder(outputs, leafValues)) {
    const given = leafValues.get(n);
    const v = given ? Float64Array.from(given) : evaluateNode(n, n.inputs.map((i) => values.get(i)!));
    if (v.length !== numel(n.shape)) throw new Error(`reference: ${n.op} node ${n.id} gave ${v.length} values for shape [${n.shape}]`);
    values.set(n, v);
  }
  return values;
}

/** Every node the outputs depend on, inputs first; leaves with given values are not descended. */
function dependencyOrder(roots: Node[], given: Map<Node, unknown>): Node[] {
  const order: Node[] = [], seen = new Set<Node>();
  const stack: [Node, number][] = roots.map((r) => [r, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i === 0) { if (seen.has(node)) { stack.pop(); continue; } seen.add(node); }
    const deps = given.has(node) ? [] : node.inputs;
    if (i < deps.length) { top[1]++; if (!seen.has(deps[i])) stack.push([deps[i], 0]); }
    else { stack.pop(); order.push(node); }
  }
  return order;
}

/** Index arithmetic on numbers with WGSL's u32 semantics (the lowering renders the same maps). */
function numberAlgebra(n: Node, ins: Float64Array[]): IndexAlgebra<number> {
  const u = (x: number) => x >>> 0;
  return {
    c: u,
    add: (a, b) => u(a + b),
    sub: (a, b) => u(a - b),
    mul: (a, b) => Math.imul(a, b) >>> 0,
    div: (a, b) => Math.floor(a / b),
    mod: (a, b) => a % b,
    lt: (a, b) => +(a < b),
    ge: (a, b) => +(a >= b),
    eq: (a, b) => +(a === b),
    and: (...cs) => +cs.every(Boolean),
    ravel: (dims, shape) => ravelIndex(dims, shape),
    unravel: (flat, shape) => unravelIndex(flat, shape),
    read: (input, dims, hi) => Math.min(Math.max(ins[input][ravelIndex(dims, n.inputs[input].shape)], 0), hi),
  };
}

function evaluateNode(n: Node, ins: Float64Array[]): Float64Array {
  const size = numel(n.shape);
  const def = opOf(n);
  switch (def.family) {
    case 'elementwise': {
      // the front end gives every input of an elementwise node the node's own shape
      const out = new Float64Array(size), args = new Array<number>(ins.length);
      for (let i = 0; i < size; i++) {
        for (let k = 0; k < ins.length; k++) args[k] = ins[k][i];
        const r = def.ref(args, n.attrs);
        // a result is a value of the node's dtype (float32 stays float64: the reference's precision)
        out[i] = n.dtype === 'float32' ? r : castValue(r, n.dtype);
      }
      return out;
    }
    case 'view': {
      const out = new Float64Array(size), ix = numberAlgebra(n, ins);
      const pad = def.padValue?.(n.attrs) ?? 0;
      for (let f = 0; f < size; f++) {
        const src = def.source(ix, unravelIndex(f, n.shape), n).find((s) => s.valid === undefined || s.valid);
        out[f] = src ? ins[src.input][ravelIndex(src.index, n.inputs[src.input].shape)] : pad;
      }
      return out;
    }
    case 'assign':
      if (n.inputs.length < 2) throw new Error(`reference: assign node ${n.id} already ran (its inputs are gone); pass its value in leafValues`);
      return ins[1].slice();
    default: return def.ref(n, ins);
  }
}

