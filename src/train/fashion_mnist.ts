// Node-only and synchronous: reads both splits of Fashion-MNIST from disk (scripts, tests).
// The public, platform-neutral loader is kn.data.fashionMNIST (datasets.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseIdx, type Dataset } from './data.js';
import { decodeSplit, FASHION_MNIST_DIR, FASHION_MNIST_CLASSES } from './datasets.js';

export { FASHION_MNIST_DIR, FASHION_MNIST_CLASSES };

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
  const names = { images: join(dir, `${prefix}-images-idx3-ubyte.gz`), labels: join(dir, `${prefix}-labels-idx1-ubyte.gz`) };
  return decodeSplit(readIdxGz(names.images), readIdxGz(names.labels), normalize, names);
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
