// Every demo page loads from the built bundle in headless Chromium without console errors,
// trains, shows a sensible readout, and renders something (its screenshot is not blank).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { inflateSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { launchChromium, watchedPage, type Chromium } from './browser/chromium.ts';

let chrome: Chromium;
beforeAll(async () => { chrome = await launchChromium(); });
afterAll(async () => { await chrome?.close(); });

/** Distinct colours in a PNG screenshot (8-bit RGB/RGBA, filter bytes skipped roughly). */
function colourCount(png: Uint8Array): number {
  let off = 8;
  let width = 0, channels = 4;
  const idat: Uint8Array[] = [];
  while (off < png.length) {
    const len = new DataView(png.buffer, png.byteOffset + off).getUint32(0);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') { width = new DataView(data.buffer, data.byteOffset).getUint32(0); channels = data[9] === 6 ? 4 : 3; }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels + 1;
  const colours = new Set<number>();
  for (let r = 0; r + stride <= raw.length; r += stride * 7) {
    for (let i = r + 1; i + 2 < r + stride; i += channels * 3) colours.add((raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2]);
  }
  return colours.size;
}

describe('demo/train.html', () => {
  it('trains with a live chart: loss falls, accuracy is high, the page is not blank', async () => {
    const { page, errors } = await watchedPage(chrome.browser);
    await page.setViewport({ width: 800, height: 600 });
    await page.goto(`${chrome.origin}/demo/train.html`);
    await page.waitForFunction('window.demo !== undefined', { timeout: 240_000 });
    const r = await page.evaluate('window.demo') as { losses?: number[]; accuracy?: number; error?: string };
    expect(r.error).toBeUndefined();
    expect(errors).toEqual([]);
    const readout = await page.$eval('#readout', (e) => e.textContent ?? '');
    expect(readout).toMatch(/loss [\d.]+ → [\d.]+, accuracy [\d.]+%/);
    // measured: loss 1.1 -> 0.02, 100% of the 512 training points after 150 steps
    expect(r.losses![r.losses!.length - 1]).toBeLessThan(0.3 * r.losses![0]);
    expect(r.accuracy!).toBeGreaterThan(0.9);
    const shot = await page.screenshot({ type: 'png' });
    // a blank page has one or two colours; text, axes and the loss line give many more
    expect(colourCount(new Uint8Array(shot))).toBeGreaterThan(10);
  });
});

describe('demo/gpt.html', () => {
  it('trains a char GPT with a live chart: loss falls, it writes text in the corpus alphabet, the page is not blank', async () => {
    const { page, errors } = await watchedPage(chrome.browser);
    await page.setViewport({ width: 800, height: 800 });
    await page.goto(`${chrome.origin}/demo/gpt.html`);
    // polled from here: one waitForFunction call would outlast puppeteer's protocol timeout (180 s)
    type Demo = { losses?: number[]; sample?: string; error?: string };
    let r: Demo | undefined;
    for (const end = Date.now() + 280_000; !r && Date.now() < end;) {
      await new Promise((done) => setTimeout(done, 2000));
      r = await page.evaluate('window.demo') as Demo | undefined;
    }
    expect(r, `the page did not finish within 280 s; it shows: ${await page.$eval('#readout', (e) => e.textContent)}`).toBeDefined();
    if (!r) return;
    expect(r.error).toBeUndefined();
    expect(errors).toEqual([]);
    const readout = await page.$eval('#readout', (e) => e.textContent ?? '');
    expect(readout).toMatch(/loss [\d.]+ → [\d.]+ in \d+ steps/);
    console.log(`demo/gpt.html: ${readout}\n${r.sample}`);
    // the loss starts near ln(73) = 4.29 (a uniform guess over the alphabet) or above; the mean
    // of the last 20 of the 60 steps must be well below it
    const l = r.losses!, tail = l.slice(-20).reduce((a, b) => a + b) / 20;
    expect(l[0]).toBeGreaterThan(3.5);
    expect(tail).toBeLessThan(0.8 * l[0]);
    const alphabet = new Set(readFileSync('demo/data/alice.txt', 'utf8'));
    expect(r.sample!.length).toBeGreaterThan(100);
    expect([...r.sample!].every((c) => alphabet.has(c))).toBe(true);
    expect(await page.$eval('#sample', (e) => e.textContent ?? '')).toBe(r.sample);
    const shot = await page.screenshot({ type: 'png' });
    expect(colourCount(new Uint8Array(shot))).toBeGreaterThan(10);
  }, 300_000);
});
