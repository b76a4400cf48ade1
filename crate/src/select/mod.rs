//! Subset selection: choose the benchmark items that matter.
//!
//! Every method sees only the training models' responses (or an IRT fit on
//! them), is deterministic for a seed, respects a budget in items or in cost
//! units, and can be stratified by item group. A subset carries one weight
//! per chosen item; weights sum to 1, so Σ wᵢ·xᵢ estimates the full-benchmark
//! mean score of a new model (for `irt-info`, whose items are not
//! representative, use an IRT estimator instead: see `estimate`).
//!
//! Methods:
//! - `random`: a uniform random sample.
//! - `stratified`: random within each group, groups in proportion to their size
//!   (largest-remainder allocation); weights undo the allocation's rounding.
//! - `irt-info`: the items with the most Fisher information, averaged over the
//!   training models' abilities (the classic adaptive-testing criterion).
//! - `irt-cluster`: tinyBenchmarks' anchors (Polo et al. 2024, ICML): k-means
//!   over the items' IRT parameters (a, b), the item nearest each centroid,
//!   weight = the cluster's share of items.
//! - `anchor-points`: Vivek et al. (2024, EACL): k-medoids over the distance
//!   1 − corr(xᵢ, xⱼ) between items' response vectors across training models,
//!   weight = the cluster's share of items.

mod cluster;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::irt::IrtFit;
use crate::matrix::ResponseMatrix;
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Random,
    Stratified,
    IrtInfo,
    IrtCluster,
    AnchorPoints,
}

impl Method {
    pub const ALL: [Method; 5] = [Method::Random, Method::Stratified, Method::IrtInfo, Method::IrtCluster, Method::AnchorPoints];

    pub fn parse(name: &str) -> Result<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name.trim()).ok_or_else(|| {
            Error::invalid(format!(
                "unknown method '{}': expected one of {}",
                crate::error::truncate(name, 30),
                Method::ALL.map(|m| m.as_str()).join(", ")
            ))
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Random => "random",
            Method::Stratified => "stratified",
            Method::IrtInfo => "irt-info",
            Method::IrtCluster => "irt-cluster",
            Method::AnchorPoints => "anchor-points",
        }
    }

    /// Whether the method needs an IRT fit of the training models.
    pub fn needs_irt(self) -> bool {
        matches!(self, Method::IrtInfo | Method::IrtCluster)
    }
}

/// How much may be selected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    Items(usize),
    /// Total cost, in the unit of the items file's `cost` column.
    Cost(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectOptions {
    pub method: Method,
    pub budget: Budget,
    pub seed: u64,
    /// Split the budget across item groups in proportion to their size.
    pub stratify: bool,
}

/// The chosen items (indices into the matrix's items) and their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Subset {
    pub method: Method,
    pub items: Vec<usize>,
    pub weights: Vec<f64>,
    /// Total cost of the chosen items, when items have costs.
    pub cost: Option<f64>,
}

/// What a selector may look at: the matrix, which models are training
/// models, and (for IRT methods) a fit on those models.
pub struct Context<'a> {
    pub matrix: &'a ResponseMatrix,
    pub train: &'a [usize],
    pub fit: Option<&'a IrtFit>,
}

/// Chooses a subset. Errors name what is wrong with the request.
pub fn select(ctx: &Context, options: &SelectOptions) -> Result<Subset> {
    let m = ctx.matrix;
    let n_items = m.n_items();
    if ctx.train.is_empty() {
        return Err(Error::invalid("no training models to select with"));
    }
    let costs = match options.budget {
        Budget::Items(n) => {
            if n == 0 {
                return Err(Error::invalid("the budget must be at least 1 item"));
            }
            if n > n_items {
                return Err(Error::invalid(format!("a budget of {n} items is more than the {n_items} items in the matrix")));
            }
            None
        }
        Budget::Cost(c) => {
            if !(c > 0.0) {
                return Err(Error::invalid("the cost budget must be positive"));
            }
            let cost = &m.items().cost;
            if cost.is_empty() {
                return Err(Error::invalid("a cost budget needs item costs: give an items file with a cost column"));
            }
            if let Some(i) = cost.iter().position(Option::is_none) {
                return Err(Error::invalid(format!("item '{}' has no cost", m.item_ids()[i])));
            }
            Some(cost.iter().map(|c| c.unwrap_or(0.0)).collect::<Vec<f64>>())
        }
    };
    if options.method.needs_irt() && ctx.fit.is_none() {
        return Err(Error::invalid(format!("the {} method needs an IRT fit", options.method.as_str())));
    }
    let strata: Vec<Vec<usize>> = if options.stratify || options.method == Method::Stratified {
        groups(m)
    } else {
        vec![(0..n_items).collect()]
    };
    let mut rng = Rng::new(options.seed);
    let total_items = n_items as f64;
    let allocation = allocate(&strata, options.budget, costs.as_deref(), n_items);
    let mut items = Vec::new();
    let mut weights = Vec::new();
    for (stratum, share) in strata.iter().zip(allocation) {
        if share.is_empty() {
            continue;
        }
        let (chosen, w) = select_within(ctx, options.method, stratum, share, costs.as_deref(), &mut rng)?;
        // Within-stratum weights sum to 1; the stratum stands for its share of all items.
        let scale = stratum.len() as f64 / total_items;
        items.extend(chosen);
        weights.extend(w.into_iter().map(|w| w * scale));
    }
    let total: f64 = weights.iter().sum();
    if total > 0.0 {
        weights.iter_mut().for_each(|w| *w /= total);
    }
    let cost = costs.map(|c| items.iter().map(|&i| c[i]).sum());
    Ok(Subset { method: options.method, items, weights, cost })
}

/// Item groups from the items file (items without one form their own group),
/// in order of first appearance. No metadata: one group.
fn groups(m: &ResponseMatrix) -> Vec<Vec<usize>> {
    let group = &m.items().group;
    if group.is_empty() {
        return vec![(0..m.n_items()).collect()];
    }
    let mut names: Vec<Option<&str>> = Vec::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, g) in group.iter().enumerate() {
        let key = g.as_deref();
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

/// A stratum's part of the budget.
#[derive(Debug, Clone, Copy)]
enum Share {
    Items(usize),
    Cost(f64),
}

impl Share {
    fn is_empty(&self) -> bool {
        match *self {
            Share::Items(n) => n == 0,
            Share::Cost(c) => c <= 0.0,
        }
    }
}

/// Largest-remainder allocation of the budget in proportion to stratum size.
fn allocate(strata: &[Vec<usize>], budget: Budget, costs: Option<&[f64]>, n_items: usize) -> Vec<Share> {
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

/// Runs one method on a stratum; returns chosen items and weights summing to 1.
fn select_within(
    ctx: &Context,
    method: Method,
    stratum: &[usize],
    share: Share,
    costs: Option<&[f64]>,
    rng: &mut Rng,
) -> Result<(Vec<usize>, Vec<f64>)> {
    let k = match share {
        Share::Items(n) => n.min(stratum.len()),
        // Clusters: as many as the average item cost allows; trimmed below.
        Share::Cost(c) => {
            let mean_cost = stratum.iter().map(|&i| costs.map_or(1.0, |cs| cs[i])).sum::<f64>() / stratum.len() as f64;
            ((c / mean_cost.max(1e-12)).floor() as usize).clamp(1, stratum.len())
        }
    };
    let (items, weights) = match method {
        Method::Random | Method::Stratified => {
            let mut order = stratum.to_vec();
            rng.shuffle(&mut order);
            let chosen = take_within_budget(&order, share, costs);
            let w = vec![1.0 / chosen.len().max(1) as f64; chosen.len()];
            (chosen, w)
        }
        Method::IrtInfo => {
            let fit = ctx.fit.expect("checked by select");
            let info = integrated_information(fit, stratum);
            let mut order: Vec<usize> = (0..stratum.len()).collect();
            // Most informative first (per unit cost under a cost budget); ties by index.
            let value = |p: usize| info[p] / costs.map_or(1.0, |c| c[stratum[p]].max(1e-12));
            order.sort_by(|&a, &b| value(b).total_cmp(&value(a)).then(a.cmp(&b)));
            let ordered: Vec<usize> = order.into_iter().map(|p| stratum[p]).collect();
            let chosen = take_within_budget(&ordered, share, costs);
            let w = vec![1.0 / chosen.len().max(1) as f64; chosen.len()];
            (chosen, w)
        }
        Method::IrtCluster => {
            let fit = ctx.fit.expect("checked by select");
            let features: Vec<Vec<f64>> = stratum.iter().map(|&i| vec![fit.items[i].a, fit.items[i].b]).collect();
            let clusters = cluster::k_means(&features, k, rng);
            cluster_subset(stratum, &clusters, share, costs)
        }
        Method::AnchorPoints => {
            let vectors = cluster::standardized_responses(ctx.matrix, ctx.train, stratum);
            let clusters = cluster::k_medoids_correlation(&vectors, k, rng);
            cluster_subset(stratum, &clusters, share, costs)
        }
    };
    Ok((items, weights))
}

/// Items in `order` until the share is used up.
fn take_within_budget(order: &[usize], share: Share, costs: Option<&[f64]>) -> Vec<usize> {
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

/// Representatives and weights from a clustering; under a cost budget the
/// smallest clusters are dropped until the representatives fit.
fn cluster_subset(stratum: &[usize], clusters: &cluster::Clustering, share: Share, costs: Option<&[f64]>) -> (Vec<usize>, Vec<f64>) {
    let mut reps: Vec<(usize, f64)> =
        clusters.medoids.iter().zip(&clusters.sizes).map(|(&p, &s)| (stratum[p], s as f64)).collect();
    if let (Share::Cost(c), Some(cs)) = (share, costs) {
        reps.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        while reps.len() > 1 && reps.iter().map(|r| cs[r.0]).sum::<f64>() > c + 1e-9 {
            reps.pop();
        }
    }
    let total: f64 = reps.iter().map(|r| r.1).sum();
    reps.into_iter().map(|(i, s)| (i, s / total)).unzip()
}

/// Fisher information of each stratum item, averaged over the training
/// models' abilities in the fit.
fn integrated_information(fit: &IrtFit, stratum: &[usize]) -> Vec<f64> {
    let family = fit.model.family();
    let thetas = &fit.theta;
    stratum
        .iter()
        .map(|&i| thetas.iter().map(|&t| fit.items[i].information(t, family)).sum::<f64>() / thetas.len().max(1) as f64)
        .collect()
}
