//! metric-balance against an independent plain-Python implementation of the
//! same definition (scripts/fixtures/make_metric_balance_golden.py): the same
//! item order on a synthetic two-metric ensemble of different scales, on one
//! metric, on the responses alone, and on the committed AlpacaEval slice.

use benchsift::read::{Input, read_responses};
use benchsift::select::{self, Budget, Context, Method, SelectOptions, SideData};

fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn orders_match_the_python_reference() {
    let golden: serde_json::Value = serde_json::from_slice(&bytes("tests/fixtures/metric_balance/golden.json")).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let path = case["responses"].as_str().unwrap();
        let data = bytes(path);
        let m = read_responses(&[Input::new(path, &data)], &Default::default()).unwrap().matrix;
        let metric_paths: Vec<&str> = case["metrics"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let metric_bytes: Vec<Vec<u8>> = metric_paths.iter().map(|p| bytes(p)).collect();
        let inputs: Vec<Input> = metric_paths.iter().zip(&metric_bytes).map(|(p, b)| Input::new(p, b)).collect();
        let side = SideData::load(&m, &inputs, None, None, None).unwrap();
        let train: Vec<usize> = (0..m.n_models()).collect();
        let ctx = Context { matrix: &m, train: &train, fit: None, anchor_space: None, side: side.side(), target: None };
        let theirs: Vec<&str> = case["order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let options =
            SelectOptions { method: Method::MetricBalance, budget: Budget::Items(theirs.len()), seed: 0, stratify: false, difficulty_strata: 0, guard: false };
        let subset = select::select(&ctx, &options).unwrap();
        let ours: Vec<&str> = subset.items.iter().map(|&i| m.item_ids()[i].as_str()).collect();
        assert_eq!(ours, theirs, "{name}");
        assert!(subset.weights.iter().all(|w| (w - 1.0 / theirs.len() as f64).abs() < 1e-12));
        // A smaller budget is a prefix of the order.
        let top = select::select(&ctx, &SelectOptions { budget: Budget::Items(7), ..options }).unwrap();
        assert_eq!(top.items, subset.items[..7].to_vec(), "{name}");
    }
}
