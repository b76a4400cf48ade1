// The near-duplicates card: every pair of items whose texts (or the user's
// embeddings) have cosine at least the threshold, texts side by side.

import { $, numberFormat, replaceRows, submitted, tableRow } from '../ui/dom.js';
import { runJob, wireCancel } from '../ui/job.js';

/** The table shows the most similar pairs only: thousands of rows would swamp the page. */
const SHOWN_PAIRS = 500;

/** Long texts are cut to this many characters in the table. */
const TEXT_CHARS = 240;

/** @type {import('../ui/job.js').JobControls} */
const CONTROLS = { progress: 'dup-progress', cancel: 'dup-cancel', line: 'dup-job' };

/** @param {import('../state.js').PageFile} file */
const isTextSource = (file) => file.role === 'items' || file.role === 'embeddings';

/**
 * Wires the near-duplicates card.
 * @param {import('../state.js').Page} page
 * @returns {{reset: () => void}} `reset` shows the card when the new data has texts or embeddings, and clears it
 */
export function setUpSimilar({ state, client }) {
  /** @param {SubmitEvent} event */
  function runDuplicates(event) {
    const threshold = Number(submitted(event).get('threshold'));
    return runJob({
      status: 'Comparing every pair of item texts…',
      controls: CONTROLS,
      async work() {
        const { result, ms } = await client.run('similar', state.files.filter(isTextSource), { threshold });
        $('dup-summary').textContent =
          `${numberFormat.format(result.pairs.length)} pairs of ${numberFormat.format(result.items)} items have cosine ≥ ${threshold} ` +
          `(${result.features === 'embeddings' ? 'your embeddings' : 'built-in word and character n-gram features'}; ${(ms / 1000).toFixed(1)} s).`;
        const shown = result.pairs.slice(0, SHOWN_PAIRS);
        const cut = (/** @type {string} */ v) => (v.length > TEXT_CHARS ? `${v.slice(0, TEXT_CHARS)}…` : v);
        replaceRows('dup-table', shown.map((p) => tableRow([p.cosine.toFixed(3), p.a, p.a_text ?? '', p.b, p.b_text ?? ''].map(cut))));
        $('dup-table').hidden = shown.length === 0;
        const took = `Compared ${numberFormat.format(result.items)} items in ${(ms / 1000).toFixed(1)} s.`;
        return result.pairs.length > shown.length ? `${took} Showing the ${SHOWN_PAIRS} most similar of ${numberFormat.format(result.pairs.length)} pairs.` : took;
      },
    });
  }

  $('dup-form').addEventListener('submit', (e) => runDuplicates(/** @type {SubmitEvent} */ (e)));
  wireCancel(CONTROLS, client);

  return {
    reset() {
      $('dup-card').hidden = !state.files.some(isTextSource);
      $('dup-table').hidden = true;
      $('dup-summary').textContent = '';
      $('dup-job').textContent = '';
    },
  };
}
