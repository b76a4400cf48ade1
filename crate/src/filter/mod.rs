//! SMART filtering: remove items that cannot tell models apart, so a smaller
//! benchmark ranks models the same way (Gupta et al. 2024, "Improving Model
//! Evaluation using SMART Filtering of Benchmark Datasets", arXiv:2410.20245).
//!
//! Three stages run in order, each optional, each on the items the previous
//! ones kept, and each reported with the items it removed and why:
//!
//! 1. **Easy items.** An item is easy when at least a fraction `p` (default
//!    1: all) of the `k` strongest models (by mean score; default all models)
//!    answer it correctly — continuous scores count as correct at ≥ 0.5 after
//!    mapping into [0, 1] — or, with `easy_probability = t`, when the IRT fit
//!    predicts P(correct) ≥ t for every one of those `k` models. A fraction of
//!    the easy items may be kept: the least easy ones (fewest of the top
//!    models correct, or lowest predicted probability), so a filtered
//!    benchmark still has a floor.
//! 2. **Likely contamination.** A leaked test set is memorised by the models
//!    trained on it, so its items are answered correctly by the same models
//!    whatever their ability: the items' residuals under the IRT fit,
//!    rᵢⱼ = (xᵢⱼ − Pᵢⱼ)/√(Pᵢⱼ(1 − Pᵢⱼ)) (Pᵢⱼ clamped into [0.01, 0.99]),
//!    correlate with each other across models: local dependence, measured
//!    by Yen's Q3 (the correlation of two items' residuals; Yen 1984,
//!    *Applied Psychological Measurement* 8:125). A single item cannot show
//!    contamination — the fit absorbs an item that a random part of the
//!    models memorised by flattening its curve — so groups are compared. An
//!    item's statistic is its `neighbours`-th largest Q3 with another item
//!    (default 3: it shares its surprises with at least three others). The
//!    threshold is the largest value of the same statistic on responses
//!    simulated from the fit itself (seeded) — locally independent by
//!    construction, with the fit's own structure — and an item must exceed
//!    it by more than rounding (10⁻⁴). Shuffling residuals across models
//!    instead destroys that structure and flagged 2,103 of MMLU-Pro's 12,032
//!    items. With few models the test has no power, and says so: with 29
//!    models, items of similar difficulty share a response pattern exactly,
//!    by chance, and the simulated matrix already reaches Q3 = 1. A
//!    user-supplied per-item score
//!    (a `contamination` column in the items file, e.g. the answer-only
//!    accuracy SMART uses) flags items too.
//! 3. **Near-duplicates.** Cosine similarity of the user's embeddings (rows in
//!    items-file order) or of the built-in hashed n-gram features of the item
//!    texts ([`crate::similar::text`]). Pairs at or above the threshold join
//!    items into groups (connected components); each group keeps one item —
//!    the most informative under the IRT fit (largest Fisher information
//!    summed over the models' abilities), ties to the first in matrix order —
//!    and the rest are removed, with every pair and its texts listed. Without
//!    a threshold it is read from the data: the far-out fence Q3 + 3·IQR of
//!    the items' nearest-neighbour cosines (Tukey), clamped into
//!    [0.8, 0.95], so only pairs far more similar than items usually are to
//!    their nearest neighbour count as duplicates.
//!
//! The report gives the Kendall τ between the models' ranking by mean score
//! on the kept items and on all items, and, with a reference ranking (e.g.
//! Chatbot Arena, as SMART reports), Kendall τ and Spearman ρ of both with it.
use crate::error::{Error, Result};
use crate::irt::{FitOptions, IrtFit, IrtModel, Scale};
use crate::matrix::{Kind, ResponseMatrix};
use crate::metrics;
use crate::similar::NamedPair;
use serde::Serialize;

mod contamination;
mod duplicates;
mod easy;
/// Stage 1 settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EasyOptions {
    /// The strongest models to look at (None: all).
    pub top_k: Option<usize>,
    /// Fraction of those models that must answer correctly.
    pub min_fraction: f64,
    /// Use the IRT rule instead: predicted P(correct) ≥ this for each of them.
    pub probability: Option<f64>,
    /// Fraction of the easy items to keep (the least easy ones).
    pub keep_fraction: f64,
}

impl Default for EasyOptions {
    fn default() -> Self {
        EasyOptions { top_k: None, min_fraction: 1.0, probability: None, keep_fraction: 0.0 }
    }
}

/// Stage 2 settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ContaminationOptions {
    /// Flag items whose `neighbours`-th largest residual correlation is at
    /// least this (default: from responses simulated from the fit).
    pub q3: Option<f64>,
    pub neighbours: usize,
    /// Seed of the simulation that sets the default threshold.
    pub seed: u64,
    /// Flag items whose user-supplied contamination score is at least this.
    pub score_threshold: Option<f64>,
}

impl Default for ContaminationOptions {
    fn default() -> Self {
        ContaminationOptions { q3: None, neighbours: 3, seed: 0, score_threshold: None }
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
    pub easy: Option<EasyOptions>,
    pub contamination: Option<ContaminationOptions>,
    pub duplicates: Option<DuplicateOptions>,
    /// IRT model fitted once on the whole matrix (easy rule, contamination,
    /// representatives of duplicate groups).
    pub irt: IrtModel,
}

impl Default for FilterOptions {
    fn default() -> Self {
        FilterOptions {
            easy: Some(EasyOptions::default()),
            contamination: Some(ContaminationOptions::default()),
            duplicates: Some(DuplicateOptions::default()),
            irt: IrtModel::TwoPl,
        }
    }
}

impl FilterOptions {
    pub fn validate(&self) -> Result<()> {
        if let Some(e) = &self.easy {
            if !(e.min_fraction > 0.0 && e.min_fraction <= 1.0) {
                return Err(Error::invalid(format!("easy min fraction {} must be in (0, 1]", e.min_fraction)));
            }
            if let Some(p) = e.probability {
                if !(p > 0.0 && p < 1.0) {
                    return Err(Error::invalid(format!("easy probability {p} must be between 0 and 1")));
                }
            }
            if !(0.0..=1.0).contains(&e.keep_fraction) {
                return Err(Error::invalid(format!("easy keep fraction {} must be in [0, 1]", e.keep_fraction)));
            }
            if e.top_k == Some(0) {
                return Err(Error::invalid("easy top-k must be at least 1"));
            }
        }
        if let Some(c) = &self.contamination {
            if c.q3.is_some_and(|z| !z.is_finite()) || c.score_threshold.is_some_and(|t| !t.is_finite()) {
                return Err(Error::invalid("contamination thresholds must be finite numbers"));
            }
            if c.neighbours == 0 {
                return Err(Error::invalid("contamination neighbours must be at least 1"));
            }
        }
        if let Some(d) = &self.duplicates {
            if let Some(t) = d.threshold {
                if !(t > 0.0 && t <= 1.0) {
                    return Err(Error::invalid(format!("duplicate threshold {t} must be in (0, 1]")));
                }
            }
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
    /// Vectors for the duplicate stage: `dims` floats per item; items without
    /// a vector (`has_vector[i] == false`) take no part.
    pub vectors: Option<Vectors>,
    /// A reference score per model (higher = better).
    pub reference: Option<Vec<Option<f64>>>,
}

#[derive(Debug, Clone)]
pub struct Vectors {
    pub data: Vec<f32>,
    pub dims: usize,
    pub has_vector: Vec<bool>,
    /// `embeddings` or `hashed-ngrams`.
    pub features: &'static str,
}

/// One removed item and the evidence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Removed {
    pub id: String,
    /// `easy`, `contamination` or `duplicate`.
    pub reason: &'static str,
    /// Easy: fraction of the top models that answered correctly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_fraction_correct: Option<f64>,
    /// Easy (IRT rule): the smallest predicted P(correct) among the top models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_probability: Option<f64>,
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
}

impl Removed {
    fn new(id: &str, reason: &'static str) -> Removed {
        Removed {
            id: id.to_string(),
            reason,
            top_fraction_correct: None,
            min_probability: None,
            q3: None,
            correlated_with: None,
            score: None,
            duplicate_of: None,
            cosine: None,
        }
    }
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
    /// The threshold actually applied, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Easy: items that met the rule (removed + kept on purpose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged: Option<usize>,
    /// Duplicates: pairs found and groups formed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<usize>,
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

#[derive(Debug, Clone, Serialize)]
pub struct FilterReport {
    pub items: usize,
    pub models: usize,
    pub kept: Vec<String>,
    pub removed: Vec<Removed>,
    pub stages: Vec<Stage>,
    /// Kendall τ-b between the models' mean scores on the kept and on all items.
    pub kendall_tau_vs_full: f64,
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

/// What every stage reads.
pub(super) struct Shared<'a> {
    pub(super) m: &'a ResponseMatrix,
    /// Scores mapped into [0, 1], model-major, NaN where missing.
    pub(super) x: &'a [f32],
    /// The IRT fit on the whole matrix, and its model.
    pub(super) fit: &'a IrtFit,
    pub(super) irt: IrtModel,
    /// Models from strongest to weakest by mean score (ties: matrix order).
    pub(super) strongest: &'a [usize],
}

/// What the stages change as they run in turn: which items are still in,
/// why the others are out, and what the user should know.
pub(super) struct Sift {
    pub(super) alive: Vec<bool>,
    pub(super) removed: Vec<Removed>,
    pub(super) warnings: Vec<String>,
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
    let mut stages = Vec::new();

    // Models from strongest to weakest by mean score (ties: matrix order).
    let all: Vec<usize> = (0..n_items).collect();
    let means_all = model_means(&x, n_models, n_items, &all);
    let mut strongest: Vec<usize> = (0..n_models).collect();
    strongest.sort_by(|&a, &b| means_all[b].total_cmp(&means_all[a]).then(a.cmp(&b)));
    let shared = Shared { m, x: &x, fit: &fit, irt: options.irt, strongest: &strongest };
    let mut sift = Sift { alive: vec![true; n_items], removed: Vec::new(), warnings };

    // Stage 1: easy items.
    match &options.easy {
        None => stages.push(off("easy")),
        Some(e) => stages.push(easy::run(&shared, e, &mut sift)),
    }

    // Stage 2: contamination.
    match &options.contamination {
        None => stages.push(off("contamination")),
        Some(c) => stages.push(contamination::run(&shared, c, inputs.contamination_scores.as_ref(), &mut sift)?),
    }

    // Stage 3: near-duplicates.
    let mut duplicate_pairs = Vec::new();
    let mut duplicate_features = None;
    match (&options.duplicates, &inputs.vectors) {
        (None, _) => stages.push(off("duplicates")),
        (Some(_), None) => {
            let mut s = off("duplicates");
            s.rule = "skipped: no embeddings and no item texts".into();
            sift.warnings.push("the duplicate stage was skipped: give --embeddings or an items file with texts".into());
            stages.push(s);
        }
        (Some(d), Some(v)) => {
            let (stage, pairs) = duplicates::run(&shared, d, v, &mut sift)?;
            stages.push(stage);
            duplicate_pairs = pairs;
            duplicate_features = Some(v.features);
        }
    }

    let Sift { alive, removed, mut warnings } = sift;
    let kept_idx: Vec<usize> = (0..n_items).filter(|&i| alive[i]).collect();
    if kept_idx.is_empty() {
        return Err(Error::invalid("every item was removed; loosen the stage settings"));
    }
    let means_kept = model_means(&x, n_models, n_items, &kept_idx);
    let kendall_tau_vs_full = metrics::kendall_tau_b(&means_kept, &means_all);
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
        stages,
        kendall_tau_vs_full,
        reference,
        duplicate_pairs,
        duplicate_features,
        irt: options.irt,
        warnings,
    })
}

fn off(stage: &'static str) -> Stage {
    Stage { stage, ran: false, considered: 0, removed: 0, rule: "turned off".into(), threshold: None, flagged: None, pairs: None, groups: None }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::MatrixBuilder;
    use crate::rng::Rng;

    /// A 2PL matrix with planted easy, contaminated and duplicate items.
    struct Planted {
        m: ResponseMatrix,
        easy: Vec<usize>,
        contaminated: Vec<usize>,
        /// (original, copy) pairs; vectors for the duplicate stage.
        duplicates: Vec<(usize, usize)>,
        vectors: Vectors,
    }

    fn planted(seed: u64) -> Planted {
        let (n_models, n_items, dims) = (60, 400, 16);
        let mut rng = Rng::new(seed);
        let theta: Vec<f64> = (0..n_models).map(|_| rng.normal()).collect();
        let mut a: Vec<f64> = (0..n_items).map(|_| rng.log_normal(0.2, 0.3)).collect();
        let mut b: Vec<f64> = (0..n_items).map(|_| rng.normal()).collect();
        // Easy: every model answers; contaminated: hard items that the weaker
        // half of a leaked set of models answers anyway.
        let easy: Vec<usize> = (0..10).map(|k| 7 + 37 * k).collect();
        let contaminated: Vec<usize> = (0..8).map(|k| 11 + 41 * k).collect();
        for &i in &contaminated {
            a[i] = 1.5;
            b[i] = 2.0;
        }
        let leaked: Vec<bool> = (0..n_models).map(|_| rng.uniform() < 0.4).collect();
        let mut builder = MatrixBuilder::new((0..n_items).map(|i| format!("q{i}")).collect());
        let mut x = vec![vec![None; n_items]; n_models];
        for j in 0..n_models {
            for i in 0..n_items {
                let p = crate::irt::item::sigmoid(a[i] * (theta[j] - b[i]));
                let mut v = (rng.uniform() < p) as u8 as f32;
                if easy.contains(&i) || (contaminated.contains(&i) && leaked[j]) {
                    v = 1.0;
                }
                x[j][i] = Some(v);
            }
        }
        for (j, row) in x.iter().enumerate() {
            builder.push_row_unchecked(format!("m{j}"), row);
        }
        let m = builder.into_matrix();
        // Random vectors; three items copy another's vector with a little noise.
        let mut data: Vec<f32> = (0..n_items * dims).map(|_| rng.normal() as f32).collect();
        let duplicates = vec![(3usize, 203usize), (50, 250), (50, 350)];
        for &(src, dst) in &duplicates {
            for d in 0..dims {
                data[dst * dims + d] = data[src * dims + d] + 0.01 * rng.normal() as f32;
            }
        }
        Planted { m, easy, contaminated, duplicates, vectors: Vectors { data, dims, has_vector: vec![true; n_items], features: "embeddings" } }
    }

    #[test]
    fn finds_planted_easy_contaminated_and_duplicate_items_and_little_else() {
        let p = planted(3);
        let inputs = FilterInputs { vectors: Some(p.vectors.clone()), ..Default::default() };
        let r = filter(&p.m, &inputs, &FilterOptions::default()).unwrap();
        let reason = |id: usize| r.removed.iter().find(|x| x.id == format!("q{id}")).map(|x| x.reason);
        for &i in &p.easy {
            assert_eq!(reason(i), Some("easy"), "easy item q{i}");
        }
        let found = p.contaminated.iter().filter(|&&i| reason(i) == Some("contamination")).count();
        eprintln!("contamination: found {found} of {}, stage {:?}", p.contaminated.len(), r.stages[1]);
        assert!(found >= 7, "found {found} of {} contaminated items: {:?}", p.contaminated.len(), r.removed);
        let false_contamination = r.removed.iter().filter(|x| x.reason == "contamination" && !p.contaminated.iter().any(|&i| x.id == format!("q{i}"))).count();
        assert!(false_contamination <= 1, "{false_contamination} clean items flagged as contaminated: {:?}", r.removed);
        // 203 copies 3; 250 and 350 copy 50: two groups, three removals, the copies' partners kept.
        let dups: Vec<&Removed> = r.removed.iter().filter(|x| x.reason == "duplicate").collect();
        assert_eq!(dups.len(), 3, "{dups:?}");
        for &(src, dst) in &p.duplicates {
            let pair_removed = [src, dst].iter().filter(|&&i| reason(i) == Some("duplicate")).count();
            assert!(pair_removed >= 1, "one of q{src}, q{dst} is removed");
        }
        // 250 and 350 are near-copies of each other too.
        assert_eq!(r.duplicate_pairs.len(), 4, "{:?}", r.duplicate_pairs);
        let s = &r.stages[2];
        assert_eq!((s.groups, s.pairs, s.removed), (Some(2), Some(4), 3));
        // Easy items removed only from the planted ones (random data has few
        // items all 60 models answer).
        let easy_removed = r.removed.iter().filter(|x| x.reason == "easy").count();
        assert!(easy_removed <= p.easy.len() + 3, "{easy_removed} easy");
        assert_eq!(r.kept.len() + r.removed.len(), 400);
        assert!(r.kendall_tau_vs_full > 0.9, "τ {}", r.kendall_tau_vs_full);
    }

    #[test]
    fn clean_2pl_data_loses_almost_nothing_to_contamination() {
        let p = planted(5);
        // Rebuild without the planted effects: plain 2PL.
        let mut rng = Rng::new(9);
        let (n_models, n_items) = (60, 400);
        let theta: Vec<f64> = (0..n_models).map(|_| rng.normal()).collect();
        let items: Vec<(f64, f64)> = (0..n_items).map(|_| (rng.log_normal(0.2, 0.3), rng.normal())).collect();
        let mut builder = MatrixBuilder::new((0..n_items).map(|i| format!("q{i}")).collect());
        for (j, &t) in theta.iter().enumerate() {
            let row: Vec<Option<f32>> = items.iter().map(|&(a, b)| Some((rng.uniform() < crate::irt::item::sigmoid(a * (t - b))) as u8 as f32)).collect();
            builder.push_row_unchecked(format!("m{j}"), &row);
        }
        let m = builder.into_matrix();
        let options = FilterOptions { easy: None, duplicates: None, ..Default::default() };
        let r = filter(&m, &FilterInputs::default(), &options).unwrap();
        eprintln!("clean: {} removed, stage {:?}", r.removed.len(), r.stages[1]);
        assert!(r.removed.len() <= 1, "{:?}", r.removed);
        drop(p);
    }

    #[test]
    fn keep_fraction_threshold_and_user_scores() {
        let p = planted(3);
        let options = FilterOptions {
            easy: Some(EasyOptions { keep_fraction: 0.5, ..Default::default() }),
            contamination: Some(ContaminationOptions { q3: Some(2.0), score_threshold: Some(0.5), ..Default::default() }),
            duplicates: Some(DuplicateOptions { threshold: Some(0.999) }),
            ..Default::default()
        };
        let mut scores = vec![None; 400];
        scores[1] = Some(0.9);
        scores[2] = Some(0.1);
        let inputs = FilterInputs { vectors: Some(p.vectors.clone()), contamination_scores: Some(scores), ..Default::default() };
        let r = filter(&p.m, &inputs, &options).unwrap();
        let easy = &r.stages[0];
        assert_eq!(easy.removed, easy.flagged.unwrap() - (easy.flagged.unwrap() as f64 * 0.5).round() as usize);
        let cont: Vec<&str> = r.removed.iter().filter(|x| x.reason == "contamination").map(|x| x.id.as_str()).collect();
        assert_eq!(cont, vec!["q1"]);
        assert_eq!(r.stages[2].threshold, Some(0.999f32 as f64));
        // Deterministic.
        let again = filter(&p.m, &inputs, &options).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), serde_json::to_string(&again).unwrap());
        // A threshold on scores nobody gave is refused.
        let e = filter(&p.m, &FilterInputs::default(), &options).unwrap_err().to_string();
        assert!(e.contains("contamination' column"), "{e}");
    }
}
