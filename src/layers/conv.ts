// Convolutions and pooling over sliding windows. A `window` view turns x [N, C, H, W] into
// [N, C, KH, KW, OH, OW] by index arithmetic alone; a convolution is a matmul of the weights
// with those windows (an implicit GEMM: the matmul reads the windows through a load function,
// no im2col buffer), pooling is a reduction over them. Gradients come from the ops' rules.
import { Tensor, tensor, windows as windowsOf } from '../graph/tensor.js';
import { customGradient, gradients } from '../graph/autodiff.js';
import { scopeSuffix } from '../graph/state.js';
import { autocastInputs } from '../graph/autocast.js';
import { isFloat } from '../graph/dtype.js';
import { shapeStr } from '../graph/ir.js';
import { Module, Parameter } from './module.js';
import { uniformArray } from './random.js';
import { pyBool, pyTuple } from './repr.js';

/** PyTorch's _ConvNd.extra_repr: the settings that differ from the defaults. */
function convRepr(m: { inChannels: number; outChannels: number; weight: Tensor; bias: Tensor | null; stride: Pair; padding: Padding; dilation: Pair; groups: number; outputPadding?: Pair }): string {
  const k = m.weight.ndim - 2;
  const tup = (v: Pair) => pyTuple(v, k);
  const zero = (v: Pair) => (Array.isArray(v) ? v : [v]).every((x) => x === 0);
  const one = (v: Pair) => (Array.isArray(v) ? v : [v]).every((x) => x === 1);
  let s = `${m.inChannels}, ${m.outChannels}, kernel_size=${tup(m.weight.shape.slice(2) as Pair)}, stride=${tup(m.stride)}`;
  if (typeof m.padding === 'string') s += `, padding=${m.padding}`;
  else if (!zero(m.padding)) s += `, padding=${tup(m.padding)}`;
  if (!one(m.dilation)) s += `, dilation=${tup(m.dilation)}`;
  if (m.outputPadding !== undefined && !zero(m.outputPadding)) s += `, output_padding=${tup(m.outputPadding)}`;
  if (m.groups !== 1) s += `, groups=${m.groups}`;
  return m.bias ? s : `${s}, bias=${pyBool(false)}`;
}

type Pair = number | [number, number];
export type Padding = Pair | 'same' | 'valid';

function fail(fn: string, msg: string): never { throw new Error(`${fn}: ${msg}${scopeSuffix()}`); }
function pair(fn: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = Array.isArray(v) ? [v[0], v[1]] : [v, v];
  if ((Array.isArray(v) && v.length !== 2) || p.some((x) => !Number.isInteger(x) || x < min)) fail(fn, `${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  return p;
}

interface Geometry { k: [number, number]; s: [number, number]; d: [number, number]; pad: [number, number, number, number]; oh: number; ow: number }

/** Output size and padding (top, bottom, left, right) of a sliding window, checked. */
function geometry(fn: string, H: number, W: number, k: [number, number], s: [number, number], d: [number, number], padding: Padding, ceilMode = false): Geometry {
  let pad: [number, number, number, number];
  if (padding === 'valid') pad = [0, 0, 0, 0];
  else if (padding === 'same') {
    if (s[0] !== 1 || s[1] !== 1) fail(fn, `padding='same' needs stride 1, got stride [${s}]`);
    const th = d[0] * (k[0] - 1), tw = d[1] * (k[1] - 1);
    pad = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    const p = pair(fn, 'padding', padding, 0);
    pad = [p[0], p[0], p[1], p[1]];
  }
  const extent = (n: number, kk: number, dd: number, a: number, b: number, ss: number) => {
    const span = n + a + b - dd * (kk - 1) - 1;
    if (span < 0) fail(fn, `the kernel (size ${kk}, dilation ${dd}, so ${dd * (kk - 1) + 1} wide) is larger than the padded input (${n} + ${a + b})`);
    let o = (ceilMode ? Math.ceil(span / ss) : Math.floor(span / ss)) + 1;
    if (ceilMode && (o - 1) * ss >= n + a) o--; // the last window must start inside the input or its left padding
    return o;
  };
  return { k, s, d, pad, oh: extent(H, k[0], d[0], pad[0], pad[1], s[0]), ow: extent(W, k[1], d[1], pad[2], pad[3], s[1]) };
}

/** [N, C, KH, KW, OH, OW]: the sliding windows of x, padValue outside it. */
function windows(x: Tensor, g: Geometry, padValue = 0): Tensor {
  const [N, C, H, W] = x.shape;
  const [kh, kw] = g.k;
  if (g.s[0] === kh && g.s[1] === kw && g.d[0] === 1 && g.d[1] === 1 && g.pad.every((p) => p === 0) && g.oh * kh <= H && g.ow * kw <= W) {
    // windows that tile the input (2x2 pooling, patches): a reshape and permute, no index arithmetic,
    // and their gradient is a view too instead of a reduction over overlapping windows
    const tiled = x.slice([0, 0, 0, 0], [N, C, g.oh * kh, g.ow * kw]).reshape(N, C, g.oh, kh, g.ow, kw);
    return tiled.permute(0, 1, 3, 5, 2, 4);
  }
  const attrs = { kh: g.k[0], kw: g.k[1], sh: g.s[0], sw: g.s[1], dh: g.d[0], dw: g.d[1], pt: g.pad[0], pl: g.pad[2], padValue };
  return windowsOf(x, { ...attrs, oh: g.oh, ow: g.ow });
}

function check4d(fn: string, x: Tensor): Tensor {
  if (!isFloat(x.dtype)) fail(fn, `expected a float32 input, got ${x.dtype} (float16 is accepted too)`);
  if (x.ndim === 3) return x.unsqueeze(0);
  if (x.ndim !== 4) fail(fn, `expected input of shape [N, C, H, W] (or [C, H, W]), got ${shapeStr(x.shape)}`);
  return x;
}

export interface ConvOptions { bias?: Tensor | null; stride?: Pair; padding?: Padding; dilation?: Pair; groups?: number }

/** Checks a convolution's operands against each other, with the shapes as the user passed them. */
function checkConv(fn: string, input: Tensor, weight: Tensor, bias: Tensor | null, groups: number, dims: 1 | 2): void {
  const spatial = dims === 2 ? 'H, W' : 'L';
  if (!isFloat(input.dtype)) fail(fn, `expected a float32 input, got ${input.dtype} (float16 is accepted too)`);
  if (input.ndim !== dims + 2 && input.ndim !== dims + 1) fail(fn, `expected input of shape [N, C, ${spatial}] (or [C, ${spatial}]), got ${shapeStr(input.shape)}`);
  if (weight.ndim !== dims + 2) fail(fn, `expected weight of shape [outChannels, inChannels/groups, ${dims === 2 ? 'KH, KW' : 'K'}], got ${shapeStr(weight.shape)}`);
  if (!Number.isInteger(groups) || groups < 1) fail(fn, `groups must be a positive integer, got ${groups}`);
  const C = input.shape[input.ndim - dims - 1], [OC, Cg] = weight.shape;
  if (C % groups !== 0) fail(fn, `input channels (${C}) must be divisible by groups (${groups})`);
  if (OC % groups !== 0) fail(fn, `output channels (${OC}) must be divisible by groups (${groups})`);
  if (C / groups !== Cg) fail(fn, `input ${shapeStr(input.shape)} has ${C} channels, but the weight ${shapeStr(weight.shape)} expects ${Cg * groups} (${Cg} per group x ${groups} groups)`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== OC)) fail(fn, `expected bias of shape [${OC}], got ${shapeStr(bias.shape)}`);
}

export function conv2d(input: Tensor, weight: Tensor, opts: ConvOptions = {}, fn = 'conv2d'): Tensor {
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = opts;
  let bias = opts.bias ?? null;
  [input, weight, bias] = autocastInputs('lowerPrecision', [input, weight, bias]);
  if (fn !== 'conv1d' && fn !== 'Conv1d') checkConv(fn, input, weight, bias, groups, 2);
  const x = check4d(fn, input);
  const [, , H, W] = x.shape, [, , KH, KW] = weight.shape;
  const g = geometry(fn, H, W, [KH, KW], pair(fn, 'stride', stride, 1), pair(fn, 'dilation', dilation, 1), padding);
  const out = convolve(x, weight, bias, g, groups);
  return input.ndim === 3 ? out.squeeze(0) : out;
}

/**
 * y[n, g, o, p] = sum_k w[g, o, k] * cols[n, g, k, p] + b: a batched matmul over (n, group)
 * whose right operand is the windows of x, read in place (an implicit GEMM).
 * Its gradients are two more implicit GEMMs (customGradient): the weight gradient contracts
 * over batch and pixels at once, and the input gradient is a convolution of the output
 * gradient with the flipped, transposed weights, instead of scattering a cols-sized gradient.
 */
function convolve(x: Tensor, weight: Tensor, bias: Tensor | null, g: Geometry, groups: number): Tensor {
  const [N] = x.shape, [OC, Cg, KH, KW] = weight.shape;
  const OCg = OC / groups, K = Cg * KH * KW, P = g.oh * g.ow;
  const win = windows(x, g);
  const cols = win.reshape(N, groups, K, P);
  let out = weight.reshape(groups, OCg, K).matmul(cols).reshape(N, OC, g.oh, g.ow);
  if (bias) out = out.add(bias.reshape(1, OC, 1, 1));
  return customGradient(out, bias ? [x, weight, bias] : [x, weight], (gy) => {
    // weight: [groups, OCg, N*P] @ [groups, N*P, K]
    const gyT = gy.reshape(N, groups, OCg, P).permute(1, 2, 0, 3).reshape(groups, OCg, N * P);
    // fresh window views: a view node with two readers would be copied out (an im2col buffer)
    const colsT = windows(x, g).reshape(N, groups, K, P).permute(1, 0, 3, 2).reshape(groups, N * P, K);
    const gw = weight.requiresGrad ? gyT.matmul(colsT).reshape(OC, Cg, KH, KW) : null;
    const gb = bias?.requiresGrad ? gy.sum([0, 2, 3]) : null;
    return [x.requiresGrad ? inputGrad(gy, x, win, weight, g, groups) : null, gw, ...(bias ? [gb] : [])];
  });
}

/** Gradient of a convolution's input (`win`: its windows, built in the forward pass): the transposed convolution of gy, as a convolution. */
function inputGrad(gy: Tensor, x: Tensor, win: Tensor, weight: Tensor, g: Geometry, groups: number): Tensor {
  const [N, , H, W] = x.shape, [OC, Cg, KH, KW] = weight.shape;
  const OCg = OC / groups;
  const [pt, , pl] = g.pad;
  const th = g.d[0] * (KH - 1), tw = g.d[1] * (KW - 1);
  // the flipped kernel's padding: before, d*(K-1) - p; after, what brings the output to H
  const pad: [number, number, number, number] = [th - pt, H + pt - (g.oh - 1) * g.s[0] - 1, tw - pl, W + pl - (g.ow - 1) * g.s[1] - 1];
  if (g.s[0] !== 1 || g.s[1] !== 1 || pad.some((p) => p < 0)) {
    // strided, or padded wider than the kernel: send the cols gradient back through the windows' adjoint
    const gcols = weight.reshape(groups, OCg, Cg * KH * KW).transpose(1, 2).matmul(gy.reshape(N, groups, OCg, g.oh * g.ow));
    return gradients(win.node, [x.node], gcols.reshape(win.shape), true)[0]!;
  }
  const gt: Geometry = { k: [KH, KW], s: [1, 1], d: g.d, pad, oh: H, ow: W };
  return convolve(gy, flipTranspose(weight, groups), null, gt, groups);
}

/** w [groups*A, B, KH, KW] -> w' [groups*B, A, KH, KW] with w'[g*B + b, a, KH-1-i, KW-1-j] = w[g*A + a, b, i, j]. */
function flipTranspose(w: Tensor, groups: number): Tensor {
  const [GA, B, KH, KW] = w.shape, A = GA / groups;
  const flip = tensor(Int32Array.from({ length: KH * KW }, (_, i) => KH * KW - 1 - i), [KH * KW], { dtype: 'int32' });
  return w.reshape(groups, A, B, KH * KW).permute(0, 2, 1, 3).indexSelect(3, flip).reshape(groups * B, A, KH, KW);
}

export interface ConvTransposeOptions { bias?: Tensor | null; stride?: Pair; padding?: Pair; outputPadding?: Pair; dilation?: Pair; groups?: number }

/**
 * The adjoint of conv2d (PyTorch's conv_transpose2d): weight [inChannels, outChannels/groups, KH, KW].
 * Computed as a stride-1 convolution of x spread out by the stride (zeros between, a view)
 * with the flipped, transposed weights, so it runs on the same implicit-GEMM kernels.
 */
export function convTranspose2d(input: Tensor, weight: Tensor, opts: ConvTransposeOptions = {}, fn = 'convTranspose2d'): Tensor {
  const { stride = 1, padding = 0, outputPadding = 0, dilation = 1, groups = 1 } = opts;
  let bias = opts.bias ?? null;
  [input, weight, bias] = autocastInputs('lowerPrecision', [input, weight, bias]);
  if (!isFloat(input.dtype)) fail(fn, `expected a float32 input, got ${input.dtype} (float16 is accepted too)`);
  if (input.ndim !== 4 && input.ndim !== 3) fail(fn, `expected input of shape [N, C, H, W] (or [C, H, W]), got ${shapeStr(input.shape)}`);
  if (weight.ndim !== 4) fail(fn, `expected weight of shape [inChannels, outChannels/groups, KH, KW], got ${shapeStr(weight.shape)}`);
  if (!Number.isInteger(groups) || groups < 1) fail(fn, `groups must be a positive integer, got ${groups}`);
  const x = input.ndim === 3 ? input.unsqueeze(0) : input;
  const [, C, H, W] = x.shape, [Cw, OCg, KH, KW] = weight.shape;
  if (C % groups !== 0) fail(fn, `input channels (${C}) must be divisible by groups (${groups})`);
  if (C !== Cw) fail(fn, `input ${shapeStr(input.shape)} has ${C} channels, but the weight ${shapeStr(weight.shape)} expects ${Cw}`);
  const OC = OCg * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== OC)) fail(fn, `expected bias of shape [${OC}], got ${shapeStr(bias.shape)}`);
  const s = pair(fn, 'stride', stride, 1), d = pair(fn, 'dilation', dilation, 1), p = pair(fn, 'padding', padding, 0), op = pair(fn, 'outputPadding', outputPadding, 0);
  for (let i = 0; i < 2; i++) {
    if (op[i] >= s[i] && op[i] >= d[i]) fail(fn, `outputPadding [${op}] must be smaller than stride [${s}] or dilation [${d}]`);
  }
  const th = d[0] * (KH - 1), tw = d[1] * (KW - 1);
  const OH = (H - 1) * s[0] - 2 * p[0] + th + op[0] + 1, OW = (W - 1) * s[1] - 2 * p[1] + tw + op[1] + 1;
  if (OH < 1 || OW < 1) fail(fn, `the output would be empty: ${OH}x${OW} (input ${H}x${W}, padding [${p}])`);
  // spread: x[n, c, h, w] lands at [h*sh, w*sw] of a ((H-1)*sh+1) x ((W-1)*sw+1) grid of zeros
  const spread = (t: Tensor, ax: number, st: number) => {
    if (st === 1) return t;
    const sh = t.shape.slice(); const n = sh[ax];
    const before = sh.map(() => 0), after = sh.map(() => 0); after.push(0); before.push(0);
    after[ax + 1] = st - 1;
    const wide = t.unsqueeze(ax + 1).pad(before, after);
    const flatShape = sh.slice(); flatShape[ax] = n * st;
    const ends = flatShape.slice(); ends[ax] = (n - 1) * st + 1;
    return wide.reshape(...flatShape).slice(flatShape.map(() => 0), ends);
  };
  const xs = spread(spread(x, 2, s[0]), 3, s[1]);
  // the flipped kernel's padding is d*(K-1) - p; where p is wider than that, the output is cropped instead
  const want = [th - p[0], th - p[0] + op[0], tw - p[1], tw - p[1] + op[1]];
  const pad = want.map((v) => Math.max(v, 0)) as [number, number, number, number];
  const [ct, cb, cl, cr] = want.map((v) => Math.max(-v, 0));
  const g: Geometry = { k: [KH, KW], s: [1, 1], d, pad, oh: OH + ct + cb, ow: OW + cl + cr };
  let out = convolve(xs, flipTranspose(weight, groups), bias, g, groups);
  if (ct || cb || cl || cr) out = out.slice([0, 0, ct, cl], [out.shape[0], OC, ct + OH, cl + OW]);
  return input.ndim === 3 ? out.squeeze(0) : out;
}

type Conv1dOptions = Omit<ConvOptions, 'stride' | 'dilation' | 'padding'> & { stride?: number; dilation?: number; padding?: number | 'same' | 'valid' };

export function conv1d(input: Tensor, weight: Tensor, opts: Conv1dOptions = {}, fn = 'conv1d'): Tensor {
  checkConv(fn, input, weight, opts.bias ?? null, opts.groups ?? 1, 1);
  const x = input.unsqueeze(-2), w = weight.unsqueeze(-2);
  const { stride = 1, dilation = 1, padding = 0 } = opts;
  for (const [name, v, min] of [['stride', stride, 1], ['dilation', dilation, 1]] as const) {
    if (!Number.isInteger(v) || v < min) fail(fn, `${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  if (typeof padding !== 'string' && !(Number.isInteger(padding) && padding >= 0)) fail(fn, `padding must be an integer >= 0, 'same' or 'valid', got ${JSON.stringify(padding)}`);
  const pad: Padding = typeof padding === 'string' ? padding : [0, padding];
  return conv2d(x, w, { ...opts, stride: [1, stride], dilation: [1, dilation], padding: pad }, fn).squeeze(-2);
}

export interface PoolOptions { stride?: Pair | null; padding?: Pair; dilation?: Pair; ceilMode?: boolean }

export function maxPool2d(input: Tensor, kernelSize: Pair, opts: PoolOptions = {}): Tensor {
  const x = check4d('maxPool2d', input);
  const k = pair('maxPool2d', 'kernelSize', kernelSize, 1);
  const p = pair('maxPool2d', 'padding', opts.padding ?? 0, 0);
  if (p[0] > k[0] / 2 || p[1] > k[1] / 2) fail('maxPool2d', `padding [${p}] must be at most half the kernel size [${k}]`);
  const [N, C, H, W] = x.shape;
  const g = geometry('maxPool2d', H, W, k, pair('maxPool2d', 'stride', opts.stride ?? k, 1), pair('maxPool2d', 'dilation', opts.dilation ?? 1, 1), p, opts.ceilMode);
  const win = windows(x, g, -Infinity).reshape(N, C, k[0] * k[1], g.oh, g.ow);
  // max(dim) sends the gradient to the one element its index names, as PyTorch's pooling
  const [out] = win.max(2);
  return input.ndim === 3 ? out.squeeze(0) : out;
}

export function avgPool2d(input: Tensor, kernelSize: Pair, opts: Omit<PoolOptions, 'dilation'> & { countIncludePad?: boolean; divisorOverride?: number } = {}): Tensor {
  const x = check4d('avgPool2d', input);
  const k = pair('avgPool2d', 'kernelSize', kernelSize, 1);
  const p = pair('avgPool2d', 'padding', opts.padding ?? 0, 0);
  if (p[0] > k[0] / 2 || p[1] > k[1] / 2) fail('avgPool2d', `padding [${p}] must be at most half the kernel size [${k}]`);
  const [, , H, W] = x.shape;
  const g = geometry('avgPool2d', H, W, k, pair('avgPool2d', 'stride', opts.stride ?? k, 1), [1, 1], p, opts.ceilMode);
  const sum = windows(x, g).sum([2, 3]);
  let out: Tensor;
  const div = opts.divisorOverride;
  if (div !== undefined && div !== null && !(Number.isFinite(div) && div !== 0)) fail('avgPool2d', `divisorOverride must be a nonzero number, got ${div}`);
  if (div) out = sum.div(div);
  else if ((opts.countIncludePad ?? true) && !opts.ceilMode) out = sum.div(k[0] * k[1]);
  else {
    // PyTorch's divisor: window positions inside the padded input (countIncludePad) or the input
    const inc = opts.countIncludePad ?? true;
    const ones = tensor(new Float32Array((H + (inc ? p[0] * 2 : 0)) * (W + (inc ? p[1] * 2 : 0))).fill(1), [1, 1, H + (inc ? p[0] * 2 : 0), W + (inc ? p[1] * 2 : 0)]);
    const gc: Geometry = inc ? { ...g, pad: [0, 0, 0, 0] } : g;
    out = sum.div(windows(ones, gc).sum([2, 3]));
  }
  return input.ndim === 3 ? out.squeeze(0) : out;
}

/** Averaging matrix of PyTorch's adaptive pooling: bin i covers [floor(i*n/o), ceil((i+1)*n/o)). */
function adaptiveMatrix(n: number, o: number): Tensor {
  const m = new Float32Array(o * n);
  for (let i = 0; i < o; i++) {
    const a = Math.floor((i * n) / o), b = Math.ceil(((i + 1) * n) / o);
    for (let j = a; j < b; j++) m[i * n + j] = 1 / (b - a);
  }
  return tensor(m, [o, n]);
}

export function adaptiveAvgPool2d(input: Tensor, outputSize: Pair): Tensor {
  const x = check4d('adaptiveAvgPool2d', input);
  const [, , H, W] = x.shape;
  const [OH, OW] = pair('adaptiveAvgPool2d', 'outputSize', outputSize, 1);
  // separable: rows then columns, two small matmuls with the averaging matrices
  const out = adaptiveMatrix(H, OH).matmul(x.matmul(adaptiveMatrix(W, OW).t()));
  return input.ndim === 3 ? out.squeeze(0) : out;
}

// ------------------------------------------------------------------ modules

function kaiming(fanIn: number, n: number): Float32Array {
  // kaiming_uniform_(a=sqrt(5)) as PyTorch's conv layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  const bound = 1 / Math.sqrt(fanIn);
  return uniformArray(n, -bound, bound);
}

function checkChannels(layer: string, inChannels: number, outChannels: number, groups: number): void {
  if (!Number.isInteger(inChannels) || inChannels < 1 || !Number.isInteger(outChannels) || outChannels < 1) throw new Error(`${layer}: inChannels and outChannels must be positive integers, got ${inChannels} and ${outChannels}`);
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${layer}: groups must be a positive integer, got ${groups}`);
  if (inChannels % groups || outChannels % groups) throw new Error(`${layer}: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${groups})`);
}

export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride!: Pair; readonly padding!: Padding; readonly dilation!: Pair; readonly groups!: number;
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair,
    { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true }: { stride?: Pair; padding?: Padding; dilation?: Pair; groups?: number; bias?: boolean } = {}) {
    super();
    checkChannels('Conv2d', inChannels, outChannels, groups);
    const [kh, kw] = pair('Conv2d', 'kernelSize', kernelSize, 1);
    const fanIn = (inChannels / groups) * kh * kw;
    this.weight = new Parameter(tensor(kaiming(fanIn, outChannels * fanIn), [outChannels, inChannels / groups, kh, kw]));
    this.bias = bias ? new Parameter(tensor(kaiming(fanIn, outChannels), [outChannels])) : null;
    Object.assign(this, { stride, padding, dilation, groups });
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, { bias: this.bias, stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups }, 'Conv2d');
  }
  override extraRepr(): string { return convRepr(this); }
}

export class Conv1d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride!: number; readonly padding!: number | 'same' | 'valid'; readonly dilation!: number; readonly groups!: number;
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number,
    { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true }: { stride?: number; padding?: number | 'same' | 'valid'; dilation?: number; groups?: number; bias?: boolean } = {}) {
    super();
    checkChannels('Conv1d', inChannels, outChannels, groups);
    if (!Number.isInteger(kernelSize) || kernelSize < 1) throw new Error(`Conv1d: kernelSize must be an integer >= 1, got ${JSON.stringify(kernelSize)}`);
    const fanIn = (inChannels / groups) * kernelSize;
    this.weight = new Parameter(tensor(kaiming(fanIn, outChannels * fanIn), [outChannels, inChannels / groups, kernelSize]));
    this.bias = bias ? new Parameter(tensor(kaiming(fanIn, outChannels), [outChannels])) : null;
    Object.assign(this, { stride, padding, dilation, groups });
  }
  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, { bias: this.bias, stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups }, 'Conv1d');
  }
  override extraRepr(): string { return convRepr(this); }
}

export class ConvTranspose2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride!: Pair; readonly padding!: Pair; readonly outputPadding!: Pair; readonly dilation!: Pair; readonly groups!: number;
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair,
    { stride = 1, padding = 0, outputPadding = 0, dilation = 1, groups = 1, bias = true }: { stride?: Pair; padding?: Pair; outputPadding?: Pair; dilation?: Pair; groups?: number; bias?: boolean } = {}) {
    super();
    checkChannels('ConvTranspose2d', inChannels, outChannels, groups);
    const [kh, kw] = pair('ConvTranspose2d', 'kernelSize', kernelSize, 1);
    // PyTorch's fan-in for a transposed conv's init is computed from weight.shape[1] * kernel
    const fanIn = (outChannels / groups) * kh * kw;
    this.weight = new Parameter(tensor(kaiming(fanIn, inChannels * fanIn), [inChannels, outChannels / groups, kh, kw]));
    this.bias = bias ? new Parameter(tensor(kaiming(fanIn, outChannels), [outChannels])) : null;
    Object.assign(this, { stride, padding, outputPadding, dilation, groups });
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, { bias: this.bias, stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups }, 'ConvTranspose2d');
  }
  override extraRepr(): string { return convRepr(this); }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly opts: PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return maxPool2d(x, this.kernelSize, this.opts); }
  override extraRepr(): string {
    const { stride, padding = 0, dilation = 1, ceilMode = false } = this.opts;
    return `kernel_size=${this.kernelSize}, stride=${stride ?? this.kernelSize}, padding=${padding}, dilation=${dilation}, ceil_mode=${pyBool(ceilMode)}`;
  }
}
export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly opts: Omit<PoolOptions, 'dilation'> & { countIncludePad?: boolean; divisorOverride?: number } = {}) { super(); }
  forward(x: Tensor): Tensor { return avgPool2d(x, this.kernelSize, this.opts); }
  override extraRepr(): string { return `kernel_size=${this.kernelSize}, stride=${this.opts.stride ?? this.kernelSize}, padding=${this.opts.padding ?? 0}`; }
}
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) { super(); }
  forward(x: Tensor): Tensor { return adaptiveAvgPool2d(x, this.outputSize); }
  override extraRepr(): string { return `output_size=${Array.isArray(this.outputSize) ? pyTuple(this.outputSize) : this.outputSize}`; }
}
