//! Cosine top-k and threshold pairs on the GPU: the twin of
//! [`crate::similar::search`], which is its oracle in the tests.
//!
//! Rows are normalised on the host and uploaded once (padded to a multiple
//! of 4 floats for vec4 loads). The N × N product is never held: a slab of
//! `rows × cols` scores (at most 64 MiB) is computed by `cosine_scores.wgsl`
//! and immediately merged into each row's top-k list and the threshold pairs
//! by `cosine_topk.wgsl`; slabs are walked row block by row block, columns in
//! ascending order, all in one submission. Only the n × k lists and the pairs
//! come back. Scores differ from the CPU's in the last bits (a different
//! summation order), so near-ties may swap places; everything else matches.

use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError};
use crate::similar::{Neighbours, Pair, Query};

pub const SCORES_WGSL: &str = include_str!("cosine_scores.wgsl");
pub const TOPK_WGSL: &str = include_str!("cosine_topk.wgsl");

/// Empty top-k slots hold this score (cosines are never below −1).
const EMPTY_SCORE: f32 = -3.4e38;
/// Scores per slab: 64 MiB bounds GPU memory whatever N is.
const SLAB_BYTES: u64 = 64 << 20;
/// Rows per slab (a multiple of the 64 rows one workgroup covers).
const SLAB_ROWS: usize = 8192;
/// Pair capacity of the first attempt; a retry gets exactly what is needed.
const FIRST_PAIR_CAPACITY: usize = 1 << 20;

/// How large a slab of scores may be.
#[derive(Debug, Clone, Copy)]
struct Slab {
    max_rows: usize,
    max_floats: usize,
}

pub(crate) struct Pipelines {
    scores: wgpu::ComputePipeline,
    topk: wgpu::ComputePipeline,
}

/// Mirrors `struct Params` in both shaders (48 bytes, uniform-aligned).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    dims4: u32,
    row0: u32,
    rows: u32,
    col0: u32,
    cols: u32,
    k: u32,
    use_threshold: u32,
    threshold: f32,
    pair_capacity: u32,
    pad: [u32; 2],
}

pub(super) fn pipeline(device: &wgpu::Device, label: &str, source: &str) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(source.into()) });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

impl GpuContext {
    fn cosine_pipelines(&self) -> &Pipelines {
        self.cosine.get_or_init(|| Pipelines {
            scores: pipeline(&self.device, "benchsift cosine_scores", SCORES_WGSL),
            topk: pipeline(&self.device, "benchsift cosine_topk", TOPK_WGSL),
        })
    }

    /// Each row's top-k neighbours and, with a threshold, every pair at or
    /// above it: the same answer as `query.search_cpu()`.
    pub async fn cosine_search(&self, query: &Query) -> Result<(Neighbours, Vec<Pair>), GpuError> {
        let slab = Slab { max_rows: SLAB_ROWS, max_floats: (SLAB_BYTES.min(self.limits.max_storage_buffer_binding_size) / 4) as usize };
        self.cosine_search_from(query, FIRST_PAIR_CAPACITY, slab).await
    }

    async fn cosine_search_from(&self, query: &Query, first_capacity: usize, slab: Slab) -> Result<(Neighbours, Vec<Pair>), GpuError> {
        let mut capacity = if query.threshold.is_some() { query.max_pairs.min(first_capacity) } else { 0 };
        loop {
            let (neighbours, count, pairs) = self.cosine_pass(query, capacity, slab).await?;
            if count > query.max_pairs {
                return Err(GpuError::Search(crate::similar::too_many_pairs(count, query.threshold, query.max_pairs)));
            }
            if count <= capacity {
                return Ok((neighbours, pairs));
            }
            capacity = count;
        }
    }

    async fn cosine_pass(&self, query: &Query, pair_capacity: usize, tiling: Slab) -> Result<(Neighbours, usize, Vec<Pair>), GpuError> {
        let (n, dims) = (query.n, query.dims);
        let k = query.k.min(n.saturating_sub(1));
        let dims4 = dims.div_ceil(4);
        let limit = self.limits.max_storage_buffer_binding_size;
        let too_large =
            |what: &str, bytes: usize| GpuError::TooLarge(format!("{what} needs {} MiB, over the adapter's {} MiB buffer limit", bytes >> 20, limit >> 20));
        let unit_bytes = n * dims4 * 16;
        if unit_bytes as u64 > limit {
            return Err(too_large("the vectors", unit_bytes));
        }
        let best_bytes = n * k * 8;
        if best_bytes as u64 > limit {
            return Err(too_large("the top-k lists", best_bytes));
        }
        let pair_bytes = 4 + pair_capacity * 12;
        if pair_bytes as u64 > limit {
            return Err(too_large("the pairs", pair_bytes));
        }
        let slab_rows = n.min(tiling.max_rows);
        let slab_cols = if slab_rows * n <= tiling.max_floats { n } else { ((tiling.max_floats / slab_rows) / 64 * 64).max(64) };

        let mut padded = vec![0.0f32; n * dims4 * 4];
        for (row, src) in padded.chunks_mut(dims4 * 4).zip(query.unit.chunks(dims)) {
            row[..dims].copy_from_slice(src);
        }
        let device = &self.device;
        let unit = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("benchsift cosine vectors"),
            contents: bytemuck::cast_slice(&padded),
            usage: wgpu::BufferUsages::STORAGE,
        });
        drop(padded);
        let slab = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("benchsift cosine slab"),
            size: (slab_rows * slab_cols * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let empty: Vec<[u32; 2]> = vec![[EMPTY_SCORE.to_bits(), u32::MAX]; (n * k).max(1)];
        let best = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("benchsift cosine top-k"),
            contents: bytemuck::cast_slice(&empty),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        });
        drop(empty);
        // wgpu zero-initialises buffers, so the pair counter starts at 0.
        let pairs = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("benchsift cosine pairs"),
            size: (pair_bytes as u64).max(16),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });

        let pipes = self.cosine_pipelines();
        let (scores_layout, topk_layout) = (pipes.scores.get_bind_group_layout(0), pipes.topk.get_bind_group_layout(0));
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("benchsift cosine") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("benchsift cosine slabs"), timestamp_writes: None });
            for row0 in (0..n).step_by(slab_rows) {
                let rows = slab_rows.min(n - row0);
                for col0 in (0..n).step_by(slab_cols) {
                    let cols = slab_cols.min(n - col0);
                    let params = Params {
                        n: n as u32,
                        dims4: dims4 as u32,
                        row0: row0 as u32,
                        rows: rows as u32,
                        col0: col0 as u32,
                        cols: cols as u32,
                        k: k as u32,
                        use_threshold: query.threshold.is_some() as u32,
                        threshold: query.threshold.unwrap_or(0.0),
                        pair_capacity: pair_capacity as u32,
                        pad: [0; 2],
                    };
                    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("benchsift cosine params"),
                        contents: bytemuck::bytes_of(&params),
                        usage: wgpu::BufferUsages::UNIFORM,
                    });
                    let scores_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("benchsift cosine_scores bindings"),
                        layout: &scores_layout,
                        entries: &[
                            wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                            wgpu::BindGroupEntry { binding: 1, resource: unit.as_entire_binding() },
                            wgpu::BindGroupEntry { binding: 2, resource: slab.as_entire_binding() },
                        ],
                    });
                    let topk_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("benchsift cosine_topk bindings"),
                        layout: &topk_layout,
                        entries: &[
                            wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                            wgpu::BindGroupEntry { binding: 1, resource: slab.as_entire_binding() },
                            wgpu::BindGroupEntry { binding: 2, resource: best.as_entire_binding() },
                            wgpu::BindGroupEntry { binding: 3, resource: pairs.as_entire_binding() },
                        ],
                    });
                    pass.set_pipeline(&pipes.scores);
                    pass.set_bind_group(0, &scores_group, &[]);
                    pass.dispatch_workgroups(cols.div_ceil(64) as u32, rows.div_ceil(64) as u32, 1);
                    pass.set_pipeline(&pipes.topk);
                    pass.set_bind_group(0, &topk_group, &[]);
                    pass.dispatch_workgroups(rows.div_ceil(64) as u32, 1, 1);
                }
            }
        }
        self.queue.submit([encoder.finish()]);

        let first = self.read_back(&[(&best, 0, (n * k * 8) as u64), (&pairs, 0, 4)]).await?;
        let count = u32::from_le_bytes([first[1][0], first[1][1], first[1][2], first[1][3]]) as usize;
        let mut neighbours = Neighbours { k, index: Vec::with_capacity(n * k), cosine: Vec::with_capacity(n * k) };
        for entry in first[0].chunks_exact(8) {
            let score = f32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let index = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
            neighbours.index.push(index);
            neighbours.cosine.push(if index == u32::MAX { f32::NEG_INFINITY } else { score });
        }
        let mut found = Vec::new();
        if count > 0 && count <= pair_capacity {
            let bytes = self.read_back(&[(&pairs, 4, (count * 12) as u64)]).await?;
            for p in bytes[0].chunks_exact(12) {
                let word = |o: usize| [p[o], p[o + 1], p[o + 2], p[o + 3]];
                found.push(Pair { a: u32::from_le_bytes(word(0)), b: u32::from_le_bytes(word(4)), cosine: f32::from_le_bytes(word(8)) });
            }
            // Appended in whatever order the GPU ran; the CPU lists by (a, b).
            found.sort_by_key(|p| (p.a, p.b));
        }
        Ok((neighbours, count, found))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn context() -> Option<GpuContext> {
        match GpuContext::new_blocking() {
            Ok(ctx) => Some(ctx),
            Err(e) => {
                crate::gpu::skip_without_adapter("the parity tests", &e);
                None
            }
        }
    }

    fn vectors(n: usize, dims: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n * dims).map(|_| rng.normal() as f32).collect()
    }

    /// The GPU list equals the CPU list, except that two neighbours whose
    /// cosines differ by less than float noise may swap.
    fn assert_same_neighbours(cpu: &Neighbours, gpu: &Neighbours, label: &str) {
        assert_eq!(cpu.k, gpu.k, "{label}: k");
        assert_eq!(cpu.index.len(), gpu.index.len(), "{label}: length");
        for (slot, ((ci, cc), (gi, gc))) in cpu.index.iter().zip(&cpu.cosine).zip(gpu.index.iter().zip(&gpu.cosine)).enumerate() {
            assert!((cc - gc).abs() < 2e-5 || (cc.is_infinite() && gc.is_infinite()), "{label}: slot {slot}: cosine {cc} vs {gc}");
            if ci != gi {
                let row = slot / cpu.k.max(1);
                let cpu_row = &cpu.cosine[row * cpu.k..(row + 1) * cpu.k];
                let tie = cpu_row.iter().zip(&cpu.index[row * cpu.k..(row + 1) * cpu.k]).any(|(c, i)| i == gi && (c - cc).abs() < 2e-5);
                assert!(tie, "{label}: slot {slot}: index {ci} vs {gi} (cosine {cc} vs {gc})");
            }
        }
    }

    #[test]
    fn top_k_matches_the_cpu_search_on_random_shapes() {
        let Some(ctx) = context() else { return };
        let mut rng = Rng::new(11);
        // Odd sizes: partial 4 × 4 blocks, dims not a multiple of 4, k ≥ n.
        for &(n, dims, k) in &[(2, 3, 1), (5, 4, 10), (37, 7, 3), (130, 33, 8), (300, 64, 1), (257, 5, 20)] {
            let q = Query::new(n, &vectors(n, dims, &mut rng), dims, k, None).unwrap();
            let (cpu, _) = q.search_cpu().unwrap();
            let (gpu, pairs) = pollster::block_on(ctx.cosine_search(&q)).unwrap();
            assert!(pairs.is_empty());
            assert_same_neighbours(&cpu, &gpu, &format!("n={n} dims={dims} k={k}"));
        }
    }

    #[test]
    fn many_small_slabs_give_the_same_answer_as_one() {
        let Some(ctx) = context() else { return };
        let mut rng = Rng::new(15);
        let (n, dims, k) = (333, 10, 6);
        let mut q = Query::new(n, &vectors(n, dims, &mut rng), dims, k, None).unwrap();
        let (cpu, _) = q.search_cpu().unwrap();
        // 6 row blocks × 6 column tiles, the last of each partial.
        let tiny = Slab { max_rows: 64, max_floats: 64 * 64 };
        let (gpu, _) = pollster::block_on(ctx.cosine_search_from(&q, 10, tiny)).unwrap();
        assert_same_neighbours(&cpu, &gpu, "tiled");
        let (whole, _) = pollster::block_on(ctx.cosine_search(&q)).unwrap();
        assert_eq!(gpu, whole, "the tiling changes nothing");
        q.threshold = Some(0.4);
        q.k = 0;
        let (_, cpu) = q.search_cpu().unwrap();
        let (_, gpu) = pollster::block_on(ctx.cosine_search_from(&q, 10, tiny)).unwrap();
        let sure = |p: &&Pair| (p.cosine - 0.4).abs() > 2e-5;
        assert_eq!(cpu.iter().filter(sure).map(|p| (p.a, p.b)).collect::<Vec<_>>(), gpu.iter().filter(sure).map(|p| (p.a, p.b)).collect::<Vec<_>>());
    }

    #[test]
    fn duplicate_rows_and_threshold_pairs_match_the_cpu_search() {
        let Some(ctx) = context() else { return };
        let mut rng = Rng::new(12);
        let (n, dims) = (400, 24);
        let mut v = vectors(n, dims, &mut rng);
        // Exact duplicates and scaled copies score 1: every one must be found.
        for (from, to) in [(3, 7), (10, 399), (200, 201)] {
            let copy: Vec<f32> = v[from * dims..(from + 1) * dims].iter().map(|x| x * 2.5).collect();
            v[to * dims..(to + 1) * dims].copy_from_slice(&copy);
        }
        for t in [0.3f32, 0.5, 0.99] {
            let q = Query::new(n, &v, dims, 0, Some(t)).unwrap();
            let (_, cpu) = q.search_cpu().unwrap();
            let (_, gpu) = pollster::block_on(ctx.cosine_search(&q)).unwrap();
            // Pairs within float noise of the threshold may fall either side.
            let key = |p: &Pair| (p.a, p.b);
            let sure = |p: &&Pair| (p.cosine - t).abs() > 2e-5;
            let cpu_sure: Vec<_> = cpu.iter().filter(sure).map(key).collect();
            let gpu_sure: Vec<_> = gpu.iter().filter(sure).map(key).collect();
            assert_eq!(cpu_sure, gpu_sure, "threshold {t}");
            for (p, q) in cpu.iter().zip(&gpu).filter(|(p, q)| key(p) == key(q)) {
                assert!((p.cosine - q.cosine).abs() < 2e-5);
            }
        }
        let q = Query::new(n, &v, dims, 0, Some(0.99)).unwrap();
        let (_, gpu) = pollster::block_on(ctx.cosine_search(&q)).unwrap();
        assert_eq!(gpu.iter().map(|p| (p.a, p.b)).collect::<Vec<_>>(), vec![(3, 7), (10, 399), (200, 201)]);
    }

    #[test]
    fn too_many_pairs_is_the_same_error_as_on_the_cpu_and_a_retry_grows_the_buffer() {
        let Some(ctx) = context() else { return };
        let mut rng = Rng::new(13);
        let (n, dims) = (200, 6);
        let mut q = Query::new(n, &vectors(n, dims, &mut rng), dims, 0, Some(-1.0)).unwrap();
        q.max_pairs = 100;
        let cpu = q.search_cpu().unwrap_err().to_string();
        let gpu = pollster::block_on(ctx.cosine_search(&q)).unwrap_err().to_string();
        assert_eq!(cpu, gpu);
        // All n(n−1)/2 pairs, from a first attempt with room for 1,000: the
        // retry must find them all.
        q.max_pairs = usize::MAX;
        let (_, cpu) = q.search_cpu().unwrap();
        let (_, gpu) = pollster::block_on(ctx.cosine_search_from(&q, 1000, Slab { max_rows: 64, max_floats: 64 * 64 })).unwrap();
        assert_eq!(gpu.len(), n * (n - 1) / 2);
        assert_eq!(cpu.len(), gpu.len());
    }

    #[test]
    fn forced_gpu_similar_reports_the_gpu_and_matches_the_cpu_pairs() {
        let Some(_ctx) = context() else { return };
        let mut rng = Rng::new(14);
        let (n, dims) = (150, 16);
        let input = crate::similar::SimilarInput {
            ids: (0..n).map(|i| format!("q{i}")).collect(),
            texts: None,
            vectors: vectors(n, dims, &mut rng),
            dims,
            features: "embeddings",
        };
        let gpu = pollster::block_on(crate::gpu::similar(&input, 3, None, crate::backend::BackendChoice::Gpu, None)).unwrap();
        let cpu = pollster::block_on(crate::gpu::similar(&input, 3, None, crate::backend::BackendChoice::Cpu, None)).unwrap();
        assert_eq!(gpu.backend.device, "gpu", "{:?}", gpu.backend);
        assert!(gpu.backend.reason.contains("asked for"), "{}", gpu.backend.reason);
        assert_eq!(cpu.backend.device, "cpu");
        assert_eq!(gpu.pairs.len(), cpu.pairs.len());
        for (g, c) in gpu.pairs.iter().zip(&cpu.pairs) {
            assert!((g.cosine - c.cosine).abs() < 2e-5);
        }
        // Auto never opens the device for a job this small.
        let auto = pollster::block_on(crate::gpu::similar(&input, 3, None, crate::backend::BackendChoice::Auto, None)).unwrap();
        assert_eq!(auto.backend.device, "cpu");
        assert!(auto.backend.reason.contains("below"), "{}", auto.backend.reason);
    }
}
