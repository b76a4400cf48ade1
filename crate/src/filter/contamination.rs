//! Stage 2: items that are likely contaminated. Direct evidence removes an
//! item: the reference models answer it without its question (SMART's
//! answer-only test), or the items file scores it. The residual test —
//! items whose IRT residuals move together across models (local dependence,
//! Yen's Q3) — is a signal, reported unless asked to remove (see the module
//! doc of `filter`).

use super::easy::fraction_correct;
use super::{ContaminationOptions, FilterInputs, Removed, Shared, Sift, Stage, StageTask, Task};
use crate::error::Result;
use crate::irt::{FitOptions, IrtFit};
use crate::matrix::Kind;
use crate::rng::Rng;
use crate::similar;

/// Standardised residuals of `items` under `fit`, one vector per item over
/// the models, centred and scaled to unit length (missing cells 0), so a dot
/// product of two is their correlation over the models.
fn residual_vectors(fit: &IrtFit, items: &[usize], mut value: impl FnMut(usize, usize) -> f64) -> Vec<f32> {
    let n_models = fit.theta.len();
    let mut out = vec![0.0f32; items.len() * n_models];
    let mut res = vec![f64::NAN; n_models];
    for (r, &i) in items.iter().enumerate() {
        let row = &mut out[r * n_models..(r + 1) * n_models];
        let (mut sum, mut count) = (0.0f64, 0usize);
        let (mut first, mut varies) = (f64::NAN, false);
        for j in 0..n_models {
            res[j] = f64::NAN;
            let v = value(j, i);
            if v.is_nan() {
                continue;
            }
            if first.is_nan() {
                first = v;
            } else if v != first {
                varies = true;
            }
            let p = fit.items[i].expected(fit.theta[j]).clamp(0.01, 0.99);
            res[j] = (v - p) / (p * (1.0 - p)).sqrt();
            sum += res[j];
            count += 1;
        }
        // An item everyone answered the same way has residuals that are a
        // smooth function of θ alone: identical for all such items, and no
        // evidence of anything. It stays a zero row (correlation 0).
        if !varies {
            continue;
        }
        let mean = if count == 0 { 0.0 } else { sum / count as f64 };
        for j in 0..n_models {
            row[j] = if res[j].is_nan() { 0.0 } else { (res[j] - mean) as f32 };
        }
    }
    similar::normalize(&out, n_models)
}

/// Each row's `k`-th largest correlation with another row, and its `k` most
/// correlated rows.
fn kth_correlation(unit: &[f32], dims: usize, k: usize) -> Result<(Vec<f64>, Vec<Vec<u32>>)> {
    let (nb, _) = similar::search(unit, dims, k, None, 0)?;
    let n = unit.len() / dims.max(1);
    if nb.k < k {
        return Ok((vec![f64::NAN; n], vec![Vec::new(); n]));
    }
    Ok(((0..n).map(|r| nb.cosine[r * k + k - 1] as f64).collect(), (0..n).map(|r| nb.index[r * k..(r + 1) * k].to_vec()).collect()))
}

/// Items² × models × (1 + simulations) above which a task's residual test
/// is skipped (≈ a minute natively): MMLU-Pro's 12,032 items × 29 models
/// with its two simulations are 1.3·10¹⁰.
const MAX_RESIDUAL_WORK: f64 = 4e11;

/// Simulated null matrices per task: enough that about ten null values lie
/// above the (1 − rate) quantile, at most this many.
const MAX_SIMULATIONS: usize = 50;

/// What the residual test found in one task.
struct Residuals {
    /// Per considered item (in order): its statistic and its partners (task-local positions).
    q3: Vec<f64>,
    partners: Vec<Vec<u32>>,
    threshold: f64,
    /// Responses simulated from the fit already reach a correlation of one:
    /// with few models, items share response patterns by chance.
    powerless: bool,
}

/// The far-out fence Q3 + 3·IQR of `values` (Tukey): where an item's
/// residual dependence stops being the task's usual and becomes its own.
/// `None` with fewer than 20 values, where quartiles say little.
fn fence(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 20 {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
    };
    let (q1, q3) = (q(0.25), q(0.75));
    Some(q3 + 3.0 * (q3 - q1))
}

/// The residual test in one task: a fit of the task's considered items on
/// the models that answered any of them, each item's `neighbours`-th largest
/// Q3, and the threshold (given, or the simulated (1 − rate) quantile).
fn residual_test(s: &Shared, c: &ContaminationOptions, task: &Task, items: &[usize], sift: &mut Sift) -> Option<Residuals> {
    let (n_items, x) = (s.m.n_items(), s.x);
    let label = task.label();
    let models: Vec<usize> = (0..s.m.n_models()).filter(|&j| items.iter().any(|&i| !x[j * n_items + i].is_nan())).collect();
    if items.len() <= c.neighbours || models.len() < 3 {
        return None;
    }
    let cost = (items.len() as f64).powi(2) * models.len() as f64;
    let wanted = ((10.0 / (c.rate * items.len() as f64)).ceil() as usize).clamp(1, MAX_SIMULATIONS);
    let affordable = (MAX_RESIDUAL_WORK / cost).floor() as usize;
    if affordable < 2 {
        sift.warnings.push(format!(
            "contamination: the residual test was skipped in task '{label}': {} items' residuals over {} models ({cost:.1e} multiply-adds per comparison) would take too long; filter a sample of the models to run it",
            items.len(),
            models.len()
        ));
        return None;
    }
    let simulations = if c.q3.is_some() { 0 } else { wanted.min(affordable - 1) };
    let sub = s.m.select(&models, items);
    let fit = match crate::irt::fit(&sub, &FitOptions { model: s.irt, ..Default::default() }, &mut |_| true) {
        Ok(f) => f,
        Err(e) => {
            sift.warnings.push(format!("contamination: the residual test was skipped in task '{label}': its IRT fit failed ({e})"));
            return None;
        }
    };
    let local: Vec<usize> = (0..items.len()).collect();
    let observed = |j: usize, r: usize| x[models[j] * n_items + items[r]] as f64;
    let (q3, partners) = kth_correlation(&residual_vectors(&fit, &local, observed), models.len(), c.neighbours).ok()?;
    let mut powerless = false;
    let threshold = match c.q3 {
        Some(t) => t,
        None => {
            // The same statistic on responses simulated from the task's fit
            // (the same observed cells): locally independent by
            // construction, with the fit's own structure. Cells are drawn
            // item by item, model by model: a fixed order.
            let mut rng = Rng::new(c.seed ^ 0x5155_4133);
            let mut null: Vec<f64> = Vec::with_capacity(simulations * items.len());
            for _ in 0..simulations {
                let unit = residual_vectors(&fit, &local, |j, r| {
                    if observed(j, r).is_nan() { f64::NAN } else { f64::from(u8::from(rng.uniform() < fit.items[r].expected(fit.theta[j]))) }
                });
                null.extend(kth_correlation(&unit, models.len(), c.neighbours).ok()?.0.into_iter().filter(|v| v.is_finite()));
            }
            null.sort_by(f64::total_cmp);
            if null.is_empty() {
                return None;
            }
            let rank = (((1.0 - c.rate) * null.len() as f64).ceil() as usize).clamp(1, null.len());
            let t = null[rank - 1];
            powerless = t > 0.999;
            match fence(&q3).filter(|_| c.fence) {
                Some(f) if f > t => f,
                _ => t,
            }
        }
    };
    Some(Residuals { q3, partners, threshold, powerless })
}

/// The reference models of the answer-only test for a task: the answer-only
/// matrix's models in order of strength — by their mean on the task in the
/// main matrix where they are in it, after them the others by their mean on
/// the task's answer-only items.
fn answer_only_order(s: &Shared, task: &Task, answers: &super::AnswerOnly) -> Vec<usize> {
    let strongest = s.strongest(task);
    let rank = |row: Option<usize>| row.and_then(|r| strongest.iter().position(|&j| j == r));
    let mean = |scores: &[f32]| {
        let v: Vec<f64> = task.items.iter().map(|&i| scores[i] as f64).filter(|v| !v.is_nan()).collect();
        if v.is_empty() { f64::NEG_INFINITY } else { v.iter().sum::<f64>() / v.len() as f64 }
    };
    let mut order: Vec<usize> = (0..answers.models.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (rank(answers.models[a].0), rank(answers.models[b].0));
        match (ra, rb) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => mean(&answers.models[b].1).total_cmp(&mean(&answers.models[a].1)).then(a.cmp(&b)),
        }
    });
    order
}

/// Removes each task's likely contaminated items (see the module doc).
pub(super) fn run(s: &Shared, c: &ContaminationOptions, inputs: &FilterInputs, sift: &mut Sift) -> Result<Stage> {
    let (ids, rule) = (s.m.item_ids(), s.reference);
    let scores = inputs.contamination_scores.as_ref();
    if c.score_threshold.is_some() && scores.is_none() {
        return Err(crate::error::Error::invalid("a contamination score threshold needs a 'contamination' column in the items file"));
    }
    let binary = s.m.kind() == Kind::Binary;
    if !binary {
        sift.warnings.push(
            "the contamination test on residuals is for binary responses; on continuous scores only answer-only responses and the items file's contamination scores flag items".into(),
        );
    }
    let (mut considered_total, mut flagged_total, mut removed_total) = (0, 0, 0);
    let mut tasks = Vec::new();
    let mut thresholds: Vec<f64> = Vec::new();
    let mut powerless: Vec<String> = Vec::new();
    for task in s.tasks {
        let items: Vec<usize> = task.items.iter().copied().filter(|&i| sift.alive[i]).collect();
        let residuals = if binary { residual_test(s, c, task, &items, sift) } else { None };
        if let Some(r) = &residuals {
            thresholds.push(r.threshold);
            if r.powerless {
                powerless.push(task.label());
            }
        }
        let answer_order = inputs.answer_only.as_ref().map(|a| answer_only_order(s, task, a));
        let mut remove: Vec<(usize, Removed)> = Vec::new();
        let mut signals: Vec<Removed> = Vec::new();
        for (p, &i) in items.iter().enumerate() {
            let mut evidence = Removed::new(&ids[i], "contamination", task.name.as_deref());
            let mut direct = false;
            if let (Some(answers), Some(order)) = (&inputs.answer_only, &answer_order) {
                let refs: Vec<f32> = order.iter().map(|&a| answers.models[a].1[i]).filter(|v| !v.is_nan()).take(rule.top_k).collect();
                if let Some(f) = fraction_correct(refs.into_iter(), rule) {
                    evidence.answer_only_fraction = Some(f);
                    direct = true;
                }
            }
            let score = scores.and_then(|sc| sc[i]);
            if matches!((c.score_threshold, score), (Some(t), Some(v)) if v >= t) {
                evidence.score = score;
                direct = true;
            }
            let mut signal = false;
            if let Some(r) = &residuals {
                // A simulated threshold must be beaten by more than float rounding.
                let margin = if c.q3.is_some() { 0.0 } else { 1e-4 };
                if r.q3[p].is_finite() && r.q3[p] >= r.threshold + margin {
                    evidence.q3 = Some(r.q3[p]);
                    evidence.correlated_with = Some(r.partners[p].iter().map(|&q| ids[items[q as usize]].clone()).collect());
                    signal = true;
                }
            }
            if direct || (signal && c.remove_flagged) {
                remove.push((i, evidence));
            } else if signal {
                evidence.kept_because = Some("signal");
                signals.push(evidence);
            }
        }
        let flagged = remove.len() + signals.len();
        let n_remove = remove.len();
        let capped = sift.remove_capped(s, "contamination", task, remove);
        sift.flagged.extend(signals);
        let removed = if capped { 0 } else { n_remove };
        considered_total += items.len();
        flagged_total += flagged;
        removed_total += removed;
        tasks.push(StageTask { task: task.label(), items: task.items.len(), considered: items.len(), flagged, removed, capped });
    }
    if !powerless.is_empty() {
        let which = if s.tasks.len() == 1 {
            "this matrix".to_string()
        } else {
            let names: Vec<&str> = powerless.iter().map(String::as_str).collect();
            format!("{} of the {} tasks ({})", powerless.len(), s.tasks.len(), crate::matrix::list_preview(&names))
        };
        sift.warnings.push(format!(
            "contamination: the residual test has no power in {which}: responses simulated from the fit already reach a residual correlation of 1 (with {} models, items share response patterns by chance); only answer-only responses or contamination scores can flag items there",
            s.m.n_models()
        ));
    }
    let mut parts = Vec::new();
    if inputs.answer_only.is_some() {
        parts.push(format!(
            "{} of the {} strongest models answer the item correctly without its question (answer-only responses)",
            if rule.min_fraction == 1.0 { "all".to_string() } else { format!("at least {}", super::fraction_words(rule.min_fraction)) },
            rule.top_k
        ));
    }
    if let Some(t) = c.score_threshold {
        parts.push(format!("the items file's contamination score is at least {t}"));
    }
    let mut rule_text =
        if parts.is_empty() { "no direct evidence given (answer-only responses or contamination scores)".to_string() } else { parts.join("; or ") };
    if binary {
        rule_text.push_str(&format!(
            ". Signal{}: the item's IRT residuals correlate (Yen's Q3) with those of each of its {} most correlated items, under a {} fit per task, beyond {}",
            if c.remove_flagged { ", removed" } else { ", reported, not removed" },
            c.neighbours,
            s.irt.as_str(),
            match c.q3 {
                Some(t) => format!("the given {t}"),
                None => format!(
                    "what responses simulated from that fit reach on {}% of items{}",
                    100.0 * c.rate,
                    if c.fence { ", and beyond the far-out fence (Q3 + 3·IQR) of the task's own values" } else { "" }
                ),
            }
        ));
    }
    let mut brief: Vec<String> = Vec::new();
    if inputs.answer_only.is_some() {
        brief.push("right without the question".into());
    }
    if let Some(t) = c.score_threshold {
        brief.push(format!("contamination score ≥ {t}"));
    }
    if binary {
        brief.push(format!("residuals tied to similar items' ({})", if c.remove_flagged { "removed" } else { "reported only" }));
    }
    let brief = if brief.is_empty() { "no evidence given".to_string() } else { brief.join("; or ") };
    Ok(Stage {
        brief,
        stage: "contamination",
        ran: true,
        considered: considered_total,
        removed: removed_total,
        rule: rule_text,
        threshold: thresholds.iter().copied().reduce(f64::max),
        flagged: Some(flagged_total),
        pairs: None,
        groups: None,
        tasks,
        examples: Vec::new(),
        flagged_by_top_k: None,
    })
}
