//! `estimate`: new models' full-benchmark scores from their answers on a
//! subset, with intervals.

use serde::Deserialize;

use super::{Files, Role};
use crate::dataset::LoadOptions;
use crate::error::{Error, Result};
use crate::estimate::{Estimates, Estimator};
use crate::select::subset::{SubsetJson, estimate_matrix};

#[derive(Debug, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EstimateRequest {
    /// mean, weighted, irt, pirt, gpirt, theta-reg, calibrated (the weighted
    /// mean through the subset file's line fitted on the training models) or
    /// ridge (that line plus a penalised weight per subset item).
    #[arg(long, default_value_t = EstimateRequest::default().estimator)]
    pub estimator: String,
}

impl Default for EstimateRequest {
    fn default() -> Self {
        EstimateRequest { estimator: Estimator::Weighted.as_str().into() }
    }
}

/// The responses to estimate, the subset file, and an IRT fit of the whole
/// benchmark for the IRT estimators.
pub const FILES: &[Role] = &[Role::Responses, Role::Items, Role::Models, Role::Subset, Role::Fit];

pub fn run(files: &Files, load: &LoadOptions, request: &EstimateRequest) -> Result<(Estimates, Vec<String>)> {
    files.check("estimate", FILES)?;
    let estimator = Estimator::parse(&request.estimator)?;
    let input = files.one(Role::Subset).ok_or_else(|| Error::invalid("give the subset file that select wrote"))?;
    let subset: SubsetJson =
        serde_json::from_slice(input.bytes).map_err(|e| Error::invalid(format!("{}: not a subset file: {e}", crate::error::truncate(input.name, 80))))?;
    let fit = match files.fit()? {
        Some(fit) => Some(fit),
        None if estimator.needs_irt() => {
            return Err(Error::invalid(format!(
                "the {} estimator needs --fit model.json (in JS, the `fit` option): an IRT fit of the whole benchmark",
                estimator.as_str()
            )));
        }
        None => None,
    };
    let dataset = files.load(load)?;
    let name = files.one(Role::Responses).map_or("responses", |r| r.name);
    let estimates = estimate_matrix(&subset, fit.as_ref(), &dataset.matrix, estimator).map_err(|e| Error::invalid(format!("{name}: {e}")))?;
    Ok((estimates, dataset.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_request_defaults() {
        assert_eq!(super::super::clap_defaults::<EstimateRequest>(), EstimateRequest::default());
    }
}
