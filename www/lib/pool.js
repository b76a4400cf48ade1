// A pool of workers for the core's two kinds of split jobs: a fit's E-steps,
// each worker holding a block of the models (the core's `fitInBlocks` drives
// `open` and `run`; see crate/src/irt/blocks.rs), and an evaluation's splits,
// each worker taking the next split as it finishes one (`map`). Web Workers
// in the browser, worker_threads in Node; messages are plain bytes, so no
// SharedArrayBuffer (nor COOP/COEP headers) is needed. Workers start when
// first needed, get the compiled wasm module with their first message, and
// end with `close`.

/** Workers the pool starts at most when the caller leaves the size to it. */
export const MAX_AUTO_WORKERS = 8;

const isNode = typeof process !== 'undefined' && Boolean(process.versions?.node) && typeof window === 'undefined';

/**
 * The number of workers `workers` asks for: a positive integer as given, or
 * for `'auto'` (and by default) the machine's cores, at most
 * {@link MAX_AUTO_WORKERS}.
 * @param {number | 'auto' | undefined} workers
 * @returns {Promise<number>}
 */
export async function poolSize(workers) {
  if (workers === undefined || workers === 'auto') {
    const cores = isNode
      ? (await import('node:os')).availableParallelism()
      : typeof navigator !== 'undefined'
        ? navigator.hardwareConcurrency || 1
        : 1;
    return Math.max(1, Math.min(MAX_AUTO_WORKERS, cores));
  }
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a positive integer or 'auto', not ${JSON.stringify(workers)}`);
  return workers;
}

/**
 * One worker as the pool uses it, the same in both environments.
 * @typedef {object} PoolWorker
 * @property {(message: unknown, transfer: ArrayBuffer[]) => void} post
 * @property {(listener: (message: WorkerReply) => void) => void} listen
 * @property {(listener: (error: Error) => void) => void} onError
 * @property {() => void} terminate
 */

/** @returns {Promise<PoolWorker>} */
async function spawn() {
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(new URL('./pool-worker.js', import.meta.url));
    return {
      post: (message, transfer) => w.postMessage(message, transfer),
      listen: (listener) => w.on('message', listener),
      onError: (listener) => {
        w.on('error', listener);
        w.on('exit', (code) => code !== 0 && listener(new Error(`a pool worker exited with code ${code}`)));
      },
      terminate: () => void w.terminate(),
    };
  }
  // One expression, so that bundlers see the worker and bundle it.
  const w = new Worker(new URL('./pool-worker.js', import.meta.url), { type: 'module' });
  return {
    post: (message, transfer) => w.postMessage(message, transfer),
    listen: (listener) => w.addEventListener('message', (e) => listener(e.data)),
    onError: (listener) => w.addEventListener('error', (e) => listener(new Error(e.message || 'a pool worker failed to start'))),
    terminate: () => w.terminate(),
  };
}

/** A message from a worker: an answer, or progress of a running job. */
/** @typedef {{id: number, ok?: boolean, bytes?: Uint8Array, error?: string, progress?: unknown}} WorkerReply */

export class Pool {
  /** @type {WebAssembly.Module} */
  #module;
  #size;
  /** @type {{worker: PoolWorker, started: boolean, answered: boolean, dead: boolean}[]} */
  #workers = [];
  #closed = false;
  /** Whether a worker failed before it ever answered (it could not start here). */
  failedToStart = false;
  #nextId = 0;
  /** @type {Map<number, {resolve: (bytes: Uint8Array | undefined) => void, reject: (e: Error) => void, onProgress?: (progress: unknown) => void}>} */
  #pending = new Map();

  /**
   * @param {number} size workers at most
   * @param {WebAssembly.Module} module the compiled core, sent to each worker
   */
  constructor(size, module) {
    this.#size = size;
    this.#module = module;
  }

  get size() {
    return this.#size;
  }

  /**
   * Starts one worker per payload and hands each its block of models.
   * @param {Uint8Array[]} payloads
   */
  async open(payloads) {
    if (payloads.length > this.#size) throw new Error(`${payloads.length} blocks for a pool of ${this.#size}`);
    await this.#start(payloads.length);
    await Promise.all(payloads.map((bytes, k) => this.#ask(k, { op: 'open', bytes }, transferable(bytes))));
  }

  /**
   * One E-step request per block, all at once; the answers in block order.
   * @param {Uint8Array[]} requests
   * @returns {Promise<Uint8Array[]>}
   */
  async run(requests) {
    const answers = await Promise.all(requests.map((bytes, k) => this.#ask(k, { op: 'run', bytes }, transferable(bytes))));
    return answers.map((a) => {
      if (!a) throw new Error('a pool worker answered without bytes');
      return a;
    });
  }

  /**
   * Jobs 0 … count − 1 over the workers, each worker taking the next job as
   * it finishes one, after `setup` was sent to it once.
   * @param {number} count
   * @param {Record<string, unknown>} setup
   * @param {(k: number) => Record<string, unknown>} job the message of job k
   * @param {{onProgress?: (k: number, progress: unknown) => void, onDone?: (k: number) => void}} [events]
   * @returns {Promise<Uint8Array[]>} the answers in job order
   */
  async map(count, setup, job, events = {}) {
    const n = Math.min(this.#size, count);
    await this.#start(n);
    /** @type {Uint8Array[]} */
    const answers = new Array(count);
    let next = 0;
    const work = async (/** @type {number} */ w) => {
      await this.#ask(w, setup, []);
      while (next < count) {
        const k = next++;
        const answer = await this.#ask(w, job(k), [], (p) => events.onProgress?.(k, p));
        if (!answer) throw new Error('a pool worker answered without bytes');
        answers[k] = answer;
        try {
          events.onDone?.(k);
        } catch {
          // a caller's progress callback; ignored as in one thread
        }
      }
    };
    await Promise.all(Array.from({ length: n }, (_, w) => work(w)));
    return answers;
  }

  /** Ends every worker (pending calls are rejected). */
  close() {
    this.#failAll(new Error('the worker pool was closed'));
    this.#closed = true;
    for (const w of this.#workers) w.worker.terminate();
    this.#workers = [];
  }

  /** @param {number} n workers wanted */
  async #start(n) {
    while (this.#workers.length < n) {
      /** @type {PoolWorker} */
      let worker;
      try {
        worker = await spawn();
      } catch (e) {
        this.failedToStart = true;
        throw e;
      }
      const entry = { worker, started: false, answered: false, dead: false };
      worker.listen((m) => {
        entry.answered = true;
        this.#settle(m);
      });
      worker.onError((e) => {
        entry.dead = true;
        if (!entry.answered) this.failedToStart = true;
        this.#failAll(e);
      });
      this.#workers.push(entry);
    }
  }

  /**
   * Sends `message` to worker `k` (with the module, the first time) and
   * resolves to its answer's bytes.
   * @param {number} k
   * @param {Record<string, unknown>} message
   * @param {ArrayBuffer[]} transfer
   * @param {(progress: unknown) => void} [onProgress]
   * @returns {Promise<Uint8Array | undefined>}
   */
  #ask(k, message, transfer, onProgress) {
    const id = this.#nextId++;
    const w = this.#workers[k];
    if (this.#closed || w.dead) return Promise.reject(new Error(this.#closed ? 'the worker pool was closed' : 'a pool worker has died'));
    const module = w.started ? undefined : this.#module;
    w.started = true;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      w.worker.post({ ...message, id, module }, transfer);
    });
  }

  /** @param {WorkerReply} message */
  #settle(message) {
    const call = this.#pending.get(message.id);
    if (!call) return;
    if (message.progress !== undefined) {
      // A caller's callback that throws must not take the pool (or Node) down.
      try {
        call.onProgress?.(message.progress);
      } catch {
        // ignored, as the single-thread path ignores it
      }
      return;
    }
    this.#pending.delete(message.id);
    if (message.ok) call.resolve(message.bytes);
    else call.reject(new Error(message.error ?? 'a pool worker failed'));
  }

  /** @param {Error} error */
  #failAll(error) {
    // A terminated worker's exit, after close, is not a failure.
    if (this.#closed) return;
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }
}

/**
 * The buffer of `bytes` to transfer, when the bytes own it whole (wasm-bindgen's copies do).
 * @param {Uint8Array} bytes
 * @returns {ArrayBuffer[]}
 */
function transferable(bytes) {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [/** @type {ArrayBuffer} */ (bytes.buffer)] : [];
}
