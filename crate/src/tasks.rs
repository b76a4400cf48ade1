//! Task-level selection (small-bench): choose k tasks of a suite from whose
//! scores a held-out model's suite average — and its other tasks' scores —
//! are best recovered (Ye et al. 2023, "How Predictable Are Large Language
//! Model Capabilities? A Case Study on BIG-bench", Findings of EMNLP).
//!
//! The input is a models × tasks matrix of scores. Prediction is ridge
//! regression fitted on training models: the chosen tasks' scores,
//! standardised with the training models' mean and (population) standard
//! deviation, predict every task's score, with an unpenalised intercept —
//! exactly scikit-learn's `make_pipeline(StandardScaler(), Ridge(alpha))`,
//! which `tests/fixtures/golden/tasks_ridge.json` checks. A chosen task's own
//! score is known, so the suite average is the mean of the chosen tasks'
//! observed scores and the other tasks' predictions.
//!
//! Selectors see only training models:
//! * `greedy` — forward selection: add the task that most lowers the
//!   leave-one-model-out error of the suite average (exact, from the ridge
//!   hat matrix: eᵢ/(1 − hᵢᵢ), standardisation fixed on the training models);
//! * `beam` — the same objective with a beam of `beam_width` subsets;
//! * `cluster` — k-means (k-means++ seeds) over the tasks' standardised score
//!   vectors across training models; the task nearest each centroid;
//! * `random` — a uniform k-subset, the baseline.
//!
//! Evaluation is leave-models-out cross-validation: models are shuffled into
//! `folds` folds (per seed), tasks are selected and the ridge fitted on the
//! other folds, and the held-out models' suite averages and unchosen task
//! scores are predicted. Per seed, R² and RMSE of the suite average and the
//! RMSE over unchosen tasks are computed on the pooled held-out predictions;
//! both the method and random subsets of the same k run over the same seeds
//! (at least 20), reported as means with 95% Student-t intervals.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::evaluate::{Interval, RANDOM_SEEDS};
use crate::matrix::ResponseMatrix;
use crate::metrics;
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskMethod {
    Greedy,
    Beam,
    Cluster,
    Random,
}

impl TaskMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskMethod::Greedy => "greedy",
            TaskMethod::Beam => "beam",
            TaskMethod::Cluster => "cluster",
            TaskMethod::Random => "random",
        }
    }

    pub fn parse(name: &str) -> Result<TaskMethod> {
        match name.trim().to_ascii_lowercase().as_str() {
            "greedy" => Ok(TaskMethod::Greedy),
            "beam" => Ok(TaskMethod::Beam),
            "cluster" => Ok(TaskMethod::Cluster),
            "random" => Ok(TaskMethod::Random),
            other => {
                Err(Error::invalid(format!("unknown task selection method '{}': expected greedy, beam, cluster or random", crate::error::truncate(other, 20))))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskOptions {
    pub k: usize,
    pub method: TaskMethod,
    pub folds: usize,
    pub seeds: usize,
    pub seed: u64,
    /// Ridge penalty on the standardised chosen-task scores.
    pub alpha: f64,
    pub beam_width: usize,
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions { k: 3, method: TaskMethod::Greedy, folds: 5, seeds: RANDOM_SEEDS, seed: 0, alpha: 1.0, beam_width: 5 }
    }
}

/// A dense models × tasks table of scores.
#[derive(Debug, Clone)]
pub struct TaskMatrix {
    pub models: Vec<String>,
    pub tasks: Vec<String>,
    /// Row-major, models × tasks.
    pub scores: Vec<f64>,
}

impl TaskMatrix {
    /// The complete rows of `m`; models missing any task are dropped (named
    /// in the warnings).
    pub fn from_matrix(m: &ResponseMatrix) -> (TaskMatrix, Vec<String>) {
        let t = m.n_items();
        let mut out = TaskMatrix { models: Vec::new(), tasks: m.item_ids().to_vec(), scores: Vec::new() };
        let mut dropped = Vec::new();
        for j in 0..m.n_models() {
            let row: Vec<Option<f32>> = (0..t).map(|i| m.get(j, i)).collect();
            if row.iter().all(Option::is_some) {
                out.models.push(m.model_ids()[j].clone());
                out.scores.extend(row.into_iter().map(|v| v.unwrap_or(f32::NAN) as f64));
            } else {
                dropped.push(m.model_ids()[j].as_str());
            }
        }
        let warnings = if dropped.is_empty() {
            Vec::new()
        } else {
            vec![format!("{} model(s) miss some task and were left out: {}", dropped.len(), crate::matrix::list_preview(&dropped))]
        };
        (out, warnings)
    }

    fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    fn at(&self, model: usize, task: usize) -> f64 {
        self.scores[model * self.tasks.len() + task]
    }
}

/// A ridge fit from chosen tasks to every task.
#[derive(Debug, Clone)]
pub struct Ridge {
    chosen: Vec<usize>,
    mean: Vec<f64>,
    sd: Vec<f64>,
    /// Intercepts (training means) of every task.
    intercept: Vec<f64>,
    /// k × T coefficients on the standardised inputs.
    coef: Vec<f64>,
}

/// Solves the symmetric positive definite system `a x = b` (n × n, several
/// right-hand sides, row-major n × m) by Cholesky; `None` if not positive definite.
fn cholesky_solve(a: &[f64], n: usize, b: &[f64], m: usize) -> Option<Vec<f64>> {
    let l = crate::math::cholesky(a, n)?;
    let mut x = b.to_vec();
    let mut column = vec![0.0; n];
    for c in 0..m {
        (0..n).for_each(|i| column[i] = x[i * m + c]);
        crate::math::cholesky_solve(&l, n, &mut column);
        (0..n).for_each(|i| x[i * m + c] = column[i]);
    }
    Some(x)
}

impl Ridge {
    /// Standardisation of the chosen columns over `rows`: (mean, sd), sd 1 for constant columns.
    fn scaling(tm: &TaskMatrix, rows: &[usize], chosen: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let n = rows.len() as f64;
        chosen
            .iter()
            .map(|&t| {
                let mean = rows.iter().map(|&r| tm.at(r, t)).sum::<f64>() / n;
                let var = rows.iter().map(|&r| (tm.at(r, t) - mean).powi(2)).sum::<f64>() / n;
                (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
            })
            .unzip()
    }

    fn design(tm: &TaskMatrix, rows: &[usize], chosen: &[usize], mean: &[f64], sd: &[f64]) -> Vec<f64> {
        let k = chosen.len();
        let mut z = vec![0.0; rows.len() * k];
        for (r, &row) in rows.iter().enumerate() {
            for (c, &t) in chosen.iter().enumerate() {
                z[r * k + c] = (tm.at(row, t) - mean[c]) / sd[c];
            }
        }
        z
    }

    /// (ZᵀZ + αI) for the standardised design.
    fn gram(z: &[f64], n: usize, k: usize, alpha: f64) -> Vec<f64> {
        let mut g = vec![0.0; k * k];
        for r in 0..n {
            for a in 0..k {
                for b in 0..k {
                    g[a * k + b] += z[r * k + a] * z[r * k + b];
                }
            }
        }
        for a in 0..k {
            g[a * k + a] += alpha;
        }
        g
    }

    pub fn fit(tm: &TaskMatrix, rows: &[usize], chosen: &[usize], alpha: f64) -> Result<Ridge> {
        let (n, k, t) = (rows.len(), chosen.len(), tm.n_tasks());
        if n < 2 {
            return Err(Error::invalid("ridge regression needs at least 2 training models"));
        }
        let (mean, sd) = Ridge::scaling(tm, rows, chosen);
        let z = Ridge::design(tm, rows, chosen, &mean, &sd);
        let intercept: Vec<f64> = (0..t).map(|task| rows.iter().map(|&r| tm.at(r, task)).sum::<f64>() / n as f64).collect();
        let mut zty = vec![0.0; k * t];
        for (r, &row) in rows.iter().enumerate() {
            for a in 0..k {
                for task in 0..t {
                    zty[a * t + task] += z[r * k + a] * (tm.at(row, task) - intercept[task]);
                }
            }
        }
        let coef = if k == 0 {
            Vec::new()
        } else {
            cholesky_solve(&Ridge::gram(&z, n, k, alpha), k, &zty, t).ok_or_else(|| Error::invalid("the ridge system is singular: give a positive alpha"))?
        };
        Ok(Ridge { chosen: chosen.to_vec(), mean, sd, intercept, coef })
    }

    /// Predicted scores of every task for one model's row of `tm`.
    pub fn predict(&self, tm: &TaskMatrix, row: usize) -> Vec<f64> {
        let t = self.intercept.len();
        let mut y = self.intercept.clone();
        for (a, &task) in self.chosen.iter().enumerate() {
            let z = (tm.at(row, task) - self.mean[a]) / self.sd[a];
            for (c, y) in y.iter_mut().enumerate() {
                *y += z * self.coef[a * t + c];
            }
        }
        y
    }
}

/// The suite average a model's chosen scores imply: observed on the chosen
/// tasks, predicted elsewhere.
fn implied_average(tm: &TaskMatrix, row: usize, chosen: &[usize], predicted: &[f64]) -> f64 {
    let t = tm.n_tasks();
    (0..t).map(|task| if chosen.contains(&task) { tm.at(row, task) } else { predicted[task] }).sum::<f64>() / t as f64
}

/// Leave-one-model-out mean squared error of the suite average over `rows`
/// with `chosen`, exact from the hat matrix (standardisation fixed on `rows`).
pub fn loo_mse(tm: &TaskMatrix, rows: &[usize], chosen: &[usize], alpha: f64) -> f64 {
    let (n, k, t) = (rows.len(), chosen.len(), tm.n_tasks());
    // Only the unchosen tasks' mean carries error: target = Σ_unchosen y / T.
    let target: Vec<f64> = rows.iter().map(|&r| (0..t).filter(|c| !chosen.contains(c)).map(|c| tm.at(r, c)).sum::<f64>() / t as f64).collect();
    let mean_t = target.iter().sum::<f64>() / n as f64;
    let (mean, sd) = Ridge::scaling(tm, rows, chosen);
    let z = Ridge::design(tm, rows, chosen, &mean, &sd);
    let g = Ridge::gram(&z, n, k, alpha);
    // G⁻¹ Zᵀ (k × n) gives both the fitted values and the leverages.
    let mut zt = vec![0.0; k * n];
    for r in 0..n {
        for a in 0..k {
            zt[a * n + r] = z[r * k + a];
        }
    }
    let Some(w) = (if k == 0 { Some(Vec::new()) } else { cholesky_solve(&g, k, &zt, n) }) else { return f64::INFINITY };
    let mut beta = vec![0.0; k];
    for a in 0..k {
        beta[a] = (0..n).map(|r| w[a * n + r] * (target[r] - mean_t)).sum();
    }
    let mut sse = 0.0;
    for r in 0..n {
        let fitted = mean_t + (0..k).map(|a| z[r * k + a] * beta[a]).sum::<f64>();
        let h = 1.0 / n as f64 + (0..k).map(|a| z[r * k + a] * w[a * n + r]).sum::<f64>();
        let e = (target[r] - fitted) / (1.0 - h).max(1e-12);
        sse += e * e;
    }
    sse / n as f64
}

/// Beam search over subsets by LOO error; width 1 is greedy forward selection.
fn beam_search(tm: &TaskMatrix, rows: &[usize], k: usize, width: usize, alpha: f64) -> Vec<usize> {
    let t = tm.n_tasks();
    let mut beam: Vec<Vec<usize>> = vec![Vec::new()];
    for _ in 0..k {
        let mut candidates: Vec<(f64, Vec<usize>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for set in &beam {
            for task in 0..t {
                if set.contains(&task) {
                    continue;
                }
                let mut next = set.clone();
                next.push(task);
                let mut key = next.clone();
                key.sort_unstable();
                if !seen.insert(key) {
                    continue;
                }
                candidates.push((loo_mse(tm, rows, &next, alpha), next));
            }
        }
        candidates.sort_by(|a, b| {
            let (mut ka, mut kb) = (a.1.clone(), b.1.clone());
            ka.sort_unstable();
            kb.sort_unstable();
            a.0.total_cmp(&b.0).then(ka.cmp(&kb))
        });
        beam = candidates.into_iter().take(width.max(1)).map(|(_, s)| s).collect();
    }
    beam.into_iter().next().unwrap_or_default()
}

/// The task nearest each k-means centroid of the tasks' standardised score
/// vectors over `rows`.
fn cluster_tasks(tm: &TaskMatrix, rows: &[usize], k: usize, rng: &mut Rng) -> Vec<usize> {
    let t = tm.n_tasks();
    let points: Vec<Vec<f64>> = (0..t)
        .map(|task| {
            let v: Vec<f64> = rows.iter().map(|&r| tm.at(r, task)).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            v.iter().map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 }).collect()
        })
        .collect();
    let mut chosen = crate::select::cluster::k_means(&points, k, rng).medoids;
    // Coincident tasks can leave fewer distinct medoids: top up in order.
    chosen.sort_unstable();
    chosen.dedup();
    let mut task = 0;
    while chosen.len() < k && task < t {
        if !chosen.contains(&task) {
            chosen.push(task);
        }
        task += 1;
    }
    chosen
}

/// Chooses `options.k` tasks with `method`, looking only at `rows`.
pub fn choose(tm: &TaskMatrix, rows: &[usize], method: TaskMethod, options: &TaskOptions, rng: &mut Rng) -> Vec<usize> {
    let k = options.k;
    let mut chosen = match method {
        TaskMethod::Greedy => beam_search(tm, rows, k, 1, options.alpha),
        TaskMethod::Beam => beam_search(tm, rows, k, options.beam_width, options.alpha),
        TaskMethod::Cluster => cluster_tasks(tm, rows, k, rng),
        TaskMethod::Random => {
            let mut all: Vec<usize> = (0..tm.n_tasks()).collect();
            rng.shuffle(&mut all);
            all.truncate(k);
            all
        }
    };
    chosen.sort_unstable();
    chosen
}

#[derive(Debug, Clone, Serialize)]
pub struct CvScores {
    /// R² of the held-out models' suite averages (pooled over folds), per seed.
    pub r2: Interval,
    pub rmse: Interval,
    /// RMSE over held-out models × tasks not chosen.
    pub task_rmse: Interval,
    pub seeds: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    pub method: TaskMethod,
    pub k: usize,
    /// The tasks chosen on all models.
    pub tasks: Vec<String>,
    pub models: usize,
    pub n_tasks: usize,
    pub regression: String,
    /// Leave-one-model-out RMSE of the suite average with the chosen tasks, all models.
    pub loo_rmse: f64,
    pub folds: usize,
    /// The method under leave-models-out cross-validation.
    pub cv: CvScores,
    /// Random subsets of the same k, same folds and seeds.
    pub random: CvScores,
    /// How often each task was chosen across folds and seeds (method only).
    pub chosen_frequency: Vec<TaskFrequency>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskFrequency {
    pub task: String,
    pub fraction: f64,
}

/// (R², RMSE, task RMSE) of one seed's cross-validation.
type CvRun = (f64, f64, f64);

/// One seed's cross-validation, and the subsets chosen in its folds.
fn cv_once(tm: &TaskMatrix, method: TaskMethod, options: &TaskOptions, seed: u64) -> Result<(CvRun, Vec<Vec<usize>>)> {
    let n = tm.models.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(seed);
    rng.shuffle(&mut order);
    let mut truth = vec![0.0; n];
    let mut pred = vec![0.0; n];
    let (mut task_se, mut task_n) = (0.0, 0usize);
    let mut subsets = Vec::new();
    for f in 0..options.folds {
        let test: Vec<usize> = order.iter().enumerate().filter(|(p, _)| p % options.folds == f).map(|(_, &m)| m).collect();
        let train: Vec<usize> = order.iter().enumerate().filter(|(p, _)| p % options.folds != f).map(|(_, &m)| m).collect();
        let chosen = choose(tm, &train, method, options, &mut rng);
        let ridge = Ridge::fit(tm, &train, &chosen, options.alpha)?;
        for &row in &test {
            let y = ridge.predict(tm, row);
            pred[row] = implied_average(tm, row, &chosen, &y);
            truth[row] = (0..tm.n_tasks()).map(|c| tm.at(row, c)).sum::<f64>() / tm.n_tasks() as f64;
            for (c, yc) in y.iter().enumerate() {
                if !chosen.contains(&c) {
                    task_se += (yc - tm.at(row, c)).powi(2);
                    task_n += 1;
                }
            }
        }
        subsets.push(chosen);
    }
    let mean = truth.iter().sum::<f64>() / n as f64;
    let sst: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let sse: f64 = truth.iter().zip(&pred).map(|(t, p)| (t - p).powi(2)).sum();
    let r2 = if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN };
    let task_rmse = if task_n == 0 { 0.0 } else { (task_se / task_n as f64).sqrt() };
    Ok(((r2, metrics::rmse(&pred, &truth), task_rmse), subsets))
}

fn summarise(runs: &[CvRun]) -> CvScores {
    let col = |f: fn(&CvRun) -> f64| -> Interval { metrics::mean_ci(&runs.iter().map(f).collect::<Vec<_>>(), 0.95).into() };
    CvScores { r2: col(|r| r.0), rmse: col(|r| r.1), task_rmse: col(|r| r.2), seeds: runs.len() }
}

pub fn validate(tm: &TaskMatrix, options: &TaskOptions) -> Result<()> {
    let (n, t) = (tm.models.len(), tm.n_tasks());
    if options.k == 0 || options.k >= t {
        return Err(Error::invalid(format!("k = {} must be between 1 and {} (one less than the {t} tasks)", options.k, t.saturating_sub(1))));
    }
    if options.folds < 2 {
        return Err(Error::invalid("at least 2 folds are needed"));
    }
    if n < 2 * options.folds {
        return Err(Error::invalid(format!("{n} complete models are too few for {} folds (need at least 2 per fold)", options.folds)));
    }
    if !(options.alpha > 0.0 && options.alpha.is_finite()) {
        return Err(Error::invalid(format!("alpha {} must be a positive number", options.alpha)));
    }
    if options.beam_width == 0 {
        return Err(Error::invalid("beam width must be at least 1"));
    }
    Ok(())
}

/// Chooses tasks on all models and cross-validates the method against random subsets.
pub fn select_tasks(tm: &TaskMatrix, options: &TaskOptions) -> Result<TaskReport> {
    validate(tm, options)?;
    let seeds = options.seeds.max(RANDOM_SEEDS);
    let all: Vec<usize> = (0..tm.models.len()).collect();
    let chosen = choose(tm, &all, options.method, options, &mut Rng::new(options.seed));
    // Seeds run in parallel; each is deterministic on its own.
    let runs = crate::parallel::map(seeds, |s| -> Result<_> {
        let seed = options.seed.wrapping_add(s as u64);
        let (method, subsets) = cv_once(tm, options.method, options, seed)?;
        let (random, _) = cv_once(tm, TaskMethod::Random, options, seed)?;
        Ok((method, random, subsets))
    });
    let mut method_runs = Vec::new();
    let mut random_runs = Vec::new();
    let mut counts = vec![0usize; tm.n_tasks()];
    let mut total = 0usize;
    for run in runs {
        let (m, r, subsets) = run?;
        method_runs.push(m);
        random_runs.push(r);
        for s in subsets {
            total += 1;
            for t in s {
                counts[t] += 1;
            }
        }
    }
    let mut chosen_frequency: Vec<TaskFrequency> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(t, &c)| TaskFrequency { task: tm.tasks[t].clone(), fraction: c as f64 / total as f64 })
        .collect();
    chosen_frequency.sort_by(|a, b| b.fraction.total_cmp(&a.fraction).then(a.task.cmp(&b.task)));
    Ok(TaskReport {
        method: options.method,
        k: options.k,
        tasks: chosen.iter().map(|&t| tm.tasks[t].clone()).collect(),
        models: tm.models.len(),
        n_tasks: tm.n_tasks(),
        regression: format!(
            "ridge (alpha {}) from the chosen tasks' standardised scores to every task's score, intercept unpenalised; suite average = observed chosen + predicted others",
            options.alpha
        ),
        loo_rmse: loo_mse(tm, &all, &chosen, options.alpha).sqrt(),
        folds: options.folds,
        cv: summarise(&method_runs),
        random: summarise(&random_runs),
        chosen_frequency,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores driven by two latent factors; tasks 0 and 1 read them cleanly,
    /// the others are noisy mixtures.
    fn factor_matrix(n: usize, seed: u64) -> TaskMatrix {
        let mut rng = Rng::new(seed);
        let t = 8;
        let mut scores = Vec::with_capacity(n * t);
        for _ in 0..n {
            let (f1, f2) = (rng.normal(), rng.normal());
            for task in 0..t {
                let v = match task {
                    0 => f1 + 0.01 * rng.normal(),
                    1 => f2 + 0.01 * rng.normal(),
                    _ => (task as f64 / 8.0) * f1 + (1.0 - task as f64 / 8.0) * f2 + 0.5 * rng.normal(),
                };
                scores.push(50.0 + 10.0 * v);
            }
        }
        TaskMatrix { models: (0..n).map(|i| format!("m{i}")).collect(), tasks: (0..t).map(|i| format!("t{i}")).collect(), scores }
    }

    #[test]
    fn loo_from_the_hat_matrix_equals_refitting() {
        let tm = factor_matrix(30, 1);
        let rows: Vec<usize> = (0..30).collect();
        let chosen = [2usize, 5];
        let alpha = 0.7;
        // Brute force with the standardisation fixed on all rows, as loo_mse does.
        let (mean, sd) = Ridge::scaling(&tm, &rows, &chosen);
        let t = tm.n_tasks();
        let target: Vec<f64> = rows.iter().map(|&r| (0..t).filter(|c| !chosen.contains(c)).map(|c| tm.at(r, c)).sum::<f64>() / t as f64).collect();
        let mut sse = 0.0;
        for out in 0..30 {
            let train: Vec<usize> = rows.iter().copied().filter(|&r| r != out).collect();
            let z = Ridge::design(&tm, &train, &chosen, &mean, &sd);
            let y: Vec<f64> = train.iter().map(|&r| target[r]).collect();
            // Unpenalised intercept: centre z and y on the training rows.
            let n = train.len();
            let zm: Vec<f64> = (0..2).map(|a| (0..n).map(|r| z[r * 2 + a]).sum::<f64>() / n as f64).collect();
            let ym = y.iter().sum::<f64>() / n as f64;
            let zc: Vec<f64> = (0..n * 2).map(|p| z[p] - zm[p % 2]).collect();
            let g = Ridge::gram(&zc, n, 2, alpha);
            let zty: Vec<f64> = (0..2).map(|a| (0..n).map(|r| zc[r * 2 + a] * (y[r] - ym)).sum()).collect();
            let beta = cholesky_solve(&g, 2, &zty, 1).unwrap();
            let zo: Vec<f64> = (0..2).map(|a| (tm.at(out, chosen[a]) - mean[a]) / sd[a] - zm[a]).collect();
            let pred = ym + zo[0] * beta[0] + zo[1] * beta[1];
            sse += (target[out] - pred).powi(2);
        }
        let brute = sse / 30.0;
        let fast = loo_mse(&tm, &rows, &chosen, alpha);
        assert!((fast - brute).abs() < 1e-9 * brute.max(1.0), "{fast} vs {brute}");
    }

    #[test]
    fn beam_finds_the_exhaustive_optimum_and_both_searches_beat_random() {
        let tm = factor_matrix(60, 2);
        let rows: Vec<usize> = (0..60).collect();
        let mut best = (f64::INFINITY, vec![]);
        let mut all = Vec::new();
        for a in 0..8 {
            for b in a + 1..8 {
                for c in b + 1..8 {
                    let e = loo_mse(&tm, &rows, &[a, b, c], 1.0);
                    all.push(e);
                    if e < best.0 {
                        best = (e, vec![a, b, c]);
                    }
                }
            }
        }
        let options = TaskOptions { k: 3, method: TaskMethod::Beam, ..Default::default() };
        let beam = choose(&tm, &rows, TaskMethod::Beam, &options, &mut Rng::new(0));
        assert_eq!(beam, best.1);
        let greedy = choose(&tm, &rows, TaskMethod::Greedy, &options, &mut Rng::new(0));
        // Greedy can miss the optimum (that is what the beam is for) but beats
        // the typical subset.
        let g = loo_mse(&tm, &rows, &greedy, 1.0);
        all.sort_by(f64::total_cmp);
        assert!(g < all[all.len() / 4], "greedy {greedy:?} {g} vs best {best:?}");
        for method in [TaskMethod::Greedy, TaskMethod::Beam] {
            let r = select_tasks(&tm, &TaskOptions { method, ..options.clone() }).unwrap();
            assert!(r.cv.r2.mean > 0.8, "{:?}", r.cv);
            assert!(r.cv.rmse.mean < r.random.rmse.mean && r.cv.r2.mean > r.random.r2.mean, "method {:?} vs random {:?}", r.cv, r.random);
            assert_eq!(r.cv.seeds, RANDOM_SEEDS);
        }
    }

    #[test]
    fn cluster_picks_one_task_per_factor_and_is_deterministic() {
        let tm = factor_matrix(60, 3);
        let options = TaskOptions { k: 2, method: TaskMethod::Cluster, seeds: 20, ..Default::default() };
        let a = select_tasks(&tm, &options).unwrap();
        let b = select_tasks(&tm, &options).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        // Tasks 0–3 lean on f2 (weight ≥ 5/8 except 0), 4–7 on f1: one from each side.
        let idx: Vec<usize> = a.tasks.iter().map(|t| t[1..].parse().unwrap()).collect();
        let f1_heavy = |i: usize| i == 0 || i >= 5;
        assert!(f1_heavy(idx[0]) != f1_heavy(idx[1]), "{:?}", a.tasks);
    }

    #[test]
    fn bad_settings_are_refused() {
        let tm = factor_matrix(20, 4);
        for (options, message) in [
            (TaskOptions { k: 8, ..Default::default() }, "between 1 and 7"),
            (TaskOptions { k: 2, folds: 11, ..Default::default() }, "too few"),
            (TaskOptions { k: 2, alpha: 0.0, ..Default::default() }, "positive"),
        ] {
            let e = select_tasks(&tm, &options).unwrap_err().to_string();
            assert!(e.contains(message), "{e}");
        }
        assert!(TaskMethod::parse("best").is_err());
    }

    #[test]
    fn ridge_works_like_sklearn_on_bbh() {
        // tests/fixtures/golden/tasks_ridge.json from scripts/fixtures/make_tasks_golden.py.
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let csv = std::fs::read(repo.join("www/data/bbh/responses.csv")).unwrap();
        let m = crate::read::read_responses(&[crate::read::Input::new("bbh.csv", &csv)], &Default::default()).unwrap().matrix;
        let (tm, warnings) = TaskMatrix::from_matrix(&m);
        assert!(warnings.is_empty());
        let golden: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo.join("tests/fixtures/golden/tasks_ridge.json")).unwrap()).unwrap();
        assert_eq!(golden["tasks"].as_array().unwrap().len(), tm.n_tasks());
        for case in golden["cases"].as_array().unwrap() {
            let index = |name: &serde_json::Value| tm.models.iter().position(|x| x == name.as_str().unwrap()).unwrap();
            let train: Vec<usize> = case["train_models"].as_array().unwrap().iter().map(index).collect();
            let test: Vec<usize> = case["test_models"].as_array().unwrap().iter().map(index).collect();
            let chosen: Vec<usize> =
                case["chosen"].as_array().unwrap().iter().map(|t| tm.tasks.iter().position(|x| x == t.as_str().unwrap()).unwrap()).collect();
            let ridge = Ridge::fit(&tm, &train, &chosen, case["alpha"].as_f64().unwrap()).unwrap();
            for (r, &row) in test.iter().enumerate() {
                let ours = ridge.predict(&tm, row);
                for (c, want) in case["predictions"][r].as_array().unwrap().iter().enumerate() {
                    let want = want.as_f64().unwrap();
                    // The matrix stores scores (0–100) as f32 while sklearn read
                    // f64: inputs differ by ~1e-6, predictions by as much.
                    assert!((ours[c] - want).abs() < 1e-4, "model {row} task {c}: {} vs sklearn {want}", ours[c]);
                }
            }
        }
    }
}
