//! The wgpu compute path: one [`GpuContext`] owns the device, the queue and
//! the compiled pipelines, and is reused across calls. Kernels live one per
//! `.wgsl` file beside the Rust that drives them; the statistical core
//! (`similar`, `irt`) never imports wgpu and is every kernel's CPU twin and
//! test oracle.
//!
//! Device setup is async with the same signature natively and in wasm (the
//! browser's WebGPU can only be reached asynchronously); natively
//! [`GpuContext::new_blocking`] drives it with pollster.
//!
//! The backend choice is explained in words: [`choose`] runs the GPU only when
//! asked to, or — in `auto` — when the adapter is a real GPU (not a software
//! fallback such as Mesa lavapipe or SwiftShader, which are several times
//! slower than the CPU path) and the job is large enough to pay for the
//! start-up and transfers.

pub mod cosine;
pub mod irt;

use crate::backend::{Backend, BackendChoice};
use crate::similar::{SimilarInput, SimilarReport};

/// Why the GPU path could not run; the messages are for users.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter found ({0})")]
    NoAdapter(String),
    #[error("the GPU adapter '{0}' cannot run compute shaders")]
    NoCompute(String),
    #[error("the GPU device could not be opened: {0}")]
    Device(String),
    #[error("reading results back from the GPU failed: {0}")]
    Readback(String),
    #[error("too large for the GPU: {0}")]
    TooLarge(String),
    #[error("WebGPU is not available here ({0})")]
    Unavailable(String),
    #[error("{0}")]
    Search(#[from] crate::error::Error),
}

/// What the adapter is, in the words a result reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// e.g. "Vulkan", "WebGPU".
    pub api: String,
    /// A software implementation (lavapipe, SwiftShader, WARP).
    pub fallback: bool,
}

impl AdapterSummary {
    fn describe(&self) -> String {
        let name = if self.name.is_empty() { "an unnamed adapter" } else { &self.name };
        let kind = if self.fallback { ", a software fallback" } else { "" };
        format!("{name} ({}{kind})", self.api)
    }
}

/// Device, queue and cached pipelines; create once, reuse for every call.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: AdapterSummary,
    limits: wgpu::Limits,
    cosine: std::sync::OnceLock<cosine::Pipelines>,
    irt: std::sync::OnceLock<irt::Pipelines>,
}

impl GpuContext {
    /// Opens the best adapter (high-performance preference) with
    /// `Limits::downlevel_defaults()` raised to what the adapter offers for
    /// buffer sizes. `fallback` is a hint from the caller when wgpu cannot
    /// tell (in browsers its `AdapterInfo` is blank; JS reads
    /// `adapter.info.isFallbackAdapter`).
    pub async fn new(fallback: Option<bool>) -> Result<GpuContext, GpuError> {
        #[cfg(target_arch = "wasm32")]
        let (js_name, js_fallback) = browser_adapter().await?;
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle().with_env();
        #[cfg(target_arch = "wasm32")]
        {
            desc.backends = wgpu::Backends::BROWSER_WEBGPU;
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            // GL adapters (llvmpipe through EGL) duplicate the Vulkan ones and
            // add nothing for compute; WGPU_BACKEND still overrides this.
            if std::env::var_os("WGPU_BACKEND").is_none() {
                desc.backends.remove(wgpu::Backends::GL);
            }
        }
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                apply_limit_buckets: false,
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        #[allow(unused_mut)]
        let mut summary = AdapterSummary {
            name: info.name.clone(),
            api: format!("{:?}", info.backend),
            fallback: fallback.unwrap_or(info.device_type == wgpu::DeviceType::Cpu),
        };
        // In browsers wgpu's AdapterInfo is blank; the JS adapter knows.
        #[cfg(target_arch = "wasm32")]
        {
            if summary.name.is_empty() {
                summary.name = js_name;
            }
            summary.api = "WebGPU".into();
            summary.fallback = fallback.unwrap_or(js_fallback);
        }
        if !adapter.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS) {
            return Err(GpuError::NoCompute(summary.name));
        }
        let offered = adapter.limits();
        let mut limits = wgpu::Limits::downlevel_defaults();
        // Larger slabs mean fewer dispatches; take what the adapter allows.
        limits.max_storage_buffer_binding_size = offered.max_storage_buffer_binding_size.min(1 << 30);
        limits.max_buffer_size = offered.max_buffer_size.min(1 << 30);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("benchsift"),
                required_features: wgpu::Features::empty(),
                required_limits: limits.clone(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        Ok(GpuContext { device, queue, adapter: summary, limits, cosine: std::sync::OnceLock::new(), irt: std::sync::OnceLock::new() })
    }

    /// [`GpuContext::new`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<GpuContext, GpuError> {
        pollster::block_on(GpuContext::new(None))
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// Copies `size` bytes from each `(buffer, offset)` source into one
    /// mappable buffer, waits, and returns the bytes in order.
    async fn read_back(&self, sources: &[(&wgpu::Buffer, u64, u64)]) -> Result<Vec<Vec<u8>>, GpuError> {
        let total: u64 = sources.iter().map(|s| s.2).sum();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("benchsift readback"),
            size: total.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("benchsift readback copy") });
        let mut at = 0;
        for &(buffer, offset, size) in sources {
            if size > 0 {
                encoder.copy_buffer_to_buffer(buffer, offset, &staging, at, size);
            }
            at += size;
        }
        self.queue.submit([encoder.finish()]);
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Readback(e.to_string()))?;
        rx.await.map_err(|_| GpuError::Readback("the device was lost".into()))?.map_err(|e| GpuError::Readback(e.to_string()))?;
        let out = {
            let view = staging.get_mapped_range(..).map_err(|e| GpuError::Readback(e.to_string()))?;
            let mut out = Vec::with_capacity(sources.len());
            let mut at = 0usize;
            for &(_, _, size) in sources {
                out.push(view[at..at + size as usize].to_vec());
                at += size as usize;
            }
            out
        };
        staging.unmap();
        Ok(out)
    }
}

/// The browser's own view of its adapter: a readable name and whether it is
/// a fallback (software) adapter. Checks first that this is a window or
/// worker with `navigator.gpu`: elsewhere (Node) `wgpu::Instance::new` would
/// panic.
#[cfg(target_arch = "wasm32")]
async fn browser_adapter() -> Result<(String, bool), GpuError> {
    use wasm_bindgen::{JsCast, JsValue};
    let get = |obj: &JsValue, key: &str| js_sys::Reflect::get(obj, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null());
    let global: JsValue = js_sys::global().into();
    if get(&global, "window").is_none() && get(&global, "WorkerGlobalScope").is_none() {
        return Err(GpuError::Unavailable("not a browser window or worker".into()));
    }
    let gpu = get(&global, "navigator").and_then(|n| get(&n, "gpu")).ok_or_else(|| GpuError::Unavailable("navigator.gpu is missing".into()))?;
    let request: js_sys::Function =
        get(&gpu, "requestAdapter").and_then(|f| f.dyn_into().ok()).ok_or_else(|| GpuError::Unavailable("navigator.gpu.requestAdapter is missing".into()))?;
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &JsValue::from_str("powerPreference"), &JsValue::from_str("high-performance"));
    let promise: js_sys::Promise = request
        .call1(&gpu, &options)
        .ok()
        .and_then(|p| p.dyn_into().ok())
        .ok_or_else(|| GpuError::NoAdapter("navigator.gpu.requestAdapter() failed".into()))?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|_| GpuError::NoAdapter("navigator.gpu.requestAdapter() failed".into()))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(GpuError::NoAdapter("the browser offers no WebGPU adapter".into()));
    }
    let info = get(&adapter, "info");
    let fallback =
        info.as_ref().and_then(|i| get(i, "isFallbackAdapter")).or_else(|| get(&adapter, "isFallbackAdapter")).and_then(|v| v.as_bool()).unwrap_or(false);
    let name = ["vendor", "architecture", "device", "description"]
        .iter()
        .filter_map(|key| info.as_ref().and_then(|i| get(i, key)).and_then(|v| v.as_string()).filter(|s| !s.is_empty()))
        .collect::<Vec<_>>()
        .join(" · ");
    Ok((name, fallback))
}

thread_local! {
    /// One context per thread (the wasm module has one), opened on first use
    /// and kept for the life of the process: it is leaked on purpose, because
    /// dropping wgpu objects while thread-locals are torn down aborts.
    static SHARED: std::cell::Cell<Option<&'static GpuContext>> = const { std::cell::Cell::new(None) };
}

impl GpuContext {
    /// The thread's shared context (a failure to open one is not remembered,
    /// so a later call tries again).
    pub async fn shared(fallback: Option<bool>) -> Result<&'static GpuContext, GpuError> {
        if let Some(ctx) = SHARED.with(|s| s.get()) {
            return Ok(ctx);
        }
        let ctx: &'static GpuContext = Box::leak(Box::new(GpuContext::new(fallback).await?));
        SHARED.with(|s| s.set(Some(ctx)));
        Ok(ctx)
    }
}

impl GpuContext {
    /// [`GpuContext::shared`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn shared_blocking() -> Result<&'static GpuContext, GpuError> {
        pollster::block_on(GpuContext::shared(None))
    }
}

/// Below this many multiply-adds (n² · dims) the CPU search finishes before
/// a GPU would have opened a device, compiled its shaders and copied the
/// data (a few hundred ms): 10¹⁰ is about n = 5,100 at 384 dimensions, which
/// the symmetric CPU search (half the product, ~25 G multiply-adds/s a core)
/// does in 0.2–0.4 s on two cores. Checked on an H100 against 16 cores
/// (BENCHMARKS.md): at n = 4,096 (6.4·10⁹) the CPU was 3.5× faster, at
/// 12,032 (5.6·10¹⁰) the GPU 1.2×, at 30,000 3.1×.
pub const MIN_GPU_WORK: f64 = 1e10;

/// The decision for one job: run on the GPU, or on the CPU and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Gpu,
    Cpu(String),
}

/// Whether to run on the GPU. `adapter` is the opened adapter, or why none
/// could be opened; `work` is the job's multiply-adds.
pub fn choose(choice: BackendChoice, adapter: Result<&AdapterSummary, &str>, work: f64) -> Decision {
    choose_for(choice, adapter, work, MIN_GPU_WORK)
}

/// [`choose`] with the job's own threshold `min_work` (in its own unit).
pub fn choose_for(choice: BackendChoice, adapter: Result<&AdapterSummary, &str>, work: f64, min_work: f64) -> Decision {
    match (choice, adapter) {
        (BackendChoice::Cpu, _) => Decision::Cpu("the CPU was asked for".into()),
        (BackendChoice::Gpu, Ok(_)) => Decision::Gpu,
        (BackendChoice::Gpu, Err(why)) => Decision::Cpu(why.to_string()),
        (BackendChoice::Auto, Err(why)) => Decision::Cpu(why.to_string()),
        (BackendChoice::Auto, Ok(a)) if a.fallback => {
            Decision::Cpu(format!("the best GPU adapter is {}, slower than the CPU path (the gpu backend forces it)", a.describe()))
        }
        (BackendChoice::Auto, Ok(_)) if work < min_work => Decision::Cpu(too_small(work, min_work)),
        (BackendChoice::Auto, Ok(_)) => Decision::Gpu,
    }
}

fn too_small(work: f64, min_work: f64) -> String {
    format!("the job ({work:.1e} multiply-adds) is below the {min_work:.0e} at which a GPU pays off")
}

/// `benchsift similar` (each row's `top_k` neighbours, or every pair at or
/// above `threshold`) on the backend `choice` allows. In `auto`, a GPU
/// failure falls back to the CPU and says so; with `gpu` it is an error.
/// `fallback` as in [`GpuContext::new`].
pub async fn similar(
    input: &SimilarInput,
    top_k: usize,
    threshold: Option<f32>,
    choice: BackendChoice,
    fallback: Option<bool>,
) -> crate::Result<SimilarReport> {
    let query = input.query(top_k, threshold)?;
    // Small jobs never touch the GPU in auto: opening a device costs more.
    if choice == BackendChoice::Cpu || (choice == BackendChoice::Auto && query.work() < MIN_GPU_WORK) {
        let reason = if choice == BackendChoice::Cpu { "the CPU was asked for".to_string() } else { too_small(query.work(), MIN_GPU_WORK) };
        let (nb, pairs) = query.search_cpu()?;
        return Ok(input.report(&query, &nb, pairs, Backend::cpu(&reason)));
    }
    let context = GpuContext::shared(fallback).await;
    let adapter = context.as_ref().map(|c| c.adapter()).map_err(|e| e.to_string());
    let decision = choose(choice, adapter.as_ref().map(|a| *a).map_err(String::as_str), query.work());
    match (decision, &context) {
        (Decision::Gpu, Ok(ctx)) => match ctx.cosine_search(&query).await {
            Ok((nb, pairs)) => {
                let why = if choice == BackendChoice::Gpu { "the GPU was asked for" } else { "a GPU adapter is present and the job is large" };
                Ok(input.report(&query, &nb, pairs, Backend::gpu(&format!("{}: {why}", ctx.adapter().describe()))))
            }
            Err(GpuError::Search(e)) => Err(e),
            Err(e) if choice == BackendChoice::Auto => {
                let (nb, pairs) = query.search_cpu()?;
                Ok(input.report(&query, &nb, pairs, Backend::cpu(&format!("the GPU failed ({e}); ran on the CPU"))))
            }
            Err(e) => Err(crate::Error::invalid(e.to_string())),
        },
        (Decision::Cpu(why), _) if choice == BackendChoice::Gpu => Err(crate::Error::invalid(format!("the GPU backend was asked for, but {why}"))),
        (Decision::Cpu(why), _) => {
            let (nb, pairs) = query.search_cpu()?;
            Ok(input.report(&query, &nb, pairs, Backend::cpu(&why)))
        }
        (Decision::Gpu, Err(e)) => Err(crate::Error::invalid(e.to_string())),
    }
}

/// [`similar`], blocking (native only): what the CLI calls.
#[cfg(not(target_arch = "wasm32"))]
pub fn similar_blocking(input: &SimilarInput, top_k: usize, threshold: Option<f32>, choice: BackendChoice) -> crate::Result<SimilarReport> {
    pollster::block_on(similar(input, top_k, threshold, choice, None))
}

/// A GPU test without an adapter: skips with a loud line, except under
/// `CI=true`, where a skipped parity test would hide a broken kernel or setup.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn skip_without_adapter(what: &str, error: &dyn std::fmt::Display) {
    let message = format!("no GPU adapter for {what} ({error}); install mesa-vulkan-drivers for lavapipe");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: {message}");
    eprintln!("\n!!! SKIPPED: {message} !!!\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel parses and validates with naga: no GPU needed.
    #[test]
    fn every_shader_validates() {
        for (name, source) in [
            ("cosine_scores.wgsl", cosine::SCORES_WGSL),
            ("cosine_topk.wgsl", cosine::TOPK_WGSL),
            ("irt_loglik.wgsl", irt::LOGLIK_WGSL),
            ("irt_counts.wgsl", irt::COUNTS_WGSL),
        ] {
            let module = naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
                .validate(&module)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }

    #[test]
    fn auto_picks_the_cpu_for_fallback_adapters_and_small_jobs() {
        let real = AdapterSummary { name: "NVIDIA H100".into(), api: "Vulkan".into(), fallback: false };
        let soft = AdapterSummary { name: "llvmpipe".into(), api: "Vulkan".into(), fallback: true };
        assert_eq!(choose(BackendChoice::Auto, Ok(&real), 1e12), Decision::Gpu);
        let Decision::Cpu(why) = choose(BackendChoice::Auto, Ok(&soft), 1e12) else { panic!("fallback adapter chosen") };
        assert!(why.contains("llvmpipe") && why.contains("software fallback"), "{why}");
        let Decision::Cpu(why) = choose(BackendChoice::Auto, Ok(&real), 1e6) else { panic!("small job on the GPU") };
        assert!(why.contains("below"), "{why}");
        assert_eq!(choose(BackendChoice::Gpu, Ok(&soft), 1.0), Decision::Gpu);
        assert_eq!(choose(BackendChoice::Cpu, Ok(&real), 1e12), Decision::Cpu("the CPU was asked for".into()));
        assert_eq!(choose(BackendChoice::Auto, Err("no GPU adapter found"), 1e12), Decision::Cpu("no GPU adapter found".into()));
    }
}
