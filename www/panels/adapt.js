// The Adaptive test card: one model tested item by item over a fit of the
// others (or of every model, when the user answers by hand), each next item
// the most informative at its current ability; the chart shows the score's
// interval narrowing, the table every item as it was chosen.

import { lineChart } from '../plot.js';
import { $, chartRoom, numberFormat, replaceRows, showChart, submitted, tableRow } from '../ui/dom.js';
import { runJob, wireCancel } from '../ui/job.js';
import { automaticIrt, showItemMap } from './itemmap.js';

/** @typedef {import('../state.js').Page} Page */
/** @typedef {import('../state.js').PageFile} PageFile */
/** @typedef {import('../lib/types.js').Adaptation} Adaptation */
/** @typedef {import('../lib/types.js').FitResult} FitResult */

/** @type {import('../ui/job.js').JobControls} */
const CONTROLS = { progress: 'adapt-progress', cancel: 'adapt-cancel', line: 'adapt-job' };

/** Why a test stopped, in words. */
const STOPPED = {
  'target-se': 'its ability is known to the standard error asked for',
  'target-half-width': 'the score interval is as narrow as asked for',
  'no-change': 'the ability estimate stopped moving',
  'max-items': 'it reached the most items allowed',
  'bank-exhausted': 'no item is left to ask',
};

/** @param {number} x */
const fixed = (x) => (Number.isFinite(x) ? x.toFixed(3) : '–');

/**
 * One answers CSV (long format) for the answers so far.
 * @param {{id: string, score: number}[]} answers
 * @returns {PageFile}
 */
function answersFile(answers) {
  const quote = (/** @type {string} */ s) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const text = `model,item,score\n${answers.map((a) => `new model,${quote(a.id)},${a.score}\n`).join('')}`;
  return { name: 'answers.csv', role: 'responses', data: /** @type {ArrayBuffer} */ (new TextEncoder().encode(text).buffer) };
}

/**
 * Shows a test's state: the summary, the chart and the table.
 * @param {Adaptation} adaptation
 * @param {number | null} truth the replayed model's full score (its mean over its answers)
 */
function showAdaptation(adaptation, truth) {
  const { state, history, answers } = adaptation;
  $('adapt-result').hidden = false;
  const interval = `${fixed(state.score.estimate)} [${fixed(state.score.low)}, ${fixed(state.score.high)}]`;
  let summary =
    state.itemsUsed === 0
      ? `No answers yet: the score ${interval} is the bank's prior guess.`
      : `After ${state.itemsUsed} of ${numberFormat.format(adaptation.itemsInBank)} items: ability θ = ${fixed(state.theta)} (SE ${fixed(state.se)}), full score ${interval} (${adaptation.estimator} at θ, ${adaptation.thetaMethod.toUpperCase()}).`;
  if (truth !== null) summary += ` Its true full score is ${fixed(truth)} (error ${fixed(Math.abs(state.score.estimate - truth))}).`;
  if (state.stopped) summary += ` Stopped: ${STOPPED[state.stopped]}.`;
  $('adapt-summary').textContent = summary;
  const steps = history.slice(1);
  if (steps.length > 0) {
    const points = steps.map((s) => ({ x: s.itemsUsed, y: s.score.estimate, low: s.score.low, high: s.score.high }));
    /** @type {import('../plot.js').Series[]} */
    const series = [{ label: 'estimate (95% interval)', points, colour: '#2f6fdf' }];
    if (truth !== null) series.push({ label: 'true full score', points: points.map((p) => ({ x: p.x, y: truth, low: truth, high: truth })), colour: '#6b7280', dashed: true });
    showChart('adapt-chart', lineChart(series, { xLabel: 'items answered', yLabel: 'full score', title: 'Adaptive test: the score estimate after each item' }, chartRoom('adapt-chart')));
  }
  replaceRows(
    'adapt-table',
    steps.map((s, k) =>
      tableRow([String(k + 1), answers[k].id, String(answers[k].score), fixed(s.theta), fixed(s.se), fixed(s.score.estimate), `${fixed(s.score.low)} – ${fixed(s.score.high)}`]),
    ),
  );
  // The next item to answer by hand, while the test goes on.
  const next = adaptation.next[0];
  $('adapt-ask').hidden = truth !== null || !next;
  if (next) {
    $('adapt-item').textContent = next.group ? `${next.id} (${next.group})` : next.id;
    $('adapt-text').textContent = next.text ?? 'No text: load an items file to see it.';
  }
}

/**
 * Wires the Adaptive test card.
 * @param {Page} page
 * @returns {{reset: () => void}}
 */
export function setUpAdapt(page) {
  const { state, client } = page;
  /** The test answered by hand: its fit, options, answers and last state. */
  let manual = /** @type {{fit: FitResult, options: Record<string, unknown>, answers: {id: string, score: number}[], last: Adaptation} | null} */ (null);

  /** The items file for texts and groups, when one is loaded. */
  const itemFiles = () => state.files.filter((f) => f.role === 'items');

  /** @param {SubmitEvent} event */
  function start(event) {
    const data = submitted(event);
    const model = String(data.get('model') ?? '').trim();
    const options = { targetSe: Number(data.get('targetSe')), maxItems: Number(data.get('maxItems')) };
    manual = null;
    return runJob({
      controls: CONTROLS,
      async work(progress) {
        const irt = automaticIrt(state);
        if (model) {
          progress.status(`Fitting ${irt} on every model but ${model}…`);
          const fit = /** @type {FitResult} */ ((await client.run('fit', state.files, { irt, holdoutModels: [model] })).result);
          progress.status(`Replaying ${model} item by item…`);
          const { result, ms } = await client.run('adapt', state.files, { ...options, fit, model, replay: true });
          const adaptation = result;
          showAdaptation(adaptation, adaptation.recordedMean ?? null);
          return `Replayed ${model}: ${adaptation.state.itemsUsed} items in ${ms.toFixed(0)} ms.`;
        }
        if (!state.fit) {
          progress.status(`Fitting ${irt} on every model…`);
          state.fit = (await client.run('fit', state.files, { irt })).result;
          showItemMap(page, /** @type {FitResult} */ (state.fit));
        }
        const fit = /** @type {FitResult} */ (state.fit);
        const { result } = await client.run('adapt', itemFiles(), { ...options, fit });
        manual = { fit, options, answers: [], last: result };
        showAdaptation(manual.last, null);
        return 'Answer the item shown, then the next.';
      },
    });
  }

  /** Records the hand-given score of the item shown and asks the next. @param {number} score */
  function record(score) {
    const test = manual;
    const next = test?.last.next[0];
    if (!test || !next) return;
    return runJob({
      controls: CONTROLS,
      async work() {
        if (!Number.isFinite(score)) throw new Error('Give a score (a number) for the item.');
        const answers = [...test.answers, { id: next.id, score }];
        const { result, ms } = await client.run('adapt', [answersFile(answers), ...itemFiles()], { ...test.options, fit: test.fit });
        test.answers = answers;
        test.last = result;
        showAdaptation(test.last, null);
        return test.last.state.stopped ? 'The test is done.' : `Recorded in ${ms.toFixed(0)} ms; answer the next item.`;
      },
    });
  }

  $('adapt-form').addEventListener('submit', (e) => start(/** @type {SubmitEvent} */ (e)));
  $('adapt-correct').addEventListener('click', () => record(1));
  $('adapt-wrong').addEventListener('click', () => record(0));
  $('adapt-record').addEventListener('click', () => record(Number(/** @type {HTMLInputElement} */ ($('adapt-score')).value)));
  wireCancel(CONTROLS, client);

  return {
    reset() {
      manual = null;
      $('adapt-card').hidden = false;
      $('adapt-result').hidden = true;
      $('adapt-job').textContent = '';
      // Model ids to replay, once a fit has named them.
      const list = $('adapt-models');
      list.replaceChildren();
      for (const m of state.fit?.models ?? []) {
        const option = document.createElement('option');
        option.value = m.id;
        list.append(option);
      }
    },
  };
}
