import { describe, expect, it } from 'vitest';
import { DataLoader, parseIdx, permutation, type Dataset } from '../../src/train/data.js';
import { loadFashionMNIST, FASHION_MNIST_DIR } from '../../src/train/fashion_mnist.js';
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as kn from '../../src/index.js';

/** Builds an unsigned-byte IDX buffer by hand: 0,0,8,ndim, big-endian dims, data. */
function idx(shape: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, 0x08, shape.length]);
  const v = new DataView(out.buffer);
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

function toyDataset(n: number, f: number): Dataset {
  const x = new Float32Array(n * f);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) x[i * f + j] = i * 100 + j;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = i;
  return { x, y, n, featureSize: f };
}

describe('parseIdx', () => {
  it('reads shape (big-endian, >255) and data', () => {
    const data = Array.from({ length: 2 * 300 }, (_, i) => i % 256);
    const { shape, data: out } = parseIdx(idx([2, 300], data));
    expect(shape).toEqual([2, 300]);
    expect(Array.from(out)).toEqual(data);
  });

  it('ignores trailing bytes', () => {
    const buf = new Uint8Array([...idx([3], [7, 8, 9]), 42, 43]);
    expect(Array.from(parseIdx(buf).data)).toEqual([7, 8, 9]);
  });

  it('rejects a bad magic, naming it', () => {
    const buf = idx([3], [1, 2, 3]);
    buf[2] = 0x0d; // float type
    expect(() => parseIdx(buf)).toThrow(/bad magic 0x00000d01/);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 0]))).toThrow(/bad magic/);
  });

  it('reports truncation with expected and actual sizes', () => {
    const buf = idx([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => parseIdx(buf.subarray(0, buf.length - 2))).toThrow(/expected 18 bytes, got 16/);
    expect(() => parseIdx(buf.subarray(0, 6))).toThrow(/truncated header: expected 12 bytes/);
    expect(() => parseIdx(new Uint8Array([0, 0]))).toThrow(/expected at least 4 bytes, got 2/);
  });
});

describe('DataLoader', () => {
  it('batches in order, last batch partial, rows and labels aligned', () => {
    const loader = new DataLoader(toyDataset(10, 3), { batchSize: 4 });
    expect(loader.length).toBe(3);
    const batches = [...loader];
    expect(batches.map((b) => b.size)).toEqual([4, 4, 2]);
    expect(Array.from(batches[2].y)).toEqual([8, 9]);
    expect(Array.from(batches[2].x)).toEqual([800, 801, 802, 900, 901, 902]);
    expect(batches[0].x.length).toBe(12);
  });

  it('dropLast drops the partial batch', () => {
    const loader = new DataLoader(toyDataset(10, 3), { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    expect([...loader].map((b) => b.size)).toEqual([4, 4]);
    expect(new DataLoader(toyDataset(8, 1), { batchSize: 4, dropLast: true }).length).toBe(2);
  });

  it('seeded shuffle: a permutation, reproducible, different per epoch and seed', () => {
    const ds = toyDataset(100, 2);
    const labels = (l: DataLoader) => [...l].flatMap((b) => Array.from(b.y));
    const a = new DataLoader(ds, { batchSize: 7, shuffle: true, seed: 42 });
    const b = new DataLoader(ds, { batchSize: 7, shuffle: true, seed: 42 });
    const a0 = labels(a), a1 = labels(a);
    expect(a0).toEqual(labels(b));
    expect(a1).toEqual(labels(b));
    expect([...a0].sort((p, q) => p - q)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a0).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a1).not.toEqual(a0);
    const c = new DataLoader(ds, { batchSize: 7, shuffle: true, seed: 43 });
    expect(labels(c)).not.toEqual(a0);
    // features follow their labels through the shuffle
    const first = [...new DataLoader(ds, { batchSize: 100, shuffle: true, seed: 1 })][0];
    for (let i = 0; i < 100; i++) expect(first.x[2 * i]).toBe(first.y[i] * 100);
  });

  it('epoch k order depends only on (seed, k)', () => {
    const ds = toyDataset(20, 1);
    const a = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 7 });
    [...a]; [...a];
    const third = [...a].flatMap((b) => Array.from(b.y));
    const b = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 7 });
    expect(Array.from(b.order(2))).toEqual(third);
  });

  it('permutation() covers every index once', () => {
    const p = Array.from(permutation(1000, 123)).sort((a, b) => a - b);
    expect(p).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('validates options and dataset with named errors', () => {
    const ds = toyDataset(4, 2);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => new DataLoader(ds, { batchSize: 2.5 })).toThrow(/batchSize/);
    expect(() => new DataLoader(ds, { batchSize: 2, seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => new DataLoader(ds, { batchSize: 2, shuffle: 'yes' as unknown as boolean })).toThrow(/shuffle must be a boolean/);
    expect(() => new DataLoader(ds, { batchSize: 2, dropLast: 1 as unknown as boolean })).toThrow(/dropLast/);
    expect(() => new DataLoader({ ...ds, n: 5 }, { batchSize: 2 })).toThrow(/dataset.x must be a Float32Array of n\*featureSize = 10/);
  });
});

describe('loadFashionMNIST', () => {
  it('loads 60000/10000 images of 784 features with labels 0..9', () => {
    const { train, test, classes } = loadFashionMNIST({ normalize: false });
    expect(train.n).toBe(60000);
    expect(test.n).toBe(10000);
    expect(train.featureSize).toBe(784);
    expect(test.featureSize).toBe(784);
    expect(train.x.length).toBe(60000 * 784);
    expect(test.y.length).toBe(10000);
    expect(classes).toHaveLength(10);
    let min = Infinity, max = -Infinity, sum = 0;
    for (const v of train.x) { if (v < min) min = v; if (v > max) max = v; sum += v; }
    expect(min).toBe(0);
    expect(max).toBe(1);
    expect(sum / train.x.length).toBeCloseTo(0.286, 2);
    const counts = new Array(10).fill(0);
    for (const l of train.y) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(6000)); // balanced, all labels in 0..9
    for (const l of test.y) expect(l >= 0 && l <= 9).toBe(true);
  });

  it('normalize=true standardizes to about mean 0, std 1', () => {
    const { test } = loadFashionMNIST();
    let sum = 0, sq = 0;
    for (const v of test.x) { sum += v; sq += v * v; }
    const mean = sum / test.x.length;
    // the test split's mean under the training split's constants is 0.002; an unnormalised
    // image has mean 0.29 and a wrong constant shifts it by far more than 0.05
    expect(Math.abs(mean)).toBeLessThan(0.05);
    // the constants are the training split's mean and std, so the test split lands near 1, not on
    // it: toBeCloseTo(1, 1) allows |std - 1| < 0.05, which a wrong constant would far exceed
    expect(Math.sqrt(sq / test.x.length - mean * mean)).toBeCloseTo(1, 1);
  });

  it('names the missing file and how to install it', () => {
    expect(() => loadFashionMNIST({ dir: '/nonexistent/fmnist' })).toThrow(
      "Fashion-MNIST file not found: /nonexistent/fmnist/train-images-idx3-ubyte.gz. Install Debian's package " +
        "'dataset-fashion-mnist' (apt-get install dataset-fashion-mnist) or pass {dir}.",
    );
  });
});

describe('kn.data.fashionMNIST', () => {
  // toEqual walks 7.8M elements one by one (over a minute); the bytes say the same
  const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
    Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
  it('reads a split from disk as loadFashionMNIST does', async () => {
    const test = await kn.data.fashionMNIST({ train: false });
    const want = loadFashionMNIST().test;
    expect(test.n).toBe(10000);
    expect(test.featureSize).toBe(784);
    expect(test.classes[9]).toBe('Ankle boot');
    expect(sameBytes(test.y, want.y)).toBe(true);
    expect(sameBytes(test.x, want.x)).toBe(true);
  });

  it('fetches from a URL (the browser path) and gunzips with DecompressionStream', async () => {
    const files = FASHION_MNIST_DIR;
    const server = createServer((req, res) => {
      const path = join(files, (req.url ?? '').replace(/^\/fm\//, ''));
      if (!req.url?.startsWith('/fm/') || !existsSync(path)) { res.writeHead(404).end(); return; }
      res.writeHead(200).end(readFileSync(path));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const { port } = server.address() as { port: number };
      const test = await kn.data.fashionMNIST({ train: false, root: `http://127.0.0.1:${port}/fm`, normalize: false });
      const want = loadFashionMNIST({ normalize: false }).test;
      expect(sameBytes(test.y, want.y)).toBe(true);
      expect(sameBytes(test.x, want.x)).toBe(true);
      await expect(kn.data.fashionMNIST({ root: `http://127.0.0.1:${port}/missing` })).rejects.toThrow(/fashionMNIST: fetching http:\/\/127.0.0.1:\d+\/missing\/train-images-idx3-ubyte.gz gave HTTP 404/);
    } finally { server.close(); }
  });

  it('rejects bad options and names a missing directory', async () => {
    await expect(kn.data.fashionMNIST({ trian: true } as never)).rejects.toThrow(/fashionMNIST: unknown option 'trian'/);
    await expect(kn.data.fashionMNIST({ train: 1 } as never)).rejects.toThrow(/fashionMNIST: train must be a boolean, got 1/);
    await expect(kn.data.fashionMNIST({ root: '/nonexistent/fm' })).rejects.toThrow(/fashionMNIST: cannot read \/nonexistent\/fm\/train-images-idx3-ubyte.gz .*dataset-fashion-mnist/);
  });
});
