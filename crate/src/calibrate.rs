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

use crate::estimate::{self, Estimator, RIDGE_MAX_MODELS, Regression, RidgeFit, Setup, TaskRidges, ridge_rows};
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
            task_ridges: None,
            interval_floor: None,
        }
    }
}

/// True full scores per task, when they came one column per task (a
/// leaderboard's benchmarks): the composite a model is ranked by is their
/// weighted mean ([`TaskTruth::composites`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskTruth {
    pub names: Vec<String>,
    /// Each task's weight in the composite (equal, as a leaderboard's mean).
    pub weights: Vec<f64>,
    /// `scores[k][j]`: task k's full score of matrix model j.
    pub scores: Vec<Vec<f64>>,
}

impl TaskTruth {
    /// Tasks with equal weights; `scores[k]` holds task k's score of every
    /// matrix model. `None` unless there are two tasks or more, each with a
    /// score for the same number of models.
    pub fn new(names: Vec<String>, scores: Vec<Vec<f64>>) -> Option<TaskTruth> {
        let ok = names.len() >= 2 && names.len() == scores.len() && scores.iter().all(|s| s.len() == scores[0].len());
        ok.then(|| TaskTruth { weights: vec![1.0; names.len()], names, scores })
    }

    /// Every model's composite: the weighted mean of its task scores.
    pub fn composites(&self) -> Vec<f64> {
        let total: f64 = self.weights.iter().sum();
        (0..self.scores[0].len()).map(|j| self.scores.iter().zip(&self.weights).map(|(s, w)| w * s[j]).sum::<f64>() / total).collect()
    }
}

/// True full scores of the models (indexed by matrix row): the composite,
/// and the task scores it is the mean of when they came per task.
#[derive(Debug, Clone, Copy)]
pub struct Truth<'a> {
    pub composite: &'a [f64],
    pub tasks: Option<&'a TaskTruth>,
}

/// The models a calibration learns from: rows of `matrix`, each with its true
/// full score (`truth`, indexed by matrix row) and, where they came per task,
/// its task scores (whose composite `truth` is).
#[derive(Debug, Clone, Copy)]
pub struct Training<'a> {
    pub matrix: &'a ResponseMatrix,
    pub models: &'a [usize],
    pub truth: &'a [f64],
    pub tasks: Option<&'a TaskTruth>,
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
    /// `ridge` per task, with per-task true scores.
    pub task_ridges: Option<TaskRidges>,
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
            match training.tasks {
                None => out.ridge = estimate::calibrate_ridge(&setup, rows.iter().map(|(r, t)| (r.as_slice(), *t))),
                // The composite and every task at once: the same models, one
                // factorisation per penalty.
                Some(tasks) => {
                    let models = ridge_rows(training.models, caps.ridge.min(RIDGE_MAX_MODELS));
                    let responses: Vec<&[(usize, f64)]> = rows.iter().map(|(r, _)| r.as_slice()).collect();
                    let composite: Vec<f64> = rows.iter().map(|(_, t)| *t).collect();
                    let scores: Vec<Vec<f64>> = tasks.scores.iter().map(|s| models.iter().map(|&&j| s[j]).collect()).collect();
                    if let Some((ridge, per_task)) = estimate::calibrate_ridge_tasks(&setup, &responses, &composite, &scores, &tasks.names, &tasks.weights) {
                        out.ridge = Some(ridge);
                        out.task_ridges = Some(per_task);
                    }
                }
            }
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

    /// Widens ridge's intervals (the composite fit's and each task's) by
    /// `scale` (see the guard's interval scale).
    pub fn widen_ridge(&mut self, scale: f64) {
        if let Some(r) = self.ridge.as_mut() {
            r.half_width *= scale;
        }
        if let Some(t) = self.task_ridges.as_mut() {
            t.widen(scale);
        }
    }

    /// The estimators' setup for `subset` with everything calibrated, and
    /// `estimator`'s interval floor when one was fitted.
    pub fn setup<'a>(&'a self, subset: SubsetView<'a>, estimator: Option<Estimator>) -> Setup<'a> {
        Setup {
            lambda: self.gpirt_lambda,
            regression: self.theta_regression,
            calibration: self.calibration,
            ridge: self.ridge.as_ref(),
            task_ridges: self.task_ridges.as_ref(),
            interval_floor: estimator.and_then(|e| self.interval_floors.get(e.as_str()).copied()),
            ..subset.setup()
        }
    }
}
