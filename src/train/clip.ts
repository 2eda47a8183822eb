// Gradient clipping as graph ops: the global norm is computed and applied on the GPU, so it
// fuses into a compiled step (into the optimizer's kernel, where it can) with no read-back.
import { Tensor, concat, constant } from '../graph/tensor.js';
import { noGrad } from '../graph/state.js';

function grads(parameters: Tensor[] | Iterable<Tensor>): [Tensor, Tensor][] {
  return [...parameters].filter((p) => p.grad).map((p) => [p, p.grad!] as [Tensor, Tensor]);
}

/**
 * Scales the gradients so their global norm is at most maxNorm, as torch.nn.utils.clip_grad_norm_.
 * Returns the total norm before clipping, as a (lazy) scalar tensor.
 */
export function clipGradNorm_(parameters: Tensor[] | Iterable<Tensor>, maxNorm: number, { normType = 2, errorIfNonfinite = false }: { normType?: number; errorIfNonfinite?: boolean } = {}): Tensor {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm_: maxNorm must be a non-negative number, got ${maxNorm}`);
  if (!(normType > 0)) throw new Error(`clipGradNorm_: normType must be positive (or Infinity), got ${normType}`);
  if (errorIfNonfinite) throw new Error('clipGradNorm_: errorIfNonfinite would need a read-back of the norm inside the step; check the returned norm instead');
  const gs = grads(parameters);
  return noGrad(() => {
    if (!gs.length) return constant(0, [], 'float32');
    const flat = gs.length === 1 ? gs[0][1].reshape(-1) : concat(gs.map(([, g]) => g.reshape(-1)), 0);
    const total = normType === Infinity ? flat.abs().max()
      : normType === 2 ? flat.mul(flat).sum().sqrt()
        : flat.abs().pow(normType).sum().pow(1 / normType);
    // PyTorch: clip_coef = max_norm / (total + 1e-6), clamped to 1
    const coef = total.add(1e-6).pow(-1).mul(maxNorm).minimum(1);
    for (const [p, g] of gs) p.grad = g.mul(coef);
    return total;
  });
}

/** Clamps every gradient element to [-clipValue, clipValue], as torch.nn.utils.clip_grad_value_. */
export function clipGradValue_(parameters: Tensor[] | Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new Error(`clipGradValue_: clipValue must be a non-negative number, got ${clipValue}`);
  noGrad(() => { for (const [p, g] of grads(parameters)) p.grad = g.clamp(-clipValue, clipValue); });
}
