// Python's spelling of values, for extraRepr: the printout of a model reads as PyTorch's.

/** 1 -> '1.0', 1e-5 -> '1e-05', 0.1 -> '0.1' (Python's repr of a float). */
export function pyFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (v !== 0 && (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e16)) {
    return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}
export const pyBool = (b: boolean): string => (b ? 'True' : 'False');
/** [3, 3] -> '(3, 3)', [10] -> '(10,)'; a number n repeats k times. */
export function pyTuple(v: number | number[], k = 1): string {
  const a = Array.isArray(v) ? v : Array(k).fill(v);
  return a.length === 1 ? `(${a[0]},)` : `(${a.join(', ')})`;
}
