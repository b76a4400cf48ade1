//! Item response theory: fit item parameters and model abilities to a
//! response matrix.
//!
//! # Method
//! Marginal maximum likelihood by EM over a fixed latent grid (Bock &
//! Aitkin 1981, *Psychometrika* 46:443), refined per model where the grid
//! is too coarse: LLM leaderboards give each model thousands of items, so a
//! model's posterior is far narrower than any affordable grid spacing, and a
//! plain grid would snap every ability to a node (see `estep.rs`). Abilities follow θ ~ N(0, 1)
//! — this fixes the scale and origin — and every discrimination is kept
//! positive (optimised as ln a), which fixes the direction: a higher θ always
//! means a higher expected score, so fits never flip sign. The E-step gives
//! each model's posterior over the nodes and each item's expected counts at
//! each node; the M-step maximises each item's expected complete-data
//! log-likelihood plus a weak Gaussian log prior (MAP, for stability on small
//! leaderboards) by Newton's method (Fisher scoring where the observed
//! information is not positive definite). Missing cells simply drop out of both
//! steps. EM is deterministic: there is no randomness to seed in 1-D.
//! For binary responses the E-step's log-likelihood sums and the M-step's
//! counts can come from outside the core ([`fit_async`] and [`BinarySums`]):
//! that is how `gpu::irt` runs them on a GPU without this module seeing wgpu.
//! The EM loop is async so that it can await WebGPU's readbacks in the
//! browser; CPU fits drive it without an executor, since nothing they await
//! is ever pending. The E-step can also run over blocks of models held by
//! workers ([`fit_in_blocks`] and [`ModelBlocks`]): the page's and Node's
//! pool, with the same bits for any number of workers.
//!
//! Models: Rasch (a = 1), 1PL (one a shared by all items), 2PL, 3PL (lower
//! asymptote c, estimated with a prior or fixed with `guess`), 4PL (upper
//! asymptote d as well), and Beta-IRT for continuous scores in (0, 1)
//! (Noel & Dauvier 2007, *Applied Psychological Measurement* 31:47):
//! x ~ Beta(μφ, (1 − μ)φ) with μ = σ(a(θ − b)).
//! Continuous scores on other ranges are mapped into [0, 1] first (see
//! [`Scale`]); the Bernoulli models then treat them as fractional outcomes.
//!
//! With `dims` > 1 the 2PL is multidimensional and fitted by Gaussian
//! variational EM instead (see [`multi`]).

mod accel;
pub mod blocks;
mod em;
pub(crate) mod estep;
pub mod item;
pub mod json;
mod lanes;
pub mod multi;
pub mod options;
mod prior;
pub mod quadrature;
pub mod scoring;
pub mod special;
pub mod sums;
#[cfg(test)]
pub(crate) mod tests;

use crate::backend::Backend;
pub use blocks::{BlockEStep, LocalBlocks, ModelBlocks, pays_to_split};
pub use em::{fit, fit_async, fit_in_blocks, fit_with};
pub use item::{Family, Free, ItemParams, Priors};
pub use json::{FitJson, ItemJson, ModelJson, PerDim};
pub use options::{FitOptions, IrtModel, Progress, Scale};
pub use sums::{BinarySums, SumsFuture};

/// A fitted IRT model.
#[derive(Debug, Clone)]
pub struct IrtFit {
    pub model: IrtModel,
    pub item_ids: Vec<String>,
    pub items: Vec<ItemParams>,
    pub model_ids: Vec<String>,
    /// EAP abilities and posterior standard deviations.
    pub theta: Vec<f64>,
    pub theta_se: Vec<f64>,
    /// Marginal log-likelihood of the data at the final parameters.
    pub log_likelihood: f64,
    pub iterations: usize,
    pub converged: bool,
    pub scale: Option<Scale>,
    pub quadrature_points: usize,
    pub backend: Backend,
    /// The multidimensional parameters when dims > 1. `items` then holds
    /// each item's MDISC ‖a‖ as `a` and MDIFF −d/‖a‖ as `b`, and
    /// `theta`/`theta_se` the first (principal) dimension.
    pub multi: Option<multi::MultiFit>,
}
