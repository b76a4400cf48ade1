//! 2PL fits on the CPU backend (the reference ratios against girth and py-irt
//! come from scripts/bench/irt_vs_reference.py, which runs them on the same
//! matrices).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use benchsift::irt::{self, FitOptions, IrtModel};

mod common;

fn fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("fit_2pl");
    group.sample_size(10);
    let cases = [("synthetic_2000x1000", common::synthetic_2pl(2000, 1000, 1)), ("mmlu_pro_29x12032", common::mmlu_pro())];
    for (name, m) in &cases {
        group.bench_function(BenchmarkId::new("cpu", name), |b| {
            b.iter(|| irt::fit(m, &FitOptions { model: IrtModel::TwoPl, ..FitOptions::default() }, &mut |_| true).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, fit);
criterion_main!(benches);
