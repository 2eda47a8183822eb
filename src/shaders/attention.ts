// Flash attention (online softmax, no L x S buffer), forward and backward. One invocation per
// row; the other operand streams through workgroup memory in blocks:
//  - forward: an invocation per query row keeps its running max, sum and output row in
//    registers while key/value blocks pass through; it stores O and the row's logsumexp;
//  - gradQ: an invocation per query row recomputes P from the logsumexp and sums dQ;
//  - gradKV: an invocation per key row loops over query blocks (q, dO, logsumexp and
//    D = rowsum(dO * O) in workgroup memory) and sums dK and dV. No atomics anywhere.
// The lowering supplies the operands as functions of (batch, row, column), so strided views,
// broadcast batch dims and masks are read in place:
//   kn_q(b, i, e), kn_k(b, j, e), kn_v(b, j, e)       the operands
//   kn_mask(b, i, j) -> bool | f32                      (mask 'bool' | 'float')
//   kn_keep(b, i, j) -> f32                             dropout: 0 or 1/(1-p) (dropout only)
//   kn_do(b, i, e), kn_o(b, i, c)                       dO and the forward's packed [O | lse] (gradients)
//   kn_store(b, r, c, value)                            the output
// No `&&` or `||`: SwiftShader's compile time grows exponentially with branches.
import { BUILTINS, LINEAR_WORKGROUP, declareBuffers, grid, type BufferDecl } from './common.js';

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
  /** invocations per workgroup (rows per workgroup) */
  workgroup: number;
  /** rows of the streamed operand per block, see attentionBlock */
  block: number;
  maxPerDim: number;
}

/** Workgroup memory this kernel family may use: 16 KiB works on every adapter. */
const WORKGROUP_BYTES = 16384;

/**
 * Rows per streamed block: as many as fit in workgroup memory (each row holds E + Ev floats,
 * plus the logsumexp and D in the backward), at most 64; 0 when even 4 rows do not fit.
 */
export function attentionBlock(E: number, Ev: number, adapterBytes = WORKGROUP_BYTES): number {
  const rows = Math.min(64, Math.floor(Math.min(WORKGROUP_BYTES, adapterBytes) / 4 / (E + Ev + 2)));
  return rows >= 4 ? rows : 0;
}

const f = (x: number) => { const s = String(Math.fround(x)); return /[.e]/.test(s) ? s : `${s}.0`; };

export function attentionKernel(s: AttentionSpec) {
  const { L, S, E, Ev, workgroup: WG, block: BLK } = s;
  const rowsPerWg = s.mode === 'gradKV' ? S : L;
  const groupsPerBatch = Math.ceil(rowsPerWg / WG);
  // the scaled, masked score of (i, j) from its dot product: -inf where masked or out of range
  const ok = ['(i < L)', '(j < S)'];
  if (s.causal) ok.push('(j <= i)');
  if (s.mask === 'bool') ok.push('kn_mask(bi, min(i, L - 1u), min(j, S - 1u))');
  const add = s.mask === 'float' ? ' + kn_mask(bi, min(i, L - 1u), min(j, S - 1u))' : '';
  const helpers = `const L = ${L}u;
const S = ${S}u;
const E = ${E}u;
const EV = ${Ev}u;
const WG = ${WG}u;
const BLK = ${BLK}u;
fn kn_score(bi: u32, i: u32, j: u32, dot: f32) -> f32 {
  return select(kn_f32_bits(0xff800000u), dot * ${f(s.scale)}${add}, ${ok.join(' & ')});
}
fn kn_dropout(bi: u32, i: u32, j: u32) -> f32 {
  return ${s.dropout ? 'kn_keep(bi, min(i, L - 1u), min(j, S - 1u))' : '1.0'};
}`;
  const body = s.mode === 'forward' ? forward(s) : s.mode === 'gradQ' ? gradQ(s) : gradKV(s);
  const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
${helpers}
${body.shared}
@compute @workgroup_size(${WG})
fn main(${BUILTINS}) {
  ${LINEAR_WORKGROUP}
  if (wg_lin >= ${s.batch * groupsPerBatch}u) { return; }
  let bi = wg_lin / ${groupsPerBatch}u;
  let row0 = (wg_lin % ${groupsPerBatch}u) * WG;
${body.main}
}`;
  return { wgsl, workgroups: grid(s.batch * groupsPerBatch, s.maxPerDim) };
}

/** Loads rows [r0, r0 + BLK) of fn(b, row, 0..cols) into `dst` (rows past `rows` read the last one). */
const loadBlock = (dst: string, fn: string, cols: string, rows: string) =>
  `for (var t = lidx; t < BLK * ${cols}; t = t + WG) { ${dst}[t] = ${fn}(bi, min(r0 + t / ${cols}, ${rows} - 1u), t % ${cols}); }`;

// The query-row kernels (forward, gradQ): an invocation holds query row i and streams the key
// and value blocks through workgroup memory.
const kvBlocks = (s: AttentionSpec) => `var<workgroup> blk_k: array<f32, ${s.block * s.E}>;
var<workgroup> blk_v: array<f32, ${s.block * s.Ev}>;`;
const queryRow = (s: AttentionSpec) => `  let i = row0 + lidx;
  let ic = min(i, L - 1u);
  var q: array<f32, ${s.E}>;
  for (var e = 0u; e < E; e = e + 1u) { q[e] = kn_q(bi, ic, e); }`;
/** the loop over key/value blocks, each loaded before `body` runs; causal: keys past the block's last query are masked for every row, so never loaded */
const overKeyBlocks = (s: AttentionSpec, body: string) => `  let kEnd = ${s.causal ? 'min(S, row0 + WG)' : 'S'};
  for (var r0 = 0u; r0 < kEnd; r0 = r0 + BLK) {
    workgroupBarrier();
    ${loadBlock('blk_k', 'kn_k', 'E', 'S')}
    ${loadBlock('blk_v', 'kn_v', 'EV', 'S')}
    workgroupBarrier();
${body}
  }`;

function forward(s: AttentionSpec) {
  return {
    shared: kvBlocks(s),
    main: `${queryRow(s)}
  var acc: array<f32, ${s.Ev}>;
  var m = -3.4028234663852886e38;
  var l = 0.0;
${overKeyBlocks(s, `    var sc: array<f32, ${s.block}>;
    var mb = m;
    for (var c = 0u; c < BLK; c = c + 1u) {
      var dot = 0.0;
      for (var e = 0u; e < E; e = e + 1u) { dot = dot + q[e] * blk_k[c * E + e]; }
      sc[c] = kn_score(bi, i, r0 + c, dot);
      mb = max(mb, sc[c]);
    }
    // rescale what was summed under the old maximum (m starts finite, so never inf - inf)
    let alpha = exp(m - mb);
    l = l * alpha;
    for (var e = 0u; e < EV; e = e + 1u) { acc[e] = acc[e] * alpha; }
    for (var c = 0u; c < BLK; c = c + 1u) {
      let p = exp(sc[c] - mb);
      l = l + p;
      let pk = p * kn_dropout(bi, i, r0 + c);
      for (var e = 0u; e < EV; e = e + 1u) { acc[e] = acc[e] + pk * blk_v[c * EV + e]; }
    }
    m = mb;`)}
  // a row with every key masked has l = 0: O = 0/0 = NaN as in PyTorch, logsumexp -inf
  if (i < L) {
    for (var e = 0u; e < EV; e = e + 1u) { kn_store(bi, i, e, acc[e] / l); }
    kn_store(bi, i, EV, m + log(l));
  }`,
  };
}

function gradQ(s: AttentionSpec) {
  return {
    shared: kvBlocks(s),
    main: `${queryRow(s)}
  var dout: array<f32, ${s.Ev}>;
  var d = 0.0; // D = rowsum(dO * O)
  for (var e = 0u; e < EV; e = e + 1u) { dout[e] = kn_do(bi, ic, e); d = d + dout[e] * kn_o(bi, ic, e); }
  let lse = kn_o(bi, ic, EV);
  var dq: array<f32, ${s.E}>;
${overKeyBlocks(s, `    for (var c = 0u; c < BLK; c = c + 1u) {
      var dot = 0.0;
      for (var e = 0u; e < E; e = e + 1u) { dot = dot + q[e] * blk_k[c * E + e]; }
      let p = exp(kn_score(bi, i, r0 + c, dot) - lse);
      var dp = 0.0;
      for (var e = 0u; e < EV; e = e + 1u) { dp = dp + dout[e] * blk_v[c * EV + e]; }
      let ds = p * (dp * kn_dropout(bi, i, r0 + c) - d);
      for (var e = 0u; e < E; e = e + 1u) { dq[e] = dq[e] + ds * blk_k[c * E + e]; }
    }`)}
  if (i < L) {
    for (var e = 0u; e < E; e = e + 1u) { kn_store(bi, i, e, dq[e] * ${f(s.scale)}); }
  }`,
  };
}

function gradKV(s: AttentionSpec) {
  return {
    shared: `var<workgroup> blk_q: array<f32, ${s.block * s.E}>;
var<workgroup> blk_do: array<f32, ${s.block * s.Ev}>;
var<workgroup> blk_lse: array<f32, ${s.block}>;
var<workgroup> blk_d: array<f32, ${s.block}>;`,
    main: `  let j = row0 + lidx;
  let jc = min(j, S - 1u);
  var k: array<f32, ${s.E}>;
  for (var e = 0u; e < E; e = e + 1u) { k[e] = kn_k(bi, jc, e); }
  var v: array<f32, ${s.Ev}>;
  for (var e = 0u; e < EV; e = e + 1u) { v[e] = kn_v(bi, jc, e); }
  var dk: array<f32, ${s.E}>;
  var dv: array<f32, ${s.Ev}>;
  // causal: queries before the block's first key see none of its keys
  for (var r0 = ${s.causal ? 'row0' : '0u'}; r0 < L; r0 = r0 + BLK) {
    workgroupBarrier();
    ${loadBlock('blk_q', 'kn_q', 'E', 'L')}
    ${loadBlock('blk_do', 'kn_do', 'EV', 'L')}
    for (var r = lidx; r < BLK; r = r + WG) {
      let ir = min(r0 + r, L - 1u);
      var d = 0.0;
      for (var e = 0u; e < EV; e = e + 1u) { d = d + kn_do(bi, ir, e) * kn_o(bi, ir, e); }
      blk_d[r] = d;
      blk_lse[r] = kn_o(bi, ir, EV);
    }
    workgroupBarrier();
    for (var r = 0u; r < BLK; r = r + 1u) {
      let i = r0 + r;
      // rows past L repeat row L - 1, whose D may be NaN (all keys masked): they add nothing
      let live = i < L;
      var dot = 0.0;
      for (var e = 0u; e < E; e = e + 1u) { dot = dot + k[e] * blk_q[r * E + e]; }
      let p = select(0.0, exp(kn_score(bi, i, j, dot) - blk_lse[r]), live);
      let z = kn_dropout(bi, i, j);
      var dp = 0.0;
      for (var e = 0u; e < EV; e = e + 1u) {
        dv[e] = dv[e] + p * z * blk_do[r * EV + e];
        dp = dp + blk_do[r * EV + e] * v[e];
      }
      let ds = select(0.0, p * (dp * z - blk_d[r]), live);
      for (var e = 0u; e < E; e = e + 1u) { dk[e] = dk[e] + ds * blk_q[r * E + e]; }
    }
  }
  if (j < S) {
    for (var e = 0u; e < E; e = e + 1u) { kn_store(bi, j, e, dk[e] * ${f(s.scale)}); }
    for (var e = 0u; e < EV; e = e + 1u) { kn_store(bi, j, E + e, dv[e]); }
  }`,
  };
}
