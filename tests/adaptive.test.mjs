// The JS adaptive test against the CLI: the same fit and answers give the same
// bytes natively and in wasm (items, θ, intervals), and bad answers throw the
// core's messages.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { CLI, ROOT, tempDir } from './helpers.mjs';
import * as api from '../www/lib/node.js';

const dir = tempDir('adaptive');
const bbh = join(ROOT, 'www', 'data', 'bbh', 'responses.csv');

/** @param {string[]} args */
function cli(args) {
  return JSON.parse(execFileSync(CLI, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

test('adaptiveTest asks what `benchsift adapt` asks, and agrees to the bit', async () => {
  // MMLU-Pro's bundled matrix, fitted in wasm; the CLI reads the same fit.
  const data = join(ROOT, 'www', 'data', 'mmlu_pro');
  const fit = await api.fit({ name: 'responses.csv.gz', data: readFileSync(join(data, 'responses.csv.gz')) });
  const fitPath = join(dir, 'fit.json');
  writeFileSync(fitPath, JSON.stringify(fit));
  const options = { batch: 3, randomesque: 4, seed: 9, targetSe: 0.3 };
  const session = await api.adaptiveTest(fit, options);
  // A model that gets every even-numbered question right.
  const score = (/** @type {string} */ id) => (Number(id.slice(1)) % 2 === 0 ? 1 : 0);
  for (let round = 0; round < 4 && session.state().stopped === null; round++) {
    for (const item of await session.next()) await session.record(item.id, score(item.id));
  }
  const answers = session.answers();
  assert.equal(answers.length, session.state().itemsUsed);
  assert.ok(answers.length >= 3);
  const csv = join(dir, 'answers.csv');
  writeFileSync(csv, `model,item,score\nnew model,${answers.map((a) => `${a.id},${a.score}`).join('\nnew model,')}\n`);
  const native = cli(['adapt', '--fit', fitPath, '--answers', csv, '--batch', '3', '--randomesque', '4', '--seed', '9', '--target-se', '0.3']);
  assert.deepEqual(session.history(), native.history);
  assert.deepEqual(await session.next(3), native.next);
  assert.deepEqual(
    answers.map((a) => a.id),
    native.answers.map((/** @type {{id: string}} */ a) => a.id),
  );
});

test('a bad answer throws the core message and leaves the test as it was', async () => {
  const fit = await api.fit({ name: 'responses.csv', data: readFileSync(bbh) });
  const session = await api.adaptiveTest(fit, { maxItems: 5 });
  const [first] = await session.next();
  await session.record(first.id, 0.5);
  await assert.rejects(session.record(first.id, 1), /was answered already/);
  await assert.rejects(session.record('no such task', 1), /is not in the fit/);
  await assert.rejects(session.record((await session.next())[0].id, 150), /outside the range/);
  assert.equal(session.state().itemsUsed, 1);
  await assert.rejects(api.adaptiveTest(fit, { theta: /** @type {any} */ ('mle') }), /unknown θ method 'mle'/);
  await assert.rejects(api.select({ name: 'r.csv', data: readFileSync(bbh) }, { method: 'adaptive', budget: 3 }), /has no fixed subset/);
});
