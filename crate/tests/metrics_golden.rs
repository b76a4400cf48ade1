//! benchsift's evaluation metrics against scipy 1.14.1 on the same vectors
//! (golden file from scripts/fixtures/make_metrics_golden.py): correlations,
//! ranks and errors to 1e-12, Student-t quantiles to 1e-6 (we reach ~1e-10).
//! The golden file writes NaN as null and infinities as "inf" / "-inf".

use benchsift::metrics::{self, MeanCi};
use serde_json::Value;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/golden/metrics.json");

fn golden() -> Value {
    let text = std::fs::read_to_string(GOLDEN).expect("golden file exists; run scripts/fixtures/make_metrics_golden.py");
    serde_json::from_str(&text).expect("golden file is JSON")
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Null => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        _ => v.as_f64().expect("a number"),
    }
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(number).collect()
}

/// Relative tolerance, absolute below magnitude 1; NaN matches NaN only.
fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
    let ok = if want.is_nan() { got.is_nan() } else { (got - want).abs() <= tol * want.abs().max(1.0) };
    assert!(ok, "{what}: got {got:e}, scipy {want:e}");
}

#[test]
fn correlations_errors_and_ranks_work_like_scipy() {
    let golden = golden();
    let cases = golden["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let (x, y) = (numbers(&case["x"]), numbers(&case["y"]));
        let check = |got: f64, key: &str| assert_close(got, number(&case[key]), 1e-12, &format!("{name} {key}"));
        check(metrics::kendall_tau_b(&x, &y), "kendall_tau_b");
        check(metrics::spearman(&x, &y), "spearman");
        check(metrics::pearson(&x, &y), "pearson");
        check(metrics::mae(&x, &y), "mae");
        check(metrics::rmse(&x, &y), "rmse");
        for (key, v) in [("ranks_x", &x), ("ranks_y", &y)] {
            if case.get(key).is_some() {
                assert_eq!(metrics::ranks(v), numbers(&case[key]), "{name} {key}");
            }
        }
    }
}

#[test]
fn student_t_quantile_works_like_scipy() {
    let golden = golden();
    for q in golden["t_quantiles"].as_array().expect("t_quantiles") {
        let (p, df) = (number(&q["p"]), number(&q["df"]));
        let got = metrics::student_t_quantile(p, df);
        assert_close(got, number(&q["q"]), 1e-6, &format!("t.ppf({p}, {df})"));
    }
}

#[test]
fn mean_ci_works_like_scipy_t_interval() {
    let golden = golden();
    for c in golden["mean_ci"].as_array().expect("mean_ci") {
        let name = c["name"].as_str().expect("name");
        let MeanCi { mean, low, high, n } = metrics::mean_ci(&numbers(&c["values"]), number(&c["level"]));
        assert_eq!(n as u64, c["n"].as_u64().expect("n"), "{name} n");
        assert_close(mean, number(&c["mean"]), 1e-12, &format!("{name} mean"));
        assert_close(low, number(&c["low"]), 1e-9, &format!("{name} low"));
        assert_close(high, number(&c["high"]), 1e-9, &format!("{name} high"));
    }
}
