//! One item's response function, its derivatives, and the M-step that
//! maximises the item's expected complete-data log-likelihood (plus log
//! prior) by Newton's method with backtracking, falling back on Fisher
//! scoring where the observed information is not positive definite.
//!
//! Bernoulli family (1PL–4PL): P(θ) = c + (d − c)·σ(a(θ − b)).
//! Beta family: x ~ Beta(μφ, (1 − μ)φ) with μ(θ) = σ(a(θ − b)).
//! Parameters are optimised in an unconstrained space: ξ = ln a (so a > 0
//! and higher θ always means a higher expected score: no sign flips),
//! b, γ = logit c, δ = logit d, ψ = ln φ.

use super::special::{digamma, ln_gamma, trigamma};
use crate::math::{exp, ln, ln_1p};

/// Fitted parameters of one unidimensional item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemParams {
    /// Discrimination (> 0).
    pub a: f64,
    /// Difficulty: the θ where the expected score is halfway between c and d.
    pub b: f64,
    /// Lower asymptote (guessing); 0 below 3PL.
    pub c: f64,
    /// Upper asymptote; 1 below 4PL.
    pub d: f64,
    /// Beta precision φ (Beta model only; NaN otherwise).
    pub phi: f64,
}

impl Default for ItemParams {
    fn default() -> Self {
        ItemParams::new(1.0, 0.0)
    }
}

impl ItemParams {
    pub fn new(a: f64, b: f64) -> Self {
        ItemParams { a, b, c: 0.0, d: 1.0, phi: f64::NAN }
    }

    /// Expected score at θ: P(correct) for Bernoulli items, the mean μ for Beta items.
    #[inline]
    pub fn expected(&self, theta: f64) -> f64 {
        self.c + (self.d - self.c) * sigmoid(self.a * (theta - self.b))
    }

    /// Fisher information about θ carried by one response at θ.
    pub fn information(&self, theta: f64, family: Family) -> f64 {
        let s = sigmoid(self.a * (theta - self.b));
        match family {
            Family::Bernoulli => {
                let p = (self.c + (self.d - self.c) * s).clamp(P_MIN, 1.0 - P_MIN);
                let dp = (self.d - self.c) * self.a * s * (1.0 - s);
                dp * dp / (p * (1.0 - p))
            }
            Family::Beta => {
                let mu = s.clamp(P_MIN, 1.0 - P_MIN);
                let phi = self.phi;
                let i_mu = phi * phi * (trigamma(mu * phi) + trigamma((1.0 - mu) * phi));
                let dmu = self.a * mu * (1.0 - mu);
                i_mu * dmu * dmu
            }
        }
    }

    /// ln p(x | θ) of one response.
    pub fn log_likelihood(&self, theta: f64, x: f64, family: Family) -> f64 {
        match family {
            Family::Bernoulli => {
                let p = self.expected(theta).clamp(P_MIN, 1.0 - P_MIN);
                x * ln(p) + (1.0 - x) * ln(1.0 - p)
            }
            Family::Beta => {
                let mu = sigmoid(self.a * (theta - self.b)).clamp(P_MIN, 1.0 - P_MIN);
                let (al, be) = (mu * self.phi, (1.0 - mu) * self.phi);
                let x = x.clamp(BETA_EPS, 1.0 - BETA_EPS);
                (al - 1.0) * ln(x) + (be - 1.0) * ln(1.0 - x) - (ln_gamma(al) + ln_gamma(be) - ln_gamma(self.phi))
            }
        }
    }

    /// d/dθ ln p(x | θ) and the Fisher information at θ (for θ scoring).
    pub fn theta_score(&self, theta: f64, x: f64, family: Family) -> (f64, f64) {
        let s = sigmoid(self.a * (theta - self.b));
        match family {
            Family::Bernoulli => {
                let p = (self.c + (self.d - self.c) * s).clamp(P_MIN, 1.0 - P_MIN);
                let dp = (self.d - self.c) * self.a * s * (1.0 - s);
                ((x - p) / (p * (1.0 - p)) * dp, dp * dp / (p * (1.0 - p)))
            }
            Family::Beta => {
                let mu = s.clamp(P_MIN, 1.0 - P_MIN);
                let phi = self.phi;
                let x = x.clamp(BETA_EPS, 1.0 - BETA_EPS);
                let dmu = self.a * mu * (1.0 - mu);
                let g_mu = phi * (ln(x / (1.0 - x)) - digamma(mu * phi) + digamma((1.0 - mu) * phi));
                let i_mu = phi * phi * (trigamma(mu * phi) + trigamma((1.0 - mu) * phi));
                (g_mu * dmu, i_mu * dmu * dmu)
            }
        }
    }
}

/// Probabilities are kept inside [P_MIN, 1 − P_MIN] so logs stay finite.
pub const P_MIN: f64 = 1e-10;
/// Continuous scores are clamped into [ε, 1 − ε] for the Beta model, whose
/// density is infinite or zero at exactly 0 and 1.
pub const BETA_EPS: f64 = 1e-3;

#[inline]
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + exp(-z))
}

#[inline]
fn logit(p: f64) -> f64 {
    ln(p / (1.0 - p))
}

/// The response distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// 0/1 (or fractional, as a quasi-likelihood) responses.
    Bernoulli,
    /// Continuous responses in (0, 1).
    Beta,
}

/// Which parameters are free. `a` may be shared across items (1PL), fixed at
/// 1 (Rasch), or free per item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Free {
    pub a: bool,
    pub c: bool,
    pub d: bool,
    pub phi: bool,
}

/// Gaussian priors in the unconstrained space: (mean, sd) of ln a, b,
/// logit c, logit d, ln φ. An infinite sd is a flat prior.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Priors {
    pub ln_a: (f64, f64),
    pub b: (f64, f64),
    pub logit_c: (f64, f64),
    pub logit_d: (f64, f64),
    pub ln_phi: (f64, f64),
}

impl Default for Priors {
    /// Weak defaults: a ∈ [0.14, 7.4] and b within ±6 of its centre within
    /// 2 sd; c around 0.2 (BILOG-MG's Beta(5, 17) has mean 0.23); d around
    /// 0.95; φ around 10. The EM fit ignores the b prior's mean given here
    /// and estimates it as the items' mean b (see `centred_priors` in the
    /// parent module), so only its sd is a setting there.
    fn default() -> Self {
        Priors { ln_a: (0.0, 1.0), b: (0.0, 3.0), logit_c: (logit(0.2), 1.0), logit_d: (logit(0.95), 1.0), ln_phi: (ln(10.0), 1.5) }
    }
}

/// Expected sufficient statistics of one item at each quadrature node, from
/// the E-step: `n` = expected number of responses, and for Bernoulli `s` =
/// expected sum of scores; for Beta `u` = Σ r·ln x and `v` = Σ r·ln(1 − x).
pub struct NodeStats<'a> {
    pub n: &'a [f64],
    pub s: &'a [f64],
    pub v: &'a [f64],
}

const MAX_PARAMS: usize = 4;

/// Unconstrained parameter vector of one item: indices into a fixed layout.
#[derive(Clone, Copy)]
struct Layout {
    free: Free,
    family: Family,
}

impl Layout {
    /// (ln a, b, then logit c, logit d for Bernoulli or ln φ for Beta).
    fn pack(&self, p: &ItemParams) -> ([f64; MAX_PARAMS], usize) {
        let mut v = [0.0; MAX_PARAMS];
        let mut k = 0;
        if self.free.a {
            v[k] = ln(p.a);
            k += 1;
        }
        v[k] = p.b;
        k += 1;
        match self.family {
            Family::Bernoulli => {
                if self.free.c {
                    v[k] = logit(p.c);
                    k += 1;
                }
                if self.free.d {
                    v[k] = logit(p.d);
                    k += 1;
                }
            }
            Family::Beta => {
                if self.free.phi {
                    v[k] = ln(p.phi);
                    k += 1;
                }
            }
        }
        (v, k)
    }

    fn unpack(&self, v: &[f64], base: &ItemParams) -> ItemParams {
        let mut p = *base;
        let mut k = 0;
        if self.free.a {
            p.a = exp(v[k].clamp(-5.0, 5.0));
            k += 1;
        }
        p.b = v[k].clamp(-30.0, 30.0);
        k += 1;
        match self.family {
            Family::Bernoulli => {
                if self.free.c {
                    p.c = sigmoid(v[k]).clamp(1e-6, 0.999);
                    k += 1;
                }
                if self.free.d {
                    p.d = sigmoid(v[k]).clamp(p.c + 1e-3, 1.0 - 1e-6);
                }
            }
            Family::Beta => {
                if self.free.phi {
                    p.phi = exp(v[k].clamp(-5.0, 12.0));
                }
            }
        }
        p
    }

    /// (mean, sd) of the prior on each packed parameter.
    fn priors(&self, priors: &Priors) -> [(f64, f64); MAX_PARAMS] {
        let mut out = [(0.0, f64::INFINITY); MAX_PARAMS];
        let mut k = 0;
        if self.free.a {
            out[k] = priors.ln_a;
            k += 1;
        }
        out[k] = priors.b;
        k += 1;
        match self.family {
            Family::Bernoulli => {
                if self.free.c {
                    out[k] = priors.logit_c;
                    k += 1;
                }
                if self.free.d {
                    out[k] = priors.logit_d;
                }
            }
            Family::Beta => {
                if self.free.phi {
                    out[k] = priors.ln_phi;
                }
            }
        }
        out
    }
}

/// An item's free parameters in the unconstrained space, appended to `out`.
pub fn pack_into(p: &ItemParams, family: Family, free: Free, out: &mut Vec<f64>) {
    let (v, n) = Layout { free, family }.pack(p);
    out.extend_from_slice(&v[..n]);
}

/// Number of unconstrained parameters per item.
pub fn packed_len(family: Family, free: Free) -> usize {
    Layout { free, family }.pack(&ItemParams { phi: 1.0, c: 0.1, d: 0.9, ..ItemParams::default() }).1
}

/// The item with its free parameters replaced by `v` (from [`pack_into`]).
pub fn unpack(v: &[f64], base: &ItemParams, family: Family, free: Free) -> ItemParams {
    Layout { free, family }.unpack(v, base)
}

/// ln prior density (up to a constant) of an item's free parameters.
pub fn log_prior(p: &ItemParams, family: Family, free: Free, priors: &Priors) -> f64 {
    let layout = Layout { free, family };
    let (v, n) = layout.pack(p);
    let prior = layout.priors(priors);
    (0..n).filter(|&k| prior[k].1.is_finite()).map(|k| -0.5 * (v[k] - prior[k].0) * (v[k] - prior[k].0) / (prior[k].1 * prior[k].1)).sum()
}

type Matrix = [[f64; MAX_PARAMS]; MAX_PARAMS];

/// One item's expected complete-data log-likelihood (no prior) at a point of
/// the packed space, with its gradient and two curvatures.
struct Objective {
    f: f64,
    g: [f64; MAX_PARAMS],
    /// Fisher (expected) information: positive semi-definite everywhere.
    fisher: Matrix,
    /// Observed information, −∂²f. Not definite far from the optimum, but the one that
    /// converges: on a flat ridge — an item one model of 29 gets right — the
    /// two differ by the residual terms, and Fisher scoring crawls at a
    /// linear rate near 1 where Newton's method takes a few steps.
    observed: Matrix,
}

/// See [`Objective`]; `dims` is the number of packed parameters.
fn evaluate(layout: Layout, p: &ItemParams, nodes: &[f64], stats: &NodeStats, dims: usize) -> Objective {
    let mut f = 0.0;
    let mut g = [0.0; MAX_PARAMS];
    let mut h = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    let mut observed = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    // 1PL and 2PL items (the common case, and most of a fit's time) take a
    // shorter path: with the logit link, −∂²f/∂z² is the Fisher weight
    // n·σ(1 − σ), so the observed information only adds Σ r·∂²z, r = s − nσ.
    let two_pl = layout.family == Family::Bernoulli && p.c == 0.0 && p.d == 1.0 && !layout.free.c && !layout.free.d;
    let (mut r_z, mut r_zz) = (0.0, 0.0);
    for (q, &theta) in nodes.iter().enumerate() {
        let n = stats.n[q];
        if n <= 0.0 {
            continue;
        }
        let z = p.a * (theta - p.b);
        // One exponential serves the sigmoid and the softplus below; this
        // loop is most of a fit's time.
        let e = exp(-z.abs());
        let s = if z >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
        let ds = s * (1.0 - s);
        if two_pl {
            let sum = stats.s[q];
            f += if z.abs() < 20.0 {
                // s·ln σ(z) + (n − s)·ln(1 − σ(z)) = s·z − n·softplus(z)
                sum * z - n * (z.max(0.0) + ln_1p(e))
            } else {
                let pr = s.clamp(P_MIN, 1.0 - P_MIN);
                sum * ln(pr) + (n - sum) * ln(1.0 - pr)
            };
            let (r, w) = (sum - n * s, n * ds);
            let dz_b = -p.a;
            if layout.free.a {
                // Packed (ln a, b): ∂z = (z, −a), ∂²z = [[z, −a], [−a, 0]].
                g[0] += r * z;
                g[1] += r * dz_b;
                h[0][0] += w * z * z;
                h[1][0] += w * z * dz_b;
                h[1][1] += w * dz_b * dz_b;
                r_z += r;
                r_zz += r * z;
            } else {
                g[0] += r * dz_b;
                h[0][0] += w * dz_b * dz_b;
            }
            continue;
        }
        // d(mean)/d(packed params), in the packed order.
        let mut dm = [0.0; MAX_PARAMS];
        let mut k = 0;
        match layout.family {
            Family::Bernoulli => {
                let span = p.d - p.c;
                if layout.free.a {
                    dm[k] = span * ds * z;
                    k += 1;
                }
                dm[k] = -span * ds * p.a;
                k += 1;
                if layout.free.c {
                    dm[k] = (1.0 - s) * p.c * (1.0 - p.c);
                    k += 1;
                }
                if layout.free.d {
                    dm[k] = s * p.d * (1.0 - p.d);
                }
                let pr = (p.c + span * s).clamp(P_MIN, 1.0 - P_MIN);
                let sum = stats.s[q];
                // (c = 0 and d = 1 took the 1PL/2PL path above: a free c or d
                // is kept inside (0, 1) by `unpack`.)
                f += sum * ln(pr) + (n - sum) * ln(1.0 - pr);
                let resid = (sum - n * pr) / (pr * (1.0 - pr));
                let w = n / (pr * (1.0 - pr));
                // −∂²f = (w + resid·(1 − 2p)/(p(1 − p)))·∂p∂pᵀ − resid·∂²p.
                let w_observed = w + resid * (1.0 - 2.0 * pr) / (pr * (1.0 - pr));
                let d2m = mean_second_derivatives(layout, p, z, s);
                for i in 0..dims {
                    g[i] += resid * dm[i];
                    for j in 0..=i {
                        h[i][j] += w * dm[i] * dm[j];
                        observed[i][j] += w_observed * dm[i] * dm[j] - resid * d2m[i][j];
                    }
                }
            }
            Family::Beta => {
                let mu = s.clamp(P_MIN, 1.0 - P_MIN);
                let phi = p.phi;
                let (al, be) = (mu * phi, (1.0 - mu) * phi);
                let (u, v) = (stats.s[q], stats.v[q]);
                f += (al - 1.0) * u + (be - 1.0) * v - n * (ln_gamma(al) + ln_gamma(be) - ln_gamma(phi));
                let (dg_a, dg_b, dg_p) = (digamma(al), digamma(be), digamma(phi));
                let (tg_a, tg_b, tg_p) = (trigamma(al), trigamma(be), trigamma(phi));
                let g_mu = phi * (u - v) - n * phi * (dg_a - dg_b);
                let g_phi = mu * u + (1.0 - mu) * v - n * (mu * dg_a + (1.0 - mu) * dg_b - dg_p);
                let i_mm = n * phi * phi * (tg_a + tg_b);
                let i_pp = n * (mu * mu * tg_a + (1.0 - mu) * (1.0 - mu) * tg_b - tg_p);
                let i_mp = n * phi * (mu * tg_a - (1.0 - mu) * tg_b);
                // Chain rule: packed → (μ, φ).
                let mut jm = [0.0; MAX_PARAMS];
                let mut jp = [0.0; MAX_PARAMS];
                if layout.free.a {
                    jm[k] = ds * z;
                    k += 1;
                }
                jm[k] = -ds * p.a;
                k += 1;
                if layout.free.phi {
                    jp[k] = phi;
                }
                // Observed information: the Fisher part, less ∂²f/∂μ∂φ's data
                // term g_μ/φ, less the chain rule's second derivatives
                // (g_μ·∂²μ and g_φ·∂²φ, ∂²φ/∂(ln φ)² = φ).
                let d2mu = mean_second_derivatives(layout, p, z, s);
                for i in 0..dims {
                    g[i] += g_mu * jm[i] + g_phi * jp[i];
                    for j in 0..=i {
                        let fisher = i_mm * jm[i] * jm[j] + i_pp * jp[i] * jp[j] + i_mp * (jm[i] * jp[j] + jp[i] * jm[j]);
                        h[i][j] += fisher;
                        let d2phi = if i == j && jp[i] != 0.0 { phi } else { 0.0 };
                        observed[i][j] += fisher - g_mu / phi * (jm[i] * jp[j] + jp[i] * jm[j]) - g_mu * d2mu[i][j] - g_phi * d2phi;
                    }
                }
            }
        }
    }
    if two_pl {
        observed = h;
        if layout.free.a {
            observed[0][0] -= r_zz;
            observed[1][0] += p.a * r_z;
        }
    }
    for i in 0..dims {
        for j in 0..i {
            h[j][i] = h[i][j];
            observed[j][i] = observed[i][j];
        }
    }
    Objective { f, g, fisher: h, observed }
}

/// ∂²p/∂v_i∂v_j of a Bernoulli item's P(θ) = c + (d − c)·σ(z), z = a(θ − b),
/// in the packed order (ln a, b, logit c, logit d), at z with s = σ(z); for
/// a Beta item (c = 0, d = 1) the same for its mean μ = σ(z).
fn mean_second_derivatives(layout: Layout, p: &ItemParams, z: f64, s: f64) -> Matrix {
    let span = p.d - p.c;
    let ds = s * (1.0 - s);
    let d2s = ds * (1.0 - 2.0 * s);
    // ∂z/∂v and ∂²z/∂v∂v for the slots that move z: ln a (z itself) and b (−a).
    let mut out = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    let mut dz = [0.0; 2];
    let mut d2z = [[0.0; 2]; 2];
    let mut k = 0;
    if layout.free.a {
        dz[k] = z;
        d2z[0][0] = z;
        k += 1;
    }
    dz[k] = -p.a;
    if layout.free.a {
        d2z[0][1] = -p.a;
        d2z[1][0] = -p.a;
    }
    let n_z = k + 1;
    for i in 0..n_z {
        for j in 0..n_z {
            out[i][j] = span * (d2s * dz[i] * dz[j] + ds * d2z[i][j]);
        }
    }
    let mut k = n_z;
    if layout.free.c {
        let c_slope = p.c * (1.0 - p.c);
        for i in 0..n_z {
            out[i][k] = -c_slope * ds * dz[i];
            out[k][i] = out[i][k];
        }
        out[k][k] = (1.0 - s) * c_slope * (1.0 - 2.0 * p.c);
        k += 1;
    }
    if layout.free.d {
        let d_slope = p.d * (1.0 - p.d);
        for i in 0..n_z {
            out[i][k] = d_slope * ds * dz[i];
            out[k][i] = out[i][k];
        }
        out[k][k] = s * d_slope * (1.0 - 2.0 * p.d);
    }
    out
}

fn with_prior(v: &[f64], prior: &[(f64, f64)], o: &mut Objective, dims: usize) {
    for i in 0..dims {
        let (mean, sd) = prior[i];
        if sd.is_finite() {
            let prec = 1.0 / (sd * sd);
            o.f -= 0.5 * prec * (v[i] - mean) * (v[i] - mean);
            o.g[i] -= prec * (v[i] - mean);
            o.fisher[i][i] += prec;
            o.observed[i][i] += prec;
        }
    }
}

/// Solves H x = g for a small symmetric positive-definite H (Cholesky with a
/// ridge that grows until the factorisation succeeds).
fn solve(h: &Matrix, g: &[f64; MAX_PARAMS], n: usize) -> [f64; MAX_PARAMS] {
    let scale = (0..n).map(|i| h[i][i].abs()).fold(0.0, f64::max).max(1e-12);
    let mut ridge = 0.0;
    loop {
        if let Some(x) = solve_with_ridge(h, g, n, ridge) {
            return x;
        }
        ridge = if ridge == 0.0 { 1e-8 * scale } else { ridge * 10.0 };
        if ridge > 1e12 * scale {
            return [0.0; MAX_PARAMS];
        }
    }
}

/// Solves (H + ridge·I) x = g by Cholesky; `None` when that is not positive definite.
fn solve_with_ridge(h: &Matrix, g: &[f64; MAX_PARAMS], n: usize, ridge: f64) -> Option<[f64; MAX_PARAMS]> {
    let mut l = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = h[i][j] + if i == j { ridge } else { 0.0 };
            for k in 0..j {
                sum -= l[i][k] * l[j][k];
            }
            if i == j {
                if sum <= 0.0 || !sum.is_finite() {
                    return None;
                }
                l[i][i] = sum.sqrt();
            } else {
                l[i][j] = sum / l[j][j];
            }
        }
    }
    let mut y = [0.0; MAX_PARAMS];
    for i in 0..n {
        let mut sum = g[i];
        for k in 0..i {
            sum -= l[i][k] * y[k];
        }
        y[i] = sum / l[i][i];
    }
    let mut x = [0.0; MAX_PARAMS];
    for i in (0..n).rev() {
        let mut sum = y[i];
        for k in i + 1..n {
            sum -= l[k][i] * x[k];
        }
        x[i] = sum / l[i][i];
    }
    Some(x)
}

/// One item's M-step: maximise the expected complete-data log-likelihood
/// plus log prior over the free parameters, starting from `start`. Returns the
/// new parameters and the largest change in any packed parameter.
pub fn m_step(start: &ItemParams, family: Family, free: Free, priors: &Priors, nodes: &[f64], stats: &NodeStats, max_steps: usize) -> (ItemParams, f64) {
    let layout = Layout { free, family };
    let (mut v, dims) = layout.pack(start);
    let prior = layout.priors(priors);
    let v0 = v;
    let objective = |v: &[f64]| {
        let p = layout.unpack(v, start);
        let mut o = evaluate(layout, &p, nodes, stats, dims);
        with_prior(v, &prior, &mut o, dims);
        o
    };
    let mut current = objective(&v);
    // Newton steps where the observed information is positive definite
    // (near the optimum), Fisher scoring where it is not; each step only has
    // to improve the objective (generalised EM), and backtracking sees to it.
    for _ in 0..max_steps {
        let step = solve_with_ridge(&current.observed, &current.g, dims, 0.0).unwrap_or_else(|| solve(&current.fisher, &current.g, dims));
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            let mut trial = v;
            for i in 0..dims {
                // Cap single steps: a quadratic model can overshoot far from the optimum.
                trial[i] += (t * step[i]).clamp(-2.0, 2.0);
            }
            let next = objective(&trial);
            if next.f.is_finite() && next.f >= current.f - 1e-12 * current.f.abs() {
                let change = (0..dims).map(|i| (trial[i] - v[i]).abs()).fold(0.0, f64::max);
                v = trial;
                current = next;
                // Stop once a step moves no parameter by 10⁻⁶: Newton's
                // method converges quadratically, so the next step would
                // move it by ~10⁻¹², far below EM's own tolerance (10⁻⁴ by
                // default).
                improved = change > 1e-6;
                break;
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    let change = (0..dims).map(|i| (v[i] - v0[i]).abs()).fold(0.0, f64::max);
    (layout.unpack(&v, start), change)
}

/// The shared-discrimination (1PL) update: one Fisher-scoring step for ln a
/// summed over all items, with the items' difficulties held fixed.
/// `b_spread` is Σ (b_i − mean b)² / σ_b²: the 1PL's b prior is on the logit
/// scale (a·b), so it adds −a²·b_spread/2 to the objective.
pub fn shared_a_step(items: &[ItemParams], nodes: &[f64], stats: &[NodeStats], priors: &Priors, b_spread: f64) -> f64 {
    let layout = Layout { free: Free { a: true, c: false, d: false, phi: false }, family: Family::Bernoulli };
    let a = items.first().map_or(1.0, |p| p.a);
    let total = |ln_a: f64| -> (f64, f64, f64) {
        let (mut f, mut g, mut h) = (0.0, 0.0, 0.0);
        for (p, st) in items.iter().zip(stats) {
            let q = ItemParams { a: exp(ln_a), ..*p };
            let o = evaluate(layout, &q, nodes, st, 2);
            f += o.f;
            g += o.g[0];
            h += o.fisher[0][0];
        }
        let (mean, sd) = priors.ln_a;
        let prec = 1.0 / (sd * sd);
        let a2 = exp(2.0 * ln_a) * b_spread;
        (f - 0.5 * prec * (ln_a - mean).powi(2) - 0.5 * a2, g - prec * (ln_a - mean) - a2, h + prec + 2.0 * a2)
    };
    let mut ln_a = ln(a);
    let (mut f, mut g, mut h) = total(ln_a);
    for _ in 0..20 {
        let step = (g / h).clamp(-1.0, 1.0);
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..30 {
            let trial = ln_a + t * step;
            let (ft, gt, ht) = total(trial);
            if ft >= f - 1e-12 * f.abs() {
                moved = (trial - ln_a).abs() > 1e-10;
                ln_a = trial;
                (f, g, h) = (ft, gt, ht);
                break;
            }
            t *= 0.5;
        }
        if !moved {
            break;
        }
    }
    exp(ln_a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irt::quadrature::Quadrature;

    /// Exact expected statistics for an item with known parameters when the
    /// population is N(0,1): the M-step must return those parameters.
    fn stats_for(p: &ItemParams, q: &Quadrature, people: f64) -> (Vec<f64>, Vec<f64>) {
        let n: Vec<f64> = q.weights.iter().map(|w| w * people).collect();
        let s: Vec<f64> = q.nodes.iter().zip(&n).map(|(t, n)| n * p.expected(*t)).collect();
        (n, s)
    }

    #[test]
    fn m_step_recovers_2pl_3pl_and_4pl_items_from_exact_statistics() {
        let q = Quadrature::gauss_hermite(41);
        let flat = Priors {
            ln_a: (0.0, f64::INFINITY),
            b: (0.0, f64::INFINITY),
            logit_c: (0.0, f64::INFINITY),
            logit_d: (0.0, f64::INFINITY),
            ln_phi: (0.0, f64::INFINITY),
        };
        let cases = [
            (ItemParams::new(1.7, -0.4), Free { a: true, c: false, d: false, phi: false }),
            (ItemParams { c: 0.2, ..ItemParams::new(1.3, 0.6) }, Free { a: true, c: true, d: false, phi: false }),
            (ItemParams { c: 0.15, d: 0.9, ..ItemParams::new(2.0, 0.1) }, Free { a: true, c: true, d: true, phi: false }),
        ];
        for (truth, free) in cases {
            let (n, s) = stats_for(&truth, &q, 1e6);
            let zeros = vec![0.0; n.len()];
            let stats = NodeStats { n: &n, s: &s, v: &zeros };
            let mut p = ItemParams { c: if free.c { 0.25 } else { 0.0 }, d: if free.d { 0.97 } else { 1.0 }, ..ItemParams::new(1.0, 0.0) };
            for _ in 0..200 {
                p = m_step(&p, Family::Bernoulli, free, &flat, &q.nodes, &stats, 25).0;
            }
            assert!((p.a - truth.a).abs() < 1e-3, "{truth:?} → {p:?}");
            assert!((p.b - truth.b).abs() < 1e-3, "{truth:?} → {p:?}");
            assert!((p.c - truth.c).abs() < 1e-3, "{truth:?} → {p:?}");
            assert!((p.d - truth.d).abs() < 1e-3, "{truth:?} → {p:?}");
        }
    }

    /// Gradient and observed information of the objective plus prior, as
    /// the M-step sees them.
    fn objective_at(v: &[f64], start: &ItemParams, free: Free, nodes: &[f64], stats: &NodeStats) -> Objective {
        let family = if free.phi { Family::Beta } else { Family::Bernoulli };
        let layout = Layout { free, family };
        let dims = layout.pack(start).1;
        let mut o = evaluate(layout, &layout.unpack(v, start), nodes, stats, dims);
        with_prior(v, &layout.priors(&Priors::default()), &mut o, dims);
        o
    }

    #[test]
    fn observed_information_is_minus_the_numerical_hessian() {
        let nodes: Vec<f64> = (0..41).map(|k| -3.0 + 0.15 * k as f64).collect();
        let n: Vec<f64> = nodes.iter().map(|t| 3.0 * crate::math::exp(-0.5 * t * t)).collect();
        // Statistics that do not fit the item: the residual terms matter.
        let s: Vec<f64> = nodes.iter().zip(&n).map(|(t, n)| n * if *t > 0.4 { 0.7 } else { 0.35 }).collect();
        // Beta items: Σ r ln x and Σ r ln(1 − x) of scores that do not fit either.
        let (lx, l1x): (Vec<f64>, Vec<f64>) =
            nodes.iter().zip(&n).map(|(t, n)| (n * crate::math::ln(0.3 + 0.1 * t.tanh()), n * crate::math::ln(0.6 - 0.1 * t.tanh()))).unzip();
        let bernoulli = NodeStats { n: &n, s: &s, v: &[] };
        let beta = NodeStats { n: &n, s: &lx, v: &l1x };
        let cases = [
            (ItemParams::new(1.3, 0.2), Free { a: true, c: false, d: false, phi: false }),
            (ItemParams::new(1.3, 0.2), Free { a: false, c: false, d: false, phi: false }),
            (ItemParams { c: 0.2, ..ItemParams::new(0.9, -0.3) }, Free { a: true, c: true, d: false, phi: false }),
            (ItemParams { c: 0.15, d: 0.9, ..ItemParams::new(1.6, 0.5) }, Free { a: true, c: true, d: true, phi: false }),
            (ItemParams { phi: 7.0, ..ItemParams::new(1.1, 0.4) }, Free { a: true, c: false, d: false, phi: true }),
            (ItemParams { phi: 40.0, ..ItemParams::new(0.6, -1.5) }, Free { a: true, c: false, d: false, phi: true }),
        ];
        for (item, free) in cases {
            let stats = if free.phi { &beta } else { &bernoulli };
            let layout = Layout { free, family: if free.phi { Family::Beta } else { Family::Bernoulli } };
            let (v, dims) = layout.pack(&item);
            let at = objective_at(&v, &item, free, &nodes, stats);
            let h = 1e-5;
            for j in 0..dims {
                let (mut up, mut down) = (v, v);
                up[j] += h;
                down[j] -= h;
                let (gu, gd) = (objective_at(&up, &item, free, &nodes, stats).g, objective_at(&down, &item, free, &nodes, stats).g);
                for i in 0..dims {
                    let numeric = -(gu[i] - gd[i]) / (2.0 * h);
                    let scale = at.observed[i][i].abs().max(1.0);
                    assert!((at.observed[i][j] - numeric).abs() < 1e-5 * scale, "{free:?} [{i}][{j}]: {} vs {numeric}", at.observed[i][j]);
                }
            }
        }
    }

    #[test]
    fn m_step_solves_a_nearly_separated_item_in_one_call() {
        // 28 models on a θ grid, only the ablest one right: the likelihood is
        // a flat ridge that only the priors close. Fisher scoring used to hit
        // its step cap here, leaving EM to crawl towards the optimum over
        // dozens of iterations (MMLU-Pro's 29 models × 12,032 items).
        let nodes: Vec<f64> = (0..121).map(|k| -6.0 + 0.1 * k as f64).collect();
        let mut n = vec![0.0; nodes.len()];
        let mut s = vec![0.0; nodes.len()];
        for k in 0..28 {
            n[45 + k] = 1.0;
        }
        s[72] = 1.0;
        let stats = NodeStats { n: &n, s: &s, v: &[] };
        let free = Free { a: true, c: false, d: false, phi: false };
        let start = ItemParams::default();
        let (fitted, _) = m_step(&start, Family::Bernoulli, free, &Priors::default(), &nodes, &stats, 25);
        let layout = Layout { free, family: Family::Bernoulli };
        let g = objective_at(&layout.pack(&fitted).0, &fitted, free, &nodes, &stats).g;
        assert!(g[0].abs() < 1e-8 && g[1].abs() < 1e-8, "gradient {g:?} at {fitted:?}");
        // A second M-step from there stays put.
        let (again, change) = m_step(&fitted, Family::Bernoulli, free, &Priors::default(), &nodes, &stats, 25);
        assert!(change < 1e-9, "{fitted:?} → {again:?}");
    }

    #[test]
    fn m_step_recovers_a_beta_item_from_exact_statistics() {
        // E[ln x] and E[ln(1−x)] under Beta(μφ, (1−μ)φ) are ψ(α) − ψ(φ) and ψ(β) − ψ(φ).
        let q = Quadrature::gauss_hermite(41);
        let truth = ItemParams { phi: 8.0, ..ItemParams::new(1.2, 0.3) };
        let n: Vec<f64> = q.weights.iter().map(|w| w * 1e5).collect();
        let mut u = Vec::new();
        let mut v = Vec::new();
        for (t, n) in q.nodes.iter().zip(&n) {
            let mu = truth.expected(*t).clamp(P_MIN, 1.0 - P_MIN);
            u.push(n * (digamma(mu * truth.phi) - digamma(truth.phi)));
            v.push(n * (digamma((1.0 - mu) * truth.phi) - digamma(truth.phi)));
        }
        let stats = NodeStats { n: &n, s: &u, v: &v };
        let mut p = ItemParams { phi: 3.0, ..ItemParams::new(1.0, 0.0) };
        for _ in 0..100 {
            p = m_step(&p, Family::Beta, Free { a: true, c: false, d: false, phi: true }, &Priors::default(), &q.nodes, &stats, 25).0;
        }
        assert!((p.a - truth.a).abs() < 0.01 && (p.b - truth.b).abs() < 0.01 && (p.phi - truth.phi).abs() < 0.1, "{p:?}");
    }

    #[test]
    fn theta_score_matches_a_numerical_derivative() {
        for family in [Family::Bernoulli, Family::Beta] {
            let p = ItemParams { c: if family == Family::Bernoulli { 0.1 } else { 0.0 }, phi: 6.0, ..ItemParams::new(1.4, 0.2) };
            for (theta, x) in [(-1.0, 1.0), (0.5, 0.0), (0.3, 0.7)] {
                let (g, _) = p.theta_score(theta, x, family);
                let h = 1e-6;
                let numeric = (p.log_likelihood(theta + h, x, family) - p.log_likelihood(theta - h, x, family)) / (2.0 * h);
                assert!((g - numeric).abs() < 1e-5, "{family:?} θ={theta} x={x}: {g} vs {numeric}");
            }
        }
    }
}
