// The install helpers of scripts/lib.sh on the paths a fresh machine takes: a
// tool missing, at another version, or failing to install. Each case copies
// lib.sh into a scratch repository and runs one helper under `set -euo
// pipefail` (as build.sh, start.sh and test.sh do) with a PATH that starts
// with stubs of cargo, rustup, npm, apt-get and friends; the stubs record how
// they were called, so the tests check that the right install command is
// reached and that a failure ends with a message and a non-zero status.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { ROOT, tempDir } from './helpers.mjs';

/** The wasm-bindgen version Cargo.lock pins: what the helpers must install. */
const WANT = (() => {
  const lock = readFileSync(join(ROOT, 'Cargo.lock'), 'utf8');
  const m = lock.match(/\nname = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!m) throw new Error('Cargo.lock names no wasm-bindgen crate');
  return m[1];
})();

/**
 * A stub: records `name args…` in $STUB_LOG, then runs `body` (bash).
 * @param {string} dir
 * @param {string} name
 * @param {string} [body]
 */
function stub(dir, name, body = 'exit 0') {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/bash\necho "${name} $*" >> "$STUB_LOG"\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A wasm-bindgen stub that reports `version`. */
const bindgenBody = (/** @type {string} */ version) => `[ "$1" = --version ] && echo "wasm-bindgen ${version}"; exit 0`;

/**
 * A scratch repository with lib.sh, Cargo.lock and package-lock.json, a
 * stub folder first on a PATH that has no Rust or wasm tools, and an empty
 * HOME (so cargo's bin folder is empty).
 */
function sandbox() {
  const dir = tempDir('install');
  const repo = join(dir, 'repo');
  const bin = join(dir, 'stubs');
  const home = join(dir, 'home');
  for (const d of [join(repo, 'scripts'), bin, home]) mkdirSync(d, { recursive: true });
  copyFileSync(join(ROOT, 'scripts', 'lib.sh'), join(repo, 'scripts', 'lib.sh'));
  copyFileSync(join(ROOT, 'Cargo.lock'), join(repo, 'Cargo.lock'));
  copyFileSync(join(ROOT, 'package-lock.json'), join(repo, 'package-lock.json'));
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  return {
    dir,
    repo,
    bin,
    home,
    /** @param {string} name @param {string} [body] */
    stub: (name, body) => stub(bin, name, body),
    /**
     * Runs `script` after sourcing lib.sh, as the build scripts do.
     * @param {string} script
     * @param {Record<string, string>} [env]
     */
    run(script, env = {}) {
      const result = spawnSync('/bin/bash', ['-c', `set -euo pipefail; source scripts/lib.sh; ${script}`], {
        cwd: repo,
        encoding: 'utf8',
        env: {
          PATH: `${bin}:/usr/bin:/bin`,
          HOME: home,
          STUB_LOG: log,
          CHROMIUM: join(dir, 'no-chromium'),
          VULKAN_ICD_DIR: join(dir, 'no-icd'),
          ...env,
        },
      });
      return {
        status: result.status,
        stdout: result.stdout,
        // Without the colour codes, for matching.
        stderr: result.stderr.replace(/\x1b\[[0-9;]*m/g, ''),
        calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean),
      };
    },
  };
}

// The PATH the cases use must really lack the tools they stub out.
for (const tool of ['cargo', 'rustup', 'wasm-bindgen']) {
  assert.ok(!existsSync(`/usr/bin/${tool}`) && !existsSync(`/bin/${tool}`), `/usr/bin/${tool} would leak into the stubbed PATH`);
}

/**
 * A cargo stub whose `install wasm-bindgen-cli` leaves a CLI of `version`,
 * except that, like cargo, without --force it installs nothing once its
 * records say the crate is installed (they do here: the binary was deleted).
 */
const cargoInstalls = (/** @type {string} */ version) => `if [ "$1" = install ] && [ "$2" != --force ]; then
  echo "Ignored package wasm-bindgen-cli v${version} is already installed, use --force to override" >&2
elif [ "$1" = install ]; then
  mkdir -p "$HOME/.cargo/bin"
  printf '#!/bin/bash\\n[ "$1" = --version ] && echo "wasm-bindgen ${version}"\\n' > "$HOME/.cargo/bin/wasm-bindgen"
  chmod +x "$HOME/.cargo/bin/wasm-bindgen"
fi`;

test('no wasm-bindgen anywhere: cargo installs the version Cargo.lock pins', () => {
  const box = sandbox();
  box.stub('cargo', cargoInstalls(WANT));
  const r = box.run('ensure_wasm_bindgen; echo "WASM_BINDGEN=$WASM_BINDGEN"');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, [`cargo install --force wasm-bindgen-cli --version ${WANT}`]);
  assert.match(r.stderr, new RegExp(`installing wasm-bindgen-cli ${WANT} \\(none found\\)`));
  assert.equal(r.stdout.trim(), `WASM_BINDGEN=${join(box.home, '.cargo', 'bin', 'wasm-bindgen')}`);
});

test('wasm-bindgen of another version on the PATH: the pinned one is installed and used', () => {
  const box = sandbox();
  box.stub('wasm-bindgen', bindgenBody('0.2.99'));
  box.stub('cargo', cargoInstalls(WANT));
  const r = box.run('ensure_wasm_bindgen; echo "WASM_BINDGEN=$WASM_BINDGEN"');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, ['wasm-bindgen --version', `cargo install --force wasm-bindgen-cli --version ${WANT}`]);
  assert.match(r.stderr, /reports '0\.2\.99'/);
  assert.equal(r.stdout.trim(), `WASM_BINDGEN=${join(box.home, '.cargo', 'bin', 'wasm-bindgen')}`);
});

test('wasm-bindgen of the pinned version on the PATH: nothing is installed', () => {
  const box = sandbox();
  const found = box.stub('wasm-bindgen', bindgenBody(WANT));
  box.stub('cargo', 'exit 99');
  const r = box.run('ensure_wasm_bindgen; echo "WASM_BINDGEN=$WASM_BINDGEN"');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, ['wasm-bindgen --version']);
  assert.match(r.stderr, new RegExp(`wasm-bindgen CLI ${WANT}: found at`));
  assert.equal(r.stdout.trim(), `WASM_BINDGEN=${found}`);
});

test('the pinned wasm-bindgen in cargo\'s bin folder but not on the PATH is found', () => {
  const box = sandbox();
  box.stub('cargo', 'exit 99');
  mkdirSync(join(box.home, '.cargo', 'bin'), { recursive: true });
  const installed = stub(join(box.home, '.cargo', 'bin'), 'wasm-bindgen', bindgenBody(WANT));
  const r = box.run('ensure_wasm_bindgen; echo "WASM_BINDGEN=$WASM_BINDGEN"');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `WASM_BINDGEN=${installed}`);
  assert.ok(!r.calls.some((c) => c.startsWith('cargo')), r.calls.join('\n'));
});

test('a failing wasm-bindgen-cli install says so and exits non-zero', () => {
  const box = sandbox();
  box.stub('cargo', 'echo "error: failed to compile" >&2; exit 101');
  const r = box.run('ensure_wasm_bindgen; echo reached');
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`error: 'cargo install --force wasm-bindgen-cli --version ${WANT}' failed`));
});

test('an install that leaves the wrong version is an error, not a silent mismatch', () => {
  const box = sandbox();
  box.stub('cargo', cargoInstalls('0.2.1'));
  const r = box.run('ensure_wasm_bindgen');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /reports '0\.2\.1'/);
});

test('no cargo at all: a message that says to install Rust with rustup', () => {
  const box = sandbox();
  const r = box.run('ensure_wasm_bindgen');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /cargo is not on the PATH: install Rust with rustup/);
});

test('the wasm32 target is added with rustup when it is missing, and only then', () => {
  const box = sandbox();
  box.stub('rustup', '[ "$2" = list ] && echo x86_64-unknown-linux-gnu; exit 0');
  let r = box.run('ensure_wasm_target');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, ['rustup target list --installed', 'rustup target add wasm32-unknown-unknown']);

  const present = sandbox();
  present.stub('rustup', '[ "$2" = list ] && printf "wasm32-unknown-unknown\\nx86_64-unknown-linux-gnu\\n"; exit 0');
  r = present.run('ensure_wasm_target');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, ['rustup target list --installed']);
  assert.match(r.stderr, /wasm32-unknown-unknown target: installed/);
});

test('a failing target install, or no rustup to add it, says so and exits non-zero', () => {
  const box = sandbox();
  box.stub('rustup', '[ "$2" = add ] && exit 1; exit 0');
  let r = box.run('ensure_wasm_target; echo reached');
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /error: 'rustup target add wasm32-unknown-unknown' failed/);

  const norustup = sandbox();
  norustup.stub('rustc', `echo ${norustup.dir}/sysroot`);
  r = norustup.run('ensure_wasm_target');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /target is missing and rustup is not on the PATH/);
});

test('missing node_modules: npm ci runs; a failing npm ci or an old Node says so', () => {
  const box = sandbox();
  box.stub('npm');
  let r = box.run('ensure_npm_deps');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, ['npm ci --no-audit --no-fund']);

  const failing = sandbox();
  failing.stub('npm', 'exit 1');
  r = failing.run('ensure_npm_deps');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: 'npm ci' failed/);

  const old = sandbox();
  old.stub('node', '[ "$1" = --version ] && echo v18.19.0; exit 1');
  old.stub('npm');
  r = old.run('ensure_npm_deps');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Node\.js v18\.19\.0 is too old/);
  assert.ok(!r.calls.includes('npm ci --no-audit --no-fund'));
});

test('Chromium and Mesa missing as root: apt-get installs both; a failing apt-get says so', () => {
  const box = sandbox();
  box.stub('id', 'echo 0');
  box.stub('apt-get');
  let r = box.run('ensure_system_packages');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    r.calls.filter((c) => c.startsWith('apt-get')),
    ['apt-get update -qq', 'apt-get install -y -qq chromium mesa-vulkan-drivers'],
  );

  const failing = sandbox();
  failing.stub('id', 'echo 0');
  failing.stub('apt-get', '[ "$1" = install ] && exit 100; exit 0');
  r = failing.run('ensure_system_packages; echo reached');
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /error: 'apt-get install chromium mesa-vulkan-drivers' failed/);
});

test('Chromium missing and not root: a loud skip, or an error under CI=true', () => {
  const box = sandbox();
  box.stub('id', 'echo 1000');
  box.stub('apt-get', 'exit 99');
  let r = box.run('ensure_system_packages', { CI: 'false' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /WARNING: chromium mesa-vulkan-drivers missing and cannot be installed here \(not root\)/);
  assert.match(r.stderr, /SKIPPED/);
  assert.ok(!r.calls.some((c) => c.startsWith('apt-get')));

  r = box.run('ensure_system_packages', { CI: 'true' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: chromium mesa-vulkan-drivers missing .* under CI=true the browser and GPU tests must run/);
});

test('build_wasm runs cargo, wasm-bindgen and wasm-opt in order, and skips the last two when www/pkg is current', () => {
  const box = sandbox();
  box.stub('rustup', '[ "$2" = list ] && echo wasm32-unknown-unknown; exit 0');
  box.stub('wasm-bindgen', `${bindgenBody(WANT).replace('; exit 0', '')}
[ "$1" = --target ] && { mkdir -p "$4"; echo wasm > "$4/benchsift_bg.wasm"; echo js > "$4/benchsift.js"; }
exit 0`);
  box.stub(
    'cargo',
    'mkdir -p target/wasm32-unknown-unknown/release; [ -f target/wasm32-unknown-unknown/release/benchsift.wasm ] || echo w > target/wasm32-unknown-unknown/release/benchsift.wasm',
  );
  mkdirSync(join(box.repo, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(box.repo, 'node_modules', '.package-lock.json'), '{}');
  stub(join(box.repo, 'node_modules', '.bin'), 'wasm-opt');
  let r = box.run('build_wasm');
  assert.equal(r.status, 0, r.stderr);
  const tools = r.calls.map((c) => c.split(' ')[0]).filter((t) => t !== 'rustup');
  assert.deepEqual(tools, ['wasm-bindgen', 'cargo', 'wasm-bindgen', 'wasm-opt']);
  assert.match(r.calls[2], /^cargo build --release --target wasm32-unknown-unknown -p benchsift --lib$/);

  writeFileSync(join(box.dir, 'calls.log'), '');
  r = box.run('build_wasm');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    r.calls.map((c) => c.split(' ')[0]).filter((t) => t !== 'rustup'),
    ['wasm-bindgen', 'cargo'],
  );
  assert.match(r.stderr, /www\/pkg is up to date/);
});

test('build_wasm: a failing cargo build ends with a message, not silently', () => {
  const box = sandbox();
  box.stub('rustup', '[ "$2" = list ] && echo wasm32-unknown-unknown; exit 0');
  box.stub('wasm-bindgen', bindgenBody(WANT));
  box.stub('cargo', 'exit 101');
  mkdirSync(join(box.repo, 'node_modules'), { recursive: true });
  writeFileSync(join(box.repo, 'node_modules', '.package-lock.json'), '{}');
  const r = box.run('build_wasm; echo reached');
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /error: building the wasm core failed/);
});

test('rustfmt or clippy missing: rustup adds them; present: nothing runs', () => {
  const box = sandbox();
  box.stub('cargo', '[ "$1" = clippy ] && exit 1; exit 0');
  box.stub('rustup');
  let r = box.run('ensure_rust_tools');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, ['cargo fmt --version', 'cargo clippy --version', 'rustup component add clippy']);

  const present = sandbox();
  present.stub('cargo');
  present.stub('rustup', 'exit 99');
  r = present.run('ensure_rust_tools');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.calls.some((c) => c.startsWith('rustup')), r.calls.join('\n'));

  const failing = sandbox();
  failing.stub('cargo', '[ "$1" = fmt ] && exit 1; exit 0');
  failing.stub('rustup', 'exit 1');
  r = failing.run('ensure_rust_tools; echo reached');
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /error: 'rustup component add rustfmt' failed/);
});
