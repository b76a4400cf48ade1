// The client of worker.js, shared by the page (app.js) and <benchsift-report>:
// starts the worker, posts {id, op, files, options}, settles each call by its
// id, and hands {id, progress} messages to that call's callback. The wasm core
// cannot be interrupted mid-call, so cancelling ends the worker and starts a
// fresh one.

/** @typedef {import('./lib/types.js').FitProgress} FitProgress */

/**
 * What each operation of worker.js resolves to.
 * @typedef {object} WorkerResults
 * @property {import('./lib/types.js').Info} info
 * @property {import('./lib/types.js').FitResult} fit
 * @property {import('./lib/types.js').Subset} select
 * @property {import('./lib/types.js').Estimates} estimate
 * @property {import('./lib/types.js').Adaptation} adapt
 * @property {import('./lib/types.js').Evaluation} evaluate
 * @property {import('./lib/types.js').SimilarReport} similar
 * @property {import('./lib/types.js').FilterReport} filter
 * @property {import('./lib/types.js').TaskSelection} selectTasks
 * @property {string} version
 * @property {number} kendallTau the core's Kendall τ-b of `options.a` and `options.b`
 * @property {string | null} itemText the text of item `options.id` in the items file, if it has one
 */

/** @typedef {keyof WorkerResults} WorkerOp */

/**
 * What an operation reports while it runs: fits after each EM iteration,
 * evaluations after each fold; the others report nothing.
 * @template {WorkerOp} Op
 * @typedef {Op extends 'fit' ? FitProgress : Op extends 'evaluate' ? {fraction: number, done: number, total: number} : never} ProgressOf
 */

/**
 * A file as the worker takes it: the role says which option of a command it fills.
 * @typedef {{name: string, role: string, data: ArrayBuffer}} WorkerFile
 */

/**
 * A call waiting for its answer.
 * @typedef {object} PendingCall
 * @property {(answer: {result: unknown, ms: number}) => void} resolve
 * @property {(error: Error) => void} reject
 * @property {(progress: unknown) => void} [onProgress]
 */

/**
 * A message from worker.js: an answer (`ok` and `result` or `error`) or a
 * progress report of a running call.
 * @typedef {{id: number, ok?: boolean, result?: unknown, error?: string, ms: number, progress?: unknown}} WorkerMessage
 */

/** The message a cancelled call is rejected with (the page tells it from failures by it). */
export const CANCELLED = 'cancelled';

export class WorkerClient {
  /** @type {URL} */
  #url;
  /** @type {Worker} */
  #worker;
  #nextId = 0;
  /** @type {Map<number, PendingCall>} */
  #pending = new Map();

  /** @param {URL} [url] of the worker module */
  constructor(url = new URL('./worker.js', import.meta.url)) {
    this.#url = url;
    this.#worker = this.#start();
  }

  #start() {
    const worker = new Worker(this.#url, { type: 'module' });
    worker.onmessage = (/** @type {MessageEvent<WorkerMessage>} */ event) => {
      const { id, ok, result, error, ms, progress } = event.data;
      const call = this.#pending.get(id);
      if (!call) return;
      if (progress !== undefined) {
        call.onProgress?.(progress);
        return;
      }
      this.#pending.delete(id);
      if (ok) call.resolve({ result, ms });
      else call.reject(new Error(error));
    };
    worker.onerror = (event) => this.#rejectAll(`the worker failed: ${event.message}`);
    return worker;
  }

  /** @param {string} message */
  #rejectAll(message) {
    for (const call of this.#pending.values()) call.reject(new Error(message));
    this.#pending.clear();
  }

  /**
   * Runs one operation in the worker.
   * @template {WorkerOp} Op
   * @param {Op} op
   * @param {WorkerFile[]} [files]
   * @param {object} [options]
   * @param {(progress: ProgressOf<Op>) => void} [onProgress]
   * @returns {Promise<{result: WorkerResults[Op], ms: number}>}
   */
  run(op, files = [], options = {}, onProgress) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve: /** @type {PendingCall['resolve']} */ (resolve),
        reject,
        onProgress: /** @type {PendingCall['onProgress']} */ (onProgress),
      });
      this.#worker.postMessage({ id, op, files, options });
    });
  }

  /** Stops whatever the worker is doing: every pending call is rejected as cancelled, and a fresh worker replaces it. */
  cancelAll() {
    this.#worker.terminate();
    this.#rejectAll(CANCELLED);
    this.#worker = this.#start();
  }

  /** Ends the worker for good (pending calls are rejected as cancelled); the client cannot be used after. */
  close() {
    this.#worker.terminate();
    this.#rejectAll(CANCELLED);
  }
}
