//! Cosine top-10 neighbours of random unit vectors (384 dimensions, the
//! MiniLM width) on the CPU search and on the wgpu kernel, one BenchmarkId
//! per size and backend. Throughput is in multiply-adds × 2 (FLOP), so
//! criterion's "elem/s" reads as FLOP/s. The GPU measurement includes upload,
//! every dispatch and the readback: `cosine_search` returns only after the
//! device has finished.
//!
//! Sizes: `BENCHSIFT_SIMILAR_SIZES=1024,4096` (default 1024,2048; software
//! adapters such as lavapipe take seconds per call beyond that).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use benchsift::rng::Rng;
use benchsift::similar::Query;

const DIMS: usize = 384;

fn sizes() -> Vec<usize> {
    std::env::var("BENCHSIFT_SIMILAR_SIZES").ok().map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect()).unwrap_or_else(|| vec![1024, 2048])
}

fn similar(c: &mut Criterion) {
    let mut group = c.benchmark_group("cosine_top10_d384");
    group.sample_size(10);
    #[cfg(feature = "gpu")]
    let gpu = match benchsift::gpu::GpuContext::new_blocking() {
        Ok(ctx) => {
            eprintln!("GPU adapter: {:?}", ctx.adapter());
            Some(ctx)
        }
        Err(e) => {
            eprintln!("!!! no GPU adapter, GPU benchmarks skipped: {e}");
            None
        }
    };
    for n in sizes() {
        let mut rng = Rng::new(n as u64);
        let vectors: Vec<f32> = (0..n * DIMS).map(|_| rng.normal() as f32).collect();
        let query = Query::new(n, &vectors, DIMS, 10, None).unwrap();
        group.throughput(Throughput::Elements((2 * n * n * DIMS) as u64));
        group.bench_with_input(BenchmarkId::new("cpu", n), &query, |b, q| b.iter(|| q.search_cpu().unwrap()));
        #[cfg(feature = "gpu")]
        if let Some(ctx) = &gpu {
            // Compile the pipelines outside the timed loop.
            pollster::block_on(ctx.cosine_search(&query)).unwrap();
            group.bench_with_input(BenchmarkId::new("gpu", n), &query, |b, q| b.iter(|| pollster::block_on(ctx.cosine_search(q)).unwrap()));
        }
    }
    group.finish();
}

criterion_group!(benches, similar);
criterion_main!(benches);
