// Node entry: loads the wasm from the package folder with fs, once, on first use.
import { readFile } from 'node:fs/promises';

import * as wasm from '../pkg/benchsift.js';
import { bind } from './api.js';

/** @type {Promise<import('./api.js').WasmModule> | undefined} */
let ready;

function init() {
  ready ??= readFile(new URL('../pkg/benchsift_bg.wasm', import.meta.url)).then((bytes) => {
    wasm.initSync({ module: bytes });
    return wasm;
  });
  return ready;
}

export const { info, fit, select, estimate, adapt, adaptiveTest, evaluate, similar, itemTexts, filter, selectTasks, fileOptions, kendallTau, schema, version } = bind(init);
export { lmEvalSamples } from './lm_eval.js';
