// Elementwise ops, one table entry each: float64 reference, WGSL expression (so fusion can
// compose them), and gradient written in other ops. Inputs of an elementwise node already
// have the node's shape: the front end inserts broadcasts (expand) explicitly.
import { type DType, isFloat, castValue, f32Literal as f32, DTYPE_PRELUDE } from '../dtype.js';
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
// WGSL erf: no builtin, so Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7, below f32's ulp near 1)
const ERF = (x: string) => `kn_erf(${x})`;

const TABLE = {
  // ---- unary
  neg: ew({ arity: 1, ref: ([a]) => -a, wgsl: ([a]) => `(-${a})`, grad: (g) => [g.neg()] }),
  exp: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.exp(a), wgsl: ([a]) => `exp(${a})`, grad: (g, _, out) => [g.mul(out)] }),
  log: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.log(a), wgsl: ([a]) => `log(${a})`, grad: (g, [a]) => [g.div(a)] }),
  // log(1 + a) with no cancellation for small a (kn_log1p: a series near 0)
  log1p: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.log1p(a), wgsl: ([a]) => `kn_log1p(${a})`, grad: (g, [a]) => [g.div(a.add(1))] }),
  sqrt: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.sqrt(a), wgsl: ([a]) => `sqrt(${a})`, grad: (g, _, out) => [g.div(out.mul(2))] }),
  rsqrt: ew({ arity: 1, accepts: 'float', ref: ([a]) => 1 / Math.sqrt(a), wgsl: ([a]) => `inverseSqrt(${a})`, grad: (g, [a], out) => [g.mul(out).div(a).mul(-0.5)] }),
  abs: ew({ arity: 1, ref: ([a]) => Math.abs(a), wgsl: ([a]) => `abs(${a})`, grad: (g, [a]) => [g.mul(a.sign())] }),
  sign: ew({ arity: 1, ref: ([a]) => Math.sign(a), wgsl: ([a]) => `sign(${a})`, grad: () => [null] }),
  sin: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.sin(a), wgsl: ([a]) => `sin(${a})`, grad: (g, [a]) => [g.mul(a.cos())] }),
  cos: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.cos(a), wgsl: ([a]) => `cos(${a})`, grad: (g, [a]) => [g.mul(a.sin()).neg()] }),
  floor: ew({ arity: 1, accepts: 'float', ref: ([a]) => Math.floor(a), wgsl: ([a]) => `floor(${a})`, grad: () => [null] }),
  erf: ew({ arity: 1, accepts: 'float', ref: ([a]) => erf(a), wgsl: ([a]) => ERF(a), grad: (g, [a]) => [g.mul(a.mul(a).neg().exp().mul(2 / Math.sqrt(Math.PI)))] }),
  relu: ew({ arity: 1, ref: ([a]) => Math.max(a, 0), wgsl: ([a], _, ty) => `max(${a}, ${ty}(0))`, grad: (g, _, out) => [g.mul(out.gt(0).cast(g.dtype))] }),
  leakyRelu: ew<{ negativeSlope: number }>({
    arity: 1, accepts: 'float', ref: ([a], { negativeSlope: s }) => (a > 0 ? a : a * s),
    wgsl: ([a], { negativeSlope: s }) => `select(${a} * ${f32(s)}, ${a}, ${a} > 0.0)`,
    grad: (g, [a], _, { negativeSlope: s }) => [g.mul(a.gt(0).where(1, s))],
  }),
  elu: ew<{ alpha: number }>({
    arity: 1, accepts: 'float', ref: ([a], { alpha }) => (a > 0 ? a : alpha * (Math.exp(a) - 1)),
    wgsl: ([a], { alpha }) => `select(${f32(alpha)} * (exp(${a}) - 1.0), ${a}, ${a} > 0.0)`,
    grad: (g, [a], out, { alpha }) => [g.mul(a.gt(0).where(1, out.add(alpha)))],
  }),
  sigmoid: ew({ arity: 1, accepts: 'float', ref: ([a]) => sigmoid(a), wgsl: ([a]) => `(1.0 / (1.0 + exp(-${a})))`, grad: (g, _, out) => [g.mul(out).mul(out.neg().add(1))] }),
  tanh: ew({
    arity: 1, accepts: 'float', ref: ([a]) => Math.tanh(a),
    // WGSL's tanh overflows to NaN for |x| > ~44 on some drivers; clamp where it is already ±1
    wgsl: ([a]) => `tanh(clamp(${a}, -15.0, 15.0))`,
    grad: (g, _, out) => [g.mul(out.mul(out).neg().add(1))],
  }),
  softplus: ew<{ beta: number; threshold: number }>({
    arity: 1, accepts: 'float', ref: ([a], { beta, threshold }) => (a * beta > threshold ? a : Math.log1p(Math.exp(a * beta)) / beta),
    wgsl: ([a], { beta, threshold }) => `select(log(1.0 + exp(${a} * ${f32(beta)})) / ${f32(beta)}, ${a}, ${a} * ${f32(beta)} > ${f32(threshold)})`,
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
  logicalNot: ew({ arity: 1, accepts: 'bool', ref: ([a]) => (a ? 0 : 1), wgsl: ([a]) => `(!${a})`, dtype: bool }),
  // ---- binary
  add: ew({ arity: 2, ref: ([a, b]) => a + b, wgsl: ([a, b]) => `(${a} + ${b})`, grad: (g) => [g, g] }),
  sub: ew({ arity: 2, ref: ([a, b]) => a - b, wgsl: ([a, b]) => `(${a} - ${b})`, grad: (g) => [g, g.neg()] }),
  mul: ew({ arity: 2, ref: ([a, b]) => a * b, wgsl: ([a, b]) => `(${a} * ${b})`, grad: (g, [a, b]) => [g.mul(b), g.mul(a)] }),
  div: ew({ arity: 2, ref: ([a, b]) => a / b, wgsl: ([a, b]) => `(${a} / ${b})`, grad: (g, [a, b]) => [g.div(b), g.mul(a).div(b.mul(b)).neg()] }),
  pow: ew({
    arity: 2, accepts: 'float', ref: ([a, b]) => Math.pow(a, b),
    // WGSL pow is undefined for a < 0; PyTorch gives real results for integral exponents
    wgsl: ([a, b]) => `kn_pow(${a}, ${b})`,
    grad: (g, [a, b], out) => [
      g.mul(b).mul(a.pow(b.sub(1))),
      g.mul(out).mul(a.gt(0).where(a.abs().log(), 0)),
    ],
  }),
  maximum: ew({
    arity: 2, ref: ([a, b]) => Math.max(a, b), wgsl: ([a, b]) => `max(${a}, ${b})`,
    // ties split the gradient evenly, as PyTorch does
    grad: (g, [a, b]) => { const w = a.gt(b).where(1, a.eq(b).where(0.5, 0)); return [g.mul(w), g.mul(w.neg().add(1))]; },
  }),
  minimum: ew({
    arity: 2, ref: ([a, b]) => Math.min(a, b), wgsl: ([a, b]) => `min(${a}, ${b})`,
    grad: (g, [a, b]) => { const w = a.lt(b).where(1, a.eq(b).where(0.5, 0)); return [g.mul(w), g.mul(w.neg().add(1))]; },
  }),
  eq: ew({ arity: 2, accepts: 'any', ref: ([a, b]) => +(a === b), wgsl: ([a, b]) => `(${a} == ${b})`, dtype: bool }),
  ne: ew({ arity: 2, accepts: 'any', ref: ([a, b]) => +(a !== b), wgsl: ([a, b]) => `(${a} != ${b})`, dtype: bool }),
  lt: ew({ arity: 2, ref: ([a, b]) => +(a < b), wgsl: ([a, b]) => `(${a} < ${b})`, dtype: bool }),
  le: ew({ arity: 2, ref: ([a, b]) => +(a <= b), wgsl: ([a, b]) => `(${a} <= ${b})`, dtype: bool }),
  gt: ew({ arity: 2, ref: ([a, b]) => +(a > b), wgsl: ([a, b]) => `(${a} > ${b})`, dtype: bool }),
  ge: ew({ arity: 2, ref: ([a, b]) => +(a >= b), wgsl: ([a, b]) => `(${a} >= ${b})`, dtype: bool }),
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
export const ELEMENTWISE_PRELUDE = `${DTYPE_PRELUDE}
fn kn_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn kn_erf(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
fn kn_log1p(a: f32) -> f32 {
  // the series below |a| = 0.05 (truncation < 1e-11 relative); above it log(1 + a) loses at
  // most 1.2e-6 relative. (Goldberg's log(u) * a / (u - 1) fails where the compiler folds u - 1.)
  let s = a * (1.0 - a * (0.5 - a * (0.33333333 - a * (0.25 - a * (0.2 - a * (0.16666667 - a * 0.14285714))))));
  return select(log(1.0 + a), s, abs(a) < 0.05);
}
fn kn_pow(a: f32, b: f32) -> f32 {
  if (a >= 0.0) { return pow(a, b); }
  if (b != floor(b)) { return (a - a) / (a - a); } // NaN, as PyTorch gives
  let m = pow(-a, b);
  return select(m, -m, (i32(b) & 1) == 1);
}
`;

export const ELEMENTWISE = TABLE;
export type ElementwiseOp = keyof typeof TABLE;
