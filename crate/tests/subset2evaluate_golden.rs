//! metric-avg, metric-var, metric-cons and diversity against subset2evaluate
//! 1.0.27 on a synthetic input (tests/fixtures/subset2evaluate, made by
//! scripts/fixtures/make_subset2evaluate_golden.py): the same item order and
//! the same utilities.

use benchsift::read::{Input, read_responses};
use benchsift::select::{self, Budget, Context, Method, SelectOptions, SideData};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../tests/fixtures/subset2evaluate/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn orderings_and_utilities_match_subset2evaluate() {
    let human = fixture("human.csv");
    let metric = fixture("metric.csv");
    let outputs = fixture("outputs.csv");
    let golden: serde_json::Value = serde_json::from_slice(&fixture("golden.json")).unwrap();
    let m = read_responses(&[Input::new("human.csv", &human)], &Default::default()).unwrap().matrix;
    let train: Vec<usize> = (0..m.n_models()).collect();
    let stratum: Vec<usize> = (0..m.n_items()).collect();
    let cases = golden["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let method = Method::parse(case["method"].as_str().unwrap()).unwrap();
        let side = match case["metric"].as_str().unwrap() {
            "human" => SideData::default(),
            "metric" => SideData::load(&m, &[Input::new("metric.csv", &metric)], None, None, None).unwrap(),
            _ => SideData::load(&m, &[], Some(&Input::new("outputs.csv", &outputs)), None, None).unwrap(),
        };
        let ctx = Context { matrix: &m, train: &train, fit: None, anchor_space: None, side: side.side(), target: None };
        let subset =
            select::select(&ctx, &SelectOptions { method, budget: Budget::Items(m.n_items()), seed: 0, stratify: false, difficulty_strata: 0, guard: false })
                .unwrap();
        let ours: Vec<&str> = subset.items.iter().map(|&i| m.item_ids()[i].as_str()).collect();
        let theirs: Vec<&str> = case["order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(ours, theirs, "{} on {}", case["method"], case["metric"]);
        let utility = select::metric_utilities(&ctx, method, &stratum, &stratum).unwrap();
        for (id, u) in theirs.iter().zip(case["utility"].as_array().unwrap()) {
            let i = m.item_ids().iter().position(|x| x == id).unwrap();
            let u = u.as_f64().unwrap();
            // f32 storage of the metric's 3-decimal values: ~1e-7 relative.
            assert!((utility[i] - u).abs() <= 1e-6 * (1.0 + u.abs()), "{} on {}: {id} {} vs {u}", case["method"], case["metric"], utility[i]);
        }
        // A budget takes the top of that order, uniformly weighted.
        let top =
            select::select(&ctx, &SelectOptions { method, budget: Budget::Items(7), seed: 0, stratify: false, difficulty_strata: 0, guard: false }).unwrap();
        assert_eq!(top.items, subset.items[..7].to_vec());
        assert!(top.weights.iter().all(|w| (w - 1.0 / 7.0).abs() < 1e-12));
    }
}
