// The npm package as a user gets it: `npm pack`, install the tarball into a
// fresh project, import it by name, call it, and type-check a TypeScript user.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { ROOT, cliError, cliInfo, tempDir } from './helpers.mjs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** @param {string} cmd @param {string[]} args @param {string} cwd */
function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const project = tempDir('npm-user');
const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', project], ROOT))[0];

test('the tarball holds the wasm, the glue, the API and the types, and nothing else large', () => {
  const files = packed.files.map((/** @type {{path: string}} */ f) => f.path);
  for (const f of ['www/pkg/benchsift_bg.wasm', 'www/pkg/benchsift.js', 'www/lib/node.js', 'www/lib/browser.js', 'www/lib/types.d.ts', 'package.json']) {
    assert.ok(files.includes(f), `${f} is missing from the tarball`);
  }
  assert.ok(!files.some((/** @type {string} */ f) => f.startsWith('crate/') || f.startsWith('tests/')), 'sources leaked into the tarball');
  assert.ok(packed.size < 1_000_000, `tarball is ${packed.size} bytes`);
});

writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'npm-user', private: true, type: 'module' }));
run(npm, ['install', '--no-audit', '--no-fund', '--offline', join(project, packed.filename)], project);

test('a fresh Node project imports the package and gets the CLI numbers', () => {
  const data = join(ROOT, 'www', 'data', 'mmlu_pro');
  const script = `
    import { info, version } from 'benchsift';
    import { readFileSync } from 'node:fs';
    const result = await info(
      { name: 'responses.csv.gz', data: readFileSync(${JSON.stringify(join(data, 'responses.csv.gz'))}) },
      { items: { name: 'items.csv.gz', data: readFileSync(${JSON.stringify(join(data, 'items.csv.gz'))}) } });
    console.log(JSON.stringify({ version: await version(), result }));`;
  writeFileSync(join(project, 'use.mjs'), script);
  const { version, result } = JSON.parse(run('node', ['use.mjs'], project));
  assert.equal(version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  const expected = cliInfo(['www/data/mmlu_pro/responses.csv.gz', '--items', 'www/data/mmlu_pro/items.csv.gz']);
  expected.warnings = expected.warnings ?? [];
  assert.deepEqual(result, expected);
});

test('bad input throws an Error with the message the CLI prints', () => {
  const bad = 'model,q1,q2\nA,1,0\nB,1,x\n';
  const path = join(project, 'bad.csv');
  writeFileSync(path, bad);
  writeFileSync(
    join(project, 'bad.mjs'),
    `import { info } from 'benchsift';
     try { await info(${JSON.stringify(bad)}, { name: 'bad.csv' }); console.log('accepted'); }
     catch (e) { console.log(JSON.stringify({ isError: e instanceof Error, message: e.message })); }`,
  );
  const out = JSON.parse(run('node', ['bad.mjs'], project));
  assert.equal(out.isError, true);
  assert.equal(out.message, cliError([path]).replace(path, 'bad.csv'));
  assert.equal(out.message, "bad.csv, line 3, column 3 (q2): 'x' is not a number");
});

test('lm-evaluation-harness logs from several folders, passed as named files', () => {
  const dir = join(ROOT, 'tests', 'fixtures', 'lm_eval');
  const script = `
    import { info } from 'benchsift';
    import { readFileSync, readdirSync } from 'node:fs';
    const files = [];
    for (const model of readdirSync(${JSON.stringify(dir)}, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const f of readdirSync(${JSON.stringify(dir)} + '/' + model.name).filter((f) => f.endsWith('.jsonl')).sort()) {
        files.push({ name: model.name + '/' + f, data: readFileSync(${JSON.stringify(dir)} + '/' + model.name + '/' + f) });
      }
    }
    console.log(JSON.stringify(await info(files)));`;
  writeFileSync(join(project, 'lm.mjs'), script);
  const result = JSON.parse(run('node', ['lm.mjs'], project));
  const expected = cliInfo(['tests/fixtures/lm_eval']);
  assert.deepEqual({ ...result, warnings: [] }, { ...expected, warnings: [] });
  assert.equal(result.models, 3);
  assert.equal(result.items, 20);
});

test('a TypeScript user type-checks against the shipped declarations', () => {
  writeFileSync(
    join(project, 'use.ts'),
    `import { info, type Info } from 'benchsift';
     const summary: Info = await info('model,q1\\nA,1\\n', { name: 'tiny.csv', format: 'wide' });
     const kind: 'binary' | 'continuous' = summary.kind;
     export { kind };`,
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['use.ts'] }),
  );
  run('node', [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project);
  // And a wrong option is caught.
  writeFileSync(join(project, 'use.ts'), `import { info } from 'benchsift';\nawait info('x', { format: 'excel' });\n`);
  assert.throws(() => run('node', [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project));
});

test('fit through the package matches the CLI and reports progress', () => {
  const csv = join(ROOT, 'www', 'data', 'bbh', 'responses.csv');
  writeFileSync(
    join(project, 'fit.mjs'),
    `import { fit } from 'benchsift';
     import { readFileSync } from 'node:fs';
     const seen = [];
     const result = await fit({ name: 'responses.csv', data: readFileSync(${JSON.stringify(csv)}) },
       { irt: '2pl', onProgress: (p) => { seen.push(p.iteration); } });
     console.log(JSON.stringify({ result, seen }));`,
  );
  const { result, seen } = JSON.parse(run('node', ['fit.mjs'], project));
  const cli = JSON.parse(run(join(ROOT, 'target', 'release', 'benchsift'), ['fit', csv, '--irt', '2pl'], ROOT));
  assert.ok(seen.length > 0 && seen.every((/** @type {number} */ v, /** @type {number} */ i) => i === 0 || v > seen[i - 1]));
  // Byte-identical numbers natively and in wasm; only the thread count differs.
  assert.deepEqual({ ...result, backend: null }, { ...cli, backend: null });
  assert.equal(result.backend.threads, 1);
});

test('a multidimensional fit and irt-cluster selection through the package match the CLI', () => {
  const csv = join(ROOT, 'tests', 'fixtures', 'irt', 'synthetic_mirt2.csv');
  writeFileSync(
    join(project, 'mirt.mjs'),
    `import { fit, select } from 'benchsift';
     import { readFileSync } from 'node:fs';
     const file = { name: 'responses.csv', data: readFileSync(${JSON.stringify(csv)}) };
     const model = await fit(file, { irt: '2pl', dims: 3, seed: 4 });
     const subset = await select(file, { method: 'irt-cluster', dims: 3, budget: 8, seed: 1 });
     console.log(JSON.stringify({ model, subset }));`,
  );
  const { model, subset } = JSON.parse(run('node', ['mirt.mjs'], project));
  const cli = (/** @type {string[]} */ args) => JSON.parse(run(join(ROOT, 'target', 'release', 'benchsift'), args, ROOT));
  assert.equal(model.dims, 3);
  assert.equal(model.items[0].a.length, 3);
  assert.deepEqual({ ...model, backend: null }, { ...cli(['fit', csv, '--dims', '3', '--seed', '4']), backend: null });
  assert.deepEqual(subset, cli(['select', csv, '--method', 'irt-cluster', '--dims', '3', '--budget', '8', '--seed', '1']));
});

test('select, estimate and evaluate through the package match the CLI', () => {
  const data = join(ROOT, 'www', 'data', 'bbh');
  writeFileSync(
    join(project, 'subset.mjs'),
    `import { select, estimate, evaluate, fit } from 'benchsift';
     import { readFileSync } from 'node:fs';
     const file = { name: 'responses.csv', data: readFileSync(${JSON.stringify(join(data, 'responses.csv'))}) };
     const subset = await select(file, { method: 'anchor-points', budget: 6, seed: 2 });
     const model = await fit(file, { irt: '2pl' });
     const est = await estimate(file, { subset, fit: model, estimator: 'pirt' });
     const cal = await estimate(file, { subset, estimator: 'calibrated' });
     const ridge = await estimate(file, { subset, estimator: 'ridge' });
     const binned = await select(file, { method: 'metric-var', budget: 9, difficultyStrata: 3 });
     const unguarded = await select(file, { method: 'metric-var', budget: 9, guard: false });
     const progress = [];
     const ev = await evaluate(file, { methods: ['irt-info'], budgets: [5], folds: 3, seeds: 2, onProgress: (p) => progress.push(p) });
     let error = null;
     try { await select(file, { method: 'random', budget: 99 }); } catch (e) { error = e.message; }
     console.log(JSON.stringify({ subset, est, cal, ridge, binned, unguarded, ev, progress, error }));`,
  );
  const { subset, est, cal, ridge, binned, unguarded, ev, progress, error } = JSON.parse(run('node', ['subset.mjs'], project));
  const cli = (/** @type {string[]} */ args) => JSON.parse(run(join(ROOT, 'target', 'release', 'benchsift'), args, ROOT));
  const csv = 'www/data/bbh/responses.csv';
  assert.deepEqual(subset, cli(['select', csv, '--method', 'anchor-points', '--budget', '6', '--seed', '2']));
  const dir = tempDir('est');
  writeFileSync(join(dir, 'subset.json'), JSON.stringify(subset));
  writeFileSync(join(dir, 'fit.json'), JSON.stringify(cli(['fit', csv, '--irt', '2pl'])));
  assert.deepEqual(est, cli(['estimate', csv, '--subset', join(dir, 'subset.json'), '--fit', join(dir, 'fit.json'), '--estimator', 'pirt']));
  // The subset carries the calibrated estimator's line (fitted on all 107 models).
  assert.equal(subset.calibration.n, 107);
  assert.deepEqual(cal, cli(['estimate', csv, '--subset', join(dir, 'subset.json'), '--estimator', 'calibrated']));
  // ... and ridge's fit (on all 107: selection fits ridge on up to 1,000 models).
  assert.equal(subset.ridge.n, 107);
  assert.deepEqual(ridge, cli(['estimate', csv, '--subset', join(dir, 'subset.json'), '--estimator', 'ridge']));
  assert.deepEqual(ev, cli(['evaluate', csv, '--methods', 'irt-info', '--budgets', '5', '--folds', '3', '--seeds', '2']));
  assert.deepEqual(binned, cli(['select', csv, '--method', 'metric-var', '--budget', '9', '--difficulty-strata', '3']));
  assert.equal(binned.difficulty_strata, 3);
  // The random guard runs by default (its report is in the subset file and evaluate's rows), and guard: false is --no-guard.
  assert.equal(typeof binned.guard.fell_back, 'boolean');
  assert.ok(ev.results.some((/** @type {{guard_fallbacks?: number}} */ r) => typeof r.guard_fallbacks === 'number'));
  assert.equal(unguarded.guard, undefined);
  assert.deepEqual(unguarded, cli(['select', csv, '--method', 'metric-var', '--budget', '9', '--no-guard']));
  // Progress after every selection (one thread here), not only after each of the 3 splits, and never backwards.
  assert.ok(progress.length > 3, JSON.stringify(progress));
  const splitsSeen = [...new Set(progress.map((/** @type {{done: number}} */ p) => p.done))];
  assert.deepEqual(splitsSeen, [0, 1, 2, 3]);
  progress.forEach((/** @type {{fraction: number, total: number}} */ p, /** @type {number} */ k) => {
    assert.equal(p.total, 3);
    assert.ok(k === 0 || p.fraction >= progress[k - 1].fraction, JSON.stringify(progress));
  });
  assert.deepEqual(progress.at(-1), { fraction: 1, done: 3, total: 3 });
  assert.equal(error, 'a budget of 99 items is more than the 27 items in the matrix');
});

test('lmEvalSamples: a real lm-eval --samples run logs the original ids, and estimate reads it', () => {
  // The subset of the fixture run: the same ids the subset run was made with
  // (scripts/fixtures/make_lm_eval_fixture.sh, SUBSET_SAMPLES).
  const subset = {
    method: 'random', seed: 0, benchmark_items: 20, train_models: 3,
    items: ['bs_mc/10', 'bs_gen/5', 'bs_mc/1', 'bs_mc/7', 'bs_gen/2', 'bs_mc/4'],
    weights: [1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6],
  };
  const runDir = join(ROOT, 'tests', 'fixtures', 'lm_eval_subset', 'dummy-subset');
  writeFileSync(
    join(project, 'lmeval.mjs'),
    `import { lmEvalSamples, estimate } from 'benchsift';
     import { readFileSync, readdirSync } from 'node:fs';
     const subset = ${JSON.stringify(subset)};
     const run = lmEvalSamples(subset, { model: 'dummy' });
     const files = readdirSync(${JSON.stringify(runDir)}).filter((f) => f.endsWith('.jsonl')).sort()
       .map((f) => ({ name: 'dummy-subset/' + f, data: readFileSync(${JSON.stringify(runDir)} + '/' + f) }));
     const est = await estimate(files, { subset, estimator: 'mean' });
     let error = null;
     try { lmEvalSamples({ ...subset, items: ['q70', 'bs_mc/1'] }); } catch (e) { error = e.message; }
     console.log(JSON.stringify({ run, est, error }));`,
  );
  const { run: lm, est, error } = JSON.parse(run('node', ['lmeval.mjs'], project));
  // Exactly what the fixture run was given: ascending indices per task.
  assert.deepEqual(lm.samples, { bs_gen: [2, 5], bs_mc: [1, 4, 7, 10] });
  assert.match(lm.command, /^lm_eval --model dummy --tasks bs_gen,bs_mc --samples samples\.json --log_samples/);
  // Every subset item is found in the subset run's logs.
  assert.equal(est.models.length, 1);
  assert.equal(est.models[0].answered, 6);
  assert.match(error, /^1 of 2 item ids are not lm-evaluation-harness document indices \('q70'\)/);
});

test('filter and selectTasks through the package match the CLI', () => {
  const slice = join(ROOT, 'tests', 'fixtures', 'irt', 'mmlu_pro_slice.csv');
  const items = join(ROOT, 'www', 'data', 'mmlu_pro', 'items.csv.gz');
  const bbh = join(ROOT, 'www', 'data', 'bbh', 'responses.csv');
  const dir = tempDir('filter');
  const models = readFileSync(slice, 'utf8').split('\n').slice(1).filter((l) => l).map((l) => l.split(',')[0]);
  const ranking = join(dir, 'ranking.csv');
  writeFileSync(ranking, `model,rank\n${models.map((m, i) => `${m},${i + 1}`).join('\n')}\n`);
  writeFileSync(
    join(project, 'filter.mjs'),
    `import { filter, selectTasks } from 'benchsift';
     import { readFileSync } from 'node:fs';
     const read = (p, name) => ({ name, data: readFileSync(p) });
     const filtered = await filter(read(${JSON.stringify(slice)}, 'mmlu_pro_slice.csv'),
       { items: read(${JSON.stringify(items)}, 'items.csv.gz'), referenceRanking: read(${JSON.stringify(ranking)}, 'ranking.csv'), easyTopK: 10, easyMinFraction: 0.9 });
     const tasks = await selectTasks(read(${JSON.stringify(bbh)}, 'responses.csv'), { k: 3, method: 'beam' });
     let error = null;
     try { await selectTasks(read(${JSON.stringify(bbh)}, 'responses.csv'), { k: 27 }); } catch (e) { error = e.message; }
     console.log(JSON.stringify({ filtered, tasks, error }));`,
  );
  const { filtered, tasks, error } = JSON.parse(run('node', ['filter.mjs'], project));
  const cli = (/** @type {string[]} */ args) => JSON.parse(run(join(ROOT, 'target', 'release', 'benchsift'), args, ROOT));
  const expected = cli(['filter', slice, '--items', items, '--reference-ranking', ranking, '--easy-top-k', '10', '--easy-min-fraction', '0.9']);
  // Only the files' names in the warnings differ (paths on the CLI).
  assert.deepEqual({ ...filtered, warnings: null }, { ...expected, warnings: null });
  assert.ok(filtered.reference.models === models.length && filtered.stages.length === 3);
  assert.deepEqual(tasks, cli(['select-tasks', bbh, '--k', '3', '--method', 'beam']));
  assert.equal(error, 'k = 27 must be between 1 and 26 (one less than the 27 tasks)');
});

test('side files (metric scores, outputs) through the package match the CLI', () => {
  const fx = join(ROOT, 'tests', 'fixtures', 'subset2evaluate');
  writeFileSync(
    join(project, 'side.mjs'),
    `import { select, evaluate } from 'benchsift';
     import { readFileSync } from 'node:fs';
     const read = (f) => ({ name: f, data: readFileSync(${JSON.stringify(fx)} + '/' + f) });
     const cons = await select(read('human.csv'), { method: 'metric-cons', budget: 8, metricScores: read('metric.csv') });
     const div = await select(read('human.csv'), { method: 'diversity', budget: 8, outputs: read('outputs.csv') });
     const ev = await evaluate(read('human.csv'), { methods: ['metric-var'], budgets: [8], folds: 3, seeds: 2, metricScores: read('metric.csv') });
     const bal = await select(read('human.csv'), {
       method: 'metric-balance', budget: 8,
       metricScores: [read('metric.csv'), { name: 'metric2.csv', data: readFileSync(${JSON.stringify(join(ROOT, 'tests', 'fixtures', 'metric_balance'))} + '/metric2.csv') }],
     });
     console.log(JSON.stringify({ cons, div, ev, bal }));`,
  );
  const { cons, div, ev, bal } = JSON.parse(run('node', ['side.mjs'], project));
  const cli = (/** @type {string[]} */ args) => JSON.parse(run(join(ROOT, 'target', 'release', 'benchsift'), args, ROOT));
  const f = 'tests/fixtures/subset2evaluate';
  assert.deepEqual(cons, cli(['select', `${f}/human.csv`, '--method', 'metric-cons', '--budget', '8', '--metric-scores', `${f}/metric.csv`]));
  assert.deepEqual(div, cli(['select', `${f}/human.csv`, '--method', 'diversity', '--budget', '8', '--outputs', `${f}/outputs.csv`]));
  assert.deepEqual(ev, cli(['evaluate', `${f}/human.csv`, '--methods', 'metric-var', '--budgets', '8', '--folds', '3', '--seeds', '2', '--metric-scores', `${f}/metric.csv`]));
  const golden = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'metric_balance', 'golden.json'), 'utf8'));
  assert.deepEqual(bal.items, golden.cases[0].order.slice(0, 8));
  assert.deepEqual(bal, cli(['select', `${f}/human.csv`, '--method', 'metric-balance', '--budget', '8', '--metric-scores', `${f}/metric.csv`, '--metric-scores', 'tests/fixtures/metric_balance/metric2.csv']));
});

test('embeddings as JSON Lines through the package match the CLI on the same vectors as CSV', () => {
  const dir = tempDir('embeddings');
  // 40 items in 8 dimensions; every fifth item is a scaled copy of the one before it.
  let state = 7;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const vectors = Array.from({ length: 40 }, () => Array.from({ length: 8 }, next));
  for (let i = 5; i < 40; i += 5) vectors[i] = vectors[i - 1].map((x) => 3 * x);
  const ids = vectors.map((_, i) => `q${i}`);
  writeFileSync(join(dir, 'items.csv'), `item_id\n${ids.join('\n')}\n`);
  const order = ids.map((_, i) => (i * 17) % 40);
  writeFileSync(join(dir, 'e.csv'), `item_id,${vectors[0].map((_, d) => `d${d}`).join(',')}\n${order.map((i) => `${ids[i]},${vectors[i].join(',')}`).join('\n')}\n`);
  writeFileSync(join(dir, 'e.jsonl'), `${order.map((i) => JSON.stringify({ id: ids[i], embedding: vectors[i] })).join('\n')}\n`);
  writeFileSync(
    join(project, 'embeddings.mjs'),
    `import { similar } from 'benchsift';
     import { readFileSync } from 'node:fs';
     const read = (f) => ({ name: f, data: readFileSync(${JSON.stringify(dir)} + '/' + f) });
     const report = await similar({ items: read('items.csv'), embeddings: read('e.jsonl'), topK: 3, backend: 'cpu' });
     console.log(JSON.stringify(report));`,
  );
  const js = JSON.parse(run('node', ['embeddings.mjs'], project));
  const cli = JSON.parse(run(join(ROOT, 'target', 'release', 'benchsift'), ['similar', '--items', join(dir, 'items.csv'), '--embeddings', join(dir, 'e.csv'), '--top-k', '3', '--backend', 'cpu'], ROOT));
  assert.deepEqual(js.pairs, cli.pairs);
  assert.equal(js.features, 'embeddings');
  const copies = js.pairs.filter((/** @type {{cosine: number}} */ p) => p.cosine > 0.99999).map((/** @type {{a: string, b: string}} */ p) => `${p.a}-${p.b}`);
  assert.deepEqual(copies.sort(), ['q4-q5', 'q9-q10', 'q14-q15', 'q19-q20', 'q24-q25', 'q29-q30', 'q34-q35'].sort());
});

test('a fit, an evaluation and a similarity search over 1, 2 or 3 worker threads are the CLI’s to the bit, and a fit stops when asked', () => {
  const binary = join(ROOT, 'tests', 'fixtures', 'irt', 'synthetic_3pl.csv');
  const bbh = join(ROOT, 'www', 'data', 'bbh', 'responses.csv');
  const items = join(ROOT, 'www', 'data', 'alpacaeval', 'items.csv.gz');
  // Continuous scores with two items every model scores the same on (the
  // Beta fit sets those aside and fits them against the final posteriors).
  const dir = tempDir('pool');
  const continuous = join(dir, 'scores.csv');
  const rows = ['model,' + Array.from({ length: 24 }, (_, i) => `i${i}`).join(',')];
  for (let m = 0; m < 40; m++) {
    const cells = Array.from({ length: 24 }, (_, i) => {
      if (i === 0) return '0.9';
      if (i === 1) return '0.1';
      if ((m * 7 + i * 3) % 17 === 0) return '';
      const x = 1 / (1 + Math.exp(-((m - 20) / 8 - (i - 12) / 6))) * 0.8 + 0.1 + ((m * 31 + i * 17) % 10) / 200;
      return x.toFixed(4);
    });
    rows.push(`m${m},${cells.join(',')}`);
  }
  writeFileSync(continuous, rows.join('\n') + '\n');
  writeFileSync(
    join(project, 'pool.mjs'),
    `import { evaluate, fit, similar } from 'benchsift';
     import { createHash } from 'node:crypto';
     import { readFileSync } from 'node:fs';
     const out = {};
     for (const [key, path, irt] of [['binary', ${JSON.stringify(binary)}, '3pl'], ['beta', ${JSON.stringify(continuous)}, 'beta']]) {
       const file = { name: 'responses.csv', data: readFileSync(path) };
       out[key] = [];
       for (const workers of [1, 2, 3]) out[key].push(await fit(file, { irt, workers }));
     }
     out.evaluations = [];
     const ev = { name: 'responses.csv', data: readFileSync(${JSON.stringify(bbh)}) };
     for (const workers of [1, 2, 3]) {
       let reports = 0;
       const result = await evaluate(ev, { methods: ['irt-info', 'adaptive'], budgets: [3, 5], holdout: 0.3, seeds: 3, workers, onProgress: () => void reports++ });
       out.evaluations.push({ result, reports });
     }
     out.searches = [];
     const items = { name: 'items.csv.gz', data: readFileSync(${JSON.stringify(items)}) };
     // Digests, not the reports (with their texts they overflow the pipe).
     const digest = (r) => ({ sha: createHash('sha256').update(JSON.stringify({ ...r, backend: null })).digest('hex'), pairs: r.pairs.length, backend: r.backend });
     for (const workers of [1, 2, 3]) {
       out.searches.push([digest(await similar({ items, topK: 3, backend: 'cpu', workers })), digest(await similar({ items, threshold: 0.6, backend: 'cpu', workers }))]);
     }
     let calls = 0;
     const stopped = await fit({ name: 'responses.csv', data: readFileSync(${JSON.stringify(binary)}) },
       { irt: '3pl', workers: 2, onProgress: () => ++calls < 3 });
     out.stopped = { calls, converged: stopped.converged, iterations: stopped.iterations };
     console.log(JSON.stringify(out));`,
  );
  const out = JSON.parse(run('node', ['pool.mjs'], project));
  const cli = (/** @type {string[]} */ args) => JSON.parse(run(join(ROOT, 'target', 'release', 'benchsift'), args, ROOT));
  for (const [key, path, irt] of [
    ['binary', binary, '3pl'],
    ['beta', continuous, 'beta'],
  ]) {
    const expected = { ...cli(['fit', path, '--irt', irt]), backend: null };
    for (const [k, result] of out[key].entries()) {
      assert.deepEqual({ ...result, backend: null }, expected, `${key}, ${k + 1} workers`);
      assert.equal(result.backend.threads, k + 1, `${key}: ${result.backend.reason}`);
    }
    assert.match(out[key][2].backend.reason, /3 workers, each holding a block of the models/);
  }
  assert.deepEqual(out.stopped, { calls: 3, converged: false, iterations: 3 });
  // An evaluation's splits (a holdout per seed) shared out over the workers.
  const expected = cli(['evaluate', bbh, '--methods', 'irt-info,adaptive', '--budgets', '3,5', '--holdout', '0.3', '--seeds', '3']);
  for (const [k, { result, reports }] of out.evaluations.entries()) {
    assert.deepEqual(result, expected, `evaluate, ${k + 1} workers`);
    assert.ok(reports > 0, `evaluate, ${k + 1} workers: no progress`);
  }
  // A similarity search's row blocks shared out (hashed n-grams of 805 texts).
  const topK = cli(['similar', '--items', items, '--top-k', '3', '--backend', 'cpu']);
  const pairs = cli(['similar', '--items', items, '--threshold', '0.6', '--backend', 'cpu']);
  assert.ok(pairs.pairs.length > 0);
  const sha = (/** @type {any} */ r) => createHash('sha256').update(JSON.stringify({ ...r, backend: null })).digest('hex');
  for (const [k, [near, above]] of out.searches.entries()) {
    assert.deepEqual([near.sha, near.pairs], [sha(topK), topK.pairs.length], `similar top-k, ${k + 1} workers`);
    assert.deepEqual([above.sha, above.pairs], [sha(pairs), pairs.pairs.length], `similar threshold, ${k + 1} workers`);
    if (k > 0) assert.match(near.backend.reason, new RegExp(`in ${k + 1} workers`));
  }
  // Where the workers cannot start (here: their file is missing, as a
  // bundler that left it out would leave it), every job runs in the calling
  // thread instead, with the same result.
  const workerFile = join(project, 'node_modules', 'benchsift', 'www', 'lib', 'pool-worker.js');
  renameSync(workerFile, `${workerFile}.gone`);
  try {
    writeFileSync(
      join(project, 'nopool.mjs'),
      `import { evaluate, fit } from 'benchsift';
       import { readFileSync } from 'node:fs';
       const file = { name: 'responses.csv', data: readFileSync(${JSON.stringify(binary)}) };
       const fitted = await fit(file, { irt: '3pl', workers: 2 });
       const ev = await evaluate({ name: 'responses.csv', data: readFileSync(${JSON.stringify(bbh)}) }, { methods: ['irt-info'], budgets: [3], folds: 3, seeds: 1, workers: 2 });
       console.log(JSON.stringify({ fitted, ev }));`,
    );
    const { fitted, ev } = JSON.parse(run('node', ['nopool.mjs'], project));
    assert.deepEqual({ ...fitted, backend: null }, { ...cli(['fit', binary, '--irt', '3pl']), backend: null });
    assert.equal(fitted.backend.threads, 1);
    assert.deepEqual(ev, cli(['evaluate', bbh, '--methods', 'irt-info', '--budgets', '3', '--folds', '3', '--seeds', '1']));
  } finally {
    renameSync(`${workerFile}.gone`, workerFile);
  }
});
