//! What a fit is asked for: the model, the grid, the priors and the
//! stopping rule, checked once ([`FitOptions::validate`]) before any work.

use serde::{Deserialize, Serialize};

use super::item::{Family, Free, Priors};
use super::multi;
use crate::error::{Error, Result};
use crate::matrix::{Kind, ResponseMatrix};

/// The item response model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IrtModel {
    Rasch,
    #[serde(rename = "1pl")]
    OnePl,
    #[serde(rename = "2pl")]
    TwoPl,
    #[serde(rename = "3pl")]
    ThreePl,
    #[serde(rename = "4pl")]
    FourPl,
    Beta,
}

impl IrtModel {
    pub fn parse(name: &str) -> Result<IrtModel> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "rasch" => IrtModel::Rasch,
            "1pl" => IrtModel::OnePl,
            "2pl" => IrtModel::TwoPl,
            "3pl" => IrtModel::ThreePl,
            "4pl" => IrtModel::FourPl,
            "beta" => IrtModel::Beta,
            other => {
                return Err(Error::invalid(format!("unknown IRT model '{}': expected rasch, 1pl, 2pl, 3pl, 4pl or beta", crate::error::truncate(other, 20))));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IrtModel::Rasch => "rasch",
            IrtModel::OnePl => "1pl",
            IrtModel::TwoPl => "2pl",
            IrtModel::ThreePl => "3pl",
            IrtModel::FourPl => "4pl",
            IrtModel::Beta => "beta",
        }
    }

    pub fn family(self) -> Family {
        if self == IrtModel::Beta { Family::Beta } else { Family::Bernoulli }
    }
}

/// How continuous scores are mapped into [0, 1] before fitting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Scale {
    /// Scores are already in [0, 1] (accuracies, win rates, pass@1 as a fraction).
    Identity,
    /// Scores in [0, 100] (percentages, pass@1 in %): divided by 100.
    Percent,
    /// Any other range, e.g. MQM (≤ 0, higher is better):
    /// (x − low) / (high − low), with low and high the observed extremes.
    MinMax { low: f64, high: f64 },
}

impl Scale {
    /// Identity for [0, 1], Percent for [0, 100], else min–max.
    pub fn detect(m: &ResponseMatrix) -> Scale {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for model in 0..m.n_models() {
            for (_, v) in m.row(model) {
                lo = lo.min(v as f64);
                hi = hi.max(v as f64);
            }
        }
        if lo >= 0.0 && hi <= 1.0 {
            Scale::Identity
        } else if lo >= 0.0 && hi <= 100.0 {
            Scale::Percent
        } else {
            Scale::MinMax { low: lo, high: hi }
        }
    }

    pub fn apply(&self, x: f64) -> f64 {
        match *self {
            Scale::Identity => x,
            Scale::Percent => x / 100.0,
            Scale::MinMax { low, high } => {
                if high > low {
                    ((x - low) / (high - low)).clamp(0.0, 1.0)
                } else {
                    0.5
                }
            }
        }
    }
}

/// Fit settings (unchecked); [`FitOptions::validate`] checks them once.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    pub model: IrtModel,
    /// Latent dimensions: 1 (EM over a grid) or 2..=10 (2PL only, Gaussian
    /// variational EM, see [`multi`]).
    pub dims: usize,
    /// Nodes of the latent grid on [−6, 6] (121: spacing 0.1).
    pub quadrature_points: usize,
    pub max_iterations: usize,
    /// Stop when no unconstrained item parameter moves more than this.
    pub tolerance: f64,
    /// Item priors; the b prior's mean is estimated (decision 15), only its
    /// sd is taken from here.
    pub priors: Priors,
    /// Fix the lower asymptote of every item (e.g. 1/number of choices) instead
    /// of estimating it (3PL/4PL).
    pub guess: Option<f64>,
    /// Mapping of continuous scores into [0, 1]; detected when `None`.
    pub scale: Option<Scale>,
    /// Recorded for reproducibility; the 1-D EM itself is deterministic.
    /// With dims > 1 it picks the random start of the subspace iteration
    /// that gives starting abilities.
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            model: IrtModel::TwoPl,
            dims: 1,
            quadrature_points: 121,
            max_iterations: 500,
            tolerance: 1e-4,
            priors: Priors::default(),
            guess: None,
            scale: None,
            seed: 0,
        }
    }
}

impl FitOptions {
    pub fn validate(&self, m: &ResponseMatrix) -> Result<()> {
        if !(1..=multi::MAX_DIMS).contains(&self.dims) {
            return Err(Error::invalid(format!("{} latent dimensions: between 1 and {} are supported", self.dims, multi::MAX_DIMS)));
        }
        if self.dims > 1 && self.model != IrtModel::TwoPl {
            return Err(Error::invalid(format!(
                "{} latent dimensions need the 2pl model (the multidimensional model is a 2PL), not {}",
                self.dims,
                self.model.as_str()
            )));
        }
        if m.n_models() > super::estep::MAX_COUNTED_MODELS {
            return Err(Error::invalid(format!(
                "{} models: a fit takes at most {} (its expected counts are exact integer sums, which that bounds)",
                m.n_models(),
                super::estep::MAX_COUNTED_MODELS
            )));
        }
        if !(21..=1201).contains(&self.quadrature_points) {
            return Err(Error::invalid("quadrature points must be between 21 and 1201"));
        }
        if self.max_iterations == 0 {
            return Err(Error::invalid("max iterations must be at least 1"));
        }
        if !(self.tolerance > 0.0) {
            return Err(Error::invalid("tolerance must be positive"));
        }
        if let Some(g) = self.guess {
            if !(0.0..0.95).contains(&g) {
                return Err(Error::invalid(format!("guess {g} must be in [0, 0.95)")));
            }
            if !matches!(self.model, IrtModel::ThreePl | IrtModel::FourPl) {
                return Err(Error::invalid("a fixed guess (lower asymptote) needs the 3pl or 4pl model"));
            }
        }
        if self.model == IrtModel::Beta && m.kind() == Kind::Binary {
            return Err(Error::invalid("the beta model is for continuous scores; this matrix is binary: use rasch, 1pl, 2pl, 3pl or 4pl"));
        }
        if m.n_models() < 2 || m.n_items() < 2 {
            return Err(Error::invalid(format!("IRT needs at least 2 models and 2 items; the matrix has {} × {}", m.n_models(), m.n_items())));
        }
        if !any_item_varies(m) {
            // Nothing to fit: every difficulty would run off to its prior's
            // edge (and with the b prior's centre estimated, past it).
            return Err(Error::invalid(format!(
                "every item has one score for all {} models, so no item tells any two models apart: IRT needs items that some models get right and others wrong",
                m.n_models()
            )));
        }
        Ok(())
    }

    pub(crate) fn free(&self) -> Free {
        Free {
            a: matches!(self.model, IrtModel::TwoPl | IrtModel::ThreePl | IrtModel::FourPl | IrtModel::Beta),
            c: matches!(self.model, IrtModel::ThreePl | IrtModel::FourPl) && self.guess.is_none(),
            d: self.model == IrtModel::FourPl,
            phi: self.model == IrtModel::Beta,
        }
    }
}

/// Progress of a running fit, reported once per EM iteration.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub iteration: usize,
    pub max_iterations: usize,
    pub log_likelihood: f64,
    pub max_change: f64,
}

/// Whether any item has two different observed scores.
fn any_item_varies(m: &ResponseMatrix) -> bool {
    let mut first: Vec<Option<f32>> = vec![None; m.n_items()];
    for model in 0..m.n_models() {
        for (i, v) in m.row(model) {
            match first[i] {
                None => first[i] = Some(v),
                Some(f) if f != v => return true,
                Some(_) => {}
            }
        }
    }
    false
}
