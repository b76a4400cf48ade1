// One worker of the pool (pool.js): holds a block of a fit's models as the
// core's EStepBlock and answers each E-step request with its bytes. The same
// file runs as a Web Worker and as a Node worker thread.
import { EStepBlock, initSync } from '../pkg/benchsift.js';

const isNode = typeof process !== 'undefined' && Boolean(process.versions?.node) && typeof self === 'undefined';

/** @type {{postMessage(message: unknown, transfer: ArrayBuffer[]): void}} */
const port = isNode
  ? /** @type {any} */ ((await import('node:worker_threads')).parentPort)
  : /** @type {any} */ (self);

/** @type {EStepBlock | undefined} */
let block;
let initialised = false;

/** @param {{id: number, op: string, module?: WebAssembly.Module, bytes: Uint8Array}} message */
function answer(message) {
  const { id, op, module, bytes } = message;
  try {
    if (op === 'open') {
      if (!initialised) {
        if (!module) throw new Error('the first message to a pool worker must carry the wasm module');
        initSync({ module });
        initialised = true;
      }
      block?.free();
      block = new EStepBlock(bytes);
      port.postMessage({ id, ok: true }, []);
    } else if (op === 'run') {
      if (!block) throw new Error('a pool worker was asked for an E-step before it was given a block');
      const out = block.run(bytes);
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
