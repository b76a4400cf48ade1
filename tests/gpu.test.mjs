// The wgpu kernels through the JS API: cosine search and the IRT fit in
// headless Chromium with WebGPU (SwiftShader, a software adapter) against the
// CPU path on the same inputs, and in Node, where there is no WebGPU and
// `auto` must fall back.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { CHROMIUM, skipOrFail, tempDir } from './helpers.mjs';
import { startServer } from '../scripts/serve.mjs';

const skip = existsSync(CHROMIUM) ? false : skipOrFail(`the browser GPU tests: Chromium not found at ${CHROMIUM} (set CHROMIUM or install Debian's chromium)`);

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

/**
 * A wide binary CSV of `models` × `items` 2PL responses (a fixed LCG: a in
 * [0.5, 2), b and θ uniform on [−2, 2)) with about `missing` of the cells empty.
 * @param {number} models
 * @param {number} items
 * @param {number} missing
 */
function makeBinaryCsv(models, items, missing) {
  let state = 777;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const a = Array.from({ length: items }, () => 0.5 + 1.5 * next());
  const b = Array.from({ length: items }, () => 4 * next() - 2);
  const lines = [`model,${a.map((_, i) => `q${i}`).join(',')}`];
  for (let m = 0; m < models; m++) {
    const theta = 4 * next() - 2;
    const row = a.map((ai, i) => {
      const u = next();
      if (next() < missing) return '';
      return u < 1 / (1 + Math.exp(-ai * (theta - b[i]))) ? '1' : '0';
    });
    lines.push(`m${m},${row.join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The largest |difference| of a, b, θ and se between two 1-D fits.
 * @param {any} x
 * @param {any} y
 */
function largestDifference(x, y) {
  assert.deepEqual(x.items.map((/** @type {any} */ i) => i.id), y.items.map((/** @type {any} */ i) => i.id));
  let worst = 0;
  x.items.forEach((/** @type {any} */ p, /** @type {number} */ k) => {
    const q = y.items[k];
    worst = Math.max(worst, Math.abs(p.a - q.a), Math.abs(p.b - q.b), Math.abs((p.c ?? 0) - (q.c ?? 0)));
  });
  x.models.forEach((/** @type {any} */ p, /** @type {number} */ k) => {
    const q = y.models[k];
    worst = Math.max(worst, Math.abs(p.theta - q.theta), Math.abs(p.se - q.se));
  });
  return worst;
}

/** @type {{url: string, close: () => Promise<void>}} */
let server;
before(async () => {
  if (!skip) server = await startServer({ port: 0, quiet: true });
});
after(async () => server?.close());

/**
 * Headless Chromium with WebGPU on a plain same-origin document (the page's
 * CSP, without running the app); `errors` collects uncaught page errors.
 * @param {string} profile
 */
async function openGpuPage(profile) {
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(tempDir(profile), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--enable-unsafe-webgpu', '--disable-quic', '--no-first-run'],
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(`${server.url}favicon.svg`);
  return { context, page, errors };
}

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
  const { context, page, errors } = await openGpuPage('chrome-gpu');
  try {
    const hasGpu = await page.evaluate(async () => Boolean(await /** @type {any} */ (navigator).gpu?.requestAdapter()));
    if (!hasGpu) {
      skipOrFail('this Chromium offers no WebGPU adapter even with --enable-unsafe-webgpu');
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
        // Large enough for a GPU to pay (5,400² × 350 ≥ 10¹⁰ multiply-adds), but SwiftShader is a software adapter.
        // One worker: a pool of them would take a large search to the CPU workers.
        autoLarge: await api.similar({ embeddings: { name: 'big.npy', data: bytes(large) }, topK: 1, workers: 1 }).catch((e) => ({ error: String(e) })),
      };
    }, [Buffer.from(makeNpy(300, 20)).toString('base64'), Buffer.from(makeNpy(5400, 350)).toString('base64')]);
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

// The IRT fit with its E- and M-step sums on WebGPU (the same EM loop as the
// CPU fit, awaiting each readback) against the CPU fit of the same matrix,
// with the native lavapipe test's tolerances (1e-3 on a, b, θ; 1e-6 relative
// on the log-likelihood; f32 sums against f64), and `auto` on a software
// adapter: the CPU, saying why.
test('in Chromium the WebGPU IRT fit agrees with the CPU fit, and auto skips a software adapter', { skip }, async () => {
  const { context, page, errors } = await openGpuPage('chrome-gpu-fit');
  try {
    const adapter = await page.evaluate(async () => {
      const a = await /** @type {any} */ (navigator).gpu?.requestAdapter();
      return a ? { fallback: Boolean(a.info?.isFallbackAdapter ?? a.isFallbackAdapter) } : null;
    });
    if (!adapter) {
      skipOrFail('this Chromium offers no WebGPU adapter even with --enable-unsafe-webgpu');
      return;
    }
    /** @type {Record<string, any>} */
    const results = await page.evaluate(async ([small, large]) => {
      const entry = '/lib/browser.js';
      const api = /** @type {typeof import('../www/lib/browser.js')} */ (await import(entry));
      /** @returns {Promise<any>} */
      const run = async (/** @type {string} */ csv, /** @type {any} */ options) => {
        /** @type {number[]} */
        const seen = [];
        try {
          const fit = await api.fit({ name: 'responses.csv', data: csv }, { ...options, onProgress: (p) => void seen.push(p.iteration) });
          return { fit, seen };
        } catch (e) {
          return { error: String(e) };
        }
      };
      return {
        gpu2pl: await run(small, { irt: '2pl', backend: 'gpu' }),
        cpu2pl: await run(small, { irt: '2pl', backend: 'cpu' }),
        gpuRasch: await run(small, { irt: 'rasch', backend: 'gpu' }),
        cpuRasch: await run(small, { irt: 'rasch', backend: 'cpu' }),
        auto: await run(small, { irt: '2pl' }),
        // models × items × 121 nodes ≥ 5·10⁸ (wasm has one CPU thread): large
        // enough for a real GPU.
        // One worker: a pool of them would take a large fit off the GPU path.
        autoLarge: await run(large, { irt: '2pl', maxIterations: 1, workers: 1 }),
        gpuContinuous: await run('model,q1,q2\na,0.5,0.25\nb,0.75,1\n', { backend: 'gpu' }),
      };
    }, [makeBinaryCsv(300, 80, 0.1), makeBinaryCsv(2000, 2100, 0)]);
    assert.deepEqual(errors, []);
    for (const name of ['gpu2pl', 'cpu2pl', 'gpuRasch', 'cpuRasch', 'auto', 'autoLarge']) assert.ok(!('error' in results[name]), `${name}: ${results[name].error}`);
    console.log(`browser GPU fit backend: ${JSON.stringify(results.gpu2pl.fit.backend)}`);
    for (const [gpu, cpu] of [[results.gpu2pl, results.cpu2pl], [results.gpuRasch, results.cpuRasch]]) {
      assert.equal(gpu.fit.backend.device, 'gpu');
      assert.match(gpu.fit.backend.reason, /WebGPU.*: the GPU was asked for$/);
      assert.equal(cpu.fit.backend.device, 'cpu');
      assert.equal(cpu.fit.backend.reason, 'the CPU was asked for');
      assert.ok(gpu.fit.converged && cpu.fit.converged);
      const worst = largestDifference(gpu.fit, cpu.fit);
      console.log(`${gpu.fit.irt} 300 × 80: largest |gpu − cpu| ${worst.toExponential(2)}, log-likelihood ${gpu.fit.log_likelihood} vs ${cpu.fit.log_likelihood}`);
      assert.ok(worst < 1e-3, `${gpu.fit.irt}: largest difference ${worst}`);
      assert.ok(Math.abs(gpu.fit.log_likelihood - cpu.fit.log_likelihood) <= 1e-6 * Math.abs(cpu.fit.log_likelihood));
      // Progress is reported from the GPU fit as from the CPU fit.
      assert.ok(gpu.seen.length > 0 && gpu.seen.every((/** @type {number} */ v, /** @type {number} */ i) => i === 0 || v > gpu.seen[i - 1]));
    }
    // Small matrices stay on the CPU in auto without probing an adapter, and
    // give the CPU fit exactly.
    assert.equal(results.auto.fit.backend.device, 'cpu');
    assert.match(results.auto.fit.backend.reason, /below the 5e8 per thread/);
    assert.deepEqual({ ...results.auto.fit, backend: null }, { ...results.cpu2pl.fit, backend: null });
    // SwiftShader is a fallback adapter: auto fits on the CPU and says why.
    assert.equal(adapter.fallback, true, 'headless Chromium was expected to offer SwiftShader');
    assert.equal(results.autoLarge.fit.backend.device, 'cpu');
    assert.match(results.autoLarge.fit.backend.reason, /software fallback/);
    assert.match(results.gpuContinuous.error, /the GPU backend was asked for, but the GPU kernels take binary/);
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
  // The IRT fit: the same numbers whichever entry runs it on the CPU.
  const csv = { name: 'responses.csv', data: makeBinaryCsv(60, 20, 0) };
  const fitAuto = await api.fit(csv, { irt: '2pl' });
  const fitCpu = await api.fit(csv, { irt: '2pl', backend: 'cpu' });
  assert.equal(fitAuto.backend.device, 'cpu');
  assert.match(fitAuto.backend.reason, /below the 5e8 per thread/);
  assert.equal(fitCpu.backend.reason, 'the CPU was asked for');
  assert.deepEqual({ ...fitAuto, backend: null }, { ...fitCpu, backend: null });
  await assert.rejects(api.fit(csv, { irt: '2pl', backend: 'gpu' }), /the GPU backend was asked for, but WebGPU is not available here/);
});
