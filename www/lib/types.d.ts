// Types of the benchsift JS API (the same for the Node and browser entries).

/**
 * A file: its text or bytes, a `File`/`Blob`, or `{name, data}`. Names matter
 * for lm-evaluation-harness logs (the folder is the model) and in messages.
 */
export type FileInput =
  | string
  | Uint8Array
  | ArrayBuffer
  | Blob
  | { name: string; data: string | Uint8Array | ArrayBuffer | Blob };

/** How to read a dataset. */
export interface LoadOptions {
  /** Name of the responses in messages when `responses` is bare text or bytes. */
  name?: string;
  /** Layout of the responses; detected from names and content when absent. */
  format?: 'wide' | 'long' | 'json' | 'lm-eval';
  /** lm-evaluation-harness per-sample metric (`acc`, `acc_norm`, `exact_match`, …). */
  metric?: string;
  /** lm-evaluation-harness filter to keep when a task logs several. */
  filter?: string;
  /** Items CSV: `item_id[,text][,subject|task|group][,cost]`. */
  items?: FileInput;
  /** Models CSV: `model[,release_date]`. */
  models?: FileInput;
  /** Refuse scores outside [0, 1]. */
  requireUnitInterval?: boolean;
  /** Refuse matrices with more cells than this (default 10⁹). */
  maxCells?: number;
}

export type InfoOptions = LoadOptions;

/** The summary `benchsift info` prints. */
export interface Info {
  models: number;
  items: number;
  /** Fraction of missing cells after dropping all-missing rows and columns. */
  missing_fraction: number;
  kind: 'binary' | 'continuous';
  /** Mean over observed cells. */
  mean: number;
  /** Items per group (subject/task) from the items file. */
  groups: Record<string, number>;
  format: 'wide' | 'long' | 'json' | 'lm-eval';
  /** Lowest and highest model mean. */
  model_mean_range: [number, number];
  /** What the reader dropped or ignored, in words. */
  warnings: string[];
}

/** Summarise a response matrix. Throws an `Error` naming file, line and column on bad input. */
export function info(responses: FileInput | FileInput[], options?: InfoOptions): Promise<Info>;

/** Progress of a running fit, after each EM iteration. */
export interface FitProgress {
  iteration: number;
  maxIterations: number;
  /** Marginal log-likelihood at the start of the iteration (dims > 1: the
   * variational evidence lower bound plus the items' log prior, which never decreases). */
  logLikelihood: number;
  /** Largest change of any (unconstrained) item parameter. */
  maxChange: number;
}

/** How to fit an IRT model (plus how to read the data). */
export interface FitOptions extends LoadOptions {
  /** The model (default `2pl`). `beta` is for continuous scores. */
  irt?: 'rasch' | '1pl' | '2pl' | '3pl' | '4pl' | 'beta';
  /** Latent dimensions (default 1). 2–10 fit a multidimensional 2PL,
   * P = σ(a·θ + d), by Gaussian variational EM; `a`, `theta` and `se` become arrays. */
  dims?: number;
  /** Seed (dims > 1: picks the random start of the starting abilities). */
  seed?: number;
  /** Fixed lower asymptote for 3pl/4pl, e.g. 0.25 for four options. */
  guess?: number;
  /** How continuous scores map into [0, 1] (default `auto`). */
  scale?: 'auto' | 'identity' | 'percent' | 'minmax';
  maxIterations?: number;
  tolerance?: number;
  /** Nodes of the latent grid on [−6, 6] (default 121). */
  quadraturePoints?: number;
  /** Called after every EM iteration; return `false` to stop early. */
  onProgress?: (progress: FitProgress) => boolean | void;
  /** Where the EM's two heavy sums run (default `auto`): `auto` uses WebGPU
   * only for binary responses with rasch/1pl/2pl/3pl/4pl, models × items ×
   * grid nodes ≥ 5·10⁸ (per CPU thread; wasm has one) and a real
   * (non-fallback) adapter, else the CPU, and
   * refits on the CPU if the GPU fails; `gpu` forces WebGPU (an error where it
   * cannot run); `cpu` never probes an adapter. The result's `backend` says
   * which ran and why. In Node (no WebGPU) `auto` runs on the CPU. */
  backend?: 'auto' | 'cpu' | 'gpu';
  /** Workers (Web Workers in the browser, worker threads in Node) to split
   * the fit over, each holding a block of the models (default `'auto'`: the
   * machine's cores, at most 8, used only where the matrix is large enough
   * for the split to pay; a number splits any one-dimensional fit). The fit
   * is the same to the bit for any number; `backend` then says how many ran
   * it. With more than one worker the fit runs on the CPU unless `backend`
   * is `gpu` (which, like `dims` > 1, keeps one thread). No
   * SharedArrayBuffer is needed, so it works on any static host; where
   * workers cannot start, the fit runs in the calling thread. */
  workers?: number | 'auto';
  /** Model ids to leave out of the fit (e.g. a model to replay through an adaptive test on the others' items). */
  holdoutModels?: string[];
}

/** A fitted IRT model: what `benchsift fit` writes. */
export interface FitResult {
  irt: 'rasch' | '1pl' | '2pl' | '3pl' | '4pl' | 'beta';
  dims: number;
  /** `gvem` for a multidimensional fit; absent for dims = 1. */
  method?: 'gvem';
  /** P(correct | θ) = c + (d − c)·σ(a(θ − b)); Beta: mean σ(a(θ − b)), precision phi.
   * dims > 1: P = σ(a·θ + intercept) with `a` the loadings and b = −intercept/‖a‖ (MDIFF). */
  items: { id: string; a: number | number[]; b: number; intercept?: number; c?: number; d?: number; phi?: number }[];
  /** EAP ability and posterior SD per model; θ ~ N(0, 1), higher is better.
   * dims > 1: variational posterior means and SDs per dimension, θ ~ N(0, I). */
  models: { id: string; theta: number | number[]; se: number | number[] }[];
  log_likelihood: number;
  iterations: number;
  converged: boolean;
  scale?: { kind: 'identity' | 'percent' } | { kind: 'min-max'; low: number; high: number };
  quadrature_points: number;
  backend: { device: 'cpu' | 'gpu'; threads: number; reason: string };
}

/** Fit an item response theory model. */
export function fit(responses: FileInput | FileInput[], options?: FitOptions): Promise<FitResult>;

export type Method =
  | 'random'
  | 'stratified'
  | 'irt-info'
  | 'irt-cluster'
  | 'anchor-points'
  | 'metric-avg'
  | 'metric-var'
  | 'metric-cons'
  | 'metric-balance'
  | 'diversity'
  | 'kcenter'
  | 'dpp'
  | 'metabench'
  | 'forward-selection'
  /** evaluate only: each held-out model's items chosen as it answers (see `adaptiveTest`); `select` refuses it. */
  | 'adaptive';
export type EstimatorName = 'mean' | 'weighted' | 'irt' | 'pirt' | 'gpirt' | 'theta-reg' | 'calibrated' | 'ridge';

/** Inputs beyond the responses that some methods use. */
export interface SideInputs {
  /**
   * Automatic metrics' scores (models × items, same item ids) for the metric-* methods (default: the responses).
   * metric-avg/var/cons take one; metric-balance combines several (an array, one file per metric).
   */
  metricScores?: FileInput | FileInput[];
  /** Model outputs, a wide CSV of texts (`model,<item ids…>`), for `diversity`. */
  outputs?: FileInput;
  /** Item embeddings for kcenter/dpp: `.npy` (rows in items-file order), or JSON / JSON Lines / CSV vectors named by item id (default: text features, else response vectors). */
  embeddings?: FileInput;
}

export interface SelectOptions extends LoadOptions, SideInputs {
  /**
   * True full-benchmark scores for the trained estimators (default: row means): `model,score`, or a column per task
   * named as the items file's tasks (`model,arc,mmlu,…`: the composite is their mean, and ridge is fitted per task, see
   * `Subset.task_ridges`). Models without a score in every column are left out, with a warning.
   */
  truth?: FileInput;
  method?: Method;
  /** Number of items (or give `costBudget`). */
  budget?: number;
  /** Total cost, in the items file's `cost` unit. */
  costBudget?: number;
  seed?: number;
  /** Split the budget across item groups by size. */
  stratify?: boolean;
  /**
   * Also split it across this many equal bins of items by their mean score over the training
   * models (0: off). Keeps ranking selectors (metric-var, metric-cons, metabench) representative
   * for score estimates.
   */
  difficultyStrata?: number;
  /**
   * The random guard (default true): cross-validate the method against random subsets of the same budget on the
   * training models, and fall back to a random subset where random predicts their full scores better (see `Subset.guard`).
   */
  guard?: boolean;
  /** Training model ids (default: all). */
  trainModels?: string[];
  /** Or: model ids to hold out, training on all the others. */
  holdoutModels?: string[];
  /** IRT model for the irt-* methods (default `2pl`). */
  irt?: FitOptions['irt'];
  /** Latent dimensions of that fit (default 1; > 1 needs `2pl`). */
  dims?: number;
}

/** One ridge fit (see `Subset.ridge`). */
export interface RidgeFit {
  intercept: number;
  slope: number;
  centres: number[];
  coefficients: number[];
  lambda: number;
  n: number;
  half_width: number;
  /** Whether an unanswered subset item counts at its expected score rather than the training mean (scores in [0, 1]). */
  imputes?: boolean;
  /**
   * With `imputes`, the item factors that give an unanswered item's expected score from the answered ones:
   * `loadings` is subset items × `rank`, row-major; `noise` the variance beyond the factors.
   */
  factors?: { rank: number; loadings: number[]; noise: number };
}

/** What `benchsift select` writes. Weights sum to 1. */
export interface Subset {
  method: Method;
  budget?: number;
  cost_budget?: number;
  seed: number;
  benchmark_items: number;
  train_models: number;
  items: string[];
  weights: number[];
  cost?: number;
  gpirt_lambda?: number;
  /** theta-reg's line (true = intercept + slope·irt estimate) on the training models, when an IRT fit was made. */
  theta_regression?: { intercept: number; slope: number; residual_sd: number; n: number; mean_x: number; sxx: number };
  /**
   * The calibrated estimator's line (true = intercept + slope·weighted subset mean) on the training models' row means
   * (or given true scores); absent with fewer than 3 training models or no spread in their subset means.
   */
  calibration?: { intercept: number; slope: number; residual_sd: number; n: number; mean_x: number; sxx: number };
  /**
   * The ridge estimator's fit: true = intercept + slope·weighted subset mean + Σ coefficients[k]·(answer[k] − centres[k]),
   * on at most 2,000 training models, with the ±half_width interval from their leave-one-out errors (widened by the
   * guard's `ridge_interval_ratio` when above 1); absent with fewer than 4.
   */
  ridge?: RidgeFit;
  /**
   * With true scores per task (a truth file with a column per task): ridge fitted to each task on the same models, and
   * the half-width of the composite's interval (the tasks' weighted mean); `estimate` with ridge reports each task.
   */
  task_ridges?: { tasks: { task: string; weight: number; fit: RidgeFit }[]; half_width: number };
  /** Per estimator, the smallest interval half-width: the split-conformal 95% quantile of the training models' absolute errors. */
  interval_floors?: Record<string, number>;
  /**
   * irt-info and metabench only: the split-half reliability of the IRT fit's discriminations (each item refitted on two
   * halves of the training models; Spearman–Brown of the correlation of ln a). Below 0.5 most of their spread is noise,
   * and these methods rank items by it. Absent for other methods and for rasch, 1pl or multidimensional fits.
   */
  discrimination_reliability?: number;
  /**
   * The random guard's cross-validated mean absolute errors (each side's best of calibrated, ridge and, for IRT
   * methods, p-IRT and gp-IRT) and its decision; when `fell_back`, `items` are a random subset spread over difficulty
   * bins (the ones asked for, else ten), not `method`'s.
   * An error is null where no estimator could estimate any held-out model. Absent when the guard was off, for random
   * and stratified, with fewer than 9 training models, and when it could not run (`guard_skipped`).
   */
  guard?: {
    method_error: number | null;
    random_error: number | null;
    fell_back: boolean;
    /** ridge's held-out 95% error over the half-width it claimed in the guard's folds; above 1, the interval was widened by it */
    ridge_interval_ratio?: number;
  };
  /** Why the random guard could not run on a part of the training models (then `items` are the method's own). */
  guard_skipped?: string;
  /** The chosen items' groups and texts, when an items file gave them. */
  groups?: (string | null)[];
  texts?: (string | null)[];
}

export interface EstimateOptions extends LoadOptions {
  subset: Subset;
  /** A fit of the whole benchmark, for irt, pirt, gpirt and theta-reg. */
  fit?: FitResult;
  estimator?: EstimatorName;
}

export interface Estimates {
  estimator: EstimatorName;
  interval: string;
  /**
   * `full_mean`: the model's observed mean over all items, when the responses hold the whole benchmark. `tasks`: each
   * task's estimate, for ridge on a subset fitted per task (`estimate` is then their weighted mean).
   */
  models: {
    id: string;
    estimate: number;
    low: number;
    high: number;
    answered: number;
    full_mean?: number;
    tasks?: { task: string; estimate: number; low: number; high: number }[];
  }[];
}

/** The load options but `models` (the answers need no models file). */
export interface AdaptOptions {
  /** Name of the answers in messages when they are bare text or bytes. */
  name?: string;
  /** Layout of the answers; detected from names and content when absent. */
  format?: LoadOptions['format'];
  /** lm-evaluation-harness per-sample metric, for answers given as harness logs. */
  metric?: string;
  /** lm-evaluation-harness filter to keep when a task logs several. */
  filter?: string;
  /** Refuse scores outside [0, 1]. */
  requireUnitInterval?: boolean;
  /** Refuse answer files with more cells than this. */
  maxCells?: number;
  /** The item bank: what `fit` returned (one dimension). */
  fit: FitResult | FileInput;
  /** Items CSV: texts shown with the next items, groups (task, else subject) for `balance`. */
  items?: FileInput;
  /** How many items to ask next (default 1). */
  batch?: number;
  /** Stop once θ's standard error is at most this. */
  targetSe?: number;
  /** Stop once the full score's 95% interval is at most ± this (on the scores' scale). */
  targetHalfWidth?: number;
  /** Stop after this many items. */
  maxItems?: number;
  /** Stop once θ moved by less than this over the last batch. */
  minChange?: number;
  /** Draw each item at random among this many of the most informative (exposure control; default 1). */
  randomesque?: number;
  /** The share of items drawn at random from the bank instead (evenly spaced, default 0): their residuals correct the pirt score for the fit's misfit. */
  explore?: number;
  /** Seed of the randomesque and random draws (default 0). */
  seed?: number;
  /** Item ids never to ask. */
  exclude?: string[];
  /** Keep each item group at its share of the bank (needs `items` with a task or subject column). */
  balance?: boolean;
  /** θ by `eap` (posterior mean, default) or `map` (posterior mode), under N(0, 1). */
  theta?: 'eap' | 'map';
  /** The first items: `information` (at θ = 0, default) or `median` (difficulty). */
  start?: 'information' | 'median';
  /** The full score at θ: `pirt` (observed scores where answered, default) or `irt`. */
  estimator?: 'pirt' | 'irt';
  /** Whose answers, when the answers file holds several models. */
  model?: string;
  /** Simulate: the answers are the model's recorded responses to the whole bank, and the test runs on them until a stop rule holds (leave the model out of the fit). */
  replay?: boolean;
}

/** An adaptive test's state after some answers. */
export interface AdaptiveState {
  itemsUsed: number;
  theta: number;
  /** θ's standard error (the posterior SD for EAP). */
  se: number;
  /** The full-benchmark score with its 95% interval, on the scores' scale. */
  score: { estimate: number; low: number; high: number };
  /** Why the test stopped; null while it goes on. */
  stopped: 'target-se' | 'target-half-width' | 'no-change' | 'max-items' | 'bank-exhausted' | null;
}

export interface NextItem {
  id: string;
  text?: string;
  group?: string;
  /** Fisher information at the current θ. */
  information: number;
}

/** One round of an adaptive test: where it stands, and what to ask next. */
export interface Adaptation {
  model?: string;
  thetaMethod: 'eap' | 'map';
  estimator: 'pirt' | 'irt';
  itemsInBank: number;
  state: AdaptiveState;
  /** The state before any answer, then after each. */
  history: AdaptiveState[];
  answers: { id: string; score: number }[];
  /** Up to `batch` items (none once stopped). */
  next: NextItem[];
  /** In a replay: the model's mean over every recorded answer (its full score). */
  recordedMean?: number;
}

/** One round, as `benchsift adapt` runs it: the answers so far (any response format; none at the start) in, the state and the next items out. */
export function adapt(answers: FileInput | FileInput[] | undefined, options: AdaptOptions): Promise<Adaptation>;

export type AdaptiveTestOptions = Omit<AdaptOptions, 'fit' | 'model' | 'replay'>;

/** An adaptive test held in JS (see `adaptiveTest`). */
export interface AdaptiveTest {
  /** The next `k` items to ask (default: the `batch` option, else 1); none once stopped. */
  next(k?: number): Promise<NextItem[]>;
  /** Records an answer (a raw score, as in the matrix the fit was made on) and returns the new state; throws for an unknown, excluded or repeated item or a score out of range. */
  record(itemId: string, score: number): Promise<AdaptiveState>;
  state(): AdaptiveState;
  history(): AdaptiveState[];
  answers(): { id: string; score: number }[];
}

/**
 * An adaptive test over a fit: each next item the most informative at the model's current ability; stop rules by
 * target SE, interval half-width, item count or no change. Deterministic for a seed, and the same as `benchsift adapt`
 * given the same answers.
 */
export function adaptiveTest(fit: FitResult | FileInput, options?: AdaptiveTestOptions): Promise<AdaptiveTest>;

export interface EvaluateOptions extends LoadOptions, SideInputs {
  methods?: Method[];
  budgets?: number[];
  folds?: number;
  holdout?: number;
  newest?: number;
  seeds?: number;
  irt?: FitOptions['irt'];
  stratify?: boolean;
  /** Difficulty bins for every method but the random baseline (see `SelectOptions.difficultyStrata`). */
  difficultyStrata?: number;
  /** The random guard for every method but random and stratified (default true; see `SelectOptions.guard`). */
  guard?: boolean;
  /** The adaptive method also stops each held-out model's test at this standard error of θ (default 0.2): `adaptive_stops`. */
  targetSe?: number;
  /**
   * The adaptive method's share of items drawn at random (default `'0'`; see `AdaptOptions.explore`), as text, or
   * `'auto'`: none or half, whichever cross-validates better on a fifth of each split's training models, per budget.
   */
  explore?: string;
  /**
   * True scores when the matrix is only part of the benchmark: `model,score`, or a column per task named as the items
   * file's tasks (`model,arc,mmlu,…`, whose mean is the composite; ridge is then fitted per task). Models without a score in every column are left out,
   * with a warning. Adds theta-reg to every method.
   */
  truth?: FileInput;
  /** Workers to share the splits out over (default `'auto'`: the machine's
   * cores, at most 8): Web Workers in the browser, worker threads in Node,
   * each running the next split as it finishes one. The result is the same
   * bytes for any number; `1` runs in the calling thread, as does any
   * number where workers cannot start. */
  workers?: number | 'auto';
  /**
   * Called as the evaluation goes: after every few selections (every one in the browser) and each split. `fraction`
   * is the share of the whole done; `done` of `total` splits are finished.
   */
  onProgress?: (progress: { fraction: number; done: number; total: number }) => void;
}

export interface MeanInterval {
  mean: number;
  low: number;
  high: number;
}

export interface Evaluation {
  models: number;
  items: number;
  split: string;
  irt: string;
  results: {
    method: Method;
    estimator: EstimatorName;
    budget: number;
    seeds: number;
    mae: MeanInterval;
    rmse: MeanInterval;
    kendall_tau: MeanInterval;
    spearman: MeanInterval;
    pairwise_accuracy: MeanInterval;
    coverage: MeanInterval;
    min_detectable_difference: number;
    /** The share of splits where the random guard replaced the method's subset by a random one (guarded methods only). */
    guard_fallbacks?: number;
    /** ridge rows with true scores per task: each task's error and coverage (the row's are the composite's). */
    tasks?: { task: string; mae: MeanInterval; coverage: MeanInterval }[];
  }[];
  /** With the adaptive method: its held-out tests stopped at `targetSe`, per estimator. */
  adaptive_stops?: {
    estimator: EstimatorName;
    target_se: number;
    models: number;
    items_used: MeanInterval;
    /** The share of models that reached the target (the rest ran out of items). */
    reached: number;
    mae: number;
    rmse: number;
    kendall_tau: number;
    coverage: number;
  }[];
}

export function select(responses: FileInput | FileInput[], options: SelectOptions): Promise<Subset>;
export function estimate(responses: FileInput | FileInput[], options: EstimateOptions): Promise<Estimates>;
export function evaluate(responses: FileInput | FileInput[], options?: EvaluateOptions): Promise<Evaluation>;

export interface SimilarOptions {
  /** Items CSV: ids, and texts for the built-in features. */
  items?: FileInput;
  /** `.npy` float32/float16 N × D with rows in items-file order, or JSON (`[[…]]`, `[{id, embedding}]`, `{id: […]}`), JSON Lines or CSV (optional id column: vectors are then matched to items by id). */
  embeddings?: FileInput;
  /** Neighbours per item when no threshold is given (default 10). */
  topK?: number;
  /** Every pair with at least this cosine instead. */
  threshold?: number;
  /**
   * `auto` (default): WebGPU when the browser offers a real (non-fallback)
   * adapter and the job is large, else the CPU (WebAssembly SIMD); `cpu` or
   * `gpu` force one. The result's `backend` says which ran and why.
   */
  backend?: 'auto' | 'cpu' | 'gpu';
  /** Workers to share the CPU search out over (default `'auto'`: the
   * machine's cores, at most 8, for searches of at least 2·10⁹
   * multiply-adds, n² × dims; a number always shares), each taking every
   * n-th block of rows. On the CPU only: `auto` with a real GPU adapter stays
   * on the GPU path. The same bytes for any number of workers; `1` keeps the
   * search in the calling thread. */
  workers?: number | 'auto';
}

export interface SimilarReport {
  items: number;
  dims: number;
  features: 'embeddings' | 'hashed-ngrams';
  top_k: number;
  threshold?: number;
  backend: { device: 'cpu' | 'gpu'; threads: number; reason: string };
  pairs: { a: string; b: string; cosine: number; a_text?: string; b_text?: string }[];
}

/** Similar and duplicate items by cosine similarity. */
export function similar(options: SimilarOptions): Promise<SimilarReport>;

export interface ItemTexts {
  ids: string[];
  texts: string[];
}

/** Every item's id and text from an items CSV, in file order. */
export function itemTexts(items: FileInput): Promise<ItemTexts>;

/** An lm-evaluation-harness run restricted to a subset. */
export interface LmEvalRun {
  /** Task → ascending document indices: save as `samples.json` for `lm_eval --samples`. */
  samples: Record<string, number[]>;
  /** The commands: run the subset, then estimate the full score from its logs. */
  command: string;
}

/**
 * The `--samples` mapping and command that make lm-evaluation-harness run only
 * a subset's items. Item ids must be `<task>/<doc_id>` (as read from
 * `samples_*.jsonl` logs), or plain indices with `options.task`. Throws otherwise.
 */
export function lmEvalSamples(subset: Subset, options?: { task?: string; model?: string }): LmEvalRun;

export interface FilterOptions extends LoadOptions {
  /** Embeddings (.npy with rows in items-file order, or JSON / JSON Lines / CSV named by item id) for the duplicate stage; else the items' texts. */
  embeddings?: FileInput;
  /** External ranking, `model,score` or `model,rank`, to correlate with. */
  referenceRanking?: FileInput;
  /**
   * The models' responses to the same items prompted without their questions (answer options only): SMART's
   * contamination test removes items the strongest of them answer correctly anyway.
   */
  answerOnly?: FileInput;
  /** `false` turns a stage off (all run by default). */
  easy?: boolean;
  /** The reference models: each task's K strongest by mean score (default 7, as SMART); also the answer-only test's. */
  easyTopK?: number;
  /** Fraction of them that must answer correctly (default 1). */
  easyMinFraction?: number;
  /** A continuous score (a probability of the right answer) counts as correct at or above this (default 0.8). */
  easyConfidence?: number;
  /** IRT rule instead: predicted P(correct) at least this for each of them. */
  easyProbability?: number;
  /** Fraction of each task's easy items to keep, the least easy ones (default 0.1). */
  easyKeep?: number;
  contamination?: boolean;
  /** Residual-correlation (Yen's Q3) threshold; default the simulated quantile (see `contaminationRate`). */
  contaminationQ3?: number;
  /** The residual test's false-flag rate on data that follow the fitted model (default 0.001). */
  contaminationRate?: number;
  /** Items an item must share its residual pattern with (default 3). */
  contaminationNeighbours?: number;
  /** Remove the items the residual test flags (by default they are reported in `flagged`). */
  removeResidualFlags?: boolean;
  /** `false` drops the residual test's second condition, that an item stand out from its task (default true). */
  residualFence?: boolean;
  /** Flag items whose items-file `contamination` score is at least this. */
  contaminationScoreThreshold?: number;
  duplicates?: boolean;
  /** Cosine at or above which items are duplicates; default from the data. */
  duplicateThreshold?: number;
  /** No stage removes more than this fraction of a task's items (default 0.5); above it the stage keeps them and warns. */
  maxRemovedFraction?: number;
  irt?: 'rasch' | '1pl' | '2pl' | '3pl' | '4pl';
  seed?: number;
}

export interface FilterRemoved {
  id: string;
  reason: 'easy' | 'contamination' | 'duplicate';
  /** The item's task, when the items file has tasks. */
  task?: string;
  top_fraction_correct?: number;
  min_probability?: number;
  /** Fraction of the reference models correct without the question. */
  answer_only_fraction?: number;
  q3?: number;
  correlated_with?: string[];
  score?: number;
  duplicate_of?: string;
  cosine?: number;
  /** Flagged only: `signal` (the residual test reports) or `cap` (the stage would have removed too much of the task). */
  kept_because?: 'signal' | 'cap';
}

/** Kendall τ of the models' mean scores on the kept and on all items, and the mean absolute difference of the two means. */
export interface FilterAgreement {
  kendall_tau: number;
  mean_abs_error: number;
}

/** The same for random removals of as many items per task: the mean over the draws and the central 95% of them. */
export interface RandomRemoval {
  draws: number;
  kendall_tau: MeanInterval;
  mean_abs_error: MeanInterval;
}

export interface FilterReport {
  items: number;
  models: number;
  kept: string[];
  removed: FilterRemoved[];
  /** Items a stage flagged but kept. */
  flagged: FilterRemoved[];
  stages: {
    stage: 'easy' | 'contamination' | 'duplicates';
    ran: boolean;
    considered: number;
    removed: number;
    rule: string;
    /** The rule in a few words, for a table (`rule` has it in full). */
    brief: string;
    threshold?: number;
    flagged?: number;
    pairs?: number;
    groups?: number;
    tasks?: { task: string; items: number; considered: number; flagged: number; removed: number; capped: boolean }[];
    examples?: { id: string; text?: string }[];
    /** Easy: [number of reference models, items flagged] for k = 1, 3, 5, 7, 10, 20, 50, 100. */
    flagged_by_top_k?: [number, number][];
  }[];
  kendall_tau_vs_full: number;
  mean_abs_error_vs_full: number;
  random_removal?: RandomRemoval;
  tasks: { task: string; items: number; kept: number; kept_vs_full: FilterAgreement; random_removal?: RandomRemoval }[];
  reference?: { models: number; kendall_tau_full: number; kendall_tau_filtered: number; spearman_full: number; spearman_filtered: number };
  duplicate_pairs: { a: string; b: string; cosine: number; a_text?: string; b_text?: string }[];
  duplicate_features?: 'embeddings' | 'hashed-ngrams';
  irt: string;
  warnings: string[];
}

/** SMART filtering: remove easy, likely contaminated and near-duplicate items. */
export function filter(responses: FileInput | FileInput[], options?: FilterOptions): Promise<FilterReport>;

export interface SelectTasksOptions extends LoadOptions {
  /** Number of tasks to choose. */
  k: number;
  method?: 'greedy' | 'beam' | 'cluster' | 'random';
  folds?: number;
  /** Cross-validation seeds (at least 20 are run). */
  seeds?: number;
  seed?: number;
  /** Ridge penalty on the standardised chosen-task scores (default 1). */
  alpha?: number;
  beamWidth?: number;
}

export interface TaskCvScores {
  r2: MeanInterval;
  rmse: MeanInterval;
  task_rmse: MeanInterval;
  seeds: number;
}

export interface TaskSelection {
  method: 'greedy' | 'beam' | 'cluster' | 'random';
  k: number;
  tasks: string[];
  models: number;
  n_tasks: number;
  regression: string;
  loo_rmse: number;
  folds: number;
  cv: TaskCvScores;
  random: TaskCvScores;
  chosen_frequency: { task: string; fraction: number }[];
  warnings: string[];
}

/** Task-level selection (small-bench) on a models × tasks matrix. */
export function selectTasks(matrix: FileInput | FileInput[], options: SelectTasksOptions): Promise<TaskSelection>;

/** The version of the wasm core. */
export function version(): Promise<string>;

/** A command of the API, by its function name. */
export type Command = 'info' | 'fit' | 'select' | 'estimate' | 'adapt' | 'evaluate' | 'similar' | 'filter' | 'selectTasks';

/** Every command's option keys and file roles, and how each file role travels: read off the Rust request types. */
export interface Schema {
  roles: {
    /** The role on the wire (`responses`, `items`, `metric`, …). */
    role: string;
    /** The option key that takes files of this role (`items`, `metricScores`, …). */
    key: string;
    /** Whether several files may have it. */
    many: boolean;
    /** Whether the option takes a JSON value (a subset or a fit) as well as a file. */
    json: boolean;
    /** The name bare bytes or a JSON value get. */
    file: string;
  }[];
  commands: Record<Command, { options: string[]; files: string[] }>;
}

/** The schema of this build. */
export function schema(): Promise<Schema>;

/**
 * Files tagged with roles (as a page collects them, e.g. `{name, role: 'items', data}`) as a command's arguments:
 * the responses and the options that carry the other files, keeping only the roles the command takes.
 */
export function fileOptions(
  command: Command,
  files: { name: string; role: string; data: ArrayBuffer | Uint8Array }[],
): Promise<{ responses: { name: string; data: ArrayBuffer | Uint8Array }[]; options: Record<string, unknown> }>;

/** Kendall's τ-b of two equally long series (NaN with any NaN or a constant series), as the core computes it. */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): Promise<number>;
