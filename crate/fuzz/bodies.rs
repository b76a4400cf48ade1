// What each fuzz target does with one input, shared by the libFuzzer targets
// (`fuzz_targets/*.rs`) and the regression test that replays every saved
// input on stable Rust (`crate/tests/fuzz_regressions.rs`). Each body must
// never panic: a reader either returns an error or a matrix whose invariants
// hold, which the body checks.

#[allow(unused_imports)]
use benchsift::read::{self, Format, Input, ReadOptions};
#[allow(unused_imports)]
use benchsift::{Kind, ResponseMatrix};

/// Small limits keep each run fast; the limit checks themselves are fuzzed too.
#[allow(dead_code)]
fn small_limits() -> ReadOptions {
    ReadOptions { max_cells: 200_000, max_bytes: 1 << 20, ..ReadOptions::default() }
}

/// Invariants of any matrix a reader returns.
#[allow(dead_code)]
fn check_matrix(m: &ResponseMatrix, unit_interval: bool) {
    assert_eq!(m.item_ids().len(), m.n_items());
    assert_eq!(m.model_ids().len(), m.n_models());
    for j in 0..m.n_models() {
        for i in 0..m.n_items() {
            if let Some(x) = m.get(j, i) {
                assert!(x.is_finite(), "non-finite score at ({j}, {i})");
                if m.kind() == Kind::Binary {
                    assert!(x == 0.0 || x == 1.0, "binary matrix holds {x}");
                }
                if unit_interval {
                    assert!((0.0..=1.0).contains(&x), "{x} outside [0, 1]");
                }
            }
        }
    }
    let mean = m.mean();
    assert!(mean.is_finite() || m.n_models() == 0 || m.n_items() == 0, "mean {mean}");
}

/// Byte 0 picks the format and file name; the rest is the file.
#[allow(dead_code)]
pub fn read_responses(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let (name, format) = match selector % 6 {
        0 => ("responses.csv", None),
        1 => ("responses.csv", Some(Format::Wide)),
        2 => ("responses.tsv", Some(Format::Long)),
        3 => ("responses.json", Some(Format::Json)),
        4 => ("model-a/samples_task_2024-01-01T00-00-00.jsonl", Some(Format::LmEval)),
        _ => ("responses.csv.gz", None),
    };
    let unit = selector & 0x80 != 0;
    let options = ReadOptions { format, require_unit_interval: unit, ..small_limits() };
    if let Ok(loaded) = read::read_responses(&[Input::new(name, bytes)], &options) {
        check_matrix(&loaded.matrix, unit);
    }
}

/// A fixed 3 × 4 matrix, then the input read as an items, models and truth file.
#[allow(dead_code)]
pub fn read_meta(data: &[u8]) {
    let base = "model,q1,q2,q3,q4\nA,1,0,,1\nB,0,0,1,1\nC,1,1,1,\n";
    let Ok(loaded) = read::read_responses(&[Input::new("r.csv", base.as_bytes())], &small_limits()) else {
        panic!("the fixed matrix must read");
    };
    let mut m = loaded.matrix;
    let input = Input::new("meta.csv", data);
    let _ = read::read_items(&input, &mut m, 1 << 20);
    let _ = read::read_models(&input, &mut m, 1 << 20);
    if let Ok(truth) = read::read_truth(&input, &m, 1 << 20) {
        assert_eq!(truth.rows.len(), m.n_models());
        assert!(!truth.columns.is_empty());
        assert!(truth.rows.iter().flatten().all(|r| r.len() == truth.columns.len() && r.iter().all(|t| t.is_finite())));
    }
    let _ = read::read_item_texts(&input, 1 << 20);
    check_matrix(&m, false);
}

#[allow(dead_code)]
pub fn read_npy(data: &[u8]) {
    if let Ok(e) = read::read_npy(&Input::new("e.npy", data), 1 << 20) {
        assert_eq!(e.data.len(), e.rows * e.dims);
    }
    // The same bytes as any embeddings form (.npy, JSON, JSON Lines, CSV).
    for name in ["e.json", "e.tsv"] {
        if let Ok(e) = read::read_embeddings(&Input::new(name, data), 1 << 20) {
            assert_eq!(e.data.len(), e.rows * e.dims);
            assert!(e.rows > 0 && e.dims > 0 && e.data.iter().all(|v| v.is_finite()));
            if let Some(ids) = &e.ids {
                assert_eq!(ids.len(), e.rows);
                let order: Vec<String> = ids.iter().rev().cloned().collect();
                assert_eq!(e.ordered_as(name, &order).map(|v| v.len()).ok(), Some(e.data.len()));
            }
        }
    }
}

/// The input split at the first NUL: a subset file and a fit file, as
/// `estimate` reads them, applied to a fixed matrix with every estimator.
#[allow(dead_code)]
pub fn estimate_json(data: &[u8]) {
    let (subset_bytes, fit_bytes) = match data.iter().position(|&b| b == 0) {
        Some(k) => (&data[..k], &data[k + 1..]),
        None => (data, &[][..]),
    };
    let Ok(subset) = serde_json::from_slice::<benchsift::select::subset::SubsetJson>(subset_bytes) else { return };
    let fit = serde_json::from_slice::<benchsift::irt::FitJson>(fit_bytes).ok().and_then(|j| benchsift::irt::IrtFit::from_json(j).ok());
    let base = "model,q1,q2,q3,q4\nA,1,0,,1\nB,0,0,1,1\nC,1,1,1,\n";
    let m = read::read_responses(&[Input::new("r.csv", base.as_bytes())], &small_limits()).map(|l| l.matrix);
    let Ok(m) = m else { panic!("the fixed matrix must read") };
    for estimator in benchsift::estimate::Estimator::ALL {
        if let Ok(e) = benchsift::select::subset::estimate_matrix(&subset, fit.as_ref(), &m, estimator) {
            for model in &e.models {
                // An estimate is a number with an interval around it, or an error.
                assert!(!model.estimate.is_nan() && !model.low.is_nan() && !model.high.is_nan(), "NaN estimate {model:?}");
                assert!(model.low <= model.high, "inverted interval {model:?}");
            }
        }
    }
}

/// The input as an items CSV for the built-in text features.
#[allow(dead_code)]
pub fn similar_items(data: &[u8]) {
    let request = benchsift::commands::similar::SimilarRequest { top_k: 3, ..Default::default() };
    let mut files = benchsift::commands::Files::new();
    files.push(benchsift::commands::Role::Items, Input::new("items.csv", data));
    if let Ok(report) = benchsift::commands::similar::run_cpu(&files, &request) {
        for p in &report.pairs {
            assert!(p.cosine.is_finite() && p.cosine <= 1.0 + 1e-4, "cosine {}", p.cosine);
        }
    }
}
