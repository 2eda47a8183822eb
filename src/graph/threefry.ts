// Threefry-2x32 with 20 rounds (Salmon et al. 2011, the generator of Random123 and JAX): a
// counter-based generator, so element i of draw d is a pure function of (key, i, d). Kernels
// compute any element anywhere (fused, replayed, in any order) and the host computes the same
// bits for the reference. The maps from bits to numbers are written twice, here for the host
// and in RANDOM_PRELUDE for WGSL, with the same arithmetic.

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
const PARITY = 0x1bd11bda;

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

/** The two 32-bit words of threefry2x32-20 for key (k0, k1) and counter (c0, c1). */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (PARITY ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0, x1 = (c1 + ks[1]) >>> 0;
  for (let r = 0; r < 20; r++) {
    x0 = (x0 + x1) >>> 0;
    x1 = (rotl(x1, ROTATIONS[r % 8]) ^ x0) >>> 0;
    if (r % 4 === 3) {
      const s = (r + 1) / 4;
      x0 = (x0 + ks[s % 3]) >>> 0;
      x1 = (x1 + ks[(s + 1) % 3] + s) >>> 0;
    }
  }
  return [x0, x1];
}

/** How a draw maps the two words to a number. */
export type RandDist = 'uniform' | 'normal' | 'int';

const TWO_PI = 6.283185307179586;

/**
 * The number for words (x0, x1): uniform in [0, 1) from x0's top 24 bits (exact in float32);
 * standard normal by Box-Muller on both words; an integer in [low, high) by Lemire's
 * multiply-shift, floor(x0 * (high - low) / 2^32), whose bias is below (high - low) / 2^32.
 */
export function bitsToNumber(x0: number, x1: number, dist: RandDist, low = 0, high = 0): number {
  if (dist === 'uniform') return (x0 >>> 8) / 16777216;
  if (dist === 'normal') {
    const u1 = ((x0 >>> 8) + 1) / 16777216, u2 = (x1 >>> 8) / 16777216;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }
  return low + Number((BigInt(x0) * BigInt(high - low)) >> 32n);
}

/** Threefry and the bit maps in WGSL; `kn_rand_*` take the key and the counter words. */
export const RANDOM_PRELUDE = `
fn kn_threefry(k0: u32, k1: u32, c0: u32, c1: u32) -> vec2<u32> {
  let ks = array<u32, 3>(k0, k1, ${PARITY}u ^ k0 ^ k1);
  let rot = array<u32, 8>(${ROTATIONS.map((r) => `${r}u`).join(', ')});
  var x = vec2<u32>(c0 + k0, c1 + k1);
  for (var r = 0u; r < 20u; r++) {
    x.x += x.y;
    x.y = ((x.y << rot[r % 8u]) | (x.y >> (32u - rot[r % 8u]))) ^ x.x;
    if (r % 4u == 3u) {
      let s = (r + 1u) / 4u;
      x.x += ks[s % 3u];
      x.y += ks[(s + 1u) % 3u] + s;
    }
  }
  return x;
}
fn kn_rand_uniform(k: u32, i: u32, d: u32) -> f32 {
  return f32(kn_threefry(k, 0u, i, d).x >> 8u) * (1.0 / 16777216.0);
}
fn kn_rand_normal(k: u32, i: u32, d: u32) -> f32 {
  let x = kn_threefry(k, 0u, i, d);
  let u1 = (f32(x.x >> 8u) + 1.0) * (1.0 / 16777216.0);
  let u2 = f32(x.y >> 8u) * (1.0 / 16777216.0);
  return sqrt(-2.0 * log(u1)) * cos(${TWO_PI} * u2);
}
// span 0 stands for 2^32 (the whole int32 range), where the word itself is the offset
fn kn_rand_int(k: u32, i: u32, d: u32, low: i32, span: u32) -> i32 {
  let x = kn_threefry(k, 0u, i, d).x;
  let a0 = x & 0xffffu; let a1 = x >> 16u; let b0 = span & 0xffffu; let b1 = span >> 16u;
  let mid = ((a0 * b0) >> 16u) + ((a0 * b1) & 0xffffu) + ((a1 * b0) & 0xffffu);
  let hi = a1 * b1 + ((a0 * b1) >> 16u) + ((a1 * b0) >> 16u) + (mid >> 16u);
  return low + bitcast<i32>(select(hi, x, span == 0u));
}`;
