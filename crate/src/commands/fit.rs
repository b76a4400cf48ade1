//! `fit`: an item response theory model on the response matrix.

use serde::Deserialize;

use super::{Files, Role};
use crate::backend::BackendChoice;
use crate::dataset::{Dataset, LoadOptions};
use crate::error::{Error, Result};
use crate::irt::{FitOptions, IrtModel, Scale};
use crate::matrix::ResponseMatrix;

/// Fit settings as users give them: names, not types. [`FitRequest::to_options`]
/// checks them against the matrix and gives [`FitOptions`].
#[derive(Debug, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FitRequest {
    /// The IRT model: rasch, 1pl, 2pl, 3pl, 4pl or beta (continuous scores).
    #[arg(long, default_value_t = FitRequest::default().irt)]
    pub irt: String,
    /// Latent dimensions: 1, or 2 to 10 for a multidimensional 2PL
    /// (Gaussian variational EM; loadings `a` and abilities `theta` become arrays).
    #[arg(long, default_value_t = FitRequest::default().dims)]
    pub dims: usize,
    /// Seed: the 1-D fit is deterministic; with --dims > 1 it picks the
    /// random start of the subspace iteration for starting abilities.
    #[arg(long, default_value_t = FitRequest::default().seed)]
    pub seed: u64,
    /// Fix every item's lower asymptote (3pl/4pl), e.g. 0.1 for ten options.
    #[arg(long)]
    pub guess: Option<f64>,
    /// How continuous scores are mapped into [0, 1]: auto, identity, percent or minmax.
    #[arg(long, default_value_t = FitRequest::default().scale)]
    pub scale: String,
    /// EM iteration cap.
    #[arg(long, default_value_t = FitRequest::default().max_iterations)]
    pub max_iterations: usize,
    /// Convergence tolerance on item parameters.
    #[arg(long, default_value_t = FitRequest::default().tolerance)]
    pub tolerance: f64,
    /// Nodes of the latent grid on [-6, 6].
    #[arg(long, default_value_t = FitRequest::default().quadrature_points)]
    pub quadrature_points: usize,
    /// auto: the GPU's E- and M-step sums for binary data on a real GPU and
    /// a large matrix, else the CPU (the output's `backend` says which and
    /// why); cpu or gpu force one.
    #[arg(long, default_value_t = FitRequest::default().backend, value_parser = BackendChoice::parse)]
    pub backend: BackendChoice,
    /// Comma-separated model ids to leave out of the fit (e.g. a model to
    /// replay through an adaptive test on the others' items).
    #[arg(long, value_delimiter = ',')]
    pub holdout_models: Option<Vec<String>>,
}

impl Default for FitRequest {
    fn default() -> Self {
        let d = FitOptions::default();
        FitRequest {
            irt: d.model.as_str().to_string(),
            dims: d.dims,
            seed: d.seed,
            guess: d.guess,
            scale: "auto".into(),
            max_iterations: d.max_iterations,
            tolerance: d.tolerance,
            quadrature_points: d.quadrature_points,
            backend: BackendChoice::default(),
            holdout_models: None,
        }
    }
}

pub const FILES: &[Role] = &[Role::Responses, Role::Items, Role::Models];

impl FitRequest {
    /// The fit's options for `m`, checked. `backend` is read by the entry
    /// points that can use a GPU, not here.
    pub fn to_options(&self, m: &ResponseMatrix) -> Result<FitOptions> {
        let scale = match self.scale.as_str() {
            "auto" => None,
            "identity" | "none" => Some(Scale::Identity),
            "percent" => Some(Scale::Percent),
            "minmax" | "min-max" => match Scale::detect(m) {
                Scale::MinMax { low, high } => Some(Scale::MinMax { low, high }),
                _ => {
                    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
                    for j in 0..m.n_models() {
                        for (_, v) in m.row(j) {
                            low = low.min(v as f64);
                            high = high.max(v as f64);
                        }
                    }
                    Some(Scale::MinMax { low, high })
                }
            },
            other => {
                return Err(Error::invalid(format!("unknown scale '{}': expected auto, identity, percent or minmax", crate::error::truncate(other, 20))));
            }
        };
        let options = FitOptions {
            model: IrtModel::parse(&self.irt)?,
            dims: self.dims,
            quadrature_points: self.quadrature_points,
            max_iterations: self.max_iterations,
            tolerance: self.tolerance,
            priors: FitOptions::default().priors,
            guess: self.guess,
            scale,
            seed: self.seed,
        };
        options.validate(m)?;
        Ok(options)
    }
}

/// The matrix and the checked fit options: what every fit entry point (the
/// CLI's, the CPU and the WebGPU wasm exports) starts from; each then runs
/// the EM its own way (blocking, synchronous or awaiting the GPU).
pub fn prepare(files: &Files, load: &LoadOptions, request: &FitRequest) -> Result<(Dataset, FitOptions)> {
    files.check("fit", FILES)?;
    let mut dataset = files.load(load)?;
    if let Some(ids) = request.holdout_models.as_ref().filter(|ids| !ids.is_empty()) {
        let m = &dataset.matrix;
        let mut out = std::collections::BTreeSet::new();
        for id in ids.iter().map(|s| s.trim()) {
            let j = m.model_ids().iter().position(|x| x == id);
            out.insert(j.ok_or_else(|| Error::invalid(format!("held-out model '{}' is not in the responses", crate::error::truncate(id, 40))))?);
        }
        let keep: Vec<usize> = (0..m.n_models()).filter(|j| !out.contains(j)).collect();
        if keep.is_empty() {
            return Err(Error::invalid("every model is held out: nothing is left to fit"));
        }
        let all: Vec<usize> = (0..m.n_items()).collect();
        dataset.matrix = m.select(&keep, &all);
    }
    let options = request.to_options(&dataset.matrix)?;
    Ok((dataset, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_request_defaults() {
        assert_eq!(super::super::clap_defaults::<FitRequest>(), FitRequest::default());
        assert_eq!(FitRequest::default().to_options(&crate::irt::tests::synthetic_2pl(20, 10, 0.0, 1)).unwrap(), FitOptions::default());
    }
}
