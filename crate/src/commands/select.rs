//! `select`: an informative subset of the items, in the subset file's form.

use serde::Deserialize;

use super::{Files, Role};
use crate::dataset::LoadOptions;
use crate::error::{Error, Result};
use crate::irt::{FitOptions, IrtModel};
use crate::matrix::ResponseMatrix;
use crate::select::subset::{SubsetJson, select_subset_with};
use crate::select::{Budget, Method, SELECTION_FIT_TOLERANCE, SelectOptions};

/// Selection settings as users give them.
#[derive(Debug, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SelectRequest {
    /// random, stratified, irt-info, irt-cluster, anchor-points, metric-avg,
    /// metric-var, metric-cons, metric-balance, diversity, kcenter, dpp,
    /// metabench or forward-selection.
    #[arg(long, default_value_t = SelectRequest::default().method)]
    pub method: String,
    /// Number of items to choose.
    #[arg(long, conflicts_with = "cost_budget", required_unless_present = "cost_budget")]
    pub budget: Option<usize>,
    /// Total cost to spend instead (needs a cost column in the items file).
    #[arg(long)]
    pub cost_budget: Option<f64>,
    #[arg(long, default_value_t = SelectRequest::default().seed)]
    pub seed: u64,
    /// Split the budget across item groups (subject/task) by size.
    #[arg(long)]
    pub stratify: bool,
    /// Also split by difficulty: this many equal bins of items by their
    /// mean score over the training models, the budget in proportion
    /// (0: off). Keeps ranking selectors (metric-var, metric-cons,
    /// metabench) representative for score estimates.
    #[arg(long, default_value_t = SelectRequest::default().difficulty_strata)]
    pub difficulty_strata: usize,
    /// Keep the method's subset even where cross-validation on the training
    /// models finds random subsets of the same size predict full scores
    /// better (by default it then falls back to a random subset and says
    /// so; see the subset file's `guard`).
    #[arg(long = "no-guard", action = clap::ArgAction::SetFalse)]
    pub guard: bool,
    /// Training model ids (default: all models; the CLI reads them from
    /// the --train-models file).
    #[arg(skip)]
    pub train_models: Option<Vec<String>>,
    /// Or: models to hold out, training on all the others.
    #[arg(skip)]
    pub holdout_models: Option<Vec<String>>,
    /// IRT model for the irt-* methods.
    #[arg(long, default_value_t = SelectRequest::default().irt)]
    pub irt: String,
    /// Latent dimensions of that IRT fit (> 1: multidimensional 2PL;
    /// irt-cluster then clusters items on their loadings and intercept).
    #[arg(long, default_value_t = SelectRequest::default().dims)]
    pub dims: usize,
}

impl Default for SelectRequest {
    fn default() -> Self {
        SelectRequest {
            method: Method::IrtCluster.as_str().into(),
            budget: None,
            cost_budget: None,
            seed: 0,
            stratify: false,
            difficulty_strata: 0,
            guard: true,
            train_models: None,
            holdout_models: None,
            irt: IrtModel::TwoPl.as_str().into(),
            dims: 1,
        }
    }
}

pub const FILES: &[Role] = &[Role::Responses, Role::Items, Role::Models, Role::Truth, Role::Metric, Role::Outputs, Role::Embeddings];

impl SelectRequest {
    /// (training model indices, selection options, the IRT fit's options) for `m`.
    pub fn resolve(&self, m: &ResponseMatrix) -> Result<(Vec<usize>, SelectOptions, FitOptions)> {
        let index = |id: &String, what: &str| {
            m.model_ids()
                .iter()
                .position(|x| x == id)
                .ok_or_else(|| Error::invalid(format!("{what} model '{}' is not in the responses", crate::error::truncate(id, 40))))
        };
        let train: Vec<usize> = match (&self.train_models, &self.holdout_models) {
            (Some(_), Some(_)) => return Err(Error::invalid("give training models or held-out models, not both")),
            (None, None) => (0..m.n_models()).collect(),
            (Some(ids), None) => ids.iter().map(|id| index(id, "training")).collect::<Result<Vec<_>>>()?,
            (None, Some(ids)) => {
                let out = ids.iter().map(|id| index(id, "held-out")).collect::<Result<std::collections::BTreeSet<_>>>()?;
                let train: Vec<usize> = (0..m.n_models()).filter(|j| !out.contains(j)).collect();
                if train.is_empty() {
                    return Err(Error::invalid("every model is held out: nothing is left to select on"));
                }
                train
            }
        };
        let budget = match (self.budget, self.cost_budget) {
            (Some(n), None) => Budget::Items(n),
            (None, Some(c)) => Budget::Cost(c),
            (Some(_), Some(_)) => return Err(Error::invalid("give a budget or a cost budget, not both")),
            (None, None) => return Err(Error::invalid("give a budget (items) or a cost budget")),
        };
        let options = SelectOptions {
            method: Method::parse(&self.method)?,
            budget,
            seed: self.seed,
            stratify: self.stratify,
            difficulty_strata: self.difficulty_strata,
            guard: self.guard,
        };
        let fit = FitOptions { model: IrtModel::parse(&self.irt)?, dims: self.dims, tolerance: SELECTION_FIT_TOLERANCE, ..Default::default() };
        Ok((train, options, fit))
    }
}

/// The subset, and the warnings of reading the files.
pub fn run(files: &Files, load: &LoadOptions, request: &SelectRequest) -> Result<(SubsetJson, Vec<String>)> {
    files.check("select", FILES)?;
    let dataset = files.load(load)?;
    let mut warnings = dataset.warnings;
    // Models without a true score are left out first (see KnownTruth).
    let truth = files.truth(&dataset.matrix)?;
    warnings.extend(truth.as_ref().and_then(|t| t.warning.clone()));
    // Training models are named among all of them, and those left out drop.
    let (train, options, fit_options) = request.resolve(&dataset.matrix)?;
    let train = truth.as_ref().map_or(train.clone(), |t| t.rows_among_known(&train));
    if train.is_empty() {
        return Err(crate::error::Error::invalid("none of the training models has a true score"));
    }
    let m = truth.as_ref().and_then(|t| t.matrix.as_ref()).unwrap_or(&dataset.matrix);
    let side = files.side_data(m)?;
    let subset = select_subset_with(m, &train, &options, &fit_options, side.side(), truth.as_ref().map(|t| t.view()))?;
    Ok((subset, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_request_defaults() {
        let mut cli: SelectRequest = super::super::clap_defaults_with(&["--budget", "5"]);
        cli.budget = None;
        assert_eq!(cli, SelectRequest::default());
    }

    #[test]
    fn held_out_models_are_the_complement_of_training_models() {
        let m = crate::irt::tests::synthetic_2pl(30, 10, 0.0, 3);
        let ids = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let held = SelectRequest { budget: Some(5), holdout_models: ids(&["m3", "m0"]), ..Default::default() };
        let (train, _, _) = held.resolve(&m).unwrap();
        assert_eq!(train, (1..30).filter(|&j| j != 3).collect::<Vec<_>>());
        let both = SelectRequest { train_models: ids(&["m1"]), ..held.clone() };
        assert!(both.resolve(&m).unwrap_err().to_string().contains("not both"));
        let unknown = SelectRequest { holdout_models: ids(&["nope"]), ..held.clone() };
        assert_eq!(unknown.resolve(&m).unwrap_err().to_string(), "held-out model 'nope' is not in the responses");
        let all: Vec<String> = m.model_ids().to_vec();
        let everything = SelectRequest { holdout_models: Some(all), ..held };
        assert!(everything.resolve(&m).unwrap_err().to_string().contains("every model is held out"));
    }
}
