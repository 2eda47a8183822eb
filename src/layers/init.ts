// nn.init: PyTorch's initialisers. Values are drawn on the host from the generator that
// kn.manualSeed seeds, then written into the tensor in place (an assign), so optimizers and
// compiled programs that hold the tensor see them.
import { Tensor, tensor, assign } from '../graph/tensor.js';
import { noGrad } from '../graph/state.js';
import { isFloat } from '../graph/dtype.js';
import { shapeStr } from '../graph/ir.js';
import { normalArray, uniformArray } from './random.js';

type Mode = 'fan_in' | 'fan_out';
type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
const LINEAR = ['linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d', 'sigmoid'];

function checkOpts(fn: string, opts: object, allowed: string[]): void {
  if (typeof opts !== 'object' || opts === null) throw new Error(`${fn}: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  for (const k of Object.keys(opts)) if (!allowed.includes(k)) throw new Error(`${fn}: unknown option '${k}'; expected one of ${allowed.join(', ')}`);
}
function checkFinite(fn: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${fn}: ${what} must be a finite number, got ${v}`);
  return v;
}
function checkTensor(fn: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${fn}: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
  if (!isFloat(t.dtype)) throw new Error(`${fn}: expected a floating-point tensor, got dtype ${t.dtype}`);
  return t;
}
/** Writes host values into t in place and returns t. */
function fill(t: Tensor, values: ArrayLike<number>): Tensor {
  noGrad(() => assign(t, tensor(Float32Array.from(values), t.shape).cast(t.dtype)));
  return t;
}

/** PyTorch's fan_in and fan_out: dims 1 and 0 times the receptive field (dims 2...). */
function fans(fn: string, t: Tensor): [number, number] {
  if (t.ndim < 2) throw new Error(`${fn}: fan in and fan out need a tensor with at least 2 dims, got shape ${shapeStr(t.shape)}`);
  const field = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * field, t.shape[0] * field];
}

/** The recommended gain for a nonlinearity (PyTorch's calculate_gain); param is leaky_relu's slope. */
export function calculateGain(nonlinearity: Nonlinearity, { param }: { param?: number } = {}): number {
  if (LINEAR.includes(nonlinearity)) return 1;
  if (nonlinearity === 'tanh') return 5 / 3;
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'selu') return 3 / 4;
  if (nonlinearity === 'leaky_relu') {
    const slope = param === undefined ? 0.01 : checkFinite('calculateGain', 'param (the negative slope)', param);
    return Math.sqrt(2 / (1 + slope * slope));
  }
  throw new Error(`calculateGain: unknown nonlinearity '${nonlinearity}'; expected one of ${[...LINEAR, 'tanh', 'relu', 'leaky_relu', 'selu'].join(', ')}`);
}

export function uniform_(t: Tensor, opts: { a?: number; b?: number } = {}): Tensor {
  checkTensor('uniform_', t); checkOpts('uniform_', opts, ['a', 'b']);
  const a = checkFinite('uniform_', 'a', opts.a ?? 0), b = checkFinite('uniform_', 'b', opts.b ?? 1);
  if (!(a <= b)) throw new Error(`uniform_: a must not exceed b, got a = ${a}, b = ${b}`);
  return fill(t, uniformArray(t.numel(), a, b));
}
export function normal_(t: Tensor, opts: { mean?: number; std?: number } = {}): Tensor {
  checkTensor('normal_', t); checkOpts('normal_', opts, ['mean', 'std']);
  const mean = checkFinite('normal_', 'mean', opts.mean ?? 0), std = checkFinite('normal_', 'std', opts.std ?? 1);
  if (std < 0) throw new Error(`normal_: std must be >= 0, got ${std}`);
  return fill(t, normalArray(t.numel(), mean, std));
}
export function constant_(t: Tensor, val: number): Tensor {
  checkTensor('constant_', t);
  if (typeof val !== 'number' || Number.isNaN(val)) throw new Error(`constant_: val must be a number, got ${val}`);
  return fill(t, new Float32Array(t.numel()).fill(val));
}
export const zeros_ = (t: Tensor): Tensor => constant_(checkTensor('zeros_', t), 0);
export const ones_ = (t: Tensor): Tensor => constant_(checkTensor('ones_', t), 1);

/** U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010). */
export function xavierUniform_(t: Tensor, opts: { gain?: number } = {}): Tensor {
  checkTensor('xavierUniform_', t); checkOpts('xavierUniform_', opts, ['gain']);
  const [fi, fo] = fans('xavierUniform_', t);
  const a = checkFinite('xavierUniform_', 'gain', opts.gain ?? 1) * Math.sqrt(6 / (fi + fo));
  return fill(t, uniformArray(t.numel(), -a, a));
}
/** N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, opts: { gain?: number } = {}): Tensor {
  checkTensor('xavierNormal_', t); checkOpts('xavierNormal_', opts, ['gain']);
  const [fi, fo] = fans('xavierNormal_', t);
  return fill(t, normalArray(t.numel(), 0, checkFinite('xavierNormal_', 'gain', opts.gain ?? 1) * Math.sqrt(2 / (fi + fo))));
}

interface KaimingOptions { a?: number; mode?: Mode; nonlinearity?: Nonlinearity }
/** std = gain / sqrt(fan) with gain = calculateGain(nonlinearity, a) (He et al., 2015). */
function kaimingStd(fn: string, t: Tensor, opts: KaimingOptions): number {
  checkTensor(fn, t); checkOpts(fn, opts, ['a', 'mode', 'nonlinearity']);
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = opts;
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new Error(`${fn}: mode must be 'fan_in' or 'fan_out', got '${mode}'`);
  const [fi, fo] = fans(fn, t);
  return calculateGain(nonlinearity, { param: checkFinite(fn, 'a', a) }) / Math.sqrt(mode === 'fan_in' ? fi : fo);
}
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts);
  return fill(t, uniformArray(t.numel(), -bound, bound));
}
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return fill(t, normalArray(t.numel(), 0, kaimingStd('kaimingNormal_', t, opts)));
}

/** N(mean, std^2) restricted to [a, b], by rejection (each value redrawn until it lands inside). */
export function truncNormal_(t: Tensor, opts: { mean?: number; std?: number; a?: number; b?: number } = {}): Tensor {
  checkTensor('truncNormal_', t); checkOpts('truncNormal_', opts, ['mean', 'std', 'a', 'b']);
  const [mean, std, a, b] = (['mean', 'std', 'a', 'b'] as const).map((k, i) => checkFinite('truncNormal_', k, opts[k] ?? [0, 1, -2, 2][i]));
  if (!(std > 0) || !(a < b)) throw new Error(`truncNormal_: expected std > 0 and a < b, got std = ${std}, a = ${a}, b = ${b}`);
  const out = new Float32Array(t.numel());
  for (let i = 0; i < out.length; i++) {
    for (let tries = 0; ; tries++) {
      if (tries === 10000) throw new Error(`truncNormal_: [${a}, ${b}] holds too little of N(${mean}, ${std}^2) to sample by rejection`);
      const v = normalArray(1, mean, std)[0];
      if (v >= a && v <= b) { out[i] = v; break; }
    }
  }
  return fill(t, out);
}

/**
 * A (semi-)orthogonal matrix, as PyTorch's orthogonal_: Q of the QR factorisation of a normal
 * matrix [rows, numel / rows] (transposed when wide), with R's diagonal made positive.
 */
export function orthogonal_(t: Tensor, opts: { gain?: number } = {}): Tensor {
  checkTensor('orthogonal_', t); checkOpts('orthogonal_', opts, ['gain']);
  if (t.ndim < 2) throw new Error(`orthogonal_: expected a tensor with at least 2 dims, got shape ${shapeStr(t.shape)}`);
  const gain = checkFinite('orthogonal_', 'gain', opts.gain ?? 1);
  const rows = t.shape[0], cols = t.numel() / rows;
  const [m, n] = rows < cols ? [cols, rows] : [rows, cols]; // factor the tall [m, n] matrix
  const q = Float64Array.from(normalArray(m * n)); // column j of q is q[i * n + j]
  // modified Gram-Schmidt: the same Q as Householder QR with R's diagonal made positive
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let d = 0;
      for (let i = 0; i < m; i++) d += q[i * n + k] * q[i * n + j];
      for (let i = 0; i < m; i++) q[i * n + j] -= d * q[i * n + k];
    }
    let s = 0;
    for (let i = 0; i < m; i++) s += q[i * n + j] ** 2;
    s = Math.sqrt(s);
    for (let i = 0; i < m; i++) q[i * n + j] /= s;
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (rows < cols ? q[c * n + r] : q[r * n + c]);
  return fill(t, out);
}
