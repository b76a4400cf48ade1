// The wgpu cosine kernel through the JS API: in headless Chromium with
// WebGPU (SwiftShader, a software adapter) against the CPU path on the same
// vectors, and in Node, where there is no WebGPU and `auto` must fall back.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { tempDir } from './helpers.mjs';
import { startServer } from '../scripts/serve.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (set CHROMIUM or install Debian's chromium)`;
if (skip) console.warn(`\n!!! SKIPPING the browser GPU tests: ${skip}\n`);

/**
 * A float32 `.npy` of n × d pseudo-random vectors (a fixed LCG), with row 5
 * a scaled copy of row 2.
 * @param {number} n
 * @param {number} d
 */
function makeNpy(n, d) {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
  const values = new Float32Array(n * d).map(next);
  for (let k = 0; k < d; k++) values[5 * d + k] = 3 * values[2 * d + k];
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, ${d}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const bytes = new Uint8Array(10 + header.length + values.byteLength);
  bytes.set([0x93, 78, 85, 77, 80, 89, 1, 0, header.length & 255, header.length >> 8]);
  bytes.set(new TextEncoder().encode(header), 10);
  bytes.set(new Uint8Array(values.buffer), 10 + header.length);
  return bytes;
}

/** @type {{url: string, close: () => Promise<void>}} */
let server;
before(async () => {
  if (!skip) server = await startServer({ port: 0, quiet: true });
});
after(async () => server?.close());

/**
 * @param {{pairs: {a: string, b: string, cosine: number}[]}} gpu
 * @param {{pairs: {a: string, b: string, cosine: number}[]}} cpu
 */
function assertSamePairs(gpu, cpu) {
  assert.equal(gpu.pairs.length, cpu.pairs.length);
  const key = (/** @type {{a: string, b: string}} */ p) => `${p.a}-${p.b}`;
  const cpuByKey = new Map(cpu.pairs.map((p) => [key(p), p.cosine]));
  let missing = 0;
  for (const p of gpu.pairs) {
    const c = cpuByKey.get(key(p));
    if (c === undefined) missing++;
    else assert.ok(Math.abs(c - p.cosine) < 2e-5, `${key(p)}: ${p.cosine} vs ${c}`);
  }
  // Near-ties (cosines within float noise) may pick a different neighbour.
  assert.ok(missing <= 2, `${missing} GPU pairs not in the CPU result`);
}

test('in Chromium the WebGPU kernel agrees with the CPU path', { skip }, async () => {
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(tempDir('chrome-gpu'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--enable-unsafe-webgpu', '--disable-quic', '--no-first-run'],
    timeout: 60_000,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    /** @type {string[]} */
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    // A plain same-origin document: the page's CSP, without running the app.
    await page.goto(`${server.url}favicon.svg`);
    const hasGpu = await page.evaluate(async () => Boolean(await /** @type {any} */ (navigator).gpu?.requestAdapter()));
    if (!hasGpu) {
      console.warn('\n!!! SKIPPED: this Chromium offers no WebGPU adapter even with --enable-unsafe-webgpu\n');
      return;
    }
    /** @type {Record<string, any>} */
    const results = await page.evaluate(async ([small, large]) => {
      const entry = '/lib/browser.js';
      const api = /** @type {typeof import('../www/lib/browser.js')} */ (await import(entry));
      const bytes = (/** @type {string} */ b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const embeddings = { name: 'e.npy', data: bytes(small) };
      /** @returns {Promise<any>} */
      const run = async (/** @type {any} */ options) => {
        try {
          return await api.similar({ embeddings, ...options });
        } catch (e) {
          return { error: String(e) };
        }
      };
      return {
        gpu: await run({ topK: 3, backend: 'gpu' }),
        cpu: await run({ topK: 3, backend: 'cpu' }),
        auto: await run({ topK: 3 }),
        gpuPairs: await run({ threshold: 0.5, backend: 'gpu' }),
        cpuPairs: await run({ threshold: 0.5, backend: 'cpu' }),
        // Large enough for a GPU to pay, but SwiftShader is a software adapter.
        autoLarge: await api.similar({ embeddings: { name: 'big.npy', data: bytes(large) }, topK: 1 }).catch((e) => ({ error: String(e) })),
      };
    }, [Buffer.from(makeNpy(300, 20)).toString('base64'), Buffer.from(makeNpy(2400, 350)).toString('base64')]);
    assert.deepEqual(errors, []);
    for (const [name, r] of Object.entries(results)) assert.ok(!('error' in r), `${name}: ${r.error}`);
    console.log(`browser GPU backend: ${JSON.stringify(results.gpu.backend)}`);
    assert.equal(results.gpu.backend.device, 'gpu');
    assert.match(results.gpu.backend.reason, /WebGPU/);
    assert.equal(results.cpu.backend.device, 'cpu');
    // 300 × 20 is far too small to pay for a GPU: auto stays on the CPU.
    assert.equal(results.auto.backend.device, 'cpu');
    assert.equal(results.autoLarge.backend.device, 'cpu');
    assert.match(results.autoLarge.backend.reason, /software fallback/);
    assertSamePairs(results.gpu, results.cpu);
    assertSamePairs(results.gpuPairs, results.cpuPairs);
    // The scaled copy (rows 2 and 5) is the most similar pair on both.
    assert.deepEqual([results.gpu.pairs[0].a, results.gpu.pairs[0].b], ['2', '5']);
    assert.ok(Math.abs(results.gpu.pairs[0].cosine - 1) < 1e-5);
  } finally {
    await context.close();
  }
});

test('in Node (no WebGPU) auto runs on the CPU and gpu says why it cannot', async () => {
  const api = await import('../www/lib/node.js');
  const npy = makeNpy(40, 8);
  const auto = await api.similar({ embeddings: { name: 'e.npy', data: npy }, topK: 2 });
  assert.equal(auto.backend.device, 'cpu');
  const cpu = await api.similar({ embeddings: { name: 'e.npy', data: npy }, topK: 2, backend: 'cpu' });
  assert.deepEqual(auto.pairs, cpu.pairs);
  await assert.rejects(api.similar({ embeddings: { name: 'e.npy', data: npy }, topK: 2, backend: 'gpu' }), /WebGPU is not available here/);
});
