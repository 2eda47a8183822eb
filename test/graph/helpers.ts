// Shared helpers for the graph tests: seeded leaf tensors whose float64 values are kept for
// the reference evaluator, and a tolerance check that names the worst element.
import * as kn from '../../src/index.js';
import type { Node } from '../../src/graph/ir.js';
import { evaluateReference } from '../../src/graph/reference.js';
import { normalArray, uniformArray, random } from '../../src/layers/random.js';
import { expectClose, type Tol } from '../compare.js';

export type Tensor = kn.Tensor;
export type { Tol };

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

/** The shared comparator (test/compare.ts): NaN and infinity only where expected. */
export function expectArrayClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, label: string): void {
  expectClose(got, want, tol, label);
}

/** Runs t on the GPU and compares with the float64 reference of the same graph. */
export async function expectMatchesReference(t: Tensor, leaves: Leaves, tol: Tol, label: string): Promise<Float64Array> {
  const got = await t.data();
  const want = leaves.reference(t);
  expectArrayClose(got, want, tol, `${label} shape [${t.shape}]`);
  return want;
}
