// Small hand-written SVG charts: a line per series with a shaded 95% band.
// No library: the one chart type the page needs is ~80 lines, smaller than
// any plotting dependency (ARCHITECTURE.md, decision 22).

const NS = 'http://www.w3.org/2000/svg';
/** Twelve colours a reader tells apart (grey first, for the random baseline); past twelve, lines are dashed. */
export const PALETTE = ['#6b7280', '#2f6fdf', '#d9480f', '#2b8a3e', '#9c36b5', '#b08800', '#0c8599', '#c2255c', '#5c940d', '#1b2a6b', '#e8590c', '#862e9c'];

/**
 * A line with its 95% band; `colour` (default: by position) keeps a series' colour when others are hidden, `dashed`
 * tells it apart past the palette, and an `emphasis` series (the random baseline) has its band drawn above the others'.
 * @typedef {{label: string, points: {x: number, y: number, low: number, high: number}[], colour?: string, dashed?: boolean, emphasis?: boolean}} Series
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
 * Axis ticks a person reads at a glance: steps of 1, 2 or 5 × 10ⁿ, about
 * `count` of them (between `count` / 2 and 2·`count` or so), from the last step at or below `lo` to the first at or
 * above `hi`, with the decimals the step needs.
 * @param {number} lo
 * @param {number} hi
 * @param {number} [count]
 * @returns {{ticks: number[], digits: number}}
 */
export function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { ticks: [], digits: 0 };
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, lo + 0.5];
  const raw = (hi - lo) / Math.max(1, count - 1);
  // The 1, 2, 5 or 10 × 10ⁿ nearest the raw step in ratio (so the count
  // stays near `count`, a little above or below it).
  const power = 10 ** Math.floor(Math.log10(raw));
  const ratio = raw / power;
  const step = power * (ratio >= Math.sqrt(50) ? 10 : ratio >= Math.sqrt(10) ? 5 : ratio >= Math.SQRT2 ? 2 : 1);
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  // k · step, rounded to the step's decimals, so 0.1 + 0.2 prints as 0.3.
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toFixed(digits)));
  return { ticks, digits };
}

/** Below this width (CSS pixels) a line chart puts its legend under the plot. */
export const COMPACT_WIDTH = 560;

/**
 * A line chart with a log-scaled x axis (budgets) and confidence bands.
 * `width`, the room the chart will have on screen, picks the layout: beside
 * the plot the legend takes a third of it, which at phone width shrank the
 * text to half its size; under the plot the chart keeps the whole width and
 * its text stays readable.
 * @param {Series[]} series
 * @param {{xLabel: string, yLabel: string, title: string}} labels
 * @param {{width?: number}} [room]
 * @returns {SVGSVGElement}
 */
export function lineChart(series, labels, room = {}) {
  const compact = (room.width ?? Infinity) < COMPACT_WIDTH;
  const width = compact ? 420 : 720;
  const plotHeight = compact ? 300 : 360;
  // Under the plot: a row of 20 per series, below the x axis's label.
  const legendHeight = compact ? 20 * series.length + 12 : 0;
  const height = plotHeight + legendHeight;
  const margin = compact ? { left: 52, right: 16, top: 20, bottom: 48 + legendHeight } : { left: 64, right: 260, top: 28, bottom: 48 };
  const legendAt = (/** @type {number} */ i) =>
    compact ? { x: margin.left, y: plotHeight + 20 + 20 * i } : { x: width - margin.right + 12, y: margin.top + 16 * i + 4 };
  const svg = /** @type {SVGSVGElement} */ (el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: compact ? 'chart compact' : 'chart' }));
  const title = el('title', {});
  title.textContent = labels.title;
  svg.append(title);
  const points = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (points.length === 0) return svg;
  const xs = points.map((p) => Math.log(p.x));
  const ys = points.flatMap((p) => [p.low, p.high, p.y]).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const yTicks = niceTicks(Math.min(0, ...ys), Math.max(...ys));
  const [y0, y1] = [yTicks.ticks[0], yTicks.ticks[yTicks.ticks.length - 1]];
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
  for (const y of yTicks.ticks) {
    const t = el('text', { x: margin.left - 8, y: sy(y) + 4, 'text-anchor': 'end', class: 'tick' });
    t.textContent = y.toFixed(yTicks.digits);
    svg.append(t, el('line', { x1: margin.left, y1: sy(y), x2: width - margin.right, y2: sy(y), class: 'grid' }));
  }
  const xl = el('text', { x: (margin.left + width - margin.right) / 2, y: height - margin.bottom + 40, 'text-anchor': 'middle', class: 'label' });
  xl.textContent = labels.xLabel;
  const yl = el('text', { x: 14, y: (margin.top + height - margin.bottom) / 2, transform: `rotate(-90 14 ${(margin.top + height - margin.bottom) / 2})`, 'text-anchor': 'middle', class: 'label' });
  yl.textContent = labels.yLabel;
  svg.append(xl, yl);
  // Bands first (the emphasised one last, so it is never hidden), then the
  // lines over them, then the legend.
  const drawn = series.map((s, i) => ({ s, i, colour: s.colour ?? PALETTE[i % PALETTE.length], pts: s.points.filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x) }));
  for (const { s, colour, pts } of [...drawn.filter((d) => !d.s.emphasis), ...drawn.filter((d) => d.s.emphasis)]) {
    if (pts.length === 0) continue;
    const band = [...pts.map((p) => `${sx(p.x)},${sy(p.high)}`), ...[...pts].reverse().map((p) => `${sx(p.x)},${sy(p.low)}`)].join(' ');
    svg.append(el('polygon', { points: band, fill: colour, 'fill-opacity': s.emphasis ? 0.25 : 0.12, stroke: s.emphasis ? colour : 'none', 'stroke-opacity': 0.5, class: s.emphasis ? 'band emphasis' : 'band' }));
  }
  for (const { s, i, colour, pts } of drawn) {
    if (pts.length === 0) continue;
    const line = { points: pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 2 };
    svg.append(el('polyline', s.dashed ? { ...line, 'stroke-dasharray': '6 3' } : line));
    const legend = el('text', { ...legendAt(i), class: 'legend', fill: colour });
    legend.textContent = s.label;
    svg.append(legend);
  }
  return svg;
}

/**
 * A few horizontal bars on one axis from 0, each with its value printed: a
 * small chart beside a result (the select card's method against random).
 * @param {{label: string, value: number, colour?: string}[]} bars
 * @param {{xLabel: string, title: string}} labels
 * @returns {SVGSVGElement}
 */
export function barChart(bars, labels) {
  const width = 360;
  const row = 28;
  const margin = { left: 96, right: 56, top: 8, bottom: 34 };
  const height = margin.top + row * bars.length + margin.bottom;
  const svg = /** @type {SVGSVGElement} */ (el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart small' }));
  const title = el('title', {});
  title.textContent = labels.title;
  svg.append(title);
  const values = bars.map((b) => b.value).filter(Number.isFinite);
  if (values.length === 0) return svg;
  const { ticks, digits } = niceTicks(0, Math.max(...values), 3);
  const top = ticks[ticks.length - 1] || 1;
  const sx = (/** @type {number} */ x) => margin.left + (x / top) * (width - margin.left - margin.right);
  const axisY = margin.top + row * bars.length;
  for (const t of ticks) {
    const label = el('text', { x: sx(t), y: axisY + 16, 'text-anchor': 'middle', class: 'tick' });
    label.textContent = t.toFixed(digits);
    svg.append(el('line', { x1: sx(t), y1: margin.top, x2: sx(t), y2: axisY, class: 'grid' }), label);
  }
  bars.forEach((b, i) => {
    const y = margin.top + row * i;
    const name = el('text', { x: margin.left - 8, y: y + row / 2 + 4, 'text-anchor': 'end', class: 'label' });
    name.textContent = b.label;
    svg.append(name);
    if (!Number.isFinite(b.value)) return;
    svg.append(el('rect', { x: sx(0), y: y + 5, width: Math.max(1, sx(b.value) - sx(0)), height: row - 10, fill: b.colour ?? PALETTE[(i + 1) % PALETTE.length] }));
    const value = el('text', { x: sx(b.value) + 6, y: y + row / 2 + 4, class: 'tick' });
    value.textContent = b.value.toFixed(Math.max(digits + 1, 3));
    svg.append(value);
  });
  svg.append(el('line', { x1: sx(0), y1: axisY, x2: width - margin.right, y2: axisY, class: 'axis' }));
  const xl = el('text', { x: (margin.left + width - margin.right) / 2, y: height - 4, 'text-anchor': 'middle', class: 'label' });
  xl.textContent = labels.xLabel;
  svg.append(xl);
  return svg;
}

/**
 * Linear axes with ticks; returns scale functions. Shared by the scatter and
 * curve charts.
 * @param {SVGSVGElement} svg
 * @param {{x0: number, x1: number, y0: number, y1: number}} domain
 * @param {{width: number, height: number, left: number, right: number, top: number, bottom: number}} box
 * @param {{xLabel: string, yLabel: string}} labels
 */
function linearAxes(svg, domain, box, labels) {
  const { x0, x1, y0, y1 } = domain;
  const sx = (/** @type {number} */ x) => box.left + ((x - x0) / (x1 - x0 || 1)) * (box.width - box.left - box.right);
  const sy = (/** @type {number} */ y) => box.height - box.bottom - ((y - y0) / (y1 - y0 || 1)) * (box.height - box.top - box.bottom);
  svg.append(el('line', { x1: box.left, y1: sy(y0), x2: box.width - box.right, y2: sy(y0), class: 'axis' }));
  svg.append(el('line', { x1: box.left, y1: box.top, x2: box.left, y2: sy(y0), class: 'axis' }));
  // Nice ticks inside the domain (which the callers set from the data's
  // quantiles, so it is not widened to the ticks).
  const inside = (/** @type {number} */ v, /** @type {number} */ a, /** @type {number} */ b) => v >= a - 1e-9 * (b - a) && v <= b + 1e-9 * (b - a);
  const xTicks = niceTicks(x0, x1);
  for (const x of xTicks.ticks.filter((v) => inside(v, x0, x1))) {
    const t = el('text', { x: sx(x), y: box.height - box.bottom + 18, 'text-anchor': 'middle', class: 'tick' });
    t.textContent = x.toFixed(xTicks.digits);
    svg.append(t);
  }
  const yTicks = niceTicks(y0, y1);
  for (const y of yTicks.ticks.filter((v) => inside(v, y0, y1))) {
    const u = el('text', { x: box.left - 8, y: sy(y) + 4, 'text-anchor': 'end', class: 'tick' });
    u.textContent = y.toFixed(yTicks.digits);
    svg.append(u, el('line', { x1: box.left, y1: sy(y), x2: box.width - box.right, y2: sy(y), class: 'grid' }));
  }
  const xl = el('text', { x: (box.left + box.width - box.right) / 2, y: box.height - 8, 'text-anchor': 'middle', class: 'label' });
  xl.textContent = labels.xLabel;
  const mid = (box.top + box.height - box.bottom) / 2;
  const yl = el('text', { x: 14, y: mid, transform: `rotate(-90 14 ${mid})`, 'text-anchor': 'middle', class: 'label' });
  yl.textContent = labels.yLabel;
  svg.append(xl, yl);
  return { sx, sy };
}

/** @param {number[]} values @param {number} q */
function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/**
 * A scatter of many points (one `<path>` of round dots, so 30,000 items stay
 * cheap) with highlighted points drawn on top as circles. Axes span the
 * 0.5–99.5% quantiles so a few extreme items do not squash the rest.
 * @param {{x: number, y: number}[]} points
 * @param {Set<number>} highlighted indices into `points`
 * @param {{xLabel: string, yLabel: string, title: string}} labels
 * @returns {{svg: SVGSVGElement, nearest: (clientX: number, clientY: number) => number}}
 */
export function scatterChart(points, highlighted, labels) {
  const box = { width: 640, height: 380, left: 56, right: 16, top: 16, bottom: 48 };
  const svg = /** @type {SVGSVGElement} */ (el('svg', { viewBox: `0 0 ${box.width} ${box.height}`, role: 'img', class: 'chart' }));
  const title = el('title', {});
  title.textContent = labels.title;
  svg.append(title);
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (finite.length === 0) return { svg, nearest: () => -1 };
  const xs = finite.map((p) => p.x);
  const ys = finite.map((p) => p.y);
  const domain = { x0: quantile(xs, 0.005), x1: quantile(xs, 0.995), y0: Math.min(0, quantile(ys, 0.005)), y1: quantile(ys, 0.995) };
  if (domain.x1 <= domain.x0) [domain.x0, domain.x1] = [domain.x0 - 1, domain.x0 + 1];
  if (domain.y1 <= domain.y0) domain.y1 = domain.y0 + 1;
  const { sx, sy } = linearAxes(svg, domain, box, labels);
  const clampX = (/** @type {number} */ x) => Math.min(box.width - box.right, Math.max(box.left, sx(x)));
  const clampY = (/** @type {number} */ y) => Math.min(box.height - box.bottom, Math.max(box.top, sy(y)));
  let d = '';
  points.forEach((p, i) => {
    if (!highlighted.has(i) && Number.isFinite(p.x) && Number.isFinite(p.y)) d += `M${clampX(p.x).toFixed(1)} ${clampY(p.y).toFixed(1)}h0`;
  });
  svg.append(el('path', { d, class: 'dots' }));
  for (const i of highlighted) {
    const p = points[i];
    if (p && Number.isFinite(p.x) && Number.isFinite(p.y)) svg.append(el('circle', { cx: clampX(p.x), cy: clampY(p.y), r: 3.5, class: 'picked' }));
  }
  const nearest = (/** @type {number} */ clientX, /** @type {number} */ clientY) => {
    const ctm = svg.getScreenCTM();
    if (!ctm) return -1;
    const at = new DOMPoint(clientX, clientY).matrixTransform(ctm.inverse());
    let best = -1;
    let bestDistance = 12 * 12; // within 12 viewBox units of a dot
    points.forEach((p, i) => {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) return;
      const dx = clampX(p.x) - at.x;
      const dy = clampY(p.y) - at.y;
      if (dx * dx + dy * dy < bestDistance) [best, bestDistance] = [i, dx * dx + dy * dy];
    });
    return best;
  };
  return { svg, nearest };
}

/**
 * Curves over a linear x axis (an item characteristic curve), with optional
 * tick marks along the x axis (the models' abilities).
 * @param {{label: string, points: {x: number, y: number}[]}[]} curves
 * @param {number[]} rug
 * @param {{xLabel: string, yLabel: string, title: string}} labels
 * @returns {SVGSVGElement}
 */
export function curveChart(curves, rug, labels) {
  const box = { width: 640, height: 300, left: 56, right: 16, top: 16, bottom: 48 };
  const svg = /** @type {SVGSVGElement} */ (el('svg', { viewBox: `0 0 ${box.width} ${box.height}`, role: 'img', class: 'chart' }));
  const title = el('title', {});
  title.textContent = labels.title;
  svg.append(title);
  const xs = curves.flatMap((c) => c.points.map((p) => p.x));
  if (xs.length === 0) return svg;
  const { sx, sy } = linearAxes(svg, { x0: Math.min(...xs), x1: Math.max(...xs), y0: 0, y1: 1 }, box, labels);
  for (const x of rug) {
    if (x < Math.min(...xs) || x > Math.max(...xs)) continue;
    svg.append(el('line', { x1: sx(x), x2: sx(x), y1: sy(0), y2: sy(0) - 8, class: 'rug' }));
  }
  curves.forEach((c, i) => {
    const colour = PALETTE[(i + 1) % PALETTE.length];
    svg.append(el('polyline', { points: c.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 2.5 }));
  });
  return svg;
}

/** Colours for a chart saved outside the page (the page's CSS is not there). */
const EXPORT_STYLE =
  'text{font:12px system-ui,sans-serif;fill:#1d1f23}.axis{stroke:#5d6470}.grid{stroke:#dcdfe4;stroke-dasharray:2 3}' +
  '.legend{font-size:12px}.compact text{font-size:15px}.dots{stroke:#8a94a6;stroke-width:3;stroke-linecap:round;stroke-opacity:.55}' +
  '.picked{fill:#d9480f;stroke:#fff;stroke-width:1}.rug{stroke:#2f6fdf;stroke-opacity:.6}';

/**
 * A chart as a standalone SVG document (white background, inline styles).
 * @param {SVGSVGElement} svg
 * @returns {string}
 */
export function svgDocument(svg) {
  const copy = /** @type {SVGSVGElement} */ (svg.cloneNode(true));
  copy.setAttribute('xmlns', NS);
  const [, , w, h] = (copy.getAttribute('viewBox') ?? '0 0 640 360').split(/\s+/).map(Number);
  copy.setAttribute('width', String(w));
  copy.setAttribute('height', String(h));
  const style = el('style', {});
  style.textContent = EXPORT_STYLE;
  copy.prepend(style, el('rect', { x: 0, y: 0, width: w, height: h, fill: '#ffffff' }));
  return new XMLSerializer().serializeToString(copy);
}

/**
 * Renders a chart to PNG at twice its size.
 * @param {SVGSVGElement} svg
 * @returns {Promise<Blob>}
 */
export async function pngBlob(svg) {
  const text = svgDocument(svg);
  const [, , w, h] = (svg.getAttribute('viewBox') ?? '0 0 640 360').split(/\s+/).map(Number);
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = w * 2;
    canvas.height = h * 2;
    const context = canvas.getContext('2d');
    if (!context) throw new Error('this browser cannot draw on a canvas');
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}
