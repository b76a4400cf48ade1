// The Estimate card: each model's full-benchmark score from its answers on
// the subset's items (the loaded models, against their full scores, or a
// file of new models' answers), with the ranking full vs subset.

import { $, errorMessage, numberFormat, replaceRows, submitted, tableRow } from '../ui/dom.js';
import { downloadCsv } from '../ui/download.js';
import { runJob, wireCancel } from '../ui/job.js';
import { automaticIrt, showItemMap } from './itemmap.js';

/** @typedef {import('../state.js').Page} Page */
/** @typedef {import('../state.js').PageFile} PageFile */
/** @typedef {import('../lib/types.js').Estimates} Estimates */
/** @typedef {import('../lib/types.js').Subset} Subset */
/** @typedef {import('../lib/types.js').FitResult} FitResult */

/** @type {import('../ui/job.js').JobControls} */
const CONTROLS = { progress: 'estimate-progress', cancel: 'estimate-cancel', line: 'estimate-job' };

/** Estimators that need a fitted IRT model. */
const IRT_ESTIMATORS = ['irt', 'pirt', 'gpirt'];

/**
 * A JSON file the user gave (a subset or a fit), or null when none was.
 * @param {File | null} file
 * @param {string} what it should hold, for the message
 */
async function readJsonFile(file, what) {
  if (!file || file.size === 0) return null;
  try {
    return JSON.parse(await file.text());
  } catch (e) {
    throw new Error(`${file.name}: not a ${what} JSON file (${errorMessage(e)})`);
  }
}

/**
 * Ranks (1 = best), ties sharing the mean rank: the table's rank columns.
 * @param {number[]} values
 * @returns {number[]}
 */
function ranks(values) {
  const order = values.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
  /** @type {number[]} */
  const out = new Array(values.length);
  for (let k = 0; k < order.length; ) {
    let j = k;
    while (j + 1 < order.length && order[j + 1][0] === order[k][0]) j++;
    for (let t = k; t <= j; t++) out[order[t][1]] = (k + j) / 2 + 1;
    k = j + 1;
  }
  return out;
}

/**
 * Mean absolute error and interval coverage of estimates against the full scores.
 * @param {(Estimates['models'][number] & {full_mean: number})[]} models
 */
function accuracy(models) {
  const mae = models.reduce((sum, m) => sum + Math.abs(m.estimate - m.full_mean), 0) / models.length;
  const covered = models.filter((m) => m.full_mean >= m.low && m.full_mean <= m.high).length;
  return { mae, covered };
}

/**
 * @param {Page} page
 * @param {Estimates} estimates
 * @param {Subset} subset the one they were estimated from
 */
async function showEstimates({ state, client }, estimates, subset) {
  const models = estimates.models;
  const withFull = /** @type {(Estimates['models'][number] & {full_mean: number})[]} */ (models.filter((m) => m.full_mean != null));
  const haveFull = models.length > 0 && withFull.length === models.length;
  const rankEstimate = ranks(models.map((m) => m.estimate));
  const rankFull = haveFull ? ranks(withFull.map((m) => m.full_mean)) : [];
  // Held-out models are only known for the page's own last selection.
  const heldOut = (/** @type {string} */ id) => subset === state.subset && state.holdout.has(id);
  let summary = `${estimates.estimator} estimates from ${subset.items.length} of ${numberFormat.format(subset.benchmark_items)} items; ${estimates.interval} intervals.`;
  if (haveFull && models.length > 1) {
    const { mae, covered } = accuracy(withFull);
    const { result: tau } = await client.run('kendallTau', [], { a: withFull.map((m) => m.estimate), b: withFull.map((m) => m.full_mean) });
    summary +=
      ` Against the full scores: mean absolute error ${mae.toFixed(4)}, Kendall τ of the ranking ${tau.toFixed(3)}, ` +
      `${covered} of ${models.length} intervals contain the full score.`;
    const held = withFull.filter((m) => heldOut(m.id));
    if (held.length > 0) {
      const { mae: heldMae, covered: heldCovered } = accuracy(held);
      summary += ` The ${held.length} held-out models (not used to choose the subset): mean absolute error ${heldMae.toFixed(4)}, ${heldCovered} of ${held.length} intervals contain the full score.`;
    } else {
      summary += ' (These models helped choose the subset, so this is optimistic: hold some out when selecting, or use “Compare methods”.)';
    }
  }
  $('estimate-result').hidden = false;
  const order = models.map((_, i) => i).sort((a, b) => rankEstimate[a] - rankEstimate[b]);
  // Ridge fitted per task: each task's estimate too (the estimate is their mean).
  const perTask = models.some((m) => m.tasks);
  if (perTask) summary += ' The estimate is the mean of the tasks’ estimates, each in the last column with its 95% interval.';
  $('estimate-summary').textContent = summary;
  $('estimate-tasks-head').hidden = !perTask;
  const tasksText = (/** @type {Estimates['models'][number]} */ m) =>
    (m.tasks ?? []).map((t) => `${t.task} ${t.estimate.toFixed(2)} [${t.low.toFixed(2)}, ${t.high.toFixed(2)}]`).join('; ');
  replaceRows(
    'estimate-table',
    order.map((i) => {
      const m = models[i];
      const cells = [heldOut(m.id) ? `${m.id} (held out)` : m.id, m.estimate.toFixed(4), `${m.low.toFixed(4)} – ${m.high.toFixed(4)}`, m.full_mean?.toFixed(4) ?? '–', haveFull ? String(rankFull[i]) : '–', String(rankEstimate[i])];
      return tableRow(perTask ? [...cells, tasksText(m)] : cells);
    }),
  );
}

/**
 * Wires the Estimate card.
 * @param {Page} page
 * @returns {{reset: () => void}} `reset` clears the last estimates' view when new data is read
 */
export function setUpEstimate(page) {
  const { state, client } = page;

  /** @param {SubmitEvent} event */
  function runEstimate(event) {
    const data = submitted(event);
    const estimator = String(data.get('estimator'));
    return runJob({
      controls: CONTROLS,
      async work(progress) {
        /** @type {Subset | null} */
        const subset = (await readJsonFile(/** @type {File | null} */ (data.get('subset')), 'subset')) ?? state.subset;
        if (!subset) throw new Error('Select a subset first (or load a subset JSON file).');
        const answers = /** @type {File | null} */ (data.get('answers'));
        /** @type {PageFile[]} */
        const responses =
          answers && answers.size > 0
            ? [{ name: answers.name, role: 'responses', data: await answers.arrayBuffer() }]
            : state.files.filter((f) => f.role === 'responses');
        /** @type {FitResult | null} */
        let fit = await readJsonFile(/** @type {File | null} */ (data.get('fit')), 'fitted model');
        if (!fit && IRT_ESTIMATORS.includes(estimator)) {
          if (!state.fit) {
            progress.status('Fitting the IRT model the estimator needs…');
            state.fit = (await client.run('fit', state.files, { irt: automaticIrt(state) })).result;
            showItemMap(page, state.fit);
          }
          fit = state.fit;
        }
        progress.status('Estimating…');
        const { result, ms } = await client.run('estimate', responses, { subset, fit, estimator });
        state.estimates = result;
        await showEstimates(page, result, subset);
        return `Estimated ${result.models.length} models in ${ms.toFixed(0)} ms.`;
      },
    });
  }

  $('estimate-form').addEventListener('submit', (e) => runEstimate(/** @type {SubmitEvent} */ (e)));
  wireCancel(CONTROLS, client);
  $('download-estimates').addEventListener('click', () => {
    if (!state.estimates) return;
    const models = state.estimates.models;
    // One estimate, low and high column per task when ridge was fitted per task.
    const tasks = models.find((m) => m.tasks)?.tasks?.map((t) => t.task) ?? [];
    const rows = models.map((m) => [
      m.id,
      String(m.estimate),
      String(m.low),
      String(m.high),
      m.full_mean != null ? String(m.full_mean) : '',
      ...(m.tasks ?? []).flatMap((t) => [String(t.estimate), String(t.low), String(t.high)]),
    ]);
    const header = ['model,estimate,low,high,full_mean', ...tasks.map((t) => `${t},${t}_low,${t}_high`)].join(',');
    downloadCsv('estimates.csv', header, rows);
  });

  return {
    reset() {
      $('estimate-card').hidden = false;
      $('estimate-result').hidden = true;
      $('estimate-summary').textContent = '';
    },
  };
}
