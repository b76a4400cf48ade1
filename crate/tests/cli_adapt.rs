//! `benchsift adapt` end to end: a fit of simulated 2PL models, then a new
//! model tested in rounds through the CLI as a user would (answers file in,
//! state and next items out), the lm-evaluation-harness `--samples` file,
//! `evaluate --methods adaptive`, and the errors.
#![allow(clippy::disallowed_methods)] // std's elementary functions are fine in tests (see clippy.toml)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

fn benchsift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_benchsift")).args(args).output().unwrap()
}

fn json(args: &[&str]) -> Value {
    let out = benchsift(args);
    assert!(out.status.success(), "benchsift {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Fits `responses` into `dir`/fit.json; returns its path.
fn fit_into(dir: &Path, responses: &str, name: &str) -> String {
    let fit = dir.join(name).display().to_string();
    let out = benchsift(&["fit", responses, "-o", &fit]);
    assert!(out.status.success(), "fit failed: {}", String::from_utf8_lossy(&out.stderr));
    fit
}

fn refused(args: &[&str]) -> String {
    let out = benchsift(args);
    assert!(!out.status.success(), "benchsift {args:?} unexpectedly succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("benchsift-adapt-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// SplitMix64: a seeded stream for the simulated matrix.
struct Stream(u64);

impl Stream {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 200 models × 120 items of a 2PL (item ids `arc/<k>`, as lm-evaluation-
/// harness logs name them), and a 201st model of ability 1 answering every
/// item: (matrix CSV, that model's answers).
fn simulated() -> (String, Vec<u8>) {
    let mut s = Stream(11);
    let items: Vec<(f64, f64)> = (0..120).map(|_| (0.6 + 1.2 * s.uniform(), 4.0 * s.uniform() - 2.0)).collect();
    let mut csv = format!("model,{}\n", (0..120).map(|k| format!("arc/{k}")).collect::<Vec<_>>().join(","));
    let answer =
        |theta: f64, s: &mut Stream| -> Vec<u8> { items.iter().map(|&(a, b)| u8::from(s.uniform() < 1.0 / (1.0 + (-a * (theta - b)).exp()))).collect() };
    for j in 0..200 {
        let theta = 4.0 * s.uniform() - 2.0;
        let row: Vec<String> = answer(theta, &mut s).iter().map(u8::to_string).collect();
        csv.push_str(&format!("m{j},{}\n", row.join(",")));
    }
    (csv, answer(1.0, &mut s))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_new_model_is_tested_in_rounds_until_its_se_is_reached() {
    let dir = temp_dir();
    let (csv, new_model) = simulated();
    let responses = write(&dir, "responses.csv", &csv);
    let fit = fit_into(&dir, &responses, "fit.json");
    let items = write(&dir, "items.csv", &format!("item_id,text\n{}", (0..120).map(|k| format!("arc/{k},Question {k}\n")).collect::<String>()));
    // Round 0: no answers yet.
    let start = json(&["adapt", "--fit", &fit, "--items", &items, "--batch", "4", "--target-se", "0.35"]);
    assert_eq!(start["state"]["itemsUsed"], 0);
    assert_eq!(start["state"]["se"], 1.0);
    assert_eq!(start["next"].as_array().unwrap().len(), 4);
    assert_eq!(start["next"][0]["text"].as_str().unwrap(), format!("Question {}", start["next"][0]["id"].as_str().unwrap().trim_start_matches("arc/")));
    // Answer each round's items and ask again, as a user would.
    let mut answers: Vec<(String, u8)> = Vec::new();
    let mut round = start;
    let mut rounds = 0;
    while round["state"]["stopped"].is_null() {
        for item in round["next"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_string();
            assert!(!answers.iter().any(|a| a.0 == id), "{id} was asked twice");
            let k: usize = id.trim_start_matches("arc/").parse().unwrap();
            answers.push((id, new_model[k]));
        }
        let file = write(&dir, "answers.csv", &format!("item,score,model\n{}", answers.iter().map(|(i, x)| format!("{i},{x},new\n")).collect::<String>()));
        round = json(&["adapt", "--fit", &fit, "--answers", &file, "--batch", "4", "--target-se", "0.35"]);
        assert_eq!(round["state"]["itemsUsed"].as_u64().unwrap() as usize, answers.len());
        assert_eq!(round["history"].as_array().unwrap().len(), answers.len() + 1);
        assert_eq!(round["model"], "new");
        rounds += 1;
        assert!(rounds < 30, "never stopped: {round}");
    }
    let state = &round["state"];
    assert_eq!(state["stopped"], "target-se");
    assert!(state["se"].as_f64().unwrap() <= 0.35);
    // θ near the simulated 1.0, and the score interval holds the model's true mean.
    let theta = state["theta"].as_f64().unwrap();
    assert!((theta - 1.0).abs() < 0.8, "θ {theta}");
    let truth = new_model.iter().map(|&x| f64::from(x)).sum::<f64>() / 120.0;
    let (low, high) = (state["score"]["low"].as_f64().unwrap(), state["score"]["high"].as_f64().unwrap());
    assert!(low <= truth && truth <= high, "{truth} outside [{low}, {high}]");
    assert!(round["next"].as_array().unwrap().is_empty());
    assert!(answers.len() < 60, "{} items for SE 0.35", answers.len());
}

#[test]
fn the_next_batch_is_written_as_an_lm_eval_samples_file() {
    let dir = temp_dir();
    let (csv, _) = simulated();
    let responses = write(&dir, "responses.csv", &csv);
    let fit = fit_into(&dir, &responses, "fit.json");
    let samples = dir.join("samples.json");
    let out = json(&["adapt", "--fit", &fit, "--batch", "6", "--samples-out", samples.to_str().unwrap()]);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&samples).unwrap()).unwrap();
    let mut want: Vec<u64> = out["next"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()[4..].parse().unwrap()).collect();
    want.sort_unstable();
    assert_eq!(written, serde_json::json!({ "arc": want }));
    // Ids that are not document indices cannot be: a clear error, no file.
    let plain = write(&dir, "plain.csv", "model,q1,q2,q3\nA,1,0,1\nB,0,0,1\nC,1,1,1\nD,0,1,0\n");
    let plain_fit = fit_into(&dir, &plain, "plain_fit.json");
    let e = refused(&["adapt", "--fit", &plain_fit, "--samples-out", dir.join("no.json").to_str().unwrap()]);
    assert!(e.contains("are not lm-evaluation-harness document indices ('q"), "{e}");
    assert!(!dir.join("no.json").exists());
}

#[test]
fn bad_requests_are_refused_saying_what_is_wrong() {
    let dir = temp_dir();
    let (csv, _) = simulated();
    let responses = write(&dir, "responses.csv", &csv);
    let fit = fit_into(&dir, &responses, "fit.json");
    // The matrix holds 200 models: whose answers?
    let e = refused(&["adapt", "--fit", &fit, "--answers", &responses]);
    assert!(e.contains("the answers hold 200 models ('m0', 'm1', 'm2', …): name one with --model"), "{e}");
    let one = json(&["adapt", "--fit", &fit, "--answers", &responses, "--model", "m7"]);
    assert_eq!(one["state"]["itemsUsed"], 120);
    assert_eq!(one["state"]["stopped"], "bank-exhausted");
    // A replay runs the recorded model through the test until it stops.
    let replayed = json(&["adapt", "--fit", &fit, "--answers", &responses, "--model", "m7", "--replay", "--target-se", "0.4"]);
    assert_eq!(replayed["state"]["stopped"], "target-se");
    let used = replayed["state"]["itemsUsed"].as_u64().unwrap() as usize;
    assert!(used > 3 && used < 60, "{used}");
    assert_eq!(replayed["history"].as_array().unwrap().len(), used + 1);
    let row: Vec<&str> = csv.lines().find(|l| l.starts_with("m7,")).unwrap().split(',').skip(1).collect();
    for a in replayed["answers"].as_array().unwrap() {
        let k: usize = a["id"].as_str().unwrap()[4..].parse().unwrap();
        assert_eq!(a["score"].as_f64().unwrap(), row[k].parse::<f64>().unwrap());
    }
    let e = refused(&["adapt", "--fit", &fit, "--answers", &responses, "--model", "m7", "--replay"]);
    assert!(e.contains("a replay needs a stop rule"), "{e}");
    let e = refused(&["adapt", "--fit", &fit, "--answers", &responses, "--model", "nobody"]);
    assert!(e.contains("model 'nobody' is not in the answers"), "{e}");
    let e = refused(&["adapt", "--fit", &fit, "--exclude", "arc/1,nope"]);
    assert!(e.contains("excluded item 'nope' is not in the fit"), "{e}");
    let e = refused(&["adapt", "--fit", &fit, "--balance"]);
    assert!(e.contains("content balancing needs item groups"), "{e}");
    let bad = write(&dir, "bad.csv", "model,arc/3\nnew,1.5\n");
    let e = refused(&["adapt", "--fit", &fit, "--answers", &bad]);
    assert!(e.contains("bad.csv") && e.contains("outside"), "{e}");
    let e = refused(&["adapt", "--fit", &fit, "--theta", "mle"]);
    assert!(e.contains("unknown θ method 'mle': expected eap or map"), "{e}");
    let e = refused(&["adapt", "--fit", &responses]);
    assert!(e.contains("not a fit file"), "{e}");
    let e = refused(&["select", &responses, "--method", "adaptive", "--budget", "5"]);
    assert!(e.contains("adaptive chooses each model's items as it answers"), "{e}");
}

#[test]
fn evaluate_replays_held_out_models_through_adaptive_tests() {
    let dir = temp_dir();
    let (csv, _) = simulated();
    let responses = write(&dir, "responses.csv", &csv);
    let out = json(&["evaluate", &responses, "--methods", "random,adaptive", "--budgets", "10,20", "--seeds", "2", "--target-se", "0.4"]);
    let rows = out["results"].as_array().unwrap();
    let mae = |method: &str, estimator: &str, budget: u64| {
        rows.iter().find(|r| r["method"] == method && r["estimator"] == estimator && r["budget"] == budget).unwrap()["mae"]["mean"].as_f64().unwrap()
    };
    for budget in [10, 20] {
        // On a true 2PL, adaptive items beat random ones for the same estimator.
        assert!(mae("adaptive", "pirt", budget) < mae("random", "pirt", budget), "budget {budget}");
        assert!(rows.iter().any(|r| r["method"] == "adaptive" && r["estimator"] == "irt" && r["budget"] == budget));
    }
    // With half the items at random, or the share chosen by cross-validation.
    let half = json(&["evaluate", &responses, "--methods", "adaptive", "--budgets", "20", "--seeds", "1", "--explore", "0.5"]);
    let row = half["results"].as_array().unwrap().iter().find(|r| r["method"] == "adaptive" && r["estimator"] == "pirt").unwrap().clone();
    assert_eq!(row["explore"], 0.5);
    let auto = json(&["evaluate", &responses, "--methods", "adaptive", "--budgets", "20", "--seeds", "1", "--explore", "auto"]);
    let share = auto["results"].as_array().unwrap().iter().find(|r| r["method"] == "adaptive").unwrap()["explore"].as_f64().unwrap();
    assert!((0.0..=0.5).contains(&share), "{share}");
    let e = refused(&["evaluate", &responses, "--methods", "adaptive", "--explore", "1.5"]);
    assert!(e.contains("explore '1.5' must be auto or a share"), "{e}");
    let stops = out["adaptive_stops"].as_array().unwrap();
    assert_eq!(stops.len(), 2);
    assert_eq!(stops[0]["models"], 200);
    assert_eq!(stops[0]["target_se"], 0.4);
    let used = stops[0]["items_used"]["mean"].as_f64().unwrap();
    assert!(used > 1.0 && used < 60.0, "{used}");
}
