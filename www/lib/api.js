// The JS API over the wasm module, shared by the Node and browser entries.
// Each function takes the initialised wasm-bindgen module first; the entries
// bind it. Inputs are normalised here so the Rust side sees one shape only:
// named byte arrays with a role.

/** @typedef {import('./types.js').FileInput} FileInput */
/** @typedef {import('./types.js').InfoOptions} InfoOptions */
/** @typedef {import('./types.js').Info} Info */
/** @typedef {import('./types.js').FitOptions} FitOptions */
/** @typedef {import('./types.js').FitResult} FitResult */
/** @typedef {import('./types.js').SelectOptions} SelectOptions */
/** @typedef {import('./types.js').Subset} Subset */
/** @typedef {import('./types.js').EstimateOptions} EstimateOptions */
/** @typedef {import('./types.js').Estimates} Estimates */
/** @typedef {import('./types.js').EvaluateOptions} EvaluateOptions */
/** @typedef {import('./types.js').Evaluation} Evaluation */
/** @typedef {import('./types.js').SimilarOptions} SimilarOptions */
/** @typedef {import('./types.js').SimilarReport} SimilarReport */
/** @typedef {import('./types.js').FilterOptions} FilterOptions */
/** @typedef {import('./types.js').FilterReport} FilterReport */
/** @typedef {import('./types.js').SelectTasksOptions} SelectTasksOptions */
/** @typedef {import('./types.js').TaskSelection} TaskSelection */

/**
 * @typedef {object} WasmModule
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string) => string} info
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, load: string, fit: string, progress?: Function) => string} fit
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, load: string, fit: string, progress?: Function) => Promise<string>} [fitGpu]
 *   present when the wasm was built with the `gpu` feature
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, load: string, select: string) => string} select
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, load: string, subset: string, fit: string, estimator: string) => string} estimate
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, load: string, evaluate: string, progress?: Function) => string} evaluate
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string) => string} similar
 * @property {(name: string, data: Uint8Array) => string} itemTexts
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string) => Promise<string>} [similarGpu]
 *   present when the wasm was built with the `gpu` feature
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, load: string, filter: string) => string} filter
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, load: string, tasks: string) => string} selectTasks
 * @property {() => string} version
 */

const encoder = new TextEncoder();

/**
 * @param {unknown} data
 * @returns {Promise<Uint8Array>}
 */
async function toBytes(data) {
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof Blob !== 'undefined' && data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
  throw new TypeError('expected a string, Uint8Array, ArrayBuffer or Blob');
}

/**
 * One input as `{name, bytes}`. A `File` keeps its name; a folder upload its
 * relative path (lm-evaluation-harness logs are grouped by folder).
 * @param {FileInput} input
 * @param {string} fallbackName
 */
async function toNamed(input, fallbackName) {
  if (input && typeof input === 'object' && 'data' in input && !(input instanceof Uint8Array)) {
    return { name: input.name || fallbackName, bytes: await toBytes(input.data) };
  }
  /** @type {any} */
  const any = input;
  const name = (any && (any.webkitRelativePath || any.name)) || fallbackName;
  return { name, bytes: await toBytes(input) };
}

/**
 * @param {FileInput | FileInput[]} responses
 * @param {InfoOptions} options
 */
async function packFiles(responses, options) {
  /** @type {{name: string, role: string, bytes: Uint8Array}[]} */
  const files = [];
  const list = Array.isArray(responses) ? responses : [responses];
  if (list.length === 0) throw new Error('no response file given');
  for (const [i, r] of list.entries()) {
    const fallback = options.name && list.length === 1 ? options.name : `responses${list.length > 1 ? i + 1 : ''}`;
    files.push({ role: 'responses', ...(await toNamed(r, fallback)) });
  }
  if (options.items != null) files.push({ role: 'items', ...(await toNamed(options.items, 'items.csv')) });
  if (options.models != null) files.push({ role: 'models', ...(await toNamed(options.models, 'models.csv')) });
  const side = /** @type {{truth?: FileInput, metricScores?: FileInput | FileInput[], outputs?: FileInput, embeddings?: FileInput}} */ (options);
  if (side.truth != null) files.push({ role: 'truth', ...(await toNamed(side.truth, 'truth.csv')) });
  if (side.metricScores != null) {
    const metrics = Array.isArray(side.metricScores) ? side.metricScores : [side.metricScores];
    for (const [i, m] of metrics.entries()) files.push({ role: 'metric', ...(await toNamed(m, `metric${metrics.length > 1 ? i + 1 : ''}.csv`)) });
  }
  if (side.outputs != null) files.push({ role: 'outputs', ...(await toNamed(side.outputs, 'outputs.csv')) });
  if (side.embeddings != null) files.push({ role: 'embeddings', ...(await toNamed(side.embeddings, 'embeddings.npy')) });
  const { referenceRanking } = /** @type {{referenceRanking?: FileInput}} */ (options);
  if (referenceRanking != null) files.push({ role: 'reference', ...(await toNamed(referenceRanking, 'ranking.csv')) });
  return concat(files);
}

/**
 * One buffer for all files, plus names, roles and lengths.
 * @param {{name: string, role: string, bytes: Uint8Array}[]} files
 */
function concat(files) {
  // One file (the usual case) crosses as it is: wasm-bindgen copies it into
  // wasm memory anyway, and copying it here as well put a 344 MB CSV in the
  // JS heap once more per call (1 GB after an info and a fit; BENCHMARKS.md).
  let data = files.length === 1 ? files[0].bytes : undefined;
  if (!data) {
    data = new Uint8Array(files.reduce((n, f) => n + f.bytes.length, 0));
    let offset = 0;
    for (const f of files) {
      data.set(f.bytes, offset);
      offset += f.bytes.length;
    }
  }
  return {
    names: files.map((f) => f.name),
    roles: files.map((f) => f.role),
    lengths: Uint32Array.from(files.map((f) => f.bytes.length)),
    data,
  };
}

/**
 * The options the Rust side reads (files travel separately).
 * @param {InfoOptions} options
 */
function loadOptions(options) {
  const { format, metric, filter, requireUnitInterval, maxCells } = options;
  return JSON.stringify({ format, metric, filter, requireUnitInterval, maxCells });
}

/**
 * Rethrows wasm errors as plain `Error`s with the same message the CLI prints.
 * @template T
 * @param {() => T} call
 * @returns {T}
 */
function rethrow(call) {
  try {
    return call();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(message);
  }
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {InfoOptions} [options]
 * @returns {Promise<Info>}
 */
export async function info(wasm, responses, options = {}) {
  const { names, roles, lengths, data } = await packFiles(responses, options);
  const json = rethrow(() => wasm.info(names, roles, lengths, data, loadOptions(options)));
  return JSON.parse(json);
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {FitOptions} [options]
 * @returns {Promise<FitResult>}
 */
export async function fit(wasm, responses, options = {}) {
  const { names, roles, lengths, data } = await packFiles(responses, options);
  const { irt, dims, seed, guess, scale, maxIterations, tolerance, quadraturePoints, onProgress } = options;
  const backend = options.backend ?? 'auto';
  const settings = JSON.stringify({ irt, dims, seed, guess, scale, maxIterations, tolerance, quadraturePoints, backend });
  const progress = onProgress
    ? (/** @type {number} */ iteration, /** @type {number} */ maxIterations, /** @type {number} */ logLikelihood, /** @type {number} */ maxChange) =>
        onProgress({ iteration, maxIterations, logLikelihood, maxChange }) !== false
    : undefined;
  // As in `similar`: the GPU entry is async (WebGPU readbacks are), runs the
  // same EM and chooses between GPU and CPU itself, saying why in `backend`.
  // `cpu` takes the synchronous entry: no adapter is even probed.
  if (backend !== 'cpu' && typeof wasm.fitGpu === 'function') {
    const gpu = wasm.fitGpu;
    try {
      return JSON.parse(await gpu(names, roles, lengths, data, loadOptions(options), settings, progress));
    } catch (e) {
      throw new Error(e instanceof Error ? e.message : String(e));
    }
  }
  const json = rethrow(() => wasm.fit(names, roles, lengths, data, loadOptions(options), settings, progress));
  return JSON.parse(json);
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {SelectOptions} options
 * @returns {Promise<Subset>}
 */
export async function select(wasm, responses, options) {
  const { names, roles, lengths, data } = await packFiles(responses, options);
  const { method, budget, costBudget, seed, stratify, difficultyStrata, guard, trainModels, holdoutModels, irt, dims } = options;
  const settings = JSON.stringify({ method, budget, costBudget, seed, stratify, difficultyStrata, guard, trainModels, holdoutModels, irt, dims });
  return JSON.parse(rethrow(() => wasm.select(names, roles, lengths, data, loadOptions(options), settings)));
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {EstimateOptions} options
 * @returns {Promise<Estimates>}
 */
export async function estimate(wasm, responses, options) {
  const { names, roles, lengths, data } = await packFiles(responses, options);
  const subset = JSON.stringify(options.subset);
  const fit = options.fit ? JSON.stringify(options.fit) : '';
  return JSON.parse(rethrow(() => wasm.estimate(names, roles, lengths, data, loadOptions(options), subset, fit, options.estimator ?? 'weighted')));
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {EvaluateOptions} [options]
 * @returns {Promise<Evaluation>}
 */
export async function evaluate(wasm, responses, options = {}) {
  const { names, roles, lengths, data } = await packFiles(responses, options);
  const { methods, budgets, folds, holdout, newest, seeds, irt, stratify, difficultyStrata, guard, onProgress } = options;
  const settings = JSON.stringify({ methods, budgets, folds, holdout, newest, seeds, irt, stratify, difficultyStrata, guard });
  const progress = onProgress ? (/** @type {number} */ done, /** @type {number} */ total) => onProgress({ done, total }) : undefined;
  return JSON.parse(rethrow(() => wasm.evaluate(names, roles, lengths, data, loadOptions(options), settings, progress)));
}

/**
 * @param {WasmModule} wasm
 * @param {SimilarOptions} options
 * @returns {Promise<SimilarReport>}
 */
export async function similar(wasm, options) {
  /** @type {{name: string, role: string, bytes: Uint8Array}[]} */
  const files = [];
  if (options.items != null) files.push({ role: 'items', ...(await toNamed(options.items, 'items.csv')) });
  if (options.embeddings != null) files.push({ role: 'embeddings', ...(await toNamed(options.embeddings, 'embeddings.npy')) });
  const { names, roles, lengths, data } = concat(files);
  const backend = options.backend ?? 'auto';
  const settings = JSON.stringify({ topK: options.topK, threshold: options.threshold, backend });
  // The GPU entry is async (WebGPU is); it decides between GPU and CPU itself
  // and says why in `backend`. `cpu` skips it: no adapter is even probed.
  if (backend !== 'cpu' && typeof wasm.similarGpu === 'function') {
    const gpu = wasm.similarGpu;
    try {
      return JSON.parse(await gpu(names, roles, lengths, data, settings));
    } catch (e) {
      throw new Error(e instanceof Error ? e.message : String(e));
    }
  }
  return JSON.parse(rethrow(() => wasm.similar(names, roles, lengths, data, settings)));
}

/**
 * Every item's id and text from an items CSV, in file order.
 * @param {WasmModule} wasm
 * @param {FileInput} items
 * @returns {Promise<import('./types.js').ItemTexts>}
 */
export async function itemTexts(wasm, items) {
  const { name, bytes } = await toNamed(items, 'items.csv');
  return JSON.parse(rethrow(() => wasm.itemTexts(name, bytes)));
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {FilterOptions} [options]
 * @returns {Promise<FilterReport>}
 */
export async function filter(wasm, responses, options = {}) {
  const { names, roles, lengths, data } = await packFiles(responses, options);
  const { easy, easyTopK, easyMinFraction, easyProbability, easyKeep, contamination, contaminationQ3, contaminationNeighbours, contaminationScoreThreshold, duplicates, duplicateThreshold, irt, seed } = options;
  const settings = JSON.stringify({ easy, easyTopK, easyMinFraction, easyProbability, easyKeep, contamination, contaminationQ3, contaminationNeighbours, contaminationScoreThreshold, duplicates, duplicateThreshold, irt, seed });
  return JSON.parse(rethrow(() => wasm.filter(names, roles, lengths, data, loadOptions(options), settings)));
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} matrix
 * @param {SelectTasksOptions} options
 * @returns {Promise<TaskSelection>}
 */
export async function selectTasks(wasm, matrix, options) {
  const { names, roles, lengths, data } = await packFiles(matrix, options);
  const { k, method, folds, seeds, seed, alpha, beamWidth } = options;
  const settings = JSON.stringify({ k, method, folds, seeds, seed, alpha, beamWidth });
  return JSON.parse(rethrow(() => wasm.selectTasks(names, roles, lengths, data, loadOptions(options), settings)));
}

/**
 * The public API, bound to a lazily initialised wasm module (the Node and
 * browser entries differ only in how they load it).
 * @param {() => Promise<WasmModule>} init
 * @returns {Pick<typeof import('./types.js'), 'info' | 'fit' | 'select' | 'estimate' | 'evaluate' | 'similar' | 'itemTexts' | 'filter' | 'selectTasks' | 'version'>}
 */
export function bind(init) {
  return {
    info: async (responses, options) => info(await init(), responses, options),
    fit: async (responses, options) => fit(await init(), responses, options),
    select: async (responses, options) => select(await init(), responses, options),
    estimate: async (responses, options) => estimate(await init(), responses, options),
    evaluate: async (responses, options) => evaluate(await init(), responses, options),
    similar: async (options) => similar(await init(), options),
    itemTexts: async (items) => itemTexts(await init(), items),
    filter: async (responses, options) => filter(await init(), responses, options),
    selectTasks: async (matrix, options) => selectTasks(await init(), matrix, options),
    version: async () => (await init()).version(),
  };
}
