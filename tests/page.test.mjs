// The page in real headless Chromium (Debian's, driven by playwright-core):
// bundled data, the user's files, malformed input, WebGPU on and off, and no
// request outside the page's own origin.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { CHROMIUM, CLI, ROOT, cliInfo, skipOrFail, tempDir } from './helpers.mjs';
import { startServer } from '../scripts/serve.mjs';

const skip = existsSync(CHROMIUM) ? false : skipOrFail(`the browser tests: Chromium not found at ${CHROMIUM} (set CHROMIUM or install Debian's chromium)`);

const OUT = join(ROOT, 'tests', 'out');
mkdirSync(OUT, { recursive: true });

/** @type {{url: string, close: () => Promise<void>}} */
let server;
/** @type {typeof import('playwright-core').chromium} */
let chromium;

before(async () => {
  if (skip) return;
  ({ chromium } = await import('playwright-core'));
  server = await startServer({ port: 0, quiet: true });
});
after(async () => server?.close());

/**
 * A fresh browser with a request log; any request outside the origin fails the test.
 * @param {{webgpu: boolean}} options
 */
async function open({ webgpu }) {
  const args = ['--disable-quic', '--no-first-run'];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  const context = await chromium.launchPersistentContext(tempDir('chrome'), {
    executablePath: CHROMIUM,
    headless: true,
    args,
    timeout: 60_000,
  });
  const origin = new URL(server.url).origin;
  /** @type {string[]} */
  const foreign = [];
  /** @type {string[]} */
  const consoleErrors = [];
  context.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => msg.type() === 'error' && consoleErrors.push(msg.text()));
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  return { context, page, foreign, consoleErrors };
}

/**
 * Waits until the page reaches `state`; fails at once with the page's error
 * message if it shows an error instead.
 * @param {import('playwright-core').Page} page
 * @param {'ready' | 'error'} state
 */
async function waitForState(page, state) {
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 60_000 });
  const reached = await page.getAttribute('body', 'data-state');
  if (reached !== state) {
    throw new Error(`page is '${reached}', not '${state}': ${(await page.textContent('#error'))?.trim()}`);
  }
}

/** @param {import('playwright-core').Page} page */
async function summary(page) {
  const text = async (/** @type {string} */ id) => (await page.textContent(`#${id}`))?.trim();
  return {
    models: await text('s-models'),
    items: await text('s-items'),
    missing: await text('s-missing'),
    kind: await text('s-kind'),
    mean: await text('s-mean'),
    groups: await page.$$eval('#groups tbody tr', (rows) => Object.fromEntries(rows.map((r) => [r.querySelector('th')?.textContent, Number(r.querySelector('td')?.textContent?.replace(/,/g, ''))]))),
  };
}

/** What the page must show for a CLI result. @param {any} info */
function expectedSummary(info) {
  return {
    models: new Intl.NumberFormat('en').format(info.models),
    items: new Intl.NumberFormat('en').format(info.items),
    missing: `${(info.missing_fraction * 100).toFixed(2)}%`,
    kind: info.kind,
    mean: info.mean.toFixed(4),
    groups: info.groups,
  };
}

/**
 * Starts the small comparison both BBH tests run: IRT information against
 * random at 3 and 5 tasks, 3 folds, 2 seeds (the CLI's `--methods irt-info
 * --budgets 3,5 --folds 3 --seeds 2`).
 * @param {import('playwright-core').Page} page
 */
async function startSmallCompare(page) {
  await page.uncheck('#compare-form input[value=irt-cluster]');
  await page.fill('#compare-form input[name=budgets]', '3,5');
  await page.fill('#compare-form input[name=folds]', '3');
  await page.fill('#compare-form input[name=seeds]', '2');
  await page.click('#compare-form button[type=submit]');
}

test('the bundled MMLU-Pro loads and matches the CLI; the WebGPU adapter is shown', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: true });
  try {
    const started = Date.now();
    await page.goto(server.url);
    await waitForState(page, 'ready');
    console.log(`first summary on the default data after ${Date.now() - started} ms`);
    const cli = cliInfo(['www/data/mmlu_pro/responses.csv.gz', '--items', 'www/data/mmlu_pro/items.csv.gz']);
    assert.deepEqual(await summary(page), expectedSummary(cli));
    await page.waitForFunction(() => document.querySelector('#backend')?.getAttribute('data-backend'));
    const backend = await page.$eval('#backend', (el) => ({ text: el.textContent, fallback: /** @type {HTMLElement} */ (el).dataset.fallback, backend: /** @type {HTMLElement} */ (el).dataset.backend }));
    assert.match(backend.text ?? '', /^WebGPU adapter: /);
    // Chromium's software adapter (SwiftShader) is a fallback: the page says it uses the CPU.
    if (backend.fallback === 'true') assert.equal(backend.backend, 'cpu');
    assert.match(await page.textContent('#version') ?? '', /^\d+\.\d+\.\d+$/);
    await page.screenshot({ path: join(OUT, 'page-mmlu-pro.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(OUT, 'page-mmlu-pro-phone.png'), fullPage: true });
    assert.deepEqual(foreign, [], 'requests outside the origin');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('without WebGPU the page says it computes on the CPU, and other bundled sets load', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}?data=bbh`);
    await waitForState(page, 'ready');
    await page.waitForFunction(() => document.querySelector('#backend')?.getAttribute('data-backend'));
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
    assert.match((await page.textContent('#backend')) ?? '', /CPU/);
    const cli = cliInfo(['www/data/bbh/responses.csv', '--items', 'www/data/bbh/items.csv', '--models', 'www/data/bbh/models.csv']);
    assert.deepEqual(await summary(page), expectedSummary(cli));
    await page.selectOption('#dataset', 'alpacaeval');
    await page.waitForFunction(() => document.querySelector('#s-models')?.textContent === '57');
    assert.match(page.url(), /data=alpacaeval/);
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('dropped files: a malformed file shows where it is wrong, and the page still works after', { skip }, async () => {
  const { context, page, foreign } = await open({ webgpu: true });
  try {
    await page.goto(server.url);
    await waitForState(page, 'ready');
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#files', { name: 'broken.csv', mimeType: 'text/csv', buffer: Buffer.from('model,q1,q2\nA,1,0\nB,oops,1\n') });
    await waitForState(page, 'error');
    assert.equal((await page.textContent('#error'))?.trim(), "broken.csv, line 3, column 2 (q1): 'oops' is not a number");
    // The dataset menu says what is loaded: the user's file, not the bundled MMLU-Pro.
    assert.equal(await page.inputValue('#dataset'), 'own');
    assert.equal(await page.isHidden('#summary'), true);
    await page.screenshot({ path: join(OUT, 'page-error.png') });
    // Item text with markup is shown as text, never parsed as HTML.
    const evil = '<img src=x onerror="window.__pwned=1">';
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#files', [
      { name: 'responses.csv', mimeType: 'text/csv', buffer: Buffer.from('model,q1,q2\nA,1,0\nB,0,\n') },
      { name: 'items.csv', mimeType: 'text/csv', buffer: Buffer.from(`item_id,text,subject\nq1,hi,"${evil.replace(/"/g, '""')}"\nq2,there,law\n`) },
    ]);
    await waitForState(page, 'ready');
    assert.equal(await page.textContent('#s-models'), '2');
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).__pwned), undefined);
    assert.ok(((await page.textContent('#groups')) ?? '').includes(evil));
    assert.deepEqual(foreign, []);
  } finally {
    await context.close();
  }
});

test('an lm-evaluation-harness output folder loads as one model per subfolder', { skip }, async () => {
  const { context, page } = await open({ webgpu: false });
  try {
    await page.goto(server.url);
    await waitForState(page, 'ready');
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#folder', join(ROOT, 'tests', 'fixtures', 'lm_eval'));
    await waitForState(page, 'ready');
    assert.match((await page.textContent('#status')) ?? '', /Ignored 4 file\(s\) that are not sample logs/);
    const cli = cliInfo(['tests/fixtures/lm_eval']);
    assert.deepEqual(await summary(page), expectedSummary(cli));
  } finally {
    await context.close();
  }
});

test('select a subset and compare methods in the page; numbers match the CLI', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}?data=bbh`);
    await waitForState(page, 'ready');
    // Select: 5 tasks by IRT information.
    await page.selectOption('#select-form select[name=method]', 'irt-info');
    await page.fill('#select-form input[name=budget]', '5');
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    const ids = await page.$$eval('#subset-table tbody tr', (rows) => rows.map((r) => r.children[1].textContent));
    const cli = JSON.parse(execFileSync(CLI, ['select', 'www/data/bbh/responses.csv', '--items', 'www/data/bbh/items.csv', '--models', 'www/data/bbh/models.csv', '--method', 'irt-info', '--budget', '5'], { cwd: ROOT, encoding: 'utf8' }));
    assert.deepEqual(ids, cli.items);
    // The summary says how far the discriminations irt-info ranks by can be trusted.
    assert.ok(await page.textContent('#select-detail-text').then((t) => t?.includes(`discriminations it ranks by: ${cli.discrimination_reliability.toFixed(2)}.`)));
    // The result leads with who chose the items and how far off estimates from them will be.
    assert.match((await page.textContent('#select-summary')) ?? '', cli.guard.fell_back ? /^5 of 27 items chosen at random/ : /^5 of 27 items chosen by irt-info\.$/);
    const expected = cli.guard.fell_back ? cli.guard.random_error : cli.guard.method_error;
    assert.ok(((await page.textContent('#select-quality')) ?? '').includes(`Expected error of a new model's estimated score: ${expected.toFixed(4)}`));
    assert.ok(((await page.textContent('#select-quality')) ?? '').includes(`within ±${cli.ridge.half_width.toFixed(4)}`));
    // Beside it, a small chart of the method's cross-validated error against random's, with the CLI's numbers.
    assert.equal(await page.isHidden('#select-chart'), false);
    const bars = await page.$$eval('#select-chart svg rect', (rects) => rects.length);
    assert.equal(bars, 2);
    const printed = await page.$$eval('#select-chart svg text.tick', (ts) => ts.map((t) => t.textContent ?? ''));
    for (const e of [cli.guard.method_error, cli.guard.random_error]) assert.ok(printed.some((p) => Math.abs(Number(p) - e) < 5e-4), `${e} not in ${printed}`);
    await page.locator('#select-result').screenshot({ path: join(OUT, 'page-select-chart.png') });
    // The random guard ran as the CLI's did, and the summary says when it took a random subset.
    assert.equal(typeof cli.guard?.fell_back, 'boolean');
    assert.equal(((await page.textContent('#select-summary')) ?? '').includes('so these items are a random subset'), cli.guard.fell_back);
    // The download buttons hand over the same subset.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
    const saved = join(OUT, 'subset.json');
    await download.saveAs(saved);
    assert.deepEqual(JSON.parse(readFileSync(saved, 'utf8')).items, cli.items);
    // The URL now holds the settings; opening it restores the form.
    const link = page.url();
    assert.match(link, /method=irt-info/);
    assert.match(link, /budget=5/);
    const other = await context.newPage();
    await other.goto(link);
    await waitForState(other, 'ready');
    assert.equal(await other.inputValue('#select-form select[name=method]'), 'irt-info');
    assert.equal(await other.inputValue('#select-form input[name=budget]'), '5');
    await other.close();

    // Compare: random vs IRT information at 3 and 5 tasks.
    await page.evaluate(() => document.body.removeAttribute('data-job'));
    await startSmallCompare(page);
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    assert.equal(await page.locator('#chart svg polyline').count() >= 2, true);
    const ev = JSON.parse(execFileSync(CLI, ['evaluate', 'www/data/bbh/responses.csv', '--items', 'www/data/bbh/items.csv', '--models', 'www/data/bbh/models.csv', '--methods', 'irt-info', '--budgets', '3,5', '--folds', '3', '--seeds', '2'], { cwd: ROOT, encoding: 'utf8' }));
    const cells = await page.$$eval('#compare-table tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    assert.equal(cells.length, ev.results.length);
    const first = ev.results[0];
    assert.deepEqual(cells[0].slice(0, 4), [first.method, first.estimator, String(first.budget), `${first.mae.mean.toFixed(4)} [${first.mae.low.toFixed(4)}, ${first.mae.high.toFixed(4)}]`]);
    // The last column: how often the random guard replaced irt-info's subset (empty for random).
    ev.results.forEach((/** @type {{method: string, guard_fallbacks?: number}} */ r, /** @type {number} */ k) => {
      assert.equal(cells[k][6], r.method === 'random' ? '' : `${Math.round((r.guard_fallbacks ?? NaN) * 100)}%`);
    });
    await page.screenshot({ path: join(OUT, 'page-compare.png'), fullPage: true });
    // The compare settings travel in the URL too.
    const compareLink = new URL(page.url());
    assert.equal(compareLink.searchParams.get('compare'), 'irt-info');
    assert.equal(compareLink.searchParams.get('budgets'), '3,5');
    const again = await context.newPage();
    await again.goto(compareLink.href);
    await waitForState(again, 'ready');
    assert.equal(await again.inputValue('#compare-form input[name=budgets]'), '3,5');
    assert.equal(await again.inputValue('#compare-form input[name=folds]'), '3');
    assert.equal(await again.isChecked('#compare-form input[value=irt-cluster]'), false);
    assert.equal(await again.isChecked('#compare-form input[value=irt-info]'), true);
    await again.close();
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('near-duplicate items of the bundled AlpacaEval match the CLI', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}?data=alpacaeval`);
    await waitForState(page, 'ready');
    await page.fill('#dup-form input[name=threshold]', '0.6');
    await page.click('#dup-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    const cli = JSON.parse(execFileSync(CLI, ['similar', '--items', 'www/data/alpacaeval/items.csv.gz', '--threshold', '0.6'], { cwd: ROOT, encoding: 'utf8' }));
    const rows = await page.$$eval('#dup-table tbody tr', (trs) => trs.map((r) => [...r.children].map((c) => c.textContent)));
    assert.equal(rows.length, Math.min(cli.pairs.length, 500));
    assert.ok(rows.length > 0, 'some AlpacaEval prompts are near-duplicates');
    assert.deepEqual(rows[0].slice(0, 2), [cli.pairs[0].cosine.toFixed(3), cli.pairs[0].a]);
    assert.match((await page.textContent('#dup-summary')) ?? '', new RegExp(`^${cli.pairs.length} pairs of 805 items`));
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('the <benchsift-report> web component renders the CLI subset under a strict CSP', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}report-demo.html`);
    await page.waitForFunction(() => document.querySelector('benchsift-report')?.shadowRoot?.querySelector('table'), null, { timeout: 60_000 });
    const ids = await page.evaluate(() =>
      [...(document.querySelector('benchsift-report')?.shadowRoot?.querySelectorAll('tbody tr') ?? [])].map((r) => r.children[1].textContent),
    );
    const cli = JSON.parse(execFileSync(CLI, ['select', 'www/data/bbh/responses.csv', '--items', 'www/data/bbh/items.csv', '--method', 'irt-info', '--budget', '5'], { cwd: ROOT, encoding: 'utf8' }));
    assert.deepEqual(ids, cli.items);
    await page.screenshot({ path: join(OUT, 'report-component.png') });
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('item map, characteristic curve, estimates and exports on BBH match the CLI', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}?data=bbh`);
    await waitForState(page, 'ready');
    const data = ['www/data/bbh/responses.csv', '--items', 'www/data/bbh/items.csv', '--models', 'www/data/bbh/models.csv'];
    const done = async () => {
      await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 120_000 });
      assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
      await page.evaluate(() => document.body.removeAttribute('data-job'));
    };
    // A subset first, so the map highlights it; two models held out of the choice.
    await page.selectOption('#select-form select[name=method]', 'irt-info');
    await page.fill('#select-form input[name=budget]', '5');
    await page.fill('#select-form input[name=holdout]', 'GPT-4, XuanYuan-70B');
    await page.click('#select-form button[type=submit]');
    await done();
    const train = join(OUT, 'bbh-train.txt');
    const allModels = readFileSync(join(ROOT, 'www/data/bbh/responses.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    writeFileSync(train, allModels.filter((id) => id !== 'GPT-4' && id !== 'XuanYuan-70B').join('\n') + '\n');
    const heldSelect = JSON.parse(execFileSync(CLI, ['select', ...data, '--method', 'irt-info', '--budget', '5', '--train-models', train], { cwd: ROOT, encoding: 'utf8' }));
    assert.deepEqual(await page.$$eval('#subset-table tbody tr', (rows) => rows.map((r) => r.children[1].textContent)), heldSelect.items);
    // BBH holds task accuracies, so "automatic" fits the Beta model.
    await page.click('#map-form button[type=submit]');
    await done();
    assert.equal(await page.locator('#map-chart svg circle.picked').count(), 5);
    const [fitDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-fit')]);
    const fitPath = join(OUT, 'bbh-fit.json');
    await fitDownload.saveAs(fitPath);
    const pageFit = JSON.parse(readFileSync(fitPath, 'utf8'));
    const cliFit = JSON.parse(execFileSync(CLI, ['fit', ...data, '--irt', 'beta'], { cwd: ROOT, encoding: 'utf8' }));
    // Byte-identical numbers in wasm and natively (only the backend's thread count differs).
    assert.deepEqual(pageFit.items, cliFit.items);
    assert.deepEqual(pageFit.models, cliFit.models);
    // A typed id shows that item's curve and text.
    const item = cliFit.items[3];
    await page.fill('#item-form input[name=item]', item.id);
    await page.press('#item-form input[name=item]', 'Enter');
    await page.waitForSelector('#item-detail:not([hidden]) #icc-chart svg polyline');
    assert.match((await page.textContent('#item-title')) ?? '', new RegExp(`^${item.id}: a = ${item.a.toFixed(3)}, b = ${item.b.toFixed(3)}`));
    await page.waitForFunction(() => (document.querySelector('#item-text')?.textContent ?? '').length > 0);
    const itemsCsv = readFileSync(join(ROOT, 'www/data/bbh/items.csv'), 'utf8');
    assert.ok(itemsCsv.includes((await page.textContent('#item-text')) ?? '\u0000'), 'the text comes from items.csv');
    // Clicking a highlighted dot opens that item.
    await page.locator('#map-chart svg circle.picked').first().click();
    await page.waitForFunction(() => /in the subset/.test(document.querySelector('#item-title')?.textContent ?? ''));
    // Charts export as SVG and PNG.
    const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.click('#map-svg')]);
    await svgDownload.saveAs(join(OUT, 'item-map.svg'));
    assert.match(readFileSync(join(OUT, 'item-map.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.click('#map-png')]);
    await pngDownload.saveAs(join(OUT, 'item-map.png'));
    assert.deepEqual([...readFileSync(join(OUT, 'item-map.png')).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // Task names are not lm-eval document indices: no run is offered (no dead button), and the page says how to get one.
    assert.equal(await page.isHidden('#show-lm-eval'), true);
    assert.match((await page.textContent('#lm-eval-error')) ?? '', /not the harness’s document ids .*samples_\*\.jsonl/);
    // Estimates of the loaded models from the subset, against the CLI.
    const [subsetDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
    const subsetPath = join(OUT, 'bbh-subset.json');
    await subsetDownload.saveAs(subsetPath);
    for (const estimator of ['weighted', 'gpirt']) {
      await page.selectOption('#estimate-form select[name=estimator]', estimator);
      await page.click('#estimate-form button[type=submit]');
      await done();
      const cli = JSON.parse(execFileSync(CLI, ['estimate', 'www/data/bbh/responses.csv', '--subset', subsetPath, '--fit', fitPath, '--estimator', estimator], { cwd: ROOT, encoding: 'utf8' }));
      const rows = await page.$$eval('#estimate-table tbody tr', (trs) => trs.map((r) => [...r.children].map((c) => c.textContent)));
      assert.equal(rows.length, cli.models.length);
      const best = [...cli.models].sort((a, b) => b.estimate - a.estimate)[0];
      assert.deepEqual(rows[0].slice(0, 4), [['GPT-4', 'XuanYuan-70B'].includes(best.id) ? `${best.id} (held out)` : best.id, best.estimate.toFixed(4), `${best.low.toFixed(4)} – ${best.high.toFixed(4)}`, best.full_mean.toFixed(4)]);
      assert.match((await page.textContent('#estimate-summary')) ?? '', /Kendall τ of the ranking -?\d\.\d{3}/);
      assert.match((await page.textContent('#estimate-summary')) ?? '', /The 2 held-out models \(not used to choose the subset\): mean absolute error \d+\.\d{4}/);
    }
    await page.screenshot({ path: join(OUT, 'page-item-map.png'), fullPage: true });
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('a subset of lm-eval logs becomes an lm-eval --samples run', { skip }, async () => {
  const { context, page } = await open({ webgpu: false });
  try {
    await page.goto(server.url);
    await waitForState(page, 'ready');
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#folder', join(ROOT, 'tests', 'fixtures', 'lm_eval'));
    await waitForState(page, 'ready');
    await page.selectOption('#select-form select[name=method]', 'random');
    await page.fill('#select-form input[name=budget]', '6');
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    const ids = await page.$$eval('#subset-table tbody tr', (rows) => rows.map((r) => r.children[1].textContent ?? ''));
    await page.click('#show-lm-eval');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-samples')]);
    await download.saveAs(join(OUT, 'samples.json'));
    const samples = JSON.parse(readFileSync(join(OUT, 'samples.json'), 'utf8'));
    /** @type {Record<string, number[]>} */
    const expected = {};
    for (const id of ids) {
      const [task, doc] = id.split('/');
      (expected[task] ??= []).push(Number(doc));
    }
    for (const list of Object.values(expected)) list.sort((a, b) => a - b);
    assert.deepEqual(samples, expected);
    assert.match((await page.textContent('#lm-eval-command')) ?? '', /^lm_eval --model .* --samples samples\.json --log_samples/);
  } finally {
    await context.close();
  }
});

test('works offline after the first visit (service worker)', { skip }, async () => {
  // Its own server, so stopping it leaves the other tests alone.
  const own = await startServer({ port: 0, quiet: true });
  const { context, page, foreign } = await open({ webgpu: false });
  try {
    await page.goto(`${own.url}?data=mmlu_pro`);
    const origin = new URL(own.url).origin;
    await waitForState(page, 'ready');
    await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });
    await own.close();
    await page.reload();
    await waitForState(page, 'ready');
    assert.equal(await page.textContent('#s-models'), '29');
    assert.equal(await page.textContent('#s-items'), '12,032');
    assert.deepEqual(foreign.filter((url) => !url.startsWith(origin)), []);
  } finally {
    await context.close();
    await own.close().catch(() => {});
  }
});

test('a phone-width screen has no sideways scrolling, the keyboard alone can select, and the compare chart and subset table stay readable', { skip }, async () => {
  const { context, page } = await open({ webgpu: false });
  try {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}?data=bbh&method=irt-info&budget=8`);
    await waitForState(page, 'ready');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'page wider than the screen');
    // Tab to the Select button and press Enter.
    let reached = false;
    for (let k = 0; k < 60 && !reached; k++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.matches('#select-form button[type=submit]') ?? false);
    }
    assert.ok(reached, 'the Select button is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'results made the page wider than the screen');
    // An item's text takes at most three lines of the subset table.
    const lineHeights = await page.$$eval('#subset-table tbody td .clamp', (cells) =>
      cells.map((c) => c.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight || '20')),
    );
    assert.ok(lineHeights.length > 0 && lineHeights.every((h) => h <= 3.05), `text cells of ${lineHeights.map((h) => h.toFixed(1))} lines`);
    await page.screenshot({ path: join(OUT, 'page-phone-select.png'), fullPage: true });
    // The compare chart at phone width: its legend under the plot, not
    // beside it, and its text at a readable size on screen.
    await startSmallCompare(page);
    await page.waitForSelector('#chart svg polyline', { timeout: 120_000 });
    const chart = await page.$eval('#chart svg', (svg) => {
      const axis = [...svg.querySelectorAll('line.axis')].map((l) => Number(l.getAttribute('y1')));
      const legends = [...svg.querySelectorAll('text.legend')];
      return {
        axisBottom: Math.max(...axis),
        legendY: legends.map((t) => Number(t.getAttribute('y'))),
        legendPx: legends.map((t) => t.getBoundingClientRect().height),
        plotWidth: svg.getBoundingClientRect().width,
      };
    });
    assert.ok(chart.legendY.length > 0 && chart.legendY.every((y) => y > chart.axisBottom), `legend at ${chart.legendY} above the axis at ${chart.axisBottom}`);
    assert.ok(chart.legendPx.every((h) => h >= 12), `legend text ${chart.legendPx.map((h) => h.toFixed(1))} px high`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the chart made the page wider than the screen');
    await page.locator('#compare-result').screenshot({ path: join(OUT, 'page-phone-compare.png') });
  } finally {
    await context.close();
  }
});

/** A float32 `.npy` file of `rows`. @param {number[][]} rows */
function npy(rows) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${rows[0].length}), }`;
  header += ' '.repeat(63 - (header.length % 64)) + '\n';
  const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.from(Uint16Array.of(header.length).buffer), Buffer.from(header)]);
  return Buffer.concat([head, Buffer.from(Float32Array.from(rows.flat()).buffer)]);
}

test('dropped embeddings (.npy) find near-duplicates by the user’s vectors, as the CLI does', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}?data=bbh`);
    await waitForState(page, 'ready');
    const responses = 'model,a,b,c,d\nA,1,0,1,0\nB,0,1,1,0\nC,1,1,0,1\n';
    const items = 'item_id,text\na,first question\nb,second question\nc,third question\nd,fourth question\n';
    const vectors = npy([[1, 0, 0], [0.99, 0.1, 0], [0, 1, 0], [0, 0, 1]]);
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#files', [
      { name: 'responses.csv', mimeType: 'text/csv', buffer: Buffer.from(responses) },
      { name: 'items.csv', mimeType: 'text/csv', buffer: Buffer.from(items) },
      { name: 'embeddings.npy', mimeType: 'application/octet-stream', buffer: vectors },
    ]);
    await waitForState(page, 'ready');
    assert.deepEqual(await page.$$eval('#file-list select', (s) => s.map((x) => /** @type {HTMLSelectElement} */ (x).value)), ['responses', 'items', 'embeddings']);
    await page.fill('#dup-form input[name=threshold]', '0.95');
    await page.click('#dup-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    const dir = tempDir('npy');
    writeFileSync(join(dir, 'e.npy'), vectors);
    writeFileSync(join(dir, 'items.csv'), items);
    const cli = JSON.parse(execFileSync(CLI, ['similar', '--embeddings', join(dir, 'e.npy'), '--items', join(dir, 'items.csv'), '--threshold', '0.95'], { cwd: ROOT, encoding: 'utf8' }));
    assert.equal(cli.pairs.length, 1);
    const rows = await page.$$eval('#dup-table tbody tr', (trs) => trs.map((r) => [...r.children].map((c) => c.textContent)));
    assert.deepEqual(rows, [[cli.pairs[0].cosine.toFixed(3), 'a', 'first question', 'b', 'second question']]);
    assert.match((await page.textContent('#dup-summary')) ?? '', /your embeddings/);
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('dropped metric-score files drive metric-balance, metric-cons and difficulty bins in the page, as the CLI does', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}?data=bbh`);
    await waitForState(page, 'ready');
    const fx = join(ROOT, 'tests', 'fixtures', 'subset2evaluate');
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#files', [
      { name: 'human.csv', mimeType: 'text/csv', buffer: readFileSync(join(fx, 'human.csv')) },
      { name: 'metric.csv', mimeType: 'text/csv', buffer: readFileSync(join(fx, 'metric.csv')) },
      { name: 'outputs.csv', mimeType: 'text/csv', buffer: readFileSync(join(fx, 'outputs.csv')) },
    ]);
    await waitForState(page, 'ready');
    assert.deepEqual(await page.$$eval('#file-list select', (s) => s.map((x) => /** @type {HTMLSelectElement} */ (x).value)), ['responses', 'metric', 'outputs']);
    /** @type {[string, string[]][]} */
    const runs = [
      ['metric-balance', ['--metric-scores', join(fx, 'metric.csv')]],
      ['metric-cons', ['--metric-scores', join(fx, 'metric.csv')]],
      ['diversity', ['--outputs', join(fx, 'outputs.csv')]],
    ];
    for (const [method, side] of runs) {
      await page.selectOption('#select-form select[name=method]', method);
      await page.fill('#select-form input[name=budget]', '8');
      await page.click('#select-form button[type=submit]');
      await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
      assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
      const ids = await page.$$eval('#subset-table tbody tr', (rows) => rows.map((r) => r.children[1].textContent));
      const cli = JSON.parse(execFileSync(CLI, ['select', join(fx, 'human.csv'), '--method', method, '--budget', '8', ...side], { cwd: ROOT, encoding: 'utf8' }));
      assert.deepEqual(ids, cli.items, method);
      await page.evaluate(() => document.body.removeAttribute('data-job'));
    }
    // "spread over difficulty": ten bins of the responses' difficulty, as --difficulty-strata 10.
    await page.selectOption('#select-form select[name=method]', 'metric-var');
    await page.check('#select-form input[name=difficulty]');
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    const binned = await page.$$eval('#subset-table tbody tr', (rows) => rows.map((r) => r.children[1].textContent));
    const args = ['select', join(fx, 'human.csv'), '--method', 'metric-var', '--budget', '8', '--metric-scores', join(fx, 'metric.csv')];
    const cliBinned = JSON.parse(execFileSync(CLI, [...args, '--difficulty-strata', '10'], { cwd: ROOT, encoding: 'utf8' }));
    const cliPlain = JSON.parse(execFileSync(CLI, args, { cwd: ROOT, encoding: 'utf8' }));
    assert.deepEqual(binned, cliBinned.items);
    assert.notDeepEqual(cliBinned.items, cliPlain.items);
    assert.equal(new URL(page.url()).searchParams.get('difficulty'), '1');
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('SMART filter in the page removes planted easy and duplicate items, as the CLI does', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}?data=bbh`);
    await waitForState(page, 'ready');
    // 40 models × 14 items: e1, e2 answered by everyone; d1 and d2, the
    // hardest (too hard to be easy for the strongest models), share a text.
    let state = 7;
    const random = () => ((state = (state * 1103515245 + 12345) >>> 0) & 0xffff) / 0x10000;
    const ids = ['e1', 'e2', ...Array.from({ length: 10 }, (_, i) => `q${i}`), 'd1', 'd2'];
    let responses = `model,${ids.join(',')}\n`;
    for (let m = 0; m < 40; m++) {
      const ability = (m - 20) / 8;
      const row = ids.map((id, i) => (id.startsWith('e') ? 1 : Number(random() < 1 / (1 + Math.exp(-(ability - (i - 7) / 3))))));
      responses += `m${m},${row.join(',')}\n`;
    }
    const texts = { e1: 'What is one plus one?', e2: 'Name the colour of the sky.', d1: 'Which river flows through Paris, France?', d2: 'Which river flows through Paris, France?' };
    const items = 'item_id,text\n' + ids.map((id, i) => `${id},"${texts[/** @type {keyof typeof texts} */ (id)] ?? `Question number ${i} about topic ${i * 7}`}"`).join('\n') + '\n';
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#files', [
      { name: 'responses.csv', mimeType: 'text/csv', buffer: Buffer.from(responses) },
      { name: 'items.csv', mimeType: 'text/csv', buffer: Buffer.from(items) },
    ]);
    await waitForState(page, 'ready');
    await page.click('#filter-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    const dir = tempDir('filter');
    writeFileSync(join(dir, 'responses.csv'), responses);
    writeFileSync(join(dir, 'items.csv'), items);
    const cli = JSON.parse(execFileSync(CLI, ['filter', join(dir, 'responses.csv'), '--items', join(dir, 'items.csv')], { cwd: ROOT, encoding: 'utf8' }));
    const removed = await page.$$eval('#filter-removed tbody tr', (trs) => trs.map((r) => [r.children[0].textContent, r.children[1].textContent]));
    assert.deepEqual(removed, cli.removed.map((/** @type {any} */ r) => [r.id, r.reason]));
    const reasons = Object.fromEntries(removed);
    assert.equal(reasons.e1, 'easy');
    assert.equal(reasons.e2, 'easy');
    assert.ok(reasons.d1 === 'duplicate' || reasons.d2 === 'duplicate', JSON.stringify(removed));
    assert.match((await page.textContent('#filter-summary')) ?? '', new RegExp(`^Kept ${cli.kept.length} of 14 items`));
    // The table says each rule in a few words; the disclosure below has it in full.
    const rules = await page.$$eval('#filter-stages tbody tr', (trs) => trs.map((r) => r.children[3].textContent ?? ''));
    assert.deepEqual(
      rules,
      cli.stages.map((/** @type {any} */ st) => st.brief.charAt(0).toUpperCase() + st.brief.slice(1)),
    );
    assert.ok(rules.every((r) => r.length <= 60 && !r.includes('IQR')), rules.join(' | '));
    const full = await page.$$eval('#filter-rules li', (lis) => lis.map((li) => li.textContent ?? ''));
    assert.ok(full.some((r) => r.includes('Q3 + 3·IQR')), full.join(' | '));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-kept')]);
    await download.saveAs(join(dir, 'kept.csv'));
    assert.deepEqual(readFileSync(join(dir, 'kept.csv'), 'utf8').trim().split('\n').slice(1), cli.kept);
    await page.screenshot({ path: join(OUT, 'page-filter.png'), fullPage: true });
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('a long selection can be cancelled, and the page works on afterwards', { skip }, async () => {
  const { context, page, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(server.url);
    await waitForState(page, 'ready');
    // irt-cluster on 12,032 items fits an IRT model first: seconds at least.
    await page.selectOption('#select-form select[name=method]', 'irt-cluster');
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('#select-cancel:not([hidden])');
    await page.click('#select-cancel');
    await page.waitForSelector('body[data-job="error"]');
    assert.equal((await page.textContent('#status'))?.trim(), 'Cancelled.');
    assert.equal(await page.isHidden('#select-cancel'), true);
    // A fresh worker took over: the next job runs.
    await page.evaluate(() => document.body.removeAttribute('data-job'));
    await page.selectOption('#select-form select[name=method]', 'random');
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#error')) ?? '');
    assert.equal(await page.locator('#subset-table tbody tr').count(), 100);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('every job says beside its own button what it did or what went wrong; settings the data cannot take are prevented', { skip }, async () => {
  const { context, page, consoleErrors } = await open({ webgpu: false });
  try {
    // A shared link with a budget of 100, opened on BBH's 27 tasks: the box is clamped to what the data has.
    await page.goto(`${server.url}?data=bbh&budget=100&method=random`);
    await waitForState(page, 'ready');
    assert.equal(await page.inputValue('#select-form input[name=budget]'), '27');
    assert.equal(await page.getAttribute('#select-form input[name=budget]', 'max'), '27');
    assert.equal((await page.textContent('#budget-help'))?.trim(), 'of 27');
    await page.fill('#select-form input[name=budget]', '5');
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.match((await page.textContent('#select-job')) ?? '', /^Selected 5 items in \d+\.\d s\.$/);
    // A compare budget the data cannot take: the error is beside the Run button, not only in the Data card.
    await page.evaluate(() => document.body.removeAttribute('data-job'));
    await page.fill('#compare-form input[name=budgets]', '999');
    await page.click('#compare-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'error');
    assert.match((await page.textContent('#compare-job')) ?? '', /budget 999 is not between 1 and the 27 items/);
    assert.equal(await page.getAttribute('#compare-job', 'class'), 'job-line job-error');
    // ... and the other jobs stay usable.
    await page.evaluate(() => document.body.removeAttribute('data-job'));
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#select-job')) ?? '');
    // Compare with few seeds: no interval leaves its range (coverage and τ were once shown past 1).
    await page.evaluate(() => document.body.removeAttribute('data-job'));
    await page.fill('#compare-form input[name=budgets]', '3,5');
    await page.fill('#compare-form input[name=folds]', '3');
    await page.fill('#compare-form input[name=seeds]', '2');
    // Every line the job's status shows while it runs: progress comes per selection, not per fold.
    await page.evaluate(() => {
      const seen = /** @type {string[]} */ ((/** @type {any} */ (window).__compareLines = []));
      new MutationObserver(() => seen.push(document.querySelector('#compare-job')?.textContent ?? '')).observe(/** @type {Node} */ (document.querySelector('#compare-job')), { childList: true, characterData: true, subtree: true });
    });
    await page.click('#compare-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#compare-job')) ?? '');
    const lines = /** @type {string[]} */ (await page.evaluate(() => /** @type {any} */ (window).__compareLines));
    const percents = [...new Set(lines.filter((l) => /% done/.test(l)))];
    assert.ok(percents.length > 3, `progress lines: ${percents.join(' / ')}`);
    const cells = await page.$$eval('#compare-table tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent ?? '')));
    for (const row of cells) {
      const [tau, coverage] = [row[4], row[5]].map((c) => (c.match(/-?\d+\.\d+/g) ?? []).map(Number));
      assert.ok(tau.every((v) => v >= -1 && v <= 1) && coverage.every((v) => v >= 0 && v <= 1), row.join(' | '));
    }
    // The chart shows each method's best estimator at first, random's band drawn above the rest; the others are a tick away.
    const methods = new Set(cells.map((row) => row[0]));
    assert.equal(await page.locator('#chart svg polyline').count(), methods.size);
    assert.equal(await page.locator('#chart svg polygon.band').last().getAttribute('class'), 'band emphasis');
    const unticked = page.locator('#chart-series input[type=checkbox]:not(:checked)').first();
    await unticked.check();
    assert.equal(await page.locator('#chart svg polyline').count(), methods.size + 1);
    const colours = await page.$$eval('#chart svg polyline', (lines) => lines.map((l) => l.getAttribute('stroke')));
    assert.equal(new Set(colours).size, colours.length, `colours ${colours}`);
    // The chart's y axis reads 1, 2 or 5 × 10ⁿ steps.
    const ticks = (await page.$$eval('#chart svg text.tick', (t) => t.map((e) => e.getAttribute('text-anchor') === 'end' ? Number(e.textContent) : NaN))).filter(Number.isFinite);
    const step = ticks[1] - ticks[0];
    assert.ok([1, 2, 5].some((m) => Math.abs(step / 10 ** Math.floor(Math.log10(step) + 1e-9) - m) < 1e-6), `ticks ${ticks}`);

    // A malformed file: no job runs on it, and each says so beside its button.
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#files', { name: 'broken.csv', mimeType: 'text/csv', buffer: Buffer.from('model,q1,q2\nA,1,0\nB,oops,1\n') });
    await waitForState(page, 'error');
    await page.evaluate(() => document.body.removeAttribute('data-job'));
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('body[data-job="error"]');
    assert.match((await page.textContent('#select-job')) ?? '', /Nothing to run on: the files could not be read/);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('near-duplicates have a progress bar, a cancel button and a line with the time, like every other job', { skip }, async () => {
  const { context, page, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(`${server.url}?data=alpacaeval`);
    await waitForState(page, 'ready');
    await page.click('#dup-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#dup-job')) ?? '');
    assert.match((await page.textContent('#dup-job')) ?? '', /^Compared \d[\d,]* items in \d+\.\d s\./);
    assert.equal(await page.isHidden('#dup-progress'), true);
    assert.equal(await page.isHidden('#dup-cancel'), true);
    assert.equal(await page.locator('#dup-cancel').count(), 1);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('a first-time user is shown the path (load, select, check, export) and what each dropped file is for', { skip }, async () => {
  const { context, page, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(server.url);
    await waitForState(page, 'ready');
    const steps = await page.$$eval('#steps ol li', (items) => items.map((li) => [li.querySelector('a')?.textContent, li.querySelector('a')?.getAttribute('href')]));
    assert.deepEqual(steps.map((s) => s[0]), ['Load', 'Select', 'Check how good', 'Export']);
    for (const [, href] of steps) assert.equal(await page.locator(/** @type {string} */ (href)).count(), 1, `${href} exists`);
    assert.match((await page.textContent('#steps')) ?? '', /100 of its 12,032 questions/);
    // Dropped files: each says beside it what its role is for.
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#files', [
      { name: 'responses.csv', mimeType: 'text/csv', buffer: Buffer.from('model,q1,q2\nA,1,0\nB,0,1\n') },
      { name: 'items.csv', mimeType: 'text/csv', buffer: Buffer.from('item_id,text\nq1,hi\nq2,there\n') },
    ]);
    await waitForState(page, 'ready');
    const helps = await page.$$eval('#file-list li .file-help', (spans) => spans.map((s) => s.textContent ?? ''));
    assert.equal(helps.length, 2);
    assert.match(helps[0], /^Rows are models, columns items/);
    assert.match(helps[1], /^One row per item: item_id/);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('a dropped truth file with a score per benchmark gives each benchmark its own estimate', { skip }, async () => {
  const { context, page, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(server.url);
    await waitForState(page, 'ready');
    // 40 models × 2 tasks of 10 items; the truth file scores each task, and model m39 has no score for `b`.
    let seed = 7;
    const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const ids = [...Array(10).keys()].flatMap((i) => [`a${i}`, `b${i}`]);
    let responses = `model,${ids.join(',')}\n`;
    let truth = 'model,a,b\n';
    for (let j = 0; j < 40; j++) {
      const ability = (j - 20) / 10;
      const row = ids.map((id, k) => (uniform() < 1 / (1 + Math.exp(-(ability + (id[0] === 'a' ? 0.5 : -0.5) - (k % 5) / 5))) ? 1 : 0));
      responses += `m${j},${row.join(',')}\n`;
      const score = (/** @type {string} */ t) => (100 * row.filter((_, k) => ids[k][0] === t).reduce((/** @type {number} */ a, b) => a + b, 0)) / 10 + uniform();
      truth += `m${j},${score('a').toFixed(2)},${j === 39 ? '' : score('b').toFixed(2)}\n`;
    }
    await page.evaluate(() => document.body.removeAttribute('data-state'));
    await page.setInputFiles('#files', [
      { name: 'responses.csv', mimeType: 'text/csv', buffer: Buffer.from(responses) },
      { name: 'items.csv', mimeType: 'text/csv', buffer: Buffer.from(`item_id,task\n${ids.map((id) => `${id},${id[0]}`).join('\n')}\n`) },
      { name: 'truth.csv', mimeType: 'text/csv', buffer: Buffer.from(truth) },
    ]);
    await waitForState(page, 'ready');
    assert.deepEqual(await page.$$eval('#file-list select', (s) => s.map((e) => /** @type {HTMLSelectElement} */ (e).value)), ['responses', 'items', 'truth']);
    await page.selectOption('#select-form select[name=method]', 'random');
    await page.fill('#select-form input[name=budget]', '8');
    await page.evaluate(() => document.body.removeAttribute('data-job'));
    await page.click('#select-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#select-job')) ?? '');
    assert.match((await page.textContent('#select-quality')) ?? '', /each task's score with its own interval \(a, b\)/);
    // The model without a score for b was left out of training.
    assert.match((await page.textContent('#select-detail-text')) ?? '', /^Trained on 39 models/);
    // Ridge estimates every loaded model per task too: a column each row, the estimate their mean.
    await page.evaluate(() => document.body.removeAttribute('data-job'));
    await page.selectOption('#estimate-form select[name=estimator]', 'ridge');
    await page.click('#estimate-form button[type=submit]');
    await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#estimate-job')) ?? '');
    assert.equal(await page.isHidden('#estimate-tasks-head'), false);
    const rows = await page.$$eval('#estimate-table tbody tr', (trs) => trs.map((r) => [...r.children].map((c) => c.textContent ?? '')));
    assert.equal(rows.length, 40);
    for (const row of rows) {
      const [a, b] = row[6].split('; ').map((t) => Number(t.split(' ')[1]));
      assert.ok(Math.abs((a + b) / 2 - Number(row[1])) < 0.01, row.join(' | '));
    }
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#download-estimates')]);
    const saved = join(OUT, 'estimates-tasks.csv');
    await csv.saveAs(saved);
    assert.equal(readFileSync(saved, 'utf8').split('\n')[0], 'model,estimate,low,high,full_mean,a,a_low,a_high,b,b_low,b_high');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('an adaptive test replays a held-out model and takes answers by hand, as the CLI does', { skip }, async () => {
  const { context, page, foreign, consoleErrors } = await open({ webgpu: false });
  try {
    await page.goto(server.url);
    await waitForState(page, 'ready');
    const done = async () => {
      await page.waitForSelector('body[data-job="done"], body[data-job="error"]', { timeout: 120_000 });
      assert.equal(await page.getAttribute('body', 'data-job'), 'done', (await page.textContent('#adapt-job')) ?? '');
      await page.evaluate(() => document.body.removeAttribute('data-job'));
    };
    const data = join(ROOT, 'www', 'data', 'mmlu_pro');
    const model = 'DeepSeek-Coder-V2';
    // Replay: fitted on the other 28 models, then the model's recorded answers item by item.
    await page.fill('#adapt-form input[name=model]', model);
    await page.fill('#adapt-form input[name=targetSe]', '0.3');
    await page.click('#adapt-form button[type=submit]');
    await done();
    const fitPath = join(OUT, 'adapt-fit.json');
    execFileSync(CLI, ['fit', join(data, 'responses.csv.gz'), '--holdout-models', model, '-o', fitPath], { cwd: ROOT, stdio: 'ignore' });
    const cli = JSON.parse(
      execFileSync(CLI, ['adapt', '--fit', fitPath, '--answers', join(data, 'responses.csv.gz'), '--items', join(data, 'items.csv.gz'), '--model', model, '--replay', '--target-se', '0.3', '--max-items', '100'], {
        cwd: ROOT,
        encoding: 'utf8',
      }),
    );
    const rows = await page.$$eval('#adapt-table tbody tr', (trs) => trs.map((r) => [...r.children].map((c) => c.textContent ?? '')));
    assert.deepEqual(
      rows.map((r) => r[1]),
      cli.answers.map((/** @type {{id: string}} */ a) => a.id),
    );
    assert.equal(rows.at(-1)?.[5], cli.state.score.estimate.toFixed(3));
    const summary = (await page.textContent('#adapt-summary')) ?? '';
    assert.match(summary, new RegExp(`^After ${cli.state.itemsUsed} of 12,?032 items: ability θ = ${cli.state.theta.toFixed(3)}`));
    assert.match(summary, new RegExp(`Its true full score is ${cli.recordedMean.toFixed(3)}`));
    assert.match(summary, /Stopped: its ability is known to the standard error asked for\./);
    assert.equal(await page.isHidden('#adapt-ask'), true);
    assert.ok(await page.$('#adapt-chart svg polyline'));
    await page.locator('#adapt-card').screenshot({ path: join(OUT, 'page-adaptive.png') });
    // By hand: no model named; answer two items (a stricter SE, so the test goes on: MMLU-Pro's
    // 29 models make a few items look very informative).
    await page.fill('#adapt-form input[name=model]', '');
    await page.fill('#adapt-form input[name=targetSe]', '0.05');
    await page.click('#adapt-form button[type=submit]');
    await done();
    assert.equal(await page.isHidden('#adapt-ask'), false);
    const first = ((await page.textContent('#adapt-item')) ?? '').split(' ')[0];
    await page.click('#adapt-correct');
    await done();
    const second = ((await page.textContent('#adapt-item')) ?? '').split(' ')[0];
    await page.click('#adapt-wrong');
    await done();
    const answers = join(OUT, 'adapt-answers.csv');
    writeFileSync(answers, `model,item,score\nme,${first},1\nme,${second},0\n`);
    execFileSync(CLI, ['fit', join(data, 'responses.csv.gz'), '-o', fitPath], { cwd: ROOT, stdio: 'ignore' });
    const byHand = JSON.parse(execFileSync(CLI, ['adapt', '--fit', fitPath, '--answers', answers, '--target-se', '0.05', '--max-items', '100'], { cwd: ROOT, encoding: 'utf8' }));
    assert.match((await page.textContent('#adapt-summary')) ?? '', new RegExp(`^After 2 of 12,?032 items: ability θ = ${byHand.state.theta.toFixed(3)}`));
    assert.equal(((await page.textContent('#adapt-item')) ?? '').split(' ')[0], byHand.next[0].id);
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('in Chromium a fit, a similarity search and an evaluation over 1, 2 or 3 Web Workers, and the page worker’s own pool, are the CLI’s to the bit', { skip }, async () => {
  // 5,000 models × 100 items: large enough that the page's worker splits it
  // over its pool when left to choose (see irt::blocks::pays_to_split).
  let state = 7;
  const uniform = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const items = Array.from({ length: 100 }, (_, i) => ({ a: 0.6 + uniform(), b: (i - 50) / 25 }));
  const lines = [`model,${items.map((_, i) => `q${i}`).join(',')}`];
  for (let m = 0; m < 5000; m++) {
    const theta = (uniform() + uniform() + uniform() - 1.5) * 2;
    lines.push(`m${m},${items.map((p) => (uniform() < 1 / (1 + Math.exp(-p.a * (theta - p.b))) ? 1 : 0)).join(',')}`);
  }
  const csv = `${lines.join('\n')}\n`;
  const path = join(tempDir('pool-page'), 'big.csv');
  writeFileSync(path, csv);
  const expected = { ...JSON.parse(execFileSync(CLI, ['fit', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })), backend: null };
  const { context, page, consoleErrors } = await open({ webgpu: false });
  try {
    // A bare document to run the API in (Chromium asks it for /favicon.ico).
    await page.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
    await page.goto(`${server.url}favicon.svg`);
    const out = await page.evaluate(async (text) => {
      const [entry, clientEntry] = ['/lib/browser.js', '/client.js'];
      const api = /** @type {typeof import('../www/lib/browser.js')} */ (await import(entry));
      const { WorkerClient } = /** @type {typeof import('../www/client.js')} */ (await import(clientEntry));
      const file = { name: 'big.csv', data: text };
      const fits = [];
      for (const workers of [1, 2, 3]) fits.push(await api.fit(file, { workers, backend: 'cpu' }));
      const client = new WorkerClient();
      const data = new TextEncoder().encode(text).buffer;
      const viaPage = (await client.run('fit', [{ name: 'big.csv', role: 'responses', data }], {})).result;
      // A similarity search's row blocks and an evaluation's splits over the same pool.
      const items = { name: 'items.csv.gz', data: new Uint8Array(await (await fetch('/data/alpacaeval/items.csv.gz')).arrayBuffer()) };
      const searches = [];
      for (const workers of [1, 2, 3]) searches.push(JSON.stringify({ ...(await api.similar({ items, topK: 3, backend: 'cpu', workers })), backend: null }));
      const bbh = { name: 'responses.csv', data: await (await fetch('/data/bbh/responses.csv')).text() };
      const evaluations = [];
      for (const workers of [1, 3]) evaluations.push(JSON.stringify(await api.evaluate(bbh, { methods: ['irt-info'], budgets: [3, 5], folds: 3, seeds: 2, workers })));
      return { fits, viaPage, cores: navigator.hardwareConcurrency, searches, evaluations };
    }, csv);
    const search = execFileSync(CLI, ['similar', '--items', join(ROOT, 'www/data/alpacaeval/items.csv.gz'), '--top-k', '3', '--backend', 'cpu'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    for (const [k, s] of out.searches.entries()) assert.equal(s, JSON.stringify({ ...JSON.parse(search), backend: null }), `similar, ${k + 1} workers`);
    const evaluation = execFileSync(CLI, ['evaluate', join(ROOT, 'www/data/bbh/responses.csv'), '--methods', 'irt-info', '--budgets', '3,5', '--folds', '3', '--seeds', '2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const e of out.evaluations) assert.equal(e, JSON.stringify(JSON.parse(evaluation)));
    for (const [k, fit] of out.fits.entries()) {
      assert.deepEqual({ ...fit, backend: null }, expected, `${k + 1} workers`);
      assert.equal(fit.backend.threads, k + 1, fit.backend.reason);
    }
    assert.deepEqual({ ...out.viaPage, backend: null }, expected);
    const workers = Math.min(8, out.cores);
    if (workers >= 2 && 500_000 / workers >= 200_000) {
      assert.equal(out.viaPage.backend.threads, workers, out.viaPage.backend.reason);
      assert.match(out.viaPage.backend.reason, /workers, each holding a block of the models/);
    }
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});
