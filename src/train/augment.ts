// Data augmentation on the GPU, torchvision-like, for batches [N, C, H, W]: every sample gets
// its own random decision, drawn on the device from the generator (graph/random.ts), so the
// transforms are plain graph ops: no read-back, fused into the kernels that read them, and
// replayed by kn.compile with fresh draws on every call. kn.manualSeed restarts the stream.
//
// Crops and flips are index views: each output element reads one input element through
// `gather`s whose int32 indices are computed from the per-sample random offsets; padding is
// not materialised (constant padding is a mask, the other modes remap the index). Gradients
// flow through them (gather's rule), though augmentation rarely needs them.
import { Tensor, arange } from '../graph/tensor.js';
import { shapeStr } from '../graph/ir.js';
import { uniform } from '../graph/random.js';

/** A batch transform, as the ones `compose` chains. */
export type Transform = (x: Tensor) => Tensor;

export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';
export interface RandomCropOptions {
  /** one number for every side, [left/right, top/bottom], or [left, top, right, bottom] (torchvision's order) */
  padding?: number | number[];
  /** pad further (both sides of a dim) when the input is smaller than the crop, as torchvision's pad_if_needed */
  padIfNeeded?: boolean;
  /** the value of constant padding */
  fill?: number;
  /** 'constant' (fill), 'edge' (repeat the border), 'reflect' (mirror without the border), 'symmetric' (with it) */
  paddingMode?: PaddingMode;
}

const MODES: PaddingMode[] = ['constant', 'edge', 'reflect', 'symmetric'];

function fail(op: string, msg: string): never { throw new Error(`${op}: ${msg}`); }

function checkBatch(op: string, x: unknown, floatOnly = false): asserts x is Tensor {
  if (!(x instanceof Tensor)) fail(op, `expected a Tensor batch [N, C, H, W], got ${typeof x}`);
  if (x.ndim !== 4) fail(op, `expected a batch [N, C, H, W] (4 dims), got shape ${shapeStr(x.shape)}`);
  if (x.numel() === 0) fail(op, `expected a non-empty batch, got shape ${shapeStr(x.shape)}`);
  if (floatOnly ? x.dtype !== 'float32' : x.dtype !== 'float32' && x.dtype !== 'int32') {
    fail(op, `expected a ${floatOnly ? 'float32' : 'float32 or int32'} tensor, got dtype ${x.dtype}`);
  }
}

function checkP(op: string, p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail(op, `p must be a probability in [0, 1], got ${p}`);
}

const isCount = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** [h, w] from a size given as one number or two. */
function cropSize(size: number | number[]): [number, number] {
  const s = typeof size === 'number' ? [size, size] : Array.isArray(size) && size.length === 1 ? [size[0], size[0]] : size;
  if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => isCount(v, 1))) {
    fail('randomCrop', `size must be a positive integer or [height, width] of positive integers, got ${JSON.stringify(size)}`);
  }
  return [s[0], s[1]];
}

/** [left, top, right, bottom] from torchvision's three ways of giving padding. */
function paddings(padding: number | number[]): [number, number, number, number] {
  const p = typeof padding === 'number' ? [padding, padding, padding, padding]
    : !Array.isArray(padding) ? null
    : padding.length === 1 ? [padding[0], padding[0], padding[0], padding[0]]
    : padding.length === 2 ? [padding[0], padding[1], padding[0], padding[1]]
    : padding.length === 4 ? padding.slice() : null;
  if (!p || !p.every((v) => isCount(v, 0))) {
    fail('randomCrop', `padding must be a non-negative integer, [left/right, top/bottom] or [left, top, right, bottom], got ${JSON.stringify(padding)}`);
  }
  return p as [number, number, number, number];
}

interface CropPlan { h: number; w: number; pad: [number, number, number, number]; mode: PaddingMode; fill: number; padIfNeeded: boolean }

function cropPlan(size: number | number[], opts: RandomCropOptions): CropPlan {
  if (opts === null || typeof opts !== 'object') fail('randomCrop', `options must be an object, got ${opts}`);
  const { padding = 0, padIfNeeded = false, fill = 0, paddingMode = 'constant' } = opts;
  const [h, w] = cropSize(size);
  const pad = paddings(padding);
  if (!MODES.includes(paddingMode)) fail('randomCrop', `paddingMode must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got '${paddingMode}'`);
  if (typeof fill !== 'number' || !Number.isFinite(fill)) fail('randomCrop', `fill must be a finite number, got ${fill}`);
  return { h, w, pad, mode: paddingMode, fill, padIfNeeded: !!padIfNeeded };
}

/**
 * Source coordinates of crop positions `pos` (int32, any shape) along a dim of length `len`
 * padded by `before`: remapped into [0, len) for edge/reflect/symmetric, clamped for
 * constant (with `inside` saying which positions read the image rather than the fill).
 */
function sourceCoords(pos: Tensor, len: number, mode: PaddingMode): { at: Tensor; inside: Tensor | null } {
  switch (mode) {
    case 'constant': return { at: pos.clamp(0, len - 1), inside: pos.ge(0).logicalAnd(pos.lt(len)) };
    case 'edge': return { at: pos.clamp(0, len - 1), inside: null };
    // one mirror suffices: reflect padding is < len and symmetric padding <= len (checked)
    case 'reflect': return { at: pos.lt(0).where(pos.neg(), pos.ge(len).where(pos.neg().add(2 * len - 2), pos)), inside: null };
    case 'symmetric': return { at: pos.lt(0).where(pos.neg().sub(1), pos.ge(len).where(pos.neg().add(2 * len - 1), pos)), inside: null };
  }
}

/** An int32 offset in [0, range] per sample from a uniform draw u in [0, 1) of shape [N, 1]. */
function offsets(u: Tensor, range: number): Tensor {
  // u is a multiple of 2^-24 below 1, but u * (range + 1) can round up to range + 1 in float32
  return u.mul(range + 1).floor().minimum(range).cast('int32');
}

function applyCrop(x: Tensor, plan: CropPlan): Tensor {
  const [N, C, H, W] = x.shape;
  let [left, top, right, bottom] = plan.pad;
  const { h, w, mode } = plan;
  const name = 'randomCrop';
  if (mode === 'reflect' && (Math.max(top, bottom) >= H || Math.max(left, right) >= W)) {
    fail(name, `reflect padding must be smaller than the input's dims: padding [left ${left}, top ${top}, right ${right}, bottom ${bottom}] for an input of height ${H} and width ${W} (shape ${shapeStr(x.shape)})`);
  }
  if (mode === 'symmetric' && (Math.max(top, bottom) > H || Math.max(left, right) > W)) {
    fail(name, `symmetric padding must not exceed the input's dims: padding [left ${left}, top ${top}, right ${right}, bottom ${bottom}] for an input of height ${H} and width ${W} (shape ${shapeStr(x.shape)})`);
  }
  let Hp = H + top + bottom, Wp = W + left + right;
  if (plan.padIfNeeded) {
    // torchvision pads the *unpadded* size difference on both sides: (h - H') each
    if (Hp < h) { const d = h - Hp; top += d; bottom += d; Hp += 2 * d; }
    if (Wp < w) { const d = w - Wp; left += d; right += d; Wp += 2 * d; }
    if (mode === 'reflect' && (Math.max(top, bottom) >= H || Math.max(left, right) >= W)) {
      fail(name, `padIfNeeded would need reflect padding [left ${left}, top ${top}] of at least the input's size (height ${H}, width ${W}); use paddingMode 'constant' or 'edge'`);
    }
    if (mode === 'symmetric' && (Math.max(top, bottom) > H || Math.max(left, right) > W)) {
      fail(name, `padIfNeeded would need symmetric padding [left ${left}, top ${top}] larger than the input (height ${H}, width ${W}); use paddingMode 'constant' or 'edge'`);
    }
  }
  if (h > Hp || w > Wp) {
    fail(name, `crop size [${h}, ${w}] is larger than the padded input [${Hp}, ${Wp}] (input shape ${shapeStr(x.shape)}, padding [left ${left}, top ${top}, right ${right}, bottom ${bottom}]); pad more or pass padIfNeeded: true`);
  }
  if (x.dtype === 'int32' && mode === 'constant' && !Number.isInteger(plan.fill)) {
    fail(name, `fill must be an integer for an int32 input, got ${plan.fill}`);
  }
  const rangeY = Hp - h, rangeX = Wp - w;
  if (rangeY === 0 && rangeX === 0 && top === 0 && left === 0 && h === H && w === W) return x; // nothing to choose, nothing to pad
  // one uniform pair per sample: top-left corner (y, x) of the window in the padded image
  const u = uniform([N, 2]);
  const oy = offsets(u.narrow(1, 0, 1), rangeY), ox = offsets(u.narrow(1, 1, 1), rangeX); // [N, 1]
  const rows = sourceCoords(oy.add(arange(h).reshape(1, h)).sub(top), H, mode); // [N, h]
  const cols = sourceCoords(ox.add(arange(w).reshape(1, w)).sub(left), W, mode); // [N, w]
  // two gathers: rows, then columns (one fused kernel; their gradients stay small, where one
  // gather over flattened planes would differentiate through an [N, C, h*w, H*W] mask)
  const byRow = x.gather(2, rows.at.reshape(N, 1, h, 1).expand(N, C, h, W));
  const out = byRow.gather(3, cols.at.reshape(N, 1, 1, w).expand(N, C, h, w));
  if (!rows.inside || !cols.inside) return out;
  const inside = rows.inside.reshape(N, 1, h, 1).logicalAnd(cols.inside.reshape(N, 1, 1, w));
  return inside.where(out, plan.fill);
}

/**
 * Crops a random [size] window out of every sample of a batch [N, C, H, W], each sample at its
 * own uniformly drawn offset (torchvision's RandomCrop, applied per sample): with padding
 * (left, top, right, bottom) the top-left corner is uniform over [0, H + top + bottom - h] x
 * [0, W + left + right - w]. `randomCrop(x, 32, {padding: 4})` is the CIFAR recipe.
 */
export function randomCrop(x: Tensor, size: number | number[], opts: RandomCropOptions = {}): Tensor {
  const plan = cropPlan(size, opts);
  checkBatch('randomCrop', x);
  return applyCrop(x, plan);
}

function applyFlip(x: Tensor, p: number, axis: 2 | 3): Tensor {
  const [N, C, H, W] = x.shape;
  const L = x.shape[axis];
  if (p === 0 || L === 1) return x;
  const ar = arange(L);
  const rev = ar.neg().add(L - 1);
  let idx: Tensor; // [N, L], or [1, L] when every sample flips
  if (p === 1) idx = rev.reshape(1, L);
  else {
    // one draw per sample: flipped when u < p (u a multiple of 2^-24 in [0, 1))
    const flip = uniform([N]).lt(p).reshape(N, 1);
    idx = flip.where(rev.reshape(1, L), ar.reshape(1, L));
  }
  const n = idx.shape[0];
  const shape = axis === 3 ? [n, 1, 1, L] : [n, 1, L, 1];
  return x.gather(axis, idx.reshape(...shape).expand(N, C, H, W));
}

/** Flips each sample of a batch [N, C, H, W] left-right with probability p, independently. */
export function randomHorizontalFlip(x: Tensor, p = 0.5): Tensor {
  checkP('randomHorizontalFlip', p);
  checkBatch('randomHorizontalFlip', x);
  return applyFlip(x, p, 3);
}

/** Flips each sample of a batch [N, C, H, W] upside down with probability p, independently. */
export function randomVerticalFlip(x: Tensor, p = 0.5): Tensor {
  checkP('randomVerticalFlip', p);
  checkBatch('randomVerticalFlip', x);
  return applyFlip(x, p, 2);
}

function channelValues(op: string, name: string, v: number | number[]): number[] {
  const a = typeof v === 'number' ? [v] : Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<number>) : null;
  if (!a || a.length === 0 || a.some((e) => typeof e !== 'number' || !Number.isFinite(e))) {
    fail(op, `${name} must be a finite number or a non-empty list of finite numbers (one per channel), got ${JSON.stringify(v)}`);
  }
  return a;
}

function normalizePlan(mean: number | number[], std: number | number[]): { mean: number[]; std: number[] } {
  const m = channelValues('normalize', 'mean', mean), s = channelValues('normalize', 'std', std);
  const zero = s.findIndex((e) => Math.fround(e) === 0);
  if (zero >= 0) fail('normalize', `std must not be 0 (channel ${zero} of [${s}] would divide by zero)`);
  return { mean: m, std: s };
}

function applyNormalize(x: Tensor, { mean, std }: { mean: number[]; std: number[] }): Tensor {
  const C = x.shape[x.ndim - 3];
  for (const [name, v] of [['mean', mean], ['std', std]] as const) {
    if (v.length !== 1 && v.length !== C) fail('normalize', `${name} has ${v.length} values but the input has ${C} channels (shape ${shapeStr(x.shape)}); give one value per channel, or one for all`);
  }
  // per-channel constants as a [C, 1, 1] select over the channel index: no upload, so the
  // transform can be built before kn.init and costs nothing to trace
  const perChannel = (v: number[]): Tensor | number => {
    if (v.every((e) => e === v[0])) return v[0];
    const c = arange(C).reshape(C, 1, 1);
    let t: Tensor = c.eq(0).where(v[0], v[1]);
    for (let i = 2; i < C; i++) t = c.eq(i).where(v[i], t);
    return t;
  };
  return x.sub(perChannel(mean)).div(perChannel(std));
}

/** (x - mean[c]) / std[c] per channel, as torchvision's Normalize, for [N, C, H, W] or [C, H, W]. */
export function normalize(x: Tensor, mean: number | number[], std: number | number[]): Tensor {
  const plan = normalizePlan(mean, std);
  if (!(x instanceof Tensor)) fail('normalize', `expected a Tensor [N, C, H, W] or [C, H, W], got ${typeof x}`);
  if (x.ndim !== 4 && x.ndim !== 3) fail('normalize', `expected a batch [N, C, H, W] or an image [C, H, W] (4 or 3 dims), got shape ${shapeStr(x.shape)}`);
  if (x.dtype !== 'float32') fail('normalize', `expected a float32 tensor, got dtype ${x.dtype}; cast it first (x.float())`);
  return applyNormalize(x, plan);
}

// ---------------------------------------------------------------- transforms and pipelines
// Factories in torchvision's names: each checks its options now and returns a Transform.

/** torchvision.transforms.RandomCrop, per sample: `RandomCrop(32, {padding: 4})`. */
export function RandomCrop(size: number | number[], opts: RandomCropOptions = {}): Transform {
  const plan = cropPlan(size, opts);
  return (x) => { checkBatch('randomCrop', x); return applyCrop(x, plan); };
}

/** torchvision.transforms.RandomHorizontalFlip, per sample. */
export function RandomHorizontalFlip(p = 0.5): Transform {
  checkP('randomHorizontalFlip', p);
  return (x) => randomHorizontalFlip(x, p);
}

/** torchvision.transforms.RandomVerticalFlip, per sample. */
export function RandomVerticalFlip(p = 0.5): Transform {
  checkP('randomVerticalFlip', p);
  return (x) => randomVerticalFlip(x, p);
}

/** torchvision.transforms.Normalize. */
export function Normalize(mean: number | number[], std: number | number[]): Transform {
  const plan = normalizePlan(mean, std);
  return (x) => normalize(x, plan.mean, plan.std);
}

/**
 * Chains transforms left to right into one: `compose(RandomCrop(32, {padding: 4}),
 * RandomHorizontalFlip(), Normalize(mean, std))`, or `compose([...])` as torchvision's Compose.
 * The result is a plain `(x) => Tensor`, so it can be called inside kn.compile.
 */
export function compose(...transforms: (Transform | Transform[])[]): Transform & { transforms: Transform[] } {
  const list = transforms.length === 1 && Array.isArray(transforms[0]) ? transforms[0] : (transforms as Transform[]);
  list.forEach((t, i) => { if (typeof t !== 'function') fail('compose', `transform ${i} is not a function (x: Tensor) => Tensor, got ${t === null ? 'null' : typeof t}`); });
  const ts = list.slice();
  const f = (x: Tensor) => ts.reduce((y, t, i) => {
    const r = t(y);
    if (!(r instanceof Tensor)) fail('compose', `transform ${i} returned ${r === null ? 'null' : typeof r}, not a Tensor`);
    return r;
  }, x);
  return Object.assign(f, { transforms: ts });
}
