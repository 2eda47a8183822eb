// Host-side random numbers for initialisation and shuffling (seeded, reproducible); the device
// generator (kn.rand, dropout) is graph/random.ts, seeded by the same kn.manualSeed.
let s = 0x2545f491;

export function manualSeed(seed: number): void { s = (seed >>> 0) ^ 0x2545f491; }

/** mulberry32: small, fast, good enough for initialisation. */
export function random(): number {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function uniformArray(n: number, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * random();
  return a;
}

export function normalArray(n: number, mean = 0, std = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - random(), v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    a[i] = mean + std * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) a[i + 1] = mean + std * r * Math.sin(2 * Math.PI * v);
  }
  return a;
}
