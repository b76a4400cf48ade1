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
//! about 1e-6 relative.
//!
//! [`fit`] runs `irt::fit_async` (the one EM loop) with the two kernels as
//! its [`BinarySums`], natively through [`fit_blocking`] and in the browser
//! from the async wasm export `fitGpu`: per EM iteration the host builds the item × node tables,
//! the GPU sums every model's log-likelihood over the whole grid, the host
//! turns each model's window of it into a posterior (including the Newton
//! refinement of posteriors narrower than the grid spacing, one pass over
//! the model's responses — the windowed sum's cost, so it stays on the
//! host), the GPU sums the M-step counts, and the host optimises each item.

use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError};
use crate::backend::{Backend, BackendChoice};
use crate::irt::{BinarySums, Family, FitOptions, IrtFit, Progress, SumsFuture};
use crate::matrix::Kind;
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
            let correct = m.correct_bits(model).ok_or_else(|| GpuError::Search(crate::Error::invalid("the GPU IRT kernels take binary responses only")))?;
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
    async fn run(
        &self,
        pipeline: &wgpu::ComputePipeline,
        input: &wgpu::Buffer,
        nodes: usize,
        rows: usize,
        out_len: usize,
        label: &str,
    ) -> Result<Vec<f32>, GpuError> {
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

/// Below this many adds per E-step (models × items × grid nodes) per CPU
/// thread, `auto` fits on the CPU even with a real GPU. The GPU takes only
/// the grid sums; each model's Newton refinement, the tables and the M-step
/// stay on the host and are most of a large fit once the sums are windowed,
/// so the GPU gains little and only where the CPU has few threads per sum.
/// Measured on an H100 against 16 and 4 of its host's cores (BENCHMARKS.md,
/// `scripts/bench/gpu_device.sh`): at 1.5·10⁷ per thread the GPU fit took
/// twice as long as the CPU's; from 1.5·10⁸ to 1.4·10⁹ per thread the two
/// were within 3% (the fit alone 0–20% faster on the GPU).
pub const MIN_IRT_GPU_WORK_PER_THREAD: f64 = 5e8;

/// The kernels of one session as the core's [`BinarySums`], on every
/// target: the futures await the readbacks (natively they are complete when
/// first polled, since the readback waits on the device; in the browser they
/// yield to the event loop). A panic inside wgpu — natively its default
/// reaction to a lost device — is caught around every poll and reported as a
/// failure like any other.
pub struct GpuSums<'a> {
    session: IrtSession<'a>,
}

impl<'a> GpuSums<'a> {
    pub fn new(session: IrtSession<'a>) -> Self {
        GpuSums { session }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let why = panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("a panic in wgpu");
    format!("the GPU failed: {why}")
}

fn guarded<T>(f: impl FnOnce() -> Result<T, GpuError>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(panic) => Err(panic_message(&*panic)),
    }
}

/// A sums future with [`guarded`]'s treatment of panics, poll by poll.
struct Guarded<'a>(SumsFuture<'a>);

impl std::future::Future for Guarded<'_> {
    type Output = Result<(), String>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => std::task::Poll::Ready(Err(panic_message(&*panic))),
        }
    }
}

fn to32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

impl BinarySums for GpuSums<'_> {
    fn log_likelihood<'a>(&'a mut self, t0: &'a [f64], t1: &'a [f64], q: usize, ll: &'a mut [f64]) -> SumsFuture<'a> {
        let session = &self.session;
        Box::pin(Guarded(Box::pin(async move {
            let out = session.log_likelihood(&to32(t0), &to32(t1), q).await.map_err(|e| e.to_string())?;
            if out.len() != ll.len() {
                return Err(format!("the GPU returned {} log-likelihoods, expected {}", out.len(), ll.len()));
            }
            ll.iter_mut().zip(out).for_each(|(o, v)| *o = v as f64);
            Ok(())
        })))
    }

    fn counts<'a>(&'a mut self, post: &'a [f64], q: usize, stats: &'a mut [f64]) -> SumsFuture<'a> {
        let session = &self.session;
        Box::pin(Guarded(Box::pin(async move {
            let out = session.counts(&to32(post), q).await.map_err(|e| e.to_string())?;
            if out.len() != stats.len() {
                return Err(format!("the GPU returned {} counts, expected {}", out.len(), stats.len()));
            }
            stats.iter_mut().zip(out).for_each(|(o, v)| *o = v as f64);
            Ok(())
        })))
    }
}

/// `benchsift fit` (and the JS `fit`) with the backend chosen by `choice`.
/// `cpu` fits on the CPU; `auto` uses the GPU only for binary data and a
/// Bernoulli model, at least [`MIN_IRT_GPU_WORK_PER_THREAD`] (below it no device is
/// opened) and a real (non-fallback) adapter; `gpu` forces it (an error where
/// it cannot run). In `auto` a GPU failure, before or during the fit, reruns
/// the fit on the CPU and says why. `fallback` as in [`GpuContext::new`].
/// The EM loop is `irt::fit_async`, the same one every CPU fit runs.
pub async fn fit(
    m: &ResponseMatrix,
    options: &FitOptions,
    choice: BackendChoice,
    fallback: Option<bool>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> crate::Result<IrtFit> {
    let cpu = |reason: String, progress: &mut dyn FnMut(&Progress) -> bool| -> crate::Result<IrtFit> {
        let mut fit = crate::irt::fit(m, options, progress)?;
        fit.backend = Backend::cpu(&reason);
        Ok(fit)
    };
    options.validate(m)?;
    if choice == BackendChoice::Cpu {
        return cpu("the CPU was asked for".into(), progress);
    }
    if options.dims > 1 {
        let why = "the GPU kernels fit one latent dimension";
        if choice == BackendChoice::Gpu {
            return Err(crate::Error::invalid(format!("the GPU backend was asked for, but {why}")));
        }
        return cpu(format!("{why}; this multidimensional fit ran on the CPU"), progress);
    }
    if m.kind() != Kind::Binary || options.model.family() != Family::Bernoulli {
        let why = "the GPU kernels take binary (0/1) responses with the rasch, 1pl, 2pl, 3pl or 4pl model";
        if choice == BackendChoice::Gpu {
            return Err(crate::Error::invalid(format!("the GPU backend was asked for, but {why}")));
        }
        return cpu(format!("{why}; this fit ran on the CPU"), progress);
    }
    let work = (m.n_models() * m.n_items() * options.quadrature_points) as f64;
    let per_thread = work / crate::parallel::threads() as f64;
    if choice == BackendChoice::Auto && per_thread < MIN_IRT_GPU_WORK_PER_THREAD {
        return cpu(
            format!(
                "the matrix ({work:.1e} model × item × grid-node sums per E-step, {per_thread:.1e} per CPU thread) is below the {MIN_IRT_GPU_WORK_PER_THREAD:.0e} per thread at which a GPU pays off"
            ),
            progress,
        );
    }
    let context = GpuContext::shared(fallback).await;
    let adapter = context.as_ref().map(|c| c.adapter()).map_err(|e| e.to_string());
    match super::choose_for(choice, adapter.as_ref().map(|a| *a).map_err(String::as_str), per_thread, MIN_IRT_GPU_WORK_PER_THREAD) {
        super::Decision::Cpu(why) if choice == BackendChoice::Gpu => Err(crate::Error::invalid(format!("the GPU backend was asked for, but {why}"))),
        super::Decision::Cpu(why) => cpu(why, progress),
        super::Decision::Gpu => {
            let ctx = context.map_err(|e| crate::Error::invalid(e.to_string()))?;
            let why = if choice == BackendChoice::Gpu { "the GPU was asked for" } else { "a GPU adapter is present and the matrix is large" };
            let described = format!("{}: {why}", ctx.adapter().describe());
            match guarded(|| ctx.irt_session(m)) {
                Ok(session) => fit_on(m, options, choice, &mut GpuSums::new(session), &described, progress).await,
                Err(e) if choice == BackendChoice::Auto => cpu(format!("the GPU failed ({e}); ran on the CPU"), progress),
                Err(e) => Err(crate::Error::invalid(format!("the GPU fit failed: {e}"))),
            }
        }
    }
}

/// [`fit`], blocking (native only): what the CLI calls.
#[cfg(not(target_arch = "wasm32"))]
pub fn fit_blocking(m: &ResponseMatrix, options: &FitOptions, choice: BackendChoice, progress: &mut dyn FnMut(&Progress) -> bool) -> crate::Result<IrtFit> {
    pollster::block_on(fit(m, options, choice, None, progress))
}

/// The fit with `sums`; a failure of `sums` reruns it on the CPU in `auto`
/// and is an error otherwise.
async fn fit_on(
    m: &ResponseMatrix,
    options: &FitOptions,
    choice: BackendChoice,
    sums: &mut dyn BinarySums,
    described: &str,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> crate::Result<IrtFit> {
    match crate::irt::fit_async(m, options, Some(sums), progress).await? {
        Ok(mut fit) => {
            // The host still builds tables, posteriors and M-steps in parallel.
            fit.backend = Backend { device: "gpu".into(), threads: crate::parallel::threads(), reason: described.into() };
            Ok(fit)
        }
        Err(e) if choice == BackendChoice::Auto => {
            let mut fit = crate::irt::fit(m, options, progress)?;
            fit.backend = Backend::cpu(&format!("the GPU failed during the fit ({e}); ran on the CPU"));
            Ok(fit)
        }
        Err(e) => Err(crate::Error::invalid(format!("the GPU fit failed: {e}"))),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::irt::IrtModel;
    use crate::irt::estep::{self, Observations, PosteriorSummary, Tables};
    use crate::matrix::MatrixBuilder;
    use crate::rng::Rng;

    fn close(gpu: f32, cpu: f64, label: &str) {
        let tol = 1e-5 * cpu.abs().max(1.0);
        assert!((gpu as f64 - cpu).abs() <= tol, "{label}: gpu {gpu} vs cpu {cpu}");
    }

    #[test]
    fn e_and_m_step_sums_match_the_cpu_on_random_matrices() {
        let ctx = match GpuContext::new_blocking() {
            Ok(ctx) => ctx,
            Err(e) => {
                crate::gpu::skip_without_adapter("the IRT parity test", &e);
                return;
            }
        };
        let mut rng = Rng::new(21);
        // Odd shapes: items not a multiple of 32 or 64, nodes not of 64.
        for &(models, items, nodes, missing) in &[(1, 1, 5, 0.0), (7, 33, 21, 0.2), (40, 130, 61, 0.5), (23, 64, 70, 0.0)] {
            let (m, params) = crate::irt::tests::synthetic_2pl_from(models, items, missing, &mut rng);
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

    /// A failure during the fit (here a simulated lost device at the 7th
    /// call) reruns it on the CPU under `auto`, saying why; under `gpu` it
    /// is an error. No adapter needed.
    #[test]
    fn a_failing_gpu_falls_back_to_the_cpu_under_auto() {
        let m = crate::irt::tests::synthetic_2pl(60, 30, 0.0, 9);
        let options = FitOptions::default();
        let cpu = crate::irt::fit(&m, &options, &mut |_| true).unwrap();
        let mut failing = crate::irt::tests::CpuSums { m: &m, calls: 0, fail_at: 7 };
        let auto = pollster::block_on(fit_on(&m, &options, BackendChoice::Auto, &mut failing, "test adapter", &mut |_| true)).unwrap();
        assert_eq!(failing.calls, 7);
        assert_eq!(auto.backend.device, "cpu");
        assert!(auto.backend.reason.contains("the GPU failed during the fit (device lost (simulated))"), "{}", auto.backend.reason);
        assert_eq!(format!("{:?}", auto.items), format!("{:?}", cpu.items));
        let mut failing = crate::irt::tests::CpuSums { m: &m, calls: 0, fail_at: 7 };
        let forced = pollster::block_on(fit_on(&m, &options, BackendChoice::Gpu, &mut failing, "test adapter", &mut |_| true));
        assert!(forced.unwrap_err().to_string().contains("device lost"));
        // A working provider reports the GPU and the reason it was given.
        let mut fine = crate::irt::tests::CpuSums { m: &m, calls: 0, fail_at: usize::MAX };
        let ok = pollster::block_on(fit_on(&m, &options, BackendChoice::Gpu, &mut fine, "test adapter: asked", &mut |_| true)).unwrap();
        assert_eq!((ok.backend.device.as_str(), ok.backend.reason.as_str()), ("gpu", "test adapter: asked"));
        // The rule: small matrices stay on the CPU in auto without opening a device.
        let small = fit_blocking(&m, &options, BackendChoice::Auto, &mut |_| true).unwrap();
        assert!(small.backend.reason.contains("below"), "{}", small.backend.reason);
        let cpu_asked = fit_blocking(&m, &options, BackendChoice::Cpu, &mut |_| true).unwrap();
        assert_eq!(cpu_asked.backend.reason, "the CPU was asked for");
    }

    /// wgpu's reaction to a lost device is a panic in the uncaptured-error
    /// handler; the kernel calls turn it into an ordinary failure.
    #[test]
    fn a_panic_inside_a_kernel_call_becomes_a_failure() {
        let out: Result<(), String> = guarded(|| panic!("Device lost: simulated"));
        assert_eq!(out.unwrap_err(), "the GPU failed: Device lost: simulated");
        let out: Result<u8, String> = guarded(|| Err(GpuError::Readback("the device was lost".into())));
        assert_eq!(out.unwrap_err(), "reading results back from the GPU failed: the device was lost");
        // The same for a panic while a sums future is being polled.
        let out = pollster::block_on(Guarded(Box::pin(async { panic!("Device lost: simulated") })));
        assert_eq!(out.unwrap_err(), "the GPU failed: Device lost: simulated");
    }

    /// The whole fit with the kernels (lavapipe here) against the CPU fit on
    /// a 300 × 80 2PL matrix with missing cells, and a Rasch and 3PL fit on
    /// a smaller one. The kernels sum in f32 (about 1e-6 relative on the
    /// log-likelihoods), which moves the converged parameters by far less
    /// than the tolerances below (1e-3 on a, b, c and θ; 1e-6 relative on
    /// the marginal log-likelihood); the parameters' own standard errors at
    /// this size are about 0.1–0.3.
    #[test]
    fn a_gpu_fit_agrees_with_the_cpu_fit() {
        let ctx = match GpuContext::shared_blocking() {
            Ok(ctx) => ctx,
            Err(e) => {
                crate::gpu::skip_without_adapter("the IRT fit test", &e);
                return;
            }
        };
        let big = crate::irt::tests::synthetic_2pl(300, 80, 0.1, 17);
        let small = crate::irt::tests::synthetic_2pl(150, 40, 0.0, 18);
        for (m, model) in [(&big, IrtModel::TwoPl), (&small, IrtModel::Rasch), (&small, IrtModel::ThreePl)] {
            let options = FitOptions { model, ..FitOptions::default() };
            let cpu = crate::irt::fit(m, &options, &mut |_| true).unwrap();
            let gpu = fit_blocking(m, &options, BackendChoice::Gpu, &mut |_| true).unwrap();
            assert_eq!(gpu.backend.device, "gpu", "{model:?}: {}", gpu.backend.reason);
            assert!(gpu.backend.reason.contains(&ctx.adapter().name), "{}", gpu.backend.reason);
            assert!(gpu.converged, "{model:?}");
            let mut worst: f64 = 0.0;
            for (p, q) in cpu.items.iter().zip(&gpu.items) {
                worst = worst.max((p.a - q.a).abs()).max((p.b - q.b).abs()).max((p.c - q.c).abs());
            }
            for (x, y) in cpu.theta.iter().zip(&gpu.theta).chain(cpu.theta_se.iter().zip(&gpu.theta_se)) {
                worst = worst.max((x - y).abs());
            }
            eprintln!(
                "{model:?} {}×{}: largest |gpu − cpu| {worst:.2e}, log-likelihood {} vs {}",
                m.n_models(),
                m.n_items(),
                gpu.log_likelihood,
                cpu.log_likelihood
            );
            assert!(worst < 1e-3, "{model:?}: largest difference {worst:e}");
            assert!((gpu.log_likelihood - cpu.log_likelihood).abs() <= 1e-6 * cpu.log_likelihood.abs(), "{model:?}");
        }
    }
}
