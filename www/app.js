// The page: picks data (bundled or the user's files), runs the wasm core in a
// Web Worker, and shows the results. All user text goes through textContent.

import { lineChart } from './plot.js';

/** @typedef {import('./lib/types.js').Info} Info */
/** @typedef {{name: string, role: 'responses' | 'items' | 'models', data: ArrayBuffer}} PageFile */

/** Bundled datasets: files under data/<key>/. */
const DATASETS = /** @type {const} */ ({
  mmlu_pro: { responses: 'responses.csv.gz', items: 'items.csv.gz' },
  alpacaeval: { responses: 'responses.csv.gz', items: 'items.csv.gz' },
  bbh: { responses: 'responses.csv', items: 'items.csv', models: 'models.csv' },
});

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

let nextId = 0;
/** @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void, onProgress?: (p: any) => void}>} */
const pending = new Map();

function startWorker() {
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  w.onmessage = (event) => {
    const { id, ok, result, error, ms, progress } = event.data;
    const call = pending.get(id);
    if (!call) return;
    if (progress !== undefined) {
      call.onProgress?.(progress);
      return;
    }
    pending.delete(id);
    if (ok) call.resolve({ result, ms });
    else call.reject(new Error(error));
  };
  w.onerror = (event) => {
    for (const call of pending.values()) call.reject(new Error(`the worker failed: ${event.message}`));
    pending.clear();
  };
  return w;
}

let worker = startWorker();

/** Stops whatever the worker is doing: a fresh worker replaces it. */
function cancelAll() {
  worker.terminate();
  for (const call of pending.values()) call.reject(new Error('cancelled'));
  pending.clear();
  worker = startWorker();
}

/**
 * @param {string} op
 * @param {PageFile[]} files
 * @param {object} [options]
 * @param {(progress: any) => void} [onProgress]
 * @returns {Promise<{result: any, ms: number}>}
 */
function run(op, files = [], options = {}, onProgress) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, op, files, options });
  });
}

/** @type {PageFile[]} */
let currentFiles = [];

/** @param {string} name @returns {PageFile['role']} */
function guessRole(name) {
  const base = name.split('/').pop()?.toLowerCase() ?? '';
  if (base.endsWith('.jsonl') || base.endsWith('.jsonl.gz')) return 'responses';
  if (/^items?[._-]|[._-]items?\.|^questions?[._-]/.test(base)) return 'items';
  if (/^models?[._-]|[._-]models?\.|^systems?[._-]/.test(base)) return 'models';
  return 'responses';
}

function renderFileList() {
  const list = $('file-list');
  list.replaceChildren();
  for (const [i, file] of currentFiles.entries()) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'file-name';
    name.textContent = file.name;
    const select = document.createElement('select');
    select.setAttribute('aria-label', `Role of ${file.name}`);
    for (const role of ['responses', 'items', 'models']) {
      const option = document.createElement('option');
      option.value = role;
      option.textContent = role;
      option.selected = role === file.role;
      select.append(option);
    }
    select.addEventListener('change', () => {
      currentFiles[i].role = /** @type {PageFile['role']} */ (select.value);
      analyse();
    });
    const size = document.createElement('span');
    size.className = 'file-size';
    size.textContent = formatBytes(file.data.byteLength);
    li.append(name, select, size);
    list.append(li);
  }
}

/** @param {number} n */
function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}

/** @param {string} text */
function setStatus(text) {
  $('status').textContent = text;
}

/** @param {string | null} message */
function setError(message) {
  const box = $('error');
  box.hidden = message == null;
  box.textContent = message ?? '';
}

const numberFormat = new Intl.NumberFormat('en');

/** @param {Info} info */
function showSummary(info) {
  $('summary').hidden = false;
  $('s-models').textContent = numberFormat.format(info.models);
  $('s-items').textContent = numberFormat.format(info.items);
  $('s-missing').textContent = `${(info.missing_fraction * 100).toFixed(2)}%`;
  $('s-kind').textContent = info.kind;
  $('s-mean').textContent = info.mean.toFixed(4);
  $('s-range').textContent = `${info.model_mean_range[0].toFixed(3)} – ${info.model_mean_range[1].toFixed(3)}`;
  const warnings = $('warnings');
  warnings.replaceChildren(
    ...info.warnings.map((w) => {
      const li = document.createElement('li');
      li.textContent = w;
      return li;
    }),
  );
  const groups = Object.entries(info.groups).sort((a, b) => b[1] - a[1]);
  const table = /** @type {HTMLTableElement} */ ($('groups'));
  table.hidden = groups.length === 0;
  $('groups-title').hidden = groups.length === 0;
  const max = Math.max(1, ...groups.map(([, n]) => n));
  table.tBodies[0].replaceChildren(
    ...groups.map(([name, n]) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = name;
      const count = document.createElement('td');
      count.textContent = numberFormat.format(n);
      const barCell = document.createElement('td');
      const bar = document.createElement('meter');
      bar.min = 0;
      bar.max = max;
      bar.value = n;
      bar.textContent = `${n}`;
      barCell.append(bar);
      tr.append(th, count, barCell);
      return tr;
    }),
  );
}

async function analyse() {
  renderFileList();
  if (!currentFiles.some((f) => f.role === 'responses')) {
    setError('No response matrix among the files: set one file’s role to “responses”.');
    return;
  }
  setError(null);
  setStatus('Reading…');
  document.body.dataset.state = 'busy';
  try {
    const { result, ms } = await run('info', currentFiles);
    showSummary(result);
    $('select-card').hidden = false;
    $('dup-card').hidden = !currentFiles.some((f) => f.role === 'items');
    $('dup-table').hidden = true;
    $('dup-summary').textContent = '';
    $('compare-card').hidden = false;
    $('select-result').hidden = true;
    $('compare-result').hidden = true;
    setStatus(`Read ${currentFiles.map((f) => f.name).join(', ')} in ${ms.toFixed(0)} ms.`);
    document.body.dataset.state = 'ready';
  } catch (e) {
    $('summary').hidden = true;
    setStatus('');
    setError(e instanceof Error ? e.message : String(e));
    document.body.dataset.state = 'error';
  }
}

/** @param {keyof typeof DATASETS} key */
async function loadBundled(key) {
  const spec = DATASETS[key];
  setStatus('Downloading the bundled data from this site…');
  /** @type {PageFile[]} */
  const files = [];
  for (const [role, file] of Object.entries(spec)) {
    const response = await fetch(`data/${key}/${file}`);
    if (!response.ok) throw new Error(`data/${key}/${file}: ${response.status} ${response.statusText}`);
    files.push({ name: `${key}/${file}`, role: /** @type {PageFile['role']} */ (role), data: await response.arrayBuffer() });
  }
  currentFiles = files;
  const url = new URL(location.href);
  url.searchParams.set('data', key);
  history.replaceState(null, '', url);
  await analyse();
}

/** @param {string} name */
const isLog = (name) => /\.jsonl(\.gz)?$/i.test(name);

/** @param {Iterable<File>} fileList */
async function useFiles(fileList) {
  let files = [...fileList];
  if (files.length === 0) return;
  // An lm-evaluation-harness output folder also holds results_*.json and
  // other files: keep the sample logs (and any items/models CSV).
  let ignored = 0;
  const nameOf = (/** @type {File} */ f) => /** @type {any} */ (f).webkitRelativePath || f.name;
  if (files.some((f) => isLog(nameOf(f)))) {
    const kept = files.filter((f) => isLog(nameOf(f)) || guessRole(nameOf(f)) !== 'responses');
    ignored = files.length - kept.length;
    files = kept;
  }
  currentFiles = await Promise.all(
    files.map(async (f) => {
      const name = /** @type {any} */ (f).webkitRelativePath || f.name;
      return { name, role: guessRole(name), data: await f.arrayBuffer() };
    }),
  );
  const url = new URL(location.href);
  url.searchParams.delete('data');
  history.replaceState(null, '', url);
  await analyse();
  if (ignored > 0) setStatus(`${$('status').textContent} Ignored ${ignored} file(s) that are not sample logs.`);
}

async function probeWebGPU() {
  const out = $('backend');
  /** @type {any} */
  const gpu = /** @type {any} */ (navigator).gpu;
  if (!gpu) {
    out.textContent = 'No WebGPU in this browser (or the page is not on a secure origin): benchsift computes on the CPU with WebAssembly SIMD.';
    out.dataset.backend = 'cpu';
    return;
  }
  let adapter = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    adapter = null;
  }
  if (!adapter) {
    out.textContent = 'WebGPU is present but offers no adapter (blocked or unsupported GPU): benchsift computes on the CPU with WebAssembly SIMD.';
    out.dataset.backend = 'cpu';
    return;
  }
  const info = adapter.info ?? {};
  const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' · ') || 'unnamed adapter';
  if (fallback) {
    out.textContent = `WebGPU adapter: ${name} (a software fallback adapter). benchsift computes on the CPU with WebAssembly SIMD, which is faster than a software GPU.`;
    out.dataset.backend = 'cpu';
  } else {
    out.textContent = `WebGPU adapter: ${name}. Large jobs use the GPU; small ones stay on the CPU, where they finish sooner.`;
    out.dataset.backend = 'gpu';
  }
  out.dataset.adapter = name;
  out.dataset.fallback = String(fallback);
}

/** @type {import('./lib/types.js').Subset | null} */
let lastSubset = null;

/** @param {HTMLFormElement} form */
function formValues(form) {
  return new FormData(form);
}

async function runSelect(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const data = formValues(/** @type {HTMLFormElement} */ (event.target));
  const options = {
    method: String(data.get('method')),
    budget: Number(data.get('budget')),
    seed: Number(data.get('seed')),
    stratify: data.get('stratify') === 'on',
  };
  // The link reproduces the run (the data itself never goes into the URL).
  const url = new URL(location.href);
  url.searchParams.set('method', options.method);
  url.searchParams.set('budget', String(options.budget));
  url.searchParams.set('seed', String(options.seed));
  if (options.stratify) url.searchParams.set('stratify', '1');
  else url.searchParams.delete('stratify');
  history.replaceState(null, '', url);
  setError(null);
  setStatus(`Selecting ${options.budget} items with ${options.method}…`);
  document.body.dataset.job = 'busy';
  try {
    const { result, ms } = await run('select', currentFiles, options);
    lastSubset = result;
    showSubset(result);
    setStatus(`Selected ${result.items.length} items in ${(ms / 1000).toFixed(1)} s.`);
    document.body.dataset.job = 'done';
  } catch (e) {
    showFatal(e);
    document.body.dataset.job = 'error';
  }
}

/** @param {import('./lib/types.js').Subset} subset */
function showSubset(subset) {
  $('select-result').hidden = false;
  $('select-summary').textContent =
    `${subset.items.length} of ${numberFormat.format(subset.benchmark_items)} items by ${subset.method}` +
    (subset.gpirt_lambda != null ? `; gp-IRT λ = ${subset.gpirt_lambda.toFixed(2)}` : '') + '.';
  const body = /** @type {HTMLTableElement} */ ($('subset-table')).tBodies[0];
  body.replaceChildren(
    ...subset.items.map((id, k) => {
      const tr = document.createElement('tr');
      const text = subset.texts?.[k] ?? '';
      for (const value of [String(k + 1), id, subset.groups?.[k] ?? '', subset.weights[k].toFixed(4), text.length > 160 ? `${text.slice(0, 160)}…` : text]) {
        const td = document.createElement('td');
        td.textContent = value;
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** @param {string} name @param {string} text @param {string} type */
function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** @param {string} field */
function csvField(field) {
  return /[",\n\r]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

async function runCompare(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const data = formValues(/** @type {HTMLFormElement} */ (event.target));
  const budgetsText = String(data.get('budgets') ?? '').trim();
  const options = {
    methods: data.getAll('methods').map(String),
    budgets: budgetsText ? budgetsText.split(',').map((b) => Number(b.trim())).filter((b) => b > 0) : undefined,
    folds: Number(data.get('folds')),
    seeds: Number(data.get('seeds')),
  };
  const progress = /** @type {HTMLProgressElement} */ ($('progress'));
  progress.hidden = false;
  progress.value = 0;
  $('cancel').hidden = false;
  setError(null);
  setStatus('Fitting and selecting on each fold…');
  document.body.dataset.job = 'busy';
  try {
    const { result, ms } = await run('evaluate', currentFiles, options, (p) => {
      progress.value = p.done / p.total;
      setStatus(`Fold ${p.done} of ${p.total} done…`);
    });
    showComparison(result);
    setStatus(`Compared ${result.results.length} method × estimator × budget cells in ${(ms / 1000).toFixed(1)} s.`);
    document.body.dataset.job = 'done';
  } catch (e) {
    if (e instanceof Error && e.message === 'cancelled') setStatus('Cancelled.');
    else showFatal(e);
    document.body.dataset.job = 'error';
  } finally {
    progress.hidden = true;
    $('cancel').hidden = true;
  }
}

/** @param {import('./lib/types.js').Evaluation} evaluation */
function showComparison(evaluation) {
  $('compare-result').hidden = false;
  /** @type {Map<string, import('./plot.js').Series>} */
  const series = new Map();
  for (const r of evaluation.results) {
    const key = `${r.method} (${r.estimator})`;
    if (!series.has(key)) series.set(key, { label: key, points: [] });
    series.get(key)?.points.push({ x: r.budget, y: r.mae.mean, low: r.mae.low, high: r.mae.high });
  }
  const chart = lineChart([...series.values()], { xLabel: 'items in the subset', yLabel: 'MAE of estimated score', title: 'Error versus budget' });
  const figure = $('chart');
  figure.querySelector('svg')?.remove();
  figure.prepend(chart);
  const fmt = (/** @type {{mean: number, low: number, high: number}} */ ci, /** @type {number} */ digits) =>
    Number.isFinite(ci.mean) ? `${ci.mean.toFixed(digits)} [${ci.low.toFixed(digits)}, ${ci.high.toFixed(digits)}]` : '–';
  /** @type {HTMLTableElement} */ ($('compare-table')).tBodies[0].replaceChildren(
    ...evaluation.results.map((r) => {
      const tr = document.createElement('tr');
      for (const value of [r.method, r.estimator, String(r.budget), fmt(r.mae, 4), fmt(r.kendall_tau, 3), fmt(r.coverage, 2)]) {
        const td = document.createElement('td');
        td.textContent = value;
        tr.append(td);
      }
      return tr;
    }),
  );
}

async function runDuplicates(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const data = formValues(/** @type {HTMLFormElement} */ (event.target));
  const threshold = Number(data.get('threshold'));
  setError(null);
  setStatus('Comparing every pair of item texts…');
  document.body.dataset.job = 'busy';
  try {
    const { result, ms } = await run('similar', currentFiles.filter((f) => f.role === 'items'), { threshold });
    $('dup-summary').textContent =
      `${numberFormat.format(result.pairs.length)} pairs of ${numberFormat.format(result.items)} items have cosine ≥ ${threshold} ` +
      `(${result.features === 'embeddings' ? 'your embeddings' : 'built-in word and character n-gram features'}; ${(ms / 1000).toFixed(1)} s).`;
    const shown = result.pairs.slice(0, 500);
    /** @type {HTMLTableElement} */ ($('dup-table')).tBodies[0].replaceChildren(
      ...shown.map((/** @type {import('./lib/types.js').SimilarReport['pairs'][number]} */ p) => {
        const tr = document.createElement('tr');
        for (const value of [p.cosine.toFixed(3), p.a, p.a_text ?? '', p.b, p.b_text ?? '']) {
          const td = document.createElement('td');
          td.textContent = value.length > 240 ? `${value.slice(0, 240)}…` : value;
          tr.append(td);
        }
        return tr;
      }),
    );
    $('dup-table').hidden = shown.length === 0;
    setStatus(result.pairs.length > shown.length ? `Showing the 500 most similar of ${result.pairs.length} pairs.` : '');
    document.body.dataset.job = 'done';
  } catch (e) {
    showFatal(e);
    document.body.dataset.job = 'error';
  }
}

function setUp() {
  $('dup-form').addEventListener('submit', (e) => runDuplicates(/** @type {SubmitEvent} */ (e)));
  $('select-form').addEventListener('submit', (e) => runSelect(/** @type {SubmitEvent} */ (e)));
  $('compare-form').addEventListener('submit', (e) => runCompare(/** @type {SubmitEvent} */ (e)));
  $('cancel').addEventListener('click', cancelAll);
  $('download-json').addEventListener('click', () => lastSubset && download('subset.json', JSON.stringify(lastSubset, null, 2), 'application/json'));
  $('download-csv').addEventListener('click', () => {
    if (!lastSubset) return;
    const s = lastSubset;
    const rows = s.items.map((id, k) => [id, s.weights[k].toString(), s.groups?.[k] ?? ''].map(csvField).join(','));
    download('subset.csv', ['item_id,weight,group', ...rows].join('\n') + '\n', 'text/csv');
  });
  const select = /** @type {HTMLSelectElement} */ ($('dataset'));
  select.addEventListener('change', () => loadBundled(/** @type {keyof typeof DATASETS} */ (select.value)).catch(showFatal));
  for (const id of ['files', 'folder']) {
    const input = /** @type {HTMLInputElement} */ ($(id));
    input.addEventListener('change', () => useFiles(input.files ?? []).catch(showFatal));
  }
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    useFiles(e.dataTransfer?.files ?? []).catch(showFatal);
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      $('files').click();
    }
  });
  run('version').then(({ result }) => ($('version').textContent = result), showFatal);
  probeWebGPU();
  restoreSelectSettings();
  const wanted = new URLSearchParams(location.search).get('data');
  const key = wanted && wanted in DATASETS ? /** @type {keyof typeof DATASETS} */ (wanted) : 'mmlu_pro';
  select.value = key;
  loadBundled(key).catch(showFatal);
}

/** Fills the selection form from the URL (a shared link). */
function restoreSelectSettings() {
  const params = new URLSearchParams(location.search);
  const form = /** @type {HTMLFormElement} */ ($('select-form'));
  const method = /** @type {HTMLSelectElement} */ (form.elements.namedItem('method'));
  const wantedMethod = params.get('method');
  if (wantedMethod && [...method.options].some((o) => o.value === wantedMethod)) method.value = wantedMethod;
  for (const name of ['budget', 'seed']) {
    const value = params.get(name);
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
    if (value && /^\d+$/.test(value)) input.value = value;
  }
  /** @type {HTMLInputElement} */ (form.elements.namedItem('stratify')).checked = params.get('stratify') === '1';
}

/** @param {unknown} e */
function showFatal(e) {
  setStatus('');
  setError(e instanceof Error ? e.message : String(e));
  document.body.dataset.state = 'error';
}

setUp();
