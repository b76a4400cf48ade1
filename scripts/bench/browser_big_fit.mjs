// Does a 6,000 × 30,000 binary matrix load and fit in a browser's memory?
// Generates a synthetic 2PL matrix inside headless Chromium, hands its bytes
// (a wide CSV, as a file the page would read) to the JS API's `fit` with
// `backend: 'cpu'` (2PL, wasm) once per pool size in `--workers` (one worker
// thread, or a pool of Web Workers each holding a block of the models), and
// prints the time, iterations, peak memory and recovery of the true
// parameters, and each pool's speed-up over the first and whether its fit
// is the first's to the bit.
//
// Draws (deterministic, seed `--seed`, default 2026; mulberry32 uniforms,
// Box–Muller normals): per item a ~ LogNormal(0, 0.3) and b ~ N(0, 1), then
// per model θ ~ N(0, 1) and, item by item, x = 1 if u < σ(a(θ − b)) with u
// uniform on [0, 1). No cell is missing.
//
// Run: node scripts/bench/browser_big_fit.mjs [--models 6000] [--items 30000]
//        [--max-iterations 500] [--seed 2026] [--workers 1,2]   (after npm run build)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { CHROMIUM, withApiPage } from './chromium.mjs';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '6000' },
    items: { type: 'string', default: '30000' },
    'max-iterations': { type: 'string', default: '500' },
    seed: { type: 'string', default: '2026' },
    workers: { type: 'string', default: '1,2' },
  },
});
const settings = {
  models: Number(values.models),
  items: Number(values.items),
  maxIterations: Number(values['max-iterations']),
  seed: Number(values.seed),
  workers: values.workers.split(',').map(Number),
};
if (!existsSync(new URL('../../www/pkg/benchsift_bg.wasm', import.meta.url))) throw new Error('www/pkg is missing: run npm run build first');

/** Peak resident memory (VmHWM, bytes) of every process under the browser whose command line names `dir`. */
function peakRss(/** @type {string} */ dir) {
  /** @type {Map<number, number>} */
  const parent = new Map();
  /** @type {number[]} */
  const roots = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) roots.push(pid);
    } catch {
      // the process ended meanwhile
    }
  }
  /** @type {{pid: number, type: string, peak: number}[]} */
  const out = [];
  for (const pid of parent.keys()) {
    let p = pid;
    while (p > 1 && !roots.includes(p)) p = parent.get(p) ?? 0;
    if (p <= 1) continue;
    try {
      const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      const type = /--type=([a-z-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
      out.push({ pid, type, peak });
    } catch {
      // ended
    }
  }
  return out;
}

const MB = 2 ** 20;
await withApiPage(
  'bigfit',
  async (page, dir) => {
    page.on('console', (msg) => console.log(`  [page] ${msg.text()}`));
    page.on('pageerror', (err) => console.log(`  [page error] ${err}`));
    const result = await page.evaluate(async (s) => {
      const api = /** @type {typeof import('../../www/lib/browser.js')} */ (await import('/lib/browser.js'));
      const glue = /** @type {any} */ (await import('/pkg/benchsift.js'));
      await api.version();
      // The module is initialised; init again returns its exports (and memory).
      const wasm = await glue.default();
      const perf = /** @type {any} */ (performance);
      let peakHeap = 0;
      const sample = () => {
        peakHeap = Math.max(peakHeap, perf.memory?.usedJSHeapSize ?? 0);
        return { heap: perf.memory?.usedJSHeapSize ?? 0, wasm: wasm.memory.buffer.byteLength };
      };
      // mulberry32
      let state = s.seed >>> 0;
      const uniform = () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
      const a = Float64Array.from({ length: s.items }, () => Math.exp(0.3 * normal()));
      const b = Float64Array.from({ length: s.items }, () => normal());
      const theta = new Float64Array(s.models);
      const t0 = performance.now();
      const enc = new TextEncoder();
      const header = enc.encode(`model,${Array.from({ length: s.items }, (_, i) => `q${i}`).join(',')}\n`);
      const rowLabel = (/** @type {number} */ m) => enc.encode(`m${String(m).padStart(5, '0')},`);
      const bytes = new Uint8Array(header.length + s.models * (rowLabel(0).length + 2 * s.items));
      bytes.set(header);
      let at = header.length;
      for (let m = 0; m < s.models; m++) {
        theta[m] = normal();
        const label = rowLabel(m);
        bytes.set(label, at);
        at += label.length;
        for (let i = 0; i < s.items; i++) {
          const p = 1 / (1 + Math.exp(-a[i] * (theta[m] - b[i])));
          bytes[at++] = uniform() < p ? 49 : 48;
          bytes[at++] = i === s.items - 1 ? 10 : 44;
        }
      }
      const generated = { seconds: (performance.now() - t0) / 1000, csvBytes: at, ...sample() };
      const file = { name: 'big.csv', data: bytes };
      const t1 = performance.now();
      const summary = await api.info(file);
      const loaded = { seconds: (performance.now() - t1) / 1000, models: summary.models, items: summary.items, kind: summary.kind, ...sample() };
      const pearson = (/** @type {ArrayLike<number>} */ x, /** @type {ArrayLike<number>} */ y) => {
        const n = x.length;
        let mx = 0, my = 0;
        for (let k = 0; k < n; k++) { mx += x[k] / n; my += y[k] / n; }
        let sxy = 0, sxx = 0, syy = 0;
        for (let k = 0; k < n; k++) { sxy += (x[k] - mx) * (y[k] - my); sxx += (x[k] - mx) ** 2; syy += (y[k] - my) ** 2; }
        return sxy / Math.sqrt(sxx * syy);
      };
      const fits = [];
      /** @type {string | undefined} */
      let firstJson;
      for (const workers of s.workers) {
        /** @type {{iteration: number, seconds: number, logLikelihood: number, maxChange: number, wasm: number}[]} */
        const iterations = [];
        const t2 = performance.now();
        const fitted = await api.fit(file, {
          irt: '2pl',
          backend: 'cpu',
          workers,
          maxIterations: s.maxIterations,
          onProgress: (p) => {
            const now = sample();
            iterations.push({ iteration: p.iteration, seconds: (performance.now() - t2) / 1000, logLikelihood: p.logLikelihood, maxChange: p.maxChange, wasm: now.wasm });
            console.log(`${workers} worker(s), iteration ${p.iteration}: ${((performance.now() - t2) / 1000).toFixed(1)} s, log-likelihood ${p.logLikelihood.toFixed(1)}, largest change ${p.maxChange.toExponential(2)}, wasm memory ${(now.wasm / 2 ** 20).toFixed(0)} MiB`);
          },
        });
        const fitSeconds = (performance.now() - t2) / 1000;
        const json = JSON.stringify({ ...fitted, backend: null });
        firstJson ??= json;
        const index = new Map(fitted.items.map((it, k) => [it.id, k]));
        const order = Array.from({ length: s.items }, (_, i) => /** @type {number} */ (index.get(`q${i}`)));
        fits.push({
          workers,
          seconds: fitSeconds,
          iterations: fitted.iterations,
          converged: fitted.converged,
          logLikelihood: fitted.log_likelihood,
          backend: fitted.backend,
          sameAsFirst: json === firstJson,
          rB: pearson(b, order.map((k) => fitted.items[k].b)),
          rA: pearson(a, order.map((k) => /** @type {number} */ (fitted.items[k].a))),
          rTheta: pearson(theta, fitted.models.map((m) => /** @type {number} */ (m.theta))),
          firstReport: iterations[0]?.seconds,
        });
      }
      const after = sample();
      return {
        generated,
        loaded,
        fits,
        memory: { peakJsHeap: peakHeap, wasmMemory: after.wasm },
        userAgent: navigator.userAgent,
      };
    }, settings);
    const rss = peakRss(dir);
    const renderer = rss.filter((p) => p.type === 'renderer').reduce((m, p) => Math.max(m, p.peak), 0);
    console.log(`\n${result.userAgent}`);
    console.log(`synthetic 2PL ${settings.models} × ${settings.items} (seed ${settings.seed}): CSV of ${(result.generated.csvBytes / MB).toFixed(0)} MiB generated in ${result.generated.seconds.toFixed(1)} s`);
    console.log(`load (info): ${result.loaded.seconds.toFixed(1)} s, ${result.loaded.models} × ${result.loaded.items} ${result.loaded.kind}`);
    const base = result.fits[0];
    for (const f of result.fits) {
      console.log(`fit 2PL on the CPU in wasm, ${f.workers} worker(s): ${f.seconds.toFixed(1)} s (whole call: read + fit + JSON), ${f.iterations} iterations, converged ${f.converged}` +
        (f.converged ? '' : ` (capped at --max-iterations ${settings.maxIterations})`) + `, log-likelihood ${f.logLikelihood.toFixed(1)}` +
        `; speed-up over ${base.workers} worker(s) ${(base.seconds / f.seconds).toFixed(2)}×, same fit to the bit: ${f.sameAsFirst}`);
      console.log(`  first progress report after ${f.firstReport?.toFixed(1)} s; backend: ${JSON.stringify(f.backend)}`);
      console.log(`  recovery: r(b) = ${f.rB.toFixed(4)}, r(a) = ${f.rA.toFixed(4)}, r(θ) = ${f.rTheta.toFixed(4)}`);
    }
    console.log(`memory: wasm linear memory ${(result.memory.wasmMemory / MB).toFixed(0)} MiB (it only grows: this is its peak), ` +
      `peak JS heap ${(result.memory.peakJsHeap / MB).toFixed(0)} MiB (performance.memory.usedJSHeapSize, which in Chromium counts ArrayBuffers such as the CSV), ` +
      `peak RSS of the renderer process ${(renderer / MB).toFixed(0)} MiB`);
  },
  ['--enable-precise-memory-info'],
);
