//! The subset file: what `benchsift select` writes (the items, their
//! weights and what the training models taught the estimators about them)
//! and how `estimate` turns a new model's answers on it into full scores.

use serde::{Deserialize, Serialize};

use super::budget::Budget;
use super::guard;
use super::method::Method;
use super::reliability;
use super::side::Side;
use super::{Context, SELECTION_FIT_TOLERANCE, SelectOptions, select};
use crate::calibrate::{Calibration, Caps, SubsetView, Training, Truth};
use crate::error::{Error, Result};
use crate::estimate::{Estimates, Estimator, ModelEstimate, Setup, TaskEstimate, estimate};
use crate::irt::IrtFit;
use crate::matrix::ResponseMatrix;

/// The JSON form of a subset (what `benchsift select` writes and
/// `estimate` reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubsetJson {
    pub method: Method,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_budget: Option<f64>,
    pub seed: u64,
    /// Difficulty bins the budget was split across (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty_strata: Option<usize>,
    /// Items in the whole benchmark (what the estimate is a mean over).
    pub benchmark_items: usize,
    pub train_models: usize,
    pub items: Vec<String>,
    pub weights: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// gp-IRT's mixing weight, calibrated on the training models when an IRT
    /// fit was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpirt_lambda: Option<f64>,
    /// theta-reg's calibration line on the training models (made with an
    /// IRT fit; against the given true scores, else the row means).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta_regression: Option<crate::estimate::Regression>,
    /// `calibrated`'s line: true score on the weighted subset mean, fitted on
    /// the training models (against the given true scores, else the row
    /// means); absent with fewer than 3 of them or no spread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::estimate::Regression>,
    /// `ridge`'s fit on the training models (at most
    /// [`crate::estimate::RIDGE_MAX_MODELS`] of them, evenly spaced); absent
    /// with fewer than 4 or no spread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ridge: Option<crate::estimate::RidgeFit>,
    /// `ridge` per task, when the true scores came per task (`--truth` with
    /// a column per task): `estimate` then reports each task and their
    /// weighted mean as the composite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_ridges: Option<crate::estimate::TaskRidges>,
    /// Each estimator's smallest interval half-width: the split-conformal 95%
    /// quantile of the training models' absolute errors (see `estimate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_floors: Option<std::collections::BTreeMap<String, f64>>,
    /// The random guard's cross-validated errors and decision (see
    /// [`guard`]); absent when it did not run (turned off, a random or
    /// stratified method, or too few training models). When it fell back,
    /// `items` are a random subset, not `method`'s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<guard::GuardReport>,
    /// Why the random guard could not run, when it was asked to and failed
    /// on a part of the training models; the method's subset stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_skipped: Option<String>,
    /// `irt-info` and `metabench` only: the split-half reliability of the
    /// fit's discriminations (see [`reliability`]); below
    /// [`reliability::LOW_RELIABILITY`] those methods rank items mostly by
    /// noise, and the CLI warns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discrimination_reliability: Option<f64>,
    /// The chosen items' groups and texts, when the items file has them, so
    /// a person can read what was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Option<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts: Option<Vec<Option<String>>>,
}

/// Selects with `options` on the training models `train`, fitting the IRT
/// model `irt` on them first when the method needs it (and then calibrating
/// gp-IRT's λ on them too).
pub fn select_subset(m: &ResponseMatrix, train: &[usize], options: &SelectOptions, irt: crate::irt::IrtModel) -> Result<SubsetJson> {
    let fit_options = crate::irt::FitOptions { model: irt, tolerance: SELECTION_FIT_TOLERANCE, ..Default::default() };
    select_subset_with(m, train, options, &fit_options, Side::default(), None)
}

/// [`select_subset`] with the IRT fit's settings spelled out (e.g. `dims`),
/// side inputs, and true full scores per model (matrix order; with task
/// scores, ridge is fitted per task too); given scores make an IRT fit even
/// for methods that need none, to calibrate theta-reg (and gp-IRT) against
/// them.
pub fn select_subset_with(
    m: &ResponseMatrix,
    train: &[usize],
    options: &SelectOptions,
    fit_options: &crate::irt::FitOptions,
    side: Side,
    truth: Option<Truth>,
) -> Result<SubsetJson> {
    if let Some(t) = truth
        && (t.composite.len() != m.n_models() || t.tasks.is_some_and(|k| k.scores.iter().any(|s| s.len() != m.n_models())))
    {
        return Err(Error::invalid(format!("{} true scores for {} models", t.composite.len(), m.n_models())));
    }
    let tasks = truth.and_then(|t| t.tasks);
    let all: Vec<usize> = (0..m.n_items()).collect();
    let fit = if options.method.needs_irt() || truth.is_some() { Some(crate::irt::fit(&m.select(train, &all), fit_options, &mut |_| true)?) } else { None };
    let means = match truth {
        Some(t) => t.composite.to_vec(),
        None => m.model_means(),
    };
    let ctx = Context { matrix: m, train, fit: fit.as_ref(), anchor_space: None, side, target: Some(&means) };
    // The method's own subset first: it validates the request, so its
    // errors are the user's, not the guard's.
    let own = select(&ctx, options)?;
    // The guard runs on parts of the training models, where a fit or a
    // selection can fail that succeeds on all of them (a part on which no
    // item varies); then the method's subset stands and the file says why.
    let (guard_report, guard_skipped) = if options.guard && guard::applies_to(options.method) {
        let checked = guard::Guard::new(
            m,
            train,
            Truth { composite: &means, tasks },
            options.method.needs_irt().then_some(fit_options),
            false,
            options.method == Method::AnchorPoints,
        )
        .and_then(|g| g.map(|g| g.check(m, side, options)).transpose());
        match checked {
            Ok(report) => (report, None),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    let fell_back = guard_report.is_some_and(|r| r.fell_back);
    let chosen = if fell_back { guard::fallback_options(options) } else { options.clone() };
    let subset = if fell_back { select(&ctx, &chosen)? } else { own };
    // What the training models teach the estimators about this subset:
    // every line, λ, ridge and every estimator's interval floor, on all of
    // them (stored in the file for `estimate`).
    let view = SubsetView { items: &subset.items, weights: &subset.weights, n_items: m.n_items(), fit: fit.as_ref() };
    let training = Training { matrix: m, models: train, truth: &means, tasks };
    let mut calibration = Calibration::fit(view, &training, &Estimator::ALL, &Estimator::ALL, Caps::ALL);
    // A method that chose its items on these models' scores fits them better
    // than it will fit new ones: the guard measured by how much.
    if let Some(report) = guard_report.as_ref() {
        calibration.widen_ridge(report.interval_scale());
    }
    // Of the discriminations the method ranked by: moot when its subset was
    // replaced by a random one.
    let discrimination_reliability = match (options.method, fit.as_ref()) {
        (Method::IrtInfo | Method::Metabench, Some(fit)) if !fell_back => reliability::discrimination_reliability(fit, m, train, &all),
        _ => None,
    };
    Ok(SubsetJson {
        method: options.method,
        budget: match options.budget {
            Budget::Items(n) => Some(n),
            Budget::Cost(_) => None,
        },
        cost_budget: match options.budget {
            Budget::Cost(c) => Some(c),
            Budget::Items(_) => None,
        },
        seed: options.seed,
        // What the items were drawn with: a fallback is binned (see guard).
        difficulty_strata: (chosen.difficulty_strata > 1).then_some(chosen.difficulty_strata),
        benchmark_items: m.n_items(),
        train_models: train.len(),
        items: subset.items.iter().map(|&i| m.item_ids()[i].clone()).collect(),
        weights: subset.weights,
        cost: subset.cost,
        gpirt_lambda: calibration.gpirt_lambda,
        theta_regression: calibration.theta_regression,
        interval_floors: (!calibration.interval_floors.is_empty()).then_some(calibration.interval_floors),
        ridge: calibration.ridge,
        task_ridges: calibration.task_ridges,
        calibration: calibration.calibration,
        guard: guard_report,
        guard_skipped,
        discrimination_reliability,
        groups: (!m.items().group.is_empty()).then(|| subset.items.iter().map(|&i| m.items().group[i].clone()).collect()),
        texts: (!m.items().text.is_empty()).then(|| subset.items.iter().map(|&i| m.items().text[i].clone()).collect()),
    })
}

/// Estimates every model of `responses` (a matrix over some of the subset's
/// items, matched by id) with a subset file and, for IRT estimators, a fit of
/// the whole benchmark.
pub fn estimate_matrix(subset: &SubsetJson, fit: Option<&IrtFit>, responses: &crate::matrix::ResponseMatrix, estimator: Estimator) -> Result<Estimates> {
    if estimator.needs_irt() && fit.is_none() {
        return Err(Error::invalid(format!("the {} estimator needs an IRT fit of the whole benchmark", estimator.as_str())));
    }
    if subset.weights.len() != subset.items.len() {
        return Err(Error::invalid("the subset file has a different number of items and weights"));
    }
    // Subset items as indices into the benchmark: the fit's items when given.
    let items: Vec<usize> = match fit {
        Some(f) => subset
            .items
            .iter()
            .map(|id| {
                f.item_ids
                    .iter()
                    .position(|x| x == id)
                    .ok_or_else(|| Error::invalid(format!("subset item '{}' is not in the fit", crate::error::truncate(id, 40))))
            })
            .collect::<Result<_>>()?,
        None => (0..subset.items.len()).collect(),
    };
    let n_items = fit.map_or(subset.benchmark_items, |f| f.items.len());
    let columns: Vec<Option<usize>> = subset.items.iter().map(|id| responses.item_ids().iter().position(|x| x == id)).collect();
    if columns.iter().all(Option::is_none) {
        return Err(Error::invalid(format!("none of the subset's {} items is among the responses' items", subset.items.len())));
    }
    let setup = Setup {
        items: &items,
        weights: &subset.weights,
        n_items,
        fit,
        lambda: subset.gpirt_lambda,
        regression: subset.theta_regression,
        calibration: subset.calibration,
        ridge: subset.ridge.as_ref(),
        task_ridges: subset.task_ridges.as_ref(),
        interval_floor: subset.interval_floors.as_ref().and_then(|f| f.get(estimator.as_str()).copied()),
    };
    let whole_benchmark = responses.n_items() == n_items && columns.iter().all(Option::is_some);
    let models = (0..responses.n_models())
        .map(|j| {
            let r: Vec<(usize, f64)> = columns.iter().enumerate().filter_map(|(k, c)| c.and_then(|c| responses.get(j, c)).map(|x| (k, x as f64))).collect();
            let id = &responses.model_ids()[j];
            let within = |e: Error| Error::invalid(format!("model '{}': {e}", crate::error::truncate(id, 40)));
            let (e, tasks) = match (estimator, setup.task_ridges) {
                (Estimator::Ridge, Some(t)) => {
                    let (composite, per_task) = t.predict(&setup, &r).map_err(within)?;
                    let tasks = t
                        .tasks
                        .iter()
                        .zip(per_task)
                        .map(|(t, e)| TaskEstimate { task: t.task.clone(), estimate: e.estimate, low: e.low, high: e.high })
                        .collect();
                    (composite, Some(tasks))
                }
                _ => (estimate(&setup, estimator, &r).map_err(within)?, None),
            };
            let full_mean = if whole_benchmark { observed_mean(responses, j) } else { None };
            Ok(ModelEstimate { id: id.clone(), estimate: e.estimate, low: e.low, high: e.high, answered: r.len(), full_mean, tasks })
        })
        .collect::<Result<_>>()?;
    let interval = match estimator {
        Estimator::Ridge => "95% split-conformal (leave-one-out errors of the training models)",
        e if e.predictor().is_some() => "95% regression prediction interval (Student t)",
        _ => "95% normal",
    };
    Ok(Estimates { estimator, interval, models })
}

/// A model's mean over the cells it answered (None when it answered none).
fn observed_mean(responses: &crate::matrix::ResponseMatrix, model: usize) -> Option<f64> {
    let (sum, n) = (0..responses.n_items()).filter_map(|i| responses.get(model, i)).fold((0.0, 0usize), |(s, n), x| (s + x as f64, n + 1));
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::MatrixBuilder;

    #[test]
    fn full_mean_is_reported_only_for_whole_benchmark_responses() {
        let mut b = MatrixBuilder::new(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
        b.push_row_unchecked("m0".into(), &[Some(1.0), Some(0.0), None, Some(1.0)]);
        b.push_row_unchecked("m1".into(), &[Some(0.0), Some(0.0), Some(1.0), Some(0.0)]);
        let whole = b.into_matrix();
        let subset = SubsetJson {
            method: Method::Random,
            budget: Some(2),
            cost_budget: None,
            seed: 0,
            difficulty_strata: None,
            benchmark_items: 4,
            train_models: 2,
            items: vec!["a".into(), "c".into()],
            weights: vec![0.5, 0.5],
            cost: None,
            gpirt_lambda: None,
            theta_regression: None,
            calibration: None,
            ridge: None,
            task_ridges: None,
            interval_floors: None,
            guard: None,
            guard_skipped: None,
            discrimination_reliability: None,
            groups: None,
            texts: None,
        };
        let e = estimate_matrix(&subset, None, &whole, Estimator::Mean).unwrap();
        // m0 answered a, b, d: 2 of 3; the missing cell is not a zero.
        assert_eq!(e.models[0].full_mean, Some(2.0 / 3.0));
        assert_eq!(e.models[1].full_mean, Some(0.25));
        assert_eq!(e.models[0].answered, 1);
        // Responses on the subset only: nothing to compare with.
        let part = whole.select(&[0, 1], &[0, 2]);
        let e = estimate_matrix(&subset, None, &part, Estimator::Mean).unwrap();
        assert!(e.models.iter().all(|m| m.full_mean.is_none()));
    }
}
