// One job of a panel (select, filter, fit, estimate, compare, near-duplicates)
// from start to end: the job's own line beside its button (and the Data
// card's status line) says what runs, how long it took and what went wrong,
// `body[data-job]` is busy, done or error (the tests wait on it), the panel's
// progress bar and Cancel button show while it runs, and a cancelled job says
// so rather than showing an error. No job starts while the data is unusable.

import { CANCELLED } from '../client.js';
import { $, errorMessage } from './dom.js';
import { setError, setStatus } from './status.js';

/**
 * A job's progress bar and Cancel button, by id.
 * @typedef {object} JobControls
 * @property {string} progress the `<progress>` element
 * @property {string} cancel the Cancel button
 * @property {boolean} [measured] whether the bar shows the fraction done (it starts at 0); otherwise it stays indeterminate
 * @property {string} line the job's status line beside its button: what runs, the result's time, the error
 */

/**
 * What a running job may update.
 * @typedef {object} JobProgress
 * @property {(text: string) => void} status says on the status line what it does now
 * @property {(fraction: number) => void} fraction fills a measured progress bar
 */

/**
 * @typedef {object} Job
 * @property {string} [status] what the status line says when it starts (absent: the job sets it itself)
 * @property {JobControls} [controls]
 * @property {(progress: JobProgress) => Promise<string>} work does the job and shows its result; resolves to the status line's last word
 */

/** @param {Job} job */
export async function runJob({ status, controls, work }) {
  const line = controls && $(controls.line);
  /** Says `text` on the job's line and the Data card's status line; `error` marks it as what went wrong. */
  const say = (/** @type {string} */ text, error = false) => {
    setStatus(error ? '' : text);
    if (line) {
      line.textContent = text;
      line.classList.toggle('job-error', error);
    }
  };
  // The files were not read (a malformed file, no responses): nothing to run on.
  if (document.body.dataset.files === 'unreadable') {
    say('Nothing to run on: the files could not be read (the Data card says why). Fix or replace them first.', true);
    document.body.dataset.job = 'error';
    return;
  }
  const bar = controls && /** @type {HTMLProgressElement} */ ($(controls.progress));
  const cancel = controls && $(controls.cancel);
  if (bar && cancel) {
    bar.hidden = false;
    if (controls.measured) bar.value = 0;
    cancel.hidden = false;
  }
  setError(null);
  if (status !== undefined) say(status);
  document.body.dataset.job = 'busy';
  try {
    const done = await work({
      status: say,
      fraction: (fraction) => {
        if (bar) bar.value = fraction;
      },
    });
    say(done);
    document.body.dataset.job = 'done';
  } catch (e) {
    if (e instanceof Error && e.message === CANCELLED) say('Cancelled.');
    else {
      // The job failed, not the data: said beside its button (and in the
      // Data card's box), and every other job stays usable.
      say(errorMessage(e), true);
      setError(errorMessage(e));
    }
    document.body.dataset.job = 'error';
  } finally {
    if (bar && cancel) {
      bar.hidden = true;
      cancel.hidden = true;
    }
  }
}

/**
 * Wires a job's Cancel button: it stops every running job (the worker is replaced).
 * @param {JobControls} controls
 * @param {import('../client.js').WorkerClient} client
 */
export function wireCancel(controls, client) {
  $(controls.cancel).addEventListener('click', () => client.cancelAll());
}
