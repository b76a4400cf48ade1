// The JS API over the wasm module, shared by the Node and browser entries.
// Each function takes the initialised wasm-bindgen module first; the entries
// bind it.
//
// The options a command takes, and which of them are files, are not listed
// here: the wasm module's `schema()` says (it is read off the Rust request
// types), so a new option needs no change in this file, and a key the core
// does not know reaches it and is refused by name. Files go by role in one
// buffer; every other option goes as JSON.

import { Pool, poolSize } from './pool.js';

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
/** @typedef {import('./types.js').AdaptOptions} AdaptOptions */
/** @typedef {import('./types.js').AdaptiveTestOptions} AdaptiveTestOptions */
/** @typedef {import('./types.js').Adaptation} Adaptation */
/** @typedef {import('./types.js').AdaptiveTest} AdaptiveTest */
/** @typedef {import('./types.js').Schema} Schema */
/** @typedef {import('./types.js').Command} Command */

/**
 * The wasm exports. Each command takes its files (names, roles, lengths and
 * one buffer) and its options as JSON text.
 * @typedef {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string) => string} WasmCommand
 * @typedef {object} WasmModule
 * @property {WasmCommand} info
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string, progress?: Function) => string} fit
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string, progress?: Function) => Promise<string>} [fitGpu]
 *   present when the wasm was built with the `gpu` feature
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string, progress: Function | undefined,
 *   workers: number, choose: boolean, open: (payloads: Uint8Array[]) => Promise<void>, run: (requests: Uint8Array[]) => Promise<Uint8Array[]>) => Promise<string>} fitInBlocks
 * @property {WasmCommand} select
 * @property {WasmCommand} estimate
 * @property {WasmCommand} adapt
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string, progress?: Function) => string} evaluate
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string) => number} evaluateSplits
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string, splits: Uint8Array[]) => string} evaluateMerge
 * @property {WasmCommand} similar
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string) => number} similarWork
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string, shares: Uint8Array[]) => string} similarMerge
 * @property {(names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string) => Promise<string>} [similarGpu]
 *   present when the wasm was built with the `gpu` feature
 * @property {WasmCommand} filter
 * @property {WasmCommand} selectTasks
 * @property {(name: string, data: Uint8Array) => string} itemTexts
 * @property {(a: Float64Array, b: Float64Array) => number} kendallTau
 * @property {() => string} schema
 * @property {() => string} version
 */

/**
 * The initialised module and the compiled wasm it runs (handed to workers).
 * @typedef {{wasm: WasmModule, module: WebAssembly.Module}} LoadedCore
 */

const encoder = new TextEncoder();

/** Options that only JS reads: the responses' name and callbacks. */
const JS_ONLY = new Set(['name', 'onProgress', 'workers']);

/** @type {WeakMap<WasmModule, Schema>} */
const schemas = new WeakMap();

/**
 * The module's schema, parsed once.
 * @param {WasmModule} wasm
 * @returns {Schema}
 */
export function schemaOf(wasm) {
  let schema = schemas.get(wasm);
  if (!schema) {
    schema = /** @type {Schema} */ (JSON.parse(wasm.schema()));
    schemas.set(wasm, schema);
  }
  return schema;
}

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
 * Whether `value` is a file the way the API takes files (not a JSON value).
 * @param {unknown} value
 */
function isFileInput(value) {
  return (
    typeof value === 'string' ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    (typeof Blob !== 'undefined' && value instanceof Blob) ||
    (typeof value === 'object' && value !== null && 'data' in value)
  );
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
 * A command's files (by role) and the rest of its options (as JSON text),
 * as the wasm exports take them.
 * @param {WasmModule} wasm
 * @param {Command} command
 * @param {FileInput | FileInput[] | undefined} responses
 * @param {Record<string, unknown>} options
 */
async function pack(wasm, command, responses, options) {
  const schema = schemaOf(wasm);
  /** @type {{name: string, role: string, bytes: Uint8Array}[]} */
  const files = [];
  if (responses !== undefined) {
    const list = Array.isArray(responses) ? responses : [responses];
    if (list.length === 0) throw new Error('no response file given');
    const name = typeof options.name === 'string' ? options.name : undefined;
    for (const [i, r] of list.entries()) {
      const fallback = name && list.length === 1 ? name : `responses${list.length > 1 ? i + 1 : ''}`;
      files.push({ role: 'responses', ...(await toNamed(r, fallback)) });
    }
  }
  /** @type {Record<string, unknown>} */
  const rest = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null || JS_ONLY.has(key)) continue;
    const role = schema.roles.find((r) => r.key === key && r.role !== 'responses');
    if (!role) {
      rest[key] = value;
      continue;
    }
    const values = role.many && Array.isArray(value) ? value : [value];
    for (const [i, v] of values.entries()) {
      const input = role.json && !isFileInput(v) ? JSON.stringify(v) : /** @type {FileInput} */ (v);
      const fallback = values.length > 1 ? role.file.replace(/(\.[^.]+)$/, `${i + 1}$1`) : role.file;
      files.push({ role: role.role, ...(await toNamed(input, fallback)) });
    }
  }
  if (!schema.commands[command]) throw new Error(`internal: no command '${command}'`);
  return { ...concat(files), options: JSON.stringify(rest) };
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
 * Calls a wasm export, rethrowing its errors as plain `Error`s with the
 * message the CLI prints (wasm-bindgen's errors are not always `Error`s).
 * @template T
 * @param {() => T | Promise<T>} call
 * @returns {Promise<T>}
 */
async function rethrow(call) {
  try {
    return await call();
  } catch (e) {
    throw new Error(e instanceof Error ? e.message : String(e));
  }
}

/**
 * @param {WasmModule} wasm
 * @param {Exclude<Command, 'fit' | 'evaluate' | 'similar'>} command
 * @param {FileInput | FileInput[] | undefined} responses
 * @param {Record<string, unknown>} options
 */
async function call(wasm, command, responses, options) {
  const { names, roles, lengths, data, options: json } = await pack(wasm, command, responses, options);
  return JSON.parse(await rethrow(() => wasm[command](names, roles, lengths, data, json)));
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {InfoOptions} [options]
 * @returns {Promise<Info>}
 */
export async function info(wasm, responses, options = {}) {
  return call(wasm, 'info', responses, { ...options });
}

/**
 * `job(pool)` on a pool of `size` workers, closed after. Where workers
 * cannot start here (a bundler that left the worker file out, a
 * Content-Security-Policy without `worker-src`, a file:// page), `alone()`
 * instead: the same result in the calling thread.
 * @template T
 * @param {number} size
 * @param {WebAssembly.Module} module
 * @param {(pool: Pool) => Promise<T>} job
 * @param {() => Promise<T>} alone
 * @returns {Promise<T>}
 */
async function withPool(size, module, job, alone) {
  const pool = new Pool(size, module);
  try {
    return await job(pool);
  } catch (e) {
    if (!pool.failedToStart) throw e;
    pool.close();
    return alone();
  } finally {
    pool.close();
  }
}

/**
 * Multiply-adds (n² × dims) below which a similarity search stays in the
 * calling thread: about a tenth of a second there, less than starting a pool.
 */
const SMALLEST_SHARED_SEARCH = 2e9;

/** Whether this environment offers a WebGPU adapter that is not a software fallback. */
async function hasRealAdapter() {
  const gpu = /** @type {{gpu?: {requestAdapter(): Promise<{info?: {isFallbackAdapter?: boolean}, isFallbackAdapter?: boolean} | null>}}} */ (
    /** @type {unknown} */ (globalThis.navigator)
  )?.gpu;
  if (!gpu) return false;
  try {
    const adapter = await gpu.requestAdapter();
    return Boolean(adapter) && !(adapter?.info?.isFallbackAdapter ?? adapter?.isFallbackAdapter);
  } catch {
    return false;
  }
}

/**
 * @param {LoadedCore} core
 * @param {FileInput | FileInput[]} responses
 * @param {FitOptions} [options]
 * @returns {Promise<FitResult>}
 */
export async function fit({ wasm, module }, responses, options = {}) {
  const { names, roles, lengths, data, options: json } = await pack(wasm, 'fit', responses, { ...options });
  const { onProgress } = options;
  const progress = onProgress
    ? (/** @type {number} */ iteration, /** @type {number} */ maxIterations, /** @type {number} */ logLikelihood, /** @type {number} */ maxChange) =>
        onProgress({ iteration, maxIterations, logLikelihood, maxChange }) !== false
    : undefined;
  // The GPU entry is async (WebGPU readbacks are), runs the same EM and
  // chooses between GPU and CPU itself, saying why in `backend`. `cpu` takes
  // the synchronous entry: no adapter is even probed.
  const alone = async () => {
    const gpu = wasm.fitGpu;
    if (options.backend !== 'cpu' && typeof gpu === 'function') {
      return JSON.parse(await rethrow(() => gpu(names, roles, lengths, data, json, progress)));
    }
    return JSON.parse(await rethrow(() => wasm.fit(names, roles, lengths, data, json, progress)));
  };
  // A pool of workers, each holding a block of the models, unless one is
  // asked for or the GPU is: the same fit to the bit for any size.
  const workers = await poolSize(options.workers);
  if (workers <= 1 || options.backend === 'gpu') return alone();
  // Left to choose, the core splits only where the messages cost less than the work.
  const choose = options.workers === undefined || options.workers === 'auto';
  return withPool(
    workers,
    module,
    async (pool) =>
      JSON.parse(
        await rethrow(() =>
          wasm.fitInBlocks(names, roles, lengths, data, json, progress, workers, choose, (p) => pool.open(p), (r) => pool.run(r)),
        ),
      ),
    alone,
  );
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {SelectOptions} options
 * @returns {Promise<Subset>}
 */
export async function select(wasm, responses, options) {
  return call(wasm, 'select', responses, { ...options });
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {EstimateOptions} options
 * @returns {Promise<Estimates>}
 */
export async function estimate(wasm, responses, options) {
  return call(wasm, 'estimate', responses, { ...options });
}

/**
 * One round of an adaptive test, as `benchsift adapt` runs it.
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[] | undefined} answers the answers so far (any response format); none at the start
 * @param {AdaptOptions} options
 * @returns {Promise<Adaptation>}
 */
export async function adapt(wasm, answers, options) {
  return call(wasm, 'adapt', answers, { ...options });
}

/** One CSV field, quoted when it must be. @param {string} field */
function csvField(field) {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/**
 * An adaptive test held in JS: the answers are kept here and every call
 * replays them through the core (a test's items depend only on the fit, the
 * options and the answers in order, so this is the test one process would
 * run, and `benchsift adapt` given the same answers agrees).
 * @param {WasmModule} wasm
 * @param {import('./types.js').FitResult | FileInput} fitJson what `fit` returned (or its JSON text or file)
 * @param {AdaptiveTestOptions} [options]
 * @returns {Promise<AdaptiveTest>}
 */
export async function adaptiveTest(wasm, fitJson, options = {}) {
  const { batch: _batch, ...rest } = options;
  /** @type {{id: string, score: number}[]} */
  const answers = [];
  /** @param {{id: string, score: number}[]} list @param {number} batch */
  const run = (list, batch) => {
    const csv = list.length === 0 ? undefined : `model,item,score\nnew model,${list.map((a) => `${csvField(a.id)},${a.score}`).join('\nnew model,')}\n`;
    return adapt(wasm, csv === undefined ? undefined : { name: 'answers.csv', data: csv }, { ...rest, fit: fitJson, batch });
  };
  let current = await run(answers, 1);
  return {
    async next(k = options.batch ?? 1) {
      current = await run(answers, k);
      return current.next;
    },
    async record(itemId, score) {
      if (!Number.isFinite(score)) throw new Error(`the score of item '${itemId}' is not a number`);
      if (answers.some((a) => a.id === String(itemId))) throw new Error(`item '${itemId}' was answered already`);
      const attempt = [...answers, { id: String(itemId), score }];
      const result = await run(attempt, 1);
      // The core leaves out an item it does not know, with a warning; here that is a mistake.
      if (result.answers.length !== attempt.length) throw new Error(`item '${itemId}' is not in the fit`);
      answers.push(attempt[attempt.length - 1]);
      current = result;
      return current.state;
    },
    state: () => current.state,
    history: () => current.history,
    answers: () => current.answers,
  };
}

/**
 * @param {LoadedCore} core
 * @param {FileInput | FileInput[]} responses
 * @param {EvaluateOptions} [options]
 * @returns {Promise<Evaluation>}
 */
export async function evaluate({ wasm, module }, responses, options = {}) {
  const { names, roles, lengths, data, options: json } = await pack(wasm, 'evaluate', responses, { ...options });
  const { onProgress } = options;
  const alone = async () => {
    const progress = onProgress
      ? (/** @type {number} */ fraction, /** @type {number} */ done, /** @type {number} */ total) => onProgress({ fraction, done, total })
      : undefined;
    return JSON.parse(await rethrow(() => wasm.evaluate(names, roles, lengths, data, json, progress)));
  };
  // The splits (folds, or a holdout per seed) over a pool of workers, each
  // taking the next split as it finishes one; merged in split order, so the
  // result is the same bytes as in one thread.
  const workers = await poolSize(options.workers);
  const splits = workers > 1 ? await rethrow(() => wasm.evaluateSplits(names, roles, lengths, data, json)) : 1;
  if (splits <= 1) return alone();
  const within = new Array(splits).fill(0);
  let done = 0;
  const report = () => onProgress?.({ fraction: within.reduce((a, b) => a + b, 0) / splits, done, total: splits });
  const events = {
    onProgress: (/** @type {number} */ k, /** @type {unknown} */ p) => {
      const { done: steps, steps: of } = /** @type {{done: number, steps: number}} */ (p);
      within[k] = of > 0 ? Math.min(1, steps / of) : 0;
      report();
    },
    onDone: (/** @type {number} */ k) => {
      within[k] = 1;
      done++;
      report();
    },
  };
  return withPool(
    Math.min(workers, splits),
    module,
    async (pool) => {
      const results = await pool.map(splits, { op: 'evaluate-files', names, roles, lengths, data, options: json }, (split) => ({ op: 'evaluate-split', split }), events);
      return JSON.parse(await rethrow(() => wasm.evaluateMerge(names, roles, lengths, data, json, results)));
    },
    alone,
  );
}

/**
 * @param {LoadedCore} core
 * @param {SimilarOptions} options
 * @returns {Promise<SimilarReport>}
 */
export async function similar({ wasm, module }, options) {
  const { names, roles, lengths, data, options: json } = await pack(wasm, 'similar', undefined, { ...options });
  // The GPU entry is async (WebGPU is); it decides between GPU and CPU itself
  // and says why in `backend`. `cpu` skips it: no adapter is even probed.
  const alone = async () => {
    const gpu = wasm.similarGpu;
    if (options.backend !== 'cpu' && typeof gpu === 'function') {
      return JSON.parse(await rethrow(() => gpu(names, roles, lengths, data, json)));
    }
    return JSON.parse(await rethrow(() => wasm.similar(names, roles, lengths, data, json)));
  };
  // On the CPU, a search large enough to pay is shared out over a pool of
  // workers, each taking every n-th block of rows (the same bytes as one
  // thread); a real GPU adapter keeps `auto` on the GPU entry.
  const workers = await poolSize(options.workers);
  if (workers <= 1 || options.backend === 'gpu' || (options.backend !== 'cpu' && (await hasRealAdapter()))) return alone();
  // Left to choose, only a search that outweighs starting the pool; a number always shares.
  const choose = options.workers === undefined || options.workers === 'auto';
  if (choose && (await rethrow(() => wasm.similarWork(names, roles, lengths, data, json))) < SMALLEST_SHARED_SEARCH) return alone();
  return withPool(
    workers,
    module,
    async (pool) => {
      const shares = await pool.map(workers, { op: 'similar-files', names, roles, lengths, data, options: json }, (share) => ({ op: 'similar-share', share, shares: workers }));
      return JSON.parse(await rethrow(() => wasm.similarMerge(names, roles, lengths, data, json, shares)));
    },
    alone,
  );
}

/**
 * Every item's id and text from an items CSV, in file order.
 * @param {WasmModule} wasm
 * @param {FileInput} items
 * @returns {Promise<import('./types.js').ItemTexts>}
 */
export async function itemTexts(wasm, items) {
  const { name, bytes } = await toNamed(items, 'items.csv');
  return JSON.parse(await rethrow(() => wasm.itemTexts(name, bytes)));
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} responses
 * @param {FilterOptions} [options]
 * @returns {Promise<FilterReport>}
 */
export async function filter(wasm, responses, options = {}) {
  return call(wasm, 'filter', responses, { ...options });
}

/**
 * @param {WasmModule} wasm
 * @param {FileInput | FileInput[]} matrix
 * @param {SelectTasksOptions} options
 * @returns {Promise<TaskSelection>}
 */
export async function selectTasks(wasm, matrix, options) {
  return call(wasm, 'selectTasks', matrix, { ...options });
}

/**
 * Files tagged with roles (as a page collects them) as a command's
 * arguments: the responses and the option keys of the other files, keeping
 * only the roles the command takes.
 * @param {WasmModule} wasm
 * @param {Command} command
 * @param {{name: string, role: string, data: ArrayBuffer | Uint8Array}[]} files
 * @returns {{responses: {name: string, data: ArrayBuffer | Uint8Array}[], options: Record<string, unknown>}}
 */
export function fileOptions(wasm, command, files) {
  const schema = schemaOf(wasm);
  const takes = new Set(schema.commands[command]?.files ?? []);
  /** @type {Record<string, unknown>} */
  const options = {};
  const responses = [];
  for (const f of files) {
    if (!takes.has(f.role)) continue;
    const named = { name: f.name, data: f.data };
    if (f.role === 'responses') {
      responses.push(named);
      continue;
    }
    const role = schema.roles.find((r) => r.role === f.role);
    if (!role) throw new Error(`unknown file role '${f.role}'`);
    if (role.many) options[role.key] = [.../** @type {unknown[]} */ (options[role.key] ?? []), named];
    else options[role.key] = named;
  }
  return { responses, options };
}

/**
 * Kendall's τ-b of two series (NaN with any NaN or a constant series), as
 * the core computes it everywhere else.
 * @param {WasmModule} wasm
 * @param {ArrayLike<number>} a
 * @param {ArrayLike<number>} b
 */
export function kendallTau(wasm, a, b) {
  try {
    return wasm.kendallTau(Float64Array.from(a), Float64Array.from(b));
  } catch (e) {
    throw new Error(e instanceof Error ? e.message : String(e));
  }
}

/**
 * The public API, bound to a lazily initialised wasm module (the Node and
 * browser entries differ only in how they load it).
 * @param {() => Promise<LoadedCore>} init
 * @returns {Pick<typeof import('./types.js'), 'info' | 'fit' | 'select' | 'estimate' | 'adapt' | 'adaptiveTest' | 'evaluate' | 'similar' | 'itemTexts' | 'filter' | 'selectTasks' | 'fileOptions' | 'kendallTau' | 'schema' | 'version'>}
 */
export function bind(init) {
  const core = async () => (await init()).wasm;
  return {
    info: async (responses, options) => info(await core(), responses, options),
    fit: async (responses, options) => fit(await init(), responses, options),
    select: async (responses, options) => select(await core(), responses, options),
    estimate: async (responses, options) => estimate(await core(), responses, options),
    adapt: async (answers, options) => adapt(await core(), answers, options),
    adaptiveTest: async (fitJson, options) => adaptiveTest(await core(), fitJson, options),
    evaluate: async (responses, options) => evaluate(await init(), responses, options),
    similar: async (options) => similar(await init(), options),
    itemTexts: async (items) => itemTexts(await core(), items),
    filter: async (responses, options) => filter(await core(), responses, options),
    selectTasks: async (matrix, options) => selectTasks(await core(), matrix, options),
    fileOptions: async (command, files) => fileOptions(await core(), command, files),
    kendallTau: async (a, b) => kendallTau(await core(), a, b),
    schema: async () => schemaOf(await core()),
    version: async () => (await core()).version(),
  };
}
