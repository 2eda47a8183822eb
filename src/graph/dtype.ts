// Dtypes as data: what an element of each dtype is in storage and in a kernel, how its
// literals are written, how values round into it, and PyTorch's type promotion. Nothing else
// in Kiln assumes an element's size or WGSL type.
import { NAN, INF, NEG_INF } from '../shaders/common.js';

export type DType = 'float32' | 'float16' | 'int32' | 'int8' | 'uint8' | 'bool';
export const DTYPES: readonly DType[] = ['float32', 'float16', 'int32', 'int8', 'uint8', 'bool'];

export type Category = 'bool' | 'int' | 'float';

export interface DTypeInfo {
  readonly category: Category;
  /** bytes one element takes in storage */
  readonly itemBytes: number;
  /** the WGSL type of a storage array's element (a word holds 4 / itemBytes elements) */
  readonly storage: 'f32' | 'i32' | 'u32';
  /** the WGSL type a kernel computes the value in */
  readonly compute: 'f32' | 'i32' | 'u32' | 'bool';
  /** the range an integer dtype holds */
  readonly min?: number;
  readonly max?: number;
  /** promotion rank within the category (PyTorch: larger wins) */
  readonly rank: number;
  /** a WGSL function (of the prelude) that rounds or wraps a compute value into this dtype */
  readonly normalize?: string;
  /** the 32-bit dtype a kernel op (a reduction, a row op) computes and stores this dtype's results in */
  readonly wide: DType;
  /** packed dtypes (several per word): element `lane` of a u32 word, as a compute value */
  readonly unpack?: (word: string, lane: string) => string;
  /** packed dtypes: the bits of a value (low bits of a u32 expression) */
  readonly pack?: (value: string) => string;
}

export const DTYPE_INFO: { readonly [K in DType]: DTypeInfo } = {
  float32: { category: 'float', itemBytes: 4, storage: 'f32', compute: 'f32', rank: 2, wide: 'float32' },
  // two per word, computed in f32 (rounded after every op); unpack2x16float is exact (tested on
  // all 65536 patterns), pack2x16float leaves overflow undefined: packing is our own kn_f16_bits
  float16: {
    category: 'float', itemBytes: 2, storage: 'u32', compute: 'f32', rank: 1, normalize: 'kn_f16_round', wide: 'float32',
    unpack: (w, lane) => `unpack2x16float(${w})[${lane}]`, pack: (v) => `kn_f16_bits(${v})`,
  },
  int32: { category: 'int', itemBytes: 4, storage: 'i32', compute: 'i32', min: -(2 ** 31), max: 2 ** 31 - 1, rank: 3, wide: 'int32' },
  int8: {
    category: 'int', itemBytes: 1, storage: 'u32', compute: 'i32', min: -128, max: 127, rank: 1, normalize: 'kn_wrap_i8', wide: 'int32',
    unpack: (w, lane) => `extractBits(bitcast<i32>(${w}), ${lane} * 8u, 8u)`, pack: (v) => `(bitcast<u32>(${v}) & 255u)`,
  },
  uint8: {
    category: 'int', itemBytes: 1, storage: 'u32', compute: 'i32', min: 0, max: 255, rank: 1, normalize: 'kn_wrap_u8', wide: 'int32',
    unpack: (w, lane) => `bitcast<i32>(extractBits(${w}, ${lane} * 8u, 8u))`, pack: (v) => `(bitcast<u32>(${v}) & 255u)`,
  },
  bool: {
    category: 'bool', itemBytes: 1, storage: 'u32', compute: 'bool', min: 0, max: 1, rank: 0, wide: 'int32',
    unpack: (w, lane) => `(extractBits(${w}, ${lane} * 8u, 8u) != 0u)`, pack: (v) => `select(0u, 1u, ${v})`,
  },
};

export const dtypeInfo = (d: DType): DTypeInfo => DTYPE_INFO[d];
export const isFloat = (d: DType): boolean => DTYPE_INFO[d].category === 'float';
export const isDType = (d: unknown): d is DType => typeof d === 'string' && (DTYPES as readonly string[]).includes(d);
/** Elements per 32-bit storage word: 1 for 32-bit dtypes, 2 for float16, 4 for the byte dtypes. */
export const perWord = (d: DType): number => 4 / DTYPE_INFO[d].itemBytes;
/** Bytes of a buffer holding `count` elements: whole words, at least one. */
export const storageBytes = (d: DType, count: number): number => Math.max(1, Math.ceil((count * DTYPE_INFO[d].itemBytes) / 4)) * 4;

/** PyTorch's torch.promote_types for the dtypes Kiln has (int8 with uint8 gives int16 there, int32 here). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const ia = DTYPE_INFO[a], ib = DTYPE_INFO[b];
  if (ia.category !== ib.category) {
    const order: Category[] = ['bool', 'int', 'float'];
    return order.indexOf(ia.category) > order.indexOf(ib.category) ? a : b;
  }
  if (ia.rank !== ib.rank) return ia.rank > ib.rank ? a : b;
  return 'int32'; // int8 with uint8: neither holds the other
}

/**
 * torch.result_type of tensors and JS numbers: numbers take part only when their category
 * (int for an integer, float otherwise) is above every tensor's, and then give that category's
 * default dtype (int32, float32).
 */
export function resultType(tensors: readonly DType[], numbers: readonly number[] = []): DType {
  let d: DType | undefined;
  for (const t of tensors) d = d === undefined ? t : promoteTypes(d, t);
  const order: Category[] = ['bool', 'int', 'float'];
  let scalar: Category | undefined;
  for (const v of numbers) {
    const c: Category = Number.isInteger(v) ? 'int' : 'float';
    if (!scalar || order.indexOf(c) > order.indexOf(scalar)) scalar = c;
  }
  if (d === undefined) return scalar === 'int' ? 'int32' : 'float32';
  if (scalar && order.indexOf(scalar) > order.indexOf(DTYPE_INFO[d].category)) return scalar === 'int' ? 'int32' : 'float32';
  return d;
}

const F32 = new Float32Array(1);

/** The float16 nearest x (ties to even), as PyTorch's .half(): overflow gives infinity. */
export function f16round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity; // halfway between 65504 and 2^16 rounds up
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; else if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10); // below 2^-14 the spacing of subnormals
  const q = a / ulp, fl = Math.floor(q), frac = q - fl;
  const r = frac > 0.5 || (frac === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  return Math.sign(x) * r * ulp;
}

/** The float16 bit pattern of x (rounded as f16round). */
export function f16bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const r = f16round(x);
  const sign = r < 0 || Object.is(r, -0) ? 0x8000 : 0;
  const a = Math.abs(r);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

/** The value of float16 bits. */
export function f16fromBits(b: number): number {
  const sign = b & 0x8000 ? -1 : 1, e = (b >> 10) & 0x1f, m = b & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
}

/** A value converted to dtype as a kernel converts it (float to int truncates; ints wrap). */
export function castValue(v: number, d: DType): number {
  switch (d) {
    case 'bool': return v !== 0 ? 1 : 0;
    case 'float32': F32[0] = v; return F32[0];
    case 'float16': F32[0] = v; return f16round(F32[0]);
    default: {
      const { min, max } = DTYPE_INFO[d];
      // an int32 value wraps into a narrower dtype; any other number converts as WGSL's i32()
      // converts a float: truncated, saturating at the float32 values nearest the int32 range
      // (NaN is undefined there and in PyTorch; 0 here)
      if (Number.isNaN(v)) return 0;
      const t = Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? v : Math.min(Math.max(Math.trunc(v), -(2 ** 31)), 2147483520);
      const span = max! - min! + 1;
      return ((((t - min!) % span) + span) % span) + min!;
    }
  }
}

/** A float32 literal WGSL accepts (NaN and infinities through their bits). */
export function f32Literal(v: number): string {
  if (Number.isNaN(v)) return NAN;
  if (!Number.isFinite(v)) return v > 0 ? INF : NEG_INF;
  const s = String(Math.fround(v));
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * WGSL helpers behind DTYPE_INFO's normalize functions and float16 storage: float32 to
 * float16 bits with rounding to nearest even and overflow to infinity (WGSL's pack2x16float
 * leaves overflow undefined), and integer wrap-around.
 */
export const DTYPE_PRELUDE = `
// Branch-free: these are inlined wherever a float16 value is made, and a branchy form made
// SwiftShader's compiler take minutes and gigabytes for a kernel full of them
fn kn_f16_round(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let a = b & 0x7fffffffu;
  // from 2^-14 up: 10 mantissa bits, to nearest even (a carry into the exponent is right)
  var r = (a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u;
  r = select(r, 0x7f800000u, r >= 0x47800000u); // 65520 and up round to 2^16: infinity
  r = select(r, 0x7fc00000u, a > 0x7f800000u); // NaN stays a (quiet) NaN
  // below 2^-14: multiples of 2^-24 (WGSL's round() takes ties to even; the scalings are exact)
  let small = round(x * 16777216.0) * 5.9604644775390625e-8;
  return select(bitcast<f32>((b & 0x80000000u) | r), small, a < 0x38800000u);
}
// the bits of kn_f16_round(x): the exponent rebiased (127 -> 15) above 2^-14, a count of 2^-24
// below it; infinities and NaN (a quiet one) apart
fn kn_f16_bits(x: f32) -> u32 {
  let r = kn_f16_round(x);
  let b = bitcast<u32>(r);
  let a = b & 0x7fffffffu;
  let normal = (a >> 13u) - 0x1c000u;
  let small = u32(abs(r) * 16777216.0);
  let special = select(0x7c00u, 0x7e00u, a > 0x7f800000u);
  return ((b >> 16u) & 0x8000u) | select(select(normal, small, a < 0x38800000u), special, a >= 0x7f800000u);
}
fn kn_wrap_i8(x: i32) -> i32 { return (x << 24u) >> 24u; }
fn kn_wrap_u8(x: i32) -> i32 { return x & 255; }
`;

/** A literal of dtype d's compute type. */
export function literal(v: number, d: DType): string {
  const info = DTYPE_INFO[d];
  if (info.compute === 'bool') return v ? 'true' : 'false';
  if (info.compute === 'i32') return `${castValue(v, d)}i`;
  if (info.compute === 'u32') return `${castValue(v, d)}u`;
  return f32Literal(castValue(v, d));
}

/** What `data()` returns: a typed array of the dtype's values (float16 as Float16Array where the runtime has it, else Float32Array). */
export type HostArray = Float32Array | Int32Array | Int8Array | Uint8Array;

const Float16 = (globalThis as any).Float16Array as (new (n: number) => ArrayLike<number> & { [i: number]: number }) | undefined;

/**
 * The bytes of a buffer holding `values` as dtype d (storageBytes long, little-endian):
 * values are converted as castValue converts them.
 */
export function encode(d: DType, values: ArrayLike<number>): Uint8Array {
  const info = DTYPE_INFO[d], n = values.length;
  const out = new Uint8Array(storageBytes(d, n));
  if (info.itemBytes === 4) {
    const view = info.storage === 'f32' ? new Float32Array(out.buffer) : info.storage === 'i32' ? new Int32Array(out.buffer) : new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) view[i] = castValue(values[i], d);
  } else if (info.itemBytes === 2) {
    const view = new Uint16Array(out.buffer);
    for (let i = 0; i < n; i++) view[i] = f16bits(values[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = castValue(values[i], d) & 0xff;
  }
  return out;
}

/** The values of `count` elements of dtype d stored in `raw` (as encode wrote them). */
export function decode(d: DType, raw: ArrayBuffer, count: number): HostArray {
  const info = DTYPE_INFO[d];
  const values: ArrayLike<number> = info.itemBytes === 4
    ? (info.storage === 'f32' ? new Float32Array(raw, 0, count) : info.storage === 'i32' ? new Int32Array(raw, 0, count) : new Uint32Array(raw, 0, count))
    : info.itemBytes === 2 ? Array.from(new Uint16Array(raw, 0, count), f16fromBits)
    : d === 'int8' ? new Int8Array(raw, 0, count) : new Uint8Array(raw, 0, count);
  switch (d) {
    case 'float32': return Float32Array.from(values);
    case 'float16': { const o = Float16 ? new Float16(count) : new Float32Array(count); for (let i = 0; i < count; i++) o[i] = values[i]; return o as Float32Array; }
    case 'int32': return Int32Array.from(values);
    case 'int8': return Int8Array.from(values);
    default: return Uint8Array.from(values);
  }
}
