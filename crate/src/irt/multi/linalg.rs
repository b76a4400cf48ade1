//! Small dense linear algebra for D ≤ 10 latent dimensions: dot products,
//! a symmetric eigendecomposition, orthonormalisation and the Procrustes
//! rotation that aligns two fits.

use crate::math::{cholesky_solve, ln};

#[inline]
pub(super) fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

#[inline]
pub(super) fn axpy(acc: &mut [f64], alpha: f64, x: &[f64]) {
    for (a, v) in acc.iter_mut().zip(x) {
        *a += alpha * v;
    }
}

/// Inverse of L Lᵀ (full n × n) and ln det(L Lᵀ).
pub(super) fn cholesky_inverse(l: &[f64], n: usize) -> (Vec<f64>, f64) {
    let mut inv = vec![0.0; n * n];
    let mut col = vec![0.0; n];
    for c in 0..n {
        col.iter_mut().for_each(|v| *v = 0.0);
        col[c] = 1.0;
        cholesky_solve(l, n, &mut col);
        for r in 0..n {
            inv[r * n + c] = col[r];
        }
    }
    let log_det = 2.0 * (0..n).map(|i| ln(l[i * n + i])).sum::<f64>();
    (inv, log_det)
}

/// Eigenvectors of a symmetric n × n matrix by cyclic Jacobi rotations, as
/// columns of a row-major matrix, ordered by decreasing eigenvalue.
pub(crate) fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| m[i * n + j] * m[i * n + j]).sum();
        let scale: f64 = m.iter().map(|x| x * x).sum();
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let values: Vec<f64> = (0..n).map(|i| m[i * n + i]).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| values[y].total_cmp(&values[x]).then(x.cmp(&y)));
    let mut vectors = vec![0.0; n * n];
    for (c, &o) in order.iter().enumerate() {
        for r in 0..n {
            vectors[r * n + c] = v[r * n + o];
        }
    }
    (order.iter().map(|&o| values[o]).collect(), vectors)
}

/// Modified Gram–Schmidt on the `cols` columns of a rows × cols row-major matrix.
pub(crate) fn orthonormalise(m: &mut [f64], rows: usize, cols: usize) {
    for c in 0..cols {
        for p in 0..c {
            let proj: f64 = (0..rows).map(|r| m[r * cols + c] * m[r * cols + p]).sum();
            for r in 0..rows {
                m[r * cols + c] -= proj * m[r * cols + p];
            }
        }
        let norm = (0..rows).map(|r| m[r * cols + c] * m[r * cols + c]).sum::<f64>().sqrt();
        if norm > 0.0 {
            for r in 0..rows {
                m[r * cols + c] /= norm;
            }
        }
    }
}

/// The orthogonal D × D matrix R minimising ‖Â R − A‖ (orthogonal
/// Procrustes, Schönemann 1966) for two items × dims loading matrices:
/// R = M (MᵀM)^(−1/2) with M = ÂᵀA. Compares fits that differ only by a
/// rotation (e.g. ours and a reference tool's, which fixes rotation by
/// zero loadings instead of principal axes).
pub fn procrustes(a_hat: &[f64], a_ref: &[f64], dims: usize) -> Vec<f64> {
    let d = dims;
    let mut m = vec![0.0; d * d];
    for (x, y) in a_hat.chunks(d).zip(a_ref.chunks(d)) {
        for r in 0..d {
            for c in 0..d {
                m[r * d + c] += x[r] * y[c];
            }
        }
    }
    let mut mtm = vec![0.0; d * d];
    for r in 0..d {
        for c in 0..d {
            mtm[r * d + c] = (0..d).map(|t| m[t * d + r] * m[t * d + c]).sum();
        }
    }
    let (values, vectors) = symmetric_eigen(&mtm, d);
    // R = Σ_t (M v_t / s_t) v_tᵀ over the singular directions; directions
    // without signal (s_t ≈ 0, e.g. dimensions no item loads on) are left as they are.
    let floor = values.first().copied().unwrap_or(0.0).max(0.0) * 1e-20;
    let mut out = vec![0.0; d * d];
    for t in 0..d {
        let v: Vec<f64> = (0..d).map(|r| vectors[r * d + t]).collect();
        let u: Vec<f64> = if values[t] > floor && values[t] > 0.0 {
            let s = values[t].sqrt();
            (0..d).map(|r| dot(&m[r * d..(r + 1) * d], &v) / s).collect()
        } else {
            v.clone()
        };
        for r in 0..d {
            for c in 0..d {
                out[r * d + c] += u[r] * v[c];
            }
        }
    }
    out
}

/// Rows × dims matrix times a dims × dims matrix.
pub fn rotate(x: &[f64], r: &[f64], dims: usize) -> Vec<f64> {
    x.chunks(dims).flat_map(|row| (0..dims).map(move |c| (0..dims).map(|t| row[t] * r[t * dims + c]).sum::<f64>())).collect()
}
