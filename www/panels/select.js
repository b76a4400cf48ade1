// The Select card: choose a subset (method, budget, seed, spreads, the random
// guard, held-out models), show it with what the guard and the
// discriminations' reliability say, and hand it over as JSON, CSV or an
// lm-evaluation-harness run. Its settings travel in the URL.

import { lmEvalSamples } from '../lib/lm_eval.js';
import { PALETTE, barChart } from '../plot.js';
import { $, errorMessage, field, numberFormat, replaceRows, showChart, submitted, tableRow } from '../ui/dom.js';
import { download, downloadCsv, downloadJson } from '../ui/download.js';
import { runJob, wireCancel } from '../ui/job.js';
import { flag, saveUrlSettings, urlCount, urlSetting } from '../ui/url.js';
import { showItemMap } from './itemmap.js';

/** @typedef {import('../lib/types.js').Subset} Subset */

/** Bins of the "spread over difficulty" boxes (the CLI's --difficulty-strata 10, measured in BENCHMARKS.md). */
export const DIFFICULTY_BINS = 10;

/** @type {import('../ui/job.js').JobControls} */
const CONTROLS = { progress: 'select-progress', cancel: 'select-cancel', line: 'select-job' };

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
 * Which method produced the items, in one plain sentence: the method's own, or a random subset because the random guard
 * found the method worse than random on the training models.
 * @param {Subset} subset
 */
function whoChose(subset) {
  const of = `${subset.items.length} of ${numberFormat.format(subset.benchmark_items)} items`;
  const g = subset.guard;
  if (!g?.fell_back) return `${of} chosen by ${subset.method}.`;
  const error = (/** @type {number | null} */ e) => (e == null ? 'none' : e.toFixed(4));
  return `${of} chosen at random, spread over difficulty: in cross-validation on the training models, ${subset.method}'s subsets ` +
    `estimated full scores worse than random subsets of this size (mean absolute error ${error(g.method_error)} against ` +
    `${error(g.random_error)}), so these items are a random subset.`;
}

/**
 * What a user acts on: how far off a new model's estimated full score will be, from the training models.
 * @param {Subset} subset
 */
function expectedError(subset) {
  if (subset.items.length >= subset.benchmark_items) return 'These are all the items: a model’s score on them is its full score.';
  const parts = [];
  const g = subset.guard;
  const cv = g ? (g.fell_back ? g.random_error : g.method_error) : null;
  if (cv != null) parts.push(`Expected error of a new model's estimated score: ${cv.toFixed(4)} on average (cross-validated on the training models).`);
  if (subset.ridge) {
    parts.push(
      `With the ridge estimator, 95% of models like the training ones are estimated within ±${subset.ridge.half_width.toFixed(4)} of their full score` +
        (subset.task_ridges ? `, and each task's score with its own interval (${subset.task_ridges.tasks.map((t) => t.task).join(', ')}).` : '.'),
    );
  }
  if (parts.length === 0) parts.push('Too few training models to say how far off estimates from this subset will be.');
  return parts.join(' ');
}

/** The technical details, behind a disclosure. @param {Subset} subset */
function details(subset) {
  const parts = [`Trained on ${numberFormat.format(subset.train_models)} models; seed ${subset.seed}.`];
  if (subset.gpirt_lambda != null) parts.push(`gp-IRT λ = ${subset.gpirt_lambda.toFixed(2)}.`);
  const ratio = subset.guard?.ridge_interval_ratio;
  if (ratio != null && ratio > 1 && !subset.guard?.fell_back) {
    parts.push(`Ridge's interval is widened ×${ratio.toFixed(2)}: the items were chosen on the training models, whose own errors understate a new model's.`);
  }
  if (subset.guard_skipped) parts.push(`The random guard could not run (${subset.guard_skipped}).`);
  return parts.join(' ') + reliabilityNote(subset);
}

/**
 * @param {import('../state.js').Page} page
 * @param {Subset} subset
 */
function showSubset(page, subset) {
  $('select-result').hidden = false;
  $('select-summary').textContent = whoChose(subset);
  $('select-quality').textContent = expectedError(subset);
  $('select-detail-text').textContent = details(subset);
  // The guard's comparison as a picture: who predicts the held-out training models better.
  const g = subset.guard;
  const drawn = g != null && g.method_error != null && g.random_error != null;
  $('select-chart').hidden = !drawn;
  if (drawn) {
    const bars = [
      { label: subset.method, value: /** @type {number} */ (g.method_error), colour: PALETTE[1] },
      { label: 'random', value: /** @type {number} */ (g.random_error), colour: PALETTE[0] },
    ];
    showChart('select-chart', barChart(bars, { xLabel: 'mean absolute error (cross-validated)', title: `${subset.method} against random subsets of ${subset.items.length} items` }));
  }
  replaceRows(
    'subset-table',
    subset.items.map((id, k) => {
      const text = subset.texts?.[k] ?? '';
      const row = tableRow([String(k + 1), id, subset.groups?.[k] ?? '', subset.weights[k].toFixed(4), '']);
      // At most three lines of the item's text (a phone's narrow column
      // wrapped 160 characters into ten); the whole text on hover.
      const clamp = document.createElement('span');
      clamp.className = 'clamp';
      clamp.textContent = text.length > 160 ? `${text.slice(0, 160)}…` : text;
      clamp.title = text;
      row.lastElementChild?.append(clamp);
      return row;
    }),
  );
  // The lm-evaluation-harness run is offered only where the item ids are
  // harness document ids; elsewhere the page says how to get there.
  $('lm-eval').hidden = true;
  let runnable = true;
  try {
    lmEvalSamples(subset);
  } catch (e) {
    runnable = false;
    $('lm-eval-error').textContent =
      'No lm-evaluation-harness run for this subset: its item ids are not the harness’s document ids ' +
      `${errorMessage(e).replace(/^\d+ of \d+ item ids are not lm-evaluation-harness document indices /, '').replace(/: expected.*$/, '')}. ` +
      'Load the harness’s own logs (a folder of samples_*.jsonl files) to select from, and the subset can be run with lm_eval --samples.';
  }
  $('show-lm-eval').hidden = !runnable;
  $('lm-eval-error').hidden = runnable;
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
      $('select-job').textContent = '';
      state.subset = null;
      // A budget can be no more than the items: the box is clamped to the
      // data just read (switching from MMLU-Pro's 12,032 to BBH's 27 leaves 27).
      const items = state.info?.items;
      const budget = field(form, 'budget');
      if (items) {
        budget.max = String(items);
        if (Number(budget.value) > items) budget.value = String(items);
        $('budget-help').textContent = `of ${numberFormat.format(items)}`;
      }
    },
  };
}
