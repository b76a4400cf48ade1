//! How well does a benchmark subset recover the models' full-benchmark scores and
//! their ranking? Every function compares an `estimate` (scores predicted from the
//! subset) with the `truth` (scores on the full benchmark), one entry per model.
//!
//! Score error:
//! - **MAE** `mean |e_i - t_i|` and **RMSE** `sqrt(mean (e_i - t_i)^2)`.
//!
//! Ranking agreement (checked against scipy 1.14 by `tests/metrics_golden.rs`):
//! - **Kendall's tau-b** (Kendall 1945, "The treatment of ties in ranking
//!   problems", Biometrika 33:239–251): `(C - D) / sqrt((P - T_x)(P - T_y))` with
//!   C / D the concordant / discordant pairs, P = n(n-1)/2 and T_x, T_y the pairs
//!   tied in x, in y. Same as `scipy.stats.kendalltau` (variant 'b'). Computed in
//!   O(n log n) with Knight's algorithm (Knight 1966, "A computer method for
//!   calculating Kendall's tau with ungrouped data", JASA 61:436–439): sort by
//!   (x, y), then D is the number of inversions of the y sequence, counted by merge
//!   sort.
//! - **Spearman's rho** (Spearman 1904): Pearson's r of the average ranks, as
//!   `scipy.stats.spearmanr`.
//! - **Pearson's r**: `sum (x-mx)(y-my) / sqrt(sum (x-mx)^2 sum (y-my)^2)`.
//! - **Ranks**: 1-based average ranks, as `scipy.stats.rankdata(method='average')`.
//! - **Pairwise accuracy**: over the pairs i < j the truth orders (t_i != t_j), the
//!   fraction the estimate orders the same way; an estimate tie counts one half.
//!   [`pair_outcomes`] lists each such pair with its true gap |t_i - t_j|, so that
//!   outcomes can be pooled across folds and seeds before summarising.
//! - **Minimum detectable difference** ([`min_detectable_difference`]): the
//!   smallest true gap from which on the subset orders pairs correctly at the
//!   requested rate, judged on bins of similar gaps (definition on the function).
//!
//! Uncertainty:
//! - **Coverage**: the fraction of true values inside their `[low, high]` interval.
//! - **Mean with a Student-t confidence interval** ([`mean_ci`]):
//!   `mean ± t_{(1+level)/2, n-1} s / sqrt(n)`, s the sample standard deviation.
//!   The t quantile ([`student_t_quantile`]) inverts the t CDF written with the
//!   regularized incomplete beta function (Abramowitz & Stegun 26.7.1, 26.5.27),
//!   evaluated by its continued fraction with the modified Lentz method (Numerical
//!   Recipes, 3rd ed., §6.4), by bisection.
//!
//! NaN semantics: NaN propagates, as with scipy's default `nan_policy='propagate'`.
//! A NaN anywhere in the inputs of [`mae`], [`rmse`], [`pearson`], [`spearman`],
//! [`kendall_tau_b`], [`pairwise_accuracy`], [`coverage`] makes the result NaN;
//! [`ranks`] returns all NaN; [`pair_outcomes`] gives the pairs it touches a NaN
//! `correct` (and a NaN `gap` when the truth is NaN), so [`min_detectable_difference`]
//! is NaN too. Only [`mean_ci`] skips non-finite values, because it summarises
//! results pooled from runs where some may have failed. Undefined results are NaN
//! as well: empty or mismatched-length inputs, correlations of a constant vector
//! or of fewer than two points, no pair ordered by the truth.
//!
//! Everything is deterministic: sorts are stable, sums run in input order.

use std::cmp::Ordering;

use crate::math;

/// Mean absolute error. NaN when the lengths differ or the input is empty.
pub fn mae(estimate: &[f64], truth: &[f64]) -> f64 {
    mean_of(estimate, truth, |d| d.abs())
}

/// Root mean squared error. NaN when the lengths differ or the input is empty.
pub fn rmse(estimate: &[f64], truth: &[f64]) -> f64 {
    mean_of(estimate, truth, |d| d * d).sqrt()
}

/// `mean(f(e_i - t_i))`, NaN for empty or mismatched input.
fn mean_of(estimate: &[f64], truth: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    if estimate.len() != truth.len() || estimate.is_empty() {
        return f64::NAN;
    }
    let sum: f64 = estimate.iter().zip(truth).map(|(e, t)| f(e - t)).sum();
    sum / estimate.len() as f64
}

/// Kendall's tau-b, with scipy's conventions: NaN for fewer than two points,
/// mismatched lengths, any NaN, or a constant x or y. O(n log n).
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n != y.len() || n < 2 || has_nan(x) || has_nan(y) {
        return f64::NAN;
    }
    let PairCounts { total, x_ties, y_ties, joint_ties, discordant } = pair_counts(x, y);
    if x_ties == total || y_ties == total {
        return f64::NAN;
    }
    // total = C + D + (T_x - T_xy) + (T_y - T_xy) + T_xy, hence C - D:
    let con_minus_dis = total as i64 - x_ties as i64 - y_ties as i64 + joint_ties as i64 - 2 * discordant as i64;
    // Same operation order as scipy (integer counts, two square roots).
    let tau = con_minus_dis as f64 / ((total - x_ties) as f64).sqrt() / ((total - y_ties) as f64).sqrt();
    tau.clamp(-1.0, 1.0)
}

/// The pair counts Kendall's τ-b is made of, for NaN-free `x`, `y` of one
/// length, in O(n log n): all pairs, pairs tied in x, in y, in both, and
/// discordant pairs (x and y strictly in opposite orders).
struct PairCounts {
    total: u64,
    x_ties: u64,
    y_ties: u64,
    joint_ties: u64,
    discordant: u64,
}

fn pair_counts(x: &[f64], y: &[f64]) -> PairCounts {
    let n = x.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(x[a], x[b]).then(cmp(y[a], y[b])));
    let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
    let mut ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let x_ties = tied_pairs(n, |a, b| xs[a] == xs[b]);
    let joint_ties = tied_pairs(n, |a, b| xs[a] == xs[b] && ys[a] == ys[b]);
    // Within a run of tied x the y values are ascending, so every strict
    // inversion left in the y sequence is a discordant pair.
    let discordant = count_inversions(&mut ys);
    let y_ties = tied_pairs(n, |a, b| ys[a] == ys[b]);
    let total = (n as u64) * (n as u64).saturating_sub(1) / 2;
    PairCounts { total, x_ties, y_ties, joint_ties, discordant }
}

/// Total order for NaN-free input; -0.0 and 0.0 compare equal, as they tie.
fn cmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

fn has_nan(x: &[f64]) -> bool {
    x.iter().any(|v| v.is_nan())
}

/// Number of pairs inside runs of consecutive indices 0..n where `same(k-1, k)`.
fn tied_pairs(n: usize, same: impl Fn(usize, usize) -> bool) -> u64 {
    let mut pairs = 0u64;
    let mut run = 1u64;
    for k in 1..n {
        if same(k - 1, k) {
            run += 1;
        } else {
            pairs += run * (run - 1) / 2;
            run = 1;
        }
    }
    pairs + run * (run - 1) / 2
}

/// Sorts `v` ascending (bottom-up merge sort) and returns the number of pairs
/// i < j with v[i] > v[j]; equal values are not inversions.
fn count_inversions(v: &mut Vec<f64>) -> u64 {
    let n = v.len();
    let mut buf = vec![0.0; n];
    let mut inversions = 0u64;
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            inversions += merge(&v[start..mid], &v[mid..end], &mut buf[start..end]);
            start = end;
        }
        std::mem::swap(v, &mut buf);
        width *= 2;
    }
    inversions
}

/// Merges two sorted runs into `out`; returns how many (left, right) pairs were
/// out of order. Taking the left element on equality keeps ties uncounted.
fn merge(left: &[f64], right: &[f64], out: &mut [f64]) -> u64 {
    let (mut i, mut j, mut inversions) = (0, 0, 0u64);
    for slot in out.iter_mut() {
        if j == right.len() || (i < left.len() && left[i] <= right[j]) {
            *slot = left[i];
            i += 1;
        } else {
            *slot = right[j];
            j += 1;
            inversions += (left.len() - i) as u64;
        }
    }
    inversions
}

/// Spearman's rho: Pearson's r of the average ranks. NaN for fewer than two
/// points, mismatched lengths, any NaN, or a constant input.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() || x.len() < 2 {
        return f64::NAN;
    }
    pearson(&ranks(x), &ranks(y))
}

/// Pearson's correlation coefficient, clamped to [-1, 1] against rounding.
/// NaN for fewer than two points, mismatched lengths, any NaN, or a constant
/// input (scipy returns 0 for a constant pair of two points; we return NaN).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n != y.len() || n < 2 || is_constant(x) || is_constant(y) {
        return f64::NAN;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    // Two square roots rather than one of the product, which could overflow.
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

fn is_constant(x: &[f64]) -> bool {
    x.iter().all(|v| *v == x[0])
}

/// 1-based average ranks: tied values share the mean of the ranks they span.
/// All NaN when any value is NaN (ranks relative to NaN are undefined).
pub fn ranks(x: &[f64]) -> Vec<f64> {
    if has_nan(x) {
        return vec![f64::NAN; x.len()];
    }
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| cmp(x[a], x[b]));
    let mut out = vec![0.0; x.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && x[order[end]] == x[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end; their mean:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            out[i] = rank;
        }
        start = end;
    }
    out
}

/// One pair of models the truth orders: its true gap and whether the estimate
/// orders it the same way (1), ties it (0.5) or reverses it (0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairOutcome {
    pub gap: f64,
    pub correct: f64,
}

/// Fraction of truth-ordered pairs that the estimate orders the same way, an
/// estimate tie counting one half: the mean `correct` of [`pair_outcomes`],
/// without building the list. NaN when no pair is ordered by the truth, when
/// the lengths differ, or when a NaN takes part in any pair.
pub fn pairwise_accuracy(estimate: &[f64], truth: &[f64]) -> f64 {
    if estimate.len() == truth.len() && !has_nan(estimate) && !has_nan(truth) {
        return pairwise_accuracy_by_sorting(estimate, truth);
    }
    let (mut sum, mut count) = (0.0, 0usize);
    for_each_pair(estimate, truth, |p| {
        sum += p.correct;
        count += 1;
    });
    if count == 0 { f64::NAN } else { sum / count as f64 }
}

/// [`pairwise_accuracy`] without NaNs in O(n log n), by the counts Kendall's
/// τ-b is made of (`evaluate` calls it for every seed of every row, on up to
/// thousands of models). Among the pairs with distinct truths, those with
/// tied estimates count one half and the discordant ones nothing; the sum
/// is of halves and ones, exact in f64, so the result is the same bits as
/// adding pair by pair.
fn pairwise_accuracy_by_sorting(estimate: &[f64], truth: &[f64]) -> f64 {
    let PairCounts { total, x_ties: truth_ties, y_ties: estimate_ties, joint_ties, discordant } = pair_counts(truth, estimate);
    let count = total - truth_ties;
    if count == 0 {
        return f64::NAN;
    }
    // Pairs with equal estimates but distinct truths.
    let halves = estimate_ties - joint_ties;
    let correct = count - discordant - halves;
    (correct as f64 + 0.5 * halves as f64) / count as f64
}

/// Every pair i < j with `truth[i] != truth[j]`, in order (i, then j). A NaN
/// truth gives its pairs a NaN gap and NaN `correct`; a NaN estimate a NaN
/// `correct`. Empty when the lengths differ. Holds n(n-1)/2 entries at most.
pub fn pair_outcomes(estimate: &[f64], truth: &[f64]) -> Vec<PairOutcome> {
    let mut out = Vec::new();
    for_each_pair(estimate, truth, |p| out.push(p));
    out
}

/// `pair_outcomes(estimate, truth)` thinned to every `stride`-th pair
/// (the 0th, the stride-th, …) without building the full list: the same
/// entries as `pair_outcomes(..).into_iter().step_by(stride)`.
pub fn pair_outcomes_strided(estimate: &[f64], truth: &[f64], stride: usize) -> Vec<PairOutcome> {
    let stride = stride.max(1);
    let mut out = Vec::new();
    if estimate.len() != truth.len() {
        return out;
    }
    let n = truth.len();
    let mut next = 0usize;
    let mut index = 0usize;
    for i in 0..n {
        let (ti, ei) = (truth[i], estimate[i]);
        for j in i + 1..n {
            if ti != truth[j] {
                if index == next {
                    out.push(PairOutcome { gap: (ti - truth[j]).abs(), correct: agreement(ei, estimate[j], ti, truth[j]) });
                    next += stride;
                }
                index += 1;
            }
        }
    }
    out
}

/// How many pairs i < j have `truth[i] != truth[j]` (NaN differs from
/// everything, itself included): the length of [`pair_outcomes`].
pub fn ordered_pair_count(truth: &[f64]) -> usize {
    let n = truth.len();
    let mut finite: Vec<f64> = truth.iter().copied().filter(|t| !t.is_nan()).collect();
    let nan_count = n - finite.len();
    finite.sort_by(|a, b| cmp(*a, *b));
    // Pairs among non-NaN values that tie; every pair with a NaN differs.
    let ties = tied_pairs(finite.len(), |a, b| finite[a] == finite[b]) as usize;
    debug_assert!(nan_count <= n);
    n * n.saturating_sub(1) / 2 - ties
}

fn for_each_pair(estimate: &[f64], truth: &[f64], mut f: impl FnMut(PairOutcome)) {
    if estimate.len() != truth.len() {
        return;
    }
    let n = truth.len();
    for i in 0..n {
        for j in i + 1..n {
            // `!=` is true for NaN, so a NaN truth is reported, not hidden.
            if truth[i] != truth[j] {
                let gap = (truth[i] - truth[j]).abs();
                let correct = agreement(estimate[i], estimate[j], truth[i], truth[j]);
                f(PairOutcome { gap, correct });
            }
        }
    }
}

/// 1 if (e_i, e_j) is ordered like (t_i, t_j), 0.5 if e_i == e_j, 0 if
/// reversed, NaN if any is NaN. Compares rather than subtracts, so equal
/// infinities tie instead of producing inf - inf = NaN.
fn agreement(ei: f64, ej: f64, ti: f64, tj: f64) -> f64 {
    match (ei.partial_cmp(&ej), ti.partial_cmp(&tj)) {
        (None, _) | (_, None) => f64::NAN,
        (Some(Ordering::Equal), _) => 0.5,
        (Some(e), Some(t)) if e == t => 1.0,
        _ => 0.0,
    }
}

/// Pairs per gap bin (at least) in [`min_detectable_difference`].
pub const MDD_PAIRS_PER_BIN: usize = 200;

/// Minimum detectable difference: the smallest true gap from which on the
/// subset orders pairs correctly at the `level` rate *locally*. Pairs are
/// sorted by true gap and cut into bins of about [`MDD_PAIRS_PER_BIN`] pairs
/// (at most 50 bins; pairs with equal gaps stay in one bin); a bin's accuracy
/// is the rate at those gaps. Sweeping from the largest-gap bin down, the MDD
/// is the smallest gap of the last bin before the first one below `level`.
/// A cumulative rate (all pairs with gap ≥ δ) would be diluted by the many
/// easy large-gap pairs and report tiny gaps; the local rate does not.
/// Largest-gap bin below `level` → +inf; empty input, a NaN gap or outcome,
/// or a NaN level → NaN.
pub fn min_detectable_difference(outcomes: &[PairOutcome], level: f64) -> f64 {
    if outcomes.is_empty() || level.is_nan() || outcomes.iter().any(|p| p.gap.is_nan() || p.correct.is_nan()) {
        return f64::NAN;
    }
    let mut sorted = outcomes.to_vec();
    sorted.sort_by(|a, b| cmp(b.gap, a.gap));
    let bins = (sorted.len() / MDD_PAIRS_PER_BIN).clamp(1, 50);
    let target = sorted.len().div_ceil(bins);
    let mut delta = f64::INFINITY;
    let mut k = 0;
    while k < sorted.len() {
        let (mut correct, mut count) = (0.0, 0usize);
        // Fill a bin, then finish its last gap so equal gaps stay together.
        while k < sorted.len() && (count < target || sorted[k].gap == sorted[k - 1].gap) {
            correct += sorted[k].correct;
            count += 1;
            k += 1;
        }
        if correct / count as f64 >= level {
            delta = sorted[k - 1].gap;
        } else {
            break;
        }
    }
    delta
}

/// Fraction of i with `low[i] <= truth[i] <= high[i]`. NaN when empty, when the
/// lengths differ, or when any value is NaN.
pub fn coverage(truth: &[f64], low: &[f64], high: &[f64]) -> f64 {
    let n = truth.len();
    if n == 0 || low.len() != n || high.len() != n || has_nan(truth) || has_nan(low) || has_nan(high) {
        return f64::NAN;
    }
    let inside = (0..n).filter(|&i| low[i] <= truth[i] && truth[i] <= high[i]).count();
    inside as f64 / n as f64
}

/// A mean with its two-sided confidence interval over `n` finite values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub n: usize,
}

/// Mean of the finite values (NaN and ±inf are skipped, e.g. failed runs) and
/// its two-sided Student-t interval `mean ± t_{(1+level)/2, n-1} · s / sqrt(n)`
/// with `s` the sample standard deviation (ddof = 1), as
/// `scipy.stats.t.interval(level, n-1, loc=mean, scale=sem)`.
/// n = 0: all NaN. n = 1: low = high = mean (no spread to measure).
/// `level` outside (0, 1): low = high = NaN.
pub fn mean_ci(values: &[f64], level: f64) -> MeanCi {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    if n == 0 {
        return MeanCi { mean: f64::NAN, low: f64::NAN, high: f64::NAN, n };
    }
    let mean = finite.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return MeanCi { mean, low: mean, high: mean, n };
    }
    if !(level > 0.0 && level < 1.0) {
        return MeanCi { mean, low: f64::NAN, high: f64::NAN, n };
    }
    let ss: f64 = finite.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sem = (ss / (n - 1) as f64 / n as f64).sqrt();
    let half = student_t_quantile((1.0 + level) / 2.0, (n - 1) as f64) * sem;
    MeanCi { mean, low: mean - half, high: mean + half, n }
}

/// Quantile (inverse CDF) of Student's t distribution with `df` degrees of
/// freedom, as `scipy.stats.t.ppf(p, df)`; `df` need not be an integer.
/// -inf / +inf at p = 0 / 1; NaN for p outside [0, 1], NaN p, or df not > 0.
/// Agrees with scipy to ~1e-10 relative for df up to 1e5 (scipy's own error
/// is ~1e-11: at df = 1 and 2, where closed forms exist, we are the closer one)
/// and ~1e-8 at df = 1e7, where the log-gamma terms start to cancel.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    match p.partial_cmp(&0.5) {
        Some(Ordering::Less) => -upper_t_quantile(1.0 - p, df),
        Some(Ordering::Greater) => upper_t_quantile(p, df),
        _ => 0.0,
    }
}

/// The t quantile for 0.5 < p < 1, from A&S 26.7.1: for t > 0,
/// P(|T| > t) = I_x(df/2, 1/2) with x = df / (df + t^2), and
/// P(|T| < t) = I_y(1/2, df/2) with y = 1 - x = t^2 / (df + t^2).
/// We solve in whichever of x, y is below 1/2, so that t = sqrt(df y / x)
/// never divides by a difference close to zero.
fn upper_t_quantile(p: f64, df: f64) -> f64 {
    let a = df / 2.0;
    let tail = 2.0 * (1.0 - p); // exact for p in [0.5, 1]
    let central = 2.0 * p - 1.0; // exact too
    if tail >= beta_reg(0.5, a, 0.5) {
        // x >= 1/2, i.e. t^2 <= df: solve for y in (0, 1/2].
        let y = bisect(|y| beta_reg(y, 0.5, a), central);
        (df * y / (1.0 - y)).sqrt()
    } else {
        let x = bisect(|x| beta_reg(x, a, 0.5), tail);
        (df * (1.0 - x) / x).sqrt()
    }
}

/// Root of the increasing function `f(z) = target` on [0, 1/2], by bisection
/// down to a relative width of one ulp (deterministic, needs no derivative).
fn bisect(f: impl Fn(f64) -> f64, target: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 0.5f64);
    for _ in 0..2_000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi || hi - lo <= f64::EPSILON * hi {
            break;
        }
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Regularized incomplete beta I_x(a, b) (Numerical Recipes 3rd ed. §6.4): the
/// continued fraction converges fast for x < (a+1)/(a+b+2); beyond that we use
/// I_x(a, b) = 1 - I_{1-x}(b, a).
fn beta_reg(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * math::ln(x) + b * math::ln_1p(-x);
    let front = math::exp(ln_front);
    if x < (a + 1.0) / (a + b + 2.0) { front * beta_cf(x, a, b) / a } else { 1.0 - front * beta_cf(1.0 - x, b, a) / b }
}

/// Continued fraction for I_x(a, b), modified Lentz method (NR 3rd ed. §6.4, §5.2).
fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    // Keeps a denominator off exact zero, as Lentz's method prescribes.
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=20_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even step of the fraction.
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        h *= d * c;
        // Odd step.
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() <= 2.0 * f64::EPSILON {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_pairs_are_the_thinned_full_list() {
        let mut rng = crate::rng::Rng::new(8);
        for n in [0usize, 1, 2, 7, 60] {
            let mut truth: Vec<f64> = (0..n).map(|_| (rng.uniform() * 5.0).floor()).collect();
            let est: Vec<f64> = (0..n).map(|_| (rng.uniform() * 4.0).floor()).collect();
            if n > 3 {
                truth[2] = f64::NAN;
                truth[3] = -0.0;
            }
            let full = pair_outcomes(&est, &truth);
            assert_eq!(ordered_pair_count(&truth), full.len(), "n {n}");
            for stride in [1usize, 2, 3, 17, 1000] {
                let a: Vec<(u64, u64)> = full.iter().step_by(stride).map(|p| (p.gap.to_bits(), p.correct.to_bits())).collect();
                let b: Vec<(u64, u64)> = pair_outcomes_strided(&est, &truth, stride).iter().map(|p| (p.gap.to_bits(), p.correct.to_bits())).collect();
                assert_eq!(a, b, "n {n} stride {stride}");
            }
        }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * b.abs().max(1.0)
    }

    fn outcomes(list: &[(f64, f64)]) -> Vec<PairOutcome> {
        list.iter().map(|&(gap, correct)| PairOutcome { gap, correct }).collect()
    }

    #[test]
    fn mae_and_rmse_by_hand() {
        assert_eq!(mae(&[1.0, 2.0, 4.0], &[1.0, 3.0, 2.0]), 1.0);
        assert_eq!(rmse(&[1.0, 2.0, 4.0], &[1.0, 3.0, 2.0]), (5.0f64 / 3.0).sqrt());
        assert!(mae(&[], &[]).is_nan());
        assert!(rmse(&[1.0], &[1.0, 2.0]).is_nan());
        assert!(mae(&[f64::NAN, 1.0], &[0.0, 1.0]).is_nan());
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]), vec![4.0, 1.0, 4.0, 2.0, 4.0]);
        assert_eq!(ranks(&[0.0, -0.0]), vec![1.5, 1.5]);
        assert!(ranks(&[1.0, f64::NAN]).iter().all(|r| r.is_nan()));
        assert!(ranks(&[]).is_empty());
    }

    /// O(n^2) tau-b straight from the definition, the oracle for Knight's algorithm.
    fn tau_b_naive(x: &[f64], y: &[f64]) -> f64 {
        let (mut s, mut nx, mut ny) = (0i64, 0i64, 0i64);
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                let a = cmp(x[i], x[j]) as i64;
                let b = cmp(y[i], y[j]) as i64;
                s += a * b;
                nx += (a != 0) as i64;
                ny += (b != 0) as i64;
            }
        }
        if nx == 0 || ny == 0 {
            return f64::NAN;
        }
        s as f64 / (nx as f64).sqrt() / (ny as f64).sqrt()
    }

    /// Small deterministic generator (SplitMix64) so this test needs nothing else.
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn knight_matches_naive_tau_b() {
        let mut state = 7u64;
        for case in 0..200 {
            let n = 2 + case % 60;
            // Few distinct levels in some cases, to exercise ties and joint ties.
            let levels = if case % 3 == 0 { 4 } else { 1_000_000 };
            let draw = |s: &mut u64| (splitmix(s) % levels) as f64 - (levels / 2) as f64;
            let x: Vec<f64> = (0..n).map(|_| draw(&mut state)).collect();
            let y: Vec<f64> = (0..n).map(|_| draw(&mut state)).collect();
            let (fast, slow) = (kendall_tau_b(&x, &y), tau_b_naive(&x, &y));
            assert!(close(fast, slow, 1e-12), "n={n}: {fast} vs {slow}");
        }
    }

    #[test]
    fn naive_tau_b_matches_scipy_golden() {
        let text = include_str!("../../tests/fixtures/golden/metrics.json");
        let golden: serde_json::Value = serde_json::from_str(text).expect("golden json parses");
        let vec_of = |v: &serde_json::Value| -> Vec<f64> { v.as_array().expect("array").iter().map(|e| e.as_f64().unwrap_or(f64::NAN)).collect() };
        for case in golden["cases"].as_array().expect("cases") {
            let (x, y) = (vec_of(&case["x"]), vec_of(&case["y"]));
            let want = case["kendall_tau_b"].as_f64().unwrap_or(f64::NAN);
            let got = tau_b_naive(&x, &y);
            assert!(close(got, want, 1e-12), "{}: {got} vs {want}", case["name"]);
        }
    }

    #[test]
    fn tau_b_edge_cases() {
        assert!(kendall_tau_b(&[1.0], &[2.0]).is_nan());
        assert!(kendall_tau_b(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]).is_nan());
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        // Ties in x broken by -0.0 / 0.0 must still count as ties.
        assert_eq!(kendall_tau_b(&[0.0, -0.0, 1.0], &[2.0, 1.0, 3.0]), tau_b_naive(&[0.0, 0.0, 1.0], &[2.0, 1.0, 3.0]));
    }

    #[test]
    fn correlations_of_constant_or_short_input_are_nan() {
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
        assert!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(pearson(&[1.0], &[1.0]).is_nan());
        assert!(close(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 300.0]), 1.0, 1e-15));
    }

    #[test]
    fn pairwise_accuracy_by_hand() {
        // truth 1 < 2 < 3; estimate orders (0,1) right, (0,2) right, (1,2) tied.
        assert_eq!(pairwise_accuracy(&[0.1, 0.5, 0.5], &[1.0, 2.0, 3.0]), 2.5 / 3.0);
        // truth tie between 0 and 1 drops that pair: (0,2) right, (1,2) wrong.
        assert_eq!(pairwise_accuracy(&[0.0, 2.0, 1.0], &[1.0, 1.0, 3.0]), 0.5);
        assert!(pairwise_accuracy(&[1.0, 2.0], &[5.0, 5.0]).is_nan());
        assert!(pairwise_accuracy(&[1.0], &[1.0, 2.0]).is_nan());
        assert!(pairwise_accuracy(&[f64::NAN, 1.0, 2.0], &[1.0, 2.0, 3.0]).is_nan());
        // Equal infinite estimates tie rather than turning into NaN.
        assert_eq!(pairwise_accuracy(&[f64::INFINITY, f64::INFINITY], &[1.0, 2.0]), 0.5);
    }

    #[test]
    fn pairwise_accuracy_by_sorting_is_the_pair_by_pair_sum_bit_for_bit() {
        let mut rng = crate::rng::Rng::new(21);
        for n in [0usize, 1, 2, 3, 9, 40, 300] {
            for levels in [2.0, 5.0, 1e9] {
                let mut truth: Vec<f64> = (0..n).map(|_| (rng.uniform() * levels).floor()).collect();
                let mut est: Vec<f64> = (0..n).map(|_| (rng.uniform() * levels).floor() - 1.0).collect();
                if n > 4 {
                    (truth[0], truth[1], est[2], est[3], est[4]) = (-0.0, 0.0, f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY);
                }
                let pairs = pair_outcomes(&est, &truth);
                let by_pairs = if pairs.is_empty() { f64::NAN } else { pairs.iter().map(|p| p.correct).sum::<f64>() / pairs.len() as f64 };
                let got = pairwise_accuracy(&est, &truth);
                assert!(got.to_bits() == by_pairs.to_bits() || (got.is_nan() && by_pairs.is_nan()), "n {n}, levels {levels}: {got} vs {by_pairs}");
            }
        }
    }

    #[test]
    fn pair_outcomes_by_hand() {
        let got = pair_outcomes(&[0.3, 0.1, 0.3, 0.9], &[2.0, 1.0, 2.0, 0.5]);
        // Pairs (0,1) (0,3) (1,2) (1,3) (2,3); (0,2) is a truth tie.
        let want = outcomes(&[(1.0, 1.0), (1.5, 0.0), (1.0, 1.0), (0.5, 0.0), (1.5, 0.0)]);
        assert_eq!(got, want);
        let nan = pair_outcomes(&[0.0, 1.0], &[f64::NAN, 1.0]);
        assert_eq!(nan.len(), 1);
        assert!(nan[0].gap.is_nan() && nan[0].correct.is_nan());
        assert!(pair_outcomes(&[1.0, 2.0], &[1.0]).is_empty());
    }

    #[test]
    fn min_detectable_difference_by_hand() {
        // Few pairs: one bin, so the level applies to all of them at once.
        let p = outcomes(&[(1.0, 0.5), (3.0, 1.0), (2.0, 1.0), (2.0, 0.0)]);
        assert_eq!(min_detectable_difference(&p, 0.6), 1.0);
        assert_eq!(min_detectable_difference(&p, 0.625), 1.0); // the bound is inclusive
        assert_eq!(min_detectable_difference(&p, 0.63), f64::INFINITY);
        assert!(min_detectable_difference(&[], 0.95).is_nan());
        assert!(min_detectable_difference(&outcomes(&[(f64::NAN, 1.0)]), 0.95).is_nan());
        assert!(min_detectable_difference(&p, f64::NAN).is_nan());
    }

    #[test]
    fn min_detectable_difference_is_local_not_cumulative() {
        // 2,000 pairs with gaps 0.001..2.0: gaps below 0.5 are coin flips,
        // gaps from 0.5 up are always ordered right. A cumulative rate over
        // "all pairs with gap ≥ δ" would pass far below 0.5; the local one
        // stops at the first bin of coin flips.
        let pairs: Vec<(f64, f64)> = (1..=2000)
            .map(|k| {
                let gap = k as f64 / 1000.0;
                (gap, if gap >= 0.5 || k % 2 == 0 { 1.0 } else { 0.0 })
            })
            .collect();
        let mdd = min_detectable_difference(&outcomes(&pairs), 0.95);
        assert!((0.5..0.61).contains(&mdd), "{mdd}");
        // Equal gaps never straddle a bin boundary.
        let ties: Vec<(f64, f64)> = (0..1000).map(|k| (if k < 600 { 1.0 } else { 2.0 }, 1.0)).collect();
        assert_eq!(min_detectable_difference(&outcomes(&ties), 0.95), 1.0);
    }

    #[test]
    fn coverage_by_hand() {
        let truth = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(coverage(&truth, &[0.0, 2.0, 3.5, 0.0], &[1.0, 2.5, 4.0, 3.9]), 0.5);
        assert!(coverage(&[], &[], &[]).is_nan());
        assert!(coverage(&truth, &[0.0; 3], &[5.0; 4]).is_nan());
        assert!(coverage(&[1.0], &[f64::NAN], &[2.0]).is_nan());
    }

    #[test]
    fn mean_ci_by_hand() {
        // mean 2, s = 1, sem = 1/sqrt(3), t_{0.975, 2} = 4.302652729749464.
        let ci = mean_ci(&[1.0, 2.0, 3.0, f64::NAN, f64::INFINITY], 0.95);
        assert_eq!((ci.mean, ci.n), (2.0, 3));
        let half = 4.302652729749464 / 3f64.sqrt();
        assert!(close(ci.low, 2.0 - half, 1e-12) && close(ci.high, 2.0 + half, 1e-12), "{ci:?}");
        assert_eq!(mean_ci(&[5.0, f64::NAN], 0.95), MeanCi { mean: 5.0, low: 5.0, high: 5.0, n: 1 });
        let empty = mean_ci(&[f64::NAN], 0.95);
        assert!(empty.mean.is_nan() && empty.low.is_nan() && empty.high.is_nan() && empty.n == 0);
        let equal = mean_ci(&[3.0, 3.0, 3.0], 0.95);
        assert_eq!((equal.low, equal.high), (3.0, 3.0));
        assert!(mean_ci(&[1.0, 2.0], 1.0).low.is_nan());
    }

    #[test]
    fn t_quantile_edges_and_symmetry() {
        assert_eq!(student_t_quantile(0.5, 3.0), 0.0);
        assert_eq!(student_t_quantile(1.0, 3.0), f64::INFINITY);
        assert_eq!(student_t_quantile(0.0, 3.0), f64::NEG_INFINITY);
        assert!(student_t_quantile(0.9, 0.0).is_nan());
        assert!(student_t_quantile(1.5, 3.0).is_nan());
        assert_eq!(student_t_quantile(0.1, 7.0), -student_t_quantile(0.9, 7.0));
        // df = 1 is the Cauchy distribution: t = tan(pi (p - 1/2)).
        let want = (std::f64::consts::PI * 0.475).tan();
        assert!(close(student_t_quantile(0.975, 1.0), want, 1e-12));
        // df = 2 has a closed form: t = (2p - 1) sqrt(2 / (4 p (1 - p))).
        let p = 0.95f64;
        let want = (2.0 * p - 1.0) * (2.0 / (4.0 * p * (1.0 - p))).sqrt();
        assert!(close(student_t_quantile(p, 2.0), want, 1e-12));
    }
}
