//! The EM driver: starting values, the E-step/M-step iteration with its
//! acceleration (see `accel`), Beta items set aside, and the fit's result.

use super::IrtFit;
use super::accel::{expansion, pack_all, squarem_jump, unpack_all};
use super::blocks::{Blocks, ModelBlocks};
use super::estep::{self, Grid, Observations, PosteriorSummary, Tables};
use super::item::{Family, ItemParams, NodeStats, m_step, shared_a_step};
use super::multi;
use super::options::{FitOptions, IrtModel, Progress, Scale};
use super::prior::{b_spread, centred_priors, items_log_prior, shared_a_log_prior};
use super::sums::{BinarySums, ready_now};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::matrix::{Kind, ResponseMatrix};
use crate::parallel;

/// Plain (expanded) EM iterations before SQUAREM starts extrapolating: the
/// first steps from crude starting values are too irregular to extrapolate.
const WARMUP_ITERATIONS: usize = 5;

/// The latent grid spans θ ∈ [−6, 6]: six prior standard deviations.
pub(super) const GRID_HALF_WIDTH: f64 = 6.0;

/// Starting values: b from each item's mean score, a = 1.
pub(super) fn initial_items(m: &ResponseMatrix, x: Option<&[f32]>, options: &FitOptions) -> Vec<ItemParams> {
    let mut sums = vec![(0.0f64, 0u64); m.n_items()];
    for model in 0..m.n_models() {
        for (i, v) in m.row(model) {
            let v = x.map_or(v as f64, |x| x[model * m.n_items() + i] as f64);
            sums[i].0 += v;
            sums[i].1 += 1;
        }
    }
    let c0 = match options.model {
        IrtModel::ThreePl | IrtModel::FourPl => options.guess.unwrap_or(0.1),
        _ => 0.0,
    };
    let d0 = if options.model == IrtModel::FourPl { 0.98 } else { 1.0 };
    sums.iter()
        .map(|&(s, n)| {
            let p = if n == 0 { 0.5 } else { s / n as f64 };
            let p = ((p - c0) / (d0 - c0)).clamp(0.02, 0.98);
            // With a = 1 and θ ~ N(0,1), E[σ(θ − b)] ≈ σ(−b / 1.28).
            let b = -1.28 * crate::math::ln(p / (1.0 - p));
            ItemParams { a: 1.0, b, c: c0, d: d0, phi: if options.model == IrtModel::Beta { 10.0 } else { f64::NAN } }
        })
        .collect()
}

/// Fits `options.model` to `m`. `progress` is called after every iteration;
/// returning `false` stops the fit early (it is then reported as not converged).
pub fn fit(m: &ResponseMatrix, options: &FitOptions, progress: &mut dyn FnMut(&Progress) -> bool) -> Result<IrtFit> {
    fit_with(m, options, None, progress)?.map_err(Error::invalid)
}

/// [`fit`] with the E-step log-likelihoods and the M-step counts taken from
/// `sums` (binary responses and the Bernoulli models only; otherwise `sums`
/// is refused). Everything else — the posterior windows and their Newton
/// refinement, the M-step optimisation, PX-EM and SQUAREM — runs here as in
/// [`fit`]. The outer error is the input's; the inner one is a failure of
/// `sums`, after which the caller may rerun [`fit`] on the CPU. `sums` must
/// finish each call before returning its future (natively a provider can
/// block); one that does not is reported as a failure: use [`fit_async`].
pub fn fit_with(
    m: &ResponseMatrix,
    options: &FitOptions,
    sums: Option<&mut dyn BinarySums>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<std::result::Result<IrtFit, String>> {
    ready_now(fit_async(m, options, sums, progress))
        .unwrap_or_else(|| Ok(Err("the E- and M-step sums did not finish synchronously (an asynchronous provider needs fit_async)".into())))
}

/// The fit itself, with the external sums awaited: the only EM loop.
/// [`fit`] and [`fit_with`] drive it without an executor (all their awaits
/// are ready at once); in the browser the awaits on WebGPU readbacks yield
/// to the event loop. Results are those of [`fit_with`].
pub async fn fit_async(
    m: &ResponseMatrix,
    options: &FitOptions,
    sums: Option<&mut dyn BinarySums>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<std::result::Result<IrtFit, String>> {
    fit_inner(m, options, sums.map_or(Outside::Nothing, Outside::Sums), progress).await
}

/// [`fit`] with each E-step run over blocks of models that `blocks` holds
/// (a pool of workers; see [`super::blocks`]): the same fit, to the bit, for
/// any number of blocks. Every model and family is taken; a
/// multidimensional fit (dims > 1) is refused. The outer error is the
/// input's, the inner one the transport's.
pub async fn fit_in_blocks(
    m: &ResponseMatrix,
    options: &FitOptions,
    blocks: &mut dyn ModelBlocks,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<std::result::Result<IrtFit, String>> {
    fit_inner(m, options, Outside::Blocks(blocks), progress).await
}

/// Where the E-step's heavy sums come from, besides this thread's CPU.
enum Outside<'s> {
    Nothing,
    Sums(&'s mut dyn BinarySums),
    Blocks(&'s mut dyn ModelBlocks),
}

async fn fit_inner(
    m: &ResponseMatrix,
    options: &FitOptions,
    outside: Outside<'_>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<std::result::Result<IrtFit, String>> {
    options.validate(m)?;
    let (sums, blocks) = match outside {
        Outside::Nothing => (None, None),
        Outside::Sums(s) => (Some(s), None),
        Outside::Blocks(b) => (None, Some(b)),
    };
    if sums.is_some() && (m.kind() != Kind::Binary || options.model.family() != Family::Bernoulli) {
        return Err(Error::invalid("the E- and M-step kernels take binary (0/1) responses and the rasch, 1pl, 2pl, 3pl or 4pl model only"));
    }
    if blocks.is_some() && options.dims > 1 {
        return Err(Error::invalid("multidimensional fits (dims > 1) run on one worker: their variational E-step is not split over blocks of models"));
    }
    let scale = match m.kind() {
        Kind::Binary => None,
        Kind::Continuous => Some(options.scale.unwrap_or_else(|| Scale::detect(m))),
    };
    let scaled: Option<Vec<f32>> = scale.map(|s| {
        let mut x = vec![0.0f32; m.n_models() * m.n_items()];
        for model in 0..m.n_models() {
            for (i, v) in m.row(model) {
                x[model * m.n_items() + i] = s.apply(v as f64) as f32;
            }
        }
        x
    });
    if options.dims > 1 {
        if sums.is_some() {
            return Err(Error::invalid("the GPU kernels fit one latent dimension; multidimensional fits run on the CPU"));
        }
        return fit_multi(m, scaled.as_deref(), scale, options, progress).map(Ok);
    }
    let mut items = initial_items(m, scaled.as_deref(), options);
    // The blocks are sent the scores on [0, 1]; the observations keep theirs.
    let scaled_for_blocks = if blocks.is_some() { scaled.clone() } else { None };
    let obs = match (options.model.family(), scaled) {
        (Family::Bernoulli, None) => Observations::Binary(m),
        (Family::Bernoulli, Some(x)) => Observations::Fractional(m, x),
        (Family::Beta, Some(x)) => {
            let (lx, l1x) = estep::beta_logs(m, &x);
            Observations::Beta(m, lx, l1x)
        }
        (Family::Beta, None) => unreachable!("validate refuses beta on binary data"),
    };
    let quad = Grid::uniform(options.quadrature_points, GRID_HALF_WIDTH);
    // Beta items whose observed scores are all equal are fitted after the
    // others (see all_equal_items): EM runs on the matrix without their
    // cells, then each gets one M-step against the final posteriors.
    let all_equal = all_equal_items(&obs);
    let masked = all_equal.iter().any(|&e| e).then(|| without_items(m, &all_equal));
    let masked_obs = masked.as_ref().map(|mm| match &obs {
        Observations::Beta(_, lx, l1x) => {
            let keep = |v: &Vec<f32>| -> Vec<f32> { v.iter().enumerate().map(|(k, &x)| if all_equal[k % m.n_items()] { 0.0 } else { x }).collect() };
            Observations::Beta(mm, keep(lx), keep(l1x))
        }
        _ => unreachable!("only Beta fits set items aside"),
    });
    let fit_obs = masked_obs.as_ref().unwrap_or(&obs);
    let mut em = Em::new(fit_obs, &quad, options, sums);
    em.scale_free_items = all_equal.clone();
    if let Some(outside) = blocks {
        match Blocks::open(outside, fit_obs, scaled_for_blocks.as_deref(), quad.len()).await {
            Ok(b) => em.blocks = Some(b),
            Err(e) => return Ok(Err(e)),
        }
        // The set-aside items' counts need the final posteriors here: that
        // one E-step runs on this thread (the same function, the same bits).
        em.final_here = masked.is_some();
    }
    let result = run_em(&mut em, items.clone(), options, progress).await;
    if let (Ok((fitted, ..)), true) = (&result, masked.is_some()) {
        // Their expected counts under the final posteriors, from the full data.
        let q = quad.len();
        let k_stats = obs.stats_per_node();
        let mut stats = vec![0.0; m.n_items() * k_stats * q];
        estep::accumulate(&obs, &em.post, &em.summaries, q, &mut stats);
        let (family, free) = (obs.family(), options.free());
        let priors = centred_priors(&options.priors, fitted, &all_equal, options.model);
        for (i, item) in items.iter_mut().enumerate() {
            *item = if all_equal[i] { m_step(item, family, free, &priors, &quad.nodes, &item_stats(&stats, i, k_stats, q), 25).0 } else { fitted[i] };
        }
    }
    match result {
        Ok((fitted, log_likelihood, iterations, converged)) => {
            let items = if masked.is_some() { items } else { fitted };
            let (theta, theta_se): (Vec<f64>, Vec<f64>) = em.summaries.iter().map(|s| (s.mean, s.sd)).unzip();
            Ok(Ok(IrtFit {
                model: options.model,
                item_ids: m.item_ids().to_vec(),
                items,
                model_ids: m.model_ids().to_vec(),
                theta,
                theta_se,
                log_likelihood,
                iterations,
                converged,
                scale,
                quadrature_points: quad.len(),
                backend: Backend::cpu("fitted on the CPU (this entry point does not choose a backend; `gpu::irt::fit` does)"),
                multi: None,
            }))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// The EM iterations from `items`: (items, log-likelihood, iterations,
/// converged), or the failure of the external sums.
pub(super) async fn run_em(
    em: &mut Em<'_, '_>,
    mut items: Vec<ItemParams>,
    options: &FitOptions,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> std::result::Result<(Vec<ItemParams>, f64, usize, bool), String> {
    let family = em.obs.family();
    let free = options.free();
    let mut iterations = 0;
    let mut converged = false;
    let mut report = |iterations: usize, log_likelihood: f64, max_change: f64| {
        progress(&Progress { iteration: iterations, max_iterations: options.max_iterations, log_likelihood, max_change })
    };

    // Phase 1: a few plain PX-EM iterations.
    let mut stopped = false;
    while iterations < options.max_iterations.min(WARMUP_ITERATIONS) {
        iterations += 1;
        let step = em.step(&items, true).await?;
        items = step.items;
        if !report(iterations, step.log_likelihood, step.max_change) {
            stopped = true;
            break;
        }
        if step.max_change < options.tolerance {
            converged = true;
            break;
        }
    }
    // Phase 2: SQUAREM (Varadhan & Roland 2008, Scand. J. Statist. 35:335):
    // two EM steps give a secant estimate of the EM map's slow direction, the
    // parameters jump along it, and a third EM step from there stabilises.
    // The jump is kept only if the MAP objective did not get worse.
    while !converged && !stopped && iterations + 3 <= options.max_iterations {
        let p0 = pack_all(&items, family, free);
        let s1 = em.step(&items, true).await?;
        let s2 = em.step(&s1.items, true).await?;
        iterations += 2;
        if s2.max_change < options.tolerance {
            items = s2.items;
            converged = true;
            report(iterations, s2.log_likelihood, s2.max_change);
            break;
        }
        let (p1, p2) = (pack_all(&s1.items, family, free), pack_all(&s2.items, family, free));
        let jumped = squarem_jump(&p0, &p1, &p2);
        let candidate = unpack_all(&jumped, &s2.items, family, free, options.model == IrtModel::OnePl);
        let s3 = em.step(&candidate, true).await?;
        iterations += 1;
        // The MAP objective: the shared a's prior too, as the expansion counts it.
        let log_prior = |items: &[ItemParams]| {
            items_log_prior(items, family, free, &options.priors, &em.scale_free_items, options.model)
                + shared_a_log_prior(options.model, items[0].a, &options.priors)
        };
        let objective_jump = s3.log_likelihood + log_prior(&candidate);
        let objective_p1 = s2.log_likelihood + log_prior(&s1.items);
        let (next, ll, change) = if objective_jump.is_finite() && objective_jump >= objective_p1 - 1e-9 * objective_p1.abs() {
            (s3.items, s3.log_likelihood, s3.max_change)
        } else {
            // The jump overshot: keep the plain EM progress instead.
            let s4 = em.step(&s2.items, true).await?;
            iterations += 1;
            (s4.items, s4.log_likelihood, s4.max_change)
        };
        items = next;
        if change < options.tolerance {
            converged = true;
        }
        if !report(iterations, ll, change) {
            break;
        }
    }
    // Final E-step at the final parameters: log-likelihood and abilities.
    let log_likelihood = em.e_step(&items).await?;
    Ok((items, log_likelihood, iterations, converged))
}

/// The multidimensional 2PL (dims > 1), dressed as an [`IrtFit`].
pub(super) fn fit_multi(
    m: &ResponseMatrix,
    scaled: Option<&[f32]>,
    scale: Option<Scale>,
    options: &FitOptions,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<IrtFit> {
    let fitted = multi::fit_gvem(m, scaled, options.dims, options.max_iterations, options.tolerance, options.seed, progress)?;
    let f = fitted.fit;
    let d = f.dims;
    Ok(IrtFit {
        model: options.model,
        item_ids: m.item_ids().to_vec(),
        items: (0..m.n_items()).map(|i| ItemParams::new(f.mdisc(i), f.mdiff(i))).collect(),
        model_ids: m.model_ids().to_vec(),
        theta: f.theta.chunks(d).map(|t| t[0]).collect(),
        theta_se: f.theta_se.chunks(d).map(|t| t[0]).collect(),
        log_likelihood: fitted.log_likelihood,
        iterations: fitted.iterations,
        converged: fitted.converged,
        scale,
        quadrature_points: 0,
        backend: Backend::cpu("multidimensional fits run on the CPU"),
        multi: Some(f),
    })
}

/// Item `i`'s expected statistics at the `q` nodes, out of the E-step's
/// items × `k_stats` × nodes array (n and Σ r·x; Beta: n, Σ r·ln x and
/// Σ r·ln(1 − x)).
pub(super) fn item_stats(stats: &[f64], i: usize, k_stats: usize, q: usize) -> NodeStats<'_> {
    let s = &stats[i * k_stats * q..(i + 1) * k_stats * q];
    NodeStats { n: &s[..q], s: &s[q..2 * q], v: if k_stats == 3 { &s[2 * q..] } else { &s[..0] } }
}

/// For the Beta model, the items whose observed scores are all equal (after
/// clamping into [ε, 1 − ε]): every model that ran a problem solved it, or
/// none did. Their likelihood has no finite optimum — b runs outwards, φ to
/// its bound — and the MAP with them in is degenerate: θ's scale collapses
/// (mean θ² + se² ≈ 0.01–0.03, a ≈ 5), and EM crawled towards it without
/// converging (LiveCodeBench pass@1, 102 such problems). They say nothing
/// about who is more able, so the fit leaves them out of EM and gives each
/// one M-step against the final posteriors (ARCHITECTURE 18). Empty for
/// other families, whose fits converge with these items in.
pub(super) fn all_equal_items(obs: &Observations) -> Vec<bool> {
    let Observations::Beta(m, lx, l1x) = obs else { return Vec::new() };
    let n = m.n_items();
    // Both logarithms: two nearby small scores can share an f32 ln x.
    let mut first: Vec<Option<(f32, f32)>> = vec![None; n];
    let mut constant = vec![true; n];
    for model in 0..m.n_models() {
        for (i, _) in m.row(model) {
            let v = (lx[model * n + i], l1x[model * n + i]);
            match first[i] {
                None => first[i] = Some(v),
                Some(f) if f != v => constant[i] = false,
                Some(_) => {}
            }
        }
    }
    constant
}

/// `m` with the cells of the flagged items removed (same rows and columns).
pub(super) fn without_items(m: &ResponseMatrix, drop: &[bool]) -> ResponseMatrix {
    let mut b = crate::matrix::MatrixBuilder::new(m.item_ids().to_vec());
    b.force_continuous();
    let mut row = vec![None; m.n_items()];
    for model in 0..m.n_models() {
        for (i, slot) in row.iter_mut().enumerate() {
            *slot = if drop[i] { None } else { m.get(model, i) };
        }
        b.push_row_unchecked(m.model_ids()[model].clone(), &row);
    }
    b.into_matrix()
}

/// The state EM carries between iterations: posteriors, windows, statistics.
pub(super) struct Em<'a, 's> {
    pub(super) obs: &'a Observations<'a>,
    pub(super) grid: &'a Grid,
    pub(super) options: &'a FitOptions,
    /// External E- and M-step sums, and the models × nodes log-likelihoods
    /// they fill (empty without them).
    pub(super) sums: Option<&'s mut dyn BinarySums>,
    /// Blocks of models held elsewhere, which then run every E-step (and
    /// `post` stays empty).
    pub(super) blocks: Option<Blocks<'s>>,
    /// Whether the final E-step (without counts) runs on this thread even
    /// with blocks, filling `post`.
    pub(super) final_here: bool,
    pub(super) ll: Vec<f64>,
    pub(super) post: Vec<f64>,
    pub(super) stats: Vec<f64>,
    pub(super) summaries: Vec<PosteriorSummary>,
    /// Items left out of the MAP objective's prior term and of the b prior's
    /// centre: those [`all_equal_items`] set aside, which have no data in
    /// this EM (each M-step returns them to their priors' mode; the
    /// expansion then only rescales them).
    pub(super) scale_free_items: Vec<bool>,
}

pub(super) struct Step {
    items: Vec<ItemParams>,
    /// Marginal log-likelihood at the step's input parameters.
    log_likelihood: f64,
    max_change: f64,
}

impl<'a, 's> Em<'a, 's> {
    pub(super) fn new(obs: &'a Observations<'a>, grid: &'a Grid, options: &'a FitOptions, sums: Option<&'s mut dyn BinarySums>) -> Self {
        let (q, m) = (grid.len(), obs.matrix());
        Em {
            obs,
            grid,
            options,
            ll: if sums.is_some() { vec![0.0; m.n_models() * q] } else { Vec::new() },
            sums,
            blocks: None,
            final_here: false,
            post: vec![0.0; m.n_models() * q],
            stats: vec![0.0; m.n_items() * obs.stats_per_node() * q],
            summaries: estep::start_summaries(obs, grid, matches!(options.model, IrtModel::Rasch | IrtModel::OnePl | IrtModel::TwoPl)),
            scale_free_items: Vec::new(),
        }
    }

    /// The E-step at `items` alone (no counts): summaries updated, the
    /// marginal log-likelihood returned.
    pub(super) async fn e_step(&mut self, items: &[ItemParams]) -> std::result::Result<f64, String> {
        self.e_step_counting(items, false).await
    }

    /// The E-step, and with `counts` the expected counts in `stats`.
    async fn e_step_counting(&mut self, items: &[ItemParams], counts: bool) -> std::result::Result<f64, String> {
        let outside = || "internal error: a posterior window outside the grid".to_string();
        // Each model's marginal log-likelihood, summed in model order.
        let total = |marginals: Vec<f64>| marginals.iter().sum::<f64>();
        let q = self.grid.len();
        if let Some(blocks) = self.blocks.as_mut().filter(|_| counts || !self.final_here) {
            let stats = counts.then_some(&mut self.stats[..]);
            return blocks.e_step(items, &mut self.summaries, stats).await?.map(total).ok_or_else(outside);
        }
        if let Some(sums) = self.sums.as_deref_mut() {
            // The external sums evaluate every node.
            let tables = Tables::new(items, &self.grid.nodes, self.obs.family());
            sums.log_likelihood(&tables.t0, &tables.t1, tables.q, &mut self.ll).await?;
            let full = Some(&self.ll[..]);
            let marginals = estep::posteriors(self.obs, &tables, self.grid, full, &mut self.post, &mut self.summaries).ok_or_else(outside)?;
            if counts {
                sums.counts(&self.post, q, &mut self.stats).await?;
            }
            return Ok(total(marginals));
        }
        let marginals = estep::cpu_e_step(self.obs, self.grid, items, &mut self.post, &mut self.summaries).ok_or_else(outside)?;
        if counts {
            estep::accumulate(self.obs, &self.post, &self.summaries, q, &mut self.stats);
        }
        Ok(total(marginals))
    }

    /// One EM iteration from `items`.
    pub(super) async fn step(&mut self, input: &[ItemParams], expand: bool) -> std::result::Result<Step, String> {
        let items = input;
        let log_likelihood = self.e_step_counting(items, true).await?;
        let (q, k_stats) = (self.grid.len(), self.obs.stats_per_node());
        let (family, free, options) = (self.obs.family(), self.options.free(), self.options);
        let stats = &self.stats;
        let node_stats = |i: usize| item_stats(stats, i, k_stats, q);
        let nodes = &self.grid.nodes;
        let priors = centred_priors(&options.priors, items, &self.scale_free_items, options.model);
        let updated: Vec<(ItemParams, f64)> = parallel::map(items.len(), |i| m_step(&items[i], family, free, &priors, nodes, &node_stats(i), 25));
        let mut items: Vec<ItemParams> = updated.into_iter().map(|u| u.0).collect();
        if options.model == IrtModel::OnePl {
            let all: Vec<NodeStats> = (0..items.len()).map(node_stats).collect();
            let a = shared_a_step(&items, nodes, &all, &options.priors, b_spread(&items, &options.priors));
            items.iter_mut().for_each(|p| p.a = a);
        }
        // Parameter expansion (PX-EM; Liu, Rubin & Wu 1998, Biometrika
        // 85:755): let the population be N(m, s²), maximise the expected
        // complete-data log posterior over (m, s) as well — the population
        // term wants the posteriors' mean and spread, the item priors pull
        // back — then map back to θ ~ N(0, 1) by rescaling the items. This is
        // an exact EM for the expanded model, so it stays monotone, and the
        // slow "stretch θ, shrink a" direction settles in a few steps instead
        // of hundreds.
        if expand {
            let (shift, log_scale) = expansion(&items, &self.summaries, self.options, &self.scale_free_items);
            if shift.abs() > 1e-12 || log_scale.abs() > 1e-12 {
                let sd = crate::math::exp(log_scale);
                for p in items.iter_mut() {
                    p.a *= sd;
                    p.b = (p.b - shift) / sd;
                }
                for s in self.summaries.iter_mut() {
                    s.mean = (s.mean - shift) / sd;
                    s.sd /= sd;
                    (s.lo, s.hi) = self.grid.window(s.mean, s.sd);
                }
            }
        }
        // Convergence is judged on the whole step (M-step then expansion):
        // at the fixed point the two cancel, each alone need not be small.
        let before = pack_all(input, family, free);
        let after = pack_all(&items, family, free);
        let max_change = before.iter().zip(&after).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        Ok(Step { items, log_likelihood, max_change })
    }
}
