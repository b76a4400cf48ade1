// The page: picks data (bundled or the user's files), runs the wasm core in a
// Web Worker, and shows the results. All user text goes through textContent.

import { lmEvalSamples } from './lib/lm_eval.js';
import { curveChart, lineChart, pngBlob, scatterChart, svgDocument } from './plot.js';

/** @typedef {import('./lib/types.js').Info} Info */
/** @typedef {{name: string, role: 'responses' | 'items' | 'models' | 'embeddings' | 'metric' | 'outputs', data: ArrayBuffer}} PageFile */

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
  if (base.endsWith('.npy') || base.endsWith('.npy.gz')) return 'embeddings';
  // Embeddings as JSON, JSON Lines or CSV are told apart by name.
  if (/embedding|vectors/.test(base)) return 'embeddings';
  // Automatic-metric score matrices (a WMT folder's metric_scores/) and
  // model outputs, for the metric-* and diversity selectors.
  if (/(^|\/)metric_scores\//.test(name.toLowerCase()) || /metric/.test(base)) return 'metric';
  if (/(^|[._-])outputs?[._-]/.test(base)) return 'outputs';
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
    for (const role of ['responses', 'items', 'models', 'embeddings', 'metric', 'outputs']) {
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

/**
 * A table row of text cells (user text stays text: `textContent`).
 * @param {string[]} values
 */
function tableRow(values) {
  const tr = document.createElement('tr');
  for (const value of values) {
    const td = document.createElement('td');
    td.textContent = value;
    tr.append(td);
  }
  return tr;
}

const numberFormat = new Intl.NumberFormat('en');

/** @type {Info | null} */
let lastInfo = null;
/** @type {import('./lib/types.js').FitResult | null} */
let lastFit = null;

/** @param {Info} info */
function showSummary(info) {
  lastInfo = info;
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
    $('dup-card').hidden = !currentFiles.some((f) => f.role === 'items' || f.role === 'embeddings');
    $('dup-table').hidden = true;
    $('dup-summary').textContent = '';
    $('compare-card').hidden = false;
    $('map-card').hidden = false;
    $('filter-card').hidden = false;
    $('filter-result').hidden = true;
    $('estimate-card').hidden = false;
    $('select-result').hidden = true;
    $('compare-result').hidden = true;
    $('map-result').hidden = true;
    $('estimate-result').hidden = true;
    $('estimate-summary').textContent = '';
    lastFit = null;
    lastSubset = null;
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

/** Bins of the "spread over difficulty" boxes (the CLI's --difficulty-strata 10, measured in BENCHMARKS.md). */
const DIFFICULTY_BINS = 10;

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
    difficultyStrata: data.get('difficulty') === 'on' ? DIFFICULTY_BINS : 0,
    guard: data.get('guard') === 'on',
    holdoutModels: String(data.get('holdout') ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  };
  if (options.holdoutModels.length === 0) delete (/** @type {{holdoutModels?: string[]}} */ (options)).holdoutModels;
  // The link reproduces the run (the data itself never goes into the URL).
  const url = new URL(location.href);
  url.searchParams.set('method', options.method);
  url.searchParams.set('budget', String(options.budget));
  url.searchParams.set('seed', String(options.seed));
  if (options.stratify) url.searchParams.set('stratify', '1');
  else url.searchParams.delete('stratify');
  if (options.difficultyStrata) url.searchParams.set('difficulty', '1');
  else url.searchParams.delete('difficulty');
  if (options.guard) url.searchParams.delete('noguard');
  else url.searchParams.set('noguard', '1');
  history.replaceState(null, '', url);
  setError(null);
  setStatus(`Selecting ${options.budget} items with ${options.method}${options.method.startsWith('irt') ? ' (fitting the IRT model first)' : ''}…`);
  document.body.dataset.job = 'busy';
  const busy = showBusy('select');
  try {
    const { result, ms } = await run('select', currentFiles, options);
    lastSubset = result;
    lastHoldout = new Set(options.holdoutModels ?? []);
    showSubset(result);
    setStatus(`Selected ${result.items.length} items in ${(ms / 1000).toFixed(1)} s.`);
    document.body.dataset.job = 'done';
  } catch (e) {
    if (e instanceof Error && e.message === 'cancelled') setStatus('Cancelled.');
    else showFatal(e);
    document.body.dataset.job = 'error';
  } finally {
    busy();
  }
}

/**
 * Shows a job's indeterminate progress bar and Cancel button; returns the
 * function that hides them again.
 * @param {string} job prefix of the `-progress` and `-cancel` element ids
 */
function showBusy(job) {
  $(`${job}-progress`).hidden = false;
  $(`${job}-cancel`).hidden = false;
  return () => {
    $(`${job}-progress`).hidden = true;
    $(`${job}-cancel`).hidden = true;
  };
}

/**
 * What irt-info and metabench rank by, and how far it can be trusted (the split-half reliability of the
 * discriminations; below 0.5 most of their spread is noise).
 * @param {import('./lib/types.js').Subset} subset
 */
function reliabilityNote(subset) {
  const r = subset.discrimination_reliability;
  if (r == null) return '';
  const note = ` Split-half reliability of the discriminations it ranks by: ${r.toFixed(2)}`;
  return r < 0.5 ? `${note}, so mostly noise with these training models: consider random or irt-cluster.` : `${note}.`;
}

/**
 * What the random guard decided: where the method's cross-validated subsets estimated the training models' scores
 * worse than random ones, the subset shown is random.
 * @param {import('./lib/types.js').Subset} subset
 */
function guardNote(subset) {
  if (subset.guard_skipped) return ` The random guard could not run (${subset.guard_skipped}).`;
  const g = subset.guard;
  if (!g?.fell_back) return '';
  const error = (/** @type {number | null} */ e) => (e == null ? 'none' : e.toFixed(4));
  return ` Cross-validated on the training models, ${subset.method}'s subsets estimated full scores worse than random subsets of this size` +
    ` (mean absolute error ${error(g.method_error)} against ${error(g.random_error)}), so these items are a random subset.`;
}

/** @param {import('./lib/types.js').Subset} subset */
function showSubset(subset) {
  $('select-result').hidden = false;
  $('select-summary').textContent =
    `${subset.items.length} of ${numberFormat.format(subset.benchmark_items)} items by ${subset.method}` +
    (subset.gpirt_lambda != null ? `; gp-IRT λ = ${subset.gpirt_lambda.toFixed(2)}` : '') + '.' +
    guardNote(subset) + reliabilityNote(subset);
  const body = /** @type {HTMLTableElement} */ ($('subset-table')).tBodies[0];
  body.replaceChildren(
    ...subset.items.map((id, k) => {
      const text = subset.texts?.[k] ?? '';
      return tableRow([String(k + 1), id, subset.groups?.[k] ?? '', subset.weights[k].toFixed(4), text.length > 160 ? `${text.slice(0, 160)}…` : text]);
    }),
  );
  $('lm-eval').hidden = true;
  $('lm-eval-error').hidden = true;
  if (lastFit) showItemMap(lastFit);
}

function showLmEvalRun() {
  if (!lastSubset) return;
  try {
    const run = lmEvalSamples(lastSubset);
    $('lm-eval-command').textContent = run.command;
    $('lm-eval').hidden = false;
    $('lm-eval-error').hidden = true;
    return run;
  } catch (e) {
    $('lm-eval').hidden = true;
    $('lm-eval-error').hidden = false;
    $('lm-eval-error').textContent = e instanceof Error ? e.message : String(e);
  }
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
    difficultyStrata: data.get('difficulty') === 'on' ? DIFFICULTY_BINS : 0,
    guard: data.get('guard') === 'on',
  };
  const url = new URL(location.href);
  url.searchParams.set('compare', options.methods.join(','));
  if (options.difficultyStrata) url.searchParams.set('compareDifficulty', '1');
  else url.searchParams.delete('compareDifficulty');
  if (options.guard) url.searchParams.delete('compareNoGuard');
  else url.searchParams.set('compareNoGuard', '1');
  if (options.budgets) url.searchParams.set('budgets', options.budgets.join(','));
  else url.searchParams.delete('budgets');
  url.searchParams.set('folds', String(options.folds));
  url.searchParams.set('seeds', String(options.seeds));
  history.replaceState(null, '', url);
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
      const random = r.guard_fallbacks == null ? '' : `${Math.round(r.guard_fallbacks * 100)}%`;
      return tableRow([r.method, r.estimator, String(r.budget), fmt(r.mae, 4), fmt(r.kendall_tau, 3), fmt(r.coverage, 2), random]);
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
    const { result, ms } = await run('similar', currentFiles.filter((f) => f.role === 'items' || f.role === 'embeddings'), { threshold });
    $('dup-summary').textContent =
      `${numberFormat.format(result.pairs.length)} pairs of ${numberFormat.format(result.items)} items have cosine ≥ ${threshold} ` +
      `(${result.features === 'embeddings' ? 'your embeddings' : 'built-in word and character n-gram features'}; ${(ms / 1000).toFixed(1)} s).`;
    const shown = result.pairs.slice(0, 500);
    /** @type {HTMLTableElement} */ ($('dup-table')).tBodies[0].replaceChildren(
      ...shown.map((/** @type {import('./lib/types.js').SimilarReport['pairs'][number]} */ p) => {
        return tableRow([p.cosine.toFixed(3), p.a, p.a_text ?? '', p.b, p.b_text ?? ''].map((v) => (v.length > 240 ? `${v.slice(0, 240)}…` : v)));
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

/** @type {import('./lib/types.js').FilterReport | null} */
let lastFilter = null;

async function runFilter(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const data = formValues(/** @type {HTMLFormElement} */ (event.target));
  const number = (/** @type {string} */ name) => {
    const text = String(data.get(name) ?? '').trim();
    return text === '' ? undefined : Number(text);
  };
  const options = {
    easy: data.get('easy') === 'on',
    easyTopK: number('easyTopK'),
    contamination: data.get('contamination') === 'on',
    duplicates: data.get('duplicates') === 'on',
    duplicateThreshold: number('duplicateThreshold'),
  };
  const busy = showBusy('filter');
  setError(null);
  setStatus('Filtering: fitting the IRT model, testing residuals, comparing item texts…');
  document.body.dataset.job = 'busy';
  try {
    const { result, ms } = await run('filter', currentFiles, options);
    lastFilter = result;
    showFilter(result);
    setStatus(`Filtered in ${(ms / 1000).toFixed(1)} s.`);
    document.body.dataset.job = 'done';
  } catch (e) {
    if (e instanceof Error && e.message === 'cancelled') setStatus('Cancelled.');
    else showFatal(e);
    document.body.dataset.job = 'error';
  } finally {
    busy();
  }
}

/** @param {import('./lib/types.js').FilterReport} report */
function showFilter(report) {
  $('filter-result').hidden = false;
  $('filter-summary').textContent =
    `Kept ${numberFormat.format(report.kept.length)} of ${numberFormat.format(report.items)} items; ` +
    `Kendall τ between the model rankings on the kept and on all items: ${report.kendall_tau_vs_full.toFixed(3)}.` +
    (report.warnings.length > 0 ? ` ${report.warnings.join(' ')}` : '');
  const names = { easy: 'Easy', contamination: 'Likely contaminated', duplicates: 'Near-duplicates' };
  /** @type {HTMLTableElement} */ ($('filter-stages')).tBodies[0].replaceChildren(
    ...report.stages.map((stage) => {
      return tableRow([names[stage.stage] ?? stage.stage, stage.ran ? numberFormat.format(stage.removed) : 'off', stage.rule]);
    }),
  );
  const evidence = (/** @type {import('./lib/types.js').FilterRemoved} */ r) => {
    if (r.reason === 'duplicate') return `cosine ${r.cosine?.toFixed(3)} with ${r.duplicate_of}`;
    if (r.reason === 'contamination') return r.q3 != null ? `Q3 ${r.q3.toFixed(3)} with ${(r.correlated_with ?? []).slice(0, 5).join(', ')}` : `score ${r.score}`;
    if (r.min_probability != null) return `P(correct) ≥ ${r.min_probability.toFixed(3)} for the strongest models`;
    return `${((r.top_fraction_correct ?? 1) * 100).toFixed(0)}% of the strongest models correct`;
  };
  const shown = report.removed.slice(0, 500);
  /** @type {HTMLTableElement} */ ($('filter-removed')).tBodies[0].replaceChildren(
    ...shown.map((r) => {
      return tableRow([r.id, r.reason, evidence(r)]);
    }),
  );
}

/** @type {{svg: SVGSVGElement, nearest: (x: number, y: number) => number} | null} */
let itemMap = null;
/** Item id → index into `lastFit.items`. */
let itemIndex = new Map();

async function runFit(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const data = formValues(/** @type {HTMLFormElement} */ (event.target));
  let irt = String(data.get('irt'));
  if (irt === 'auto') irt = lastInfo?.kind === 'binary' ? '2pl' : 'beta';
  const progress = /** @type {HTMLProgressElement} */ ($('map-progress'));
  progress.value = 0;
  const busy = showBusy('map');
  setError(null);
  setStatus(`Fitting a ${irt} model…`);
  document.body.dataset.job = 'busy';
  try {
    const { result, ms } = await run('fit', currentFiles, { irt }, (p) => {
      progress.value = p.iteration / p.maxIterations;
      setStatus(`Fitting a ${irt} model: iteration ${p.iteration}, log-likelihood ${p.logLikelihood.toFixed(1)}…`);
    });
    lastFit = result;
    showItemMap(result);
    setStatus(`Fitted ${result.irt} to ${numberFormat.format(result.items.length)} items in ${(ms / 1000).toFixed(1)} s (${result.iterations} iterations${result.converged ? '' : ', not converged'}).`);
    document.body.dataset.job = 'done';
  } catch (e) {
    if (e instanceof Error && e.message === 'cancelled') setStatus('Cancelled.');
    else showFatal(e);
    document.body.dataset.job = 'error';
  } finally {
    busy();
  }
}

/**
 * An item's discrimination: `a`, or for a multidimensional fit its length
 * (MDISC), which with b = MDIFF gives the curve along the item's direction.
 * @param {import('./lib/types.js').FitResult['items'][number]} item
 */
function discrimination(item) {
  return typeof item.a === 'number' ? item.a : Math.hypot(...item.a);
}

/** @param {import('./lib/types.js').FitResult} fit */
function showItemMap(fit) {
  $('map-result').hidden = false;
  itemIndex = new Map(fit.items.map((item, i) => [item.id, i]));
  const picked = new Set((lastSubset?.items ?? []).map((id) => itemIndex.get(id)).filter((i) => i !== undefined));
  $('map-summary').textContent =
    `${fit.irt} fit of ${numberFormat.format(fit.items.length)} items and ${numberFormat.format(fit.models.length)} models; ` +
    `log-likelihood ${fit.log_likelihood.toFixed(1)}; computed on the ${fit.backend.device.toUpperCase()} (${fit.backend.reason}).` +
    (picked.size > 0 ? ` ${picked.size} selected items highlighted.` : '');
  itemMap = scatterChart(fit.items.map((item) => ({ x: item.b, y: discrimination(item) })), /** @type {Set<number>} */ (picked), {
    xLabel: 'difficulty b',
    yLabel: 'discrimination a',
    title: 'Item map: difficulty against discrimination',
  });
  itemMap.svg.classList.add('pickable');
  const map = itemMap;
  map.svg.addEventListener('click', (e) => {
    const i = map.nearest(e.clientX, e.clientY);
    if (i >= 0) showItem(i);
  });
  const figure = $('map-chart');
  figure.querySelector('svg')?.remove();
  figure.prepend(itemMap.svg);
}

/** @param {number} i index into `lastFit.items` */
async function showItem(i) {
  if (!lastFit) return;
  const item = lastFit.items[i];
  const c = item.c ?? 0;
  const d = item.d ?? 1;
  const a = discrimination(item);
  // A multidimensional fit's first ability axis (the page fits one dimension).
  const thetas = lastFit.models.map((m) => (typeof m.theta === 'number' ? m.theta : m.theta[0]));
  const lo = Math.min(-4, ...thetas.map((t) => t - 0.5));
  const hi = Math.max(4, ...thetas.map((t) => t + 0.5));
  const points = Array.from({ length: 121 }, (_, k) => {
    const theta = lo + ((hi - lo) * k) / 120;
    return { x: theta, y: c + (d - c) / (1 + Math.exp(-a * (theta - item.b))) };
  });
  $('item-detail').hidden = false;
  $('item-title').textContent =
    `${item.id}: a = ${a.toFixed(3)}, b = ${item.b.toFixed(3)}` +
    (item.c != null ? `, c = ${item.c.toFixed(3)}` : '') + (item.d != null ? `, d = ${item.d.toFixed(3)}` : '') +
    (lastSubset?.items.includes(item.id) ? ' (in the subset)' : '');
  const chart = curveChart([{ label: item.id, points }], thetas, { xLabel: 'ability θ', yLabel: 'expected score', title: `Characteristic curve of ${item.id}` });
  const figure = $('icc-chart');
  figure.querySelector('svg')?.remove();
  figure.prepend(chart);
  const input = /** @type {HTMLInputElement} */ (/** @type {HTMLFormElement} */ ($('item-form')).elements.namedItem('item'));
  input.value = item.id;
  $('item-text').textContent = '';
  if (currentFiles.some((f) => f.role === 'items')) {
    try {
      const { result } = await run('itemText', currentFiles, { id: item.id });
      $('item-text').textContent = result ?? '(this item has no text in the items file)';
    } catch (e) {
      $('item-text').textContent = `(could not read the item's text: ${e instanceof Error ? e.message : String(e)})`;
    }
  }
}

function findItem(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const id = String(formValues(/** @type {HTMLFormElement} */ (event.target)).get('item')).trim();
  const i = itemIndex.get(id);
  if (i === undefined) {
    setError(`No item '${id}' in the fitted model.`);
    return;
  }
  setError(null);
  showItem(i);
}

/** @param {File | null} file @param {string} what */
async function readJsonFile(file, what) {
  if (!file || file.size === 0) return null;
  try {
    return JSON.parse(await file.text());
  } catch (e) {
    throw new Error(`${file.name}: not a ${what} JSON file (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** @type {import('./lib/types.js').Estimates | null} */
let lastEstimates = null;
/** Models held out of the last selection: their estimates are honest tests. */
let lastHoldout = new Set();

async function runEstimate(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const data = formValues(form);
  const estimator = String(data.get('estimator'));
  setError(null);
  document.body.dataset.job = 'busy';
  const busy = showBusy('estimate');
  try {
    const subset = (await readJsonFile(/** @type {File | null} */ (data.get('subset')), 'subset')) ?? lastSubset;
    if (!subset) throw new Error('Select a subset first (or load a subset JSON file).');
    const answers = /** @type {File | null} */ (data.get('answers'));
    /** @type {PageFile[]} */
    const responses =
      answers && answers.size > 0
        ? [{ name: answers.name, role: 'responses', data: await answers.arrayBuffer() }]
        : currentFiles.filter((f) => f.role === 'responses');
    let fit = await readJsonFile(/** @type {File | null} */ (data.get('fit')), 'fitted model');
    if (!fit && ['irt', 'pirt', 'gpirt'].includes(estimator)) {
      if (!lastFit) {
        setStatus('Fitting the IRT model the estimator needs…');
        const irt = lastInfo?.kind === 'binary' ? '2pl' : 'beta';
        lastFit = (await run('fit', currentFiles, { irt })).result;
        showItemMap(/** @type {import('./lib/types.js').FitResult} */ (lastFit));
      }
      fit = lastFit;
    }
    setStatus('Estimating…');
    const { result, ms } = await run('estimate', responses, { subset, fit, estimator });
    lastEstimates = result;
    showEstimates(result, subset);
    setStatus(`Estimated ${result.models.length} models in ${ms.toFixed(0)} ms.`);
    document.body.dataset.job = 'done';
  } catch (e) {
    if (e instanceof Error && e.message === 'cancelled') setStatus('Cancelled.');
    else showFatal(e);
    document.body.dataset.job = 'error';
  } finally {
    busy();
  }
}

/** Ranks (1 = best), ties sharing the mean rank. @param {number[]} values */
function ranks(values) {
  const order = values.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
  const out = new Array(values.length);
  for (let k = 0; k < order.length; ) {
    let j = k;
    while (j + 1 < order.length && order[j + 1][0] === order[k][0]) j++;
    for (let t = k; t <= j; t++) out[order[t][1]] = (k + j) / 2 + 1;
    k = j + 1;
  }
  return out;
}

/** Kendall's τ-b. @param {number[]} x @param {number[]} y */
function kendallTau(x, y) {
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign(x[i] - x[j]);
      const dy = Math.sign(y[i] - y[j]);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiesX++;
      else if (dy === 0) tiesY++;
      else if (dx === dy) concordant++;
      else discordant++;
    }
  }
  const n0 = concordant + discordant;
  return (concordant - discordant) / Math.sqrt((n0 + tiesX) * (n0 + tiesY));
}

/**
 * @param {import('./lib/types.js').Estimates} estimates
 * @param {import('./lib/types.js').Subset} subset
 */
function showEstimates(estimates, subset) {
  const models = estimates.models;
  const haveFull = models.length > 0 && models.every((m) => m.full_mean != null);
  const rankEstimate = ranks(models.map((m) => m.estimate));
  const rankFull = haveFull ? ranks(models.map((m) => /** @type {number} */ (m.full_mean))) : [];
  let summary = `${estimates.estimator} estimates from ${subset.items.length} of ${numberFormat.format(subset.benchmark_items)} items; ${estimates.interval} intervals.`;
  if (haveFull && models.length > 1) {
    const mae = models.reduce((sum, m) => sum + Math.abs(m.estimate - /** @type {number} */ (m.full_mean)), 0) / models.length;
    const tau = kendallTau(models.map((m) => m.estimate), models.map((m) => /** @type {number} */ (m.full_mean)));
    const covered = models.filter((m) => /** @type {number} */ (m.full_mean) >= m.low && /** @type {number} */ (m.full_mean) <= m.high).length;
    summary +=
      ` Against the full scores: mean absolute error ${mae.toFixed(4)}, Kendall τ of the ranking ${tau.toFixed(3)}, ` +
      `${covered} of ${models.length} intervals contain the full score.`;
    const held = models.filter((m) => lastHoldout.has(m.id));
    if (held.length > 0 && subset === lastSubset) {
      const heldMae = held.reduce((sum, m) => sum + Math.abs(m.estimate - /** @type {number} */ (m.full_mean)), 0) / held.length;
      const heldCovered = held.filter((m) => /** @type {number} */ (m.full_mean) >= m.low && /** @type {number} */ (m.full_mean) <= m.high).length;
      summary += ` The ${held.length} held-out models (not used to choose the subset): mean absolute error ${heldMae.toFixed(4)}, ${heldCovered} of ${held.length} intervals contain the full score.`;
    } else {
      summary += ' (These models helped choose the subset, so this is optimistic: hold some out when selecting, or use “Compare methods”.)';
    }
  }
  $('estimate-summary').textContent = summary;
  $('estimate-result').hidden = false;
  const order = models.map((_, i) => i).sort((a, b) => rankEstimate[a] - rankEstimate[b]);
  /** @type {HTMLTableElement} */ ($('estimate-table')).tBodies[0].replaceChildren(
    ...order.map((i) => {
      const m = models[i];
      return tableRow([lastHoldout.has(m.id) && subset === lastSubset ? `${m.id} (held out)` : m.id, m.estimate.toFixed(4), `${m.low.toFixed(4)} – ${m.high.toFixed(4)}`, m.full_mean?.toFixed(4) ?? '–', haveFull ? String(rankFull[i]) : '–', String(rankEstimate[i])]);
    }),
  );
}

/** @param {string} id of a figure holding an SVG chart @param {string} name */
function saveSvg(id, name) {
  const svg = /** @type {SVGSVGElement | null} */ ($(id).querySelector('svg'));
  if (svg) download(`${name}.svg`, svgDocument(svg), 'image/svg+xml');
}

/** @param {string} id @param {string} name */
async function savePng(id, name) {
  const svg = /** @type {SVGSVGElement | null} */ ($(id).querySelector('svg'));
  if (!svg) return;
  const blob = await pngBlob(svg);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `${name}.png`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function setUp() {
  $('dup-form').addEventListener('submit', (e) => runDuplicates(/** @type {SubmitEvent} */ (e)));
  $('select-form').addEventListener('submit', (e) => runSelect(/** @type {SubmitEvent} */ (e)));
  $('compare-form').addEventListener('submit', (e) => runCompare(/** @type {SubmitEvent} */ (e)));
  $('cancel').addEventListener('click', cancelAll);
  $('map-form').addEventListener('submit', (e) => runFit(/** @type {SubmitEvent} */ (e)));
  $('filter-form').addEventListener('submit', (e) => runFilter(/** @type {SubmitEvent} */ (e)));
  $('filter-cancel').addEventListener('click', cancelAll);
  $('download-filter').addEventListener('click', () => lastFilter && download('filtered.json', JSON.stringify(lastFilter, null, 2), 'application/json'));
  $('download-kept').addEventListener('click', () => lastFilter && download('kept.csv', ['item_id', ...lastFilter.kept.map(csvField)].join('\n') + '\n', 'text/csv'));
  $('map-cancel').addEventListener('click', cancelAll);
  $('select-cancel').addEventListener('click', cancelAll);
  $('estimate-cancel').addEventListener('click', cancelAll);
  $('item-form').addEventListener('submit', (e) => findItem(/** @type {SubmitEvent} */ (e)));
  $('estimate-form').addEventListener('submit', (e) => runEstimate(/** @type {SubmitEvent} */ (e)));
  $('map-svg').addEventListener('click', () => saveSvg('map-chart', 'item-map'));
  $('map-png').addEventListener('click', () => savePng('map-chart', 'item-map').catch(showFatal));
  $('chart-svg').addEventListener('click', () => saveSvg('chart', 'error-vs-budget'));
  $('chart-png').addEventListener('click', () => savePng('chart', 'error-vs-budget').catch(showFatal));
  $('download-fit').addEventListener('click', () => lastFit && download('model.json', JSON.stringify(lastFit, null, 2), 'application/json'));
  $('download-estimates').addEventListener('click', () => {
    if (!lastEstimates) return;
    const rows = lastEstimates.models.map((m) => [m.id, String(m.estimate), String(m.low), String(m.high), m.full_mean != null ? String(m.full_mean) : ''].map(csvField).join(','));
    download('estimates.csv', ['model,estimate,low,high,full_mean', ...rows].join('\n') + '\n', 'text/csv');
  });
  $('show-lm-eval').addEventListener('click', showLmEvalRun);
  $('download-samples').addEventListener('click', () => {
    const run = showLmEvalRun();
    if (run) download('samples.json', JSON.stringify(run.samples) + '\n', 'application/json');
  });
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
  // Offline after the first visit (sw.js); file:// pages cannot have one.
  if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
    navigator.serviceWorker.register('sw.js').catch((e) => console.warn('no offline copy:', e));
  }
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
  /** @type {HTMLInputElement} */ (form.elements.namedItem('difficulty')).checked = params.get('difficulty') === '1';
  /** @type {HTMLInputElement} */ (form.elements.namedItem('guard')).checked = params.get('noguard') !== '1';
  const compare = /** @type {HTMLFormElement} */ ($('compare-form'));
  /** @type {HTMLInputElement} */ (compare.elements.namedItem('difficulty')).checked = params.get('compareDifficulty') === '1';
  /** @type {HTMLInputElement} */ (compare.elements.namedItem('guard')).checked = params.get('compareNoGuard') !== '1';
  const methods = params.get('compare');
  if (methods != null) {
    const wanted = new Set(methods.split(','));
    for (const box of compare.querySelectorAll('input[name="methods"]')) {
      /** @type {HTMLInputElement} */ (box).checked = wanted.has(/** @type {HTMLInputElement} */ (box).value);
    }
  }
  const budgets = params.get('budgets');
  if (budgets && /^[0-9, ]+$/.test(budgets)) /** @type {HTMLInputElement} */ (compare.elements.namedItem('budgets')).value = budgets;
  for (const name of ['folds', 'seeds']) {
    const value = params.get(name);
    if (value && /^\d+$/.test(value)) /** @type {HTMLInputElement} */ (compare.elements.namedItem(name)).value = value;
  }
}

/** @param {unknown} e */
function showFatal(e) {
  setStatus('');
  setError(e instanceof Error ? e.message : String(e));
  document.body.dataset.state = 'error';
}

setUp();
