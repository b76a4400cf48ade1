// Times the wasm core in Node on the same inputs as the native benchmarks:
// reading MMLU-Pro's CSV (target ≤ 300 ms) and a 2PL fit, and loads a
// 6,000 × 30,000 binary matrix to report the wasm memory it takes.
// Run: node scripts/bench/wasm.mjs   (after npm run build)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { fit, info } from '../../www/lib/node.js';

const root = new URL('../../', import.meta.url);
const shared = new URL('../shared/data/mmlu_pro_29models/responses.csv', root);
const csv = existsSync(shared)
  ? readFileSync(shared)
  : gunzipSync(readFileSync(new URL('www/data/mmlu_pro/responses.csv.gz', root)));

/** @param {() => Promise<unknown>} f @param {number} runs */
async function best(f, runs) {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

await info('model,q1\na,1\n'); // instantiate the module outside the timings
const read = await best(() => info({ name: 'responses.csv', data: csv }), 10);
console.log(`read MMLU-Pro CSV (${(csv.length / 1024).toFixed(0)} KB) in wasm: ${read.toFixed(1)} ms (best of 10)`);

const fitMs = await best(() => fit({ name: 'responses.csv', data: csv }, { irt: '2pl' }), 1);
console.log(`2PL fit of MMLU-Pro 29 × 12,032 in wasm (1 thread): ${(fitMs / 1000).toFixed(2)} s`);

// The same fit by the native CLI on one core (taskset: the CLI then uses one
// thread), in the same run, for the wasm/native ratio (target ≤ 3).
const cli = fileURLToPath(new URL('target/release/benchsift', root));
if (existsSync(cli)) {
  const file = join(mkdtempSync(join(tmpdir(), 'benchsift-bench-')), 'responses.csv');
  writeFileSync(file, csv);
  const nativeMs = await best(async () => execFileSync('taskset', ['-c', '0', cli, 'fit', file, '--irt', '2pl', '-o', `${file}.fit.json`]), 1);
  console.log(`the same fit natively on one core (CLI process, incl. reading): ${(nativeMs / 1000).toFixed(2)} s; wasm/native = ${(fitMs / nativeMs).toFixed(2)}`);
} else {
  console.log(`(no native CLI at ${cli}: run cargo build --release for the wasm/native ratio)`);
}

// 6,000 × 30,000 binary: 180 M cells, as a wide CSV built in memory.
const models = 6000;
const items = 30000;
const header = `model,${Array.from({ length: items }, (_, i) => `q${i}`).join(',')}\n`;
const rowBytes = items * 2;
const big = new Uint8Array(header.length + models * (8 + rowBytes));
let offset = new TextEncoder().encodeInto(header, big).written;
let state = 12345;
for (let m = 0; m < models; m++) {
  offset += new TextEncoder().encodeInto(`m${String(m).padStart(5, '0')},`, big.subarray(offset)).written;
  for (let i = 0; i < items; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    big[offset++] = state & 0x10000 ? 49 : 48;
    big[offset++] = i === items - 1 ? 10 : 44;
  }
}
const t = performance.now();
const summary = await info({ name: 'big.csv', data: big.subarray(0, offset) });
console.log(
  `6,000 × 30,000 binary matrix (${(offset / 2 ** 20).toFixed(0)} MB of CSV) read in wasm in ${((performance.now() - t) / 1000).toFixed(1)} s: ` +
    `${summary.models} × ${summary.items}, ${summary.kind}; the matrix itself takes ${((models * Math.ceil(items / 64) * 16) / 2 ** 20).toFixed(0)} MB`,
);
