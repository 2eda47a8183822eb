// Argument checks shared by the public surface: each failure is an Error that names the
// function, the argument, what it got and what was expected.

/** What a value is, for messages: `null`, `'abc'`, `Float32Array(3)`, `[1, 2]`, `3`. */
export function describe(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v}'`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})`;
  if (Array.isArray(v)) return v.length > 8 ? `an array of ${v.length}` : `[${v.map(describe).join(', ')}]`;
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Rejects option names outside `allowed`, suggesting the camelCase form of a snake_case one. */
export function checkOptions(fn: string, opts: unknown, allowed: readonly string[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts) || ArrayBuffer.isView(opts)) {
    throw new Error(`${fn}: options must be an object, got ${describe(opts)}`);
  }
  for (const k of Object.keys(opts)) {
    if (allowed.includes(k)) continue;
    const hint = allowed.includes(camel(k)) ? ` (did you mean '${camel(k)}'?)` : '';
    throw new Error(`${fn}: unknown option '${k}'${hint}; expected one of ${allowed.join(', ')}`);
  }
}

/** An integer argument (a safe integer, optionally at least `min`). */
export function checkInt(fn: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    const want = min === -Infinity ? 'an integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    throw new Error(`${fn}: ${name} must be ${want}, got ${describe(v)}`);
  }
  return v;
}

/** A finite number argument. */
export function checkFinite(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${fn}: ${name} must be a finite number, got ${describe(v)}`);
  return v;
}

/** A shape: an array of non-negative integers. */
export function checkShape(fn: string, name: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new Error(`${fn}: ${name} must be an array of non-negative integers, got ${describe(shape)}`);
  shape.forEach((d, i) => checkInt(fn, `${name}[${i}]`, d, 0));
  return shape.slice();
}

/**
 * PyTorch's size arguments: `f(2, 3)`, `f([2, 3])`, either followed by an options object.
 * Returns the shape and the options.
 */
export function sizeArgs<O extends object>(fn: string, args: unknown[]): { shape: number[]; opts: O | undefined } {
  const last = args[args.length - 1];
  const hasOpts = last !== null && typeof last === 'object' && !Array.isArray(last);
  const sizes = hasOpts ? args.slice(0, -1) : args;
  const shape = sizes.length === 1 && Array.isArray(sizes[0]) ? sizes[0] : sizes;
  return { shape: checkShape(fn, 'size', shape), opts: hasOpts ? (last as O) : undefined };
}
