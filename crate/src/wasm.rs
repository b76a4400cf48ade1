//! The WebAssembly boundary: converts JS values, delegates to
//! `crate::commands`, and returns `Result<_, JsError>` so nothing crosses as
//! a panic.
//!
//! Every command takes its files as one concatenated byte buffer plus names,
//! roles and lengths (one copy into wasm memory however many files there
//! are; see [`Files::unpack`]) and its options as JSON text, the JS option
//! object minus the files. Results cross as JSON text, the same bytes the CLI
//! prints, so both give identical output.

use wasm_bindgen::prelude::*;

use crate::commands::{self, Files};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The crate version, to show beside results.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Every command's option keys and file roles, and how each role travels
/// (see `commands::schema`): the JS API packs files and options by it.
#[wasm_bindgen]
pub fn schema() -> Result<String, JsError> {
    to_json(&commands::schema())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, JsError> {
    serde_json::to_string(value).map_err(|e| JsError::new(&format!("cannot write JSON: {e}")))
}

/// `benchsift info`; returns the summary as JSON text.
#[wasm_bindgen]
pub fn info(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    to_json(&commands::info::run(&files, &load, &request)?)
}

/// The JS progress callback of a fit as the core's: `progress(iteration,
/// maxIterations, logLikelihood, maxChange)`; `false` stops the fit, and an
/// exception stops it and is kept in `error`.
fn fit_progress<'a>(progress: &'a Option<js_sys::Function>, error: &'a mut Option<JsValue>) -> impl FnMut(&crate::irt::Progress) -> bool + 'a {
    move |p: &crate::irt::Progress| -> bool {
        let Some(f) = progress else { return true };
        let args = js_sys::Array::of4(
            &JsValue::from(p.iteration as f64),
            &JsValue::from(p.max_iterations as f64),
            &JsValue::from(p.log_likelihood),
            &JsValue::from(p.max_change),
        );
        match f.apply(&JsValue::NULL, &args) {
            Ok(v) => v.as_bool() != Some(false),
            Err(e) => {
                *error = Some(e);
                false
            }
        }
    }
}

/// A fit's request, matrix and options, as every fit entry reads them; the
/// file bytes are taken so that they are freed once the matrix is read,
/// before the fit allocates its own arrays.
fn read_fit(
    names: &[String],
    roles: &[String],
    lengths: &[u32],
    data: Vec<u8>,
    options_json: &str,
) -> Result<(commands::fit::FitRequest, crate::dataset::Dataset, crate::irt::FitOptions), JsError> {
    let (load, request): (_, commands::fit::FitRequest) = commands::parse(options_json)?;
    let (dataset, options) = commands::fit::prepare(&Files::unpack(names, roles, lengths, &data)?, &load, &request)?;
    drop(data);
    Ok((request, dataset, options))
}

/// The fit as JSON text, or the progress callback's exception.
fn fit_result(fitted: crate::Result<crate::irt::IrtFit>, callback_error: Option<JsValue>) -> Result<String, JsError> {
    let fitted = fitted?;
    if let Some(e) = callback_error {
        let message = e.as_string().or_else(|| js_sys::Error::from(e).message().as_string()).unwrap_or_default();
        return Err(JsError::new(&format!("the progress callback threw: {message}")));
    }
    to_json(&fitted.to_json())
}

/// `benchsift fit` on the CPU; returns the fit as JSON text.
/// `progress(iteration, maxIterations, logLikelihood, maxChange)` is called
/// after each EM iteration; returning `false` stops the fit. The file bytes
/// are taken (not borrowed) so that they are freed once the matrix is read,
/// before the fit allocates its own arrays.
#[wasm_bindgen]
pub fn fit(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: Vec<u8>,
    options_json: &str,
    progress: Option<js_sys::Function>,
) -> Result<String, JsError> {
    let (request, dataset, options) = read_fit(&names, &roles, lengths, data, options_json)?;
    let reason = match request.backend {
        crate::backend::BackendChoice::Cpu => "the CPU was asked for",
        crate::backend::BackendChoice::Gpu => {
            return Err(JsError::new("the GPU backend was asked for, but this entry point fits on the CPU only (the GPU one, fitGpu, needs the gpu feature)"));
        }
        crate::backend::BackendChoice::Auto => "this entry point fits on the CPU (fitGpu chooses a backend)",
    };
    let mut callback_error = None;
    let fitted = crate::irt::fit(&dataset.matrix, &options, &mut fit_progress(&progress, &mut callback_error)).map(|mut f| {
        f.backend = crate::backend::Backend::cpu(reason);
        f
    });
    fit_result(fitted, callback_error)
}

/// `benchsift fit` with the `backend` option honoured (`auto`, `cpu`,
/// `gpu`): the E- and M-step sums on WebGPU through wgpu where the browser
/// offers a real adapter and the matrix is large (or `gpu` forces it), else
/// the CPU; the result's `backend` says which and why. The same EM loop as
/// [`fit`]; it awaits each WebGPU readback (yielding to the event loop) and
/// calls `progress` as [`fit`] does. Resolves to JSON text. In Node (no
/// WebGPU) `auto` runs on the CPU.
#[cfg(feature = "gpu")]
#[wasm_bindgen(js_name = fitGpu)]
pub async fn fit_gpu(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: Vec<u32>,
    data: Vec<u8>,
    options_json: String,
    progress: Option<js_sys::Function>,
) -> Result<String, JsError> {
    let (request, dataset, options) = read_fit(&names, &roles, &lengths, data, &options_json)?;
    let mut callback_error = None;
    let fitted = crate::gpu::irt::fit(&dataset.matrix, &options, request.backend, None, &mut fit_progress(&progress, &mut callback_error)).await;
    fit_result(fitted, callback_error)
}

/// `benchsift fit` on the CPU with every E-step split over a pool of
/// workers, each holding a block of the models (see `irt::blocks`); resolves
/// to the fit as JSON text, the same fit [`fit`] gives to the bit (only its
/// `backend` differs, saying how many workers ran it). The pool is JS's:
/// `open(payloads)` hands `payloads[k]` (a `Uint8Array`) to worker `k`,
/// which builds an [`EStepBlock`] from it, and `run(requests)` sends
/// `requests[k]` to worker `k`'s `EStepBlock.run` and resolves to their
/// answers in order; both return promises. `workers` is the pool's size.
/// `progress` as for [`fit`]. With `choose`, the pool is used only where
/// splitting pays ([`crate::irt::pays_to_split`]); otherwise, and for a
/// multidimensional fit (dims > 1), the fit is `fitGpu`'s and no worker is
/// started.
#[wasm_bindgen(js_name = fitInBlocks)]
#[allow(clippy::too_many_arguments)]
pub async fn fit_in_blocks(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: Vec<u32>,
    data: Vec<u8>,
    options_json: String,
    progress: Option<js_sys::Function>,
    workers: u32,
    choose: bool,
    open: js_sys::Function,
    run: js_sys::Function,
) -> Result<String, JsError> {
    let (request, dataset, options) = read_fit(&names, &roles, &lengths, data, &options_json)?;
    if request.backend == crate::backend::BackendChoice::Gpu {
        return Err(JsError::new("the GPU backend was asked for, but a pool of workers fits on the CPU (use fitGpu)"));
    }
    let mut callback_error = None;
    let mut report = fit_progress(&progress, &mut callback_error);
    let workers = workers.max(1) as usize;
    let m = &dataset.matrix;
    let split = options.dims == 1 && (!choose || crate::irt::pays_to_split(m.observed_count(), m.n_items(), options.quadrature_points, workers));
    if !split {
        // What fitGpu (or, without the gpu feature, fit) does: no worker is started.
        #[cfg(feature = "gpu")]
        let fitted = crate::gpu::irt::fit(&dataset.matrix, &options, request.backend, None, &mut report).await;
        #[cfg(not(feature = "gpu"))]
        let fitted = crate::irt::fit(&dataset.matrix, &options, &mut report);
        drop(report);
        return fit_result(fitted, callback_error);
    }
    let mut blocks = JsBlocks { workers, open, run };
    let fitted = match crate::irt::fit_in_blocks(&dataset.matrix, &options, &mut blocks, &mut report).await? {
        Ok(mut f) => {
            let n = blocks.workers.min(dataset.matrix.n_models()).max(1);
            f.backend = crate::backend::Backend {
                device: "cpu".into(),
                threads: n,
                reason: format!("fitted on the CPU in {n} worker{}, each holding a block of the models", if n == 1 { "" } else { "s" }),
            };
            Ok(f)
        }
        Err(e) => Err(crate::Error::invalid(format!("the worker pool failed: {e}"))),
    };
    drop(report);
    fit_result(fitted, callback_error)
}

/// The pool's two calls as a [`crate::irt::ModelBlocks`].
struct JsBlocks {
    workers: usize,
    open: js_sys::Function,
    run: js_sys::Function,
}

impl JsBlocks {
    /// Calls `f` with the messages as an array of `Uint8Array`s and awaits its promise.
    async fn call(f: &js_sys::Function, messages: Vec<Vec<u8>>) -> std::result::Result<JsValue, String> {
        let array = js_sys::Array::new();
        for m in &messages {
            array.push(&js_sys::Uint8Array::from(&m[..]));
        }
        drop(messages);
        let message = |e: JsValue| e.as_string().or_else(|| js_sys::Error::from(e).message().as_string()).unwrap_or_else(|| "unknown error".into());
        let promise = f.call1(&JsValue::NULL, &array).map_err(message)?;
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&promise)).await.map_err(message)
    }
}

impl crate::irt::ModelBlocks for JsBlocks {
    fn count(&self) -> usize {
        self.workers
    }

    fn open<'a>(&'a mut self, payloads: Vec<Vec<u8>>) -> crate::irt::blocks::BlocksFuture<'a, ()> {
        Box::pin(async move { JsBlocks::call(&self.open, payloads).await.map(|_| ()) })
    }

    fn run<'a>(&'a mut self, requests: Vec<Vec<u8>>, take: &'a mut crate::irt::blocks::TakeAnswer<'a>) -> crate::irt::blocks::BlocksFuture<'a, ()> {
        Box::pin(async move {
            let answers = JsBlocks::call(&self.run, requests).await?;
            let answers = answers.dyn_into::<js_sys::Array>().map_err(|_| "the pool's answers are not an array".to_string())?;
            // One answer in wasm memory at a time (wasm memory never shrinks).
            for (k, answer) in answers.iter().enumerate() {
                let bytes = answer.dyn_into::<js_sys::Uint8Array>().map_err(|_| "a worker's answer is not a Uint8Array".to_string())?.to_vec();
                take(k, &bytes)?;
            }
            Ok(())
        })
    }
}

/// A block of models as a pool worker holds it: built from the payload
/// [`fit_in_blocks`] sent this worker, then asked for one E-step per request.
#[wasm_bindgen]
pub struct EStepBlock(crate::irt::BlockEStep);

#[wasm_bindgen]
impl EStepBlock {
    #[wasm_bindgen(constructor)]
    pub fn new(payload: &[u8]) -> Result<EStepBlock, JsError> {
        crate::irt::BlockEStep::open(payload).map(EStepBlock).map_err(|e| JsError::new(&e))
    }

    /// One E-step of this block: the answer to send back.
    pub fn run(&mut self, request: &[u8]) -> Result<Vec<u8>, JsError> {
        self.0.run(request).map_err(|e| JsError::new(&e))
    }
}

/// `benchsift select`; returns the subset as JSON text.
#[wasm_bindgen]
pub fn select(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    to_json(&commands::select::run(&files, &load, &request)?.0)
}

/// `benchsift estimate`: the responses to estimate with the subset file (role
/// `subset`) and, for the IRT estimators, a fit (role `fit`); returns the
/// estimates as JSON text.
#[wasm_bindgen]
pub fn estimate(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    to_json(&commands::estimate::run(&files, &load, &request)?.0)
}

/// `benchsift adapt`: the fit (role `fit`), the answers so far (role
/// `responses`, none at the start) and an items file; returns the state and
/// the next items as JSON text.
#[wasm_bindgen]
pub fn adapt(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    to_json(&commands::adapt::run(&files, &load, &request)?.0)
}

/// `benchsift evaluate`; `progress(fraction, splits done, splits)` after
/// each batch of selections and each split.
#[wasm_bindgen]
pub fn evaluate(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    options_json: &str,
    progress: Option<js_sys::Function>,
) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    let mut report = |p: crate::evaluate::Progress| {
        if let Some(f) = &progress {
            let _ = f.call3(&JsValue::NULL, &JsValue::from(p.fraction()), &JsValue::from(p.splits_done as f64), &JsValue::from(p.splits as f64));
        }
    };
    to_json(&commands::evaluate::run(&files, &load, &request, &mut report)?.0)
}

/// How many splits `evaluate` runs on these files and options: the jobs a
/// pool of workers shares out ([`evaluate_split`], then [`evaluate_merge`]).
#[wasm_bindgen(js_name = evaluateSplits)]
pub fn evaluate_splits(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<u32, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    let prepared = commands::evaluate::prepare(&files, &load, &request)?;
    Ok(crate::evaluate::split_count(prepared.matrix(), &prepared.options)? as u32)
}

/// Split `split` of `evaluate` alone (in a pool's worker), as bytes for
/// [`evaluate_merge`]; `progress(stepsDone, steps)` after each batch of its
/// selections.
#[wasm_bindgen(js_name = evaluateSplit)]
#[allow(clippy::too_many_arguments)]
pub fn evaluate_split(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    options_json: &str,
    split: u32,
    progress: Option<js_sys::Function>,
) -> Result<Vec<u8>, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    let prepared = commands::evaluate::prepare(&files, &load, &request)?;
    let mut report = |p: crate::evaluate::Progress| {
        if let Some(f) = &progress {
            let _ = f.call2(&JsValue::NULL, &JsValue::from(p.steps_done as f64), &JsValue::from(p.steps as f64));
        }
    };
    Ok(crate::evaluate::evaluate_split(prepared.matrix(), &prepared.options, split as usize, &mut report)?)
}

/// `evaluate`'s result (the same JSON text, to the bit) from every split's
/// bytes, in split order (an array of `Uint8Array`s).
#[wasm_bindgen(js_name = evaluateMerge)]
pub fn evaluate_merge(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    options_json: &str,
    splits: js_sys::Array,
) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    let prepared = commands::evaluate::prepare(&files, &load, &request)?;
    let messages = splits
        .iter()
        .map(|s| s.dyn_into::<js_sys::Uint8Array>().map(|a| a.to_vec()).map_err(|_| JsError::new("a split's result is not a Uint8Array")))
        .collect::<Result<Vec<_>, _>>()?;
    to_json(&crate::evaluate::evaluate_from_splits(prepared.matrix(), &prepared.options, &messages)?)
}

/// `benchsift similar` on the CPU: files with roles `items` and/or
/// `embeddings`; returns the pairs as JSON text.
#[wasm_bindgen]
pub fn similar(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (_, request) = commands::parse(options_json)?;
    to_json(&commands::similar::run_cpu(&files, &request)?)
}

/// `benchsift similar` with the backend option honoured (`auto`, `cpu`,
/// `gpu`): WebGPU through wgpu where the browser offers a real adapter and
/// the job is large, else the CPU; the result's `backend` says which and
/// why. Resolves to JSON text. In Node (no WebGPU) `auto` runs on the CPU.
#[cfg(feature = "gpu")]
#[wasm_bindgen(js_name = similarGpu)]
pub async fn similar_gpu(names: Vec<String>, roles: Vec<String>, lengths: Vec<u32>, data: Vec<u8>, options_json: String) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, &lengths, &data)?;
    let (_, request): (_, commands::similar::SimilarRequest) = commands::parse(&options_json)?;
    let input = commands::similar::input(&files)?;
    to_json(&crate::gpu::similar(&input, request.top_k, request.threshold, request.backend, None).await?)
}

/// Multiply-adds of `similar`'s search on these files (n² × dims): whether
/// a pool of workers pays for starting.
#[wasm_bindgen(js_name = similarWork)]
pub fn similar_work(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<f64, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (_, request): (_, commands::similar::SimilarRequest) = commands::parse(options_json)?;
    Ok(commands::similar::input(&files)?.query(request.top_k, request.threshold)?.work())
}

/// Share `share` of `shares` of `similar`'s CPU search (in a pool's
/// worker), as bytes for [`similar_merge`].
#[wasm_bindgen(js_name = similarShare)]
pub fn similar_share(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    options_json: &str,
    share: u32,
    shares: u32,
) -> Result<Vec<u8>, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (_, request): (_, commands::similar::SimilarRequest) = commands::parse(options_json)?;
    let query = commands::similar::input(&files)?.query(request.top_k, request.threshold)?;
    Ok(query.search_share(share as usize, shares as usize)?.encode())
}

/// `similar`'s report (the CPU search's JSON) from every share's bytes
/// ([`similar_share`]), in any order.
#[wasm_bindgen(js_name = similarMerge)]
pub fn similar_merge(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    options_json: &str,
    shares: js_sys::Array,
) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (_, request): (_, commands::similar::SimilarRequest) = commands::parse(options_json)?;
    let input = commands::similar::input(&files)?;
    let query = input.query(request.top_k, request.threshold)?;
    let parts = shares
        .iter()
        .map(|s| {
            let bytes = s.dyn_into::<js_sys::Uint8Array>().map_err(|_| JsError::new("a share of the search is not a Uint8Array"))?.to_vec();
            crate::similar::SearchShare::decode(&bytes).map_err(|e| JsError::new(&e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let n = parts.len();
    if parts.iter().any(|p| p.k() != query.k.min(query.n - 1)) {
        return Err(JsError::new("a share of the search was run with another number of neighbours"));
    }
    let (neighbours, pairs) = query.merge(parts)?;
    let backend = crate::backend::Backend {
        device: "cpu".into(),
        threads: n,
        reason: format!("searched on the CPU in {n} workers, each taking an interleaved share of the row blocks"),
    };
    to_json(&input.report(&query, &neighbours, pairs, backend))
}

/// Item ids and texts of an items CSV, in file order, so the page can show
/// any item (not only the chosen ones). Returns `{"ids": [...], "texts": [...]}`.
#[wasm_bindgen(js_name = itemTexts)]
pub fn item_texts(name: &str, data: &[u8]) -> Result<String, JsError> {
    let (ids, texts) = crate::read::read_item_texts(&crate::read::Input::new(name, data), crate::read::DEFAULT_MAX_BYTES)?;
    to_json(&serde_json::json!({ "ids": ids, "texts": texts }))
}

/// `benchsift filter`; returns the filter report as JSON text.
#[wasm_bindgen]
pub fn filter(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    to_json(&commands::filter::run(&files, &load, &request)?)
}

/// `benchsift select-tasks` on a models × tasks matrix; returns the chosen
/// tasks and cross-validation scores as JSON text.
#[wasm_bindgen(js_name = selectTasks)]
pub fn select_tasks(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let files = Files::unpack(&names, &roles, lengths, data)?;
    let (load, request) = commands::parse(options_json)?;
    to_json(&commands::tasks::run(&files, &load, &request)?)
}

/// Kendall's τ-b between two equally long series (NaN with any NaN or a
/// constant series, as scipy): the crate's own, for views that compare two
/// rankings.
#[wasm_bindgen(js_name = kendallTau)]
pub fn kendall_tau(a: &[f64], b: &[f64]) -> Result<f64, JsError> {
    if a.len() != b.len() {
        return Err(JsError::new(&format!("kendallTau: {} values against {}", a.len(), b.len())));
    }
    Ok(crate::metrics::kendall_tau_b(a, b))
}
