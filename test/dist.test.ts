// The built bundles and declarations that `npm test` writes before the tests run: the Node
// entry (dist/kiln.node.js) and the browser entry (dist/kiln.js) export what src/index.ts does,
// the declarations exist for them, and the Node bundle computes.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as src from '../src/index.js';
import { launchChromium, watchedPage, type Chromium } from './browser/chromium.ts';

const root = new URL('../', import.meta.url);
const names = Object.keys(src).sort();
let chrome: Chromium | undefined;
afterAll(async () => { await chrome?.close(); });

describe('the built entries', () => {
  it('dist/kiln.node.js exports what src/index.ts does and computes on the device', async () => {
    const dist = await import(new URL('dist/kiln.node.js', root).href) as typeof src;
    expect(Object.keys(dist).sort()).toEqual(names);
    await dist.init();
    try {
      expect(Array.from(await dist.tensor([1, 2, 3]).mul(2).cumsum(0).data())).toEqual([2, 6, 12]);
    } finally { dist.shutdown(); }
  });

  it('the declarations are written and name the public API', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
    const types = new URL(pkg.exports['.'].node.types, root);
    expect(existsSync(types)).toBe(true);
    const dts = readFileSync(types, 'utf8');
    for (const n of ['compile', 'manualSeed', 'randn', 'cumsum', 'nn', 'optim', 'data']) expect(dts).toMatch(new RegExp(`\\b${n}\\b`));
    expect(readFileSync(new URL('dist/types/layers/module.d.ts', root), 'utf8')).toMatch(/abstract forward\(\.\.\.args: any\[\]\): Out;/);
  });

  it('dist/kiln.js (the browser bundle) exports what src/index.ts does', async () => {
    chrome = await launchChromium();
    const { page, errors } = await watchedPage(chrome.browser);
    // a page that waits for its caller (mlp.html would start training)
    await page.goto(`${chrome.origin}/test/browser/fashion.html`);
    const keys = await page.evaluate(`import('/dist/kiln.js').then((m) => Object.keys(m).sort())`) as string[];
    expect(keys).toEqual(names);
    expect(errors).toEqual([]);
  });
});
