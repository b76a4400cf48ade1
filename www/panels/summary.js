// The Summary card: the shape of the loaded matrix, its warnings, and how
// many items each group holds.

import { $, numberFormat } from '../ui/dom.js';

/** @param {import('../lib/types.js').Info} info */
export function showSummary(info) {
  $('summary').hidden = false;
  $('s-models').textContent = numberFormat.format(info.models);
  $('s-items').textContent = numberFormat.format(info.items);
  $('s-missing').textContent = `${(info.missing_fraction * 100).toFixed(2)}%`;
  $('s-kind').textContent = info.kind;
  $('s-mean').textContent = info.mean.toFixed(4);
  $('s-range').textContent = `${info.model_mean_range[0].toFixed(3)} – ${info.model_mean_range[1].toFixed(3)}`;
  $('warnings').replaceChildren(
    ...info.warnings.map((w) => {
      const li = document.createElement('li');
      li.textContent = w;
      return li;
    }),
  );
  const groups = Object.entries(info.groups).sort((a, b) => b[1] - a[1]);
  const table = /** @type {HTMLTableElement} */ ($('groups'));
  table.hidden = groups.length === 0;
  $('groups-title').hidden = groups.length === 0;
  const max = Math.max(1, ...groups.map(([, n]) => n));
  table.tBodies[0].replaceChildren(
    ...groups.map(([name, n]) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = name;
      const count = document.createElement('td');
      count.textContent = numberFormat.format(n);
      const barCell = document.createElement('td');
      const bar = document.createElement('meter');
      bar.min = 0;
      bar.max = max;
      bar.value = n;
      bar.textContent = `${n}`;
      barCell.append(bar);
      tr.append(th, count, barCell);
      return tr;
    }),
  );
}

/** After a file could not be read there is nothing to summarise. */
export function hideSummary() {
  $('summary').hidden = true;
}
