// The Select card: choose a subset (method, budget, seed, spreads, the random
// guard, held-out models), show it with what the guard and the
// discriminations' reliability say, and hand it over as JSON, CSV or an
// lm-evaluation-harness run. Its settings travel in the URL.

import { lmEvalSamples } from '../lib/lm_eval.js';
import { $, errorMessage, field, numberFormat, replaceRows, submitted, tableRow } from '../ui/dom.js';
import { download, downloadCsv, downloadJson } from '../ui/download.js';
import { runJob, wireCancel } from '../ui/job.js';
import { flag, saveUrlSettings, urlCount, urlSetting } from '../ui/url.js';
import { showItemMap } from './itemmap.js';

/** @typedef {import('../lib/types.js').Subset} Subset */

/** Bins of the "spread over difficulty" boxes (the CLI's --difficulty-strata 10, measured in BENCHMARKS.md). */
export const DIFFICULTY_BINS = 10;

/** @type {import('../ui/job.js').JobControls} */
const CONTROLS = { progress: 'select-progress', cancel: 'select-cancel' };

/**
 * What irt-info and metabench rank by, and how far it can be trusted (the split-half reliability of the
 * discriminations; below 0.5 most of their spread is noise).
 * @param {Subset} subset
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
 * @param {Subset} subset
 */
function guardNote(subset) {
  if (subset.guard_skipped) return ` The random guard could not run (${subset.guard_skipped}).`;
  const g = subset.guard;
  if (!g?.fell_back) return '';
  const error = (/** @type {number | null} */ e) => (e == null ? 'none' : e.toFixed(4));
  return ` Cross-validated on the training models, ${subset.method}'s subsets estimated full scores worse than random subsets of this size` +
    ` (mean absolute error ${error(g.method_error)} against ${error(g.random_error)}), so these items are a random subset.`;
}

/**
 * @param {import('../state.js').Page} page
 * @param {Subset} subset
 */
function showSubset(page, subset) {
  $('select-result').hidden = false;
  $('select-summary').textContent =
    `${subset.items.length} of ${numberFormat.format(subset.benchmark_items)} items by ${subset.method}` +
    (subset.gpirt_lambda != null ? `; gp-IRT λ = ${subset.gpirt_lambda.toFixed(2)}` : '') + '.' +
    guardNote(subset) + reliabilityNote(subset);
  replaceRows(
    'subset-table',
    subset.items.map((id, k) => {
      const text = subset.texts?.[k] ?? '';
      return tableRow([String(k + 1), id, subset.groups?.[k] ?? '', subset.weights[k].toFixed(4), text.length > 160 ? `${text.slice(0, 160)}…` : text]);
    }),
  );
  $('lm-eval').hidden = true;
  $('lm-eval-error').hidden = true;
  // The item map, if drawn, highlights the new subset.
  if (page.state.fit) showItemMap(page, page.state.fit);
}

/**
 * Shows the lm-evaluation-harness command for the subset, or why there is none.
 * @param {Subset | null} subset
 */
function showLmEvalRun(subset) {
  if (!subset) return;
  try {
    const run = lmEvalSamples(subset);
    $('lm-eval-command').textContent = run.command;
    $('lm-eval').hidden = false;
    $('lm-eval-error').hidden = true;
    return run;
  } catch (e) {
    $('lm-eval').hidden = true;
    $('lm-eval-error').hidden = false;
    $('lm-eval-error').textContent = errorMessage(e);
  }
}

/** Fills the form from the URL (a shared link). @param {HTMLFormElement} form */
function restoreSettings(form) {
  const method = /** @type {HTMLSelectElement} */ (form.elements.namedItem('method'));
  const wantedMethod = urlSetting('method');
  if (wantedMethod && [...method.options].some((o) => o.value === wantedMethod)) method.value = wantedMethod;
  for (const name of ['budget', 'seed']) {
    const value = urlCount(name);
    if (value) field(form, name).value = value;
  }
  field(form, 'stratify').checked = urlSetting('stratify') === '1';
  field(form, 'difficulty').checked = urlSetting('difficulty') === '1';
  field(form, 'guard').checked = urlSetting('noguard') !== '1';
}

/**
 * Wires the Select card and restores its settings from the URL.
 * @param {import('../state.js').Page} page
 * @returns {{reset: () => void}} `reset` forgets the subset when new data is read
 */
export function setUpSelect(page) {
  const { state, client } = page;

  /** @param {SubmitEvent} event */
  function runSelect(event) {
    const data = submitted(event);
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
    saveUrlSettings({
      method: options.method,
      budget: String(options.budget),
      seed: String(options.seed),
      stratify: flag(options.stratify),
      difficulty: flag(options.difficultyStrata > 0),
      noguard: flag(!options.guard),
    });
    return runJob({
      status: `Selecting ${options.budget} items with ${options.method}${options.method.startsWith('irt') ? ' (fitting the IRT model first)' : ''}…`,
      controls: CONTROLS,
      async work() {
        const { result, ms } = await client.run('select', state.files, options);
        state.subset = result;
        state.holdout = new Set(options.holdoutModels ?? []);
        showSubset(page, result);
        return `Selected ${result.items.length} items in ${(ms / 1000).toFixed(1)} s.`;
      },
    });
  }

  const form = /** @type {HTMLFormElement} */ ($('select-form'));
  form.addEventListener('submit', (e) => runSelect(/** @type {SubmitEvent} */ (e)));
  wireCancel(CONTROLS, client);
  $('show-lm-eval').addEventListener('click', () => showLmEvalRun(state.subset));
  $('download-samples').addEventListener('click', () => {
    const run = showLmEvalRun(state.subset);
    if (run) download('samples.json', JSON.stringify(run.samples) + '\n', 'application/json');
  });
  $('download-json').addEventListener('click', () => state.subset && downloadJson('subset.json', state.subset));
  $('download-csv').addEventListener('click', () => {
    const s = state.subset;
    if (!s) return;
    downloadCsv('subset.csv', 'item_id,weight,group', s.items.map((id, k) => [id, s.weights[k].toString(), s.groups?.[k] ?? '']));
  });
  restoreSettings(form);

  return {
    reset() {
      $('select-card').hidden = false;
      $('select-result').hidden = true;
      state.subset = null;
    },
  };
}
