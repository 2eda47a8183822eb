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
    expect(castValue(2 ** 31 - 1, 'int32')).toBe(2 ** 31 - 1);
    expect(castValue(2 ** 31, 'int32')).toBe(2147483520); // a float saturates, as WGSL's i32()
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
  it('reads every float16 bit pattern exactly (subnormals, signed zeros, infinities, NaN)', async () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = await kn.tensor(all).float().data();
    for (let i = 0; i < 65536; i++) {
      const want = f16fromBits(i);
      if (Number.isNaN(want) ? !Number.isNaN(got[i]) : !Object.is(got[i], want)) throw new Error(`float16 bits 0x${i.toString(16)}: got ${got[i]}, want ${want}`);
    }
    const back = await kn.tensor(Float32Array.from(all, f16fromBits)).to('float16').data();
    expect(back).toBeInstanceOf((globalThis as any).Float16Array ?? Float32Array);
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

describe('packed storage (float16 two per word; int8, uint8, bool four per word)', () => {
  const sizes = [1, 3, 5, 7, 33, 130];
  it('stores 2 or 1 bytes per element and reads every element back', async () => {
    for (const n of sizes) {
      const i8 = kn.tensor(Int8Array.from({ length: n }, (_, i) => ((i * 37) % 256) - 128));
      const u8 = kn.tensor(Uint8Array.from({ length: n }, (_, i) => (i * 91) % 256));
      const b = kn.tensor(Array.from({ length: n }, (_, i) => (i % 3 ? 1 : 0)), [n], { dtype: 'bool' });
      const h = kn.tensor(Float32Array.from({ length: n }, (_, i) => (i - 2.3) * 1.7)).to('float16');
      expect(Array.from(await i8.data()), `int8 ${n}`).toEqual(Array.from({ length: n }, (_, i) => ((i * 37) % 256) - 128));
      expect(Array.from(await u8.data()), `uint8 ${n}`).toEqual(Array.from({ length: n }, (_, i) => (i * 91) % 256));
      expect(Array.from(await b.data()), `bool ${n}`).toEqual(Array.from({ length: n }, (_, i) => (i % 3 ? 1 : 0)));
      expect(Array.from(await h.data(), Number), `float16 ${n}`).toEqual(Array.from({ length: n }, (_, i) => f16round(Math.fround((i - 2.3) * 1.7))));
    }
    const bytes = (dtype: DType) => { const before = kn.memoryStats().bytesInUse; kn.zeros([8192], { dtype }); return kn.memoryStats().bytesInUse - before; };
    expect([bytes('float32'), bytes('float16'), bytes('int8'), bytes('uint8'), bytes('bool')]).toEqual([32768, 16384, 8192, 8192, 8192]);
  });
  it('elementwise kernels with several packed outputs of different widths, at odd sizes', async () => {
    for (const n of [1, 6, 33]) {
      const x = kn.tensor(Float32Array.from({ length: n }, (_, i) => i * 0.75 - 7));
      const f = kn.compile((t: kn.Tensor) => {
        const h = t.to('float16'), q = t.to('int8'), pos = t.gt(0), w = t.mul(2);
        return [h, q, pos, w, h.add(q), q.mul(q)];
      });
      const [h, q, pos, w, hq, qq] = await f(x);
      const xs = Array.from({ length: n }, (_, i) => i * 0.75 - 7);
      expect(Array.from(await h.data(), Number)).toEqual(xs.map((v) => f16round(v)));
      expect(Array.from(await q.data())).toEqual(xs.map((v) => castValue(v, 'int8')));
      expect(Array.from(await pos.data())).toEqual(xs.map((v) => +(v > 0)));
      expect(Array.from(await w.data())).toEqual(xs.map((v) => v * 2));
      expect(hq.dtype).toBe('float16');
      expect(Array.from(await hq.data(), Number)).toEqual(xs.map((v) => f16round(f16round(v) + castValue(v, 'int8'))));
      expect(Array.from(await qq.data())).toEqual(xs.map((v) => castValue(castValue(v, 'int8') ** 2, 'int8')));
    }
  });
  it('views of packed tensors read the right bytes (slice, permute, flip, expand, cat of many)', async () => {
    const vals = Array.from({ length: 5 * 7 }, (_, i) => (i * 13) % 200 - 100);
    const x = kn.tensor(vals, [5, 7], { dtype: 'int8' });
    const at = (r: number, c: number) => vals[r * 7 + c];
    expect(Array.from(await x.slice([1, 2], [4, 7], [2, 3]).clone().data())).toEqual([at(1, 2), at(1, 5), at(3, 2), at(3, 5)]);
    expect(Array.from(await x.t().clone().data())).toEqual(Array.from({ length: 35 }, (_, f) => at(f % 5, Math.floor(f / 5))));
    expect(Array.from(await x.flip(1).narrow(0, 4, 1).clone().data())).toEqual([6, 5, 4, 3, 2, 1, 0].map((c) => at(4, c)));
    const parts = Array.from({ length: 9 }, (_, i) => kn.tensor([i, 5 - i, 2 * i], [3], { dtype: 'int8' }));
    expect(Array.from(await kn.cat(parts).data())).toEqual(Array.from({ length: 9 }, (_, i) => [i, 5 - i, 2 * i]).flat());
    const m = kn.tensor([1, 0, 1], [3, 1], { dtype: 'bool' }).expand(3, 5);
    expect(Array.from(await m.logicalNot().data())).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  });
  it('reductions and row ops compute in the wide dtype and give PyTorch\'s result dtypes', async () => {
    const q = kn.tensor(Int8Array.of(100, 100, -7, 3, 127, -128), [2, 3]);
    const s = q.sum(1);
    expect(s.dtype).toBe('int32');
    expect(Array.from(await s.data())).toEqual([193, 2]); // no int8 wrap-around in the sum
    const [mx] = q.max(1);
    expect(mx.dtype).toBe('int8');
    expect(Array.from(await mx.data())).toEqual([100, 127]);
    expect(Array.from(await q.argmin(1).data())).toEqual([2, 2]);
    const hx = [0.1, 2.5, -1, 3.25];
    const h = kn.tensor(hx, [4], { dtype: 'float16' });
    const sm = h.softmax(0);
    expect(sm.dtype).toBe('float16');
    const hr = hx.map((v) => f16round(v)), m = Math.max(...hr), z = hr.reduce((a, v) => a + Math.exp(v - m), 0);
    const got = Array.from(await sm.data(), Number);
    hr.forEach((v, i) => expect(Math.abs(got[i] - Math.exp(v - m) / z)).toBeLessThanOrEqual(2 ** -11 * (Math.exp(v - m) / z) + 1e-7));
    expect(h.sum().dtype).toBe('float16');
    expect(await h.sum().item()).toBe(f16round(hr.reduce((a, v) => a + v, 0)));
  });
  it('matmul of float16 operands accumulates in float32 (against float64 on the rounded inputs)', async () => {
    const M = 7, K = 65, N = 5;
    const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i) * 3), b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.7));
    const A = kn.tensor(a, [M, K]).to('float16'), B = kn.tensor(b, [K, N]).to('float16');
    const half = A.matmul(B), mixed = A.matmul(kn.tensor(b, [K, N]).to('float16').float());
    expect(half.dtype).toBe('float16'); // as PyTorch: float16 operands, a float16 product
    expect(mixed.dtype).toBe('float32');
    const [gh, gm] = [await half.data(), await mixed.data()];
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0, mag = 0;
      for (let k = 0; k < K; k++) { const t = f16round(a[i * K + k]) * f16round(b[k * N + j]); s += t; mag += Math.abs(t); }
      // float32 accumulation of K exact products: |error| <= K * eps32 * sum|terms|; the float16
      // product then rounds once more (half an ulp: 2^-11 relative, 2^-25 below the normals)
      const acc = K * 2 ** -24 * mag;
      expect(Math.abs(gm[i * N + j] - s), `(${i}, ${j}) float32`).toBeLessThanOrEqual(acc);
      expect(Math.abs(gh[i * N + j] - s), `(${i}, ${j}) float16`).toBeLessThanOrEqual(acc + Math.abs(s) * 2 ** -11 + 2 ** -25);
      expect(gh[i * N + j]).toBe(f16round(gh[i * N + j]));
    }
  });

});
