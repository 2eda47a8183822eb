// Row kernels over the last axis: softmax, log-softmax and the fused log-softmax + NLL of
// cross-entropy (one invocation per row, three passes), the mean and variance of each row
// (moments) and the sums [sum x, sum x y] of a pair of rows (sumDot). The input expressions are fused in.
import { BUILTINS, LINEAR_WORKGROUP, declareBuffers, grid, isNan, isInf, NAN, NEG_INF, type BufferDecl } from './common.js';

export interface RowsSpec {
  buffers: BufferDecl[];
  prelude: string;
  rows: number;
  cols: number;
  /** statements defining `x: f32` for row `r`, column `c` */
  load: string;
  /** 'softmax' | 'logSoftmax': statements storing `y` for (r, c); 'nll': statements storing `loss` for r */
  mode: 'softmax' | 'logSoftmax' | 'nll';
  store: string;
  /** for 'nll': statements defining `t: i32` (target class of row r) */
  target?: string;
  labelSmoothing?: number;
  ignoreIndex?: number;
  maxPerDim: number;
}

const WG = 64;

export function rowsKernel(s: RowsSpec) {
  const pass = (body: string) => `for (var c = 0u; c < ${s.cols}u; c = c + 1u) {\n${s.load}\n    ${body}\n  }`;
  let tail: string;
  if (s.mode === 'nll') {
    const ls = s.labelSmoothing ?? 0;
    tail = `let lse = select(m + log(s), ${NAN}, bad);
${s.target}
  var loss = 0.0;
  if (t != ${s.ignoreIndex ?? -100}i) {
    var xt = 0.0;
    var xsum = 0.0;
    ${pass('xsum = xsum + x; if (i32(c) == t) { xt = x; }')}
    loss = ${ls === 0 ? '(lse - xt)' : `${1 - ls} * (lse - xt) + ${ls} * (lse - xsum / ${s.cols}.0)`};
  }
${s.store}`;
  } else {
    const y = s.mode === 'softmax' ? 'exp(x - m) / s' : 'x - m - log(s)';
    tail = pass(`let y = select(${y}, ${NAN}, bad);\n${s.store}`);
  }
  // As PyTorch: a row with a NaN or a +inf (inf - inf) or all -inf (-inf - -inf) is all NaN; the
  // compiler may assume neither, so both are tested on the bits. Otherwise the max is finite,
  // s >= 1, and a -inf element gives 0 (log-softmax: -inf).
  return perRow(s, `var m = ${NEG_INF};
  var nan = false;
  ${pass(`m = max(m, x); nan = nan | ${isNan('x')};`)}
  let bad = nan | ${isInf('m')};
  var s = 0.0;
  ${pass('s = s + exp(x - m);')}
  ${tail}`);
}

/** A kernel with one invocation per row `r` running `body`. */
export function perRow(s: { buffers: BufferDecl[]; prelude: string; rows: number; maxPerDim: number }, body: string) {
  const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
@compute @workgroup_size(${WG})
fn main(${BUILTINS}) {
  ${LINEAR_WORKGROUP}
  let r = wg_lin * ${WG}u + lidx;
  if (r >= ${s.rows}u) { return; }
  ${body}
}`;
  return { wgsl, workgroups: grid(Math.ceil(s.rows / WG), s.maxPerDim) };
}

export interface MomentsSpec {
  buffers: BufferDecl[];
  prelude: string;
  rows: number;
  cols: number;
  /** statements defining `x: f32` (and `y: f32` for sumDot) for row `r`, column `c` */
  load: string;
  /** statements storing `mean` and `vr` (biased variance), or `s0` and `s1` for sumDot, for row `r` */
  store: string;
  maxPerDim: number;
  /** reduce within subgroups first (subgroupAdd), then across them through workgroup memory */
  subgroups?: boolean;
  /** the sums s0 = sum x and s1 = sum x y instead of the moments: one pass */
  sumDot?: boolean;
}

const MOMENTS_WG = 256;

/**
 * Mean and variance of each row. Few long rows (batch-norm's channels): a workgroup per row,
 * each pass a strided loop then a workgroup reduction. Many short rows (layer norm): an
 * invocation per row. Two passes either way: the variance sums (x - mean)^2.
 * With `sumDot`, one pass accumulating sum x and sum x y (a norm's backward).
 */
export function momentsKernel(s: MomentsSpec) {
  if (s.rows >= 1024 || s.cols < 256) {
    const pass = (body: string) => `for (var c = 0u; c < ${s.cols}u; c = c + 1u) {\n${s.load}\n    ${body}\n  }`;
    if (s.sumDot) return perRow(s, `var s0 = 0.0;\n  var s1 = 0.0;\n  ${pass('s0 = s0 + x; s1 = s1 + x * y;')}\n${s.store}`);
    return perRow(s, `var t = 0.0;
  ${pass('t = t + x;')}
  let mean = t / ${s.cols}.0;
  var q = 0.0;
  ${pass('let d = x - mean; q = q + d * d;')}
  let vr = q / ${s.cols}.0;
${s.store}`);
  }
  const pass = (body: string) => `for (var c = lidx; c < ${s.cols}u; c = c + ${MOMENTS_WG}u) {\n${s.load}\n    ${body}\n  }`;
  // the sum of `v` over the workgroup, left in red[0]
  const reduce = (v: string) => s.subgroups
    ? `{
    // one lane per subgroup keeps its subgroup's sum (at its own index: subgroups need not be
    // runs of consecutive invocations), then one invocation adds the slots up
    let part = subgroupAdd(${v});
    red[lidx] = select(0.0, part, sg_lane == 0u);
    workgroupBarrier();
    if (lidx == 0u) {
      var all = 0.0;
      for (var i = 0u; i < ${MOMENTS_WG}u; i = i + 1u) { all = all + red[i]; }
      red[0] = all;
    }
    workgroupBarrier();
  }`
    : `{
    red[lidx] = ${v};
    workgroupBarrier();
    for (var w = ${MOMENTS_WG / 2}u; w > 0u; w = w >> 1u) {
      if (lidx < w) { red[lidx] = red[lidx] + red[lidx + w]; }
      workgroupBarrier();
    }
  }`;
  const wgsl = `${s.subgroups ? 'enable subgroups;\n' : ''}${declareBuffers(s.buffers)}
${s.prelude}
var<workgroup> red: array<f32, ${MOMENTS_WG}>;
@compute @workgroup_size(${MOMENTS_WG})
fn main(${BUILTINS}${s.subgroups ? ', @builtin(subgroup_invocation_id) sg_lane: u32' : ''}) {
  ${LINEAR_WORKGROUP}
  let r = wg_lin;
  if (r >= ${s.rows}u) { return; }
${s.sumDot ? `  var t = 0.0;
  var u = 0.0;
  ${pass('t = t + x; u = u + x * y;')}
  ${reduce('t')}
  let s0 = red[0];
  workgroupBarrier();
  ${reduce('u')}
  let s1 = red[0];` : `  var t = 0.0;
  ${pass('t = t + x;')}
  ${reduce('t')}
  let mean = red[0] / ${s.cols}.0;
  workgroupBarrier();
  var q = 0.0;
  ${pass('let d = x - mean; q = q + d * d;')}
  ${reduce('q')}
  let vr = red[0] / ${s.cols}.0;`}
  if (lidx == 0u) {
${s.store}
  }
}`;
  return { wgsl, workgroups: grid(s.rows, s.maxPerDim) };
}
