// Tensor ops made of other ops (views, elementwise, reductions, matmul). Each composition is
// exact, so it needs no table entry: its gradient is that of the ops it is made of. Tensor
// methods (tensor.ts) and kn./kn.F functions (index.ts) call these.
import { Tensor, type TensorLike, type CreationOptions, concat, full, tensor, normDim, elementwise, checkDtype, creation, isOptions } from './tensor.js';
import { broadcastShapes, sameShape, shapeStr } from './ir.js';
import { isFloat } from './dtype.js';
import { customGradient } from './autodiff.js';
import { options, argError, describe, checkInt, checkNumber, checkTensor } from './args.js';

type DimOption = { dim?: number };
const dimOf = (fn: string, x: Tensor, opts: DimOption | undefined, dflt = 0) => normDim(options(fn, opts, ['dim']).dim ?? dflt, x.ndim, fn);

// ------------------------------------------------------------------ pieces and indexing

/** x[..., index, ...] along dim, the dim removed (negative index from the end), as torch.select. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim(dim, x.ndim, 'select'), n = x.shape[d];
  checkInt('select', 'index', index);
  if (index < -n || index >= n) throw argError('select', `index ${index} is out of range for dim ${d} of size ${n} (shape ${shapeStr(x.shape)})`);
  const i = index < 0 ? index + n : index;
  return x.narrow(d, i, 1).reshape(x.shape.filter((_, k) => k !== d));
}

/** x.at(i, j, ...): integer indexing, x[i, j, ...] in PyTorch (negative from the end). */
export function at(x: Tensor, ...indices: number[]): Tensor {
  if (indices.length > x.ndim) throw argError('at', `got ${indices.length} indices for a tensor of shape ${shapeStr(x.shape)}`);
  return indices.reduce((r, i) => select(r, 0, i), x);
}

export function unbind(x: Tensor, opts?: DimOption): Tensor[] {
  const d = dimOf('unbind', x, opts);
  return Array.from({ length: x.shape[d] }, (_, i) => select(x, d, i));
}

/** Pieces of one size (the last maybe smaller) or of the given sizes along dim, as torch.split. */
export function split(x: Tensor, sizes: number | number[], opts?: DimOption): Tensor[] {
  const d = dimOf('split', x, opts), n = x.shape[d];
  if (Array.isArray(sizes)) {
    sizes.forEach((s, i) => checkInt('split', `sizes[${i}]`, s, 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== n) throw argError('split', `sizes ${describe(sizes)} sum to ${total}, but dim ${d} has size ${n} (shape ${shapeStr(x.shape)})`);
    let off = 0;
    return sizes.map((s) => { off += s; return x.narrow(d, off - s, s); });
  }
  checkInt('split', 'splitSize', sizes, n === 0 ? 0 : 1);
  if (n === 0) return [x];
  return Array.from({ length: Math.ceil(n / sizes) }, (_, i) => x.narrow(d, i * sizes, Math.min(sizes, n - i * sizes)));
}

/** At most `chunks` pieces of ceil(size / chunks) along dim, as torch.chunk. */
export function chunk(x: Tensor, chunks: number, opts?: DimOption): Tensor[] {
  checkInt('chunk', 'chunks', chunks, 1);
  const d = dimOf('chunk', x, opts);
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), { dim: d });
}

/** Elements shifted by `shifts` along dims, wrapping around; no dims: over the flattened tensor. */
export function roll(x: Tensor, shifts: number | number[], opts?: { dims?: number | number[] }): Tensor {
  const { dims } = options('roll', opts, ['dims']);
  const ss = Array.isArray(shifts) ? shifts : [shifts];
  ss.forEach((s, i) => checkInt('roll', `shifts[${i}]`, s));
  if (dims === undefined) {
    if (ss.length !== 1) throw argError('roll', `without dims, shifts must be one integer, got ${describe(shifts)}`);
    return roll(x.reshape(-1), ss[0], { dims: 0 }).reshape(x.shape);
  }
  const ds = Array.isArray(dims) ? dims : [dims];
  if (ds.length !== ss.length) throw argError('roll', `shifts ${describe(shifts)} and dims ${describe(dims)} must have the same length`);
  return ds.reduce((r, dim, i) => {
    const d = normDim(dim, r.ndim, 'roll'), n = r.shape[d];
    const k = n ? ((ss[i] % n) + n) % n : 0;
    return k ? concat([r.narrow(d, n - k, k), r.narrow(d, 0, n - k)], d) : r;
  }, x);
}

/** x repeated sizes[i] times along each dim (sizes may add leading dims), as torch's Tensor.repeat. */
export function repeat(x: Tensor, sizes: number[]): Tensor {
  sizes.forEach((s, i) => checkInt('repeat', `sizes[${i}]`, s, 0));
  if (sizes.length < x.ndim) throw argError('repeat', `expected at least ${x.ndim} sizes for shape ${shapeStr(x.shape)}, got ${describe(sizes)}`);
  const shape = [...new Array(sizes.length - x.ndim).fill(1), ...x.shape];
  // each dim d becomes (1, d) -> (r, d) -> r * d: a broadcast, then a reshape
  return x.reshape(shape.flatMap((d) => [1, d])).expand(shape.flatMap((d, i) => [sizes[i], d])).reshape(shape.map((d, i) => d * sizes[i]));
}

/** As torch.tile: fewer dims than x are padded with leading 1s. */
export function tile(x: Tensor, dims: number[]): Tensor {
  if (!Array.isArray(dims)) throw argError('tile', `dims must be an array of integers, got ${describe(dims)}`);
  return repeat(x, [...new Array(Math.max(0, x.ndim - dims.length)).fill(1), ...dims]);
}

function triangle(fn: 'tril' | 'triu', x: Tensor, opts?: { diagonal?: number }): Tensor {
  const { diagonal = 0 } = options(fn, opts, ['diagonal']);
  checkInt(fn, 'diagonal', diagonal);
  if (x.ndim < 2) throw argError(fn, `expected a tensor of at least 2 dims, got shape ${shapeStr(x.shape)}`);
  const [R, C] = x.shape.slice(-2);
  const offset = Tensor.arange(C).reshape(1, C).sub(Tensor.arange(R).reshape(R, 1)); // column - row
  const keep = fn === 'tril' ? offset.le(diagonal) : offset.ge(diagonal);
  return keep.where(x, 0).cast(x.dtype);
}
/** The lower triangle of the last two dims (diagonal > 0: that many above the main one), zeros elsewhere. */
export const tril = (x: Tensor, opts?: { diagonal?: number }) => triangle('tril', x, opts);
export const triu = (x: Tensor, opts?: { diagonal?: number }) => triangle('triu', x, opts);

/** x with `value` where mask (bool, broadcast to x's shape) is true, as torch.masked_fill. */
export function maskedFill(x: Tensor, mask: Tensor, value: TensorLike): Tensor {
  checkTensor('maskedFill', 'mask', mask);
  checkDtype('maskedFill', mask, 'bool');
  const b = broadcastShapes(x.shape, mask.shape);
  if (!b || !sameShape(b, x.shape)) throw argError('maskedFill', `mask shape ${shapeStr(mask.shape)} does not broadcast to the input's ${shapeStr(x.shape)}`);
  if (value instanceof Tensor ? value.ndim !== 0 : typeof value !== 'number') throw argError('maskedFill', `value must be a number or a 0-dim tensor, got ${describe(value)}`);
  return mask.where(value, x).cast(x.dtype);
}

// ------------------------------------------------------------------ creation

export function zerosLike(x: Tensor, opts?: CreationOptions): Tensor { return fullLike(x, 0, opts); }
export function onesLike(x: Tensor, opts?: CreationOptions): Tensor { return fullLike(x, 1, opts); }
export function fullLike(x: Tensor, value: number, opts?: CreationOptions): Tensor {
  checkTensor('fullLike', 'input', x);
  const o = options('fullLike', opts, ['dtype', 'requiresGrad']);
  return full(x.shape, value, { ...o, dtype: o.dtype ?? x.dtype });
}

/** kn.eye(n), kn.eye(n, m), options last: ones on the main diagonal. */
export function eye(n: number, m?: number | CreationOptions, opts?: CreationOptions): Tensor {
  if (isOptions(m)) [m, opts] = [undefined, m];
  checkInt('eye', 'n', n, 0);
  const cols = checkInt('eye', 'm', m ?? n, 0);
  const o = options('eye', opts, ['dtype', 'requiresGrad']);
  return creation('eye', Tensor.arange(n).reshape(n, 1).eq(Tensor.arange(cols).reshape(1, cols)), o, 'float32');
}

/** `steps` values evenly from start to end inclusive, as torch.linspace (float32 arithmetic, as its CPU kernel). */
export function linspace(start: number, end: number, steps: number, opts?: CreationOptions): Tensor {
  checkNumber('linspace', 'start', start); checkNumber('linspace', 'end', end);
  checkInt('linspace', 'steps', steps, 0);
  const o = options('linspace', opts, ['dtype', 'requiresGrad']);
  const f = Math.fround, s = f(start), e = f(end);
  const step = steps > 1 ? f(f(e - s) / (steps - 1)) : 0;
  // the first half counts up from start, the second down from end, so both ends are exact
  const v = Float64Array.from({ length: steps }, (_, i) => (i < steps / 2 ? f(s + f(step * i)) : f(e - f(step * (steps - 1 - i)))));
  return creation('linspace', tensor(v, [steps]), o, 'float32');
}

// ------------------------------------------------------------------ products

export function outer(a: Tensor, b: Tensor): Tensor {
  checkTensor('outer', 'input', a); checkTensor('outer', 'vec2', b);
  if (a.ndim !== 1 || b.ndim !== 1) throw argError('outer', `expected two 1-D tensors, got shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  return a.reshape(-1, 1).mul(b.reshape(1, -1));
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  checkTensor('bmm', 'input', a); checkTensor('bmm', 'mat2', b);
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw argError('bmm', `expected [B, N, M] and [B, M, P], got shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
  return a.matmul(b);
}

interface Term { t: Tensor; s: string }

/** Sums out the letters of a term that `keep` lacks. */
function sumOut(x: Term, keep: Set<string>): Term {
  const drop = [...x.s].map((c, i) => (keep.has(c) ? -1 : i)).filter((i) => i >= 0);
  return drop.length ? { t: x.t.sum(drop), s: [...x.s].filter((c) => keep.has(c)).join('') } : x;
}

/** Two terms as one batched matmul: [batch, left, contracted] x [batch, contracted, right]. */
function contractPair(a: Term, b: Term, keep: Set<string>): Term {
  a = sumOut(a, new Set([...keep, ...b.s]));
  b = sumOut(b, new Set([...keep, ...a.s]));
  const batch = [...a.s].filter((c) => b.s.includes(c) && keep.has(c));
  const inner = [...a.s].filter((c) => b.s.includes(c) && !keep.has(c));
  const left = [...a.s].filter((c) => !b.s.includes(c)), right = [...b.s].filter((c) => !a.s.includes(c));
  const size = (x: Term, cs: string[]) => cs.map((c) => x.t.shape[x.s.indexOf(c)]);
  const prod = (ds: number[]) => ds.reduce((p, d) => p * d, 1);
  const arrange = (x: Term, order: string[]) => x.t.permute([...order].map((c) => x.s.indexOf(c)));
  const [B, L, K, R] = [size(a, batch), size(a, left), size(a, inner), size(b, right)];
  const am = arrange(a, [...batch, ...left, ...inner]).reshape(prod(B), prod(L), prod(K));
  const bm = arrange(b, [...batch, ...inner, ...right]).reshape(prod(B), prod(K), prod(R));
  return { t: am.matmul(bm).reshape([...B, ...L, ...R]), s: [...batch, ...left, ...right].join('') };
}

/**
 * torch.einsum for subscripts of letters: products, sums, transposes, matmuls ('ij,jk->ik',
 * 'bij,bjk->bik', 'ij,j->i', 'i,j->ij', 'ij->ji', 'ij->'). Operands are contracted left to right,
 * each pair as one batched matmul. '...' and a letter repeated within one operand (a diagonal,
 * a trace) are refused.
 */
export function einsum(equation: string, ...operands: (Tensor | Tensor[])[]): Tensor {
  if (typeof equation !== 'string') throw argError('einsum', `the equation must be a string, got ${describe(equation)}`);
  const ts = (operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : operands) as Tensor[];
  ts.forEach((t, i) => checkTensor('einsum', `operand ${i}`, t));
  const eq = equation.replace(/\s/g, '');
  const [lhs, rhs, extra] = eq.split('->');
  const subs = lhs.split(',');
  if (extra !== undefined || subs.length !== ts.length) throw argError('einsum', `the equation '${equation}' names ${subs.length} operands, got ${ts.length} tensors`);
  const sizes = new Map<string, number>(), count = new Map<string, number>();
  subs.forEach((s, i) => {
    if (!/^[a-zA-Z]*$/.test(s)) throw argError('einsum', `subscripts must be letters ('...' is not supported), got '${s}' in '${equation}'`);
    if (new Set(s).size !== s.length) throw argError('einsum', `a letter repeated within one operand ('${s}': a diagonal or trace) is not supported`);
    if (s.length !== ts[i].ndim) throw argError('einsum', `operand ${i} has shape ${shapeStr(ts[i].shape)} but subscripts '${s}' (${s.length} dims)`);
    [...s].forEach((c, k) => {
      const d = ts[i].shape[k];
      if (sizes.has(c) && sizes.get(c) !== d) throw argError('einsum', `letter '${c}' has size ${sizes.get(c)} and ${d} (operand ${i}, shape ${shapeStr(ts[i].shape)})`);
      sizes.set(c, d); count.set(c, (count.get(c) ?? 0) + 1);
    });
  });
  // no '->': the letters used once, in alphabetical order, as NumPy and PyTorch
  const out = rhs ?? [...count].filter(([, n]) => n === 1).map(([c]) => c).sort().join('');
  if (!/^[a-zA-Z]*$/.test(out) || new Set(out).size !== out.length) throw argError('einsum', `output subscripts '${out}' must be distinct letters`);
  for (const c of out) if (!sizes.has(c)) throw argError('einsum', `output letter '${c}' is in no operand of '${equation}'`);
  let acc = sumOut({ t: ts[0], s: subs[0] }, new Set([out, ...subs.slice(1)].join('')));
  for (let i = 1; i < ts.length; i++) acc = contractPair(acc, { t: ts[i], s: subs[i] }, new Set([out, ...subs.slice(i + 1)].join('')));
  return acc.t.permute([...out].map((c) => acc.s.indexOf(c)));
}

// ------------------------------------------------------------------ reductions

type NormP = number | 'fro';

/** The 2-norm, whose gradient x / |x| is taken as 0 at x = 0, as PyTorch's (sqrt's rule gives 0 * inf there). */
function l2(x: Tensor, axes: number[] | undefined, keepdim: boolean): Tensor {
  const n = x.mul(x).sum(axes, true).sqrt();
  const r = customGradient(n, [x], (g) => [n.eq(0).where(0, x.div(n)).mul(g)]);
  return keepdim ? r : r.reshape(n.shape.filter((_, i) => axes ? !axes.includes(i) : false));
}

/** As torch.norm: p = 'fro' (default), 2, 1, Infinity, -Infinity or another positive number. */
export function norm(x: Tensor, opts?: { p?: NormP; dim?: number | number[]; keepdim?: boolean }): Tensor {
  const { p = 'fro', dim, keepdim = false } = options('norm', opts, ['p', 'dim', 'keepdim']);
  checkDtype('norm', x, 'float');
  const axes = dim === undefined ? undefined : (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(d, x.ndim, 'norm'));
  if (p === 'fro' || p === 2) return l2(x, axes, keepdim);
  const a = x.abs();
  if (p === Infinity) return a.amax(axes, keepdim);
  if (p === -Infinity) return a.amin(axes, keepdim);
  if (p === 1) return a.sum(axes, keepdim);
  if (typeof p === 'number' && p > 0) return a.pow(p).sum(axes, keepdim).pow(1 / p);
  throw argError('norm', `p must be 'fro', a positive number, Infinity or -Infinity, got ${describe(p)}`);
}

/** The product along dim (all elements without one), by pairwise halving: log2(n) elementwise steps, exact gradients at zeros. */
export function prod(x: Tensor, dim?: number, keepdim = false): Tensor {
  if (dim === undefined) return prod(x.reshape(-1), 0);
  const d = normDim(dim, x.ndim, 'prod');
  if (x.ndim === 0) return x;
  let r = x.dtype === 'bool' ? x.int() : x;
  if (r.shape[d] === 0) r = full(r.shape.map((s, i) => (i === d ? 1 : s)), 1, { dtype: r.dtype });
  while (r.shape[d] > 1) {
    const n = r.shape[d], h = Math.floor(n / 2);
    const pairs = r.narrow(d, 0, h).mul(r.narrow(d, h, h));
    r = n % 2 ? concat([pairs, r.narrow(d, 2 * h, 1)], d) : pairs;
  }
  return keepdim ? r : r.squeeze(d);
}

/** Whether any (all) elements are nonzero, over dim or everything; NaN counts as nonzero. */
export function any(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  const nz = x.dtype === 'bool' ? x : x.ne(0);
  return nz.int().amax(dim, keepdim).gt(0);
}
export function all(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  const z = x.dtype === 'bool' ? x.logicalNot() : x.eq(0);
  return z.int().amax(dim, keepdim).eq(0);
}

// ------------------------------------------------------------------ elementwise

export const square = (x: Tensor) => x.mul(x);
export const reciprocal = (x: Tensor) => elementwise('div', [1, x], {});
/** -floor(-x), exact; integers are their own ceiling. */
export const ceil = (x: Tensor) => (isFloat(x.dtype) ? x.neg().floor().neg() : x);

/** x clamped to [minVal, maxVal], with gradient 1 strictly inside and 0 elsewhere, as torch's hardtanh. */
export function hardtanh(x: Tensor, opts?: { minVal?: number; maxVal?: number }): Tensor {
  const { minVal = -1, maxVal = 1 } = options('hardtanh', opts, ['minVal', 'maxVal']);
  checkNumber('hardtanh', 'minVal', minVal); checkNumber('hardtanh', 'maxVal', maxVal);
  if (minVal > maxVal) throw argError('hardtanh', `minVal ${minVal} must not exceed maxVal ${maxVal}`);
  return x.gt(minVal).logicalAnd(x.lt(maxVal)).where(x, x.clamp(minVal, maxVal).detach());
}
export const relu6 = (x: Tensor) => hardtanh(x, { minVal: 0, maxVal: 6 });
export const hardswish = (x: Tensor) => x.mul(relu6(x.add(3))).div(6);
/** log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), stable at both ends (PyTorch's form). */
export const logSigmoid = (x: Tensor) => x.minimum(0).sub(x.abs().neg().exp().log1p());

// ------------------------------------------------------------------ kn.F

/** [..., numClasses] int32 rows, 1 at each class index (an index outside [0, numClasses) gives a row of zeros). */
export function oneHot(x: Tensor, numClasses: number | { numClasses?: number }): Tensor {
  checkTensor('oneHot', 'tensor', x);
  if (x.dtype !== 'int32') throw argError('oneHot', `expected an int32 tensor of class indices, got dtype ${x.dtype}`);
  const c = typeof numClasses === 'object' ? options('oneHot', numClasses, ['numClasses']).numClasses : numClasses;
  // PyTorch's default (-1: the largest index + 1) would read the data back: Kiln asks for it
  if (c === undefined || c === -1) throw argError('oneHot', 'numClasses is required, as oneHot(x, {numClasses: 10}) (inferring it would read the tensor back)');
  checkInt('oneHot', 'numClasses', c, 1);
  return x.unsqueeze(-1).eq(Tensor.arange(c)).int();
}

/** x / max(norm_p(x, dim), eps), as torch.nn.functional.normalize. */
export function normalize(x: Tensor, opts?: { p?: NormP; dim?: number; eps?: number }): Tensor {
  const { p = 2, dim = 1, eps = 1e-12 } = options('normalize', opts, ['p', 'dim', 'eps']);
  checkNumber('normalize', 'eps', eps);
  return x.div(norm(x, { p, dim, keepdim: true }).clampMin(eps));
}

/** sum(x1 / |x1| * x2 / |x2|) along dim, norms clamped below at eps (PyTorch's form). */
export function cosineSimilarity(x1: Tensor, x2: Tensor, opts?: { dim?: number; eps?: number }): Tensor {
  const { dim = 1, eps = 1e-8 } = options('cosineSimilarity', opts, ['dim', 'eps']);
  checkTensor('cosineSimilarity', 'x1', x1); checkTensor('cosineSimilarity', 'x2', x2);
  checkNumber('cosineSimilarity', 'eps', eps);
  const shape = broadcastShapes(x1.shape, x2.shape);
  if (!shape) throw argError('cosineSimilarity', `shapes ${shapeStr(x1.shape)} and ${shapeStr(x2.shape)} do not broadcast`);
  const [a, b] = [x1.expandTo(shape), x2.expandTo(shape)];
  const d = normDim(dim, shape.length, 'cosineSimilarity');
  // PyTorch clamps the norms in place without recording it: the gradient passes as if unclamped
  const unit = (t: Tensor) => { const n = norm(t, { dim: d, keepdim: true }); return t.div(n.add(n.clampMin(eps).sub(n).detach())); };
  return unit(a).mul(unit(b)).sum(d);
}

/** norm_p(x1 - x2 + eps) over the last dim, as torch.nn.functional.pairwise_distance. */
export function pairwiseDistance(x1: Tensor, x2: Tensor, opts?: { p?: number; eps?: number; keepdim?: boolean }): Tensor {
  const { p = 2, eps = 1e-6, keepdim = false } = options('pairwiseDistance', opts, ['p', 'eps', 'keepdim']);
  checkTensor('pairwiseDistance', 'x1', x1); checkTensor('pairwiseDistance', 'x2', x2);
  checkNumber('pairwiseDistance', 'eps', eps);
  const diff = x1.sub(x2).add(eps);
  return norm(diff, { p, dim: -1, keepdim });
}
