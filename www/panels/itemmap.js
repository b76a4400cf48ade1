// The Item map card: fit an IRT model, draw every item's difficulty against
// its discrimination with the last subset highlighted, and show one item's
// characteristic curve and text (clicked on the map or typed).

import { curveChart, scatterChart } from '../plot.js';
import { $, errorMessage, field, numberFormat, showChart, submitted } from '../ui/dom.js';
import { downloadJson, savePng, saveSvg } from '../ui/download.js';
import { runJob, wireCancel } from '../ui/job.js';
import { setError, showFatal } from '../ui/status.js';

/** @typedef {import('../state.js').Page} Page */
/** @typedef {import('../lib/types.js').FitResult} FitResult */

/** @type {import('../ui/job.js').JobControls} */
const CONTROLS = { progress: 'map-progress', cancel: 'map-cancel', measured: true, line: 'map-job' };

/**
 * The IRT model "automatic" means: 2PL for right/wrong answers, Beta for scores.
 * @param {Page['state']} state
 */
export function automaticIrt(state) {
  return state.info?.kind === 'binary' ? '2pl' : 'beta';
}

/**
 * An item's discrimination: `a`, or for a multidimensional fit its length
 * (MDISC), which with b = MDIFF gives the curve along the item's direction.
 * @param {FitResult['items'][number]} item
 */
function discrimination(item) {
  return typeof item.a === 'number' ? item.a : Math.hypot(...item.a);
}

/**
 * Draws the item map of a fit, highlighting the last subset's items.
 * @param {Page} page
 * @param {FitResult} fit
 */
export function showItemMap(page, fit) {
  const { state } = page;
  $('map-result').hidden = false;
  state.itemIndex = new Map(fit.items.map((item, i) => [item.id, i]));
  const picked = new Set(
    (state.subset?.items ?? []).map((id) => state.itemIndex.get(id)).filter((i) => i !== undefined),
  );
  $('map-summary').textContent =
    `${fit.irt} fit of ${numberFormat.format(fit.items.length)} items and ${numberFormat.format(fit.models.length)} models; ` +
    `computed on this device's ${fit.backend.device === 'gpu' ? 'GPU (WebGPU)' : fit.backend.threads > 1 ? `CPU in ${fit.backend.threads} workers` : 'CPU'}.` +
    (picked.size > 0 ? ` ${picked.size} selected items highlighted.` : '');
  // The numbers behind it, for whoever wants them, out of the sentence.
  $('map-summary').title = `log-likelihood ${fit.log_likelihood.toFixed(1)}; ${fit.backend.reason}`;
  const map = scatterChart(fit.items.map((item) => ({ x: item.b, y: discrimination(item) })), picked, {
    xLabel: 'difficulty b',
    yLabel: 'discrimination a',
    title: 'Item map: difficulty against discrimination',
  });
  map.svg.classList.add('pickable');
  map.svg.addEventListener('click', (e) => {
    const i = map.nearest(e.clientX, e.clientY);
    if (i >= 0) showItem(page, i);
  });
  showChart('map-chart', map.svg);
}

/**
 * Shows one item's characteristic curve, with the models' abilities as ticks, and its text.
 * @param {Page} page
 * @param {number} i index into the items of the last fit
 */
async function showItem({ state, client }, i) {
  if (!state.fit) return;
  const fit = state.fit;
  const item = fit.items[i];
  const c = item.c ?? 0;
  const d = item.d ?? 1;
  const a = discrimination(item);
  // A multidimensional fit's first ability axis (the page fits one dimension).
  const thetas = fit.models.map((m) => (typeof m.theta === 'number' ? m.theta : m.theta[0]));
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
    (state.subset?.items.includes(item.id) ? ' (in the subset)' : '');
  showChart('icc-chart', curveChart([{ label: item.id, points }], thetas, { xLabel: 'ability θ', yLabel: 'expected score', title: `Characteristic curve of ${item.id}` }));
  field(/** @type {HTMLFormElement} */ ($('item-form')), 'item').value = item.id;
  $('item-text').textContent = '';
  if (state.files.some((f) => f.role === 'items')) {
    try {
      const { result } = await client.run('itemText', state.files, { id: item.id });
      $('item-text').textContent = result ?? '(this item has no text in the items file)';
    } catch (e) {
      $('item-text').textContent = `(could not read the item's text: ${errorMessage(e)})`;
    }
  }
}

/**
 * Wires the Item map card.
 * @param {Page} page
 * @returns {{reset: () => void}} `reset` forgets the fit when new data is read
 */
export function setUpItemMap(page) {
  const { state, client } = page;

  /** @param {SubmitEvent} event */
  function runFit(event) {
    const data = submitted(event);
    let irt = String(data.get('irt'));
    if (irt === 'auto') irt = automaticIrt(state);
    return runJob({
      status: `Fitting a ${irt} model…`,
      controls: CONTROLS,
      async work(progress) {
        const { result, ms } = await client.run('fit', state.files, { irt }, (p) => {
          progress.fraction(p.iteration / p.maxIterations);
          progress.status(`Fitting a ${irt} model: iteration ${p.iteration}, log-likelihood ${p.logLikelihood.toFixed(1)}…`);
        });
        state.fit = result;
        showItemMap(page, result);
        return `Fitted ${result.irt} to ${numberFormat.format(result.items.length)} items in ${(ms / 1000).toFixed(1)} s (${result.iterations} iterations${result.converged ? '' : ', not converged'}).`;
      },
    });
  }

  /** @param {SubmitEvent} event */
  function findItem(event) {
    const id = String(submitted(event).get('item')).trim();
    const i = state.itemIndex.get(id);
    if (i === undefined) {
      setError(`No item '${id}' in the fitted model.`);
      return;
    }
    setError(null);
    showItem(page, i);
  }

  $('map-form').addEventListener('submit', (e) => runFit(/** @type {SubmitEvent} */ (e)));
  wireCancel(CONTROLS, client);
  $('item-form').addEventListener('submit', (e) => findItem(/** @type {SubmitEvent} */ (e)));
  $('map-svg').addEventListener('click', () => saveSvg('map-chart', 'item-map'));
  $('map-png').addEventListener('click', () => savePng('map-chart', 'item-map').catch(showFatal));
  $('download-fit').addEventListener('click', () => state.fit && downloadJson('model.json', state.fit));

  return {
    reset() {
      $('map-card').hidden = false;
      $('map-result').hidden = true;
      state.fit = null;
    },
  };
}
