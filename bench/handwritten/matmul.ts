// Hand-written f32 matmul in raw WebGPU: the reference that Kiln's matmul emitter is held to.
//
// C[M,N] = A[M,K] · B[K,N], all row-major, bound as array<vec4<f32>>.
// Two families, generated from a few parameters so that `--tune` can sweep them:
//  - 'reg':   register blocking only (no workgroup memory). Each invocation owns a TM×TN block
//             of C (TN a multiple of 4), walks K four at a time: one vec4 of A per row, four
//             vec4 rows of B per column quad, everything unrolled into straight-line FMAs.
//             This is the fastest shape on SwiftShader (workgroup memory and barriers are
//             expensive there, while its LLVM JIT handles large straight-line blocks well).
//  - 'tiled': classic workgroup-memory tiles (BM×BN×BK), TM×TN register block per invocation;
//             the usual winner on real GPUs, kept for `--tune --gpu`.
// Sizes are baked into the WGSL (Kiln's shapes are static, so its emitter may do the same) and
// must be multiples of the block sizes; the bench only uses 256/512/1024.

export interface RegConfig {
  kind: 'reg';
  tm: number; // rows of C per invocation
  tn: number; // columns of C per invocation (multiple of 4)
  wgx: number; // workgroup size along N
  wgy: number; // workgroup size along M
  kUnroll: number; // vec4 steps of K per loop iteration (1 = 4 scalars of K per iteration)
  /** Interleave columns across the workgroup's x invocations: invocation lx of a workgroup owns vec4
   * columns base + j*wgx + lx (neighbouring invocations read neighbouring vec4s of B) instead of a
   * contiguous run of TN/4 vec4s. */
  interleave?: boolean;
}
export interface TiledConfig {
  kind: 'tiled';
  tm: number;
  tn: number; // multiple of 4
  wgx: number;
  wgy: number;
  bk: number; // K tile (multiple of 4)
}
export type MatmulConfig = RegConfig | TiledConfig;

/** The configuration the bench reports as "hand-written": best measured on SwiftShader (Chromium 156,
 * 2 cores) by --tune/--tune-focus at 1024; its WGSL at 1024 is in best-1024.wgsl. Bigger register
 * blocks won steadily (8x8: ~4, 16x16: ~6, 32x16: ~7-7.8 GFLOP/s), and a 4x1 workgroup (one SwiftShader
 * SIMD group of 4 lanes sharing the same rows of A) beat 4x4 and 2x2 at equal block size. */
export const BEST: MatmulConfig = { kind: 'reg', tm: 32, tn: 16, wgx: 4, wgy: 1, kUnroll: 1 };

export function configName(c: MatmulConfig): string {
  return c.kind === 'reg'
    ? `reg ${c.tm}x${c.tn}/inv wg ${c.wgx}x${c.wgy} kU${c.kUnroll}${c.interleave ? ' interleaved' : ''}`
    : `tiled ${c.tm}x${c.tn}/inv wg ${c.wgx}x${c.wgy} bk${c.bk}`;
}

/** Workgroup counts [x, y] for an M×N output. */
export function dispatchSize(c: MatmulConfig, m: number, n: number): [number, number] {
  return [n / (c.tn * c.wgx), m / (c.tm * c.wgy)];
}

export function checkShape(c: MatmulConfig, m: number, n: number, k: number): void {
  const bad = m % (c.tm * c.wgy) || n % (c.tn * c.wgx) || k % 4 || c.tn % 4 ||
    (c.kind === 'reg' && k % (4 * c.kUnroll)) || (c.kind === 'tiled' && (k % c.bk || c.bk % 4));
  if (bad) throw new Error(`hand-written matmul ${configName(c)}: shape ${m}x${k}x${n} is not a multiple of the tile`);
}

export function matmulWGSL(c: MatmulConfig, m: number, n: number, k: number): string {
  checkShape(c, m, n, k);
  return c.kind === 'reg' ? regWGSL(c, m, n, k) : tiledWGSL(c, m, n, k);
}

const comps = ['x', 'y', 'z', 'w'];

function regWGSL(c: RegConfig, m: number, n: number, k: number): string {
  const { tm, tn, wgx, wgy, kUnroll } = c;
  const q = tn / 4; // vec4 columns per invocation
  const K4 = k / 4, N4 = n / 4;
  const L: string[] = [];
  L.push(`// ${configName(c)}; C[${m},${n}] = A[${m},${k}] * B[${k},${n}]`);
  L.push(`@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;`);
  L.push(`@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;`);
  L.push(`@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;`);
  L.push(`@compute @workgroup_size(${wgx}, ${wgy})`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>${c.interleave ? ', @builtin(local_invocation_id) lid: vec3<u32>' : ''}) {`);
  // vec4 column of this invocation's j-th column quad: col + j*cs
  const cs = c.interleave ? wgx : 1;
  if (c.interleave) L.push(`  let col = (gid.x - lid.x) * ${q}u + lid.x; // columns col + j*${wgx} (interleaved across the workgroup)`);
  else L.push(`  let col = gid.x * ${q}u;        // first vec4 column of this block`);
  L.push(`  let row = gid.y * ${tm}u;       // first row of this block`);
  for (let r = 0; r < tm; r++) for (let j = 0; j < q; j++) L.push(`  var c${r}_${j} = vec4<f32>(0.0);`);
  for (let r = 0; r < tm; r++) L.push(`  let aBase${r} = (row + ${r}u) * ${K4}u;`);
  L.push(`  for (var kk = 0u; kk < ${K4}u; kk += ${kUnroll}u) {`);
  for (let u = 0; u < kUnroll; u++) {
    const ind = kUnroll === 1 ? '    ' : '      ';
    if (kUnroll > 1) L.push(`    { // K step ${u}`);
    const kv = u === 0 ? 'kk' : `(kk + ${u}u)`;
    for (let r = 0; r < tm; r++) L.push(`${ind}let a${r} = A[aBase${r} + ${kv}];`);
    for (let s = 0; s < 4; s++) {
      L.push(`${ind}let bRow${s} = (${kv} * 4u + ${s}u) * ${N4}u + col;`);
      for (let j = 0; j < q; j++) L.push(`${ind}let b${s}_${j} = B[bRow${s} + ${j * cs}u];`);
    }
    for (let r = 0; r < tm; r++) for (let j = 0; j < q; j++) {
      let e = `c${r}_${j}`;
      for (let s = 0; s < 4; s++) e = `fma(vec4<f32>(a${r}.${comps[s]}), b${s}_${j}, ${e})`;
      L.push(`${ind}c${r}_${j} = ${e};`);
    }
    if (kUnroll > 1) L.push(`    }`);
  }
  L.push(`  }`);
  for (let r = 0; r < tm; r++) for (let j = 0; j < q; j++) L.push(`  C[(row + ${r}u) * ${N4}u + col + ${j * cs}u] = c${r}_${j};`);
  L.push(`}`);
  return L.join('\n');
}

function tiledWGSL(c: TiledConfig, m: number, n: number, k: number): string {
  const { tm, tn, wgx, wgy, bk } = c;
  const BM = tm * wgy, BN = tn * wgx, q = tn / 4;
  const K4 = k / 4, N4 = n / 4, BN4 = BN / 4, BK4 = bk / 4;
  const threads = wgx * wgy;
  const aVecs = BM * BK4, bVecs = bk * BN4; // vec4s per tile
  const L: string[] = [];
  L.push(`// ${configName(c)}; C[${m},${n}] = A[${m},${k}] * B[${k},${n}]`);
  L.push(`@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;`);
  L.push(`@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;`);
  L.push(`@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;`);
  L.push(`var<workgroup> tA: array<vec4<f32>, ${aVecs}>; // [BM][BK/4]`);
  L.push(`var<workgroup> tB: array<vec4<f32>, ${bVecs}>; // [BK][BN/4]`);
  L.push(`@compute @workgroup_size(${wgx}, ${wgy})`);
  L.push(`fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {`);
  L.push(`  let row0 = wid.y * ${BM}u;`);
  L.push(`  let col0 = wid.x * ${BN4}u;`);
  for (let r = 0; r < tm; r++) for (let j = 0; j < q; j++) L.push(`  var c${r}_${j} = vec4<f32>(0.0);`);
  L.push(`  for (var t = 0u; t < ${K4}u; t += ${BK4}u) {`);
  L.push(`    for (var i = li; i < ${aVecs}u; i += ${threads}u) { let r = i / ${BK4}u; let kq = i % ${BK4}u; tA[i] = A[(row0 + r) * ${K4}u + t + kq]; }`);
  L.push(`    for (var i = li; i < ${bVecs}u; i += ${threads}u) { let r = i / ${BN4}u; let cq = i % ${BN4}u; tB[i] = B[(t * 4u + r) * ${N4}u + col0 + cq]; }`);
  L.push(`    workgroupBarrier();`);
  L.push(`    for (var kq = 0u; kq < ${BK4}u; kq++) {`);
  for (let r = 0; r < tm; r++) L.push(`      let a${r} = tA[(lid.y * ${tm}u + ${r}u) * ${BK4}u + kq];`);
  for (let s = 0; s < 4; s++) for (let j = 0; j < q; j++)
    L.push(`      let b${s}_${j} = tB[(kq * 4u + ${s}u) * ${BN4}u + lid.x * ${q}u + ${j}u];`);
  for (let r = 0; r < tm; r++) for (let j = 0; j < q; j++) {
    let e = `c${r}_${j}`;
    for (let s = 0; s < 4; s++) e = `fma(vec4<f32>(a${r}.${comps[s]}), b${s}_${j}, ${e})`;
    L.push(`      c${r}_${j} = ${e};`);
  }
  L.push(`    }`);
  L.push(`    workgroupBarrier();`);
  L.push(`  }`);
  for (let r = 0; r < tm; r++) for (let j = 0; j < q; j++)
    L.push(`  C[(row0 + lid.y * ${tm}u + ${r}u) * ${N4}u + col0 + lid.x * ${q}u + ${j}u] = c${r}_${j};`);
  L.push(`}`);
  return L.join('\n');
}

/** Variants swept by `npx tsx bench/run.ts --tune[=n]` (the bench sizes must divide by every block). */
export function tuneCandidates(): MatmulConfig[] {
  const c: MatmulConfig[] = [];
  const reg = (tm: number, tn: number, wgx: number, wgy: number, interleave = false, kUnroll = 1) =>
    c.push({ kind: 'reg', tm, tn, wgx, wgy, kUnroll, interleave });
  reg(8, 8, 4, 4); // DESIGN.md's starting point
  for (const il of [false, true]) {
    for (const [tm, tn] of [[8, 8], [16, 8], [8, 16], [16, 16], [32, 8], [16, 32]]) reg(tm, tn, 4, 1, il);
    reg(16, 16, 8, 1, il); reg(16, 16, 4, 2, il); reg(16, 16, 4, 4, il); reg(16, 16, 16, 1, il);
  }
  reg(16, 16, 4, 1, false, 2);
  c.push({ kind: 'tiled', tm: 4, tn: 4, wgx: 16, wgy: 16, bk: 8 });
  c.push({ kind: 'tiled', tm: 8, tn: 8, wgx: 8, wgy: 8, bk: 8 });
  return c;
}

/** The short list compared head to head, over several rounds, by `--tune-focus[=n]`. */
export function focusCandidates(): MatmulConfig[] {
  const reg = (tm: number, tn: number, wgx: number, wgy: number): MatmulConfig => ({ kind: 'reg', tm, tn, wgx, wgy, kUnroll: 1 });
  return [reg(8, 8, 4, 4), reg(32, 16, 4, 1), reg(32, 32, 4, 1), reg(64, 16, 4, 1), reg(64, 8, 4, 1), reg(32, 16, 4, 4), reg(32, 16, 8, 1), reg(32, 16, 4, 2)];
}
