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
//
// Packed float16 operands (two per u32 word) are strided views too, with the same element
// strides: one word load and one unpack2x16float serve two K steps (a K-contiguous operand) or
// two rows of A / columns of B (contiguous along them), vector loads carry 4 or 8 halves, and
// layouts that split words (odd offsets or strides, an odd K unroll) load one word per element.
// On a CPU adapter the unpacking, not the bytes, is what float16 costs.
import { BUILTINS, declareBuffers, grid, type BufferDecl, type ElemType } from './common.js';
import { type Tunable, checkFields, intIn, distinct } from './tunable.js';

export interface Operand {
  /** element offset and strides (in elements, also when packed) */
  buf: string; offset: number; sb: number; s0: number; s1: number;
  /**
   * float16 packed two per u32 word (buf is array<u32>, element e in half e % 2 of word e / 2);
   * absent: float32 elements
   */
  packed?: 2;
  /** the same buffer bound as array<vectorBinding(o)>, when vectorLoads() allows it */
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

/**
 * Whether a tiling reads the problem's packed float16 operands in whole words: two K steps per
 * word need an even K unroll (an odd one still computes the product, one word load per element).
 */
export const readsWholeWords = (t: MatmulTiling, p: MatmulProblem) => !p.dtype.includes('float16') || (t.ku ?? 4) % 2 === 0;

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
    return distinct(MATMUL_TUNING, [def, ...more.filter((t) => readsWholeWords(t, p) && !MATMUL_TUNING.invalid(t, p, adapter))])
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

/** the operand's start in every batch and each step of `stride` are multiples of w elements */
const aligned = (o: Omit<Operand, 'buf'>, batch: number, stride: number, w = 4) =>
  o.offset % w === 0 && stride % w === 0 && (batch === 1 || o.sb % w === 0);


/**
 * Which operands the kernel reads as vectors, as the WGSL type of the vector binding (the caller
 * then binds their buffers a second time as array<type>), else false: B along N when
 * N-contiguous, aligned and the block's columns are whole vectors; A along K when K-contiguous
 * and aligned too. A vector is 4 float32s (vec4<f32>) or packed halves: 4 (vec2<u32>), or for B
 * 8 (vec4<u32>) where the block's columns and the layout come in eights. On SwiftShader a vector
 * load costs about one scalar load (one bounds clamp), so this is most of what a hand-written
 * kernel gains.
 */
export function vectorLoads(s: Shape): { a: ElemType | false; b: ElemType | false } {
  if (s.a.fn || s.b.fn) return { a: false, b: false };
  const { tn, wgx, ku } = chooseTiling(s);
  const b = s.b.s1 === 1 && tn % 4 === 0 && s.N % (tn * wgx) === 0 && aligned(s.b, s.batch, s.b.s0);
  const a = b && s.a.s1 === 1 && s.K % 4 === 0 && ku % 4 === 0 && aligned(s.a, s.batch, s.a.s0);
  const wide = tn % 8 === 0 && aligned(s.b, s.batch, s.b.s0, 8);
  const type = (o: Omit<Operand, 'buf'>, w: boolean): ElemType => (!o.packed ? 'vec4<f32>' : w ? 'vec4<u32>' : 'vec2<u32>');
  return { a: a && type(s.a, false), b: b && type(s.b, wide) };
}

const u = (v: number) => `${v}u`;
/** `base + off` with constant folding */
const add = (base: string, off: number) => (off === 0 ? base : `${base} + ${u(off)}`);
const mul = (x: string, s: number) => (s === 1 ? x : s === 0 ? '0u' : `${x} * ${u(s)}`);
/** "base + const" split, so a per-step constant folds into one add per load */
const split = (e: string): [string, number] => {
  const m = /^(.*) \+ (\d+)u$/.exec(e);
  return m ? [m[1], Number(m[2])] : [e, 0];
};
/** `base + kterm + c`, folding c into base's constant */
const index = (base: string, kterm: string, c: number) => {
  const [bb, bc] = split(base);
  return add(kterm ? `${bb} + ${kterm}` : bb, bc + c);
};
const even = (x: number) => x % 2 === 0;
/** four packed halves (a vec2<u32>) as a vec4<f32> */
const unpack4 = (w: string) => `vec4<f32>(unpack2x16float(${w}.x), unpack2x16float(${w}.y))`;

/**
 * One operand as the kernel walks it: the block's T rows of A (or columns of B), K steps at a
 * time. `so` and `sk` are its element strides along that index and along K.
 */
interface Side {
  o: Operand; name: 'a' | 'b';
  so: number; sk: number;
  T: number; extent: number; full: boolean; origin: 'row0' | 'col0';
  /** a function operand's element at (the block's index, k) */
  call: (t: string, k: string) => string;
}

/**
 * How a packed operand's scalar loads share words: 'k' when two K steps lie in one word (K
 * contiguous, even offsets, K steps taken in even pairs), 'o' when two rows of A (columns of B)
 * do (contiguous along them, even offsets, T even); undefined: one word load per element.
 */
function pairing(s: Side, batch: number, ku: number): 'k' | 'o' | undefined {
  const { o } = s;
  if (o.fn || (o.packed ?? 1) === 1) return undefined;
  const rest = even(o.offset) && (batch === 1 || even(o.sb));
  // with extent 1 the block's index is always 0, so its stride never adds
  if (s.sk === 1 && rest && (s.extent === 1 || even(s.so)) && even(ku)) return 'k';
  if (s.so === 1 && rest && even(s.sk) && even(s.T)) return 'o';
  return undefined;
}

/**
 * Scalar loads of one operand: `pre` (per-batch and per-row bases) and, for `steps` K steps
 * from k (a WGSL expression, or a constant to fold), lines defining `${name}${t}_${st}` (f32).
 * Edge blocks clamp their index to the last valid one, so every load is in bounds.
 */
function scalarLoads(s: Side, batch: number, ku: number) {
  const { o, name: x, so, sk, T, extent, full, origin } = s;
  const at = (t: number) => (full ? add(origin, t) : `min(${origin} + ${u(t)}, ${u(extent - 1)})`);
  const pre: string[] = [];
  if (o.fn) {
    const kAt = (k: string | number, st: number) => (typeof k === 'number' ? u(k + st) : add(k, st));
    return { pre, block: (k: string | number, steps: number) => Array.from({ length: steps * T }, (_, n) => {
      const st = Math.floor(n / T), t = n % T;
      return `let ${x}${t}_${st} = ${s.call(at(t), kAt(k, st))};`;
    }) };
  }
  pre.push(`let o${x} = ${o.offset}u + ${mul('bi', o.sb)};`);
  const mode = pairing(s, batch, ku);
  const bases: string[] = [];
  if (mode === 'o') {
    // word bases of the pairs (2p, 2p + 1); an edge block clamps a pair to the last even index,
    // whose word is in bounds (its odd lane feeds only results that are not stored)
    const last = (extent - 1) - ((extent - 1) % 2);
    if (full) { pre.push(`let w${x} = (o${x} + ${origin}) / 2u;`); for (let p = 0; p < T / 2; p++) bases.push(add(`w${x}`, p)); }
    else for (let p = 0; p < T / 2; p++) { pre.push(`let w${x}${p} = (o${x} + min(${origin} + ${u(2 * p)}, ${u(last)})) / 2u;`); bases.push(`w${x}${p}`); }
  } else {
    // element bases (word bases for 'k': even element indexes halved)
    const [p, half] = mode === 'k' ? ['w', 2] : ['p', 1];
    const wrap = (e: string) => (half === 2 ? `(${e}) / 2u` : e);
    if (full) { pre.push(`let ${p}${x} = ${wrap(`o${x} + ${mul(origin, so)}`)};`); for (let t = 0; t < T; t++) bases.push(add(`${p}${x}`, (t * so) / half)); }
    else for (let t = 0; t < T; t++) { pre.push(`let ${p}${x}${t} = ${wrap(`o${x} + ${mul(at(t), so)}`)};`); bases.push(`${p}${x}${t}`); }
  }
  const block = (k: string | number, steps: number): string[] => {
    const L: string[] = [];
    const num = typeof k === 'number';
    if (mode === 'k') {
      // k is even (a multiple of ku, or kMain): word k / 2 holds steps k and k + 1
      for (let st = 0; st < steps; st += 2) for (let t = 0; t < T; t++) {
        const w = `${x}w${t}_${st}`;
        L.push(`let ${w} = unpack2x16float(${o.buf}[${index(bases[t], num ? '' : `${k} / 2u`, (num ? k / 2 : 0) + st / 2)}]);`);
        L.push(`let ${x}${t}_${st} = ${w}.x;`);
        if (st + 1 < steps) L.push(`let ${x}${t}_${st + 1} = ${w}.y;`);
      }
    } else if (mode === 'o') {
      const wk = sk / 2;
      for (let st = 0; st < steps; st++) for (let p = 0; p < T / 2; p++) {
        const w = `${x}w${p}_${st}`;
        L.push(`let ${w} = unpack2x16float(${o.buf}[${index(bases[p], num ? '' : mul(k, wk), (num ? k * wk : 0) + st * wk)}]);`);
        L.push(`let ${x}${2 * p}_${st} = ${w}.x;`, `let ${x}${2 * p + 1}_${st} = ${w}.y;`);
      }
    } else {
      for (let st = 0; st < steps; st++) for (let t = 0; t < T; t++) {
        const e = index(bases[t], num ? '' : mul(k, sk), (num ? k * sk : 0) + st * sk);
        if ((o.packed ?? 1) === 1) { L.push(`let ${x}${t}_${st} = ${o.buf}[${e}];`); continue; }
        // a packed element on its own: its half of the word that holds it
        L.push(`let ${x}e${t}_${st} = ${e};`);
        L.push(`let ${x}${t}_${st} = unpack2x16float(${o.buf}[${x}e${t}_${st} / 2u] >> ((${x}e${t}_${st} % 2u) * 16u)).x;`);
      }
    }
    return L;
  };
  return { pre, block };
}

export function matmulKernel(s: MatmulSpec) {
  const { tm, tn, wgx, wgy, ku } = chooseTiling(s);
  const { M, N, K, a, b } = s;
  const vb = b.buf4 !== undefined, va = a.buf4 !== undefined;
  const want = vectorLoads(s);
  if ((vb && !want.b) || (va && !want.a)) throw new Error('internal: matmul vec4 operand that vectorLoads() did not allow (a Kiln bug)');
  for (const [o, type] of [[a, want.a], [b, want.b]] as const) {
    const d = o.buf4 !== undefined && s.buffers.find((x) => x.name === o.buf4);
    if (d && d.type !== type) throw new Error(`internal: matmul vector operand bound as ${d.type}, expected ${type} (a Kiln bug)`);
  }
  if (vb) return vectorKernel(s, { tm, tn, wgx, wgy, ku, fit: true }, va);
  const BM = tm * wgy, BN = tn * wgx;
  const fullM = M % BM === 0, fullN = N % BN === 0;
  const A = scalarLoads({ o: a, name: 'a', so: a.s0, sk: a.s1, T: tm, extent: M, full: fullM, origin: 'row0', call: (r, k) => `${a.fn}(bi, ${r}, ${k})` }, s.batch, ku);
  const B = scalarLoads({ o: b, name: 'b', so: b.s1, sk: b.s0, T: tn, extent: N, full: fullN, origin: 'col0', call: (c, k) => `${b.fn}(bi, ${k}, ${c})` }, s.batch, ku);

  /** straight-line code for K steps k0 + 0..steps-1, where k0 is a WGSL expression or a constant */
  const block = (k: string | number, steps: number): string[] => {
    const L = [...A.block(k, steps), ...B.block(k, steps)];
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

  return assemble(s, { tm, tn, wgx, wgy, ku }, `${tm}x${tn} per invocation${packedNote(s)}`, { pre: [...A.pre, ...B.pre], accs, body, stores });
}

/** names the packed operands in the kernel's comment */
const packedNote = (s: MatmulSpec) => {
  const p = [s.a.packed && 'A', s.b.packed && 'B'].filter(Boolean);
  return p.length ? `, ${p.join(' and ')} packed float16` : '';
};

/**
 * The vec4 variant: B read as vec4 along N, accumulators are vec4 rows of C, A read as vec4
 * along K (4 K-steps per load) when allowed, else as scalars splatted across the vec4. Packed
 * operands load 4 halves as a vec2<u32> (8 as a vec4<u32> for B where aligned) and unpack them.
 */
function vectorKernel(s: MatmulSpec, t: Required<MatmulTiling>, va: boolean) {
  const { tm, tn, wgy, ku } = t;
  const { M, K, a, b } = s;
  const tn4 = tn / 4;
  const fullM = M % (tm * wgy) === 0;
  // elements per vector load of B: 4, or 8 (a vec4<u32> of halves)
  const bw = vectorLoads(s).b === 'vec4<u32>' ? 8 : 4;
  const pre: string[] = [];
  pre.push(`let ob = ${b.offset}u + bi * ${u(b.sb)};`);
  pre.push(`let qb = (ob + col0) / ${u(bw)};`);
  const A = va ? undefined : scalarLoads({ o: a, name: 'a', so: a.s0, sk: a.s1, T: tm, extent: M, full: fullM, origin: 'row0', call: () => '' }, s.batch, ku);
  if (A) pre.push(...A.pre);
  else {
    pre.push(`let oa = ${a.offset}u + bi * ${u(a.sb)};`);
    // row r of A (clamped on edge tiles), as an index of 4-element vectors
    for (let i = 0; i < tm; i++) {
      const r = fullM ? `row0 + ${u(i)}` : `min(row0 + ${u(i)}, ${u(M - 1)})`;
      pre.push(`let qa${i} = (oa + (${r}) * ${u(a.s0)}) / 4u;`);
    }
  }
  /** straight-line code for `steps` K steps from k (a WGSL u32 expression) */
  const block = (k: string, steps: number): string[] => {
    const L: string[] = [];
    // B's row offset for K step k, in vector units: k * s0 / bw (s0 is a multiple of bw)
    for (let st = 0; st < steps; st++) for (let q = 0; q < tn / bw; q++) {
      const load = `${b.buf4}[qb + ${k} * ${u(b.s0 / bw)} + ${u((st * b.s0) / bw + q)}]`;
      if (!b.packed) { L.push(`let b${q}_${st} = ${load};`); continue; }
      L.push(`let bw${q}_${st} = ${load};`);
      if (bw === 4) L.push(`let b${q}_${st} = ${unpack4(`bw${q}_${st}`)};`);
      else L.push(`let b${2 * q}_${st} = ${unpack4(`bw${q}_${st}.xy`)};`, `let b${2 * q + 1}_${st} = ${unpack4(`bw${q}_${st}.zw`)};`);
    }
    if (A) L.push(...A.block(k, steps));
    else for (let i = 0; i < tm; i++) for (let g = 0; g < steps / 4; g++) {
      const load = `${a.buf4}[qa${i} + ${k} / 4u + ${u(g)}]`;
      L.push(a.packed ? `let a${i}_${g} = ${unpack4(load)};` : `let a${i}_${g} = ${load};`);
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
  if (kMain > 0) body.push(`for (var k = 0u; k < ${u(kMain)}; k = k + ${u(ku)}) {`, ...block('k', ku).map((l) => `  ${l}`), `}`);
  if (K % ku) body.push(`{`, `  let k = ${u(kMain)};`, ...block('k', K % ku).map((l) => `  ${l}`), `}`);
  const accs: string[] = [], stores: string[] = [];
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn4; j++) accs.push(`var c${i}_${j} = vec4<f32>(0.0);`);
  for (let i = 0; i < tm; i++) {
    const row: string[] = [];
    for (let j = 0; j < tn4; j++) for (let c = 0; c < 4; c++) row.push(`kn_epilogue(bi, row0 + ${u(i)}, col0 + ${u(4 * j + c)}, c${i}_${j}.${'xyzw'[c]});`);
    stores.push(fullM ? row.join('\n  ') : `if (row0 + ${u(i)} < ${u(M)}) {\n    ${row.join('\n    ')}\n  }`);
  }
  return assemble(s, t, `${tm}x${tn} per invocation (vec4 B${va ? ' and A' : ''})${packedNote(s)}`, { pre, accs, body, stores });
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
