// Fetches Fashion-MNIST's four gzipped IDX files into the page and parses them with Kiln's
// parseIdx. The files are served from demo/data/fashion-mnist/, whose entries are symbolic links
// to the copies Debian's package installs (so nothing is copied and only these four files are
// reachable). Pixels stay bytes here: 47 MB as bytes, 188 MB as floats, so batches are
// converted to floats as they are used (toFloat below).
import * as kn from '/dist/kiln.js';

export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const BASE = '/demo/data/fashion-mnist/';
const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist/';

async function fetchIdx(name) {
  const res = await fetch(BASE + name);
  if (!res.ok) {
    throw new Error(`Fashion-MNIST file ${name} is missing (HTTP ${res.status} for ${BASE}${name}, a link to ` +
      `${SYSTEM_DIR}${name}): install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`);
  }
  const gunzipped = res.body.pipeThrough(new DecompressionStream('gzip'));
  try {
    return kn.train.parseIdx(new Uint8Array(await new Response(gunzipped).arrayBuffer()));
  } catch (e) {
    throw new Error(`Fashion-MNIST file ${name} is unreadable: ${e.message}`);
  }
}

async function loadSplit(prefix) {
  const [images, labels] = await Promise.all([fetchIdx(`${prefix}-images-idx3-ubyte.gz`), fetchIdx(`${prefix}-labels-idx1-ubyte.gz`)]);
  const [n, rows, cols] = images.shape;
  if (rows !== 28 || cols !== 28 || labels.shape[0] !== n) {
    throw new Error(`Fashion-MNIST ${prefix}: expected [n, 28, 28] images and n labels, got [${images.shape}] and [${labels.shape}]`);
  }
  return { pixels: images.data, labels: labels.data, n };
}

/** Both splits as bytes: {train, test}, each {pixels (n*784 bytes), labels (n bytes), n}. */
export async function loadFashionMNIST() {
  const [train, test] = await Promise.all([loadSplit('train'), loadSplit('t10k')]);
  return { train, test };
}

// The normalisation of the main job's loader (src/train/fashion_mnist.ts): [0, 1], then the
// training set's mean and std
const LUT = Float32Array.from({ length: 256 }, (_, v) => (v / 255 - 0.286) / 0.353);

/** Images `indices` of a split as normalised floats, row after row (784 per image). */
export function toFloat(pixels, indices) {
  const out = new Float32Array(indices.length * 784);
  indices.forEach((img, r) => {
    for (let p = 0; p < 784; p++) out[r * 784 + p] = LUT[pixels[img * 784 + p]];
  });
  return out;
}
