// Source ops (values made from nothing or from a seed) and assign (an in-place write). A
// source's value is computed inline wherever it is read.
import { type Node, numel, shapeStr, sameShape } from '../ir.js';
import { type DType, castValue, literal } from '../dtype.js';
import type { SourceDef, AssignDef } from './types.js';

export interface SourceAttrs {
  /** a realized leaf: its values come from the caller (an upload, a compiled function's input) */
  buffer: { shape: number[]; dtype: DType };
  const: { value: number; shape: number[]; dtype: DType };
  /** 0, 1, ..., n - 1 as int32 */
  arange: { n: number };
  /** uniform numbers in [0, 1) from a counter-based hash of (seed, index, salt); input 0 is the int32 seed */
  rand: { salt: number; shape: number[] };
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

const arange: Def<'arange'> = {
  family: 'source',
  infer: (_, a) => ({ shape: [a.n], dtype: 'int32' }),
  ref: (n) => Float64Array.from({ length: numel(n.shape) }, (_, i) => i),
  inline: (b, n, idx) => `i32(${b.dims(idx, n.shape)[0]})`,
};

const rand: Def<'rand'> = {
  family: 'source',
  infer: (_, a) => ({ shape: a.shape.slice(), dtype: 'float32' }),
  ref: () => { throw new Error('reference: rand is not supported (its values come from the device hash); pass its value in leafValues'); },
  inline: (b, n, idx) => {
    const seed = b.value(n.inputs[0], { flat: '0u' });
    const v = b.fresh('r');
    b.emit(`let ${v} = kn_rand(u32(${seed}), ${b.flat(idx, n.shape)}, ${n.attrs.salt >>> 0}u);`);
    return v;
  },
};

export const SOURCE_OPS: { [K in keyof SourceAttrs]: Def<K> } = { buffer, const: constant, arange, rand };

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

/** The kernel that computes a random number per element (lower.ts's prelude). */
export const RAND_PRELUDE = `
fn kn_rand(seed: u32, i: u32, salt: u32) -> f32 {
  // PCG hash of (seed, index, salt): counter-based, so replays and fusion give the same stream
  var h = i * 747796405u + 2891336453u + seed * 277803737u + salt * 2654435769u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  h = h * 747796405u + seed;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  return f32(h >> 8u) * (1.0 / 16777216.0);
}`;
