//! The E-step of Bock–Aitkin EM: each model's posterior over the quadrature
//! nodes given its observed responses, then each item's expected sufficient
//! statistics at every node. Models are independent in the first half and
//! items in the second, so both run in parallel, and every sum runs in a
//! fixed order: results do not depend on the number of threads.

use crate::math::{exp, ln};
use crate::matrix::ResponseMatrix;
use crate::parallel;

use super::item::{BETA_EPS, Family, ItemParams, P_MIN, sigmoid};

/// The responses in the form the E-step reads.
pub(crate) enum Observations<'a> {
    /// 0/1 responses straight from the matrix's bitsets.
    Binary(&'a ResponseMatrix),
    /// Scores in [0, 1] (continuous data rescaled), row-major models × items.
    Fractional(&'a ResponseMatrix, Vec<f32>),
    /// ln x and ln(1 − x) of scores clamped into [ε, 1 − ε], for the Beta model.
    Beta(&'a ResponseMatrix, Vec<f32>, Vec<f32>),
}

impl Observations<'_> {
    pub fn matrix(&self) -> &ResponseMatrix {
        match self {
            Observations::Binary(m) | Observations::Fractional(m, _) | Observations::Beta(m, _, _) => m,
        }
    }

    /// Number of statistics per item and node: (n, s) or (n, Σ r ln x, Σ r ln(1−x)).
    pub fn stats_per_node(&self) -> usize {
        match self {
            Observations::Beta(..) => 3,
            _ => 2,
        }
    }

    pub fn family(&self) -> Family {
        match self {
            Observations::Beta(..) => Family::Beta,
            _ => Family::Bernoulli,
        }
    }
}

/// Per item and node, the terms of a cell's log-likelihood:
/// Bernoulli: ln p(x) = t0 + x·t1 with t0 = ln(1 − P), t1 = ln P − ln(1 − P);
/// Beta: ln p(x) = t0 + t1·ln x + t2·ln(1 − x) with t1 = α − 1, t2 = β − 1,
/// t0 = −ln B(α, β).
pub(crate) struct Tables {
    pub q: usize,
    pub t0: Vec<f64>,
    pub t1: Vec<f64>,
    pub t2: Vec<f64>,
}

impl Tables {
    pub fn new(items: &[ItemParams], nodes: &[f64], family: Family) -> Tables {
        let q = nodes.len();
        let n = items.len() * q;
        let (mut t0, mut t1) = (vec![0.0; n], vec![0.0; n]);
        let mut t2 = if family == Family::Beta { vec![0.0; n] } else { Vec::new() };
        for (i, p) in items.iter().enumerate() {
            for (k, &theta) in nodes.iter().enumerate() {
                let at = i * q + k;
                match family {
                    Family::Bernoulli => {
                        let pr = p.expected(theta).clamp(P_MIN, 1.0 - P_MIN);
                        let (l1, l0) = (ln(pr), ln(1.0 - pr));
                        t0[at] = l0;
                        t1[at] = l1 - l0;
                    }
                    Family::Beta => {
                        let mu = sigmoid(p.a * (theta - p.b)).clamp(P_MIN, 1.0 - P_MIN);
                        let (al, be) = (mu * p.phi, (1.0 - mu) * p.phi);
                        t0[at] = -(super::special::ln_gamma(al) + super::special::ln_gamma(be) - super::special::ln_gamma(p.phi));
                        t1[at] = al - 1.0;
                        t2[at] = be - 1.0;
                    }
                }
            }
        }
        Tables { q, t0, t1, t2 }
    }
}

#[inline]
fn add(acc: &mut [f64], row: &[f64]) {
    for (a, r) in acc.iter_mut().zip(row) {
        *a += r;
    }
}

#[inline]
fn add_scaled(acc: &mut [f64], row: &[f64], x: f64) {
    for (a, r) in acc.iter_mut().zip(row) {
        *a += x * r;
    }
}

/// Calls `f(item)` for each set bit of `words`.
#[inline]
fn for_each_bit(words: &[u64], mut f: impl FnMut(usize)) {
    for (w, &word) in words.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            f(w * 64 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

/// Log-likelihood of one model's responses at every node (without the prior).
fn model_log_likelihood(obs: &Observations, t: &Tables, model: usize, ll: &mut [f64]) {
    let q = t.q;
    ll.fill(0.0);
    let m = obs.matrix();
    let observed = m.observed_bits(model);
    match obs {
        Observations::Binary(_) => {
            let correct = m.correct_bits(model).expect("binary matrix");
            for_each_bit(observed, |i| add(ll, &t.t0[i * q..(i + 1) * q]));
            for_each_bit(correct, |i| add(ll, &t.t1[i * q..(i + 1) * q]));
        }
        Observations::Fractional(_, x) => {
            let row = &x[model * m.n_items()..(model + 1) * m.n_items()];
            for_each_bit(observed, |i| {
                add(ll, &t.t0[i * q..(i + 1) * q]);
                add_scaled(ll, &t.t1[i * q..(i + 1) * q], row[i] as f64);
            });
        }
        Observations::Beta(_, lx, l1x) => {
            let n = m.n_items();
            let (lx, l1x) = (&lx[model * n..(model + 1) * n], &l1x[model * n..(model + 1) * n]);
            for_each_bit(observed, |i| {
                add(ll, &t.t0[i * q..(i + 1) * q]);
                add_scaled(ll, &t.t1[i * q..(i + 1) * q], lx[i] as f64);
                add_scaled(ll, &t.t2[i * q..(i + 1) * q], l1x[i] as f64);
            });
        }
    }
}

/// Fills `post` (models × nodes) with each model's posterior over the nodes
/// and returns the marginal log-likelihood Σ_j ln Σ_q w_q p(x_j | θ_q).
pub(crate) fn posteriors(obs: &Observations, t: &Tables, log_weights: &[f64], post: &mut [f64]) -> f64 {
    let q = t.q;
    let n_models = obs.matrix().n_models();
    let mut marginal = vec![0.0f64; n_models];
    // Models in blocks of 16: enough work per task, and block boundaries do
    // not affect any result.
    const BLOCK: usize = 16;
    let mut work: Vec<(&mut [f64], &mut [f64])> = post.chunks_mut(BLOCK * q).zip(marginal.chunks_mut(BLOCK)).collect();
    parallel::for_each_chunk_mut(&mut work, 1, |b, pair| {
        let (post_block, marg_block) = &mut pair[0];
        for (k, (row, marg)) in post_block.chunks_mut(q).zip(marg_block.iter_mut()).enumerate() {
            let model = b * BLOCK + k;
            model_log_likelihood(obs, t, model, row);
            let mut max = f64::NEG_INFINITY;
            for (v, lw) in row.iter_mut().zip(log_weights) {
                *v += lw;
                max = max.max(*v);
            }
            let mut sum = 0.0;
            for v in row.iter_mut() {
                *v = exp(*v - max);
                sum += *v;
            }
            for v in row.iter_mut() {
                *v /= sum;
            }
            *marg = max + ln(sum);
        }
    });
    marginal.iter().sum()
}

/// Expected sufficient statistics per item and node, laid out item-major:
/// `stats[(i·K + k)·Q + q]` with k = 0 for n, 1 for s (or Σ r ln x), 2 for
/// Σ r ln(1 − x).
pub(crate) fn accumulate(obs: &Observations, post: &[f64], q: usize, stats: &mut [f64]) {
    let m = obs.matrix();
    let k_stats = obs.stats_per_node();
    let n_items = m.n_items();
    let per_item = k_stats * q;
    stats.fill(0.0);
    // One task per 64 items: one bitset word of every model row.
    parallel::for_each_chunk_mut(stats, 64 * per_item, |word, block| {
        for model in 0..m.n_models() {
            let observed = m.observed_bits(model)[word];
            if observed == 0 {
                continue;
            }
            let r = &post[model * q..(model + 1) * q];
            let base = word * 64;
            let correct = m.correct_bits(model).map_or(0, |c| c[word]);
            let mut bits = observed;
            while bits != 0 {
                let k = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let item = base + k;
                let slot = &mut block[k * per_item..(k + 1) * per_item];
                let (n, rest) = slot.split_at_mut(q);
                add(n, r);
                match obs {
                    Observations::Binary(_) => {
                        if correct >> k & 1 == 1 {
                            add(&mut rest[..q], r);
                        }
                    }
                    Observations::Fractional(_, x) => add_scaled(&mut rest[..q], r, x[model * n_items + item] as f64),
                    Observations::Beta(_, lx, l1x) => {
                        let (s, v) = rest.split_at_mut(q);
                        add_scaled(s, r, lx[model * n_items + item] as f64);
                        add_scaled(v, r, l1x[model * n_items + item] as f64);
                    }
                }
            }
        }
    });
}

/// ln x and ln(1 − x) of every cell, for the Beta model (missing cells: 0).
pub(crate) fn beta_logs(m: &ResponseMatrix, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (mut lx, mut l1x) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
    for model in 0..m.n_models() {
        for_each_bit(m.observed_bits(model), |i| {
            let at = model * m.n_items() + i;
            let v = (x[at] as f64).clamp(BETA_EPS, 1.0 - BETA_EPS);
            lx[at] = ln(v) as f32;
            l1x[at] = ln(1.0 - v) as f32;
        });
    }
    (lx, l1x)
}
