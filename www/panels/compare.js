// The Compare card: methods against random on held-out models, over budgets
// (cross-validated folds × seeds): an error-vs-budget chart with 95% bands
// and a table of MAE, Kendall τ and coverage, all computed by the core. Its
// settings travel in the URL.

import { PALETTE, lineChart } from '../plot.js';
import { $, chartRoom, field, replaceRows, showChart, submitted, tableRow } from '../ui/dom.js';
import { savePng, saveSvg } from '../ui/download.js';
import { runJob, wireCancel } from '../ui/job.js';
import { showFatal } from '../ui/status.js';
import { flag, saveUrlSettings, urlCount, urlSetting } from '../ui/url.js';
import { DIFFICULTY_BINS } from './select.js';

/** @typedef {import('../lib/types.js').Evaluation} Evaluation */

/** @type {import('../ui/job.js').JobControls} */
const CONTROLS = { progress: 'progress', cancel: 'cancel', measured: true, line: 'compare-job' };

/**
 * The chart's series: one per method and estimator, each with its colour for good; a method whose subsets the random
 * guard replaced says so in its label. Shown at first: random's best estimator and every other method's best (lowest
 * mean error over the budgets); the rest are a click away.
 * @param {Evaluation} evaluation
 */
function chartSeries(evaluation) {
  /** @typedef {import('../plot.js').Series & {method: string, fallbacks: number[]}} MethodSeries */
  /** @type {Map<string, MethodSeries>} */
  const byKey = new Map();
  for (const r of evaluation.results) {
    const key = `${r.method} (${r.estimator})`;
    if (!byKey.has(key)) byKey.set(key, { label: key, method: r.method, points: [], fallbacks: [] });
    const s = /** @type {MethodSeries} */ (byKey.get(key));
    s.points.push({ x: r.budget, y: r.mae.mean, low: r.mae.low, high: r.mae.high });
    if (r.guard_fallbacks != null) s.fallbacks.push(r.guard_fallbacks);
  }
  const all = [...byKey.values()];
  // A method's best estimator: the lowest mean error over the budgets every
  // one of its estimators has a number at (an estimator with none is never best).
  const budgetsOf = (/** @type {MethodSeries} */ s) => new Set(s.points.filter((p) => Number.isFinite(p.y)).map((p) => p.x));
  /** @type {Map<string, Set<number>>} */
  const common = new Map();
  for (const s of all) {
    const mine = budgetsOf(s);
    const shared = common.get(s.method);
    common.set(s.method, shared ? new Set([...shared].filter((b) => mine.has(b))) : mine);
  }
  const meanError = (/** @type {MethodSeries} */ s) => {
    const at = common.get(s.method) ?? new Set();
    const ys = s.points.filter((p) => at.has(p.x) && Number.isFinite(p.y)).map((p) => p.y);
    return ys.length ? ys.reduce((a, y) => a + y, 0) / ys.length : Infinity;
  };
  /** @type {Map<string, MethodSeries>} */
  const best = new Map();
  for (const s of all) {
    const b = best.get(s.method);
    if (!b || meanError(s) < meanError(b)) best.set(s.method, s);
  }
  // Random's best line first, so that it takes the palette's grey.
  const randomBest = best.get('random');
  const ordered = randomBest ? [randomBest, ...all.filter((s) => s !== randomBest)] : all;
  return ordered.map((s, i) => {
    const fell = s.fallbacks.length ? s.fallbacks.reduce((a, b) => a + b, 0) / s.fallbacks.length : 0;
    const label = fell > 0 ? `${s.label}, random on ${Math.round(100 * fell)}%` : s.label;
    return {
      label,
      points: s.points,
      colour: PALETTE[i % PALETTE.length],
      dashed: i >= PALETTE.length,
      emphasis: s === randomBest,
      shown: best.get(s.method) === s,
    };
  });
}

/** @type {ReturnType<typeof chartSeries>} */
let lastSeries = [];

/** Draws the chart with the series whose boxes are ticked. */
function drawChart() {
  showChart(
    'chart',
    lineChart(
      lastSeries.filter((s) => s.shown),
      { xLabel: 'items in the subset', yLabel: 'MAE of estimated score', title: 'Error versus budget' },
      chartRoom('chart'),
    ),
  );
}

/** @param {Evaluation} evaluation */
function showComparison(evaluation) {
  $('compare-result').hidden = false;
  lastSeries = chartSeries(evaluation);
  const boxes = $('chart-series');
  boxes.replaceChildren(
    /** @type {Element} */ (boxes.querySelector('legend')),
    ...lastSeries.map((s, k) => {
      const label = document.createElement('label');
      label.className = 'check';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = s.shown;
      box.dataset.series = String(k);
      box.addEventListener('change', () => {
        lastSeries[k].shown = box.checked;
        drawChart();
      });
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = s.colour;
      label.append(box, swatch, document.createTextNode(s.label));
      return label;
    }),
  );
  drawChart();
  const fmt = (/** @type {import('../lib/types.js').MeanInterval} */ ci, /** @type {number} */ digits) =>
    Number.isFinite(ci.mean) ? `${ci.mean.toFixed(digits)} [${ci.low.toFixed(digits)}, ${ci.high.toFixed(digits)}]` : '–';
  replaceRows(
    'compare-table',
    evaluation.results.map((r) => {
      const random = r.guard_fallbacks == null ? '' : `${Math.round(r.guard_fallbacks * 100)}%`;
      return tableRow([r.method, r.estimator, String(r.budget), fmt(r.mae, 4), fmt(r.kendall_tau, 3), fmt(r.coverage, 2), random]);
    }),
  );
}

/** Fills the form from the URL (a shared link). @param {HTMLFormElement} form */
function restoreSettings(form) {
  field(form, 'difficulty').checked = urlSetting('compareDifficulty') === '1';
  field(form, 'guard').checked = urlSetting('compareNoGuard') !== '1';
  const methods = urlSetting('compare');
  if (methods != null) {
    const wanted = new Set(methods.split(','));
    for (const box of form.querySelectorAll('input[name="methods"]')) {
      /** @type {HTMLInputElement} */ (box).checked = wanted.has(/** @type {HTMLInputElement} */ (box).value);
    }
  }
  const budgets = urlSetting('budgets');
  if (budgets && /^[0-9, ]+$/.test(budgets)) field(form, 'budgets').value = budgets;
  for (const name of ['folds', 'seeds']) {
    const value = urlCount(name);
    if (value) field(form, name).value = value;
  }
}

/**
 * Wires the Compare card and restores its settings from the URL.
 * @param {import('../state.js').Page} page
 * @returns {{reset: () => void}} `reset` hides the last comparison when new data is read
 */
export function setUpCompare({ state, client }) {
  /** @param {SubmitEvent} event */
  function runCompare(event) {
    const data = submitted(event);
    const budgetsText = String(data.get('budgets') ?? '').trim();
    const options = {
      methods: data.getAll('methods').map(String),
      budgets: budgetsText ? budgetsText.split(',').map((b) => Number(b.trim())).filter((b) => b > 0) : undefined,
      folds: Number(data.get('folds')),
      seeds: Number(data.get('seeds')),
      difficultyStrata: data.get('difficulty') === 'on' ? DIFFICULTY_BINS : 0,
      guard: data.get('guard') === 'on',
    };
    saveUrlSettings({
      compare: options.methods.join(','),
      compareDifficulty: flag(options.difficultyStrata > 0),
      compareNoGuard: flag(!options.guard),
      budgets: options.budgets ? options.budgets.join(',') : null,
      folds: String(options.folds),
      seeds: String(options.seeds),
    });
    return runJob({
      status: 'Fitting and selecting on each fold…',
      controls: CONTROLS,
      async work(progress) {
        const { result, ms } = await client.run('evaluate', state.files, options, (p) => {
          progress.fraction(p.fraction);
          progress.status(`${Math.round(100 * p.fraction)}% done (fold ${Math.min(p.done + 1, p.total)} of ${p.total})…`);
        });
        showComparison(result);
        return `Compared ${result.results.length} method × estimator × budget cells in ${(ms / 1000).toFixed(1)} s.`;
      },
    });
  }

  const form = /** @type {HTMLFormElement} */ ($('compare-form'));
  form.addEventListener('submit', (e) => runCompare(/** @type {SubmitEvent} */ (e)));
  wireCancel(CONTROLS, client);
  $('chart-svg').addEventListener('click', () => saveSvg('chart', 'error-vs-budget'));
  $('chart-png').addEventListener('click', () => savePng('chart', 'error-vs-budget').catch(showFatal));
  restoreSettings(form);

  return {
    reset() {
      $('compare-card').hidden = false;
      $('compare-result').hidden = true;
    },
  };
}
