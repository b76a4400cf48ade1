// <benchsift-report src="responses.csv" items="items.csv" method="irt-cluster" budget="100">
// A web component for docs sites: loads a response matrix from a URL, runs
// the selection in benchsift's Web Worker (through client.js, the worker
// client the page uses too), and shows the summary and the
// chosen items. Attributes: src (required), items, models, method
// (default irt-cluster), budget (default 100), seed (default 0).
// Everything runs in the reader's browser; no request leaves the page's
// origin except the files named in the attributes.

import { WorkerClient } from './client.js';

const STYLE = `
:host { display: block; font: 14px/1.5 system-ui, sans-serif; border: 1px solid #dcdfe4; border-radius: 10px; padding: 12px 16px; }
h3 { margin: 0 0 4px; font-size: 15px; }
p { margin: 4px 0; color: #5d6470; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid #eceef1; vertical-align: top; }
td.text { overflow-wrap: anywhere; }
.error { color: #b3261e; font-family: ui-monospace, monospace; }
`;

class BenchsiftReport extends HTMLElement {
  static get observedAttributes() {
    return ['src', 'items', 'models', 'method', 'budget', 'seed'];
  }

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    // A constructed stylesheet, not a <style> element: pages with a strict
    // Content-Security-Policy (no 'unsafe-inline' styles) still style it.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
    this.root.adoptedStyleSheets = [sheet];
    /** Started on first use, so an element without src costs no worker. @type {WorkerClient | null} */
    this.client = null;
  }

  connectedCallback() {
    this.render();
  }

  disconnectedCallback() {
    this.client?.close();
    this.client = null;
  }

  attributeChangedCallback() {
    if (this.isConnected) this.render();
  }

  /**
   * @template {import('./client.js').WorkerOp} Op
   * @param {Op} op
   * @param {import('./client.js').WorkerFile[]} files
   * @param {object} options
   */
  async call(op, files, options) {
    this.client ??= new WorkerClient();
    return (await this.client.run(op, files, options)).result;
  }

  /** @param {string} url @param {string} role */
  async fetchFile(url, role) {
    const response = await fetch(new URL(url, document.baseURI));
    if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
    return { name: url.split('/').pop() ?? url, role, data: await response.arrayBuffer() };
  }

  async render() {
    const src = this.getAttribute('src');
    const status = document.createElement('p');
    this.root.replaceChildren(status);
    if (!src) {
      status.className = 'error';
      status.textContent = 'benchsift-report: set the src attribute to a response matrix URL.';
      return;
    }
    status.textContent = 'Loading…';
    const method = this.getAttribute('method') ?? 'irt-cluster';
    const budget = Number(this.getAttribute('budget') ?? 100);
    const seed = Number(this.getAttribute('seed') ?? 0);
    try {
      const files = [await this.fetchFile(src, 'responses')];
      for (const role of ['items', 'models']) {
        const url = this.getAttribute(role);
        if (url) files.push(await this.fetchFile(url, role));
      }
      const info = await this.call('info', files, {});
      status.textContent = 'Selecting…';
      const subset = await this.call('select', files, { method, budget, seed });
      this.show(info, subset);
      this.dispatchEvent(new CustomEvent('benchsift-ready', { detail: { info, subset } }));
    } catch (e) {
      status.className = 'error';
      status.textContent = e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * @param {import('./lib/types.js').Info} info
   * @param {import('./lib/types.js').Subset} subset
   */
  show(info, subset) {
    const title = document.createElement('h3');
    title.textContent = `${subset.items.length} of ${info.items} items (${subset.method})`;
    const summary = document.createElement('p');
    summary.textContent = `${info.models} models × ${info.items} items, ${info.kind}, mean ${info.mean.toFixed(3)}. Weights sum to 1.`;
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const label of ['#', 'Item', 'Weight', 'Text']) {
      const th = document.createElement('th');
      th.textContent = label;
      head.append(th);
    }
    const body = table.createTBody();
    subset.items.forEach((id, k) => {
      const row = body.insertRow();
      const text = subset.texts?.[k] ?? '';
      for (const [value, cls] of [[String(k + 1), ''], [id, ''], [subset.weights[k].toFixed(4), ''], [text.length > 200 ? `${text.slice(0, 200)}…` : text, 'text']]) {
        const td = row.insertCell();
        td.textContent = value;
        if (cls) td.className = cls;
      }
    });
    this.root.replaceChildren(title, summary, table);
  }
}

if (!customElements.get('benchsift-report')) customElements.define('benchsift-report', BenchsiftReport);
