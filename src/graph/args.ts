// Argument checks shared by the public functions: each error names the function, the
// argument, what it got and what was expected (DESIGN.md section 6).
import { Tensor } from './tensor.js';
import { shapeStr } from './ir.js';
import { scopeSuffix } from './state.js';

export function argError(fn: string, msg: string): Error {
  return new Error(`${fn}: ${msg}${scopeSuffix()}`);
}

/** A short description of any value, for error messages: `'abc'`, `Float32Array(3)`, `[1, 2]`. */
export function describe(v: unknown): string {
  if (v instanceof Tensor) return `a tensor of shape ${shapeStr(v.shape)} (${v.dtype})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})`;
  if (Array.isArray(v)) return v.length > 8 ? `an array of ${v.length}` : `[${v.map(describe).join(', ')}]`;
  if (typeof v === 'string') return `'${v}'`;
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).join(', ')}}`;
  return String(v);
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The trailing options object of `fn`: undefined gives {}; a number (PyTorch's positional
 * habit) or an unknown key is an error that shows the expected form.
 */
export function options<O extends object>(fn: string, o: O | undefined, keys: readonly (keyof O & string)[]): O {
  const form = `${fn}(..., {${keys.join(', ')}})`;
  if (o === undefined || o === null) return {} as O;
  if (typeof o !== 'object' || Array.isArray(o) || o instanceof Tensor) {
    throw argError(fn, `optional arguments go in an options object, as ${form}; got ${describe(o)}`);
  }
  for (const k of Object.keys(o)) {
    if (keys.includes(k as keyof O & string)) continue;
    // PyTorch's snake_case names have camelCase twins here
    const hint = keys.includes(camel(k) as keyof O & string) ? ` (did you mean '${camel(k)}'?)` : '';
    throw argError(fn, `unknown option '${k}'${hint}; expected ${form}`);
  }
  return o;
}

export function checkInt(fn: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw argError(fn, `${name} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got ${describe(v)}`);
  }
  return v;
}

export function checkNumber(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw argError(fn, `${name} must be a number, got ${describe(v)}`);
  return v;
}

export function checkTensor(fn: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) throw argError(fn, `${name} must be a tensor, got ${describe(v)}`);
  return v;
}

/** A finite number argument. */
export function checkFinite(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw argError(fn, `${name} must be a finite number, got ${describe(v)}`);
  return v;
}

/** PyTorch's size arguments, `f(2, 3)` or `f([2, 3])`, either followed by an options object. */
export function sizeArgs<O extends object>(fn: string, args: unknown[]): { shape: number[]; opts: O | undefined } {
  const last = args[args.length - 1];
  const hasOpts = last !== null && typeof last === 'object' && !Array.isArray(last) && !(last instanceof Tensor);
  const sizes = hasOpts ? args.slice(0, -1) : args;
  const shape = sizes.length === 1 && Array.isArray(sizes[0]) ? sizes[0] as unknown[] : sizes;
  if (shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw argError(fn, `size must be non-negative integers, as ${fn}(2, 3) or ${fn}([2, 3]); got ${describe(shape)}`);
  }
  return { shape: shape as number[], opts: hasOpts ? (last as O) : undefined };
}
