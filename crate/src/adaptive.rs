//! Adaptive testing over a fitted item bank: a new model answers one item
//! (or a batch) at a time, each next item the most informative at its
//! current ability estimate, until its score is known well enough.
//!
//! Computerised adaptive testing (Weiss 1982; van der Linden & Glas 2010)
//! as Fluid Benchmarking (Hofmann et al. 2025) applies it to language
//! models: the bank is a one-dimensional IRT fit of earlier models (1PL–4PL
//! or Beta); after every answer θ is re-estimated — EAP under the fit's
//! N(0, 1) prior on a fixed grid, or MAP — and the next items are those of
//! maximum Fisher information at that θ, with the options CAT users expect:
//! content balancing over item groups (each group kept at its share of the
//! bank), randomesque exposure control (a seeded draw among the n most
//! informative), excluded items, and a start rule for the first batch.
//! The full-benchmark score is the `irt` or `pirt` estimate at θ (see
//! `estimate`), with its 95% interval. Stop rules: a target SE of θ, a
//! target half-width of the score's interval, a maximum number of items,
//! or a θ that moved less than a tolerance over the last batch.
//!
//! A session's next items depend only on the fit, the options and the
//! answers in order (the randomesque draw is seeded by the seed and the
//! number of items taken so far), so a test run in rounds — the CLI reads
//! the answers so far each time — picks the same items as one run in a
//! single process, natively and in wasm alike.

use serde::Serialize;

use crate::error::{Error, Result, truncate};
use crate::estimate::{Estimate, Estimator, estimate_at_theta};
use crate::irt::scoring::{self, ThetaEstimate, ThetaMethod};
use crate::irt::{Family, IrtFit};
use crate::math::exp;
use crate::rng::Rng;

/// What the first batch is chosen by, before any answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartRule {
    /// The most informative items at the prior mean θ = 0.
    Information,
    /// The items whose difficulty is nearest the bank's median difficulty.
    Median,
}

impl StartRule {
    pub fn parse(name: &str) -> Result<StartRule> {
        match name.trim() {
            "information" => Ok(StartRule::Information),
            "median" => Ok(StartRule::Median),
            other => Err(Error::invalid(format!("unknown start rule '{}': expected information or median", truncate(other, 30)))),
        }
    }
}

/// When a test stops; every rule left `None` is off. With none at all a test
/// runs until the bank is exhausted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StopRules {
    /// Stop once θ's standard error is at most this.
    pub target_se: Option<f64>,
    /// Stop once the full score's 95% interval is at most ± this (on the
    /// scores' scale).
    pub target_half_width: Option<f64>,
    /// Stop after this many items.
    pub max_items: Option<usize>,
    /// Stop once θ moved by less than this over the last batch.
    pub min_change: Option<f64>,
}

/// Why a test stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    TargetSe,
    TargetHalfWidth,
    NoChange,
    MaxItems,
    /// Every item the test may use was answered (or skipped).
    BankExhausted,
}

#[derive(Debug, Clone)]
pub struct AdaptiveOptions {
    /// EAP or MAP (MLE has no finite estimate after all-correct answers).
    pub theta: ThetaMethod,
    /// `irt` or `pirt`: the full score at θ.
    pub estimator: Estimator,
    /// Items per round (the no-change rule compares θ one batch apart).
    pub batch: usize,
    /// Draw each item among this many of the most informative (1: the most informative).
    pub randomesque: usize,
    /// The share of items drawn at random from the bank instead (evenly
    /// spaced through the test): their residuals correct pirt's
    /// predictions, so a model the IRT fit describes badly is still
    /// estimated without bias (see `estimate::estimate_at_theta`).
    pub explore: f64,
    pub seed: u64,
    pub start: StartRule,
    pub stop: StopRules,
}

impl Default for AdaptiveOptions {
    fn default() -> Self {
        AdaptiveOptions {
            theta: ThetaMethod::Eap,
            estimator: Estimator::Pirt,
            batch: 1,
            randomesque: 1,
            explore: 0.0,
            seed: 0,
            start: StartRule::Information,
            stop: StopRules::default(),
        }
    }
}

/// Where a test stands after some answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdaptiveState {
    pub items_used: usize,
    pub theta: f64,
    pub se: f64,
    /// The full-benchmark score with its 95% interval.
    pub score: Estimate,
    /// Why the test stopped, once a stop rule holds.
    pub stopped: Option<StopReason>,
}

/// An item the test asks for next, with its information at the current θ
/// (for the start rule `median`, at the prior mean).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pick {
    pub item: usize,
    pub information: f64,
}

/// Content balancing: each item's group and each group's share of the
/// items the test may use.
#[derive(Debug, Clone)]
struct Groups {
    of_item: Vec<usize>,
    share: Vec<f64>,
}

/// The fixed θ grid of the EAP posterior: wide enough for any leaderboard
/// (the bound of MAP and MLE), fine enough that a posterior a few
/// hundredths wide is still integrated exactly in practice (a Riemann sum of
/// a smooth density is accurate to e^(−2π²σ²/h²)). Narrower posteriors
/// (tens of thousands of answers) are integrated by adaptive quadrature.
const GRID_BOUND: f64 = scoring::THETA_BOUND;
const GRID_STEP: f64 = 0.02;

fn grid() -> impl Iterator<Item = f64> {
    let n = (2.0 * GRID_BOUND / GRID_STEP).round() as usize;
    (0..=n).map(|k| -GRID_BOUND + k as f64 * GRID_STEP)
}

/// One model's adaptive test. See the module documentation.
#[derive(Debug, Clone)]
pub struct AdaptiveTest<'a> {
    fit: &'a IrtFit,
    family: Family,
    options: AdaptiveOptions,
    /// Items the test may ask (not excluded, not skipped, not answered).
    available: Vec<bool>,
    groups: Option<Groups>,
    /// Answers in order: (item, raw score), and the same on the fit's unit scale.
    answers: Vec<(usize, f64)>,
    /// Per answer, whether its item was drawn at random (see [`AdaptiveOptions::explore`]).
    explored: Vec<bool>,
    unit_answers: Vec<(usize, f64)>,
    /// Items taken per group (answered or skipped), for content balancing.
    taken_per_group: Vec<usize>,
    /// Items taken (answered or skipped): the randomesque draw's counter.
    taken: usize,
    /// ln prior + ln likelihood on the grid (EAP).
    log_posterior: Vec<f64>,
    /// The state before any answer, then after each.
    history: Vec<AdaptiveState>,
}

impl<'a> AdaptiveTest<'a> {
    /// A test over `fit`'s items. `groups` (one per item, `None` for none)
    /// turns on content balancing; `excluded` items are never asked.
    pub fn new(fit: &'a IrtFit, options: AdaptiveOptions, groups: Option<&[Option<String>]>, excluded: &[usize]) -> Result<AdaptiveTest<'a>> {
        if let Some(multi) = &fit.multi {
            return Err(Error::invalid(format!(
                "adaptive testing needs a one-dimensional fit (item information along one θ); this fit has {} dimensions: refit with dims 1",
                multi.dims
            )));
        }
        if options.theta == ThetaMethod::Mle {
            return Err(Error::invalid("adaptive testing scores θ by eap or map: mle has no finite estimate until a model has both right and wrong answers"));
        }
        if !matches!(options.estimator, Estimator::Irt | Estimator::Pirt) {
            return Err(Error::invalid(format!(
                "adaptive testing estimates the full score by irt or pirt, not {}: its items differ per model, so the subset estimators do not apply",
                options.estimator.as_str()
            )));
        }
        if !(0.0..1.0).contains(&options.explore) {
            return Err(Error::invalid(format!("the share of random items must be at least 0 and below 1, not {}", options.explore)));
        }
        if options.batch == 0 || options.randomesque == 0 {
            return Err(Error::invalid("the batch size and the randomesque pool must be at least 1"));
        }
        for (name, v) in
            [("target SE", options.stop.target_se), ("target half-width", options.stop.target_half_width), ("minimum change", options.stop.min_change)]
        {
            if v.is_some_and(|v| !(v > 0.0 && v.is_finite())) {
                return Err(Error::invalid(format!("the {name} must be a positive number")));
            }
        }
        if options.stop.max_items == Some(0) {
            return Err(Error::invalid("the maximum number of items must be at least 1"));
        }
        let n = fit.items.len();
        let mut available = vec![true; n];
        for &i in excluded {
            if i >= n {
                return Err(Error::invalid(format!("excluded item {i} is not one of the fit's {n} items")));
            }
            available[i] = false;
        }
        if !available.iter().any(|&a| a) {
            return Err(Error::invalid(format!("every one of the fit's {n} items is excluded: nothing is left to ask")));
        }
        let groups = match groups {
            None => None,
            Some(g) if g.len() != n => return Err(Error::invalid(format!("{} item groups for the fit's {n} items", g.len()))),
            Some(g) => Some(balance_groups(g, &available)),
        };
        let taken_per_group = vec![0; groups.as_ref().map_or(0, |g| g.share.len())];
        let log_posterior = grid().map(|t| -0.5 * t * t).collect();
        let mut test = AdaptiveTest {
            fit,
            family: fit.model.family(),
            options,
            available,
            groups,
            answers: Vec::new(),
            explored: Vec::new(),
            unit_answers: Vec::new(),
            taken_per_group,
            taken: 0,
            log_posterior,
            history: Vec::new(),
        };
        let first = test.assess(ThetaEstimate { theta: 0.0, se: 1.0 });
        test.history.push(first);
        Ok(test)
    }

    /// The current state.
    pub fn state(&self) -> AdaptiveState {
        *self.history.last().expect("a test has its starting state")
    }

    /// The state before any answer, then after each answer, in order.
    pub fn history(&self) -> &[AdaptiveState] {
        &self.history
    }

    /// The answers so far: (item, raw score), in order.
    pub fn answers(&self) -> &[(usize, f64)] {
        &self.answers
    }

    /// Of the first `n` answers, those to items drawn at random.
    pub fn explored(&self, n: usize) -> Vec<(usize, f64)> {
        self.answers[..n].iter().zip(&self.explored).filter(|&(_, &e)| e).map(|(a, _)| *a).collect()
    }

    pub fn options(&self) -> &AdaptiveOptions {
        &self.options
    }

    /// Records the answer to `item` (a raw score, as in the response
    /// matrix the fit was made on) and re-estimates θ.
    pub fn record(&mut self, item: usize, score: f64) -> Result<AdaptiveState> {
        let ids = &self.fit.item_ids;
        let name = |i: usize| truncate(&ids[i], 60);
        if item >= ids.len() {
            return Err(Error::invalid(format!("item {item} is not one of the fit's {} items", ids.len())));
        }
        if self.answers.iter().any(|a| a.0 == item) {
            return Err(Error::invalid(format!("item '{}' was answered already", name(item))));
        }
        if !self.available[item] {
            return Err(Error::invalid(format!("item '{}' is excluded from this test (or was skipped)", name(item))));
        }
        if !score.is_finite() {
            return Err(Error::invalid(format!("the score of item '{}' is not a number", name(item))));
        }
        let unit = self.fit.scale.map_or(score, |s| s.apply(score));
        if !(0.0..=1.0).contains(&unit) {
            return Err(Error::invalid(format!(
                "the score {score} of item '{}' is outside the range of the fit's scores ([0, 1]{})",
                name(item),
                if self.fit.scale.is_some() { " after its scaling" } else { "" }
            )));
        }
        self.explored.push(self.is_exploration(self.taken));
        self.take(item);
        self.answers.push((item, score));
        self.unit_answers.push((item, unit));
        let params = self.fit.items[item];
        for (lp, t) in self.log_posterior.iter_mut().zip(grid()) {
            *lp += params.log_likelihood(t, unit, self.family);
        }
        let theta = self.theta();
        let state = self.assess(theta);
        self.history.push(state);
        Ok(state)
    }

    /// Marks `item` as one the test will not ask (the model could not be
    /// run on it, or a replayed model has no response there); θ is unchanged.
    pub fn skip(&mut self, item: usize) {
        if item < self.available.len() && self.available[item] {
            self.take(item);
            // The bank may be exhausted now.
            let now = self.state();
            let state = self.assess(ThetaEstimate { theta: now.theta, se: now.se });
            *self.history.last_mut().expect("a test has its starting state") = state;
        }
    }

    /// Whether the item taken `k`-th (from 0: answered or skipped) is drawn
    /// at random: `explore` of them, evenly spaced.
    fn is_exploration(&self, k: usize) -> bool {
        let e = self.options.explore;
        e > 0.0 && ((k + 1) as f64 * e).floor() > (k as f64 * e).floor()
    }

    /// One of `pool` (best first): the best, or with randomesque a seeded draw.
    fn draw(&self, pool: &[usize], counter: u64) -> usize {
        if pool.len() == 1 { pool[0] } else { pool[Rng::new(self.options.seed ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)).below(pool.len())] }
    }

    fn take(&mut self, item: usize) {
        self.available[item] = false;
        self.taken += 1;
        if let Some(g) = &self.groups {
            self.taken_per_group[g.of_item[item]] += 1;
        }
    }

    /// The next items to ask: up to `k`, fewer when the bank or the item
    /// limit runs out, none once the test has stopped.
    pub fn next(&self, k: usize) -> Vec<Pick> {
        let state = self.state();
        if state.stopped.is_some() {
            return Vec::new();
        }
        let room = self.options.stop.max_items.map_or(usize::MAX, |m| m.saturating_sub(self.answers.len()));
        let k = k.min(room);
        let theta = if self.answers.is_empty() { 0.0 } else { state.theta };
        let information: Vec<f64> = self.fit.items.iter().map(|p| p.information(theta, self.family)).collect();
        // What ranks the candidates: information, or for a median start the
        // closeness of an item's difficulty to the median.
        let rank: Vec<f64> = if self.answers.is_empty() && self.options.start == StartRule::Median {
            let median = median_difficulty(self.fit, &self.available);
            self.fit.items.iter().map(|p| -(p.b - median).abs()).collect()
        } else {
            information.clone()
        };
        let mut available = self.available.clone();
        let mut per_group = self.taken_per_group.clone();
        let mut picks = Vec::with_capacity(k);
        for position in 0..k {
            let group = self.groups.as_ref().and_then(|g| neediest_group(g, &available, &per_group));
            let in_group = |i: usize| group.is_none_or(|gr| self.groups.as_ref().is_some_and(|g| g.of_item[i] == gr));
            let counter = (self.taken + position) as u64;
            let item = if self.is_exploration(self.taken + position) {
                // Uniform over what is left (in the group, when balancing).
                let pool: Vec<usize> = (0..available.len()).filter(|&i| available[i] && in_group(i)).collect();
                if pool.is_empty() {
                    break;
                }
                pool[Rng::new(self.options.seed ^ 0xE4B1_04E5 ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)).below(pool.len())]
            } else {
                let pool = top_n(&rank, self.options.randomesque, |i| available[i] && in_group(i));
                if pool.is_empty() {
                    break;
                }
                self.draw(&pool, counter)
            };
            available[item] = false;
            if let (Some(g), Some(gr)) = (&self.groups, group) {
                debug_assert_eq!(g.of_item[item], gr);
                per_group[gr] += 1;
            }
            picks.push(Pick { item, information: information[item] });
        }
        picks
    }

    fn theta(&self) -> ThetaEstimate {
        let items = &self.fit.items;
        match self.options.theta {
            ThetaMethod::Map => scoring::map_from(items, self.family, &self.unit_answers, self.state().theta),
            _ => {
                let max = self.log_posterior.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let (mut w, mut m1, mut m2) = (0.0, 0.0, 0.0);
                for (lp, t) in self.log_posterior.iter().zip(grid()) {
                    let p = exp(lp - max);
                    w += p;
                    m1 += p * t;
                    m2 += p * t * t;
                }
                let mean = m1 / w;
                let sd = (m2 / w - mean * mean).max(0.0).sqrt();
                if sd < 2.0 * GRID_STEP {
                    scoring::estimate_theta(items, self.family, &self.unit_answers, ThetaMethod::Eap)
                } else {
                    ThetaEstimate { theta: mean, se: sd }
                }
            }
        }
    }

    /// The state at `theta`: the score and whether a stop rule holds.
    fn assess(&self, theta: ThetaEstimate) -> AdaptiveState {
        let plug = self.options.estimator == Estimator::Pirt;
        let score = estimate_at_theta(self.fit, theta, &self.answers, plug, None, &self.explored(self.answers.len()));
        let used = self.answers.len();
        let rules = self.options.stop;
        let half = (score.high - score.low) / 2.0;
        let moved = |tolerance: f64| {
            let batch = self.options.batch;
            // θ one batch ago: `history` holds the states after 0..used−1 answers.
            used > batch && self.history.get(used - batch).is_some_and(|then| (theta.theta - then.theta).abs() < tolerance)
        };
        let stopped = if used > 0 && rules.target_se.is_some_and(|t| theta.se <= t) {
            Some(StopReason::TargetSe)
        } else if used > 0 && rules.target_half_width.is_some_and(|t| half <= t) {
            Some(StopReason::TargetHalfWidth)
        } else if rules.min_change.is_some_and(moved) {
            Some(StopReason::NoChange)
        } else if rules.max_items.is_some_and(|m| used >= m) {
            Some(StopReason::MaxItems)
        } else if !self.available.iter().any(|&a| a) {
            Some(StopReason::BankExhausted)
        } else {
            None
        };
        AdaptiveState { items_used: used, theta: theta.theta, se: theta.se, score, stopped }
    }
}

/// Groups numbered in order of first appearance; items without one share a
/// group of their own. Shares are of the items the test may use.
fn balance_groups(groups: &[Option<String>], available: &[bool]) -> Groups {
    let mut names: Vec<Option<&str>> = Vec::new();
    let of_item: Vec<usize> = groups
        .iter()
        .map(|g| {
            let g = g.as_deref();
            names.iter().position(|n| *n == g).unwrap_or_else(|| {
                names.push(g);
                names.len() - 1
            })
        })
        .collect();
    let mut count = vec![0usize; names.len()];
    for (i, &g) in of_item.iter().enumerate() {
        count[g] += usize::from(available[i]);
    }
    let total = count.iter().sum::<usize>().max(1) as f64;
    Groups { of_item, share: count.iter().map(|&c| c as f64 / total).collect() }
}

/// The group furthest below its share after one more item: the largest
/// share·(taken + 1) − taken in the group, among groups with an item left
/// (ties to the earlier group). `None` when no group has one.
fn neediest_group(groups: &Groups, available: &[bool], taken: &[usize]) -> Option<usize> {
    let mut left = vec![false; groups.share.len()];
    for (i, &g) in groups.of_item.iter().enumerate() {
        left[g] |= available[i];
    }
    let total: usize = taken.iter().sum();
    (0..groups.share.len()).filter(|&g| left[g]).max_by(|&a, &b| {
        let need = |g: usize| groups.share[g] * (total + 1) as f64 - taken[g] as f64;
        need(a).total_cmp(&need(b)).then(b.cmp(&a))
    })
}

/// The `n` highest-ranked items that pass `keep`, best first (ties to the
/// lower index).
fn top_n(rank: &[f64], n: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut best: Vec<usize> = Vec::with_capacity(n + 1);
    for i in (0..rank.len()).filter(|&i| keep(i)) {
        let r = if rank[i].is_nan() { f64::NEG_INFINITY } else { rank[i] };
        let at = best.iter().position(|&j| r > rank[j]).unwrap_or(best.len());
        if at < n {
            best.insert(at, i);
            best.truncate(n);
        }
    }
    best
}

fn median_difficulty(fit: &IrtFit, available: &[bool]) -> f64 {
    let mut b: Vec<f64> = fit.items.iter().zip(available).filter(|&(_, &a)| a).map(|(p, _)| p.b).collect();
    b.sort_by(f64::total_cmp);
    if b.is_empty() { 0.0 } else { b[b.len() / 2] }
}

/// Replays a model whose answers are known (`score(item)`, `None` where it
/// has none) through a test until it stops, skipping items it has no answer
/// to; returns the test.
pub fn replay<'a>(test: AdaptiveTest<'a>, score: impl Fn(usize) -> Option<f64>) -> Result<AdaptiveTest<'a>> {
    replay_until(test, score, |_| false)
}

/// [`replay`], stopping early too once `done` holds for the state.
pub fn replay_until<'a>(mut test: AdaptiveTest<'a>, score: impl Fn(usize) -> Option<f64>, done: impl Fn(&AdaptiveState) -> bool) -> Result<AdaptiveTest<'a>> {
    let batch = test.options.batch;
    loop {
        let picks = if done(&test.state()) { Vec::new() } else { test.next(batch) };
        if picks.is_empty() {
            return Ok(test);
        }
        for p in picks {
            match score(p.item) {
                Some(x) => {
                    test.record(p.item, x)?;
                }
                None => test.skip(p.item),
            }
        }
    }
}

#[cfg(test)]
mod tests;
