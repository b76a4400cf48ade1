// Cosine top-10 over a .npy of item vectors (default: MMLU-Pro's 12,032 ×
// 384 MiniLM embeddings in ../shared/data) on the CPU, side by side in one
// run: the native CLI on every core, the npm package in Node with 1 worker
// thread and with `--workers`, and the same API in headless Chromium with
// 1 and `--workers` Web Workers. Prints each time, the speed-up of the pool
// over one worker, and whether each report is the CLI's to the bit.
//
// Run: node scripts/bench/similar_pool.mjs [FILE.npy] [--workers 2] [--repeat 3]
//      (after npm run build)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import { similar } from '../../www/lib/node.js';
import { CHROMIUM, withApiPage } from './chromium.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { workers: { type: 'string', default: '2' }, repeat: { type: 'string', default: '3' } },
});
const file = positionals[0] ?? new URL('../../../shared/data/mmlu_pro_29models/item_embeddings_minilm.npy', import.meta.url).pathname;
if (!existsSync(file)) throw new Error(`${file} not found: give a .npy of item vectors`);
const CLI = new URL('../../target/release/benchsift', import.meta.url).pathname;
const workers = Number(values.workers);
const repeat = Number(values.repeat);
const best = (/** @type {number[]} */ xs) => Math.min(...xs);

/** @type {number[]} */
const cliTimes = [];
let cliJson = '';
for (let r = 0; r < repeat; r++) {
  const t = performance.now();
  cliJson = execFileSync(CLI, ['similar', '--embeddings', file, '--top-k', '10', '--backend', 'cpu'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  cliTimes.push((performance.now() - t) / 1000);
}
const reference = JSON.stringify({ ...JSON.parse(cliJson), backend: null });
console.log(`${basename(file)}: top-10 cosine neighbours on the CPU, best of ${repeat}`);
console.log(`CLI (native, every core, whole process): ${best(cliTimes).toFixed(2)} s`);

const bytes = readFileSync(file);
/** @type {Record<number, number>} */
const node = {};
for (const w of [1, workers]) {
  const times = [];
  let same = true;
  for (let r = 0; r < repeat; r++) {
    const t = performance.now();
    const report = await similar({ embeddings: { name: basename(file), data: bytes }, topK: 10, backend: 'cpu', workers: w });
    times.push((performance.now() - t) / 1000);
    same &&= JSON.stringify({ ...report, backend: null }) === reference;
  }
  node[w] = best(times);
  console.log(`Node, ${w} worker thread(s): ${node[w].toFixed(2)} s` + (w > 1 ? ` (${(node[1] / node[w]).toFixed(2)}× one)` : '') + `, the CLI's report: ${same}`);
}

if (existsSync(CHROMIUM)) {
  await withApiPage('simpool', async (page) => {
    /** @type {Record<number, number>} */
    const browser = {};
    for (const w of [1, workers]) {
      const out = await page.evaluate(
        async ({ b64, name, w, repeat }) => {
          const entry = '/lib/browser.js';
          const api = /** @type {typeof import('../../www/lib/browser.js')} */ (await import(entry));
          const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const times = [];
          let json = '';
          for (let r = 0; r < repeat; r++) {
            const t = performance.now();
            const report = await api.similar({ embeddings: { name, data }, topK: 10, backend: 'cpu', workers: w });
            times.push((performance.now() - t) / 1000);
            json = JSON.stringify({ ...report, backend: null });
          }
          return { seconds: Math.min(...times), json };
        },
        { b64: bytes.toString('base64'), name: basename(file), w, repeat },
      );
      browser[w] = out.seconds;
      console.log(`Chromium, ${w} worker(s): ${out.seconds.toFixed(2)} s` + (w > 1 ? ` (${(browser[1] / out.seconds).toFixed(2)}× one)` : '') + `, the CLI's report: ${out.json === reference}`);
    }
  });
}
