//! Property tests of the statistics over random inputs (proptest):
//! missing cells stay missing through every reader, permuting models or items
//! permutes the results, and putting scores on another scale (0–100) does not
//! change who ranks where.
#![allow(clippy::disallowed_methods)] // std's elementary functions are fine in tests (see clippy.toml)

use benchsift::irt::{self, FitOptions, IrtModel};
use benchsift::read::{Format, Input, ReadOptions, read_responses};
use benchsift::{Kind, ResponseMatrix};
use proptest::prelude::*;

/// A cell: missing, or a score.
fn cell() -> impl Strategy<Value = Option<f32>> {
    prop_oneof![Just(None), Just(Some(0.0f32)), Just(Some(1.0f32)), (0u32..=100).prop_map(|k| Some(k as f32 / 100.0))]
}

fn grid(max_models: usize, max_items: usize) -> impl Strategy<Value = Vec<Vec<Option<f32>>>> {
    (1..=max_models, 1..=max_items).prop_flat_map(|(m, n)| prop::collection::vec(prop::collection::vec(cell(), n), m))
}

fn wide_csv(cells: &[Vec<Option<f32>>]) -> String {
    let n = cells[0].len();
    let mut out = String::from("model");
    for i in 0..n {
        out += &format!(",q{i}");
    }
    out.push('\n');
    for (j, row) in cells.iter().enumerate() {
        out += &format!("m{j}");
        for x in row {
            out.push(',');
            if let Some(x) = x {
                out += &x.to_string();
            }
        }
        out.push('\n');
    }
    out
}

fn long_csv(cells: &[Vec<Option<f32>>]) -> String {
    let mut out = String::from("model,item,score\n");
    for (j, row) in cells.iter().enumerate() {
        for (i, x) in row.iter().enumerate() {
            if let Some(x) = x {
                out += &format!("m{j},q{i},{x}\n");
            }
        }
    }
    out
}

fn json(cells: &[Vec<Option<f32>>]) -> String {
    let models: Vec<String> = (0..cells.len()).map(|j| format!("m{j}")).collect();
    let items: Vec<String> = (0..cells[0].len()).map(|i| format!("q{i}")).collect();
    serde_json::json!({ "models": models, "items": items, "scores": cells }).to_string()
}

/// Every cell of `cells` is what the matrix holds (matched by ids); models and
/// items the reader dropped had no observed cell at all.
fn assert_same_cells(cells: &[Vec<Option<f32>>], m: &ResponseMatrix) -> Result<(), TestCaseError> {
    for (j, row) in cells.iter().enumerate() {
        let mj = m.model_ids().iter().position(|id| *id == format!("m{j}"));
        for (i, &x) in row.iter().enumerate() {
            let mi = m.item_ids().iter().position(|id| *id == format!("q{i}"));
            match (mj, mi) {
                (Some(mj), Some(mi)) => prop_assert_eq!(m.get(mj, mi), x, "cell (m{}, q{})", j, i),
                _ => prop_assert_eq!(x, None, "dropped model m{} or item q{} had a score", j, i),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn missing_cells_never_become_zeros(cells in grid(6, 6)) {
        prop_assume!(cells.iter().flatten().any(Option::is_some));
        for (name, text, format) in [
            ("r.csv", wide_csv(&cells), Format::Wide),
            ("r.csv", long_csv(&cells), Format::Long),
            ("r.json", json(&cells), Format::Json),
        ] {
            let options = ReadOptions { format: Some(format), ..ReadOptions::default() };
            let loaded = read_responses(&[Input::new(name, text.as_bytes())], &options).map_err(|e| TestCaseError::fail(e.to_string()))?;
            assert_same_cells(&cells, &loaded.matrix)?;
            // The mean is over observed cells only.
            let observed: Vec<f64> = cells.iter().flatten().filter_map(|x| x.map(f64::from)).collect();
            let mean = observed.iter().sum::<f64>() / observed.len() as f64;
            prop_assert!((loaded.matrix.mean() - mean).abs() < 1e-6);
        }
    }
}

/// A 2PL response matrix with known structure, as wide CSV text.
fn simulated(models: usize, items: usize, seed: u64) -> Vec<Vec<Option<f32>>> {
    let mut rng = benchsift::rng::Rng::new(seed);
    let a: Vec<f64> = (0..items).map(|_| 0.5 + rng.uniform() * 1.5).collect();
    let b: Vec<f64> = (0..items).map(|_| rng.normal()).collect();
    (0..models)
        .map(|_| {
            let t = rng.normal();
            (0..items).map(|i| if rng.uniform() < 0.1 { None } else { Some((rng.uniform() < 1.0 / (1.0 + (-a[i] * (t - b[i])).exp())) as u8 as f32) }).collect()
        })
        .collect()
}

fn read(text: &str) -> ResponseMatrix {
    read_responses(&[Input::new("r.csv", text.as_bytes())], &ReadOptions::default()).unwrap().matrix
}

fn fit(m: &ResponseMatrix, model: IrtModel) -> irt::IrtFit {
    irt::fit(m, &FitOptions { model, ..FitOptions::default() }, &mut |_| true).unwrap()
}

/// Every pair of models that `a` orders by more than `tolerance` is ordered
/// the same way by `b` (near-ties may break either way: the two inputs differ
/// in the last bit after rescaling).
fn same_order(a: &[f64], b: &[f64], tolerance: f64) -> Result<(), TestCaseError> {
    for i in 0..a.len() {
        for j in 0..a.len() {
            if a[i] - a[j] > tolerance {
                prop_assert!(b[i] > b[j], "models {} and {}: {} > {} but {} <= {}", i, j, a[i], a[j], b[i], b[j]);
            }
        }
    }
    Ok(())
}

proptest! {
    // Each case fits two models; a handful of cases is plenty.
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn permuting_models_and_items_permutes_the_fit(seed in 0u64..1_000, shift_models in 1usize..39, shift_items in 1usize..11) {
        let cells = simulated(40, 12, seed);
        let base = fit(&read(&wide_csv(&cells)), IrtModel::TwoPl);
        // Rotate the rows and the columns (ids travel with them).
        let rotated: Vec<Vec<Option<f32>>> = (0..40).map(|j| cells[(j + shift_models) % 40].clone()).collect();
        let mut text = String::from("model");
        for i in 0..12 {
            text += &format!(",q{}", (i + shift_items) % 12);
        }
        text.push('\n');
        for (j, row) in rotated.iter().enumerate() {
            text += &format!("m{}", (j + shift_models) % 40);
            for i in 0..12 {
                text.push(',');
                if let Some(x) = row[(i + shift_items) % 12] {
                    text += &x.to_string();
                }
            }
            text.push('\n');
        }
        let m = read(&text);
        let moved = fit(&m, IrtModel::TwoPl);
        // Same numbers up to summation order and the stopping rule.
        for (k, id) in base.item_ids.iter().enumerate() {
            let at = moved.item_ids.iter().position(|x| x == id).unwrap();
            prop_assert!((base.items[k].a - moved.items[at].a).abs() < 2e-3, "a of {}: {} vs {}", id, base.items[k].a, moved.items[at].a);
            prop_assert!((base.items[k].b - moved.items[at].b).abs() < 2e-3, "b of {}: {} vs {}", id, base.items[k].b, moved.items[at].b);
        }
        for (k, id) in base.model_ids.iter().enumerate() {
            let at = moved.model_ids.iter().position(|x| x == id).unwrap();
            prop_assert!((base.theta[k] - moved.theta[at]).abs() < 2e-3, "theta of {}", id);
        }
    }

    #[test]
    fn scores_on_a_0_to_100_scale_rank_models_the_same(seed in 0u64..1_000) {
        // Continuous scores in (0, 1), and the same as percentages.
        let mut rng = benchsift::rng::Rng::new(seed);
        let cells: Vec<Vec<Option<f32>>> = (0..25)
            .map(|_| {
                let t = rng.normal();
                (0..10).map(|_| Some((1.0 / (1.0 + (-(t + 0.5 * rng.normal())).exp()) * 100.0).round() as f32 / 100.0)).collect()
            })
            .collect();
        let unit = read(&wide_csv(&cells));
        let percent_cells: Vec<Vec<Option<f32>>> = cells.iter().map(|r| r.iter().map(|x| x.map(|x| (x * 100.0).round())).collect()).collect();
        let percent = read(&wide_csv(&percent_cells));
        prop_assume!(unit.kind() == Kind::Continuous && percent.kind() == Kind::Continuous);
        let a = fit(&unit, IrtModel::Beta);
        let b = fit(&percent, IrtModel::Beta);
        same_order(&a.theta, &b.theta, 1e-6)?;
        same_order(&unit.model_means(), &percent.model_means(), 1e-6)?;
    }
}
