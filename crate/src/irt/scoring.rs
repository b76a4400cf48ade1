//! Abilities of new models from fitted items and any subset of responses:
//! MLE, MAP (θ ~ N(0, 1) prior) and EAP, each with a standard error; test
//! information, expected score, and the log-likelihood of held-out cells.

use serde::{Deserialize, Serialize};

use super::item::{Family, ItemParams};
use super::quadrature::Quadrature;
use crate::math::exp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThetaMethod {
    /// Maximum likelihood; ±8 with an infinite SE when every response is at
    /// one extreme (no finite maximum exists).
    Mle,
    /// Posterior mode under θ ~ N(0, 1).
    Map,
    /// Posterior mean under θ ~ N(0, 1) (adaptive quadrature); SE = posterior SD.
    Eap,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThetaEstimate {
    pub theta: f64,
    pub se: f64,
}

/// Bound on |θ| for MLE/MAP: far beyond any real leaderboard.
pub const THETA_BOUND: f64 = 8.0;

/// Log-likelihood of `responses` — (item index, score in [0, 1]) — at θ.
pub fn log_likelihood(items: &[ItemParams], family: Family, theta: f64, responses: &[(usize, f64)]) -> f64 {
    responses.iter().map(|&(i, x)| items[i].log_likelihood(theta, x, family)).sum()
}

/// Σ of item information at θ over the given items.
pub fn test_information(items: &[ItemParams], family: Family, theta: f64, which: impl IntoIterator<Item = usize>) -> f64 {
    which.into_iter().map(|i| items[i].information(theta, family)).sum()
}

/// Mean expected score over the given items at θ (the predicted benchmark score).
pub fn expected_score(items: &[ItemParams], theta: f64, which: impl IntoIterator<Item = usize>) -> f64 {
    let (sum, n) = which.into_iter().fold((0.0, 0usize), |(s, n), i| (s + items[i].expected(theta), n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

pub fn estimate_theta(items: &[ItemParams], family: Family, responses: &[(usize, f64)], method: ThetaMethod) -> ThetaEstimate {
    match method {
        ThetaMethod::Eap => eap(items, family, responses),
        ThetaMethod::Map => mode(items, family, responses, true, 0.0),
        ThetaMethod::Mle => {
            let start = mode(items, family, responses, true, 0.0).theta;
            mode(items, family, responses, false, start)
        }
    }
}

/// MAP under θ ~ N(0, 1) by Fisher scoring from `start`: for 1PL/2PL items
/// (a log-concave posterior) the optimum [`estimate_theta`]'s
/// `Map` finds, reached in a step or two from a nearby start, as an adaptive
/// test's previous θ is; with guessing or slipping asymptotes, the mode
/// nearest the start.
pub fn map_from(items: &[ItemParams], family: Family, responses: &[(usize, f64)], start: f64) -> ThetaEstimate {
    mode(items, family, responses, true, start)
}

/// EAP by adaptive Gauss–Hermite quadrature (Liu & Pierce 1994): 31 nodes
/// centred on the posterior mode and scaled by the posterior SD there, so a
/// posterior a few hundredths wide (a model with thousands of responses) is
/// integrated as accurately as a wide one.
fn eap(items: &[ItemParams], family: Family, responses: &[(usize, f64)]) -> ThetaEstimate {
    let map = mode(items, family, responses, true, 0.0);
    let (mu, sigma) = (map.theta, map.se.clamp(1e-4, 2.0));
    let quad = Quadrature::gauss_hermite(31);
    let logs: Vec<f64> = quad
        .nodes
        .iter()
        .zip(&quad.log_weights)
        .map(|(&x, lw)| {
            let t = mu + sigma * x;
            // w_k · N(t) / N(x): the standard-normal rule re-centred on μ, σ.
            lw + 0.5 * x * x - 0.5 * t * t + log_likelihood(items, family, t, responses)
        })
        .collect();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logs.iter().map(|l| exp(l - max)).collect();
    let total: f64 = w.iter().sum();
    let mean = w.iter().zip(&quad.nodes).map(|(w, x)| w * (mu + sigma * x)).sum::<f64>() / total;
    let var = w.iter().zip(&quad.nodes).map(|(w, x)| w * (mu + sigma * x - mean).powi(2)).sum::<f64>() / total;
    ThetaEstimate { theta: mean, se: var.max(0.0).sqrt() }
}

/// MAP (with_prior) or MLE by Fisher scoring with step halving, from `start`.
fn mode(items: &[ItemParams], family: Family, responses: &[(usize, f64)], with_prior: bool, start: f64) -> ThetaEstimate {
    let objective = |t: f64| log_likelihood(items, family, t, responses) - if with_prior { t * t / 2.0 } else { 0.0 };
    let score = |t: f64| {
        let (g, i) = responses.iter().fold((0.0, 0.0), |(g, i), &(k, x)| {
            let (gk, ik) = items[k].theta_score(t, x, family);
            (g + gk, i + ik)
        });
        if with_prior { (g - t, i + 1.0) } else { (g, i) }
    };
    let mut theta = start.clamp(-THETA_BOUND, THETA_BOUND);
    let mut f = objective(theta);
    for _ in 0..100 {
        let (g, info) = score(theta);
        if info <= 0.0 || !info.is_finite() {
            break;
        }
        let step = (g / info).clamp(-2.0, 2.0);
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..30 {
            let trial = (theta + t * step).clamp(-THETA_BOUND, THETA_BOUND);
            let ft = objective(trial);
            if ft >= f - 1e-12 * f.abs() {
                moved = (trial - theta).abs() > 1e-10;
                theta = trial;
                f = ft;
                break;
            }
            t *= 0.5;
        }
        if !moved {
            break;
        }
    }
    let (_, info) = score(theta);
    let at_bound = theta.abs() >= THETA_BOUND - 1e-9;
    // An MLE stuck at the bound has no finite standard error.
    let se = if info > 0.0 && (with_prior || !at_bound) { 1.0 / info.sqrt() } else { f64::INFINITY };
    ThetaEstimate { theta, se }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank() -> Vec<ItemParams> {
        (0..40).map(|i| ItemParams::new(0.8 + (i % 5) as f64 * 0.3, -2.0 + i as f64 * 0.1)).collect()
    }

    #[test]
    fn mle_map_and_eap_agree_in_order_and_shrinkage() {
        let items = bank();
        // Deterministic responses of a θ = 0.7 model: correct when P > 0.5.
        let responses: Vec<(usize, f64)> = (0..items.len()).map(|i| (i, (items[i].expected(0.7) > 0.5) as u8 as f64)).collect();
        let mle = estimate_theta(&items, Family::Bernoulli, &responses, ThetaMethod::Mle);
        let map = estimate_theta(&items, Family::Bernoulli, &responses, ThetaMethod::Map);
        let eap = estimate_theta(&items, Family::Bernoulli, &responses, ThetaMethod::Eap);
        // The prior shrinks toward 0.
        assert!(mle.theta > map.theta && map.theta > 0.0, "{mle:?} {map:?}");
        assert!((eap.theta - map.theta).abs() < 0.2, "{eap:?} {map:?}");
        assert!(mle.se > map.se && map.se > 0.0);
        // MLE solves the score equation.
        let g: f64 = responses.iter().map(|&(i, x)| items[i].theta_score(mle.theta, x, Family::Bernoulli).0).sum();
        assert!(g.abs() < 1e-6, "score at MLE {g}");
    }

    #[test]
    fn mle_of_a_perfect_score_is_at_the_bound_with_infinite_se() {
        let items = bank();
        let all: Vec<(usize, f64)> = (0..items.len()).map(|i| (i, 1.0)).collect();
        let mle = estimate_theta(&items, Family::Bernoulli, &all, ThetaMethod::Mle);
        assert_eq!(mle.theta, THETA_BOUND);
        assert!(mle.se.is_infinite());
        let map = estimate_theta(&items, Family::Bernoulli, &all, ThetaMethod::Map);
        assert!(map.theta < THETA_BOUND && map.se.is_finite());
    }

    #[test]
    fn se_matches_inverse_test_information() {
        let items = bank();
        let responses: Vec<(usize, f64)> = (0..items.len()).map(|i| (i, (i % 3 != 0) as u8 as f64)).collect();
        let mle = estimate_theta(&items, Family::Bernoulli, &responses, ThetaMethod::Mle);
        let info = test_information(&items, Family::Bernoulli, mle.theta, 0..items.len());
        assert!((mle.se - 1.0 / info.sqrt()).abs() < 1e-9);
        let e = expected_score(&items, mle.theta, 0..items.len());
        assert!((e - 2.0 / 3.0).abs() < 0.05, "expected score {e}");
    }
}

#[cfg(test)]
mod eap_tests {
    use super::*;

    #[test]
    fn eap_is_accurate_for_a_narrow_posterior() {
        // 5,000 items: the posterior SD is a few hundredths; a fixed rule
        // would snap the EAP to a node. Compare with a brute-force integral.
        let items: Vec<ItemParams> = (0..5000).map(|i| ItemParams::new(1.0 + (i % 7) as f64 * 0.1, -2.5 + (i % 50) as f64 * 0.1)).collect();
        let responses: Vec<(usize, f64)> = (0..items.len()).map(|i| (i, (items[i].expected(0.4321) > 0.5) as u8 as f64)).collect();
        let eap = estimate_theta(&items, Family::Bernoulli, &responses, ThetaMethod::Eap);
        let map = estimate_theta(&items, Family::Bernoulli, &responses, ThetaMethod::Map);
        let (mut num, mut den) = (0.0, 0.0);
        let lmax = log_likelihood(&items, Family::Bernoulli, map.theta, &responses) - map.theta * map.theta / 2.0;
        for k in -4000..=4000 {
            let t = map.theta + k as f64 * 2e-5;
            let w = exp(log_likelihood(&items, Family::Bernoulli, t, &responses) - t * t / 2.0 - lmax);
            num += w * t;
            den += w;
        }
        let brute = num / den;
        assert!(eap.se < 0.05, "{eap:?}");
        assert!((eap.theta - brute).abs() < 1e-5, "EAP {} vs brute force {brute}", eap.theta);
    }
}
