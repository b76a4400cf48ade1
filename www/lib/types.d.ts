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

/** The version of the wasm core. */
export function version(): Promise<string>;
