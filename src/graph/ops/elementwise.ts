// Elementwise ops, one table entry each: float64 reference, WGSL expression (so fusion can
// compose them), and gradient written in other ops. Inputs of an elementwise node already
// have the node's shape: the front end inserts broadcasts (expand) explicitly.
import { type DType, isFloat, castValue, f32Literal as f32, DTYPE_PRELUDE } from '../dtype.js';
import { IEEE_HELPERS, isNan, isInf } from '../../shaders/common.js';
import { shapeStr, sameShape } from '../ir.js';
import type { ElementwiseDef } from './types.js';

type NoAttrs = Record<string, never>;

/** An entry with the family's shape rule: every input already has the node's shape. */
function ew<A = NoAttrs>(d: Omit<ElementwiseDef<A>, 'family' | 'infer'>): ElementwiseDef<A> {
  return {
    family: 'elementwise',
    infer: (ins, attrs) => {
      if (ins.length !== d.arity || ins.some((x) => !sameShape(x.shape, ins[0].shape))) {
        throw new Error(`internal: an elementwise node takes ${d.arity} inputs of one shape, got ${ins.map((x) => shapeStr(x.shape)).join(', ')} (a Kiln bug)`);
      }
      return { shape: ins[0].shape.slice(), dtype: d.dtype ? d.dtype(ins.map((x) => x.dtype), attrs) : ins[0].dtype };
    },
    ...d,
  };
}

const SQRT_2_PI = Math.sqrt(2 / Math.PI);
const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is only 1e-7 accurate; use a series/continued fraction pair instead
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x, term = x;
    for (let n = 1; n < 60; n++) { term *= -x * x / n; sum += term / (2 * n + 1); }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
  const r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return x < 0 ? -r : r;
};
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const roundHalfEven = (x: number) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
const bool = () => 'bool' as DType;
// NaN and infinity as PyTorch gives them: WGSL implementations may assume there are none (its
// max/min drop a NaN, SwiftShader's exp(NaN) is inf), so a NaN input is passed through by hand
const keepNan = (a: string, y: string) => `select(${y}, ${a}, ${isNan(a)})`;
const eitherNan = (a: string, b: string) => `(${isNan(a)} || ${isNan(b)})`;
// an integer op has no NaN to keep
const floatOnly = (ty: string, y: string, nanSafe: string) => (ty === 'f32' ? nanSafe : y);
/** a == b (and <=, >=: true for x against itself unless NaN), a != b: NaN-correct for floats */
function compare(op: '==' | '!=' | '<=' | '>=', a: string, b: string, inTy: string): string {
  if (inTy !== 'f32') return `(${a} ${op} ${b})`;
  if (a === b) return op === '!=' ? isNan(a) : `(!${isNan(a)})`;
  // WGSL's != is an ordered comparison here: false for a NaN
  return op === '!=' ? `((${a} != ${b}) || ${eitherNan(a, b)})` : `(${a} ${op} ${b})`;
}
/** pow as C's (and PyTorch's): pow(1, NaN) = pow(-1, ±inf) = 1, where JavaScript's gives NaN */
const cpow = (a: number, b: number) => (a === 1 || (Math.abs(a) === 1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b));
// WGSL erf: no builtin, so Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7, below f32's ulp near 1)
const ERF = (x: string) => `kn_erf(${x})`;

const TABLE = {
  // ---- unary
  neg: ew({ arity: 1, ref: ([a]) => -a, wgsl: ([a]) => `(-${a})`, grad: (g) => [g.neg()] }),
  exp: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.exp(a), wgsl: ([a]) => keepNan(a, `exp(${a})`), grad: (g, _, out) => [g.mul(out)] }),
  log: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.log(a), wgsl: ([a]) => `kn_log(${a})`, grad: (g, [a]) => [g.div(a)] }),
  // log(1 + a) with no cancellation for small a (kn_log1p: a series near 0)
  log1p: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.log1p(a), wgsl: ([a]) => `kn_log1p(${a})`, grad: (g, [a]) => [g.div(a.add(1))] }),
  sqrt: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.sqrt(a), wgsl: ([a]) => `sqrt(${a})`, grad: (g, _, out) => [g.div(out.mul(2))] }),
  rsqrt: ew({ arity: 1, accepts: 'float', ref: ([a]) => 1 / Math.sqrt(a), wgsl: ([a]) => `inverseSqrt(${a})`, grad: (g, [a], out) => [g.mul(out).div(a).mul(-0.5)] }),
  abs: ew({ arity: 1, ref: ([a]) => Math.abs(a), wgsl: ([a]) => `abs(${a})`, grad: (g, [a]) => [g.mul(a.sign())] }),
  // sign(NaN) is 0 in PyTorch
  sign: ew({ arity: 1, ref: ([a]) => Math.sign(a) || 0, wgsl: ([a]) => `sign(${a})`, grad: () => [null] }),
  sin: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.sin(a), wgsl: ([a]) => `sin(${a})`, grad: (g, [a]) => [g.mul(a.cos())] }),
  cos: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.cos(a), wgsl: ([a]) => `cos(${a})`, grad: (g, [a]) => [g.mul(a.sin()).neg()] }),
  floor: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.floor(a), wgsl: ([a]) => `floor(${a})`, grad: () => [null] }),
  erf: ew({ arity: 1, accepts: 'float', ref: ([a]) => erf(a), wgsl: ([a]) => ERF(a), grad: (g, [a]) => [g.mul(a.mul(a).neg().exp().mul(2 / Math.sqrt(Math.PI)))] }),
  relu: ew({ arity: 1, ref: ([a]) => Math.max(a, 0), wgsl: ([a], _, ty) => floatOnly(ty, `max(${a}, ${ty}(0))`, keepNan(a, `max(${a}, 0.0)`)), grad: (g, _, out) => [g.mul(out.gt(0).cast(g.dtype))] }),
  leakyRelu: ew<{ negativeSlope: number }>({
    arity: 1, accepts: 'float', ref: ([a], { negativeSlope: s }) => (a > 0 ? a : a * s),
    wgsl: ([a], { negativeSlope: s }) => `select(${a} * ${f32(s)}, ${a}, ${a} > 0.0)`,
    grad: (g, [a], _, { negativeSlope: s }) => [g.mul(a.gt(0).where(1, s))],
  }),
  elu: ew<{ alpha: number }>({
    arity: 1, accepts: 'float', ref: ([a], { alpha }) => (a > 0 ? a : alpha * (Math.exp(a) - 1)),
    wgsl: ([a], { alpha }) => keepNan(a, `select(${f32(alpha)} * (exp(${a}) - 1.0), ${a}, ${a} > 0.0)`),
    grad: (g, [a], out, { alpha }) => [g.mul(a.gt(0).where(1, out.add(alpha)))],
  }),
  sigmoid: ew({ arity: 1, accepts: 'float', ref: ([a]) => sigmoid(a), wgsl: ([a]) => keepNan(a, `(1.0 / (1.0 + exp(-${a})))`), grad: (g, _, out) => [g.mul(out).mul(out.neg().add(1))] }),
  tanh: ew({
    arity: 1, accepts: 'float', ref: ([a]) => Math.tanh(a),
    // WGSL's tanh overflows to NaN for |x| > ~44 on some drivers; clamp where it is already ±1
    wgsl: ([a]) => keepNan(a, `tanh(clamp(${a}, -15.0, 15.0))`),
    grad: (g, _, out) => [g.mul(out.mul(out).neg().add(1))],
  }),
  softplus: ew<{ beta: number; threshold: number }>({
    arity: 1, accepts: 'float', ref: ([a], { beta, threshold }) => (a * beta > threshold ? a : Math.log1p(Math.exp(a * beta)) / beta),
    wgsl: ([a], { beta, threshold }) => keepNan(a, `select(log(1.0 + exp(${a} * ${f32(beta)})) / ${f32(beta)}, ${a}, ${a} * ${f32(beta)} > ${f32(threshold)})`),
    grad: (g, [a], _, { beta, threshold }) => [g.mul(a.mul(beta).gt(threshold).where(1, a.mul(beta).sigmoid()))],
  }),
  gelu: ew({
    arity: 1, accepts: 'float', ref: ([a]) => 0.5 * a * (1 + erf(a / Math.SQRT2)),
    wgsl: ([a]) => `(0.5 * ${a} * (1.0 + ${ERF(`${a} * 0.70710678118654752`)}))`,
    grad: (g, [a]) => {
      const cdf = a.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
      const pdf = a.mul(a).mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
      return [g.mul(cdf.add(a.mul(pdf)))];
    },
  }),
  geluTanh: ew({
    arity: 1, accepts: 'float', ref: ([a]) => 0.5 * a * (1 + Math.tanh(SQRT_2_PI * (a + 0.044715 * a ** 3))),
    wgsl: ([a]) => `(0.5 * ${a} * (1.0 + tanh(clamp(${f32(SQRT_2_PI)} * (${a} + 0.044715 * ${a} * ${a} * ${a}), -15.0, 15.0))))`,
    grad: (g, [a]) => {
      const inner = a.add(a.mul(a).mul(a).mul(0.044715)).mul(SQRT_2_PI);
      const t = inner.tanh();
      const dInner = a.mul(a).mul(3 * 0.044715).add(1).mul(SQRT_2_PI);
      return [g.mul(t.add(1).mul(0.5).add(a.mul(0.5).mul(t.mul(t).neg().add(1)).mul(dInner)))];
    },
  }),
  silu: ew({
    arity: 1, accepts: 'float', ref: ([a]) => a * sigmoid(a), wgsl: ([a]) => `(${a} / (1.0 + exp(-${a})))`,
    grad: (g, [a]) => { const s = a.sigmoid(); return [g.mul(s.mul(a.mul(s.neg().add(1)).add(1)))]; },
  }),
  cast: ew<{ dtype: DType }>({
    arity: 1, accepts: 'any', ref: ([a], { dtype }) => castValue(a, dtype),
    wgsl: ([a], _, ty) => (ty === 'bool' ? `(${a} != 0)` : `${ty}(${a})`),
    dtype: (_, { dtype }) => dtype,
    grad: (g, [a]) => [isFloat(a.dtype) ? g.cast(a.dtype) : null],
  }),
  copy: ew({ arity: 1, accepts: 'any', ref: ([a]) => a, wgsl: ([a]) => a, grad: (g) => [g] }),
  // tested on the bits (an all-ones exponent is an infinity or a NaN): WGSL implementations may
  // assume finite values in float comparisons, so x == x or abs(x) < inf could be folded away
  isfinite: ew({ arity: 1, accepts: 'float', ref: ([a]) => (Number.isFinite(a) ? 1 : 0), wgsl: ([a]) => `((bitcast<u32>(f32(${a})) & 0x7f800000u) != 0x7f800000u)`, dtype: bool }),
  isnan: ew({ arity: 1, accepts: 'float', ref: ([a]) => +Number.isNaN(a), wgsl: ([a]) => isNan(a), dtype: bool }),
  isinf: ew({ arity: 1, accepts: 'float', ref: ([a]) => +(Math.abs(a) === Infinity), wgsl: ([a]) => isInf(a), dtype: bool }),
  // as torch.nan_to_num: its gradient passes where the input is finite
  nanToNum: ew<{ nan: number; posinf: number; neginf: number }>({
    arity: 1, accepts: 'float',
    ref: ([a], o) => (Number.isNaN(a) ? o.nan : a === Infinity ? o.posinf : a === -Infinity ? o.neginf : a),
    wgsl: ([a], o) => `select(select(${a}, select(${f32(o.neginf)}, ${f32(o.posinf)}, ${a} > 0.0), ${isInf(a)}), ${f32(o.nan)}, ${isNan(a)})`,
    grad: (g, [a]) => [g.mul(a.isfinite().cast(g.dtype))],
  }),
  logicalNot: ew({ arity: 1, accepts: 'bool', ref: ([a]) => (a ? 0 : 1), wgsl: ([a]) => `(!${a})`, dtype: bool }),
  // ---- binary
  add: ew({ arity: 2, ref: ([a, b]) => a + b, wgsl: ([a, b]) => `(${a} + ${b})`, grad: (g) => [g, g] }),
  sub: ew({ arity: 2, ref: ([a, b]) => a - b, wgsl: ([a, b]) => `(${a} - ${b})`, grad: (g) => [g, g.neg()] }),
  // a literal zero factor is folded away by SwiftShader's compiler (x * 0.0 -> 0.0, so inf * 0 would
  // be 0): x * (x - x) is x * 0 for finite x and NaN for an infinity or a NaN
  mul: ew({ arity: 2, ref: ([a, b]) => a * b, wgsl: ([a, b]) => (b === '0.0' ? `(${a} * (${a} - ${a}))` : a === '0.0' ? `(${b} * (${b} - ${b}))` : `(${a} * ${b})`), grad: (g, [a, b]) => [g.mul(b), g.mul(a)] }),
  div: ew({ arity: 2, ref: ([a, b]) => a / b, wgsl: ([a, b]) => `(${a} / ${b})`, grad: (g, [a, b]) => [g.div(b), g.mul(a).div(b.mul(b)).neg()] }),
  pow: ew({
    arity: 2, accepts: 'float', ref: ([a, b]) => cpow(a, b),
    wgsl: ([a, b]) => `kn_pow(${a}, ${b})`,
    grad: (g, [a, b], out) => [
      g.mul(b).mul(a.pow(b.sub(1))),
      g.mul(out).mul(a.gt(0).where(a.abs().log(), 0)),
    ],
  }),
  maximum: ew({
    arity: 2, ref: ([a, b]) => Math.max(a, b), wgsl: ([a, b], _, ty) => floatOnly(ty, `max(${a}, ${b})`, `select(max(${a}, ${b}), ${a} + ${b}, ${eitherNan(a, b)})`),
    // ties split the gradient evenly, as PyTorch does
    grad: (g, [a, b]) => { const w = a.gt(b).where(1, a.eq(b).where(0.5, 0)); return [g.mul(w), g.mul(w.neg().add(1))]; },
  }),
  minimum: ew({
    arity: 2, ref: ([a, b]) => Math.min(a, b), wgsl: ([a, b], _, ty) => floatOnly(ty, `min(${a}, ${b})`, `select(min(${a}, ${b}), ${a} + ${b}, ${eitherNan(a, b)})`),
    grad: (g, [a, b]) => { const w = a.lt(b).where(1, a.eq(b).where(0.5, 0)); return [g.mul(w), g.mul(w.neg().add(1))]; },
  }),
  // x against itself is folded as if x were not NaN (x == x true, x != x false), and WGSL's != of
  // two values is false for a NaN here: compare() tests the bits, so x.ne(x) (isnan) works
  eq: ew({ arity: 2, accepts: 'any', ref: ([a, b]) => +(a === b), wgsl: ([a, b], _, __, inTy) => compare('==', a, b, inTy), dtype: bool }),
  ne: ew({ arity: 2, accepts: 'any', ref: ([a, b]) => +(a !== b), wgsl: ([a, b], _, __, inTy) => compare('!=', a, b, inTy), dtype: bool }),
  lt: ew({ arity: 2, ref: ([a, b]) => +(a < b), wgsl: ([a, b]) => `(${a} < ${b})`, dtype: bool }),
  le: ew({ arity: 2, ref: ([a, b]) => +(a <= b), wgsl: ([a, b], _, __, inTy) => compare('<=', a, b, inTy), dtype: bool }),
  gt: ew({ arity: 2, ref: ([a, b]) => +(a > b), wgsl: ([a, b]) => `(${a} > ${b})`, dtype: bool }),
  ge: ew({ arity: 2, ref: ([a, b]) => +(a >= b), wgsl: ([a, b], _, __, inTy) => compare('>=', a, b, inTy), dtype: bool }),
  logicalAnd: ew({ arity: 2, accepts: 'bool', ref: ([a, b]) => +(a && b), wgsl: ([a, b]) => `(${a} & ${b})`, dtype: bool }),
  logicalOr: ew({ arity: 2, accepts: 'bool', ref: ([a, b]) => +(a || b), wgsl: ([a, b]) => `(${a} | ${b})`, dtype: bool }),
  // ---- ternary
  where: ew({
    arity: 3, accepts: 'any', ref: ([c, a, b]) => (c ? a : b), wgsl: ([c, a, b]) => `select(${b}, ${a}, ${c})`,
    dtype: (d) => d[1],
    grad: (g, [c]) => [null, c.where(g, 0), c.where(0, g)],
  }),
  // ---- added with the PyTorch surface (issue 14)
  // halves to even, as torch.round and WGSL's round; a step function: no gradient
  round: ew({ arity: 1, accepts: 'float', ref: ([a]) => roundHalfEven(a), wgsl: ([a]) => `round(${a})`, grad: () => [null] }),
  // exp(a) - 1 without cancellation: a Taylor series below |a| = 0.1 (truncation < 3e-10
  // relative), above it exp(a) - 1 loses at most ~1.2e-6 relative
  expm1: ew({
    arity: 1, accepts: 'float', ref: ([a]) => Math.expm1(a),
    wgsl: ([a]) => `select(exp(${a}) - 1.0, ${a} * (1.0 + ${a} * (0.5 + ${a} * (${f32(1 / 6)} + ${a} * (${f32(1 / 24)} + ${a} * (${f32(1 / 120)} + ${a} * ${f32(1 / 720)}))))), abs(${a}) < 0.1)`,
    grad: (g, _, out) => [g.mul(out.add(1))],
  }),
};

/** Helper functions every elementwise kernel may call. */
export const ELEMENTWISE_PRELUDE = `${DTYPE_PRELUDE}${IEEE_HELPERS}
// log(±0) = -inf, log(x < 0) = NaN (sign bit set: every negative and -NaN), NaN stays NaN
fn kn_log(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  let r = select(log(x), kn_f32_bits(0x7fc00000u), b > 0x7f800000u);
  return select(r, kn_f32_bits(0xff800000u), (b & 0x7fffffffu) == 0u);
}
fn kn_erf(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
fn kn_log1p(a: f32) -> f32 {
  // the series below |a| = 0.05 (truncation < 1e-11 relative); above it log(1 + a) loses at
  // most 1.2e-6 relative. (Goldberg's log(u) * a / (u - 1) fails where the compiler folds u - 1.)
  let s = a * (1.0 - a * (0.5 - a * (0.33333333 - a * (0.25 - a * (0.2 - a * (0.16666667 - a * 0.14285714))))));
  return select(kn_log(1.0 + a), s, abs(a) < 0.05);
}
// C's pow, as PyTorch's. WGSL's is exp2(b * log2(a)): undefined for a < 0, and log2(0) is
// finite on SwiftShader, so zeros, infinities, signs and NaN are decided on the bits, branch-free
fn kn_pow(a: f32, b: f32) -> f32 {
  let aa = abs(a);
  let za = (bitcast<u32>(a) & 0x7fffffffu) == 0u;
  var m = select(pow(aa, b), select(kn_f32_bits(0x7f800000u), 0.0, b > 0.0), za);
  m = select(m, select(0.0, kn_f32_bits(0x7f800000u), b > 0.0), kn_isinf(a));
  // b = ±inf: 1 for |a| = 1, else inf where |a| > 1 and b > 0 or |a| < 1 and b < 0, else 0
  m = select(m, select(select(0.0, kn_f32_bits(0x7f800000u), (aa > 1.0) == (b > 0.0)), 1.0, aa == 1.0), kn_isinf(b));
  // a < 0 (or -0): negative for an odd integer b (every float from 2^24 up is even); NaN for a
  // finite non-integer b unless a is -0 or -inf
  let neg = bitcast<u32>(a) >= 0x80000000u;
  let odd = abs(b) < 16777216.0 && fract(b * 0.5) == 0.5;
  m = select(m, -m, neg && odd);
  let nonreal = neg && !za && !kn_isinf(a) && floor(b) != b && !kn_isinf(b);
  m = select(m, kn_f32_bits(0x7fc00000u), nonreal || kn_isnan(a) || kn_isnan(b));
  // pow(x, 0) = pow(1, y) = 1, even for a NaN x or y
  return select(m, 1.0, (bitcast<u32>(b) & 0x7fffffffu) == 0u || bitcast<u32>(a) == 0x3f800000u);
}
`;

export const ELEMENTWISE = TABLE;
export type ElementwiseOp = keyof typeof TABLE;
