// The one comparator of computed values against expected ones (golden vectors, float64
// references). NaN and infinity are never close to anything but themselves: a NaN fails
// unless the expected value is NaN at the same place, and an infinity unless it is the same
// infinity. A loop of `if (!(r <= worst)) worst = r` lets a later finite ratio overwrite a NaN one;
// here a non-finite mismatch has ratio Infinity, which nothing overwrites.

import { expect } from 'vitest';

export interface Tol { atol: number; rtol: number }

/** |got - want| / (atol + rtol |want|) at one element; Infinity for a NaN or infinity mismatch. */
export function ratioAt(g: number, w: number, { atol, rtol }: Tol): number {
  if (Number.isNaN(g) || Number.isNaN(w)) return Number.isNaN(g) && Number.isNaN(w) ? 0 : Infinity;
  if (!Number.isFinite(g) || !Number.isFinite(w)) return g === w ? 0 : Infinity;
  const d = Math.abs(g - w);
  return d === 0 ? 0 : d / (atol + rtol * Math.abs(w));
}

/** The element furthest outside its tolerance (the first of equals); index -1 for no elements. */
export function worstElement(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol): { ratio: number; index: number } {
  let ratio = -1, index = -1;
  for (let i = 0; i < want.length; i++) {
    const r = ratioAt(got[i], want[i], tol);
    if (r > ratio) { ratio = r; index = i; }
  }
  return { ratio: Math.max(ratio, 0), index };
}

/**
 * Throws unless got and want have one length and every element is within atol + rtol |want|,
 * naming the worst element. Returns the worst ratio (<= 1), for tests that report it.
 */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, what = 'values'): number {
  if (got.length !== want.length) expect.fail(`${what}: ${got.length} elements, expected ${want.length}`);
  const { ratio, index } = worstElement(got, want, tol);
  if (!(ratio <= 1)) {
    const g = got[index], w = want[index];
    expect.fail(`${what}: element ${index} of ${want.length} is ${g}, expected ${w} (|diff| ${Math.abs(g - w)}, ` +
      `${ratio.toExponential(2)}x the tolerance ${tol.atol} + ${tol.rtol}*|expected|)`);
  }
  return ratio;
}
