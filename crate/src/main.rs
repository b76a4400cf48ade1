//! The `benchsift` command line: flags and files in, JSON out. Each
//! subcommand's options are its request type in `benchsift::commands`
//! (clap derives the flags from it); here are only the file arguments, the
//! output path, and what is said on standard error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use benchsift::commands::{self, Files, Role};
use benchsift::read::Input;
use benchsift::{Error, LoadOptions, Location, Result};

#[derive(Parser)]
#[command(name = "benchsift", version, about = "Sift an evaluation benchmark down to the items that matter.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise a response matrix: shape, missing cells, kind, mean, groups.
    Info(InfoArgs),
    /// Choose an informative subset of items.
    Select(SelectArgs),
    /// Estimate new models' full-benchmark scores from their subset answers.
    Estimate(EstimateArgs),
    /// Adaptive testing: from a fit and a model's answers so far, its ability
    /// and full score with intervals, and the most informative items to ask next.
    Adapt(AdaptArgs),
    /// Measure how well subsets recover held-out models' scores, against random subsets.
    Evaluate(EvaluateArgs),
    /// Find similar and duplicate items by cosine similarity of embeddings
    /// (or built-in hashed n-gram features of the item texts).
    Similar(SimilarArgs),
    /// SMART filtering: remove easy, likely contaminated and near-duplicate items.
    Filter(FilterArgs),
    /// Choose k tasks of a models × tasks matrix from which the suite average
    /// is best recovered (small-bench), cross-validated against random tasks.
    SelectTasks(SelectTasksArgs),
    /// Fit an item response theory model: item parameters and model abilities.
    Fit(FitArgs),
}

/// The response matrix's files and how to read them.
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
    #[command(flatten)]
    load: LoadOptions,
}

/// The selectors' side files.
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
    /// True full-benchmark scores when the matrix is only part of the
    /// benchmark: model,score, or a column per task named as in the items
    /// file's task column (model,arc,mmlu,...; the composite is their mean
    /// and ridge is fitted per task). Models without
    /// a score in every column are left out, with a warning. Adds theta-reg;
    /// calibrated and ridge are fitted on them too.
    #[arg(long)]
    truth: Option<PathBuf>,
}

#[derive(clap::Args)]
struct InfoArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Write the JSON here instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SelectArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    side: SideArgs,
    /// File with one training model id per line (default: all models).
    #[arg(long)]
    train_models: Option<PathBuf>,
    #[command(flatten)]
    request: commands::select::SelectRequest,
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct EstimateArgs {
    /// Responses of the models to estimate, on (some of) the subset's items.
    responses: PathBuf,
    /// The subset, as written by `benchsift select`.
    #[arg(long)]
    subset: PathBuf,
    /// An IRT fit of the whole benchmark (`benchsift fit`), for irt, pirt, gpirt.
    #[arg(long)]
    fit: Option<PathBuf>,
    #[command(flatten)]
    request: commands::estimate::EstimateRequest,
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct AdaptArgs {
    /// The item bank: a fit written by `benchsift fit` (one dimension).
    #[arg(long)]
    fit: PathBuf,
    /// The answers so far: a response file of one model (or name it with
    /// --model), or lm-evaluation-harness logs or folders of earlier rounds;
    /// none at the start.
    #[arg(long)]
    answers: Vec<PathBuf>,
    /// Items CSV: texts shown with the next items, groups for --balance.
    #[arg(long)]
    items: Option<PathBuf>,
    /// Also write the next items as an lm-evaluation-harness `--samples`
    /// file (item ids must be `<task>/<doc_id>`, as benchsift reads its logs).
    #[arg(long)]
    samples_out: Option<PathBuf>,
    #[command(flatten)]
    load: LoadOptions,
    #[command(flatten)]
    request: commands::adapt::AdaptRequest,
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct EvaluateArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    side: SideArgs,
    #[command(flatten)]
    request: commands::evaluate::EvaluateRequest,
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SimilarArgs {
    /// Item embeddings: .npy float32/float16 (N × D) with rows in items-file
    /// order, or JSON ([[…]], [{"id", "embedding"}], {"id": […]}), JSON Lines
    /// or CSV (an optional id column matches vectors to items by id).
    #[arg(long, required_unless_present = "items")]
    embeddings: Option<PathBuf>,
    /// Items CSV: ids (and texts, used when no --embeddings are given).
    #[arg(long)]
    items: Option<PathBuf>,
    #[command(flatten)]
    request: commands::similar::SimilarRequest,
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct FilterArgs {
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
    /// The models' responses to the same items prompted without their
    /// questions (answer options only): SMART's contamination test flags
    /// items the strongest of them answer correctly anyway.
    #[arg(long)]
    answer_only: Option<PathBuf>,
    #[command(flatten)]
    request: commands::filter::FilterRequest,
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SelectTasksArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    request: commands::tasks::SelectTasksRequest,
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct FitArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    request: commands::fit::FitRequest,
    /// Print every EM iteration to standard error.
    #[arg(long)]
    verbose: bool,
    /// Write the JSON here instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("benchsift: internal error ({info}); this is a bug, please report it with the input that caused it");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info(args) => info(args),
        Command::Select(args) => select(args),
        Command::Estimate(args) => estimate(args),
        Command::Adapt(args) => adapt(args),
        Command::Evaluate(args) => evaluate(args),
        Command::Similar(args) => similar(args),
        Command::Filter(args) => filter(args),
        Command::SelectTasks(args) => select_tasks(args),
        Command::Fit(args) => fit(args),
    }
}

fn info(args: InfoArgs) -> Result<()> {
    let mut files = FileSet::default();
    files.add_data(&args.data)?;
    let info = commands::info::run(&files.files(), &args.data.load, &Default::default())?;
    warn_all(&info.warnings);
    write_json(&info, args.output.as_deref())
}

fn select(args: SelectArgs) -> Result<()> {
    let mut files = FileSet::default();
    files.add_data(&args.data)?;
    files.add_side(&args.side)?;
    let mut request = args.request;
    if let Some(path) = &args.train_models {
        request.train_models = Some(model_list(path)?);
    }
    let (subset, warnings) = commands::select::run(&files.files(), &args.data.load, &request)?;
    warn_all(&warnings);
    let method = subset.method.as_str();
    if let Some(r) = subset.discrimination_reliability.filter(|&r| r < benchsift::select::reliability::LOW_RELIABILITY) {
        eprintln!(
            "warning: the items' discriminations are mostly noise on these {} training models (split-half reliability {r:.2}), and {method} ranks items by them; consider random, irt-cluster or --difficulty-strata, or more training models",
            subset.train_models
        );
    }
    if let Some(why) = &subset.guard_skipped {
        eprintln!("note: the random guard could not run ({why}); this is {method}'s own subset");
    }
    if let Some(g) = subset.guard.filter(|g| g.fell_back) {
        eprintln!(
            "note: on {} training models, cross-validated subsets chosen by {method} estimated full scores worse than random subsets of the same size (mean absolute error {} against {}), so this subset is a random one; --no-guard keeps {method}'s",
            subset.train_models,
            g.method_error.map_or("none: no estimate".to_string(), |e| format!("{e:.4}")),
            g.random_error.map_or("none".to_string(), |e| format!("{e:.4}")),
        );
    }
    write_json(&subset, args.output.as_deref())
}

fn estimate(args: EstimateArgs) -> Result<()> {
    let mut files = FileSet::default();
    files.add(Role::Responses, &args.responses)?;
    files.add(Role::Subset, &args.subset)?;
    if let Some(fit) = &args.fit {
        files.add(Role::Fit, fit)?;
    }
    let (estimates, warnings) = commands::estimate::run(&files.files(), &LoadOptions::default(), &args.request)?;
    warn_all(&warnings);
    write_json(&estimates, args.output.as_deref())
}

fn adapt(args: AdaptArgs) -> Result<()> {
    let mut files = FileSet::default();
    files.add(Role::Fit, &args.fit)?;
    for path in &args.answers {
        let mut paths = Vec::new();
        expand_logs(path, &mut paths)?;
        for p in paths {
            files.add(Role::Responses, &p)?;
        }
    }
    if let Some(items) = &args.items {
        files.add(Role::Items, items)?;
    }
    let (adaptation, warnings) = commands::adapt::run(&files.files(), &args.load, &args.request)?;
    warn_all(&warnings);
    if let Some(path) = &args.samples_out {
        let ids: Vec<&str> = adaptation.next.iter().map(|n| n.id.as_str()).collect();
        let samples = benchsift::read::lm_eval_samples(&ids)?;
        let text = serde_json::to_string_pretty(&samples).map_err(|e| benchsift::Error::invalid(e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| io_error(path, e))?;
        let tasks: Vec<&str> = samples.keys().map(String::as_str).collect();
        eprintln!(
            "adapt: wrote {} item(s) to {}; run: lm_eval --model <model> --tasks {} --samples {} --log_samples --output_path <round folder>",
            ids.len(),
            path.display(),
            tasks.join(","),
            path.display()
        );
    }
    write_json(&adaptation, args.output.as_deref())
}

fn evaluate(args: EvaluateArgs) -> Result<()> {
    let mut files = FileSet::default();
    files.add_data(&args.data)?;
    files.add_side(&args.side)?;
    let started = std::time::Instant::now();
    let mut report = |p: benchsift::evaluate::Progress| {
        if p.steps == 0 && started.elapsed().as_millis() >= 500 {
            eprintln!("evaluate: split {}/{} done after {:.1} s", p.splits_done, p.splits, started.elapsed().as_secs_f64());
        }
    };
    let (evaluation, warnings) = commands::evaluate::run(&files.files(), &args.data.load, &args.request, &mut report)?;
    warn_all(&warnings);
    write_json(&evaluation, args.output.as_deref())
}

fn similar(args: SimilarArgs) -> Result<()> {
    let mut files = FileSet::default();
    if let Some(items) = &args.items {
        files.add(Role::Items, items)?;
    }
    if let Some(embeddings) = &args.embeddings {
        files.add(Role::Embeddings, embeddings)?;
    }
    let files = files.files();
    #[cfg(feature = "gpu")]
    let report = {
        let input = commands::similar::input(&files)?;
        benchsift::gpu::similar_blocking(&input, args.request.top_k, args.request.threshold, args.request.backend)?
    };
    #[cfg(not(feature = "gpu"))]
    let report = commands::similar::run_cpu(&files, &args.request)?;
    write_json(&report, args.output.as_deref())
}

fn filter(args: FilterArgs) -> Result<()> {
    let mut files = FileSet::default();
    files.add_data(&args.data)?;
    if let Some(embeddings) = &args.embeddings {
        files.add(Role::Embeddings, embeddings)?;
    }
    if let Some(reference) = &args.reference_ranking {
        files.add(Role::Reference, reference)?;
    }
    if let Some(answers) = &args.answer_only {
        files.add(Role::AnswerOnly, answers)?;
    }
    let report = commands::filter::run(&files.files(), &args.data.load, &args.request)?;
    warn_all(&report.warnings);
    write_json(&report, args.output.as_deref())
}

fn select_tasks(args: SelectTasksArgs) -> Result<()> {
    let mut files = FileSet::default();
    files.add_data(&args.data)?;
    let report = commands::tasks::run(&files.files(), &args.data.load, &args.request)?;
    warn_all(&report.warnings);
    write_json(&report, args.output.as_deref())
}

fn fit(args: FitArgs) -> Result<()> {
    let mut files = FileSet::default();
    files.add_data(&args.data)?;
    let request = &args.request;
    let (dataset, options) = commands::fit::prepare(&files.files(), &args.data.load, request)?;
    warn_all(&dataset.warnings);
    let started = std::time::Instant::now();
    let mut last_report = started;
    let mut report = |p: &benchsift::irt::Progress| {
        // Long fits say what they are doing, at most twice a second.
        if args.verbose || last_report.elapsed().as_millis() >= 500 {
            last_report = std::time::Instant::now();
            eprintln!(
                "fit: iteration {}/{}, {} {:.3}, largest change {:.2e}",
                p.iteration,
                p.max_iterations,
                if request.dims > 1 { "bound + log prior" } else { "log-likelihood" },
                p.log_likelihood,
                p.max_change
            );
        }
        true
    };
    #[cfg(feature = "gpu")]
    let fitted = benchsift::gpu::irt::fit_blocking(&dataset.matrix, &options, request.backend, &mut report)?;
    #[cfg(not(feature = "gpu"))]
    let fitted = match request.backend {
        benchsift::backend::BackendChoice::Gpu => return Err(Error::invalid("this benchsift was built without the gpu feature")),
        _ => benchsift::irt::fit(&dataset.matrix, &options, &mut report).map(|mut f| {
            f.backend = benchsift::backend::Backend::cpu("this benchsift was built without the gpu feature");
            f
        })?,
    };
    if fitted.backend.reason.starts_with("the GPU failed") {
        eprintln!("warning: {}", fitted.backend.reason);
    }
    if started.elapsed().as_millis() >= 500 {
        eprintln!("fit: done in {:.1} s, {} iterations", started.elapsed().as_secs_f64(), fitted.iterations);
    }
    if !fitted.converged {
        eprintln!("warning: the fit stopped after {} iterations without converging (raise --max-iterations)", fitted.iterations);
    }
    write_json(&fitted.to_json(), args.output.as_deref())
}

/// The files of one command, read once: (role, name, bytes).
#[derive(Default)]
struct FileSet {
    files: Vec<(Role, String, Vec<u8>)>,
}

impl FileSet {
    fn files(&self) -> Files<'_> {
        let mut files = Files::new();
        for (role, name, bytes) in &self.files {
            files.push(*role, Input::new(name, bytes));
        }
        files
    }

    fn add(&mut self, role: Role, path: &Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
        self.files.push((role, path.display().to_string(), bytes));
        Ok(())
    }

    /// The responses (a folder: every `.jsonl` under it, lm-evaluation-harness
    /// output), items and models.
    fn add_data(&mut self, data: &DataArgs) -> Result<()> {
        for path in &data.responses {
            let mut paths = Vec::new();
            expand_logs(path, &mut paths)?;
            for p in paths {
                self.add(Role::Responses, &p)?;
            }
        }
        if let Some(items) = &data.items {
            self.add(Role::Items, items)?;
        }
        if let Some(models) = &data.models {
            self.add(Role::Models, models)?;
        }
        Ok(())
    }

    /// Metric scores (a folder: its tables in name order), outputs,
    /// embeddings and true scores.
    fn add_side(&mut self, side: &SideArgs) -> Result<()> {
        for path in &side.metric_scores {
            let mut paths = Vec::new();
            expand_tables(path, &mut paths)?;
            for p in paths {
                self.add(Role::Metric, &p)?;
            }
        }
        for (role, path) in [(Role::Outputs, &side.outputs), (Role::Embeddings, &side.embeddings), (Role::Truth, &side.truth)] {
            if let Some(path) = path {
                self.add(role, path)?;
            }
        }
        Ok(())
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::input(Location::file(&path.display().to_string()), e.to_string())
}

/// A folder's entries in name order (a deterministic order), or `None` when
/// `path` is a file.
fn folder_entries(path: &Path) -> Result<Option<Vec<PathBuf>>> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if !meta.is_dir() {
        return Ok(None);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path).map_err(|e| io_error(path, e))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    Ok(Some(entries))
}

/// A table file as is; a folder as its .csv/.tsv files (gzipped or not), in
/// name order.
fn expand_tables(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
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
        return Err(Error::input(Location::file(&path.display().to_string()), "a folder with no .csv or .tsv files"));
    }
    Ok(())
}

/// Files of one argument: the file itself, or every `.jsonl` under a folder
/// (lm-evaluation-harness output), sorted for a deterministic order.
fn expand_logs(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let Some(entries) = folder_entries(path)? else {
        out.push(path.to_path_buf());
        return Ok(());
    };
    let before = out.len();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if entry.is_dir() {
            expand_logs(&entry, out)?;
        } else if name.ends_with(".jsonl") || name.ends_with(".jsonl.gz") {
            out.push(entry);
        }
    }
    if out.len() == before {
        return Err(Error::input(Location::file(&path.display().to_string()), "a folder with no .jsonl files"));
    }
    Ok(())
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Model ids, one per line (blank lines skipped).
fn model_list(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    let ids: Vec<String> = text.lines().map(str::trim).filter(|id| !id.is_empty()).map(String::from).collect();
    if ids.is_empty() {
        return Err(Error::input(Location::file(&path.display().to_string()), "no model ids"));
    }
    Ok(ids)
}

fn write_json<T: serde::Serialize>(value: &T, output: Option<&Path>) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::invalid(format!("cannot write JSON: {e}")))?;
    text.push('\n');
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| io_error(path, e)),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes()).map_err(|e| Error::invalid(format!("cannot write to standard output: {e}")))
        }
    }
}
