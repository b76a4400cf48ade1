//! The multidimensional 2PL end to end through the `benchsift` binary:
//! the documented JSON, exact round trips, determinism for a seed and any
//! thread count, and select/estimate on a multidimensional fit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use benchsift::irt::{FitJson, IrtFit};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn run(prefix: &[&str], args: &[&str]) -> Output {
    let mut command = match prefix.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(env!("CARGO_BIN_EXE_benchsift"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_benchsift")),
    };
    command.args(args).current_dir(repo()).output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const DATA: &str = "tests/fixtures/irt/synthetic_mirt2.csv";

fn without_threads(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap();
    v["backend"]["threads"] = Value::Null;
    v
}

#[test]
fn fit_with_dims_writes_arrays_and_round_trips_exactly() {
    let text = ok(run(&[], &["fit", DATA, "--dims", "3", "--seed", "5"]));
    let fit: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fit["irt"], "2pl");
    assert_eq!(fit["dims"], 3);
    assert_eq!(fit["method"], "gvem");
    assert!(fit["converged"].as_bool().unwrap());
    let items = fit["items"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    for item in items {
        assert_eq!(item["a"].as_array().unwrap().len(), 3);
        let (b, d) = (item["b"].as_f64().unwrap(), item["intercept"].as_f64().unwrap());
        let norm = item["a"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap().powi(2)).sum::<f64>().sqrt();
        assert!((b + d / norm).abs() < 1e-9, "b is MDIFF = -d/|a|");
    }
    let models = fit["models"].as_array().unwrap();
    assert_eq!(models.len(), 500);
    assert!(models.iter().all(|m| m["theta"].as_array().unwrap().len() == 3 && m["se"].as_array().unwrap().len() == 3));
    // Higher θ₁ means more correct answers.
    let loadings: f64 = items.iter().map(|i| i["a"][0].as_f64().unwrap()).sum();
    assert!(loadings > 0.0);

    // from_json then to_json gives the same text.
    let parsed: FitJson = serde_json::from_str(&text).unwrap();
    let again = serde_json::to_string_pretty(&IrtFit::from_json(parsed).unwrap().to_json()).unwrap() + "\n";
    assert!(again == text, "to_json(from_json(text)) differs from text");

    // Same seed: same bytes. Another seed: the same fit up to tolerance.
    assert!(ok(run(&[], &["fit", DATA, "--dims", "3", "--seed", "5"])) == text, "the same seed gave different output");
    let other: Value = serde_json::from_str(&ok(run(&[], &["fit", DATA, "--dims", "3", "--seed", "6"]))).unwrap();
    let intercepts = |f: &Value| f["items"].as_array().unwrap().iter().map(|i| i["intercept"].as_f64().unwrap()).collect::<Vec<_>>();
    let r = benchsift::metrics::pearson(&intercepts(&fit), &intercepts(&other));
    assert!(r > 0.999, "intercepts with seeds 5 and 6: r = {r}");
}

#[test]
fn multidimensional_fits_do_not_depend_on_the_thread_count() {
    if Command::new("taskset").arg("--version").output().is_err() {
        eprintln!("skipped: no taskset to pin the process to one core");
        return;
    }
    let many = ok(run(&[], &["fit", DATA, "--dims", "4"]));
    let one = ok(run(&["taskset", "-c", "0"], &["fit", DATA, "--dims", "4"]));
    let one_json: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one_json["backend"]["threads"], 1, "taskset pins to one core");
    assert!(without_threads(&many) == without_threads(&one), "one thread and many differ");
}

#[test]
fn select_and_estimate_use_a_multidimensional_fit() {
    let dir = std::env::temp_dir().join(format!("benchsift-cli-mirt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (fit, subset) = (dir.join("fit.json"), dir.join("subset.json"));
    ok(run(&[], &["fit", DATA, "--dims", "2", "-o", fit.to_str().unwrap()]));
    ok(run(&[], &["select", DATA, "--method", "irt-cluster", "--dims", "2", "--budget", "10", "--seed", "1", "-o", subset.to_str().unwrap()]));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&subset).unwrap()).unwrap();
    assert_eq!(s["items"].as_array().unwrap().len(), 10);
    let truth: Vec<f64> = {
        let text = std::fs::read_to_string(repo().join(DATA)).unwrap();
        text.lines().skip(1).map(|l| l.split(',').skip(1).map(|x| x.parse::<f64>().unwrap()).sum::<f64>() / 30.0).collect()
    };
    for estimator in ["irt", "pirt", "gpirt"] {
        let out = ok(run(&[], &["estimate", DATA, "--subset", subset.to_str().unwrap(), "--fit", fit.to_str().unwrap(), "--estimator", estimator]));
        let e: Value = serde_json::from_str(&out).unwrap();
        let models = e["models"].as_array().unwrap();
        assert_eq!(models.len(), 500);
        let mae = models.iter().zip(&truth).map(|(m, t)| (m["estimate"].as_f64().unwrap() - t).abs()).sum::<f64>() / 500.0;
        let covered = models.iter().zip(&truth).filter(|(m, t)| m["low"].as_f64().unwrap() <= **t && **t <= m["high"].as_f64().unwrap()).count();
        eprintln!("{estimator}: MAE {mae:.4}, coverage {covered}/500");
        assert!(mae < 0.1, "{estimator}: MAE {mae}");
        assert!(covered >= 400, "{estimator}: coverage {covered}/500");
    }
}

#[test]
fn bad_multidimensional_requests_are_refused() {
    let out = run(&[], &["fit", DATA, "--dims", "11"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 1 and 10 are supported"));
    let out = run(&[], &["fit", DATA, "--dims", "2", "--irt", "3pl"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("need the 2pl model"));
    let out = run(&[], &["fit", DATA, "--dims", "0"]);
    assert!(!out.status.success());
}
