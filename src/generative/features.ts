// Features for the Fréchet distance: the penultimate layer of a classifier (a Sequential whose
// last layer maps features to class scores), run as one compiled program per batch size.
import { Tensor, tensor } from '../graph/tensor.js';
import { options, checkInt, describe } from '../graph/args.js';
import { Sequential } from '../layers/layers.js';
import { SamplerCache } from './sampler.js';
import type { FeatureSet } from './frechet.js';

export interface FeatureOptions {
  /** rows per compiled call (default 256); the last batch is padded, its padding dropped */
  batchSize?: number;
  /** applied to each batch before the classifier (e.g. its input normalisation) */
  transform?: (x: Tensor) => Tensor;
}

/**
 * The penultimate-layer features of `classifier` (every layer but the last, in eval mode) for
 * n inputs of `size` values each, row-major in `x`: a FeatureSet for frechetDistance.
 */
export async function classifierFeatures(classifier: Sequential, x: ArrayLike<number>, n: number, opts: FeatureOptions = {}): Promise<FeatureSet> {
  const fn = 'classifierFeatures';
  if (!(classifier instanceof Sequential) || classifier.length < 2) throw new Error(`${fn}: classifier must be an nn.Sequential of at least 2 layers (its last gives the class scores), got ${describe(classifier)}`);
  checkInt(fn, 'n', n, 1);
  options(fn, opts, ['batchSize', 'transform']);
  const batch = checkInt(fn, 'batchSize', opts.batchSize ?? 256, 1);
  const transform = opts.transform ?? ((t: Tensor) => t);
  if (typeof transform !== 'function') throw new Error(`${fn}: transform must be a function, got ${describe(transform)}`);
  if (!x || typeof x.length !== 'number' || x.length % n !== 0) throw new Error(`${fn}: x must hold n = ${n} rows of equal size, got ${describe(x)}`);
  const size = x.length / n;
  const body = new Sequential(...classifier.layers.slice(0, -1));
  const wasTraining = classifier.training;
  classifier.eval();
  const programs = new SamplerCache();
  let data: Float64Array | undefined, d = 0;
  try {
    for (let start = 0; start < n; start += batch) {
      const rows = Math.min(batch, n - start);
      const chunk = new Float32Array(batch * size);
      for (let i = 0; i < rows * size; i++) chunk[i] = x[start * size + i];
      const f = await programs.run(`features ${batch}`, (b) => body.call(transform(b)).reshape(batch, -1), [tensor(chunk, [batch, size])]);
      d = f.shape[1];
      data ??= new Float64Array(n * d);
      data.set((await f.data()).subarray(0, rows * d), start * d);
      f.dispose();
    }
  } finally { classifier.train(wasTraining); }
  return { data: data!, n, d };
}
