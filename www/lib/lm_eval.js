// Turns a subset into an lm-evaluation-harness run restricted to its items.
// Pure JS (no wasm): shared by the page and the npm package.
//
// lm-evaluation-harness (checked with 0.4.13) takes `--samples '{"task": [doc indices]}'` and
// logs each evaluated document under its *original* index, provided the list
// is in ascending order (it maps the k-th evaluated document back through the
// list). So the logs of a subset run read back into benchsift with the same
// item ids (`<task>/<doc_id>`) as the full run the subset was chosen from, and
// `benchsift estimate` can use them directly.

/** @typedef {import('./types.js').Subset} Subset */
/** @typedef {import('./types.js').LmEvalRun} LmEvalRun */

/**
 * @param {Subset} subset
 * @param {{task?: string, model?: string}} [options] `task` names the task for
 *   plain numeric ids (document indices of one task); `model` fills the command.
 * @returns {LmEvalRun}
 */
export function lmEvalSamples(subset, options = {}) {
  /** @type {Map<string, number[]>} */
  const byTask = new Map();
  const bad = [];
  for (const id of subset.items) {
    // `<task>/<doc_id>` as benchsift reads lm-eval logs; a bare index when the
    // caller names the task.
    const slash = id.lastIndexOf('/');
    const task = slash > 0 ? id.slice(0, slash) : options.task;
    const index = slash > 0 ? id.slice(slash + 1) : id;
    if (!task || !/^\d+$/.test(index)) {
      bad.push(id);
      continue;
    }
    const list = byTask.get(task) ?? [];
    list.push(Number(index));
    byTask.set(task, list);
  }
  if (bad.length > 0) {
    const example = bad.slice(0, 3).map((id) => `'${id}'`).join(', ');
    throw new Error(
      `${bad.length} of ${subset.items.length} item ids are not lm-evaluation-harness document indices (${example}): ` +
        'expected <task>/<doc_id> as benchsift reads samples_*.jsonl logs' +
        (options.task ? '' : ', or plain indices with a task name'),
    );
  }
  /** @type {Record<string, number[]>} */
  const samples = {};
  for (const task of [...byTask.keys()].sort()) {
    samples[task] = [...new Set(byTask.get(task))].sort((a, b) => a - b);
  }
  const tasks = Object.keys(samples).join(',');
  const model = options.model ?? 'hf --model_args pretrained=<your model>';
  const command =
    `lm_eval --model ${model} --tasks ${tasks} --samples samples.json --log_samples --output_path subset_run/\n` +
    `benchsift estimate subset_run/ --subset subset.json --estimator weighted`;
  return { samples, command };
}
