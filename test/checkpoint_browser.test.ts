// Checkpoints in headless Chromium from the built bundle (dist/kiln.js): OPFS, IndexedDB, the
// fallback to IndexedDB when OPFS is missing, corruption, bit-identical resume, and PyTorch's
// state_dict. The page is test/browser/checkpoint.html; it needs kn.train.saveCheckpoint,
// loadCheckpoint, decodeSafetensors and stateDictFromBytes exported from src/index.ts.
// KILN_CKPT_BUNDLE=/out/ckpt/kiln.js runs the page against another build of the bundle.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { launchChromium, watchedPage, type Chromium } from './browser/chromium.ts';

let chrome: Chromium;
beforeAll(async () => { chrome = await launchChromium(); });
afterAll(async () => { await chrome?.close(); });

interface Result {
  error?: string;
  roundTrip: Record<string, { equal: boolean; extra: unknown; lr: number; step: number }>;
  opfsFile: { size: number; format: string };
  resume: { lossesEqual: boolean; paramsEqual: boolean };
  corrupt: string; corruptUntouched: boolean; missing: string; missingIdb: string;
  fallback: { equal: boolean; extra: unknown; idbBytes: number; inOpfs: boolean };
  pytorch: { maxErr: number; n: number };
}

describe('checkpoints in headless Chromium', () => {
  it('save/load through OPFS and IndexedDB, fallback without OPFS, corruption rejected, resume bit-identical, PyTorch weights load', async () => {
    const { page, errors } = await watchedPage(chrome.browser);
    const bundle = process.env.KILN_CKPT_BUNDLE;
    await page.goto(`${chrome.origin}/test/browser/checkpoint.html${bundle ? `?bundle=${encodeURIComponent(bundle)}` : ''}`);
    await page.waitForFunction('window.result !== undefined', { timeout: 240_000 });
    const r = await page.evaluate('window.result') as Result;
    expect(r.error).toBeUndefined();
    expect(errors).toEqual([]);
    for (const backend of ['opfs', 'indexeddb', 'auto']) {
      expect(r.roundTrip[backend], backend).toEqual({ equal: true, extra: { backend, step: 3 }, lr: 2e-2, step: 3 });
    }
    expect(r.opfsFile.format).toBe('kiln.checkpoint');
    expect(r.opfsFile.size).toBeGreaterThan(4 * (8 * 16 + 16 + 16 * 4 + 4) * 3); // model + exp_avg + exp_avg_sq
    expect(r.resume).toEqual({ lossesEqual: true, paramsEqual: true });
    expect(r.corrupt).toMatch(/runs\/a\/opfs\.safetensors is corrupt: checksum mismatch/);
    expect(r.corruptUntouched).toBe(true);
    expect(r.missing).toMatch(/no checkpoint at runs\/none\.safetensors \(OPFS\)/);
    expect(r.missingIdb).toMatch(/no checkpoint at nothing-here \(IndexedDB\)/);
    expect(r.fallback.equal).toBe(true);
    expect(r.fallback.extra).toEqual({ via: 'fallback' });
    expect(r.fallback.idbBytes).toBeGreaterThan(1000);
    expect(r.fallback.inOpfs).toBe(false);
    expect(r.pytorch.n).toBe(20);
    expect(r.pytorch.maxErr).toBeLessThan(1e-5);
  });
});
