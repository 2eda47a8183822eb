// Every demo page loads from the built bundle in headless Chromium without console errors,
// trains, shows a sensible readout, and renders something (its screenshot is not blank).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { inflateSync, gunzipSync } from 'node:zlib';
import { readFileSync, readdirSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { launchChromium, watchedPage, type Chromium } from './browser/chromium.ts';
// @ts-ignore: a plain-JavaScript module of the demo pages, without types
import { toFashionMNIST } from '../demo/draw_pad.js';
import { FASHION_MNIST_DIR } from '../src/train/fashion_mnist.ts';
import { parseIdx } from '../src/train/data.ts';

let chrome: Chromium;
beforeAll(async () => { chrome = await launchChromium(); });
afterAll(async () => { await chrome?.close(); });

/** A page's training is as fast as the machine; its tests bound only a hang (vitest's timeout). */
const HANG = 900_000;

/**
 * window.demo once the page has set it, polled (one waitForFunction call would outlast
 * puppeteer's protocol timeout, 180 s); no deadline of its own, so no machine is too slow.
 */
async function finished<D>(p: Page): Promise<D> {
  for (;;) {
    const r = await p.evaluate('window.demo') as D | undefined;
    if (r !== undefined) return r;
    await new Promise((done) => setTimeout(done, 1000));
  }
}

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
    const r = await finished<{ losses?: number[]; accuracy?: number; error?: string }>(page);
    expect(r.error).toBeUndefined();
    expect(errors).toEqual([]);
    const readout = await page.$eval('#readout', (e) => e.textContent ?? '');
    expect(readout).toMatch(/loss [\d.]+ → [\d.]+, accuracy [\d.]+%/);
    // measured: loss 1.1 -> 0.02, 100% of the 512 training points after 150 steps
    expect(r.losses![0]).toBeGreaterThan(0.5);
    expect(r.losses![r.losses!.length - 1]).toBeLessThan(0.1);
    expect(r.accuracy!).toBeGreaterThan(0.97);
    const shot = await page.screenshot({ type: 'png' });
    // a blank page has one or two colours; text, axes and the loss line give many more
    expect(colourCount(new Uint8Array(shot))).toBeGreaterThan(10);
  }, HANG);
});

describe('demo/gpt.html', () => {
  it('trains a char GPT with a live chart: loss falls, it writes text in the corpus alphabet, the page is not blank', async () => {
    const { page, errors } = await watchedPage(chrome.browser);
    await page.setViewport({ width: 800, height: 800 });
    await page.goto(`${chrome.origin}/demo/gpt.html`);
    const r = await finished<{ losses?: number[]; sample?: string; error?: string }>(page);
    expect(r.error).toBeUndefined();
    expect(errors).toEqual([]);
    const readout = await page.$eval('#readout', (e) => e.textContent ?? '');
    expect(readout).toMatch(/loss [\d.]+ → [\d.]+ in \d+ steps/);
    console.log(`demo/gpt.html: ${readout}\n${r.sample}`);
    // the loss starts near ln(73) = 4.29 (a uniform guess over the alphabet) or above; the mean
    // of the last 20 of the 60 steps must beat a unigram model of the corpus (its entropy,
    // 3.15 nats), which knows only how often each character occurs (measured: the last step
    // 2.67)
    const text = readFileSync('demo/data/alice.txt', 'utf8'), counts = new Map<string, number>();
    for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
    const unigram = [...counts.values()].reduce((h, k) => h - (k / text.length) * Math.log(k / text.length), 0);
    const l = r.losses!, tail = l.slice(-20).reduce((a, b) => a + b) / 20;
    expect(l[0]).toBeGreaterThan(3.5);
    expect(tail).toBeLessThan(unigram - 0.15);
    const alphabet = new Set(text);
    expect(r.sample!.length).toBeGreaterThan(100);
    expect([...r.sample!].every((c) => alphabet.has(c))).toBe(true);
    expect(await page.$eval('#sample', (e) => e.textContent ?? '')).toBe(r.sample);
    const shot = await page.screenshot({ type: 'png' });
    expect(colourCount(new Uint8Array(shot))).toBeGreaterThan(10);
  }, HANG);
});

describe('demo/fashion.html', () => {
  type Demo = { losses?: number[]; testAccuracy?: number; testSubset?: number; steps?: number; seconds?: number; source?: string; error?: string };
  let page: Page | undefined;
  let trained: Demo | undefined;
  let trainedProbs: number[] | undefined; // the trained model's probabilities for test image 2000, as redrawn
  let errors: string[] = [];

  const probabilities = async () => {
    await page!.evaluate('window.demo.idle()');
    return await page!.evaluate('window.demo.probabilities()') as number[] | null;
  };

  it('trains on real Fashion-MNIST with a live chart: loss falls, test accuracy is high, the page is not blank', async () => {
    ({ page, errors } = await watchedPage(chrome.browser));
    await page.setViewport({ width: 800, height: 1000 });
    await page.goto(`${chrome.origin}/demo/fashion.html`);
    const r = await finished<Demo>(page);
    expect(r.error).toBeUndefined();
    expect(errors).toEqual([]);
    const readout = await page.$eval('#readout', (e) => e.textContent ?? '');
    const accuracy = await page.$eval('#accuracy', (e) => e.textContent ?? '');
    console.log(`demo/fashion.html: ${readout}\n${accuracy}`);
    expect(readout).toMatch(/loss [\d.]+ → [\d.]+ \(mean of the last 20\) in 400 steps/);
    expect(accuracy).toBe(`test accuracy: ${(r!.testAccuracy! * 100).toFixed(1)}% on the first 2000 of the 10,000 test images ` +
      '(model saved in this browser for your next visit)');
    expect(r!.source).toBe('trained');
    trained = r;
    // measured: loss 2.297 (ln 10 = 2.303, a uniform guess) → 0.382 (mean of the last 20 of 400
    // steps of 128), 87.0% on the first 2,000 test images, 41 s of training on SwiftShader
    const l = r!.losses!, tail = l.slice(-20).reduce((a, b) => a + b) / 20;
    expect(l).toHaveLength(400);
    expect(l[0]).toBeGreaterThan(2.0);
    expect(tail).toBeLessThan(0.6);
    expect(r!.testSubset).toBe(2000);
    expect(r!.testAccuracy!).toBeGreaterThan(0.82);
    const shot = await page.screenshot({ type: 'png' });
    expect(colourCount(new Uint8Array(shot))).toBeGreaterThan(10);
  }, HANG);

  it('draw panel: a mouse-drawn pair of trousers gets 10 probabilities summing to 1 and a class; redrawn test images mostly get their labels', async () => {
    if (!page) throw new Error('the training test above did not open the page');
    const pad = (await page.$('#pad'))!;
    const box = (await pad.boundingBox())!;
    // trousers, as the dataset shows them: a waistband and two legs, drawn with the mouse
    // (pointer events) in the pad's 280x280 coordinates
    const at = (x: number, y: number) => [box.x + x * box.width / 280, box.y + y * box.height / 280] as const;
    const stroke = async (points: [number, number][]) => {
      await page!.mouse.move(...at(...points[0]));
      await page!.mouse.down();
      for (const p of points.slice(1)) await page!.mouse.move(...at(...p), { steps: 8 });
      await page!.mouse.up();
    };
    await stroke([[95, 40], [185, 40]]);
    await stroke([[100, 40], [95, 250]]);
    await stroke([[180, 40], [185, 250]]);
    await stroke([[115, 40], [112, 240]]);
    await stroke([[165, 40], [168, 240]]);
    const p = (await probabilities())!;
    expect(p).toHaveLength(10);
    expect(p.reduce((a, b) => a + b)).toBeCloseTo(1, 4);
    const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
    const best = p.indexOf(Math.max(...p));
    const shown = await page.$eval('#prediction', (e) => e.textContent ?? '');
    console.log(`demo/fashion.html, drawn trousers: ${shown}; ${p.map((v, i) => `${names[i]} ${(v * 100).toFixed(1)}%`).join(', ')}`);
    expect(shown).toBe(`prediction: ${names[best]} (${(p[best] * 100).toFixed(0)}%)`);
    // measured: Trouser at 100.0% (a sensible guess proves the drawing is prepared as the dataset is)
    expect(names[best]).toBe('Trouser');
    expect(p[best]).toBeGreaterThan(0.5);
    expect(await page.$$eval('#probs .bar', (bars) => bars.length)).toBe(10);
    const shot = await pad.screenshot({ type: 'png' });
    expect(colourCount(new Uint8Array(shot))).toBeGreaterThan(1);

    // clear empties the pad and the prediction
    await page.click('#clear');
    expect(await probabilities()).toBeNull();
    expect(await page.$eval('#prediction', (e) => e.textContent)).toBe('draw something');

    // test-set images 2000-2099 (just past the 2,000 of the accuracy readout), painted onto the
    // pad at 10x and prepared as a drawing is (which gives them back unchanged, see draw_pad.js's
    // test below): the model names most of their labels
    let right = 0;
    const n = 100;
    for (let i = 2000; i < 2000 + n; i++) {
      const label = await page.evaluate((k) => (window as any).demo.drawTestImage(k), i) as number;
      const q = (await probabilities())!;
      if (q.indexOf(Math.max(...q)) === label) right++;
      if (i === 2000) trainedProbs = q;
    }
    console.log(`demo/fashion.html: ${right} of ${n} redrawn test images classified as their label`);
    // measured: 82 of 100 (images 0-99: 85, 5000-5099: 77; 87.0% over 0-1999)
    expect(right).toBeGreaterThanOrEqual(70);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('a second visit can skip training and use the model the first one saved (checkpoint in OPFS)', async () => {
    if (!trained || !trainedProbs) throw new Error('the tests above did not train and draw');
    // same browser profile and origin as the training test, so the same origin-private file system
    const { page: p, errors: errs } = await watchedPage(chrome.browser);
    await p.goto(`${chrome.origin}/demo/fashion.html`);
    while (!await p.$('#use-saved:not([hidden])')) await new Promise((done) => setTimeout(done, 500));
    const offer = await p.$eval('#use-saved', (e) => e.textContent ?? '');
    expect(offer).toMatch(new RegExp(`^skip training: use the model saved .* \\(400 steps, ${(trained.testAccuracy! * 100).toFixed(1)}% test accuracy\\)$`));
    await p.click('#use-saved');
    const r = await finished<Demo>(p);
    expect(r?.error).toBeUndefined();
    expect(r!.source).toBe('saved');
    expect(r!.losses).toEqual([]);
    expect(await p.$eval('#readout', (e) => e.textContent)).toMatch(/^using the model saved .* after 400 steps$/);
    // the same weights: the same accuracy on the same 2,000 images, the same answer for a drawing
    expect(r!.testAccuracy).toBe(trained.testAccuracy);
    await p.evaluate('window.demo.drawTestImage(2000)');
    await p.evaluate('window.demo.idle()');
    const q = await p.evaluate('window.demo.probabilities()') as number[];
    q.forEach((v, i) => expect(v).toBeCloseTo(trainedProbs![i], 5));
    expect(errs).toEqual([]);
    await p.close();
  }, HANG);

  it('names the missing file and the Debian package when the dataset is not there', async () => {
    const { page: p, errors: errs } = await watchedPage(chrome.browser);
    await p.setRequestInterception(true);
    p.on('request', (req) => {
      if (req.url().endsWith('/t10k-labels-idx1-ubyte.gz')) req.respond({ status: 404, contentType: 'text/plain', body: 'not found' });
      else req.continue();
    });
    await p.goto(`${chrome.origin}/demo/fashion.html`);
    const r = await finished<Demo>(p);
    expect(r?.error).toMatch(/t10k-labels-idx1-ubyte\.gz is missing/);
    expect(await p.$eval('#readout', (e) => e.textContent)).toMatch(
      /^error: Fashion-MNIST file t10k-labels-idx1-ubyte\.gz is missing .*install Debian's package dataset-fashion-mnist/);
    // the browser reports the 404 itself as a console error; nothing else may fail
    expect(errs.filter((e) => !/404/.test(e))).toEqual([]);
    await p.close();
  }, HANG);
});

describe('demo/draw_pad.js: a drawing is prepared as Fashion-MNIST prepared its images', () => {
  it('a tall filled box becomes 28 pixels tall, scaled in proportion and centred', () => {
    const w = 280, grey = new Uint8Array(w * w);
    for (let y = 30; y < 230; y++) for (let x = 100; x < 140; x++) grey[y * w + x] = 255; // 40 wide, 200 tall
    const out: Uint8Array = toFashionMNIST(grey, w, w);
    // 200 px → 28 rows, so 40 px → 5.6 → 6 columns, centred: 11 columns of margin on each side
    const lit = [...out.keys()].filter((i) => out[i] > 0);
    expect(lit.every((i) => out[i] === 255)).toBe(true);
    expect(new Set(lit.map((i) => Math.floor(i / 28))).size).toBe(28);
    expect([...new Set(lit.map((i) => i % 28))]).toEqual([11, 12, 13, 14, 15, 16]);
    expect(toFashionMNIST(new Uint8Array(w * w), w, w)).toBeNull();
  });

  it('gives test-set images, painted at 10x, back unchanged', () => {
    const images = parseIdx(gunzipSync(readFileSync(`${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`))).data;
    const n = 2000, big = new Uint8Array(280 * 280);
    let same = 0;
    for (let k = 0; k < n; k++) {
      const img = images.subarray(k * 784, (k + 1) * 784);
      for (let y = 0; y < 280; y++) for (let x = 0; x < 280; x++) big[y * 280 + x] = img[Math.floor(y / 10) * 28 + Math.floor(x / 10)];
      const out: Uint8Array = toFashionMNIST(big, 280, 280);
      if (out.every((v, i) => v === img[i])) same++;
    }
    console.log(`demo/draw_pad.js: ${same} of ${n} test images come back unchanged`);
    // measured: 1,970 of the first 2,000, 9,792 of all 10,000 (the rest have a faint pixel or an off-centre object that the
    // dataset's own preparation left); a shift, flip or rescale by one pixel would drop this far
    expect(same).toBeGreaterThan(0.95 * n);
  });
});

describe('demo/index.html', () => {
  it('links to every demo page', async () => {
    const { page, errors } = await watchedPage(chrome.browser);
    await page.goto(`${chrome.origin}/demo/index.html`);
    const links = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
    const pages = readdirSync('demo').filter((f) => f.endsWith('.html') && f !== 'index.html');
    expect([...links].sort()).toEqual(pages.sort());
    expect(errors).toEqual([]);
    await page.close();
  });
});
