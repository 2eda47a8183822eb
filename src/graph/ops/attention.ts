// Flash attention as graph ops, defined once: 'attention' (the forward, packing O and the
// per-row logsumexp as [..., L, Ev + 1]) and the two halves of its backward, 'attentionGradQ'
// ([..., L, E]) and 'attentionGradKV' (dK and dV packed as [..., S, E + Ev]). Shape rules and
// float64 references and the lowering (the kernels of src/shaders/attention.ts) live here.
// Leading (batch) dims of every input broadcast. The gradient is wired by
// F.scaledDotProductAttention (customGradient), which builds the two backward ops.
import { type Node, type Shape, broadcastShapes, numel, ravelIndex as ravel, unravelIndex as unravel } from '../ir.js';
import { f32Literal as f32 } from '../dtype.js';
import { type KernelDef, pick } from './types.js';
import { attentionKernel, attentionBlock, ATTENTION_TUNING } from '../../shaders/attention.js';

export type AttentionOp = 'attention' | 'attentionGradQ' | 'attentionGradKV';

export interface AttentionAttrs {
  scale: number;
  /** PyTorch's is_causal: query i sees keys j <= i */
  causal: boolean;
  /** 'bool': true = attend; 'float': added to the scores */
  mask: 'none' | 'bool' | 'float';
  /** > 0: an input holds uniform numbers [..., L, S] (a 'rand' node, evaluated in the kernel) */
  dropoutP: number;
}

/** The operands of an attention node, in input order: q, k, v, [mask], [rand], then dO and the forward's packed output for the gradients. */
export interface AttentionInputs<T> { q: T; k: T; v: T; mask?: T; rand?: T; dO?: T; packed?: T }

export function attentionInputs<T>(op: string, attrs: AttentionAttrs, inputs: readonly T[]): AttentionInputs<T> {
  const [q, k, v, ...rest] = inputs;
  const r: AttentionInputs<T> = { q, k, v };
  if (attrs.mask !== 'none') r.mask = rest.shift();
  if (attrs.dropoutP > 0) r.rand = rest.shift();
  if (op !== 'attention') [r.dO, r.packed] = rest;
  return r;
}

/** [L, S, E, Ev] and the broadcast batch shape of q, k, v. */
export function attentionDims(q: Shape, k: Shape, v: Shape): { batch: number[]; L: number; S: number; E: number; Ev: number } {
  const batch = broadcastShapes(broadcastShapes(q.slice(0, -2), k.slice(0, -2))!, v.slice(0, -2))!;
  return { batch, L: q[q.length - 2], S: k[k.length - 2], E: q[q.length - 1], Ev: v[v.length - 1] };
}

/** The output shape of an attention op (operand shapes already checked by checkAttention). */
export function attentionShape(op: AttentionOp, q: Shape, k: Shape, v: Shape): number[] {
  const { batch, L, S, E, Ev } = attentionDims(q, k, v);
  return op === 'attention' ? [...batch, L, Ev + 1] : op === 'attentionGradQ' ? [...batch, L, E] : [...batch, S, E + Ev];
}

/** Inputs in node order. */
export function attentionInputList<T>(ins: AttentionInputs<T>): T[] {
  return [ins.q, ins.k, ins.v, ins.mask, ins.rand, ins.dO, ins.packed].filter((t): t is T => t !== undefined);
}

/** The float64 reference of all three ops (tests only). */
export function refAttention(n: Node, values: Float64Array[]): Float64Array {
  const attrs = n.attrs as AttentionAttrs;
  const nodes = attentionInputs(n.op, attrs, n.inputs), vals = attentionInputs(n.op, attrs, values);
  const { batch, L, S, E, Ev } = attentionDims(nodes.q.shape, nodes.k.shape, nodes.v.shape);
  // element (b, r, c) of an input whose leading dims broadcast against the batch
  const reader = (node: Node | undefined, data: Float64Array | undefined) => (bIdx: number[], r: number, c: number) => {
    const sh = node!.shape, lead = sh.length - 2;
    const idx = [...bIdx.slice(bIdx.length - lead), r, c].map((x, d) => (sh[d] === 1 ? 0 : x));
    return data![ravel(idx, sh)];
  };
  const q = reader(nodes.q, vals.q), k = reader(nodes.k, vals.k), v = reader(nodes.v, vals.v);
  const mask = reader(nodes.mask, vals.mask), rand = reader(nodes.rand, vals.rand);
  const dO = reader(nodes.dO, vals.dO), packed = reader(nodes.packed, vals.packed);
  const out = new Float64Array(numel(n.shape)), C = n.shape[n.shape.length - 1];
  const P = new Float64Array(L * S), Z = new Float64Array(L * S).fill(1);
  for (let b = 0; b < numel(batch); b++) {
    const bIdx = unravel(b, batch);
    // P = softmax(scale q k^T + mask), -inf where masked; a row with every key masked is NaN
    for (let i = 0; i < L; i++) {
      let m = -Infinity;
      for (let j = 0; j < S; j++) {
        let s = 0;
        for (let e = 0; e < E; e++) s += q(bIdx, i, e) * k(bIdx, j, e);
        s *= attrs.scale;
        if (attrs.mask === 'float') s += mask(bIdx, i, j);
        if ((attrs.causal && j > i) || (attrs.mask === 'bool' && !mask(bIdx, i, j))) s = -Infinity;
        P[i * S + j] = s;
        m = Math.max(m, s);
        if (attrs.dropoutP > 0) Z[i * S + j] = rand(bIdx, i, j) >= attrs.dropoutP ? 1 / (1 - attrs.dropoutP) : 0;
      }
      let sum = 0;
      for (let j = 0; j < S; j++) { P[i * S + j] = Math.exp(P[i * S + j] - m); sum += P[i * S + j]; }
      for (let j = 0; j < S; j++) P[i * S + j] /= sum;
      if (n.op === 'attention') {
        for (let e = 0; e < Ev; e++) {
          let o = 0;
          for (let j = 0; j < S; j++) o += P[i * S + j] * Z[i * S + j] * v(bIdx, j, e);
          out[(b * L + i) * C + e] = o;
        }
        out[(b * L + i) * C + Ev] = m + Math.log(sum);
      }
    }
    if (n.op === 'attention') continue;
    // dS = P * (dP - D), dP = (dO v^T) * Z, D = rowsum(dO * O)
    const dS = new Float64Array(L * S);
    for (let i = 0; i < L; i++) {
      let D = 0;
      for (let e = 0; e < Ev; e++) D += dO(bIdx, i, e) * packed(bIdx, i, e);
      for (let j = 0; j < S; j++) {
        let dp = 0;
        for (let e = 0; e < Ev; e++) dp += dO(bIdx, i, e) * v(bIdx, j, e);
        dS[i * S + j] = P[i * S + j] * (dp * Z[i * S + j] - D);
      }
    }
    if (n.op === 'attentionGradQ') {
      for (let i = 0; i < L; i++) for (let e = 0; e < E; e++) {
        let g = 0;
        for (let j = 0; j < S; j++) g += dS[i * S + j] * k(bIdx, j, e);
        out[(b * L + i) * C + e] = g * attrs.scale;
      }
      continue;
    }
    for (let j = 0; j < S; j++) {
      for (let e = 0; e < E; e++) {
        let g = 0;
        for (let i = 0; i < L; i++) g += dS[i * S + j] * q(bIdx, i, e);
        out[(b * S + j) * C + e] = g * attrs.scale;
      }
      for (let e = 0; e < Ev; e++) {
        let g = 0;
        for (let i = 0; i < L; i++) g += P[i * S + j] * Z[i * S + j] * dO(bIdx, i, e);
        out[(b * S + j) * C + E + e] = g;
      }
    }
  }
  return out;
}

/**
 * Flash attention: each operand becomes a function of (batch, row, column) that reads it in
 * place (strided views, broadcast batch dims and masks are index arithmetic; dropout's uniform
 * numbers are the rand hash at the score's own index, so forward and backward agree).
 */
const lowerAttention: KernelDef<AttentionAttrs>['lower'] = (b, core, ctx) => {
  const attrs = core.attrs as AttentionAttrs;
  const ins = attentionInputs(core.op, attrs, core.inputs);
  const { L, S, E, Ev } = attentionDims(ins.q.shape, ins.k.shape, ins.v.shape);
  const batch = core.shape.slice(0, -2);
  const fns: string[] = [];
  const loader = (name: string, n: Node, type: string, wrap = (x: string) => x) => {
    const body = b.scoped(() => {
      const bd = b.dims({ flat: 'bi' }, batch), r = n.shape.length;
      // the input's leading dims are the batch's last ones; size-1 dims broadcast
      const dims = n.shape.map((d, k) => (d === 1 ? '0u' : k === r - 2 ? 'i' : k === r - 1 ? 'j' : bd[batch.length - (r - 2) + k]));
      b.emit(`return ${wrap(b.value(n, { dims }))};`);
    });
    fns.push(`fn ${name}(bi: u32, i: u32, j: u32) -> ${type} {\n${body}\n}`);
  };
  loader('kn_q', ins.q, 'f32');
  loader('kn_k', ins.k, 'f32');
  loader('kn_v', ins.v, 'f32');
  if (ins.mask) loader('kn_mask', ins.mask, attrs.mask === 'bool' ? 'bool' : 'f32');
  if (ins.rand) loader('kn_keep', ins.rand, 'f32', (r) => `select(0.0, ${f32(1 / (1 - attrs.dropoutP))}, ${r} >= ${f32(attrs.dropoutP)})`);
  if (ins.dO) loader('kn_do', ins.dO, 'f32');
  if (ins.packed) loader('kn_o', ins.packed, 'f32');
  const [R, C] = core.shape.slice(-2);
  const store = b.scoped(() => b.store(core, `(bi * ${R}u + r) * ${C}u + c`, 'value'));
  fns.push(`fn kn_store(bi: u32, r: u32, c: u32, value: f32) {\n${store}\n}`);
  b.checkBindings('attention');
  const block = attentionBlock(E, Ev, ctx.workgroupStorage);
  if (!block) throw new Error(`internal: attention head dims ${E} + ${Ev} do not fit in workgroup memory (the front end should have used the composite; a Kiln bug)`);
  const mode = core.op === 'attention' ? 'forward' : core.op === 'attentionGradQ' ? 'gradQ' : 'gradKV';
  const layout = pick(ctx, ATTENTION_TUNING, {
    mode, batch: numel(batch), L, S, E, Ev, causal: attrs.causal, mask: attrs.mask, dropout: !!ins.rand, dtype: [ins.q, ins.k, ins.v].map((n) => n.dtype).join(','),
  });
  return attentionKernel({
    mode, buffers: b.decls(), prelude: [b.prelude, ...fns].join('\n'), batch: numel(batch), L, S, E, Ev,
    scale: attrs.scale, causal: attrs.causal, mask: attrs.mask, dropout: !!ins.rand, ...layout, block, maxPerDim: ctx.maxPerDim,
  });
};

function def(op: AttentionOp): KernelDef<AttentionAttrs> {
  return {
    family: 'attention',
    infer: (inputs, attrs) => {
      const { q, k, v } = attentionInputs(op, attrs, inputs);
      return { shape: attentionShape(op, q.shape, k.shape, v.shape), dtype: 'float32' };
    },
    ref: (n, ins) => refAttention(n, ins),
    lower: lowerAttention,
  };
}

export type AttentionOpAttrs = { [K in AttentionOp]: AttentionAttrs };
export const ATTENTION_OPS: { [K in AttentionOp]: KernelDef<AttentionAttrs> } = {
  attention: def('attention'), attentionGradQ: def('attentionGradQ'), attentionGradKV: def('attentionGradKV'),
};
