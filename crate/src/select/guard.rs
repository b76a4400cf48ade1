//! The random guard: a selector's subset is kept only where, on the training
//! models themselves, subsets it chooses predict full scores no worse than
//! random subsets of the same budget; elsewhere the selection is a random
//! subset (stratified as asked).
//!
//! Why: a selector that ranks items by one criterion (consistency, variance,
//! information) or covers one space (IRT parameters, embeddings, response
//! correlations) does not draw a sample. At large budgets several are worse
//! than a random subset of the same size at estimating new models' scores,
//! and which ones depends on the matrix (BENCHMARKS, "New selectors";
//! ARCHITECTURE 44): metric-cons on one AlpacaEval matrix and not on
//! another, metabench where 23 training models cannot tell which items
//! discriminate. No rule read off the data beforehand says which;
//! cross-validation over the training models does, the way metabench tunes
//! its own hyper-parameters.
//!
//! How: the training models are split into [`INNER_FOLDS`] folds (a fixed
//! shuffle). For each fold the method selects on the other folds' models,
//! with its own IRT fit on them where it needs one, and so do
//! [`RANDOM_DRAWS`] random subsets of the same budget and groups, spread
//! over difficulty ([`fallback_options`]: the caller's difficulty bins, or
//! [`FALLBACK_BINS`]). Every
//! subset is scored on the fold's held-out models by the absolute error of
//! the estimators that are trained on the same models ([`ESTIMATORS`]:
//! `calibrated` and `ridge`, and for methods that fit IRT p-IRT and gp-IRT),
//! and each side is judged by its best estimator, as `evaluate` reports a
//! method by its best. The selection falls back to such a random subset
//! (with the caller's seed) when random's errors are smaller by more than
//! [`FALL_BACK_Z`] standard errors of the mean paired difference over the
//! held-out models; otherwise the method's subset stands. The decision uses
//! fixed seeds, so it does not depend on the caller's: every seed of an
//! evaluation sees the same decision.
//!
//! What it costs: [`INNER_FOLDS`] IRT fits per training set for the methods
//! that fit one (shared by every method and budget in `evaluate`), and per
//! method and budget 3 × (1 + [`RANDOM_DRAWS`]) selections and estimator
//! fits. What it does not do: make a method better than random where the
//! method is worse; it makes the subset random there, and says so (the
//! subset file's `guard`, `evaluate`'s `guard_fallbacks`).

use serde::{Deserialize, Serialize};

use super::{Context, CorrelationSpace, ItemVectors, Method, SelectOptions, Side};
use crate::calibrate::{Calibration, Caps, SubsetView, TaskTruth, Training, Truth};
use crate::error::Result;
use crate::estimate::{self, Estimator};
use crate::irt::{FitOptions, IrtFit};
use crate::matrix::ResponseMatrix;
use crate::rng::Rng;

/// Folds of the training models.
pub const INNER_FOLDS: usize = 3;
/// Random subsets per fold that the method is compared against.
pub const RANDOM_DRAWS: u64 = 4;
/// Fewest training models the guard runs with: three folds of at least
/// three held-out models, so that each line is fitted on six or more.
pub const MIN_MODELS: usize = 9;
/// Random must beat the method by this many standard errors of the mean
/// paired difference in error. Measured on the AlpacaEval matrices: at 1
/// the guard kept metabench at 400 GPT-4 Turbo prompts, whose errors were
/// larger on every fold but heavy-tailed (z 0.6–0.9; 0.0075 against
/// random's 0.0049 on held-out models); at 0 it discarded metabench at 10
/// GPT-4 v1 prompts, a real win, on folds with z 0.25–0.31.
pub const FALL_BACK_Z: f64 = 0.5;
/// At most this many held-out models are scored per fold, and gp-IRT's λ
/// is fitted on at most this many training models (evenly spaced): enough
/// for a mean and its standard error, and the guard's cost stops growing
/// with the number of models (each p-IRT estimate is a MAP fit).
const MAX_MODELS: usize = 100;
/// The seed of the method's own inner selections (its random draws take
/// the next ones): fixed, so the decision is the same for every seed.
const GUARD_SEED: u64 = 0x6A4D;

/// Difficulty bins of the random subsets the guard compares against and
/// falls back to, when the caller asked for none: a random sample
/// stratified by the items' mean score over the training models, in
/// proportion, which never estimates a mean worse than a simple random
/// sample of the same size and on these matrices did markedly better
/// (GPT-4 v1 AlpacaEval, 100 prompts: 0.0185 against 0.0246 on the same
/// seeds; BENCHMARKS, "The random guard").
pub const FALLBACK_BINS: usize = 10;

/// The random selection the guard compares `options`' method against and
/// falls back to: the same budget, seed and groups, in `options`'
/// difficulty bins or else [`FALLBACK_BINS`].
pub fn fallback_options(options: &SelectOptions) -> SelectOptions {
    let difficulty_strata = if options.difficulty_strata > 1 { options.difficulty_strata } else { FALLBACK_BINS };
    SelectOptions { method: Method::Random, difficulty_strata, guard: false, ..options.clone() }
}

/// Does the guard apply to `method`? Random and stratified subsets are the
/// samples it compares against.
pub fn applies_to(method: Method) -> bool {
    !matches!(method, Method::Random | Method::Stratified | Method::Adaptive)
}

/// What the guard measured, and what it decided.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GuardReport {
    /// The method's cross-validated mean absolute error (its best
    /// estimator); `None` when none of its estimators could estimate any
    /// held-out model (e.g. every model scored alike on its subset).
    pub method_error: Option<f64>,
    /// Random subsets' (their best estimator), likewise.
    pub random_error: Option<f64>,
    /// True when random's errors were smaller by more than [`FALL_BACK_Z`]
    /// standard errors of the paired difference: the subset is random.
    pub fell_back: bool,
    /// How much wider `ridge`'s interval has to be on the method's subsets
    /// than their training models' leave-one-out errors say: the 95%
    /// quantile of its errors on the held-out models over the mean
    /// half-width it claimed on each fold. A method that chooses items for
    /// the training models' scores (forward-selection, most of all) fits them
    /// better than new models, so its leave-one-out errors are optimistic;
    /// `select` and `evaluate` widen the interval by this ratio where it is
    /// above 1 and the subset is the method's (see [`interval_scale`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ridge_interval_ratio: Option<f64>,
}

impl GuardReport {
    /// What `ridge`'s half-width is multiplied by on the subset this report
    /// decided: the measured ratio where the method's subset stands and it
    /// is above 1, else 1 (a random subset is a sample: no optimism to undo).
    pub fn interval_scale(&self) -> f64 {
        match self.ridge_interval_ratio {
            Some(r) if !self.fell_back && r.is_finite() => r.max(1.0),
            _ => 1.0,
        }
    }
}

/// One fold of the training models, with what selection needs on the rest.
struct Fold {
    train: Vec<usize>,
    test: Vec<usize>,
    fit: Option<IrtFit>,
    /// Response vectors over `train` for kcenter/dpp, when the caller's
    /// vectors were response vectors (embeddings do not depend on models).
    vectors: Option<ItemVectors>,
    /// anchor-points' correlation distances over `train`, computed once.
    anchor_space: Option<CorrelationSpace>,
}

/// The folds and their fits, built once per training set and reused for
/// every method and budget checked on it.
pub struct Guard {
    folds: Vec<Fold>,
    truth: Vec<f64>,
    tasks: Option<TaskTruth>,
}

impl Guard {
    /// Folds of `train` (with `truth` per matrix model: the true full
    /// scores, and per task where they came so). With `fit_options` each fold gets an IRT fit on its
    /// training part; with `response_vectors` its own response vectors; with
    /// `anchors` its anchor-points distances. `None` with fewer than
    /// [`MIN_MODELS`] training models.
    pub fn new(
        m: &ResponseMatrix,
        train: &[usize],
        truth: Truth,
        fit_options: Option<&FitOptions>,
        response_vectors: bool,
        anchors: bool,
    ) -> Result<Option<Guard>> {
        // The same models in any order (or listed twice) make the same folds,
        // so `select` and `evaluate` decide alike.
        let mut order = train.to_vec();
        order.sort_unstable();
        order.dedup();
        if order.len() < MIN_MODELS {
            return Ok(None);
        }
        Rng::new(GUARD_SEED).shuffle(&mut order);
        let all: Vec<usize> = (0..m.n_items()).collect();
        let folds = (0..INNER_FOLDS)
            .map(|f| {
                let mut test: Vec<usize> = order.iter().copied().enumerate().filter(|(p, _)| p % INNER_FOLDS == f).map(|(_, j)| j).collect();
                let mut inner: Vec<usize> = order.iter().copied().enumerate().filter(|(p, _)| p % INNER_FOLDS != f).map(|(_, j)| j).collect();
                test.sort_unstable();
                inner.sort_unstable();
                let fit = fit_options
                    .map(|o| crate::irt::fit(&m.select(&inner, &all), o, &mut |_| true))
                    .transpose()
                    .map_err(|e| crate::error::Error::invalid(format!("the IRT fit on {} of the training models: {e}", inner.len())))?;
                let vectors = response_vectors.then(|| super::item_vectors(m, &inner));
                let anchor_space = anchors.then(|| super::anchor_space(m, &inner));
                Ok(Fold { train: inner, test, fit, vectors, anchor_space })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Guard { folds, truth: truth.composite.to_vec(), tasks: truth.tasks.cloned() }))
    }

    /// Cross-validates `options.method` against random subsets of the same
    /// budget and strata (see the module doc). `side` is the caller's; its
    /// response vectors, if any, are replaced by each fold's own.
    pub fn check(&self, m: &ResponseMatrix, side: Side, options: &SelectOptions) -> Result<GuardReport> {
        let random = fallback_options(options);
        // Callers keep the method's subset when this fails; say which part.
        let select = |ctx: &Context, o: &SelectOptions| {
            super::select(ctx, o).map_err(|e| crate::error::Error::invalid(format!("on {} of the training models: {e}", ctx.train.len())))
        };
        // Per estimator, per held-out model (folds in turn): the method's
        // absolute error, and random's averaged over its draws.
        let mut method_errors: PerModel = Default::default();
        let mut random_errors: PerModel = Default::default();
        // The half-width ridge claimed on the method's subset, per fold.
        let mut claimed: Vec<f64> = Vec::new();
        for fold in &self.folds {
            let mut side = side;
            if let Some(v) = &fold.vectors {
                side.vectors = Some(v);
            }
            // p-IRT only for methods that fit IRT anyway, so that `select`
            // and `evaluate` (which may fit for other methods) agree.
            let fit = if options.method.needs_irt() { fold.fit.as_ref() } else { None };
            let ctx = Context { matrix: m, train: &fold.train, fit, anchor_space: fold.anchor_space.as_ref(), side, target: Some(&self.truth) };
            let subset = select(&ctx, &SelectOptions { seed: GUARD_SEED, ..options.clone() })?;
            let (errors, half_width) = self.errors(m, fold, fit, &subset.items, &subset.weights);
            claimed.extend(half_width);
            for (all, e) in method_errors.iter_mut().zip(errors) {
                all.extend(e);
            }
            // Per estimator and held-out model: the summed error over the
            // draws that estimated it, and how many did.
            let mut sums: [Vec<(f64, usize)>; ESTIMATORS.len()] = Default::default();
            for draw in 1..=RANDOM_DRAWS {
                let subset = select(&ctx, &SelectOptions { seed: GUARD_SEED + draw, ..random.clone() })?;
                for (sum, e) in sums.iter_mut().zip(self.errors(m, fold, fit, &subset.items, &subset.weights).0) {
                    sum.resize(e.len(), (0.0, 0));
                    for (s, x) in sum.iter_mut().zip(e) {
                        if let Some(x) = x {
                            *s = (s.0 + x, s.1 + 1);
                        }
                    }
                }
            }
            for (all, sum) in random_errors.iter_mut().zip(sums) {
                all.extend(sum.into_iter().map(|(s, n)| (n > 0).then(|| s / n as f64)));
            }
        }
        let (method_best, random_best) = (best(&method_errors), best(&random_errors));
        // Paired over the models both estimated: fall back only where random
        // is better by more than FALL_BACK_Z standard errors of the mean
        // difference, so that noise in a few folds rarely discards a method
        // that wins.
        let fell_back = match (method_best, random_best) {
            (None, Some(_)) => true,
            (Some((a, _)), Some((b, _))) => {
                let differences: Vec<f64> = method_errors[a].iter().zip(&random_errors[b]).filter_map(|(x, y)| Some((*x)? - (*y)?)).collect();
                let n = differences.len() as f64;
                if differences.len() < 2 {
                    false
                } else {
                    let mean = differences.iter().sum::<f64>() / n;
                    let var = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0);
                    mean > FALL_BACK_Z * (var / n).sqrt()
                }
            }
            _ => false,
        };
        let (method_error, random_error) = (method_best.map(|b| b.1), random_best.map(|b| b.1));
        // Only where ridge claimed a width on every fold, so that the ratio
        // compares like with like.
        let ridge_index = ESTIMATORS.iter().position(|&e| e == Estimator::Ridge).expect("ridge is scored");
        let held_out: Vec<(f64, f64)> = method_errors[ridge_index].iter().flatten().map(|&e| (e, 0.0)).collect();
        let ridge_interval_ratio = match estimate::calibrate_interval_floor(&held_out) {
            Some(q) if claimed.len() == self.folds.len() => {
                let mean = claimed.iter().sum::<f64>() / claimed.len() as f64;
                (mean > 0.0).then(|| q / mean)
            }
            _ => None,
        };
        Ok(GuardReport { method_error, random_error, fell_back, ridge_interval_ratio })
    }

    /// Per estimator of [`ESTIMATORS`], the absolute error on each of the
    /// fold's held-out models (`None`: not estimated; the IRT ones need
    /// `fit`), and the half-width of ridge's interval (when it was fitted).
    fn errors(&self, m: &ResponseMatrix, fold: &Fold, fit: Option<&IrtFit>, items: &[usize], weights: &[f64]) -> (PerModel, Option<f64>) {
        let responses = |j: usize| estimate::responses_on(m, j, items);
        let view = SubsetView { items, weights, n_items: m.n_items(), fit };
        let training = Training { matrix: m, models: &fold.train, truth: &self.truth, tasks: self.tasks.as_ref() };
        // λ and ridge from at most MAX_MODELS training models (`evaluate` takes 200, and ridge as `select` does).
        let calibration = Calibration::fit(view, &training, &ESTIMATORS, &[], Caps { lambda: MAX_MODELS, ridge: MAX_MODELS, ..Caps::ALL });
        let setup = calibration.setup(view, None);
        let lambda = setup.lambda.unwrap_or(0.5).clamp(0.0, 1.0);
        let mut out: PerModel = Default::default();
        for &j in fold.test.iter().step_by(fold.test.len().div_ceil(MAX_MODELS).max(1)) {
            let r = responses(j);
            let error = |x: Option<f64>| x.map(|x| (x - self.truth[j]).abs());
            let line = |e: Estimator| estimate::estimate(&setup, e, &r).ok().map(|x| x.estimate);
            out[0].push(error(setup.calibration.and_then(|_| line(Estimator::Calibrated))));
            out[1].push(error(setup.ridge.and_then(|_| line(Estimator::Ridge))));
            // gp-IRT is λ·weighted + (1 − λ)·p-IRT (as `estimate` mixes
            // them): made from the two estimates instead of a second MAP fit.
            let (pirt, gpirt) = match setup.fit {
                Some(_) => {
                    let p = estimate::point(&setup, Estimator::Pirt, &r).ok().map(|x| x.0);
                    let w = estimate::point(&setup, Estimator::Weighted, &r).ok().map(|x| x.0);
                    (p, p.zip(w).map(|(p, w)| lambda * w + (1.0 - lambda) * p))
                }
                None => (None, None),
            };
            out[2].push(error(pirt));
            out[3].push(error(gpirt));
        }
        // The width of what ridge estimates: the tasks' composite when it
        // was fitted per task, else the one fit.
        let claimed = match &calibration.task_ridges {
            Some(t) => Some(t.half_width),
            None => calibration.ridge.as_ref().map(|r| r.half_width),
        };
        (out, claimed)
    }
}

/// The estimators the guard scores every subset by: those trained on the
/// training models for any subset, and with an IRT fit p-IRT and gp-IRT;
/// each side is judged by its best (as `evaluate` reports a method's best).
const ESTIMATORS: [Estimator; 4] = [Estimator::Calibrated, Estimator::Ridge, Estimator::Pirt, Estimator::Gpirt];

/// Per estimator, the absolute error on each held-out model in turn.
type PerModel = [Vec<Option<f64>>; ESTIMATORS.len()];

/// The estimator with the smallest mean error over the models it
/// estimated, and that error (`None` when none estimated any).
fn best(errors: &PerModel) -> Option<(usize, f64)> {
    errors
        .iter()
        .enumerate()
        .filter_map(|(e, xs)| {
            let seen: Vec<f64> = xs.iter().flatten().copied().collect();
            (!seen.is_empty()).then(|| (e, seen.iter().sum::<f64>() / seen.len() as f64))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irt::item::sigmoid;
    use crate::matrix::MatrixBuilder;
    use crate::select::Budget;
    use crate::select::subset::select_subset;

    /// 60 models × 200 binary items from `p(θ₁, θ₂, item)`, abilities
    /// independent standard normal.
    fn matrix(p: impl Fn(f64, f64, usize) -> f64) -> ResponseMatrix {
        let mut rng = Rng::new(17);
        let mut b = MatrixBuilder::new((0..200).map(|i| format!("q{i}")).collect());
        for j in 0..60 {
            let (t1, t2) = (rng.normal(), rng.normal());
            let row: Vec<Option<f32>> = (0..200).map(|i| Some(if rng.uniform() < p(t1, t2, i) { 1.0 } else { 0.0 })).collect();
            b.push_row_unchecked(format!("m{j}"), &row);
        }
        b.into_matrix()
    }

    fn options(method: Method, budget: usize, seed: u64) -> SelectOptions {
        SelectOptions { method, budget: Budget::Items(budget), seed, stratify: false, difficulty_strata: 0, guard: true }
    }

    #[test]
    fn a_subset_blind_to_half_the_benchmark_falls_back_to_random() {
        // The hard half measures θ₁, the easy half θ₂; metric-avg takes the
        // hardest items, so its subset knows nothing of θ₂, on which half of
        // every model's score depends. Random subsets see both halves.
        let m = matrix(|t1, t2, i| if i < 100 { sigmoid(2.0 * t1 - 1.5) } else { sigmoid(2.0 * t2 + 1.5) });
        let train: Vec<usize> = (0..60).collect();
        let subset = select_subset(&m, &train, &options(Method::MetricAvg, 60, 5), crate::irt::IrtModel::TwoPl).unwrap();
        let report = subset.guard.expect("the guard ran");
        assert!(report.fell_back, "{report:?}");
        assert!(report.method_error.unwrap() > 1.5 * report.random_error.unwrap(), "{report:?}");
        // The subset is random: both halves are in it.
        let hard = subset.items.iter().filter(|id| id[1..].parse::<usize>().unwrap() < 100).count();
        assert!((15..=45).contains(&hard), "{hard} of 60 from the hard half");
        // Without the guard: metric-avg's own subset, all from the hard half.
        let own = select_subset(&m, &train, &SelectOptions { guard: false, ..options(Method::MetricAvg, 60, 5) }, crate::irt::IrtModel::TwoPl).unwrap();
        assert!(own.guard.is_none());
        assert!(own.items.iter().all(|id| id[1..].parse::<usize>().unwrap() < 100));
    }

    #[test]
    fn a_subset_that_finds_the_informative_items_is_kept() {
        // 50 items measure θ₁ sharply; 150 are coin flips. metric-cons takes
        // the items that order models as their totals do: the informative
        // ones, which a random subset of 20 mostly misses.
        let m = matrix(|t1, _, i| if i < 50 { sigmoid(3.0 * t1 - (i as f64 - 25.0) / 12.0) } else { 0.5 });
        let train: Vec<usize> = (0..60).collect();
        let report =
            |seed| select_subset(&m, &train, &options(Method::MetricCons, 20, seed), crate::irt::IrtModel::TwoPl).unwrap().guard.expect("the guard ran");
        let first = report(1);
        assert!(!first.fell_back, "{first:?}");
        assert!(first.method_error.unwrap() < first.random_error.unwrap(), "{first:?}");
        // The decision is the data's, not the seed's.
        assert_eq!(report(2), first);
    }

    #[test]
    fn a_guard_that_cannot_fit_a_part_of_the_models_leaves_the_method_and_says_why() {
        // Only m8 ever misses an item: every fold that holds m8 out has no
        // item that varies, so its IRT fit is refused, while the fit on all
        // nine models (and so irt-info itself) works.
        let mut b = MatrixBuilder::new((0..20).map(|i| format!("q{i}")).collect());
        for j in 0..9 {
            let row: Vec<Option<f32>> = (0..20).map(|i| Some(if j == 8 && i % 2 == 0 { 0.0 } else { 1.0 })).collect();
            b.push_row_unchecked(format!("m{j}"), &row);
        }
        let m = b.into_matrix();
        let train: Vec<usize> = (0..9).collect();
        let subset = select_subset(&m, &train, &options(Method::IrtInfo, 5, 0), crate::irt::IrtModel::TwoPl).unwrap();
        assert!(subset.guard.is_none());
        let why = subset.guard_skipped.expect("the guard says why it did not run");
        assert!(why.contains("IRT fit on 6 of the training models"), "{why}");
        assert_eq!(subset.items.len(), 5);
    }

    #[test]
    fn ridge_intervals_widen_by_the_optimism_the_guard_measured() {
        // forward-selection picks the items that best predict the training
        // models' scores, so on them its leave-one-out errors understate
        // what it makes on new models; the guard's folds measure by how much.
        let m = matrix(|t1, _, i| if i < 50 { sigmoid(3.0 * t1 - (i as f64 - 25.0) / 12.0) } else { 0.5 });
        let train: Vec<usize> = (0..60).collect();
        let guarded = select_subset(&m, &train, &options(Method::ForwardSelection, 30, 3), crate::irt::IrtModel::TwoPl).unwrap();
        let report = guarded.guard.expect("the guard ran");
        let ratio = report.ridge_interval_ratio.expect("ridge was fitted on every fold");
        assert!(ratio > 1.0, "{report:?}");
        let plain =
            select_subset(&m, &train, &SelectOptions { guard: false, ..options(Method::ForwardSelection, 30, 3) }, crate::irt::IrtModel::TwoPl).unwrap();
        let (widened, claimed) = (guarded.ridge.unwrap().half_width, plain.ridge.unwrap().half_width);
        // forward-selection finds the 50 informative items here: its subset stands, widened.
        assert!(!report.fell_back, "{report:?}");
        assert_eq!(guarded.items, plain.items);
        assert!((widened - claimed * ratio).abs() < 1e-12, "{widened} against {claimed} × {ratio}");
        // A random subset (what a fallback is) is a sample: never widened.
        assert_eq!(GuardReport { fell_back: true, ..report }.interval_scale(), 1.0);
        assert_eq!(GuardReport { ridge_interval_ratio: Some(0.8), fell_back: false, ..report }.interval_scale(), 1.0);
    }

    #[test]
    fn the_guard_skips_samples_and_too_few_models() {
        let m = matrix(|t1, _, _| sigmoid(t1));
        let all: Vec<usize> = (0..60).collect();
        let random = select_subset(&m, &all, &options(Method::Random, 20, 0), crate::irt::IrtModel::TwoPl).unwrap();
        assert!(random.guard.is_none());
        let few: Vec<usize> = (0..MIN_MODELS - 1).collect();
        let subset = select_subset(&m, &few, &options(Method::MetricVar, 20, 0), crate::irt::IrtModel::TwoPl).unwrap();
        assert!(subset.guard.is_none());
        assert!(Guard::new(&m, &few, Truth { composite: &m.model_means(), tasks: None }, None, false, false).unwrap().is_none());
    }
}
