//! Gauss–Hermite quadrature for a standard normal latent trait: nodes x_q
//! and weights w_q with Σ_q w_q f(x_q) ≈ E[f(θ)], θ ~ N(0, 1), exact for
//! polynomials of degree < 2n.

use crate::math::{ln, pow};

/// Nodes and weights (summing to 1) of the n-point rule for N(0, 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Quadrature {
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
    pub log_weights: Vec<f64>,
}

impl Quadrature {
    /// The n-point probabilists' Gauss–Hermite rule (n ≥ 1).
    ///
    /// Roots of the physicists' Hermite polynomial H_n by Newton's method
    /// from the usual asymptotic starting points (Numerical Recipes §4.6),
    /// using the orthonormal recurrence to stay finite for large n; then
    /// x = √2·root and w = weight/√π.
    pub fn gauss_hermite(n: usize) -> Quadrature {
        assert!(n >= 1, "a quadrature rule needs at least one node");
        let pim4 = pow(std::f64::consts::PI, -0.25);
        let mut roots = vec![0.0; n];
        let mut weights = vec![0.0; n];
        let m = n.div_ceil(2);
        let nf = n as f64;
        let mut z = 0.0f64;
        for i in 0..m {
            z = match i {
                0 => (2.0 * nf + 1.0).sqrt() - 1.85575 * pow(2.0 * nf + 1.0, -1.0 / 6.0),
                1 => z - 1.14 * pow(nf, 0.426) / z,
                2 => 1.86 * z - 0.86 * roots[0],
                3 => 1.91 * z - 0.91 * roots[1],
                _ => 2.0 * z - roots[i - 2],
            };
            let mut pp = 0.0;
            for _ in 0..100 {
                let mut p1 = pim4;
                let mut p2 = 0.0;
                for j in 1..=n {
                    let p3 = p2;
                    p2 = p1;
                    let jf = j as f64;
                    p1 = z * (2.0 / jf).sqrt() * p2 - ((jf - 1.0) / jf).sqrt() * p3;
                }
                pp = (2.0 * nf).sqrt() * p2;
                let z1 = z;
                z = z1 - p1 / pp;
                if (z - z1).abs() <= 1e-14 * z.abs().max(1.0) {
                    break;
                }
            }
            roots[i] = z;
            roots[n - 1 - i] = -z;
            weights[i] = 2.0 / (pp * pp);
            weights[n - 1 - i] = weights[i];
        }
        let sqrt_pi = std::f64::consts::PI.sqrt();
        let mut nodes: Vec<f64> = roots.iter().map(|r| r * std::f64::consts::SQRT_2).collect();
        let mut weights: Vec<f64> = weights.iter().map(|w| w / sqrt_pi).collect();
        // Ascending order; renormalise away the last ulp of rounding.
        nodes.reverse();
        weights.reverse();
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let log_weights = weights.iter().map(|w| ln(*w)).collect();
        Quadrature { nodes, weights, log_weights }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::exp;

    #[test]
    fn integrates_normal_moments_exactly() {
        for n in [1, 2, 5, 21, 41, 61, 101] {
            let q = Quadrature::gauss_hermite(n);
            let moment = |k: i32| q.nodes.iter().zip(&q.weights).map(|(x, w)| w * x.powi(k)).sum::<f64>();
            assert!((moment(0) - 1.0).abs() < 1e-12, "n={n}");
            assert!(moment(1).abs() < 1e-10, "n={n}");
            if n >= 2 {
                assert!((moment(2) - 1.0).abs() < 1e-10, "n={n}: {}", moment(2));
            }
            if n >= 3 {
                assert!((moment(4) - 3.0).abs() < 1e-9, "n={n}: {}", moment(4));
            }
            if n >= 5 {
                assert!((moment(8) - 105.0).abs() < 1e-6, "n={n}: {}", moment(8));
            }
            assert!(q.nodes.windows(2).all(|w| w[0] < w[1]), "n={n}: nodes not ascending");
        }
    }

    #[test]
    fn integrates_a_logistic_like_the_reference() {
        // E[sigmoid(1.7 θ - 0.5)] for θ ~ N(0,1), by a fine Riemann sum.
        let f = |t: f64| 1.0 / (1.0 + exp(-(1.7 * t - 0.5)));
        let reference: f64 = (-120_000..=120_000)
            .map(|k| {
                let t = k as f64 * 1e-4;
                f(t) * exp(-t * t / 2.0) / (2.0 * std::f64::consts::PI).sqrt() * 1e-4
            })
            .sum();
        let q = Quadrature::gauss_hermite(41);
        let got: f64 = q.nodes.iter().zip(&q.weights).map(|(x, w)| w * f(*x)).sum();
        assert!((got - reference).abs() < 1e-7, "{got} vs {reference}");
    }
}
