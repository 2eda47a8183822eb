// Flash attention (online softmax, no L x S buffer), forward and backward. An invocation owns
// one or more rows (attentionLayout); the other operand streams through workgroup memory in blocks:
//  - forward: per query row, the running max, sum and output row stay in registers while
//    key/value blocks pass through; it stores O and the row's logsumexp;
//  - gradQ: per query row, P is recomputed from the logsumexp and dQ summed;
//  - gradKV: per key row, dK and dV are summed over query blocks (q, dO, logsumexp and
//    D = rowsum(dO * O) in workgroup memory). No atomics anywhere.
// The lowering supplies the operands as functions of (batch, row, column), so strided views,
// broadcast batch dims and masks are read in place:
//   kn_q(b, i, e), kn_k(b, j, e), kn_v(b, j, e)       the operands
//   kn_mask(b, i, j) -> bool | f32                      (mask 'bool' | 'float')
//   kn_keep(b, i, j) -> f32                             dropout: 0 or 1/(1-p) (dropout only)
//   kn_do(b, i, e), kn_o(b, i, c)                       dO and the forward's packed [O | lse] (gradients)
//   kn_store(b, r, c, value)                            the output
// A row lives in a private vec4 array (its length padded to a multiple of 4 with zeros), and up
// to head dim 128 the hot loops over a row are unrolled so they index it with constants: an
// index held in a loop counter is a per-lane gather on a SIMD-per-invocation backend like
// SwiftShader (the first, scalar-loop version of these kernels ran 5-10x slower than the unfused
// matmuls).
// No `&&` or `||`: SwiftShader's compile time grows exponentially with branches.
import { BUILTINS, LINEAR_WORKGROUP, declareBuffers, grid, type BufferDecl } from './common.js';
import { type Tunable, checkFields, intIn, distinct } from './tunable.js';

export type AttentionMode = 'forward' | 'gradQ' | 'gradKV';

export interface AttentionSpec {
  mode: AttentionMode;
  buffers: BufferDecl[];
  /** helpers and the load/store functions listed above */
  prelude: string;
  batch: number;
  L: number;
  S: number;
  E: number;
  Ev: number;
  scale: number;
  causal: boolean;
  mask: 'none' | 'bool' | 'float';
  dropout: boolean;
  /** invocations per workgroup, and rows per invocation: see attentionLayout */
  workgroup: number;
  rowsPerInvocation: number;
  /** rows of the streamed operand per block, see attentionBlock */
  block: number;
  maxPerDim: number;
}

/** Workgroup memory this kernel family may use: 16 KiB works on every adapter. */
const WORKGROUP_BYTES = 16384;
/** Hot loops over rows of up to this many vec4 (head dim 128) are unrolled: constant indices. */
const UNROLL_VEC4 = 32;

const vec4s = (n: number) => Math.ceil(n / 4);

/**
 * Rows per streamed block: as many as fit in workgroup memory (each row holds E + Ev floats
 * padded to vec4, plus the logsumexp and D in the backward), at most 64; 0 when even 4 rows
 * do not fit.
 */
export function attentionBlock(E: number, Ev: number, adapterBytes = WORKGROUP_BYTES): number {
  const rowBytes = 16 * (vec4s(E) + vec4s(Ev)) + 8;
  const rows = Math.min(64, Math.floor(Math.min(WORKGROUP_BYTES, adapterBytes) / rowBytes));
  return rows >= 4 ? rows : 0;
}

/**
 * How rows are spread over invocations (the default layout; ATTENTION_TUNING measures others).
 * On a GPU, one row per invocation and 64 invocations.
 * On a CPU (SwiftShader: each invocation a SIMD lane) several rows per invocation, so a read of
 * the streamed block serves them all, as a register tile does in a matmul; measured at seq 512,
 * head dim 64 in Node, forward 1,681 ms -> 380 (4 rows) -> 314 (8 rows); forward+backward
 * 5,245 -> 1,157 -> 917 (the unfused matmul path: 679 and 1,043). Compile time grows with the
 * unrolled rows x vec4s, so the rows are capped at 64 vec4s of each operand row (MAX_ROW_VEC4S),
 * and the invocations shrink for short sequences so a workgroup is not mostly idle.
 */
export function attentionLayout(rows: number, E: number, Ev: number, software: boolean, maxInvocations = 256): AttentionLayout {
  if (!software) return { workgroup: Math.min(64, maxInvocations), rowsPerInvocation: 1 };
  return layoutWithRows(Math.min(8, maxRowsPerInvocation(E, Ev)), rows, maxInvocations);
}

export interface AttentionLayout { workgroup: number; rowsPerInvocation: number }

/** Rows per invocation times the vec4s of the longer operand row: more compiles too slowly. */
const MAX_ROW_VEC4S = 64;
const maxRowsPerInvocation = (E: number, Ev: number) => Math.max(1, Math.floor(MAX_ROW_VEC4S / Math.max(vec4s(E), vec4s(Ev))));

/** R rows per invocation, and invocations halved (down to 8) while half of them would still cover all rows. */
function layoutWithRows(R: number, rows: number, maxInvocations: number): AttentionLayout {
  let workgroup = Math.min(64, maxInvocations);
  while (workgroup > 8 && workgroup / 2 * R >= rows) workgroup /= 2;
  return { workgroup, rowsPerInvocation: R };
}

export interface AttentionProblem {
  mode: AttentionMode; batch: number; L: number; S: number; E: number; Ev: number;
  causal: boolean; mask: 'none' | 'bool' | 'float'; dropout: boolean; dtype: string;
}
/** Problems under this many multiply-adds (batch x L x S x (E + Ev)) are not worth compiling candidates for. */
const TUNE_MIN_WORK = 2 ** 18;
const rowsOf = (p: AttentionProblem) => (p.mode === 'gradKV' ? p.S : p.L);

/** Any rows per invocation and workgroup size compute the same rows; only the speed differs. */
export const ATTENTION_TUNING: Tunable<AttentionProblem, AttentionLayout> = {
  emitter: 'attention',
  key: (p) => `${p.mode} ${p.batch}x${p.L}x${p.S} E${p.E} Ev${p.Ev}${p.causal ? ' causal' : ''}${p.mask !== 'none' ? ` mask:${p.mask}` : ''}${p.dropout ? ' dropout' : ''} ${p.dtype}`,
  default: (p, adapter) => attentionLayout(rowsOf(p), p.E, p.Ev, adapter.software, adapter.maxInvocations),
  candidates(p, adapter) {
    const def = ATTENTION_TUNING.default(p, adapter);
    if (p.batch * p.L * p.S * (p.E + p.Ev) < TUNE_MIN_WORK) return [def];
    const maxR = Math.min(8, maxRowsPerInvocation(p.E, p.Ev));
    const more = adapter.software
      ? [1, 2, 4, 8].filter((R) => R <= maxR).map((R) => layoutWithRows(R, rowsOf(p), adapter.maxInvocations))
      : [{ workgroup: 64, rowsPerInvocation: 1 }, { workgroup: 128, rowsPerInvocation: 1 }, { workgroup: 64, rowsPerInvocation: 2 }];
    return distinct(ATTENTION_TUNING, [def, ...more.filter((c) => !ATTENTION_TUNING.invalid(c, p, adapter))]);
  },
  invalid(c, p, adapter) {
    const max = Math.min(256, adapter?.maxInvocations ?? 256);
    const bad = checkFields(c, { workgroup: intIn(1, max), rowsPerInvocation: intIn(1, 8) }, ['workgroup', 'rowsPerInvocation']);
    if (bad) return bad;
    const R = (c as AttentionLayout).rowsPerInvocation;
    if (p && R > maxRowsPerInvocation(p.E, p.Ev)) {
      return `config.rowsPerInvocation must be at most ${maxRowsPerInvocation(p.E, p.Ev)} for head dims ${p.E} and ${p.Ev} (rows x vec4s of a row at most ${MAX_ROW_VEC4S}: compile time), got ${R}`;
    }
    return undefined;
  },
  label: (c) => `${c.rowsPerInvocation} rows per invocation, workgroup ${c.workgroup}`,
};

const f = (x: number) => { const s = String(Math.fround(x)); return /[.e]/.test(s) ? s : `${s}.0`; };

/**
 * Rows of n floats held as vec4 arrays, R of them (an invocation's rows: q0, q1, ...).
 * `each(body)` emits body(i) for every vec4, i its index as a WGSL u32: unrolled ('3u') up to
 * UNROLL_VEC4, so the hot loops index the arrays with constants, else the loop's 'u'.
 * `loop(body)` is always a loop, for the one-off loads and stores (code size is compile time).
 */
function regs(name: string, n: number, R: number) {
  const n4 = vec4s(n);
  const loop = (body: (i: string) => string) => `for (var u = 0u; u < ${n4}u; u = u + 1u) { ${body('u')} }`;
  return {
    at: (r: number, i: string) => `${name}${r}[${i}]`,
    loop,
    each: (body: (i: string) => string) => n4 <= UNROLL_VEC4
      ? Array.from({ length: n4 }, (_, u) => body(`${u}u`)).join('\n      ')
      : loop(body),
    declare: rows(R, (r) => `var ${name}${r}: array<vec4<f32>, ${n4}>;`),
  };
}
type Regs = ReturnType<typeof regs>;
/** body(r) for each of R rows */
const rows = (R: number, body: (r: number) => string) => Array.from({ length: R }, (_, r) => body(r)).join('\n  ');

/** fn NAME4(b, r, e) -> vec4: columns e..e+3 of fn NAME, zero past `cols` */
function vec4Loader(name: string, cols: number) {
  const lane = (k: number) => {
    if (cols % 4 === 0) return `${name}(bi, r, e + ${k}u)`;
    return `select(0.0, ${name}(bi, r, min(e + ${k}u, ${cols - 1}u)), e + ${k}u < ${cols}u)`;
  };
  return `fn ${name}4(bi: u32, r: u32, e: u32) -> vec4<f32> { return vec4<f32>(${[0, 1, 2, 3].map(lane).join(', ')}); }`;
}

export function attentionKernel(s: AttentionSpec) {
  const { L, S, E, Ev, workgroup: WG, block: BLK } = s;
  const R = s.rowsPerInvocation;
  const groupsPerBatch = Math.ceil((s.mode === 'gradKV' ? S : L) / (WG * R));
  // the scaled, masked score of (i, j) from its dot product: -inf where masked or out of range
  const ok = ['(i < L)', '(j < S)'];
  if (s.causal) ok.push('(j <= i)');
  if (s.mask === 'bool') ok.push('kn_mask(bi, min(i, L - 1u), min(j, S - 1u))');
  const add = s.mask === 'float' ? ' + kn_mask(bi, min(i, L - 1u), min(j, S - 1u))' : '';
  const loaders = s.mode === 'forward' ? ['kn_q', 'kn_k', 'kn_v'] : ['kn_q', 'kn_k', 'kn_v', 'kn_do'];
  const helpers = `const L = ${L}u;
const S = ${S}u;
const E4 = ${vec4s(E)}u;
const EV4 = ${vec4s(Ev)}u;
const WG = ${WG}u;
const BLK = ${BLK}u;
${loaders.map((n) => vec4Loader(n, n === 'kn_q' || n === 'kn_k' ? E : Ev)).join('\n')}
fn kn_score(bi: u32, i: u32, j: u32, qk: f32) -> f32 {
  return select(kn_f32_bits(0xff800000u), qk * ${f(s.scale)}${add}, ${ok.join(' & ')});
}
fn kn_dropout(bi: u32, i: u32, j: u32) -> f32 {
  return ${s.dropout ? 'kn_keep(bi, min(i, L - 1u), min(j, S - 1u))' : '1.0'};
}`;
  const body = (s.mode === 'forward' ? forward : s.mode === 'gradQ' ? gradQ : gradKV)(s, R);
  const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
${helpers}
${body.shared}
// attention ${s.mode} ${s.batch}x${L}x${S}: ${ATTENTION_TUNING.label({ workgroup: WG, rowsPerInvocation: R })}
@compute @workgroup_size(${WG})
fn main(${BUILTINS}) {
  ${LINEAR_WORKGROUP}
  if (wg_lin >= ${s.batch * groupsPerBatch}u) { return; }
  let bi = wg_lin / ${groupsPerBatch}u;
  // this workgroup's first row; an invocation's rows are row0 + lidx + r * WG, r < ${R}
  let row0 = (wg_lin % ${groupsPerBatch}u) * ${WG * R}u;
${body.main}
}`;
  return { wgsl, workgroups: grid(s.batch * groupsPerBatch, s.maxPerDim) };
}

/** Loads rows [r0, r0 + BLK) of fn(b, row, ·) as vec4 into `dst` (rows past `count` read the last one). */
const loadBlock = (dst: string, fn: string, n4: string, count: string) =>
  `for (var t = lidx; t < BLK * ${n4}; t = t + WG) { ${dst}[t] = ${fn}4(bi, min(r0 + t / ${n4}, ${count} - 1u), (t % ${n4}) * 4u); }`;
/** row r of `a` = fn(bi, row, ·) */
const loadRow = (a: Regs, r: number, fn: string, row: string) => a.loop((i) => `${a.at(r, i)} = ${fn}4(bi, ${row}, ${i} * 4u);`);
/** stores row r of `a` (n floats), times `scale`, at (row, c0 + column) */
const storeRow = (a: Regs, r: number, row: string, n: number, c0: string, scale = '') =>
  a.loop((i) => `for (var lane = 0u; lane < 4u; lane = lane + 1u) { let e = ${i} * 4u + lane; if (e < ${n}u) { kn_store(bi, ${row}, ${c0}e, ${a.at(r, i)}[lane]${scale}); } }`);
/**
 * For every vec4 of a block row `blk[row]` (read once from workgroup memory as `w`), body(r, i)
 * for each of the invocation's R rows: a read serves R rows, as a register tile does in a matmul.
 */
const withBlockRow = (a: Regs, R: number, blk: string, row: string, n4: string, body: (r: number, i: string) => string) =>
  a.each((i) => `{ let w = ${blk}[${row} * ${n4} + ${i}]; ${rows(R, (r) => body(r, i))} }`);

// The query-row kernels (forward, gradQ): an invocation holds R query rows and streams the key
// and value blocks through workgroup memory.
const kvBlocks = (s: AttentionSpec) => `var<workgroup> blk_k: array<vec4<f32>, ${s.block * vec4s(s.E)}>;
var<workgroup> blk_v: array<vec4<f32>, ${s.block * vec4s(s.Ev)}>;`;
/** the loop over key/value blocks, each loaded before `body` runs for key r0 + c; causal: keys past the workgroup's last query are masked for every row, so never loaded */
const overKeyBlocks = (s: AttentionSpec, R: number, body: string) => `  let kEnd = ${s.causal ? `min(S, row0 + ${s.workgroup * R}u)` : 'S'};
  for (var r0 = 0u; r0 < kEnd; r0 = r0 + BLK) {
    workgroupBarrier();
    ${loadBlock('blk_k', 'kn_k', 'E4', 'S')}
    ${loadBlock('blk_v', 'kn_v', 'EV4', 'S')}
    workgroupBarrier();
    for (var c = 0u; c < BLK; c = c + 1u) {
      ${body}
    }
  }`;
/** the invocation's row indices: `${name}r`, and clamped into range: `${name}cr` */
const rowIndices = (R: number, WG: number, name: string, n: string) =>
  rows(R, (r) => `let ${name}${r} = row0 + lidx + ${r * WG}u; let ${name}c${r} = min(${name}${r}, ${n} - 1u);`);

function forward(s: AttentionSpec, R: number) {
  const q = regs('q', s.E, R), acc = regs('acc', s.Ev, R);
  return {
    shared: kvBlocks(s),
    main: `  ${rowIndices(R, s.workgroup, 'i', 'L')}
  ${q.declare}
  ${rows(R, (r) => loadRow(q, r, 'kn_q', `ic${r}`))}
  ${acc.declare}
  ${rows(R, (r) => `var m${r} = -3.4028234663852886e38; var l${r} = 0.0;`)}
${overKeyBlocks(s, R, `${rows(R, (r) => `var qk${r} = 0.0;`)}
      ${withBlockRow(q, R, 'blk_k', 'c', 'E4', (r, i) => `qk${r} = qk${r} + dot(${q.at(r, i)}, w);`)}
      // online softmax, one key at a time: rescale what was summed under the old maximum
      // (m starts finite, so never inf - inf)
      ${rows(R, (r) => `let sc${r} = kn_score(bi, i${r}, r0 + c, qk${r}); let mn${r} = max(m${r}, sc${r});
      let alpha${r} = exp(m${r} - mn${r}); let p${r} = exp(sc${r} - mn${r}); m${r} = mn${r};
      l${r} = l${r} * alpha${r} + p${r}; let pk${r} = p${r} * kn_dropout(bi, i${r}, r0 + c);`)}
      ${withBlockRow(acc, R, 'blk_v', 'c', 'EV4', (r, i) => `${acc.at(r, i)} = ${acc.at(r, i)} * alpha${r} + pk${r} * w;`)}`)}
  // a row with every key masked has l = 0: O = 0/0 = NaN as in PyTorch, logsumexp -inf
  ${rows(R, (r) => `if (i${r} < L) {
    let inv = 1.0 / l${r};
    ${storeRow(acc, r, `i${r}`, s.Ev, '', ' * inv')}
    kn_store(bi, i${r}, ${s.Ev}u, m${r} + log(l${r}));
  }`)}`,
  };
}

function gradQ(s: AttentionSpec, R: number) {
  const q = regs('q', s.E, R), dout = regs('dout', s.Ev, R), dq = regs('dq', s.E, R);
  return {
    shared: kvBlocks(s),
    main: `  ${rowIndices(R, s.workgroup, 'i', 'L')}
  ${q.declare}
  ${rows(R, (r) => loadRow(q, r, 'kn_q', `ic${r}`))}
  ${dout.declare}
  ${rows(R, (r) => loadRow(dout, r, 'kn_do', `ic${r}`))}
  // D = rowsum(dO * O), and the forward's logsumexp
  ${rows(R, (r) => `var d${r} = 0.0;
  for (var e = 0u; e < ${s.Ev}u; e = e + 1u) { d${r} = d${r} + kn_do(bi, ic${r}, e) * kn_o(bi, ic${r}, e); }
  let lse${r} = kn_o(bi, ic${r}, ${s.Ev}u);`)}
  ${dq.declare}
${overKeyBlocks(s, R, `${rows(R, (r) => `var qk${r} = 0.0; var dp${r} = 0.0;`)}
      ${withBlockRow(q, R, 'blk_k', 'c', 'E4', (r, i) => `qk${r} = qk${r} + dot(${q.at(r, i)}, w);`)}
      ${withBlockRow(dout, R, 'blk_v', 'c', 'EV4', (r, i) => `dp${r} = dp${r} + dot(${dout.at(r, i)}, w);`)}
      ${rows(R, (r) => `let ds${r} = exp(kn_score(bi, i${r}, r0 + c, qk${r}) - lse${r}) * (dp${r} * kn_dropout(bi, i${r}, r0 + c) - d${r});`)}
      ${withBlockRow(dq, R, 'blk_k', 'c', 'E4', (r, i) => `${dq.at(r, i)} = ${dq.at(r, i)} + ds${r} * w;`)}`)}
  ${rows(R, (r) => `if (i${r} < L) {
    ${storeRow(dq, r, `i${r}`, s.E, '', ` * ${f(s.scale)}`)}
  }`)}`,
  };
}

function gradKV(s: AttentionSpec, R: number) {
  const k = regs('k', s.E, R), v = regs('v', s.Ev, R), dk = regs('dk', s.E, R), dv = regs('dv', s.Ev, R);
  return {
    shared: `var<workgroup> blk_q: array<vec4<f32>, ${s.block * vec4s(s.E)}>;
var<workgroup> blk_do: array<vec4<f32>, ${s.block * vec4s(s.Ev)}>;
var<workgroup> blk_lse: array<f32, ${s.block}>;
var<workgroup> blk_d: array<f32, ${s.block}>;`,
    main: `  ${rowIndices(R, s.workgroup, 'j', 'S')}
  ${k.declare}
  ${rows(R, (r) => loadRow(k, r, 'kn_k', `jc${r}`))}
  ${v.declare}
  ${rows(R, (r) => loadRow(v, r, 'kn_v', `jc${r}`))}
  ${dk.declare}
  ${dv.declare}
  // causal: queries before the workgroup's first key see none of its keys
  for (var r0 = ${s.causal ? 'row0' : '0u'}; r0 < L; r0 = r0 + BLK) {
    workgroupBarrier();
    ${loadBlock('blk_q', 'kn_q', 'E4', 'L')}
    ${loadBlock('blk_do', 'kn_do', 'EV4', 'L')}
    for (var qr = lidx; qr < BLK; qr = qr + WG) {
      let ir = min(r0 + qr, L - 1u);
      var d = 0.0;
      for (var e = 0u; e < ${s.Ev}u; e = e + 1u) { d = d + kn_do(bi, ir, e) * kn_o(bi, ir, e); }
      blk_d[qr] = d;
      blk_lse[qr] = kn_o(bi, ir, ${s.Ev}u);
    }
    workgroupBarrier();
    for (var qr = 0u; qr < BLK; qr = qr + 1u) {
      let i = r0 + qr;
      // rows past L repeat row L - 1, whose D may be NaN (all keys masked): they add nothing
      let live = i < L;
      ${rows(R, (r) => `var qk${r} = 0.0; var dp${r} = 0.0;`)}
      ${withBlockRow(k, R, 'blk_q', 'qr', 'E4', (r, i) => `qk${r} = qk${r} + dot(${k.at(r, i)}, w);`)}
      ${rows(R, (r) => `let p${r} = select(0.0, exp(kn_score(bi, i, j${r}, qk${r}) - blk_lse[qr]), live);
      let z${r} = kn_dropout(bi, i, j${r}); let pz${r} = p${r} * z${r};`)}
      ${withBlockRow(v, R, 'blk_do', 'qr', 'EV4', (r, i) => `dp${r} = dp${r} + dot(w, ${v.at(r, i)}); ${dv.at(r, i)} = ${dv.at(r, i)} + pz${r} * w;`)}
      ${rows(R, (r) => `let ds${r} = select(0.0, p${r} * (dp${r} * z${r} - blk_d[qr]), live);`)}
      ${withBlockRow(dk, R, 'blk_q', 'qr', 'E4', (r, i) => `${dk.at(r, i)} = ${dk.at(r, i)} + ds${r} * w;`)}
    }
  }
  ${rows(R, (r) => `if (j${r} < S) {
    ${storeRow(dk, r, `j${r}`, s.E, '', ` * ${f(s.scale)}`)}
    ${storeRow(dv, r, `j${r}`, s.Ev, `${s.E}u + `)}
  }`)}`,
  };
}
