// Ops where order or position decides: cumulative sums and products, sort, argsort, topk
// (the row ops of ops/order.ts along the last axis, the dim moved there and back), and the
// scatters. A scatter is written as its inverse, a gather: each output element sums (or takes
// the last of) the sources whose index names it. That needs no atomics, so it is
// deterministic, and its gradient is that of the ops it is made of.
import { Tensor, make, normDim } from './tensor.js';
import { shapeStr } from './ir.js';
import { isFloat, DTYPE_INFO } from './dtype.js';
import { options, checkInt, describe } from './args.js';

const tensorArg = (fn: string, name: string, v: unknown): Tensor => {
  if (!(v instanceof Tensor)) throw new Error(`${fn}: ${name} must be a Tensor, got ${describe(v)}`);
  return v;
};

/** fn applied along dim: dim swapped to the last axis and back. */
function alongLast(x: Tensor, d: number, fn: (t: Tensor) => Tensor): Tensor {
  const last = x.ndim - 1;
  if (x.ndim === 0) return fn(x.reshape(1)).reshape();
  return d === last ? fn(x) : fn(x.transpose(d, last)).transpose(d, last);
}

/** A packed dtype's row op computes in its wide dtype: give the input's dtype back. */
const back = (y: Tensor, x: Tensor) => (DTYPE_INFO[x.dtype].wide !== x.dtype && isFloat(x.dtype) ? y.cast(x.dtype) : y);

function scan(fn: string, x: Tensor, dim: number, kind: 'sum' | 'prod'): Tensor {
  tensorArg(fn, 'input', x);
  const d = normDim(dim, x.ndim, fn);
  return back(alongLast(x, d, (t) => make('scan', [t], { kind, reverse: false })), x);
}

/** Running sums along dim, as torch.cumsum (bool and int32 give int32). */
export const cumsum = (x: Tensor, dim: number): Tensor => scan('cumsum', x, dim, 'sum');
/** Running products along dim, as torch.cumprod (its gradient is exact with zeros). */
export const cumprod = (x: Tensor, dim: number): Tensor => scan('cumprod', x, dim, 'prod');

export interface SortOptions { dim?: number; descending?: boolean; stable?: boolean }

/**
 * The permutation that sorts x along dim, as torch.argsort: always stable (equal values keep
 * their order), NaN after every number. It compares each element with its whole row, L^2 per row.
 */
export function argsort(x: Tensor, opts?: SortOptions): Tensor {
  tensorArg('argsort', 'input', x);
  options('argsort', opts, ['dim', 'descending', 'stable']);
  const d = normDim(opts?.dim ?? -1, x.ndim, 'argsort');
  return alongLast(x, d, (t) => make('argsortRows', [t], { descending: !!opts?.descending }));
}

/** [values, indices] sorted along dim, as torch.sort (stable). */
export function sort(x: Tensor, opts?: SortOptions): [Tensor, Tensor] {
  tensorArg('sort', 'input', x);
  options('sort', opts, ['dim', 'descending', 'stable']);
  const d = normDim(opts?.dim ?? -1, x.ndim, 'sort');
  const idx = argsort(x, opts);
  return [x.ndim ? x.gather(d, idx) : x, idx];
}

export interface TopkOptions { dim?: number; largest?: boolean; sorted?: boolean }

/** [values, indices] of the k largest (or smallest) along dim, as torch.topk (ties: lower index first). */
export function topk(x: Tensor, k: number, opts?: TopkOptions): [Tensor, Tensor] {
  tensorArg('topk', 'input', x);
  options('topk', opts, ['dim', 'largest', 'sorted']);
  const d = normDim(opts?.dim ?? -1, x.ndim, 'topk');
  const n = x.ndim ? x.shape[d] : 1;
  checkInt('topk', 'k', k, 0);
  if (k > n) throw new Error(`topk: k (${k}) is larger than the size ${n} of dim ${d} (shape ${shapeStr(x.shape)})`);
  const [values, indices] = sort(x, { dim: d, descending: opts?.largest ?? true });
  return [values.narrow(d, 0, k), indices.narrow(d, 0, k)];
}

/** The int32 index of a scatter, checked against the destination and the source. */
function scatterIndex(fn: string, x: Tensor, d: number, index: unknown, src?: Tensor): Tensor {
  const idx = tensorArg(fn, 'index', index);
  if (idx.dtype !== 'int32' || idx.ndim !== x.ndim) {
    throw new Error(`${fn}: index must be an int32 tensor with ${x.ndim} dims, got ${idx.dtype} ${shapeStr(idx.shape)}`);
  }
  idx.shape.forEach((s, i) => {
    if (i !== d && s > x.shape[i]) throw new Error(`${fn}: index ${shapeStr(idx.shape)} is larger than the input ${shapeStr(x.shape)} in dim ${i}`);
    if (src && s > src.shape[i]) throw new Error(`${fn}: index ${shapeStr(idx.shape)} is larger than src ${shapeStr(src.shape)} in dim ${i}`);
  });
  return idx;
}

/** src cut to the index's shape (PyTorch reads only that part of it). */
const cut = (src: Tensor, idx: Tensor) => src.slice(idx.shape.map(() => 0), idx.shape);

/** [..., P at d, ...] padded with `fill` to x's shape in the other dims. */
function padTo(t: Tensor, x: Tensor, d: number): Tensor {
  if (t.shape.every((s, i) => s === x.shape[i])) return t;
  return t.pad(t.shape.map(() => 0), x.shape.map((s, i) => (i === d ? 0 : s - t.shape[i])));
}

/** hit[..., i at d, p at d + 1, ...]: whether index names output position p. */
function hits(idx: Tensor, d: number, P: number): Tensor {
  const positions = make('arange', [], { n: P }).reshape(...idx.shape.map((_, i) => (i === d ? P : 1)));
  return idx.unsqueeze(d + 1).eq(positions.unsqueeze(d));
}

/** x with src added at the positions index names along dim, as torch.scatter_add. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  tensorArg('scatterAdd', 'input', x);
  tensorArg('scatterAdd', 'src', src);
  const d = normDim(dim, x.ndim, 'scatterAdd');
  if (src.ndim !== x.ndim) throw new Error(`scatterAdd: src must have ${x.ndim} dims like the input, got ${shapeStr(src.shape)}`);
  const idx = scatterIndex('scatterAdd', x, d, index, src);
  const s = cut(src, idx);
  const hit = hits(idx, d, x.shape[d]);
  const sums = hit.where(s.unsqueeze(d + 1), 0).sum(d);
  return x.add(padTo(sums, x, d).cast(x.dtype));
}

/**
 * x with src (or a number) written at the positions index names along dim, as torch.scatter.
 * Where several sources name one position the last (highest index along dim) is written;
 * PyTorch leaves that case unspecified.
 */
export function scatter(x: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  tensorArg('scatter', 'input', x);
  const d = normDim(dim, x.ndim, 'scatter');
  if (typeof src !== 'number') {
    tensorArg('scatter', 'src', src);
    if (src.ndim !== x.ndim) throw new Error(`scatter: src must have ${x.ndim} dims like the input, got ${shapeStr(src.shape)}`);
  } else if (Number.isNaN(src) && !isFloat(x.dtype)) throw new Error(`scatter: value NaN cannot be written to a ${x.dtype} tensor`);
  const idx = scatterIndex('scatter', x, d, index, typeof src === 'number' ? undefined : src);
  const I = idx.shape[d];
  const along = make('arange', [], { n: I }).reshape(...idx.shape.map((_, i) => (i === d ? I : 1))).unsqueeze(d + 1);
  // the position along dim of the last source that names each output, -1 where none does
  const last = hits(idx, d, x.shape[d]).where(along, -1).amax(d);
  const written = padTo(last.ge(0), x, d);
  const value = typeof src === 'number' ? src : padTo(cut(src, idx).gather(d, last.clamp(0, I - 1)), x, d);
  return written.where(value, x);
}

/** x with the slices of source added at the positions a 1-D index names along dim, as torch.index_add. */
export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor, opts?: { alpha?: number }): Tensor {
  tensorArg('indexAdd', 'input', x);
  tensorArg('indexAdd', 'source', source);
  options('indexAdd', opts, ['alpha']);
  const d = normDim(dim, x.ndim, 'indexAdd');
  const idx = tensorArg('indexAdd', 'index', index);
  if (idx.dtype !== 'int32' || idx.ndim !== 1) throw new Error(`indexAdd: index must be a 1-D int32 tensor, got ${idx.dtype} ${shapeStr(idx.shape)}`);
  const want = x.shape.map((s, i) => (i === d ? idx.shape[0] : s));
  if (source.ndim !== x.ndim || source.shape.some((s, i) => s !== want[i])) {
    throw new Error(`indexAdd: source must have shape ${shapeStr(want)} (the input's, with dim ${d} the index's length), got ${shapeStr(source.shape)}`);
  }
  const full = idx.reshape(...want.map((s, i) => (i === d ? s : 1))).expandTo(want);
  const alpha = opts?.alpha ?? 1;
  return scatterAdd(x, d, full, alpha === 1 ? source : source.mul(alpha));
}
