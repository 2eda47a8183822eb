// Node-only: writes charts to a PNG file using node:zlib for deflate.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { composeHorizontal, encodePNG, renderLineChart, type ChartSpec } from './plot.js';

/**
 * Renders the charts side by side (e.g. loss and accuracy per epoch) into one PNG.
 * The file is replaced atomically (temp file in the same dir, fsync, rename), so a
 * viewer polling it during training never sees half a file.
 */
export function writeChartsPNG(path: string, charts: ChartSpec[]): void {
  if (!Array.isArray(charts) || charts.length === 0) {
    throw new Error('writeChartsPNG: charts must be a non-empty array of chart specs');
  }
  const img = composeHorizontal(charts.map(renderLineChart));
  const png = encodePNG(img, (b) => deflateSync(b));
  writeFileAtomic(path, png);
}

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
}
