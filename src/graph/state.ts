// Engine-wide state of the graph layer: grad mode, autocast, the layer-name scope used in
// error messages, pending assigns, and the trace that kn.compile records into.
import type { Node } from './ir.js';

/** The lower-precision dtypes autocast can run in (PyTorch's CUDA autocast also has bfloat16, which Kiln lacks). */
export type AutocastDType = 'float16';

export const state = {
  gradEnabled: true,
  /** kn.autocast: the dtype that ops on the lower-precision list run in, or null when off */
  autocast: null as AutocastDType | null,
  scopes: [] as string[],
  /** assign nodes not yet realized, in the order they were made */
  pendingAssigns: [] as Node[],
  /** unrealized tensors the user may still read: computed before an assign overwrites their inputs */
  live: new Set<WeakRef<{ node: Node; isDisposed: boolean }>>(),
  /** set while kn.compile traces a function */
  tracing: false,
  /** while kn.compile traces: the host values the trace depended on (guards, checked per call) */
  guards: null as Guard[] | null,
  /** while kn.compile traces: how to undo each assign's rebinding, should the trace throw */
  undo: null as (() => void)[] | null,
  /** when false every op gets its own kernel: the unfused path, for testing fusion */
  fusion: true,
  /** when false, kernels that can use subgroup operations use their workgroup-memory fallback */
  subgroups: true,
};

/** A host value a trace read: the trace is reused only while `read()` still gives `value`. */
export interface Guard { what: string; value: unknown; read: () => unknown }

/** Records that the trace being recorded (if any) depends on a host value. */
export function guard(what: string, value: unknown, read: () => unknown): void {
  state.guards?.push({ what, value, read });
}

export function scopeSuffix(): string {
  return state.scopes.length ? ` (in ${state.scopes.join(' > ')})` : '';
}

export function withScope<R>(name: string, fn: () => R): R {
  state.scopes.push(name);
  try { return fn(); } finally { state.scopes.pop(); }
}

export function noGrad<R>(fn: () => R): R {
  const prev = state.gradEnabled;
  state.gradEnabled = false;
  try { return fn(); } finally { state.gradEnabled = prev; }
}

/** Runs fn with autocast set to `dtype` (null: off), restoring the previous setting after, so calls nest. */
export function withAutocast<R>(dtype: AutocastDType | null, fn: () => R): R {
  const prev = state.autocast;
  state.autocast = dtype;
  try { return fn(); } finally { state.autocast = prev; }
}
