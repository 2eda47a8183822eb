// Dtypes as data (src/graph/dtype.ts): PyTorch's promotion table, float16 rounding (to
// nearest even, overflow to infinity) bit-exact against an independent reference built
// from Float32Array bit patterns, integer wrap-around, and the same rules on the device:
// casts, per-op rounding of float16 results, typed arrays in and out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../../src/index.js';
import { promoteTypes, resultType, f16round, f16bits, f16fromBits, castValue, DTYPES, type DType } from '../../src/graph/dtype.js';

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

/** float32 -> float16 bits by integer arithmetic on the float32 bits (an independent reference) */
function f16bitsRef(x: number): number {
  const b = new Uint32Array(Float32Array.of(x).buffer)[0];
  const sign = (b >>> 16) & 0x8000, exp = (b >>> 23) & 0xff, man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e < -25) return sign;
  const full = e < -14 ? man | 0x800000 : man;
  const shift = e < -14 ? -e - 1 : 13;
  let h = (e < -14 ? 0 : (e + 15) << 10) | (full >>> shift);
  const rest = full & ((1 << shift) - 1), half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1))) h++;
  return sign | h;
}

/** float32 values that exercise every branch: ties, subnormals, overflow, signed zero */
function f16Cases(): number[] {
  const xs = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e6, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -26, 3 * 2 ** -25,
    1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20, 0.1, 1 / 3, Math.PI, Infinity, -Infinity, 5.96e-8, 6.1e-5];
  let s = 12345;
  for (let i = 0; i < 2000; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const bits = (s & 0x807fffff) | (((s >>> 23) % 60 + 97) << 23); // exponents around f16's range
    xs.push(new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0]);
  }
  return xs.map((x) => Math.fround(x));
}

describe('dtype rules', () => {
  it('promotes as torch.promote_types', () => {
    const table: [DType, DType, DType][] = [
      ['bool', 'bool', 'bool'], ['bool', 'int8', 'int8'], ['bool', 'float16', 'float16'], ['int8', 'uint8', 'int32'],
      ['int8', 'int32', 'int32'], ['uint8', 'int32', 'int32'], ['int32', 'float16', 'float16'], ['float16', 'float32', 'float32'],
      ['int8', 'float32', 'float32'], ['uint8', 'uint8', 'uint8'],
    ];
    for (const [a, b, r] of table) { expect(promoteTypes(a, b), `${a} ${b}`).toBe(r); expect(promoteTypes(b, a), `${b} ${a}`).toBe(r); }
  });
  it('lets numbers promote only across categories, as torch.result_type', () => {
    expect(resultType(['int8'], [1000])).toBe('int8');
    expect(resultType(['int8'], [0.5])).toBe('float32');
    expect(resultType(['float16'], [0.5])).toBe('float16');
    expect(resultType(['bool'], [2])).toBe('int32');
    expect(resultType(['bool'], [2.5])).toBe('float32');
    expect(resultType([], [2])).toBe('int32');
  });
  it('rounds to float16 as the bit-level reference, ties to even, overflow to infinity', () => {
    for (const x of f16Cases()) {
      const want = f16bitsRef(x);
      expect(f16bits(x), `f16bits(${x})`).toBe(want);
      expect(Object.is(f16round(x), f16fromBits(want)), `f16round(${x})`).toBe(true);
    }
    expect(f16round(65519)).toBe(65504);
    expect(f16round(65520)).toBe(Infinity);
    expect(f16round(1 + 2 ** -11)).toBe(1); // a tie goes to the even mantissa
    expect(f16round(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
  });
  it('wraps integers and truncates floats', () => {
    expect(castValue(200, 'int8')).toBe(-56);
    expect(castValue(-1, 'uint8')).toBe(255);
    expect(castValue(-2.7, 'int8')).toBe(-2);
    expect(castValue(2 ** 31 - 1, 'int32')).toBe(2147483520); // through float32, saturating as WGSL's i32()
    expect(castValue(-Infinity, 'int32')).toBe(-(2 ** 31));
    expect(castValue(0.5, 'bool')).toBe(1);
  });
});

describe('dtypes on the device', () => {
  it('casts float32 to float16 bit-exactly, including subnormals and overflow', async () => {
    const xs = f16Cases();
    const h = kn.tensor(Float32Array.from(xs)).to('float16');
    expect(h.dtype).toBe('float16');
    const got = await h.float().data();
    xs.forEach((x, i) => expect(Object.is(got[i], f16fromBits(f16bitsRef(x))), `cast of ${x}: got ${got[i]}`).toBe(true));
  });
  it('rounds each float16 op, as PyTorch', async () => {
    // 2048 + 1 is not a float16: the sum rounds to 2048 before the subtraction
    const a = kn.tensor([2048, 1, 0.1], [3], { dtype: 'float16' });
    const got = await a.add(1).sub(a).float().data();
    const h = (v: number) => castValue(v, 'float16'), tenth = h(0.1);
    expect(Array.from(got)).toEqual([0, 1, h(h(tenth + 1) - tenth)]);
    expect(h(h(tenth + 1) - tenth)).not.toBe(h(1 + tenth - tenth)); // rounding each op shows
    expect((await a.add(0.5)).dtype).toBe('float16');
  });
  it('wraps int8 and uint8 arithmetic', async () => {
    const a = kn.tensor(Int8Array.of(100, -100, 7));
    expect(a.dtype).toBe('int8');
    const s = a.add(a);
    expect(s.dtype).toBe('int8');
    expect(Array.from(await s.data())).toEqual([-56, 56, 14]);
    expect(await s.data()).toBeInstanceOf(Int8Array);
    const u = kn.tensor(Uint8Array.of(250, 3));
    expect(u.dtype).toBe('uint8');
    expect(Array.from(await u.add(10).data())).toEqual([4, 13]);
    expect(Array.from(await u.add(kn.tensor(Int8Array.of(1, 1))).data())).toEqual([251, 4]); // uint8 + int8 -> int32
    expect(u.add(kn.tensor(Int8Array.of(1, 1))).dtype).toBe('int32');
  });
  it('takes each typed array and gives back the matching one', async () => {
    const cases: [ArrayBufferView, DType, unknown][] = [
      [Float32Array.of(1.5, -2), 'float32', Float32Array], [Int32Array.of(1, -2), 'int32', Int32Array],
      [Int8Array.of(1, -2), 'int8', Int8Array], [Uint8Array.of(1, 200), 'uint8', Uint8Array],
      [Uint16Array.of(f16bits(1.5), f16bits(-2)), 'float16', (globalThis as any).Float16Array ?? Float32Array],
    ];
    for (const [arr, dtype, ctor] of cases) {
      const t = kn.tensor(arr as any);
      expect(t.dtype).toBe(dtype);
      const d = await t.data();
      expect(d).toBeInstanceOf(ctor);
      expect(Array.from(d)).toEqual(dtype === 'float16' ? [1.5, -2] : Array.from(arr as any));
    }
  });
  it('refuses values that do not fit an integer dtype, and unsupported arrays', () => {
    expect(() => kn.tensor([3e9], [1], { dtype: 'int32' })).toThrow(/3000000000 at index 0 does not fit dtype int32/);
    expect(() => kn.tensor([128], [1], { dtype: 'int8' })).toThrow(/does not fit dtype int8 \(-128\.\.127\)/);
    expect(() => kn.tensor([NaN], [1], { dtype: 'uint8' })).toThrow(/NaN at index 0 does not fit dtype uint8/);
    expect(() => kn.tensor(new Int16Array(2) as any)).toThrow(/Int16Array is not supported/);
    expect(() => kn.tensor(new Uint16Array(2), null, { dtype: 'int32' })).toThrow(/float16 bits, so dtype must be 'float16'/);
    expect(() => kn.full([2], 300, { dtype: 'uint8' })).toThrow(/300 at index 0 does not fit dtype uint8/);
  });
  it('casts between every pair of dtypes as castValue does', async () => {
    const xs = [0, 1, -1, 2.5, -2.5, 127, 128, 255, 256, -129, 1e5];
    for (const from of DTYPES) {
      const src = xs.map((x) => castValue(x, from));
      const t = kn.tensor(src, [src.length], { dtype: from });
      for (const to of DTYPES) {
        const got = Array.from(await t.to(to).data(), Number);
        expect(got, `${from} -> ${to}`).toEqual(src.map((v) => castValue(v, to)));
      }
    }
  });
});
