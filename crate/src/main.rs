//! The `benchsift` command line: argument handling only; the work is in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use benchsift::read::Input;
use benchsift::{Dataset, DatasetFiles, LoadOptions, evaluate, select};

#[derive(Parser)]
#[command(name = "benchsift", version, about = "Sift an evaluation benchmark down to the items that matter.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DataArgs {
    /// Response matrix: wide CSV/TSV, long CSV (model,item,score), JSON, or
    /// lm-evaluation-harness samples_*.jsonl files or folders (gzip accepted).
    #[arg(required = true)]
    responses: Vec<PathBuf>,
    /// Items CSV: item_id[,text][,subject|task|group][,cost].
    #[arg(long)]
    items: Option<PathBuf>,
    /// Models CSV: model[,release_date].
    #[arg(long)]
    models: Option<PathBuf>,
    /// Layout of the responses (detected when absent).
    #[arg(long, value_parser = ["wide", "long", "json", "lm-eval"])]
    format: Option<String>,
    /// lm-evaluation-harness per-sample metric (acc, acc_norm, exact_match, ...).
    #[arg(long)]
    metric: Option<String>,
    /// lm-evaluation-harness filter to keep when a task logs several.
    #[arg(long)]
    filter: Option<String>,
}

#[derive(clap::Args)]
struct SideArgs {
    /// An automatic metric's scores (models × items, same item ids) for the
    /// metric-* methods (default: the responses). metric-avg/var/cons take
    /// one; metric-balance combines several: repeat the flag, or give a
    /// folder (its .csv/.tsv files, gzipped or not, in name order).
    #[arg(long)]
    metric_scores: Vec<PathBuf>,
    /// Model outputs (wide CSV of texts: model,<item ids…>) for `diversity`.
    #[arg(long)]
    outputs: Option<PathBuf>,
    /// Item embeddings for kcenter/dpp: .npy (N × D, rows in --items order),
    /// or JSON / JSON Lines / CSV, whose vectors may be named by item id
    /// (default: hashed text features of the items, else response vectors).
    #[arg(long)]
    embeddings: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise a response matrix: shape, missing cells, kind, mean, groups.
    Info {
        #[command(flatten)]
        data: DataArgs,
        /// Write the JSON here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Choose an informative subset of items.
    Select {
        #[command(flatten)]
        data: DataArgs,
        /// random, stratified, irt-info, irt-cluster, anchor-points, metric-avg,
        /// metric-var, metric-cons, diversity, kcenter, dpp or metabench.
        #[arg(long, default_value = "irt-cluster")]
        method: String,
        #[command(flatten)]
        side: SideArgs,
        /// True full-benchmark scores (model,score) for the theta-reg and calibrated
        /// lines (default: the training models' row means); makes an IRT fit.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// Number of items to choose.
        #[arg(long, conflicts_with = "cost_budget", required_unless_present = "cost_budget")]
        budget: Option<usize>,
        /// Total cost to spend instead (needs a cost column in --items).
        #[arg(long)]
        cost_budget: Option<f64>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Split the budget across item groups (subject/task) by size.
        #[arg(long)]
        stratify: bool,
        /// Also split by difficulty: this many equal bins of items by their
        /// mean score over the training models, the budget in proportion
        /// (0: off). Keeps ranking selectors (metric-var, metric-cons,
        /// metabench) representative for score estimates.
        #[arg(long, default_value_t = 0)]
        difficulty_strata: usize,
        /// Keep the method's subset even where cross-validation on the
        /// training models finds random subsets of the same size predict
        /// full scores better (by default it then falls back to a random
        /// subset and says so; see the subset file's `guard`).
        #[arg(long)]
        no_guard: bool,
        /// File with one training model id per line (default: all models).
        #[arg(long)]
        train_models: Option<PathBuf>,
        /// IRT model for the irt-* methods.
        #[arg(long, default_value = "2pl")]
        irt: String,
        /// Latent dimensions of that IRT fit (> 1: multidimensional 2PL;
        /// irt-cluster then clusters items on their loadings and intercept).
        #[arg(long, default_value_t = 1)]
        dims: usize,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Estimate new models' full-benchmark scores from their subset answers.
    Estimate {
        /// Responses of the models to estimate, on (some of) the subset's items.
        responses: PathBuf,
        /// The subset, as written by `benchsift select`.
        #[arg(long)]
        subset: PathBuf,
        /// An IRT fit of the whole benchmark (`benchsift fit`), for irt, pirt, gpirt.
        #[arg(long)]
        fit: Option<PathBuf>,
        /// mean, weighted, irt, pirt, gpirt, theta-reg, calibrated (the weighted
        /// mean through the subset file's line fitted on the training models) or
        /// ridge (that line plus a penalised weight per subset item).
        #[arg(long, default_value = "weighted")]
        estimator: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Measure how well subsets recover held-out models' scores, against random subsets.
    Evaluate {
        #[command(flatten)]
        data: DataArgs,
        /// True full-benchmark scores (model,score) when the matrix is only part of the
        /// benchmark (adds theta-reg; calibrated is fitted on them too).
        #[arg(long)]
        truth: Option<PathBuf>,
        /// Comma-separated methods (random is always included).
        #[arg(long, default_value = "random,stratified,irt-info,irt-cluster,anchor-points")]
        methods: String,
        #[command(flatten)]
        side: SideArgs,
        /// Comma-separated item budgets (default: 10,25,50,100,200,400, or 5-50% of small sets).
        #[arg(long)]
        budgets: Option<String>,
        /// K-fold split over models.
        #[arg(long, default_value_t = 5, conflicts_with_all = ["holdout", "newest"])]
        folds: usize,
        /// Hold out this fraction of models at random (per seed) instead.
        #[arg(long)]
        holdout: Option<f64>,
        /// Hold out the N newest models (needs --models with release dates) instead.
        #[arg(long)]
        newest: Option<usize>,
        /// Seeds per seeded method (random always gets at least 20).
        #[arg(long, default_value_t = 5)]
        seeds: usize,
        #[arg(long, default_value = "2pl")]
        irt: String,
        #[arg(long)]
        stratify: bool,
        /// Difficulty bins for every method but the random baseline (see
        /// `select --difficulty-strata`).
        #[arg(long, default_value_t = 0)]
        difficulty_strata: usize,
        /// Evaluate each method as published: no random guard (by default a
        /// method whose subsets predict the training models' scores worse
        /// than random ones, in cross-validation, falls back to random).
        #[arg(long)]
        no_guard: bool,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Find similar and duplicate items by cosine similarity of embeddings
    /// (or built-in hashed n-gram features of the item texts).
    Similar {
        /// Item embeddings: .npy float32/float16 (N × D) with rows in items-file
        /// order, or JSON ([[…]], [{"id", "embedding"}], {"id": […]}), JSON Lines
        /// or CSV (an optional id column matches vectors to items by id).
        #[arg(long, required_unless_present = "items")]
        embeddings: Option<PathBuf>,
        /// Items CSV: ids (and texts, used when no --embeddings are given).
        #[arg(long)]
        items: Option<PathBuf>,
        /// Neighbours per item (when no --threshold is given).
        #[arg(long, default_value_t = 10)]
        top_k: usize,
        /// Report every pair with at least this cosine instead.
        #[arg(long)]
        threshold: Option<f32>,
        /// auto: a real GPU for large inputs, else the CPU (the output's
        /// `backend` says which and why); cpu or gpu force one.
        #[arg(long, default_value = "auto", value_parser = ["auto", "cpu", "gpu"])]
        backend: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// SMART filtering: remove easy, likely contaminated and near-duplicate items.
    Filter {
        #[command(flatten)]
        data: DataArgs,
        /// Item embeddings (.npy with rows in items-file order, or JSON / JSON
        /// Lines / CSV named by item id) for the duplicate stage; without them
        /// the item texts' hashed n-grams are used.
        #[arg(long)]
        embeddings: Option<PathBuf>,
        /// External ranking (model,score or model,rank) to correlate with.
        #[arg(long)]
        reference_ranking: Option<PathBuf>,
        /// Skip the easy-item stage.
        #[arg(long)]
        no_easy: bool,
        /// Look at the K strongest models (by mean score; default all).
        #[arg(long)]
        easy_top_k: Option<usize>,
        /// Fraction of those models that must answer correctly.
        #[arg(long, default_value_t = 1.0)]
        easy_min_fraction: f64,
        /// IRT rule instead: predicted P(correct) at least this for each of them.
        #[arg(long)]
        easy_probability: Option<f64>,
        /// Fraction of the easy items to keep (the least easy ones).
        #[arg(long, default_value_t = 0.0)]
        easy_keep: f64,
        /// Skip the contamination stage.
        #[arg(long)]
        no_contamination: bool,
        /// Residual-correlation (Q3) threshold (default: from shuffled residuals).
        #[arg(long)]
        contamination_q3: Option<f64>,
        /// Items an item must share its residual pattern with.
        #[arg(long, default_value_t = 3)]
        contamination_neighbours: usize,
        /// Flag items whose items-file 'contamination' score is at least this.
        #[arg(long)]
        contamination_score_threshold: Option<f64>,
        /// Skip the near-duplicate stage.
        #[arg(long)]
        no_duplicates: bool,
        /// Cosine at or above which items are duplicates (default: from the data).
        #[arg(long)]
        duplicate_threshold: Option<f32>,
        /// IRT model fitted for the easy rule, the residuals and representatives.
        #[arg(long, default_value = "2pl")]
        irt: String,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Choose k tasks of a models × tasks matrix from which the suite average
    /// is best recovered (small-bench), cross-validated against random tasks.
    SelectTasks {
        #[command(flatten)]
        data: DataArgs,
        /// Number of tasks to choose.
        #[arg(long)]
        k: usize,
        /// greedy, beam, cluster or random.
        #[arg(long, default_value = "greedy")]
        method: String,
        /// Leave-models-out folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Cross-validation seeds (at least 20).
        #[arg(long, default_value_t = 20)]
        seeds: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Ridge penalty on the standardised chosen-task scores.
        #[arg(long, default_value_t = 1.0)]
        alpha: f64,
        /// Subsets kept per step by --method beam.
        #[arg(long, default_value_t = 5)]
        beam_width: usize,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Fit an item response theory model: item parameters and model abilities.
    Fit {
        #[command(flatten)]
        data: DataArgs,
        /// The IRT model.
        #[arg(long, default_value = "2pl", value_parser = ["rasch", "1pl", "2pl", "3pl", "4pl", "beta"])]
        irt: String,
        /// Latent dimensions: 1, or 2 to 10 for a multidimensional 2PL
        /// (Gaussian variational EM; loadings `a` and abilities `theta` become arrays).
        #[arg(long, default_value_t = 1)]
        dims: usize,
        /// Seed: the 1-D fit is deterministic; with --dims > 1 it picks the
        /// random start of the subspace iteration for starting abilities.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Fix every item's lower asymptote (3pl/4pl), e.g. 0.1 for ten options.
        #[arg(long)]
        guess: Option<f64>,
        /// How continuous scores are mapped into [0, 1].
        #[arg(long, default_value = "auto", value_parser = ["auto", "identity", "percent", "minmax"])]
        scale: String,
        /// EM iteration cap.
        #[arg(long, default_value_t = 500)]
        max_iterations: usize,
        /// Convergence tolerance on item parameters.
        #[arg(long, default_value_t = 1e-4)]
        tolerance: f64,
        /// Print every EM iteration to standard error.
        #[arg(long)]
        verbose: bool,
        /// Nodes of the latent grid on [-6, 6].
        #[arg(long, default_value_t = 121)]
        quadrature_points: usize,
        /// auto: the GPU's E- and M-step sums for binary data on a real GPU
        /// and a large matrix, else the CPU (the output's `backend` says which
        /// and why); cpu or gpu force one.
        #[arg(long, default_value = "auto", value_parser = ["auto", "cpu", "gpu"])]
        backend: String,
        /// Write the JSON here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("benchsift: internal error ({info}); this is a bug, please report it with the input that caused it");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Info { data, output } => {
            let dataset = load(&data)?;
            for w in &dataset.warnings {
                eprintln!("warning: {w}");
            }
            write_json(&benchsift::info::info(&dataset), output.as_deref())
        }
        Command::Select { data, method, side, truth, budget, cost_budget, seed, stratify, difficulty_strata, no_guard, train_models, irt, dims, output } => {
            let dataset = load(&data)?;
            warn_all(&dataset.warnings);
            let m = &dataset.matrix;
            let train = match train_models {
                None => (0..m.n_models()).collect(),
                Some(path) => model_list(&path, m)?,
            };
            let options = select::SelectOptions {
                method: select::Method::parse(&method).map_err(|e| e.to_string())?,
                budget: match (budget, cost_budget) {
                    (Some(n), _) => select::Budget::Items(n),
                    (None, Some(c)) => select::Budget::Cost(c),
                    (None, None) => return Err("give --budget or --cost-budget".into()),
                },
                seed,
                stratify,
                difficulty_strata,
                guard: !no_guard,
            };
            let irt = benchsift::irt::IrtModel::parse(&irt).map_err(|e| e.to_string())?;
            let side = load_side(&side, &data, m)?;
            let truth = read_truth(truth.as_deref(), m)?;
            let fit_options = benchsift::irt::FitOptions { model: irt, dims, tolerance: select::SELECTION_FIT_TOLERANCE, ..Default::default() };
            let subset = select::subset::select_subset_with(m, &train, &options, &fit_options, side.side(), truth.as_deref()).map_err(|e| e.to_string())?;
            if let Some(r) = subset.discrimination_reliability.filter(|&r| r < select::reliability::LOW_RELIABILITY) {
                eprintln!(
                    "warning: the items' discriminations are mostly noise on these {} training models (split-half reliability {r:.2}), and {} ranks items by them; consider random, irt-cluster or --difficulty-strata, or more training models",
                    train.len(),
                    options.method.as_str()
                );
            }
            if let Some(why) = &subset.guard_skipped {
                eprintln!("note: the random guard could not run ({why}); this is {}'s own subset", options.method.as_str());
            }
            if let Some(g) = subset.guard.filter(|g| g.fell_back) {
                eprintln!(
                    "note: on {} training models, cross-validated subsets chosen by {} estimated full scores worse than random subsets of the same size (mean absolute error {} against {}), so this subset is a random one; --no-guard keeps {}'s",
                    train.len(),
                    options.method.as_str(),
                    g.method_error.map_or("none: no estimate".to_string(), |e| format!("{e:.4}")),
                    g.random_error.map_or("none".to_string(), |e| format!("{e:.4}")),
                    options.method.as_str()
                );
            }
            write_json(&subset, output.as_deref())
        }
        Command::Similar { embeddings, items, top_k, threshold, backend, output } => {
            let items = items.as_deref().map(read_file).transpose()?;
            let embeddings = embeddings.as_deref().map(read_file).transpose()?;
            let backend = benchsift::backend::BackendChoice::parse(&backend).map_err(|e| e.to_string())?;
            let settings = benchsift::similar::SimilarSettings { top_k: Some(top_k), threshold, backend: Some(backend) };
            let items = items.as_ref().map(|(n, b)| Input::new(n, b));
            let embeddings = embeddings.as_ref().map(|(n, b)| Input::new(n, b));
            #[cfg(feature = "gpu")]
            let report = benchsift::gpu::similar_files_blocking(items.as_ref(), embeddings.as_ref(), &settings);
            #[cfg(not(feature = "gpu"))]
            let report = benchsift::similar::similar_files(items.as_ref(), embeddings.as_ref(), &settings);
            write_json(&report.map_err(|e| e.to_string())?, output.as_deref())
        }
        Command::Filter {
            data,
            embeddings,
            reference_ranking,
            no_easy,
            easy_top_k,
            easy_min_fraction,
            easy_probability,
            easy_keep,
            no_contamination,
            contamination_q3,
            contamination_neighbours,
            contamination_score_threshold,
            no_duplicates,
            duplicate_threshold,
            irt,
            seed,
            output,
        } => {
            let settings = benchsift::filter::FilterSettings {
                easy: Some(!no_easy),
                easy_top_k,
                easy_min_fraction: Some(easy_min_fraction),
                easy_probability,
                easy_keep: Some(easy_keep),
                contamination: Some(!no_contamination),
                contamination_q3,
                contamination_neighbours: Some(contamination_neighbours),
                contamination_score_threshold,
                seed: Some(seed),
                duplicates: Some(!no_duplicates),
                duplicate_threshold,
                irt: Some(irt),
            };
            let files = read_data(&data)?;
            let embeddings = embeddings.as_deref().map(read_file).transpose()?;
            let reference = reference_ranking.as_deref().map(read_file).transpose()?;
            let extra = benchsift::filter::FilterFiles {
                embeddings: embeddings.as_ref().map(|(n, b)| Input::new(n, b)),
                reference: reference.as_ref().map(|(n, b)| Input::new(n, b)),
            };
            let report = benchsift::filter::filter_files(&files.as_files(), &load_options(&data), &extra, &settings).map_err(|e| e.to_string())?;
            warn_all(&report.warnings);
            write_json(&report, output.as_deref())
        }
        Command::SelectTasks { data, k, method, folds, seeds, seed, alpha, beam_width, output } => {
            let settings = benchsift::tasks::TaskSettings {
                k: Some(k),
                method: Some(method),
                folds: Some(folds),
                seeds: Some(seeds),
                seed: Some(seed),
                alpha: Some(alpha),
                beam_width: Some(beam_width),
            };
            let files = read_data(&data)?;
            let report = benchsift::tasks::select_tasks_files(&files.as_files(), &load_options(&data), &settings).map_err(|e| e.to_string())?;
            warn_all(&report.warnings);
            write_json(&report, output.as_deref())
        }
        Command::Estimate { responses, subset, fit, estimator, output } => estimate(&responses, &subset, fit.as_deref(), &estimator, output.as_deref()),
        Command::Evaluate { data, truth, methods, side, budgets, folds, holdout, newest, seeds, irt, stratify, difficulty_strata, no_guard, output } => {
            let dataset = load(&data)?;
            warn_all(&dataset.warnings);
            let m = &dataset.matrix;
            let truth = read_truth(truth.as_deref(), m)?;
            let side = load_side(&side, &data, m)?;
            let methods =
                methods.split(',').filter(|s| !s.trim().is_empty()).map(select::Method::parse).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
            let budgets: Vec<usize> = match budgets {
                Some(list) => list
                    .split(',')
                    .map(|b| b.trim().parse::<usize>().map_err(|_| format!("budget '{}' is not a whole number", b.trim())))
                    .collect::<Result<_, _>>()?,
                None => evaluate::default_budgets(m.n_items()),
            };
            let split = match (holdout, newest) {
                (Some(f), _) => {
                    if !(f > 0.0 && f < 1.0) {
                        return Err(format!("--holdout {f} must be between 0 and 1"));
                    }
                    evaluate::Split::Holdout(f)
                }
                (None, Some(n)) => evaluate::Split::Newest(n),
                (None, None) => evaluate::Split::KFold(folds),
            };
            let options = evaluate::EvaluateOptions {
                methods,
                budgets,
                split,
                seeds,
                irt: benchsift::irt::IrtModel::parse(&irt).map_err(|e| e.to_string())?,
                stratify,
                difficulty_strata,
                guard: !no_guard,
                truth,
                side,
            };
            let started = std::time::Instant::now();
            let mut report = |done: usize, total: usize| {
                if started.elapsed().as_millis() >= 500 {
                    eprintln!("evaluate: split {done}/{total} done after {:.1} s", started.elapsed().as_secs_f64());
                }
            };
            let result = evaluate::evaluate(m, &options, &mut report).map_err(|e| e.to_string())?;
            write_json(&result, output.as_deref())
        }
        Command::Fit { data, irt, dims, seed, guess, scale, max_iterations, tolerance, verbose, quadrature_points, backend, output } => {
            let backend = benchsift::backend::BackendChoice::parse(&backend).map_err(|e| e.to_string())?;
            let dataset = load(&data)?;
            for w in &dataset.warnings {
                eprintln!("warning: {w}");
            }
            let settings = benchsift::irt::FitSettings {
                irt: Some(irt),
                dims: Some(dims),
                seed: Some(seed),
                guess,
                scale: Some(scale),
                max_iterations: Some(max_iterations),
                tolerance: Some(tolerance),
                quadrature_points: Some(quadrature_points),
                backend: Some(backend),
            };
            let options = settings.to_options(&dataset.matrix).map_err(|e| e.to_string())?;
            let started = std::time::Instant::now();
            let mut last_report = started;
            let mut report = |p: &benchsift::irt::Progress| {
                // Long fits say what they are doing, at most twice a second.
                if verbose || last_report.elapsed().as_millis() >= 500 {
                    last_report = std::time::Instant::now();
                    eprintln!(
                        "fit: iteration {}/{}, {} {:.3}, largest change {:.2e}",
                        p.iteration,
                        p.max_iterations,
                        if dims > 1 { "bound + log prior" } else { "log-likelihood" },
                        p.log_likelihood,
                        p.max_change
                    );
                }
                true
            };
            #[cfg(feature = "gpu")]
            let fitted = benchsift::gpu::irt::fit_blocking(&dataset.matrix, &options, backend, &mut report);
            #[cfg(not(feature = "gpu"))]
            let fitted = match backend {
                benchsift::backend::BackendChoice::Gpu => Err(benchsift::Error::invalid("this benchsift was built without the gpu feature")),
                _ => benchsift::irt::fit(&dataset.matrix, &options, &mut report).map(|mut f| {
                    f.backend = benchsift::backend::Backend::cpu("this benchsift was built without the gpu feature");
                    f
                }),
            };
            let fitted = fitted.map_err(|e| e.to_string())?;
            if fitted.backend.reason.starts_with("the GPU failed") {
                eprintln!("warning: {}", fitted.backend.reason);
            }
            if started.elapsed().as_millis() >= 500 {
                eprintln!("fit: done in {:.1} s, {} iterations", started.elapsed().as_secs_f64(), fitted.iterations);
            }
            if !fitted.converged {
                eprintln!("warning: the fit stopped after {} iterations without converging (raise --max-iterations)", fitted.iterations);
            }
            write_json(&fitted.to_json(), output.as_deref())
        }
    }
}

/// A folder's entries in name order (a deterministic order), or `None` when
/// `path` is a file.
fn folder_entries(path: &Path) -> Result<Option<Vec<PathBuf>>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_dir() {
        return Ok(None);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    Ok(Some(entries))
}

/// A table file as is; a folder as its .csv/.tsv files (gzipped or not), in
/// name order.
fn expand_tables(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let Some(entries) = folder_entries(path)? else {
        out.push(path.to_path_buf());
        return Ok(());
    };
    let before = out.len();
    out.extend(entries.into_iter().filter(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        p.is_file() && [".csv", ".csv.gz", ".tsv", ".tsv.gz"].iter().any(|ext| name.ends_with(ext))
    }));
    if out.len() == before {
        return Err(format!("{}: a folder with no .csv or .tsv files", path.display()));
    }
    Ok(())
}

/// Files of one argument: the file itself, or every `.jsonl` under a folder
/// (lm-evaluation-harness output), sorted for a deterministic order.
fn expand(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let Some(entries) = folder_entries(path)? else {
        out.push(path.to_path_buf());
        return Ok(());
    };
    let before = out.len();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if entry.is_dir() {
            expand(&entry, out)?;
        } else if name.ends_with(".jsonl") || name.ends_with(".jsonl.gz") {
            out.push(entry);
        }
    }
    if out.len() == before {
        return Err(format!("{}: a folder with no .jsonl files", path.display()));
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<(String, Vec<u8>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path.display().to_string(), bytes))
}

/// The bytes of a dataset's files, read once.
struct DataBytes {
    responses: Vec<(String, Vec<u8>)>,
    items: Option<(String, Vec<u8>)>,
    models: Option<(String, Vec<u8>)>,
}

impl DataBytes {
    fn as_files(&self) -> DatasetFiles<'_> {
        DatasetFiles {
            responses: self.responses.iter().map(|(n, b)| Input::new(n, b)).collect(),
            items: self.items.as_ref().map(|(n, b)| Input::new(n, b)),
            models: self.models.as_ref().map(|(n, b)| Input::new(n, b)),
        }
    }
}

fn read_data(data: &DataArgs) -> Result<DataBytes, String> {
    let mut paths = Vec::new();
    for p in &data.responses {
        expand(p, &mut paths)?;
    }
    Ok(DataBytes {
        responses: paths.iter().map(|p| read_file(p)).collect::<Result<_, _>>()?,
        items: data.items.as_deref().map(read_file).transpose()?,
        models: data.models.as_deref().map(read_file).transpose()?,
    })
}

fn load_options(data: &DataArgs) -> LoadOptions {
    LoadOptions { format: data.format.clone(), metric: data.metric.clone(), filter: data.filter.clone(), ..LoadOptions::default() }
}

fn load(data: &DataArgs) -> Result<Dataset, String> {
    let bytes = read_data(data)?;
    Dataset::load(&bytes.as_files(), &load_options(data)).map_err(|e| e.to_string())
}

fn read_truth(path: Option<&Path>, m: &benchsift::ResponseMatrix) -> Result<Option<Vec<f64>>, String> {
    let Some(path) = path else { return Ok(None) };
    let (name, bytes) = read_file(path)?;
    benchsift::read::read_truth(&Input::new(&name, &bytes), m, u64::MAX).map(Some).map_err(|e| e.to_string())
}

fn load_side(side: &SideArgs, data: &DataArgs, m: &benchsift::ResponseMatrix) -> Result<select::SideData, String> {
    let mut metric_paths = Vec::new();
    for p in &side.metric_scores {
        expand_tables(p, &mut metric_paths)?;
    }
    let metrics = metric_paths.iter().map(|p| read_file(p)).collect::<Result<Vec<_>, _>>()?;
    let metric_inputs: Vec<Input> = metrics.iter().map(|(n, b)| Input::new(n, b)).collect();
    let outputs = side.outputs.as_deref().map(read_file).transpose()?;
    let embeddings = side.embeddings.as_deref().map(read_file).transpose()?;
    let items = match (&embeddings, data.items.as_deref()) {
        (Some(_), Some(path)) => Some(read_file(path)?),
        _ => None,
    };
    select::SideData::load(
        m,
        &metric_inputs,
        outputs.as_ref().map(|(n, b)| Input::new(n, b)).as_ref(),
        embeddings.as_ref().map(|(n, b)| Input::new(n, b)).as_ref(),
        items.as_ref().map(|(n, b)| Input::new(n, b)).as_ref(),
    )
    .map_err(|e| e.to_string())
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Model ids, one per line, as indices into the matrix.
fn model_list(path: &Path, m: &benchsift::ResponseMatrix) -> Result<Vec<usize>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let id = line.trim();
        if id.is_empty() {
            continue;
        }
        let j =
            m.model_ids().iter().position(|x| x == id).ok_or_else(|| format!("{}, line {}: model '{id}' is not in the responses", path.display(), n + 1))?;
        out.push(j);
    }
    if out.is_empty() {
        return Err(format!("{}: no model ids", path.display()));
    }
    Ok(out)
}

fn estimate(responses: &Path, subset: &Path, fit: Option<&Path>, estimator: &str, output: Option<&Path>) -> Result<(), String> {
    let estimator = benchsift::estimate::Estimator::parse(estimator).map_err(|e| e.to_string())?;
    let subset: select::subset::SubsetJson = serde_json::from_slice(&std::fs::read(subset).map_err(|e| format!("{}: {e}", subset.display()))?)
        .map_err(|e| format!("{}: not a subset file: {e}", subset.display()))?;
    let fit = match fit {
        Some(path) => {
            let json: benchsift::irt::FitJson = serde_json::from_slice(&std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?)
                .map_err(|e| format!("{}: not a fit file: {e}", path.display()))?;
            Some(benchsift::irt::IrtFit::from_json(json).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None if estimator.needs_irt() => return Err(format!("the {} estimator needs --fit model.json", estimator.as_str())),
        None => None,
    };
    let (name, bytes) = read_file(responses)?;
    let loaded = benchsift::read::read_responses(&[Input::new(&name, &bytes)], &Default::default()).map_err(|e| e.to_string())?;
    warn_all(&loaded.warnings);
    let estimates = benchsift::select::subset::estimate_matrix(&subset, fit.as_ref(), &loaded.matrix, estimator).map_err(|e| format!("{name}: {e}"))?;
    write_json(&estimates, output)
}

fn write_json<T: serde::Serialize>(value: &T, output: Option<&Path>) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| format!("cannot write JSON: {e}"))?;
    text.push('\n');
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes()).map_err(|e| format!("cannot write to standard output: {e}"))
        }
    }
}
