// The shared comparator (test/compare.ts) must fail on every NaN or infinity mismatch, wherever it is.
import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { expectClose, worstElement } from './compare.js';
import { loadGolden, checkCounts } from './golden.js';

const TOL = { atol: 1e-6, rtol: 1e-5 };
const want = [1, -2, 3, 0.5];

describe('expectClose', () => {
  it('passes values within atol + rtol |want| and returns the worst ratio', () => {
    expect(expectClose([1 + 5e-6, -2, 3, 0.5], want, TOL)).toBeCloseTo(5e-6 / (1e-6 + 1e-5), 6);
    expect(expectClose([NaN, Infinity, -Infinity], [NaN, Infinity, -Infinity], TOL)).toBe(0);
  });
  it('fails an all-NaN result', () => {
    expect(() => expectClose([NaN, NaN, NaN, NaN], want, TOL)).toThrow(/element 0 of 4 is NaN, expected 1/);
  });
  it('fails a NaN at the last element, after finite elements within tolerance', () => {
    expect(() => expectClose([1, -2, 3, NaN], want, TOL)).toThrow(/element 3 of 4 is NaN/);
  });
  it('fails a NaN expected where a number came, and an infinity of either sign out of place', () => {
    expect(() => expectClose([1, -2, 3, 0.5], [1, -2, 3, NaN], TOL)).toThrow(/element 3/);
    expect(() => expectClose([1, Infinity, 3, 0.5], want, TOL)).toThrow(/element 1 of 4 is Infinity/);
    expect(() => expectClose([1, -2, 3, -Infinity], [1, -2, 3, Infinity], TOL)).toThrow(/element 3/);
    expect(() => expectClose([1, -2, 3, 1e30], [1, -2, 3, Infinity], TOL)).toThrow(/element 3/);
  });
  it('names the worst element, not the first one outside the tolerance', () => {
    expect(() => expectClose([1.1, -2, 30, 0.5], want, TOL)).toThrow(/element 2 of 4 is 30/);
    expect(worstElement([1.1, -2, 3, NaN], want, TOL).index).toBe(3);
  });
  it('fails a length mismatch and an exact comparison (zero tolerance) off by one ulp', () => {
    expect(() => expectClose([1, -2, 3], want, TOL)).toThrow(/3 elements, expected 4/);
    expect(() => expectClose([1 + 2 ** -52], [1], { atol: 0, rtol: 0 })).toThrow(/element 0/);
  });
});

describe('golden files hold what their generator wrote (test/golden.ts)', () => {
  it('every committed golden file loads with its counts', () => {
    const files = readdirSync(new URL('./golden/', import.meta.url)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(Object.keys(loadGolden(f).counts).length, f).toBeGreaterThan(0);
  });
  it('fails an emptied or truncated list, a list without a count, and a file without counts', () => {
    const ok = { cases: [1, 2], counts: { cases: 2 } };
    expect(checkCounts('x.json', ok)).toBe(ok);
    expect(() => checkCounts('x.json', { cases: [], counts: { cases: 2 } })).toThrow(/list 'cases' holds 0, the generator wrote 2/);
    expect(() => checkCounts('x.json', { cases: [1], counts: { cases: 2 } })).toThrow(/holds 1/);
    expect(() => checkCounts('x.json', { cases: [1], more: [2], counts: { cases: 1 } })).toThrow(/list 'more' holds 1, the generator wrote no count/);
    expect(() => checkCounts('x.json', { counts: { cases: 1 } })).toThrow(/list 'cases' holds nothing/);
    expect(() => checkCounts('x.json', { cases: [1] })).toThrow(/no "counts"/);
  });
});
