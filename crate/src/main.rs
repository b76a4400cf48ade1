//! The `benchsift` command line: argument handling only; the work is in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use benchsift::read::Input;
use benchsift::{Dataset, DatasetFiles, LoadOptions};

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
    /// Fit an item response theory model: item parameters and model abilities.
    Fit {
        #[command(flatten)]
        data: DataArgs,
        /// The IRT model.
        #[arg(long, default_value = "2pl", value_parser = ["rasch", "1pl", "2pl", "3pl", "4pl", "beta"])]
        irt: String,
        /// Latent dimensions.
        #[arg(long, default_value_t = 1)]
        dims: usize,
        /// Seed, recorded in the output (the 1-D fit is deterministic).
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
        Command::Fit { data, irt, dims, seed, guess, scale, max_iterations, tolerance, verbose, quadrature_points, output } => {
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
            };
            let options = settings.to_options(&dataset.matrix).map_err(|e| e.to_string())?;
            let started = std::time::Instant::now();
            let mut last_report = started;
            let mut report = |p: &benchsift::irt::Progress| {
                // Long fits say what they are doing, at most twice a second.
                if verbose || last_report.elapsed().as_millis() >= 500 {
                    last_report = std::time::Instant::now();
                    eprintln!(
                        "fit: iteration {}/{}, log-likelihood {:.3}, largest change {:.2e}",
                        p.iteration, p.max_iterations, p.log_likelihood, p.max_change
                    );
                }
                true
            };
            let fitted = benchsift::irt::fit(&dataset.matrix, &options, &mut report).map_err(|e| e.to_string())?;
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

/// Files of one argument: the file itself, or every `.jsonl` under a folder
/// (lm-evaluation-harness output), sorted for a deterministic order.
fn expand(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
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

fn load(data: &DataArgs) -> Result<Dataset, String> {
    let mut paths = Vec::new();
    for p in &data.responses {
        expand(p, &mut paths)?;
    }
    let responses: Vec<(String, Vec<u8>)> = paths.iter().map(|p| read_file(p)).collect::<Result<_, _>>()?;
    let items = data.items.as_deref().map(read_file).transpose()?;
    let models = data.models.as_deref().map(read_file).transpose()?;
    let files = DatasetFiles {
        responses: responses.iter().map(|(n, b)| Input::new(n, b)).collect(),
        items: items.as_ref().map(|(n, b)| Input::new(n, b)),
        models: models.as_ref().map(|(n, b)| Input::new(n, b)),
    };
    let options = LoadOptions {
        format: data.format.clone(),
        metric: data.metric.clone(),
        filter: data.filter.clone(),
        ..LoadOptions::default()
    };
    Dataset::load(&files, &options).map_err(|e| e.to_string())
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
