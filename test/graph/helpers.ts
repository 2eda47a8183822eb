// Shared helpers for the graph tests: seeded leaf tensors whose float64 values are kept for
// the reference evaluator, and a tolerance check that names the worst element.
import { expect } from 'vitest';
import * as kn from '../../src/index.js';
import type { Node } from '../../src/graph/ir.js';
import { evaluateReference } from '../../src/graph/reference.js';
import { normalArray, uniformArray, random } from '../../src/layers/random.js';

export type Tensor = kn.Tensor;
export interface Tol { rtol: number; atol: number }

/** Leaf tensors made from seeded data, with their exact values kept in float64. */
export class Leaves {
  readonly values = new Map<Node, Float64Array>();
  private add(t: Tensor, data: ArrayLike<number>): Tensor { this.values.set(t.node, Float64Array.from(data)); return t; }
  randn(shape: number[], opts: { requiresGrad?: boolean; scale?: number; shift?: number } = {}): Tensor {
    const { scale = 1, shift = 0 } = opts;
    const d = normalArray(count(shape)).map((v) => Math.fround(v * scale + shift));
    return this.add(kn.tensor(d, shape, { requiresGrad: opts.requiresGrad }), d);
  }
  uniform(shape: number[], lo: number, hi: number, opts: { requiresGrad?: boolean } = {}): Tensor {
    const d = uniformArray(count(shape), lo, hi);
    return this.add(kn.tensor(d, shape, { requiresGrad: opts.requiresGrad }), d);
  }
  /** int32 values in [0, n) */
  ints(shape: number[], n: number): Tensor {
    const d = Int32Array.from({ length: count(shape) }, () => Math.floor(random() * n));
    return this.add(kn.tensor(d, shape, { dtype: 'int32' }), d);
  }
  bools(shape: number[], p = 0.5): Tensor {
    const d = Array.from({ length: count(shape) }, () => (random() < p ? 1 : 0));
    return this.add(kn.tensor(d, shape, { dtype: 'bool' }), d);
  }
  /** floats from a small set, so that ties and equalities really happen */
  grid(shape: number[], levels = 5): Tensor {
    const d = Float32Array.from({ length: count(shape) }, () => Math.floor(random() * levels) - Math.floor(levels / 2));
    return this.add(kn.tensor(d, shape), d);
  }
  reference(t: Tensor): Float64Array { return evaluateReference([t.node], this.values).get(t.node)!; }
}

export const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Largest |got - want| / (atol + rtol |want|); <= 1 passes. NaN matches NaN, ±Inf must match exactly. */
export function worst(got: ArrayLike<number>, want: ArrayLike<number>, { rtol, atol }: Tol): { ratio: number; index: number } {
  let ratio = 0, index = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    let r: number;
    if (Number.isNaN(w) || Number.isNaN(g)) r = Number.isNaN(w) && Number.isNaN(g) ? 0 : Infinity;
    else if (!Number.isFinite(w) || !Number.isFinite(g)) r = g === w ? 0 : Infinity;
    else r = Math.abs(g - w) / (atol + rtol * Math.abs(w));
    if (r > ratio || index < 0) { if (r >= ratio) { ratio = r; index = i; } }
  }
  return { ratio, index };
}

export function expectArrayClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const { ratio, index } = worst(got, want, tol);
  if (!(ratio <= 1)) {
    throw new Error(`${label}: element ${index} is ${got[index]}, expected ${want[index]} (rtol ${tol.rtol}, atol ${tol.atol}; error ${ratio.toExponential(2)}x the tolerance)`);
  }
}

/** Runs t on the GPU and compares with the float64 reference of the same graph. */
export async function expectMatchesReference(t: Tensor, leaves: Leaves, tol: Tol, label: string): Promise<Float64Array> {
  const got = await t.data();
  const want = leaves.reference(t);
  expectArrayClose(got, want, tol, `${label} shape [${t.shape}]`);
  return want;
}
