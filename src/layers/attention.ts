// Scaled dot-product attention, as torch.nn.functional.scaled_dot_product_attention.
// This is the composite form (matmul, scale, mask, softmax, matmul); the fused
// flash-attention lowering replaces it where it applies.
import { Tensor, tensor } from '../graph/tensor.js';
import { broadcastShapes, sameShape, shapeStr } from '../graph/ir.js';
import { dropout } from './functional.js';

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
  const [L, S, E] = checkAttention(q, k, v, opts);
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  let scores = q.matmul(k.transpose(-2, -1)).mul(scale);
  const mask = opts.isCausal ? causalMask(L, S) : opts.attnMask;
  if (mask) scores = mask.dtype === 'bool' ? mask.where(scores, -Infinity) : scores.add(mask);
  let p = scores.softmax(-1);
  if (opts.dropoutP && opts.training !== false) p = dropout(p, opts.dropoutP);
  return p.matmul(v);
}
