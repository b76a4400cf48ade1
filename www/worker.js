// Runs the wasm core off the main thread so the page never freezes.
// Messages in: {id, op, files: {name, role, data}[], options}.
// Messages out: {id, ok: true, result, ms}, {id, ok: false, error}, and
// {id, progress} while a long job runs.
//
// The page sends every loaded file with its role; which of them a command
// takes, and under which option, is the core's schema (`fileOptions`), so
// nothing here lists roles or options.
import * as api from './lib/browser.js';

/** Texts of the last items file asked about, by item id. */
let textCache = { name: '', bytes: 0, texts: /** @type {Map<string, string>} */ (new Map()) };

// Typed as a worker scope: the project's tsconfig has the DOM lib, where
// `self` is a Window.
const scope = /** @type {{postMessage(message: unknown): void, onmessage: ((event: MessageEvent) => void) | null}} */ (
  /** @type {unknown} */ (self)
);

/** The commands a message may name, each with how it is called. */
const COMMANDS = /** @type {const} */ (['info', 'fit', 'select', 'estimate', 'adapt', 'evaluate', 'similar', 'filter', 'selectTasks']);

/**
 * @param {number} id
 * @param {string} op
 * @param {{name: string, role: string, data: ArrayBuffer}[]} files
 * @param {Record<string, any>} options
 */
async function run(id, op, files, options) {
  if (op === 'version') return api.version();
  if (op === 'kendallTau') return api.kendallTau(options.a, options.b);
  if (op === 'itemText') {
    const items = files.find((f) => f.role === 'items');
    if (!items) return null;
    if (textCache.name !== items.name || textCache.bytes !== items.data.byteLength) {
      const { ids, texts } = await api.itemTexts({ name: items.name, data: items.data });
      textCache = { name: items.name, bytes: items.data.byteLength, texts: new Map(ids.map((itemId, k) => [itemId, texts[k]])) };
    }
    return textCache.texts.get(options.id) ?? null;
  }
  const command = COMMANDS.find((c) => c === op);
  if (!command) throw new Error(`unknown operation '${op}'`);
  const { responses, options: fileOptions } = await api.fileOptions(command, files);
  const onProgress = (/** @type {unknown} */ progress) => scope.postMessage({ id, progress });
  const all = { ...options, ...fileOptions };
  switch (command) {
    case 'similar':
      return api.similar(all);
    case 'fit':
      return api.fit(responses, { ...all, onProgress });
    case 'evaluate':
      return api.evaluate(responses, { ...all, onProgress });
    case 'adapt':
      // No answers yet at the start of a test.
      return api.adapt(responses.length > 0 ? responses : undefined, /** @type {any} */ (all));
    default:
      return api[command](responses, /** @type {any} */ (all));
  }
}

scope.onmessage = async (/** @type {MessageEvent} */ event) => {
  const { id, op, files, options } = event.data;
  const started = performance.now();
  try {
    const result = await run(id, op, files, options ?? {});
    scope.postMessage({ id, ok: true, result, ms: performance.now() - started });
  } catch (e) {
    scope.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
