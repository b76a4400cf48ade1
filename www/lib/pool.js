// A pool of workers that each hold a block of a fit's models and run its
// E-steps (the core's `fitInBlocks` drives them; see crate/src/irt/blocks.rs).
// Web Workers in the browser, worker_threads in Node; messages are plain
// bytes, transferred, so no SharedArrayBuffer (nor COOP/COEP headers) is
// needed. Workers start on the first `open`, get the compiled wasm module
// with their block, and end with `close`.

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
 * @property {(listener: (message: {id: number, ok: boolean, bytes?: Uint8Array, error?: string}) => void) => void} listen
 * @property {(listener: (error: Error) => void) => void} onError
 * @property {() => void} terminate
 */

/** @returns {Promise<PoolWorker>} */
async function spawn() {
  const url = new URL('./pool-worker.js', import.meta.url);
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(url);
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
  const w = new Worker(url, { type: 'module' });
  return {
    post: (message, transfer) => w.postMessage(message, transfer),
    listen: (listener) => w.addEventListener('message', (e) => listener(e.data)),
    onError: (listener) => w.addEventListener('error', (e) => listener(new Error(e.message || 'a pool worker failed to start'))),
    terminate: () => w.terminate(),
  };
}

export class Pool {
  /** @type {WebAssembly.Module} */
  #module;
  #size;
  /** @type {PoolWorker[]} */
  #workers = [];
  #nextId = 0;
  /** @type {Map<number, {resolve: (bytes: Uint8Array | undefined) => void, reject: (e: Error) => void}>} */
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
   * Starts one worker per payload and hands each its block.
   * @param {Uint8Array[]} payloads
   */
  async open(payloads) {
    if (payloads.length > this.#size) throw new Error(`${payloads.length} blocks for a pool of ${this.#size}`);
    while (this.#workers.length < payloads.length) {
      const w = await spawn();
      w.listen((m) => this.#settle(m));
      w.onError((e) => this.#failAll(e));
      this.#workers.push(w);
    }
    await Promise.all(payloads.map((bytes, k) => this.#ask(k, { op: 'open', module: this.#module, bytes })));
  }

  /**
   * One request per block, all at once; the answers in block order.
   * @param {Uint8Array[]} requests
   * @returns {Promise<Uint8Array[]>}
   */
  async run(requests) {
    const answers = await Promise.all(requests.map((bytes, k) => this.#ask(k, { op: 'run', bytes })));
    return answers.map((a) => {
      if (!a) throw new Error('a pool worker answered without bytes');
      return a;
    });
  }

  /** Ends every worker (pending calls are rejected). */
  close() {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#failAll(new Error('the worker pool was closed'));
  }

  /**
   * @param {number} k
   * @param {{op: string, module?: WebAssembly.Module, bytes: Uint8Array}} message
   * @returns {Promise<Uint8Array | undefined>}
   */
  #ask(k, message) {
    const id = this.#nextId++;
    const bytes = message.bytes;
    // Transfer the bytes when they own their buffer (wasm-bindgen's copies do).
    const transfer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [/** @type {ArrayBuffer} */ (bytes.buffer)] : [];
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#workers[k].post({ ...message, id }, transfer);
    });
  }

  /** @param {{id: number, ok: boolean, bytes?: Uint8Array, error?: string}} message */
  #settle(message) {
    const call = this.#pending.get(message.id);
    if (!call) return;
    this.#pending.delete(message.id);
    if (message.ok) call.resolve(message.bytes);
    else call.reject(new Error(message.error ?? 'a pool worker failed'));
  }

  /** @param {Error} error */
  #failAll(error) {
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }
}
