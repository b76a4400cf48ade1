// The Data card: a bundled dataset or the user's files (chosen, dropped, or a
// folder), each file's role, and reading them into the summary. Reading is
// not a job of the other panels' kind: it marks `body[data-state]`, which the
// tests wait on, and a failure hides the summary.

import { $, errorMessage } from '../ui/dom.js';
import { setError, setStatus, showFatal, statusText } from '../ui/status.js';
import { saveUrlSettings, urlSetting } from '../ui/url.js';
import { hideSummary, showSummary } from './summary.js';

/** @typedef {import('../state.js').PageFile} PageFile */
/** @typedef {import('../state.js').FileRole} FileRole */

/** Bundled datasets: files under data/<key>/, by role. */
const DATASETS = /** @type {const} */ ({
  mmlu_pro: { responses: 'responses.csv.gz', items: 'items.csv.gz' },
  alpacaeval: { responses: 'responses.csv.gz', items: 'items.csv.gz' },
  bbh: { responses: 'responses.csv', items: 'items.csv', models: 'models.csv' },
});

/** @typedef {keyof typeof DATASETS} DatasetKey */

/** @type {FileRole[]} */
const ROLES = ['responses', 'items', 'models', 'truth', 'embeddings', 'metric', 'outputs', 'answer-only'];

/** What a file of each role holds and what it is for, shown beside the file. */
export const ROLE_HELP = /** @type {Record<FileRole, string>} */ ({
  responses: 'Rows are models, columns items, cells 0/1 or scores (wide CSV/TSV, long model,item,score, JSON, or lm-evaluation-harness samples_*.jsonl logs).',
  items: 'One row per item: item_id, and optionally text, task and subject (groups), cost.',
  models: 'One row per model: model, release_date (to hold out the newest models).',
  truth: 'Each model’s score on the whole benchmark (model,score), or on each of a leaderboard’s benchmarks (a column per task of the items file): what the estimators learn to predict. Models without one are left out.',
  embeddings: 'Item vectors for k-center, DPP and near-duplicates: .npy in the items file’s order, or JSON/CSV vectors named by item id.',
  metric: 'An automatic metric’s scores, laid out like the responses, for the metric-* selectors.',
  outputs: 'Model outputs as text (model,<item ids…>), for the diversity selector.',
  'answer-only': 'The same models prompted with the answer options only (no question), for the filter’s contamination test.',
});

/**
 * A file's role, guessed from its name (the user can change it).
 * @param {string} name
 * @returns {FileRole}
 */
function guessRole(name) {
  const base = name.split('/').pop()?.toLowerCase() ?? '';
  if (base.endsWith('.npy') || base.endsWith('.npy.gz')) return 'embeddings';
  // Embeddings as JSON, JSON Lines or CSV are told apart by name.
  if (/embedding|vectors/.test(base)) return 'embeddings';
  // The items prompted without their questions, for the filter's SMART test.
  if (/answer[._-]?only/.test(base)) return 'answer-only';
  // Automatic-metric score matrices (a WMT folder's metric_scores/) and
  // model outputs, for the metric-* and diversity selectors.
  if (/(^|\/)metric_scores\//.test(name.toLowerCase()) || /metric/.test(base)) return 'metric';
  if (/(^|[._-])outputs?[._-]/.test(base)) return 'outputs';
  if (base.endsWith('.jsonl') || base.endsWith('.jsonl.gz')) return 'responses';
  if (/^items?[._-]|[._-]items?\.|^questions?[._-]/.test(base)) return 'items';
  if (/^models?[._-]|[._-]models?\.|^systems?[._-]/.test(base)) return 'models';
  // Full-benchmark scores: truth.csv, full_scores.csv, full_benchmark_scores.csv.
  if (/^truth|^true[._-]?scores?|full[._-](benchmark[._-])?scores?/.test(base)) return 'truth';
  return 'responses';
}

/** @param {string} name */
const isLog = (name) => /\.jsonl(\.gz)?$/i.test(name);

/** A file's name with its folder when it came in one (lm-eval logs: the folder is the model). @param {File} file */
const nameOf = (file) => file.webkitRelativePath || file.name;

/** @param {number} n */
function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}

/**
 * Wires the Data card.
 * @param {import('../state.js').Page} page
 * @param {() => void} onRead called after the files were read, for the other panels to start over
 * @returns {{open: () => void}} `open` loads the dataset the URL names (or MMLU-Pro)
 */
export function setUpData({ state, client }, onRead) {
  function renderFileList() {
    $('file-list').replaceChildren(
      ...state.files.map((file, i) => {
        const li = document.createElement('li');
        const name = document.createElement('span');
        name.className = 'file-name';
        name.textContent = file.name;
        const select = document.createElement('select');
        select.setAttribute('aria-label', `Role of ${file.name}`);
        for (const role of ROLES) {
          const option = document.createElement('option');
          option.value = role;
          option.textContent = role;
          option.selected = role === file.role;
          select.append(option);
        }
        select.addEventListener('change', () => {
          state.files[i].role = /** @type {FileRole} */ (select.value);
          analyse();
        });
        const size = document.createElement('span');
        size.className = 'file-size';
        size.textContent = formatBytes(file.data.byteLength);
        const help = document.createElement('span');
        help.className = 'file-help help';
        help.textContent = ROLE_HELP[file.role];
        li.append(name, select, size, help);
        return li;
      }),
    );
  }

  async function analyse() {
    renderFileList();
    if (!state.files.some((f) => f.role === 'responses')) {
      setError('No response matrix among the files: set one file’s role to “responses”.');
      return;
    }
    setError(null);
    setStatus('Reading…');
    document.body.dataset.state = 'busy';
    try {
      const { result, ms } = await client.run('info', state.files);
      state.info = result;
      showSummary(result);
      onRead();
      setStatus(`Read ${state.files.map((f) => f.name).join(', ')} in ${ms.toFixed(0)} ms.`);
      delete document.body.dataset.files;
      document.body.dataset.state = 'ready';
    } catch (e) {
      hideSummary();
      setStatus('');
      setError(errorMessage(e));
      // No job runs on files that could not be read (see runJob).
      document.body.dataset.files = 'unreadable';
      document.body.dataset.state = 'error';
    }
  }

  /** @param {DatasetKey} key */
  async function loadBundled(key) {
    setStatus('Downloading the bundled data from this site…');
    /** @type {PageFile[]} */
    const files = [];
    for (const [role, file] of Object.entries(DATASETS[key])) {
      const response = await fetch(`data/${key}/${file}`);
      if (!response.ok) throw new Error(`data/${key}/${file}: ${response.status} ${response.statusText}`);
      files.push({ name: `${key}/${file}`, role: /** @type {FileRole} */ (role), data: await response.arrayBuffer() });
    }
    state.files = files;
    saveUrlSettings({ data: key });
    await analyse();
  }

  /** @param {Iterable<File>} fileList */
  async function useFiles(fileList) {
    let files = [...fileList];
    if (files.length === 0) return;
    // An lm-evaluation-harness output folder also holds results_*.json and
    // other files: keep the sample logs (and any items/models CSV).
    let ignored = 0;
    if (files.some((f) => isLog(nameOf(f)))) {
      const kept = files.filter((f) => isLog(nameOf(f)) || guessRole(nameOf(f)) !== 'responses');
      ignored = files.length - kept.length;
      files = kept;
    }
    state.files = await Promise.all(
      files.map(async (f) => {
        const name = nameOf(f);
        return { name, role: guessRole(name), data: await f.arrayBuffer() };
      }),
    );
    saveUrlSettings({ data: null });
    // The menu says what is loaded: the user's files now, not a bundled set.
    dataset.value = 'own';
    await analyse();
    if (ignored > 0) setStatus(`${statusText()} Ignored ${ignored} file(s) that are not sample logs.`);
  }

  const dataset = /** @type {HTMLSelectElement} */ ($('dataset'));
  dataset.addEventListener('change', () => {
    if (dataset.value in DATASETS) loadBundled(/** @type {DatasetKey} */ (dataset.value)).catch(showFatal);
  });
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

  return {
    open() {
      const wanted = urlSetting('data');
      const key = wanted && wanted in DATASETS ? /** @type {DatasetKey} */ (wanted) : 'mmlu_pro';
      dataset.value = key;
      loadBundled(key).catch(showFatal);
    },
  };
}
