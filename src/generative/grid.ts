// A grid of grayscale images (samples, reconstructions) as an RGBA image for encodePNG.
import { options, checkInt, describe } from '../graph/args.js';
import type { Image } from '../train/plot.js';

export interface GridOptions {
  /** images per row (default: the ceiling of sqrt(n)) */
  cols?: number;
  /** pixels between images (default 2) */
  pad?: number;
  /** each pixel drawn as scale x scale (default 2) */
  scale?: number;
}

/**
 * n images of height x width values in [0, 1] (row-major, one after another; values outside
 * are clamped) as one image, white on black, with gray padding.
 */
export function imageGrid(data: ArrayLike<number>, n: number, height: number, width: number, opts: GridOptions = {}): Image {
  const fn = 'imageGrid';
  checkInt(fn, 'n', n, 1); checkInt(fn, 'height', height, 1); checkInt(fn, 'width', width, 1);
  options(fn, opts, ['cols', 'pad', 'scale']);
  if (!data || data.length !== n * height * width) throw new Error(`${fn}: data must hold n * height * width = ${n * height * width} values, got ${describe(data)}`);
  const cols = checkInt(fn, 'cols', opts.cols ?? Math.ceil(Math.sqrt(n)), 1);
  const pad = checkInt(fn, 'pad', opts.pad ?? 2, 0), scale = checkInt(fn, 'scale', opts.scale ?? 2, 1);
  const rows = Math.ceil(n / cols);
  const cw = width * scale + pad, ch = height * scale + pad;
  const W = cols * cw + pad, H = rows * ch + pad;
  const rgba = new Uint8Array(W * H * 4).fill(128);
  for (let k = 0; k < n; k++) {
    const x0 = pad + (k % cols) * cw, y0 = pad + Math.floor(k / cols) * ch;
    for (let y = 0; y < height * scale; y++) {
      for (let x = 0; x < width * scale; x++) {
        const v = data[k * height * width + Math.floor(y / scale) * width + Math.floor(x / scale)];
        // NaN draws as red, so a broken sample cannot pass for a dark one
        const o = ((y0 + y) * W + x0 + x) * 4;
        if (Number.isNaN(v)) rgba.set([255, 0, 0], o);
        else rgba.fill(Math.round(Math.min(Math.max(v, 0), 1) * 255), o, o + 3);
        rgba[o + 3] = 255;
      }
    }
  }
  return { width: W, height: H, rgba };
}
