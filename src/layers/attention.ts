// Scaled dot-product attention, as torch.nn.functional.scaled_dot_product_attention: the
// flash-attention ops (src/graph/ops/attention.ts: online softmax, no L x S buffer, forward
// and backward, dropout replayed from the same counter-based random numbers), with the
// composite form (matmul, scale, mask, softmax, matmul) where they do not apply.
import { Tensor, tensor, attentionOp } from '../graph/tensor.js';
import { broadcastShapes, sameShape, shapeStr, type Shape } from '../graph/ir.js';
import { customGradient } from '../graph/autodiff.js';
import { attentionShape, type AttentionOp, type AttentionInputs, type AttentionAttrs } from '../graph/ops/attention.js';
import { attentionBlock } from '../shaders/attention.js';
import { dropout } from './functional.js';
import { uniform } from '../graph/random.js';
import { autocastInputs } from '../graph/autocast.js';

export interface AttentionOptions {
  /** bool (true = may attend) or float (added to the scores), broadcastable to [..., L, S] */
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  /** default 1/sqrt(E) */
  scale?: number | null;
  /** false turns dropout off (eval mode); default true, as in PyTorch's functional form */
  training?: boolean;
}

function fail(msg: string): never { throw new Error(`scaledDotProductAttention: ${msg}`); }

/** Checks the shapes and options; returns [L, S, E, Ev]. */
export function checkAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): [number, number, number, number] {
  for (const [name, t] of [['query', q], ['key', k], ['value', v]] as const) {
    if (t.ndim < 2) fail(`${name} must have at least 2 dimensions [..., seq, features], got shape ${shapeStr(t.shape)}`);
    if (t.dtype !== 'float32' && t.dtype !== 'float16') fail(`${name} must be floating point, got dtype ${t.dtype}`);
  }
  const [L, E] = q.shape.slice(-2), [S, Ek] = k.shape.slice(-2), [Sv, Ev] = v.shape.slice(-2);
  if (Ek !== E) fail(`query and key must have the same feature size, got query ${shapeStr(q.shape)} and key ${shapeStr(k.shape)}`);
  if (Sv !== S) fail(`key and value must have the same sequence length, got key ${shapeStr(k.shape)} and value ${shapeStr(v.shape)}`);
  const batch = broadcastShapes(broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2)) ?? fail(`batch dimensions of query ${shapeStr(q.shape)} and key ${shapeStr(k.shape)} do not broadcast`), v.shape.slice(0, -2));
  if (!batch) fail(`batch dimensions of key ${shapeStr(k.shape)} and value ${shapeStr(v.shape)} do not broadcast`);
  const m = o.attnMask;
  if (m) {
    if (m.dtype !== 'bool' && m.dtype !== 'float32' && m.dtype !== 'float16') fail(`attnMask must be bool (true = attend) or float (added to the scores), got dtype ${m.dtype}`);
    const scores = [...batch, L, S], b = broadcastShapes(m.shape, scores);
    if (!b || !sameShape(b, scores)) {
      fail(`attnMask of shape ${shapeStr(m.shape)} does not broadcast to the scores' shape ${shapeStr(scores)} (query ${shapeStr(q.shape)}, key ${shapeStr(k.shape)})`);
    }
    if (o.isCausal) fail('pass either attnMask or isCausal, not both (as PyTorch)');
  }
  const p = o.dropoutP ?? 0;
  if (!(p >= 0 && p < 1)) fail(`dropoutP must be in [0, 1), got ${p}`);
  if (o.scale !== undefined && o.scale !== null && !(Number.isFinite(o.scale))) fail(`scale must be a finite number, got ${o.scale}`);
  return [L, S, E, Ev];
}

/** The causal mask of PyTorch's is_causal: query i attends to keys j <= i (top-left aligned). */
export function causalMask(L: number, S: number): Tensor {
  const m = new Uint8Array(L * S);
  for (let i = 0; i < L; i++) for (let j = 0; j <= Math.min(i, S - 1); j++) m[i * S + j] = 1;
  return tensor(m, [L, S], { dtype: 'bool' });
}

/**
 * softmax(q k^T * scale + mask) v over the last two dimensions; leading dimensions broadcast.
 * A query row whose keys are all masked out gives NaN, as in PyTorch.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  // on autocast's lower-precision list: every floating operand, a float mask too (as PyTorch's)
  const [q16, k16, v16, mask16] = autocastInputs('lowerPrecision', [q, k, v, opts.attnMask]);
  [q, k, v] = [q16, k16, v16];
  if (opts.attnMask) opts = { ...opts, attnMask: mask16 };
  const [L, S, E, Ev] = checkAttention(q, k, v, opts);
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  const dropoutP = opts.training === false ? 0 : opts.dropoutP ?? 0;
  const mask = opts.attnMask ?? null;
  // A float mask that requires grad takes the composite path: the kernels give no mask
  // gradient (it would be dS itself, an L x S tensor). Head dims too large for a block of
  // rows in workgroup memory take it too.
  if (mask?.requiresGrad || !attentionBlock(E, Ev)) return attentionComposite(q, k, v, { scale, dropoutP, mask: opts.isCausal ? causalMask(L, S) : mask });
  const attrs: AttentionAttrs = { scale, causal: !!opts.isCausal, mask: mask ? (mask.dtype === 'bool' ? 'bool' : 'float') : 'none', dropoutP };
  const operands: AttentionInputs<Tensor> = { q, k, v, mask: mask ?? undefined };
  if (dropoutP > 0) operands.rand = uniform([...attentionShape('attention', q.shape, k.shape, v.shape).slice(0, -2), L, S]);
  const op = (name: AttentionOp, extra: Partial<AttentionInputs<Tensor>> = {}) => {
    const ins = { ...operands, ...extra };
    return attentionOp(name, ins, attrs);
  };
  const packed = op('attention'); // [..., L, Ev + 1]: O, then the row's logsumexp (float32)
  const out = packed.narrow(-1, 0, Ev);
  const result = customGradient(out, [q, k, v], (dO) => {
    const ins = { dO, packed };
    const dq = q.requiresGrad ? sumTo(op('attentionGradQ', ins), q.shape) : null;
    const dkv = k.requiresGrad || v.requiresGrad ? op('attentionGradKV', ins) : null;
    return [dq, dkv && k.requiresGrad ? sumTo(dkv.narrow(-1, 0, E), k.shape) : null, dkv && v.requiresGrad ? sumTo(dkv.narrow(-1, E, Ev), v.shape) : null];
  });
  // float16 operands give a float16 result, as PyTorch's (the kernels compute in float32)
  return q.dtype === 'float16' && k.dtype === 'float16' && v.dtype === 'float16' ? result.cast('float16') : result;
}

/** The composite form: matmul, scale, mask, softmax, dropout, matmul (also the tests' second opinion). */
export function attentionComposite(q: Tensor, k: Tensor, v: Tensor, o: { scale: number; dropoutP: number; mask: Tensor | null }): Tensor {
  let scores = q.matmul(k.transpose(-2, -1)).mul(o.scale);
  if (o.mask) scores = o.mask.dtype === 'bool' ? o.mask.where(scores, -Infinity) : scores.add(o.mask);
  let p = scores.softmax(-1);
  if (o.dropoutP) p = dropout(p, { p: o.dropoutP });
  return p.matmul(v);
}

/** Sums a gradient over the batch dims its operand was broadcast along. */
function sumTo(g: Tensor, shape: Shape): Tensor {
  const lead = g.ndim - shape.length;
  const axes = g.shape.map((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? i : -1)).filter((i) => i >= 0);
  return axes.length ? g.sum(axes, true).reshape(...shape) : g;
}
