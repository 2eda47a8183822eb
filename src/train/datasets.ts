// Datasets by name, as torchvision.datasets: `await kn.data.fashionMNIST({train})`. The same
// code runs in Node (files on disk, Debian's dataset-fashion-mnist by default) and in the
// browser (files fetched from a URL); the gzip is undone by the platform's DecompressionStream.
import { parseIdx, type Dataset } from './data.js';
import { options, describe } from '../graph/args.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Label index → name, as in the dataset's documentation. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** Mean and std of the training pixels after scaling to [0, 1]. */
const MEAN = 0.286, STD = 0.353;

/**
 * A split from its two IDX files: pixels scaled to [0, 1] (then standardized with the training
 * split's mean and std when `normalize`), labels checked against the number of classes.
 */
export function decodeSplit(images: { shape: number[]; data: Uint8Array }, labels: { shape: number[]; data: Uint8Array },
  normalize: boolean, names: { images: string; labels: string }, classes = 10): Dataset {
  if (images.shape.length !== 3) throw new Error(`${names.images}: expected 3 dims [n, rows, cols], got [${images.shape.join(', ')}]`);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`${names.labels}: expected shape [${images.shape[0]}] to match the images, got [${labels.shape.join(', ')}]`);
  }
  const [n, rows, cols] = images.shape;
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = normalize ? (v / 255 - MEAN) / STD : v / 255;
  const x = new Float32Array(n * rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = lut[images.data[i]];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= classes) throw new Error(`${names.labels}: label ${labels.data[i]} at index ${i} is outside 0..${classes - 1}`);
    y[i] = labels.data[i];
  }
  return { x, y, n, featureSize: rows * cols };
}

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;
const isUrl = (root: string) => /^(https?:|file:|blob:|data:)/.test(root) || !isNode();

async function readBytes(root: string, file: string): Promise<Uint8Array> {
  const where = `${root.replace(/\/$/, '')}/${file}`;
  if (!isUrl(root)) {
    const fs = await import('node:fs/promises');
    try {
      return new Uint8Array(await fs.readFile(where));
    } catch (e) {
      throw new Error(`fashionMNIST: cannot read ${where} (${(e as Error).message}). Install Debian's package ` +
        `'dataset-fashion-mnist' (apt-get install dataset-fashion-mnist) or pass {root}.`);
    }
  }
  const res = await fetch(where);
  if (!res.ok) throw new Error(`fashionMNIST: fetching ${where} gave HTTP ${res.status}; serve the four .gz files of Fashion-MNIST there, or pass {root}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function gunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`fashionMNIST: ${file} is not a readable gzip file (${(e as Error).message})`);
  }
}

export interface FashionMNISTOptions {
  /** the training split (60000 images, default) or the test split (10000) */
  train?: boolean;
  /** a directory (Node) or a URL (browser, Node) holding the four .gz files */
  root?: string;
  /** standardize with the training split's mean 0.286 and std 0.353 (default), else [0, 1] */
  normalize?: boolean;
}

/** Fashion-MNIST, one split: n images of 28x28 = 784 features and their labels 0..9. */
export async function fashionMNIST(opts: FashionMNISTOptions = {}): Promise<Dataset & { classes: string[] }> {
  options('fashionMNIST', opts, ['train', 'root', 'normalize']);
  const { train = true, root = isNode() ? FASHION_MNIST_DIR : 'data/fashion-mnist', normalize = true } = opts;
  for (const [k, v] of [['train', train], ['normalize', normalize]] as const) {
    if (typeof v !== 'boolean') throw new Error(`fashionMNIST: ${k} must be a boolean, got ${describe(v)}`);
  }
  if (typeof root !== 'string') throw new Error(`fashionMNIST: root must be a string, got ${describe(root)}`);
  const prefix = train ? 'train' : 't10k';
  const names = { images: `${prefix}-images-idx3-ubyte.gz`, labels: `${prefix}-labels-idx1-ubyte.gz` };
  const [images, labels] = await Promise.all([names.images, names.labels].map(async (f) => {
    const raw = await gunzip(await readBytes(root, f), f);
    try { return parseIdx(raw); } catch (e) { throw new Error(`fashionMNIST: ${f}: ${(e as Error).message}`); }
  }));
  return { ...decodeSplit(images, labels, normalize, names), classes: [...FASHION_MNIST_CLASSES] };
}
