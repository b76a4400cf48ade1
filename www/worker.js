// Runs the wasm core off the main thread so the page never freezes.
// Messages in: {id, op, files: {name, role, data}[], options}.
// Messages out: {id, ok: true, result, ms}, {id, ok: false, error}, and
// {id, progress} while a long job runs.
import { estimate, evaluate, filter, fit, info, itemTexts, select, similar, version } from './lib/browser.js';

/** Texts of the last items file asked about, by item id. */
let textCache = { name: '', bytes: 0, texts: /** @type {Map<string, string>} */ (new Map()) };

/** @param {{name: string, role: string, data: ArrayBuffer}[]} files */
function split(files) {
  const responses = files.filter((f) => f.role === 'responses').map((f) => ({ name: f.name, data: f.data }));
  const items = files.find((f) => f.role === 'items');
  const models = files.find((f) => f.role === 'models');
  return { responses, items, models };
}

/**
 * The selectors' side files: embeddings (kcenter, dpp), automatic-metric
 * scores (metric-*, several for metric-balance) and outputs (diversity).
 * @param {{name: string, role: string, data: ArrayBuffer}[]} files
 */
function sideFiles(files) {
  const named = (/** @type {{name: string, data: ArrayBuffer} | undefined} */ f) => f && { name: f.name, data: f.data };
  const metrics = files.filter((f) => f.role === 'metric').map((f) => ({ name: f.name, data: f.data }));
  return {
    embeddings: named(files.find((f) => f.role === 'embeddings')),
    outputs: named(files.find((f) => f.role === 'outputs')),
    ...(metrics.length > 0 ? { metricScores: metrics } : {}),
  };
}

// Typed as a worker scope: the project's tsconfig has the DOM lib, where
// `self` is a Window.
const scope = /** @type {{postMessage(message: unknown): void, onmessage: ((event: MessageEvent) => void) | null}} */ (
  /** @type {unknown} */ (self)
);

scope.onmessage = async (event) => {
  const { id, op, files, options } = event.data;
  const started = performance.now();
  try {
    let result;
    if (op === 'version') {
      result = await version();
    } else if (op === 'similar') {
      const items = files.find((f) => f.role === 'items');
      const embeddings = files.find((f) => f.role === 'embeddings');
      result = await similar({
        ...options,
        items: items && { name: items.name, data: items.data },
        embeddings: embeddings && { name: embeddings.name, data: embeddings.data },
      });
    } else if (op === 'itemText') {
      const items = files.find((f) => f.role === 'items');
      if (!items) {
        result = null;
      } else {
        if (textCache.name !== items.name || textCache.bytes !== items.data.byteLength) {
          const { ids, texts } = await itemTexts({ name: items.name, data: items.data });
          textCache = { name: items.name, bytes: items.data.byteLength, texts: new Map(ids.map((id, k) => [id, texts[k]])) };
        }
        result = textCache.texts.get(options.id) ?? null;
      }
    } else if (op === 'filter') {
      const { responses, items, models } = split(files);
      const embeddings = files.find((f) => f.role === 'embeddings');
      result = await filter(responses, {
        ...options,
        items: items && { name: items.name, data: items.data },
        models: models && { name: models.name, data: models.data },
        embeddings: embeddings && { name: embeddings.name, data: embeddings.data },
      });
    } else if (op === 'estimate') {
      const { responses, models } = split(files);
      result = await estimate(responses, { ...options, models: models && { name: models.name, data: models.data } });
    } else if (op === 'info' || op === 'select' || op === 'evaluate' || op === 'fit') {
      const { responses, items, models } = split(files);
      const all = {
        ...options,
        items: items && { name: items.name, data: items.data },
        models: models && { name: models.name, data: models.data },
      };
      const onProgress = (/** @type {unknown} */ progress) => scope.postMessage({ id, progress });
      if (op === 'info') result = await info(responses, all);
      else if (op === 'select') result = await select(responses, { ...all, ...sideFiles(files) });
      else if (op === 'fit') result = await fit(responses, { ...all, onProgress });
      else result = await evaluate(responses, { ...all, ...sideFiles(files), onProgress });
    } else {
      throw new Error(`unknown operation '${op}'`);
    }
    scope.postMessage({ id, ok: true, result, ms: performance.now() - started });
  } catch (e) {
    scope.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
