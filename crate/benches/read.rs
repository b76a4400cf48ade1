//! Reading response matrices (target: MMLU-Pro's 770 KB CSV in ≤ 100 ms natively).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

mod common;

fn read(c: &mut Criterion) {
    let bytes = common::mmlu_pro_csv();
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(BenchmarkId::new("wide_csv", "mmlu_pro_29x12032"), |b| {
        b.iter(|| {
            let input = benchsift::read::Input::new("responses.csv", &bytes);
            benchsift::read::read_responses(&[input], &Default::default()).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
