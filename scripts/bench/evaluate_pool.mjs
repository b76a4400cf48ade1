// An evaluation (the page's Compare defaults: irt-info and irt-cluster
// against random, default budgets, 5 folds, 3 seeds) natively and in wasm,
// side by side in one run: the CLI on every core, the npm package in Node
// with 1 worker thread and with `--workers` of them, and the same API in
// headless Chromium with 1 and `--workers` Web Workers. Prints each time,
// its ratio to the CLI and whether its JSON is the CLI's to the bit.
//
// Run: node scripts/bench/evaluate_pool.mjs FILE [--workers 2] [--browser]
//        [--args "--methods irt-info,irt-cluster --folds 5 --seeds 3"]
//      (after npm run build)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import { evaluate } from '../../www/lib/node.js';
import { CHROMIUM, withApiPage } from './chromium.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workers: { type: 'string', default: '2' },
    browser: { type: 'boolean', default: false },
    args: { type: 'string', default: '--methods irt-info,irt-cluster --folds 5 --seeds 3' },
  },
});
const [file] = positionals;
if (!file) throw new Error('give a response file');
const CLI = new URL('../../target/release/benchsift', import.meta.url).pathname;
const workers = Number(values.workers);
const cliArgs = values.args.split(/\s+/).filter(Boolean);

// The CLI flags as the JS API's options (the same names, camelCase).
/** @type {Record<string, unknown>} */
const options = {};
for (let k = 0; k < cliArgs.length; k += 2) {
  const key = cliArgs[k].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  const value = cliArgs[k + 1];
  options[key] = ['methods'].includes(key) ? value.split(',') : ['budgets'].includes(key) ? value.split(',').map(Number) : /^[0-9.]+$/.test(value) ? Number(value) : value;
}

const t0 = performance.now();
const cliJson = execFileSync(CLI, ['evaluate', file, ...cliArgs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
const cliSeconds = (performance.now() - t0) / 1000;
const reference = JSON.stringify(JSON.parse(cliJson));
console.log(`${basename(file)}: evaluate ${values.args}`);
console.log(`CLI (native, every core): ${cliSeconds.toFixed(1)} s`);

const bytes = readFileSync(file);
for (const w of [1, workers]) {
  const t = performance.now();
  let reports = 0;
  let longest = 0;
  let last = t;
  const result = await evaluate({ name: basename(file), data: bytes }, {
    ...options,
    workers: w,
    onProgress: () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      reports++;
    },
  });
  const seconds = (performance.now() - t) / 1000;
  console.log(
    `Node, ${w} worker thread(s): ${seconds.toFixed(1)} s (${(seconds / cliSeconds).toFixed(2)}× the CLI), ${reports} progress reports, ` +
      `longest gap ${(longest / 1000).toFixed(1)} s, the CLI's JSON: ${JSON.stringify(result) === reference}`,
  );
}

if (values.browser) {
  await withApiPage('evalpool', async (page) => {
    for (const w of [1, workers]) {
      const out = await page.evaluate(
        async ({ b64, name, options, w }) => {
          const entry = '/lib/browser.js';
          const api = /** @type {typeof import('../../www/lib/browser.js')} */ (await import(entry));
          const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const t = performance.now();
          const result = await api.evaluate({ name, data }, { ...options, workers: w });
          return { seconds: (performance.now() - t) / 1000, json: JSON.stringify(result) };
        },
        { b64: bytes.toString('base64'), name: basename(file), options, w },
      );
      console.log(`Chromium, ${w} worker(s): ${out.seconds.toFixed(1)} s (${(out.seconds / cliSeconds).toFixed(2)}× the CLI), the CLI's JSON: ${out.json === reference}`);
    }
  });
}
