//! How much may be selected, and how a budget is split over strata (item
//! groups, difficulty bins) and spent within each.

use crate::matrix::ResponseMatrix;

/// How much may be selected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    Items(usize),
    /// Total cost, in the unit of the items file's `cost` column.
    Cost(f64),
}

/// Each item's mean score over the training models' observed cells (NaN
/// when none of them answered it).
pub(crate) fn training_means(m: &ResponseMatrix, train: &[usize]) -> Vec<f64> {
    (0..m.n_items())
        .map(|i| {
            let (sum, n) = train.iter().filter_map(|&j| m.get(j, i)).fold((0.0, 0usize), |(s, n), x| (s + x as f64, n + 1));
            if n > 0 { sum / n as f64 } else { f64::NAN }
        })
        .collect()
}

/// `stratum` cut into `bins` runs of consecutive items in order of their
/// training mean (ties and unanswered items — NaN, last — by index), sizes
/// differing by at most one.
///
/// Why: a method that ranks items by what separates models (metric-var,
/// metric-cons, metabench's information) takes them from the middle of the
/// difficulty range, so the items it leaves out are the easy and the hard
/// ones and no line through the subset mean recovers them well: on
/// AlpacaEval at 400 of 805 prompts metric-var's best estimate errs 0.0075
/// against random's 0.0062. Bins by difficulty keep every level of the
/// benchmark in the subset in proportion, and the method still picks the
/// items it prefers within each level (ARCHITECTURE.md, decision 41).
pub fn difficulty_bins(stratum: &[usize], means: &[f64], bins: usize) -> Vec<Vec<usize>> {
    let mut order = stratum.to_vec();
    order.sort_by(|&a, &b| means[a].total_cmp(&means[b]).then(a.cmp(&b)));
    let bins = bins.clamp(1, order.len().max(1));
    let n = order.len();
    (0..bins).map(|k| order[k * n / bins..(k + 1) * n / bins].to_vec()).filter(|b| !b.is_empty()).collect()
}

/// Item groups from the items file (items without one form their own group),
/// in order of first appearance. No metadata: one group.
pub(crate) fn groups(m: &ResponseMatrix) -> Vec<Vec<usize>> {
    let all: Vec<usize> = (0..m.n_items()).collect();
    group_by(&m.items().group, &all)
}

/// `items` split by `labels` (an empty label list: one group), groups in
/// order of first appearance.
fn group_by(labels: &[Option<String>], items: &[usize]) -> Vec<Vec<usize>> {
    if labels.is_empty() {
        return vec![items.to_vec()];
    }
    let mut names: Vec<Option<&str>> = Vec::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for &i in items {
        let key = labels[i].as_deref();
        match names.iter().position(|n| *n == key) {
            Some(k) => out[k].push(i),
            None => {
                names.push(key);
                out.push(vec![i]);
            }
        }
    }
    out
}

/// The strata of `--stratify`: each group, split by subgroup where the items
/// file has both levels (task, then subject); each stratum with the index of
/// the group it belongs to, so that the budget is split over groups first
/// and over each group's subgroups after (see [`allocate_nested`]).
pub(crate) fn nested_groups(m: &ResponseMatrix) -> Vec<(Vec<usize>, usize)> {
    groups(m).into_iter().enumerate().flat_map(|(g, items)| group_by(&m.items().subgroup, &items).into_iter().map(move |s| (s, g))).collect()
}

/// A stratum's part of the budget.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Share {
    Items(usize),
    Cost(f64),
}

impl Share {
    pub(crate) fn is_empty(&self) -> bool {
        match *self {
            Share::Items(n) => n == 0,
            Share::Cost(c) => c <= 0.0,
        }
    }
}

/// Largest-remainder allocation of the budget in proportion to stratum size.
pub(crate) fn allocate(strata: &[Vec<usize>], budget: Budget, costs: Option<&[f64]>, n_items: usize) -> Vec<Share> {
    match budget {
        Budget::Cost(c) => {
            let total_cost: f64 = costs.map_or(0.0, |c| c.iter().sum());
            strata
                .iter()
                .map(|s| {
                    let sc: f64 = costs.map_or(0.0, |cs| s.iter().map(|&i| cs[i]).sum());
                    Share::Cost(if total_cost > 0.0 { c * sc / total_cost } else { 0.0 })
                })
                .collect()
        }
        Budget::Items(n) => {
            let exact: Vec<f64> = strata.iter().map(|s| n as f64 * s.len() as f64 / n_items as f64).collect();
            let mut counts: Vec<usize> = exact.iter().zip(strata).map(|(e, s)| (e.floor() as usize).min(s.len())).collect();
            let mut left = n - counts.iter().sum::<usize>();
            let mut order: Vec<usize> = (0..strata.len()).collect();
            order.sort_by(|&a, &b| {
                let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
                rb.total_cmp(&ra).then(a.cmp(&b))
            });
            while left > 0 {
                let before = left;
                for &k in &order {
                    if left > 0 && counts[k] < strata[k].len() {
                        counts[k] += 1;
                        left -= 1;
                    }
                }
                if left == before {
                    break;
                }
            }
            counts.into_iter().map(Share::Items).collect()
        }
    }
}

/// The budget split over `strata` in two steps: over the groups that
/// `parents` names (each the union of its strata) in proportion to their
/// size, then each group's part over its own strata. With one stratum per
/// group this is [`allocate`]; with several (subjects within a task, or
/// difficulty bins within a group) every group still gets its proportional
/// share, which one flat allocation over all strata can miss by as many
/// items as the group has strata.
pub(crate) fn allocate_nested(strata: &[Vec<usize>], parents: &[usize], budget: Budget, costs: Option<&[f64]>, n_items: usize) -> Vec<Share> {
    let mut order: Vec<usize> = Vec::new();
    for &p in parents {
        if !order.contains(&p) {
            order.push(p);
        }
    }
    let members: Vec<Vec<usize>> = order.iter().map(|&p| (0..strata.len()).filter(|&s| parents[s] == p).collect()).collect();
    let tops: Vec<Vec<usize>> = members.iter().map(|ms| ms.iter().flat_map(|&s| strata[s].iter().copied()).collect()).collect();
    let mut out = vec![Share::Items(0); strata.len()];
    for (top, share) in members.iter().zip(allocate(&tops, budget, costs, n_items)) {
        let inner_budget = match share {
            Share::Items(n) => Budget::Items(n),
            Share::Cost(c) => Budget::Cost(c),
        };
        let inner: Vec<Vec<usize>> = top.iter().map(|&s| strata[s].clone()).collect();
        let size: usize = inner.iter().map(Vec::len).sum();
        let total_cost: f64 = top.iter().flat_map(|&s| strata[s].iter()).map(|&i| costs.map_or(0.0, |c| c[i])).sum();
        let shares = match inner_budget {
            Budget::Items(_) => allocate(&inner, inner_budget, costs, size),
            // A group's cost share over its strata, in proportion to their cost.
            Budget::Cost(c) => inner
                .iter()
                .map(|s| {
                    let sc: f64 = costs.map_or(0.0, |cs| s.iter().map(|&i| cs[i]).sum());
                    Share::Cost(if total_cost > 0.0 { c * sc / total_cost } else { 0.0 })
                })
                .collect(),
        };
        for (&s, sh) in top.iter().zip(shares) {
            out[s] = sh;
        }
    }
    out
}

/// Items in `order` until the share is used up.
pub(crate) fn take_within_budget(order: &[usize], share: Share, costs: Option<&[f64]>) -> Vec<usize> {
    match share {
        Share::Items(n) => order.iter().take(n).copied().collect(),
        Share::Cost(c) => {
            let mut spent = 0.0;
            let mut out = Vec::new();
            for &i in order {
                let ci = costs.map_or(1.0, |cs| cs[i]);
                if spent + ci <= c + 1e-9 {
                    spent += ci;
                    out.push(i);
                }
            }
            out
        }
    }
}
