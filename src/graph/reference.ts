// A float64 reference evaluator for graphs (tests only). It walks every input of every
// node, realized or not, and computes each node with the reference that lives beside its op:
// ELEMENTWISE[op].ref per element, viewSource for view ops, refReduce, refMatmul, refRows.
// Leaves ('buffer' nodes, and assigns whose inputs were dropped once they ran) take their
// values from `leafValues`; fill it with the data the tensors were made from, or with
// `await tensor.data()`.
import { type Node, numel } from './ir.js';
import { ELEMENTWISE } from './ops/elementwise.js';
import { castValue } from './dtype.js';
import { FAMILY, viewSource, ravel, unravel, refReduce, refMatmul, refRows, type RefValue } from './ops/structural.js';
import { refAttention } from './ops/attention.js';

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

function evaluateNode(n: Node, ins: Float64Array[]): Float64Array {
  const size = numel(n.shape);
  const ew = ELEMENTWISE[n.op];
  if (ew) {
    // the front end gives every input of an elementwise node the node's own shape
    const out = new Float64Array(size), args = new Array<number>(ins.length);
    for (let i = 0; i < size; i++) {
      for (let k = 0; k < ins.length; k++) args[k] = ins[k][i];
      const r = ew.ref(args, n.attrs);
      // a result is a value of the node's dtype (float32 stays float64: the reference's precision)
      out[i] = n.dtype === 'float32' ? r : castValue(r, n.dtype);
    }
    return out;
  }
  const ref = (k: number): RefValue => ({ shape: n.inputs[k].shape, data: ins[k] });
  switch (n.op) {
    // a float32 constant holds the float32 value nearest attrs.value (0.1 is not 0.1)
    case 'const': return new Float64Array(size).fill(castValue(n.attrs.value, n.dtype));
    case 'arange': return Float64Array.from({ length: size }, (_, i) => i);
    case 'buffer': throw new Error(`reference: buffer node ${n.id} (shape [${n.shape}]) has no value in leafValues`);
    case 'rand': throw new Error('reference: rand is not supported (its values come from the device hash); pass its value in leafValues');
    case 'assign':
      if (n.inputs.length < 2) throw new Error(`reference: assign node ${n.id} already ran (its inputs are gone); pass its value in leafValues`);
      return ins[1].slice();
  }
  switch (FAMILY[n.op]) {
    case 'view': {
      const out = new Float64Array(size);
      const readIndex = (k: number, flat: number) => ins[k][flat];
      for (let f = 0; f < size; f++) {
        const src = viewSource(n, unravel(f, n.shape), readIndex);
        out[f] = src ? ins[src[0]][ravel(src[1], n.inputs[src[0]].shape)] : (n.attrs.padValue ?? 0);
      }
      return out;
    }
    // a float16 sum or product is rounded once, as the kernels round it when they store it
    case 'reduce': return roundTo(n, refReduce(n.op, ref(0), n.attrs.axes));
    case 'matmul': return roundTo(n, refMatmul(ref(0), ref(1)));
    case 'rows': return refRows(n, ins.map((_, k) => ref(k)));
    case 'attention': return refAttention(n, ins);
  }
  throw new Error(`reference: no float64 reference for op '${n.op}'`);
}

/** Values as the node's dtype holds them (float32 stays float64: the reference's precision). */
function roundTo(n: Node, v: Float64Array): Float64Array {
  return n.dtype === 'float32' ? v : v.map((x) => castValue(x, n.dtype));
}
