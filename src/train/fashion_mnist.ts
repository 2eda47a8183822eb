// Node-only: reads the gzipped IDX files of Fashion-MNIST from disk.
// Browser code should fetch the files itself and use parseIdx from data.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseIdx, type Dataset } from './data.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Label index → name, as in the dataset's documentation. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

// Mean and std of the training pixels after scaling to [0, 1].
const MEAN = 0.286;
const STD = 0.353;

export interface FashionMNISTOptions {
  dir?: string;
  /** true: (x - 0.2860) / 0.3530 after scaling to [0, 1]; false: just [0, 1]. */
  normalize?: boolean;
}

function readIdxGz(path: string): { shape: number[]; data: Uint8Array } {
  if (!existsSync(path)) {
    throw new Error(
      `Fashion-MNIST file not found: ${path}. Install Debian's package 'dataset-fashion-mnist' ` +
        `(apt-get install dataset-fashion-mnist) or pass {dir}.`,
    );
  }
  try {
    return parseIdx(gunzipSync(readFileSync(path)));
  } catch (e) {
    throw new Error(`Fashion-MNIST file ${path} is unreadable: ${(e as Error).message}`);
  }
}

function loadSplit(dir: string, prefix: string, normalize: boolean): Dataset {
  const imagesPath = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  const labelsPath = join(dir, `${prefix}-labels-idx1-ubyte.gz`);
  const images = readIdxGz(imagesPath);
  const labels = readIdxGz(labelsPath);
  if (images.shape.length !== 3) {
    throw new Error(`${imagesPath}: expected 3 dims [n, rows, cols], got [${images.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new Error(
      `${labelsPath}: expected shape [${images.shape[0]}] to match the images, got [${labels.shape.join(', ')}]`,
    );
  }
  const [n, rows, cols] = images.shape;
  const featureSize = rows * cols;
  // One pass with a lookup table: 47M pixels for the training split.
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = normalize ? (v / 255 - MEAN) / STD : v / 255;
  const x = new Float32Array(n * featureSize);
  const px = images.data;
  for (let i = 0; i < x.length; i++) x[i] = lut[px[i]];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labels.data[i];
    if (label > 9) throw new Error(`${labelsPath}: label ${label} at index ${i} is outside 0..9`);
    y[i] = label;
  }
  return { x, y, n, featureSize };
}

/** Loads both splits: train 60000 and test 10000 images of 28x28 = 784 features. */
export function loadFashionMNIST(options: FashionMNISTOptions = {}): {
  train: Dataset;
  test: Dataset;
  classes: string[];
} {
  const { dir = FASHION_MNIST_DIR, normalize = true } = options;
  return {
    train: loadSplit(dir, 'train', normalize),
    test: loadSplit(dir, 't10k', normalize),
    classes: [...FASHION_MNIST_CLASSES],
  };
}
