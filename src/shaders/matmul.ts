// Batched matmul C[b, m, n] = sum_k A[b, m, k] B[b, k, n]. Operands are read through strides,
// so transposes and broadcasts cost nothing; the epilogue (bias, activation, residual) is a
// function the graph's lowering writes. Tiling is a parameter: the best differs per adapter.
//
// Kernel shape (register blocking, no workgroup memory): each invocation owns a tm x tn block
// of C and walks K `ku` steps per loop iteration, fully unrolled into straight-line loads and
// FMAs. Everything static is baked in at codegen time: sizes, strides (a stride of 1 folds
// into constant offsets), and whether M, N, K divide the tile (then no clamps or store guards).
// Edge blocks clamp their row/column to the last valid one, so loads stay in bounds and the
// loop stays branch-free; their extra results are simply not stored.
import { BUILTINS, declareBuffers, grid, type BufferDecl } from './common.js';
import { type Tunable, checkFields, intIn, distinct } from './tunable.js';

export interface Operand {
  buf: string; offset: number; sb: number; s0: number; s1: number;
  /** the same buffer bound as array<vec4<f32>>, when vectorLoads() allows it */
  buf4?: string;
  /**
   * A WGSL function `fn(bi, i, j) -> f32` that computes the element instead (an operand that is
   * no strided view, such as the sliding windows of a convolution: an implicit GEMM). The
   * strides are then unused.
   */
  fn?: string;
}

export interface MatmulTiling {
  /** rows / columns of C per invocation */
  tm: number; tn: number;
  /** workgroup size along N (x) and M (y) */
  wgx: number; wgy: number;
  /** K steps per loop iteration (default 4) */
  ku?: number;
  /** shrink the tile for small or thin outputs (default true) */
  fit?: boolean;
}
/** Measured on SwiftShader (Dawn in Node, 2 cores): 8x8 blocks, K unrolled by 4. Larger blocks
 * run faster per core but compile several times slower (SwiftShader's JIT time grows with the
 * number of live accumulators: ~0.3 s for 8x8, ~2 s for 16x16), so they are kept for products
 * of at least BIG_PRODUCT multiply-adds, where the run time pays for it. */
export const DEFAULT_TILING: MatmulTiling = { tm: 8, tn: 8, wgx: 4, wgy: 4, ku: 4 };
/** Used without an explicit tiling when batch*M*N*K >= BIG_PRODUCT (and M, N >= 64): ~1.4x the
 * per-core throughput of 8x8 on SwiftShader. MLP 784-256-256-10 step: 93 ms with 8x8 everywhere
 * (first step 2.5 s), 80 ms with 2^24 (4 s), 74 ms with 2^23 (8 s), 70 ms with 16x16 everywhere (9-11 s). */
/**
 * Compiles in a fraction of the time of the tuned tilings (the unrolled 8x8 and 16x16 kernels
 * take seconds each on SwiftShader): the first steps run on it while the tuned kernels compile.
 */
export const QUICK_TILING: MatmulTiling = { tm: 4, tn: 4, wgx: 8, wgy: 8, ku: 1 };
export const BIG_TILING: MatmulTiling = { tm: 16, tn: 16, wgx: 4, wgy: 1, ku: 4 };
export const BIG_PRODUCT = 2 ** 24;

export interface MatmulSpec {
  buffers: BufferDecl[];
  prelude: string;
  batch: number; M: number; N: number; K: number;
  /** A[b, m, k] at a.offset + b*a.sb + m*a.s0 + k*a.s1 */
  a: Operand;
  /** B[b, k, n] at b.offset + b*b.sb + k*b.s0 + n*b.s1 */
  b: Operand;
  /** body of `fn kn_epilogue(bi: u32, row: u32, col: u32, acc: f32)` */
  epilogue: string;
  tiling?: MatmulTiling;
  maxPerDim: number;
}

const cdiv = (a: number, b: number) => Math.ceil(a / b);

/** Fits the tiling to the problem: no block much larger than the output, enough workgroups to
 * keep a few cores busy. */
export function fitTiling(t: MatmulTiling, batch: number, M: number, N: number): Required<MatmulTiling> {
  let { tm, tn, wgx, wgy } = t;
  const ku = Math.max(1, t.ku ?? 4);
  if (t.fit !== false) {
    // a thin output gets its whole width (or height) in one invocation
    if (N <= tn) { tn = N; wgx = 1; }
    if (M <= tm) { tm = M; wgy = 1; }
    // workgroups only as wide as the output needs
    wgx = Math.min(wgx, cdiv(N, tn));
    wgy = Math.min(wgy, cdiv(M, tm));
    // enough workgroups for parallelism: halve the larger block side while there are few
    const wgs = () => batch * cdiv(M, tm * wgy) * cdiv(N, tn * wgx);
    while (wgs() < 8 && (tm > 4 || tn > 4)) {
      if (tm >= tn && tm > 4) tm = Math.ceil(tm / 2); else tn = Math.ceil(tn / 2);
    }
  }
  return { tm: Math.max(1, tm), tn: Math.max(1, tn), wgx: Math.max(1, wgx), wgy: Math.max(1, wgy), ku, fit: t.fit ?? true };
}

type Shape = Pick<MatmulSpec, 'batch' | 'M' | 'N' | 'K' | 'tiling'> & { a: Omit<Operand, 'buf'>; b: Omit<Operand, 'buf'> };

/** The untuned rule: 8x8 blocks, 16x16 for big products (see BIG_PRODUCT). */
function defaultTiling(s: { batch: number; M: number; N: number; K: number }): MatmulTiling {
  const big = s.batch * s.M * s.N * s.K >= BIG_PRODUCT && s.M >= 32 && s.N >= 32;
  return big ? BIG_TILING : DEFAULT_TILING;
}

function chooseTiling(s: Shape): Required<MatmulTiling> {
  return fitTiling(s.tiling ?? defaultTiling(s), s.batch, s.M, s.N);
}

/**
 * A matmul as the tuner sees it: sizes, each operand's layout (it decides the vec4 loads; see
 * operandLayout) and the dtypes.
 */
export interface MatmulProblem { batch: number; M: number; N: number; K: number; a: string; b: string; dtype: string }

/** 'fn' (computed), or 'c' (contiguous along its last index) / 't' (along its first) / 's' (strided), with '4' when vec4-aligned */
export function operandLayout(o: Omit<Operand, 'buf'>, batch: number): string {
  if (o.fn) return 'fn';
  const inner = o.s1 === 1 ? 'c' : o.s0 === 1 ? 't' : 's';
  return inner + (aligned(o, batch, o.s1 === 1 ? o.s0 : o.s1) ? '4' : '');
}

/** Products under this many multiply-adds run in microseconds: not worth compiling candidates for. */
const TUNE_MIN_WORK = 2 ** 18;
/** Extra candidates on a CPU adapter: a wider block (16 columns, 8 rows) between 8x8 and 16x16. */
const WIDE_TILING: MatmulTiling = { tm: 8, tn: 16, wgx: 4, wgy: 2, ku: 4 };
/** On a GPU, more invocations per workgroup with smaller register blocks. */
const GPU_TILINGS: MatmulTiling[] = [
  { tm: 4, tn: 4, wgx: 16, wgy: 16, ku: 4 },
  { tm: 4, tn: 8, wgx: 8, wgy: 16, ku: 4 },
  { tm: 8, tn: 8, wgx: 8, wgy: 8, ku: 4 },
];

const matmulLabel = (t: MatmulTiling) => `${t.tm}x${t.tn} wg${t.wgx}x${t.wgy} ku${t.ku ?? 4}${t.fit === false ? ' unfitted' : ''}`;

/** Every tiling computes the same product (edge blocks clamp); only the speed differs. */
export const MATMUL_TUNING: Tunable<MatmulProblem, MatmulTiling> = {
  emitter: 'matmul',
  key: (p) => `${p.batch}x${p.M}x${p.N}x${p.K} a:${p.a} b:${p.b} ${p.dtype}`,
  default: (p) => defaultTiling(p),
  candidates(p, adapter) {
    const def = defaultTiling(p);
    const work = p.batch * p.M * p.N * p.K;
    if (work < TUNE_MIN_WORK) return [def];
    const more = adapter.software ? [DEFAULT_TILING, WIDE_TILING, ...(work >= 2 ** 22 ? [BIG_TILING] : [])] : [DEFAULT_TILING, ...GPU_TILINGS];
    // tilings that fit this output to the same kernel are one candidate
    const fitted = (t: MatmulTiling) => matmulLabel(fitTiling(t, p.batch, p.M, p.N));
    const seen = new Set<string>();
    return distinct(MATMUL_TUNING, [def, ...more.filter((t) => !MATMUL_TUNING.invalid(t, p, adapter))])
      .filter((t) => { const f = fitted(t); if (seen.has(f)) return false; seen.add(f); return true; });
  },
  invalid(c, _p, adapter) {
    const bad = checkFields(c, {
      tm: intIn(1, 32), tn: intIn(1, 32), wgx: intIn(1, 256), wgy: intIn(1, 256), ku: intIn(1, 16),
      fit: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
    }, ['tm', 'tn', 'wgx', 'wgy']);
    if (bad) return bad;
    const t = c as MatmulTiling, max = adapter?.maxInvocations ?? 256;
    if (t.wgx * t.wgy > max) return `config.wgx * config.wgy must be at most ${max} (maxComputeInvocationsPerWorkgroup), got ${t.wgx * t.wgy}`;
    return undefined;
  },
  label: matmulLabel,
};

const aligned = (o: Omit<Operand, 'buf'>, batch: number, stride: number) =>
  o.offset % 4 === 0 && stride % 4 === 0 && (batch === 1 || o.sb % 4 === 0);

/**
 * Which operands the kernel reads as vec4 (the caller then binds their buffers a second time,
 * as array<vec4<f32>>): B along N when N-contiguous, aligned and the block's columns are whole
 * vec4s; A along K when K-contiguous and aligned too. On SwiftShader a vec4 load costs about
 * one scalar load (one bounds clamp), so this is most of what a hand-written kernel gains.
 */
export function vectorLoads(s: Shape): { a: boolean; b: boolean } {
  if (s.a.fn || s.b.fn) return { a: false, b: false };
  const { tn, wgx, ku } = chooseTiling(s);
  const b = s.b.s1 === 1 && tn % 4 === 0 && s.N % (tn * wgx) === 0 && aligned(s.b, s.batch, s.b.s0);
  const a = b && s.a.s1 === 1 && s.K % 4 === 0 && ku % 4 === 0 && aligned(s.a, s.batch, s.a.s0);
  return { a, b };
}

export function matmulKernel(s: MatmulSpec) {
  const { tm, tn, wgx, wgy, ku } = chooseTiling(s);
  const { M, N, K, a, b } = s;
  const vb = b.buf4 !== undefined, va = a.buf4 !== undefined;
  const want = vectorLoads(s);
  if ((vb && !want.b) || (va && !want.a)) throw new Error('internal: matmul vec4 operand that vectorLoads() did not allow (a Kiln bug)');
  if (vb) return vectorKernel(s, { tm, tn, wgx, wgy, ku, fit: true }, va);
  const BM = tm * wgy, BN = tn * wgx;
  const fullM = M % BM === 0, fullN = N % BN === 0;
  const u = (v: number) => `${v}u`;
  /** `base + off` with constant folding */
  const add = (base: string, off: number) => (off === 0 ? base : `${base} + ${u(off)}`);
  const mul = (x: string, s: number) => (s === 1 ? x : s === 0 ? '0u' : `${x} * ${u(s)}`);

  const pre: string[] = [];
  // per-batch base offsets
  if (!a.fn) pre.push(`let oa = ${a.offset}u + ${mul('bi', a.sb)};`);
  if (!b.fn) pre.push(`let ob = ${b.offset}u + ${mul('bi', b.sb)};`);
  // rows and columns for function operands (clamped on edge tiles like the strided ones)
  const rowAt = (i: number) => (fullM ? add('row0', i) : `min(row0 + ${u(i)}, ${u(M - 1)})`);
  const colAt = (j: number) => (fullN ? add('col0', j) : `min(col0 + ${u(j)}, ${u(N - 1)})`);
  // row bases of A: oa + row*s0 (clamped on edge tiles); column bases of B: ob + col*s1.
  // When the block is aligned and contiguous, one base plus constant offsets.
  const aRow: string[] = [], bCol: string[] = [];
  if (a.fn) { /* loads call a.fn */ } else if (fullM) {
    pre.push(`let pa = oa + ${mul('row0', a.s0)};`);
    for (let i = 0; i < tm; i++) aRow.push(add('pa', i * a.s0));
  } else {
    for (let i = 0; i < tm; i++) { pre.push(`let pa${i} = oa + ${mul(`min(row0 + ${u(i)}, ${u(M - 1)})`, a.s0)};`); aRow.push(`pa${i}`); }
  }
  if (b.fn) { /* loads call b.fn */ } else if (fullN) {
    pre.push(`let pb = ob + ${mul('col0', b.s1)};`);
    for (let j = 0; j < tn; j++) bCol.push(add('pb', j * b.s1));
  } else {
    for (let j = 0; j < tn; j++) { pre.push(`let pb${j} = ob + ${mul(`min(col0 + ${u(j)}, ${u(N - 1)})`, b.s1)};`); bCol.push(`pb${j}`); }
  }
  // split "base + const" so the per-step constant folds into one add per load
  const split = (e: string): [string, number] => {
    const m = /^(.*) \+ (\d+)u$/.exec(e);
    return m ? [m[1], Number(m[2])] : [e, 0];
  };

  /** straight-line code for K steps k0 + 0..steps-1, where k0 is a WGSL expression or a constant */
  const block = (kExpr: string | number, steps: number): string[] => {
    const L: string[] = [];
    let ka: string, kb: string, ca = 0, cb = 0;
    if (typeof kExpr === 'number') { ka = ''; kb = ''; ca = kExpr * a.s1; cb = kExpr * b.s0; }
    else { ka = mul(kExpr, a.s1); kb = mul(kExpr, b.s0); }
    const idx = (base: string, kterm: string, c: number) => {
      const [bb, bc] = split(base);
      const terms = [bb]; if (kterm) terms.push(kterm);
      return add(terms.join(' + '), bc + c);
    };
    const kAt = (st: number) => (typeof kExpr === 'number' ? u(kExpr + st) : add(kExpr, st));
    for (let st = 0; st < steps; st++) {
      for (let i = 0; i < tm; i++) L.push(`let a${i}_${st} = ${a.fn ? `${a.fn}(bi, ${rowAt(i)}, ${kAt(st)})` : `${a.buf}[${idx(aRow[i], ka, ca + st * a.s1)}]`};`);
      for (let j = 0; j < tn; j++) L.push(`let b${j}_${st} = ${b.fn ? `${b.fn}(bi, ${kAt(st)}, ${colAt(j)})` : `${b.buf}[${idx(bCol[j], kb, cb + st * b.s0)}]`};`);
    }
    for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) {
      let e = `c${i}_${j}`;
      for (let st = 0; st < steps; st++) e = `fma(a${i}_${st}, b${j}_${st}, ${e})`;
      L.push(`c${i}_${j} = ${e};`);
    }
    return L;
  };

  const body: string[] = [];
  const kMain = K - (K % ku);
  if (kMain > 0) {
    if (kMain === ku) body.push(`{`, ...block(0, ku).map((l) => `  ${l}`), `}`);
    else body.push(`for (var k = 0u; k < ${u(kMain)}; k = k + ${u(ku)}) {`, ...block('k', ku).map((l) => `  ${l}`), `}`);
  }
  if (K % ku) body.push(`{`, ...block(kMain, K % ku).map((l) => `  ${l}`), `}`);

  const accs: string[] = [], stores: string[] = [];
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) accs.push(`var c${i}_${j} = 0.0;`);
  for (let i = 0; i < tm; i++) {
    const r = add('row0', i);
    const row: string[] = [];
    for (let j = 0; j < tn; j++) {
      const c = add('col0', j);
      const call = `kn_epilogue(bi, ${r}, ${c}, c${i}_${j});`;
      row.push(fullN ? call : `if (${c} < ${u(N)}) { ${call} }`);
    }
    stores.push(fullM ? row.join('\n  ') : `if (${r} < ${u(M)}) {\n    ${row.join('\n    ')}\n  }`);
  }

  return assemble(s, { tm, tn, wgx, wgy, ku }, `${tm}x${tn} per invocation`, { pre, accs, body, stores });
}

/**
 * The vec4 variant: B read as vec4 along N, accumulators are vec4 rows of C, A read as vec4
 * along K (4 K-steps per load) when allowed, else as scalars splatted across the vec4.
 */
function vectorKernel(s: MatmulSpec, t: Required<MatmulTiling>, va: boolean) {
  const { tm, tn, wgy, ku } = t;
  const { M, K, a, b } = s;
  const tn4 = tn / 4;
  const fullM = M % (tm * wgy) === 0;
  const u = (v: number) => `${v}u`;
  const pre: string[] = [];
  pre.push(`let oa = ${a.offset}u + bi * ${u(a.sb)};`);
  pre.push(`let ob = ${b.offset}u + bi * ${u(b.sb)};`);
  // row r of A (clamped on edge tiles): element base oa + r*s0; as vec4 index when va
  for (let i = 0; i < tm; i++) {
    const r = fullM ? `row0 + ${u(i)}` : `min(row0 + ${u(i)}, ${u(M - 1)})`;
    pre.push(va ? `let qa${i} = (oa + (${r}) * ${u(a.s0)}) / 4u;` : `let pa${i} = oa + (${r}) * ${u(a.s0)};`);
  }
  pre.push(`let qb = (ob + col0) / 4u;`);
  const bLoad = (k: string, st: number, j: number) => `${b.buf4}[qb + ${k}${u((st * b.s0) / 4 + j)}]`;
  /** straight-line code for `steps` K steps from k (a WGSL u32 expression) */
  const block = (k: string, kb: string, steps: number): string[] => {
    const L: string[] = [];
    for (let st = 0; st < steps; st++) for (let j = 0; j < tn4; j++) L.push(`let b${j}_${st} = ${bLoad(kb, st, j)};`);
    for (let i = 0; i < tm; i++) {
      if (va) for (let g = 0; g < steps / 4; g++) L.push(`let a${i}_${g} = ${a.buf4}[qa${i} + ${k ? `${k} / 4u + ` : ''}${u(g)}];`);
      else for (let st = 0; st < steps; st++) L.push(`let a${i}_${st} = ${a.buf}[pa${i} + ${k ? `${k} * ${u(a.s1)} + ` : ''}${u(st * a.s1)}];`);
    }
    const comp = ['x', 'y', 'z', 'w'];
    for (let i = 0; i < tm; i++) for (let j = 0; j < tn4; j++) {
      let e = `c${i}_${j}`;
      for (let st = 0; st < steps; st++) {
        const av = va ? `a${i}_${Math.floor(st / 4)}.${comp[st % 4]}` : `a${i}_${st}`;
        e = `fma(vec4<f32>(${av}), b${j}_${st}, ${e})`;
      }
      L.push(`c${i}_${j} = ${e};`);
    }
    return L;
  };
  const body: string[] = [];
  const kMain = K - (K % ku);
  // B's row offset for K step k, in vec4 units: k * s0 / 4 (s0 is a multiple of 4)
  const kb = (k: string) => `${k} * ${u(b.s0 / 4)} + `;
  if (kMain > 0) body.push(`for (var k = 0u; k < ${u(kMain)}; k = k + ${u(ku)}) {`, ...block('k', kb('k'), ku).map((l) => `  ${l}`), `}`);
  if (K % ku) body.push(`{`, `  let k = ${u(kMain)};`, ...block('k', kb('k'), K % ku).map((l) => `  ${l}`), `}`);
  const accs: string[] = [], stores: string[] = [];
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn4; j++) accs.push(`var c${i}_${j} = vec4<f32>(0.0);`);
  for (let i = 0; i < tm; i++) {
    const row: string[] = [];
    for (let j = 0; j < tn4; j++) for (let c = 0; c < 4; c++) row.push(`kn_epilogue(bi, row0 + ${u(i)}, col0 + ${u(4 * j + c)}, c${i}_${j}.${'xyzw'[c]});`);
    stores.push(fullM ? row.join('\n  ') : `if (row0 + ${u(i)} < ${u(M)}) {\n    ${row.join('\n    ')}\n  }`);
  }
  return assemble(s, t, `${tm}x${tn} per invocation (vec4 B${va ? ' and A' : ''})`, { pre, accs, body, stores });
}

/** The kernel around the per-invocation code: block coordinates, then the code, then the stores. */
function assemble(s: MatmulSpec, t: Omit<Required<MatmulTiling>, 'fit'>, what: string, code: { pre: string[]; accs: string[]; body: string[]; stores: string[] }) {
  const { tm, tn, wgx, wgy, ku } = t;
  const tilesM = cdiv(s.M, tm * wgy), tilesN = cdiv(s.N, tn * wgx);
  const u = (v: number) => `${v}u`;
  const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
fn kn_epilogue(bi: u32, row: u32, col: u32, acc: f32) {
${s.epilogue}
}
// matmul ${s.batch}x${s.M}x${s.N}x${s.K}: ${what}, workgroup ${wgx}x${wgy}, K unrolled by ${ku}
@compute @workgroup_size(${wgx}, ${wgy})
fn main(${BUILTINS}, @builtin(local_invocation_id) lid: vec3u) {
  let wg_lin = wid.y * nwg.x + wid.x;
  let bi = wg_lin / ${u(tilesM * tilesN)};
  let tile = wg_lin % ${u(tilesM * tilesN)};
  if (bi >= ${u(s.batch)}) { return; }
  let row0 = ((tile / ${u(tilesN)}) * ${u(wgy)} + lid.y) * ${u(tm)};
  let col0 = ((tile % ${u(tilesN)}) * ${u(wgx)} + lid.x) * ${u(tn)};
  ${code.pre.join('\n  ')}
  ${code.accs.join(' ')}
  ${code.body.join('\n  ')}
  ${code.stores.join('\n  ')}
}`;
  return { wgsl, workgroups: grid(s.batch * tilesM * tilesN, s.maxPerDim) };
}
