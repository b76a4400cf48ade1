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
//!   weight = the cluster's share of items. With a D-dimensional fit the
//!   features are (a₁..a_D, −d), tinyBenchmarks' (α, β) of σ(αᵀθ − β).
//! - `anchor-points`: Vivek et al. (2024, EACL): k-medoids over the distance
//!   1 − corr(xᵢ, xⱼ) between items' response vectors across training models,
//!   weight = the cluster's share of items.
//! - `metric-avg`, `metric-var`, `metric-cons`, `diversity`: subset2evaluate's
//!   utilities (Zouhar et al. 2025), over an automatic metric's scores or the
//!   training models' own; see [`metric`].
//! - `metric-balance`: greedy moment matching of the models' per-item
//!   differences under an ensemble of automatic metrics; see [`balance`].
//! - `kcenter`, `dpp`: items that cover the item-embedding space; see
//!   [`diversity`].
//! - `metabench`: near-constant and non-discriminating items dropped, then
//!   penalised greedy log-information selection (after Kipnis et al. 2024);
//!   see [`metabench`].
pub mod balance;
pub mod budget;
pub(crate) mod cluster;
pub mod diversity;
pub(crate) mod forward;
pub mod guard;
pub mod metabench;
pub mod method;
pub mod metric;
pub mod reliability;
pub mod side;
pub mod subset;
use crate::error::{Error, Result};
use crate::irt::IrtFit;
use crate::matrix::ResponseMatrix;
use crate::rng::Rng;
#[cfg(test)]
use budget::allocate;
pub use budget::{Budget, difficulty_bins};
use budget::{Share, allocate_nested, nested_groups, take_within_budget, training_means};
pub use diversity::ItemVectors;
pub use method::Method;
pub use metric::{MetricScores, Outputs};
pub use side::{Side, SideData, item_vectors};
#[derive(Debug, Clone, PartialEq)]
pub struct SelectOptions {
    pub method: Method,
    pub budget: Budget,
    pub seed: u64,
    /// Split the budget across item groups in proportion to their size.
    pub stratify: bool,
    /// Split each group (or the whole benchmark) into this many bins of
    /// equal size by the items' mean score over the training models, and the
    /// budget across the bins in proportion to their size (0 or 1: off); at
    /// most one bin per budgeted item. See [`difficulty_bins`].
    pub difficulty_strata: usize,
    /// Cross-validate the method against random subsets on the training
    /// models and fall back to a random subset where it predicts worse (see
    /// [`guard`]). [`select`] itself ignores it: [`select_subset_with`] and
    /// `evaluate` run the guard, which needs fits on parts of the models.
    pub guard: bool,
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

/// Convergence tolerance (largest change of any unconstrained item parameter
/// per EM step) of the IRT fits made *for* selection and evaluation, looser
/// than `benchsift fit`'s 1e-4. On MMLU-Pro (29 × 12,032, 2PL) it stops after
/// 40 instead of 125 iterations, 3× sooner, with every b within 1.5e-3, a within
/// 3e-4 and θ within 1e-6 of the tight fit and the log-likelihood within 0.003
/// — far below the parameters' standard errors, so the chosen items and the
/// estimates do not change in substance. A user who wants the tight fit runs
/// `benchsift fit` and passes it to `estimate`.
pub const SELECTION_FIT_TOLERANCE: f64 = 3e-3;

/// What a selector may look at: the matrix, which models are training
/// models, and (for IRT methods) a fit on those models.
pub struct Context<'a> {
    pub matrix: &'a ResponseMatrix,
    pub train: &'a [usize],
    pub fit: Option<&'a IrtFit>,
    /// Every item's correlation distances over `train` (see
    /// [`anchor_space`]); computed on demand when absent. Evaluations pass
    /// them in so that many selections on one split share the work.
    pub anchor_space: Option<&'a CorrelationSpace>,
    pub side: Side<'a>,
    /// Each model's full score (matrix rows), for `forward-selection`;
    /// `None`: its mean over all items.
    pub target: Option<&'a [f64]>,
}

pub use cluster::CorrelationSpace;
/// Every item's standardised response vector over the training models, and
/// their correlation distances, for `anchor-points`.
pub fn anchor_space(m: &ResponseMatrix, train: &[usize]) -> CorrelationSpace {
    let all: Vec<usize> = (0..m.n_items()).collect();
    CorrelationSpace::new(cluster::standardized_responses(m, train, &all))
}

/// Chooses a subset. Errors name what is wrong with the request.
pub fn select(ctx: &Context, options: &SelectOptions) -> Result<Subset> {
    let m = ctx.matrix;
    let n_items = m.n_items();
    if options.method == Method::Adaptive {
        return Err(not_a_subset());
    }
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
    // Strata: the item groups (task, then subject within it where the items
    // file has both), or all items. Each stratum keeps the group it was cut
    // from (`scopes`, itself unless binned) and the top-level group whose
    // share of the budget it splits (`parents`).
    let (mut strata, mut parents): (Vec<Vec<usize>>, Vec<usize>) =
        if options.stratify || options.method == Method::Stratified { nested_groups(m).into_iter().unzip() } else { (vec![(0..n_items).collect()], vec![0]) };
    let mut scopes: Vec<usize> = (0..strata.len()).collect();
    let groups = strata.clone();
    if options.difficulty_strata > 1 {
        let bins = match options.budget {
            Budget::Items(n) => options.difficulty_strata.min(n),
            Budget::Cost(_) => options.difficulty_strata,
        };
        let means = training_means(m, ctx.train);
        let binned: Vec<(Vec<usize>, usize)> =
            groups.iter().enumerate().flat_map(|(g, s)| difficulty_bins(s, &means, bins).into_iter().map(move |b| (b, g))).collect();
        parents = binned.iter().map(|&(_, g)| parents[g]).collect();
        (strata, scopes) = binned.into_iter().unzip();
    }
    let mut rng = Rng::new(options.seed);
    let total_items = n_items as f64;
    let allocation = allocate_nested(&strata, &parents, options.budget, costs.as_deref(), n_items);
    let mut items = Vec::new();
    let mut weights = Vec::new();
    for ((stratum, share), &scope) in strata.iter().zip(allocation).zip(&scopes) {
        if share.is_empty() {
            continue;
        }
        let (chosen, w) = select_within(ctx, options.method, stratum, &groups[scope], share, costs.as_deref(), &mut rng)?;
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

/// Runs one method on a stratum; returns chosen items and weights that sum
/// to one. `scope` is the group the stratum was cut from (the stratum
/// itself without difficulty bins): metric-cons's target ranking and
/// metabench's item–rest correlations are taken over it.
fn select_within(
    ctx: &Context,
    method: Method,
    stratum: &[usize],
    scope: &[usize],
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
            let features: Vec<Vec<f64>> = match &fit.multi {
                Some(mf) => stratum.iter().map(|&i| mf.loadings(i).iter().copied().chain([-mf.intercept[i]]).collect()).collect(),
                None => stratum.iter().map(|&i| vec![fit.items[i].a, fit.items[i].b]).collect(),
            };
            let clusters = cluster::k_means(&features, k, rng);
            cluster_subset(stratum, &clusters, share, costs)
        }
        Method::AnchorPoints => {
            let clusters = match ctx.anchor_space {
                Some(space) => cluster::k_medoids(stratum.len(), k, rng, &|p, q| space.distance(stratum[p], stratum[q])),
                None => {
                    let space = CorrelationSpace::new(cluster::standardized_responses(ctx.matrix, ctx.train, stratum));
                    cluster::k_medoids(stratum.len(), k, rng, &|p, q| space.distance(p, q))
                }
            };
            cluster_subset(stratum, &clusters, share, costs)
        }
        Method::MetricAvg | Method::MetricVar | Method::MetricCons | Method::Diversity => {
            let utility = metric_utilities(ctx, method, stratum, scope)?;
            let mut order: Vec<usize> = (0..stratum.len()).collect();
            // Highest utility first; ties keep item order (a stable sort, as theirs).
            order.sort_by(|&a, &b| utility[b].total_cmp(&utility[a]).then(a.cmp(&b)));
            let ordered: Vec<usize> = order.into_iter().map(|p| stratum[p]).collect();
            let chosen = take_within_budget(&ordered, share, costs);
            let w = vec![1.0 / chosen.len().max(1) as f64; chosen.len()];
            (chosen, w)
        }
        Method::MetricBalance => {
            let (features, dims) = balance_features(ctx, stratum)?;
            // Under a cost budget the whole order, taken while it fits.
            let steps = if matches!(share, Share::Items(_)) { k } else { stratum.len() };
            let ordered: Vec<usize> = balance::order(&features, dims, steps).into_iter().map(|p| stratum[p]).collect();
            let chosen = take_within_budget(&ordered, share, costs);
            let w = vec![1.0 / chosen.len().max(1) as f64; chosen.len()];
            (chosen, w)
        }
        Method::Kcenter | Method::Dpp => {
            let computed;
            let vectors = match ctx.side.vectors {
                Some(v) => v,
                None => {
                    computed = item_vectors(ctx.matrix, ctx.train);
                    &computed
                }
            };
            let points: Vec<&[f32]> = stratum.iter().map(|&i| vectors.row(i)).collect();
            let picked = if method == Method::Kcenter { diversity::k_center(&points, k, rng) } else { diversity::dpp_greedy(&points, k) };
            let ordered: Vec<usize> = picked.iter().map(|&p| stratum[p]).collect();
            let chosen = take_within_budget(&ordered, share, costs);
            let positions: Vec<usize> = picked.iter().copied().filter(|&p| chosen.contains(&stratum[p])).collect();
            let w = diversity::voronoi_weights(&points, &positions);
            (chosen, w)
        }
        Method::ForwardSelection => {
            let means;
            let target = match ctx.target {
                Some(t) => t,
                None => {
                    means = ctx.matrix.model_means();
                    &means
                }
            };
            // Under a cost budget the whole order, taken while it fits.
            let steps = if matches!(share, Share::Items(_)) { k } else { stratum.len() };
            let greedy = steps.min(forward::max_steps(ctx.train.len()));
            let mut picked = forward::order(ctx.matrix, ctx.train, target, stratum, greedy);
            // The rest of the budget, where the training models are too few
            // to choose more items for a prediction, is a random draw.
            let mut rest: Vec<usize> = stratum.iter().copied().filter(|i| !picked.contains(i)).collect();
            rng.shuffle(&mut rest);
            picked.extend(rest.into_iter().take(steps.saturating_sub(picked.len())));
            let chosen = take_within_budget(&picked, share, costs);
            let w = vec![1.0 / chosen.len().max(1) as f64; chosen.len()];
            (chosen, w)
        }
        Method::Adaptive => return Err(not_a_subset()),
        Method::Metabench => {
            let fit = ctx.fit.expect("checked by select");
            let candidates = metabench::filter(ctx.matrix, ctx.train, stratum, scope, k);
            let picked = metabench::select(fit, &candidates, k, metabench::SIZE_PENALTY);
            let chosen = take_within_budget(&picked, share, costs);
            let w = vec![1.0 / chosen.len().max(1) as f64; chosen.len()];
            (chosen, w)
        }
    };
    Ok((items, weights))
}

fn not_a_subset() -> Error {
    Error::invalid(
        "adaptive chooses each model's items as it answers, so it has no fixed subset: run `benchsift adapt` with a fit (in JS, adaptiveTest), or compare it with `evaluate --methods adaptive`",
    )
}

/// `metric-balance`'s features of the stratum items (see [`balance`]):
/// every metric given, or the training models' responses without one.
fn balance_features(ctx: &Context, stratum: &[usize]) -> Result<(Vec<f64>, usize)> {
    let owned;
    let metrics: Vec<Vec<&[Option<f64>]>> = if ctx.side.metrics.is_empty() {
        owned = metric::response_rows(ctx.matrix, ctx.train, stratum);
        vec![owned.iter().map(Vec::as_slice).collect()]
    } else {
        ctx.side.metrics.iter().map(|s| metric::rows_for(s, ctx.matrix, ctx.train)).collect()
    };
    if metrics.iter().all(Vec::is_empty) {
        return Err(Error::invalid("the metric scores have no row for any training model"));
    }
    Ok(balance::features(&metrics, stratum))
}

/// subset2evaluate's utility of every stratum item (see [`metric`]);
/// metric-cons ranks against the models' mean over `scope` (a superset of
/// `stratum`: the stratum itself, or the group a difficulty bin came from).
pub fn metric_utilities(ctx: &Context, method: Method, stratum: &[usize], scope: &[usize]) -> Result<Vec<f64>> {
    if method == Method::Diversity {
        let outputs = ctx.side.outputs.ok_or_else(|| Error::invalid("the diversity method needs the models' outputs: give an outputs file"))?;
        let rows = metric::output_rows(outputs, ctx.matrix, ctx.train);
        return Ok(metric::diversity_unigram(outputs, &rows, stratum));
    }
    if method == Method::MetricBalance {
        return Err(Error::invalid("metric-balance orders items greedily and has no per-item utility"));
    }
    let owned;
    let rows: Vec<&[Option<f64>]> = match ctx.side.metrics {
        [] => {
            owned = metric::response_rows(ctx.matrix, ctx.train, scope);
            owned.iter().map(Vec::as_slice).collect()
        }
        [scores] => metric::rows_for(scores, ctx.matrix, ctx.train),
        several => {
            return Err(Error::invalid(format!("{} takes one metric file, not {} (metric-balance combines several)", method.as_str(), several.len())));
        }
    };
    if rows.is_empty() {
        return Err(Error::invalid("the metric scores have no row for any training model"));
    }
    Ok(match method {
        Method::MetricAvg => metric::metric_avg(&rows, stratum),
        Method::MetricVar => metric::metric_var(&rows, stratum),
        _ => metric::metric_cons(&rows, stratum, scope),
    })
}

/// Representatives and weights from a clustering; under a cost budget the
/// smallest clusters are dropped until the representatives fit.
fn cluster_subset(stratum: &[usize], clusters: &cluster::Clustering, share: Share, costs: Option<&[f64]>) -> (Vec<usize>, Vec<f64>) {
    let mut reps: Vec<(usize, f64)> = clusters.medoids.iter().zip(&clusters.sizes).map(|(&p, &s)| (stratum[p], s as f64)).collect();
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
/// models' abilities in the fit (for a D-dimensional fit, the trace of the
/// information matrix).
fn integrated_information(fit: &IrtFit, stratum: &[usize]) -> Vec<f64> {
    if let Some(mf) = &fit.multi {
        let n = fit.model_ids.len().max(1) as f64;
        return stratum.iter().map(|&i| (0..fit.model_ids.len()).map(|j| mf.information_trace(i, mf.theta_of(j))).sum::<f64>() / n).collect();
    }
    let family = fit.model.family();
    let thetas = &fit.theta;
    stratum.iter().map(|&i| thetas.iter().map(|&t| fit.items[i].information(t, family)).sum::<f64>() / thetas.len().max(1) as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::subset::{select_subset, select_subset_with};
    use super::*;
    use crate::read::{Input, ReadOptions, read_responses};

    fn matrix() -> ResponseMatrix {
        let mut csv = String::from("model");
        for i in 0..40 {
            csv.push_str(&format!(",q{i}"));
        }
        csv.push('\n');
        let mut rng = Rng::new(9);
        for j in 0..30 {
            csv.push_str(&format!("m{j}"));
            for i in 0..40 {
                let p = 1.0 / (1.0 + crate::math::exp(-((j as f64 - 15.0) / 5.0 - (i as f64 - 20.0) / 10.0)));
                csv.push_str(if rng.uniform() < p { ",1" } else { ",0" });
            }
            csv.push('\n');
        }
        read_responses(&[Input::new("r.csv", csv.as_bytes())], &ReadOptions::default()).unwrap().matrix
    }

    #[test]
    fn every_method_is_deterministic_and_within_budget() {
        let m = matrix();
        let train: Vec<usize> = (0..25).collect();
        // diversity needs model outputs: tests/subset2evaluate_golden.rs.
        for method in Method::ALL.into_iter().filter(|&m| m != Method::Diversity && m != Method::Adaptive) {
            let options = SelectOptions { method, budget: Budget::Items(8), seed: 3, stratify: false, difficulty_strata: 0, guard: false };
            let a = select_subset(&m, &train, &options, crate::irt::IrtModel::TwoPl).unwrap();
            let b = select_subset(&m, &train, &options, crate::irt::IrtModel::TwoPl).unwrap();
            assert_eq!(a.items, b.items, "{method:?} is not deterministic");
            assert!(a.items.len() <= 8 && !a.items.is_empty(), "{method:?}: {} items", a.items.len());
            let mut unique = a.items.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), a.items.len(), "{method:?} repeats items");
            assert!((a.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn irt_methods_work_with_a_multidimensional_fit() {
        let m = matrix();
        let train: Vec<usize> = (0..25).collect();
        let fit_options = crate::irt::FitOptions { dims: 3, ..Default::default() };
        for method in [Method::IrtCluster, Method::IrtInfo] {
            let options = SelectOptions { method, budget: Budget::Items(8), seed: 3, stratify: false, difficulty_strata: 0, guard: false };
            let a = select_subset_with(&m, &train, &options, &fit_options, Side::default(), None).unwrap();
            let b = select_subset_with(&m, &train, &options, &fit_options, Side::default(), None).unwrap();
            assert_eq!(a.items, b.items, "{method:?} is not deterministic");
            assert_eq!(a.items.len(), 8);
            assert!((a.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        // The clustering sees all D loadings and the intercept.
        let all: Vec<usize> = (0..m.n_items()).collect();
        let fit = crate::irt::fit(&m.select(&train, &all), &fit_options, &mut |_| true).unwrap();
        let options = SelectOptions { method: Method::IrtCluster, budget: Budget::Items(8), seed: 3, stratify: false, difficulty_strata: 0, guard: false };
        let subset =
            select(&Context { matrix: &m, train: &train, fit: Some(&fit), anchor_space: None, side: Side::default(), target: None }, &options).unwrap();
        let mf = fit.multi.as_ref().unwrap();
        let features: Vec<Vec<f64>> = (0..m.n_items()).map(|i| mf.loadings(i).iter().copied().chain([-mf.intercept[i]]).collect()).collect();
        let clusters = cluster::k_means(&features, 8, &mut Rng::new(3));
        let mut expected: Vec<usize> = clusters.medoids.clone();
        let mut got = subset.items.clone();
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
        let err = select_subset_with(
            &m,
            &train,
            &options,
            &crate::irt::FitOptions { model: crate::irt::IrtModel::ThreePl, dims: 2, ..Default::default() },
            Side::default(),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("need the 2pl model"), "{err}");
    }

    #[test]
    fn bad_budgets_are_refused_with_reasons() {
        let m = matrix();
        let train: Vec<usize> = (0..25).collect();
        let err = |budget| {
            let options = SelectOptions { method: Method::Random, budget, seed: 0, stratify: false, difficulty_strata: 0, guard: false };
            select_subset(&m, &train, &options, crate::irt::IrtModel::TwoPl).unwrap_err().to_string()
        };
        assert!(err(Budget::Items(41)).contains("more than the 40 items"));
        assert!(err(Budget::Items(0)).contains("at least 1 item"));
        assert!(err(Budget::Cost(5.0)).contains("needs item costs"));
    }

    #[test]
    fn stratified_allocation_follows_group_sizes() {
        let strata = vec![(0..50).collect::<Vec<_>>(), (50..80).collect(), (80..100).collect()];
        let shares = allocate(&strata, Budget::Items(10), None, 100);
        let counts: Vec<usize> = shares
            .iter()
            .map(|s| match s {
                Share::Items(n) => *n,
                Share::Cost(_) => 0,
            })
            .collect();
        assert_eq!(counts, vec![5, 3, 2]);
    }

    #[test]
    fn nested_allocation_gives_every_task_its_share_before_its_subjects() {
        // Task A: 60 items in 20 subjects of 3; task B: 40 items in one stratum.
        // A flat allocation of 10 over the 21 strata gives each of A's
        // subjects 0.3 and B 4.0: A gets the largest remainders' items only
        // until the budget runs out. Nested: A gets 6, B 4.
        let mut strata: Vec<Vec<usize>> = (0..20).map(|s| (3 * s..3 * s + 3).collect()).collect();
        strata.push((60..100).collect());
        let parents: Vec<usize> = (0..21).map(|s| usize::from(s == 20)).collect();
        let count =
            |shares: &[Share], range: std::ops::Range<usize>| -> usize { shares[range].iter().map(|s| if let Share::Items(n) = s { *n } else { 0 }).sum() };
        let nested = allocate_nested(&strata, &parents, Budget::Items(10), None, 100);
        assert_eq!((count(&nested, 0..20), count(&nested, 20..21)), (6, 4));
        // One stratum per group: the same as the flat allocation.
        let flat = vec![(0..50).collect::<Vec<_>>(), (50..80).collect(), (80..100).collect()];
        let same = allocate_nested(&flat, &[0, 1, 2], Budget::Items(10), None, 100);
        assert_eq!(format!("{same:?}"), format!("{:?}", allocate(&flat, Budget::Items(10), None, 100)));
    }

    #[test]
    fn side_inputs_are_required_or_aligned() {
        let m = matrix();
        let train: Vec<usize> = (0..25).collect();
        let options = SelectOptions { method: Method::Diversity, budget: Budget::Items(5), seed: 0, stratify: false, difficulty_strata: 0, guard: false };
        let err = select_subset(&m, &train, &options, crate::irt::IrtModel::TwoPl).unwrap_err().to_string();
        assert!(err.contains("needs the models' outputs"), "{err}");
        // A metric over other systems (no shared ids) uses all its rows; one over
        // other items is refused.
        let mut csv = String::from("model");
        for i in 0..40 {
            csv.push_str(&format!(",q{i}"));
        }
        csv.push_str("\nother1");
        for i in 0..40 {
            csv.push_str(&format!(",{}", (i % 7) as f64 * 0.1));
        }
        csv.push_str("\nother2");
        for i in 0..40 {
            csv.push_str(&format!(",{}", (i % 5) as f64 * -0.1));
        }
        csv.push('\n');
        let side = SideData::load(&m, &[crate::read::Input::new("metric.csv", csv.as_bytes())], None, None, None).unwrap();
        let options = SelectOptions { method: Method::MetricVar, budget: Budget::Items(3), seed: 0, stratify: false, difficulty_strata: 0, guard: false };
        let s = select_subset_with(&m, &train, &options, &crate::irt::FitOptions::default(), side.side(), None).unwrap();
        // Variance of (0.1·(i mod 7), −0.1·(i mod 5)) grows with (i mod 7) + (i mod 5):
        // largest (10) only at q34, then 9 at q13 and q19 (f32 storage may split that tie).
        assert_eq!(s.items[0], "q34");
        let mut next = s.items[1..].to_vec();
        next.sort();
        assert_eq!(next, vec!["q13", "q19"]);
        let bad = "model,x1,x2\na,1,2\n";
        let err = SideData::load(&m, &[crate::read::Input::new("metric.csv", bad.as_bytes())], None, None, None).unwrap_err().to_string();
        assert!(err.contains("none of the responses"), "{err}");
    }

    #[test]
    fn kcenter_and_dpp_use_embeddings_and_weight_by_cell() {
        let m = matrix();
        let train: Vec<usize> = (0..25).collect();
        // Items 0–9 at one point, 10–39 spread on a circle: k-center takes one of 0–9 and
        // gives it a quarter of the weight.
        let mut data = Vec::new();
        for i in 0..40 {
            let (x, y) = if i < 10 { (1.0f32, 0.0f32) } else { ((i as f32 * 0.2 + 1.0).cos(), -(i as f32 * 0.2 + 1.0).sin().abs() - 0.5) };
            data.extend([x, y]);
        }
        let vectors = ItemVectors { dims: 2, data: crate::similar::normalize(&data, 2), source: "embeddings" };
        let side = Side { vectors: Some(&vectors), ..Side::default() };
        for method in [Method::Kcenter, Method::Dpp] {
            let ctx = Context { matrix: &m, train: &train, fit: None, anchor_space: None, side, target: None };
            let s = select(&ctx, &SelectOptions { method, budget: Budget::Items(6), seed: 1, stratify: false, difficulty_strata: 0, guard: false }).unwrap();
            assert_eq!(s.items.len(), 6);
            let in_cluster: Vec<usize> = s.items.iter().copied().filter(|&i| i < 10).collect();
            assert_eq!(in_cluster.len(), 1, "{method:?}: {:?}", s.items);
            let w = s.weights[s.items.iter().position(|&i| i < 10).unwrap()];
            assert!(w >= 0.25 - 1e-12, "{method:?}: weight {w}");
            assert!((s.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn difficulty_strata_take_every_level_in_proportion() {
        let m = matrix();
        let train: Vec<usize> = (0..25).collect();
        let all: Vec<usize> = (0..40).collect();
        let means = training_means(&m, &train);
        // Equal bins of consecutive difficulty.
        let bins = difficulty_bins(&all, &means, 4);
        assert_eq!(bins.iter().map(Vec::len).collect::<Vec<_>>(), vec![10; 4]);
        for pair in bins.windows(2) {
            let top = pair[0].iter().map(|&i| means[i]).fold(f64::NEG_INFINITY, f64::max);
            let bottom = pair[1].iter().map(|&i| means[i]).fold(f64::INFINITY, f64::min);
            assert!(top <= bottom, "bins overlap: {top} > {bottom}");
        }
        // Sizes differ by at most one; an item no training model answered comes last.
        let mut holes = means.clone();
        holes[3] = f64::NAN;
        let bins = difficulty_bins(&all, &holes, 7);
        assert!(bins.iter().all(|b| b.len() == 5 || b.len() == 6), "{bins:?}");
        assert_eq!(*bins.last().unwrap().last().unwrap(), 3);
        assert_eq!(bins.concat().len(), 40);

        // metric-var with 4 bins and 8 items: the two most varying items of every bin.
        let ctx = Context { matrix: &m, train: &train, fit: None, anchor_space: None, side: Side::default(), target: None };
        let options = SelectOptions { method: Method::MetricVar, budget: Budget::Items(8), seed: 0, stratify: false, difficulty_strata: 4, guard: false };
        let s = select(&ctx, &options).unwrap();
        let rows = metric::response_rows(&m, &train, &all);
        let rows: Vec<&[Option<f64>]> = rows.iter().map(Vec::as_slice).collect();
        let variance = metric::metric_var(&rows, &all);
        for bin in difficulty_bins(&all, &means, 4) {
            let mut ranked = bin.clone();
            ranked.sort_by(|&a, &b| variance[b].total_cmp(&variance[a]).then(a.cmp(&b)));
            let mut chosen: Vec<usize> = s.items.iter().copied().filter(|i| bin.contains(i)).collect();
            chosen.sort();
            let mut expected = ranked[..2].to_vec();
            expected.sort();
            assert_eq!(chosen, expected);
        }
        assert!(s.weights.iter().all(|w| (w - 0.125).abs() < 1e-12), "{:?}", s.weights);
        // Without strata the same method takes the middle of the range only.
        let plain = select(&ctx, &SelectOptions { difficulty_strata: 0, ..options.clone() }).unwrap();
        assert_ne!(plain.items, s.items);

        // Fewer items than bins: one bin per item, so three items span three difficulty thirds.
        let s = select(&ctx, &SelectOptions { budget: Budget::Items(3), difficulty_strata: 10, ..options }).unwrap();
        for third in difficulty_bins(&all, &means, 3) {
            assert_eq!(s.items.iter().filter(|i| third.contains(i)).count(), 1, "{:?}", s.items);
        }
    }

    #[test]
    fn difficulty_strata_respect_a_cost_budget() {
        let mut m = matrix();
        let mut items = String::from("item_id,cost\n");
        for i in 0..40 {
            items.push_str(&format!("q{i},{}\n", 1 + i % 3));
        }
        crate::read::read_items(&Input::new("items.csv", items.as_bytes()), &mut m, u64::MAX).unwrap();
        let train: Vec<usize> = (0..25).collect();
        let ctx = Context { matrix: &m, train: &train, fit: None, anchor_space: None, side: Side::default(), target: None };
        for method in [Method::MetricVar, Method::Random, Method::AnchorPoints] {
            let s = select(&ctx, &SelectOptions { method, budget: Budget::Cost(16.0), seed: 2, stratify: false, difficulty_strata: 4, guard: false }).unwrap();
            let cost = s.cost.unwrap();
            assert!(cost <= 16.0 + 1e-9 && cost > 0.0, "{method:?}: cost {cost}");
            // Every difficulty quarter holds a quarter of the cost, so each contributes.
            let means = training_means(&m, &train);
            for bin in difficulty_bins(&(0..40).collect::<Vec<_>>(), &means, 4) {
                assert!(s.items.iter().any(|i| bin.contains(i)), "{method:?}: nothing from {bin:?}");
            }
            assert!((s.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }
}
