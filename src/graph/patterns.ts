// Graph-to-graph rewrites run before scheduling. Hand-written attention,
//   softmax(q @ k^T * scale [+ mask | mask.where(., -inf)]) @ v
// (the scale as a mul or a div, or folded into q beforehand), becomes the flash-attention op
// (ops/attention.ts), so the L x S scores and probabilities are never stored. Only where
// nothing else reads them and nothing needs their gradient, which is an inference graph: the
// backward of a training graph reads the probabilities (F.scaledDotProductAttention builds the
// flash ops with their own backward instead).
import { Node, topoSort } from './ir.js';
import { node } from './ops/index.js';
import { attentionInputList, type AttentionAttrs } from './ops/attention.js';
import { attentionBlock } from '../shaders/attention.js';

interface Match { q: Node; kT: Node; v: Node; mask?: Node; attrs: AttentionAttrs }

export function rewriteAttention(targets: Node[]): void {
  const order = topoSort(targets).filter((n) => !n.realized);
  const readers = new Map<Node, number>();
  for (const n of order) for (const i of new Set(n.inputs)) readers.set(i, (readers.get(i) ?? 0) + 1);
  const isTarget = new Set(targets);
  // an intermediate the rewrite removes: read once (by the pattern), never asked for
  const inner = (n: Node) => !n.realized && !isTarget.has(n) && readers.get(n) === 1 && !n.requiresGrad;
  for (const out of order) {
    const m = out.op === 'matmul' && !out.requiresGrad ? matchAttention(out, inner) : null;
    if (!m) continue;
    const k = node('permute', [m.kT], { dims: [0, 2, 1] });
    const att = node('attention', attentionInputList({ q: m.q, k, v: m.v, mask: m.mask }), m.attrs);
    const o = node('slice', [att], { starts: [0, 0, 0], ends: out.shape.slice(), steps: [1, 1, 1] });
    // the matmul node keeps its identity (tensors and the target list hold it) and becomes a
    // copy of the attention output, which fuses into its readers as index arithmetic
    Object.assign(out, { op: 'copy', inputs: [o], attrs: {} });
  }
}

/** out = matmul(P, v) with P = softmax(scores) of the pattern, every intermediate `inner`. */
function matchAttention(out: Node, inner: (n: Node) => boolean): Match | null {
  const [pIn, v] = out.inputs;
  const p = skipReshapes(pIn, inner);
  if (!p || p.op !== 'softmax' || p.attrs.log || !inner(p)) return null;
  let x = p.inputs[0];
  let mask: Node | undefined, maskKind: AttentionAttrs['mask'] = 'none';
  if (x.op === 'where' && inner(x) && constValue(x.inputs[2]) === -Infinity) {
    [mask, x, maskKind] = [x.inputs[0], x.inputs[1], 'bool'];
  } else if (x.op === 'add' && inner(x)) {
    const [a, b] = x.inputs;
    const scoresFirst = scaledScores(a, inner) !== null;
    [mask, x, maskKind] = [scoresFirst ? b : a, scoresFirst ? a : b, 'float'];
  }
  const s = scaledScores(x, inner);
  if (!s) return null;
  const [q, kT] = s.scores.inputs;
  const [B, L, S] = s.scores.shape;
  if (v.shape[0] !== B || v.shape[1] !== S || !attentionBlock(q.shape[2], v.shape[2])) return null;
  // the mask is laid out as the scores [..., L, S]; the kernel reads it as [B, L, S]
  const mask3 = mask && mask.shape.length !== 3 ? node('reshape', [mask], { shape: [B, L, S] }) : mask;
  return { q, kT, v, mask: mask3, attrs: { scale: s.scale, causal: false, mask: maskKind, dropoutP: 0 } };
}

/** scores * c, c * scores, scores / c or the scores alone, where scores = matmul(q, k^T). */
function scaledScores(x: Node, inner: (n: Node) => boolean): { scores: Node; scale: number } | null {
  let scale = 1;
  if ((x.op === 'mul' || x.op === 'div') && inner(x)) {
    const c = x.inputs.map(constValue);
    if (c[1] !== undefined) { scale = x.op === 'mul' ? c[1] : 1 / c[1]; x = x.inputs[0]; }
    else if (c[0] !== undefined && x.op === 'mul') { scale = c[0]; x = x.inputs[1]; }
    else return null;
  }
  const scores = skipReshapes(x, inner);
  return scores && scores.op === 'matmul' && inner(scores) && Number.isFinite(scale) ? { scores, scale } : null;
}

/** The node under a chain of reshapes the rewrite removes. */
function skipReshapes(n: Node, inner: (n: Node) => boolean): Node | null {
  while (n.op === 'reshape') { if (!inner(n)) return null; n = n.inputs[0]; }
  return n;
}

/** The value of a constant (through broadcasts), or undefined. */
function constValue(n: Node): number | undefined {
  while (!n.realized && (n.op === 'expand' || n.op === 'reshape')) n = n.inputs[0];
  return n.op === 'const' && !n.realized ? n.attrs.value : undefined;
}
