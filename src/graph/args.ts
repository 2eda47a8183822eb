// Argument checks shared by the public functions: each error names the function, the
// argument, what it got and what was expected (DESIGN.md section 6).
import { Tensor } from './tensor.js';
import { shapeStr } from './ir.js';
import { scopeSuffix } from './state.js';

export function argError(fn: string, msg: string): Error {
  return new Error(`${fn}: ${msg}${scopeSuffix()}`);
}

/** A short description of any value, for error messages. */
export function describe(v: unknown): string {
  if (v instanceof Tensor) return `a tensor of shape ${shapeStr(v.shape)} (${v.dtype})`;
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (typeof v === 'string') return `'${v}'`;
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).join(', ')}}`;
  return String(v);
}

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
  for (const k of Object.keys(o)) if (!keys.includes(k as keyof O & string)) throw argError(fn, `unknown option '${k}'; expected ${form}`);
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
