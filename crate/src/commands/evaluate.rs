//! `evaluate`: how well subsets recover held-out models' scores, against
//! random subsets of the same size.

use serde::Deserialize;

use super::{Files, Role};
use crate::dataset::LoadOptions;
use crate::error::{Error, Result};
use crate::evaluate::{EvaluateOptions, Evaluation, Split, default_budgets};
use crate::irt::IrtModel;
use crate::matrix::ResponseMatrix;
use crate::select::Method;

#[derive(Debug, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EvaluateRequest {
    /// Comma-separated methods (random is always included; default
    /// random,stratified,irt-info,irt-cluster,anchor-points).
    #[arg(long, value_delimiter = ',')]
    pub methods: Option<Vec<String>>,
    /// Comma-separated item budgets (default: 10,25,50,100,200,400, or 5-50% of small sets).
    #[arg(long, value_delimiter = ',')]
    pub budgets: Option<Vec<usize>>,
    /// K-fold split over models.
    #[arg(long, default_value_t = EvaluateRequest::default().folds, conflicts_with_all = ["holdout", "newest"])]
    pub folds: usize,
    /// Hold out this fraction of models at random (per seed) instead.
    #[arg(long)]
    pub holdout: Option<f64>,
    /// Hold out the N newest models (needs a models file with release dates) instead.
    #[arg(long)]
    pub newest: Option<usize>,
    /// Seeds per seeded method (random always gets at least 20).
    #[arg(long, default_value_t = EvaluateRequest::default().seeds)]
    pub seeds: usize,
    /// IRT model for the irt-* methods and estimators.
    #[arg(long, default_value_t = EvaluateRequest::default().irt)]
    pub irt: String,
    /// Split each budget across item groups by size.
    #[arg(long)]
    pub stratify: bool,
    /// Difficulty bins for every method but the random baseline (see
    /// `select --difficulty-strata`).
    #[arg(long, default_value_t = EvaluateRequest::default().difficulty_strata)]
    pub difficulty_strata: usize,
    /// Evaluate each method as published: no random guard (by default a
    /// method whose subsets predict the training models' scores worse than
    /// random ones, in cross-validation, falls back to random).
    #[arg(long = "no-guard", action = clap::ArgAction::SetFalse)]
    pub guard: bool,
    /// The adaptive method's stop rule besides the budgets: how many items
    /// held-out models need until θ's standard error is at most this.
    #[arg(long, default_value_t = EvaluateRequest::default().target_se)]
    pub target_se: f64,
    /// The adaptive method's share of items drawn at random instead of by
    /// information (see `adapt --explore`), or auto: none or half, whichever
    /// cross-validates better on a fifth of each split's training models,
    /// per budget (noisy with a few dozen models; see BENCHMARKS.md).
    #[arg(long, default_value_t = EvaluateRequest::default().explore)]
    pub explore: String,
}

impl Default for EvaluateRequest {
    fn default() -> Self {
        EvaluateRequest {
            methods: None,
            budgets: None,
            folds: 5,
            holdout: None,
            newest: None,
            seeds: 5,
            irt: IrtModel::TwoPl.as_str().into(),
            stratify: false,
            difficulty_strata: 0,
            guard: true,
            target_se: 0.2,
            explore: "0".into(),
        }
    }
}

/// The responses, true scores when the matrix is only part of the benchmark,
/// and the selectors' side files.
pub const FILES: &[Role] = &[Role::Responses, Role::Items, Role::Models, Role::Truth, Role::Metric, Role::Outputs, Role::Embeddings];

impl EvaluateRequest {
    pub fn to_options(&self, m: &ResponseMatrix, truth: Option<Vec<f64>>) -> Result<EvaluateOptions> {
        let methods = match &self.methods {
            Some(list) => list.iter().filter(|s| !s.trim().is_empty()).map(|s| Method::parse(s)).collect::<Result<Vec<_>>>()?,
            None => Method::DEFAULT_EVALUATE.to_vec(),
        };
        if !(self.target_se > 0.0 && self.target_se.is_finite()) {
            return Err(Error::invalid(format!("the target SE {} must be a positive number", self.target_se)));
        }
        let methods_include_adaptive = methods.contains(&Method::Adaptive);
        let explore = match self.explore.trim() {
            "auto" => crate::evaluate::Explore::Auto,
            other => match other.parse::<f64>() {
                Ok(e) if (0.0..1.0).contains(&e) => crate::evaluate::Explore::Share(e),
                _ => return Err(Error::invalid(format!("explore '{}' must be auto or a share at least 0 and below 1", crate::error::truncate(other, 20)))),
            },
        };
        let split = match (self.holdout, self.newest) {
            (Some(_), Some(_)) => return Err(Error::invalid("give a holdout fraction or a newest count, not both")),
            (Some(f), None) => {
                if !(f > 0.0 && f < 1.0) {
                    return Err(Error::invalid(format!("holdout fraction {f} must be between 0 and 1")));
                }
                Split::Holdout(f)
            }
            (None, Some(n)) => Split::Newest(n),
            (None, None) => Split::KFold(self.folds),
        };
        Ok(EvaluateOptions {
            methods,
            budgets: self.budgets.clone().unwrap_or_else(|| default_budgets(m.n_items())),
            split,
            seeds: self.seeds,
            irt: IrtModel::parse(&self.irt)?,
            stratify: self.stratify,
            difficulty_strata: self.difficulty_strata,
            guard: self.guard,
            truth,
            task_truth: None,
            side: crate::select::SideData::default(),
            adaptive_target_se: methods_include_adaptive.then_some(self.target_se),
            adaptive_explore: explore,
        })
    }
}

/// An evaluation read from its files: the matrix it runs on (the models
/// with a true score, when a truth file left some out), its options and the
/// warnings of reading them. What [`run`] evaluates, and what each worker of
/// a pool builds from the same files to run its splits.
pub struct Prepared {
    matrix: ResponseMatrix,
    pub options: EvaluateOptions,
    pub warnings: Vec<String>,
}

impl Prepared {
    pub fn matrix(&self) -> &ResponseMatrix {
        &self.matrix
    }
}

pub fn prepare(files: &Files, load: &LoadOptions, request: &EvaluateRequest) -> Result<Prepared> {
    files.check("evaluate", FILES)?;
    let dataset = files.load(load)?;
    let mut warnings = dataset.warnings;
    // Models without a true score are left out first (see KnownTruth).
    let truth = files.truth(&dataset.matrix)?;
    warnings.extend(truth.as_ref().and_then(|t| t.warning.clone()));
    let (truth, matrix) = match truth {
        Some(mut t) => {
            let kept = t.matrix.take();
            (Some(t), kept.unwrap_or(dataset.matrix))
        }
        None => (None, dataset.matrix),
    };
    let mut options = request.to_options(&matrix, truth.as_ref().map(|t| t.composite.clone()))?;
    options.task_truth = truth.as_ref().and_then(|t| t.tasks.clone());
    options.side = files.side_data(&matrix)?;
    Ok(Prepared { matrix, options, warnings })
}

/// The evaluation, and the warnings of reading the files, with `progress`
/// as it goes (see [`crate::evaluate::Progress`]).
pub fn run(
    files: &Files,
    load: &LoadOptions,
    request: &EvaluateRequest,
    progress: &mut dyn FnMut(crate::evaluate::Progress),
) -> Result<(Evaluation, Vec<String>)> {
    let prepared = prepare(files, load, request)?;
    let evaluation = crate::evaluate::evaluate(prepared.matrix(), &prepared.options, progress)?;
    Ok((evaluation, prepared.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_request_defaults() {
        assert_eq!(super::super::clap_defaults::<EvaluateRequest>(), EvaluateRequest::default());
    }
}
