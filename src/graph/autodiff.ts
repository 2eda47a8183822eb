// Reverse-mode differentiation as a graph transform: gradients are built from each op's
// gradient rule, which is written in other ops, so gradients of gradients come for free.
import { Node, shapeStr } from './ir.js';
import { Tensor, make } from './tensor.js';
import { opOf } from './ops/index.js';
import { noGrad, withAutocast } from './state.js';

/** The gradients of a node's inputs by its op's rule (none flows where the op has none). */
function opGradients(node: Node, g: Tensor): (Tensor | null)[] {
  const rule = opOf(node).grad;
  if (!rule) return node.inputs.map(() => null);
  return rule(g, node.inputs.map((n) => Tensor.fromNode(n)), Tensor.fromNode(node), node.attrs as never, node);
}

/**
 * Gives `out` (computed from `inputs` by some subgraph) its own gradient rule, as
 * jax.custom_vjp does: backward calls `rule(g)` for the gradients of `inputs` instead of
 * differentiating the subgraph. For ops built from others whose composed gradient is slow
 * (convolutions). `out` must be a node made for this purpose, not one of `inputs`.
 */
export function customGradient(out: Tensor, inputs: Tensor[], rule: (g: Tensor) => (Tensor | null)[]): Tensor {
  if (inputs.some((t) => t.node === out.node)) throw new Error('internal: customGradient needs a fresh output node');
  if (out.node.requiresGrad) out.node.customGrad = { inputs: inputs.map((t) => t.node), rule };
  return out;
}

/**
 * Gradients of `output` with respect to `wrt`. With `createGraph` the result is itself
 * differentiable (used by kn.grad for higher-order derivatives).
 */
export function gradients(output: Node, wrt: Node[], seed: Tensor, createGraph: boolean): (Tensor | null)[] {
  const stop = new Set(wrt);
  const order = topoSortUntil(output, stop);
  const grads = new Map<Node, Tensor>();
  grads.set(output, seed);
  const run = () => {
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const g = grads.get(node);
      if (!g || stop.has(node) || !node.requiresGrad || !node.inputs.length) continue;
      const custom = node.customGrad;
      const gs = custom ? custom.rule(g) : opGradients(node, g);
      (custom ? custom.inputs : node.inputs).forEach((inp, k) => {
        const gi = gs[k];
        if (!gi || !inp.requiresGrad) return;
        if (gi.shape.join() !== inp.shape.join()) throw new Error(`internal: gradient of ${node.op} input ${k} has shape ${shapeStr(gi.shape)}, expected ${shapeStr(inp.shape)}`);
        const prev = grads.get(inp);
        grads.set(inp, prev ? prev.add(gi) : gi);
      });
    }
  };
  // backward ops keep the dtypes of the forward ones: autocast does not apply to them (as PyTorch's)
  withAutocast(null, () => (createGraph ? run() : noGrad(run)));
  return wrt.map((n) => grads.get(n) ?? null);
}

/** Like topoSort, but does not descend below the nodes in `stop`. */
function topoSortUntil(root: Node, stop: Set<Node>): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const stack: [Node, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i === 0) { if (seen.has(node)) { stack.pop(); continue; } seen.add(node); }
    const deps = stop.has(node) || !node.requiresGrad ? [] : node.customGrad?.inputs ?? node.inputs;
    if (i < deps.length) { top[1]++; if (!seen.has(deps[i])) stack.push([deps[i], 0]); }
    else { stack.pop(); order.push(node); }
  }
  return order;
}

/** loss.backward(): accumulates into `.grad` of every leaf that requires grad. */
export function backward(t: Tensor, gradient?: Tensor): void {
  const out = t.node;
  if (!out.requiresGrad) throw new Error(`backward(): the tensor (shape ${shapeStr(t.shape)}) does not require grad: none of its inputs has requiresGrad set`);
  if (!gradient && t.numel() !== 1) throw new Error(`backward(): a gradient argument is needed for a non-scalar output of shape ${shapeStr(t.shape)}`);
  if (gradient && gradient.shape.join() !== t.shape.join()) throw new Error(`backward(): gradient shape ${shapeStr(gradient.shape)} does not match output shape ${shapeStr(t.shape)}`);
  const leaves = collectLeaves(out);
  const seed = gradient ?? make('const', [], { value: 1, shape: t.shape, dtype: 'float32' });
  const gs = gradients(out, leaves, seed, false);
  leaves.forEach((leaf, i) => {
    const g = gs[i];
    if (!g) return;
    const owner = leaf.leaf!;
    owner.grad = owner.grad ? owner.grad.add(g) : g;
  });
}

function collectLeaves(root: Node): Node[] {
  const out: Node[] = [];
  const seen = new Set<Node>();
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n) || !n.requiresGrad) continue;
    seen.add(n);
    if (n.leaf) { out.push(n); continue; }
    for (const i of n.inputs) stack.push(i);
  }
  return out;
}
