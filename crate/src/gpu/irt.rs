//! The heavy sums of Bock–Aitkin EM (Bock & Aitkin 1981) for binary
//! responses on the GPU: the E-step's log-likelihood of every model at every
//! grid node, and the M-step's expected counts per item and node. The CPU
//! functions in `irt/estep.rs` (`model_log_likelihood_window` over the whole
//! grid, and `accumulate`) are the oracles in the parity tests.
//!
//! An [`IrtSession`] uploads a matrix's bitsets once and is reused for every
//! EM iteration; each call uploads only what changes (the item × node tables,
//! or the posteriors) and reads back one models × nodes or items × 2 × nodes
//! array. The kernels sum in f32 in a fixed order (items ascending per model,
//! models ascending per item); the CPU sums in f64, so results agree to
//! about 1e-6 relative. Wiring them into `irt::fit` (the windowed posterior
//! and its Laplace refinement stay on the host) is not done yet: `fit`
//! runs on the CPU.

use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError};
use crate::matrix::ResponseMatrix;

pub const LOGLIK_WGSL: &str = include_str!("irt_loglik.wgsl");
pub const COUNTS_WGSL: &str = include_str!("irt_counts.wgsl");

/// Rows per dispatch in y: WebGPU's limit on workgroups per dimension.
const MAX_ROWS: usize = 65_535;

pub(crate) struct Pipelines {
    loglik: wgpu::ComputePipeline,
    counts: wgpu::ComputePipeline,
}

/// Mirrors `struct Params` in both shaders (32 bytes).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    models: u32,
    items: u32,
    nodes: u32,
    words: u32,
    first: u32,
    count: u32,
    pad: [u32; 2],
}

/// A binary response matrix resident on the GPU.
pub struct IrtSession<'a> {
    ctx: &'a GpuContext,
    bits: wgpu::Buffer,
    models: usize,
    items: usize,
    words: usize,
}

impl GpuContext {
    fn irt_pipelines(&self) -> &Pipelines {
        self.irt.get_or_init(|| Pipelines {
            loglik: super::cosine::pipeline(&self.device, "benchsift irt_loglik", LOGLIK_WGSL),
            counts: super::cosine::pipeline(&self.device, "benchsift irt_counts", COUNTS_WGSL),
        })
    }

    /// Uploads the observed and correct bitsets of a binary matrix.
    pub fn irt_session(&self, m: &ResponseMatrix) -> Result<IrtSession<'_>, GpuError> {
        let (models, items) = (m.n_models(), m.n_items());
        let words = items.div_ceil(32);
        let mut bits = vec![0u32; 2 * models * words];
        for model in 0..models {
            let correct = m
                .correct_bits(model)
                .ok_or_else(|| GpuError::Search(crate::Error::invalid("the GPU IRT kernels take binary responses only")))?;
            for (k, row) in [m.observed_bits(model), correct].into_iter().enumerate() {
                let out = &mut bits[(k * models + model) * words..(k * models + model + 1) * words];
                // u64 words as little-endian u32 pairs: item i is bit i % 32 of word i / 32.
                for (w, slot) in out.iter_mut().enumerate() {
                    *slot = (row[w / 2] >> (32 * (w % 2))) as u32;
                }
            }
        }
        let bytes = bits.len() * 4;
        if bytes as u64 > self.limits.max_storage_buffer_binding_size {
            return Err(GpuError::TooLarge(format!("the response bitsets need {} MiB", bytes >> 20)));
        }
        let bits = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("benchsift irt bitsets"),
            contents: bytemuck::cast_slice(&bits),
            usage: wgpu::BufferUsages::STORAGE,
        });
        Ok(IrtSession { ctx: self, bits, models, items, words })
    }
}

impl IrtSession<'_> {
    fn storage(&self, label: &str, data: &[f32]) -> Result<wgpu::Buffer, GpuError> {
        if (data.len() * 4) as u64 > self.ctx.limits.max_storage_buffer_binding_size {
            return Err(GpuError::TooLarge(format!("{label} needs {} MiB", (data.len() * 4) >> 20)));
        }
        Ok(self.ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(if data.is_empty() { &[0.0f32] } else { data }),
            usage: wgpu::BufferUsages::STORAGE,
        }))
    }

    /// Runs `pipeline` over `rows` in dispatches of at most 65,535 rows and
    /// reads `out_len` floats of the output buffer back.
    async fn run(&self, pipeline: &wgpu::ComputePipeline, input: &wgpu::Buffer, nodes: usize, rows: usize, out_len: usize, label: &str) -> Result<Vec<f32>, GpuError> {
        let device = &self.ctx.device;
        if (out_len * 4) as u64 > self.ctx.limits.max_storage_buffer_binding_size {
            return Err(GpuError::TooLarge(format!("{label} needs {} MiB", (out_len * 4) >> 20)));
        }
        let out = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (out_len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let layout = pipeline.get_bind_group_layout(0);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(label), timestamp_writes: None });
            pass.set_pipeline(pipeline);
            for first in (0..rows).step_by(MAX_ROWS) {
                let count = MAX_ROWS.min(rows - first);
                let params = Params {
                    models: self.models as u32,
                    items: self.items as u32,
                    nodes: nodes as u32,
                    words: self.words as u32,
                    first: first as u32,
                    count: count as u32,
                    pad: [0; 2],
                };
                let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("benchsift irt params"),
                    contents: bytemuck::bytes_of(&params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
                let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(label),
                    layout: &layout,
                    entries: &[
                        wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 1, resource: self.bits.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 2, resource: input.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 3, resource: out.as_entire_binding() },
                    ],
                });
                pass.set_bind_group(0, &group, &[]);
                pass.dispatch_workgroups(nodes.div_ceil(64) as u32, count as u32, 1);
            }
        }
        self.ctx.queue.submit([encoder.finish()]);
        let bytes = self.ctx.read_back(&[(&out, 0, (out_len * 4) as u64)]).await?;
        Ok(bytemuck::pod_collect_to_vec(&bytes[0]))
    }

    /// ll[m · nodes + q] = Σ_{i observed} t0[i, q] + Σ_{i correct} t1[i, q]
    /// for the item × node tables t0 = ln(1 − P), t1 = ln P − ln(1 − P).
    pub async fn log_likelihood(&self, t0: &[f32], t1: &[f32], nodes: usize) -> Result<Vec<f32>, GpuError> {
        if t0.len() != self.items * nodes || t1.len() != t0.len() {
            return Err(GpuError::Search(crate::Error::invalid("internal: IRT tables do not match items × nodes")));
        }
        let tables = self.storage("benchsift irt tables", &[t0, t1].concat())?;
        self.run(&self.ctx.irt_pipelines().loglik, &tables, nodes, self.models, self.models * nodes, "benchsift irt log-likelihood").await
    }

    /// Per item and node, (Σ_m post[m, q]·observed[m, i], Σ_m post[m, q]·correct[m, i]),
    /// laid out `stats[(i · 2 + k) · nodes + q]` like the CPU's `accumulate`.
    pub async fn counts(&self, post: &[f32], nodes: usize) -> Result<Vec<f32>, GpuError> {
        if post.len() != self.models * nodes {
            return Err(GpuError::Search(crate::Error::invalid("internal: posteriors do not match models × nodes")));
        }
        let post = self.storage("benchsift irt posteriors", post)?;
        self.run(&self.ctx.irt_pipelines().counts, &post, nodes, self.items, self.items * 2 * nodes, "benchsift irt counts").await
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::irt::estep::{self, Observations, PosteriorSummary, Tables};
    use crate::irt::{Family, ItemParams};
    use crate::matrix::MatrixBuilder;
    use crate::rng::Rng;

    /// A 2PL matrix with about `missing` of its cells absent.
    fn matrix(models: usize, items: usize, missing: f64, rng: &mut Rng) -> (ResponseMatrix, Vec<ItemParams>) {
        let params: Vec<ItemParams> = (0..items).map(|_| ItemParams::new(rng.log_normal(0.0, 0.3), rng.normal())).collect();
        let mut b = MatrixBuilder::new((0..items).map(|i| format!("i{i}")).collect());
        for j in 0..models {
            let theta = rng.normal();
            let row: Vec<Option<f32>> = params
                .iter()
                .map(|p| if rng.uniform() < missing { None } else { Some((rng.uniform() < p.expected(theta)) as u8 as f32) })
                .collect();
            b.push_row_unchecked(format!("m{j}"), &row);
        }
        (b.into_matrix(), params)
    }

    fn close(gpu: f32, cpu: f64, label: &str) {
        let tol = 1e-5 * cpu.abs().max(1.0);
        assert!((gpu as f64 - cpu).abs() <= tol, "{label}: gpu {gpu} vs cpu {cpu}");
    }

    #[test]
    fn e_and_m_step_sums_match_the_cpu_on_random_matrices() {
        let ctx = match GpuContext::new_blocking() {
            Ok(ctx) => ctx,
            Err(e) => {
                eprintln!("\n!!! SKIPPED: no GPU adapter for the IRT parity test ({e}) !!!\n");
                return;
            }
        };
        let mut rng = Rng::new(21);
        // Odd shapes: items not a multiple of 32 or 64, nodes not of 64.
        for &(models, items, nodes, missing) in &[(1, 1, 5, 0.0), (7, 33, 21, 0.2), (40, 130, 61, 0.5), (23, 64, 70, 0.0)] {
            let (m, params) = matrix(models, items, missing, &mut rng);
            let grid: Vec<f64> = (0..nodes).map(|k| -6.0 + 12.0 * k as f64 / (nodes - 1).max(1) as f64).collect();
            let t = Tables::new(&params, &grid, Family::Bernoulli);
            let obs = Observations::Binary(&m);
            let session = ctx.irt_session(&m).unwrap();
            let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
            let ll = pollster::block_on(session.log_likelihood(&to32(&t.t0), &to32(&t.t1), nodes)).unwrap();
            let mut row = vec![0.0; nodes];
            for model in 0..models {
                estep::model_log_likelihood_window(&obs, &t, model, 0, nodes, &mut row);
                for q in 0..nodes {
                    close(ll[model * nodes + q], row[q], &format!("{models}×{items} ll[{model}, {q}]"));
                }
            }
            // Any posterior will do for the M-step sums: rows of random weights.
            let post: Vec<f64> = (0..models * nodes).map(|_| rng.uniform()).collect();
            let mut stats = vec![0.0; items * 2 * nodes];
            estep::accumulate(&obs, &post, &vec![PosteriorSummary::full(nodes); models], nodes, &mut stats);
            let gpu = pollster::block_on(session.counts(&to32(&post), nodes)).unwrap();
            assert_eq!(gpu.len(), stats.len());
            for (k, (&g, &c)) in gpu.iter().zip(&stats).enumerate() {
                close(g, c, &format!("{models}×{items} stats[{k}]"));
            }
        }
        // Continuous matrices are refused, not mis-read.
        let mut b = MatrixBuilder::new(vec!["i0".into()]);
        b.push_row_unchecked("m0".into(), &[Some(0.5)]);
        assert!(ctx.irt_session(&b.into_matrix()).is_err());
    }
}
