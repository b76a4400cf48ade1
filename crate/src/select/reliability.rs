//! How far an IRT fit's discriminations can be trusted: their split-half
//! reliability. Information-based selectors (`irt-info`, `metabench`) rank
//! items by discrimination, and with a few dozen training models many items
//! split them cleanly by chance; their MAP discriminations are then large
//! and say nothing about new models. On MMLU-Pro's 23 training models per
//! fold metabench's subsets erred twice random's MAE at 400 items; over the
//! items that pass metabench's filter the reliability there was 0.22–0.30,
//! and over all items (the number reported here, which also counts the
//! near-useless items whose small a both halves agree on) 0.52
//! (BENCHMARKS.md, "Where metabench goes wrong").
//!
//! The training models are split in two halves, alternately in order of
//! their fitted abilities (so both halves span the range); every item's a
//! and b are refitted on each half with the abilities held at the full
//! fit's; r is the correlation of ln a between the halves over the items,
//! and Spearman–Brown gives the reliability of the whole: 2r / (1 + r),
//! clamped to [0, 1]. A half's chance splits do not repeat in the other
//! half, so r sees the noise that an item's own standard error, taken at its
//! overfitted a, does not.

use crate::irt::item::{BETA_EPS, NodeStats, m_step};
use crate::irt::{Family, Free, IrtFit, IrtModel, Priors, Scale};
use crate::matrix::ResponseMatrix;

/// Below this reliability `select` warns that an information-based method
/// ranks items mostly by noise.
pub const LOW_RELIABILITY: f64 = 0.5;

/// The split-half reliability of `fit`'s discriminations over `items`, with
/// `fit` made on the training models `train` of `m` (`fit.theta[t]` is
/// `train[t]`'s ability). None where it is not defined: Rasch and 1PL (one
/// shared a), multidimensional fits, fewer than 4 training models, or fewer
/// than 3 items that two or more models in each half score differently.
pub fn discrimination_reliability(fit: &IrtFit, m: &ResponseMatrix, train: &[usize], items: &[usize]) -> Option<f64> {
    if fit.multi.is_some() || matches!(fit.model, IrtModel::Rasch | IrtModel::OnePl) || train.len() < 4 || fit.theta.len() != train.len() {
        return None;
    }
    let family = fit.model.family();
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.sort_by(|&p, &q| fit.theta[p].total_cmp(&fit.theta[q]).then(p.cmp(&q)));
    let halves: [Vec<usize>; 2] = [order.iter().copied().step_by(2).collect(), order.iter().copied().skip(1).step_by(2).collect()];
    // Only a and b move; c, d and φ stay at the full fit's.
    let free = Free { a: true, c: false, d: false, phi: false };
    // The fit's b prior: centred on the mean b of the items that vary over
    // the training models (a Beta fit sets the others aside, far out). 1PL,
    // whose b prior is on the logit scale, is excluded above.
    let varies = |i: usize| {
        let mut seen = train.iter().filter_map(|&j| m.get(j, i));
        seen.next().is_some_and(|first| seen.any(|x| x != first))
    };
    let (sum, n) = (0..fit.items.len()).filter(|&i| varies(i)).fold((0.0, 0usize), |(s, n), i| (s + fit.items[i].b, n + 1));
    let priors = Priors { b: (if n > 0 { sum / n as f64 } else { 0.0 }, Priors::default().b.1), ..Priors::default() };
    let scale = fit.scale.unwrap_or(Scale::Identity);
    let ln_a_on = |i: usize, half: &[usize]| -> Option<f64> {
        let (mut nodes, mut s, mut v) = (Vec::new(), Vec::new(), Vec::new());
        for &t in half {
            let Some(x) = m.get(train[t], i) else { continue };
            nodes.push(fit.theta[t]);
            match family {
                Family::Bernoulli => s.push(scale.apply(f64::from(x))),
                Family::Beta => {
                    let y = scale.apply(f64::from(x)).clamp(BETA_EPS, 1.0 - BETA_EPS);
                    s.push(crate::math::ln(y));
                    v.push(crate::math::ln(1.0 - y));
                }
            }
        }
        // A half that scores the item all alike says nothing about its a
        // (the prior alone sets it, alike in both halves, which would
        // inflate r): leave such items out.
        if nodes.len() < 2 || s.iter().all(|&x| x == s[0]) {
            return None;
        }
        let n = vec![1.0; nodes.len()];
        Some(crate::math::ln(m_step(&fit.items[i], family, free, &priors, &nodes, &NodeStats { n: &n, s: &s, v: &v }, 50).0.a))
    };
    let pairs: Vec<Option<(f64, f64)>> = crate::parallel::map(items.len(), |p| Some((ln_a_on(items[p], &halves[0])?, ln_a_on(items[p], &halves[1])?)));
    let (first, second): (Vec<f64>, Vec<f64>) = pairs.into_iter().flatten().unzip();
    if first.len() < 3 {
        return None;
    }
    let r = crate::metrics::pearson(&first, &second);
    Some(if r.is_finite() && r > 0.0 { (2.0 * r / (1.0 + r)).min(1.0) } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irt::{FitOptions, ItemParams};
    use crate::matrix::MatrixBuilder;
    use crate::rng::Rng;

    fn matrix(models: usize, items: &[ItemParams], rng: &mut Rng) -> ResponseMatrix {
        let mut b = MatrixBuilder::new((0..items.len()).map(|i| format!("i{i}")).collect());
        for j in 0..models {
            let t = rng.normal();
            let row: Vec<Option<f32>> = items.iter().map(|p| Some((rng.uniform() < p.expected(t)) as u8 as f32)).collect();
            b.push_row_unchecked(format!("m{j}"), &row);
        }
        b.into_matrix()
    }

    fn reliability(models: usize, items: &[ItemParams], seed: u64) -> f64 {
        let m = matrix(models, items, &mut Rng::new(seed));
        let fit = crate::irt::fit(&m, &FitOptions::default(), &mut |_| true).unwrap();
        let train: Vec<usize> = (0..models).collect();
        let all: Vec<usize> = (0..items.len()).collect();
        discrimination_reliability(&fit, &m, &train, &all).unwrap()
    }

    #[test]
    fn real_spread_in_discrimination_is_reliable_and_chance_spread_is_not() {
        let mut rng = Rng::new(5);
        // Many models, discriminations that truly differ (ln a sd 0.6).
        let spread: Vec<ItemParams> = (0..150).map(|_| ItemParams::new(rng.log_normal(0.0, 0.6), rng.normal())).collect();
        let high = reliability(800, &spread, 6);
        // Few models, every item equally discriminating: any spread in the
        // fitted a is chance.
        let equal: Vec<ItemParams> = (0..1500).map(|_| ItemParams::new(1.5, rng.normal())).collect();
        let low = reliability(23, &equal, 7);
        eprintln!("reliability: real spread {high:.3}, chance spread {low:.3}");
        assert!(high > 0.8, "real spread {high}");
        assert!(low < LOW_RELIABILITY, "chance spread {low}");
    }
}
