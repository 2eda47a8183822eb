// Resampling and padding: F.interpolate (nearest, nearest-exact, linear, bilinear, area) and
// F.pad (constant, reflect, replicate, circular), with their modules (Upsample, the padding
// layers) and Unflatten. Everything is composed from existing graph ops, so the gradients
// come from their rules; no op of its own.
// - nearest: per spatial axis, the source index of every output, by PyTorch's float32 rule.
//   The identity costs nothing, an integer repeat is an expand view, a small rational ratio
//   (x0.5, x1.5, x2/3...) interleaved strided slices; any other map is an indexSelect with a
//   constant index.
// - linear / bilinear: separable. With an integer or small rational ratio the weights repeat
//   every few outputs, and each axis is strided slices, a multiply-add and an interleave
//   (O(output)); otherwise a small interpolation matrix per axis and a matmul (as
//   adaptiveAvgPool2d in conv.ts). 'area' is adaptiveAvgPool2d itself.
// - reflect / replicate / circular: the index map of each padded axis is cut into runs joined
//   by a concat: ascending runs are slices, constant runs a slice expanded, descending runs a
//   slice reversed by a small indexSelect. Constant padding is a crop (slice) and a pad view.
import { Tensor, tensor, constant, concat, stack } from '../graph/tensor.js';
import { scopeSuffix } from '../graph/state.js';
import { shapeStr } from '../graph/ir.js';
import { Module } from './module.js';
import { adaptiveAvgPool2d } from './conv.js';

function fail(fn: string, msg: string): never { throw new Error(`${fn}: ${msg}${scopeSuffix()}`); }
const f32 = Math.fround;
const show = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v));

// ------------------------------------------------------------------ index rules (PyTorch 1.13, CPU)

/**
 * PyTorch's source-coordinate scale of one axis (area_pixel_compute_scale, in float32): with
 * alignCorners (n-1)/(o-1); else 1/scaleFactor when a scale factor was given (and not
 * recomputed), in/out otherwise.
 */
function axisScale(n: number, o: number, scaleFactor: number | null, alignCorners: boolean): number {
  if (alignCorners) return o > 1 ? f32(f32(n - 1) / (o - 1)) : 0;
  return scaleFactor !== null ? f32(1 / scaleFactor) : f32(n / o);
}

/**
 * Source index of each of o outputs read from an axis of n: 'nearest' floor(dst * scale),
 * 'nearest-exact' floor((dst + 0.5) * scale), both in float32 and clamped to n - 1. This is
 * PyTorch's generic (NCHW) kernel; its channels-last kernel, which also serves 4-d inputs with
 * one channel, copies when o == n and halves when o == 2n whatever the scale factor says.
 */
export function nearestSourceIndex(n: number, o: number, scaleFactor: number | null, exact: boolean): number[] {
  const s = axisScale(n, o, scaleFactor, false);
  const idx: number[] = [];
  for (let d = 0; d < o; d++) idx.push(Math.min(Math.floor(exact ? f32((d + 0.5) * s) : f32(d * s)), n - 1));
  return idx;
}

/**
 * The [o, n] matrix of linear interpolation along one axis (row d: the weights output d gives
 * its two neighbours), as PyTorch computes them: the float32 scale times the output
 * coordinate, in double precision (alignCorners: src = d * scale, the corner centres map onto
 * each other; else half-pixel centres, src = (d + 0.5) * scale - 0.5, clamped at 0), the
 * weights rounded to float32. o == n is the identity, as in PyTorch.
 */
export function linearMatrix(n: number, o: number, scaleFactor: number | null, alignCorners: boolean): Float32Array {
  const m = new Float32Array(o * n);
  if (o === n) { for (let d = 0; d < n; d++) m[d * n + d] = 1; return m; }
  const s = axisScale(n, o, scaleFactor, alignCorners);
  for (let d = 0; d < o; d++) {
    const src = Math.max(alignCorners ? s * d : s * (d + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    const lambda = f32(Math.min(Math.max(src - i0, 0), 1));
    const i1 = i0 < n - 1 ? i0 + 1 : i0;
    m[d * n + i0] += f32(1 - lambda);
    m[d * n + i1] += lambda;
  }
  return m;
}

// ------------------------------------------------------------------ views by index

/** x with its axis `axis` replaced by `len`. */
function withDim(shape: number[], axis: number, len: number): number[] { const s = shape.slice(); s[axis] = len; return s; }

/** Nearest resampling of one axis: elements idx[0], idx[1], ... of it. */
function takeNearest(x: Tensor, axis: number, idx: number[]): Tensor {
  const n = x.shape[axis], o = idx.length;
  if (o === n && idx.every((v, i) => v === i)) return x;
  if (o % n === 0) {
    // an integer repeat: each element s times in a row, an expand view
    const s = o / n;
    if (idx.every((v, i) => v === Math.floor(i / s))) {
      const e = x.shape; e.splice(axis + 1, 0, s);
      return x.unsqueeze(axis + 1).expand(e).reshape(withDim(x.shape, axis, o));
    }
  }
  // a rational ratio o/n = P/Q: output P*i + j reads element Q*i + start[j] (an integer stride
  // is P = 1); P strided slices interleaved, when the index map repeats that way
  const ph = phases(n, o);
  if (ph) {
    const { P, Q } = ph, starts: number[] = [];
    for (let j = 0; j < P; j++) starts.push(idx[j]);
    if (idx.every((v, d) => v === Q * Math.floor(d / P) + starts[d % P])) return interleave(starts.map((st) => strided(x, axis, st, Q, o / P)), axis);
  }
  // anything else: a gather (the gradient of indexSelect costs n*o per row)
  return x.indexSelect(axis, tensor(Int32Array.from(idx), [o], { dtype: 'int32' }));
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
/** Resampling o/n as P/Q in lowest terms when it has at most MAX_PHASES phases, each used twice or more. */
const MAX_PHASES = 4;
function phases(n: number, o: number): { P: number; Q: number } | null {
  const g = gcd(n, o), P = o / g, Q = n / g;
  return P <= MAX_PHASES && g >= 2 ? { P, Q } : null;
}
/** `count` elements of x along `axis` from `start` in steps of `step`. */
function strided(x: Tensor, axis: number, start: number, step: number, count: number): Tensor {
  const starts = x.shape.map(() => 0), ends = x.shape.slice(), steps = x.shape.map(() => 1);
  starts[axis] = start; ends[axis] = start + step * (count - 1) + 1; steps[axis] = step;
  return x.slice(starts, ends, steps);
}
/** [.., c, ..] pieces to [.., c * P, ..]: element i of piece j goes to P*i + j. */
function interleave(pieces: Tensor[], axis: number): Tensor {
  if (pieces.length === 1) return pieces[0];
  const shape = pieces[0].shape;
  return stack(pieces, axis + 1).reshape(withDim(shape, axis, shape[axis] * pieces.length));
}

/**
 * Linear interpolation along `axis` as views, when its weights repeat with the ratio o/n =
 * P/Q: output P*i + j is a[j] * x[Q*i + k[j]] + b[j] * x[Q*i + k[j] + 1], x extended by one
 * replicated element at each end (where PyTorch clamps the coordinate: the same value). Then
 * each phase is two strided slices and a multiply-add, so the forward and the gradient cost
 * O(output) instead of the matmul's O(n * o). null when the pattern does not hold exactly
 * (weights equal bit for bit in every period; the matrix it implies equals `m`).
 */
function linearViews(x: Tensor, axis: number, o: number, scaleFactor: number | null, alignCorners: boolean, m: Float32Array): Tensor | null {
  const n = x.shape[axis], ph = phases(n, o);
  if (!ph) return null;
  const { P, Q } = ph, count = o / P, s = axisScale(n, o, scaleFactor, alignCorners);
  const terms: { k: number; a: number; b: number }[] = [];
  for (let d = 0; d < o; d++) {
    const src = alignCorners ? s * d : s * (d + 0.5) - 0.5;
    const i0 = Math.floor(src), lambda = f32(src - i0);
    const t = { k: i0 - Q * Math.floor(d / P), a: f32(1 - lambda), b: lambda };
    const j = d % P;
    if (d < P) terms.push(t);
    else if (t.k !== terms[j].k || t.a !== terms[j].a || t.b !== terms[j].b) return null;
  }
  // the matrix these terms make, with the ends replicated, must be PyTorch's
  const mm = new Float64Array(o * n), clamp = (v: number) => Math.min(Math.max(v, 0), n - 1);
  let lo = 0, hi = n - 1;
  for (let d = 0; d < o; d++) {
    const { k, a, b } = terms[d % P], base = Q * Math.floor(d / P) + k;
    if (a) { mm[d * n + clamp(base)] += a; lo = Math.min(lo, base); hi = Math.max(hi, base); }
    if (b) { mm[d * n + clamp(base + 1)] += b; lo = Math.min(lo, base + 1); hi = Math.max(hi, base + 1); }
  }
  if (lo < -1 || hi > n || mm.some((v, i) => Math.abs(v - m[i]) > 1e-6)) return null;
  const ext = lo < 0 || hi > n - 1;
  const xe = ext ? takeRuns(x, axis, [0, ...Array.from({ length: n }, (_, i) => i), n - 1]) : x;
  const at = (k: number) => strided(xe, axis, k + (ext ? 1 : 0), Q, count);
  const weigh = (t: Tensor, w: number) => (w === 1 ? t : t.mul(w));
  const pieces = terms.map(({ k, a, b }) => (!b ? weigh(at(k), a) : !a ? weigh(at(k + 1), b) : at(k).mul(a).add(at(k + 1).mul(b))));
  return interleave(pieces, axis);
}

/**
 * x's elements idx[0], idx[1], ... along `axis`, as a concat of runs: ascending runs are
 * slices, constant runs a slice expanded, descending runs a slice reversed by a small
 * indexSelect (so a gradient never sums over more than the run it came from).
 */
function takeRuns(x: Tensor, axis: number, idx: number[]): Tensor {
  const L = idx.length;
  // up[i]: the length of the ascending run that starts at i
  const up = new Array<number>(L).fill(1);
  for (let i = L - 2; i >= 0; i--) if (idx[i + 1] === idx[i] + 1) up[i] = up[i + 1] + 1;
  const pieces: Tensor[] = [];
  for (let i = 0; i < L;) {
    let len = up[i], piece: Tensor;
    if (len >= 2) piece = x.narrow(axis, idx[i], len);
    else {
      // a constant or descending run, stopped where an ascending run of 2 or more begins
      const d = i + 1 < L ? idx[i + 1] - idx[i] : 1;
      if (d === 0 || d === -1) while (i + len < L && idx[i + len] - idx[i + len - 1] === d && up[i + len] < 2) len++;
      if (len === 1) piece = x.narrow(axis, idx[i], 1);
      else if (d === 0) piece = x.narrow(axis, idx[i], 1).expand(withDim(x.shape, axis, len));
      else {
        const rev = Int32Array.from({ length: len }, (_, k) => len - 1 - k);
        piece = x.narrow(axis, idx[i + len - 1], len).indexSelect(axis, tensor(rev, [len], { dtype: 'int32' }));
      }
    }
    pieces.push(piece);
    i += len;
  }
  return pieces.length === 1 ? pieces[0] : concat(pieces, axis);
}

// ------------------------------------------------------------------ interpolate

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'area';
const MODES: InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'bilinear', 'area'];

export interface InterpolateOptions {
  /** output spatial size: one number for every spatial dim, or one per dim */
  size?: number | number[] | null;
  /** multiplier of the spatial size (the output size is rounded down); one, or one per dim */
  scaleFactor?: number | number[] | null;
  mode?: InterpolateMode;
  /** 'linear' / 'bilinear' only: align the corner pixels' centres (default false) */
  alignCorners?: boolean | null;
  /** with scaleFactor: compute the coordinates from the rounded output size instead of the factor */
  recomputeScaleFactor?: boolean | null;
}

/** F.interpolate as torch.nn.functional.interpolate: [N, C, L] or [N, C, H, W] input. */
export function interpolate(input: Tensor, opts: InterpolateOptions = {}, fn = 'interpolate'): Tensor {
  const { size = null, scaleFactor = null, mode = 'nearest', alignCorners = null, recomputeScaleFactor = null } = opts;
  if (!MODES.includes(mode)) fail(fn, `mode must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${show(mode)}`);
  if (input.dtype !== 'float32') fail(fn, `expected a float32 input, got ${input.dtype}`);
  if (input.ndim !== 3 && input.ndim !== 4) fail(fn, `expected input of shape [N, C, L] or [N, C, H, W], got ${shapeStr(input.shape)}`);
  const dims = input.ndim - 2, inSize = input.shape.slice(2);
  if (mode === 'linear' && dims !== 1) fail(fn, `mode 'linear' needs a 3-d input [N, C, L], got ${shapeStr(input.shape)} (use 'bilinear' for [N, C, H, W])`);
  if (mode === 'bilinear' && dims !== 2) fail(fn, `mode 'bilinear' needs a 4-d input [N, C, H, W], got ${shapeStr(input.shape)} (use 'linear' for [N, C, L])`);
  const interpolating = mode === 'linear' || mode === 'bilinear';
  if (!interpolating && alignCorners !== null && alignCorners !== undefined) fail(fn, `alignCorners can only be set with the interpolating modes 'linear' and 'bilinear', got mode '${mode}'`);
  const hasSize = size !== null && size !== undefined, hasScale = scaleFactor !== null && scaleFactor !== undefined;
  if (hasSize && hasScale) fail(fn, 'only one of size and scaleFactor may be given, got both');
  if (!hasSize && !hasScale) fail(fn, 'either size or scaleFactor must be given');
  if (hasSize && recomputeScaleFactor) fail(fn, 'recomputeScaleFactor is only meaningful with scaleFactor, not with an explicit size');
  const perDim = (name: string, v: number | number[]): number[] => {
    if (!Array.isArray(v)) return new Array(dims).fill(v);
    if (v.length !== dims) fail(fn, `${name} must be a number or a list of ${dims} (one per spatial dim of the input ${shapeStr(input.shape)}), got ${show(v)}`);
    return v.slice();
  };
  let outSize: number[], factors: (number | null)[];
  if (hasSize) {
    outSize = perDim('size', size!);
    if (outSize.some((o) => !Number.isInteger(o) || o < 1)) fail(fn, `size must be positive integers, got ${show(size)}`);
    factors = outSize.map(() => null);
  } else {
    const sf = perDim('scaleFactor', scaleFactor!);
    if (sf.some((s) => typeof s !== 'number' || !Number.isFinite(s) || s <= 0)) fail(fn, `scaleFactor must be positive finite numbers, got ${show(scaleFactor)}`);
    outSize = inSize.map((n, i) => Math.floor(n * sf[i]));
    if (outSize.some((o) => o < 1)) fail(fn, `the output size [${outSize.join(', ')}] (input size [${inSize.join(', ')}] times scaleFactor ${show(scaleFactor)}, rounded down) must be at least 1 in every dim`);
    // PyTorch scales the coordinates by 1/scaleFactor unless asked to recompute from the sizes
    factors = recomputeScaleFactor ? sf.map(() => null) : sf;
  }
  if (mode === 'area') {
    if (dims === 2) return adaptiveAvgPool2d(input, [outSize[0], outSize[1]]);
    return adaptiveAvgPool2d(input.unsqueeze(2), [1, outSize[0]]).squeeze(2);
  }
  if (!interpolating) {
    let y = input;
    for (let i = 0; i < dims; i++) y = takeNearest(y, 2 + i, nearestSourceIndex(inSize[i], outSize[i], factors[i], mode === 'nearest-exact'));
    return y;
  }
  const align = !!alignCorners;
  const mats = inSize.map((n, i) => (outSize[i] === n ? null : linearMatrix(n, outSize[i], factors[i], align)));
  // per axis: views when the weights repeat (integer and small rational factors), else a
  // matmul with the interpolation matrix; y = Mh x Mw^T: the last axis as a 2-d matmul on the
  // right, the row axis as a broadcast matmul on the left
  const views = mats.map((m, i) => (m ? (x: Tensor) => linearViews(x, 2 + i, outSize[i], factors[i], align, m) : null));
  const last = (x: Tensor): Tensor => {
    const m = mats[dims - 1], n = inSize[dims - 1], o = outSize[dims - 1];
    if (!m) return x;
    const v = views[dims - 1]!(x);
    if (v) return v;
    const mt = new Float32Array(n * o);
    for (let d = 0; d < o; d++) for (let j = 0; j < n; j++) mt[j * o + d] = m[d * n + j];
    return x.reshape(-1, n).matmul(tensor(mt, [n, o])).reshape(withDim(x.shape, x.ndim - 1, o));
  };
  if (dims === 1) return last(input);
  const rows = (x: Tensor): Tensor => (mats[0] ? views[0]!(x) ?? tensor(mats[0], [outSize[0], inSize[0]]).matmul(x) : x);
  // the cheaper order (counting a matmul's multiply-adds; views cost about one per output)
  const [H, W] = inSize, [OH, OW] = outSize;
  const lastFirst = H * W * OW + OH * H * OW <= OH * H * W + OH * W * OW;
  return lastFirst ? rows(last(input)) : last(rows(input));
}

// ------------------------------------------------------------------ pad

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';
const PAD_MODES: PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

/**
 * Where element o of a padded axis reads from (may fall outside [0, n) when negative pads
 * reach too far). Reflect and replicate index the whole axis; circular first crops the
 * negative pads and wraps around what is left, as PyTorch.
 */
function padIndex(mode: PadMode, n: number, before: number, after: number): number[] {
  const idx: number[] = [];
  const c0 = Math.max(-before, 0), m = n + Math.min(before, 0) + Math.min(after, 0), b = Math.max(before, 0);
  for (let o = 0; o < n + before + after; o++) {
    const p = o - before;
    if (mode === 'reflect') idx.push(p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p);
    else if (mode === 'replicate') idx.push(Math.min(Math.max(p, 0), n - 1));
    else { const q = o - b; idx.push(c0 + (q < 0 ? q + m : q >= m ? q - m : q)); }
  }
  return idx;
}

/**
 * F.pad as torch.nn.functional.pad. `pad` lists [before, after] pairs starting from the last
 * dim: [left, right, top, bottom, front, back]. 'constant' pads any number of dims with
 * `value` (negative pads crop); 'reflect', 'replicate' and 'circular' pad the last 1, 2 or 3
 * dims of an input with one or two more dims than that. The mode may also be given as
 * `{mode, value}` in the third argument.
 */
export function pad(input: Tensor, pad: number[], mode: PadMode | { mode?: PadMode; value?: number | null } = 'constant', value: number | null = null, fn = 'pad'): Tensor {
  if (typeof mode === 'object' && mode !== null) ({ mode = 'constant', value = null } = mode);
  if (!PAD_MODES.includes(mode)) fail(fn, `mode must be one of ${PAD_MODES.map((m) => `'${m}'`).join(', ')}, got ${show(mode)}`);
  if (!Array.isArray(pad) || pad.some((p) => !Number.isInteger(p))) fail(fn, `pad must be a list of integers, got ${show(pad)}`);
  if (pad.length % 2 !== 0) fail(fn, `pad must hold pairs of (before, after) pads, last dim first, so its length must be even; got ${pad.length} values ${show(pad)}`);
  const k = pad.length / 2, nd = input.ndim, shape = input.shape;
  if (k > nd) fail(fn, `pad ${show(pad)} pads ${k} dims, but the input ${shapeStr(shape)} has only ${nd}`);
  if (value !== null && value !== undefined && typeof value !== 'number') fail(fn, `value must be a number, got ${show(value)}`);
  const before = shape.map(() => 0), after = shape.map(() => 0);
  for (let i = 0; i < k; i++) { before[nd - 1 - i] = pad[2 * i]; after[nd - 1 - i] = pad[2 * i + 1]; }
  const out = shape.map((d, i) => d + before[i] + after[i]);
  const dimOf = (i: number) => `dim ${i} (size ${shape[i]}) of the input ${shapeStr(shape)}`;

  if (mode === 'constant') {
    for (let i = 0; i < nd; i++) if (out[i] < 0) fail(fn, `padding (${before[i]}, ${after[i]}) would leave ${out[i]} elements in ${dimOf(i)}; negative pads may crop at most the whole dim`);
    if (pad.every((p) => p === 0)) return input;
    // crop the negative pads, then pad the positive ones with zeros
    const cropped = input.slice(before.map((b) => Math.max(-b, 0)), shape.map((d, i) => d - Math.max(-after[i], 0)));
    const b = before.map((v) => Math.max(v, 0)), a = after.map((v) => Math.max(v, 0));
    const padded = cropped.pad(b, a);
    if (value === null || value === undefined || value === 0 || (b.every((v) => v === 0) && a.every((v) => v === 0))) return padded;
    // a nonzero fill: where the input is not, by a mask that is itself a padded constant
    // (NaN and infinities come from a stored scalar: a WGSL literal cannot spell them)
    const inside = constant(1, cropped.shape, 'float32').pad(b, a).ne(0);
    return inside.where(padded, Number.isFinite(value) ? value : tensor([value], []));
  }
  if (value !== null && value !== undefined && value !== 0) fail(fn, `mode '${mode}' takes no value (only 'constant' fills with one), got value ${show(value)}`);
  if (k < 1 || k > 3 || nd < k + 1 || nd > k + 2) {
    const allowed = k >= 1 && k <= 3 ? `a ${k + 1}-d or ${k + 2}-d input` : 'a pad list of 2, 4 or 6 values';
    fail(fn, `mode '${mode}' pads the last 1, 2 or 3 dims of an input with one or two more dims ([N, C, ...] or [C, ...]): pad ${show(pad)} needs ${allowed}, got ${shapeStr(shape)}`);
  }
  let y = input;
  for (let i = nd - k; i < nd; i++) {
    const n = shape[i], bl = before[i], af = after[i];
    if (mode === 'reflect' && (bl >= n || af >= n)) fail(fn, `reflect padding must be less than the size of the dim it pads: got padding (${bl}, ${af}) for ${dimOf(i)}`);
    const kept = n + Math.min(bl, 0) + Math.min(af, 0);
    if (mode === 'circular' && kept < 1) fail(fn, `negative padding (${bl}, ${af}) leaves nothing of ${dimOf(i)} to wrap around`);
    if (mode === 'circular' && (bl > kept || af > kept)) fail(fn, `circular padding may wrap around at most once: got padding (${bl}, ${af}) for ${dimOf(i)}${kept < n ? `, ${kept} after the negative pad` : ''}`);
    if (out[i] < 1) fail(fn, `padding (${bl}, ${af}) would leave ${out[i]} elements in ${dimOf(i)}; at least 1 must remain`);
    if (bl === 0 && af === 0) continue;
    const idx = padIndex(mode, n, bl, af);
    if (idx.some((v) => v < 0 || v >= n)) fail(fn, `negative padding (${bl}, ${af}) reaches outside ${dimOf(i)}`);
    y = takeRuns(y, i, idx);
  }
  return y;
}

// ------------------------------------------------------------------ unflatten

/** x with dim `dim` split into `sizes` (one of them may be -1), as torch.unflatten. */
export function unflatten(x: Tensor, dim: number, sizes: number[], fn = 'unflatten'): Tensor {
  if (!Number.isInteger(dim) || dim < -x.ndim || dim >= x.ndim || x.ndim === 0) fail(fn, `dim ${show(dim)} is out of range for the input ${shapeStr(x.shape)} (expected ${-x.ndim}..${x.ndim - 1})`);
  if (!Array.isArray(sizes) || sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < -1)) fail(fn, `unflattenedSize must be a non-empty list of sizes (non-negative integers, at most one -1), got ${show(sizes)}`);
  if (sizes.filter((s) => s === -1).length > 1) fail(fn, `unflattenedSize may hold at most one -1, got ${show(sizes)}`);
  const d = dim < 0 ? dim + x.ndim : dim, n = x.shape[d];
  const known = sizes.reduce((p, s) => (s === -1 ? p : p * s), 1);
  const full = sizes.map((s) => (s === -1 ? (known === 0 ? -1 : n / known) : s));
  if (full.some((s) => !Number.isInteger(s) || s < 0) || full.reduce((p, s) => p * s, 1) !== n) {
    fail(fn, `unflattenedSize ${show(sizes)} does not fill dim ${d} (size ${n}) of the input ${shapeStr(x.shape)}: the sizes must multiply to ${n}`);
  }
  const s = x.shape; s.splice(d, 1, ...full);
  return x.reshape(s);
}

// ------------------------------------------------------------------ modules

/** nn.Upsample: interpolate with options fixed at construction. */
export class Upsample extends Module {
  readonly size: number | number[] | null;
  readonly scaleFactor: number | number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;
  readonly recomputeScaleFactor: boolean | null;
  constructor({ size = null, scaleFactor = null, mode = 'nearest', alignCorners = null, recomputeScaleFactor = null }: InterpolateOptions = {}) {
    super();
    if (!MODES.includes(mode)) fail('Upsample', `mode must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${show(mode)}`);
    if ((size === null || size === undefined) === (scaleFactor === null || scaleFactor === undefined)) fail('Upsample', 'exactly one of size and scaleFactor must be given');
    this.size = size; this.scaleFactor = scaleFactor; this.mode = mode; this.alignCorners = alignCorners; this.recomputeScaleFactor = recomputeScaleFactor;
  }
  forward(x: Tensor): Tensor {
    const { size, scaleFactor, mode, alignCorners, recomputeScaleFactor } = this;
    return interpolate(x, { size, scaleFactor, mode, alignCorners, recomputeScaleFactor });
  }
}
/** nn.UpsamplingNearest2d: Upsample with mode 'nearest'. */
export class UpsamplingNearest2d extends Upsample {
  constructor(opts: { size?: number | number[] | null; scaleFactor?: number | number[] | null } = {}) { super({ ...opts, mode: 'nearest' }); }
}
/** nn.UpsamplingBilinear2d: Upsample with mode 'bilinear' and alignCorners true, as PyTorch. */
export class UpsamplingBilinear2d extends Upsample {
  constructor(opts: { size?: number | number[] | null; scaleFactor?: number | number[] | null } = {}) { super({ ...opts, mode: 'bilinear', alignCorners: true }); }
}

/** nn.Unflatten(dim, unflattenedSize). */
export class Unflatten extends Module {
  constructor(readonly dim: number, readonly unflattenedSize: number[]) {
    super();
    if (!Number.isInteger(dim)) fail('Unflatten', `dim must be an integer, got ${show(dim)}`);
    if (!Array.isArray(unflattenedSize) || unflattenedSize.length === 0 || unflattenedSize.some((s) => !Number.isInteger(s) || s < -1)) fail('Unflatten', `unflattenedSize must be a non-empty list of sizes, got ${show(unflattenedSize)}`);
  }
  forward(x: Tensor): Tensor { return unflatten(x, this.dim, this.unflattenedSize); }
}

/** A module's padding as F.pad's list: one integer for every side, or one per side. */
function padList(layer: string, padding: number | number[], k: number): number[] {
  const sides = ['left, right', 'left, right, top, bottom', 'left, right, top, bottom, front, back'][k - 1];
  const p = Array.isArray(padding) ? padding.slice() : new Array(2 * k).fill(padding);
  if (p.length !== 2 * k || p.some((v) => !Number.isInteger(v))) fail(layer, `padding must be an integer or a list of ${2 * k} integers (${sides}), got ${show(padding)}`);
  return p;
}

abstract class PadNd extends Module {
  readonly padding: number[];
  constructor(layer: string, padding: number | number[], k: number, readonly mode: PadMode, readonly value = 0) {
    super();
    this.padding = padList(layer, padding, k);
    if (typeof value !== 'number') fail(layer, `value must be a number, got ${show(value)}`);
  }
  forward(x: Tensor): Tensor { return pad(x, this.padding, this.mode, this.value); }
}
type Padding = number | number[];
export class ConstantPad1d extends PadNd { constructor(padding: Padding, value: number) { super('ConstantPad1d', padding, 1, 'constant', value); } }
export class ConstantPad2d extends PadNd { constructor(padding: Padding, value: number) { super('ConstantPad2d', padding, 2, 'constant', value); } }
export class ConstantPad3d extends PadNd { constructor(padding: Padding, value: number) { super('ConstantPad3d', padding, 3, 'constant', value); } }
export class ZeroPad2d extends PadNd { constructor(padding: Padding) { super('ZeroPad2d', padding, 2, 'constant', 0); } }
export class ReflectionPad1d extends PadNd { constructor(padding: Padding) { super('ReflectionPad1d', padding, 1, 'reflect'); } }
export class ReflectionPad2d extends PadNd { constructor(padding: Padding) { super('ReflectionPad2d', padding, 2, 'reflect'); } }
export class ReflectionPad3d extends PadNd { constructor(padding: Padding) { super('ReflectionPad3d', padding, 3, 'reflect'); } }
export class ReplicationPad1d extends PadNd { constructor(padding: Padding) { super('ReplicationPad1d', padding, 1, 'replicate'); } }
export class ReplicationPad2d extends PadNd { constructor(padding: Padding) { super('ReplicationPad2d', padding, 2, 'replicate'); } }
export class ReplicationPad3d extends PadNd { constructor(padding: Padding) { super('ReplicationPad3d', padding, 3, 'replicate'); } }
