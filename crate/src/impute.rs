//! What a model would have scored on the subset items it did not answer,
//! from the items it did, through a few latent factors the items share.
//!
//! The item responses (centred at each item's training mean) are modelled as
//! z = F u + e: F the p × r loadings, u a model's r latent abilities, e
//! independent noise of one variance σ² (probabilistic PCA, Tipping & Bishop
//! 1999). Given the answered items S, the expected abilities are
//! u = (σ²I + F_SᵀF_S)⁻¹ F_Sᵀ z_S, and each unanswered item's expected
//! centred score is its row of F times u. Why factors and not one ability:
//! on a leaderboard a model lacks whole benchmarks, and how it does on MMLU
//! is predicted by how it does on ARC through what the two share, not by one
//! overall level (BENCHMARKS, "Leaderboards": forward-selection's 100 items
//! with ridge went from 1.50 to 1.38 points on held-out models). Why not the
//! full covariance: the fit travels in the subset file, p·r numbers rather
//! than p².

use serde::{Deserialize, Serialize};

use crate::irt::multi::linalg::{orthonormalise, symmetric_eigen};
use crate::math::{cholesky, cholesky_solve};

/// The most latent factors [`ItemFactors::fit`] keeps. On the Open LLM
/// Leaderboard matrix (five benchmarks, 100 items) 10 factors erred by 1.36
/// points, 5 by 1.36, 20 by 1.37 and 3 by 1.37 (a numpy prototype, 5-fold).
pub const MAX_FACTORS: usize = 10;

/// Subspace iterations of the factor fit: enough for the leading factors of
/// item responses, whose first eigenvalue dominates; the loadings need not be
/// exact eigenvectors, only span what the items share.
const SUBSPACE_ITERATIONS: usize = 40;

/// The loadings and noise of the factor model (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemFactors {
    /// Latent factors r.
    pub rank: usize,
    /// p × r loadings, row-major (item by item).
    pub loadings: Vec<f64>,
    /// σ², the variance left to each item beyond the factors.
    pub noise: f64,
}

impl ItemFactors {
    /// Fits the factors to `z`, `n` rows × `p` items, row-major, every cell
    /// filled (unanswered ones at a first guess) and centred: the leading
    /// `min(MAX_FACTORS, p / 2)` eigenvectors of zᵀz/n by subspace
    /// iteration from a fixed start (so the same data gives the same bits),
    /// σ² the mean of the eigenvalues left over, the loadings the
    /// eigenvectors scaled by √(λ − σ²) (the maximum-likelihood fit). `None`
    /// with fewer than 4 items or 2 models, or no variance.
    pub fn fit(z: &[f64], n: usize, p: usize) -> Option<ItemFactors> {
        Self::fit_through(z, n, p, 2 * n < p)
    }

    /// [`ItemFactors::fit`], applying zᵀz/n through the data rather than a
    /// p × p covariance when `through_data` (the tests compare both).
    fn fit_through(z: &[f64], n: usize, p: usize, through_data: bool) -> Option<ItemFactors> {
        let rank = MAX_FACTORS.min(p / 2);
        if p < 4 || n < 2 || z.len() != n * p {
            return None;
        }
        // zᵀz/n applied to a p × r basis: through the p × p covariance where
        // it is no larger than the data, else as zᵀ(z·basis)/n (few models,
        // many items: 2·n·p·r per product instead of p²·r).
        let mut cov = Vec::new();
        if !through_data {
            cov = vec![0.0; p * p];
            for row in z.chunks(p) {
                for a in 0..p {
                    let va = row[a];
                    if va == 0.0 {
                        continue;
                    }
                    for (c, &vb) in cov[a * p..a * p + a + 1].iter_mut().zip(row) {
                        *c += va * vb;
                    }
                }
            }
            for a in 0..p {
                for b in 0..=a {
                    let v = cov[a * p + b] / n as f64;
                    cov[a * p + b] = v;
                    cov[b * p + a] = v;
                }
            }
        }
        let trace: f64 = z.iter().map(|v| v * v).sum::<f64>() / n as f64;
        if !(trace > 0.0 && trace.is_finite()) {
            return None;
        }
        let mut scores = vec![0.0; n * rank];
        let mut apply = |basis: &[f64], out: &mut [f64]| {
            if through_data {
                multiply(z, basis, &mut scores, n, p, rank);
                multiply_transposed(z, &scores, out, n, p, rank);
                out.iter_mut().for_each(|v| *v /= n as f64);
            } else {
                multiply(&cov, basis, out, p, p, rank);
            }
        };
        // A fixed, well-spread start: row k of column j is a hashed ±1.
        let mut basis: Vec<f64> =
            (0..p * rank).map(|i| if (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) & 1 == 0 { 1.0 } else { -1.0 }).collect();
        let mut next = vec![0.0; p * rank];
        for _ in 0..SUBSPACE_ITERATIONS {
            apply(&basis, &mut next);
            std::mem::swap(&mut basis, &mut next);
            orthonormalise(&mut basis, p, rank);
        }
        // Rayleigh–Ritz: the r × r problem within the subspace.
        apply(&basis, &mut next);
        let mut small = vec![0.0; rank * rank];
        for a in 0..rank {
            for b in 0..rank {
                small[a * rank + b] = (0..p).map(|k| basis[k * rank + a] * next[k * rank + b]).sum();
            }
        }
        for a in 0..rank {
            for b in 0..a {
                let v = 0.5 * (small[a * rank + b] + small[b * rank + a]);
                small[a * rank + b] = v;
                small[b * rank + a] = v;
            }
        }
        let (values, vectors) = symmetric_eigen(&small, rank);
        let kept: f64 = values.iter().sum();
        // The variance beyond the factors, floored so that σ²I + F_SᵀF_S is
        // always well conditioned.
        let noise = ((trace - kept) / (p - rank) as f64).max(1e-6 * trace / p as f64);
        let mut loadings = vec![0.0; p * rank];
        for k in 0..p {
            for j in 0..rank {
                let direction: f64 = (0..rank).map(|a| basis[k * rank + a] * vectors[a * rank + j]).sum();
                loadings[k * rank + j] = direction * (values[j] - noise).max(0.0).sqrt();
            }
        }
        Some(ItemFactors { rank, loadings, noise })
    }

    /// Whether a fit read from a file can be used on `p` items.
    pub fn usable(&self, p: usize) -> bool {
        self.rank >= 1
            && self.rank <= p
            && self.loadings.len() == p * self.rank
            && self.noise > 0.0
            && self.noise.is_finite()
            && self.loadings.iter().all(|v| v.is_finite())
    }

    /// The expected centred score of every item in `0..p` missing from
    /// `answered` (position, centred score), in increasing order; none when
    /// every item was answered, and each at 0 (its mean) when none was.
    /// Assumes [`ItemFactors::usable`] for `p`.
    pub fn expected(&self, answered: &[(usize, f64)], p: usize) -> Vec<(usize, f64)> {
        let r = self.rank;
        let mut seen = vec![false; p];
        let mut gram = vec![0.0; r * r];
        let mut projected = vec![0.0; r];
        for &(k, v) in answered.iter().filter(|&&(k, _)| k < p) {
            if std::mem::replace(&mut seen[k], true) {
                continue;
            }
            let row = &self.loadings[k * r..(k + 1) * r];
            for a in 0..r {
                projected[a] += row[a] * v;
                for b in 0..=a {
                    gram[a * r + b] += row[a] * row[b];
                }
            }
        }
        if seen.iter().all(|&s| s) {
            return Vec::new();
        }
        for a in 0..r {
            gram[a * r + a] += self.noise;
            for b in 0..a {
                gram[b * r + a] = gram[a * r + b];
            }
        }
        // σ² > 0 keeps the system positive definite; were it not, the
        // abilities would stay at 0 and every item at its mean.
        let abilities = match cholesky(&gram, r) {
            Some(l) => {
                cholesky_solve(&l, r, &mut projected);
                projected
            }
            None => vec![0.0; r],
        };
        (0..p).filter(|&k| !seen[k]).map(|k| (k, self.loadings[k * r..(k + 1) * r].iter().zip(&abilities).map(|(f, u)| f * u).sum())).collect()
    }
}

/// out = a · m: a rows × inner, m inner × r, out rows × r, all row-major.
fn multiply(a: &[f64], m: &[f64], out: &mut [f64], rows: usize, inner: usize, r: usize) {
    out.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..rows {
        let row = &mut out[i * r..(i + 1) * r];
        for (k, &aik) in a[i * inner..(i + 1) * inner].iter().enumerate() {
            if aik != 0.0 {
                for (o, &mv) in row.iter_mut().zip(&m[k * r..(k + 1) * r]) {
                    *o += aik * mv;
                }
            }
        }
    }
}

/// out = aᵀ · m: a rows × cols, m rows × r, out cols × r, all row-major.
fn multiply_transposed(a: &[f64], m: &[f64], out: &mut [f64], rows: usize, cols: usize, r: usize) {
    out.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..rows {
        let mrow = &m[i * r..(i + 1) * r];
        for (k, &aik) in a[i * cols..(i + 1) * cols].iter().enumerate() {
            if aik != 0.0 {
                for (o, &mv) in out[k * r..(k + 1) * r].iter_mut().zip(mrow) {
                    *o += aik * mv;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` models × `p` items from two latent traits (the first half of the
    /// items loads on one, the rest on the other), centred, with noise.
    fn two_traits(n: usize, p: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::rng::Rng::new(seed);
        let mut z = Vec::with_capacity(n * p);
        for _ in 0..n {
            let (a, b) = (rng.normal(), rng.normal());
            let shared = 0.6 * a + 0.8 * b;
            for k in 0..p {
                let trait_ = if k < p / 2 { a } else { shared };
                z.push(0.3 * trait_ + 0.1 * rng.normal());
            }
        }
        z
    }

    #[test]
    fn the_factors_recover_the_covariance_and_the_noise() {
        let (n, p) = (2000, 12);
        let z = two_traits(n, p, 3);
        let factors = ItemFactors::fit(&z, n, p).unwrap();
        assert_eq!(factors.rank, 6);
        assert!(factors.usable(p));
        // Beyond the two traits only noise: F Fᵀ + σ²I matches the sample
        // covariance, σ² ≈ 0.01 spread over the four extra factors.
        let r = factors.rank;
        for a in 0..p {
            for b in 0..p {
                let sample: f64 = z.chunks(p).map(|row| row[a] * row[b]).sum::<f64>() / n as f64;
                let model: f64 =
                    (0..r).map(|j| factors.loadings[a * r + j] * factors.loadings[b * r + j]).sum::<f64>() + if a == b { factors.noise } else { 0.0 };
                assert!((sample - model).abs() < 0.004, "cov[{a}][{b}] {sample:.4} against {model:.4}");
            }
        }
        assert!(factors.noise > 0.004 && factors.noise < 0.011, "noise {}", factors.noise);
        // The same data, the same bits.
        assert_eq!(ItemFactors::fit(&z, n, p), Some(factors));
    }

    #[test]
    fn a_skipped_block_is_predicted_from_what_it_shares_with_the_answered_one() {
        let (n, p) = (2000, 12);
        let z = two_traits(n, p, 5);
        let factors = ItemFactors::fit(&z, n, p).unwrap();
        let test = two_traits(300, p, 6);
        // Each test model answers the first half only; the second half's
        // traits correlate 0.6 with the first's, so a factor prediction
        // should leave 1 − 0.36 of the variance and the mean (0) all of it.
        let (mut predicted, mut at_mean) = (0.0, 0.0);
        for row in test.chunks(p) {
            let answered: Vec<(usize, f64)> = (0..p / 2).map(|k| (k, row[k])).collect();
            let filled = factors.expected(&answered, p);
            assert_eq!(filled.iter().map(|f| f.0).collect::<Vec<_>>(), (p / 2..p).collect::<Vec<_>>());
            for (k, v) in filled {
                predicted += (row[k] - v) * (row[k] - v);
                at_mean += row[k] * row[k];
            }
        }
        assert!(predicted < 0.8 * at_mean, "factor prediction {predicted:.3} against the mean's {at_mean:.3}");
        // Everything answered: nothing to fill; nothing answered: the means.
        let all: Vec<(usize, f64)> = (0..p).map(|k| (k, test[k])).collect();
        assert!(factors.expected(&all, p).is_empty());
        assert!(factors.expected(&[], p).iter().all(|&(_, v)| v == 0.0));
    }

    #[test]
    fn few_models_and_many_items_give_the_same_factors_through_the_data() {
        // 30 models × 80 items: the product through the data, as fit takes
        // it, against the covariance's.
        let (n, p) = (30, 80);
        let z = two_traits(n, p, 8);
        let through = ItemFactors::fit(&z, n, p).unwrap();
        let covariance = ItemFactors::fit_through(&z, n, p, false).unwrap();
        assert_eq!(through, ItemFactors::fit_through(&z, n, p, true).unwrap());
        assert!((through.noise - covariance.noise).abs() < 1e-9 * covariance.noise.max(1e-12), "{} {}", through.noise, covariance.noise);
        // Loadings agree up to each factor's sign, so compare F Fᵀ.
        let r = through.rank;
        for a in 0..p {
            for b in 0..p {
                let product = |f: &ItemFactors| (0..r).map(|j| f.loadings[a * r + j] * f.loadings[b * r + j]).sum::<f64>();
                assert!((product(&through) - product(&covariance)).abs() < 1e-8, "F Fᵀ[{a}][{b}]");
            }
        }
    }

    #[test]
    fn too_little_to_fit_gives_none_and_damaged_factors_are_not_usable() {
        assert!(ItemFactors::fit(&[0.1, -0.1, 0.2, -0.2, 0.0, 0.0], 2, 3).is_none());
        assert!(ItemFactors::fit(&[0.0; 40], 10, 4).is_none());
        assert!(ItemFactors::fit(&[0.0; 7], 2, 4).is_none());
        let good = ItemFactors::fit(&two_traits(50, 8, 1), 50, 8).unwrap();
        assert!(good.usable(8) && !good.usable(9));
        for bad in [
            ItemFactors { noise: 0.0, ..good.clone() },
            ItemFactors { noise: f64::NAN, ..good.clone() },
            ItemFactors { rank: 0, ..good.clone() },
            ItemFactors { loadings: good.loadings[1..].to_vec(), ..good.clone() },
            ItemFactors { loadings: vec![f64::INFINITY; good.loadings.len()], ..good.clone() },
        ] {
            assert!(!bad.usable(8), "{bad:?}");
        }
    }
}
