//! One Gaussian variational EM iteration's pieces: the Jaakkola–Jordan
//! bound, the per-model E-step, the per-item M-step, the starting state and
//! the exact evidence lower bound (see the module doc of `multi`).

use super::linalg::*;
use super::{PRIOR_A_SD, PRIOR_D_SD};
use crate::irt::quadrature::Quadrature;
use crate::math::{cholesky, cholesky_solve, exp, ln, ln_1p};
use crate::matrix::ResponseMatrix;
use crate::parallel;
use crate::rng::Rng;

#[inline]
pub(super) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + exp(-z))
    } else {
        let e = exp(z);
        e / (1.0 + e)
    }
}

/// ln σ(z), stable for large |z|.
#[inline]
pub(super) fn ln_sigmoid(z: f64) -> f64 {
    -(((-z).max(0.0)) + ln_1p(exp(-z.abs())))
}

/// Jaakkola–Jordan η(ξ) = tanh(ξ/2)/(4ξ) = (σ(ξ) − ½)/(2ξ); 1/8 at ξ = 0.
#[inline]
pub(super) fn jj_eta(xi: f64) -> f64 {
    if xi < 1e-6 { 0.125 - xi * xi / 96.0 } else { (sigmoid(xi) - 0.5) / (2.0 * xi) }
}

/// Entries of a packed upper triangle of an n × n symmetric matrix.
#[inline]
pub(super) fn packed_len(n: usize) -> usize {
    n * (n + 1) / 2
}

/// The responses as the fit reads them.
pub(super) struct Data<'a> {
    pub(super) m: &'a ResponseMatrix,
    /// Scores in [0, 1], row-major, for continuous matrices.
    pub(super) x: Option<&'a [f32]>,
}

impl Data<'_> {
    /// `f(item, score)` for each observed response of `model`.
    #[inline]
    pub(super) fn for_each_response(&self, model: usize, mut f: impl FnMut(usize, f64)) {
        let observed = self.m.observed_bits(model);
        match self.x {
            None => {
                let correct = self.m.correct_bits(model).expect("binary matrix");
                for (w, &word) in observed.iter().enumerate() {
                    let mut bits = word;
                    while bits != 0 {
                        let k = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        f(w * 64 + k, (correct[w] >> k & 1) as f64);
                    }
                }
            }
            Some(x) => {
                let row = &x[model * self.m.n_items()..(model + 1) * self.m.n_items()];
                for (w, &word) in observed.iter().enumerate() {
                    let mut bits = word;
                    while bits != 0 {
                        let k = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        f(w * 64 + k, row[w * 64 + k] as f64);
                    }
                }
            }
        }
    }

    /// Score of `model` on item `64·word + k`, given the word was observed.
    #[inline]
    pub(super) fn score(&self, model: usize, word: usize, k: usize) -> f64 {
        match self.x {
            None => (self.m.correct_bits(model).expect("binary matrix")[word] >> k & 1) as f64,
            Some(x) => x[model * self.m.n_items() + word * 64 + k] as f64,
        }
    }
}

/// The variational state: items β = (d, a), each model's q = N(μ, Σ).
#[derive(Clone)]
pub(super) struct State {
    pub(super) dims: usize,
    /// items × (D + 1): (d, a₁..a_D).
    pub(super) beta: Vec<f64>,
    /// models × D.
    pub(super) mu: Vec<f64>,
    /// models × D × D (full, symmetric).
    pub(super) sigma: Vec<f64>,
}

impl State {
    pub(super) fn k(&self) -> usize {
        self.dims + 1
    }

    /// Per item, packed ββᵀ over θ̃ = (1, θ): the intercept is index 0, so
    /// entries (D + 2).. are the packed aaᵀ block.
    pub(super) fn item_outers(&self) -> Vec<f64> {
        let k = self.k();
        let pp = packed_len(k);
        let mut out = vec![0.0; self.beta.len() / k * pp];
        for (b, o) in self.beta.chunks(k).zip(out.chunks_mut(pp)) {
            let mut t = 0;
            for r in 0..k {
                for c in r..k {
                    o[t] = b[r] * b[c];
                    t += 1;
                }
            }
        }
        out
    }

    /// Per model, packed E_q[θ̃θ̃ᵀ] with off-diagonal entries doubled, so that
    /// E[(βᵀθ̃)²] = ⟨second, packed ββᵀ⟩.
    pub(super) fn model_moments(&self) -> Vec<f64> {
        let (d, k) = (self.dims, self.k());
        let pp = packed_len(k);
        let n = self.mu.len() / d;
        let mut out = vec![0.0; n * pp];
        for (j, o) in out.chunks_mut(pp).enumerate() {
            let mu = &self.mu[j * d..(j + 1) * d];
            let s = &self.sigma[j * d * d..(j + 1) * d * d];
            let mut t = 0;
            for r in 0..k {
                for c in r..k {
                    let v = match (r, c) {
                        (0, 0) => 1.0,
                        (0, c) => mu[c - 1],
                        (r, c) => s[(r - 1) * d + c - 1] + mu[r - 1] * mu[c - 1],
                    };
                    o[t] = if r == c { v } else { 2.0 * v };
                    t += 1;
                }
            }
        }
        out
    }

    /// Parameter expansion (PX-EM; Liu, Rubin & Wu 1998, *Biometrika*
    /// 85:755): let the population be N(m, Ψ) with m and Ψ the moments of
    /// the current posteriors, then map back to N(0, I) — θ' = L⁻¹(θ − m)
    /// with Ψ = LLᵀ, a' = Lᵀa, d' = d + aᵀm — which leaves every aᵀθ + d
    /// unchanged and can only shrink Σ_j KL(q_j ‖ N(0, I)). Plain EM moves
    /// along this "stretch θ, shrink a" direction very slowly.
    pub(super) fn expand(&mut self) {
        let (d, k) = (self.dims, self.k());
        let n = (self.mu.len() / d) as f64;
        let mut m = vec![0.0; d];
        for mu in self.mu.chunks(d) {
            axpy(&mut m, 1.0 / n, mu);
        }
        let mut psi = vec![0.0; d * d];
        for (mu, s) in self.mu.chunks(d).zip(self.sigma.chunks(d * d)) {
            for r in 0..d {
                for c in 0..d {
                    psi[r * d + c] += (s[r * d + c] + (mu[r] - m[r]) * (mu[c] - m[c])) / n;
                }
            }
        }
        let Some(l) = cholesky(&psi, d) else { return };
        for b in self.beta.chunks_mut(k) {
            b[0] += dot(&b[1..], &m);
            // a' = Lᵀa.
            let a: Vec<f64> = (0..d).map(|c| (c..d).map(|r| l[r * d + c] * b[1 + r]).sum()).collect();
            b[1..].copy_from_slice(&a);
        }
        // μ' = L⁻¹(μ − m) by forward substitution; Σ' = L⁻¹ Σ L⁻ᵀ.
        let forward = |x: &mut [f64]| {
            for i in 0..d {
                let mut s = x[i];
                for t in 0..i {
                    s -= l[i * d + t] * x[t];
                }
                x[i] = s / l[i * d + i];
            }
        };
        for mu in self.mu.chunks_mut(d) {
            for (x, c) in mu.iter_mut().zip(&m) {
                *x -= c;
            }
            forward(mu);
        }
        let mut col = vec![0.0; d];
        for s in self.sigma.chunks_mut(d * d) {
            // Columns of L⁻¹Σ, then rows of (L⁻¹Σ)L⁻ᵀ = L⁻¹(L⁻¹Σ)ᵀ.
            for c in 0..d {
                for r in 0..d {
                    col[r] = s[r * d + c];
                }
                forward(&mut col);
                for r in 0..d {
                    s[r * d + c] = col[r];
                }
            }
            for r in 0..d {
                col.copy_from_slice(&s[r * d..(r + 1) * d]);
                forward(&mut col);
                s[r * d..(r + 1) * d].copy_from_slice(&col);
            }
            for r in 0..d {
                for c in r + 1..d {
                    let v = 0.5 * (s[r * d + c] + s[c * d + r]);
                    s[r * d + c] = v;
                    s[c * d + r] = v;
                }
            }
        }
    }

    /// Rotates to the principal axes of Σᵢ aᵢaᵢᵀ and signs each axis so that
    /// its loadings sum to ≥ 0; θ's posteriors are rotated with it.
    pub(super) fn canonical_rotation(&mut self) {
        let (d, k) = (self.dims, self.k());
        if d == 1 {
            let flip = self.beta.chunks(k).map(|b| b[1]).sum::<f64>() < 0.0;
            if flip {
                self.beta.chunks_mut(k).for_each(|b| b[1] = -b[1]);
                self.mu.iter_mut().for_each(|m| *m = -*m);
            }
            return;
        }
        let mut gram = vec![0.0; d * d];
        for b in self.beta.chunks(k) {
            for r in 0..d {
                for c in 0..d {
                    gram[r * d + c] += b[1 + r] * b[1 + c];
                }
            }
        }
        let (_, mut v) = symmetric_eigen(&gram, d);
        // Signs: loadings on each new axis sum to ≥ 0.
        for c in 0..d {
            let total: f64 = self.beta.chunks(k).map(|b| (0..d).map(|r| b[1 + r] * v[r * d + c]).sum::<f64>()).sum();
            if total < 0.0 {
                for r in 0..d {
                    v[r * d + c] = -v[r * d + c];
                }
            }
        }
        // a ← Vᵀa, μ ← Vᵀμ, Σ ← VᵀΣV.
        let mut tmp = vec![0.0; d];
        for b in self.beta.chunks_mut(k) {
            for c in 0..d {
                tmp[c] = (0..d).map(|r| v[r * d + c] * b[1 + r]).sum();
            }
            b[1..].copy_from_slice(&tmp);
        }
        for mu in self.mu.chunks_mut(d) {
            for c in 0..d {
                tmp[c] = (0..d).map(|r| v[r * d + c] * mu[r]).sum();
            }
            mu.copy_from_slice(&tmp);
        }
        let mut sv = vec![0.0; d * d];
        for s in self.sigma.chunks_mut(d * d) {
            for r in 0..d {
                for c in 0..d {
                    sv[r * d + c] = (0..d).map(|t| s[r * d + t] * v[t * d + c]).sum();
                }
            }
            for r in 0..d {
                for c in 0..d {
                    s[r * d + c] = (0..d).map(|t| v[t * d + r] * sv[t * d + c]).sum();
                }
            }
        }
    }
}

/// KL(N(μ, Σ) ‖ N(0, I)).
pub(super) fn kl_standard(mu: &[f64], sigma: &[f64], d: usize) -> f64 {
    let trace: f64 = (0..d).map(|i| sigma[i * d + i]).sum();
    let log_det = match cholesky(sigma, d) {
        Some(l) => 2.0 * (0..d).map(|i| ln(l[i * d + i])).sum::<f64>(),
        None => return f64::INFINITY,
    };
    0.5 * (trace + dot(mu, mu) - d as f64 - log_det)
}

/// E-step: every model's q from the current items. Returns the
/// Jaakkola–Jordan bound at the *previous* q (for monitoring; it never
/// decreases from one iteration to the next).
pub(super) fn e_step(data: &Data, state: &mut State) -> f64 {
    let (d, k) = (state.dims, state.k());
    let pp = packed_len(k);
    let outers = state.item_outers();
    let moments = state.model_moments();
    let beta = &state.beta;
    let (old_mu, old_sigma) = (&state.mu, &state.sigma);
    let results: Vec<(Vec<f64>, Vec<f64>, f64)> = parallel::map(data.m.n_models(), |j| {
        let second = &moments[j * pp..(j + 1) * pp];
        let mu_old = &old_mu[j * d..(j + 1) * d];
        let mut precision = vec![0.0; packed_len(d)];
        let mut h = vec![0.0; d];
        let mut bound = 0.0;
        data.for_each_response(j, |i, y| {
            let o = &outers[i * pp..(i + 1) * pp];
            let b = &beta[i * k..(i + 1) * k];
            let xi = dot(second, o).max(0.0).sqrt();
            let eta = jj_eta(xi);
            axpy(&mut precision, 2.0 * eta, &o[k..]);
            axpy(&mut h, (y - 0.5) - 2.0 * eta * b[0], &b[1..]);
            let mean = b[0] + dot(&b[1..], mu_old);
            bound += ln_sigmoid(xi) + ((2.0 * y - 1.0) * mean - xi) / 2.0;
        });
        bound -= kl_standard(mu_old, &old_sigma[j * d * d..(j + 1) * d * d], d);
        let mut full = vec![0.0; d * d];
        let mut t = 0;
        for r in 0..d {
            for c in r..d {
                full[r * d + c] = precision[t];
                full[c * d + r] = precision[t];
                t += 1;
            }
            full[r * d + r] += 1.0;
        }
        // I + a positive semi-definite sum is positive definite; should
        // rounding say otherwise, the model keeps its previous posterior.
        match cholesky(&full, d) {
            Some(l) => {
                let (sigma, _) = cholesky_inverse(&l, d);
                cholesky_solve(&l, d, &mut h);
                (h, sigma, bound)
            }
            None => (mu_old.to_vec(), old_sigma[j * d * d..(j + 1) * d * d].to_vec(), bound),
        }
    });
    let mut total = 0.0;
    for (j, (mu, sigma, bound)) in results.into_iter().enumerate() {
        state.mu[j * d..(j + 1) * d].copy_from_slice(&mu);
        state.sigma[j * d * d..(j + 1) * d * d].copy_from_slice(&sigma);
        total += bound;
    }
    total
}

/// M-step: every item's β from the current q. Items in blocks of 64 (one
/// bitset word), each block one task.
pub(super) fn m_step(data: &Data, state: &mut State) {
    let k = state.k();
    let pp = packed_len(k);
    let outers = state.item_outers();
    let moments = state.model_moments();
    let mu = &state.mu;
    let d = state.dims;
    let n_models = data.m.n_models();
    let mut prior = vec![1.0 / (PRIOR_A_SD * PRIOR_A_SD); k];
    prior[0] = 1.0 / (PRIOR_D_SD * PRIOR_D_SD);
    parallel::for_each_chunk_mut(&mut state.beta, 64 * k, |word, block| {
        let n_block = block.len() / k;
        let mut acc = vec![0.0; n_block * pp];
        let mut rhs = vec![0.0; n_block * k];
        for j in 0..n_models {
            let observed = data.m.observed_bits(j)[word];
            if observed == 0 {
                continue;
            }
            let second = &moments[j * pp..(j + 1) * pp];
            let mu_j = &mu[j * d..(j + 1) * d];
            let mut bits = observed;
            while bits != 0 {
                let t = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let i = word * 64 + t;
                let y = data.score(j, word, t);
                let xi = dot(second, &outers[i * pp..(i + 1) * pp]).max(0.0).sqrt();
                let eta = jj_eta(xi);
                axpy(&mut acc[t * pp..(t + 1) * pp], 2.0 * eta, second);
                let r = &mut rhs[t * k..(t + 1) * k];
                r[0] += y - 0.5;
                axpy(&mut r[1..], y - 0.5, mu_j);
            }
        }
        let mut full = vec![0.0; k * k];
        for t in 0..n_block {
            let a = &acc[t * pp..(t + 1) * pp];
            let mut s = 0;
            for r in 0..k {
                for c in r..k {
                    // `second` has doubled off-diagonals: halve them back.
                    let v = if r == c { a[s] } else { 0.5 * a[s] };
                    full[r * k + c] = v;
                    full[c * k + r] = v;
                    s += 1;
                }
                full[r * k + r] += prior[r];
            }
            let mut b = rhs[t * k..(t + 1) * k].to_vec();
            // Positive definite (a PSD sum plus a positive prior diagonal);
            // should rounding say otherwise, the item keeps its parameters.
            if let Some(l) = cholesky(&full, k) {
                cholesky_solve(&l, k, &mut b);
                if b.iter().all(|v| v.is_finite()) {
                    block[t * k..(t + 1) * k].copy_from_slice(&b);
                }
            }
        }
    });
}

/// Starting values: intercepts from item means, abilities from a seeded
/// subspace iteration on the centred responses (their top D principal
/// components, scaled to unit variance).
pub(super) fn initial_state(data: &Data, dims: usize, seed: u64) -> State {
    let (n, items) = (data.m.n_models(), data.m.n_items());
    let mut sums = vec![(0.0f64, 0.0f64); items];
    for j in 0..n {
        data.for_each_response(j, |i, y| {
            sums[i].0 += y;
            sums[i].1 += 1.0;
        });
    }
    let means: Vec<f64> = sums.iter().map(|&(s, c)| if c > 0.0 { s / c } else { 0.5 }).collect();
    let k = dims + 1;
    let mut beta = vec![0.0; items * k];
    for (i, p) in means.iter().enumerate() {
        let p = p.clamp(0.02, 0.98);
        beta[i * k] = ln(p / (1.0 - p));
    }
    // Subspace iteration: Z ← Xᵀ Y, Y ← X Z, orthonormalised each time.
    let mut rng = Rng::new(seed);
    let mut z: Vec<f64> = (0..items * dims).map(|_| rng.normal()).collect();
    let mut y = vec![0.0; n * dims];
    let x_times = |z: &[f64], y: &mut [f64]| {
        let rows: Vec<Vec<f64>> = parallel::map(n, |j| {
            let mut out = vec![0.0; dims];
            data.for_each_response(j, |i, v| axpy(&mut out, v - means[i], &z[i * dims..(i + 1) * dims]));
            out
        });
        for (j, r) in rows.into_iter().enumerate() {
            y[j * dims..(j + 1) * dims].copy_from_slice(&r);
        }
    };
    let xt_times = |y: &[f64], z: &mut [f64]| {
        z.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..n {
            let yj = &y[j * dims..(j + 1) * dims];
            data.for_each_response(j, |i, v| axpy(&mut z[i * dims..(i + 1) * dims], v - means[i], yj));
        }
    };
    orthonormalise(&mut z, items, dims);
    for _ in 0..6 {
        x_times(&z, &mut y);
        orthonormalise(&mut y, n, dims);
        xt_times(&y, &mut z);
        orthonormalise(&mut z, items, dims);
    }
    x_times(&z, &mut y);
    orthonormalise(&mut y, n, dims);
    let scale = (n as f64).sqrt();
    let mu: Vec<f64> = y.iter().map(|v| v * scale).collect();
    let mut sigma = vec![0.0; n * dims * dims];
    for s in sigma.chunks_mut(dims * dims) {
        for r in 0..dims {
            s[r * dims + r] = 0.1;
        }
    }
    State { dims, beta, mu, sigma }
}

/// The evidence lower bound with exact expectations: Σ_j (Σ_i E_q[ln p(x_ij
/// | θ)] − KL(q_j ‖ N(0, I))), E_q by 1-D Gauss–Hermite on aᵀθ + d ~ N(m, v).
pub(super) fn exact_elbo(data: &Data, state: &State) -> f64 {
    let (d, k) = (state.dims, state.k());
    let pp = packed_len(k);
    let outers = state.item_outers();
    let moments = state.model_moments();
    let gh = Quadrature::gauss_hermite(15);
    let per_model = parallel::map(data.m.n_models(), |j| {
        let second = &moments[j * pp..(j + 1) * pp];
        let mu = &state.mu[j * d..(j + 1) * d];
        let mut total = 0.0;
        data.for_each_response(j, |i, y| {
            let b = &state.beta[i * k..(i + 1) * k];
            let mean = b[0] + dot(&b[1..], mu);
            let var = (dot(second, &outers[i * pp..(i + 1) * pp]) - mean * mean).max(0.0);
            let sd = var.sqrt();
            for (x, w) in gh.nodes.iter().zip(&gh.weights) {
                let z = mean + sd * x;
                total += w * (y * ln_sigmoid(z) + (1.0 - y) * ln_sigmoid(-z));
            }
        });
        total - kl_standard(mu, &state.sigma[j * d * d..(j + 1) * d * d], d)
    });
    per_model.iter().sum()
}
