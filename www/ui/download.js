// Hands results to the user as files: text (JSON, CSV) and charts (SVG, PNG).

import { pngBlob, svgDocument } from '../plot.js';
import { $ } from './dom.js';

/** @param {string} name @param {Blob} blob */
function save(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  // The click starts the download asynchronously; revoking at once can cancel it.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** @param {string} name @param {string} text @param {string} type */
export function download(name, text, type) {
  save(name, new Blob([text], { type }));
}

/** @param {string} name @param {unknown} value saved as indented JSON */
export function downloadJson(name, value) {
  download(name, JSON.stringify(value, null, 2), 'application/json');
}

/** A CSV field, quoted when it must be. @param {string} field */
export function csvField(field) {
  return /[",\n\r]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/**
 * A CSV file: the header line, then one line per row.
 * @param {string} name
 * @param {string} header
 * @param {string[][]} rows
 */
export function downloadCsv(name, header, rows) {
  download(name, [header, ...rows.map((row) => row.map(csvField).join(','))].join('\n') + '\n', 'text/csv');
}

/** @param {string} id of a figure holding an SVG chart @param {string} name without extension */
export function saveSvg(id, name) {
  const svg = /** @type {SVGSVGElement | null} */ ($(id).querySelector('svg'));
  if (svg) download(`${name}.svg`, svgDocument(svg), 'image/svg+xml');
}

/** @param {string} id of a figure holding an SVG chart @param {string} name without extension */
export async function savePng(id, name) {
  const svg = /** @type {SVGSVGElement | null} */ ($(id).querySelector('svg'));
  if (!svg) return;
  save(`${name}.png`, await pngBlob(svg));
}
