//! Stage 2: items whose IRT residuals move together across models (local
//! dependence, Yen's Q3), or that the items file scores as contaminated.

use super::{ContaminationOptions, Removed, Shared, Sift, Stage};
use crate::error::{Error, Result};
use crate::irt::IrtFit;
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

/// Items² × models above which the contamination stage refuses to run
/// (≈ a minute natively): MMLU-Pro's 12,032 items × 29 models are 4·10⁹.
const MAX_RESIDUAL_WORK: f64 = 4e11;

/// Removes the likely contaminated items of `sift`'s kept ones; `scores`
/// are the items file's contamination scores, if it has them.
pub(super) fn run(s: &Shared, c: &ContaminationOptions, scores: Option<&Vec<Option<f64>>>, sift: &mut Sift) -> Result<Stage> {
    let (n_models, n_items) = (s.m.n_models(), s.m.n_items());
    let (ids, x, fit) = (s.m.item_ids(), s.x, s.fit);
    let considered: Vec<usize> = (0..n_items).filter(|&i| sift.alive[i]).collect();
    if c.score_threshold.is_some() && scores.is_none() {
        return Err(Error::invalid("a contamination score threshold needs a 'contamination' column in the items file"));
    }
    let binary = s.m.kind() == Kind::Binary;
    let cost = if binary { (considered.len() as f64).powi(2) * n_models as f64 } else { 0.0 };
    if cost > MAX_RESIDUAL_WORK {
        return Err(Error::invalid(format!(
            "the contamination test would compare {} items' residuals over {n_models} models ({cost:.1e} multiply-adds, twice): too slow; turn the stage off or filter a sample of the models",
            considered.len()
        )));
    }
    let observed = |j: usize, i: usize| x[j * n_items + i] as f64;
    let threshold = if !binary {
        sift.warnings.push(
            "the contamination test on residuals is for binary responses; on continuous scores only the items file's contamination scores flag items".into(),
        );
        f64::INFINITY
    } else {
        match c.q3 {
            Some(t) => t,
            None => {
                // The same statistic on responses simulated from the fit:
                // locally independent by construction, with the fit's own
                // structure (items of similar difficulty share response
                // patterns when there are few models). Cells are drawn
                // item by item, model by model: a fixed order.
                let mut rng = Rng::new(c.seed ^ 0x5155_4133);
                let null_unit = residual_vectors(fit, &considered, |j, i| {
                    if x[j * n_items + i].is_nan() { f64::NAN } else { (rng.uniform() < fit.items[i].expected(fit.theta[j])) as u8 as f64 }
                });
                let (null, _) = kth_correlation(&null_unit, n_models, c.neighbours)?;
                null.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max)
            }
        }
    };
    let (q3, partners) = if binary {
        kth_correlation(&residual_vectors(fit, &considered, observed), n_models, c.neighbours)?
    } else {
        (vec![f64::NAN; considered.len()], vec![Vec::new(); considered.len()])
    };
    if binary && c.q3.is_none() && threshold > 0.999 {
        sift.warnings.push(format!(
            "the contamination test has no power here: responses simulated from the fit already reach a residual correlation of {threshold:.4} (with {n_models} models, items share response patterns by chance); only the items file's contamination scores can flag items"
        ));
    }
    let mut n_removed = 0;
    for (r, &i) in considered.iter().enumerate() {
        // A simulated threshold must be beaten by more than float rounding.
        let margin = if c.q3.is_some() { 0.0 } else { 1e-4 };
        let by_fit = q3[r].is_finite() && q3[r] >= threshold + margin;
        let score = scores.and_then(|s| s[i]);
        let by_score = matches!((c.score_threshold, score), (Some(t), Some(s)) if s >= t);
        if by_fit || by_score {
            let mut rem = Removed::new(&ids[i], "contamination");
            if q3[r].is_finite() {
                rem.q3 = Some(q3[r]);
                rem.correlated_with = Some(partners[r].iter().map(|&p| ids[considered[p as usize]].clone()).collect());
            }
            rem.score = score;
            sift.alive[i] = false;
            sift.removed.push(rem);
            n_removed += 1;
        }
    }
    let mut rule = if !binary {
        "residual test skipped: it is for binary responses".to_string()
    } else {
        format!(
            "the item's IRT residuals correlate (Yen's Q3) with those of each of its {} most correlated items at {threshold:.4} or more under the {} fit ({})",
            c.neighbours,
            s.irt.as_str(),
            if c.q3.is_some() { "given" } else { "beyond the largest value on responses simulated from the fit" }
        )
    };
    if let Some(t) = c.score_threshold {
        rule.push_str(&format!(", or the items file's contamination score ≥ {t}"));
    }
    Ok(Stage {
        stage: "contamination",
        ran: true,
        considered: considered.len(),
        removed: n_removed,
        rule,
        threshold: threshold.is_finite().then_some(threshold),
        flagged: None,
        pairs: None,
        groups: None,
    })
}
