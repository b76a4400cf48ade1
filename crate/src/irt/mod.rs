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
//! is ever pending.
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

pub(crate) mod estep;
pub mod item;
pub mod multi;
pub mod quadrature;
pub mod scoring;
pub mod special;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::matrix::{Kind, ResponseMatrix};
use crate::parallel;

use estep::{Grid, Observations, PosteriorSummary, Tables};
pub use item::{Family, Free, ItemParams, Priors};
use item::{NodeStats, m_step, shared_a_step};

/// Plain (expanded) EM iterations before SQUAREM starts extrapolating: the
/// first steps from crude starting values are too irregular to extrapolate.
const WARMUP_ITERATIONS: usize = 5;

/// The latent grid spans θ ∈ [−6, 6]: six prior standard deviations.
const GRID_HALF_WIDTH: f64 = 6.0;

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

    fn free(&self) -> Free {
        Free {
            a: matches!(self.model, IrtModel::TwoPl | IrtModel::ThreePl | IrtModel::FourPl | IrtModel::Beta),
            c: matches!(self.model, IrtModel::ThreePl | IrtModel::FourPl) && self.guess.is_none(),
            d: self.model == IrtModel::FourPl,
            phi: self.model == IrtModel::Beta,
        }
    }
}

/// Fit settings as users give them (CLI flags, JS option objects): names,
/// not types. [`FitSettings::to_options`] turns them into [`FitOptions`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FitSettings {
    /// rasch, 1pl, 2pl (default), 3pl, 4pl or beta.
    pub irt: Option<String>,
    pub dims: Option<usize>,
    pub seed: Option<u64>,
    /// Fixed lower asymptote for 3pl/4pl, e.g. 0.25 for four choices.
    pub guess: Option<f64>,
    /// auto (default), identity, percent or minmax.
    pub scale: Option<String>,
    pub max_iterations: Option<usize>,
    pub tolerance: Option<f64>,
    pub quadrature_points: Option<usize>,
    /// Where the EM's heavy sums run: auto (default), cpu or gpu. Read by
    /// the entry points that can use a GPU (`gpu::irt::fit`), not by
    /// [`FitSettings::to_options`].
    pub backend: Option<BackendChoice>,
}

impl FitSettings {
    pub fn to_options(&self, m: &ResponseMatrix) -> Result<FitOptions> {
        let defaults = FitOptions::default();
        let scale = match self.scale.as_deref().unwrap_or("auto") {
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
            model: self.irt.as_deref().map(IrtModel::parse).transpose()?.unwrap_or(defaults.model),
            dims: self.dims.unwrap_or(defaults.dims),
            quadrature_points: self.quadrature_points.unwrap_or(defaults.quadrature_points),
            max_iterations: self.max_iterations.unwrap_or(defaults.max_iterations),
            tolerance: self.tolerance.unwrap_or(defaults.tolerance),
            priors: defaults.priors,
            guess: self.guess,
            scale,
            seed: self.seed.unwrap_or(defaults.seed),
        };
        options.validate(m)?;
        Ok(options)
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

/// Where the numbers were computed, and why there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    /// `cpu` or `gpu`.
    pub device: String,
    pub threads: usize,
    pub reason: String,
}

impl Backend {
    pub fn cpu(reason: &str) -> Backend {
        Backend { device: "cpu".into(), threads: parallel::threads(), reason: reason.into() }
    }

    /// Work done on a GPU, driven from one host thread.
    pub fn gpu(reason: &str) -> Backend {
        Backend { device: "gpu".into(), threads: 1, reason: reason.into() }
    }
}

/// Where the user asks a computation to run: `auto` lets benchsift decide
/// (and say why), `cpu` and `gpu` force one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Auto,
    Cpu,
    Gpu,
}

impl BackendChoice {
    pub fn parse(s: &str) -> crate::error::Result<BackendChoice> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu),
            other => Err(crate::error::Error::invalid(format!("unknown backend '{other}': use auto, cpu or gpu"))),
        }
    }
}

/// The two heavy sums of EM for binary responses, computed outside the
/// statistical core (the GPU kernels in `gpu/irt.rs` implement it; the core
/// never sees wgpu). Both cover the whole grid; errors are messages for users
/// (a lost device, an out-of-memory readback).
///
/// Both return futures because WebGPU can only read results back
/// asynchronously: the one EM loop, [`fit_async`], awaits them. A provider
/// that finishes its work before returning (the CPU oracle in the tests, or
/// a native device that it polls to completion) returns a ready future, and
/// [`fit_with`] drives the loop without an executor.
pub trait BinarySums {
    /// `ll[m·q + n] = Σ_{i observed} t0[i·q + n] + Σ_{i correct} t1[i·q + n]`
    /// for every model m and node n, given the item × node tables
    /// t0 = ln(1 − P) and t1 = ln P − ln(1 − P).
    fn log_likelihood<'a>(&'a mut self, t0: &'a [f64], t1: &'a [f64], q: usize, ll: &'a mut [f64]) -> SumsFuture<'a>;
    /// Per item i and node n, `stats[(2i)·q + n] = Σ_m post[m·q + n]·observed[m, i]`
    /// and `stats[(2i + 1)·q + n] = Σ_m post[m·q + n]·correct[m, i]`.
    fn counts<'a>(&'a mut self, post: &'a [f64], q: usize, stats: &'a mut [f64]) -> SumsFuture<'a>;
}

/// What a [`BinarySums`] call returns: done, or why it failed. Not `Send`:
/// WebGPU's objects live on one thread.
pub type SumsFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<(), String>> + 'a>>;

/// The output of `f` if it completes on its first poll, which every future
/// of the fit does when its sums are computed before their futures are
/// returned (no sums at all, or a provider that blocks); `None` otherwise.
fn ready_now<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

/// Starting values: b from each item's mean score, a = 1.
fn initial_items(m: &ResponseMatrix, x: Option<&[f32]>, options: &FitOptions) -> Vec<ItemParams> {
    let mut sums = vec![(0.0f64, 0u64); m.n_items()];
    for model in 0..m.n_models() {
        for (i, v) in m.row(model) {
            let v = x.map_or(v as f64, |x| x[model * m.n_items() + i] as f64);
            sums[i].0 += v;
            sums[i].1 += 1;
        }
    }
    let c0 = match options.model {
        IrtModel::ThreePl | IrtModel::FourPl => options.guess.unwrap_or(0.1),
        _ => 0.0,
    };
    let d0 = if options.model == IrtModel::FourPl { 0.98 } else { 1.0 };
    sums.iter()
        .map(|&(s, n)| {
            let p = if n == 0 { 0.5 } else { s / n as f64 };
            let p = ((p - c0) / (d0 - c0)).clamp(0.02, 0.98);
            // With a = 1 and θ ~ N(0,1), E[σ(θ − b)] ≈ σ(−b / 1.28).
            let b = -1.28 * crate::math::ln(p / (1.0 - p));
            ItemParams { a: 1.0, b, c: c0, d: d0, phi: if options.model == IrtModel::Beta { 10.0 } else { f64::NAN } }
        })
        .collect()
}

/// Fits `options.model` to `m`. `progress` is called after every iteration;
/// returning `false` stops the fit early (it is then reported as not converged).
pub fn fit(m: &ResponseMatrix, options: &FitOptions, progress: &mut dyn FnMut(&Progress) -> bool) -> Result<IrtFit> {
    fit_with(m, options, None, progress)?.map_err(Error::invalid)
}

/// [`fit`] with the E-step log-likelihoods and the M-step counts taken from
/// `sums` (binary responses and the Bernoulli models only; otherwise `sums`
/// is refused). Everything else — the posterior windows and their Newton
/// refinement, the M-step optimisation, PX-EM and SQUAREM — runs here as in
/// [`fit`]. The outer error is the input's; the inner one is a failure of
/// `sums`, after which the caller may rerun [`fit`] on the CPU. `sums` must
/// finish each call before returning its future (natively a provider can
/// block); one that does not is reported as a failure: use [`fit_async`].
pub fn fit_with(
    m: &ResponseMatrix,
    options: &FitOptions,
    sums: Option<&mut dyn BinarySums>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<std::result::Result<IrtFit, String>> {
    ready_now(fit_async(m, options, sums, progress))
        .unwrap_or_else(|| Ok(Err("the E- and M-step sums did not finish synchronously (an asynchronous provider needs fit_async)".into())))
}

/// The fit itself, with the external sums awaited: the only EM loop.
/// [`fit`] and [`fit_with`] drive it without an executor (all their awaits
/// are ready at once); in the browser the awaits on WebGPU readbacks yield
/// to the event loop. Results are those of [`fit_with`].
pub async fn fit_async(
    m: &ResponseMatrix,
    options: &FitOptions,
    sums: Option<&mut dyn BinarySums>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<std::result::Result<IrtFit, String>> {
    options.validate(m)?;
    if sums.is_some() && (m.kind() != Kind::Binary || options.model.family() != Family::Bernoulli) {
        return Err(Error::invalid("the E- and M-step kernels take binary (0/1) responses and the rasch, 1pl, 2pl, 3pl or 4pl model only"));
    }
    let scale = match m.kind() {
        Kind::Binary => None,
        Kind::Continuous => Some(options.scale.unwrap_or_else(|| Scale::detect(m))),
    };
    let scaled: Option<Vec<f32>> = scale.map(|s| {
        let mut x = vec![0.0f32; m.n_models() * m.n_items()];
        for model in 0..m.n_models() {
            for (i, v) in m.row(model) {
                x[model * m.n_items() + i] = s.apply(v as f64) as f32;
            }
        }
        x
    });
    if options.dims > 1 {
        if sums.is_some() {
            return Err(Error::invalid("the GPU kernels fit one latent dimension; multidimensional fits run on the CPU"));
        }
        return fit_multi(m, scaled.as_deref(), scale, options, progress).map(Ok);
    }
    let mut items = initial_items(m, scaled.as_deref(), options);
    let obs = match (options.model.family(), scaled) {
        (Family::Bernoulli, None) => Observations::Binary(m),
        (Family::Bernoulli, Some(x)) => Observations::Fractional(m, x),
        (Family::Beta, Some(x)) => {
            let (lx, l1x) = estep::beta_logs(m, &x);
            Observations::Beta(m, lx, l1x)
        }
        (Family::Beta, None) => unreachable!("validate refuses beta on binary data"),
    };
    let quad = Grid::uniform(options.quadrature_points, GRID_HALF_WIDTH);
    // Beta items whose observed scores are all equal are fitted after the
    // others (see all_equal_items): EM runs on the matrix without their
    // cells, then each gets one M-step against the final posteriors.
    let all_equal = all_equal_items(&obs);
    let masked = all_equal.iter().any(|&e| e).then(|| without_items(m, &all_equal));
    let masked_obs = masked.as_ref().map(|mm| match &obs {
        Observations::Beta(_, lx, l1x) => {
            let keep = |v: &Vec<f32>| -> Vec<f32> { v.iter().enumerate().map(|(k, &x)| if all_equal[k % m.n_items()] { 0.0 } else { x }).collect() };
            Observations::Beta(mm, keep(lx), keep(l1x))
        }
        _ => unreachable!("only Beta fits set items aside"),
    });
    let fit_obs = masked_obs.as_ref().unwrap_or(&obs);
    let mut em = Em::new(fit_obs, &quad, options, sums);
    em.scale_free_items = all_equal.clone();
    let result = run_em(&mut em, items.clone(), options, progress).await;
    if let (Ok((fitted, ..)), true) = (&result, masked.is_some()) {
        // Their expected counts under the final posteriors, from the full data.
        let q = quad.len();
        let k_stats = obs.stats_per_node();
        let mut stats = vec![0.0; m.n_items() * k_stats * q];
        estep::accumulate(&obs, &em.post, &em.summaries, q, &mut stats);
        let (family, free) = (obs.family(), options.free());
        let priors = centred_priors(&options.priors, fitted, &all_equal, options.model);
        for (i, item) in items.iter_mut().enumerate() {
            *item = if all_equal[i] { m_step(item, family, free, &priors, &quad.nodes, &item_stats(&stats, i, k_stats, q), 25).0 } else { fitted[i] };
        }
    }
    match result {
        Ok((fitted, log_likelihood, iterations, converged)) => {
            let items = if masked.is_some() { items } else { fitted };
            let (theta, theta_se): (Vec<f64>, Vec<f64>) = em.summaries.iter().map(|s| (s.mean, s.sd)).unzip();
            Ok(Ok(IrtFit {
                model: options.model,
                item_ids: m.item_ids().to_vec(),
                items,
                model_ids: m.model_ids().to_vec(),
                theta,
                theta_se,
                log_likelihood,
                iterations,
                converged,
                scale,
                quadrature_points: quad.len(),
                backend: Backend::cpu("fitted on the CPU (this entry point does not choose a backend; `gpu::irt::fit` does)"),
                multi: None,
            }))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// The EM iterations from `items`: (items, log-likelihood, iterations,
/// converged), or the failure of the external sums.
async fn run_em(
    em: &mut Em<'_, '_>,
    mut items: Vec<ItemParams>,
    options: &FitOptions,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> std::result::Result<(Vec<ItemParams>, f64, usize, bool), String> {
    let family = em.obs.family();
    let free = options.free();
    let mut iterations = 0;
    let mut converged = false;
    let mut report = |iterations: usize, log_likelihood: f64, max_change: f64| {
        progress(&Progress { iteration: iterations, max_iterations: options.max_iterations, log_likelihood, max_change })
    };

    // Phase 1: a few plain PX-EM iterations.
    let mut stopped = false;
    while iterations < options.max_iterations.min(WARMUP_ITERATIONS) {
        iterations += 1;
        let step = em.step(&items, true).await?;
        items = step.items;
        if !report(iterations, step.log_likelihood, step.max_change) {
            stopped = true;
            break;
        }
        if step.max_change < options.tolerance {
            converged = true;
            break;
        }
    }
    // Phase 2: SQUAREM (Varadhan & Roland 2008, Scand. J. Statist. 35:335):
    // two EM steps give a secant estimate of the EM map's slow direction, the
    // parameters jump along it, and a third EM step from there stabilises.
    // The jump is kept only if the MAP objective did not get worse.
    while !converged && !stopped && iterations + 3 <= options.max_iterations {
        let p0 = pack_all(&items, family, free);
        let s1 = em.step(&items, true).await?;
        let s2 = em.step(&s1.items, true).await?;
        iterations += 2;
        if s2.max_change < options.tolerance {
            items = s2.items;
            converged = true;
            report(iterations, s2.log_likelihood, s2.max_change);
            break;
        }
        let (p1, p2) = (pack_all(&s1.items, family, free), pack_all(&s2.items, family, free));
        let (mut rr, mut vv) = (0.0, 0.0);
        for k in 0..p0.len() {
            let r = p1[k] - p0[k];
            let v = p2[k] - 2.0 * p1[k] + p0[k];
            rr += r * r;
            vv += v * v;
        }
        let alpha = if vv > 0.0 { -(rr / vv).sqrt() } else { -1.0 };
        let alpha = alpha.clamp(-50.0, -1.0);
        let jumped: Vec<f64> = (0..p0.len()).map(|k| p0[k] - 2.0 * alpha * (p1[k] - p0[k]) + alpha * alpha * (p2[k] - 2.0 * p1[k] + p0[k])).collect();
        let candidate = unpack_all(&jumped, &s2.items, family, free, options.model == IrtModel::OnePl);
        let s3 = em.step(&candidate, true).await?;
        iterations += 1;
        // The MAP objective: the shared a's prior too, as the expansion counts it.
        let log_prior = |items: &[ItemParams]| {
            items_log_prior(items, family, free, &options.priors, &em.scale_free_items, options.model)
                + shared_a_log_prior(options.model, items[0].a, &options.priors)
        };
        let objective_jump = s3.log_likelihood + log_prior(&candidate);
        let objective_p1 = s2.log_likelihood + log_prior(&s1.items);
        let (next, ll, change) = if objective_jump.is_finite() && objective_jump >= objective_p1 - 1e-9 * objective_p1.abs() {
            (s3.items, s3.log_likelihood, s3.max_change)
        } else {
            // The jump overshot: keep the plain EM progress instead.
            let s4 = em.step(&s2.items, true).await?;
            iterations += 1;
            (s4.items, s4.log_likelihood, s4.max_change)
        };
        items = next;
        if change < options.tolerance {
            converged = true;
        }
        if !report(iterations, ll, change) {
            break;
        }
    }
    // Final E-step at the final parameters: log-likelihood and abilities.
    let log_likelihood = em.e_step(&items).await?;
    Ok((items, log_likelihood, iterations, converged))
}

/// The multidimensional 2PL (dims > 1), dressed as an [`IrtFit`].
fn fit_multi(
    m: &ResponseMatrix,
    scaled: Option<&[f32]>,
    scale: Option<Scale>,
    options: &FitOptions,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<IrtFit> {
    let fitted = multi::fit_gvem(m, scaled, options.dims, options.max_iterations, options.tolerance, options.seed, progress)?;
    let f = fitted.fit;
    let d = f.dims;
    Ok(IrtFit {
        model: options.model,
        item_ids: m.item_ids().to_vec(),
        items: (0..m.n_items()).map(|i| ItemParams::new(f.mdisc(i), f.mdiff(i))).collect(),
        model_ids: m.model_ids().to_vec(),
        theta: f.theta.chunks(d).map(|t| t[0]).collect(),
        theta_se: f.theta_se.chunks(d).map(|t| t[0]).collect(),
        log_likelihood: fitted.log_likelihood,
        iterations: fitted.iterations,
        converged: fitted.converged,
        scale,
        quadrature_points: 0,
        backend: Backend::cpu("multidimensional fits run on the CPU"),
        multi: Some(f),
    })
}

/// All free item parameters (and the shared ln a of a 1PL) as one vector.
fn pack_all(items: &[ItemParams], family: Family, free: Free) -> Vec<f64> {
    let mut out = Vec::with_capacity(items.len() * item::packed_len(family, free) + 1);
    for p in items {
        item::pack_into(p, family, free, &mut out);
    }
    out.push(crate::math::ln(items[0].a));
    out
}

fn unpack_all(v: &[f64], base: &[ItemParams], family: Family, free: Free, shared_a: bool) -> Vec<ItemParams> {
    let k = item::packed_len(family, free);
    let shared = shared_a;
    let shared_a = crate::math::exp(v[v.len() - 1].clamp(-5.0, 5.0));
    base.iter()
        .enumerate()
        .map(|(i, p)| {
            let mut q = item::unpack(&v[i * k..(i + 1) * k], p, family, free);
            if shared {
                q.a = shared_a;
            }
            q
        })
        .collect()
}

/// The MAP objective's item prior: every item's, with b's prior centred on
/// the items' own mean difficulty (see [`centred_priors`]); items flagged in
/// `skip` (set aside) are left out.
fn items_log_prior(items: &[ItemParams], family: Family, free: Free, priors: &Priors, skip: &[bool], model: IrtModel) -> f64 {
    let centred = centred_priors(priors, items, skip, model);
    items.iter().enumerate().filter(|(i, _)| !skip.get(*i).copied().unwrap_or(false)).map(|(_, p)| item::log_prior(p, family, free, &centred)).sum()
}

/// A 1PL's prior on its one shared ln a (counted once, not per item); 0 for
/// the other models, whose per-item a priors `item::log_prior` counts.
fn shared_a_log_prior(model: IrtModel, shared_a: f64, priors: &Priors) -> f64 {
    if model != IrtModel::OnePl {
        return 0.0;
    }
    let (mean, sd) = priors.ln_a;
    let la = crate::math::ln(shared_a);
    -0.5 * (la - mean) * (la - mean) / (sd * sd)
}

/// `priors` with the b prior's mean at the mean difficulty of `items` (those
/// not flagged in `skip`): the b prior's location is a parameter with a flat
/// hyperprior, estimated with the items (b_i ~ N(μ_b, σ_b²); its conditional
/// maximum is the items' mean b, so EM stays an exact ECM). Why: a fixed
/// location competes with θ ~ N(0, 1) for the origin of the scale, and with
/// few models it wins — WMT23 MQM's 460 mostly easy segments against 13
/// systems put θ's mean at +2.2. With the location estimated the b prior
/// only holds the difficulties together, and the population alone places θ.
///
/// A 1PL's b prior is on the logit scale, a·b ~ N(a·μ_b, σ_b²), so its sd in
/// θ units is σ_b / a: its one shared a cannot resist the items' b priors
/// the way 2PL's per-item a priors do, and with b's sd fixed in θ units the
/// MAP shrank θ to a point and blew a up to make every b small (MMLU-Pro:
/// θ's variance 0.003, a = 15.8, a log-likelihood 567 below Rasch's). On
/// the logit scale the b prior does not change when θ is stretched and a
/// shrunk, so the population alone sets θ's scale too.
fn centred_priors(priors: &Priors, items: &[ItemParams], skip: &[bool], model: IrtModel) -> Priors {
    let (sum, n) = items.iter().enumerate().filter(|(i, _)| !skip.get(*i).copied().unwrap_or(false)).fold((0.0, 0usize), |(s, n), (_, p)| (s + p.b, n + 1));
    let sd = match (model, items.first()) {
        (IrtModel::OnePl, Some(p)) => priors.b.1 / p.a,
        _ => priors.b.1,
    };
    Priors { b: (if n > 0 { sum / n as f64 } else { priors.b.0 }, sd), ..*priors }
}

/// Σ (b_i − mean b)² / σ_b² over `items`: what a 1PL's logit-scale b prior
/// contributes to its shared-a step, −a²·this/2.
fn b_spread(items: &[ItemParams], priors: &Priors) -> f64 {
    let mean = items.iter().map(|p| p.b).sum::<f64>() / items.len().max(1) as f64;
    items.iter().map(|p| (p.b - mean) * (p.b - mean)).sum::<f64>() / (priors.b.1 * priors.b.1)
}

/// Item `i`'s expected statistics at the `q` nodes, out of the E-step's
/// items × `k_stats` × nodes array (n and Σ r·x; Beta: n, Σ r·ln x and
/// Σ r·ln(1 − x)).
fn item_stats(stats: &[f64], i: usize, k_stats: usize, q: usize) -> NodeStats<'_> {
    let s = &stats[i * k_stats * q..(i + 1) * k_stats * q];
    NodeStats { n: &s[..q], s: &s[q..2 * q], v: if k_stats == 3 { &s[2 * q..] } else { &s[..0] } }
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

/// For the Beta model, the items whose observed scores are all equal (after
/// clamping into [ε, 1 − ε]): every model that ran a problem solved it, or
/// none did. Their likelihood has no finite optimum — b runs outwards, φ to
/// its bound — and the MAP with them in is degenerate: θ's scale collapses
/// (mean θ² + se² ≈ 0.01–0.03, a ≈ 5), and EM crawled towards it without
/// converging (LiveCodeBench pass@1, 102 such problems). They say nothing
/// about who is more able, so the fit leaves them out of EM and gives each
/// one M-step against the final posteriors (ARCHITECTURE 18). Empty for
/// other families, whose fits converge with these items in.
fn all_equal_items(obs: &Observations) -> Vec<bool> {
    let Observations::Beta(m, lx, l1x) = obs else { return Vec::new() };
    let n = m.n_items();
    // Both logarithms: two nearby small scores can share an f32 ln x.
    let mut first: Vec<Option<(f32, f32)>> = vec![None; n];
    let mut constant = vec![true; n];
    for model in 0..m.n_models() {
        for (i, _) in m.row(model) {
            let v = (lx[model * n + i], l1x[model * n + i]);
            match first[i] {
                None => first[i] = Some(v),
                Some(f) if f != v => constant[i] = false,
                Some(_) => {}
            }
        }
    }
    constant
}

/// `m` with the cells of the flagged items removed (same rows and columns).
fn without_items(m: &ResponseMatrix, drop: &[bool]) -> ResponseMatrix {
    let mut b = crate::matrix::MatrixBuilder::new(m.item_ids().to_vec());
    b.force_continuous();
    let mut row = vec![None; m.n_items()];
    for model in 0..m.n_models() {
        for (i, slot) in row.iter_mut().enumerate() {
            *slot = if drop[i] { None } else { m.get(model, i) };
        }
        b.push_row_unchecked(m.model_ids()[model].clone(), &row);
    }
    b.into_matrix()
}

/// The state EM carries between iterations: posteriors, windows, statistics.
struct Em<'a, 's> {
    obs: &'a Observations<'a>,
    grid: &'a Grid,
    options: &'a FitOptions,
    /// External E- and M-step sums, and the models × nodes log-likelihoods
    /// they fill (empty without them).
    sums: Option<&'s mut dyn BinarySums>,
    ll: Vec<f64>,
    post: Vec<f64>,
    stats: Vec<f64>,
    summaries: Vec<PosteriorSummary>,
    /// Items left out of the MAP objective's prior term and of the b prior's
    /// centre: those [`all_equal_items`] set aside, which have no data in
    /// this EM (each M-step returns them to their priors' mode; the
    /// expansion then only rescales them).
    scale_free_items: Vec<bool>,
}

struct Step {
    items: Vec<ItemParams>,
    /// Marginal log-likelihood at the step's input parameters.
    log_likelihood: f64,
    max_change: f64,
}

impl<'a, 's> Em<'a, 's> {
    fn new(obs: &'a Observations<'a>, grid: &'a Grid, options: &'a FitOptions, sums: Option<&'s mut dyn BinarySums>) -> Self {
        let (q, m) = (grid.len(), obs.matrix());
        Em {
            obs,
            grid,
            options,
            ll: if sums.is_some() { vec![0.0; m.n_models() * q] } else { Vec::new() },
            sums,
            post: vec![0.0; m.n_models() * q],
            stats: vec![0.0; m.n_items() * obs.stats_per_node() * q],
            summaries: vec![PosteriorSummary::full(q); m.n_models()],
            scale_free_items: Vec::new(),
        }
    }

    async fn e_step(&mut self, items: &[ItemParams]) -> std::result::Result<f64, String> {
        let (nodes, family) = (&self.grid.nodes, self.obs.family());
        let outside = || "internal error: a posterior window outside the grid".to_string();
        if let Some(sums) = self.sums.as_deref_mut() {
            // The external sums evaluate every node.
            let tables = Tables::new(items, nodes, family);
            sums.log_likelihood(&tables.t0, &tables.t1, tables.q, &mut self.ll).await?;
            let full = Some(&self.ll[..]);
            return estep::posteriors(self.obs, &tables, self.grid, full, &mut self.post, &mut self.summaries).ok_or_else(outside);
        }
        // Tables only where last iteration's windows were; if a posterior
        // has moved out of them (early iterations), the whole grid.
        let lo = self.summaries.iter().map(|s| s.lo).min().unwrap_or(0);
        let hi = self.summaries.iter().map(|s| s.hi).max().unwrap_or(nodes.len());
        let tables = Tables::window(items, nodes, family, lo, hi);
        if let Some(ll) = estep::posteriors(self.obs, &tables, self.grid, None, &mut self.post, &mut self.summaries) {
            return Ok(ll);
        }
        let tables = Tables::new(items, nodes, family);
        estep::posteriors(self.obs, &tables, self.grid, None, &mut self.post, &mut self.summaries).ok_or_else(outside)
    }

    /// The population shift m and ln scale ℓ that maximise
    /// Σ_j E[ln N(θ_j; m, e^{2ℓ})] + Σ_i ln prior(item_i mapped back), by
    /// Newton's method on the two numbers (Rasch: shift only, since a = 1
    /// fixes the scale).
    fn expansion(&self, items: &[ItemParams]) -> (f64, f64) {
        let (family, free, priors) = (self.obs.family(), self.options.free(), &self.options.priors);
        let scale_free = self.options.model != IrtModel::Rasch;
        let objective = |shift: f64, log_scale: f64| -> f64 {
            let s = crate::math::exp(log_scale);
            let population: f64 = self.summaries.iter().map(|p| -((p.sd * p.sd + (p.mean - shift) * (p.mean - shift)) / (2.0 * s * s)) - log_scale).sum();
            // The b prior's centre is maximised with (m, s): the mapped items' mean b.
            let mapped: Vec<ItemParams> = items.iter().map(|p| ItemParams { a: p.a * s, b: (p.b - shift) / s, ..*p }).collect();
            let prior = items_log_prior(&mapped, family, free, priors, &self.scale_free_items, self.options.model);
            population + prior + shared_a_log_prior(self.options.model, items[0].a * s, priors)
        };
        let (mut x, mut y) = (0.0f64, 0.0f64);
        let h = 1e-4;
        for _ in 0..20 {
            let f0 = objective(x, y);
            let (fx1, fx0) = (objective(x + h, y), objective(x - h, y));
            let gx = (fx1 - fx0) / (2.0 * h);
            let hxx = (fx1 - 2.0 * f0 + fx0) / (h * h);
            let (step_x, step_y) = if scale_free {
                let (fy1, fy0) = (objective(x, y + h), objective(x, y - h));
                let gy = (fy1 - fy0) / (2.0 * h);
                let hyy = (fy1 - 2.0 * f0 + fy0) / (h * h);
                let hxy = (objective(x + h, y + h) - fx1 - objective(x, y + h) + f0) / (h * h);
                let (mut hxx, mut hyy) = (hxx, hyy);
                if !(hxx < 0.0 && hxx * hyy - hxy * hxy > 0.0) {
                    // Not concave here: lower the Hessian's spectrum below
                    // zero, a Levenberg–Marquardt step, and let the line
                    // search below keep only an ascent. Giving up instead
                    // left θ's location and scale to drift. (With the b
                    // prior's centre fixed, WMT's 460 segments against 13
                    // systems made the mapped b priors non-concave in the
                    // shift and fired this branch three times per fit;
                    // with it estimated they do not depend on the shift,
                    // and the branch is a safeguard: the population term
                    // itself is not jointly concave far from its maximum.)
                    let (mid, radius) = (0.5 * (hxx + hyy), (0.25 * (hxx - hyy) * (hxx - hyy) + hxy * hxy).sqrt());
                    let lower = mid + radius + (mid - radius).abs().max(1.0) * 1e-3 + 1e-9;
                    if !lower.is_finite() {
                        break;
                    }
                    hxx -= lower;
                    hyy -= lower;
                }
                let det = hxx * hyy - hxy * hxy;
                ((-hyy * gx + hxy * gy) / det, (hxy * gx - hxx * gy) / det)
            } else {
                if hxx >= 0.0 {
                    break;
                }
                (-gx / hxx, 0.0)
            };
            // At most 0.5 in either coordinate, scaled as a whole: clamping
            // each coordinate alone can turn an ascent direction into a
            // descent one, and the line search then finds nothing.
            let longest = step_x.abs().max(step_y.abs());
            if !longest.is_finite() {
                break;
            }
            let shrink = if longest > 0.5 { 0.5 / longest } else { 1.0 };
            let (step_x, step_y) = (step_x * shrink, step_y * shrink);
            let mut t = 1.0;
            let mut moved = false;
            for _ in 0..20 {
                if objective(x + t * step_x, y + t * step_y) >= f0 {
                    x += t * step_x;
                    y += t * step_y;
                    moved = true;
                    break;
                }
                t *= 0.5;
            }
            if !moved || (t * step_x).abs().max((t * step_y).abs()) < 1e-10 {
                break;
            }
        }
        (x, y)
    }

    /// One EM iteration from `items`.
    async fn step(&mut self, input: &[ItemParams], expand: bool) -> std::result::Result<Step, String> {
        let items = input;
        let log_likelihood = self.e_step(items).await?;
        let (q, k_stats) = (self.grid.len(), self.obs.stats_per_node());
        match self.sums.as_deref_mut() {
            Some(sums) => sums.counts(&self.post, q, &mut self.stats).await?,
            None => estep::accumulate(self.obs, &self.post, &self.summaries, q, &mut self.stats),
        }
        let (family, free, options) = (self.obs.family(), self.options.free(), self.options);
        let stats = &self.stats;
        let node_stats = |i: usize| item_stats(stats, i, k_stats, q);
        let nodes = &self.grid.nodes;
        let priors = centred_priors(&options.priors, items, &self.scale_free_items, options.model);
        let updated: Vec<(ItemParams, f64)> = parallel::map(items.len(), |i| m_step(&items[i], family, free, &priors, nodes, &node_stats(i), 25));
        let mut items: Vec<ItemParams> = updated.into_iter().map(|u| u.0).collect();
        if options.model == IrtModel::OnePl {
            let all: Vec<NodeStats> = (0..items.len()).map(node_stats).collect();
            let a = shared_a_step(&items, nodes, &all, &options.priors, b_spread(&items, &options.priors));
            items.iter_mut().for_each(|p| p.a = a);
        }
        // Parameter expansion (PX-EM; Liu, Rubin & Wu 1998, Biometrika
        // 85:755): let the population be N(m, s²), maximise the expected
        // complete-data log posterior over (m, s) as well — the population
        // term wants the posteriors' mean and spread, the item priors pull
        // back — then map back to θ ~ N(0, 1) by rescaling the items. This is
        // an exact EM for the expanded model, so it stays monotone, and the
        // slow "stretch θ, shrink a" direction settles in a few steps instead
        // of hundreds.
        if expand {
            let (shift, log_scale) = self.expansion(&items);
            if shift.abs() > 1e-12 || log_scale.abs() > 1e-12 {
                let sd = crate::math::exp(log_scale);
                for p in items.iter_mut() {
                    p.a *= sd;
                    p.b = (p.b - shift) / sd;
                }
                for s in self.summaries.iter_mut() {
                    s.mean = (s.mean - shift) / sd;
                    s.sd /= sd;
                    (s.lo, s.hi) = self.grid.window(s.mean, s.sd);
                }
            }
        }
        // Convergence is judged on the whole step (M-step then expansion):
        // at the fixed point the two cancel, each alone need not be small.
        let before = pack_all(input, family, free);
        let after = pack_all(&items, family, free);
        let max_change = before.iter().zip(&after).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        Ok(Step { items, log_likelihood, max_change })
    }
}

/// The JSON form of a fit (what `benchsift fit` writes and `estimate` reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitJson {
    pub irt: IrtModel,
    pub dims: usize,
    /// How a multidimensional fit was made (`gvem`); absent for 1-D fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub items: Vec<ItemJson>,
    pub models: Vec<ModelJson>,
    pub log_likelihood: f64,
    pub iterations: usize,
    pub converged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// Nodes of the 1-D grid; 0 for a multidimensional (variational) fit.
    pub quadrature_points: usize,
    pub backend: Backend,
}

/// One number per dimension: a bare number for 1-D fits (as they have
/// always been written), an array for multidimensional ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PerDim {
    One(f64),
    Many(Vec<f64>),
}

impl PerDim {
    fn one(&self) -> Option<f64> {
        match self {
            PerDim::One(x) => Some(*x),
            PerDim::Many(_) => None,
        }
    }

    fn many(&self, dims: usize) -> Option<&[f64]> {
        match self {
            PerDim::Many(v) if v.len() == dims => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemJson {
    pub id: String,
    /// Discrimination; for dims > 1 the loadings a (P = σ(aᵀθ + d)).
    pub a: PerDim,
    /// Difficulty; for dims > 1 MDIFF = −d/‖a‖.
    pub b: f64,
    /// The intercept d of a multidimensional item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercept: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phi: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelJson {
    pub id: String,
    pub theta: PerDim,
    pub se: PerDim,
}

impl IrtFit {
    /// A fit read back from its JSON (what `estimate` does with model.json).
    pub fn from_json(json: FitJson) -> Result<IrtFit> {
        if json.dims > 1 {
            return Self::from_multi_json(json);
        }
        if json.dims == 0 {
            return Err(Error::invalid("a fit with 0 latent dimensions"));
        }
        let one = |v: &PerDim, what: &str, id: &str| {
            v.one().ok_or_else(|| Error::invalid(format!("'{}': {what} must be a number in a 1-dimensional fit", crate::error::truncate(id, 40))))
        };
        let items = json
            .items
            .iter()
            .map(|i| {
                let p = ItemParams { a: one(&i.a, "a", &i.id)?, b: i.b, c: i.c.unwrap_or(0.0), d: i.d.unwrap_or(1.0), phi: i.phi.unwrap_or(f64::NAN) };
                let ok = p.a.is_finite()
                    && p.a > 0.0
                    && p.b.is_finite()
                    && (0.0..1.0).contains(&p.c)
                    && p.d > p.c
                    && p.d <= 1.0
                    && (json.irt != IrtModel::Beta || (p.phi.is_finite() && p.phi > 0.0));
                if ok { Ok(p) } else { Err(Error::invalid(format!("item '{}' has invalid parameters", crate::error::truncate(&i.id, 40)))) }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(IrtFit {
            model: json.irt,
            item_ids: json.items.into_iter().map(|i| i.id).collect(),
            items,
            model_ids: json.models.iter().map(|m| m.id.clone()).collect(),
            theta: json.models.iter().map(|m| one(&m.theta, "theta", &m.id)).collect::<Result<_>>()?,
            theta_se: json.models.iter().map(|m| one(&m.se, "se", &m.id)).collect::<Result<_>>()?,
            log_likelihood: json.log_likelihood,
            iterations: json.iterations,
            converged: json.converged,
            scale: json.scale,
            quadrature_points: json.quadrature_points,
            backend: json.backend,
            multi: None,
        })
    }

    fn from_multi_json(json: FitJson) -> Result<IrtFit> {
        let d = json.dims;
        if d > multi::MAX_DIMS {
            return Err(Error::invalid(format!("a {d}-dimensional fit: at most {} dimensions are supported", multi::MAX_DIMS)));
        }
        if json.irt != IrtModel::TwoPl {
            return Err(Error::invalid(format!("a {d}-dimensional fit must be 2pl, not {}", json.irt.as_str())));
        }
        let bad = |what: &str, id: &str| Error::invalid(format!("'{}': {what} must be {d} finite numbers", crate::error::truncate(id, 40)));
        let mut f = multi::MultiFit { dims: d, a: Vec::new(), intercept: Vec::new(), theta: Vec::new(), theta_se: Vec::new() };
        for i in &json.items {
            let a = i.a.many(d).filter(|a| a.iter().all(|x| x.is_finite())).ok_or_else(|| bad("a", &i.id))?;
            let norm = a.iter().map(|x| x * x).sum::<f64>().sqrt();
            // The intercept is written exactly; b = MDIFF recovers it otherwise.
            let intercept = i.intercept.unwrap_or(-i.b * norm);
            if !intercept.is_finite() {
                return Err(bad("intercept", &i.id));
            }
            f.a.extend_from_slice(a);
            f.intercept.push(intercept);
        }
        for m in &json.models {
            let t = m.theta.many(d).filter(|t| t.iter().all(|x| x.is_finite())).ok_or_else(|| bad("theta", &m.id))?;
            let s = m.se.many(d).filter(|s| s.iter().all(|x| *x >= 0.0)).ok_or_else(|| bad("se", &m.id))?;
            f.theta.extend_from_slice(t);
            f.theta_se.extend_from_slice(s);
        }
        Ok(IrtFit {
            model: json.irt,
            items: (0..json.items.len()).map(|i| ItemParams::new(f.mdisc(i), f.mdiff(i))).collect(),
            item_ids: json.items.into_iter().map(|i| i.id).collect(),
            model_ids: json.models.iter().map(|m| m.id.clone()).collect(),
            theta: f.theta.chunks(d).map(|t| t[0]).collect(),
            theta_se: f.theta_se.chunks(d).map(|t| t[0]).collect(),
            log_likelihood: json.log_likelihood,
            iterations: json.iterations,
            converged: json.converged,
            scale: json.scale,
            quadrature_points: json.quadrature_points,
            backend: json.backend,
            multi: Some(f),
        })
    }

    /// Latent dimensions of the fit.
    pub fn dims(&self) -> usize {
        self.multi.as_ref().map_or(1, |f| f.dims)
    }

    pub fn to_json(&self) -> FitJson {
        if let Some(f) = &self.multi {
            return self.to_multi_json(f);
        }
        let three = matches!(self.model, IrtModel::ThreePl | IrtModel::FourPl);
        FitJson {
            irt: self.model,
            dims: 1,
            method: None,
            items: self
                .item_ids
                .iter()
                .zip(&self.items)
                .map(|(id, p)| ItemJson {
                    id: id.clone(),
                    a: PerDim::One(p.a),
                    b: p.b,
                    intercept: None,
                    c: three.then_some(p.c),
                    d: (self.model == IrtModel::FourPl).then_some(p.d),
                    phi: (self.model == IrtModel::Beta).then_some(p.phi),
                })
                .collect(),
            models: self
                .model_ids
                .iter()
                .zip(self.theta.iter().zip(&self.theta_se))
                .map(|(id, (t, s))| ModelJson { id: id.clone(), theta: PerDim::One(*t), se: PerDim::One(*s) })
                .collect(),
            log_likelihood: self.log_likelihood,
            iterations: self.iterations,
            converged: self.converged,
            scale: self.scale,
            quadrature_points: self.quadrature_points,
            backend: self.backend.clone(),
        }
    }

    fn to_multi_json(&self, f: &multi::MultiFit) -> FitJson {
        let d = f.dims;
        FitJson {
            irt: self.model,
            dims: d,
            method: Some("gvem".into()),
            items: self
                .item_ids
                .iter()
                .enumerate()
                .map(|(i, id)| ItemJson {
                    id: id.clone(),
                    a: PerDim::Many(f.loadings(i).to_vec()),
                    b: f.mdiff(i),
                    intercept: Some(f.intercept[i]),
                    c: None,
                    d: None,
                    phi: None,
                })
                .collect(),
            models: self
                .model_ids
                .iter()
                .enumerate()
                .map(|(j, id)| ModelJson {
                    id: id.clone(),
                    theta: PerDim::Many(f.theta_of(j).to_vec()),
                    se: PerDim::Many(f.theta_se[j * d..(j + 1) * d].to_vec()),
                })
                .collect(),
            log_likelihood: self.log_likelihood,
            iterations: self.iterations,
            converged: self.converged,
            scale: self.scale,
            quadrature_points: self.quadrature_points,
            backend: self.backend.clone(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::matrix::MatrixBuilder;
    use crate::rng::Rng;

    /// A synthetic 2PL matrix (a log-normal, b and θ standard normal) with
    /// about `missing` of its cells absent.
    pub(crate) fn synthetic_2pl(models: usize, items: usize, missing: f64, seed: u64) -> ResponseMatrix {
        synthetic_2pl_from(models, items, missing, &mut Rng::new(seed)).0
    }

    /// [`synthetic_2pl`] drawing from `rng`, with the true item parameters.
    pub(crate) fn synthetic_2pl_from(models: usize, items: usize, missing: f64, rng: &mut Rng) -> (ResponseMatrix, Vec<ItemParams>) {
        let params: Vec<ItemParams> = (0..items).map(|_| ItemParams::new(rng.log_normal(0.0, 0.3), rng.normal())).collect();
        let mut b = MatrixBuilder::new((0..items).map(|i| format!("i{i}")).collect());
        for j in 0..models {
            let theta = rng.normal();
            let row: Vec<Option<f32>> =
                params.iter().map(|p| if rng.uniform() < missing { None } else { Some((rng.uniform() < p.expected(theta)) as u8 as f32) }).collect();
            b.push_row_unchecked(format!("m{j}"), &row);
        }
        (b.into_matrix(), params)
    }

    /// The sums over the whole grid, on the CPU, in the windowed code's
    /// order (observed items, then correct ones; models ascending), failing
    /// from call `fail_at` on.
    pub(crate) struct CpuSums<'a> {
        pub m: &'a ResponseMatrix,
        pub calls: usize,
        pub fail_at: usize,
    }

    impl CpuSums<'_> {
        fn fail(&mut self) -> std::result::Result<(), String> {
            self.calls += 1;
            if self.calls >= self.fail_at { Err("device lost (simulated)".into()) } else { Ok(()) }
        }
    }

    impl BinarySums for CpuSums<'_> {
        fn log_likelihood<'a>(&'a mut self, t0: &'a [f64], t1: &'a [f64], q: usize, ll: &'a mut [f64]) -> SumsFuture<'a> {
            let out = self.fail().map(|()| {
                ll.fill(0.0);
                for model in 0..self.m.n_models() {
                    let row = &mut ll[model * q..(model + 1) * q];
                    for (t, bits) in [(t0, self.m.observed_bits(model)), (t1, self.m.correct_bits(model).unwrap())] {
                        for i in 0..self.m.n_items() {
                            if bits[i / 64] >> (i % 64) & 1 == 1 {
                                row.iter_mut().zip(&t[i * q..(i + 1) * q]).for_each(|(a, x)| *a += x);
                            }
                        }
                    }
                }
            });
            Box::pin(std::future::ready(out))
        }

        fn counts<'a>(&'a mut self, post: &'a [f64], q: usize, stats: &'a mut [f64]) -> SumsFuture<'a> {
            let out = self.fail().map(|()| {
                let full = vec![PosteriorSummary::full(q); self.m.n_models()];
                estep::accumulate(&Observations::Binary(self.m), post, &full, q, stats);
            });
            Box::pin(std::future::ready(out))
        }
    }

    /// [`CpuSums`] whose results arrive only on the second poll, as a
    /// WebGPU readback would: [`fit_with`] reports that instead of hanging,
    /// and [`fit_async`] under a real executor gives the synchronous fit.
    pub(crate) struct LateSums<'a>(pub CpuSums<'a>);

    /// Pending on its first poll (waking its task), ready on the second.
    struct YieldOnce(bool);

    impl std::future::Future for YieldOnce {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            if self.0 {
                return std::task::Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }

    impl BinarySums for LateSums<'_> {
        fn log_likelihood<'a>(&'a mut self, t0: &'a [f64], t1: &'a [f64], q: usize, ll: &'a mut [f64]) -> SumsFuture<'a> {
            let inner = self.0.log_likelihood(t0, t1, q, ll);
            Box::pin(async move {
                YieldOnce(false).await;
                inner.await
            })
        }

        fn counts<'a>(&'a mut self, post: &'a [f64], q: usize, stats: &'a mut [f64]) -> SumsFuture<'a> {
            let inner = self.0.counts(post, q, stats);
            Box::pin(async move {
                YieldOnce(false).await;
                inner.await
            })
        }
    }

    /// A minimal executor for the tests: polls until ready, the waker a no-op
    /// (the late futures wake themselves by being polled again).
    pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    /// The provider path changes nothing but where the sums come from: with
    /// f64 full-grid sums the fit is the CPU fit to 1e-7. (Not bit for bit:
    /// the CPU's counts skip the posterior's mass beyond ±8 sd of its mean,
    /// below 1e-14, which the full-grid counts include.)
    #[test]
    fn external_sums_reproduce_the_cpu_fit_and_their_failure_is_reported() {
        let m = synthetic_2pl(120, 40, 0.1, 5);
        for model in [IrtModel::Rasch, IrtModel::OnePl, IrtModel::TwoPl, IrtModel::ThreePl] {
            let options = FitOptions { model, ..FitOptions::default() };
            let cpu = fit(&m, &options, &mut |_| true).unwrap();
            let mut sums = CpuSums { m: &m, calls: 0, fail_at: usize::MAX };
            let ext = fit_with(&m, &options, Some(&mut sums), &mut |_| true).unwrap().unwrap();
            // Two sums per EM iteration and the final E-step.
            assert_eq!(sums.calls, 2 * ext.iterations + 1, "{model:?}");
            let mut worst: f64 = 0.0;
            for (p, q) in cpu.items.iter().zip(&ext.items) {
                worst = worst.max((p.a - q.a).abs()).max((p.b - q.b).abs()).max((p.c - q.c).abs());
            }
            for (x, y) in cpu.theta.iter().zip(&ext.theta).chain(cpu.theta_se.iter().zip(&ext.theta_se)) {
                worst = worst.max((x - y).abs());
            }
            assert!(worst < 1e-7, "{model:?}: largest difference {worst:e}");
            assert!((cpu.log_likelihood - ext.log_likelihood).abs() < 1e-6, "{model:?}");
        }
        let mut failing = CpuSums { m: &m, calls: 0, fail_at: 7 };
        let out = fit_with(&m, &FitOptions::default(), Some(&mut failing), &mut |_| true).unwrap();
        assert_eq!(out.unwrap_err(), "device lost (simulated)");
        // Sums that arrive later (as WebGPU readbacks do): the synchronous
        // entry says so; the asynchronous one, awaited, gives the same fit
        // as sums that are ready at once, and reports progress the same way.
        let options = FitOptions::default();
        let mut late = LateSums(CpuSums { m: &m, calls: 0, fail_at: usize::MAX });
        let out = fit_with(&m, &options, Some(&mut late), &mut |_| true).unwrap();
        assert!(out.unwrap_err().contains("did not finish synchronously"));
        let (mut seen_now, mut seen_late) = (Vec::new(), Vec::new());
        let mut now = CpuSums { m: &m, calls: 0, fail_at: usize::MAX };
        let ready = fit_with(&m, &options, Some(&mut now), &mut |p| {
            seen_now.push(p.iteration);
            true
        })
        .unwrap()
        .unwrap();
        let mut late = LateSums(CpuSums { m: &m, calls: 0, fail_at: usize::MAX });
        let awaited = block_on(fit_async(&m, &options, Some(&mut late), &mut |p| {
            seen_late.push(p.iteration);
            true
        }))
        .unwrap()
        .unwrap();
        assert_eq!(format!("{:?}", ready.to_json()), format!("{:?}", awaited.to_json()));
        assert_eq!(seen_now, seen_late);
        assert!(!seen_now.is_empty());
        // Continuous data cannot use the binary sums.
        let mut b = MatrixBuilder::new(vec!["i0".into(), "i1".into()]);
        b.push_row_unchecked("m0".into(), &[Some(0.5), Some(0.25)]);
        b.push_row_unchecked("m1".into(), &[Some(0.75), Some(1.0)]);
        let c = b.into_matrix();
        assert!(fit_with(&c, &FitOptions::default(), Some(&mut CpuSums { m: &c, calls: 0, fail_at: 1 }), &mut |_| true).is_err());
    }

    #[test]
    fn a_matrix_where_no_item_varies_is_refused_with_a_reason() {
        let mut b = MatrixBuilder::new(vec!["q1".into(), "q2".into(), "q3".into()]);
        b.push_row_unchecked("m0".into(), &[Some(1.0), None, Some(0.0)]);
        b.push_row_unchecked("m1".into(), &[Some(1.0), Some(1.0), Some(0.0)]);
        let constant = b.into_matrix();
        let err = fit(&constant, &FitOptions::default(), &mut |_| true).unwrap_err().to_string();
        assert!(err.contains("no item tells any two models apart"), "{err}");
        // One differing cell is enough.
        let mut b = MatrixBuilder::new(vec!["q1".into(), "q2".into(), "q3".into()]);
        b.push_row_unchecked("m0".into(), &[Some(1.0), None, Some(0.0)]);
        b.push_row_unchecked("m1".into(), &[Some(1.0), Some(1.0), Some(1.0)]);
        assert!(fit(&b.into_matrix(), &FitOptions::default(), &mut |_| true).is_ok());
    }
}
