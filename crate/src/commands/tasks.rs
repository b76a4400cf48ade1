//! `select-tasks`: k tasks of a models × tasks matrix from which the suite
//! average is best recovered (small-bench), cross-validated against random
//! tasks.

use serde::Deserialize;

use super::{Files, Role};
use crate::dataset::LoadOptions;
use crate::error::{Error, Result};
use crate::tasks::{TaskMatrix, TaskMethod, TaskOptions, TaskReport, select_tasks};

#[derive(Debug, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SelectTasksRequest {
    /// Number of tasks to choose.
    #[arg(long, required = true)]
    pub k: Option<usize>,
    /// greedy, beam, cluster or random.
    #[arg(long, default_value_t = SelectTasksRequest::default().method)]
    pub method: String,
    /// Leave-models-out folds.
    #[arg(long, default_value_t = SelectTasksRequest::default().folds)]
    pub folds: usize,
    /// Cross-validation seeds (at least 20).
    #[arg(long, default_value_t = SelectTasksRequest::default().seeds)]
    pub seeds: usize,
    #[arg(long, default_value_t = SelectTasksRequest::default().seed)]
    pub seed: u64,
    /// Ridge penalty on the standardised chosen-task scores.
    #[arg(long, default_value_t = SelectTasksRequest::default().alpha)]
    pub alpha: f64,
    /// Subsets kept per step by the beam method.
    #[arg(long, default_value_t = SelectTasksRequest::default().beam_width)]
    pub beam_width: usize,
}

impl Default for SelectTasksRequest {
    fn default() -> Self {
        let d = TaskOptions::default();
        SelectTasksRequest { k: None, method: d.method.as_str().into(), folds: d.folds, seeds: d.seeds, seed: d.seed, alpha: d.alpha, beam_width: d.beam_width }
    }
}

pub const FILES: &[Role] = &[Role::Responses, Role::Items, Role::Models];

impl SelectTasksRequest {
    pub fn to_options(&self) -> Result<TaskOptions> {
        Ok(TaskOptions {
            k: self.k.ok_or_else(|| Error::invalid("give k, the number of tasks to choose"))?,
            method: TaskMethod::parse(&self.method)?,
            folds: self.folds,
            seeds: self.seeds,
            seed: self.seed,
            alpha: self.alpha,
            beam_width: self.beam_width,
        })
    }
}

pub fn run(files: &Files, load: &LoadOptions, request: &SelectTasksRequest) -> Result<TaskReport> {
    let options = request.to_options()?;
    files.check("select-tasks", FILES)?;
    let dataset = files.load(load)?;
    let (tm, mut warnings) = TaskMatrix::from_matrix(&dataset.matrix);
    let mut report = select_tasks(&tm, &options)?;
    let mut all = dataset.warnings;
    all.append(&mut warnings);
    report.warnings = all;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_request_defaults() {
        let mut cli: SelectTasksRequest = super::super::clap_defaults_with(&["--k", "3"]);
        assert_eq!(cli.k, Some(3));
        cli.k = None;
        assert_eq!(cli, SelectTasksRequest::default());
    }
}
