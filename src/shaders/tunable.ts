// Kernel configurations as data. A tunable emitter says which configurations it can take for a
// problem (its candidates: all compute the same result, only the speed differs) and which one it
// uses untuned (its default: the hand-set rule measured on this project's machines). The tuner
// (src/graph/tuning.ts) measures the candidates per adapter and caches the fastest.

/** What a configuration may depend on besides the problem. */
export interface AdapterTraits {
  /** a CPU adapter (SwiftShader, llvmpipe): kernel shapes that suit SIMD lanes */
  software: boolean;
  /** maxComputeInvocationsPerWorkgroup */
  maxInvocations: number;
}

export interface Tunable<P, C> {
  readonly emitter: string;
  /** the problem's shape and dtypes as text; with the emitter's name, the tuning key */
  key(problem: P): string;
  /** the configurations worth measuring for this problem, the default first; one: nothing to tune */
  candidates(problem: P, adapter: AdapterTraits): C[];
  /** the untuned choice */
  default(problem: P, adapter: AdapterTraits): C;
  /**
   * Why `config` is no configuration of this emitter, or (given a problem) cannot compute it on
   * this adapter; undefined when it is valid. The text names the field, what it got and what was
   * expected.
   */
  invalid(config: unknown, problem?: P, adapter?: AdapterTraits): string | undefined;
  /** short text naming the configuration; equal labels mean equal configurations */
  label(config: C): string;
}

/** Checks an object's fields against `fields` (name -> check returning what was expected, or undefined). */
export function checkFields(config: unknown, fields: Record<string, (v: unknown) => string | undefined>, required: string[]): string | undefined {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return `the config must be an object, got ${describe(config)}`;
  for (const k of Object.keys(config)) if (!(k in fields)) return `the config has an unknown field '${k}'; expected only ${Object.keys(fields).join(', ')}`;
  for (const k of required) if ((config as Record<string, unknown>)[k] === undefined) return `config.${k} is missing`;
  for (const [k, check] of Object.entries(fields)) {
    const v = (config as Record<string, unknown>)[k];
    if (v === undefined) continue;
    const want = check(v);
    if (want) return `config.${k} must be ${want}, got ${describe(v)}`;
  }
  return undefined;
}

export const intIn = (lo: number, hi: number) => (v: unknown) => (Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi ? undefined : `an integer from ${lo} to ${hi}`);
export const powerOfTwoIn = (lo: number, hi: number) => (v: unknown) =>
  (Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi && ((v as number) & ((v as number) - 1)) === 0 ? undefined : `a power of two from ${lo} to ${hi}`);
export const oneOf = (...xs: unknown[]) => (v: unknown) => (xs.includes(v) ? undefined : `one of ${xs.map((x) => JSON.stringify(x)).join(', ')}`);

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) { try { return JSON.stringify(v); } catch { return String(v); } }
  return String(v);
}

/** The configurations with distinct labels, in order. */
export function distinct<C>(t: { label(c: C): string }, cs: C[]): C[] {
  const seen = new Set<string>();
  return cs.filter((c) => { const l = t.label(c); if (seen.has(l)) return false; seen.add(l); return true; });
}
