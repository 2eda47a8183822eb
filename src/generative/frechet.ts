// The Fréchet distance between two sets of features, each taken as a Gaussian (FID when the
// features are Inception's; here they are the project's own classifier's):
//   |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr(sqrtm(C1 C2)),
// in float64 on the host. C1 C2 is not symmetric, but its eigenvalues are those of the
// symmetric PSD S C2 S with S = sqrtm(C1), so tr(sqrtm(C1 C2)) = sum sqrt(eig(S C2 S)), and
// both square roots come from the Jacobi eigenvalue iteration of symmetric matrices.
import { shapeStr } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { describe } from '../graph/args.js';

/** n feature vectors of d values each, row-major. */
export interface FeatureSet { data: ArrayLike<number>; n: number; d: number }
/** The mean [d] and unbiased covariance [d * d] (row-major) of a feature set. */
export interface Moments { mean: Float64Array; cov: Float64Array; d: number }

/** Eigenvalues and eigenvectors (columns of `vectors`, row-major d x d) of a symmetric matrix. */
export function symmetricEigen(a: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += m[i] * m[i];
  // cyclic Jacobi: rotate each off-diagonal pair to zero until they are negligible against
  // the whole matrix (1e-12 in norm: an eigenvalue moves by its square); it converges
  // quadratically, so a few sweeps get there
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q] ** 2;
    if (!(off > 1e-24 * scale)) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (apq === 0) continue;
        const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const mkp = m[k * d + p], mkq = m[k * d + q];
          m[k * d + p] = c * mkp - s * mkq;
          m[k * d + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < d; k++) {
          const mpk = m[p * d + k], mqk = m[q * d + k];
          m[p * d + k] = c * mpk - s * mqk;
          m[q * d + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = m[i * d + i];
  return { values, vectors: v };
}

/**
 * The square root of a symmetric positive semi-definite matrix (row-major d x d): V sqrt(L) V^T.
 * Eigenvalues below zero by rounding are taken as zero.
 */
export function sqrtmPsd(a: ArrayLike<number>, d: number): Float64Array {
  const { values, vectors: v } = symmetricEigen(a, d);
  const r = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = v[i * d + k] * s;
      for (let j = 0; j < d; j++) r[i * d + j] += vik * v[j * d + k];
    }
  }
  return r;
}

function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const r = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      for (let j = 0; j < d; j++) r[i * d + j] += aik * b[k * d + j];
    }
  }
  return r;
}

function checkSet(fn: string, name: string, f: FeatureSet): void {
  const ok = f && typeof f === 'object' && Number.isSafeInteger(f.n) && Number.isSafeInteger(f.d) && f.d >= 1 && f.data?.length === f.n * f.d;
  if (!ok) throw new Error(`${fn}: ${name} must be {data, n, d} with data holding n * d values, got ${describe(f)}`);
  if (f.n < 2) throw new Error(`${fn}: ${name} needs at least 2 feature vectors for a covariance, got ${f.n}`);
  for (let i = 0; i < f.data.length; i++) {
    if (!Number.isFinite(f.data[i])) throw new Error(`${fn}: ${name} holds ${f.data[i]} at row ${Math.floor(i / f.d)}, column ${i % f.d}; features must be finite`);
  }
}

/** The mean and unbiased covariance (divided by n - 1, as numpy.cov) of a feature set, in float64. */
export function featureMoments(features: FeatureSet): Moments {
  checkSet('featureMoments', 'features', features);
  const { data, n, d } = features;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d), row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j] - mean[j];
    for (let j = 0; j < d; j++) for (let k = j; k < d; k++) cov[j * d + k] += row[j] * row[k];
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) cov[k * d + j] = cov[j * d + k] /= n - 1;
  }
  return { mean, cov, d };
}

/** The Fréchet distance between two Gaussians given by their moments. */
export function frechetDistanceFromMoments(a: Moments, b: Moments): number {
  const fn = 'frechetDistanceFromMoments';
  for (const [name, m] of [['a', a], ['b', b]] as const) {
    if (!m || !(m.mean?.length === m.d) || !(m.cov?.length === m.d * m.d)) throw new Error(`${fn}: ${name} must be {mean, cov, d} with d means and d * d covariances, got ${describe(m)}`);
  }
  if (a.d !== b.d) throw new Error(`${fn}: a and b must have the same feature size, got ${a.d} and ${b.d}`);
  const d = a.d;
  let dist = 0;
  for (let j = 0; j < d; j++) dist += (a.mean[j] - b.mean[j]) ** 2 + a.cov[j * d + j] + b.cov[j * d + j];
  const s = sqrtmPsd(a.cov, d);
  const m = matmul(matmul(s, Float64Array.from(b.cov), d), s, d);
  // symmetric up to rounding; its symmetric part is what the eigenvalue iteration may assume
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
  const { values } = symmetricEigen(m, d);
  for (const v of values) dist -= 2 * Math.sqrt(Math.max(v, 0));
  return dist;
}

async function toSet(fn: string, name: string, f: Tensor | FeatureSet): Promise<FeatureSet> {
  if (!(f instanceof Tensor)) return f;
  if (f.isDisposed) throw new Error(`${fn}: ${name} is a disposed Tensor`);
  if (f.ndim !== 2) throw new Error(`${fn}: ${name} must have shape [N, D] (one feature vector per row), got ${shapeStr(f.shape)}`);
  return { data: await f.data(), n: f.shape[0], d: f.shape[1] };
}

/**
 * The Fréchet distance between the Gaussians fitted to two feature sets: Tensors [N, D] or
 * host sets {data, n, d} (the sets may differ in size, not in D). Computed in float64.
 */
export async function frechetDistance(realFeatures: Tensor | FeatureSet, fakeFeatures: Tensor | FeatureSet): Promise<number> {
  const fn = 'frechetDistance';
  const real = await toSet(fn, 'realFeatures', realFeatures), fake = await toSet(fn, 'fakeFeatures', fakeFeatures);
  checkSet(fn, 'realFeatures', real); checkSet(fn, 'fakeFeatures', fake);
  if (real.d !== fake.d) throw new Error(`${fn}: realFeatures and fakeFeatures must have the same feature size, got ${real.d} and ${fake.d}`);
  return frechetDistanceFromMoments(featureMoments(real), featureMoments(fake));
}
