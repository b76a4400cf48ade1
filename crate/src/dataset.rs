//! A response matrix with its item and model metadata, loaded from the files a
//! user has: what every command (info, fit, select, …) starts from.

use serde::Deserialize;

use crate::error::Result;
use crate::matrix::ResponseMatrix;
use crate::read::{self, Format, Input, ReadOptions};

/// The files behind a dataset. Several response files only for
/// lm-evaluation-harness logs.
#[derive(Debug, Clone, Default)]
pub struct DatasetFiles<'a> {
    pub responses: Vec<Input<'a>>,
    pub items: Option<Input<'a>>,
    pub models: Option<Input<'a>>,
}

/// How to read the files: the CLI's flags and the JS API's option keys that
/// every command reading a response matrix shares.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadOptions {
    /// Layout of the responses: wide, long, json or lm-eval (detected when absent).
    #[arg(long)]
    pub format: Option<String>,
    /// lm-evaluation-harness per-sample metric (acc, acc_norm, exact_match, ...).
    #[arg(long)]
    pub metric: Option<String>,
    /// lm-evaluation-harness filter to keep when a task logs several.
    #[arg(long)]
    pub filter: Option<String>,
    /// Refuse scores outside [0, 1].
    #[serde(default)]
    #[arg(skip)]
    pub require_unit_interval: bool,
    /// Refuse matrices with more cells than this.
    #[arg(skip)]
    pub max_cells: Option<u64>,
}

impl LoadOptions {
    fn read_options(&self) -> Result<ReadOptions> {
        let mut options = ReadOptions {
            format: self.format.as_deref().map(Format::parse).transpose()?,
            metric: self.metric.clone(),
            filter: self.filter.clone(),
            require_unit_interval: self.require_unit_interval,
            ..ReadOptions::default()
        };
        if let Some(max) = self.max_cells {
            options.max_cells = max;
        }
        Ok(options)
    }
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub matrix: ResponseMatrix,
    pub format: Format,
    /// Things the user should know that did not stop the load (dropped rows,
    /// unknown ids in the items file).
    pub warnings: Vec<String>,
}

impl Dataset {
    pub fn load(files: &DatasetFiles, options: &LoadOptions) -> Result<Dataset> {
        let read_options = options.read_options()?;
        let loaded = read::read_responses(&files.responses, &read_options)?;
        let mut matrix = loaded.matrix;
        let mut warnings = loaded.warnings;
        if let Some(items) = &files.items {
            warnings.extend(read::read_items(items, &mut matrix, read_options.max_bytes)?);
        }
        if let Some(models) = &files.models {
            warnings.extend(read::read_models(models, &mut matrix, read_options.max_bytes)?);
        }
        Ok(Dataset { matrix, format: loaded.format, warnings })
    }
}
