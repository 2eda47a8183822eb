// The device random-number generator, as PyTorch's Philox one is: a counter-based generator
// (threefry.ts) whose state, [key, draw], lives in an int32 device buffer. Each draw reads the
// state and advances `draw` by an assign, so a compiled function draws fresh numbers on every
// call, and eager and compiled code give the same sequence under kn.manualSeed.
import { Tensor, make, assign, tensor } from './tensor.js';
import { noGrad } from './state.js';
import type { DType } from './dtype.js';
import { broadcastShapes, shapeStr } from './ir.js';
import type { RandDist } from './threefry.js';
import { sizeArgs, options, checkInt, checkFinite, describe } from './args.js';

/** PyTorch's default seed (torch.initial_seed() of a fresh process), so unseeded runs repeat. */
const DEFAULT_SEED = 67280421310721;

let key = keyOf(DEFAULT_SEED);
let state: Tensor | null = null;

/** A 32-bit key from a seed (both halves of a 53-bit integer count). */
function keyOf(seed: number): number {
  const mix = (h: number) => {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  };
  return mix((seed >>> 0) ^ mix(Math.floor(seed / 2 ** 32) >>> 0)) | 0;
}

/**
 * Restarts the device generator from `seed`. The state is rewritten in place, not replaced:
 * compiled programs keep reading and advancing the buffer they were traced with.
 */
export function seedDevice(seed: number): void {
  key = keyOf(seed);
  if (state && !state.isDisposed) noGrad(() => assign(state!, tensor([key, 0], [2], { dtype: 'int32' })));
}

/** One draw of `shape` numbers from the generator; advances it. */
export function draw(shape: number[], dist: RandDist, low = 0, high = 0): Tensor {
  if (!state || state.isDisposed) state = tensor([key, 0], [2], { dtype: 'int32' });
  const r = make('rand', [state], { shape: shape.slice(), dist, low, high });
  noGrad(() => assign(state!, state!.add(make('arange', [], { n: 2 }))));
  return r;
}

/** Uniform numbers in [0, 1) of `shape` (dropout masks, augmentation decisions). */
export const uniform = (shape: number[]): Tensor => draw(shape, 'uniform');

type FloatOpts = { dtype?: DType; requiresGrad?: boolean };
const FLOAT_OPTS = ['dtype', 'requiresGrad'] as const;

function finish(fn: string, t: Tensor, opts: FloatOpts | undefined): Tensor {
  options(fn, opts, FLOAT_OPTS);
  const dtype = opts?.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') throw new Error(`${fn}: dtype must be 'float32' or 'float16', got ${describe(dtype)}`);
  const out = dtype === 'float32' ? t : t.cast(dtype);
  return opts?.requiresGrad ? out.requiresGrad_(true) : out;
}

/** Uniform numbers in [0, 1): `rand(2, 3)` or `rand([2, 3], {dtype, requiresGrad})`. */
export function rand(...args: (number | number[] | FloatOpts)[]): Tensor {
  const { shape, opts } = sizeArgs<FloatOpts>('rand', args);
  return finish('rand', draw(shape, 'uniform'), opts);
}

/** Standard normal numbers: `randn(2, 3)` or `randn([2, 3], {dtype, requiresGrad})`. */
export function randn(...args: (number | number[] | FloatOpts)[]): Tensor {
  const { shape, opts } = sizeArgs<FloatOpts>('randn', args);
  return finish('randn', draw(shape, 'normal'), opts);
}

type IntOpts = { dtype?: DType };
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/** Integers in [low, high), as torch.randint: `randint(high, size)` or `randint(low, high, size, {dtype})`. */
export function randint(...args: (number | number[] | IntOpts)[]): Tensor {
  const opts = typeof args[args.length - 1] === 'object' && !Array.isArray(args[args.length - 1]) ? args.pop() as IntOpts : undefined;
  if (args.length !== 2 && args.length !== 3) throw new Error(`randint: expected (high, size) or (low, high, size), got ${plural(args.length, 'argument')}`);
  const size = args.pop();
  const [low, high] = args.length === 2 ? args : [0, args[0]];
  return ints('randint', low, high, sizeArgs('randint', [size]).shape, opts);
}

function ints(fn: string, low: unknown, high: unknown, shape: number[], opts: IntOpts | undefined): Tensor {
  options(fn, opts, ['dtype']);
  const lo = checkInt(fn, 'low', low), hi = checkInt(fn, 'high', high);
  if (lo < INT32_MIN || hi > INT32_MAX + 1 || hi <= lo) {
    throw new Error(`${fn}: expected low < high within int32 range, got low=${lo}, high=${hi}`);
  }
  const t = draw(shape, 'int', lo, hi);
  return opts?.dtype && opts.dtype !== 'int32' ? t.cast(opts.dtype) : t;
}

const like = (fn: string, x: unknown): Tensor => {
  if (!(x instanceof Tensor)) throw new Error(`${fn}: input must be a Tensor, got ${describe(x)}`);
  return x;
};

/** rand with x's shape (and its floating dtype unless given). */
export function randLike(x: Tensor, opts?: FloatOpts): Tensor {
  const t = like('randLike', x);
  return finish('randLike', draw(t.shape, 'uniform'), { dtype: t.dtype === 'float16' ? 'float16' : 'float32', ...opts });
}

/** randn with x's shape (and its floating dtype unless given). */
export function randnLike(x: Tensor, opts?: FloatOpts): Tensor {
  const t = like('randnLike', x);
  return finish('randnLike', draw(t.shape, 'normal'), { dtype: t.dtype === 'float16' ? 'float16' : 'float32', ...opts });
}

/** randint with x's shape: `randintLike(x, high)` or `randintLike(x, low, high, {dtype})`. */
export function randintLike(x: Tensor, ...args: (number | IntOpts)[]): Tensor {
  const t = like('randintLike', x);
  const opts = typeof args[args.length - 1] === 'object' ? args.pop() as IntOpts : undefined;
  if (args.length !== 1 && args.length !== 2) throw new Error(`randintLike: expected (x, high) or (x, low, high), got ${plural(args.length + 1, 'argument')}`);
  const [low, high] = args.length === 2 ? args : [0, args[0]];
  return ints('randintLike', low, high, t.shape, { dtype: t.dtype, ...opts });
}

/**
 * Normal numbers with the given mean and standard deviation, as torch.normal: tensors
 * broadcast together, or two numbers and a size.
 */
export function normal(mean: Tensor | number, std: Tensor | number, size?: number[]): Tensor {
  const isT = (v: unknown) => v instanceof Tensor;
  for (const [name, v] of [['mean', mean], ['std', std]] as const) {
    if (!isT(v)) checkFinite('normal', name, v);
  }
  if (typeof std === 'number' && std < 0) throw new Error(`normal: std must be non-negative, got ${std}`);
  let shape: number[];
  if (isT(mean) || isT(std)) {
    if (size !== undefined) throw new Error('normal: size is only for a number mean and std; the shape comes from the tensors');
    const shapes = [mean, std].filter(isT).map((t) => (t as Tensor).shape);
    const b = shapes.length === 2 ? broadcastShapes(shapes[0], shapes[1]) : shapes[0];
    if (!b) throw new Error(`normal: mean ${shapeStr(shapes[0])} and std ${shapeStr(shapes[1])} do not broadcast`);
    shape = b;
  } else {
    if (size === undefined) throw new Error('normal: with a number mean and std, give a size: normal(0, 1, [2, 3])');
    shape = sizeArgs('normal', [size]).shape;
  }
  const z = draw(shape, 'normal');
  return z.mul(std).add(mean);
}

/** 0 or 1 with probability `input` (elementwise), in input's dtype, as torch.bernoulli. */
export function bernoulli(input: Tensor, opts?: { p?: number }): Tensor {
  const x = like('bernoulli', input);
  options('bernoulli', opts, ['p']);
  const p = opts?.p === undefined ? x : checkFinite('bernoulli', 'p', opts.p);
  if (typeof p === 'number' && (p < 0 || p > 1)) throw new Error(`bernoulli: p must be in [0, 1], got ${p}`);
  const dtype = x.dtype === 'float16' ? 'float16' : 'float32';
  return draw(x.shape, 'uniform').lt(p).cast(x.dtype === 'int32' || x.dtype === 'bool' ? x.dtype : dtype);
}

/**
 * A random permutation of 0..n-1 (int32), as torch.randperm: the ranks of n random keys.
 * Ranking compares every pair, so it costs n^2 comparisons (fused into one reduction).
 */
export function randperm(n: number, opts?: IntOpts): Tensor {
  checkInt('randperm', 'n', n, 0);
  options('randperm', opts, ['dtype']);
  const rank = ranks(draw([n], 'int', INT32_MIN, INT32_MAX + 1), 'ascending');
  return opts?.dtype && opts.dtype !== 'int32' ? rank.cast(opts.dtype) : rank;
}

/**
 * The rank of each element along the last dim (0 for the smallest, or the largest when
 * descending), ties broken by position: a permutation of 0..n-1 in each row.
 */
function ranks(keys: Tensor, order: 'ascending' | 'descending'): Tensor {
  const n = keys.shape[keys.ndim - 1];
  const mine = keys.unsqueeze(-1), other = keys.unsqueeze(-2);
  const pos = make('arange', [], { n });
  const before = pos.unsqueeze(0).lt(pos.unsqueeze(1));
  const ahead = order === 'ascending' ? other.lt(mine) : other.gt(mine);
  return ahead.logicalOr(other.eq(mine).logicalAnd(before)).cast('int32').sum(-1);
}

/**
 * Indices drawn from the rows of `input` (weights, not necessarily normalized), as
 * torch.multinomial. Gumbel-max per sample with replacement; without replacement the
 * top `numSamples` of one Gumbel-perturbed row (Plackett-Luce, which is PyTorch's
 * distribution), found by ranking (C^2 comparisons per row).
 */
export function multinomial(input: Tensor, numSamples: number, opts?: { replacement?: boolean }): Tensor {
  const x = like('multinomial', input);
  options('multinomial', opts, ['replacement']);
  if (x.ndim !== 1 && x.ndim !== 2) throw new Error(`multinomial: input must be 1-D or 2-D, got shape [${x.shape}]`);
  const C = x.shape[x.ndim - 1];
  checkInt('multinomial', 'numSamples', numSamples, 1);
  const replacement = opts?.replacement ?? false;
  if (!replacement && numSamples > C) throw new Error(`multinomial: cannot draw ${numSamples} samples without replacement from ${C} categories`);
  const rows = x.ndim === 1 ? x.unsqueeze(0) : x;
  const N = rows.shape[0];
  // log 0 is kept out of the comparison: a category of weight 0 is never drawn
  const logp = rows.gt(0).where(rows.cast('float32').log(), -3.4e38);
  const gumbel = (shape: number[]) => draw(shape, 'uniform').log().neg().log().neg();
  let out: Tensor;
  if (replacement || numSamples === 1) {
    out = logp.unsqueeze(1).add(gumbel([N, numSamples, C])).argmax(-1);
  } else {
    const rank = ranks(logp.add(gumbel([N, C])), 'descending');
    const slots = make('arange', [], { n: numSamples });
    const hit = rank.unsqueeze(1).eq(slots.unsqueeze(1)); // [N, S, C]
    out = hit.where(make('arange', [], { n: C }), 0).sum(-1);
  }
  out = out.cast('int32');
  return x.ndim === 1 ? out.reshape(numSamples) : out;
}
