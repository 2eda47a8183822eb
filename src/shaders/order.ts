// Kernels where the order along a row matters: an inclusive scan (cumsum, cumprod), one
// invocation per row walking it; and the stable sort permutation (argsort), one invocation per
// element counting the elements of its row that go before it, then writing its own index at
// that rank. The input expressions are fused in.
import { perRow } from './rows.js';
import type { BufferDecl } from './common.js';

interface RowSpec { buffers: BufferDecl[]; prelude: string; rows: number; cols: number; maxPerDim: number }

export interface ScanSpec extends RowSpec {
  /** the accumulator's WGSL type, its start value, and how it takes `x` in */
  type: string;
  init: string;
  combine: (acc: string, x: string) => string;
  reverse: boolean;
  /** statements defining `x` for row `r`, column `c` */
  load: string;
  /** statements storing `y` at (r, c) */
  store: string;
}

export function scanKernel(s: ScanSpec) {
  const c = s.reverse ? `${s.cols - 1}u - i` : 'i';
  return perRow(s, `var acc: ${s.type} = ${s.init};
  for (var i = 0u; i < ${s.cols}u; i++) {
    let c = ${c};
${s.load}
    acc = ${s.combine('acc', 'x')};
    let y = acc;
${s.store}
  }`);
}

export interface RankSpec extends RowSpec {
  /** statements defining `xi` (element c of row r) and `xj` (element j) */
  loadOwn: string;
  loadOther: string;
  /** WGSL boolean: `xj` goes before `xi` when their order is strict */
  before: string;
  /** WGSL boolean: `xj` and `xi` tie (then the lower index goes first: a stable sort) */
  tie: string;
  /** statements storing `y` (an i32) at flat index `at` */
  store: string;
}

export function rankKernel(s: RankSpec) {
  return perRow({ ...s, rows: s.rows * s.cols }, `let e = r;
  let c = e % ${s.cols}u;
  let row = e - c;
${s.loadOwn}
  var rank = 0u;
  for (var j = 0u; j < ${s.cols}u; j++) {
${s.loadOther}
    rank += select(0u, 1u, (${s.before}) || ((${s.tie}) && j < c));
  }
  let at = row + rank;
  let y = i32(c);
${s.store}`);
}
