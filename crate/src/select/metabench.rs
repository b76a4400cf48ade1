//! `metabench`: a two-stage selector after Kipnis et al. (2024, "metabench —
//! A Sparse Benchmark of Reasoning and Knowledge in Large Language Models").
//! metabench first discards items that carry little signal, then picks items
//! by IRT Fisher information, with a penalty on the subset's size in the
//! selection objective. What this implements, exactly:
//!
//! 1. Filter, on the training models: drop items whose score standard
//!    deviation is below 1% of the matrix's score range (near-constant:
//!    nearly every model right, or nearly every model wrong) and items whose
//!    item–rest correlation (Pearson correlation of the item with the mean of
//!    the other items, i.e. the corrected point-biserial on binary data) is
//!    below 0.05 (items that do not track ability, often mislabelled). When
//!    fewer items than the budget survive, the dropped items come back in
//!    order of standard deviation.
//! 2. Select greedily on the IRT fit of the training models, maximising
//!    F(S) = mean over θ of ln(1 + Σ_{i∈S} Iᵢ(θ)) − λ·|S|, with θ at the 41
//!    quantiles (1/82 … 81/82) of the training models' abilities. The
//!    logarithm gives diminishing returns, so the information is spread
//!    over the ability range instead of piled where most items are (what
//!    plain `irt-info` does); selection stops at the budget, or earlier when
//!    the best gain falls below λ (default 10⁻⁴: the size penalty), so a
//!    subset may be smaller than its budget.
//!
//! Weights are uniform; the subset is not representative, so estimate with
//! `irt` or `pirt`. metabench's own hyper-parameter search (cross-validated
//! numbers of quantile bins and penalty) and its factor-analysis stage are
//! not reproduced.

use crate::irt::IrtFit;
use crate::matrix::ResponseMatrix;

/// Minimum standard deviation, as a fraction of the score range.
pub const MIN_SD_FRACTION: f64 = 0.01;
/// Minimum item–rest correlation.
pub const MIN_ITEM_REST: f64 = 0.05;
/// Size penalty λ on the mean log-information objective.
pub const SIZE_PENALTY: f64 = 1e-4;
const QUANTILES: usize = 41;

/// Stage 1: the stratum items that pass the filter, topped up to `need`
/// with the best dropped ones. Item–rest correlations and the score range
/// are over `scope`: the stratum itself, or the group a difficulty bin was
/// cut from (a bin's own rest is too narrow to say who is able).
pub(crate) fn filter(m: &ResponseMatrix, train: &[usize], stratum: &[usize], scope: &[usize], need: usize) -> Vec<usize> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    // Each training model's total over the scope, for item–rest correlations.
    let totals: Vec<(f64, usize)> = train
        .iter()
        .map(|&j| {
            scope.iter().filter_map(|&i| m.get(j, i).map(f64::from)).fold((0.0, 0), |(s, n), x| {
                lo = lo.min(x);
                hi = hi.max(x);
                (s + x, n + 1)
            })
        })
        .collect();
    let range = if hi > lo { hi - lo } else { 1.0 };
    let stats: Vec<(f64, f64)> = stratum
        .iter()
        .map(|&i| {
            let pairs: Vec<(f64, f64)> = train
                .iter()
                .zip(&totals)
                .filter_map(|(&j, &(sum, n))| {
                    let x = f64::from(m.get(j, i)?);
                    // Mean of the other items the model answered.
                    (n > 1).then(|| (x, (sum - x) / (n - 1) as f64))
                })
                .collect();
            let k = pairs.len() as f64;
            if pairs.len() < 2 {
                return (0.0, 0.0);
            }
            let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / k, pairs.iter().map(|p| p.1).sum::<f64>() / k);
            let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
            for &(x, y) in &pairs {
                sxx += (x - mx) * (x - mx);
                syy += (y - my) * (y - my);
                sxy += (x - mx) * (y - my);
            }
            let sd = (sxx / k).sqrt();
            let r = if sxx > 0.0 && syy > 0.0 { sxy / (sxx * syy).sqrt() } else { 0.0 };
            (sd, r)
        })
        .collect();
    let keep = |p: usize| stats[p].0 >= MIN_SD_FRACTION * range && stats[p].1 >= MIN_ITEM_REST;
    let mut kept: Vec<usize> = (0..stratum.len()).filter(|&p| keep(p)).collect();
    if kept.len() < need {
        let mut dropped: Vec<usize> = (0..stratum.len()).filter(|&p| !keep(p)).collect();
        dropped.sort_by(|&a, &b| stats[b].0.total_cmp(&stats[a].0).then(a.cmp(&b)));
        kept.extend(dropped.into_iter().take(need - kept.len()));
        kept.sort_unstable();
    }
    kept.into_iter().map(|p| stratum[p]).collect()
}

/// Stage 2: greedy penalised log-information selection of at most `k` of
/// `candidates`; returns them in choice order.
pub(crate) fn select(fit: &IrtFit, candidates: &[usize], k: usize, penalty: f64) -> Vec<usize> {
    let family = fit.model.family();
    let mut thetas = fit.theta.clone();
    thetas.sort_by(f64::total_cmp);
    if thetas.is_empty() {
        thetas.push(0.0);
    }
    let grid: Vec<f64> = (1..=QUANTILES)
        .map(|q| {
            let pos = q as f64 / (QUANTILES + 1) as f64 * (thetas.len() - 1) as f64;
            let (low, frac) = (pos.floor() as usize, pos - pos.floor());
            let high = (low + 1).min(thetas.len() - 1);
            thetas[low] * (1.0 - frac) + thetas[high] * frac
        })
        .collect();
    let info: Vec<Vec<f64>> = crate::parallel::map(candidates.len(), |p| grid.iter().map(|&t| fit.items[candidates[p]].information(t, family)).collect());
    let mut total = vec![0.0f64; grid.len()];
    let mut taken = vec![false; candidates.len()];
    let mut chosen = Vec::new();
    let q = grid.len() as f64;
    while chosen.len() < k.min(candidates.len()) {
        let gains: Vec<f64> = crate::parallel::map(candidates.len(), |p| {
            if taken[p] {
                return f64::NEG_INFINITY;
            }
            info[p].iter().zip(&total).map(|(i, t)| crate::math::ln_1p(i / (1.0 + t))).sum::<f64>() / q
        });
        let mut best = (f64::NEG_INFINITY, usize::MAX);
        for (p, &g) in gains.iter().enumerate() {
            if g > best.0 {
                best = (g, p);
            }
        }
        // Always keep one item; past that, stop when an item is not worth its size.
        if best.1 == usize::MAX || (!chosen.is_empty() && best.0 < penalty) {
            break;
        }
        taken[best.1] = true;
        for (t, i) in total.iter_mut().zip(&info[best.1]) {
            *t += i;
        }
        chosen.push(candidates[best.1]);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irt::{FitOptions, ItemParams};
    use crate::matrix::MatrixBuilder;
    use crate::rng::Rng;

    #[test]
    fn filter_drops_constant_and_reversed_items_and_selection_spreads_information() {
        let mut rng = Rng::new(2);
        let n_items = 60;
        let items: Vec<ItemParams> = (0..n_items).map(|i| ItemParams::new(1.5, (i as f64 - 30.0) / 12.0)).collect();
        let mut b = MatrixBuilder::new((0..n_items + 2).map(|i| format!("i{i}")).collect());
        for j in 0..400 {
            let t = rng.normal();
            let mut row: Vec<Option<f32>> = items.iter().map(|p| Some((rng.uniform() < p.expected(t)) as u8 as f32)).collect();
            // Item 60: everyone right. Item 61: the weakest models right (reversed).
            row.push(Some(1.0));
            row.push(Some((t < 0.0) as u8 as f32));
            b.push_row_unchecked(format!("m{j}"), &row);
        }
        let m = b.into_matrix();
        let train: Vec<usize> = (0..400).collect();
        let stratum: Vec<usize> = (0..n_items + 2).collect();
        let kept = filter(&m, &train, &stratum, &stratum, 10);
        assert!(!kept.contains(&60) && !kept.contains(&61), "kept {kept:?}");
        assert!(kept.len() >= 55);
        // Asking for more than survive brings the dropped back.
        assert_eq!(filter(&m, &train, &stratum, &stratum, 62).len(), 62);

        let fit = crate::irt::fit(&m, &FitOptions::default(), &mut |_| true).unwrap();
        let chosen = select(&fit, &kept, 8, 0.0);
        assert_eq!(chosen.len(), 8);
        // Difficulties spread over the ability range, not bunched at the mode.
        let mut b: Vec<f64> = chosen.iter().map(|&i| fit.items[i].b).collect();
        b.sort_by(f64::total_cmp);
        assert!(b[0] < -0.7 && b[7] > 0.7, "difficulties {b:?}");
        // A large penalty stops after the first item.
        assert_eq!(select(&fit, &kept, 8, 10.0).len(), 1);
    }
}
