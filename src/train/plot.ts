// Dependency-free line charts (loss/accuracy curves) rendered to RGBA pixels, plus a
// PNG encoder. Browser-safe: the deflate function is injected (node:zlib in
// plot_node.ts, CompressionStream or a JS inflate library in a browser).
import { GLYPH_DESCENT, GLYPH_H, GLYPH_W, glyphColumns } from './font5x7.js';

export type RGB = [number, number, number];

export interface Series {
  name: string;
  values: number[];
  /** '#rrggbb' or [r, g, b]; default: the next color of a tab10-like palette. */
  color?: string | RGB;
}

export interface ChartSpec {
  title?: string;
  series: Series[];
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** x of values[0]; values[i] is drawn at xStart + i. Default 1 (epochs count from 1). */
  xStart?: number;
}

export interface Image {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const PALETTE: RGB[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];
const WHITE: RGB = [255, 255, 255];
const BLACK: RGB = [0, 0, 0];
const TEXT: RGB = [40, 40, 40];
const GRID: RGB = [228, 228, 228];
const FRAME: RGB = [150, 150, 150];

function parseColor(c: string | RGB | undefined, i: number): RGB {
  if (c === undefined) return PALETTE[i % PALETTE.length];
  if (Array.isArray(c)) return c;
  const m = /^#([0-9a-f]{6})$/i.exec(c);
  if (!m) throw new Error(`renderLineChart: color must be '#rrggbb' or [r, g, b], got '${c}'`);
  const v = parseInt(m[1], 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// ---------------------------------------------------------------------------
// A minimal raster: rectangles, thick lines, dots and bitmap text.

class Canvas {
  readonly rgba: Uint8Array;
  /** Pixels covered by data lines, so the legend can avoid them. */
  readonly ink: Uint8Array;
  constructor(readonly width: number, readonly height: number, bg: RGB) {
    this.rgba = new Uint8Array(width * height * 4);
    this.ink = new Uint8Array(width * height);
    this.fill(0, 0, width, height, bg);
  }

  set(x: number, y: number, c: RGB, ink = false): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const p = y * this.width + x;
    this.rgba[4 * p] = c[0];
    this.rgba[4 * p + 1] = c[1];
    this.rgba[4 * p + 2] = c[2];
    this.rgba[4 * p + 3] = 255;
    if (ink) this.ink[p] = 1;
  }

  fill(x: number, y: number, w: number, h: number, c: RGB, ink = false): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, c, ink);
  }

  /** Bresenham, stamping a thickness x thickness square at each step. */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thickness = 1, ink = false): void {
    x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const off = Math.floor((thickness - 1) / 2);
    let err = dx + dy;
    for (;;) {
      this.fill(x0 - off, y0 - off, thickness, thickness, c, ink);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }

  dot(cx: number, cy: number, r: number, c: RGB): void {
    for (let j = -r; j <= r; j++) {
      for (let i = -r; i <= r; i++) if (i * i + j * j <= r * r + r) this.set(cx + i, cy + j, c, true);
    }
  }

  /** Text with its top-left at (x, y); `vertical` reads bottom-to-top starting at (x, y) going up. */
  text(x: number, y: number, s: string, scale: number, c: RGB, vertical = false): void {
    for (let k = 0; k < s.length; k++) {
      const cols = glyphColumns(s[k]);
      for (let gx = 0; gx < GLYPH_W; gx++) {
        for (let gy = 0; gy < GLYPH_H + GLYPH_DESCENT; gy++) {
          if (!((cols[gx] >> gy) & 1)) continue;
          const u = (k * (GLYPH_W + 1) + gx) * scale; // along the text
          const v = gy * scale; // across the text
          if (vertical) this.fill(x + v, y - u - scale + 1, scale, scale, c);
          else this.fill(x + u, y + v, scale, scale, c);
        }
      }
    }
  }
}

export function textWidth(s: string, scale: number): number {
  return s.length === 0 ? 0 : (s.length * (GLYPH_W + 1) - 1) * scale;
}

// ---------------------------------------------------------------------------
// Axis ticks at 1/2/5 x 10^k steps.

export function niceStep(range: number, targetTicks: number): number {
  const raw = range / Math.max(1, targetTicks);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/**
 * Labels for one axis, formatted alike: decimals follow the step, and large axes use
 * a shared k/M/G suffix (0.8M, 1.0M, 1.2M) instead of mixing 800000 with 1.2e6.
 */
function tickLabels(values: number[], step: number): string[] {
  const maxAbs = Math.max(...values.map(Math.abs));
  const [unit, suffix] = maxAbs >= 1e9 ? [1e9, 'G'] : maxAbs >= 1e6 ? [1e6, 'M'] : maxAbs >= 1e5 ? [1e3, 'k'] : [1, ''];
  if (maxAbs > 0 && maxAbs < 1e-4) return values.map((v) => v.toExponential(1)); // rare: tiny axes
  const decimals = Math.max(0, -Math.floor(Math.log10(step / unit) + 1e-9));
  return values.map((v) => {
    const t = (v / unit).toFixed(decimals);
    return (/^-0\.?0*$/.test(t) ? t.slice(1) : t) + (v === 0 ? '' : suffix); // no '-0.0'
  });
}

function ticks(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let i = first; i * step <= hi + step * 1e-9; i++) out.push(i * step);
  return out;
}

// ---------------------------------------------------------------------------

function validate(spec: ChartSpec): { width: number; height: number } {
  const { width = 640, height = 400 } = spec;
  if (!Number.isInteger(width) || width < 200) {
    throw new Error(`renderLineChart: width must be an integer >= 200, got ${width}`);
  }
  if (!Number.isInteger(height) || height < 150) {
    throw new Error(`renderLineChart: height must be an integer >= 150, got ${height}`);
  }
  if (!Array.isArray(spec.series) || spec.series.length === 0) {
    throw new Error(`renderLineChart: series must be a non-empty array of {name, values}`);
  }
  for (const s of spec.series) {
    if (!Array.isArray(s.values)) {
      throw new Error(`renderLineChart: series '${s.name}' needs values: number[], got ${typeof s.values}`);
    }
  }
  return { width, height };
}

/** Renders a line chart with axes, ticks, grid, legend and labels. Non-finite values leave gaps. */
export function renderLineChart(spec: ChartSpec): Image {
  const { width, height } = validate(spec);
  const { title = '', xLabel = '', yLabel = '', xStart = 1 } = spec;
  const cv = new Canvas(width, height, WHITE);
  // Glyphs are 7 px tall: double them on normal-sized charts so labels stay legible.
  const s = width >= 480 && height >= 300 ? 2 : 1;
  const ts = s; // tick label scale
  const lineH = (GLYPH_H + GLYPH_DESCENT) * s; // a text line, descenders included

  // Data ranges.
  const n = Math.max(0, ...spec.series.map((se) => se.values.length));
  let yMin = Infinity, yMax = -Infinity;
  for (const se of spec.series) for (const v of se.values) if (Number.isFinite(v)) {
    yMin = Math.min(yMin, v);
    yMax = Math.max(yMax, v);
  }
  if (yMin > yMax) { yMin = 0; yMax = 1; }
  if (yMin === yMax) { const d = Math.abs(yMin) * 0.1 || 1; yMin -= d; yMax += d; }
  const yStep = niceStep(yMax - yMin, 5);
  yMin = Math.floor(yMin / yStep + 1e-9) * yStep;
  yMax = Math.ceil(yMax / yStep - 1e-9) * yStep;
  let xMin = xStart, xMax = xStart + Math.max(0, n - 1);
  if (xMin === xMax) { xMin -= 1; xMax += 1; }
  const xStep = Math.max(1, niceStep(xMax - xMin, 8)); // x is an index: integer ticks
  const yTicks = ticks(yMin, yMax, yStep);
  const xTicks = ticks(xMin, xMax, xStep);
  const yTickLabels = tickLabels(yTicks, yStep);
  const xTickLabels = tickLabels(xTicks, xStep);

  // Layout: title on top, x label below the ticks, y label rotated on the left.
  const pad = 4 * s;
  const tickLen = 3 * s;
  const top = pad * 2 + (title ? lineH + pad : 0);
  const bottom = height - (pad + (xLabel ? lineH + pad : 0) + GLYPH_H * ts + pad + tickLen);
  const left = pad + (yLabel ? lineH + pad * 2 : 0) + Math.max(...yTickLabels.map((l) => textWidth(l, ts))) + pad + tickLen;
  const right = width - pad * 3;
  const px = (x: number) => left + ((x - xMin) / (xMax - xMin)) * (right - left);
  const py = (y: number) => bottom - ((y - yMin) / (yMax - yMin)) * (bottom - top);

  // Grid, ticks and tick labels.
  yTicks.forEach((v, i) => {
    const y = Math.round(py(v));
    cv.line(left, y, right, y, GRID);
    cv.line(left - tickLen, y, left, y, BLACK);
    const l = yTickLabels[i];
    cv.text(left - tickLen - pad - textWidth(l, ts), y - Math.floor((GLYPH_H * ts) / 2), l, ts, TEXT);
  });
  xTicks.forEach((v, i) => {
    const x = Math.round(px(v));
    cv.line(x, top, x, bottom, GRID);
    cv.line(x, bottom, x, bottom + tickLen, BLACK);
    const l = xTickLabels[i];
    cv.text(x - Math.floor(textWidth(l, ts) / 2), bottom + tickLen + pad, l, ts, TEXT);
  });
  // Frame: the axes in black, the other two sides light.
  cv.line(left, top, right, top, FRAME);
  cv.line(right, top, right, bottom, FRAME);
  cv.line(left, bottom, right, bottom, BLACK);
  cv.line(left, top, left, bottom, BLACK);

  // Labels.
  if (title) cv.text(Math.round((left + right - textWidth(title, s)) / 2), pad * 2, title, s, BLACK);
  if (xLabel) cv.text(Math.round((left + right - textWidth(xLabel, s)) / 2), height - pad - lineH, xLabel, s, TEXT);
  if (yLabel) cv.text(pad, Math.round((top + bottom + textWidth(yLabel, s)) / 2), yLabel, s, TEXT, true);

  // Series: thick polylines, dots when there are few points; NaN/Infinity break the line.
  const colors = spec.series.map((se, i) => parseColor(se.color, i));
  spec.series.forEach((se, i) => {
    const c = colors[i];
    let prev: [number, number] | null = null;
    se.values.forEach((v, j) => {
      if (!Number.isFinite(v)) { prev = null; return; }
      const p: [number, number] = [px(xStart + j), py(v)];
      if (prev) cv.line(prev[0], prev[1], p[0], p[1], c, s, true);
      const isolated = !prev && !Number.isFinite(se.values[j + 1]); // no line would show it
      if (n <= 40 || isolated) cv.dot(p[0], p[1], s + 1, c);
      prev = p;
    });
  });

  drawLegend(cv, spec.series, colors, { left, right, top, bottom }, s);
  return { width, height, rgba: cv.rgba };
}

/** A boxed legend in whichever inner corner covers the fewest line pixels. */
function drawLegend(
  cv: Canvas,
  series: Series[],
  colors: RGB[],
  area: { left: number; right: number; top: number; bottom: number },
  s: number,
): void {
  const pad = 4 * s;
  const swatch = 8 * s;
  const rowH = (GLYPH_H + GLYPH_DESCENT) * s + pad;
  const w = pad * 3 + swatch + Math.max(...series.map((se) => textWidth(se.name, s)));
  const h = pad + rowH * series.length - 2 * s;
  const m = pad * 2;
  const corners: [number, number][] = [
    [area.right - m - w, area.top + m],
    [area.left + m, area.top + m],
    [area.right - m - w, area.bottom - m - h],
    [area.left + m, area.bottom - m - h],
  ];
  let best = corners[0];
  let bestInk = Infinity;
  for (const [x0, y0] of corners) {
    let count = 0;
    for (let y = Math.max(0, y0); y < Math.min(cv.height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(cv.width, x0 + w); x++) count += cv.ink[y * cv.width + x];
    }
    if (count < bestInk) { bestInk = count; best = [x0, y0]; }
  }
  const [x0, y0] = best;
  cv.fill(x0, y0, w, h, WHITE);
  cv.line(x0, y0, x0 + w, y0, FRAME);
  cv.line(x0, y0 + h, x0 + w, y0 + h, FRAME);
  cv.line(x0, y0, x0, y0 + h, FRAME);
  cv.line(x0 + w, y0, x0 + w, y0 + h, FRAME);
  series.forEach((se, i) => {
    const y = y0 + pad + i * rowH;
    const mid = y + Math.floor((GLYPH_H * s) / 2);
    cv.line(x0 + pad, mid, x0 + pad + swatch, mid, colors[i], s);
    cv.text(x0 + pad * 2 + swatch, y, se.name, s, TEXT);
  });
}

/** Places images left to right on a white background, top-aligned. */
export function composeHorizontal(images: Image[], gap = 0): Image {
  if (images.length === 0) throw new Error('composeHorizontal: need at least one image');
  const width = images.reduce((a, im) => a + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const rgba = new Uint8Array(width * height * 4).fill(255);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) {
      rgba.set(im.rgba.subarray(y * im.width * 4, (y + 1) * im.width * 4), (y * width + x0) * 4);
    }
    x0 += im.width + gap;
  }
  return { width, height, rgba };
}

// ---------------------------------------------------------------------------
// PNG: signature, IHDR (8-bit RGBA), one IDAT of zlib data, IEND; each chunk CRC32'd.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes RGBA pixels as a PNG. `deflate` must produce zlib-wrapped data
 * (node:zlib deflateSync, or CompressionStream('deflate') in browsers).
 */
export function encodePNG(img: Image, deflate: (b: Uint8Array) => Uint8Array): Uint8Array {
  const { width, height, rgba } = img;
  if (rgba.length !== width * height * 4) {
    throw new Error(`encodePNG: rgba must hold width*height*4 = ${width * height * 4} bytes, got ${rgba.length}`);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // bit depth 8, color type RGBA, deflate, no filter, no interlace
  // Each scanline is prefixed by its filter type; 0 (none) keeps the encoder trivial.
  const raw = new Uint8Array(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflate(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

// ---------------------------------------------------------------------------
// Horizontal bar charts: one row of bars per category (e.g. a benchmark workload), one bar per
// series in every row (e.g. a peer), drawn from a base value, on a linear or log axis.

export interface BarChartSpec {
  title?: string;
  /** one row per category, labelled on the left */
  categories: string[];
  /** one bar per series in every row: values[i] belongs to categories[i]; a non-finite value (or, on a log axis, one <= 0) draws no bar */
  series: Series[];
  xLabel?: string;
  width?: number;
  height?: number;
  /** log10 value axis, for ratios that span decades */
  log?: boolean;
  /** bars start here and a black line marks it: default 1 on a log axis (a ratio of 1), else 0 */
  base?: number;
  /** tick label text; default the number itself */
  format?: (v: number) => string;
}

/** Ticks of a log10 axis over [10^lo, 10^hi]: decades, with 2 and 5 between them when few decades show. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const steps = hi - lo <= 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of steps) {
      const v = m * 10 ** e;
      const t = Math.log10(v);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push(Number(v.toPrecision(6)));
    }
  }
  return out;
}

/** Renders a horizontal bar chart with a value axis, grid, category labels and a legend. */
export function renderBarChart(spec: BarChartSpec): Image {
  const { width = 640, height = 400, title = '', xLabel = '', log = false } = spec;
  if (!Number.isInteger(width) || width < 200) throw new Error(`renderBarChart: width must be an integer >= 200, got ${width}`);
  if (!Number.isInteger(height) || height < 100) throw new Error(`renderBarChart: height must be an integer >= 100, got ${height}`);
  if (!Array.isArray(spec.categories) || spec.categories.length === 0) throw new Error('renderBarChart: categories must be a non-empty array of strings');
  if (!Array.isArray(spec.series) || spec.series.length === 0) throw new Error('renderBarChart: series must be a non-empty array of {name, values}');
  for (const se of spec.series) {
    if (!Array.isArray(se.values) || se.values.length !== spec.categories.length) {
      throw new Error(`renderBarChart: series '${se.name}' needs one value per category (${spec.categories.length}), got ${Array.isArray(se.values) ? se.values.length : typeof se.values}`);
    }
  }
  const base = spec.base ?? (log ? 1 : 0);
  if (log && !(base > 0)) throw new Error(`renderBarChart: a log axis needs base > 0, got ${base}`);
  const shown = (v: number) => Number.isFinite(v) && (!log || v > 0);
  const t = (v: number) => (log ? Math.log10(v) : v);

  // Value range: every shown value and the base, padded to whole ticks.
  let lo = t(base), hi = t(base);
  for (const se of spec.series) for (const v of se.values) if (shown(v)) { lo = Math.min(lo, t(v)); hi = Math.max(hi, t(v)); }
  let ticksAt: number[];
  if (log) {
    lo = Math.floor(lo + 1e-9);
    hi = Math.max(Math.ceil(hi - 1e-9), lo + 1);
    ticksAt = logTicks(lo, hi);
  } else {
    if (lo === hi) hi = lo + 1;
    const step = niceStep(hi - lo, 6);
    lo = Math.floor(lo / step + 1e-9) * step;
    hi = Math.ceil(hi / step - 1e-9) * step;
    ticksAt = ticks(lo, hi, step);
  }
  const fmt = spec.format ?? ((v: number) => String(Number(v.toPrecision(3))));

  const cv = new Canvas(width, height, WHITE);
  // title and axis label doubled where they fit; category labels, ticks and legend at 1x so long names fit
  const s = width >= 480 && height >= 300 && textWidth(title, 2) <= width - 16 ? 2 : 1;
  const pad = 4 * s;
  const tickLen = 3 * s;
  const lineH = (GLYPH_H + GLYPH_DESCENT) * s;
  const legendH = GLYPH_H + GLYPH_DESCENT + 4; // one row of legend entries under the title, clear of the bars
  const labelW = Math.max(...spec.categories.map((c) => textWidth(c, 1)));
  const top = pad * 2 + (title ? lineH + pad : 0) + legendH + pad;
  const bottom = height - (pad + (xLabel ? lineH + pad : 0) + GLYPH_H + pad + tickLen);
  const left = pad + labelW + pad;
  const right = width - pad * 3 - textWidth(fmt(ticksAt[ticksAt.length - 1] ?? 0), 1) / 2;
  if (right - left < 40 || bottom - top < spec.categories.length) {
    throw new Error(`renderBarChart: ${width}x${height} leaves no room for ${spec.categories.length} rows labelled up to ${labelW} px wide`);
  }
  const px = (v: number) => left + ((t(v) - lo) / (hi - lo)) * (right - left);

  // Grid and tick labels along the bottom.
  for (const v of ticksAt) {
    const x = Math.round(px(v));
    cv.line(x, top, x, bottom, GRID);
    cv.line(x, bottom, x, bottom + tickLen, BLACK);
    const l = fmt(v);
    cv.text(x - Math.floor(textWidth(l, 1) / 2), bottom + tickLen + pad, l, 1, TEXT);
  }
  cv.line(left, top, right, top, FRAME);
  cv.line(right, top, right, bottom, FRAME);
  cv.line(left, top, left, bottom, FRAME);
  cv.line(left, bottom, right, bottom, BLACK);

  // Rows: a label, then one bar per series from the base.
  const colors = spec.series.map((se, i) => parseColor(se.color, i));
  const rowH = (bottom - top) / spec.categories.length;
  const gap = Math.max(1, Math.round(rowH * 0.2));
  const barH = Math.max(1, Math.floor((rowH - gap) / spec.series.length));
  const x0 = Math.round(px(base));
  spec.categories.forEach((c, i) => {
    const y = top + i * rowH;
    cv.text(left - pad - textWidth(c, 1), Math.round(y + rowH / 2 - GLYPH_H / 2), c, 1, TEXT);
    spec.series.forEach((se, j) => {
      const v = se.values[i];
      if (!shown(v)) return;
      const x1 = Math.round(px(v));
      cv.fill(Math.min(x0, x1), Math.round(y + gap / 2 + j * barH), Math.max(1, Math.abs(x1 - x0)), barH, colors[j], true);
    });
  });
  cv.line(x0, top, x0, bottom, BLACK);

  if (title) cv.text(Math.round((width - textWidth(title, s)) / 2), pad * 2, title, s, BLACK);
  if (xLabel) cv.text(Math.round((left + right - textWidth(xLabel, s)) / 2), height - pad - lineH, xLabel, s, TEXT);
  // legend: a swatch and a name per series, left to right from the plot's left edge
  let lx = left;
  const ly = top - pad - legendH;
  spec.series.forEach((se, i) => {
    cv.fill(lx, ly + 1, GLYPH_H, GLYPH_H, colors[i]);
    cv.text(lx + GLYPH_H + 4, ly + 1, se.name, 1, TEXT);
    lx += GLYPH_H + 4 + textWidth(se.name, 1) + 16;
  });
  return { width, height, rgba: cv.rgba };
}
