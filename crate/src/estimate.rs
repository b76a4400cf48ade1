//! A new model's full-benchmark score from its answers on a subset, each
//! estimate with a 95% interval.
//!
//! - `mean`: the subset mean; interval from the sample standard deviation
//!   with the finite-population correction (the subset is drawn from a known,
//!   finite benchmark).
//! - `weighted`: Σ wᵢxᵢ with the subset's weights (cluster masses for anchor
//!   methods, stratum shares for stratified sampling); interval from the
//!   weighted residual variance.
//! - `irt`: θ from the subset (MAP under N(0, 1), with its standard error),
//!   then the mean expected score over *all* items at θ. Interval: the θ
//!   uncertainty mapped through the expected-score curve (delta method) plus
//!   the response noise of a finite benchmark, Σ Var(xᵢ | θ) / N².
//! - `pirt` (tinyBenchmarks' p-IRT, Polo et al. 2024): observed scores where
//!   the model answered, IRT predictions for every other item, averaged.
//! - `gpirt` (tinyBenchmarks' gp-IRT): λ·weighted + (1 − λ)·p-IRT, with λ
//!   calibrated on the training models (see [`calibrate_lambda`]).
//!   Interval: the two variances combined as if independent.
//!
//! - `theta-reg`: for a matrix that holds only part of a benchmark, whose
//!   full scores (`--truth`) are known for the training models: the `irt`
//!   estimate x (the expected score over the matrix's items at the θ from
//!   the subset) mapped to the full score by the least-squares line
//!   t = α + β·x fitted on the training models (see [`calibrate_regression`]).
//!   Interval: the regression's prediction interval,
//!   ± t₀.₉₇₅,ₙ₋₂ · s · √(1 + 1/n + (x − x̄)²/Sxx), with s the residual
//!   standard deviation, so it carries both the θ noise (as it shows in the
//!   training models' residuals) and the part→whole mismatch.
//! - `calibrated`: the survey-sampling regression estimator (Cochran 1977,
//!   ch. 7; Särndal, Swensson & Wretman 1992) with the training models as the
//!   sample: their full scores are known (row means, or `--truth`), so the
//!   least-squares line t = α + β·x of truth on the subset's `weighted` mean
//!   x is fitted on them and applied to a new model's x. A subset chosen for
//!   ranking or information (metric-var, metric-cons, metabench, dpp) is not
//!   a sample and its mean is biased for the full score; the bias is mostly a
//!   level and a stretch shared by all models, which the line removes. One
//!   predictor, the weighted mean (the plain mean when weights are uniform;
//!   for cluster or Voronoi weights already the more representative one): a
//!   second predictor would spend a degree of freedom of ~40 training models
//!   on two nearly collinear numbers. It needs no IRT fit, so the training
//!   models' x are not fitted on them (only the selection saw them).
//!   Interval: theta-reg's prediction interval ([`Regression::predict`]).
//!   Fewer than 3 training models, or subset means that do not vary, give
//!   no line: `estimate` refuses the estimator and `evaluate` skips it.
//!
//! - `ridge`: `calibrated`'s line plus a ridge-penalised weight per subset
//!   item, t = α + γ·x + Σₖ βₖ(xₖ − μₖ), fitted on the training models (at
//!   most [`RIDGE_MAX_MODELS`], evenly spaced) with α, γ unpenalised and the
//!   penalty λ chosen by exact leave-one-out cross-validation over a grid.
//!   Where `calibrated` can only stretch the subset mean, the item weights
//!   learn which answers say more about the rest of the benchmark; λ → ∞
//!   gives `calibrated` back. μₖ is the training models' mean on item k, so
//!   an unanswered item adds nothing. Interval: ± the split-conformal 95%
//!   quantile of the leave-one-out absolute errors (each a training model's
//!   error from a fit without it), so it needs no normal assumption.
//!   Fewer than 4 training models or subset means that do not vary give no
//!   fit, as for `calibrated`.
//!
//! Intervals are normal (± 1.96 SE) unless said otherwise; `evaluate`
//! measures their coverage.
//!
//! Calibrated width. Every SE above assumes something a selector may break:
//! `mean` and `weighted` that the subset is a random sample (of the
//! benchmark, or of each cluster or Voronoi cell), the IRT estimators that
//! the model fits the items. Subsets chosen for coverage of an embedding
//! space (`kcenter`, `dpp`) or for information (`metabench`) are not
//! samples, so their error is mostly a bias the SE does not see (coverage
//! 0.3–0.6 at small budgets on AlpacaEval before this). The training models
//! show that error: their full scores are known, so for each estimator
//! `calibrate_interval_floor` takes their absolute errors |estimate − truth|
//! and the split-conformal 95% quantile of them, q (the ⌈0.95·(n + 1)⌉-th
//! smallest; the largest when n < 19), and the interval becomes
//! ± max(1.96·SE, q): never narrower than the model-based one, and at least
//! as wide as the training models needed (Vovk et al. 2005; Lei et al. 2018,
//! "Distribution-Free Predictive Inference for Regression"). The training
//! models' estimates use only their own subset answers (and, for `mean` and
//! `weighted`, nothing fitted on them), so their errors are
//! exchangeable with a new model's; for the IRT estimators the item
//! parameters were fitted with them, which makes the quantile a little
//! optimistic. `evaluate` calibrates per split on at most 100 training
//! models; `select` stores the floors in the subset file
//! (`interval_floors`) for `estimate`. theta-reg's and calibrated's
//! prediction intervals are already built on the training models' residuals
//! and are left as they are.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::impute::ItemFactors;
use crate::irt::scoring::{ThetaMethod, estimate_theta};
use crate::irt::{Family, IrtFit, Scale};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimator {
    Mean,
    Weighted,
    Irt,
    Pirt,
    Gpirt,
    #[serde(rename = "theta-reg")]
    ThetaReg,
    Calibrated,
    Ridge,
}

impl Estimator {
    pub const ALL: [Estimator; 8] =
        [Estimator::Mean, Estimator::Weighted, Estimator::Irt, Estimator::Pirt, Estimator::Gpirt, Estimator::ThetaReg, Estimator::Calibrated, Estimator::Ridge];

    pub fn parse(name: &str) -> Result<Estimator> {
        Estimator::ALL.into_iter().find(|e| e.as_str() == name.trim()).ok_or_else(|| {
            Error::invalid(format!(
                "unknown estimator '{}': expected one of {}",
                crate::error::truncate(name, 30),
                Estimator::ALL.map(|e| e.as_str()).join(", ")
            ))
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Estimator::Mean => "mean",
            Estimator::Weighted => "weighted",
            Estimator::Irt => "irt",
            Estimator::Pirt => "pirt",
            Estimator::Gpirt => "gpirt",
            Estimator::ThetaReg => "theta-reg",
            Estimator::Calibrated => "calibrated",
            Estimator::Ridge => "ridge",
        }
    }

    pub fn needs_irt(self) -> bool {
        matches!(self, Estimator::Irt | Estimator::Pirt | Estimator::Gpirt | Estimator::ThetaReg)
    }

    /// Fitted on the training models' true scores, with an interval built
    /// from their residuals (so no conformal floor on top).
    pub fn trained(self) -> bool {
        matches!(self, Estimator::ThetaReg | Estimator::Calibrated | Estimator::Ridge)
    }

    /// For the estimators that map another estimate through a line fitted
    /// on the training models: that estimate (the line's predictor).
    pub fn predictor(self) -> Option<Estimator> {
        match self {
            Estimator::ThetaReg => Some(Estimator::Irt),
            Estimator::Calibrated => Some(Estimator::Weighted),
            _ => None,
        }
    }
}

/// An estimate of the full-benchmark mean score with its 95% interval, on the
/// scores' own scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// What an estimator knows: the subset, its weights, the benchmark size and,
/// for IRT estimators, a fit whose items are the whole benchmark.
pub struct Setup<'a> {
    /// Subset items, as indices into the full benchmark (= the fit's items).
    pub items: &'a [usize],
    pub weights: &'a [f64],
    pub n_items: usize,
    pub fit: Option<&'a IrtFit>,
    /// gp-IRT's mixing weight on the weighted estimate.
    pub lambda: Option<f64>,
    /// theta-reg's calibration line.
    pub regression: Option<Regression>,
    /// `calibrated`'s line (true score on the weighted subset mean).
    pub calibration: Option<Regression>,
    /// `ridge`'s fit.
    pub ridge: Option<&'a RidgeFit>,
    /// `ridge`'s fits per task, when the true scores came per task: then
    /// `ridge` estimates each task and the composite is their weighted mean.
    pub task_ridges: Option<&'a TaskRidges>,
    /// Smallest half-width of the interval, from the training models' errors
    /// (see [`calibrate_interval_floor`]); `None`: the model-based interval.
    pub interval_floor: Option<f64>,
}

/// theta-reg's line t = intercept + slope·x with what its prediction
/// interval needs, fitted on the training models.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    pub intercept: f64,
    pub slope: f64,
    /// Residual standard deviation (n − 2 degrees of freedom).
    pub residual_sd: f64,
    pub n: usize,
    pub mean_x: f64,
    /// Σ (x − x̄)².
    pub sxx: f64,
}

impl Regression {
    /// The line's prediction at `x` with its 95% prediction interval,
    /// ± t₀.₉₇₅,ₙ₋₂ · s · √(1 + 1/n + (x − x̄)²/Sxx). A line read from a file
    /// is checked first: it must have come from ≥ 3 models and finite numbers.
    pub fn predict(&self, x: f64) -> Result<Estimate> {
        let sane = self.n >= 3
            && self.sxx > 0.0
            && self.residual_sd >= 0.0
            && [self.intercept, self.slope, self.residual_sd, self.mean_x, self.sxx].iter().all(|v| v.is_finite());
        if !sane {
            return Err(Error::invalid("the calibration line is not usable: it needs at least 3 training models, varying predictors and finite numbers"));
        }
        let half = t975((self.n - 2) as f64) * self.residual_sd * (1.0 + 1.0 / self.n as f64 + (x - self.mean_x).powi(2) / self.sxx).sqrt();
        let estimate = self.intercept + self.slope * x;
        // The truth's scale is the user's, not the matrix's: no clamping.
        Ok(Estimate { estimate, low: estimate - half, high: estimate + half })
    }
}

/// t₀.₉₇₅ with `df` degrees of freedom. The quantile is found by iterating
/// the incomplete beta function, which cost a third of `evaluate`'s time when
/// it ran for every held-out model; each line has one df, so one entry per
/// thread is remembered (the same number, so the same bits).
fn t975(df: f64) -> f64 {
    thread_local! {
        static LAST: std::cell::Cell<(f64, f64)> = const { std::cell::Cell::new((f64::NAN, f64::NAN)) };
    }
    LAST.with(|last| {
        let (d, q) = last.get();
        if d == df {
            return q;
        }
        let q = crate::metrics::student_t_quantile(0.975, df);
        last.set((df, q));
        q
    })
}

/// Least-squares line of true scores on a predictor (theta-reg: `irt`
/// estimates; calibrated: weighted subset means); rows are
/// (predictor, true score). `None` with fewer than 3 rows or constant x.
pub fn calibrate_regression(rows: &[(f64, f64)]) -> Option<Regression> {
    let n = rows.len();
    if n < 3 {
        return None;
    }
    let mean_x = rows.iter().map(|r| r.0).sum::<f64>() / n as f64;
    let mean_t = rows.iter().map(|r| r.1).sum::<f64>() / n as f64;
    let sxx: f64 = rows.iter().map(|r| (r.0 - mean_x) * (r.0 - mean_x)).sum();
    if !(sxx > 0.0) {
        return None;
    }
    let sxt: f64 = rows.iter().map(|r| (r.0 - mean_x) * (r.1 - mean_t)).sum();
    let slope = sxt / sxx;
    let intercept = mean_t - slope * mean_x;
    let sse: f64 = rows.iter().map(|r| (r.1 - intercept - slope * r.0).powi(2)).sum();
    Some(Regression { intercept, slope, residual_sd: (sse / (n - 2) as f64).sqrt(), n, mean_x, sxx })
}

const Z95: f64 = 1.959963984540054;

/// (value, variance) on the scale the estimator works in.
type Moments = (f64, f64);

fn to_unit(scale: Option<Scale>, x: f64) -> f64 {
    scale.map_or(x, |s| s.apply(x))
}

fn from_unit(scale: Option<Scale>, u: f64) -> f64 {
    match scale {
        None | Some(Scale::Identity) => u,
        Some(Scale::Percent) => u * 100.0,
        Some(Scale::MinMax { low, high }) => low + u * (high - low),
    }
}

/// Derivative of `from_unit`, to carry variances across the mapping.
fn unit_span(scale: Option<Scale>) -> f64 {
    match scale {
        None | Some(Scale::Identity) => 1.0,
        Some(Scale::Percent) => 100.0,
        Some(Scale::MinMax { low, high }) => high - low,
    }
}

/// One model's responses on a subset, as the estimators take them:
/// (position in `items`, raw score), unanswered items left out.
pub fn responses_on(m: &crate::matrix::ResponseMatrix, model: usize, items: &[usize]) -> Vec<(usize, f64)> {
    items.iter().enumerate().filter_map(|(k, &i)| m.get(model, i).map(|x| (k, x as f64))).collect()
}

/// Estimates one model's full score. `responses` pairs a position in
/// `setup.items` with the model's raw score there; unanswered subset items
/// are simply absent.
pub fn estimate(setup: &Setup, estimator: Estimator, responses: &[(usize, f64)]) -> Result<Estimate> {
    if estimator == Estimator::Ridge {
        if let Some(tasks) = setup.task_ridges {
            return tasks.predict(setup, responses).map(|(composite, _)| composite);
        }
        let fit = setup.ridge.ok_or_else(|| {
            Error::invalid("the ridge estimator needs a fit on at least 4 training models whose subset means differ (select writes it into the subset file)")
        })?;
        return fit.predict(setup, responses);
    }
    // A line's estimators map their predictor's estimate, the same number
    // their line was fitted on.
    let (value, sd) = point(setup, estimator.predictor().unwrap_or(estimator), responses)?;
    match estimator {
        Estimator::ThetaReg => {
            let reg = setup.regression.ok_or_else(|| Error::invalid("the theta-reg estimator needs a calibration on training models with true scores"))?;
            return reg.predict(value);
        }
        Estimator::Calibrated => {
            let line = setup.calibration.ok_or_else(|| {
                Error::invalid("the calibrated estimator needs a line fitted on at least 3 training models whose subset means differ (select writes it into the subset file)")
            })?;
            return line.predict(value);
        }
        _ => {}
    }
    let half = (Z95 * sd).max(setup.interval_floor.unwrap_or(0.0));
    let (mut low, mut high) = (value - half, value + half);
    // Scores known to live in [0, 1] keep their interval there.
    let scale = setup.fit.and_then(|f| f.scale);
    if responses.iter().all(|r| (0.0..=1.0).contains(&r.1)) && scale.is_none_or(|s| s == Scale::Identity) {
        low = low.max(0.0);
        high = high.min(1.0);
    }
    Ok(Estimate { estimate: value, low, high })
}

/// The full score at a given θ, `irt` or `pirt` (plugging in the observed
/// `answered` scores: (item index of the fit, raw score)), with the 95%
/// interval those estimators give, on the scores' own scale: the estimate of
/// a caller that scores θ its own way (adaptive testing, by EAP).
///
/// `population` (one flag per item; `None`: every item) restricts the
/// score to the items a model is scored on, when that is known (`evaluate`
/// replaying a model with missing cells, whose true score is its mean over
/// the items it has); answered items must lie in it. `explored`: the
/// answered items an adaptive test drew at random (a subset of `answered`),
/// whose residuals correct pirt's predictions (at least 2; otherwise none).
pub fn estimate_at_theta(
    fit: &IrtFit,
    theta: crate::irt::scoring::ThetaEstimate,
    answered: &[(usize, f64)],
    plug_observed: bool,
    population: Option<&[bool]>,
    explored: &[(usize, f64)],
) -> Estimate {
    let scale = fit.scale;
    let unit: Vec<(usize, f64)> = answered.iter().map(|&(i, x)| (i, to_unit(scale, x))).collect();
    let (mut value, mut var) = moments_at_theta(fit, theta, &unit, plug_observed, population);
    // Items drawn at random from the unanswered part: their mean residual
    // estimates the fit's error over the items it predicts (a difference
    // estimator; Särndal, Swensson & Wretman 1992, §6.3), which a model's
    // misfit leaves biased however precisely θ is known.
    if plug_observed && explored.len() >= 2 {
        let residuals: Vec<f64> = explored.iter().map(|&(i, x)| to_unit(scale, x) - fit.items[i].expected(theta.theta)).collect();
        let k = residuals.len() as f64;
        let mean = residuals.iter().sum::<f64>() / k;
        let s2 = residuals.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (k - 1.0);
        let total = population.map_or(fit.items.len(), |p| p.iter().filter(|&&x| x).count()).max(1) as f64;
        let predicted = (total - answered.len() as f64).max(0.0) / total;
        // Shrunk toward no correction by its own noise (positive-part
        // James–Stein for one mean): a few residuals move the estimate only
        // when their mean stands out of their noise.
        let noise = s2 / k;
        let shrink = if mean * mean > 0.0 { (1.0 - noise / (mean * mean)).max(0.0) } else { 0.0 };
        value += predicted * shrink * mean;
        var += predicted * predicted * noise;
    }
    let (value, sd) = (from_unit(scale, value), var.max(0.0).sqrt() * unit_span(scale).abs());
    let half = Z95 * sd;
    let (mut low, mut high) = (value - half, value + half);
    if scale.is_none_or(|s| s == Scale::Identity) {
        low = low.max(0.0);
        high = high.min(1.0);
    }
    Estimate { estimate: value, low, high }
}

/// The split-conformal floor of an estimator's interval half-width from
/// training models' rows (estimate, true score): the ⌈0.95·(n + 1)⌉-th
/// smallest |estimate − truth| (the largest when n < 19). `None` without
/// rows.
pub fn calibrate_interval_floor(rows: &[(f64, f64)]) -> Option<f64> {
    let mut err: Vec<f64> = rows.iter().map(|&(e, t)| (e - t).abs()).filter(|x| x.is_finite()).collect();
    if err.is_empty() {
        return None;
    }
    err.sort_by(f64::total_cmp);
    let n = err.len();
    let rank = ((0.95 * (n + 1) as f64).ceil() as usize).min(n);
    Some(err[rank - 1])
}

/// [`calibrate_interval_floor`] for `estimator` on `setup` from training
/// models: each a (responses on the subset, true score) pair.
pub fn interval_floor_from<'a>(setup: &Setup, estimator: Estimator, models: impl Iterator<Item = (&'a [(usize, f64)], f64)>) -> Option<f64> {
    if estimator.trained() || (estimator.needs_irt() && setup.fit.is_none()) {
        return None;
    }
    let rows: Vec<(f64, f64)> = models.filter_map(|(r, t)| Some((point(setup, estimator, r).ok()?.0, t))).collect();
    calibrate_interval_floor(&rows)
}

/// The line of `estimator` (theta-reg or calibrated) on `setup` from
/// training models, each a (responses on the subset, true score) pair:
/// [`calibrate_regression`] of the truth on the estimator's predictor.
/// `None` for other estimators, without the fit the predictor needs, or
/// when [`calibrate_regression`] has too little to fit.
pub fn regression_from<'a>(setup: &Setup, estimator: Estimator, models: impl Iterator<Item = (&'a [(usize, f64)], f64)>) -> Option<Regression> {
    let predictor = estimator.predictor()?;
    if predictor.needs_irt() && setup.fit.is_none() {
        return None;
    }
    let rows: Vec<(f64, f64)> = models.filter_map(|(r, t)| Some((point(setup, predictor, r).ok()?.0, t))).collect();
    calibrate_regression(&rows)
}

/// An estimator's point estimate and standard error on the scores' scale
/// (for theta-reg and calibrated, those of the predictor their line maps).
pub fn point(setup: &Setup, estimator: Estimator, responses: &[(usize, f64)]) -> Result<(f64, f64)> {
    if responses.is_empty() {
        return Err(Error::invalid("the model answered none of the subset's items"));
    }
    let scale = setup.fit.and_then(|f| f.scale);
    let (value, var, unit) = match estimator {
        Estimator::Mean => {
            let (v, s) = mean_moments(responses.iter().map(|r| r.1), setup.n_items);
            (v, s, false)
        }
        Estimator::Weighted => {
            let (v, s) = weighted_moments(setup, responses.iter().map(|&(k, x)| (k, x)));
            (v, s, false)
        }
        Estimator::Calibrated => return point(setup, Estimator::Weighted, responses),
        Estimator::Ridge => {
            let e = estimate(setup, Estimator::Ridge, responses)?;
            return Ok((e.estimate, (e.high - e.estimate) / Z95));
        }
        Estimator::Irt | Estimator::Pirt | Estimator::Gpirt | Estimator::ThetaReg => {
            let fit = setup.fit.ok_or_else(|| Error::invalid(format!("the {} estimator needs an IRT fit", estimator.as_str())))?;
            let unit_responses: Vec<(usize, f64)> = responses.iter().map(|&(k, x)| (k, to_unit(scale, x))).collect();
            let (v, s) = match estimator {
                Estimator::Irt | Estimator::ThetaReg => irt_moments(setup, fit, &unit_responses, false),
                Estimator::Pirt => irt_moments(setup, fit, &unit_responses, true),
                _ => {
                    let lambda = setup.lambda.unwrap_or(0.5).clamp(0.0, 1.0);
                    let (wv, ws) = weighted_moments(setup, unit_responses.iter().copied());
                    let (pv, ps) = irt_moments(setup, fit, &unit_responses, true);
                    (lambda * wv + (1.0 - lambda) * pv, lambda * lambda * ws + (1.0 - lambda) * (1.0 - lambda) * ps)
                }
            };
            (v, s, true)
        }
    };
    Ok(if unit { (from_unit(scale, value), var.max(0.0).sqrt() * unit_span(scale).abs()) } else { (value, var.max(0.0).sqrt()) })
}

fn mean_moments(values: impl Iterator<Item = f64>, population: usize) -> Moments {
    let v: Vec<f64> = values.collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, f64::INFINITY);
    }
    let s2 = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let fpc = (1.0 - n / population.max(1) as f64).max(0.0);
    (mean, s2 / n * fpc)
}

fn weighted_moments(setup: &Setup, responses: impl Iterator<Item = (usize, f64)>) -> Moments {
    let pairs: Vec<(f64, f64)> = responses.map(|(k, x)| (setup.weights.get(k).copied().unwrap_or(0.0), x)).collect();
    let total: f64 = pairs.iter().map(|p| p.0).sum();
    if total <= 0.0 {
        return mean_moments(pairs.iter().map(|p| p.1), setup.n_items);
    }
    let est = pairs.iter().map(|(w, x)| w * x).sum::<f64>() / total;
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return (est, f64::INFINITY);
    }
    // Σ wᵢ²·s², with s² the weighted residual variance (n/(n−1) corrected).
    let s2 = pairs.iter().map(|(w, x)| w / total * (x - est) * (x - est)).sum::<f64>() * n / (n - 1.0);
    let w2: f64 = pairs.iter().map(|(w, _)| (w / total) * (w / total)).sum();
    (est, w2 * s2)
}

/// Mean expected score over all items (`plug_observed`: observed scores on
/// answered items, as p-IRT does), on the unit scale.
fn irt_moments(setup: &Setup, fit: &IrtFit, responses: &[(usize, f64)], plug_observed: bool) -> Moments {
    let family = fit.model.family();
    let full: Vec<(usize, f64)> = responses.iter().map(|&(k, x)| (setup.items[k], x)).collect();
    if let Some(multi) = &fit.multi {
        return multi_moments(multi, &full, plug_observed);
    }
    let theta = estimate_theta(&fit.items, family, &full, ThetaMethod::Map);
    moments_at_theta(fit, theta, &full, plug_observed, None)
}

/// The mean expected score over all of `fit`'s items at a given θ, on the
/// unit scale (`plug_observed`: `answered` — (item index, unit score) —
/// count at their observed scores, as p-IRT does): [`irt_moments`] past its
/// θ, for callers that estimate θ their own way (adaptive testing).
/// `population` (one flag per item) restricts the mean to the items a model
/// is scored on, when that is known and not every item.
pub(crate) fn moments_at_theta(
    fit: &IrtFit,
    theta: crate::irt::scoring::ThetaEstimate,
    answered_items: &[(usize, f64)],
    plug_observed: bool,
    population: Option<&[bool]>,
) -> Moments {
    let family = fit.model.family();
    let n = population.map_or(fit.items.len(), |p| p.iter().filter(|&&x| x).count()).max(1) as f64;
    let mut answered = vec![false; fit.items.len()];
    if let Some(p) = population {
        for (a, &inside) in answered.iter_mut().zip(p) {
            // Items outside the population count as done: they add nothing.
            *a = !inside;
        }
    }
    let mut sum = 0.0;
    if plug_observed {
        for &(i, x) in answered_items {
            answered[i] = true;
            sum += x;
        }
    }
    let (mut slope, mut noise) = (0.0, 0.0);
    for (i, p) in fit.items.iter().enumerate() {
        if answered[i] {
            continue;
        }
        // One sigmoid for both the expected score and the slope (the same
        // expression as `ItemParams::expected`, so the same bits).
        let s = crate::irt::item::sigmoid(p.a * (theta.theta - p.b));
        let e = p.c + (p.d - p.c) * s;
        sum += e;
        slope += (p.d - p.c) * p.a * s * (1.0 - s);
        noise += match family {
            Family::Bernoulli => e * (1.0 - e),
            Family::Beta => e * (1.0 - e) / (p.phi + 1.0),
        };
    }
    let se = if theta.se.is_finite() { theta.se } else { 10.0 };
    (sum / n, (slope * se / n).powi(2) + noise / (n * n))
}

/// [`irt_moments`] for a multidimensional fit: MAP θ under N(0, I) with its
/// posterior covariance Σ; the slope of the mean expected score is the
/// vector g = Σᵢ pᵢ(1 − pᵢ)aᵢ / N, so its variance is gᵀΣg / N² (delta method).
fn multi_moments(fit: &crate::irt::multi::MultiFit, full: &[(usize, f64)], plug_observed: bool) -> Moments {
    let (theta, cov) = crate::irt::multi::map_theta(fit, full);
    let d = fit.dims;
    let n_items = fit.intercept.len();
    let n = n_items as f64;
    let mut answered = vec![false; n_items];
    let mut sum = 0.0;
    if plug_observed {
        for &(i, x) in full {
            answered[i] = true;
            sum += x;
        }
    }
    let mut slope = vec![0.0; d];
    let mut noise = 0.0;
    for i in (0..n_items).filter(|&i| !answered[i]) {
        let e = fit.expected(i, &theta);
        sum += e;
        for (s, a) in slope.iter_mut().zip(fit.loadings(i)) {
            *s += e * (1.0 - e) * a;
        }
        noise += e * (1.0 - e);
    }
    let spread: f64 = (0..d).map(|r| (0..d).map(|c| slope[r] * cov[r * d + c] * slope[c]).sum::<f64>()).sum();
    (sum / n, spread.max(0.0) / (n * n) + noise / (n * n))
}

/// gp-IRT's λ: the least-squares mix of the weighted and p-IRT estimates
/// over the training models, λ = Σ(t − p)(w − p) / Σ(w − p)², clamped to
/// [0, 1]. Each row: (weighted estimate, p-IRT estimate, true score).
pub fn calibrate_lambda(rows: &[(f64, f64, f64)]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for &(w, p, t) in rows {
        num += (t - p) * (w - p);
        den += (w - p) * (w - p);
    }
    if den > 0.0 { (num / den).clamp(0.0, 1.0) } else { 0.5 }
}

/// The most training models `ridge` is fitted on (evenly spaced when there
/// are more). Its leave-one-out search costs n³ per penalty in the dual
/// form and n·p² in the primal one (p subset items), which it switches to
/// beyond 64 models, and `evaluate` fits it for every method, budget, seed
/// and fold. More models help on leaderboards: on the 4,348-model Open LLM
/// Leaderboard matrix, 100 random items, the composite's error fell from
/// 2.65 points with 64 training models to 2.19 with 500 and 2.11 with all
/// 1,735 (scikit-learn's RidgeCV, 5-fold; BENCHMARKS), and forward-
/// selection's 100 items with filled skipped items from 1.43 with 250 to
/// 1.29 with all (`evaluate`, per-task truth).
pub const RIDGE_MAX_MODELS: usize = 2000;

/// `ridge`'s fit (see the module docs): t = intercept + slope·x +
/// Σₖ coefficients[k]·(xₖ − centres[k]) over the answered subset items, x
/// the weighted subset mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeFit {
    pub intercept: f64,
    pub slope: f64,
    /// Per subset item, the training models' mean score on it.
    pub centres: Vec<f64>,
    pub coefficients: Vec<f64>,
    /// The penalty, chosen by leave-one-out cross-validation.
    pub lambda: f64,
    /// Training models fitted on.
    pub n: usize,
    /// Half-width of the 95% interval: the split-conformal quantile of the
    /// leave-one-out absolute errors.
    pub half_width: f64,
    /// Whether a subset item a model did not answer counts at its expected
    /// score given the model's other answers ([`impute_unanswered`]) rather
    /// than at the training mean; set for scores in [0, 1]. Absent in files
    /// written before it existed: the mean, as then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imputes: bool,
    /// With `imputes`, the latent factors that give an unanswered item's
    /// expected score from the answered ones ([`crate::impute`]); absent
    /// (files written before them, or under 4 subset items), the
    /// one-ability guess of [`impute_unanswered`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factors: Option<ItemFactors>,
}

/// The expected score on each subset item a model did not answer, given the
/// ones it did: a one-parameter logistic model whose item difficulties come
/// from the training models' mean scores (`centres`, each bᵢ = −logit of
/// it, clamped to [0.02, 0.98]) and whose ability θ makes the expected mean
/// over the answered items equal to the observed one (clamped half an item
/// from 0 and 1), found by Newton's method. Why: on a leaderboard many
/// models lack whole benchmarks, and at the training mean a model that is
/// strong where it answered counts as average where it did not. On the Open
/// LLM Leaderboard matrix (37% of cells missing) ridge on all 1,075 items
/// erred by 1.31 points with the mean and 0.94 with this (BENCHMARKS).
/// Positions `0..centres.len()` missing from `responses`, with their
/// values; none when the model answered nothing.
pub fn impute_unanswered(responses: &[(usize, f64)], centres: &[f64]) -> Vec<(usize, f64)> {
    let p = centres.len();
    let answered: Vec<(usize, f64)> = responses.iter().copied().filter(|&(k, _)| k < p).collect();
    if answered.is_empty() || answered.len() >= p {
        return Vec::new();
    }
    let difficulty = |k: usize| {
        let c = centres[k].clamp(0.02, 0.98);
        crate::math::ln(1.0 - c) - crate::math::ln(c)
    };
    let n = answered.len() as f64;
    let observed = (answered.iter().map(|r| r.1).sum::<f64>() / n).clamp(0.5 / n, 1.0 - 0.5 / n);
    let b: Vec<f64> = answered.iter().map(|&(k, _)| difficulty(k)).collect();
    let mut theta = crate::math::ln(observed / (1.0 - observed)) + b.iter().sum::<f64>() / n;
    for _ in 0..50 {
        let (mut g, mut h) = (-n * observed, 0.0);
        for &bk in &b {
            let q = crate::irt::item::sigmoid(theta - bk);
            g += q;
            h += q * (1.0 - q);
        }
        if !(h > 1e-12) {
            break;
        }
        let step = (g / h).clamp(-2.0, 2.0);
        theta = (theta - step).clamp(-30.0, 30.0);
        if step.abs() < 1e-10 {
            break;
        }
    }
    let mut seen = vec![false; p];
    for &(k, _) in &answered {
        seen[k] = true;
    }
    (0..p).filter(|&k| !seen[k]).map(|k| (k, crate::irt::item::sigmoid(theta - difficulty(k)))).collect()
}

impl RidgeFit {
    /// The fit's estimate for a model's subset `responses`. A fit read from
    /// a file is checked first.
    pub fn predict(&self, setup: &Setup, responses: &[(usize, f64)]) -> Result<Estimate> {
        let p = setup.items.len();
        let sane = self.n >= 4
            && self.centres.len() == p
            && self.coefficients.len() == p
            && self.half_width >= 0.0
            && [self.intercept, self.slope, self.half_width].iter().chain(&self.centres).chain(&self.coefficients).all(|v| v.is_finite());
        if !sane {
            return Err(Error::invalid(format!(
                "the ridge fit is not usable: it needs one centre and one coefficient per subset item ({p}), at least 4 training models and finite numbers"
            )));
        }
        if self.factors.as_ref().is_some_and(|f| !f.usable(p)) {
            return Err(Error::invalid(format!(
                "the ridge fit's item factors are not usable: they need a rank from 1 to {p}, that rank's loadings for each of the {p} subset items, and a positive noise variance, all finite"
            )));
        }
        let (mut x, _) = point(setup, Estimator::Weighted, responses)?;
        let unanswered = if self.imputes { self.unanswered(responses) } else { Vec::new() };
        if !unanswered.is_empty() {
            // Over every subset item, answered or expected (as fitted).
            let total: f64 = setup.weights.iter().sum();
            x = responses.iter().chain(&unanswered).filter(|&&(k, _)| k < p).map(|&(k, v)| setup.weights[k] * v).sum::<f64>() / total;
        }
        let estimate = self.intercept
            + self.slope * x
            + responses.iter().chain(&unanswered).map(|&(k, r)| self.coefficients.get(k).map_or(0.0, |b| b * (r - self.centres[k]))).sum::<f64>();
        Ok(Estimate { estimate, low: estimate - self.half_width, high: estimate + self.half_width })
    }

    /// The score each subset item missing from `responses` counts at: from
    /// the fit's item factors where it has them, else the one-ability guess.
    fn unanswered(&self, responses: &[(usize, f64)]) -> Vec<(usize, f64)> {
        match &self.factors {
            Some(factors) => impute_with_factors(factors, responses, &self.centres),
            None => impute_unanswered(responses, &self.centres),
        }
    }
}

/// [`ItemFactors::expected`] for raw `responses` (centred at `centres`, and
/// back): the positions in `0..centres.len()` missing from them, with
/// their expected scores.
fn impute_with_factors(factors: &ItemFactors, responses: &[(usize, f64)], centres: &[f64]) -> Vec<(usize, f64)> {
    let p = centres.len();
    let centred: Vec<(usize, f64)> = responses.iter().filter(|&&(k, _)| k < p).map(|&(k, x)| (k, x - centres[k])).collect();
    factors.expected(&centred, p).into_iter().map(|(k, z)| (k, z + centres[k])).collect()
}

/// `ridge` per task: one fit per task's full score on the same training
/// models and subset, and the composite (the tasks' weighted mean, as a
/// leaderboard averages its benchmarks) with its own interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRidges {
    pub tasks: Vec<TaskRidge>,
    /// Half-width of the composite's 95% interval: the split-conformal
    /// quantile of the weighted mean of the tasks' leave-one-out errors, so
    /// that errors that cancel or add up across tasks count as they did.
    pub half_width: f64,
}

/// One task's `ridge` fit and its weight in the composite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRidge {
    pub task: String,
    pub weight: f64,
    pub fit: RidgeFit,
}

impl TaskRidges {
    /// The composite's estimate and each task's, for a model's subset
    /// `responses`. A fit read from a file is checked first.
    pub fn predict(&self, setup: &Setup, responses: &[(usize, f64)]) -> Result<(Estimate, Vec<Estimate>)> {
        let total: f64 = self.tasks.iter().map(|t| t.weight).sum();
        let usable = !self.tasks.is_empty()
            && self.tasks.iter().all(|t| t.weight.is_finite() && t.weight >= 0.0)
            && total > 0.0
            && self.half_width.is_finite()
            && self.half_width >= 0.0;
        if !usable {
            return Err(Error::invalid(
                "the per-task ridge fits are not usable: they need at least one task, weights that are not negative and sum above 0, and a finite interval",
            ));
        }
        let tasks: Vec<Estimate> = self
            .tasks
            .iter()
            .map(|t| t.fit.predict(setup, responses).map_err(|e| Error::invalid(format!("task '{}': {e}", crate::error::truncate(&t.task, 40)))))
            .collect::<Result<_>>()?;
        let estimate = self.tasks.iter().zip(&tasks).map(|(t, e)| t.weight * e.estimate).sum::<f64>() / total;
        Ok((Estimate { estimate, low: estimate - self.half_width, high: estimate + self.half_width }, tasks))
    }

    /// Multiplies every half-width (the composite's and each task's) by
    /// `scale` (see the guard's interval scale).
    pub fn widen(&mut self, scale: f64) {
        self.half_width *= scale;
        for t in &mut self.tasks {
            t.fit.half_width *= scale;
        }
    }
}

/// Fits `ridge` to the composite and to each task at once on the same
/// training models (see [`fit_ridge_targets`]): `composite[i]` and
/// `tasks[k][i]` are the true scores of the model whose subset responses
/// are `responses[i]`, `names` and `weights` the tasks'. A model with a
/// score missing for any task is not used. `None` as for
/// [`calibrate_ridge`].
pub fn calibrate_ridge_tasks(
    setup: &Setup,
    responses: &[&[(usize, f64)]],
    composite: &[f64],
    tasks: &[Vec<f64>],
    names: &[String],
    weights: &[f64],
) -> Option<(RidgeFit, TaskRidges)> {
    let mut targets = vec![composite.to_vec()];
    targets.extend(tasks.iter().cloned());
    let mut fits = fit_ridge_targets(setup, responses, &targets, None, DUAL_MAX_MODELS)?.into_iter();
    let (ridge, _) = fits.next()?;
    let per_task: Vec<(RidgeFit, Vec<f64>)> = fits.collect();
    let total: f64 = weights.iter().sum();
    let n = per_task.first()?.1.len();
    // The composite's leave-one-out error of each model, from its tasks'.
    let errors: Vec<(f64, f64)> = (0..n).map(|i| (per_task.iter().zip(weights).map(|((_, loo), w)| w * loo[i]).sum::<f64>() / total, 0.0)).collect();
    let half_width = calibrate_interval_floor(&errors)?;
    let tasks = per_task.into_iter().zip(names).zip(weights).map(|(((fit, _), task), &weight)| TaskRidge { task: task.clone(), weight, fit }).collect();
    Some((ridge, TaskRidges { tasks, half_width }))
}

/// Fits `ridge` on training models, each a (responses on the subset, true
/// score) pair; `None` with fewer than 4 usable models or subset means that
/// do not vary. Pass at most [`RIDGE_MAX_MODELS`] (see [`ridge_rows`]).
///
/// With A = [1, x] (unpenalised) and Z the centred item responses (0 where
/// unanswered), the fit minimises ‖t − Aθ − Zβ‖² + λ‖β‖². Profiling θ out
/// leaves P = I − A(AᵀA)⁻¹Aᵀ and K = PZZᵀP (n × n, n ≤ 64 however many
/// items): β = ZᵀP(K + λI)⁻¹Pt, the hat matrix is H = (I − P) + K(K + λI)⁻¹,
/// so the residuals are λ(K + λI)⁻¹Pt and each leave-one-out error is the
/// residual over 1 − Hᵢᵢ, exactly (a linear smoother). λ runs over
/// trace(K)/n × 10^(−2 … 2) in half-decades (nine Cholesky factorisations;
/// on the real matrices the chosen λ sat between 10⁻¹ and 10¹ of that scale,
/// and 10² is already nearly `calibrated`); the smallest mean squared
/// leave-one-out error wins, the larger λ on a tie.
pub fn calibrate_ridge<'a>(setup: &Setup, models: impl Iterator<Item = (&'a [(usize, f64)], f64)>) -> Option<RidgeFit> {
    fit_ridge(setup, models, None).map(|(fit, _)| fit)
}

/// [`calibrate_ridge`] at a given penalty (`Some(λ)`) or the searched one,
/// with the leave-one-out errors.
fn fit_ridge<'a>(setup: &Setup, models: impl Iterator<Item = (&'a [(usize, f64)], f64)>, fixed: Option<f64>) -> Option<(RidgeFit, Vec<f64>)> {
    fit_ridge_in(setup, models, fixed, DUAL_MAX_MODELS)
}

/// [`fit_ridge`] in the dual form up to `dual_max_models` models (or while
/// they are no more than the items), the primal beyond.
fn fit_ridge_in<'a>(
    setup: &Setup,
    models: impl Iterator<Item = (&'a [(usize, f64)], f64)>,
    fixed: Option<f64>,
    dual_max_models: usize,
) -> Option<(RidgeFit, Vec<f64>)> {
    let (responses, scores): (Vec<Responses>, Vec<f64>) = models.unzip();
    fit_ridge_targets(setup, &responses, &[scores], fixed, dual_max_models)?.pop()
}

/// `ridge` fitted to several targets on the same models at once (each
/// task's full score, say): `targets[k][i]` is target k of the model whose
/// subset responses are `responses[i]`. Everything that depends only on the
/// responses (the projection, the kernel or Gram matrix, each penalty's
/// factorisation and leverages) is computed once; each target gets its own
/// penalty, by its own leave-one-out error. A model is used when its
/// weighted subset mean and every target are finite. Per target, the fit and
/// its leave-one-out errors (in the order of the models used), or `None`
/// as for [`calibrate_ridge`]. One target gives exactly what it gave alone.
fn fit_ridge_targets(
    setup: &Setup,
    responses: &[Responses],
    targets: &[Vec<f64>],
    fixed: Option<f64>,
    dual_max_models: usize,
) -> Option<Vec<(RidgeFit, Vec<f64>)>> {
    fit_ridge_targets_imputing(setup, responses, targets, fixed, dual_max_models, Imputation::Factors)
}

/// How far ridge may go in filling what a model did not answer (the tests
/// compare each with the next).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(not(test), allow(dead_code, reason = "the library always asks for factors; the tests compare the others"))]
enum Imputation {
    /// At the training mean.
    Mean,
    /// At the expected score under one ability ([`impute_unanswered`]).
    OneAbility,
    /// Through item factors fitted to the training models' responses
    /// ([`crate::impute`]), started from the one-ability guess.
    Factors,
}

/// [`fit_ridge_targets`], imputing unanswered cells as far as `impute`
/// allows.
fn fit_ridge_targets_imputing(
    setup: &Setup,
    responses: &[Responses],
    targets: &[Vec<f64>],
    fixed: Option<f64>,
    dual_max_models: usize,
    impute: Imputation,
) -> Option<Vec<(RidgeFit, Vec<f64>)>> {
    let p = setup.items.len();
    // (responses, weighted subset mean, row) of each usable model.
    let rows: Vec<(Responses, f64, usize)> = responses
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((*r, point(setup, Estimator::Weighted, r).ok()?.0, i)))
        .filter(|&(_, x, i)| x.is_finite() && targets.iter().all(|t| t[i].is_finite()))
        .collect();
    let n = rows.len();
    if n < 4 || targets.is_empty() {
        return None;
    }
    let (mut sum, mut count) = (vec![0.0; p], vec![0usize; p]);
    for (r, _, _) in &rows {
        for &(k, x) in r.iter().filter(|&&(k, _)| k < p) {
            sum[k] += x;
            count[k] += 1;
        }
    }
    let centres: Vec<f64> = sum.iter().zip(&count).map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 }).collect();
    // Unanswered cells at their expected score where scores are in [0, 1]
    // (see impute_unanswered), else at the mean (0 once centred).
    let imputes =
        impute != Imputation::Mean && rows.iter().all(|(r, _, _)| r.iter().all(|&(_, x)| (0.0..=1.0).contains(&x))) && rows.iter().any(|(r, _, _)| r.len() < p);
    let mut z = vec![0.0; n * p];
    for (i, (r, _, _)) in rows.iter().enumerate() {
        for &(k, x) in r.iter().filter(|&&(k, _)| k < p) {
            z[i * p + k] = x - centres[k];
        }
        if imputes {
            for (k, x) in impute_unanswered(r, &centres) {
                z[i * p + k] = x - centres[k];
            }
        }
    }
    // The one-ability guesses are the start; the item factors fitted to
    // them refill every unanswered cell, and once more from their own
    // refill (a second round moved the leaderboard's error from 1.38 to
    // 1.36 points in the prototype; more did not).
    let mut factors = None;
    if imputes && impute == Imputation::Factors {
        for _ in 0..FACTOR_ROUNDS {
            let Some(fitted) = ItemFactors::fit(&z, n, p) else { break };
            for (i, (r, _, _)) in rows.iter().enumerate() {
                for (k, x) in impute_with_factors(&fitted, r, &centres) {
                    z[i * p + k] = x - centres[k];
                }
            }
            factors = Some(fitted);
        }
    }
    // The subset mean the line reads: with imputation, over every subset
    // item (answered or expected), as the prediction computes it.
    let x: Vec<f64> = if imputes {
        let total: f64 = setup.weights.iter().sum();
        (0..n).map(|i| (0..p).map(|k| setup.weights[k] * (z[i * p + k] + centres[k])).sum::<f64>() / total).collect()
    } else {
        rows.iter().map(|r| r.1).collect()
    };
    let ts: Vec<Vec<f64>> = targets.iter().map(|t| rows.iter().map(|r| t[r.2]).collect()).collect();
    // Orthonormal basis (e1, e2) of the unpenalised columns [1, x].
    let e1 = 1.0 / (n as f64).sqrt();
    let x_mean = x.iter().sum::<f64>() / n as f64;
    let norm = x.iter().map(|v| (v - x_mean) * (v - x_mean)).sum::<f64>().sqrt();
    if !(norm > 0.0) {
        return None;
    }
    let e2: Vec<f64> = x.iter().map(|v| (v - x_mean) / norm).collect();
    let project = |v: &mut [f64]| {
        let (a, b) = (v.iter().sum::<f64>() * e1, v.iter().zip(&e2).map(|(v, e)| v * e).sum::<f64>());
        for (v, e) in v.iter_mut().zip(&e2) {
            *v -= a * e1 + b * e;
        }
    };
    // PZ, column by column.
    let mut pz = z.clone();
    let mut column = vec![0.0; n];
    for k in 0..p {
        (0..n).for_each(|i| column[i] = pz[i * p + k]);
        project(&mut column);
        (0..n).for_each(|i| pz[i * p + k] = column[i]);
    }
    let pts: Vec<Vec<f64>> = ts
        .iter()
        .map(|t| {
            let mut pt = t.clone();
            project(&mut pt);
            pt
        })
        .collect();
    let h0: Vec<f64> = e2.iter().map(|e| e1 * e1 + e * e).collect();
    // trace(PZ PZᵀ) = trace(PZᵀ PZ): the penalty grid's scale either way.
    let trace: f64 = pz.iter().map(|v| v * v).sum();
    let solved: Vec<(f64, Vec<f64>, Vec<f64>)> =
        if n > dual_max_models && n > p { primal_ridge(&pz, &pts, &h0, n, p, trace, fixed)? } else { dual_ridge(&pz, &pts, &h0, n, p, fixed)? };
    solved
        .into_iter()
        .zip(&ts)
        .map(|((lambda, coefficients, loo), t)| {
            finish_ridge(&x, t, &z, x_mean, norm, p, n, centres.clone(), lambda, coefficients, loo)
                .map(|(fit, loo)| (RidgeFit { imputes, factors: factors.clone(), ..fit }, loo))
        })
        .collect()
}

/// Rounds of fitting the item factors and refilling the unanswered cells
/// from them (see [`fit_ridge_targets_imputing`]).
const FACTOR_ROUNDS: usize = 2;

/// A model's answers on the subset: (position in the subset, score).
type Responses<'a> = &'a [(usize, f64)];

/// A penalty tried for one target: (λ, mean squared leave-one-out error,
/// dual weights or β, leave-one-out errors).
type Candidate = (f64, f64, Vec<f64>, Vec<f64>);

/// Per target (each a projected `pt`), the (λ, β, leave-one-out errors)
/// of its best penalty, or the line alone when no item varies.
type RidgeSolutions = Vec<(f64, Vec<f64>, Vec<f64>)>;

/// The dual ridge: K = PZ PZᵀ (n × n), dual weights (K + λI)⁻¹ Pt, β = PZᵀ
/// times them, leverages h0 + 1 − λ·[(K + λI)⁻¹]ᵢᵢ.
fn dual_ridge(pz: &[f64], pts: &[Vec<f64>], h0: &[f64], n: usize, p: usize, fixed: Option<f64>) -> Option<RidgeSolutions> {
    let mut kernel = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v: f64 = pz[i * p..(i + 1) * p].iter().zip(&pz[j * p..(j + 1) * p]).map(|(a, b)| a * b).sum();
            kernel[i * n + j] = v;
            kernel[j * n + i] = v;
        }
    }
    let trace: f64 = (0..n).map(|i| kernel[i * n + i]).sum();
    // Per target, (λ, mse, dual weights, leave-one-out errors) of the best penalty.
    let mut best: Vec<Option<Candidate>> = vec![None; pts.len()];
    if trace > 0.0 {
        let grid = penalty_grid(trace / n as f64, fixed);
        for lambda in grid {
            let mut shifted = kernel.clone();
            (0..n).for_each(|i| shifted[i * n + i] += lambda);
            let Some(l) = crate::math::cholesky(&shifted, n) else { continue };
            let inverse_diagonal = crate::math::cholesky_inverse_diagonal(&l, n);
            for (pt, best) in pts.iter().zip(best.iter_mut()) {
                let mut dual = pt.clone();
                crate::math::cholesky_solve(&l, n, &mut dual);
                let loo: Option<Vec<f64>> = (0..n)
                    .map(|i| {
                        let leverage = h0[i] + 1.0 - lambda * inverse_diagonal[i];
                        // estimate − truth without model i (its residual over 1 − Hᵢᵢ).
                        (1.0 - leverage > 1e-12).then(|| -lambda * dual[i] / (1.0 - leverage))
                    })
                    .collect();
                let Some(loo) = loo else { continue };
                let mse = loo.iter().map(|e| e * e).sum::<f64>() / n as f64;
                if best.as_ref().is_none_or(|b| mse < b.1) {
                    *best = Some((lambda, mse, dual, loo));
                }
            }
        }
    }
    pts.iter()
        .zip(best)
        .map(|(pt, best)| match best {
            Some((lambda, _, dual, loo)) => Some((lambda, (0..p).map(|k| (0..n).map(|i| pz[i * p + k] * dual[i]).sum()).collect::<Vec<f64>>(), loo)),
            // No item varies (or no penalty left finite leave-one-out errors):
            // the line alone, with its own leave-one-out errors.
            None => line_only(pt, h0, n, p),
        })
        .collect()
}

/// The line alone (β = 0), with its own leave-one-out errors.
fn line_only(pt: &[f64], h0: &[f64], n: usize, p: usize) -> Option<(f64, Vec<f64>, Vec<f64>)> {
    let loo: Option<Vec<f64>> = (0..n).map(|i| (1.0 - h0[i] > 1e-12).then(|| -pt[i] / (1.0 - h0[i]))).collect();
    Some((0.0, vec![0.0; p], loo?))
}

/// Up to this many training models `ridge` is solved in its dual form (an
/// n × n kernel, n³ per penalty); beyond it, when there are more models than
/// subset items, in the primal (p × p, n·p² per penalty), the same estimator
/// in other arithmetic. The bound keeps every fit on up to 64 models — all
/// of them before the primal form existed — bit for bit what it was.
const DUAL_MAX_MODELS: usize = 64;

/// The penalties searched: trace/n × 10^(2 … −2) in half-decades, largest
/// first (ties go to the larger), or the one given.
fn penalty_grid(scale: f64, fixed: Option<f64>) -> Vec<f64> {
    match fixed {
        Some(lambda) => vec![lambda],
        None => (0..=8).rev().map(|step| scale * crate::math::pow(10.0, -2.0 + 0.5 * step as f64)).collect(),
    }
}

/// The primal ridge: β = (PZᵀPZ + λI)⁻¹ PZᵀ Pt, leverages h0 + ‖L⁻¹ pzᵢ‖²
/// with L the Cholesky factor of PZᵀPZ + λI, leave-one-out errors the
/// residuals over 1 − Hᵢᵢ as in the dual. Per target as [`dual_ridge`].
fn primal_ridge(pz: &[f64], pts: &[Vec<f64>], h0: &[f64], n: usize, p: usize, trace: f64, fixed: Option<f64>) -> Option<RidgeSolutions> {
    let mut gram = vec![0.0; p * p];
    for row in pz.chunks(p) {
        for a in 0..p {
            let va = row[a];
            if va == 0.0 {
                continue;
            }
            for b in 0..=a {
                gram[a * p + b] += va * row[b];
            }
        }
    }
    for a in 0..p {
        for b in 0..a {
            gram[b * p + a] = gram[a * p + b];
        }
    }
    let zts: Vec<Vec<f64>> = pts
        .iter()
        .map(|pt| {
            let mut zt = vec![0.0; p];
            for (row, &t) in pz.chunks(p).zip(pt) {
                for (s, v) in zt.iter_mut().zip(row) {
                    *s += v * t;
                }
            }
            zt
        })
        .collect();
    let mut best: Vec<Option<Candidate>> = vec![None; pts.len()];
    if trace > 0.0 {
        let mut column = vec![0.0; p];
        for lambda in penalty_grid(trace / n as f64, fixed) {
            let mut shifted = gram.clone();
            (0..p).for_each(|k| shifted[k * p + k] += lambda);
            let Some(l) = crate::math::cholesky(&shifted, p) else { continue };
            // Lᵀ row by row: column k of L contiguous, so the forward
            // substitution below is a run of contiguous multiply-adds (which
            // vectorise) rather than dot products (which do not, in order).
            let mut lt = vec![0.0; p * p];
            for r in 0..p {
                for k in 0..=r {
                    lt[k * p + r] = l[r * p + k];
                }
            }
            // Each model's leverage, shared by every target; a penalty that
            // leaves one at 1 is skipped.
            let leverages: Option<Vec<f64>> = pz
                .chunks(p)
                .zip(h0)
                .map(|(row, &h)| {
                    // ‖L⁻¹ pzᵢ‖² by forward substitution.
                    column.copy_from_slice(row);
                    let mut norm = 0.0;
                    for k in 0..p {
                        let v = column[k] / lt[k * p + k];
                        column[k] = v;
                        norm += v * v;
                        if v != 0.0 {
                            for (c, &a) in column[k + 1..].iter_mut().zip(&lt[k * p + k + 1..(k + 1) * p]) {
                                *c -= a * v;
                            }
                        }
                    }
                    let leverage = h + norm;
                    (1.0 - leverage > 1e-12).then_some(leverage)
                })
                .collect();
            let Some(leverages) = leverages else { continue };
            for ((pt, zt), best) in pts.iter().zip(&zts).zip(best.iter_mut()) {
                let mut beta = zt.clone();
                crate::math::cholesky_solve(&l, p, &mut beta);
                let loo: Vec<f64> = pz
                    .chunks(p)
                    .zip(pt)
                    .zip(&leverages)
                    .map(|((row, &t), &leverage)| {
                        let residual = t - row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
                        -residual / (1.0 - leverage)
                    })
                    .collect();
                let mse = loo.iter().map(|e| e * e).sum::<f64>() / n as f64;
                if best.as_ref().is_none_or(|b| mse < b.1) {
                    *best = Some((lambda, mse, beta, loo));
                }
            }
        }
    }
    pts.iter()
        .zip(best)
        .map(|(pt, best)| match best {
            Some((lambda, _, beta, loo)) => Some((lambda, beta, loo)),
            None => line_only(pt, h0, n, p),
        })
        .collect()
}

/// α and γ of a ridge fit (the least-squares line of what the items do not
/// explain) and its conformal half-width, from either form's β.
#[allow(clippy::too_many_arguments, reason = "the pieces of one ridge fit, computed once by its caller")]
fn finish_ridge(
    x: &[f64],
    t: &[f64],
    z: &[f64],
    x_mean: f64,
    norm: f64,
    p: usize,
    n: usize,
    centres: Vec<f64>,
    lambda: f64,
    coefficients: Vec<f64>,
    loo: Vec<f64>,
) -> Option<(RidgeFit, Vec<f64>)> {
    let rest: Vec<f64> = (0..n).map(|i| t[i] - (0..p).map(|k| z[i * p + k] * coefficients[k]).sum::<f64>()).collect();
    let rest_mean = rest.iter().sum::<f64>() / n as f64;
    let slope = x.iter().zip(&rest).map(|(xv, r)| (xv - x_mean) * (r - rest_mean)).sum::<f64>() / (norm * norm);
    let intercept = rest_mean - slope * x_mean;
    let errors: Vec<(f64, f64)> = loo.iter().map(|&e| (e, 0.0)).collect();
    let half_width = calibrate_interval_floor(&errors)?;
    Some((RidgeFit { intercept, slope, centres, coefficients, lambda, n, half_width, imputes: false, factors: None }, loo))
}

/// At most `cap` of the training models (ids or rows),
/// evenly spaced (all of them when there are no more).
pub fn ridge_rows<T>(train: &[T], cap: usize) -> Vec<&T> {
    let (n, cap) = (train.len(), cap.max(1));
    if n <= cap {
        return train.iter().collect();
    }
    (0..cap).map(|i| &train[i * n / cap]).collect()
}

/// One model's estimate, as `benchsift estimate` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelEstimate {
    pub id: String,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// How many of the subset's items the model answered.
    pub answered: usize,
    /// The model's observed mean over all items, when the responses hold the
    /// whole benchmark: the number the estimate tries to recover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_mean: Option<f64>,
    /// Each task's estimate, when `ridge` was fitted per task (the
    /// estimate above is their weighted mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskEstimate>>,
}

/// One task's estimate of a model's full score on it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskEstimate {
    pub task: String,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimates {
    pub estimator: Estimator,
    pub interval: &'static str,
    pub models: Vec<ModelEstimate>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irt::{self, FitOptions, IrtFit, ItemParams};
    use crate::matrix::MatrixBuilder;
    use crate::rng::Rng;

    #[test]
    fn mean_and_weighted_estimates_and_intervals() {
        let setup = Setup {
            items: &[0, 1, 2, 3],
            weights: &[0.1, 0.2, 0.3, 0.4],
            n_items: 100,
            fit: None,
            lambda: None,
            regression: None,
            calibration: None,
            ridge: None,
            interval_floor: None,
            task_ridges: None,
        };
        let r = [(0, 1.0), (1, 0.0), (2, 1.0), (3, 1.0)];
        let m = estimate(&setup, Estimator::Mean, &r).unwrap();
        assert!((m.estimate - 0.75).abs() < 1e-12);
        assert!(m.low < 0.75 && m.high <= 1.0);
        let w = estimate(&setup, Estimator::Weighted, &r).unwrap();
        assert!((w.estimate - 0.8).abs() < 1e-12);
        assert!(estimate(&setup, Estimator::Irt, &r).unwrap_err().to_string().contains("needs an IRT fit"));
    }

    #[test]
    fn irt_estimates_recover_full_scores_of_simulated_models() {
        // Fit on 300 models × 200 items, then estimate 50 new models from 30 items.
        let mut rng = Rng::new(4);
        let items: Vec<ItemParams> = (0..200).map(|_| ItemParams::new(rng.log_normal(0.0, 0.3), rng.normal())).collect();
        let mut b = MatrixBuilder::new((0..200).map(|i| format!("i{i}")).collect());
        let mut truth = Vec::new();
        for j in 0..350 {
            let t = rng.normal();
            let row: Vec<Option<f32>> = items.iter().map(|p| Some((rng.uniform() < p.expected(t)) as u8 as f32)).collect();
            truth.push(row.iter().map(|x| x.unwrap() as f64).sum::<f64>() / 200.0);
            b.push_row_unchecked(format!("m{j}"), &row);
        }
        let m = b.into_matrix();
        let train: Vec<usize> = (0..300).collect();
        let all: Vec<usize> = (0..200).collect();
        let fit = irt::fit(&m.select(&train, &all), &FitOptions::default(), &mut |_| true).unwrap();
        let subset: Vec<usize> = (0..200).step_by(7).collect();
        let weights = vec![1.0 / subset.len() as f64; subset.len()];
        let setup = Setup { fit: Some(&fit), lambda: Some(0.3), ..bare_setup(&subset, &weights, 200) };
        let mut errors = [0.0; 3];
        let mut covered = [0usize; 3];
        for j in 300..350 {
            let r: Vec<(usize, f64)> = subset.iter().enumerate().map(|(k, &i)| (k, m.get(j, i).unwrap() as f64)).collect();
            for (e, est) in [Estimator::Mean, Estimator::Irt, Estimator::Pirt].iter().enumerate() {
                let x = estimate(&setup, *est, &r).unwrap();
                errors[e] += (x.estimate - truth[j]).abs() / 50.0;
                covered[e] += (x.low <= truth[j] && truth[j] <= x.high) as usize;
            }
        }
        // IRT uses the item difficulties the mean ignores: smaller errors.
        assert!(errors[1] < errors[0], "irt {} vs mean {}", errors[1], errors[0]);
        assert!(errors[1] < 0.06, "irt MAE {}", errors[1]);
        for (e, c) in covered.iter().enumerate() {
            assert!(*c >= 42, "estimator {e}: coverage {c}/50");
        }
    }

    #[test]
    fn multidimensional_irt_estimates_recover_full_scores() {
        // A 3-D 2PL; fit on 300 models, estimate 50 new ones from 40 items.
        let mut rng = Rng::new(6);
        let (d, n_items) = (3, 200);
        let a: Vec<f64> = (0..n_items * d).map(|k| if k % d == 0 { rng.log_normal(0.0, 0.3) } else { 0.7 * rng.normal() }).collect();
        let b0: Vec<f64> = (0..n_items).map(|_| rng.normal()).collect();
        let mut b = MatrixBuilder::new((0..n_items).map(|i| format!("i{i}")).collect());
        let mut truth = Vec::new();
        for j in 0..350 {
            let t: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            let row: Vec<Option<f32>> = (0..n_items)
                .map(|i| {
                    let z = b0[i] + (0..d).map(|k| a[i * d + k] * t[k]).sum::<f64>();
                    Some((rng.uniform() < 1.0 / (1.0 + crate::math::exp(-z))) as u8 as f32)
                })
                .collect();
            truth.push(row.iter().map(|x| x.unwrap() as f64).sum::<f64>() / n_items as f64);
            b.push_row_unchecked(format!("m{j}"), &row);
        }
        let m = b.into_matrix();
        let train: Vec<usize> = (0..300).collect();
        let all: Vec<usize> = (0..n_items).collect();
        let fit = irt::fit(&m.select(&train, &all), &FitOptions { dims: d, ..FitOptions::default() }, &mut |_| true).unwrap();
        // Round-trip through JSON, as `estimate` reads it.
        let fit = IrtFit::from_json(serde_json::from_str(&serde_json::to_string(&fit.to_json()).unwrap()).unwrap()).unwrap();
        assert_eq!(fit.dims(), d);
        let subset: Vec<usize> = (0..n_items).step_by(5).collect();
        let weights = vec![1.0 / subset.len() as f64; subset.len()];
        let setup = Setup { fit: Some(&fit), lambda: Some(0.3), ..bare_setup(&subset, &weights, n_items) };
        let (mut errors, mut covered) = ([0.0; 3], [0usize; 3]);
        for j in 300..350 {
            let r: Vec<(usize, f64)> = subset.iter().enumerate().map(|(k, &i)| (k, m.get(j, i).unwrap() as f64)).collect();
            for (e, est) in [Estimator::Mean, Estimator::Irt, Estimator::Pirt].iter().enumerate() {
                let x = estimate(&setup, *est, &r).unwrap();
                errors[e] += (x.estimate - truth[j]).abs() / 50.0;
                covered[e] += (x.low <= truth[j] && truth[j] <= x.high) as usize;
            }
            let g = estimate(&setup, Estimator::Gpirt, &r).unwrap();
            assert!(g.low <= g.estimate && g.estimate <= g.high);
        }
        eprintln!("3-D fit, 40 of 200 items: MAE mean {:.4}, irt {:.4}, pirt {:.4}; coverage {covered:?}/50", errors[0], errors[1], errors[2]);
        assert!(errors[1] < errors[0], "irt {} vs mean {}", errors[1], errors[0]);
        assert!(errors[1] < 0.05, "irt MAE {}", errors[1]);
        for (e, c) in covered.iter().enumerate() {
            assert!(*c >= 42, "estimator {e}: coverage {c}/50");
        }
    }

    #[test]
    fn interval_floor_is_the_split_conformal_quantile_and_only_widens() {
        // 39 errors 1..=39: rank ⌈0.95·40⌉ = 38, so the floor is 38.
        let rows: Vec<(f64, f64)> = (1..=39).map(|k| (k as f64, 0.0)).collect();
        assert_eq!(calibrate_interval_floor(&rows), Some(38.0));
        // Fewer than 19 models: the largest error; none: no floor.
        assert_eq!(calibrate_interval_floor(&[(0.5, 0.0), (0.0, 0.25)]), Some(0.5));
        assert_eq!(calibrate_interval_floor(&[]), None);
        // The floor widens a narrow interval and leaves a wide one alone.
        let mut setup = Setup {
            items: &[0, 1, 2, 3],
            weights: &[0.25; 4],
            n_items: 1000,
            fit: None,
            lambda: None,
            regression: None,
            calibration: None,
            ridge: None,
            interval_floor: None,
            task_ridges: None,
        };
        let r = [(0, 10.0), (1, 11.0), (2, 12.0), (3, 13.0)];
        let plain = estimate(&setup, Estimator::Mean, &r).unwrap();
        setup.interval_floor = Some(5.0);
        let floored = estimate(&setup, Estimator::Mean, &r).unwrap();
        assert_eq!(floored.estimate, plain.estimate);
        assert!((floored.high - floored.low - 10.0).abs() < 1e-12 && plain.high - plain.low < 10.0);
        setup.interval_floor = Some(0.01);
        assert_eq!(estimate(&setup, Estimator::Mean, &r).unwrap(), plain);
    }

    #[test]
    fn interval_floors_restore_coverage_of_a_biased_subset() {
        // A subset of the 20 easiest of 200 items: the mean over it is biased
        // upwards for every model and its SE knows nothing of that. With the
        // floor from 60 training models, 100 new models are covered ≥ 90%;
        // without, far fewer.
        let mut rng = crate::rng::Rng::new(5);
        let difficulty: Vec<f64> = (0..200).map(|i| -2.0 + 4.0 * i as f64 / 199.0).collect();
        let model = |rng: &mut crate::rng::Rng| -> Vec<f64> {
            let theta = rng.normal();
            difficulty.iter().map(|b| if rng.uniform() < 1.0 / (1.0 + (-(theta - b)).exp()) { 1.0 } else { 0.0 }).collect()
        };
        let items: Vec<usize> = (0..20).collect();
        let weights = vec![0.05; 20];
        let mut setup = Setup {
            items: &items,
            weights: &weights,
            n_items: 200,
            fit: None,
            lambda: None,
            regression: None,
            calibration: None,
            ridge: None,
            interval_floor: None,
            task_ridges: None,
        };
        let as_responses = |row: &[f64]| -> Vec<(usize, f64)> { (0..20).map(|k| (k, row[k])).collect() };
        let train: Vec<Vec<f64>> = (0..60).map(|_| model(&mut rng)).collect();
        let rows: Vec<(Vec<(usize, f64)>, f64)> = train.iter().map(|r| (as_responses(r), r.iter().sum::<f64>() / 200.0)).collect();
        let floor = interval_floor_from(&setup, Estimator::Mean, rows.iter().map(|(r, t)| (r.as_slice(), *t)));
        assert!(floor.is_some_and(|f| f > 0.1), "{floor:?}");
        let test: Vec<Vec<f64>> = (0..100).map(|_| model(&mut rng)).collect();
        let coverage = |setup: &Setup| {
            test.iter()
                .filter(|row| {
                    let e = estimate(setup, Estimator::Mean, &as_responses(row)).unwrap();
                    let t = row.iter().sum::<f64>() / 200.0;
                    e.low <= t && t <= e.high
                })
                .count()
        };
        let before = coverage(&setup);
        setup.interval_floor = floor;
        let after = coverage(&setup);
        assert!(before < 60 && after >= 90, "coverage {before} → {after} of 100");
    }

    /// Binary answers of a Rasch model with ability `theta` on `difficulty`.
    fn rasch_row(rng: &mut Rng, difficulty: &[f64]) -> Vec<f64> {
        let theta = rng.normal();
        difficulty.iter().map(|b| if rng.uniform() < 1.0 / (1.0 + crate::math::exp(-(theta - b))) { 1.0 } else { 0.0 }).collect()
    }

    #[test]
    fn calibrated_line_recovers_an_exact_linear_truth() {
        // Known answer: every training model's truth is 0.1 + 0.5 × its
        // weighted subset mean, so the line is exactly that with no residual
        // and a new model's estimate is its truth.
        let weights = [0.5, 0.25, 0.25];
        let mut setup = Setup {
            items: &[0, 1, 2],
            weights: &weights,
            n_items: 50,
            fit: None,
            lambda: None,
            regression: None,
            calibration: None,
            ridge: None,
            interval_floor: None,
            task_ridges: None,
        };
        let train: Vec<[f64; 3]> = vec![[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]];
        let answers = |row: &[f64; 3]| -> Vec<(usize, f64)> { row.iter().copied().enumerate().collect() };
        let weighted = |row: &[f64; 3]| row.iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>();
        let rows: Vec<(Vec<(usize, f64)>, f64)> = train.iter().map(|r| (answers(r), 0.1 + 0.5 * weighted(r))).collect();
        let line = regression_from(&setup, Estimator::Calibrated, rows.iter().map(|(r, t)| (r.as_slice(), *t))).unwrap();
        assert!((line.intercept - 0.1).abs() < 1e-12 && (line.slope - 0.5).abs() < 1e-12 && line.residual_sd < 1e-12, "{line:?}");
        assert_eq!(line.n, 5);
        // The prediction interval is theta-reg's: an exact line has none.
        setup.calibration = Some(line);
        let e = estimate(&setup, Estimator::Calibrated, &answers(&[0.0, 1.0, 0.0])).unwrap();
        assert!((e.estimate - 0.225).abs() < 1e-12 && (e.high - e.low).abs() < 1e-9, "{e:?}");
        assert_eq!(Some(line), calibrate_regression(&rows.iter().map(|(r, t)| (weighted(&[r[0].1, r[1].1, r[2].1]), *t)).collect::<Vec<_>>()));
        // Its interval comes from the line; no conformal floor is made for it.
        assert_eq!(interval_floor_from(&setup, Estimator::Calibrated, rows.iter().map(|(r, t)| (r.as_slice(), *t))), None);
        // Too few training models (or no spread) give no line, and the
        // estimator says what it needs instead of guessing.
        assert!(regression_from(&setup, Estimator::Calibrated, rows[..2].iter().map(|(r, t)| (r.as_slice(), *t))).is_none());
        setup.calibration = None;
        let err = estimate(&setup, Estimator::Calibrated, &answers(&[0.0, 1.0, 0.0])).unwrap_err().to_string();
        assert!(err.contains("at least 3 training models"), "{err}");
        // A line from a file is checked before it is used.
        setup.calibration = Some(Regression { n: 2, ..line });
        assert!(estimate(&setup, Estimator::Calibrated, &answers(&[0.0, 1.0, 0.0])).is_err());
        setup.calibration = Some(Regression { slope: f64::NAN, ..line });
        assert!(estimate(&setup, Estimator::Calibrated, &answers(&[0.0, 1.0, 0.0])).is_err());
    }

    #[test]
    fn calibrated_removes_the_bias_of_a_subset_that_is_not_a_sample() {
        // The 25 easiest of 200 Rasch items: the subset mean overstates every
        // model's score (by ~0.3 on average), and a model-based SE knows
        // nothing of it. The line fitted on 60 training models whose full
        // means are known takes the bias out, and its prediction interval
        // covers new models.
        let mut rng = Rng::new(21);
        let difficulty: Vec<f64> = (0..200).map(|i| -2.5 + 5.0 * i as f64 / 199.0).collect();
        let items: Vec<usize> = (0..25).collect();
        let weights = vec![1.0 / 25.0; 25];
        let mut setup = Setup {
            items: &items,
            weights: &weights,
            n_items: 200,
            fit: None,
            lambda: None,
            regression: None,
            calibration: None,
            ridge: None,
            interval_floor: None,
            task_ridges: None,
        };
        let as_responses = |row: &[f64]| -> Vec<(usize, f64)> { (0..25).map(|k| (k, row[k])).collect() };
        let full = |row: &[f64]| row.iter().sum::<f64>() / 200.0;
        let train: Vec<Vec<f64>> = (0..60).map(|_| rasch_row(&mut rng, &difficulty)).collect();
        let rows: Vec<(Vec<(usize, f64)>, f64)> = train.iter().map(|r| (as_responses(r), full(r))).collect();
        setup.calibration = regression_from(&setup, Estimator::Calibrated, rows.iter().map(|(r, t)| (r.as_slice(), *t)));
        let line = setup.calibration.unwrap();
        assert!(line.slope > 0.0 && line.intercept < 0.0, "{line:?}");
        let (mut bias_mean, mut bias_cal, mut mae_mean, mut mae_cal, mut covered) = (0.0, 0.0, 0.0, 0.0, 0);
        for _ in 0..100 {
            let row = rasch_row(&mut rng, &difficulty);
            let t = full(&row);
            let m = estimate(&setup, Estimator::Mean, &as_responses(&row)).unwrap().estimate;
            let c = estimate(&setup, Estimator::Calibrated, &as_responses(&row)).unwrap();
            bias_mean += (m - t) / 100.0;
            bias_cal += (c.estimate - t) / 100.0;
            mae_mean += (m - t).abs() / 100.0;
            mae_cal += (c.estimate - t).abs() / 100.0;
            covered += (c.low <= t && t <= c.high) as usize;
        }
        assert!(bias_mean > 0.2, "the subset mean should be biased: {bias_mean}");
        assert!(bias_cal.abs() < 0.02, "calibrated bias {bias_cal}");
        assert!(mae_cal < 0.25 * mae_mean, "calibrated MAE {mae_cal} vs mean {mae_mean}");
        assert!((88..=100).contains(&covered), "coverage {covered}/100");
    }

    #[test]
    fn lambda_is_the_least_squares_mix() {
        let rows = [(0.5, 0.3, 0.4), (0.6, 0.2, 0.4), (0.7, 0.5, 0.6)];
        let l = calibrate_lambda(&rows);
        assert!((l - 0.5).abs() < 1e-12, "{l}");
    }

    #[test]
    fn theta_regression_maps_part_to_whole_with_covering_intervals() {
        // A benchmark of 300 items of which the matrix holds the 100 easiest;
        // the truth is the mean over all 300, which the part's mean overstates.
        let mut rng = Rng::new(11);
        let mut items: Vec<ItemParams> = (0..300).map(|_| ItemParams::new(rng.log_normal(0.0, 0.3), rng.normal())).collect();
        items.sort_by(|x, y| x.b.total_cmp(&y.b));
        let mut b = MatrixBuilder::new((0..100).map(|i| format!("i{i}")).collect());
        let mut truth = Vec::new();
        for j in 0..400 {
            let t = rng.normal();
            let full: Vec<f32> = items.iter().map(|p| (rng.uniform() < p.expected(t)) as u8 as f32).collect();
            truth.push(full.iter().map(|&x| x as f64).sum::<f64>() / 300.0);
            b.push_row_unchecked(format!("m{j}"), &full[..100].iter().map(|&x| Some(x)).collect::<Vec<_>>());
        }
        let m = b.into_matrix();
        let train: Vec<usize> = (0..300).collect();
        let all: Vec<usize> = (0..100).collect();
        let fit = irt::fit(&m.select(&train, &all), &FitOptions::default(), &mut |_| true).unwrap();
        let subset: Vec<usize> = (0..100).step_by(4).collect();
        let weights = vec![1.0 / subset.len() as f64; subset.len()];
        let mut setup = Setup {
            items: &subset,
            weights: &weights,
            n_items: 100,
            fit: Some(&fit),
            lambda: None,
            regression: None,
            calibration: None,
            ridge: None,
            interval_floor: None,
            task_ridges: None,
        };
        let responses = |j: usize| -> Vec<(usize, f64)> { subset.iter().enumerate().map(|(k, &i)| (k, m.get(j, i).unwrap() as f64)).collect() };
        assert!(estimate(&setup, Estimator::ThetaReg, &responses(0)).unwrap_err().to_string().contains("calibration"));
        let rows: Vec<(f64, f64)> = train.iter().map(|&j| (estimate(&setup, Estimator::Irt, &responses(j)).unwrap().estimate, truth[j])).collect();
        setup.regression = calibrate_regression(&rows);
        let reg = setup.regression.unwrap();
        assert!(reg.slope > 0.3 && reg.intercept < 0.0, "{reg:?}");
        let (mut err_reg, mut err_irt, mut covered) = (0.0, 0.0, 0);
        for j in 300..400 {
            let r = responses(j);
            let x = estimate(&setup, Estimator::ThetaReg, &r).unwrap();
            err_reg += (x.estimate - truth[j]).abs() / 100.0;
            err_irt += (estimate(&setup, Estimator::Irt, &r).unwrap().estimate - truth[j]).abs() / 100.0;
            covered += (x.low <= truth[j] && truth[j] <= x.high) as usize;
        }
        assert!(err_reg < 0.5 * err_irt, "theta-reg MAE {err_reg} vs irt {err_irt}");
        assert!((88..=100).contains(&covered), "coverage {covered}/100");
        // Known answer: an exact line is recovered with zero residual.
        let exact = calibrate_regression(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap();
        assert!((exact.slope - 2.0).abs() < 1e-12 && (exact.intercept - 1.0).abs() < 1e-12 && exact.residual_sd < 1e-12);
        assert!(calibrate_regression(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]).is_none());
    }

    /// A setup with nothing fitted: the subset, its weights and the
    /// benchmark's size.
    fn bare_setup<'a>(items: &'a [usize], weights: &'a [f64], n_items: usize) -> Setup<'a> {
        Setup { items, weights, n_items, fit: None, lambda: None, regression: None, calibration: None, ridge: None, interval_floor: None, task_ridges: None }
    }

    /// `models` × `items` responses in [0, 1] from two latent traits, and
    /// true scores that lean on item 0 beyond the subset mean.
    fn ridge_data(models: usize, items: usize, seed: u64) -> (Vec<Vec<(usize, f64)>>, Vec<f64>) {
        let mut rng = crate::rng::Rng::new(seed);
        let mut rows = Vec::new();
        let mut truth = Vec::new();
        for _ in 0..models {
            let (a, b) = (rng.normal(), rng.normal());
            let r: Vec<(usize, f64)> = (0..items)
                .map(|k| {
                    let load = if k == 0 { b } else { a };
                    (k, crate::irt::item::sigmoid(load + 0.3 * rng.normal()))
                })
                .collect();
            let mean = r.iter().map(|x| x.1).sum::<f64>() / items as f64;
            truth.push(0.1 + 0.8 * mean + 0.4 * crate::irt::item::sigmoid(b) + 0.01 * rng.normal());
            rows.push(r);
        }
        (rows, truth)
    }

    #[test]
    fn unanswered_items_count_at_the_score_the_other_answers_imply() {
        let centres = [0.5, 0.5, 0.2, 0.8];
        // Everything answered: nothing to impute; nothing answered: no basis.
        assert!(impute_unanswered(&[(0, 1.0), (1, 0.0), (2, 1.0), (3, 1.0)], &centres).is_empty());
        assert!(impute_unanswered(&[], &centres).is_empty());
        // Right on both average items: above average on the others, the
        // hard one still below the easy one; wrong on both: below.
        let strong = impute_unanswered(&[(0, 1.0), (1, 1.0)], &centres);
        let weak = impute_unanswered(&[(0, 0.0), (1, 0.0)], &centres);
        assert_eq!(strong.iter().map(|x| x.0).collect::<Vec<_>>(), [2, 3]);
        assert!(strong[0].1 > 0.2 && strong[1].1 > 0.8 && strong[0].1 < strong[1].1, "{strong:?}");
        assert!(weak[0].1 < 0.2 && weak[1].1 < 0.8, "{weak:?}");
        // Half right on average items: the ability is the items' own, so each
        // unanswered item sits at its mean.
        let middling = impute_unanswered(&[(0, 1.0), (1, 0.0)], &centres);
        assert!((middling[0].1 - 0.2).abs() < 1e-9 && (middling[1].1 - 0.8).abs() < 1e-9, "{middling:?}");
    }

    #[test]
    fn imputing_what_a_model_skipped_beats_the_mean_when_models_skip_whole_blocks() {
        // 300 Rasch models × 20 items; the full score is the mean over all
        // of them, and a third of the models never answered items 10..19 (a
        // benchmark they were not run on).
        let mut rng = crate::rng::Rng::new(12);
        let difficulty: Vec<f64> = (0..20).map(|i| (i as f64 - 9.5) / 5.0).collect();
        let (mut rows, mut truth) = (Vec::new(), Vec::new());
        for j in 0..300 {
            let theta = rng.normal();
            let all: Vec<(usize, f64)> =
                difficulty.iter().enumerate().map(|(k, b)| (k, f64::from(u8::from(rng.uniform() < crate::irt::item::sigmoid(theta - b))))).collect();
            truth.push(difficulty.iter().map(|b| crate::irt::item::sigmoid(theta - b)).sum::<f64>() / 20.0);
            rows.push(if j % 3 == 0 { all[..10].to_vec() } else { all });
        }
        let items: Vec<usize> = (0..20).collect();
        let weights = vec![1.0 / 20.0; 20];
        let setup = bare_setup(&items, &weights, 20);
        let (train, test) = (0..200, 200..300);
        let responses: Vec<&[(usize, f64)]> = rows[train.clone()].iter().map(Vec::as_slice).collect();
        let error = |impute: bool| {
            let how = if impute { Imputation::OneAbility } else { Imputation::Mean };
            let (fit, _) = fit_ridge_targets_imputing(&setup, &responses, &[truth[train.clone()].to_vec()], None, DUAL_MAX_MODELS, how).unwrap().pop().unwrap();
            assert_eq!(fit.imputes, impute);
            // Only the models that skipped the block differ.
            test.clone().filter(|j| j % 3 == 0).map(|j| (fit.predict(&setup, &rows[j]).unwrap().estimate - truth[j]).abs()).sum::<f64>() / 33.0
        };
        let (imputed, at_mean) = (error(true), error(false));
        assert!(imputed < 0.9 * at_mean, "imputed {imputed:.4} against the mean's {at_mean:.4}");
    }

    #[test]
    fn item_factors_fill_a_skipped_benchmark_from_what_it_shares_with_the_others() {
        // 600 models × 4 benchmarks of 15 items; a benchmark's ability is a
        // mix of two traits (its own mix), so the benchmarks correlate from
        // 0.3 to 1; each model skipped each benchmark with chance 0.3 (as
        // leaderboard models lack whole benchmarks, each its own ones), and
        // the full score is the mean over all 60. One overall ability puts
        // every skipped benchmark where the answered ones are; the factors
        // know which benchmarks move together.
        let mut rng = crate::rng::Rng::new(21);
        let mix = [(1.0, 0.0), (0.8, 0.6), (0.3, 0.95), (0.0, 1.0)];
        let difficulty: Vec<f64> = (0..60).map(|i| ((i % 15) as f64 - 7.0) / 5.0).collect();
        let (mut rows, mut truth) = (Vec::new(), Vec::new());
        for _ in 0..600 {
            let (a, b) = (rng.normal(), rng.normal());
            let theta = |k: usize| mix[k / 15].0 * a + mix[k / 15].1 * b;
            let skipped: Vec<bool> = (0..4).map(|_| rng.uniform() < 0.3).collect();
            let answered: Vec<(usize, f64)> = difficulty
                .iter()
                .enumerate()
                .map(|(k, d)| (k, f64::from(u8::from(rng.uniform() < crate::irt::item::sigmoid(1.5 * (theta(k) - d))))))
                .filter(|&(k, _)| !skipped[k / 15])
                .collect();
            truth.push(difficulty.iter().enumerate().map(|(k, d)| crate::irt::item::sigmoid(1.5 * (theta(k) - d))).sum::<f64>() / 60.0);
            rows.push(if answered.is_empty() { vec![(0, 1.0)] } else { answered });
        }
        let items: Vec<usize> = (0..60).collect();
        let weights = vec![1.0 / 60.0; 60];
        let setup = bare_setup(&items, &weights, 60);
        let (train, test) = (0..450, 450..600);
        let responses: Vec<&[(usize, f64)]> = rows[train.clone()].iter().map(Vec::as_slice).collect();
        let skippers: Vec<usize> = test.clone().filter(|&j| rows[j].len() < 60).collect();
        let whole = test.clone().find(|&j| rows[j].len() == 60).unwrap();
        let error = |how: Imputation| {
            let (fit, _) = fit_ridge_targets_imputing(&setup, &responses, &[truth[train.clone()].to_vec()], None, DUAL_MAX_MODELS, how).unwrap().pop().unwrap();
            assert_eq!(fit.factors.is_some(), how == Imputation::Factors);
            // A model that answered everything has nothing to fill.
            assert_eq!(fit.unanswered(&rows[whole]), Vec::new());
            skippers.iter().map(|&j| (fit.predict(&setup, &rows[j]).unwrap().estimate - truth[j]).abs()).sum::<f64>() / skippers.len() as f64
        };
        let (factors, one_ability) = (error(Imputation::Factors), error(Imputation::OneAbility));
        // (11–15% less over seeds 21–24.)
        assert!(factors < 0.92 * one_ability, "factors {factors:.4} against one ability's {one_ability:.4}");
        // The factors travel in the fit's JSON and give the same estimate back.
        let (fit, _) = fit_ridge_targets_imputing(&setup, &responses, &[truth[train.clone()].to_vec()], None, DUAL_MAX_MODELS, Imputation::Factors)
            .unwrap()
            .pop()
            .unwrap();
        let back: RidgeFit = serde_json::from_str(&serde_json::to_string(&fit).unwrap()).unwrap();
        assert_eq!(back.predict(&setup, &rows[skippers[0]]).unwrap(), fit.predict(&setup, &rows[skippers[0]]).unwrap());
        // Damaged factors are refused by name, not used.
        let mut damaged = fit.clone();
        damaged.factors.as_mut().unwrap().loadings.pop();
        let message = damaged.predict(&setup, &rows[skippers[0]]).unwrap_err().to_string();
        assert!(message.contains("item factors"), "{message}");
    }

    #[test]
    fn ridge_on_several_targets_fits_each_as_alone_and_combines_them() {
        // 30 models (the dual form) and 150 (the primal), 6 items; a second
        // target with another penalty's worth of noise.
        for models in [30, 150] {
            let (rows, first) = ridge_data(models, 6, 9);
            let mut rng = crate::rng::Rng::new(3);
            let second: Vec<f64> = first.iter().zip(&rows).map(|(t, r)| 0.5 * t + 0.3 * r[2].1 + 0.2 * rng.normal()).collect();
            let items: Vec<usize> = (0..6).collect();
            let weights = vec![1.0 / 6.0; 6];
            let setup = bare_setup(&items, &weights, 6);
            let responses: Vec<&[(usize, f64)]> = rows.iter().map(Vec::as_slice).collect();
            let both = fit_ridge_targets(&setup, &responses, &[first.clone(), second.clone()], None, DUAL_MAX_MODELS).unwrap();
            for (target, (fit, loo)) in [&first, &second].into_iter().zip(&both) {
                let alone = fit_ridge(&setup, responses.iter().copied().zip(target.iter().copied()), None).unwrap();
                assert_eq!((fit, loo), (&alone.0, &alone.1), "{models} models");
            }
            assert_ne!(both[0].0.lambda, both[1].0.lambda, "each target has its own penalty");
            // Per task, the composite is the weighted mean and its interval
            // the quantile of the weighted mean of the tasks' errors.
            let composite: Vec<f64> = first.iter().zip(&second).map(|(a, b)| 0.25 * a + 0.75 * b).collect();
            let names = ["a".to_string(), "b".to_string()];
            let (ridge, tasks) = calibrate_ridge_tasks(&setup, &responses, &composite, &[first.clone(), second.clone()], &names, &[1.0, 3.0]).unwrap();
            assert_eq!(ridge, fit_ridge(&setup, responses.iter().copied().zip(composite.iter().copied()), None).unwrap().0);
            let errors: Vec<(f64, f64)> = (0..models).map(|i| (0.25 * both[0].1[i] + 0.75 * both[1].1[i], 0.0)).collect();
            assert_eq!(tasks.half_width, calibrate_interval_floor(&errors).unwrap());
            let with_tasks = Setup { task_ridges: Some(&tasks), ..setup };
            let (e, per_task) = tasks.predict(&with_tasks, &rows[0]).unwrap();
            assert!((e.estimate - (0.25 * per_task[0].estimate + 0.75 * per_task[1].estimate)).abs() < 1e-12);
            assert_eq!(estimate(&with_tasks, Estimator::Ridge, &rows[0]).unwrap(), e);
            assert_eq!(per_task[1], both[1].0.predict(&setup, &rows[0]).unwrap());
        }
    }

    #[test]
    fn ridge_leave_one_out_errors_equal_refitting_without_the_model() {
        let (rows, truth) = ridge_data(25, 6, 4);
        let items: Vec<usize> = (0..6).collect();
        let weights = vec![1.0 / 6.0; 6];
        let setup = bare_setup(&items, &weights, 6);
        let all = || rows.iter().map(Vec::as_slice).zip(truth.iter().copied());
        let (fit, loo) = fit_ridge(&setup, all(), None).unwrap();
        assert!(fit.lambda > 0.0 && fit.n == 25);
        for i in 0..rows.len() {
            let others = all().enumerate().filter(|&(j, _)| j != i).map(|(_, r)| r);
            let (without, _) = fit_ridge(&setup, others, Some(fit.lambda)).unwrap();
            let e = without.predict(&setup, &rows[i]).unwrap().estimate - truth[i];
            assert!((e - loo[i]).abs() < 1e-9, "model {i}: refit error {e}, shortcut {}", loo[i]);
        }
        // The interval is the conformal quantile of those errors.
        let errors: Vec<(f64, f64)> = loo.iter().map(|&e| (e, 0.0)).collect();
        assert_eq!(fit.half_width, calibrate_interval_floor(&errors).unwrap());
    }

    #[test]
    fn the_primal_ridge_of_many_models_has_exact_leave_one_out_errors_too() {
        // 90 models and 6 items: past the dual form's 64, the p × p form.
        let (rows, truth) = ridge_data(90, 6, 5);
        let items: Vec<usize> = (0..6).collect();
        let weights = vec![1.0 / 6.0; 6];
        let setup = bare_setup(&items, &weights, 6);
        let all = || rows.iter().map(Vec::as_slice).zip(truth.iter().copied());
        let (fit, loo) = fit_ridge(&setup, all(), None).unwrap();
        assert!(fit.lambda > 0.0 && fit.n == 90);
        for i in (0..rows.len()).step_by(7) {
            let others = all().enumerate().filter(|&(j, _)| j != i).map(|(_, r)| r);
            let (without, _) = fit_ridge(&setup, others, Some(fit.lambda)).unwrap();
            let e = without.predict(&setup, &rows[i]).unwrap().estimate - truth[i];
            assert!((e - loo[i]).abs() < 1e-9, "model {i}: refit error {e}, shortcut {}", loo[i]);
        }
        // The same estimator as the dual form, in other arithmetic.
        let (dual, dual_loo) = fit_ridge_in(&setup, all(), None, usize::MAX).unwrap();
        assert!((dual.lambda - fit.lambda).abs() < 1e-12 * fit.lambda);
        for (a, b) in dual.coefficients.iter().zip(&fit.coefficients).chain([(&dual.intercept, &fit.intercept), (&dual.slope, &fit.slope)]) {
            assert!((a - b).abs() < 1e-9, "dual {a} primal {b}");
        }
        assert!(dual_loo.iter().zip(&loo).all(|(a, b)| (a - b).abs() < 1e-9));
    }

    #[test]
    fn ridge_learns_what_the_subset_mean_misses() {
        // Truth leans on item 0's trait: calibrated (a line on the mean)
        // cannot see it, ridge weights item 0 up.
        let (rows, truth) = ridge_data(80, 8, 5);
        let (new_rows, new_truth) = ridge_data(200, 8, 6);
        let items: Vec<usize> = (0..8).collect();
        let weights = vec![1.0 / 8.0; 8];
        let base = Setup {
            items: &items,
            weights: &weights,
            n_items: 8,
            fit: None,
            lambda: None,
            regression: None,
            calibration: None,
            ridge: None,
            interval_floor: None,
            task_ridges: None,
        };
        let training = || rows.iter().map(Vec::as_slice).zip(truth.iter().copied());
        let ridge = calibrate_ridge(&base, training()).unwrap();
        let line = regression_from(&base, Estimator::Calibrated, training()).unwrap();
        let setup = Setup { ridge: Some(&ridge), calibration: Some(line), ..base };
        let top = (0..8).max_by(|&a, &b| ridge.coefficients[a].abs().total_cmp(&ridge.coefficients[b].abs())).unwrap();
        assert_eq!(top, 0, "{:?}", ridge.coefficients);
        let mae = |e: Estimator| new_rows.iter().zip(&new_truth).map(|(r, t)| (estimate(&setup, e, r).unwrap().estimate - t).abs()).sum::<f64>() / 200.0;
        let (mae_ridge, mae_line) = (mae(Estimator::Ridge), mae(Estimator::Calibrated));
        assert!(mae_ridge < 0.5 * mae_line, "ridge {mae_ridge} vs calibrated {mae_line}");
        let covered = new_rows.iter().zip(&new_truth).filter(|(r, t)| {
            let e = estimate(&setup, Estimator::Ridge, r).unwrap();
            e.low <= **t && **t <= e.high
        });
        let covered = covered.count();
        assert!(covered >= 170, "{covered} of 200 covered, half-width {}, MAE {mae_ridge}", ridge.half_width);
        // Unanswered items add nothing; a fit for another subset is refused.
        let partial = estimate(&setup, Estimator::Ridge, &new_rows[0][1..]).unwrap();
        assert!(partial.estimate.is_finite());
        let other = Setup { items: &items[..7], ..setup };
        let err = estimate(&other, Estimator::Ridge, &new_rows[0][..7]).unwrap_err().to_string();
        assert!(err.contains("one centre and one coefficient per subset item (7)"), "{err}");
        let none = Setup { ridge: None, ..setup };
        assert!(estimate(&none, Estimator::Ridge, &new_rows[0]).unwrap_err().to_string().contains("at least 4 training models"));
    }
}
