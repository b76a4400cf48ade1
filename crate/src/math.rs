//! Elementary functions from the `libm` crate on every target. Native `f64::exp`
//! calls the platform's libm and wasm calls a Rust port, which can differ in
//! the last bit; using one implementation everywhere keeps CLI, Node and
//! browser results byte-identical. Also the small dense Cholesky routines
//! that the multidimensional fit and the ridge estimator share.

#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

#[inline]
pub fn ln_1p(x: f64) -> f64 {
    libm::log1p(x)
}

#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// Cholesky factor (lower, row-major) of a symmetric positive-definite
/// n × n matrix; `None` if it is not positive definite.
pub(crate) fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves L Lᵀ x = b in place.
pub(crate) fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// The diagonal of (L Lᵀ)⁻¹: ‖L⁻¹ eᵢ‖² for each i, by forward substitution
/// (n³/6 multiply-adds; the leverages of a ridge fit need nothing else).
pub(crate) fn cholesky_inverse_diagonal(l: &[f64], n: usize) -> Vec<f64> {
    let mut y = vec![0.0; n];
    (0..n)
        .map(|i| {
            // L y = eᵢ: y is zero above row i.
            let mut norm = 0.0;
            for r in i..n {
                let mut s = if r == i { 1.0 } else { 0.0 };
                for k in i..r {
                    s -= l[r * n + k] * y[k];
                }
                y[r] = s / l[r * n + r];
                norm += y[r] * y[r];
            }
            norm
        })
        .collect()
}
