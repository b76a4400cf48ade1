//! The E-step of Bock–Aitkin EM: each model's posterior over the quadrature
//! nodes given its observed responses, then each item's expected sufficient
//! statistics at every node. Models are independent in the first half and
//! items in the second, so both run in parallel, and every sum runs in a
//! fixed order: results do not depend on the number of threads.

use crate::math::{exp, ln, ln_1p};
use crate::matrix::ResponseMatrix;
use crate::parallel;

use super::item::{BETA_EPS, Family, ItemParams, P_MIN, sigmoid};
use super::lanes::TwoPlItems;

/// One item's rows of the t0, t1 (and for Beta t2) tables, filled in parallel.
type TableRows<'a> = ((&'a mut [f64], &'a mut [f64]), &'a mut [f64]);

/// A block of models' posterior rows, marginals, summaries and coverage flags.
type BlockWork<'a> = (((&'a mut [f64], &'a mut [f64]), &'a mut [PosteriorSummary]), &'a mut [bool]);

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
pub(crate) struct Tables<'a> {
    pub items: &'a [ItemParams],
    pub family: Family,
    /// Nodes of the whole grid.
    pub q: usize,
    /// The grid nodes [lo, hi) the tables cover: rows hold `hi − lo` values,
    /// node n of item i at `i·(hi − lo) + n − lo`.
    pub lo: usize,
    pub hi: usize,
    pub t0: Vec<f64>,
    pub t1: Vec<f64>,
    pub t2: Vec<f64>,
    /// Every item a plain 2PL (Bernoulli, c = 0, d = 1): the Newton
    /// refinement then takes the vectorised path (see `lanes`), gathering
    /// each model's items from these copies of a and b (empty otherwise).
    pub two_pl: bool,
    pub a: Vec<f64>,
    pub b: Vec<f64>,
}

impl<'a> Tables<'a> {
    /// Tables at every node of the grid.
    pub fn new(items: &'a [ItemParams], nodes: &[f64], family: Family) -> Tables<'a> {
        Tables::window(items, nodes, family, 0, nodes.len())
    }

    /// Tables at the grid nodes [lo, hi) only: once the posteriors have
    /// settled, every model's window sits inside the span of the abilities
    /// (29 models × 12,032 items: about a third of the grid), and these
    /// tables — one exp and one log1p per item and node — were a third of
    /// each EM iteration.
    pub fn window(items: &'a [ItemParams], nodes: &[f64], family: Family, lo: usize, hi: usize) -> Tables<'a> {
        let width = hi - lo;
        let n = items.len() * width;
        let (mut t0, mut t1) = (vec![0.0; n], vec![0.0; n]);
        let mut t2 = if family == Family::Beta { vec![0.0; n] } else { Vec::new() };
        // Items are independent: fill whole rows in parallel.
        let mut rows: Vec<TableRows> = match family {
            Family::Bernoulli => t0.chunks_mut(width).zip(t1.chunks_mut(width)).map(|r| (r, &mut [][..])).collect(),
            Family::Beta => t0.chunks_mut(width).zip(t1.chunks_mut(width)).zip(t2.chunks_mut(width)).collect(),
        };
        parallel::for_each_chunk_mut(&mut rows, 64, |chunk, block| {
            for (k, ((r0, r1), r2)) in block.iter_mut().enumerate() {
                let p = &items[chunk * 64 + k];
                for (n, &theta) in nodes[lo..hi].iter().enumerate() {
                    match family {
                        Family::Bernoulli if p.c == 0.0 && p.d == 1.0 => {
                            // ln(1 − σ(z)) = −softplus(z) and ln σ(z) − ln(1 − σ(z)) = z:
                            // one exp and one log1p instead of an exp and two logs.
                            let z = p.a * (theta - p.b);
                            let softplus = z.max(0.0) + ln_1p(exp(-z.abs()));
                            let floor = ln(P_MIN);
                            r0[n] = (-softplus).max(floor);
                            r1[n] = z.clamp(floor - ln(1.0 - P_MIN), -floor);
                        }
                        Family::Bernoulli => {
                            let pr = p.expected(theta).clamp(P_MIN, 1.0 - P_MIN);
                            let (l1, l0) = (ln(pr), ln(1.0 - pr));
                            r0[n] = l0;
                            r1[n] = l1 - l0;
                        }
                        Family::Beta => {
                            let mu = sigmoid(p.a * (theta - p.b)).clamp(P_MIN, 1.0 - P_MIN);
                            let (al, be) = (mu * p.phi, (1.0 - mu) * p.phi);
                            r0[n] = -(super::special::ln_gamma(al) + super::special::ln_gamma(be) - super::special::ln_gamma(p.phi));
                            r1[n] = al - 1.0;
                            r2[n] = be - 1.0;
                        }
                    }
                }
            }
        });
        let two_pl = family == Family::Bernoulli && items.iter().all(|p| p.c == 0.0 && p.d == 1.0);
        let (a, b) = if two_pl { items.iter().map(|p| (p.a, p.b)).unzip() } else { (Vec::new(), Vec::new()) };
        Tables { items, family, q: nodes.len(), lo, hi, t0, t1, t2, two_pl, a, b }
    }
}

/// `acc += row`, element by element: the window sums (f64) and the
/// fixed-point counts (i64) alike.
#[inline]
fn add<T: Copy + std::ops::AddAssign>(acc: &mut [T], row: &[T]) {
    // A narrow posterior's three nodes: the M-step counts' commonest case,
    // unrolled (the same additions in the same order).
    if let (Ok(acc), Ok(row)) = (<&mut [T; 3]>::try_from(&mut *acc), <&[T; 3]>::try_from(row)) {
        acc[0] += row[0];
        acc[1] += row[1];
        acc[2] += row[2];
        return;
    }
    for (a, &r) in acc.iter_mut().zip(row) {
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

/// Bitset words (64 items each) per chunk of the binary window sums: a
/// chunk's rows of both tables (2 × 1,024 items × the tables' nodes) stay in
/// the core's cache while a block of models reads them, where one model at a
/// time streamed the whole tables from memory for each model.
const CHUNK_WORDS: usize = 16;

/// Adds the rows of the items in words [first, first + CHUNK_WORDS) of a
/// binary model's bitsets at table columns [lo, hi): first the observed
/// items' t0, then the correct items' t1. Every window sum runs chunk by chunk
/// in this order, so blocked and one-model sums agree to the bit.
#[inline]
fn add_binary_chunk(t: &Tables, observed: &[u64], correct: &[u64], first: usize, lo: usize, hi: usize, ll: &mut [f64]) {
    let q = t.hi - t.lo;
    let end = (first + CHUNK_WORDS).min(observed.len());
    for (words, table) in [(observed, &t.t0), (correct, &t.t1)] {
        for (w, &word) in words[first..end].iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let i = (first + w) * 64 + bits.trailing_zeros() as usize;
                add(ll, &table[i * q + lo..i * q + hi]);
                bits &= bits - 1;
            }
        }
    }
}

/// Window sums of a block of binary models, chunk by chunk of items:
/// `windows[k]` is model `first_model + k`'s window in table columns, or None
/// to skip that model; its sums go to `out[k]`. Equal to
/// [`model_log_likelihood_window`] per model, to the bit.
fn block_window_sums(m: &ResponseMatrix, t: &Tables, first_model: usize, windows: &[Option<(usize, usize)>], out: &mut [Vec<f64>]) {
    let words = m.observed_bits(first_model).len();
    for (k, w) in windows.iter().enumerate() {
        out[k].clear();
        if let Some((lo, hi)) = *w {
            out[k].resize(hi - lo, 0.0);
        }
    }
    for first in (0..words).step_by(CHUNK_WORDS) {
        for (k, w) in windows.iter().enumerate() {
            if let Some((lo, hi)) = *w {
                let model = first_model + k;
                let correct = m.correct_bits(model).expect("binary matrix");
                add_binary_chunk(t, m.observed_bits(model), correct, first, lo, hi, &mut out[k]);
            }
        }
    }
}

/// Log-likelihood of one model's responses at grid nodes [lo, hi) (without the prior).
pub(crate) fn model_log_likelihood_window(obs: &Observations, t: &Tables, model: usize, lo: usize, hi: usize, ll: &mut [f64]) {
    assert!(t.lo <= lo && hi <= t.hi, "window [{lo}, {hi}) outside the tables' [{}, {})", t.lo, t.hi);
    // Row stride, and the window's offset in each row.
    let q = t.hi - t.lo;
    let (lo, hi) = (lo - t.lo, hi - t.lo);
    ll.fill(0.0);
    let m = obs.matrix();
    let observed = m.observed_bits(model);
    match obs {
        Observations::Binary(_) => {
            let correct = m.correct_bits(model).expect("binary matrix");
            for first in (0..observed.len()).step_by(CHUNK_WORDS) {
                add_binary_chunk(t, observed, correct, first, lo, hi, ll);
            }
        }
        Observations::Fractional(_, x) => {
            let row = &x[model * m.n_items()..(model + 1) * m.n_items()];
            for_each_bit(observed, |i| {
                add(ll, &t.t0[i * q + lo..i * q + hi]);
                add_scaled(ll, &t.t1[i * q + lo..i * q + hi], row[i] as f64);
            });
        }
        Observations::Beta(_, lx, l1x) => {
            let n = m.n_items();
            let (lx, l1x) = (&lx[model * n..(model + 1) * n], &l1x[model * n..(model + 1) * n]);
            for_each_bit(observed, |i| {
                add(ll, &t.t0[i * q + lo..i * q + hi]);
                add_scaled(ll, &t.t1[i * q + lo..i * q + hi], lx[i] as f64);
                add_scaled(ll, &t.t2[i * q + lo..i * q + hi], l1x[i] as f64);
            });
        }
    }
}

/// The latent grid: equally spaced nodes on [−w, w] with weights ∝ φ(θ)·h
/// (the rectangle rule, which converges geometrically fast for smooth
/// integrands on the real line).
pub(crate) struct Grid {
    pub nodes: Vec<f64>,
    pub log_weights: Vec<f64>,
    pub h: f64,
}

impl Grid {
    pub fn uniform(points: usize, half_width: f64) -> Grid {
        let h = 2.0 * half_width / (points - 1) as f64;
        let nodes: Vec<f64> = (0..points).map(|g| -half_width + g as f64 * h).collect();
        let log_density: Vec<f64> = nodes.iter().map(|t| -0.5 * t * t - 0.5 * ln(2.0 * std::f64::consts::PI) + ln(h)).collect();
        let max = log_density.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_norm = max + ln(log_density.iter().map(|l| exp(l - max)).sum::<f64>());
        let log_weights = log_density.iter().map(|l| l - log_norm).collect();
        Grid { nodes, log_weights, h }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes [lo, hi) covering mean ± 8 sd, at least ± 6 nodes, or ± 3 for
    /// a posterior narrower than the spacing (see model_posterior).
    pub fn window(&self, mean: f64, sd: f64) -> (usize, usize) {
        let g = self.len();
        let least = if sd < self.h { 3 } else { 6 };
        let span = ((8.0 * sd / self.h).ceil() as usize).max(least);
        let centre = ((mean - self.nodes[0]) / self.h).round().clamp(0.0, (g - 1) as f64) as usize;
        (centre.saturating_sub(span), (centre + span + 1).min(g))
    }
}

/// Each model's posterior as the E-step leaves it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PosteriorSummary {
    /// Grid nodes [lo, hi) that carry the posterior mass.
    pub lo: usize,
    pub hi: usize,
    pub mean: f64,
    pub sd: f64,
}

impl PosteriorSummary {
    pub fn full(g: usize) -> Self {
        PosteriorSummary { lo: 0, hi: g, mean: 0.0, sd: 1.0 }
    }
}

/// Each model's posterior before the first E-step: the whole grid, and for
/// a model with so many responses that its posterior must be narrower than
/// the grid spacing (information ≥ 0.2 per item, a ≈ 1 at the start), a
/// guess at its mode from its raw score, so that the first E-step goes
/// straight to Newton's method (see [`model_posterior`]). Only for the
/// Rasch, 1PL and 2PL (`concave`): their log posterior has one mode, which
/// Newton's method finds from any start; a 3PL's or 4PL's need not.
pub(crate) fn start_summaries(obs: &Observations, grid: &Grid, concave: bool) -> Vec<PosteriorSummary> {
    let m = obs.matrix();
    let g = grid.len();
    // (observed, Σ score) per model.
    let totals: Vec<(f64, f64)> = (0..m.n_models())
        .map(|model| {
            let observed = m.observed_bits(model);
            let n = observed.iter().map(|w| w.count_ones() as f64).sum::<f64>();
            let total = match obs {
                Observations::Binary(_) => m.correct_bits(model).expect("binary matrix").iter().map(|w| w.count_ones() as f64).sum(),
                Observations::Fractional(_, x) => {
                    let row = &x[model * m.n_items()..(model + 1) * m.n_items()];
                    let mut total = 0.0;
                    for_each_bit(observed, |i| total += row[i] as f64);
                    total
                }
                Observations::Beta(..) => 0.0,
            };
            (n, total)
        })
        .collect();
    let cells: f64 = totals.iter().map(|t| t.0).sum();
    let logit = |p: f64| ln(p / (1.0 - p));
    let overall = logit((totals.iter().map(|t| t.1).sum::<f64>() / cells.max(1.0)).clamp(0.01, 0.99));
    totals
        .iter()
        .map(|&(n, total)| {
            let sd = 1.0 / (1.0 + 0.2 * n).sqrt();
            if !concave || matches!(obs, Observations::Beta(..)) || n == 0.0 || sd >= grid.h {
                return PosteriorSummary::full(g);
            }
            // With a = 1 and θ ~ N(0, 1), a model scoring the average has θ
            // ≈ 0, and logits of its score scale by about 1.28 (see
            // initial_items). Newton's method corrects the rest.
            let mean = (1.28 * (logit((total / n).clamp(0.01, 0.99)) - overall)).clamp(-4.0, 4.0);
            PosteriorSummary { lo: 0, hi: g, mean, sd }
        })
        .collect()
}

/// One model's posterior over the grid, written into `row` (nodes outside
/// the returned window are zero). Returns (summary, marginal log-likelihood).
///
/// Only a window around last iteration's posterior is evaluated (it widens
/// to the whole grid if the mode sits on its edge). When the posterior is
/// narrower than the grid spacing — a model answering thousands of items —
/// the grid cannot resolve it: the mode and its curvature come from Newton's
/// method on the model's own log-posterior (see [`posterior_mode`]), the
/// marginal likelihood from the Laplace approximation, and the mass is spread
/// over the three nodes around the mode so that its mean is exact. Without
/// this, every such model would snap to a node.
///
/// A model whose posterior was that narrow last iteration (`previous.sd`
/// below the spacing; at the start, one that [`start_summaries`] expects
/// to be) goes straight to Newton's method from its previous mean, and the
/// window sums are not computed at all: on a 6,000 × 30,000 matrix they were
/// half of the fit, the first E-step's over the whole grid most of it. Only
/// if the posterior turns out wider than the spacing does it take the grid.
///
/// `full`, when given, is the model's log-likelihood at every node computed
/// elsewhere (the GPU kernel); the window is then read from it instead of
/// summed here, and everything else is unchanged.
///
/// `None` when the window has to widen beyond the nodes the tables cover.
///
/// `first`, when given, holds the sums over the previous window, computed
/// by [`block_window_sums`].
#[allow(clippy::too_many_arguments, reason = "the E-step's innermost call: every argument is a borrowed piece of the tables, the grid or the model's row")]
fn model_posterior(
    obs: &Observations,
    t: &Tables,
    grid: &Grid,
    model: usize,
    previous: PosteriorSummary,
    full: Option<&[f64]>,
    first: Option<&[f64]>,
    row: &mut [f64],
    scratch: &mut TwoPlItems,
) -> Option<(PosteriorSummary, f64)> {
    let g = grid.len();
    let (mut lo, mut hi) = (previous.lo, previous.hi);
    if skips_the_grid(previous, grid) {
        let (mu, sigma, log_post) = posterior_mode(obs, t, model, previous.mean, scratch);
        if sigma < grid.h {
            return Some(narrow_posterior(grid, mu, sigma, log_post, row));
        }
        // Wider than the spacing after all: the grid, over a window that
        // holds ±8 σ of it.
        let (wlo, whi) = grid.window(mu, sigma);
        (lo, hi) = (lo.min(wlo), hi.max(whi));
    }
    let mut ll = vec![0.0; g];
    let mut first = first.filter(|sums| sums.len() == hi - lo && (lo, hi) == (previous.lo, previous.hi));
    let (k, max) = loop {
        match (full, first.take()) {
            (Some(full), _) => ll[lo..hi].copy_from_slice(&full[lo..hi]),
            (None, Some(sums)) => ll[lo..hi].copy_from_slice(sums),
            (None, None) if lo < t.lo || hi > t.hi => return None,
            (None, None) => model_log_likelihood_window(obs, t, model, lo, hi, &mut ll[lo..hi]),
        }
        let mut best = (lo, f64::NEG_INFINITY);
        for n in lo..hi {
            ll[n] += grid.log_weights[n];
            if ll[n] > best.1 {
                best = (n, ll[n]);
            }
        }
        let finite = best.1.is_finite();
        let (low_edge, high_edge) = ((best.0 == lo || !finite) && lo > 0, (best.0 + 1 == hi || !finite) && hi < g);
        if low_edge || high_edge {
            // Widen on the side the mode ran into by the window's width: a
            // mode moves a few nodes between iterations, and the whole grid
            // costs 121 nodes of sums.
            let width = (hi - lo).max(1);
            if low_edge {
                lo = lo.saturating_sub(width);
            }
            if high_edge {
                hi = (hi + width).min(g);
            }
            continue;
        }
        break best;
    };
    // Curvature of the log-posterior around the mode (second difference):
    // narrower than the spacing, the parabola's vertex starts Newton's method.
    if k > lo && k + 1 < hi {
        let (l0, l1, l2) = (ll[k - 1], ll[k], ll[k + 1]);
        let second = l0 - 2.0 * l1 + l2;
        if second < 0.0 && grid.h / (-second).sqrt() < grid.h {
            let vertex = grid.nodes[k] + grid.h * (l0 - l2) / (2.0 * second);
            let (mu, sigma, log_post) = posterior_mode(obs, t, model, vertex, scratch);
            if sigma < grid.h {
                return Some(narrow_posterior(grid, mu, sigma, log_post, row));
            }
        }
    }
    row.fill(0.0);
    let mut sum = 0.0;
    for n in lo..hi {
        row[n] = exp(ll[n] - max);
        sum += row[n];
    }
    let (mut mean, mut second) = (0.0, 0.0);
    for n in lo..hi {
        row[n] /= sum;
        mean += row[n] * grid.nodes[n];
        second += row[n] * grid.nodes[n] * grid.nodes[n];
    }
    let sd = (second - mean * mean).max(0.0).sqrt();
    // Next window: ±8 sd (at least ±6 nodes) around the mean.
    let span = ((8.0 * sd / grid.h).ceil() as usize).max(6);
    let centre = ((mean - grid.nodes[0]) / grid.h).round().clamp(0.0, (g - 1) as f64) as usize;
    let summary = PosteriorSummary { lo: centre.saturating_sub(span), hi: (centre + span + 1).min(g), mean, sd };
    Some((summary, max + ln(sum)))
}

/// Whether a model's posterior goes straight to Newton's method (see
/// [`model_posterior`]): it was narrower than the grid spacing.
fn skips_the_grid(previous: PosteriorSummary, grid: &Grid) -> bool {
    previous.sd < grid.h
}

/// A posterior narrower than the grid spacing, at mode μ with sd σ and log
/// posterior `log_post` there, written into `row`: (summary, marginal).
fn narrow_posterior(grid: &Grid, mu: f64, sigma: f64, log_post: f64, row: &mut [f64]) -> (PosteriorSummary, f64) {
    let g = grid.len();
    row.fill(0.0);
    // Laplace: ∫ p(x|θ) φ(θ) dθ ≈ exp(ll(μ) − μ²/2) σ.
    let marginal = log_post + ln(sigma);
    // Quadratic B-spline ("triangular-shaped cloud") deposit on the
    // three nodes nearest μ: weights are C¹ in μ (a linear split has
    // kinks at nodes, on which EM can cycle) and reproduce μ exactly.
    let pos = ((mu - grid.nodes[0]) / grid.h).clamp(1.0, (g - 2) as f64);
    let centre = (pos.round() as usize).clamp(1, g - 2);
    let d = pos - centre as f64;
    row[centre - 1] = 0.5 * (0.5 - d) * (0.5 - d);
    row[centre] = 0.75 - d * d;
    row[centre + 1] = 0.5 * (0.5 + d) * (0.5 + d);
    // A later E-step that takes the grid needs only the mode's node and its
    // neighbours (the window widens if the mode reaches its edge), and the
    // posterior is zero outside the three nodes above: a window of ±3 nodes
    // keeps the window sums and the M-step counts small.
    let span = ((8.0 * sigma / grid.h).ceil() as usize).max(2);
    let summary = PosteriorSummary { lo: centre.saturating_sub(span + 1), hi: (centre + span + 2).min(g), mean: mu, sd: sigma };
    (summary, marginal)
}

/// A Fisher-scoring step this small ends the mode search: it is taken
/// without evaluating its end point, whose log posterior the quadratic model
/// gives. The step's own error in θ is of order step² · |ℓ‴| / (2 ℓ″),
/// below 10⁻¹⁰ (ℓ‴ ≤ 0.1 and ℓ″ ≥ 0.2 per item for a ≈ 1), and the
/// information at its start differs from that at its end by ~10⁻⁶ relative.
const NEWTON_TOLERANCE: f64 = 1e-5;

/// Posterior mode μ, σ = (information + 1)^(−1/2) there, and the log
/// posterior ll(μ) − μ²/2 of one model, by Fisher scoring from `start` to
/// convergence (steps of at most 0.5, halved while the log posterior would
/// fall), each step one pass over the model's responses. Converged, the mode
/// does not depend on where the search started — the previous mean or a
/// parabola's vertex — so it is a smooth function of the items, on which EM
/// does not cycle. For 2PL items the passes run over the model's observed
/// items gathered into `scratch` (see `lanes`); other models take them one
/// by one.
fn posterior_mode(obs: &Observations, t: &Tables, model: usize, start: f64, scratch: &mut TwoPlItems) -> (f64, f64, f64) {
    let m = obs.matrix();
    let family = t.family;
    let two_pl = t.two_pl && !matches!(obs, Observations::Beta(..));
    if two_pl {
        scratch.clear();
        let observed = m.observed_bits(model);
        match obs {
            Observations::Binary(_) => {
                let correct = m.correct_bits(model).expect("binary matrix");
                for (w, (&seen, &right)) in observed.iter().zip(correct).enumerate() {
                    let first = w * 64;
                    if seen == u64::MAX {
                        // A whole word observed (the common case): copy.
                        scratch.a.extend_from_slice(&t.a[first..first + 64]);
                        scratch.b.extend_from_slice(&t.b[first..first + 64]);
                        scratch.x.extend((0..64).map(|k| (right >> k & 1) as f64));
                        continue;
                    }
                    let mut bits = seen;
                    while bits != 0 {
                        let k = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        scratch.push(t.a[first + k], t.b[first + k], (right >> k & 1) as f64);
                    }
                }
            }
            Observations::Fractional(_, x) | Observations::Beta(_, x, _) => {
                let row = &x[model * m.n_items()..(model + 1) * m.n_items()];
                for_each_bit(observed, |i| scratch.push(t.a[i], t.b[i], row[i] as f64));
            }
        }
    }
    let scratch = &*scratch;
    // (log posterior, its derivative, the information) at θ.
    let eval = |theta: f64| -> (f64, f64, f64) {
        if two_pl {
            let (ll, g, info) = scratch.sums_at(theta);
            return (ll - theta * theta / 2.0, g - theta, info + 1.0);
        }
        let (mut ll, mut g, mut info) = (0.0, 0.0, 0.0);
        let mut add = |i: usize, x: f64| {
            let p = &t.items[i];
            let x = if family == Family::Beta { exp(x) } else { x };
            ll += p.log_likelihood(theta, x, family);
            let (gi, ii) = p.theta_score(theta, x, family);
            g += gi;
            info += ii;
        };
        match obs {
            Observations::Binary(_) => {
                let correct = m.correct_bits(model).expect("binary matrix");
                for_each_bit(m.observed_bits(model), |i| add(i, (correct[i / 64] >> (i % 64) & 1) as f64));
            }
            Observations::Fractional(_, x) | Observations::Beta(_, x, _) => {
                let row = &x[model * m.n_items()..(model + 1) * m.n_items()];
                for_each_bit(m.observed_bits(model), |i| add(i, row[i] as f64));
            }
        }
        (ll - theta * theta / 2.0, g - theta, info + 1.0)
    };
    let mut theta = start;
    let (mut f, mut g, mut info) = eval(theta);
    for _ in 0..60 {
        let step = (g / info).clamp(-0.5, 0.5);
        if !(step.abs() > NEWTON_TOLERANCE) {
            if step.is_finite() {
                theta += step;
                f += step * (g - info * step / 2.0);
            }
            break;
        }
        // Halve the step while the log posterior would fall (a 3PL's need
        // not be concave); none that rises: θ is at the mode to rounding.
        let mut accepted = false;
        let mut length = step;
        for _ in 0..30 {
            let trial = theta + length;
            let (ft, gt, it) = eval(trial);
            if ft >= f {
                (theta, f, g, info) = (trial, ft, gt, it);
                accepted = true;
                break;
            }
            length /= 2.0;
            if length.abs() <= NEWTON_TOLERANCE {
                break;
            }
        }
        if !accepted {
            break;
        }
    }
    (theta, 1.0 / info.sqrt(), f)
}

/// The CPU E-step: tables over the span of last iteration's windows (all
/// nodes if a posterior has left it), then [`posteriors`]. Each model's
/// result depends on its own responses and the items only, so a block of
/// models fitted on its own (a worker's share) gets the bits it would get
/// among all of them. `None` only if a window left the whole grid.
pub(crate) fn cpu_e_step(obs: &Observations, grid: &Grid, items: &[ItemParams], post: &mut [f64], summaries: &mut [PosteriorSummary]) -> Option<Vec<f64>> {
    let (nodes, family) = (&grid.nodes, obs.family());
    let lo = summaries.iter().map(|s| s.lo).min().unwrap_or(0);
    let hi = summaries.iter().map(|s| s.hi).max().unwrap_or(nodes.len());
    let tables = Tables::window(items, nodes, family, lo, hi);
    if let Some(marginals) = posteriors(obs, &tables, grid, None, post, summaries) {
        return Some(marginals);
    }
    let tables = Tables::new(items, nodes, family);
    posteriors(obs, &tables, grid, None, post, summaries)
}

/// Fills `post` (models × nodes) with each model's posterior over the grid,
/// updates `summaries`, and returns each model's marginal log-likelihood
/// ln ∫ p(x_j | θ) φ(θ) dθ. `full` (models × nodes), when given, holds
/// every model's log-likelihood at every node, computed elsewhere.
///
/// `None`, with `post` and `summaries` unchanged, when some model's window
/// left the nodes the tables cover: the caller then retries with full tables.
pub(crate) fn posteriors(
    obs: &Observations,
    t: &Tables,
    grid: &Grid,
    full: Option<&[f64]>,
    post: &mut [f64],
    summaries: &mut [PosteriorSummary],
) -> Option<Vec<f64>> {
    let q = t.q;
    let n_models = obs.matrix().n_models();
    let mut marginal = vec![0.0f64; n_models];
    let mut next = summaries.to_vec();
    let mut rows = vec![0.0; post.len()];
    let mut covered = vec![true; n_models];
    // Models in blocks of 16: enough work per task, and block boundaries do
    // not affect any result.
    const BLOCK: usize = 16;
    let mut work: Vec<BlockWork> =
        rows.chunks_mut(BLOCK * q).zip(marginal.chunks_mut(BLOCK)).zip(next.chunks_mut(BLOCK)).zip(covered.chunks_mut(BLOCK)).collect();
    parallel::for_each_chunk_mut(&mut work, 1, |b, item| {
        let (((post_block, marg_block), summary_block), covered_block) = &mut item[0];
        // Binary models' sums over their previous windows, computed for the
        // whole block at once (see block_window_sums).
        let mut first = vec![Vec::new(); summary_block.len()];
        if let (None, Observations::Binary(m)) = (full, obs) {
            let windows: Vec<Option<(usize, usize)>> = summary_block
                .iter()
                .map(|s| (!skips_the_grid(*s, grid) && s.lo >= t.lo && s.hi <= t.hi && s.lo < s.hi).then(|| (s.lo - t.lo, s.hi - t.lo)))
                .collect();
            block_window_sums(m, t, b * BLOCK, &windows, &mut first);
        }
        let mut scratch = TwoPlItems::default();
        let models = post_block.chunks_mut(q).zip(marg_block.iter_mut()).zip(summary_block.iter_mut()).zip(covered_block.iter_mut());
        for (k, (((row, marg), summary), covered)) in models.enumerate() {
            let model = b * BLOCK + k;
            let sums = (summary.lo < summary.hi && first[k].len() == summary.hi - summary.lo).then(|| &first[k][..]);
            match model_posterior(obs, t, grid, model, *summary, full.map(|f| &f[model * q..(model + 1) * q]), sums, row, &mut scratch) {
                Some((s, m)) => (*summary, *marg) = (s, m),
                None => *covered = false,
            }
        }
    });
    if !covered.iter().all(|&c| c) {
        return None;
    }
    post.copy_from_slice(&rows);
    summaries.copy_from_slice(&next);
    Some(marginal)
}

/// Expected counts are summed in fixed point, 2⁻³⁶ a unit: integer sums do
/// not depend on their order, so counts summed over any split of the models
/// (threads here; a pool of workers, each holding a block of models) and
/// then added up are the same bits. A cell's addend is at most 1 (binary,
/// fractional) or |ln 10⁻³| (Beta), so sums stay far inside i64 up to
/// [`MAX_COUNTED_MODELS`] models; each addend is cut to the unit (below
/// 1.5·10⁻¹¹, far under what the M-step can see).
pub(crate) const COUNT_SCALE: f64 = (1u64 << 36) as f64;

/// Models the fixed-point counts can sum without overflow: a Beta count
/// adds at most 6.91 · 2³⁶ per model, 2⁶³ / that ≈ 1.9·10⁷.
pub(crate) const MAX_COUNTED_MODELS: usize = 10_000_000;

#[inline]
fn fixed(x: f64) -> i64 {
    (x * COUNT_SCALE) as i64
}

#[inline]
fn add_fixed_scaled(acc: &mut [i64], row: &[f64], x: f64) {
    for (a, r) in acc.iter_mut().zip(row) {
        *a += fixed(r * x);
    }
}

/// Expected sufficient statistics per item and node, laid out item-major:
/// `stats[(i·K + k)·Q + q]` with k = 0 for n, 1 for s (or Σ r ln x), 2 for
/// Σ r ln(1 − x). Summed in fixed point (see [`COUNT_SCALE`]).
pub(crate) fn accumulate(obs: &Observations, post: &[f64], summaries: &[PosteriorSummary], q: usize, stats: &mut [f64]) {
    let per_item = obs.stats_per_node() * q;
    let counted = Counted::new(obs, post, summaries, q);
    // One task per 64 items: one bitset word of every model row.
    parallel::for_each_chunk_mut(stats, 64 * per_item, |word, block| {
        let mut fixed_block = vec![0i64; block.len()];
        counted.word(word, &mut fixed_block);
        for (s, &c) in block.iter_mut().zip(&fixed_block) {
            *s = c as f64 / COUNT_SCALE;
        }
    });
}

/// [`accumulate`]'s counts in their fixed-point units, for a share of the
/// models to be added to the others' exactly: the sum of two shares' counts
/// is the whole's, to the bit (what a block of models held by a worker
/// returns; see `blocks`).
pub(crate) fn fixed_counts(obs: &Observations, post: &[f64], summaries: &[PosteriorSummary], q: usize, counts: &mut [i64]) {
    let per_item = obs.stats_per_node() * q;
    let counted = Counted::new(obs, post, summaries, q);
    parallel::for_each_chunk_mut(counts, 64 * per_item, |word, block| {
        block.fill(0);
        counted.word(word, block);
    });
}

/// The E-step's output as the counts read it: each model's posterior in
/// fixed point over its support.
struct Counted<'a> {
    obs: &'a Observations<'a>,
    post: &'a [f64],
    q: usize,
    /// Each model's nodes from the first nonzero posterior mass to the last.
    support: Vec<(usize, usize)>,
    /// The posterior rows in fixed point (binary counts add these).
    fixed_post: Vec<i64>,
}

impl<'a> Counted<'a> {
    fn new(obs: &'a Observations<'a>, post: &'a [f64], summaries: &[PosteriorSummary], q: usize) -> Self {
        // The posterior is zero outside its window (see model_posterior), and
        // a narrow one inside it too but for three nodes: add only the nodes
        // from the first nonzero to the last (adding zeros changes nothing).
        let support = summaries
            .iter()
            .enumerate()
            .map(|(model, s)| {
                let row = &post[model * q..(model + 1) * q];
                let (lo, hi) = (s.lo.min(s.hi), s.hi);
                let first = (lo..hi).find(|&n| row[n] != 0.0).unwrap_or(hi);
                let last = (first..hi).rev().find(|&n| row[n] != 0.0).map_or(first, |n| n + 1);
                (first, last)
            })
            .collect();
        let fixed_post = post.iter().map(|&r| fixed(r)).collect();
        Counted { obs, post, q, support, fixed_post }
    }

    /// Adds every model's counts for the 64 items of bitset word `word` to
    /// `block` (those items' rows of the counts).
    fn word(&self, word: usize, block: &mut [i64]) {
        let (obs, q) = (self.obs, self.q);
        let m = obs.matrix();
        let n_items = m.n_items();
        let per_item = obs.stats_per_node() * q;
        for model in 0..m.n_models() {
            let observed = m.observed_bits(model)[word];
            if observed == 0 {
                continue;
            }
            let (lo, hi) = self.support[model];
            if let Observations::Binary(_) = obs {
                // n at every observed item, then s at every correct one:
                // two passes over the bits instead of a branch per item on
                // its score, which mispredicted half the time.
                let r = &self.fixed_post[model * q + lo..model * q + hi];
                let correct = m.correct_bits(model).expect("binary matrix")[word] & observed;
                for (bits, offset) in [(observed, 0), (correct, q)] {
                    let mut bits = bits;
                    while bits != 0 {
                        let k = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let at = k * per_item + offset;
                        add(&mut block[at + lo..at + hi], r);
                    }
                }
                continue;
            }
            let (r, fixed_r) = (&self.post[model * q + lo..model * q + hi], &self.fixed_post[model * q + lo..model * q + hi]);
            let mut bits = observed;
            while bits != 0 {
                let k = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let item = word * 64 + k;
                let slot = &mut block[k * per_item..(k + 1) * per_item];
                add(&mut slot[lo..hi], fixed_r);
                match obs {
                    Observations::Binary(_) => unreachable!("counted above"),
                    Observations::Fractional(_, x) => add_fixed_scaled(&mut slot[q + lo..q + hi], r, x[model * n_items + item] as f64),
                    Observations::Beta(_, lx, l1x) => {
                        add_fixed_scaled(&mut slot[q + lo..q + hi], r, lx[model * n_items + item] as f64);
                        add_fixed_scaled(&mut slot[2 * q + lo..2 * q + hi], r, l1x[model * n_items + item] as f64);
                    }
                }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn windowed_tables_give_the_full_tables_posteriors_or_ask_for_them() {
        let (m, items) = crate::irt::tests::synthetic_2pl_from(40, 300, 0.1, &mut Rng::new(5));
        let obs = Observations::Binary(&m);
        let grid = Grid::uniform(121, 6.0);
        let q = grid.len();
        let full = Tables::new(&items, &grid.nodes, Family::Bernoulli);
        let mut post = vec![0.0; 40 * q];
        let mut summaries = vec![PosteriorSummary::full(q); 40];
        posteriors(&obs, &full, &grid, None, &mut post, &mut summaries).unwrap();
        // From settled windows: full tables and tables over their span agree exactly.
        let (lo, hi) = (summaries.iter().map(|s| s.lo).min().unwrap(), summaries.iter().map(|s| s.hi).max().unwrap());
        assert!(lo > 0 && hi < q, "windows [{lo}, {hi}) should not span the grid");
        let (mut post_full, mut summaries_full) = (post.clone(), summaries.clone());
        let ll_full = posteriors(&obs, &full, &grid, None, &mut post_full, &mut summaries_full).unwrap();
        let window = Tables::window(&items, &grid.nodes, Family::Bernoulli, lo, hi);
        let (mut post_window, mut summaries_window) = (post.clone(), summaries.clone());
        let ll_window = posteriors(&obs, &window, &grid, None, &mut post_window, &mut summaries_window).unwrap();
        assert_eq!(ll_full, ll_window);
        assert_eq!(post_full, post_window);
        assert_eq!(summaries_full, summaries_window);
        // Tables that miss part of a window: no result, nothing written.
        let narrow = Tables::window(&items, &grid.nodes, Family::Bernoulli, lo + 1, hi);
        let (mut post_narrow, mut summaries_narrow) = (post.clone(), summaries.clone());
        assert!(posteriors(&obs, &narrow, &grid, None, &mut post_narrow, &mut summaries_narrow).is_none());
        assert_eq!(post_narrow, post);
        assert_eq!(summaries_narrow, summaries);
        // The case the EM loop meets: items that moved so far that a
        // posterior's mode sits on its window's edge. The window widens past
        // the span the tables cover.
        let moved: Vec<ItemParams> = items.iter().map(|p| ItemParams { b: p.b + 2.5, ..*p }).collect();
        let window = Tables::window(&moved, &grid.nodes, Family::Bernoulli, lo, hi);
        let (mut post_moved, mut summaries_moved) = (post.clone(), summaries.clone());
        assert!(posteriors(&obs, &window, &grid, None, &mut post_moved, &mut summaries_moved).is_none());
        assert_eq!((&post_moved, &summaries_moved), (&post, &summaries));
        let full = Tables::new(&moved, &grid.nodes, Family::Bernoulli);
        assert!(posteriors(&obs, &full, &grid, None, &mut post_moved, &mut summaries_moved).is_some());
        assert!(summaries_moved.iter().zip(&summaries).any(|(now, before)| now.lo < lo || now.hi > hi || now.mean < before.mean - 1.0));
    }

    fn bit(words: &[u64], i: usize) -> bool {
        words[i / 64] >> (i % 64) & 1 == 1
    }

    #[test]
    fn blocked_window_sums_equal_one_model_sums_to_the_bit() {
        // 2,100 items: two whole chunks and a partial one; 10% missing.
        let (m, items) = crate::irt::tests::synthetic_2pl_from(20, 2100, 0.1, &mut Rng::new(9));
        let obs = Observations::Binary(&m);
        let grid = Grid::uniform(121, 6.0);
        let t = Tables::window(&items, &grid.nodes, Family::Bernoulli, 30, 90);
        // Windows in table columns, of several widths; every fifth model skipped.
        let mut windows: Vec<Option<(usize, usize)>> = (0..20).map(|k| (k % 5 != 3).then_some((k, k + 7 + k % 4))).collect();
        // One window ending at the tables' last column, one the whole table.
        windows[18] = Some((50, 60));
        windows[19] = Some((0, 60));
        let mut out = vec![vec![1.0]; 20];
        block_window_sums(&m, &t, 0, &windows, &mut out);
        for (model, w) in windows.iter().enumerate() {
            let Some((lo, hi)) = *w else {
                assert!(out[model].is_empty());
                continue;
            };
            let mut one = vec![0.0; hi - lo];
            model_log_likelihood_window(&obs, &t, model, lo + 30, hi + 30, &mut one);
            assert_eq!(out[model], one, "model {model}");
            // And both are the log-likelihood, summed directly.
            for (n, &sum) in one.iter().enumerate() {
                let theta = grid.nodes[lo + 30 + n];
                let direct: f64 = (0..m.n_items())
                    .filter(|&i| bit(m.observed_bits(model), i))
                    .map(|i| {
                        let p = sigmoid(items[i].a * (theta - items[i].b));
                        if bit(m.correct_bits(model).unwrap(), i) { p.ln() } else { (1.0 - p).ln() }
                    })
                    .sum();
                assert!((sum - direct).abs() <= 1e-9 * direct.abs(), "model {model} node {n}: {sum} vs {direct}");
            }
        }
    }

    #[test]
    fn the_mode_search_lands_on_the_mode_from_any_start() {
        // 4,000 items: lane products of 1 + e^−|z| over whole blocks, and a
        // tail of 4,000 mod 8 items.
        let (m, items) = crate::irt::tests::synthetic_2pl_from(6, 4000, 0.05, &mut Rng::new(21));
        let obs = Observations::Binary(&m);
        let grid = Grid::uniform(121, 6.0);
        let t = Tables::new(&items, &grid.nodes, Family::Bernoulli);
        for model in 0..6 {
            let (theta, sigma, log_post) = posterior_mode(&obs, &t, model, 0.1, &mut TwoPlItems::default());
            let (mut direct, mut score) = (-theta * theta / 2.0, -theta);
            let mut info = 1.0;
            for i in (0..m.n_items()).filter(|&i| bit(m.observed_bits(model), i)) {
                let z = items[i].a * (theta - items[i].b);
                let x = bit(m.correct_bits(model).unwrap(), i) as u8 as f64;
                direct += x * z - (z.max(0.0) + (-z.abs()).exp().ln_1p());
                let p = sigmoid(z);
                score += items[i].a * (x - p);
                info += items[i].a * items[i].a * p * (1.0 - p);
            }
            assert!((score / info).abs() < 1e-10, "model {model}: a Newton step of {} remains", score / info);
            assert!((log_post - direct).abs() <= 1e-12 * direct.abs(), "model {model}: {log_post} vs {direct}");
            // σ is read where the last step started, ≤ 10⁻⁵ away.
            assert!((sigma - 1.0 / info.sqrt()).abs() <= 1e-6 * sigma, "model {model}: σ {sigma}");
            for start in [-4.0, 4.0, theta + 0.3] {
                let (other, ..) = posterior_mode(&obs, &t, model, start, &mut TwoPlItems::default());
                assert!((other - theta).abs() < 1e-10, "model {model} from {start}: {other} vs {theta}");
            }
        }
    }

    #[test]
    fn a_narrow_posterior_skips_the_grid_with_the_grids_answer() {
        // 30 models × 3,000 items: every posterior narrower than the spacing.
        // The same E-step from windows that must be summed (wide summaries)
        // and from narrow summaries that skip the sums gives the same modes.
        let (m, items) = crate::irt::tests::synthetic_2pl_from(30, 3000, 0.1, &mut Rng::new(4));
        let obs = Observations::Binary(&m);
        let grid = Grid::uniform(121, 6.0);
        let t = Tables::new(&items, &grid.nodes, Family::Bernoulli);
        let q = grid.len();
        let mut post = vec![0.0; 30 * q];
        let mut through_grid = vec![PosteriorSummary::full(q); 30];
        let ll_grid: f64 = posteriors(&obs, &t, &grid, None, &mut post, &mut through_grid).unwrap().iter().sum();
        assert!(through_grid.iter().all(|s| s.sd < grid.h), "every posterior should be narrow");
        let mut direct: Vec<PosteriorSummary> = through_grid.iter().map(|s| PosteriorSummary { mean: s.mean + 0.05, ..*s }).collect();
        let mut post_direct = vec![0.0; 30 * q];
        let ll_direct: f64 = posteriors(&obs, &t, &grid, None, &mut post_direct, &mut direct).unwrap().iter().sum();
        for (a, b) in through_grid.iter().zip(&direct) {
            assert!((a.mean - b.mean).abs() < 1e-10 && (a.sd - b.sd).abs() < 1e-6 * a.sd, "{a:?} vs {b:?}");
        }
        assert!((ll_grid - ll_direct).abs() < 1e-9 * ll_grid.abs(), "{ll_grid} vs {ll_direct}");
        // The start guesses send exactly these models straight to Newton's method.
        let start = start_summaries(&obs, &grid, true);
        assert!(start.iter().all(|s| skips_the_grid(*s, &grid) && (s.lo, s.hi) == (0, q)));
        assert!(start_summaries(&obs, &grid, false).iter().all(|s| *s == PosteriorSummary::full(q)));
    }

    #[test]
    fn an_e_step_over_blocks_of_models_sums_to_the_whole_to_the_bit() {
        // 50 models × 700 items, 10% missing: posteriors about the grid
        // spacing wide, so some models take the grid and some Newton's
        // method. Each block of models is its own matrix, as a worker would
        // hold it; the whole E-step is the blocks' concatenated, the counts
        // their sum.
        let (m, items) = crate::irt::tests::synthetic_2pl_from(50, 700, 0.1, &mut Rng::new(12));
        let grid = Grid::uniform(121, 6.0);
        let q = grid.len();
        // From the start and from a settled state (one E-step in).
        let run = |m: &ResponseMatrix, summaries: &mut Vec<PosteriorSummary>| {
            let obs = Observations::Binary(m);
            let mut post = vec![0.0; m.n_models() * q];
            let marginals = cpu_e_step(&obs, &grid, &items, &mut post, summaries).unwrap();
            let mut counts = vec![0i64; m.n_items() * 2 * q];
            fixed_counts(&obs, &post, summaries, q, &mut counts);
            let mut stats = vec![0.0; m.n_items() * 2 * q];
            accumulate(&obs, &post, summaries, q, &mut stats);
            (marginals, counts, stats)
        };
        let mut whole_summaries = start_summaries(&Observations::Binary(&m), &grid, true);
        for round in 0..2 {
            let start = whole_summaries.clone();
            let (marginals, counts, stats) = run(&m, &mut whole_summaries);
            assert!(whole_summaries.iter().any(|s| s.sd < grid.h) && whole_summaries.iter().any(|s| s.sd >= grid.h), "round {round}: both kinds");
            for cuts in [vec![0, 50], vec![0, 25, 50], vec![0, 1, 7, 30, 49, 50]] {
                let (mut all_summaries, mut all_marginals, mut total) = (Vec::new(), Vec::new(), vec![0i64; counts.len()]);
                for w in cuts.windows(2) {
                    let rows: Vec<usize> = (w[0]..w[1]).collect();
                    let block = m.select(&rows, &(0..m.n_items()).collect::<Vec<_>>());
                    let mut summaries = start[w[0]..w[1]].to_vec();
                    let (marginals, counts, _) = run(&block, &mut summaries);
                    all_summaries.extend(summaries);
                    all_marginals.extend(marginals);
                    total.iter_mut().zip(&counts).for_each(|(t, c)| *t += c);
                }
                assert_eq!(all_summaries, whole_summaries, "round {round}, blocks {cuts:?}");
                assert_eq!(all_marginals, marginals, "round {round}, blocks {cuts:?}");
                assert_eq!(total, counts, "round {round}, blocks {cuts:?}");
            }
            // The f64 statistics are the fixed-point counts, scaled.
            assert!(stats.iter().zip(&counts).all(|(&s, &c)| s == c as f64 / COUNT_SCALE));
        }
    }
}
