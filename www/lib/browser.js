// Browser (and worker) entry: fetches the wasm beside this file on first use.
import initWasm, * as wasm from '../pkg/benchsift.js';
import * as api from './api.js';

/** @type {Promise<import('./api.js').WasmModule> | undefined} */
let ready;

function init() {
  ready ??= initWasm({ module_or_path: new URL('../pkg/benchsift_bg.wasm', import.meta.url) }).then(() => wasm);
  return ready;
}

/** @type {typeof import('./types.js').info} */
export async function info(responses, options) {
  return api.info(await init(), responses, options);
}

/** @type {typeof import('./types.js').fit} */
export async function fit(responses, options) {
  return api.fit(await init(), responses, options);
}

/** @type {typeof import('./types.js').select} */
export async function select(responses, options) {
  return api.select(await init(), responses, options);
}

/** @type {typeof import('./types.js').estimate} */
export async function estimate(responses, options) {
  return api.estimate(await init(), responses, options);
}

/** @type {typeof import('./types.js').evaluate} */
export async function evaluate(responses, options) {
  return api.evaluate(await init(), responses, options);
}

/** @type {typeof import('./types.js').version} */
export async function version() {
  return (await init()).version();
}
