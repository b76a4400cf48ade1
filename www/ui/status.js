// The Data card's status line and error box, and the page's `data-state`.

import { $, errorMessage } from './dom.js';

/** @param {string} text */
export function setStatus(text) {
  $('status').textContent = text;
}

/** @returns {string} what the status line says now */
export function statusText() {
  return $('status').textContent ?? '';
}

/** @param {string | null} message shown in the error box; null hides it */
export function setError(message) {
  const box = $('error');
  box.hidden = message == null;
  box.textContent = message ?? '';
}

/** Shows what went wrong and marks the page as in error. @param {unknown} e */
export function showFatal(e) {
  setStatus('');
  setError(errorMessage(e));
  document.body.dataset.state = 'error';
}
