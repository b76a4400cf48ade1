//! `evaluate` speed: 5 methods × 6 budgets × 20 seeds × 5 folds on a
//! synthetic 2PL matrix of 2,000 models × 1,000 items (the target is under a
//! minute natively). One full run is long, so this is a timed run, not a
//! criterion sample: `cargo bench -p benchsift --bench evaluate`. It prints
//! the wall time, the thread count and a digest of the JSON so that a speed
//! change can be checked not to change results.

use std::time::Instant;

use benchsift::evaluate::{self, EvaluateOptions, Split};
use benchsift::irt::IrtModel;
use benchsift::select::Method;

mod common;

fn main() {
    // `cargo bench` passes --bench; a filter argument selects a smaller grid.
    let small = std::env::args().any(|a| a == "small");
    let (models, items, seeds) = if small { (500, 400, 5) } else { (2000, 1000, 20) };
    let m = common::synthetic_2pl(models, items, 1);
    let options = EvaluateOptions {
        methods: vec![Method::Random, Method::Stratified, Method::IrtInfo, Method::IrtCluster, Method::AnchorPoints],
        budgets: evaluate::default_budgets(items),
        split: Split::KFold(5),
        seeds,
        irt: IrtModel::TwoPl,
        stratify: false,
        difficulty_strata: 0,
        // BENCH_NO_GUARD=1 times the grid without the random guard (ARCHITECTURE 44).
        guard: std::env::var_os("BENCH_NO_GUARD").is_none(),
        truth: None,
        task_truth: None,
        side: Default::default(),
        adaptive_target_se: None,
        adaptive_explore: evaluate::Explore::Auto,
    };
    let started = Instant::now();
    let result = evaluate::evaluate(&m, &options, &mut |p| {
        if p.steps == 0 {
            eprintln!("fold {}/{} after {:.1} s", p.splits_done, p.splits, started.elapsed().as_secs_f64());
        }
    })
    .expect("evaluate runs");
    let seconds = started.elapsed().as_secs_f64();
    let json = serde_json::to_string(&result).expect("serialises");
    // FNV-1a: a dependency-free digest to compare runs byte for byte.
    let digest = json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    println!(
        "evaluate {models}x{items}, 5 methods x {} budgets x {seeds} seeds x 5 folds: {seconds:.1} s on {} threads, {} rows, json digest {digest:016x}",
        options.budgets.len(),
        benchsift::parallel::threads(),
        result.results.len()
    );
}
