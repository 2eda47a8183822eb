// Row kernels over the last axis: softmax, log-softmax and the fused log-softmax + NLL of
// cross-entropy. One invocation per row, three passes; the input expression is fused in.
import { BUILTINS, LINEAR_WORKGROUP, declareBuffers, grid, type BufferDecl } from './common.js';

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
    tail = `let lse = m + log(s);
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
    tail = pass(`let y = ${y};\n${s.store}`);
  }
  const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
@compute @workgroup_size(${WG})
fn main(${BUILTINS}) {
  ${LINEAR_WORKGROUP}
  let r = wg_lin * ${WG}u + lidx;
  if (r >= ${s.rows}u) { return; }
  var m = -3.4028234663852886e38;
  ${pass('m = max(m, x);')}
  var s = 0.0;
  ${pass('s = s + exp(x - m);')}
  ${tail}
}`;
  return { wgsl, workgroups: grid(Math.ceil(s.rows / WG), s.maxPerDim) };
}
