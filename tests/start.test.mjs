// `npm start` end to end: the README's first command builds what is missing,
// prints the URL and serves the page, its scripts, the wasm core and the
// bundled data; then it stops on a signal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { ROOT } from './helpers.mjs';

/**
 * Starts `npm start`'s script on a free port and resolves with its URL once
 * it prints one.
 * @returns {Promise<{url: string, child: import('node:child_process').ChildProcess, output: () => string}>}
 */
function start() {
  const child = spawn('bash', ['scripts/start.sh'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`npm start printed no URL in 10 minutes:\n${output}`));
    }, 600_000);
    const onData = (/** @type {Buffer} */ chunk) => {
      output += chunk.toString();
      const m = output.match(/benchsift is running at (http:\/\/\S+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before serving:\n${output}`));
    });
  });
}

test('npm start prints the URL and serves the page, the wasm core and the bundled data', { timeout: 660_000 }, async () => {
  const { url, child } = await start();
  try {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="app\.js"><\/script>/);

    for (const script of ['app.js', 'worker.js', 'pkg/benchsift.js', 'lib/api.js']) {
      const r = await fetch(new URL(script, url));
      assert.equal(r.status, 200, script);
      assert.match(r.headers.get('content-type') ?? '', /^text\/javascript/, script);
    }

    const wasm = await fetch(new URL('pkg/benchsift_bg.wasm', url));
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    const bytes = new Uint8Array(await wasm.arrayBuffer());
    assert.deepEqual(bytes, new Uint8Array(readFileSync(join(ROOT, 'www', 'pkg', 'benchsift_bg.wasm'))));
    assert.ok(WebAssembly.validate(bytes), 'the served wasm does not validate');

    // The data the page opens with (app.js DATASETS.mmlu_pro).
    for (const file of ['data/mmlu_pro/responses.csv.gz', 'data/mmlu_pro/items.csv.gz']) {
      const r = await fetch(new URL(file, url));
      assert.equal(r.status, 200, file);
      const head = new Uint8Array(await r.arrayBuffer()).slice(0, 2);
      assert.deepEqual([...head], [0x1f, 0x8b], `${file} is not gzip`);
    }
  } finally {
    const exited = new Promise((ok) => child.once('exit', ok));
    child.kill('SIGTERM');
    await exited;
  }
});
