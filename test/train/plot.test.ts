import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePNG, niceStep, renderBarChart, renderLineChart, type Image } from '../../src/train/plot.js';
import { writeChartsPNG } from '../../src/train/plot_node.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Minimal PNG reader for our own output: checks CRCs, inflates IDAT, undoes filter 0. */
function decodePNG(png: Uint8Array): Image {
  expect(Array.from(png.subarray(0, 8))).toEqual(SIGNATURE);
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let off = 8, width = 0, height = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (off < png.length) {
    const len = v.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    const data = png.subarray(off + 8, off + 8 + len);
    expect(v.getUint32(off + 8 + len)).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
    types.push(type);
    if (type === 'IHDR') {
      width = v.getUint32(off + 8);
      height = v.getUint32(off + 12);
      expect(Array.from(data.subarray(8))).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe(height * (width * 4 + 1));
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)]).toBe(0);
    rgba.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
  }
  return { width, height, rgba };
}

const pixel = (im: Image, x: number, y: number) => Array.from(im.rgba.subarray((y * im.width + x) * 4, (y * im.width + x) * 4 + 4));

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('encodePNG', () => {
  it('writes a signature, IHDR size and pixels that decode back', () => {
    const width = 3, height = 2;
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37) & 255;
    const png = encodePNG({ width, height, rgba }, (b) => deflateSync(b));
    const v = new DataView(png.buffer, png.byteOffset);
    expect(String.fromCharCode(...png.subarray(12, 16))).toBe('IHDR');
    expect([v.getUint32(16), v.getUint32(20)]).toEqual([3, 2]);
    const back = decodePNG(png);
    expect(back.width).toBe(3);
    expect(Array.from(back.rgba)).toEqual(Array.from(rgba));
  });

  it('rejects a wrong-size buffer', () => {
    expect(() => encodePNG({ width: 2, height: 2, rgba: new Uint8Array(15) }, (b) => b)).toThrow(/width\*height\*4 = 16/);
  });
});

describe('renderLineChart', () => {
  const spec = {
    title: 'loss',
    xLabel: 'epoch',
    yLabel: 'loss',
    series: [
      { name: 'train', values: [1, 0.6, 0.4, 0.3], color: '#ff0000' },
      { name: 'test', values: [1.1, 0.7, 0.55, 0.5], color: [0, 0, 255] as [number, number, number] },
    ],
  };

  it('has the requested size, a white background and both series colors', () => {
    const im = renderLineChart({ ...spec, width: 320, height: 200 });
    expect(im.width).toBe(320);
    expect(im.rgba.length).toBe(320 * 200 * 4);
    expect(pixel(im, 0, 0)).toEqual([255, 255, 255, 255]);
    let red = 0, blue = 0, dark = 0;
    for (let p = 0; p < im.rgba.length; p += 4) {
      const [r, g, b] = im.rgba.subarray(p, p + 3);
      if (r === 255 && g === 0 && b === 0) red++;
      if (r === 0 && g === 0 && b === 255) blue++;
      if (r < 60 && g < 60 && b < 60) dark++; // axes and text
    }
    expect(red).toBeGreaterThan(100);
    expect(blue).toBeGreaterThan(100);
    expect(dark).toBeGreaterThan(500);
  });

  it('draws a black y axis: a vertical run of black pixels', () => {
    const im = renderLineChart(spec);
    let best = 0;
    for (let x = 0; x < im.width / 3; x++) {
      let run = 0;
      for (let y = 0; y < im.height; y++) {
        const [r, g, b] = pixel(im, x, y);
        run = r === 0 && g === 0 && b === 0 ? run + 1 : 0;
        best = Math.max(best, run);
      }
    }
    expect(best).toBeGreaterThan(im.height / 2);
  });

  it('tolerates NaN, a single point and constant series', () => {
    expect(() => renderLineChart({ series: [{ name: 'a', values: [NaN, 2, 2, Infinity] }] })).not.toThrow();
    expect(() => renderLineChart({ series: [{ name: 'a', values: [3] }] })).not.toThrow();
    expect(() => renderLineChart({ series: [{ name: 'a', values: [] }] })).not.toThrow();
  });

  it('validates its options', () => {
    expect(() => renderLineChart({ series: [] })).toThrow(/series must be a non-empty array/);
    expect(() => renderLineChart({ series: [{ name: 'a', values: [1] }], width: 10 })).toThrow(/width must be an integer >= 200/);
    expect(() => renderLineChart({ series: [{ name: 'a', values: [1], color: 'red' }] })).toThrow(/'#rrggbb'/);
  });

  it('picks 1/2/5 tick steps', () => {
    expect(niceStep(1, 5)).toBeCloseTo(0.2);
    expect(niceStep(100, 5)).toBe(20);
    expect(niceStep(7, 5)).toBe(1);
  });
});

describe('renderBarChart', () => {
  const spec = {
    title: 'Kiln speed / peer',
    categories: ['matmul 1024', 'MLP step', 'attention fwd 2048'],
    series: [
      { name: 'TF.js', values: [7, 2.5, 0.5], color: '#ff0000' },
      { name: 'ORT', values: [NaN, 30, 1.2], color: [0, 0, 255] as [number, number, number] },
    ],
    log: true,
    width: 500,
    height: 260,
  };

  it('encodes to a valid PNG of the requested size, not blank, with both series colors', () => {
    const im = decodePNG(encodePNG(renderBarChart(spec), (b) => deflateSync(b)));
    expect([im.width, im.height]).toEqual([500, 260]);
    expect(pixel(im, 0, 0)).toEqual([255, 255, 255, 255]);
    let red = 0, blue = 0, dark = 0;
    for (let p = 0; p < im.rgba.length; p += 4) {
      const [r, g, b] = im.rgba.subarray(p, p + 3);
      if (r === 255 && g === 0 && b === 0) red++;
      if (r === 0 && g === 0 && b === 255) blue++;
      if (r < 60 && g < 60 && b < 60) dark++; // base line, axis and text
    }
    expect(red).toBeGreaterThan(300);
    expect(blue).toBeGreaterThan(300);
    expect(dark).toBeGreaterThan(300);
  });

  it('draws a bar below the base to the left of it and one above to the right (log axis)', () => {
    const im = renderBarChart({ ...spec, categories: ['slow', 'fast'], series: [{ name: 's', values: [0.1, 10], color: '#ff0000' }] });
    // x extent of the red bars in the top / bottom half: scanlines with one long run of red (not the legend's swatch)
    const rows: [number, number][] = [[Infinity, -Infinity], [Infinity, -Infinity]];
    for (let y = 0; y < im.height; y++) {
      const red = [...Array(im.width).keys()].filter((x) => { const [r, g, b] = pixel(im, x, y); return r === 255 && g === 0 && b === 0; });
      if (red.length < 30 || red[red.length - 1] - red[0] + 1 !== red.length) continue;
      const row = rows[y < im.height / 2 ? 0 : 1];
      row[0] = Math.min(row[0], red[0]); row[1] = Math.max(row[1], red[red.length - 1]);
    }
    const [[slowStart, slowEnd], [fastStart, fastEnd]] = rows;
    expect(Math.abs(slowEnd - fastStart)).toBeLessThanOrEqual(2); // both meet at the base (1x)
    expect(slowEnd - slowStart).toBeGreaterThan(50);
    expect(Math.abs((fastEnd - fastStart) - (slowEnd - slowStart))).toBeLessThanOrEqual(2); // 10x and 0.1x: one decade each way
  });

  it('validates its options', () => {
    expect(() => renderBarChart({ ...spec, categories: [] })).toThrow(/categories must be a non-empty array/);
    expect(() => renderBarChart({ ...spec, series: [{ name: 'a', values: [1] }] })).toThrow(/one value per category \(3\)/);
    expect(() => renderBarChart({ ...spec, width: 50 })).toThrow(/width must be an integer >= 200/);
    expect(() => renderBarChart({ ...spec, base: 0 })).toThrow(/log axis needs base > 0/);
  });
});

describe('writeChartsPNG', () => {
  it('writes charts side by side atomically, leaving no temp file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-plot-'));
    const path = join(dir, 'curves.png');
    writeChartsPNG(path, [
      { title: 'loss', series: [{ name: 'train', values: [1, 0.5, 0.3] }], width: 400, height: 300 },
      { title: 'accuracy %', series: [{ name: 'test', values: [60, 80, 85] }], width: 300, height: 250 },
    ]);
    const im = decodePNG(new Uint8Array(readFileSync(path)));
    expect([im.width, im.height]).toEqual([700, 300]);
    expect(pixel(im, 650, 280)).toEqual([255, 255, 255, 255]); // padding under the shorter chart
    expect(readdirSync(dir)).toEqual(['curves.png']);
  });
});
