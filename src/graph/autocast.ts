// kn.autocast, PyTorch's automatic mixed precision. Inside it, ops on PyTorch's CUDA
// lower-precision list (matmul and linear, the convolutions, scaled-dot-product attention)
// cast their floating inputs to float16 and return float16 (their kernels accumulate in
// float32), and ops on its float32 list (sum, softmax and log-softmax, layer/group/RMS norm,
// the losses, exp, log, pow, rsqrt, softplus) cast float16 inputs up to float32. Every other
// op runs in its inputs' dtype, promoting as usual (float16 + float32 is float32). Each op
// applies its rule at its front end through autocastInputs; gradients flow back through the
// casts, and backward runs with autocast off, so its ops keep the forward's dtypes (as
// PyTorch's backward does).
import type { Tensor } from './tensor.js';
import { isFloat, isDType } from './dtype.js';
import { state, withAutocast, type AutocastDType } from './state.js';

/** Which of PyTorch's autocast lists an op is on. */
export type AutocastKind = 'lowerPrecision' | 'float32';

/** Elementwise ops on PyTorch's float32 list (__pow__, exp, log, rsqrt, softplus, ...) that Kiln has. */
const FLOAT32_ELEMENTWISE = new Set(['exp', 'log', 'pow', 'rsqrt', 'softplus']);

/**
 * The inputs of an op on autocast list `kind`, cast as that list says when autocast is on
 * (floating tensors only: integer and bool tensors, nulls and numbers pass through).
 */
export function autocastInputs<T extends readonly (Tensor | null | undefined)[]>(kind: AutocastKind, tensors: T): T {
  const to = state.autocast;
  if (!to) return tensors;
  const want = kind === 'lowerPrecision' ? to : 'float32';
  // anything but a floating tensor passes through (a bad argument is the op's own check to report)
  return tensors.map((t) => (t && typeof t === 'object' && isDType(t.dtype) && isFloat(t.dtype) && t.dtype !== want ? t.cast(want) : t)) as unknown as T;
}

/** The arguments of elementwise op `op` under autocast: float16 tensors cast up for the ops on the float32 list. */
export function autocastElementwise<A extends readonly (Tensor | number)[]>(op: string, args: A): A {
  if (!state.autocast || !FLOAT32_ELEMENTWISE.has(op)) return args;
  return args.map((a) => (a && typeof a === 'object' && a.dtype === 'float16' ? a.cast('float32') : a)) as unknown as A;
}

export interface AutocastOptions {
  /** the lower-precision dtype; only 'float16' (Kiln has no bfloat16) */
  dtype?: AutocastDType;
  /** false turns autocast off inside fn (also inside an enclosing autocast), as PyTorch's */
  enabled?: boolean;
}

/**
 * Runs fn with autocast on (PyTorch's `with torch.autocast('cuda', dtype=torch.float16)`) and
 * returns its result. Calls nest: the previous setting is restored after fn. Only what fn
 * records synchronously is under autocast (a compiled function called inside records the
 * setting at the call and traces under it).
 */
export function autocast<R>(fn: () => R, opts: AutocastOptions = {}): R {
  if (typeof fn !== 'function') throw new Error(`autocast: fn must be a function, got ${fn === null ? 'null' : typeof fn}`);
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new Error(`autocast: options must be an object {dtype, enabled}, got ${JSON.stringify(opts)}`);
  for (const k of Object.keys(opts)) if (k !== 'dtype' && k !== 'enabled') throw new Error(`autocast: unknown option '${k}'; expected dtype or enabled`);
  const { dtype = 'float16', enabled = true } = opts;
  if (dtype !== 'float16') throw new Error(`autocast: dtype must be 'float16', got ${JSON.stringify(dtype)}${dtype === ('bfloat16' as string) ? ' (Kiln has no bfloat16)' : ''}`);
  if (typeof enabled !== 'boolean') throw new Error(`autocast: enabled must be true or false, got ${JSON.stringify(enabled)}`);
  return withAutocast(enabled ? dtype : null, fn);
}

/** PyTorch's torch.is_autocast_enabled(). */
export function isAutocastEnabled(): boolean { return state.autocast !== null; }

/** The autocast setting as part of a trace key (kn.compile retraces when it changes). */
export function autocastKey(): string { return `autocast=${state.autocast ?? 'off'}`; }
