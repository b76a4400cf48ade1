// Browser (and worker) entry: fetches the wasm beside this file on first use.
import initWasm, * as wasm from '../pkg/benchsift.js';
import { bind } from './api.js';

/** @type {Promise<import('./api.js').WasmModule> | undefined} */
let ready;

function init() {
  ready ??= initWasm({ module_or_path: new URL('../pkg/benchsift_bg.wasm', import.meta.url) }).then(() => wasm);
  return ready;
}

export const { info, fit, select, estimate, adapt, adaptiveTest, evaluate, similar, itemTexts, filter, selectTasks, fileOptions, kendallTau, schema, version } = bind(init);
export { lmEvalSamples } from './lm_eval.js';
