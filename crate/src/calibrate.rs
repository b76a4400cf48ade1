//! What the training models teach the estimators about one subset: their
//! full scores are known, so the lines of `theta-reg` and `calibrated`,
//! `ridge`'s fit, gp-IRT's λ and every estimator's conformal interval floor
//! are fitted on them (see `estimate` for each). `select` stores the result
//! in the subset file, `evaluate` and the random guard make one per subset
//! they score; this is the one place all three get it from.
//!
//! Each θ a model's estimate needs is a MAP fit, so a caller with many
//! training models may fit each part on an evenly strided sample of them
//! ([`Caps`]); `ridge` takes at most [`RIDGE_MAX_MODELS`].

use std::collections::BTreeMap;

use crate::estimate::{self, Estimator, RIDGE_MAX_MODELS, Regression, RidgeFit, Setup, ridge_rows};
use crate::irt::IrtFit;
use crate::matrix::ResponseMatrix;

/// A subset as the estimators see it: items (indices into the benchmark,
/// which are the fit's items), their weights, the benchmark's size and, for
/// the IRT estimators, a fit.
#[derive(Debug, Clone, Copy)]
pub struct SubsetView<'a> {
    pub items: &'a [usize],
    pub weights: &'a [f64],
    pub n_items: usize,
    pub fit: Option<&'a IrtFit>,
}

impl<'a> SubsetView<'a> {
    /// The estimators' setup with nothing calibrated: the model-based
    /// estimators only.
    pub fn setup(self) -> Setup<'a> {
        Setup {
            items: self.items,
            weights: self.weights,
            n_items: self.n_items,
            fit: self.fit,
            lambda: None,
            regression: None,
            calibration: None,
            ridge: None,
            interval_floor: None,
        }
    }
}

/// The models a calibration learns from: rows of `matrix`, each with its true
/// full score (`truth`, indexed by matrix row).
#[derive(Debug, Clone, Copy)]
pub struct Training<'a> {
    pub matrix: &'a ResponseMatrix,
    pub models: &'a [usize],
    pub truth: &'a [f64],
}

impl Training<'_> {
    /// (responses on the subset, true score) of every `cap`-th model or
    /// so: at most `cap`, evenly strided, all of them when there are no more.
    fn rows(&self, items: &[usize], cap: usize) -> Vec<(Vec<(usize, f64)>, f64)> {
        let step = self.models.len().div_ceil(cap).max(1);
        self.models.iter().step_by(step).map(|&j| (estimate::responses_on(self.matrix, j, items), self.truth[j])).collect()
    }
}

/// The most training models each part is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// theta-reg's and calibrated's lines.
    pub lines: usize,
    /// gp-IRT's λ.
    pub lambda: usize,
    /// The interval floors (a 95% quantile needs ~100).
    pub floors: usize,
    /// `ridge` (never more than [`RIDGE_MAX_MODELS`]).
    pub ridge: usize,
}

impl Caps {
    /// Every training model for every part (what `select` stores), ridge
    /// up to [`RIDGE_MAX_MODELS`].
    pub const ALL: Caps = Caps { lines: usize::MAX, lambda: usize::MAX, floors: usize::MAX, ridge: RIDGE_MAX_MODELS };
}

/// What the training models gave; `None` where a part was not asked for or
/// could not be fitted (too few models, no spread, no IRT fit).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calibration {
    pub gpirt_lambda: Option<f64>,
    pub theta_regression: Option<Regression>,
    pub calibration: Option<Regression>,
    pub ridge: Option<RidgeFit>,
    /// Per estimator name, the smallest interval half-width.
    pub interval_floors: BTreeMap<String, f64>,
}

impl Calibration {
    /// Fits the parts that `estimators` need on `training`: theta-reg's
    /// line, calibrated's line, gp-IRT's λ (with a fit) and ridge, each
    /// only when named; and the interval floor of each of `floors_for`
    /// that takes one (not the trained estimators, whose intervals are built
    /// on the training models' residuals already).
    pub fn fit(subset: SubsetView, training: &Training, estimators: &[Estimator], floors_for: &[Estimator], caps: Caps) -> Calibration {
        let wants = |e: Estimator| estimators.contains(&e);
        let mut setup = subset.setup();
        let mut out = Calibration::default();
        if wants(Estimator::ThetaReg) || wants(Estimator::Calibrated) {
            let rows = training.rows(subset.items, caps.lines);
            let line = |e: Estimator| estimate::regression_from(&setup, e, rows.iter().map(|(r, t)| (r.as_slice(), *t)));
            if wants(Estimator::ThetaReg) {
                out.theta_regression = line(Estimator::ThetaReg);
            }
            if wants(Estimator::Calibrated) {
                out.calibration = line(Estimator::Calibrated);
            }
        }
        if wants(Estimator::Gpirt) && subset.fit.is_some() {
            // gp-IRT mixes the weighted and p-IRT estimates, neither of
            // which depends on anything calibrated here.
            let rows: Vec<(f64, f64, f64)> = training
                .rows(subset.items, caps.lambda)
                .iter()
                .filter_map(|(r, t)| {
                    let w = estimate::point(&setup, Estimator::Weighted, r).ok()?.0;
                    let p = estimate::point(&setup, Estimator::Pirt, r).ok()?.0;
                    Some((w, p, *t))
                })
                .collect();
            out.gpirt_lambda = Some(estimate::calibrate_lambda(&rows));
            setup.lambda = out.gpirt_lambda;
        }
        if wants(Estimator::Ridge) {
            let rows: Vec<(Vec<(usize, f64)>, f64)> = ridge_rows(training.models, caps.ridge.min(RIDGE_MAX_MODELS))
                .into_iter()
                .map(|&j| (estimate::responses_on(training.matrix, j, subset.items), training.truth[j]))
                .collect();
            out.ridge = estimate::calibrate_ridge(&setup, rows.iter().map(|(r, t)| (r.as_slice(), *t)));
        }
        if !floors_for.is_empty() {
            let rows = training.rows(subset.items, caps.floors);
            for &e in floors_for {
                if let Some(floor) = estimate::interval_floor_from(&setup, e, rows.iter().map(|(r, t)| (r.as_slice(), *t))) {
                    out.interval_floors.insert(e.as_str().to_string(), floor);
                }
            }
        }
        out
    }

    /// The estimators' setup for `subset` with everything calibrated, and
    /// `estimator`'s interval floor when one was fitted.
    pub fn setup<'a>(&'a self, subset: SubsetView<'a>, estimator: Option<Estimator>) -> Setup<'a> {
        Setup {
            lambda: self.gpirt_lambda,
            regression: self.theta_regression,
            calibration: self.calibration,
            ridge: self.ridge.as_ref(),
            interval_floor: estimator.and_then(|e| self.interval_floors.get(e.as_str()).copied()),
            ..subset.setup()
        }
    }
}
