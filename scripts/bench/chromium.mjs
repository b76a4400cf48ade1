// Headless Chromium on a bare page of the project's own server, for the
// benchmarks that time the JS API in a browser: `run(page, dir)` gets the
// page (any module of www/ can be imported in it) and the profile folder
// (whose processes' memory a benchmark may read).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startServer } from '../serve.mjs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * @template T
 * @param {string} name of the profile folder
 * @param {(page: import('playwright-core').Page, dir: string) => Promise<T>} run
 * @param {string[]} [args] more Chromium flags
 * @returns {Promise<T>}
 */
export async function withApiPage(name, run, args = []) {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set CHROMIUM)`);
  const server = await startServer({ port: 0, quiet: true });
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), `benchsift-${name}-`));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--disable-quic', '--no-first-run', ...args],
    timeout: 60_000,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // A bare document to run the API in (Chromium asks it for /favicon.ico).
    await page.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
    await page.goto(`${server.url}favicon.svg`);
    return await run(page, dir);
  } finally {
    await context.close();
    await server.close();
  }
}
