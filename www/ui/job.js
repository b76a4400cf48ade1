// One job of a panel (select, filter, fit, estimate, compare, near-duplicates)
// from start to end: the status line says what runs, `body[data-job]` is
// busy, done or error (the tests wait on it), the panel's progress bar and
// Cancel button show while it runs, and a cancelled job says so rather than
// showing an error.

import { CANCELLED } from '../client.js';
import { $ } from './dom.js';
import { setError, setStatus, showFatal } from './status.js';

/**
 * A job's progress bar and Cancel button, by id.
 * @typedef {object} JobControls
 * @property {string} progress the `<progress>` element
 * @property {string} cancel the Cancel button
 * @property {boolean} [measured] whether the bar shows the fraction done (it starts at 0); otherwise it stays indeterminate
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
  const bar = controls && /** @type {HTMLProgressElement} */ ($(controls.progress));
  const cancel = controls && $(controls.cancel);
  if (bar && cancel) {
    bar.hidden = false;
    if (controls.measured) bar.value = 0;
    cancel.hidden = false;
  }
  setError(null);
  if (status !== undefined) setStatus(status);
  document.body.dataset.job = 'busy';
  try {
    const done = await work({
      status: setStatus,
      fraction: (fraction) => {
        if (bar) bar.value = fraction;
      },
    });
    setStatus(done);
    document.body.dataset.job = 'done';
  } catch (e) {
    if (e instanceof Error && e.message === CANCELLED) setStatus('Cancelled.');
    else showFatal(e);
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
