// Argument checks for this folder: each error names the function, the argument, what it got
// and what was expected (graph/args.ts holds the general ones).
import { Tensor } from '../graph/tensor.js';
import { shapeStr } from '../graph/ir.js';
import { describe } from '../graph/args.js';

/** A float32 tensor that is not disposed. */
export function checkTensor(fn: string, name: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${fn}: ${name} must be a Tensor, got ${describe(t)}`);
  if (t.isDisposed) throw new Error(`${fn}: ${name} is a disposed Tensor`);
  if (t.dtype !== 'float32') throw new Error(`${fn}: ${name} must be float32, got dtype ${t.dtype}`);
  return t;
}

/** Throws unless `t` has `shape` (-1 matches any size). */
export function checkShapeIs(fn: string, name: string, t: Tensor, shape: number[], why = ''): void {
  const ok = t.ndim === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) {
    const want = `[${shape.map((d) => (d === -1 ? 'N' : d)).join(', ')}]`;
    throw new Error(`${fn}: ${name} must have shape ${want}${why}, got ${shapeStr(t.shape)}`);
  }
}

/** One of `allowed` (strings). */
export function checkChoice<T extends string>(fn: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new Error(`${fn}: ${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describe(v)}`);
  return v as T;
}

/** A finite number in [lo, hi] (either end open when `open` says so). */
export function checkRange(fn: string, name: string, v: unknown, lo: number, hi: number, open: { lo?: boolean; hi?: boolean } = {}): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && (open.lo ? v > lo : v >= lo) && (open.hi ? v < hi : v <= hi);
  if (!ok) throw new Error(`${fn}: ${name} must be a number in ${open.lo ? '(' : '['}${lo}, ${hi}${open.hi ? ')' : ']'}, got ${describe(v)}`);
  return v as number;
}
