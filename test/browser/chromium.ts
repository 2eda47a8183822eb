// A helper module for the page tests (not a test itself: the assertions live in browser.test.ts
// and demo.test.ts). Headless Debian Chromium on software WebGPU, serving the repository from localhost: shared
// by the tests that load pages (the bundle, the demos).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { serveRepo, type StaticServer } from '../../bench/server.ts';

export interface Chromium { browser: Browser; origin: string; close(): Promise<void> }

export async function launchChromium(): Promise<Chromium> {
  if (!fs.existsSync('dist/kiln.js')) throw new Error('dist/kiln.js is missing: run `node scripts/build.mjs` (npm test does)');
  const server: StaticServer = await serveRepo('.');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-test-'));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: false, // chosen by --headless=new below
    args: ['--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--use-vulkan=swiftshader',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      `--user-data-dir=${dir}`],
  });
  return {
    browser, origin: server.origin,
    async close() {
      await browser.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new page that collects uncaught errors and console errors. */
export async function watchedPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { page, errors };
}
