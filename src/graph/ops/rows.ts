// Row ops over the last axis, one kernel each (src/shaders/rows.ts): softmax and log-softmax,
// the fused log-softmax + NLL of cross-entropy, the mean and biased variance of each row
// (moments, behind every normalisation) and the two sums of a norm's backward (sumDot).
import { type Node, numel } from '../ir.js';
import { DTYPE_INFO } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { type KernelBuilder, type KernelDef, type LowerContext, tensorClass } from './types.js';
import { rowsKernel, momentsKernel } from '../../shaders/rows.js';

export interface RowsAttrs {
  softmax: { log: boolean };
  /** [N, C] logits and [N] int32 targets -> [N] losses */
  crossEntropyRows: { labelSmoothing: number; ignoreIndex: number };
  /** [..., L] -> [..., 2]: mean and biased variance */
  moments: Record<string, never>;
  /** [..., L] x2 -> [..., 2]: sum(a) and sum(a * b) */
  sumDot: Record<string, never>;
}

type Def<K extends keyof RowsAttrs> = KernelDef<RowsAttrs[K]>;
const rowsOf = (n: Node) => { const C = n.inputs[0].shape[n.inputs[0].shape.length - 1]; return { C, R: numel(n.inputs[0].shape) / C }; };
const pairShape = (x: Node) => [...x.shape.slice(0, -1), 2];
const last = (t: Tensor, i: number) => t.slice([...t.shape.slice(0, -1).map(() => 0), i], [...t.shape.slice(0, -1), i + 1]);

/** Each row of the first input (and of the second for sumDot) through `fn`, in float64. */
function perRow(n: Node, ins: Float64Array[], width: number, fn: (row: Float64Array, r: number, out: Float64Array) => void): Float64Array {
  const { C, R } = rowsOf(n);
  const out = new Float64Array(R * width);
  for (let r = 0; r < R; r++) fn(ins[0].subarray(r * C, r * C + C), r, out.subarray(r * width, r * width + width));
  return out;
}
const logSumExp = (row: Float64Array) => { let m = -Infinity; for (const v of row) m = Math.max(m, v); let s = 0; for (const v of row) s += Math.exp(v - m); return m + Math.log(s); };

/** The row loads `x` (and `y`) at (r, c) of the core's inputs. */
function rowLoads(b: KernelBuilder, core: Node, C: number, pair: boolean): string {
  const at = `(r * ${C}u + c)`;
  return b.scoped(() => {
    b.emit(`let x = ${b.value(core.inputs[0], { flat: at })};`);
    if (pair) b.emit(`let y = ${b.value(core.inputs[1], { flat: at })};`);
  });
}

function lowerMoments(b: KernelBuilder, core: Node, ctx: LowerContext, sumDot: boolean) {
  const { C, R } = rowsOf(core);
  b.ownFlat = 'r';
  const load = rowLoads(b, core, C, sumDot);
  const [first, second] = sumDot ? ['s0', 's1'] : ['mean', 'vr'];
  const store = b.scoped(() => { b.store(core, '(r * 2u)', first); b.store(core, '(r * 2u + 1u)', second); });
  b.checkBindings('row');
  return momentsKernel({ buffers: b.decls(), prelude: b.prelude, rows: R, cols: C, load, store, maxPerDim: ctx.maxPerDim, subgroups: ctx.subgroups, sumDot });
}

// results of a packed dtype come out in its wide dtype (float16 in, float32 out): the front end casts back
const softmax: Def<'softmax'> = {
  family: 'rows',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: DTYPE_INFO[x.dtype].wide }),
  ref: (n, ins) => perRow(n, ins, rowsOf(n).C, (row, _, out) => {
    const lse = logSumExp(row);
    row.forEach((v, c) => { out[c] = n.attrs.log ? v - lse : Math.exp(v - lse); });
  }),
  grad: (g, _, out, { log }) => (log ? [g.sub(out.exp().mul(g.sum(-1, true)))] : [out.mul(g.sub(g.mul(out).sum(-1, true)))]),
  lower: (b, core, ctx) => {
    const { C, R } = rowsOf(core);
    b.ownFlat = '(r * C + c)';
    const load = rowLoads(b, core, C, false);
    const store = b.scoped(() => b.store(core, `(r * ${C}u + c)`, 'y'));
    b.checkBindings('row');
    return rowsKernel({ buffers: b.decls(), prelude: b.prelude, rows: R, cols: C, load, store, mode: core.attrs.log ? 'logSoftmax' : 'softmax', maxPerDim: ctx.maxPerDim });
  },
};

const crossEntropyRows: Def<'crossEntropyRows'> = {
  family: 'rows',
  infer: ([x]) => ({ shape: [x.shape[0]], dtype: 'float32' }),
  ref: (n, ins) => perRow(n, ins, 1, (row, r, out) => {
    const t = ins[1][r], { labelSmoothing: ls, ignoreIndex } = n.attrs;
    if (t === ignoreIndex) { out[0] = 0; return; }
    const lse = logSumExp(row);
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    // no smoothing term without smoothing: 0 * inf would turn a -inf logit's loss into NaN
    out[0] = ls ? (1 - ls) * (lse - row[t]) + ls * (lse - mean) : lse - row[t];
  }),
  // d loss_r / d x_rc = softmax_rc - q_rc, with q the smoothed one-hot target
  grad: (g, [x, target], _, { labelSmoothing: ls, ignoreIndex }) => {
    const C = x.shape[x.ndim - 1];
    const onehot = target.unsqueeze(-1).eq(tensorClass(x).arange(C).unsqueeze(0)).float();
    const q = ls ? onehot.mul(1 - ls).add(ls / C) : onehot;
    const keepRow = target.ne(ignoreIndex).float().unsqueeze(-1);
    return [x.softmax(-1).sub(q).mul(g.unsqueeze(-1).mul(keepRow)), null];
  },
  lower: (b, core, ctx) => {
    const { C, R } = rowsOf(core);
    b.ownFlat = 'r';
    const load = rowLoads(b, core, C, false);
    const target = b.scoped(() => { b.emit(`let t = ${b.value(core.inputs[1], { flat: 'r' })};`); });
    const store = b.scoped(() => b.store(core, 'r', 'loss'));
    b.checkBindings('row');
    return rowsKernel({
      buffers: b.decls(), prelude: b.prelude, rows: R, cols: C, load, store, target, mode: 'nll',
      labelSmoothing: core.attrs.labelSmoothing, ignoreIndex: core.attrs.ignoreIndex, maxPerDim: ctx.maxPerDim,
    });
  },
};

const moments: Def<'moments'> = {
  family: 'rows',
  infer: ([x]) => ({ shape: pairShape(x), dtype: DTYPE_INFO[x.dtype].wide }),
  ref: (n, ins) => perRow(n, ins, 2, (row, _, out) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    out[0] = mean;
    out[1] = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
  }),
  // d mean / dx = 1/L; d var / dx = 2 (x - mean) / L
  grad: (g, [x], out) => [last(g, 0).add(last(g, 1).mul(x.sub(last(out, 0))).mul(2)).div(x.shape[x.ndim - 1]).expandTo(x.shape)],
  lower: (b, core, ctx) => lowerMoments(b, core, ctx, false),
};

const sumDot: Def<'sumDot'> = {
  family: 'rows',
  infer: ([a]) => ({ shape: pairShape(a), dtype: DTYPE_INFO[a.dtype].wide }),
  ref: (n, ins) => perRow(n, ins, 2, (row, r, out) => {
    const { C } = rowsOf(n), y = ins[1].subarray(r * C, r * C + C);
    out[0] = row.reduce((s, v) => s + v, 0);
    out[1] = row.reduce((s, v, c) => s + v * y[c], 0);
  }),
  // d sum(a) / da = 1, d sum(a b) / da = b, d sum(a b) / db = a
  grad: (g, [a, b]) => [last(g, 1).mul(b).add(last(g, 0)), last(g, 1).mul(a)],
  lower: (b, core, ctx) => lowerMoments(b, core, ctx, true),
};


export const ROWS_OPS: { [K in keyof RowsAttrs]: Def<K> } = { softmax, crossEntropyRows, moments, sumDot };
