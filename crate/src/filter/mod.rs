//! SMART filtering: remove items that cannot tell models apart, so a smaller
//! benchmark ranks models the same way (Gupta et al. 2024, "Improving Model
//! Evaluation using SMART Filtering of Benchmark Datasets", arXiv:2410.20245).
//!
//! Three stages run in order, each optional, each on the items the previous
//! ones kept, each **within every task** (the items file's task or group
//! column; one task without one) and each reported per task with the items
//! it removed and why:
//!
//! 1. **Easy items** (`easy.rs`). The task's reference models are its `k`
//!    strongest by mean score on the task (SMART's seven, by default; all of
//!    them when there are fewer). An item is easy when at least a fraction
//!    `p` (default 1: all) of them answer it correctly, with a score of at
//!    least `confidence` (0.8, SMART's bar on a model's probability of the
//!    right answer; a 0/1 response counts as its value) — or, with
//!    `easy_probability = t`, when the IRT fit predicts P(correct) ≥ t for
//!    each of them. A reference model that did not answer the item is
//!    replaced by the next strongest that did, so missing cells do not make
//!    items easy. A fraction of each task's easy items is kept (default 10%,
//!    the least easy: fewest of the reference models correct, then the
//!    lowest mean score among them), so a filtered benchmark keeps a floor.
//!    The report counts how many items each `k` from 1 to 100 would flag.
//! 2. **Likely contamination** (`contamination.rs`). Direct evidence removes
//!    an item: SMART's test — the models answer it without the question
//!    (an answer-only response matrix: the same items prompted with the
//!    answer options alone), by the easy rule applied to those answers — or
//!    a user-supplied score (a `contamination` column in the items file).
//!    A statistical signal is reported, and removes only when asked: a
//!    leaked test set is memorised by the models trained on it, so its
//!    items are answered correctly by the same models whatever their
//!    ability and their residuals under an IRT fit correlate (local
//!    dependence, Yen's Q3). Any one-dimensional fit of several benchmarks
//!    leaves residual correlation inside each of them, which is not
//!    contamination (the old whole-matrix test flagged 953 of a leaderboard's
//!    1,075 items), so the fit and the test are made per task, and the
//!    threshold is the (1 − rate) quantile of the same statistic on
//!    responses simulated from that fit: on data that follow the fitted
//!    model, about `rate` of the items (default 0.1%) are flagged. With
//!    thousands of models even a per-task fit misfits significantly almost
//!    everywhere (957 of the same 1,075 items beyond that quantile), so an
//!    item must also stand out from its own task: its statistic beyond the
//!    far-out fence Q3 + 3·IQR of the task's values.
//! 3. **Near-duplicates** (`duplicates.rs`). Cosine similarity of the user's
//!    embeddings or of the built-in hashed n-gram features of the item texts,
//!    within each task; pairs at or above the threshold join items into
//!    groups, each group keeps its most informative item under the IRT fit.
//!    Without a threshold it is read from the data: the far-out fence
//!    Q3 + 3·IQR of the items' nearest-neighbour cosines, clamped into
//!    [0.8, 0.95].
//!
//! No stage removes more than `max_removed_fraction` (default half) of a
//! task's items: where it would, it removes none of them there, lists them
//! as flagged and warns — a rule that fires on most of a benchmark says more
//! about the rule than about the items.
//!
//! The report gives, overall and per task, the Kendall τ between the models'
//! ranking by mean score on the kept items and on all items and the mean
//! absolute difference of those means, and the same for random removals of
//! as many items from each task, so a user sees whether the filter keeps the
//! ranking better or worse than chance would; with a reference ranking (e.g.
//! Chatbot Arena, as SMART reports), Kendall τ and Spearman ρ of both with it.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::irt::{FitOptions, IrtFit, IrtModel, Scale};
use crate::matrix::{Kind, ResponseMatrix};
use crate::metrics;
use crate::rng::Rng;
use crate::similar::NamedPair;

mod contamination;
mod duplicates;
mod easy;
#[cfg(test)]
mod tests;

/// Which models are "strong" for the easy rule and the answer-only test.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceModels {
    /// The strongest models of each task by mean score (SMART uses 7).
    pub top_k: usize,
    /// Fraction of them that must answer correctly.
    pub min_fraction: f64,
    /// A score counts as a correct answer at or above this (after mapping
    /// into [0, 1]; 0/1 responses are their value).
    pub confidence: f64,
}

impl Default for ReferenceModels {
    fn default() -> Self {
        ReferenceModels { top_k: 7, min_fraction: 1.0, confidence: 0.8 }
    }
}

/// Stage 1 settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EasyOptions {
    /// Use the IRT rule instead: predicted P(correct) ≥ this for each reference model.
    pub probability: Option<f64>,
    /// Fraction of each task's easy items to keep (the least easy ones).
    pub keep_fraction: f64,
}

impl Default for EasyOptions {
    fn default() -> Self {
        EasyOptions { probability: None, keep_fraction: 0.1 }
    }
}

/// Stage 2 settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ContaminationOptions {
    /// Flag items whose `neighbours`-th largest residual correlation is at
    /// least this (default: the simulated quantile, see `rate`).
    pub q3: Option<f64>,
    /// The residual test's false-flag rate on data that follow the fitted
    /// model: its threshold is the (1 − rate) quantile of the statistic on
    /// responses simulated from the fit.
    pub rate: f64,
    pub neighbours: usize,
    /// Seed of the simulation that sets the threshold.
    pub seed: u64,
    /// Remove the items the residual test flags (by default they are reported).
    pub remove_flagged: bool,
    /// The residual test also asks an item to stand out from its task: its
    /// statistic beyond the far-out fence Q3 + 3·IQR of the task's values
    /// (on data that follow the fitted model this only lowers the rate).
    pub fence: bool,
    /// Flag items whose user-supplied contamination score is at least this.
    pub score_threshold: Option<f64>,
}

impl Default for ContaminationOptions {
    fn default() -> Self {
        ContaminationOptions { q3: None, rate: 0.001, neighbours: 3, seed: 0, remove_flagged: false, fence: true, score_threshold: None }
    }
}

/// Stage 3 settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DuplicateOptions {
    /// Cosine at or above which two items are duplicates (default: from the data).
    pub threshold: Option<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FilterOptions {
    pub reference: ReferenceModels,
    pub easy: Option<EasyOptions>,
    pub contamination: Option<ContaminationOptions>,
    pub duplicates: Option<DuplicateOptions>,
    /// IRT model fitted on the whole matrix (the easy rule's probabilities,
    /// representatives of duplicate groups) and on each task (residuals).
    pub irt: IrtModel,
    /// No stage removes more than this fraction of a task's items.
    pub max_removed_fraction: f64,
    /// Random removals the report compares the filter with.
    pub random_draws: usize,
}

impl Default for FilterOptions {
    fn default() -> Self {
        FilterOptions {
            reference: ReferenceModels::default(),
            easy: Some(EasyOptions::default()),
            contamination: Some(ContaminationOptions::default()),
            duplicates: Some(DuplicateOptions::default()),
            irt: IrtModel::TwoPl,
            max_removed_fraction: 0.5,
            random_draws: 20,
        }
    }
}

impl FilterOptions {
    pub fn validate(&self) -> Result<()> {
        let r = &self.reference;
        if !(r.min_fraction > 0.0 && r.min_fraction <= 1.0) {
            return Err(Error::invalid(format!("easy min fraction {} must be in (0, 1]", r.min_fraction)));
        }
        if r.top_k == 0 {
            return Err(Error::invalid("easy top-k must be at least 1"));
        }
        if !(r.confidence > 0.0 && r.confidence <= 1.0) {
            return Err(Error::invalid(format!("easy confidence {} must be in (0, 1]", r.confidence)));
        }
        if let Some(e) = &self.easy {
            if let Some(p) = e.probability
                && !(p > 0.0 && p < 1.0)
            {
                return Err(Error::invalid(format!("easy probability {p} must be between 0 and 1")));
            }
            if !(0.0..=1.0).contains(&e.keep_fraction) {
                return Err(Error::invalid(format!("easy keep fraction {} must be in [0, 1]", e.keep_fraction)));
            }
        }
        if let Some(c) = &self.contamination {
            if c.q3.is_some_and(|z| !z.is_finite()) || c.score_threshold.is_some_and(|t| !t.is_finite()) {
                return Err(Error::invalid("contamination thresholds must be finite numbers"));
            }
            if c.neighbours == 0 {
                return Err(Error::invalid("contamination neighbours must be at least 1"));
            }
            if !(c.rate > 0.0 && c.rate < 1.0) {
                return Err(Error::invalid(format!("contamination rate {} must be between 0 and 1", c.rate)));
            }
        }
        if let Some(d) = &self.duplicates
            && let Some(t) = d.threshold
            && !(t > 0.0 && t <= 1.0)
        {
            return Err(Error::invalid(format!("duplicate threshold {t} must be in (0, 1]")));
        }
        if !(self.max_removed_fraction > 0.0 && self.max_removed_fraction <= 1.0) {
            return Err(Error::invalid(format!("max removed fraction {} must be in (0, 1]", self.max_removed_fraction)));
        }
        Ok(())
    }
}

/// What the filter sees besides the matrix, aligned with the matrix's items
/// (and models for the reference).
#[derive(Debug, Clone, Default)]
pub struct FilterInputs {
    /// A user-supplied contamination score per item (higher = more likely).
    pub contamination_scores: Option<Vec<Option<f64>>>,
    /// Answers to the items prompted without their questions (SMART's test).
    pub answer_only: Option<AnswerOnly>,
    /// Vectors for the duplicate stage: `dims` floats per item; items without
    /// a vector (`has_vector[i] == false`) take no part.
    pub vectors: Option<Vectors>,
    /// A reference score per model (higher = better).
    pub reference: Option<Vec<Option<f64>>>,
}

/// Answer-only responses: per model of that matrix, its row in the main
/// matrix (when it is one of its models) and its scores on the main matrix's
/// items, mapped into [0, 1] (NaN: not given).
#[derive(Debug, Clone, Default)]
pub struct AnswerOnly {
    pub models: Vec<(Option<usize>, Vec<f32>)>,
}

#[derive(Debug, Clone)]
pub struct Vectors {
    pub data: Vec<f32>,
    pub dims: usize,
    pub has_vector: Vec<bool>,
    /// `embeddings` or `hashed-ngrams`.
    pub features: &'static str,
}

/// One removed (or flagged) item and the evidence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Removed {
    pub id: String,
    /// `easy`, `contamination` or `duplicate`.
    pub reason: &'static str,
    /// The item's task, when the items file has tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Easy: fraction of the reference models that answered correctly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_fraction_correct: Option<f64>,
    /// Easy (IRT rule): the smallest predicted P(correct) among the reference models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_probability: Option<f64>,
    /// Contamination: fraction of the reference models correct without the question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_only_fraction: Option<f64>,
    /// Contamination: the item's k-th largest residual correlation (Q3) and
    /// the items it correlates with most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q3: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlated_with: Option<Vec<String>>,
    /// Contamination: the user-supplied score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Duplicate: the item kept for its group, and their cosine (when the two
    /// are a listed pair; else the group's largest cosine to this item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cosine: Option<f32>,
    /// Flagged only: why it was not removed (`signal`: the residual test
    /// reports; `cap`: the stage would have removed too much of the task).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_because: Option<&'static str>,
}

impl Removed {
    fn new(id: &str, reason: &'static str, task: Option<&str>) -> Removed {
        Removed {
            id: id.to_string(),
            reason,
            task: task.map(str::to_string),
            top_fraction_correct: None,
            min_probability: None,
            answer_only_fraction: None,
            q3: None,
            correlated_with: None,
            score: None,
            duplicate_of: None,
            cosine: None,
            kept_because: None,
        }
    }
}

/// One stage in one task.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageTask {
    pub task: String,
    /// The task's items, and those this stage looked at (the earlier stages kept).
    pub items: usize,
    pub considered: usize,
    /// Items that met the rule, and those removed.
    pub flagged: usize,
    pub removed: usize,
    /// The stage would have removed more than the cap allows, so it removed
    /// none of this task's items.
    pub capped: bool,
}

/// An item a stage acted on, with its text, for a person to look at.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Example {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One stage's summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stage {
    pub stage: &'static str,
    /// Whether the stage ran (false: turned off, or nothing to run on).
    pub ran: bool,
    /// Items it looked at (those the earlier stages kept).
    pub considered: usize,
    pub removed: usize,
    /// The rule in words, with the numbers used.
    pub rule: String,
    /// The rule in a few words, for a table (`rule` has it in full).
    pub brief: String,
    /// The threshold actually applied, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Items that met the rule (removed, kept on purpose, or kept by the cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged: Option<usize>,
    /// Duplicates: pairs found and groups formed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<usize>,
    /// Per task (absent when the stage did not run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<StageTask>,
    /// Up to three removed (or, when none were, flagged) items with their texts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
    /// Easy: how many items the rule flags with each number of reference models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged_by_top_k: Option<Vec<(usize, usize)>>,
}

/// Correlations with an external ranking, over the models it lists.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReferenceCorrelation {
    pub models: usize,
    pub kendall_tau_full: f64,
    pub kendall_tau_filtered: f64,
    pub spearman_full: f64,
    pub spearman_filtered: f64,
}

/// How well the kept items keep the models' scores: Kendall τ of the
/// models' mean scores on the kept and on all items, and the mean absolute
/// difference of the two means.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Agreement {
    pub kendall_tau: f64,
    pub mean_abs_error: f64,
}

/// The same for random removals of as many items from each task: the mean
/// over the draws and the central 95% of them.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct RandomRemoval {
    pub draws: usize,
    pub kendall_tau: Spread,
    pub mean_abs_error: Spread,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// One task after filtering.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaskSummary {
    pub task: String,
    pub items: usize,
    pub kept: usize,
    pub kept_vs_full: Agreement,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random_removal: Option<RandomRemoval>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterReport {
    pub items: usize,
    pub models: usize,
    pub kept: Vec<String>,
    pub removed: Vec<Removed>,
    /// Items a stage flagged but kept: the residual test's signals (unless
    /// asked to remove them) and the items of tasks a stage's cap protected.
    pub flagged: Vec<Removed>,
    pub stages: Vec<Stage>,
    /// Kendall τ-b between the models' mean scores on the kept and on all items.
    pub kendall_tau_vs_full: f64,
    /// Mean over models of |mean on the kept items − mean on all items|.
    pub mean_abs_error_vs_full: f64,
    /// The same two for random removals of as many items per task (absent
    /// when nothing was removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random_removal: Option<RandomRemoval>,
    /// Per task (one task, `all`, without a task column).
    pub tasks: Vec<TaskSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceCorrelation>,
    /// Every near-duplicate pair among the items the duplicate stage saw.
    pub duplicate_pairs: Vec<NamedPair>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_features: Option<&'static str>,
    pub irt: IrtModel,
    pub warnings: Vec<String>,
}

/// Scores mapped into [0, 1], model-major, NaN where missing (f32: the
/// matrix's own precision, half the memory).
fn unit_scores(m: &ResponseMatrix) -> Vec<f32> {
    let scale = match m.kind() {
        Kind::Binary => Scale::Identity,
        Kind::Continuous => Scale::detect(m),
    };
    let n = m.n_items();
    let mut x = vec![f32::NAN; m.n_models() * n];
    for j in 0..m.n_models() {
        for (i, v) in m.row(j) {
            x[j * n + i] = scale.apply(v as f64) as f32;
        }
    }
    x
}

fn model_means(x: &[f32], n_models: usize, n_items: usize, items: &[usize]) -> Vec<f64> {
    (0..n_models)
        .map(|j| {
            let (mut s, mut c) = (0.0, 0usize);
            for &i in items {
                let v = x[j * n_items + i];
                if !v.is_nan() {
                    s += v as f64;
                    c += 1;
                }
            }
            if c == 0 { f64::NAN } else { s / c as f64 }
        })
        .collect()
}

/// Kendall τ and mean absolute difference between `kept` and `full` means,
/// over the models that have both.
fn agreement(kept: &[f64], full: &[f64]) -> Agreement {
    let both: Vec<usize> = (0..full.len()).filter(|&j| kept[j].is_finite() && full[j].is_finite()).collect();
    let (k, f): (Vec<f64>, Vec<f64>) = both.iter().map(|&j| (kept[j], full[j])).unzip();
    let mean_abs_error = if both.is_empty() { f64::NAN } else { k.iter().zip(&f).map(|(a, b)| (a - b).abs()).sum::<f64>() / both.len() as f64 };
    Agreement { kendall_tau: metrics::kendall_tau_b(&k, &f), mean_abs_error }
}

/// Mean and central 95% of a set of draws (NaN draws left out).
fn spread(values: &[f64]) -> Spread {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Spread { mean: f64::NAN, low: f64::NAN, high: f64::NAN };
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    Spread { mean: v.iter().sum::<f64>() / v.len() as f64, low: at(0.025), high: at(0.975) }
}

/// A task: its name (none for items without one, or a matrix without
/// tasks), what reports call it, and its items (in matrix order).
pub(super) struct Task {
    pub(super) name: Option<String>,
    label: String,
    pub(super) items: Vec<usize>,
}

impl Task {
    pub(super) fn label(&self) -> String {
        self.label.clone()
    }
}

/// The tasks of `m`: its item groups in order of first appearance (items
/// without one together), or all items as one task.
fn tasks(m: &ResponseMatrix) -> Vec<Task> {
    let group = &m.items().group;
    if group.is_empty() || group.iter().all(Option::is_none) {
        return vec![Task { name: None, label: "all".into(), items: (0..m.n_items()).collect() }];
    }
    let mut out: Vec<Task> = Vec::new();
    for (i, g) in group.iter().enumerate() {
        match out.iter_mut().find(|t| t.name == *g) {
            Some(t) => t.items.push(i),
            None => out.push(Task { name: g.clone(), label: g.clone().unwrap_or_else(|| "(no task)".into()), items: vec![i] }),
        }
    }
    out
}

/// One random removal's agreement, overall and per task.
type Draw = (Agreement, Vec<Agreement>);

/// What every stage reads.
pub(super) struct Shared<'a> {
    pub(super) m: &'a ResponseMatrix,
    /// Scores mapped into [0, 1], model-major, NaN where missing.
    pub(super) x: &'a [f32],
    /// The IRT fit on the whole matrix, and its model.
    pub(super) fit: &'a IrtFit,
    pub(super) irt: IrtModel,
    pub(super) tasks: &'a [Task],
    pub(super) reference: &'a ReferenceModels,
    pub(super) max_removed_fraction: f64,
}

impl Shared<'_> {
    /// The task's models from strongest to weakest by mean score on the
    /// task's items (models with no answer there left out; ties: matrix order).
    pub(super) fn strongest(&self, task: &Task) -> Vec<usize> {
        let (n_models, n_items) = (self.m.n_models(), self.m.n_items());
        let means = model_means(self.x, n_models, n_items, &task.items);
        let mut order: Vec<usize> = (0..n_models).filter(|&j| means[j].is_finite()).collect();
        order.sort_by(|&a, &b| means[b].total_cmp(&means[a]).then(a.cmp(&b)));
        order
    }
}

/// What the stages change as they run in turn: which items are still in,
/// why the others are out, what was flagged and kept, and what the user
/// should know.
pub(super) struct Sift {
    pub(super) alive: Vec<bool>,
    pub(super) removed: Vec<Removed>,
    pub(super) flagged: Vec<Removed>,
    pub(super) warnings: Vec<String>,
}

impl Sift {
    /// Removes `remove` (item, evidence) of `task`, unless that is more than
    /// `shared.max_removed_fraction` of the task's items: then they are
    /// flagged and kept, with a warning. Returns whether the cap held them.
    pub(super) fn remove_capped(&mut self, shared: &Shared, stage: &str, task: &Task, mut remove: Vec<(usize, Removed)>) -> bool {
        let limit = (shared.max_removed_fraction * task.items.len() as f64).floor() as usize;
        remove.sort_by_key(|(i, _)| *i);
        if remove.len() > limit {
            self.warnings.push(format!(
                "{stage}: {} of the {} items of task '{}' meet the rule ({:.0}%), more than the {:.0}% a stage may remove; they are kept and listed as flagged (raise the maximum removed fraction to remove them)",
                remove.len(),
                task.items.len(),
                task.label(),
                100.0 * remove.len() as f64 / task.items.len() as f64,
                100.0 * shared.max_removed_fraction
            ));
            self.flagged.extend(remove.into_iter().map(|(_, mut r)| {
                r.kept_because = Some("cap");
                r
            }));
            return true;
        }
        for (i, r) in remove {
            self.alive[i] = false;
            self.removed.push(r);
        }
        false
    }
}

/// Up to three of the stage's removals (else of its flags), with texts.
fn examples(m: &ResponseMatrix, removed: &[Removed], flagged: &[Removed], reason: &str) -> Vec<Example> {
    let index: std::collections::HashMap<&str, usize> = m.item_ids().iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let of_stage = |list: &[Removed]| -> Vec<Example> {
        list.iter()
            .filter(|r| r.reason == reason)
            .take(3)
            .map(|r| Example { id: r.id.clone(), text: index.get(r.id.as_str()).and_then(|&i| m.items().text.get(i).cloned().flatten()) })
            .collect()
    };
    let found = of_stage(removed);
    if found.is_empty() { of_stage(flagged) } else { found }
}

/// Runs the filter on `m`.
pub fn filter(m: &ResponseMatrix, inputs: &FilterInputs, options: &FilterOptions) -> Result<FilterReport> {
    options.validate()?;
    let (n_models, n_items) = (m.n_models(), m.n_items());
    if n_models < 2 || n_items < 2 {
        return Err(Error::invalid(format!("filtering needs at least 2 models and 2 items; the matrix has {n_models} × {n_items}")));
    }
    let x = unit_scores(m);
    let ids = m.item_ids();
    let mut warnings = Vec::new();
    let fit_options = FitOptions { model: options.irt, ..Default::default() };
    let fit = crate::irt::fit(m, &fit_options, &mut |_| true)?;
    if !fit.converged {
        warnings.push(format!("the {} fit stopped after {} iterations without converging", options.irt.as_str(), fit.iterations));
    }
    let tasks = tasks(m);
    let shared =
        Shared { m, x: &x, fit: &fit, irt: options.irt, tasks: &tasks, reference: &options.reference, max_removed_fraction: options.max_removed_fraction };
    let mut sift = Sift { alive: vec![true; n_items], removed: Vec::new(), flagged: Vec::new(), warnings };
    let mut stages = Vec::new();

    // Stage 1: easy items.
    match &options.easy {
        None => stages.push(off("easy")),
        Some(e) => stages.push(easy::run(&shared, e, &mut sift)),
    }

    // Stage 2: contamination.
    match &options.contamination {
        None => stages.push(off("contamination")),
        Some(c) => stages.push(contamination::run(&shared, c, inputs, &mut sift)?),
    }

    // Stage 3: near-duplicates.
    let mut duplicate_pairs = Vec::new();
    let mut duplicate_features = None;
    match (&options.duplicates, &inputs.vectors) {
        (None, _) => stages.push(off("duplicates")),
        (Some(_), None) => {
            let mut s = off("duplicates");
            s.rule = "skipped: no embeddings and no item texts".into();
            sift.warnings.push("the duplicate stage was skipped: give embeddings or an items file with texts".into());
            stages.push(s);
        }
        (Some(d), Some(v)) => {
            let (stage, pairs) = duplicates::run(&shared, d, v, &mut sift)?;
            stages.push(stage);
            duplicate_pairs = pairs;
            duplicate_features = Some(v.features);
        }
    }
    for stage in &mut stages {
        let reason = if stage.stage == "duplicates" { "duplicate" } else { stage.stage };
        stage.examples = examples(m, &sift.removed, &sift.flagged, reason);
    }

    let Sift { alive, removed, flagged, mut warnings } = sift;
    let kept_idx: Vec<usize> = (0..n_items).filter(|&i| alive[i]).collect();
    if kept_idx.is_empty() {
        return Err(Error::invalid("every item was removed; loosen the stage settings"));
    }
    let all: Vec<usize> = (0..n_items).collect();
    let means_all = model_means(&x, n_models, n_items, &all);
    let means_kept = model_means(&x, n_models, n_items, &kept_idx);
    let overall = agreement(&means_kept, &means_all);
    // Random removals of as many items from each task as the filter removed.
    let removed_per_task: Vec<usize> = tasks.iter().map(|t| t.items.iter().filter(|&&i| !alive[i]).count()).collect();
    let mut rng = Rng::new(0x5EED_F117);
    let draws: Vec<Draw> = if removed.is_empty() {
        Vec::new()
    } else {
        (0..options.random_draws)
            .map(|_| {
                let mut keep = vec![true; n_items];
                for (t, &k) in tasks.iter().zip(&removed_per_task) {
                    let mut order = t.items.clone();
                    rng.shuffle(&mut order);
                    order.iter().take(k).for_each(|&i| keep[i] = false);
                }
                let kept: Vec<usize> = (0..n_items).filter(|&i| keep[i]).collect();
                let per_task = tasks
                    .iter()
                    .map(|t| {
                        let kept_t: Vec<usize> = t.items.iter().copied().filter(|&i| keep[i]).collect();
                        agreement(&model_means(&x, n_models, n_items, &kept_t), &model_means(&x, n_models, n_items, &t.items))
                    })
                    .collect();
                (agreement(&model_means(&x, n_models, n_items, &kept), &means_all), per_task)
            })
            .collect()
    };
    let random_of = |pick: &dyn Fn(&Draw) -> Agreement| -> Option<RandomRemoval> {
        (!draws.is_empty()).then(|| {
            let values: Vec<Agreement> = draws.iter().map(pick).collect();
            RandomRemoval {
                draws: values.len(),
                kendall_tau: spread(&values.iter().map(|a| a.kendall_tau).collect::<Vec<_>>()),
                mean_abs_error: spread(&values.iter().map(|a| a.mean_abs_error).collect::<Vec<_>>()),
            }
        })
    };
    let task_summaries: Vec<TaskSummary> = tasks
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let kept_t: Vec<usize> = t.items.iter().copied().filter(|&i| alive[i]).collect();
            TaskSummary {
                task: t.label(),
                items: t.items.len(),
                kept: kept_t.len(),
                kept_vs_full: agreement(&model_means(&x, n_models, n_items, &kept_t), &model_means(&x, n_models, n_items, &t.items)),
                random_removal: if removed_per_task[k] == 0 { None } else { random_of(&|d| d.1[k]) },
            }
        })
        .collect();
    let reference = match &inputs.reference {
        None => None,
        Some(r) => {
            let listed: Vec<usize> = (0..n_models).filter(|&j| r[j].is_some() && means_kept[j].is_finite()).collect();
            if listed.len() < 2 {
                return Err(Error::invalid(format!("the reference ranking lists {} of the matrix's models; at least 2 are needed", listed.len())));
            }
            let refv: Vec<f64> = listed.iter().map(|&j| r[j].unwrap_or(f64::NAN)).collect();
            let full: Vec<f64> = listed.iter().map(|&j| means_all[j]).collect();
            let kept: Vec<f64> = listed.iter().map(|&j| means_kept[j]).collect();
            if listed.len() < n_models {
                warnings.push(format!("the reference ranking lists {} of the {n_models} models; correlations use those", listed.len()));
            }
            Some(ReferenceCorrelation {
                models: listed.len(),
                kendall_tau_full: metrics::kendall_tau_b(&full, &refv),
                kendall_tau_filtered: metrics::kendall_tau_b(&kept, &refv),
                spearman_full: metrics::spearman(&full, &refv),
                spearman_filtered: metrics::spearman(&kept, &refv),
            })
        }
    };
    Ok(FilterReport {
        items: n_items,
        models: n_models,
        kept: kept_idx.iter().map(|&i| ids[i].clone()).collect(),
        removed,
        flagged,
        stages,
        kendall_tau_vs_full: overall.kendall_tau,
        mean_abs_error_vs_full: overall.mean_abs_error,
        random_removal: random_of(&|d| d.0),
        tasks: task_summaries,
        reference,
        duplicate_pairs,
        duplicate_features,
        irt: options.irt,
        warnings,
    })
}

fn off(stage: &'static str) -> Stage {
    Stage {
        stage,
        ran: false,
        considered: 0,
        removed: 0,
        rule: "turned off".into(),
        brief: "turned off".into(),
        threshold: None,
        flagged: None,
        pairs: None,
        groups: None,
        tasks: Vec::new(),
        examples: Vec::new(),
        flagged_by_top_k: None,
    }
}

fn fraction_words(f: f64) -> String {
    if f == 1.0 {
        "all".into()
    } else if f == 0.0 {
        "none".into()
    } else {
        format!("{:.0}%", f * 100.0)
    }
}
