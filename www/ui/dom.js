// Small DOM helpers every panel uses. User text only ever goes through
// textContent, never innerHTML.

/** The element with this id (the page's ids are fixed, so it exists). @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Thousands separators for counts, whatever the reader's locale (the tests compare against it). */
export const numberFormat = new Intl.NumberFormat('en');

/**
 * A table row of text cells.
 * @param {string[]} values
 */
export function tableRow(values) {
  const tr = document.createElement('tr');
  for (const value of values) {
    const td = document.createElement('td');
    td.textContent = value;
    tr.append(td);
  }
  return tr;
}

/**
 * The rows of a table's body, replaced.
 * @param {string} id of the table
 * @param {Node[]} rows
 */
export function replaceRows(id, rows) {
  /** @type {HTMLTableElement} */ ($(id)).tBodies[0].replaceChildren(...rows);
}

/**
 * A form control by name.
 * @param {HTMLFormElement} form
 * @param {string} name
 */
export function field(form, name) {
  return /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
}

/**
 * The submitted form's values; stops the browser's own submission.
 * @param {Event} event a form's submit event
 */
export function submitted(event) {
  event.preventDefault();
  return new FormData(/** @type {HTMLFormElement} */ (event.target));
}

/**
 * The width (CSS pixels) a chart in figure `id` will have: the figure's, or
 * the page's while the figure is still hidden.
 * @param {string} id
 */
export function chartRoom(id) {
  return { width: $(id).clientWidth || document.documentElement.clientWidth };
}

/**
 * Puts a chart in a figure in place of the one it held (the caption stays).
 * @param {string} id of the figure
 * @param {SVGSVGElement} chart
 */
export function showChart(id, chart) {
  const figure = $(id);
  figure.querySelector('svg')?.remove();
  figure.prepend(chart);
}

/** An error's message, or whatever was thrown in words. @param {unknown} e */
export function errorMessage(e) {
  return e instanceof Error ? e.message : String(e);
}
