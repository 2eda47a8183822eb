// kn.grad: the functional gradient transform (like jax.grad). The result is differentiable
// again, so kn.grad(kn.grad(f)) gives second derivatives.
import { node } from './ops/index.js';
import { Tensor, make } from './tensor.js';
import { gradients } from './autodiff.js';
import { isFloat } from './dtype.js';

export function grad(fn: (...args: Tensor[]) => Tensor, opts?: { argnums?: number }): (...args: Tensor[]) => Tensor;
export function grad(fn: (...args: Tensor[]) => Tensor, opts: { argnums: number[] }): (...args: Tensor[]) => Tensor[];
export function grad(fn: (...args: Tensor[]) => Tensor, { argnums = 0 }: { argnums?: number | number[] } = {}): (...args: Tensor[]) => Tensor | Tensor[] {
  const which = Array.isArray(argnums) ? argnums : [argnums];
  return (...args: Tensor[]) => {
    for (const i of which) {
      if (!(args[i] instanceof Tensor)) throw new Error(`grad: argument ${i} must be a Tensor`);
      if (!isFloat(args[i].dtype)) throw new Error(`grad: argument ${i} must be floating point, got ${args[i].dtype}`);
    }
    // a fresh identity node per differentiated argument marks where gradients are collected
    const wrapped = args.map((a, i) => {
      if (!which.includes(i)) return a;
      const n = node('reshape', [a.node], { shape: a.shape });
      n.requiresGrad = true;
      return new Tensor(n);
    });
    const out = fn(...wrapped);
    if (!(out instanceof Tensor) || out.numel() !== 1) throw new Error(`grad: the function must return a scalar tensor, got ${out instanceof Tensor ? `shape [${out.shape}]` : typeof out}`);
    const seed = make('const', [], { value: 1, shape: out.shape, dtype: 'float32' });
    const gs = out.node.requiresGrad
      ? gradients(out.node, which.map((i) => wrapped[i].node), seed, true)
      : which.map(() => null);
    const res = gs.map((g, k) => g ?? make('const', [], { value: 0, shape: wrapped[which[k]].shape, dtype: 'float32' }));
    return Array.isArray(argnums) ? res : res[0];
  };
}
