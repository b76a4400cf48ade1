// How long a first-time visitor waits in the page, on the bundled MMLU-Pro
// (29 models × 12,032 items), in headless Chromium without WebGPU:
//   summary  — navigation until the data summary shows (download, gunzip, parse);
//   select   — clicking "Select" with the default settings until the subset shows;
//   item map — clicking "Fit" (2PL) until the item map shows.
// Each is measured in a fresh browser profile, `--runs` times (default 3);
// prints the median and the range. Needs `npm run build` first.
//
//   node scripts/bench/page_first_result.mjs [--runs 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { startServer } from '../serve.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3;
const server = await startServer({ port: 0, quiet: true });

/** @param {import('playwright-core').Page} page @param {string} button */
async function timeJob(page, button) {
  await page.evaluate(() => document.body.removeAttribute('data-job'));
  const started = Date.now();
  await page.click(button);
  await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 600_000 });
  if ((await page.getAttribute('body', 'data-job')) !== 'done') throw new Error(`${button}: ${await page.textContent('#error')}`);
  return Date.now() - started;
}

/** @type {Record<string, number[]>} */
const times = { summary: [], select: [], 'item map': [] };
for (let r = 0; r < runs; r++) {
  const dir = mkdtempSync(join(tmpdir(), 'benchsift-bench-chrome-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--disable-quic'] });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const started = Date.now();
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 120_000 });
    times.summary.push(Date.now() - started);
    times.select.push(await timeJob(page, '#select-form button[type=submit]'));
    times['item map'].push(await timeJob(page, '#map-form button[type=submit]'));
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
await server.close();

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Page on bundled MMLU-Pro, headless Chromium, no WebGPU, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${runs} fresh profiles:`);
for (const [name, xs] of Object.entries(times)) {
  console.log(`  ${name.padEnd(9)} median ${(median(xs) / 1000).toFixed(2)} s  (${xs.map((x) => (x / 1000).toFixed(2)).join(', ')})`);
}
