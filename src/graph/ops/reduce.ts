// Reductions over a set of axes: sum, max, min and the positions of the extremes. One kernel
// each (src/shaders/reduce.ts); elementwise producers fuse into its loads as a prologue and
// elementwise consumers of its result into its store as an epilogue.
import { type Node, numel, unravelIndex, ravelIndex } from '../ir.js';
import { DTYPE_INFO } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { type KernelDef, type GradRule, pick } from './types.js';
import { reduceKernel, REDUCE_TUNING } from '../../shaders/reduce.js';

type Op = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';
export type ReduceAttrs = { [K in Op]: { axes: number[] } };

function reduceRef(op: Op) {
  return (n: Node, [data]: Float64Array[]): Float64Array => {
    const xs = n.inputs[0].shape, axes: number[] = n.attrs.axes;
    const keep = xs.map((_, i) => !axes.includes(i));
    const outShape = xs.filter((_, i) => keep[i]), redShape = xs.filter((_, i) => !keep[i]);
    const size = numel(outShape);
    const init = op === 'sum' ? 0 : op === 'max' || op === 'argmax' ? -Infinity : Infinity;
    const best = new Float64Array(size).fill(init), arg = new Float64Array(size);
    for (let f = 0; f < data.length; f++) {
      const idx = unravelIndex(f, xs);
      const o = ravelIndex(idx.filter((_, i) => keep[i]), outShape);
      const r = ravelIndex(idx.filter((_, i) => !keep[i]), redShape);
      const v = data[f];
      if (op === 'sum') best[o] += v;
      // NaN propagates, as in PyTorch: the first one wins
      else if ((op === 'max' || op === 'argmax' ? v > best[o] : v < best[o]) || (Number.isNaN(v) && !Number.isNaN(best[o]))) { best[o] = v; arg[o] = r; }
    }
    return op === 'argmax' || op === 'argmin' ? arg : best;
  };
}

const sumGrad: GradRule<{ axes: number[] }> = (g, [x], _, { axes }) => [expandBack(g, x, axes)];
// ties split the gradient evenly, as torch.amax
const extremeGrad: GradRule<{ axes: number[] }> = (g, [x], out, { axes }) => {
  const hit = x.eq(expandBack(out, x, axes)).float();
  return [expandBack(g, x, axes).mul(hit).div(hit.sum(axes, true))];
};

function expandBack(t: Tensor, x: Tensor, axes: number[]): Tensor {
  return t.reshape(...x.shape.map((d, i) => (axes.includes(i) ? 1 : d))).expandTo(x.shape);
}

function def(op: Op, grad?: GradRule<{ axes: number[] }>): KernelDef<{ axes: number[] }> {
  const arg = op === 'argmax' || op === 'argmin';
  return {
    family: 'reduce',
    // a packed dtype's result is its wide dtype (float16 sums are float32): the front end casts back
    infer: ([x], { axes }) => ({ shape: x.shape.filter((_, i) => !axes.includes(i)), dtype: arg ? 'int32' : DTYPE_INFO[x.dtype].wide }),
    ref: reduceRef(op),
    grad,
    lower: (b, core, ctx) => {
      const x = core.inputs[0], axes: number[] = core.attrs.axes;
      const keptShape = x.shape.filter((_, i) => !axes.includes(i)), redShape = axes.map((ax) => x.shape[ax]);
      b.ownFlat = 'o';
      const od = b.dims({ flat: 'o' }, keptShape);
      const load = b.scoped(() => {
        const kd = b.dims({ flat: 'k' }, redShape);
        let ki = 0, oi = 0;
        const dims = x.shape.map((_, i) => (axes.includes(i) ? kd[ki++] : od[oi++]));
        b.emit(`let val = ${b.value(x, { dims })};`);
      });
      const pre = b.body();
      const norm = DTYPE_INFO[core.dtype].normalize;
      const result = arg ? 'i32(arg)' : norm ? `${norm}(acc)` : 'acc';
      const store = b.scoped(() => {
        b.registers.set(core, result);
        b.storeOutputs();
      });
      b.checkBindings('reduction');
      const outputs = numel(core.shape), reduceSize = numel(redShape);
      const config = pick(ctx, REDUCE_TUNING, { op, outputs, reduceSize, dtype: x.dtype });
      return reduceKernel({
        buffers: b.decls(), prelude: b.prelude, op, ty: DTYPE_INFO[x.dtype].compute, outputs, reduceSize, pre, load, store, maxPerDim: ctx.maxPerDim, config,
      });
    },
  };
}

export const REDUCE_OPS: { [K in Op]: KernelDef<ReduceAttrs[K]> } = {
  sum: def('sum', sumGrad), max: def('max', extremeGrad), min: def('min', extremeGrad), argmax: def('argmax'), argmin: def('argmin'),
};
