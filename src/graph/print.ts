// How a tensor prints, as PyTorch's repr: `tensor([[1., 2.], [3., 4.]], device='webgpu')` when
// its values are on the host (read with data() since it last changed), else its shape and
// dtype, since printing must not read the GPU (that is asynchronous).
import type { DType, HostArray } from './dtype.js';
import { shapeStr } from './ir.js';

/** Tensors up to this many elements keep the values data() read, for printing. */
export const PRINT_LIMIT = 1000;

/** PyTorch's element format: `1.` and `0.5000` for floats (one precision per tensor), ints plain. */
function formatter(values: HostArray, dtype: DType): (v: number) => string {
  if (dtype === 'bool') return (v) => (v ? 'True' : 'False');
  if (dtype !== 'float32' && dtype !== 'float16') return (v) => String(v);
  const finite = Array.from(values).filter(Number.isFinite);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (finite.every(Number.isInteger)) return (v) => (Number.isFinite(v) ? `${v}.` : special(v));
  const big = finite.some((v) => Math.abs(v) >= 1e8 || (v !== 0 && Math.abs(v) < 1e-4));
  return (v) => (!Number.isFinite(v) ? special(v) : big ? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2') : v.toFixed(4));
}

export function formatTensor(values: HostArray | null, shape: number[], dtype: DType): string {
  if (!values) return `Tensor(shape=${shapeStr(shape)}, dtype=${dtype}, device=webgpu)`;
  const fmt = formatter(values, dtype);
  const cells = Array.from(values, fmt);
  const width = Math.max(0, ...cells.map((c) => c.length));
  let at = 0;
  const nest = (d: number, indent: string): string => {
    if (d === shape.length) return cells[at++].padStart(width);
    const inner = Array.from({ length: shape[d] }, () => nest(d + 1, `${indent} `));
    const sep = d === shape.length - 1 ? ', ' : `,${'\n'.repeat(shape.length - 1 - d)}${indent} `;
    return `[${inner.join(sep)}]`;
  };
  const extra = dtype === 'float32' ? '' : `, dtype=${dtype}`;
  const body = values.length === 0 ? `[], size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`
    : shape.length ? nest(0, '       ') : cells[0];
  return `tensor(${body}${extra}, device='webgpu')`;
}
