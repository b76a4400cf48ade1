// Node entry: loads the wasm from the package folder with fs, once, on first use.
import { readFile } from 'node:fs/promises';

import * as wasm from '../pkg/benchsift.js';
import { bind } from './api.js';

/** @type {Promise<import('./api.js').LoadedCore> | undefined} */
let ready;

function init() {
  ready ??= readFile(new URL('../pkg/benchsift_bg.wasm', import.meta.url)).then(async (bytes) => {
    // Compiled once: a fit's worker threads are handed the module.
    const module = await WebAssembly.compile(bytes);
    wasm.initSync({ module });
    return { wasm, module };
  });
  return ready;
}

export const { info, fit, select, estimate, adapt, adaptiveTest, evaluate, similar, itemTexts, filter, selectTasks, fileOptions, kendallTau, schema, version } = bind(init);
export { lmEvalSamples } from './lm_eval.js';
