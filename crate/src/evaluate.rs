//! Honest evaluation of subsets: hold models out, select on the rest,
//! estimate the held-out models' full scores from the subset alone, and
//! compare with their true scores — for every method, budget and seed, with
//! the random baseline at the same budget.
//!
//! Splits are by model: K-fold (every model is held out once per seed, so
//! rankings are compared over all models), a random held-out fraction, or the
//! newest N models by release date. True score = the model's mean over all
//! items, or a given score (`truth`) when the matrix holds only part of a
//! benchmark. Per method × estimator × budget: MAE and RMSE of the estimates,
//! Kendall τ-b and Spearman ρ of the ranking, pairwise accuracy, interval
//! coverage — each as a mean over seeds with a 95% Student-t interval — and
//! the minimum detectable difference pooled over seeds.

use serde::Serialize;

use crate::adaptive::{self, AdaptiveOptions, AdaptiveState, AdaptiveTest};
use crate::calibrate::{Calibration, Caps, SubsetView, TaskTruth, Training, Truth};
use crate::error::{Error, Result};
use crate::estimate::{self, Estimate, Estimator};
use crate::irt::scoring::ThetaEstimate;
use crate::irt::{self, FitOptions, IrtFit, IrtModel};
use crate::matrix::ResponseMatrix;
use crate::metrics::{self, MeanCi};
use crate::parallel;
use crate::rng::Rng;
use crate::select::{self, Budget, Context, Method, SelectOptions};
use crate::wire;

#[derive(Debug, Clone, PartialEq)]
pub enum Split {
    KFold(usize),
    /// A random fraction of the models held out (once per seed).
    Holdout(f64),
    /// The N newest models by release date held out; the rest train.
    Newest(usize),
}

#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    pub methods: Vec<Method>,
    pub budgets: Vec<usize>,
    pub split: Split,
    /// Seeds for seeded methods (the random baseline always gets ≥ 20).
    pub seeds: usize,
    pub irt: IrtModel,
    pub stratify: bool,
    /// Difficulty bins for every method but the random baseline, which
    /// stays the plain random sample a user compares against (see
    /// [`SelectOptions::difficulty_strata`]).
    pub difficulty_strata: usize,
    /// The random guard for every method it applies to (see
    /// [`select::guard`]): decided once per split and budget.
    pub guard: bool,
    /// A true score per model (in matrix order), replacing the row means;
    /// adds the `theta-reg` estimator to every method.
    pub truth: Option<Vec<f64>>,
    /// The true scores per task, when they came so (`truth` is then their
    /// composite): `ridge` is fitted per task and its rows report each
    /// task's error too.
    pub task_truth: Option<TaskTruth>,
    /// Metric scores, outputs and embeddings for the methods that use them.
    pub side: select::SideData,
    /// The `adaptive` method's stop rule besides the budgets: each replay
    /// also runs until θ's standard error is at most this, and
    /// [`Evaluation::adaptive_stops`] reports the items it took.
    pub adaptive_target_se: Option<f64>,
    /// The `adaptive` method's share of items drawn at random.
    pub adaptive_explore: Explore,
}

/// 10, 25, 50, 100, 200, 400 items; for sets under 400 items, 5–50% of them.
pub fn default_budgets(items: usize) -> Vec<usize> {
    if items >= 400 {
        vec![10, 25, 50, 100, 200, 400]
    } else {
        let mut b: Vec<usize> = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5].iter().map(|f| ((items as f64 * f).round() as usize).max(1)).collect();
        b.dedup();
        b
    }
}

/// Pairs per seed pooled for the minimum detectable difference.
const MDD_PAIRS_PER_SEED: usize = 50_000;

/// The random baseline always runs with at least this many seeds.
pub const RANDOM_SEEDS: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct Interval {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

impl From<MeanCi> for Interval {
    fn from(m: MeanCi) -> Self {
        Interval { mean: m.mean, low: m.low, high: m.high }
    }
}

impl Interval {
    /// The mean over seeds of a quantity that lives in [`lo`, `hi`] (a
    /// proportion, a correlation, an error), with its Student-t interval cut
    /// to that range: with few seeds the t interval of a coverage near 1
    /// reaches past 1, which no coverage can, and the intersection with the
    /// range a parameter can take covers it at least as often as the
    /// interval did.
    fn of_bounded(values: &[f64], lo: f64, hi: f64) -> Interval {
        let i = Interval::from(metrics::mean_ci(values, 0.95));
        // An undefined interval (no finite value) stays undefined.
        let cut = |v: f64, f: fn(f64, f64) -> f64, bound: f64| if v.is_nan() { v } else { f(v, bound) };
        Interval { low: cut(i.low, f64::max, lo), high: cut(i.high, f64::min, hi), ..i }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub method: &'static str,
    pub estimator: &'static str,
    pub budget: usize,
    pub seeds: usize,
    pub mae: Interval,
    pub rmse: Interval,
    pub kendall_tau: Interval,
    pub spearman: Interval,
    pub pairwise_accuracy: Interval,
    pub coverage: Interval,
    /// Smallest true-score gap ordered correctly 95% of the time (pooled).
    pub min_detectable_difference: f64,
    /// The share of splits where the random guard replaced the method's
    /// subset by a random one (absent where the guard did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard_fallbacks: Option<f64>,
    /// `ridge` with true scores per task: each task's mean absolute error
    /// and coverage (the row's own numbers are the composite's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskRow>>,
    /// `adaptive`: the share of items drawn at random (the mean over splits
    /// where cross-validation chose it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explore: Option<f64>,
}

/// One task's errors in a `ridge` row.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub task: String,
    pub mae: Interval,
    pub coverage: Interval,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub models: usize,
    pub items: usize,
    pub split: String,
    pub irt: &'static str,
    /// Difficulty bins every method but the random baseline selected in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty_strata: Option<usize>,
    pub results: Vec<Row>,
    /// The `adaptive` method stopped at a target SE of θ, per estimator.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adaptive_stops: Vec<StopRow>,
}

/// Held-out models' adaptive tests stopped at a target standard error of
/// θ: how many items they took and how good the estimate was then.
#[derive(Debug, Clone, Serialize)]
pub struct StopRow {
    pub estimator: &'static str,
    pub target_se: f64,
    pub models: usize,
    /// Mean items used, with its 95% interval over models.
    pub items_used: Interval,
    /// The share of models that reached the target (the rest ran out of items).
    pub reached: f64,
    pub mae: f64,
    pub rmse: f64,
    pub kendall_tau: f64,
    pub coverage: f64,
    /// The share of items drawn at random (the mean over splits).
    pub explore: f64,
}

/// The estimators reported for each method (plus `theta-reg` for every
/// method when true scores are given).
pub fn estimators_for(method: Method) -> &'static [Estimator] {
    match method {
        Method::Random => &[Estimator::Mean, Estimator::Pirt],
        Method::Stratified => &[Estimator::Weighted],
        Method::IrtInfo => &[Estimator::Irt],
        Method::IrtCluster => &[Estimator::Weighted, Estimator::Gpirt],
        Method::AnchorPoints => &[Estimator::Weighted, Estimator::Pirt],
        // subset2evaluate scores a subset by its mean; p-IRT corrects for
        // the items being chosen for difficulty or spread, not as a sample.
        Method::MetricAvg | Method::MetricVar | Method::MetricCons | Method::Diversity => &[Estimator::Mean, Estimator::Pirt],
        // Chosen so that the plain mean matches the full set's profile.
        Method::MetricBalance => &[Estimator::Mean, Estimator::Pirt],
        // Voronoi-cell weights make the weighted mean representative.
        Method::Kcenter | Method::Dpp => &[Estimator::Weighted, Estimator::Pirt],
        Method::Metabench => &[Estimator::Irt, Estimator::Pirt],
        // Chosen for a linear prediction: `ridge` (added to every method) is
        // its estimator; the mean is the baseline.
        Method::ForwardSelection => &[Estimator::Mean],
        // The full score at the test's θ (see `adaptive`).
        Method::Adaptive => &[Estimator::Pirt, Estimator::Irt],
    }
}

/// The estimators evaluated for `method`: its own, `calibrated` for every
/// method (the training models' line removes the bias of a subset that is
/// not a sample; see `estimate`), and `theta-reg` when true scores are given.
fn estimators_with(method: Method, has_truth: bool) -> Vec<Estimator> {
    let mut out = estimators_for(method).to_vec();
    // The subset estimators need one subset for every model; an adaptive
    // test's differ per model.
    if method != Method::Adaptive {
        out.extend([Estimator::Calibrated, Estimator::Ridge]);
    }
    if has_truth {
        out.push(Estimator::ThetaReg);
    }
    out
}

/// (train, test) model index sets, for one seed of the split.
fn splits(m: &ResponseMatrix, split: &Split, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    let n = m.n_models();
    match *split {
        Split::KFold(k) => {
            if k < 2 || k > n {
                return Err(Error::invalid(format!("{k} folds for {n} models: use between 2 and {n}")));
            }
            let mut order: Vec<usize> = (0..n).collect();
            Rng::new(seed ^ 0x5EED_F01D).shuffle(&mut order);
            Ok((0..k)
                .map(|f| {
                    let test: Vec<usize> = order.iter().copied().enumerate().filter(|(p, _)| p % k == f).map(|(_, j)| j).collect();
                    let train: Vec<usize> = order.iter().copied().enumerate().filter(|(p, _)| p % k != f).map(|(_, j)| j).collect();
                    (train, test)
                })
                .collect())
        }
        Split::Holdout(fraction) => {
            let held = ((n as f64 * fraction).round() as usize).clamp(1, n - 1);
            let mut order: Vec<usize> = (0..n).collect();
            Rng::new(seed ^ 0x5EED_F01D).shuffle(&mut order);
            Ok(vec![(order[held..].to_vec(), order[..held].to_vec())])
        }
        Split::Newest(count) => {
            let dates = &m.models().date;
            if dates.is_empty() || dates.iter().all(Option::is_none) {
                return Err(Error::invalid("a newest-models split needs release dates: give a models file with a date column"));
            }
            if count == 0 || count >= n {
                return Err(Error::invalid(format!("hold out between 1 and {} of the {n} models", n - 1)));
            }
            let mut order: Vec<usize> = (0..n).collect();
            // Newest first; undated models count as oldest.
            order.sort_by(|&a, &b| dates[b].cmp(&dates[a]).then(a.cmp(&b)));
            Ok(vec![(order[count..].to_vec(), order[..count].to_vec())])
        }
    }
}

#[derive(Clone)]
struct Outcome {
    model: usize,
    estimate: f64,
    low: f64,
    high: f64,
    /// Each task's (estimate, low, high), for ridge fitted per task.
    tasks: Vec<(f64, f64, f64)>,
}

/// What every (method, budget, seed) run on one split shares.
struct SplitRun<'a> {
    m: &'a ResponseMatrix,
    train: &'a [usize],
    test: &'a [usize],
    fit: Option<&'a IrtFit>,
    anchor_space: Option<&'a select::CorrelationSpace>,
    side: select::Side<'a>,
    truth: &'a [f64],
    tasks: Option<&'a TaskTruth>,
    has_truth: bool,
    stratify: bool,
    difficulty_strata: usize,
}

/// The most training models the calibration of each subset is fitted on in
/// an evaluation (each θ costs a MAP fit): 200 for the lines and λ, 100 for
/// the interval floors' 95% quantile; ridge as many as `select` gives it
/// ([`crate::estimate::RIDGE_MAX_MODELS`]), so that an evaluation measures
/// the fit a user gets. It was 250 for speed (its fit costs n·p² per penalty
/// past 64 models, and an evaluation fits thousands), which understated
/// ridge on leaderboards: forward-selection's 100 items erred by 1.43
/// points there against 1.29 with all 1,735 training models. The 4,348 ×
/// 1,075 grid at budgets 25–400, every default method and the guard, takes
/// 216 s on 2 cores.
const EVALUATE_CAPS: Caps = Caps { lines: 200, lambda: 200, floors: 100, ridge: crate::estimate::RIDGE_MAX_MODELS };

impl SplitRun<'_> {
    /// Everything one (method, budget, seed) produces: per estimator of
    /// [`estimators_with`], the test models' estimates.
    /// `guard` is the random guard's decision on this split, when it ran.
    fn run(&self, method: Method, budget: usize, seed: u64, guard: Option<&select::guard::GuardReport>) -> Result<Vec<Vec<Outcome>>> {
        let fell_back = guard.is_some_and(|g| g.fell_back);
        let m = self.m;
        let ctx = Context { matrix: m, train: self.train, fit: self.fit, anchor_space: self.anchor_space, side: self.side, target: Some(self.truth) };
        let difficulty_strata = if method == Method::Random { 0 } else { self.difficulty_strata };
        let asked = SelectOptions { method, budget: Budget::Items(budget), seed, stratify: self.stratify, difficulty_strata, guard: false };
        // A guarded method that fell back draws the guard's random subset.
        let subset = select::select(&ctx, &if fell_back { select::guard::fallback_options(&asked) } else { asked })?;
        let estimators = estimators_with(method, self.has_truth);
        let view = SubsetView { items: &subset.items, weights: &subset.weights, n_items: m.n_items(), fit: self.fit };
        let training = Training { matrix: m, models: self.train, truth: self.truth, tasks: self.tasks };
        let mut calibration = Calibration::fit(view, &training, &estimators, &estimators, EVALUATE_CAPS);
        // As `select` widens it (see GuardReport::interval_scale).
        if let Some(g) = guard {
            calibration.widen_ridge(g.interval_scale());
        }
        estimators
            .iter()
            .map(|&e| {
                // Without a fit or a line (too few training models) the
                // estimator is skipped: its rows are absent, not wrong.
                let no_line = match e {
                    Estimator::ThetaReg => calibration.theta_regression.is_none(),
                    Estimator::Calibrated => calibration.calibration.is_none(),
                    Estimator::Ridge => calibration.ridge.is_none(),
                    _ => false,
                };
                if (e.needs_irt() && self.fit.is_none()) || no_line {
                    return Ok(Vec::new());
                }
                let setup = calibration.setup(view, Some(e));
                Ok(self
                    .test
                    .iter()
                    .filter_map(|&j| {
                        let r = estimate::responses_on(m, j, &subset.items);
                        let (x, tasks) = match (e, setup.task_ridges) {
                            (Estimator::Ridge, Some(t)) => {
                                let (x, tasks) = t.predict(&setup, &r).ok()?;
                                (x, tasks.iter().map(|t| (t.estimate, t.low, t.high)).collect())
                            }
                            _ => (estimate::estimate(&setup, e, &r).ok()?, Vec::new()),
                        };
                        Some(Outcome { model: j, estimate: x.estimate, low: x.low, high: x.high, tasks })
                    })
                    .collect())
            })
            .collect()
    }
}

/// The models an evaluation replays through adaptive tests on one split:
/// its test models, then at most [`EVALUATE_CAPS`]`.lines` training models
/// (evenly spaced), whose errors give theta-reg's line and the intervals'
/// conformal floor.
fn adaptive_replays(train: &[usize], test: &[usize]) -> Vec<(usize, bool)> {
    let training = estimate::ridge_rows(train, EVALUATE_CAPS.lines);
    test.iter().map(|&j| (j, false)).chain(training.into_iter().map(|&j| (j, true))).collect()
}

/// The `adaptive` method's share of items drawn at random (see
/// [`AdaptiveOptions::explore`]): fixed, or chosen per split and budget by
/// cross-validation on the split's training models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Explore {
    Share(f64),
    Auto,
}

/// The shares `auto` chooses between: none (every item by information) and
/// half (every other item at random). Half measured best of 0.25 and 0.5 on
/// AlpacaEval, the one matrix where the fit's misfit dominates; the choice
/// itself is the cross-validation's, per split and budget.
const AUTO_SHARES: [f64; 2] = [0.0, 0.5];

/// One model replayed: per column (each budget, then the stop at the target
/// SE) its (pirt, irt) estimates; and at the stop, the items used and
/// whether the target was reached.
type Replayed = (Vec<(Estimate, Estimate)>, Option<(usize, bool)>);

/// Replays `models` (rows of `m`) through adaptive tests on `fit` (EAP, the
/// most informative item or, `explore` of the time, a random one; a cell a
/// model lacks is skipped) up to the largest budget and, with `target_se`,
/// until θ's SE reaches it.
fn replay_models(
    m: &ResponseMatrix,
    fit: &IrtFit,
    models: &[usize],
    budgets: &[usize],
    target_se: Option<f64>,
    explore: f64,
    after: &mut dyn FnMut(usize),
) -> Result<Vec<Replayed>> {
    let max_items = budgets.iter().copied().max().unwrap_or(1);
    // Where a test stops at the target SE: the first state that reaches it.
    let stop_at = |history: &[AdaptiveState]| target_se.map(|t| history.iter().position(|s| s.items_used > 0 && s.se <= t).unwrap_or(history.len() - 1));
    let replayed: Vec<Result<Replayed>> = map_reporting(
        models.len(),
        |r| {
            let j = models[r];
            let test = AdaptiveTest::new(fit, AdaptiveOptions { explore, ..AdaptiveOptions::default() }, None, &[])?;
            let done = |s: &AdaptiveState| s.items_used >= max_items && target_se.is_none_or(|t| s.se <= t);
            let test = adaptive::replay_until(test, |i| m.get(j, i).map(f64::from), done)?;
            let history = test.history();
            // The true score is the mean over the items the model has, so
            // the estimates are too (the same when it has every item).
            let has: Vec<bool> = (0..m.n_items()).map(|i| m.is_observed(j, i)).collect();
            let population = has.contains(&false).then_some(has.as_slice());
            let at = |k: usize| {
                let state = history[k.min(history.len() - 1)];
                let theta = ThetaEstimate { theta: state.theta, se: state.se };
                let answered = &test.answers()[..state.items_used];
                let explored = test.explored(state.items_used);
                let pirt = if population.is_none() { state.score } else { estimate::estimate_at_theta(fit, theta, answered, true, population, &explored) };
                (pirt, estimate::estimate_at_theta(fit, theta, answered, false, population, &[]))
            };
            let stop = stop_at(history);
            let mut rows: Vec<(Estimate, Estimate)> = budgets.iter().map(|&b| at(b)).collect();
            rows.extend(stop.map(at));
            Ok((rows, stop.map(|k| (history[k].items_used, target_se.is_some_and(|t| history[k].se <= t)))))
        },
        after,
    );
    replayed.into_iter().collect()
}

/// For `auto`: per column (each budget, then the stop), the index into
/// [`AUTO_SHARES`] whose pirt estimates erred least on a fifth of the
/// training models (at most 200, evenly spaced) replayed on a fit of the
/// other four fifths, so the choice sees models the fit did not (ties and
/// too few models: no random items).
fn choose_shares(run: &SplitRun, fit_options: &FitOptions, budgets: &[usize], target_se: Option<f64>, after: &mut dyn FnMut(usize)) -> Result<Vec<usize>> {
    let columns = budgets.len() + usize::from(target_se.is_some());
    let fifth: Vec<usize> = run.train.iter().copied().step_by(5).collect();
    let held: Vec<usize> = estimate::ridge_rows(&fifth, 200).into_iter().copied().collect();
    let rest: Vec<usize> = run.train.iter().copied().filter(|j| !fifth.contains(j)).collect();
    if held.len() < 5 || rest.len() < 10 {
        return Ok(vec![0; columns]);
    }
    let all: Vec<usize> = (0..run.m.n_items()).collect();
    let Ok(fit) = irt::fit(&run.m.select(&rest, &all), fit_options, &mut |_| true) else { return Ok(vec![0; columns]) };
    let mut errors = vec![vec![0.0; AUTO_SHARES.len()]; columns];
    for (k, &share) in AUTO_SHARES.iter().enumerate() {
        let replayed = replay_models(run.m, &fit, &held, budgets, target_se, share, &mut |n| after(k * held.len() + n))?;
        for (r, &j) in replayed.iter().zip(&held) {
            for (c, e) in errors.iter_mut().enumerate() {
                e[k] += (r.0[c].0.estimate - run.truth[j]).abs();
            }
        }
    }
    Ok(errors.iter().map(|e| (1..e.len()).fold(0, |best, k| if e[k] < e[best] { k } else { best })).collect())
}

/// The `adaptive` method on one split: every test model replayed through an
/// adaptive test on the split's fit (see [`replay_models`]), and its
/// estimates after each budget's number of items: `pirt` and `irt` at θ,
/// with the split-conformal floor of the training models' replayed errors
/// under their intervals (as the static methods' estimators get from their
/// training models), and with true scores `theta-reg`, the line of the truth
/// on the training replays' `irt` estimates. The training models were in the
/// fit, so their errors are a little optimistic, as the static methods' are.
/// Also, per estimator, each test model's outcome where its test reached
/// `target_se`, with the items it used and whether it reached it; and per
/// column the share of random items used.
fn adaptive_outcomes(
    run: &SplitRun,
    fit: &IrtFit,
    fit_options: &FitOptions,
    budgets: &[usize],
    target_se: Option<f64>,
    explore: Explore,
    after: &mut dyn FnMut(usize),
) -> Result<AdaptiveOutcomes> {
    let models = adaptive_replays(run.train, run.test);
    let rows: Vec<usize> = models.iter().map(|mm| mm.0).collect();
    let columns = budgets.len() + usize::from(target_se.is_some());
    let (shares, chosen): (Vec<f64>, Vec<usize>) = match explore {
        Explore::Share(e) => (vec![e], vec![0; columns]),
        Explore::Auto => (AUTO_SHARES.to_vec(), choose_shares(run, fit_options, budgets, target_se, after)?),
    };
    let offset = if shares.len() > 1 { AUTO_SHARES.len() * adaptive_inner_replays(run.train) } else { 0 };
    let mut replays: Vec<Option<Vec<Replayed>>> = vec![None; shares.len()];
    for (k, &share) in shares.iter().enumerate() {
        if chosen.contains(&k) {
            replays[k] = Some(replay_models(run.m, fit, &rows, budgets, target_se, share, &mut |n| after(offset + k * rows.len() + n))?);
        }
    }
    let mut out = AdaptiveOutcomes::default();
    for b in 0..columns {
        let replayed = replays[chosen[b]].as_ref().expect("replayed for the share chosen");
        out.shares.push(shares[chosen[b]]);
        let training: Vec<(&(Estimate, Estimate), f64)> =
            models.iter().zip(replayed).filter(|(mm, _)| mm.1).map(|(mm, r)| (&r.0[b], run.truth[mm.0])).collect();
        let tested: Vec<(usize, &(Estimate, Estimate))> = models.iter().zip(replayed).filter(|(mm, _)| !mm.1).map(|(mm, r)| (mm.0, &r.0[b])).collect();
        let widened = |e: Estimate, floor: Option<f64>, j: usize| {
            let half = ((e.high - e.low) / 2.0).max(floor.unwrap_or(0.0));
            // As `estimate` keeps a [0, 1] score's interval there.
            let unit = fit.scale.is_none_or(|s| s == crate::irt::Scale::Identity);
            let (low, high) = (e.estimate - half, e.estimate + half);
            Outcome {
                model: j,
                estimate: e.estimate,
                low: if unit { low.max(0.0) } else { low },
                high: if unit { high.min(1.0) } else { high },
                tasks: Vec::new(),
            }
        };
        for (e, pick) in [(Estimator::Pirt, 0usize), (Estimator::Irt, 1)] {
            let value = |r: &(Estimate, Estimate)| if pick == 0 { r.0 } else { r.1 };
            let floor = estimate::calibrate_interval_floor(&training.iter().map(|(r, t)| (value(r).estimate, *t)).collect::<Vec<_>>());
            let outs: Vec<Outcome> = tested.iter().map(|&(j, r)| widened(value(r), floor, j)).collect();
            if b < budgets.len() {
                out.budgets.push((e, budgets[b], outs));
            } else {
                let stops = models.iter().zip(replayed).filter(|(mm, _)| !mm.1).map(|(_, r)| r.1.expect("a stop column"));
                out.stops.push((e, outs.into_iter().zip(stops).map(|(outcome, (items_used, reached))| Stopped { outcome, items_used, reached }).collect()));
            }
        }
        if run.has_truth && b < budgets.len() {
            let rows: Vec<(f64, f64)> = training.iter().map(|(r, t)| (r.1.estimate, *t)).collect();
            if let Some(line) = estimate::calibrate_regression(&rows) {
                let outs = tested
                    .iter()
                    .filter_map(|&(j, r)| {
                        let e = line.predict(r.1.estimate).ok()?;
                        Some(Outcome { model: j, estimate: e.estimate, low: e.low, high: e.high, tasks: Vec::new() })
                    })
                    .collect();
                out.budgets.push((Estimator::ThetaReg, budgets[b], outs));
            }
        }
    }
    Ok(out)
}

/// How many training models [`choose_shares`] replays per share.
fn adaptive_inner_replays(train: &[usize]) -> usize {
    train.len().div_ceil(5).min(200)
}

/// What [`adaptive_outcomes`] gives for one split.
#[derive(Default)]
struct AdaptiveOutcomes {
    /// Per column (each budget, then the stop), the share of random items.
    shares: Vec<f64>,
    /// Per (estimator, budget), the test models' outcomes.
    budgets: Vec<(Estimator, usize, Vec<Outcome>)>,
    /// Per estimator, each test model's outcome at the target SE.
    stops: Vec<(Estimator, Vec<Stopped>)>,
}

/// A held-out model's adaptive test where it reached the target SE (or ran
/// out of items).
struct Stopped {
    outcome: Outcome,
    items_used: usize,
    reached: bool,
}

/// The rows of [`Evaluation::adaptive_stops`] from every split's stops.
fn summarise_stops(target_se: f64, stops: &[(Estimator, Vec<Stopped>)], truth: &[f64]) -> Vec<StopRow> {
    let mut estimators: Vec<Estimator> = Vec::new();
    for &(e, _) in stops {
        if !estimators.contains(&e) {
            estimators.push(e);
        }
    }
    estimators
        .into_iter()
        .map(|e| {
            let all: Vec<&Stopped> = stops.iter().filter(|s| s.0 == e).flat_map(|s| &s.1).collect();
            let est: Vec<f64> = all.iter().map(|o| o.outcome.estimate).collect();
            let tru: Vec<f64> = all.iter().map(|o| truth[o.outcome.model]).collect();
            let low: Vec<f64> = all.iter().map(|o| o.outcome.low).collect();
            let high: Vec<f64> = all.iter().map(|o| o.outcome.high).collect();
            let items: Vec<f64> = all.iter().map(|o| o.items_used as f64).collect();
            StopRow {
                estimator: e.as_str(),
                target_se,
                models: all.len(),
                items_used: Interval::of_bounded(&items, 0.0, f64::INFINITY),
                reached: all.iter().filter(|o| o.reached).count() as f64 / all.len().max(1) as f64,
                mae: metrics::mae(&est, &tru),
                rmse: metrics::rmse(&est, &tru),
                kendall_tau: metrics::kendall_tau_b(&est, &tru),
                coverage: metrics::coverage(&tru, &low, &high),
                explore: 0.0,
            }
        })
        .collect()
}

/// How far an evaluation has got: `splits_done` of `splits` splits, and of
/// the one under way `steps_done` of its `steps` (its random-guard decisions
/// and its (method, budget, seed) selections, in batches of a few).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub splits_done: usize,
    pub splits: usize,
    pub steps_done: usize,
    pub steps: usize,
}

impl Progress {
    /// The share of the whole evaluation done, in [0, 1].
    pub fn fraction(&self) -> f64 {
        let within = if self.steps == 0 { 0.0 } else { self.steps_done as f64 / self.steps as f64 };
        ((self.splits_done as f64 + within) / self.splits.max(1) as f64).min(1.0)
    }
}

/// Steps run between two progress reports: as many as there are threads,
/// so that on one thread (wasm) every selection reports, and natively the
/// cores stay busy (the steps of a batch are one method and budget's seeds,
/// which take about as long).
fn batch_len() -> usize {
    2 * parallel::threads()
}

/// `f(i)` for i in 0..n in parallel, in batches of [`batch_len`], calling
/// `after(done)` after each; results in order.
fn map_reporting<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync, after: &mut dyn FnMut(usize)) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    let batch = batch_len();
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        out.extend(parallel::map(end - start, |k| f(start + k)));
        after(end);
        start = end;
    }
    out
}

/// What every split of an evaluation shares: the true scores, the methods
/// (random first), the (method, estimator, budget) keys and the splits.
struct Plan {
    truth: Vec<f64>,
    methods: Vec<Method>,
    has_truth: bool,
    needs_irt: bool,
    keys: Vec<(Method, Estimator, usize)>,
    /// (split seed, training models, test models) per split.
    folds: Vec<(u64, Vec<usize>, Vec<usize>)>,
}

/// Seeds `method` runs per split: random at least [`RANDOM_SEEDS`]; a
/// guarded method may draw a random subset, so it runs every seed too (a
/// deterministic one computes its own subset once per split; see
/// [`run_split`]).
fn seeds_for(options: &EvaluateOptions, method: Method) -> usize {
    match method {
        Method::Random => options.seeds.max(RANDOM_SEEDS),
        m if m.is_seeded() || (options.guard && select::guard::applies_to(m)) => options.seeds.max(1),
        _ => 1,
    }
}

impl Plan {
    fn new(m: &ResponseMatrix, options: &EvaluateOptions) -> Result<Plan> {
        if options.budgets.is_empty() || options.methods.is_empty() {
            return Err(Error::invalid("give at least one method and one budget"));
        }
        if let Some(&b) = options.budgets.iter().find(|&&b| b == 0 || b > m.n_items()) {
            return Err(Error::invalid(format!("budget {b} is not between 1 and the {} items", m.n_items())));
        }
        let truth: Vec<f64> = match &options.truth {
            Some(t) if t.len() == m.n_models() => t.clone(),
            Some(t) => return Err(Error::invalid(format!("{} true scores for {} models", t.len(), m.n_models()))),
            None => m.model_means(),
        };
        let task_truth = options.task_truth.as_ref();
        if task_truth.is_some_and(|t| options.truth.is_none() || t.scores.iter().any(|s| s.len() != m.n_models())) {
            return Err(Error::invalid("task scores need a composite and one score per model for every task"));
        }
        let mut methods = options.methods.clone();
        if !methods.contains(&Method::Random) {
            methods.insert(0, Method::Random);
        }
        let has_truth = options.truth.is_some();
        let needs_irt = methods.iter().any(|m| m.needs_irt() || estimators_with(*m, has_truth).iter().any(|e| e.needs_irt()));
        let max_seeds = methods.iter().map(|&mm| seeds_for(options, mm)).max().unwrap_or(1);
        // One row of the result per (method, estimator, budget).
        let keys: Vec<(Method, Estimator, usize)> = methods
            .iter()
            .flat_map(|&mm| estimators_with(mm, has_truth).into_iter().flat_map(move |e| options.budgets.iter().map(move |&b| (mm, e, b))))
            .collect();
        // A fixed split for K-fold (every seed sees the same folds); a new
        // holdout per seed otherwise.
        let split_seeds: Vec<u64> = match options.split {
            Split::Holdout(_) => (0..max_seeds as u64).collect(),
            _ => vec![0],
        };
        let mut folds: Vec<(u64, Vec<usize>, Vec<usize>)> = Vec::new();
        for &s in &split_seeds {
            for (train, test) in splits(m, &options.split, s)? {
                folds.push((s, train, test));
            }
        }
        Ok(Plan { truth, methods, has_truth, needs_irt, keys, folds })
    }
}

/// Runs the whole evaluation, calling `progress` as each batch of steps
/// and each split ends.
pub fn evaluate(m: &ResponseMatrix, options: &EvaluateOptions, progress: &mut dyn FnMut(Progress)) -> Result<Evaluation> {
    let plan = Plan::new(m, options)?;
    let total = plan.folds.len();
    let mut splits = Vec::with_capacity(total);
    for done in 0..total {
        splits.push(run_split(m, options, &plan, done, progress)?);
        progress(Progress { splits_done: done + 1, splits: total, steps_done: 0, steps: 0 });
    }
    Ok(finish(m, options, &plan, splits))
}

/// One split's contribution to an evaluation, in the order [`finish`]
/// applies it: splits are independent, so they can run anywhere (a pool of
/// workers, [`evaluate_split`]) and still add up to [`evaluate`]'s result.
#[derive(Default)]
struct SplitOutcomes {
    /// (key, seed, the test models' outcomes), appended in this order.
    appended: Vec<(usize, usize, Vec<Outcome>)>,
    /// (method, budget, whether it fell back) per guard decision made.
    guard: Vec<(Method, usize, bool)>,
    /// (budget, the adaptive method's share of random items).
    explore: Vec<(usize, f64)>,
    /// The adaptive method's share of random items at the stop.
    stop_share: Option<f64>,
    stops: Vec<(Estimator, Vec<Stopped>)>,
}

/// Split `done` of the plan: its fit, guard decisions and every (method,
/// budget, seed), calling `progress` after each batch of steps.
fn run_split(m: &ResponseMatrix, options: &EvaluateOptions, plan: &Plan, done: usize, progress: &mut dyn FnMut(Progress)) -> Result<SplitOutcomes> {
    let Plan { truth, methods, has_truth, needs_irt, keys, folds } = plan;
    let (truth, has_truth, needs_irt) = (&truth[..], *has_truth, *needs_irt);
    let (split_seed, train, test) = &folds[done];
    let total = folds.len();
    let task_truth = options.task_truth.as_ref();
    let all_items: Vec<usize> = (0..m.n_items()).collect();
    let seeds_for = |method: Method| seeds_for(options, method);
    let mut out = SplitOutcomes::default();
    let fit = if needs_irt {
        let fit_options = FitOptions { model: options.irt, tolerance: crate::select::SELECTION_FIT_TOLERANCE, ..FitOptions::default() };
        Some(irt::fit(&m.select(train, &all_items), &fit_options, &mut |_| true)?)
    } else {
        None
    };
    let anchors = methods.contains(&Method::AnchorPoints).then(|| select::anchor_space(m, train));
    // kcenter/dpp vectors without embeddings depend on the split: once per fold.
    let fold_vectors =
        (options.side.embeddings.is_none() && methods.iter().any(|mm| matches!(mm, Method::Kcenter | Method::Dpp))).then(|| select::item_vectors(m, train));
    let mut side = options.side.side();
    if let Some(v) = &fold_vectors {
        side.vectors = Some(v);
    }
    // Seeds of a holdout split are the split's own seed.
    let seed_range = |method: Method| -> Vec<u64> {
        match options.split {
            Split::Holdout(_) => {
                if (*split_seed as usize) < seeds_for(method) {
                    vec![*split_seed]
                } else {
                    Vec::new()
                }
            }
            _ => (0..seeds_for(method) as u64).collect(),
        }
    };
    // The random guard: one decision per (method, budget) on this
    // split, from folds of its training models (see select::guard).
    let guarded: Vec<(Method, usize)> = if options.guard {
        // Only methods that run on this split (a holdout split runs a
        // method only for its first seeds).
        methods
            .iter()
            .filter(|&&mm| select::guard::applies_to(mm) && !seed_range(mm).is_empty())
            .flat_map(|&mm| options.budgets.iter().map(move |&b| (mm, b)))
            .collect()
    } else {
        Vec::new()
    };
    let guard = if guarded.is_empty() {
        None
    } else {
        let fit_options = guarded.iter().any(|(mm, _)| mm.needs_irt()).then(|| FitOptions {
            model: options.irt,
            tolerance: crate::select::SELECTION_FIT_TOLERANCE,
            ..FitOptions::default()
        });
        // Where the guard cannot run on this split (a fit on part of the
        // models fails), the methods stand and the split is not counted.
        select::guard::Guard::new(
            m,
            train,
            Truth { composite: truth, tasks: task_truth },
            fit_options.as_ref(),
            fold_vectors.is_some(),
            guarded.iter().any(|(mm, _)| *mm == Method::AnchorPoints),
        )
        .ok()
        .flatten()
    };
    // Steps of this split: its guard decisions, then at most every
    // (method, budget, seed) (fewer when seeds are copied, see below).
    let replays = if methods.contains(&Method::Adaptive) && fit.is_some() {
        match options.adaptive_explore {
            Explore::Share(_) => adaptive_replays(train, test).len(),
            Explore::Auto => AUTO_SHARES.len() * (adaptive_replays(train, test).len() + adaptive_inner_replays(train)),
        }
    } else {
        0
    };
    let steps =
        guarded.len() + methods.iter().filter(|&&mm| mm != Method::Adaptive).map(|&mm| options.budgets.len() * seed_range(mm).len()).sum::<usize>() + replays;
    let mut report_step = |steps_done: usize| progress(Progress { splits_done: done, splits: total, steps_done, steps });
    let decisions: Vec<Option<select::guard::GuardReport>> = match &guard {
        None => vec![None; guarded.len()],
        Some(g) => map_reporting(
            guarded.len(),
            |t| {
                let (method, budget) = guarded[t];
                let guard_options = SelectOptions {
                    method,
                    budget: Budget::Items(budget),
                    seed: 0,
                    stratify: options.stratify,
                    difficulty_strata: options.difficulty_strata,
                    guard: true,
                };
                g.check(m, side, &guard_options).ok()
            },
            &mut report_step,
        ),
    };
    let report = |method: Method, budget: usize| guarded.iter().position(|&k| k == (method, budget)).and_then(|p| decisions[p].as_ref());
    let fell_back = |method: Method, budget: usize| report(method, budget).map(|r| r.fell_back);
    for (&(method, budget), decision) in guarded.iter().zip(&decisions) {
        if let Some(d) = decision {
            out.guard.push((method, budget, d.fell_back));
        }
    }
    // A deterministic method that kept its subset gives the same outcomes
    // for every seed of a split: run its first seed, copy the rest.
    let copied = |method: Method, budget: usize| !method.is_seeded() && fell_back(method, budget) != Some(true) && !matches!(options.split, Split::Holdout(_));
    let tasks: Vec<(Method, usize, u64)> = methods
        .iter()
        .flat_map(|&mm| options.budgets.iter().flat_map(move |&b| seed_range(mm).into_iter().map(move |s| (mm, b, s))))
        .filter(|&(mm, b, s)| mm != Method::Adaptive && (s == 0 || !copied(mm, b)))
        .collect();
    let run = SplitRun {
        m,
        train,
        test,
        fit: fit.as_ref(),
        anchor_space: anchors.as_ref(),
        side,
        truth,
        tasks: task_truth,
        has_truth,
        stratify: options.stratify,
        difficulty_strata: options.difficulty_strata,
    };
    let decided = guarded.len();
    let results: Vec<Result<Vec<Vec<Outcome>>>> = map_reporting(
        tasks.len(),
        |t| {
            let (method, budget, seed) = tasks[t];
            run.run(method, budget, seed, report(method, budget))
        },
        &mut |n| report_step(decided + n),
    );
    let ran = decided + tasks.len();
    if replays > 0 {
        let fit = fit.as_ref().expect("replays need the fit");
        let fit_options = FitOptions { model: options.irt, tolerance: crate::select::SELECTION_FIT_TOLERANCE, ..FitOptions::default() };
        let adaptive =
            adaptive_outcomes(&run, fit, &fit_options, &options.budgets, options.adaptive_target_se, options.adaptive_explore, &mut |n| report_step(ran + n))?;
        for (e, budget, outs) in adaptive.budgets {
            let key = keys.iter().position(|k| *k == (Method::Adaptive, e, budget)).expect("key exists");
            out.appended.push((key, 0, outs));
        }
        for (share, &budget) in adaptive.shares.iter().zip(&options.budgets) {
            out.explore.push((budget, *share));
        }
        out.stop_share = adaptive.shares.get(options.budgets.len()).copied();
        out.stops = adaptive.stops;
    }
    for ((method, budget, seed), result) in tasks.into_iter().zip(results) {
        let per_estimator = result?;
        for (e, outs) in estimators_with(method, has_truth).into_iter().zip(per_estimator) {
            let key = keys.iter().position(|k| *k == (method, e, budget)).expect("key exists");
            if seed == 0 && copied(method, budget) {
                for other in 1..seeds_for(method) {
                    out.appended.push((key, other, outs.clone()));
                }
            }
            out.appended.push((key, seed as usize, outs));
        }
    }
    Ok(out)
}

/// How many splits `evaluate` runs on `m` (each one a job that
/// [`evaluate_split`] can run on its own, e.g. in a worker).
pub fn split_count(m: &ResponseMatrix, options: &EvaluateOptions) -> Result<usize> {
    Ok(Plan::new(m, options)?.folds.len())
}

/// Split `split` of the evaluation alone, as a message for
/// [`evaluate_from_splits`]; `progress` as [`evaluate`] calls it within a split.
pub fn evaluate_split(m: &ResponseMatrix, options: &EvaluateOptions, split: usize, progress: &mut dyn FnMut(Progress)) -> Result<Vec<u8>> {
    let plan = Plan::new(m, options)?;
    if split >= plan.folds.len() {
        return Err(Error::invalid(format!("split {split} of an evaluation with {} splits", plan.folds.len())));
    }
    Ok(run_split(m, options, &plan, split, progress)?.encode())
}

/// The evaluation from every split's message ([`evaluate_split`]), in split
/// order: [`evaluate`]'s result to the bit, wherever the splits ran.
pub fn evaluate_from_splits(m: &ResponseMatrix, options: &EvaluateOptions, messages: &[Vec<u8>]) -> Result<Evaluation> {
    let plan = Plan::new(m, options)?;
    if messages.len() != plan.folds.len() {
        return Err(Error::invalid(format!("{} split results for an evaluation with {} splits", messages.len(), plan.folds.len())));
    }
    let splits = messages
        .iter()
        .enumerate()
        .map(|(k, bytes)| SplitOutcomes::decode(bytes, m, options, &plan).map_err(|e| Error::invalid(format!("the result of split {k}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(finish(m, options, &plan, splits))
}

/// The tag of a split's message (see `crate::wire`).
const SPLIT_TAG: &[u8; 4] = b"BSE1";

impl SplitOutcomes {
    fn encode(&self) -> Vec<u8> {
        let mut w = wire::Writer::new(SPLIT_TAG);
        let outcome = |w: &mut wire::Writer, o: &Outcome| {
            w.u32(o.model as u32);
            [o.estimate, o.low, o.high].iter().for_each(|&v| w.f64(v));
            w.u32(o.tasks.len() as u32);
            o.tasks.iter().for_each(|&(e, l, h)| [e, l, h].iter().for_each(|&v| w.f64(v)));
        };
        w.u32(self.appended.len() as u32);
        for (key, seed, outs) in &self.appended {
            w.u32(*key as u32);
            w.u32(*seed as u32);
            w.u32(outs.len() as u32);
            outs.iter().for_each(|o| outcome(&mut w, o));
        }
        w.u32(self.guard.len() as u32);
        for (method, budget, fell_back) in &self.guard {
            w.str(method.as_str());
            w.u32(*budget as u32);
            w.u8(*fell_back as u8);
        }
        w.u32(self.explore.len() as u32);
        for (budget, share) in &self.explore {
            w.u32(*budget as u32);
            w.f64(*share);
        }
        w.u8(self.stop_share.is_some() as u8);
        w.f64(self.stop_share.unwrap_or(0.0));
        w.u32(self.stops.len() as u32);
        for (estimator, stopped) in &self.stops {
            w.str(estimator.as_str());
            w.u32(stopped.len() as u32);
            for s in stopped {
                outcome(&mut w, &s.outcome);
                w.u32(s.items_used as u32);
                w.u8(s.reached as u8);
            }
        }
        w.into_bytes()
    }

    /// Reads [`SplitOutcomes::encode`]'s message, checking every index
    /// against the plan it must belong to.
    fn decode(bytes: &[u8], m: &ResponseMatrix, options: &EvaluateOptions, plan: &Plan) -> std::result::Result<SplitOutcomes, String> {
        let mut r = wire::Reader::new(bytes, SPLIT_TAG, "evaluation split")?;
        let index = |r: &mut wire::Reader, below: usize, what: &str| -> std::result::Result<usize, String> {
            let v = r.u32()? as usize;
            if v >= below { Err(format!("{what} {v} out of range (below {below})")) } else { Ok(v) }
        };
        let outcome = |r: &mut wire::Reader| -> std::result::Result<Outcome, String> {
            let model = index(r, m.n_models(), "model")?;
            let (estimate, low, high) = (r.f64()?, r.f64()?, r.f64()?);
            let n = index(r, r.left() / 24 + 1, "task count")?;
            let tasks = (0..n).map(|_| Ok((r.f64()?, r.f64()?, r.f64()?))).collect::<std::result::Result<_, String>>()?;
            Ok(Outcome { model, estimate, low, high, tasks })
        };
        let mut out = SplitOutcomes::default();
        for _ in 0..r.u32()? {
            let key = index(&mut r, plan.keys.len(), "row")?;
            let seed = index(&mut r, seeds_for(options, plan.keys[key].0), "seed")?;
            let n = r.u32()? as usize;
            let outs = (0..n).map(|_| outcome(&mut r)).collect::<std::result::Result<_, String>>()?;
            out.appended.push((key, seed, outs));
        }
        for _ in 0..r.u32()? {
            let method = Method::parse(&r.str()?).map_err(|e| e.to_string())?;
            let (budget, fell_back) = (r.u32()? as usize, r.u8()? == 1);
            out.guard.push((method, budget, fell_back));
        }
        for _ in 0..r.u32()? {
            out.explore.push((r.u32()? as usize, r.f64()?));
        }
        let (has_share, share) = (r.u8()? == 1, r.f64()?);
        out.stop_share = has_share.then_some(share);
        for _ in 0..r.u32()? {
            let estimator = Estimator::parse(&r.str()?).map_err(|e| e.to_string())?;
            let n = r.u32()? as usize;
            let stopped = (0..n)
                .map(|_| Ok(Stopped { outcome: outcome(&mut r)?, items_used: r.u32()? as usize, reached: r.u8()? == 1 }))
                .collect::<std::result::Result<_, String>>()?;
            out.stops.push((estimator, stopped));
        }
        r.end()?;
        Ok(out)
    }
}

/// The evaluation from every split's outcomes, in split order.
fn finish(m: &ResponseMatrix, options: &EvaluateOptions, plan: &Plan, splits: Vec<SplitOutcomes>) -> Evaluation {
    let Plan { truth, keys, .. } = plan;
    let task_truth = options.task_truth.as_ref();
    // outcomes[key][seed] = all test outcomes of that seed.
    let mut outcomes: Vec<Vec<Vec<Outcome>>> = keys.iter().map(|k| (0..seeds_for(options, k.0)).map(|_| Vec::new()).collect()).collect();
    let mut stops = Vec::new();
    // The adaptive method's share of random items per budget and split, and at the stop.
    let mut explore_shares: std::collections::HashMap<usize, Vec<f64>> = std::collections::HashMap::new();
    let mut stop_shares: Vec<f64> = Vec::new();
    // (method, budget) → (splits where the guard fell back, splits it ran on).
    let mut guard_counts: std::collections::HashMap<(Method, usize), (usize, usize)> = std::collections::HashMap::new();
    for split in splits {
        for (key, seed, outs) in split.appended {
            outcomes[key][seed].extend(outs);
        }
        for (method, budget, fell_back) in split.guard {
            let entry = guard_counts.entry((method, budget)).or_insert((0usize, 0usize));
            entry.0 += usize::from(fell_back);
            entry.1 += 1;
        }
        for (budget, share) in split.explore {
            explore_shares.entry(budget).or_default().push(share);
        }
        stop_shares.extend(split.stop_share);
        stops.extend(split.stops);
    }
    let filled: Vec<usize> = (0..keys.len()).filter(|&k| outcomes[k].iter().any(|o| !o.is_empty())).collect();
    // Rows are independent: summarised in parallel, collected in key order.
    let results = parallel::map(filled.len(), |r| {
        let k = filled[r];
        let (method, estimator, budget) = keys[k];
        let mut row = summarise(method, estimator, budget, &outcomes[k], truth);
        row.tasks = task_truth.filter(|_| estimator == Estimator::Ridge).and_then(|t| summarise_tasks(t, &outcomes[k]));
        row.guard_fallbacks = guard_counts.get(&(method, budget)).map(|&(fell, ran)| fell as f64 / ran as f64);
        if method == Method::Adaptive {
            row.explore = explore_shares.get(&budget).map(|v| v.iter().sum::<f64>() / v.len().max(1) as f64);
        }
        row
    });
    Evaluation {
        models: m.n_models(),
        items: m.n_items(),
        split: match options.split {
            Split::KFold(k) => format!("{k}-fold"),
            Split::Holdout(f) => format!("holdout {f}"),
            Split::Newest(n) => format!("newest {n}"),
        },
        irt: options.irt.as_str(),
        difficulty_strata: (options.difficulty_strata > 1).then_some(options.difficulty_strata),
        results,
        adaptive_stops: options.adaptive_target_se.map_or_else(Vec::new, |t| {
            let share = stop_shares.iter().sum::<f64>() / stop_shares.len().max(1) as f64;
            summarise_stops(t, &stops, truth).into_iter().map(|r| StopRow { explore: share, ..r }).collect()
        }),
    }
}

fn summarise(method: Method, estimator: Estimator, budget: usize, per_seed: &[Vec<Outcome>], truth: &[f64]) -> Row {
    let mut stats: [Vec<f64>; 6] = Default::default();
    let mut pairs = Vec::new();
    let mut seeds = 0;
    for outs in per_seed.iter().filter(|o| !o.is_empty()) {
        seeds += 1;
        let est: Vec<f64> = outs.iter().map(|o| o.estimate).collect();
        let tru: Vec<f64> = outs.iter().map(|o| truth[o.model]).collect();
        let low: Vec<f64> = outs.iter().map(|o| o.low).collect();
        let high: Vec<f64> = outs.iter().map(|o| o.high).collect();
        stats[0].push(metrics::mae(&est, &tru));
        stats[1].push(metrics::rmse(&est, &tru));
        stats[2].push(metrics::kendall_tau_b(&est, &tru));
        stats[3].push(metrics::spearman(&est, &tru));
        stats[4].push(metrics::pairwise_accuracy(&est, &tru));
        stats[5].push(metrics::coverage(&tru, &low, &high));
        // Large model sets have millions of pairs per seed: a fixed-stride
        // sample of at most 50,000 per seed keeps the pooled estimate's
        // error far below the gaps it reports.
        let stride = metrics::ordered_pair_count(&tru).div_ceil(MDD_PAIRS_PER_SEED).max(1);
        pairs.extend(metrics::pair_outcomes_strided(&est, &tru, stride));
    }
    let (error, correlation, share) = (
        |v: &[f64]| Interval::of_bounded(v, 0.0, f64::INFINITY),
        |v: &[f64]| Interval::of_bounded(v, -1.0, 1.0),
        |v: &[f64]| Interval::of_bounded(v, 0.0, 1.0),
    );
    Row {
        method: method.as_str(),
        estimator: estimator.as_str(),
        budget,
        seeds,
        mae: error(&stats[0]),
        rmse: error(&stats[1]),
        kendall_tau: correlation(&stats[2]),
        spearman: correlation(&stats[3]),
        pairwise_accuracy: share(&stats[4]),
        coverage: share(&stats[5]),
        min_detectable_difference: metrics::min_detectable_difference(&pairs, 0.95),
        guard_fallbacks: None,
        tasks: None,
        explore: None,
    }
}

/// Each task's mean absolute error and coverage over the seeds, from
/// outcomes that carry task estimates (`None` when none do).
fn summarise_tasks(tasks: &TaskTruth, per_seed: &[Vec<Outcome>]) -> Option<Vec<TaskRow>> {
    let seeds: Vec<&Vec<Outcome>> = per_seed.iter().filter(|o| !o.is_empty() && o.iter().all(|x| x.tasks.len() == tasks.names.len())).collect();
    if seeds.is_empty() {
        return None;
    }
    Some(
        tasks
            .names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let (mut mae, mut coverage) = (Vec::new(), Vec::new());
                for outs in &seeds {
                    let est: Vec<f64> = outs.iter().map(|o| o.tasks[k].0).collect();
                    let tru: Vec<f64> = outs.iter().map(|o| tasks.scores[k][o.model]).collect();
                    let low: Vec<f64> = outs.iter().map(|o| o.tasks[k].1).collect();
                    let high: Vec<f64> = outs.iter().map(|o| o.tasks[k].2).collect();
                    mae.push(metrics::mae(&est, &tru));
                    coverage.push(metrics::coverage(&tru, &low, &high));
                }
                TaskRow { task: name.clone(), mae: Interval::of_bounded(&mae, 0.0, f64::INFINITY), coverage: Interval::of_bounded(&coverage, 0.0, 1.0) }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_of_bounded_quantities_stay_in_their_range() {
        // Three seeds' coverage near 1: the t interval reaches past it.
        let coverage = [0.98, 1.0, 0.84];
        let raw = metrics::mean_ci(&coverage, 0.95);
        assert!(raw.high > 1.0, "{raw:?}");
        let cut = Interval::of_bounded(&coverage, 0.0, 1.0);
        assert_eq!((cut.mean, cut.low, cut.high), (raw.mean, raw.low, 1.0));
        let tau = Interval::of_bounded(&[-0.99, -0.7, -0.98], -1.0, 1.0);
        assert!(tau.low == -1.0 && tau.high < 0.0, "{tau:?}");
        let error = Interval::of_bounded(&[0.001, 0.02, 0.0], 0.0, f64::INFINITY);
        assert!(error.low == 0.0 && error.high > error.mean, "{error:?}");
        // No finite value: no interval, not the whole range.
        let none = Interval::of_bounded(&[f64::NAN, f64::NAN], -1.0, 1.0);
        assert!(none.mean.is_nan() && none.low.is_nan() && none.high.is_nan(), "{none:?}");
    }

    /// Splits run one by one and merged from their messages give the whole
    /// evaluation to the bit: K-fold with the guard, adaptive testing (auto
    /// explore, a target SE) and a deterministic method whose seeds are
    /// copied; a holdout split per seed; and a damaged message is refused.
    #[test]
    fn an_evaluation_merged_from_its_splits_is_the_evaluation() {
        let m = crate::irt::tests::synthetic_2pl(48, 30, 0.05, 21);
        let base = EvaluateOptions {
            methods: vec![Method::Random, Method::IrtInfo, Method::Adaptive, Method::MetricVar],
            budgets: vec![6, 12],
            split: Split::KFold(3),
            seeds: 2,
            irt: IrtModel::TwoPl,
            stratify: false,
            difficulty_strata: 0,
            guard: true,
            truth: None,
            task_truth: None,
            side: select::SideData::default(),
            adaptive_target_se: Some(0.4),
            adaptive_explore: Explore::Auto,
        };
        let holdout =
            EvaluateOptions { split: Split::Holdout(0.25), methods: vec![Method::Random, Method::AnchorPoints], adaptive_target_se: None, ..base.clone() };
        for options in [base, holdout] {
            let whole = serde_json::to_string(&evaluate(&m, &options, &mut |_| {}).unwrap()).unwrap();
            let n = split_count(&m, &options).unwrap();
            assert!(n >= 2, "{n} splits");
            let mut steps = 0;
            let messages: Vec<Vec<u8>> = (0..n).map(|k| evaluate_split(&m, &options, k, &mut |_| steps += 1).unwrap()).collect();
            assert!(steps > 0);
            assert_eq!(serde_json::to_string(&evaluate_from_splits(&m, &options, &messages).unwrap()).unwrap(), whole, "{:?}", options.split);
            assert!(evaluate_split(&m, &options, n, &mut |_| {}).is_err());
            assert!(evaluate_from_splits(&m, &options, &messages[1..]).is_err());
            let mut cut = messages.clone();
            cut[0].pop();
            assert!(evaluate_from_splits(&m, &options, &cut).unwrap_err().to_string().contains("cut short"));
        }
    }
}
