// The tuning cache in headless Chromium, through the built bundle: a page's first run measures
// a matmul's candidates and writes the choice to the origin private file system; the same page
// loaded again in the same profile starts tuned (the choice comes from the cache, nothing is
// measured). The page is test/browser/tuning.html.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, watchedPage, type Chromium } from './browser/chromium.ts';

let chrome: Chromium;
beforeAll(async () => { chrome = await launchChromium(); });
afterAll(async () => { await chrome?.close(); });

const KEY = 'matmul 1x64x96x72 a:c4 b:c4 float32,float32';
interface Rec { key: string; label: string; source: string; ms: { label: string; ms: number }[] }
type Result = { error?: string; records: Rec[]; file: string | null; kernel: string };

async function load(): Promise<Result> {
  const { page, errors } = await watchedPage(chrome.browser);
  await page.goto(`${chrome.origin}/test/browser/tuning.html`);
  await page.waitForFunction('window.result !== undefined', { timeout: 120_000 });
  const r = await page.evaluate('window.result') as Result;
  await page.close();
  expect(r.error).toBeUndefined();
  expect(errors).toEqual([]);
  return r;
}

describe('the tuning cache in headless Chromium', () => {
  it('measures on the first load, writes OPFS, and starts tuned on the second', async () => {
    const first = await load();
    const rec = first.records.find((r) => r.key === KEY)!;
    expect(rec.source).toBe('measured');
    expect(rec.ms.length).toBeGreaterThanOrEqual(2);
    const file = JSON.parse(first.file!);
    expect(file.format).toBe('kiln-tuning-cache');
    const section = Object.values(file.adapters)[0] as Record<string, { config: unknown }>;
    expect(section[KEY].config).toBeDefined();
    const second = await load();
    const again = second.records.find((r) => r.key === KEY)!;
    expect(again.source).toBe('cache');
    expect(again.label).toBe(rec.label);
    expect(second.kernel).toBe(first.kernel);
  });
});
