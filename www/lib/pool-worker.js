// One worker of the pool (pool.js): holds a block of a fit's models as the
// core's EStepBlock and answers each E-step request with its bytes, or holds
// an evaluation's or a similarity search's files and runs the splits or
// shares it is sent. The same file runs
// as a Web Worker and as a Node worker thread.
import { EStepBlock, evaluateSplit, initSync, similarShare } from '../pkg/benchsift.js';

const isNode = typeof process !== 'undefined' && Boolean(process.versions?.node) && typeof self === 'undefined';

/** @type {{postMessage(message: unknown, transfer: ArrayBuffer[]): void}} */
const port = isNode
  ? /** @type {any} */ ((await import('node:worker_threads')).parentPort)
  : /** @type {any} */ (self);

/** @type {EStepBlock | undefined} */
let block;
/** The evaluation or search whose parts this worker runs: its files and options. */
/** @type {{names: string[], roles: string[], lengths: Uint32Array, data: Uint8Array, options: string} | undefined} */
let job;
let initialised = false;

/**
 * @typedef {object} PoolMessage
 * @property {number} id
 * @property {string} op
 * @property {WebAssembly.Module} [module] the core, with a worker's first message
 * @property {Uint8Array} [bytes] a block (`open`) or an E-step request (`run`)
 * @property {string[]} [names] an evaluation's or a search's files and options (`evaluate-files`, `similar-files`)
 * @property {string[]} [roles]
 * @property {Uint32Array} [lengths]
 * @property {Uint8Array} [data]
 * @property {string} [options]
 * @property {number} [split] the split to run (`evaluate-split`)
 * @property {number} [share] the share of the search to run, of `shares` (`similar-share`)
 * @property {number} [shares]
 */

/** @param {PoolMessage} message */
function answer(message) {
  const { id, op, module } = message;
  try {
    if (!initialised) {
      if (!module) throw new Error('the first message to a pool worker must carry the wasm module');
      initSync({ module });
      initialised = true;
    }
    if (op === 'open') {
      block?.free();
      block = new EStepBlock(/** @type {Uint8Array} */ (message.bytes));
      port.postMessage({ id, ok: true }, []);
    } else if (op === 'run') {
      if (!block) throw new Error('a pool worker was asked for an E-step before it was given a block');
      const out = block.run(/** @type {Uint8Array} */ (message.bytes));
      port.postMessage({ id, ok: true, bytes: out }, [/** @type {ArrayBuffer} */ (out.buffer)]);
    } else if (op === 'evaluate-files' || op === 'similar-files') {
      const { names, roles, lengths, data, options } = message;
      if (!names || !roles || !lengths || !data || options === undefined) throw new Error(`${op} needs the files and options`);
      job = { names, roles, lengths, data, options };
      port.postMessage({ id, ok: true }, []);
    } else if (op === 'evaluate-split') {
      if (!job) throw new Error('a pool worker was asked for a split before it was given the files');
      const e = job;
      const progress = (/** @type {number} */ done, /** @type {number} */ steps) => port.postMessage({ id, progress: { done, steps } }, []);
      const out = evaluateSplit(e.names, e.roles, e.lengths, e.data, e.options, /** @type {number} */ (message.split), progress);
      port.postMessage({ id, ok: true, bytes: out }, [/** @type {ArrayBuffer} */ (out.buffer)]);
    } else if (op === 'similar-share') {
      if (!job) throw new Error('a pool worker was asked for a share of a search before it was given the files');
      const e = job;
      const out = similarShare(e.names, e.roles, e.lengths, e.data, e.options, /** @type {number} */ (message.share), /** @type {number} */ (message.shares));
      port.postMessage({ id, ok: true, bytes: out }, [/** @type {ArrayBuffer} */ (out.buffer)]);
    } else {
      throw new Error(`unknown pool message '${op}'`);
    }
  } catch (e) {
    port.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) }, []);
  }
}

if (isNode) /** @type {any} */ (port).on('message', answer);
else /** @type {any} */ (port).onmessage = (/** @type {MessageEvent} */ e) => answer(e.data);
