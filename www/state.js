// The page's state in one object: the files in use and the last result of
// each panel. app.js makes it once and hands it to every panel's setup with
// the worker client; panels read what other panels produced from it (the
// item map highlights the last subset, estimates use the last fit).

/** @typedef {'responses' | 'items' | 'models' | 'truth' | 'embeddings' | 'metric' | 'outputs' | 'answer-only'} FileRole */

/** A loaded file and the role the user gave it. @typedef {{name: string, role: FileRole, data: ArrayBuffer}} PageFile */

/**
 * @typedef {object} PageState
 * @property {PageFile[]} files the files in use
 * @property {import('./lib/types.js').Info | null} info their summary (kept from the last good read)
 * @property {import('./lib/types.js').FitResult | null} fit the last fitted IRT model (the item map's, or the one an estimator needed)
 * @property {Map<string, number>} itemIndex item id → index into the items of the fit the item map shows
 * @property {import('./lib/types.js').Subset | null} subset the last selection
 * @property {Set<string>} holdout models held out of the last selection: their estimates are honest tests
 * @property {import('./lib/types.js').Estimates | null} estimates the last estimates
 * @property {import('./lib/types.js').FilterReport | null} filter the last filter report
 */

/**
 * What every panel's setup gets.
 * @typedef {object} Page
 * @property {PageState} state
 * @property {import('./client.js').WorkerClient} client
 */

/** @returns {PageState} */
export function createState() {
  return {
    files: [],
    info: null,
    fit: null,
    itemIndex: new Map(),
    subset: null,
    holdout: new Set(),
    estimates: null,
    filter: null,
  };
}
