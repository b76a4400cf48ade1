// The Filter card: the SMART filter (easy items, likely contaminated items,
// near-duplicates; each stage on or off), what each stage removed and why,
// the ranking correlation kept vs all (from the core), and the kept ids.

import { $, numberFormat, replaceRows, submitted, tableRow } from '../ui/dom.js';
import { downloadCsv, downloadJson } from '../ui/download.js';
import { runJob, wireCancel } from '../ui/job.js';

/** @typedef {import('../lib/types.js').FilterReport} FilterReport */

/** @type {import('../ui/job.js').JobControls} */
const CONTROLS = { progress: 'filter-progress', cancel: 'filter-cancel', line: 'filter-job' };

/** The stages' names in the table. @type {Record<string, string>} */
const STAGE_NAMES = { easy: 'Easy', contamination: 'Likely contaminated', duplicates: 'Near-duplicates' };

/** Why an item was removed, in words. @param {import('../lib/types.js').FilterRemoved} r */
function evidence(r) {
  if (r.reason === 'duplicate') return `cosine ${r.cosine?.toFixed(3)} with ${r.duplicate_of}`;
  if (r.reason === 'contamination') {
    if (r.answer_only_fraction != null) return `${(r.answer_only_fraction * 100).toFixed(0)}% of the strongest models correct without the question`;
    return r.q3 != null ? `Q3 ${r.q3.toFixed(3)} with ${(r.correlated_with ?? []).slice(0, 5).join(', ')}` : `score ${r.score}`;
  }
  if (r.min_probability != null) return `P(correct) ≥ ${r.min_probability.toFixed(3)} for the strongest models`;
  return `${((r.top_fraction_correct ?? 1) * 100).toFixed(0)}% of the strongest models correct`;
}

/** A warning as a sentence: its first letter capitalised, unless it starts with a file name or an id (a dot or slash in the first word). @param {string} w */
function sentence(w) {
  const first = w.split(' ', 1)[0];
  return /[./]/.test(first) ? w : w.charAt(0).toUpperCase() + w.slice(1);
}

/** @param {FilterReport} report */
function showFilter(report) {
  $('filter-result').hidden = false;
  const random = report.random_removal;
  const tasks = report.tasks.length > 1 ? ` in ${report.tasks.length} tasks` : '';
  $('filter-summary').textContent =
    `Kept ${numberFormat.format(report.kept.length)} of ${numberFormat.format(report.items)} items${tasks}. ` +
    `The models' ranking on the kept items agrees with the ranking on all of them with Kendall τ ${report.kendall_tau_vs_full.toFixed(3)}` +
    (random
      ? `; removing as many items at random gives ${random.kendall_tau.mean.toFixed(3)} (95% of draws ${random.kendall_tau.low.toFixed(3)}–${random.kendall_tau.high.toFixed(3)}).`
      : '.') +
    (report.flagged.length > 0 ? ` ${numberFormat.format(report.flagged.length)} more items were flagged and kept (see the report).` : '') +
    (report.warnings.length > 0 ? ` ${report.warnings.map(sentence).join(' ')}` : '');
  replaceRows(
    'filter-stages',
    report.stages.map((stage) =>
      tableRow([STAGE_NAMES[stage.stage] ?? stage.stage, stage.ran ? numberFormat.format(stage.removed) : 'off', stage.ran ? numberFormat.format(stage.flagged ?? stage.removed) : '', sentence(stage.brief)]),
    ),
  );
  // Each rule in full, with the numbers it used, behind a disclosure.
  const full = $('filter-rules');
  full.replaceChildren(
    ...report.stages
      .filter((stage) => stage.ran)
      .map((stage) => {
        const li = document.createElement('li');
        li.textContent = `${STAGE_NAMES[stage.stage] ?? stage.stage}: ${stage.rule}`;
        return li;
      }),
  );
  // The first 500: enough to judge the rules by; the download has them all.
  replaceRows('filter-removed', report.removed.slice(0, 500).map((r) => tableRow([r.id, r.reason, evidence(r)])));
}

/**
 * Wires the Filter card.
 * @param {import('../state.js').Page} page
 * @returns {{reset: () => void}} `reset` hides the last report when new data is read
 */
export function setUpFilter({ state, client }) {
  /** @param {SubmitEvent} event */
  function runFilter(event) {
    const data = submitted(event);
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
    return runJob({
      status: 'Filtering: fitting the IRT model, testing residuals, comparing item texts…',
      controls: CONTROLS,
      async work() {
        const { result, ms } = await client.run('filter', state.files, options);
        state.filter = result;
        showFilter(result);
        return `Filtered in ${(ms / 1000).toFixed(1)} s.`;
      },
    });
  }

  $('filter-form').addEventListener('submit', (e) => runFilter(/** @type {SubmitEvent} */ (e)));
  wireCancel(CONTROLS, client);
  $('download-filter').addEventListener('click', () => state.filter && downloadJson('filtered.json', state.filter));
  $('download-kept').addEventListener('click', () => state.filter && downloadCsv('kept.csv', 'item_id', state.filter.kept.map((id) => [id])));

  return {
    reset() {
      $('filter-card').hidden = false;
      $('filter-result').hidden = true;
    },
  };
}
