// Small hand-written SVG charts: a line per series with a shaded 95% band.
// No library: the one chart type the page needs is ~80 lines, smaller than
// any plotting dependency (ARCHITECTURE.md, decision 22).

const NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#6b7280', '#2f6fdf', '#d9480f', '#2b8a3e', '#9c36b5', '#e8590c', '#0c8599', '#c2255c'];

/**
 * @typedef {{label: string, points: {x: number, y: number, low: number, high: number}[]}} Series
 */

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 */
function el(tag, attrs) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * A line chart with a log-scaled x axis (budgets) and confidence bands.
 * @param {Series[]} series
 * @param {{xLabel: string, yLabel: string, title: string}} labels
 * @returns {SVGSVGElement}
 */
export function lineChart(series, labels) {
  const width = 640;
  const height = 360;
  const margin = { left: 64, right: 190, top: 28, bottom: 48 };
  const svg = /** @type {SVGSVGElement} */ (el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart' }));
  const title = el('title', {});
  title.textContent = labels.title;
  svg.append(title);
  const points = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (points.length === 0) return svg;
  const xs = points.map((p) => Math.log(p.x));
  const ys = points.flatMap((p) => [p.low, p.high, p.y]).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)];
  const sx = (/** @type {number} */ x) => margin.left + ((Math.log(x) - x0) / (x1 - x0 || 1)) * (width - margin.left - margin.right);
  const sy = (/** @type {number} */ y) => height - margin.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - margin.top - margin.bottom);
  // Axes and ticks.
  svg.append(el('line', { x1: margin.left, y1: sy(y0), x2: width - margin.right, y2: sy(y0), class: 'axis' }));
  svg.append(el('line', { x1: margin.left, y1: margin.top, x2: margin.left, y2: sy(y0), class: 'axis' }));
  for (const x of [...new Set(points.map((p) => p.x))]) {
    const t = el('text', { x: sx(x), y: height - margin.bottom + 18, 'text-anchor': 'middle', class: 'tick' });
    t.textContent = String(x);
    svg.append(t);
  }
  for (let k = 0; k <= 4; k++) {
    const y = y0 + ((y1 - y0) * k) / 4;
    const t = el('text', { x: margin.left - 8, y: sy(y) + 4, 'text-anchor': 'end', class: 'tick' });
    t.textContent = y.toFixed(3);
    svg.append(t, el('line', { x1: margin.left, y1: sy(y), x2: width - margin.right, y2: sy(y), class: 'grid' }));
  }
  const xl = el('text', { x: (margin.left + width - margin.right) / 2, y: height - 8, 'text-anchor': 'middle', class: 'label' });
  xl.textContent = labels.xLabel;
  const yl = el('text', { x: 14, y: (margin.top + height - margin.bottom) / 2, transform: `rotate(-90 14 ${(margin.top + height - margin.bottom) / 2})`, 'text-anchor': 'middle', class: 'label' });
  yl.textContent = labels.yLabel;
  svg.append(xl, yl);
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (pts.length === 0) return;
    const band = [...pts.map((p) => `${sx(p.x)},${sy(p.high)}`), ...pts.reverse().map((p) => `${sx(p.x)},${sy(p.low)}`)].join(' ');
    pts.reverse();
    svg.append(el('polygon', { points: band, fill: colour, 'fill-opacity': 0.15, stroke: 'none' }));
    svg.append(el('polyline', { points: pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 2 }));
    const legend = el('text', { x: width - margin.right + 12, y: margin.top + 16 * i + 4, class: 'legend', fill: colour });
    legend.textContent = s.label;
    svg.append(legend);
  });
  return svg;
}
