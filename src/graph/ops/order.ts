// Row ops where order matters, along the last axis (the front end moves the dim there): the
// inclusive scans behind cumsum and cumprod, and the stable sort permutation behind sort,
// argsort and topk (NaN sorts as the largest value, as in PyTorch).
import { type Node, numel } from '../ir.js';
import { DTYPE_INFO, isFloat, literal } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { type KernelDef, tensorClass } from './types.js';
import { scanKernel, rankKernel } from '../../shaders/order.js';

export interface OrderAttrs {
  /** inclusive sums or products along the last axis, from its end when `reverse` */
  scan: { kind: 'sum' | 'prod'; reverse: boolean };
  /** [..., L] -> [..., L] int32: the stable permutation that sorts each row */
  argsortRows: { descending: boolean };
}

type Def<K extends keyof OrderAttrs> = KernelDef<OrderAttrs[K]>;
const rowsOf = (n: Node) => { const C = n.inputs[0].shape[n.inputs[0].shape.length - 1]; return { C, R: C ? numel(n.inputs[0].shape) / C : 0 }; };

function perRow(n: Node, ins: Float64Array[], fn: (row: Float64Array, out: Float64Array) => void): Float64Array {
  const { C, R } = rowsOf(n);
  const out = new Float64Array(R * C);
  for (let r = 0; r < R; r++) fn(ins[0].subarray(r * C, r * C + C), out.subarray(r * C, r * C + C));
  return out;
}

const scanOf = (x: Tensor, kind: 'sum' | 'prod', reverse: boolean) => tensorClass(x).make('scan', [x], { kind, reverse });

/**
 * d cumprod / dx without dividing by x (exact with zeros): grad_i is the sum over the outputs
 * k that x_i enters of g_k times the product of the other factors of k, found as the scan of
 * the row with x_i replaced by 1. It costs L^2 per row, as PyTorch's does when x has a zero.
 */
function cumprodGrad(g: Tensor, x: Tensor, reverse: boolean): Tensor {
  const L = x.shape[x.ndim - 1], K = tensorClass(x);
  const i = K.arange(L).unsqueeze(1), k = K.arange(L).unsqueeze(0);
  const others = i.eq(k).where(1, x.unsqueeze(-2)); // [..., i, j]: the row with x_i = 1
  const enters = reverse ? k.le(i) : k.ge(i);
  return enters.where(scanOf(others, 'prod', reverse).mul(g.unsqueeze(-2)), 0).sum(-1);
}

const scan: Def<'scan'> = {
  family: 'rows',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype === 'bool' ? 'int32' : DTYPE_INFO[x.dtype].wide }),
  ref: (n, ins) => perRow(n, ins, (row, out) => {
    const { kind, reverse } = n.attrs;
    let acc = kind === 'sum' ? 0 : 1;
    for (let i = 0; i < row.length; i++) {
      const c = reverse ? row.length - 1 - i : i;
      acc = kind === 'sum' ? acc + row[c] : acc * row[c];
      out[c] = acc;
    }
  }),
  grad: (g, [x], _, { kind, reverse }) => [kind === 'sum' ? scanOf(g, 'sum', !reverse) : cumprodGrad(g, x, reverse)],
  lower: (b, core, ctx) => {
    const { C, R } = rowsOf(core);
    const { kind, reverse } = core.attrs;
    b.ownFlat = `(r * ${C}u + c)`;
    const load = b.scoped(() => b.emit(`let x = ${b.value(core.inputs[0], { flat: `(r * ${C}u + c)` })};`));
    const store = b.scoped(() => b.store(core, `(r * ${C}u + c)`, 'y'));
    b.checkBindings('scan');
    const type = DTYPE_INFO[core.dtype].compute;
    return scanKernel({
      buffers: b.decls(), prelude: b.prelude, rows: R, cols: C, maxPerDim: ctx.maxPerDim, reverse, load, store, type,
      init: literal(kind === 'sum' ? 0 : 1, core.dtype),
      combine: (acc, x) => (kind === 'sum' ? `${acc} + ${type}(${x})` : `${acc} * ${type}(${x})`),
    });
  },
};

/** NaN after every number, as PyTorch sorts; ties keep their order. */
const sortKey = (v: number) => (Number.isNaN(v) ? Infinity : v);
const nanLast = (a: number, b: number) => Number(Number.isNaN(a)) - Number(Number.isNaN(b));

const argsortRows: Def<'argsortRows'> = {
  family: 'rows',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: 'int32' }),
  ref: (n, ins) => perRow(n, ins, (row, out) => {
    const sign = n.attrs.descending ? -1 : 1;
    const idx = Array.from(row, (_, i) => i);
    idx.sort((a, b) => sign * (nanLast(row[a], row[b]) || sortKey(row[a]) - sortKey(row[b])) || a - b);
    idx.forEach((v, i) => { out[i] = v; });
  }),
  lower: (b, core, ctx) => {
    const { C, R } = rowsOf(core);
    const x = core.inputs[0];
    b.ownFlat = 'at';
    const load = (name: string, col: string) => b.scoped(() => b.emit(`let ${name} = ${b.value(x, { flat: `(row + ${col})` })};`));
    const [loadOwn, loadOther] = [load('xi', 'c'), load('xj', 'j')];
    const store = b.scoped(() => b.store(core, 'at', 'y'));
    b.checkBindings('argsort');
    return rankKernel({
      buffers: b.decls(), prelude: b.prelude, rows: R, cols: C, maxPerDim: ctx.maxPerDim, loadOwn, loadOther, store,
      ...orderTests(isFloat(x.dtype), core.attrs.descending),
    });
  },
};

/** WGSL tests of `xj` before `xi` and of a tie, NaN counted as the largest value. */
function orderTests(float: boolean, descending: boolean): { before: string; tie: string } {
  const [a, b] = descending ? ['xi', 'xj'] : ['xj', 'xi']; // a goes first when a < b
  if (!float) return { before: `${a} < ${b}`, tie: 'xj == xi' };
  // NaN by its bits: compilers may assume x != x is false
  const nan = (v: string) => `((bitcast<u32>(f32(${v})) & 0x7fffffffu) > 0x7f800000u)`;
  return {
    before: `(!${nan(a)} && (${nan(b)} || ${a} < ${b}))`,
    tie: `((${nan('xi')} && ${nan('xj')}) || xj == xi)`,
  };
}

export const ORDER_OPS: { [K in keyof OrderAttrs]: Def<K> } = { scan, argsortRows };
