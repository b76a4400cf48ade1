// Browser (and worker) entry: fetches the wasm beside this file on first use.
// The module is compiled here, not by the glue, so that a fit's pool of
// workers can be handed it instead of fetching and compiling it again.
import initWasm, * as wasm from '../pkg/benchsift.js';
import { bind } from './api.js';

/** @type {Promise<import('./api.js').LoadedCore> | undefined} */
let ready;

function init() {
  ready ??= (async () => {
    const url = new URL('../pkg/benchsift_bg.wasm', import.meta.url);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`cannot fetch ${url}: HTTP ${response.status}`);
    const module = await WebAssembly.compile(await response.arrayBuffer());
    await initWasm({ module_or_path: module });
    return { wasm, module };
  })();
  return ready;
}

export const { info, fit, select, estimate, adapt, adaptiveTest, evaluate, similar, itemTexts, filter, selectTasks, fileOptions, kendallTau, schema, version } = bind(init);
export { lmEvalSamples } from './lm_eval.js';
