//! End-to-end tests of the `benchsift` binary: real data against an
//! independent Python reference (tests/fixtures/golden, made by
//! scripts/fixtures/make_info_golden.py), and malformed input of every kind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn benchsift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_benchsift")).args(args).current_dir(repo()).output().unwrap()
}

fn info_json(args: &[&str]) -> Value {
    let out = benchsift(args);
    assert!(out.status.success(), "benchsift {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

fn assert_matches_golden(actual: &Value, golden_file: &str) {
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(repo().join("tests/fixtures/golden").join(golden_file)).unwrap()).unwrap();
    for key in ["models", "items", "kind", "groups"] {
        assert_eq!(actual[key], golden[key], "{golden_file}: {key}");
    }
    for key in ["missing_fraction", "mean"] {
        let (a, g) = (actual[key].as_f64().unwrap(), golden[key].as_f64().unwrap());
        assert!(close(a, g), "{golden_file}: {key} {a} vs reference {g}");
    }
    for k in 0..2 {
        let (a, g) = (actual["model_mean_range"][k].as_f64().unwrap(), golden["model_mean_range"][k].as_f64().unwrap());
        assert!(close(a, g), "{golden_file}: model_mean_range[{k}] {a} vs reference {g}");
    }
}

#[test]
fn info_on_mmlu_pro_matches_the_python_reference() {
    let info = info_json(&["info", "www/data/mmlu_pro/responses.csv.gz", "--items", "www/data/mmlu_pro/items.csv.gz"]);
    assert_matches_golden(&info, "info_mmlu_pro.json");
    assert_eq!(info["groups"].as_object().unwrap().len(), 14);
}

#[test]
fn info_on_alpacaeval_and_bbh_matches_the_python_reference() {
    let info = info_json(&["info", "www/data/alpacaeval/responses.csv.gz", "--items", "www/data/alpacaeval/items.csv.gz"]);
    assert_matches_golden(&info, "info_alpacaeval.json");
    let info = info_json(&["info", "www/data/bbh/responses.csv", "--items", "www/data/bbh/items.csv", "--models", "www/data/bbh/models.csv"]);
    assert_matches_golden(&info, "info_bbh.json");
}

#[test]
fn info_on_an_lm_eval_output_folder_matches_the_python_reference() {
    let out = benchsift(&["info", "tests/fixtures/lm_eval"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_matches_golden(&info, "info_lm_eval.json");
    assert_eq!(info["format"], "lm-eval");
    // bs_gen logs two filters: the user is told which one was used.
    assert!(String::from_utf8_lossy(&out.stderr).contains("logs filters strict, upper; scored by 'strict'"));
}

#[test]
fn lm_eval_per_sample_scores_average_to_the_harness_aggregates() {
    use benchsift::read::{Input, ReadOptions, read_responses};
    let dir = repo().join("tests/fixtures/lm_eval");
    for (metric, filter, task, key) in
        [("acc", None, "bs_mc", "acc,none"), ("acc_norm", None, "bs_mc", "acc_norm,none"), ("exact_match", Some("upper"), "bs_gen", "exact_match,upper")]
    {
        let mut files = Vec::new();
        for model in ["dummy-a", "dummy-b", "dummy-c"] {
            for entry in std::fs::read_dir(dir.join(model)).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_str().unwrap().to_string();
                files.push((format!("{model}/{name}"), std::fs::read(&path).unwrap(), name));
            }
        }
        let inputs: Vec<Input> = files.iter().filter(|f| f.2.starts_with("samples_")).map(|(n, b, _)| Input::new(n, b)).collect();
        let options = ReadOptions {
            // Each file is scored by the first of these it has.
            metric: Some(if task == "bs_mc" { format!("{metric},exact_match") } else { "acc,exact_match".into() }),
            filter: filter.map(str::to_string),
            ..Default::default()
        };
        let m = read_responses(&inputs, &options).unwrap_or_else(|e| panic!("{e}")).matrix;
        for (row, model) in m.model_ids().iter().enumerate() {
            let results = files.iter().find(|f| f.0.starts_with(&format!("{model}/results_"))).unwrap();
            let results: Value = serde_json::from_slice(&results.1).unwrap();
            let expected = results["results"][task][key].as_f64().unwrap();
            let scores: Vec<f64> = m.row(row).filter(|(i, _)| m.item_ids()[*i].starts_with(&format!("{task}/"))).map(|(_, s)| s as f64).collect();
            let mean = scores.iter().sum::<f64>() / scores.len() as f64;
            assert!((mean - expected).abs() < 1e-9, "{model} {task} {key}: {mean} vs harness {expected}");
        }
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("benchsift-cli-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs `info` on a file that must be refused; returns stderr.
fn refused(name: &str, bytes: &[u8], extra: &[&str]) -> String {
    let path = temp_file(name, bytes);
    let mut args = vec!["info", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = benchsift(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{name} was accepted: {}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty(), "{name}: output on failure");
    assert!(stderr.starts_with("error: "), "{name}: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{name}: {stderr}");
    stderr
}

#[test]
fn malformed_files_exit_nonzero_with_file_line_and_column() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("ragged.csv", b"model,q1,q2\nA,1,0\nB,1\n", "ragged.csv, line 3: the row has 2 fields but the header has 3"),
        ("text.csv", b"model,q1,q2\nA,1,0\nB,1,maybe\n", "text.csv, line 3, column 3 (q2): 'maybe' is not a number"),
        ("nan.csv", b"model,q1\nA,nan\n", "nan.csv, line 2, column 2 (q1): 'nan' is not a usable score"),
        ("inf.csv", b"model,q1\nA,-Infinity\n", "inf.csv, line 2, column 2 (q1): '-Infinity' is not a usable score"),
        ("dupitem.csv", b"model,q1,q1\nA,1,0\n", "dupitem.csv, line 1, column 3 (q1): duplicate item id 'q1' (also column 2)"),
        ("dupmodel.csv", b"model,q1\nA,1\nA,0\n", "dupmodel.csv, line 3, column 1 (A): duplicate model id 'A' (also on line 2)"),
        ("empty.csv", b"", "empty.csv: the file is empty"),
        ("header.csv", b"model,q1,q2\n", "header.csv: no model rows after the header"),
        ("allmissing.csv", b"model,q1\nA,\nB,\n", "no observed score in the whole matrix"),
        ("bad.json", b"{\"models\": [\"a\"], \"items\": [\"q\"], \"scores\": [[\"x\"]]}", "bad.json, scores[0][0]: \"x\" is not a number or null"),
        ("long.csv", b"model,item,score\nA,q1,1\nA,q1,0\n", "long.csv, line 3: a second score for the same model and item (first on line 2)"),
        ("m/samples_t_2024-01-01T00-00-00.jsonl", b"{\"doc_id\": 0, \"acc\": 1}\nnot json\n", "line 2: not a JSON object"),
    ];
    for (name, bytes, expected) in cases {
        let stderr = refused(name.rsplit('/').next().unwrap(), bytes, &[]);
        assert!(stderr.contains(expected), "{name}: expected «{expected}», got «{stderr}»");
    }
}

#[test]
fn bom_crlf_and_quoted_fields_are_accepted() {
    let path = temp_file("bom.csv", b"\xEF\xBB\xBFmodel,\"q,1\",\"q\r\n2\"\r\nA,1,0\r\nB,0,1\r\n");
    let info = info_json(&["info", path.to_str().unwrap()]);
    assert_eq!(info["items"], 2);
    assert_eq!(info["models"], 2);
}

#[test]
fn all_missing_rows_and_columns_are_dropped_with_a_warning() {
    let path = temp_file("holes.csv", b"model,q1,q2,q3\nA,1,,0\nB,,,\nC,0,,1\n");
    let out = benchsift(&["info", path.to_str().unwrap()]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: dropped 1 model(s) with no observed score: 'B'"), "{stderr}");
    assert!(stderr.contains("warning: dropped 1 item(s) with no observed score: 'q2'"), "{stderr}");
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((info["models"].as_u64(), info["items"].as_u64()), (Some(2), Some(2)));
}

#[test]
fn malformed_items_and_models_files_name_their_cell() {
    let responses = temp_file("r.csv", b"model,q1\nA,1\n");
    let items = temp_file("items.csv", b"item_id,cost\nq1,lots\n");
    let out = benchsift(&["info", responses.to_str().unwrap(), "--items", items.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("items.csv, line 2, column 2 (cost): 'lots' is not a number"));
    let models = temp_file("models.csv", b"model,release_date\nA,soon\n");
    let out = benchsift(&["info", responses.to_str().unwrap(), "--models", models.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("models.csv, line 2, column 2 (release_date): 'soon' is not a date"));
}

#[test]
fn a_missing_file_and_output_to_a_file() {
    let out = benchsift(&["info", "no/such/file.csv"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: no/such/file.csv: "));
    let target = temp_file("placeholder", b"").with_file_name("info.json");
    let out = benchsift(&["info", "www/data/bbh/responses.csv", "-o", target.to_str().unwrap()]);
    assert!(out.status.success() && out.stdout.is_empty());
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(info["models"], 107);
}

#[test]
fn fit_writes_the_documented_json_and_refuses_bad_requests() {
    let target = temp_file("placeholder", b"").with_file_name("fit.json");
    let out = benchsift(&["fit", "www/data/bbh/responses.csv", "--irt", "2pl", "-o", target.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fit: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(fit["irt"], "2pl");
    assert_eq!(fit["dims"], 1);
    assert_eq!(fit["items"].as_array().unwrap().len(), 27);
    assert_eq!(fit["models"].as_array().unwrap().len(), 107);
    assert_eq!(fit["scale"]["kind"], "percent", "BBH accuracies are 0-100");
    assert_eq!(fit["backend"]["device"], "cpu");
    assert!(fit["converged"].as_bool().unwrap());
    let item = &fit["items"][0];
    assert!(item["a"].as_f64().unwrap() > 0.0 && item["b"].is_number() && item.get("c").is_none());
    // Stronger models get higher abilities: θ follows the models' mean score.
    let thetas: Vec<f64> = fit["models"].as_array().unwrap().iter().map(|m| m["theta"].as_f64().unwrap()).collect();
    let gpt4 = fit["models"].as_array().unwrap().iter().position(|m| m["id"] == "GPT-4").unwrap();
    assert!(thetas[gpt4] > 1.0, "GPT-4 θ = {}", thetas[gpt4]);

    let out = benchsift(&["fit", "www/data/mmlu_pro/responses.csv.gz", "--irt", "beta"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the beta model is for continuous scores"));
    let out = benchsift(&["fit", "www/data/bbh/responses.csv", "--irt", "2pl", "--guess", "0.2"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs the 3pl or 4pl model"));
}

#[test]
fn select_estimate_and_evaluate_work_end_to_end() {
    let dir = temp_file("placeholder", b"").parent().unwrap().to_path_buf();
    let subset = dir.join("subset.json");
    let fit = dir.join("fit.json");
    // A subset of AlpacaEval (57 models, continuous win probabilities).
    let out = benchsift(&[
        "select",
        "www/data/alpacaeval/responses.csv.gz",
        "--items",
        "www/data/alpacaeval/items.csv.gz",
        "--method",
        "irt-cluster",
        "--budget",
        "40",
        "--seed",
        "7",
        "-o",
        subset.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&subset).unwrap()).unwrap();
    assert_eq!(s["method"], "irt-cluster");
    assert_eq!(s["budget"], 40);
    assert_eq!(s["benchmark_items"], 805);
    let items = s["items"].as_array().unwrap();
    let weights: Vec<f64> = s["weights"].as_array().unwrap().iter().map(|w| w.as_f64().unwrap()).collect();
    assert!(!items.is_empty() && items.len() <= 40 && items.len() == weights.len());
    assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let lambda = s["gpirt_lambda"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&lambda));

    let out = benchsift(&["fit", "www/data/alpacaeval/responses.csv.gz", "--irt", "2pl", "-o", fit.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let truth = info_json(&["info", "www/data/alpacaeval/responses.csv.gz"]);
    for estimator in ["weighted", "gpirt", "irt"] {
        let out = benchsift(&[
            "estimate",
            "www/data/alpacaeval/responses.csv.gz",
            "--subset",
            subset.to_str().unwrap(),
            "--fit",
            fit.to_str().unwrap(),
            "--estimator",
            estimator,
        ]);
        assert!(out.status.success(), "{estimator}: {}", String::from_utf8_lossy(&out.stderr));
        let e: Value = serde_json::from_slice(&out.stdout).unwrap();
        let models = e["models"].as_array().unwrap();
        assert_eq!(models.len(), 57);
        // Estimates stay on the scores' scale and intervals contain them.
        for m in models {
            let (v, lo, hi) = (m["estimate"].as_f64().unwrap(), m["low"].as_f64().unwrap(), m["high"].as_f64().unwrap());
            assert!((0.0..=1.0).contains(&v) && lo <= v && v <= hi, "{estimator}: {m}");
        }
        let mean: f64 = models.iter().map(|m| m["estimate"].as_f64().unwrap()).sum::<f64>() / 57.0;
        assert!((mean - truth["mean"].as_f64().unwrap()).abs() < 0.1, "{estimator}: mean estimate {mean}");
        // The subset file's floor for this estimator: no interval is narrower
        // than it (unless clipped at 0 or 1), and it covers ≥ 95% of the
        // training models (here every model is a training model).
        let floor = s["interval_floors"][estimator].as_f64().unwrap_or_else(|| panic!("{estimator}: no floor in {s}"));
        assert!(floor > 0.0);
        let mut covered = 0;
        for m in models {
            let (v, lo, hi) = (m["estimate"].as_f64().unwrap(), m["low"].as_f64().unwrap(), m["high"].as_f64().unwrap());
            assert!((hi - v >= floor - 1e-12 || hi == 1.0) && (v - lo >= floor - 1e-12 || lo == 0.0), "{estimator}: {m} vs floor {floor}");
            let t = m["full_mean"].as_f64().unwrap();
            covered += (lo <= t && t <= hi) as usize;
        }
        assert!(covered >= 54, "{estimator}: {covered} of 57 covered");
    }
    let out = benchsift(&["estimate", "www/data/alpacaeval/responses.csv.gz", "--subset", subset.to_str().unwrap(), "--estimator", "irt"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --fit"));

    // Evaluation on BBH (107 models × 27 tasks): K-fold, random baseline included.
    let out =
        benchsift(&["evaluate", "www/data/bbh/responses.csv", "--methods", "irt-info,anchor-points", "--budgets", "5,10", "--folds", "4", "--seeds", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ev: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["split"], "4-fold");
    let rows = ev["results"].as_array().unwrap();
    let random = rows.iter().find(|r| r["method"] == "random" && r["estimator"] == "mean" && r["budget"] == 10).unwrap();
    assert_eq!(random["seeds"], 20, "the random baseline runs at least 20 seeds");
    for key in ["mae", "rmse", "kendall_tau", "spearman", "pairwise_accuracy", "coverage"] {
        let ci = &random[key];
        let (m, lo, hi) = (ci["mean"].as_f64().unwrap(), ci["low"].as_f64().unwrap(), ci["high"].as_f64().unwrap());
        assert!(lo <= m && m <= hi, "{key}: {ci}");
    }
    assert!(rows.iter().any(|r| r["method"] == "irt-info" && r["estimator"] == "irt"));
    // More items, smaller error.
    let mae = |b: u64| rows.iter().find(|r| r["method"] == "random" && r["estimator"] == "mean" && r["budget"] == b).unwrap()["mae"]["mean"].as_f64().unwrap();
    assert!(mae(10) < mae(5));

    let out = benchsift(&["evaluate", "www/data/bbh/responses.csv", "--budgets", "50"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("budget 50 is not between 1 and the 27 items"));
    let out = benchsift(&["evaluate", "www/data/bbh/responses.csv", "--newest", "10"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs release dates"));
    let out = benchsift(&[
        "evaluate",
        "www/data/bbh/responses.csv",
        "--models",
        "www/data/bbh/models.csv",
        "--newest",
        "20",
        "--methods",
        "random",
        "--budgets",
        "5",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn similar_finds_duplicates_from_embeddings_and_from_texts() {
    // Four 3-d vectors; rows 0 and 2 point the same way.
    let rows: [[f32; 3]; 4] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.6, 0.8, 0.0]];
    let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }".to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    for r in rows {
        for x in r {
            npy.extend_from_slice(&x.to_le_bytes());
        }
    }
    let e = temp_file("e.npy", &npy);
    let items = temp_file(
        "items.csv",
        b"item_id,text\na,What is the capital of France?\nb,Integrate x squared.\nc,What is the capital of France?\nd,Name a prime number.\n",
    );
    let out = benchsift(&["similar", "--embeddings", e.to_str().unwrap(), "--items", items.to_str().unwrap(), "--threshold", "0.99"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["features"], "embeddings");
    assert_eq!(r["pairs"].as_array().unwrap().len(), 1);
    assert_eq!((r["pairs"][0]["a"].as_str(), r["pairs"][0]["b"].as_str()), (Some("a"), Some("c")));
    // Top-1 neighbours: each unordered pair once.
    let out = benchsift(&["similar", "--embeddings", e.to_str().unwrap(), "--top-k", "1"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["pairs"][0]["a"], "0");
    assert_eq!(r["pairs"][0]["b"], "2");
    // No embeddings: the built-in text features find the same duplicate.
    let out = benchsift(&["similar", "--items", items.to_str().unwrap(), "--threshold", "0.99"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["features"], "hashed-ngrams");
    assert_eq!(r["pairs"].as_array().unwrap().len(), 1);
    assert_eq!(r["pairs"][0]["b"], "c");
    // Mismatched rows and items are refused.
    let few = temp_file("few.csv", b"item_id\na\nb\n");
    let out = benchsift(&["similar", "--embeddings", e.to_str().unwrap(), "--items", few.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("has 4 unnamed vectors but the items file has 2 items"));
    // The same vectors as CSV named by item (in another order), as JSON
    // records and as JSON Lines give the same report as the .npy.
    let by_npy = benchsift(&["similar", "--embeddings", e.to_str().unwrap(), "--items", items.to_str().unwrap(), "--top-k", "2"]);
    assert!(by_npy.status.success());
    let csv = temp_file(
        "e.csv",
        b"item_id,x,y,z
d,0.6,0.8,0
b,0,1,0
a,1,0,0
c,2,0,0
",
    );
    let json = temp_file("e.json", br#"[{"id": "c", "embedding": [2, 0, 0]}, {"id": "a", "embedding": [1, 0, 0]}, {"id": "b", "embedding": [0, 1, 0]}, {"id": "d", "embedding": [0.6, 0.8, 0]}]"#);
    let jsonl = temp_file("e.jsonl", b"[1, 0, 0]\n[0, 1, 0]\n[2, 0, 0]\n[0.6, 0.8, 0]\n");
    for file in [&csv, &json, &jsonl] {
        let out = benchsift(&["similar", "--embeddings", file.to_str().unwrap(), "--items", items.to_str().unwrap(), "--top-k", "2"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, by_npy.stdout, "{file:?}");
    }
    // A named file missing an item says which.
    let short = temp_file("short.csv", b"a,1,0,0\nb,0,1,0\nc,2,0,0\n");
    let out = benchsift(&["similar", "--embeddings", short.to_str().unwrap(), "--items", items.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("item 'd' has no vector in"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn limits_are_refused_before_large_allocations_with_a_clear_message() {
    // A long file naming 40,000 models and 40,000 items (1.6 × 10⁹ cells) in
    // 40,000 lines: refused while reading, not after allocating the matrix.
    let mut long = String::from("model,item,score\n");
    for k in 0..40_000 {
        long += &format!("m{k},q{k},1\n");
    }
    let stderr = refused("diagonal.csv", long.as_bytes(), &[]);
    assert!(stderr.contains("diagonal.csv, line 32769: by this line the file already names 32768 models × 32768 items"), "{stderr}");
    assert!(stderr.contains("more than the limit of 1000000000 cells"), "{stderr}");
    // Budgets, folds and neighbours beyond what the data holds.
    let bbh = repo().join("www/data/bbh/responses.csv");
    let bbh = bbh.to_str().unwrap();
    for (args, expected) in [
        (vec!["select", bbh, "--method", "random", "--budget", "28"], "a budget of 28 items is more than the 27 items in the matrix"),
        (vec!["select", bbh, "--method", "anchor-points", "--budget", "0"], "the budget must be at least 1 item"),
        (vec!["evaluate", bbh, "--methods", "random", "--budgets", "5", "--folds", "500"], "500 folds for 107 models: use between 2 and 107"),
    ] {
        let out = benchsift(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // k larger than N is not an error: every item gets all the others.
    let items = temp_file("items.csv", b"item_id,text\na,x y\nb,x y z\nc,q\n");
    let out = benchsift(&["similar", "--items", items.to_str().unwrap(), "--top-k", "1000"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["pairs"].as_array().unwrap().len() <= 3);
}

#[test]
fn similar_reports_its_backend_and_gpu_agrees_with_cpu() {
    let items = temp_file(
        "items_backend.csv",
        b"item_id,text
a,What is the capital of France?
b,Integrate x squared.
c,What is the capital of France?
d,Name a prime number.
",
    );
    let run = |backend: &str| benchsift(&["similar", "--items", items.to_str().unwrap(), "--top-k", "2", "--backend", backend]);
    let cpu = run("cpu");
    assert!(cpu.status.success(), "{}", String::from_utf8_lossy(&cpu.stderr));
    let cpu: Value = serde_json::from_slice(&cpu.stdout).unwrap();
    assert_eq!(cpu["backend"]["device"], "cpu");
    assert_eq!(cpu["backend"]["reason"], "the CPU was asked for");
    // Auto: four items never pay for a GPU, whatever the machine has.
    let auto: Value = serde_json::from_slice(&run("auto").stdout).unwrap();
    assert_eq!(auto["backend"]["device"], "cpu");
    assert!(auto["backend"]["reason"].as_str().unwrap().contains("below"), "{}", auto["backend"]);
    assert_eq!(auto["pairs"], cpu["pairs"]);
    let out = run("gpu");
    if !out.status.success() {
        // Only a missing adapter (or a build without wgpu) may skip this.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no GPU adapter") || err.contains("no gpu feature"), "{err}");
        skip_gpu_half("the --backend gpu half", &err);
        return;
    }
    let gpu: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(gpu["backend"]["device"], "gpu");
    assert!(gpu["backend"]["reason"].as_str().unwrap().contains("asked for"), "{}", gpu["backend"]);
    let ids = |v: &Value| v["pairs"].as_array().unwrap().iter().map(|p| (p["a"].clone(), p["b"].clone())).collect::<Vec<_>>();
    assert_eq!(ids(&gpu), ids(&cpu));
    let out = benchsift(&["similar", "--items", items.to_str().unwrap(), "--backend", "tpu"]);
    assert!(!out.status.success());
}

#[test]
fn fit_reports_its_backend_and_a_gpu_fit_agrees_with_the_cpu_fit() {
    let slice = "tests/fixtures/irt/mmlu_pro_slice.csv";
    let run = |backend: &str| benchsift(&["fit", slice, "--irt", "2pl", "--backend", backend]);
    let cpu = run("cpu");
    assert!(cpu.status.success(), "{}", String::from_utf8_lossy(&cpu.stderr));
    let cpu: Value = serde_json::from_slice(&cpu.stdout).unwrap();
    assert_eq!(cpu["backend"]["device"], "cpu");
    assert_eq!(cpu["backend"]["reason"], "the CPU was asked for");
    // Auto: 29 × 600 × 121 is far below the GPU threshold, whatever the machine has.
    let auto: Value = serde_json::from_slice(&run("auto").stdout).unwrap();
    assert_eq!(auto["backend"]["device"], "cpu");
    assert!(auto["backend"]["reason"].as_str().unwrap().contains("below"), "{}", auto["backend"]);
    assert_eq!(auto["items"], cpu["items"]);
    // Continuous scores cannot use the binary kernels: an error when forced.
    let out = benchsift(&["fit", "www/data/bbh/responses.csv", "--backend", "gpu"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("binary"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("gpu");
    if !out.status.success() {
        // Only a missing adapter (or a build without wgpu) may skip this.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no GPU adapter") || err.contains("without the gpu feature"), "{err}");
        skip_gpu_half("the fit --backend gpu half", &err);
        return;
    }
    let gpu: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(gpu["backend"]["device"], "gpu");
    assert!(gpu["backend"]["reason"].as_str().unwrap().contains("asked for"), "{}", gpu["backend"]);
    // f32 sums on the GPU, f64 on the CPU: the fits agree to well within 1e-3.
    for (g, c) in gpu["items"].as_array().unwrap().iter().zip(cpu["items"].as_array().unwrap()) {
        assert_eq!(g["id"], c["id"]);
        for key in ["a", "b"] {
            let (g, c) = (g[key].as_f64().unwrap(), c[key].as_f64().unwrap());
            assert!((g - c).abs() < 1e-3, "{key}: gpu {g} vs cpu {c}");
        }
    }
}

#[test]
fn filter_on_a_real_mmlu_pro_slice_finds_planted_items_and_keeps_the_ranking() {
    use benchsift::read::{Input, read_item_texts};
    let slice = "tests/fixtures/irt/mmlu_pro_slice.csv";
    let header = std::fs::read_to_string(repo().join(slice)).unwrap();
    let wanted: Vec<&str> = header.lines().next().unwrap().split(',').skip(1).collect();
    let gz = std::fs::read(repo().join("www/data/mmlu_pro/items.csv.gz")).unwrap();
    let (ids, texts) = read_item_texts(&Input::new("items.csv.gz", &gz), benchsift::read::DEFAULT_MAX_BYTES).unwrap();
    let text_of = |id: &str| texts[ids.iter().position(|x| x == id).unwrap()].clone();
    // Plant: q71 becomes a copy of q70; q72 carries a high user contamination score.
    let mut csv = String::from("item_id,text,contamination\n");
    for id in &wanted {
        let text = if *id == "q71" { text_of("q70") } else { text_of(id) };
        let score = if *id == "q72" { "0.97" } else { "0.01" };
        csv.push_str(&format!("{id},\"{}\",{score}\n", text.replace('"', "\"\"")));
    }
    let items = temp_file("slice_items.csv", csv.as_bytes());
    let models: Vec<&str> = header.lines().skip(1).filter(|l| !l.is_empty()).map(|l| l.split(',').next().unwrap()).collect();
    let ranking: String =
        std::iter::once("model,score".to_string()).chain(models.iter().enumerate().map(|(i, m)| format!("{m},{i}"))).collect::<Vec<_>>().join("\n");
    let ranking = temp_file("ranking.csv", ranking.as_bytes());
    let out = benchsift(&[
        "filter",
        slice,
        "--items",
        items.to_str().unwrap(),
        "--contamination-score-threshold",
        "0.5",
        "--reference-ranking",
        ranking.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let removed = r["removed"].as_array().unwrap();
    let find = |id: &str| removed.iter().find(|x| x["id"] == id);
    let copy = find("q71").or_else(|| find("q70")).expect("the planted copy is removed");
    assert_eq!(copy["reason"], "duplicate");
    assert!(copy["duplicate_of"] == "q70" || copy["duplicate_of"] == "q71");
    assert!(r["duplicate_pairs"].as_array().unwrap().iter().any(|p| p["a"] == "q70" && p["b"] == "q71" && p["cosine"].as_f64().unwrap() > 0.999));
    let planted = find("q72").expect("the item with a high user score is removed");
    assert_eq!((planted["reason"].as_str(), planted["score"].as_f64()), (Some("contamination"), Some(0.97)));
    // Little else: few duplicates or contaminated items, the easy rule
    // (all of the 7 strongest models right) on under half, and the ranking holds.
    let not_easy = removed.iter().filter(|x| x["reason"] != "easy").count();
    assert!(not_easy < 30, "{not_easy} removed as duplicates or contaminated");
    assert!(removed.len() < 300, "{} removed", removed.len());
    assert_eq!(r["kept"].as_array().unwrap().len() + removed.len(), 600);
    // Removing the items the 7 strongest of 29 models all answer costs some
    // of the weaker models' ranking on this 600-item slice (τ 0.92 against
    // 0.98 for random removals of as many items): the report says both.
    assert!(r["kendall_tau_vs_full"].as_f64().unwrap() > 0.9);
    let random = &r["random_removal"]["kendall_tau"];
    assert!(random["low"].as_f64().unwrap() <= random["mean"].as_f64().unwrap() && random["mean"].as_f64().unwrap() <= random["high"].as_f64().unwrap());
    assert_eq!(r["reference"]["models"], models.len());
    assert_eq!(r["duplicate_features"], "hashed-ngrams");
    let stages: Vec<&str> = r["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["easy", "contamination", "duplicates"]);
    // Stages turn off; bad settings are refused with a message.
    let out = benchsift(&["filter", slice, "--no-easy", "--no-contamination", "--no-duplicates"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["kept"].as_array().unwrap().len(), 600);
    assert!(r["kendall_tau_vs_full"].as_f64().unwrap() > 1.0 - 1e-12);
    let out = benchsift(&["filter", slice, "--easy-min-fraction", "1.5"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("easy min fraction 1.5 must be in (0, 1]"));
    let out = benchsift(&["filter", slice, "--contamination-score-threshold", "0.5"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a 'contamination' column"));
}

#[test]
fn select_tasks_on_bbh_beats_random_tasks() {
    let out = benchsift(&["select-tasks", "www/data/bbh/responses.csv", "--k", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["tasks"].as_array().unwrap().len(), 3);
    assert_eq!((r["models"].as_u64(), r["n_tasks"].as_u64(), r["cv"]["seeds"].as_u64()), (Some(107), Some(27), Some(20)));
    let (m, rnd) = (&r["cv"], &r["random"]);
    assert!(m["r2"]["mean"].as_f64().unwrap() > rnd["r2"]["high"].as_f64().unwrap(), "{m} vs {rnd}");
    assert!(m["rmse"]["mean"].as_f64().unwrap() < rnd["rmse"]["low"].as_f64().unwrap(), "{m} vs {rnd}");
    for method in ["beam", "cluster"] {
        let out = benchsift(&["select-tasks", "www/data/bbh/responses.csv", "--k", "3", "--method", method, "--seeds", "20"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = benchsift(&["select-tasks", "www/data/bbh/responses.csv", "--k", "0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("k = 0 must be between 1 and 26"));
    let out = benchsift(&["select-tasks", "www/data/bbh/responses.csv", "--k", "2", "--method", "best"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown task selection method 'best'"));
}

#[test]
fn metric_selectors_read_metric_scores_and_outputs() {
    let fx = "tests/fixtures/subset2evaluate";
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(repo().join(fx).join("golden.json")).unwrap()).unwrap();
    let order = |method: &str, metric: &str| -> Vec<Value> {
        let case = golden["cases"].as_array().unwrap().iter().find(|c| c["method"] == method && c["metric"] == metric).unwrap();
        case["order"].as_array().unwrap()[..10].to_vec()
    };
    let human = format!("{fx}/human.csv");
    let s = info_json(&["select", &human, "--method", "metric-cons", "--budget", "10", "--metric-scores", &format!("{fx}/metric.csv")]);
    assert_eq!(s["items"].as_array().unwrap().to_vec(), order("metric-cons", "metric"));
    let s = info_json(&["select", &human, "--method", "diversity", "--budget", "10", "--outputs", &format!("{fx}/outputs.csv")]);
    assert_eq!(s["items"].as_array().unwrap().to_vec(), order("diversity", "unigram"));
    let out = benchsift(&["select", &human, "--method", "diversity", "--budget", "10"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs the models' outputs"));
    // metric-balance over two metric files, given one by one or as a folder: the reference order.
    let balance: Value = serde_json::from_str(&std::fs::read_to_string(repo().join("tests/fixtures/metric_balance/golden.json")).unwrap()).unwrap();
    let want = balance["cases"][0]["order"].as_array().unwrap()[..10].to_vec();
    let (m1, m2) = (format!("{fx}/metric.csv"), "tests/fixtures/metric_balance/metric2.csv".to_string());
    let s = info_json(&["select", &human, "--method", "metric-balance", "--budget", "10", "--metric-scores", &m1, "--metric-scores", &m2]);
    assert_eq!(s["items"].as_array().unwrap().to_vec(), want);
    let dir = temp_file("metric.csv", &std::fs::read(repo().join(&m1)).unwrap()).parent().unwrap().to_path_buf();
    std::fs::write(dir.join("metric2.csv.gz"), {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&std::fs::read(repo().join(&m2)).unwrap()).unwrap();
        gz.finish().unwrap()
    })
    .unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a table").unwrap();
    let folder = dir.to_str().unwrap().to_string();
    let s = info_json(&["select", &human, "--method", "metric-balance", "--budget", "10", "--metric-scores", &folder]);
    assert_eq!(s["items"].as_array().unwrap().to_vec(), want);
    let out = benchsift(&["select", &human, "--method", "metric-cons", "--budget", "10", "--metric-scores", &folder]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("metric-cons takes one metric file, not 2"), "{}", String::from_utf8_lossy(&out.stderr));
    // Embeddings of the wrong length are refused with the counts.
    let npy = temp_file("e.npy", &{
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
        let mut h = header.to_string();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend(std::iter::repeat_n(0u8, 24));
        b
    });
    let out = benchsift(&["select", &human, "--method", "kcenter", "--budget", "5", "--embeddings", npy.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has 3 unnamed vectors but the response matrix has 40 items"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn evaluate_with_truth_reports_theta_regression_with_coverage() {
    // 150 simulated models; the matrix holds the 80 easiest of 240 items, the truth is the mean over all 240.
    let mut rng = benchsift::rng::Rng::new(21);
    let mut params: Vec<benchsift::irt::ItemParams> = (0..240).map(|_| benchsift::irt::ItemParams::new(rng.log_normal(0.0, 0.3), rng.normal())).collect();
    params.sort_by(|x, y| x.b.total_cmp(&y.b));
    let mut part = String::from("model");
    for i in 0..80 {
        part.push_str(&format!(",i{i}"));
    }
    part.push('\n');
    let mut truth = String::from("model,score\n");
    for j in 0..150 {
        let t = rng.normal();
        let row: Vec<u8> = params.iter().map(|p| (rng.uniform() < p.expected(t)) as u8).collect();
        part.push_str(&format!("m{j}"));
        for x in &row[..80] {
            part.push_str(&format!(",{x}"));
        }
        part.push('\n');
        truth.push_str(&format!("m{j},{}\n", row.iter().map(|&x| x as f64).sum::<f64>() / 240.0));
    }
    let part = temp_file("part.csv", part.as_bytes());
    let truth = temp_file("truth.csv", truth.as_bytes());
    let ev = info_json(&[
        "evaluate",
        part.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--methods",
        "random,kcenter,metric-var,metabench",
        "--budgets",
        "10,30",
        "--folds",
        "3",
        "--seeds",
        "2",
    ]);
    let rows = ev["results"].as_array().unwrap();
    let row = |method: &str, estimator: &str, budget: u64| rows.iter().find(|r| r["method"] == method && r["estimator"] == estimator && r["budget"] == budget);
    for method in ["random", "kcenter", "metric-var", "metabench"] {
        let r = row(method, "theta-reg", 30).unwrap_or_else(|| panic!("{method}: no theta-reg row"));
        assert!(r["coverage"]["mean"].as_f64().unwrap() >= 0.8, "{method}: {r}");
    }
    // The part's own mean overstates the full score; the calibrated line does not.
    let mae = |m: &str, e: &str| row(m, e, 30).unwrap()["mae"]["mean"].as_f64().unwrap();
    assert!(mae("random", "theta-reg") < 0.5 * mae("random", "mean"), "{} vs {}", mae("random", "theta-reg"), mae("random", "mean"));
    // Seeded methods run per seed, and so do deterministic ones under the
    // random guard (a fallback's subset is a random draw); without it a
    // deterministic method runs once.
    assert_eq!(row("metric-var", "mean", 10).unwrap()["seeds"], 2);
    assert_eq!(row("kcenter", "weighted", 10).unwrap()["seeds"], 2);
    let plain = info_json(&["evaluate", part.to_str().unwrap(), "--methods", "metric-var", "--budgets", "10", "--folds", "3", "--seeds", "2", "--no-guard"]);
    let once = plain["results"].as_array().unwrap().iter().find(|r| r["method"] == "metric-var" && r["estimator"] == "mean").unwrap().clone();
    assert_eq!(once["seeds"], 1);
}

#[test]
fn calibrated_estimator_from_select_to_estimate_and_evaluate() {
    // metric-var picks AlpacaEval prompts that spread the models, not a
    // sample: the subset file carries the line fitted on its training models
    // and `estimate --estimator calibrated` applies it. (--no-guard: the
    // random guard would replace this subset by a random one.)
    let dir = temp_file("placeholder", b"").parent().unwrap().to_path_buf();
    let subset = dir.join("subset.json");
    let out = benchsift(&[
        "select",
        "www/data/alpacaeval/responses.csv.gz",
        "--method",
        "metric-var",
        "--budget",
        "30",
        "--no-guard",
        "-o",
        subset.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&subset).unwrap()).unwrap();
    let line = &s["calibration"];
    assert_eq!(line["n"], 57, "{s}");
    assert!(line["slope"].as_f64().unwrap() > 0.0 && line["residual_sd"].as_f64().unwrap() > 0.0, "{line}");
    assert!(s["interval_floors"].get("calibrated").is_none(), "the line's own interval needs no floor");
    let estimates = |estimator: &str| -> Vec<Value> {
        let e = info_json(&["estimate", "www/data/alpacaeval/responses.csv.gz", "--subset", subset.to_str().unwrap(), "--estimator", estimator]);
        e["models"].as_array().unwrap().clone()
    };
    let cal = estimates("calibrated");
    let mean = estimates("mean");
    assert_eq!(cal.len(), 57);
    let (mut err_cal, mut err_mean, mut covered) = (0.0, 0.0, 0);
    for (c, m) in cal.iter().zip(&mean) {
        let t = c["full_mean"].as_f64().unwrap();
        let (v, lo, hi) = (c["estimate"].as_f64().unwrap(), c["low"].as_f64().unwrap(), c["high"].as_f64().unwrap());
        assert!(lo < v && v < hi, "{c}");
        err_cal += (v - t).abs() / 57.0;
        err_mean += (m["estimate"].as_f64().unwrap() - t).abs() / 57.0;
        covered += (lo <= t && t <= hi) as usize;
    }
    // The training models themselves (in-sample): the line fits them better
    // than the biased subset mean, and its prediction interval covers them.
    assert!(err_cal < 0.7 * err_mean, "calibrated MAE {err_cal} vs mean {err_mean}");
    assert!(covered >= 52, "{covered} of 57 covered");
    // ridge: the same line plus a weight per item, fitted on the same models.
    let ridge = &s["ridge"];
    assert_eq!(ridge["n"], 57, "{ridge}");
    assert_eq!(ridge["coefficients"].as_array().unwrap().len(), 30);
    assert!(ridge["lambda"].as_f64().unwrap() > 0.0 && ridge["half_width"].as_f64().unwrap() > 0.0, "{ridge}");
    let fitted = estimates("ridge");
    let (mut err_ridge, mut covered) = (0.0, 0);
    for r in &fitted {
        let t = r["full_mean"].as_f64().unwrap();
        err_ridge += (r["estimate"].as_f64().unwrap() - t).abs() / 57.0;
        covered += (r["low"].as_f64().unwrap() <= t && t <= r["high"].as_f64().unwrap()) as usize;
    }
    assert!(err_ridge < err_cal, "ridge MAE {err_ridge} vs calibrated {err_cal} on its own training models");
    assert!(covered >= 54, "{covered} of 57 inside the ridge interval");

    // Two training models are too few for a line: none is written, and the
    // estimator says what it needs.
    let tiny = dir.join("tiny.json");
    let first_two: Vec<&str> = mean[..2].iter().map(|m| m["id"].as_str().unwrap()).collect();
    let ids = temp_file("train.txt", first_two.join("\n").as_bytes());
    let out = benchsift(&[
        "select",
        "www/data/alpacaeval/responses.csv.gz",
        "--method",
        "random",
        "--budget",
        "30",
        "--train-models",
        ids.to_str().unwrap(),
        "-o",
        tiny.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t: Value = serde_json::from_str(&std::fs::read_to_string(&tiny).unwrap()).unwrap();
    assert!(t.get("calibration").is_none() && t.get("ridge").is_none(), "{t}");
    let out = benchsift(&["estimate", "www/data/alpacaeval/responses.csv.gz", "--subset", tiny.to_str().unwrap(), "--estimator", "ridge"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 4 training models"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = benchsift(&["estimate", "www/data/alpacaeval/responses.csv.gz", "--subset", tiny.to_str().unwrap(), "--estimator", "calibrated"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 3 training models"), "{}", String::from_utf8_lossy(&out.stderr));

    // evaluate reports it for every method, held-out models only.
    let ev =
        info_json(&["evaluate", "www/data/bbh/responses.csv", "--methods", "metric-var,anchor-points", "--budgets", "5,10", "--folds", "4", "--seeds", "2"]);
    let rows = ev["results"].as_array().unwrap();
    for method in ["random", "metric-var", "anchor-points"] {
        for budget in [5, 10] {
            for estimator in ["calibrated", "ridge"] {
                let r = rows
                    .iter()
                    .find(|r| r["method"] == method && r["estimator"] == estimator && r["budget"] == budget)
                    .unwrap_or_else(|| panic!("{method} {budget}: no {estimator} row"));
                assert!(r["coverage"]["mean"].as_f64().unwrap() >= 0.8, "{r}");
            }
        }
    }
    // With 2 training models per fold there is no line: no rows, no error.
    let few = benchsift(&[
        "evaluate",
        "www/data/bbh/responses.csv",
        "--models",
        "www/data/bbh/models.csv",
        "--newest",
        "105",
        "--methods",
        "random",
        "--budgets",
        "5",
    ]);
    assert!(few.status.success(), "{}", String::from_utf8_lossy(&few.stderr));
    let ev: Value = serde_json::from_slice(&few.stdout).unwrap();
    let rows = ev["results"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["estimator"] == "mean") && !rows.iter().any(|r| r["estimator"] == "calibrated"), "{ev}");
}

/// The mean absolute error of `subset`'s weighted estimate of every model's
/// full mean on `data` (the subset written to a temporary `name`).
fn weighted_error(data: &str, subset: &Value, name: &str) -> f64 {
    let path = temp_file(name, subset.to_string().as_bytes());
    let e = info_json(&["estimate", data, "--subset", path.to_str().unwrap(), "--estimator", "weighted"]);
    let models = e["models"].as_array().unwrap();
    models.iter().map(|m| (m["estimate"].as_f64().unwrap() - m["full_mean"].as_f64().unwrap()).abs()).sum::<f64>() / models.len() as f64
}

#[test]
fn difficulty_strata_keep_a_ranking_selector_representative() {
    // metric-var takes the AlpacaEval prompts that spread the models most,
    // which sit in the middle of the difficulty range: their mean is far from
    // the full score. Ten difficulty bins take ten of them from every level.
    let dir = temp_file("placeholder", b"").parent().unwrap().to_path_buf();
    let data = "www/data/alpacaeval/responses.csv.gz";
    let pick = |extra: &[&str], name: &str| -> Value {
        let path = dir.join(name);
        // --no-guard: metric-var's own subsets (the random guard would take a
        // random one here; see the next test).
        let mut args = vec!["select", data, "--method", "metric-var", "--budget", "100", "--no-guard", "-o", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = benchsift(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let plain = pick(&[], "plain.json");
    let binned = pick(&["--difficulty-strata", "10"], "binned.json");
    assert!(plain.get("difficulty_strata").is_none(), "{plain}");
    assert_eq!(binned["difficulty_strata"], 10);
    let (e_plain, e_binned) = (weighted_error(data, &plain, "p.json"), weighted_error(data, &binned, "b.json"));
    assert!(e_binned < 0.3 * e_plain, "weighted-mean error {e_binned} with bins vs {e_plain} without");
    // Every bin of 80–81 prompts gives 10, so the weights are equal.
    let weights: Vec<f64> = binned["weights"].as_array().unwrap().iter().map(|w| w.as_f64().unwrap()).collect();
    assert_eq!(weights.len(), 100);
    assert!(weights.iter().all(|w| (w - 0.01).abs() < 2e-4), "{weights:?}");
    // evaluate keeps its random baseline a plain random sample.
    let args = ["evaluate", "www/data/bbh/responses.csv", "--methods", "metric-var", "--budgets", "9", "--folds", "3", "--seeds", "2", "--no-guard"];
    let base = info_json(&args);
    let mut with_bins = args.to_vec();
    with_bins.extend(["--difficulty-strata", "3"]);
    let binned_ev = info_json(&with_bins);
    let row = |ev: &Value, method: &str| ev["results"].as_array().unwrap().iter().find(|r| r["method"] == method && r["estimator"] == "mean").unwrap().clone();
    assert!(base.get("difficulty_strata").is_none());
    assert_eq!(binned_ev["difficulty_strata"], 3);
    assert_eq!(row(&base, "random"), row(&binned_ev, "random"));
    assert_ne!(row(&base, "metric-var"), row(&binned_ev, "metric-var"));
}

#[test]
fn information_selectors_report_how_reliable_the_discriminations_are() {
    // The bundled MMLU-Pro slice: with 8 training models the fitted
    // discriminations are mostly noise, and irt-info says so; with all 29 it
    // does not warn. Other methods report nothing.
    // The model ids, from a fit's output.
    let fit: Value = serde_json::from_slice(&benchsift(&["fit", "www/data/mmlu_pro/responses.csv.gz", "--irt", "2pl"]).stdout).unwrap();
    let eight: String = fit["models"].as_array().unwrap().iter().take(8).map(|m| m["id"].as_str().unwrap().to_string() + "\n").collect();
    let few = temp_file("eight_models.txt", eight.as_bytes());
    let run = |extra: &[&str], method: &str| {
        let mut args = vec!["select", "www/data/mmlu_pro/responses.csv.gz", "--method", method, "--budget", "50"];
        args.extend_from_slice(extra);
        let out = benchsift(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        (json["discrimination_reliability"].as_f64(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (r, stderr) = run(&["--train-models", few.to_str().unwrap()], "irt-info");
    let r = r.expect("irt-info reports the reliability");
    assert!(r < 0.5, "reliability {r}");
    assert!(stderr.contains("mostly noise on these 8 training models"), "{stderr}");
    // (--no-guard: where the random guard replaces metabench's subset by a
    // random one, the reliability of what it ranked by is moot and absent.)
    let (r, stderr) = run(&["--no-guard"], "metabench");
    assert!(r.expect("metabench reports it") >= 0.5 && !stderr.contains("mostly noise"), "{r:?} {stderr}");
    assert_eq!(run(&[], "random").0, None);
}

#[test]
fn the_random_guard_replaces_a_subset_that_predicts_worse_than_random() {
    // metric-var's 300 AlpacaEval prompts that spread the models most sit
    // mid-difficulty: cross-validated on the 57 models they estimate full
    // scores worse than random subsets of 300, so select takes a random
    // subset and says so; --no-guard keeps metric-var's.
    let data = "www/data/alpacaeval/responses.csv.gz";
    let run = |extra: &[&str]| -> (Value, String) {
        let mut args = vec!["select", data, "--method", "metric-var", "--budget", "300", "--seed", "4"];
        args.extend_from_slice(extra);
        let out = benchsift(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (serde_json::from_slice(&out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (guarded, stderr) = run(&[]);
    let report = &guarded["guard"];
    assert_eq!(report["fell_back"], true, "{report}");
    let (mine, theirs) = (report["method_error"].as_f64().unwrap(), report["random_error"].as_f64().unwrap());
    assert!(mine > 1.5 * theirs, "{report}");
    assert!(stderr.contains("so this subset is a random one"), "{stderr}");
    assert_eq!(guarded["method"], "metric-var");
    let (plain, stderr) = run(&["--no-guard"]);
    assert!(plain.get("guard").is_none() && !stderr.contains("random one"));
    // The weighted mean of the random subset is far closer to the full
    // scores than metric-var's own.
    let (e_guarded, e_plain) = (weighted_error(data, &guarded, "guarded.json"), weighted_error(data, &plain, "plain.json"));
    assert!(e_guarded < 0.5 * e_plain, "weighted-mean error {e_guarded} guarded vs {e_plain} without");
    // evaluate reports how often each guarded method fell back, never for random.
    let args = ["evaluate", data, "--methods", "metric-var", "--budgets", "300", "--folds", "3", "--seeds", "2"];
    let ev = info_json(&args);
    let rows = ev["results"].as_array().unwrap();
    for r in rows {
        let share = r.get("guard_fallbacks").and_then(Value::as_f64);
        match r["method"].as_str().unwrap() {
            "random" => assert!(share.is_none(), "{r}"),
            _ => assert_eq!(share, Some(1.0), "{r}"),
        }
    }
    let mut off = args.to_vec();
    off.push("--no-guard");
    assert!(info_json(&off)["results"].as_array().unwrap().iter().all(|r| r.get("guard_fallbacks").is_none()));
}

/// A GPU half without an adapter skips loudly, except under `CI=true`, where
/// the machine is set up with Mesa lavapipe and a skip would hide a failure.
fn skip_gpu_half(what: &str, err: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: {what} could not run: {}", err.trim());
    eprintln!("\n!!! SKIPPED {what}: {} !!!\n", err.trim());
}

#[test]
fn filter_removes_what_the_strongest_models_answer_without_the_question() {
    // The MMLU-Pro slice; answer-only responses of its 7 strongest models
    // (and one model it does not have) on three of its items: all right on
    // q70 and q71, one wrong on q72. Item q99999 is not in the matrix.
    let slice = "tests/fixtures/irt/mmlu_pro_slice.csv";
    let text = std::fs::read_to_string(repo().join(slice)).unwrap();
    let mut rows: Vec<(String, f64)> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut cells = l.split(',');
            let id = cells.next().unwrap().to_string();
            let values: Vec<f64> = cells.filter_map(|c| c.parse().ok()).collect();
            (id, values.iter().sum::<f64>() / values.len() as f64)
        })
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut csv = String::from("model,q70,q71,q72,q99999\n");
    for (k, (id, _)) in rows.iter().take(7).enumerate() {
        csv.push_str(&format!("{id},1,1,{},1\n", if k == 3 { 0 } else { 1 }));
    }
    csv.push_str("someone-else,1,1,1,1\n");
    let answers = temp_file("slice_answer_only.csv", csv.as_bytes());
    let out = benchsift(&["filter", slice, "--no-easy", "--no-duplicates", "--answer-only", answers.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let removed: Vec<(&str, f64)> =
        r["removed"].as_array().unwrap().iter().map(|x| (x["id"].as_str().unwrap(), x["answer_only_fraction"].as_f64().unwrap())).collect();
    assert_eq!(removed, [("q70", 1.0), ("q71", 1.0)]);
    assert!(r["stages"][1]["rule"].as_str().unwrap().contains("without its question"));
    // An answer-only file on other items is refused, naming it.
    let other = temp_file("other_answer_only.csv", b"model,zz\nm,1\n");
    let out = benchsift(&["filter", slice, "--answer-only", other.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("none of its items is among the responses' items"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A simulated two-benchmark leaderboard: 240 models, each benchmark 300
/// items of which the matrix holds 40 (a tenth of its cells missing), and
/// the truth per benchmark on the full 300, in points (tasks.csv beside it,
/// with items.csv naming each item's task); models m200…m209 have no score
/// for `hard`.
fn two_task_leaderboard() -> (PathBuf, PathBuf) {
    let mut rng = benchsift::rng::Rng::new(31);
    let tasks: Vec<Vec<benchsift::irt::ItemParams>> =
        [0.8, -0.6].iter().map(|shift| (0..300).map(|_| benchsift::irt::ItemParams::new(rng.log_normal(0.0, 0.3), rng.normal() + shift)).collect()).collect();
    let mut part = String::from("model");
    for t in ["hard", "easy"] {
        for i in 0..40 {
            part.push_str(&format!(",{t}{i}"));
        }
    }
    part.push('\n');
    let mut truth = String::from("model,hard,easy\n");
    for j in 0..240 {
        // Two correlated abilities, one per benchmark.
        let (a, b) = (rng.normal(), rng.normal());
        let theta = [a, 0.6 * a + 0.8 * b];
        part.push_str(&format!("m{j}"));
        let mut scores = Vec::new();
        for (task, params) in tasks.iter().enumerate() {
            let row: Vec<u8> = params.iter().map(|p| (rng.uniform() < p.expected(theta[task])) as u8).collect();
            for x in &row[..40] {
                if rng.uniform() < 0.1 { part.push(',') } else { part.push_str(&format!(",{x}")) }
            }
            scores.push(100.0 * row.iter().map(|&x| x as f64).sum::<f64>() / 300.0);
        }
        part.push('\n');
        let hard = if (200..210).contains(&j) { String::new() } else { scores[0].to_string() };
        truth.push_str(&format!("m{j},{hard},{}\n", scores[1]));
    }
    let mut items = String::from("item_id,task\n");
    for t in ["hard", "easy"] {
        for i in 0..40 {
            items.push_str(&format!("{t}{i},{t}\n"));
        }
    }
    let part = temp_file("board.csv", part.as_bytes());
    std::fs::write(part.parent().unwrap().join("items.csv"), items).unwrap();
    std::fs::write(part.parent().unwrap().join("tasks.csv"), truth).unwrap();
    let truth = part.parent().unwrap().join("tasks.csv");
    (part, truth)
}

#[test]
fn truth_per_task_gives_per_task_estimates_and_their_composite() {
    let (part, truth) = two_task_leaderboard();
    let (part, truth_path) = (part.to_str().unwrap(), truth.to_str().unwrap());
    let dir = truth.parent().unwrap();
    let items = dir.join("items.csv");
    let items = items.to_str().unwrap();
    // Train on m0…m179; m180…m239 are new models.
    let train = dir.join("train.txt");
    std::fs::write(&train, (0..180).map(|j| format!("m{j}\n")).collect::<String>()).unwrap();
    let subset_path = dir.join("subset.json");
    let out = benchsift(&[
        "select",
        part,
        "--items",
        items,
        "--truth",
        truth_path,
        "--method",
        "random",
        "--budget",
        "30",
        "--train-models",
        train.to_str().unwrap(),
        "-o",
        subset_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The models without a score for `hard` are left out, and said to be.
    assert!(stderr.contains("10 of the 240 models lack a score for some of the tasks (hard, easy) (e.g. 'm200')"), "{stderr}");
    let subset: Value = serde_json::from_str(&std::fs::read_to_string(&subset_path).unwrap()).unwrap();
    assert_eq!(subset["train_models"], 180);
    let tasks = subset["task_ridges"]["tasks"].as_array().unwrap();
    assert_eq!(tasks.iter().map(|t| t["task"].as_str().unwrap()).collect::<Vec<_>>(), ["hard", "easy"]);

    let est = info_json(&["estimate", part, "--subset", subset_path.to_str().unwrap(), "--estimator", "ridge"]);
    let truth_rows: std::collections::HashMap<String, Vec<f64>> = std::fs::read_to_string(&truth)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f[0].to_string(), vec![f[1].parse().ok()?, f[2].parse().ok()?]))
        })
        .collect();
    let (mut errors, mut composite_errors, mut covered, mut n) = ([0.0; 2], 0.0, 0, 0);
    for m in est["models"].as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        let j: usize = id[1..].parse().unwrap();
        let tasks = m["tasks"].as_array().unwrap();
        // The composite is the tasks' mean, with its own interval.
        let mean = (tasks[0]["estimate"].as_f64().unwrap() + tasks[1]["estimate"].as_f64().unwrap()) / 2.0;
        assert!((m["estimate"].as_f64().unwrap() - mean).abs() < 1e-9, "{m}");
        assert!(m["low"].as_f64().unwrap() < mean && mean < m["high"].as_f64().unwrap());
        let Some(t) = truth_rows.get(id).filter(|_| j >= 180) else { continue };
        for k in 0..2 {
            errors[k] += (tasks[k]["estimate"].as_f64().unwrap() - t[k]).abs();
        }
        let c = (t[0] + t[1]) / 2.0;
        composite_errors += (m["estimate"].as_f64().unwrap() - c).abs();
        covered += usize::from(m["low"].as_f64().unwrap() <= c && c <= m["high"].as_f64().unwrap());
        n += 1;
    }
    assert_eq!(n, 50);
    // Against each benchmark's own subset items, averaged: ridge reads both
    // benchmarks' items and has learnt the part-to-whole map, so it errs less
    // on each task and on their mean; its 95% interval covers most new models.
    let text = std::fs::read_to_string(part).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let chosen: Vec<usize> = subset["items"].as_array().unwrap().iter().map(|id| header.iter().position(|h| h == id).unwrap()).collect();
    let (mut naive, mut naive_composite) = ([0.0; 2], 0.0);
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let j: usize = f[0][1..].parse().unwrap();
        let Some(t) = truth_rows.get(f[0]).filter(|_| j >= 180) else { continue };
        let mut means = [0.0; 2];
        for (k, prefix) in ["hard", "easy"].iter().enumerate() {
            let answered: Vec<f64> = chosen.iter().filter(|&&c| header[c].starts_with(prefix)).filter_map(|&c| f[c].parse::<f64>().ok()).collect();
            means[k] = 100.0 * answered.iter().sum::<f64>() / answered.len() as f64;
            naive[k] += (means[k] - t[k]).abs() / n as f64;
        }
        naive_composite += ((means[0] + means[1]) / 2.0 - (t[0] + t[1]) / 2.0).abs() / n as f64;
    }
    let (hard, easy, composite) = (errors[0] / n as f64, errors[1] / n as f64, composite_errors / n as f64);
    assert!(
        hard < naive[0] && easy < naive[1] && composite < naive_composite,
        "MAE hard {hard:.2} vs {:.2}, easy {easy:.2} vs {:.2}, composite {composite:.2} vs {naive_composite:.2}",
        naive[0],
        naive[1]
    );
    assert!(covered >= 43, "{covered} of {n} covered");

    // evaluate reports each task's error in the ridge rows.
    let ev = info_json(&["evaluate", part, "--items", items, "--truth", truth_path, "--methods", "random", "--budgets", "30", "--folds", "3", "--seeds", "2"]);
    let ridge = ev["results"].as_array().unwrap().iter().find(|r| r["estimator"] == "ridge").unwrap().clone();
    assert_eq!(ev["models"], 230);
    let per_task = ridge["tasks"].as_array().unwrap();
    assert_eq!(per_task.len(), 2);
    for (t, (name, naive)) in per_task.iter().zip(["hard", "easy"].iter().zip(naive)) {
        assert_eq!(t["task"], *name);
        assert!(t["mae"]["mean"].as_f64().unwrap() < naive && t["coverage"]["mean"].as_f64().unwrap() >= 0.9, "{t}");
    }
    assert!(ev["results"].as_array().unwrap().iter().filter(|r| r["estimator"] != "ridge").all(|r| r.get("tasks").is_none()));

    // A score that is not a number is refused with its cell.
    let bad = temp_file("tasks.csv", b"model,hard,easy\nm0,50,abc\n");
    let out = benchsift(&["select", part, "--items", items, "--truth", bad.to_str().unwrap(), "--method", "random", "--budget", "5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("tasks.csv") && stderr.contains("line 2") && stderr.contains("'abc' is not a number"), "{stderr}");
    // And a file that scores fewer than two of the models is refused.
    let few = temp_file("tasks.csv", b"model,hard,easy\nm0,50,40\n");
    let out = benchsift(&["select", part, "--items", items, "--truth", few.to_str().unwrap(), "--method", "random", "--budget", "5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("1 of the 240 models of the responses have a score for every task (hard, easy)"), "{stderr}");
    // Without the items file nothing says `hard` and `easy` are tasks: the
    // first score column is the composite, as for `model,acc,stderr`.
    let plain = dir.join("plain.json");
    let out = benchsift(&["select", part, "--truth", truth_path, "--method", "random", "--budget", "5", "-o", plain.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plain: Value = serde_json::from_str(&std::fs::read_to_string(&plain).unwrap()).unwrap();
    assert!(plain.get("task_ridges").is_none() && plain["train_models"] == 230, "{plain}");
}
