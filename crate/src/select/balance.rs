//! `metric-balance`: a subset whose models' mean scores match the full set's
//! under every automatic metric at once, chosen by greedy moment matching.
//!
//! What a subset is for in subset2evaluate's protocol (Zouhar et al. 2025,
//! "How to Select Datapoints for Efficient Human Evaluation of NLG
//! Models?") is to rank the systems by their mean human score as the full
//! set would. A subset's mean differs from the full mean by a sampling error;
//! the part of that error that automatic metrics can see is removed by
//! choosing items whose metric profile averages to the full set's. Unlike
//! `metric-cons`, which prefers items that agree with the metric's own
//! system ranking (and so inherits that ranking's disagreements with the
//! humans), balancing has no preferred direction: it only makes the subset
//! look like the whole set, to every metric given.
//!
//! Features. For metric m and item i, the training models' scores are
//! centred over the models observed on the item (an item's overall level
//! does not change a ranking, only the differences between models do);
//! unobserved cells are 0; each metric is divided by the root mean square of
//! its centred cells, so that every metric weighs the same whatever its
//! scale (BLEU in 0–100, MetricX in 0–25 reversed…). fᵢ concatenates the
//! metrics' centred columns (dimension Σₘ models-of-m). A metric that is
//! constant across models on every item carries no information and is left
//! out.
//!
//! Selection. With μ the mean of fᵢ over the stratum and S the items chosen so
//! far (|S| = t − 1), step t adds the item minimising ‖(Σ_S f + fᵢ)/t − μ‖²,
//! the squared maximum mean discrepancy under a linear kernel: greedy
//! kernel herding (Chen, Welling & Smola 2010, "Super-Samples from Kernel
//! Herding", UAI; the greedy MMD-minimising variant). Expanding the norm,
//! the step minimises 2·(Σ_S f/t − μ)·fᵢ + ‖fᵢ‖²/t; ties go to the earlier
//! item. Each prefix of the order is the subset at that budget (so every
//! budget's subset extends the smaller ones'), weighted uniformly — moment
//! matching is about the plain mean. Under a cost budget the order is taken
//! while it fits, as the other ordering methods do.
//!
//! The metric ensemble: every metric file given (`--metric-scores`
//! repeated, or a folder of them); without one, the training models' own
//! responses, which makes it a representative subset for the models'
//! differences on benchmarks without automatic metrics.
//!
//! Cost: O(k · n · d) for k chosen of n items with d features.

/// Centred, per-metric-scaled features of the stratum's items: `n × dims`
/// row-major (row p is `stratum[p]`), and `dims`. `metrics[m]` is metric m's
/// rows (one per model, indexed by matrix item).
pub(crate) fn features(metrics: &[Vec<&[Option<f64>]>], stratum: &[usize]) -> (Vec<f64>, usize) {
    let n = stratum.len();
    let mut blocks: Vec<(usize, Vec<f64>)> = Vec::new();
    for rows in metrics {
        let r = rows.len();
        if r < 2 {
            continue;
        }
        let mut block = vec![0.0; n * r];
        let (mut sum_sq, mut cells) = (0.0, 0usize);
        for (p, &i) in stratum.iter().enumerate() {
            let (mut sum, mut count) = (0.0, 0usize);
            for row in rows {
                if let Some(x) = row[i].filter(|x| x.is_finite()) {
                    sum += x;
                    count += 1;
                }
            }
            if count < 2 {
                continue;
            }
            let mean = sum / count as f64;
            for (q, row) in rows.iter().enumerate() {
                if let Some(x) = row[i].filter(|x| x.is_finite()) {
                    let d = x - mean;
                    block[p * r + q] = d;
                    sum_sq += d * d;
                    cells += 1;
                }
            }
        }
        let rms = if cells > 0 { (sum_sq / cells as f64).sqrt() } else { 0.0 };
        if !(rms > 0.0) || !rms.is_finite() {
            continue;
        }
        block.iter_mut().for_each(|x| *x /= rms);
        blocks.push((r, block));
    }
    let dims: usize = blocks.iter().map(|b| b.0).sum();
    let mut out = vec![0.0; n * dims];
    for p in 0..n {
        let mut at = p * dims;
        for (r, block) in &blocks {
            out[at..at + r].copy_from_slice(&block[p * r..(p + 1) * r]);
            at += r;
        }
    }
    (out, dims)
}

/// The first `k` positions (into the feature rows) of the greedy
/// moment-matching order. With no features (`dims` 0) every item is as good
/// as any other and the order is the item order.
pub(crate) fn order(features: &[f64], dims: usize, k: usize) -> Vec<usize> {
    if dims == 0 {
        return (0..k).collect();
    }
    let n = features.len() / dims;
    let k = k.min(n);
    let row = |p: usize| &features[p * dims..(p + 1) * dims];
    let mut mu = vec![0.0; dims];
    for p in 0..n {
        for (m, x) in mu.iter_mut().zip(row(p)) {
            *m += x;
        }
    }
    mu.iter_mut().for_each(|m| *m /= n as f64);
    let norms: Vec<f64> = (0..n).map(|p| row(p).iter().map(|x| x * x).sum()).collect();
    let mut sum = vec![0.0; dims];
    let mut taken = vec![false; n];
    let mut out = Vec::with_capacity(k);
    let mut gap = vec![0.0; dims];
    for t in 1..=k {
        let tf = t as f64;
        for ((g, s), m) in gap.iter_mut().zip(&sum).zip(&mu) {
            *g = s / tf - m;
        }
        let gap = &gap;
        let scores = crate::parallel::map(n, |p| {
            if taken[p] {
                return f64::INFINITY;
            }
            let dot: f64 = gap.iter().zip(row(p)).map(|(g, x)| g * x).sum();
            2.0 * dot + norms[p] / tf
        });
        let mut best = None;
        for (p, &s) in scores.iter().enumerate() {
            if !taken[p] && best.is_none_or(|(_, b)| s < b) {
                best = Some((p, s));
            }
        }
        let Some((p, _)) = best else { break };
        taken[p] = true;
        out.push(p);
        for (s, x) in sum.iter_mut().zip(row(p)) {
            *s += x;
        }
    }
    out
}

/// ‖mean of the chosen rows − mean of all rows‖²: how far a subset's metric
/// profile is from the full set's (what `order` greedily minimises).
#[cfg(test)]
pub(crate) fn discrepancy(features: &[f64], dims: usize, chosen: &[usize]) -> f64 {
    if dims == 0 || chosen.is_empty() {
        return 0.0;
    }
    let n = features.len() / dims;
    (0..dims)
        .map(|d| {
            let all = (0..n).map(|p| features[p * dims + d]).sum::<f64>() / n as f64;
            let part = chosen.iter().map(|&p| features[p * dims + d]).sum::<f64>() / chosen.len() as f64;
            (part - all) * (part - all)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(table: &[Vec<f64>]) -> Vec<Vec<Option<f64>>> {
        table.iter().map(|r| r.iter().map(|&x| Some(x)).collect()).collect()
    }

    #[test]
    fn features_are_centred_per_item_and_scaled_per_metric() {
        // Two models; item 0 separates them by 2, item 1 by 0, item 2 by 4.
        let a = rows(&[vec![1.0, 5.0, 2.0], vec![3.0, 5.0, 6.0]]);
        let a_ref: Vec<&[Option<f64>]> = a.iter().map(Vec::as_slice).collect();
        let (f, dims) = features(std::slice::from_ref(&a_ref), &[0, 1, 2]);
        assert_eq!(dims, 2);
        // Centred: (−1, 1), (0, 0), (−2, 2); RMS over 6 cells = sqrt(10/6).
        let s = (10.0f64 / 6.0).sqrt();
        let want = [-1.0 / s, 1.0 / s, 0.0, 0.0, -2.0 / s, 2.0 / s];
        for (x, w) in f.iter().zip(want) {
            assert!((x - w).abs() < 1e-12, "{f:?}");
        }
        // An affine change of the metric's scale changes nothing.
        let b = rows(&[vec![1000.0 * 1.0 + 7.0, 1000.0 * 5.0 + 7.0, 1000.0 * 2.0 + 7.0], vec![3007.0, 5007.0, 6007.0]]);
        let b_ref: Vec<&[Option<f64>]> = b.iter().map(Vec::as_slice).collect();
        let (g, _) = features(&[b_ref], &[0, 1, 2]);
        for (x, y) in f.iter().zip(&g) {
            assert!((x - y).abs() < 1e-12);
        }
        // A constant metric is left out; a missing cell is 0 and the item is centred over the rest.
        let c = rows(&[vec![4.0, 4.0, 4.0], vec![4.0, 4.0, 4.0]]);
        let c_ref: Vec<&[Option<f64>]> = c.iter().map(Vec::as_slice).collect();
        assert_eq!(features(&[c_ref.clone(), a_ref.clone()], &[0, 1, 2]).1, 2);
        let d = [vec![Some(1.0), None, Some(0.0)], vec![Some(3.0), Some(9.0), Some(2.0)], vec![Some(2.0), Some(9.0), Some(1.0)]];
        let d_ref: Vec<&[Option<f64>]> = d.iter().map(Vec::as_slice).collect();
        let (h, dims) = features(&[d_ref], &[0, 1, 2]);
        assert_eq!(dims, 3);
        // Item 1: models 1 and 2 tie at 9 around their own mean, model 0 unobserved.
        assert_eq!(&h[3..6], &[0.0, 0.0, 0.0]);
        assert!(h[0] < 0.0 && h[1] > 0.0 && h[2] == 0.0);
    }

    #[test]
    fn greedy_order_on_a_known_configuration() {
        // One dimension, symmetric around 0: values +3, +1, 0, −1, −3 (mean 0).
        // Step 1 takes 0; step 2 the smallest |x| (+1 before −1 by index);
        // step 3 cancels it with −1; step 4 takes +3 (|(+3)/4| = |(−3)/4|, index
        // order); step 5 the last.
        let f = [3.0, 1.0, 0.0, -1.0, -3.0];
        assert_eq!(order(&f, 1, 5), vec![2, 1, 3, 0, 4]);
        assert_eq!(order(&f, 1, 2), vec![2, 1]);
        // Mean not 0: values 0, 2, 4, 10 (mean 4): 4 first, then the pair
        // averaging nearest 4 with it: (4 + 2)/2 = 3 vs (4 + 10)/2 = 7 vs 2.
        assert_eq!(order(&[0.0, 2.0, 4.0, 10.0], 1, 2), vec![2, 1]);
        // No features: item order.
        assert_eq!(order(&[], 0, 3), vec![0, 1, 2]);
    }

    #[test]
    fn matches_the_full_profile_better_than_random_subsets() {
        // 40 items × 6 models of a noisy metric: the greedy subset of 8 must be
        // closer to the full profile than 95% of 200 random subsets of 8, and
        // than a fifth of their median (greedy is not optimal: a lucky random
        // draw can beat it, but rarely).
        let mut rng = crate::rng::Rng::new(7);
        let table: Vec<Vec<f64>> = (0..6).map(|j| (0..40).map(|_| j as f64 * 0.1 + rng.normal()).collect()).collect();
        let r = rows(&table);
        let r_ref: Vec<&[Option<f64>]> = r.iter().map(Vec::as_slice).collect();
        let (f, dims) = features(&[r_ref], &(0..40).collect::<Vec<_>>());
        let greedy = discrepancy(&f, dims, &order(&f, dims, 8));
        let mut random: Vec<f64> = (0..200)
            .map(|_| {
                let mut all: Vec<usize> = (0..40).collect();
                rng.shuffle(&mut all);
                discrepancy(&f, dims, &all[..8])
            })
            .collect();
        random.sort_by(f64::total_cmp);
        assert!(random.iter().filter(|&&d| d <= greedy).count() <= 10, "{greedy} vs {:?}", &random[..12]);
        assert!(greedy < random[100] / 5.0, "{greedy} vs median {}", random[100]);
    }
}
