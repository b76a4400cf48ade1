// Shared by the Node tests: paths, the CLI as the reference for the JS and
// page results, and temporary folders.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'target', 'release', 'benchsift');

/** @param {string} prefix */
export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `benchsift-${prefix}-`));
}

/**
 * `benchsift info` on files relative to the repo: the reference the JS API and
 * the page must agree with.
 * @param {string[]} args
 */
export function cliInfo(args) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  return JSON.parse(execFileSync(CLI, ['info', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * The CLI's error message for a file (stderr without the `error: ` prefix).
 * @param {string[]} args
 */
export function cliError(args) {
  const run = spawnSync(CLI, ['info', ...args], { cwd: ROOT, encoding: 'utf8' });
  if (run.status === 0) throw new Error(`benchsift info ${args.join(' ')} unexpectedly succeeded`);
  return run.stderr.trim().replace(/^error: /, '');
}

/**
 * Why a browser test must skip (a missing Chromium, no WebGPU adapter), said
 * loudly; under `CI=true` it throws instead, since a skipped test there would
 * hide a failure (CI installs Chromium, which offers SwiftShader).
 * @param {string} reason
 * @returns {string}
 */
export function skipOrFail(reason) {
  if (process.env.CI === 'true') throw new Error(`CI=true, so this cannot be skipped: ${reason}`);
  console.warn(`\n!!! SKIPPED: ${reason}\n`);
  return reason;
}

/** The Chromium the browser tests drive, or why they skip. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
