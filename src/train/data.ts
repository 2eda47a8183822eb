// Data loading that works the same in the browser and in Node: IDX parsing and a
// batching DataLoader over an in-memory dataset. No Node imports here on purpose;
// file access lives in the Node-only loaders (fashion_mnist.ts).

/** An in-memory classification dataset: `n` rows of `featureSize` floats, one label each. */
export interface Dataset {
  x: Float32Array;
  y: Int32Array;
  n: number;
  featureSize: number;
}

/** One mini-batch; `size` may be smaller than batchSize for the last batch. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  size: number;
}

export interface DataLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  dropLast?: boolean;
}

// ---------------------------------------------------------------------------
// IDX (the MNIST file format): 2 zero bytes, a type byte, a dims-count byte,
// then one big-endian uint32 per dim, then the data. Only ubyte (0x08) is used
// by MNIST-style datasets, so it is the only type accepted.

const IDX_UBYTE = 0x08;

export function parseIdx(bytes: Uint8Array): { shape: number[]; data: Uint8Array } {
  if (bytes.length < 4) {
    throw new Error(`parseIdx: truncated header: expected at least 4 bytes, got ${bytes.length}`);
  }
  const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const ndim = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== IDX_UBYTE || ndim === 0) {
    throw new Error(
      `parseIdx: bad magic 0x${magic.toString(16).padStart(8, '0')}: expected 0x000008NN ` +
        `(unsigned-byte IDX with NN >= 1 dimensions)`,
    );
  }
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) {
    throw new Error(
      `parseIdx: truncated header: expected ${headerLen} bytes for ${ndim} dims, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const expected = headerLen + count;
  if (bytes.length < expected) {
    throw new Error(
      `parseIdx: truncated data for shape [${shape.join(', ')}]: expected ${expected} bytes, got ${bytes.length}`,
    );
  }
  // A view, not a copy: the caller usually converts to float right away.
  return { shape, data: bytes.subarray(headerLen, expected) };
}

// ---------------------------------------------------------------------------
// Seeded randomness. mulberry32 is tiny, fast and good enough for shuffling;
// each epoch gets its own stream so epoch k's order does not depend on how many
// earlier epochs were actually iterated.

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes (seed, epoch) into one 32-bit seed (murmur3's finalizer) so nearby pairs diverge. */
function epochSeed(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seeded Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

// ---------------------------------------------------------------------------

function checkDataset(d: Dataset): void {
  if (!Number.isInteger(d.n) || d.n < 0) {
    throw new Error(`DataLoader: dataset.n must be a non-negative integer, got ${d.n}`);
  }
  if (!Number.isInteger(d.featureSize) || d.featureSize < 1) {
    throw new Error(`DataLoader: dataset.featureSize must be a positive integer, got ${d.featureSize}`);
  }
  if (!(d.x instanceof Float32Array) || d.x.length !== d.n * d.featureSize) {
    throw new Error(
      `DataLoader: dataset.x must be a Float32Array of n*featureSize = ${d.n * d.featureSize} values, ` +
        `got ${d.x instanceof Float32Array ? d.x.length : typeof d.x}`,
    );
  }
  if (!(d.y instanceof Int32Array) || d.y.length !== d.n) {
    throw new Error(
      `DataLoader: dataset.y must be an Int32Array of n = ${d.n} labels, ` +
        `got ${d.y instanceof Int32Array ? d.y.length : typeof d.y}`,
    );
  }
}

function checkOptions(o: DataLoaderOptions): Required<DataLoaderOptions> {
  if (o === null || typeof o !== 'object') {
    throw new Error(`DataLoader: options must be an object like {batchSize: 64}, got ${o}`);
  }
  const { batchSize, shuffle = false, seed = 0, dropLast = false } = o;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`DataLoader: options.batchSize must be a positive integer, got ${batchSize}`);
  }
  if (typeof shuffle !== 'boolean') {
    throw new Error(`DataLoader: options.shuffle must be a boolean, got ${typeof shuffle}`);
  }
  if (!Number.isInteger(seed)) {
    throw new Error(`DataLoader: options.seed must be an integer, got ${seed}`);
  }
  if (typeof dropLast !== 'boolean') {
    throw new Error(`DataLoader: options.dropLast must be a boolean, got ${typeof dropLast}`);
  }
  return { batchSize, shuffle, seed, dropLast };
}

/**
 * Mini-batches over an in-memory Dataset, like torch.utils.data.DataLoader.
 * Each `for (const batch of loader)` is one epoch; with shuffle, epoch k's order
 * is a pure function of (seed, k), so runs are reproducible.
 */
export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** The epoch the next iteration will use; advances by one per iteration. */
  epoch = 0;

  constructor(dataset: Dataset, options: DataLoaderOptions) {
    checkDataset(dataset);
    const o = checkOptions(options);
    this.dataset = dataset;
    this.batchSize = o.batchSize;
    this.shuffle = o.shuffle;
    this.seed = o.seed;
    this.dropLast = o.dropLast;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.n;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of a given epoch (identity when not shuffling). */
  order(epoch: number): Uint32Array {
    const n = this.dataset.n;
    if (this.shuffle) return permutation(n, epochSeed(this.seed, epoch));
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return p;
  }

  /** Iterates the batches of one specific epoch without touching `this.epoch`. */
  *batches(epoch: number): Generator<Batch> {
    const { x, y, featureSize: f } = this.dataset;
    const order = this.order(epoch);
    const nBatches = this.length;
    for (let b = 0; b < nBatches; b++) {
      const start = b * this.batchSize;
      const size = Math.min(this.batchSize, order.length - start);
      // Fresh arrays per batch: callers may keep or upload them asynchronously.
      const bx = new Float32Array(size * f);
      const by = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const src = order[start + i];
        bx.set(x.subarray(src * f, (src + 1) * f), i * f);
        by[i] = y[src];
      }
      yield { x: bx, y: by, size };
    }
  }

  [Symbol.iterator](): Iterator<Batch> {
    return this.batches(this.epoch++);
  }
}
