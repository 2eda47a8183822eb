// Source ops (values made from nothing or from a seed) and assign (an in-place write). A
// source's value is computed inline wherever it is read.
import { type Node, numel, shapeStr, sameShape } from '../ir.js';
import { type DType, castValue, literal } from '../dtype.js';
import { type SourceDef, type AssignDef, tensorClass } from './types.js';
import { threefry2x32, bitsToNumber, type RandDist } from '../threefry.js';

export interface SourceAttrs {
  /** a realized leaf: its values come from the caller (an upload, a compiled function's input) */
  buffer: { shape: number[]; dtype: DType };
  const: { value: number; shape: number[]; dtype: DType };
  /**
   * `value` everywhere, made from operands that hold no elements (a sum over an empty dim, a
   * matmul whose inner dim is 0): they stay inputs, so gradients reach what made them (zeros,
   * as PyTorch's), but no kernel reads them
   */
  fill: { value: number; shape: number[]; dtype: DType };
  /** 0, 1, ..., n - 1 as int32 */
  arange: { n: number };
  /**
   * random numbers (threefry.ts) of one draw: element i is a function of (key, i, draw); input 0
   * is the generator's int32 state [key, draw]; `low`/`high` bound the 'int' dist
   */
  rand: { shape: number[]; dist: RandDist; low: number; high: number };
}
export interface AssignAttrs { assign: Record<string, never> }

type Def<K extends keyof SourceAttrs> = SourceDef<SourceAttrs[K]>;

const buffer: Def<'buffer'> = {
  family: 'source',
  infer: (_, a) => ({ shape: a.shape.slice(), dtype: a.dtype }),
  ref: (n) => { throw new Error(`reference: buffer node ${n.id} (shape ${shapeStr(n.shape)}) has no value in leafValues`); },
  inline: (_, n) => { throw new Error(`internal: buffer node ${n.id} has no storage (a Kiln bug)`); },
};

const constant: Def<'const'> = {
  family: 'source',
  infer: (_, a) => ({ shape: a.shape.slice(), dtype: a.dtype }),
  // a float32 constant holds the float32 value nearest attrs.value (0.1 is not 0.1)
  ref: (n) => new Float64Array(numel(n.shape)).fill(castValue(n.attrs.value, n.dtype)),
  inline: (_, n) => literal(n.attrs.value, n.dtype),
};

const fill: Def<'fill'> = {
  family: 'source',
  infer: (ins, a) => {
    const full = ins.find((n) => numel(n.shape) > 0);
    if (full) throw new Error(`fill: its operands must hold no elements, got ${shapeStr(full.shape)}`);
    return { shape: a.shape.slice(), dtype: a.dtype };
  },
  ref: (n) => new Float64Array(numel(n.shape)).fill(castValue(n.attrs.value, n.dtype)),
  // a let, not a literal: the mean of an empty dim divides this 0 by a literal 0, and WGSL
  // rejects a constant expression whose value is not finite
  inline: (b, n) => {
    const v = b.fresh('fill');
    b.emit(`let ${v} = ${literal(n.attrs.value, n.dtype)};`);
    return v;
  },
  grad: (_, ins) => ins.map((x) => tensorClass(x).make('const', [], { value: 0, shape: x.shape, dtype: x.dtype })),
};

const arange: Def<'arange'> = {
  family: 'source',
  infer: (_, a) => ({ shape: [a.n], dtype: 'int32' }),
  ref: (n) => Float64Array.from({ length: numel(n.shape) }, (_, i) => i),
  inline: (b, n, idx) => `i32(${b.dims(idx, n.shape)[0]})`,
};

const rand: Def<'rand'> = {
  family: 'source',
  infer: ([state], a) => {
    if (state.dtype !== 'int32' || numel(state.shape) !== 2) throw new Error(`rand: expected an int32 generator state of 2 elements, got ${state.dtype} ${shapeStr(state.shape)}`);
    return { shape: a.shape.slice(), dtype: a.dist === 'int' ? 'int32' : 'float32' };
  },
  ref: (n, [state]) => {
    const { dist, low, high } = n.attrs;
    return Float64Array.from({ length: numel(n.shape) }, (_, i) => {
      const [x0, x1] = threefry2x32(state[0], 0, i, state[1]);
      return bitsToNumber(x0, x1, dist, low, high);
    });
  },
  inline: (b, n, idx) => {
    const key = b.value(n.inputs[0], { flat: '0u' }), draw = b.value(n.inputs[0], { flat: '1u' });
    const args = `u32(${key}), ${b.flat(idx, n.shape)}, u32(${draw})`;
    const { dist, low, high } = n.attrs;
    const v = b.fresh('r');
    const call = dist === 'int' ? `kn_rand_int(${args}, bitcast<i32>(${low >>> 0}u), ${(high - low) >>> 0}u)` : `kn_rand_${dist}(${args})`;
    b.emit(`let ${v} = ${call};`);
    return v;
  },
};

export const SOURCE_OPS: { [K in keyof SourceAttrs]: Def<K> } = { buffer, const: constant, fill, arange, rand };

export const ASSIGN_OPS: { [K in keyof AssignAttrs]: AssignDef<AssignAttrs[K]> } = {
  assign: {
    family: 'assign',
    infer: ([target, value]: readonly Node[]) => {
      if (!sameShape(target.shape, value.shape) || target.dtype !== value.dtype) {
        throw new Error(`assign: value ${shapeStr(value.shape)} ${value.dtype} does not match the target's ${shapeStr(target.shape)} ${target.dtype}`);
      }
      return { shape: target.shape.slice(), dtype: target.dtype };
    },
  },
};
