// Batched matmul [B, M, K] x [B, K, N] -> [B, M, N] (the front end folds broadcasting and
// 1-D operands into this form). Its operands are read in place: strided views of buffers, or
// index arithmetic over buffers (a convolution's sliding windows: an implicit GEMM).
import type { Node } from '../ir.js';
import { shapeStr } from '../ir.js';
import { isFloat } from '../dtype.js';
import { type KernelDef, pick } from './types.js';
import type { ElemType } from '../../shaders/common.js';
import { matmulKernel, vectorLoads, operandLayout, MATMUL_TUNING } from '../../shaders/matmul.js';

export interface MatmulAttrs { matmul: Record<string, never> }

const matmul: KernelDef<MatmulAttrs['matmul']> = {
  family: 'matmul',
  infer: ([a, b]) => {
    const [B, M, K] = a.shape, [B2, K2, N] = b.shape;
    if (a.shape.length !== 3 || b.shape.length !== 3 || B !== B2 || K !== K2 || !isFloat(a.dtype) || !isFloat(b.dtype)) {
      throw new Error(`internal: matmul node wants float [B, M, K] and [B, K, N], got ${shapeStr(a.shape)} ${a.dtype} and ${shapeStr(b.shape)} ${b.dtype} (a Kiln bug)`);
    }
    // float32 accumulation whatever the operands' float dtype
    return { shape: [B, M, N], dtype: 'float32' };
  },
  ref: (n, [a, b]) => {
    const [B, M, K] = n.inputs[0].shape, N = n.inputs[1].shape[2];
    const out = new Float64Array(B * M * N);
    for (let bi = 0; bi < B; bi++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[(bi * M + i) * K + k] * b[(bi * K + k) * N + j];
      out[(bi * M + i) * N + j] = s;
    }
    return out;
  },
  grad: (g, [a, b]) => [g.matmul(b.transpose(1, 2)), a.transpose(1, 2).matmul(g)],
  lower: (b, core, ctx) => {
    const [B, M, N] = core.shape, K = core.inputs[0].shape[2];
    const va = b.stridedOperand(core.inputs[0]), vb = b.stridedOperand(core.inputs[1]);
    // vec4 views are read-only bindings: not for a buffer this kernel also writes
    const noStrides = { offset: 0, sb: 0, s0: 0, s1: 0 };
    const la = va?.layout ?? { ...noStrides, fn: 'f' }, lb = vb?.layout ?? { ...noStrides, fn: 'f' };
    const dtype = core.inputs.map((i) => i.dtype).join(',');
    const tiling = ctx.tiling ?? pick(ctx, MATMUL_TUNING, { batch: B, M, N, K, a: operandLayout(la, B), b: operandLayout(lb, B), dtype });
    const vec = vectorLoads({ batch: B, M, N, K, a: la, b: lb, tiling });
    const useB = vb && vec.b && !b.writes(vb.storage) ? vec.b : false;
    const useA = va && useB && vec.a && !b.writes(va.storage) ? vec.a : false;
    // an operand that is no strided view (sliding windows, padding) is computed by a function
    // of (batch, row, column): the implicit GEMM of a convolution, with no buffer in between
    const fns: string[] = [];
    const operand = (o: typeof va, node: Node, name: string, vec: ElemType | false) => {
      if (!o) {
        const body = b.scoped(() => { b.emit(`return ${b.value(node, { dims: ['bi', 'i', 'j'] })};`); });
        fns.push(`fn ${name}(bi: u32, i: u32, j: u32) -> f32 {\n${body}\n}`);
        return { ...noStrides, buf: '', fn: name };
      }
      return vec ? { ...o.layout, buf: '', buf4: b.buffer4(o.storage, vec) } : { ...o.layout, buf: b.buffer(o.storage, o.dtype, false) };
    };
    const opA = operand(va, core.inputs[0], 'kn_load_a', useA), opB = operand(vb, core.inputs[1], 'kn_load_b', useB);
    b.ownFlat = 'fo';
    b.emit(`let fo = (bi * ${M}u + row) * ${N}u + col;`);
    b.registers.set(core, 'acc');
    b.storeOutputs();
    b.checkBindings('matmul');
    return matmulKernel({
      buffers: b.decls(), prelude: [b.prelude, ...fns].join('\n'), batch: B, M, N, K, a: opA, b: opB,
      epilogue: b.body(), tiling, maxPerDim: ctx.maxPerDim,
    });
  },
};

export const MATMUL_OPS: { [K in keyof MatmulAttrs]: KernelDef<MatmulAttrs[K]> } = { matmul };
