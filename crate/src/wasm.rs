//! The WebAssembly boundary: converts JS values, delegates to the library,
//! and returns `Result<_, JsError>` so nothing crosses as a panic.
//!
//! Files cross as one concatenated byte buffer plus names, roles and lengths:
//! one copy into wasm memory however many files there are. Results cross as
//! JSON text, the same bytes the CLI prints, so both give identical output.

use wasm_bindgen::prelude::*;

use crate::read::Input;
use crate::{Dataset, DatasetFiles, LoadOptions};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The crate version, to show beside results.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn split_files<'a>(names: &'a [String], roles: &[String], lengths: &[u32], data: &'a [u8]) -> Result<DatasetFiles<'a>, JsError> {
    if names.len() != roles.len() || names.len() != lengths.len() {
        return Err(JsError::new("internal: names, roles and lengths differ in length"));
    }
    let total: u64 = lengths.iter().map(|&l| l as u64).sum();
    if total != data.len() as u64 {
        return Err(JsError::new("internal: file lengths do not add up to the data"));
    }
    let mut files = DatasetFiles::default();
    let mut offset = 0usize;
    for ((name, role), &len) in names.iter().zip(roles).zip(lengths) {
        let input = Input::new(name, &data[offset..offset + len as usize]);
        offset += len as usize;
        match role.as_str() {
            "responses" => files.responses.push(input),
            "items" => files.items = Some(input),
            "models" => files.models = Some(input),
            other => return Err(JsError::new(&format!("unknown file role '{other}'"))),
        }
    }
    Ok(files)
}

fn parse_options<T: serde::de::DeserializeOwned + Default>(json: &str) -> Result<T, JsError> {
    if json.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("options: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, JsError> {
    serde_json::to_string(value).map_err(|e| JsError::new(&format!("cannot write JSON: {e}")))
}

/// `benchsift info` on the given files; returns the summary as JSON text.
#[wasm_bindgen]
pub fn info(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let files = split_files(&names, &roles, lengths, data)?;
    let options: LoadOptions = parse_options(options_json)?;
    let dataset = Dataset::load(&files, &options).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&crate::info::info(&dataset))
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

/// The fit as JSON text, or the progress callback's exception.
fn fit_result(fitted: crate::Result<crate::irt::IrtFit>, callback_error: Option<JsValue>) -> Result<String, JsError> {
    let fitted = fitted.map_err(|e| JsError::new(&e.to_string()))?;
    if let Some(e) = callback_error {
        let message = e.as_string().or_else(|| js_sys::Error::from(e).message().as_string()).unwrap_or_default();
        return Err(JsError::new(&format!("the progress callback threw: {message}")));
    }
    to_json(&fitted.to_json())
}

/// `benchsift fit` on the CPU: an IRT model on the given files; returns the
/// fit as JSON text. `progress(iteration, maxIterations, logLikelihood,
/// maxChange)` is called after each EM iteration; returning `false` stops
/// the fit. The file bytes are taken (not borrowed) so that they are freed
/// once the matrix is read, before the fit allocates its own arrays.
#[wasm_bindgen]
pub fn fit(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: Vec<u8>,
    load_options_json: &str,
    fit_options_json: &str,
    progress: Option<js_sys::Function>,
) -> Result<String, JsError> {
    let settings: crate::irt::FitSettings = parse_options(fit_options_json)?;
    let dataset = load(&names, &roles, lengths, &data, load_options_json)?;
    drop(data);
    let options = settings.to_options(&dataset.matrix).map_err(|e| JsError::new(&e.to_string()))?;
    let reason = match settings.backend.unwrap_or_default() {
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

/// `benchsift fit` with the `backend` setting honoured (`auto`, `cpu`,
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
    load_options_json: String,
    fit_options_json: String,
    progress: Option<js_sys::Function>,
) -> Result<String, JsError> {
    let settings: crate::irt::FitSettings = parse_options(&fit_options_json)?;
    let dataset = load(&names, &roles, &lengths, &data, &load_options_json)?;
    drop(data);
    let options = settings.to_options(&dataset.matrix).map_err(|e| JsError::new(&e.to_string()))?;
    let choice = settings.backend.unwrap_or_default();
    let mut callback_error = None;
    let fitted = crate::gpu::irt::fit(&dataset.matrix, &options, choice, None, &mut fit_progress(&progress, &mut callback_error)).await;
    fit_result(fitted, callback_error)
}

fn load(names: &[String], roles: &[String], lengths: &[u32], data: &[u8], load_options_json: &str) -> Result<Dataset, JsError> {
    let files = split_files(names, roles, lengths, data)?;
    let load: LoadOptions = parse_options(load_options_json)?;
    Dataset::load(&files, &load).map_err(|e| JsError::new(&e.to_string()))
}

/// Files with the side roles (`truth`, `metric`, `outputs`, `embeddings`)
/// split off the ones `load` reads.
struct Split {
    names: Vec<String>,
    roles: Vec<String>,
    lengths: Vec<u32>,
    data: Vec<u8>,
    side: Vec<(String, String, Vec<u8>)>,
}

impl Split {
    fn new(names: &[String], roles: &[String], lengths: &[u32], data: &[u8]) -> Result<Split, JsError> {
        let mut out = Split { names: Vec::new(), roles: Vec::new(), lengths: Vec::new(), data: Vec::new(), side: Vec::new() };
        let mut offset = 0usize;
        for ((name, role), &len) in names.iter().zip(roles).zip(lengths) {
            let bytes = data.get(offset..offset + len as usize).ok_or_else(|| JsError::new("internal: file lengths do not add up to the data"))?;
            offset += len as usize;
            if matches!(role.as_str(), "truth" | "metric" | "outputs" | "embeddings") {
                out.side.push((role.clone(), name.clone(), bytes.to_vec()));
            } else {
                out.names.push(name.clone());
                out.roles.push(role.clone());
                out.lengths.push(len);
                out.data.extend_from_slice(bytes);
            }
        }
        Ok(out)
    }

    fn input(&self, role: &str) -> Option<Input<'_>> {
        self.side.iter().find(|(r, _, _)| r == role).map(|(_, n, b)| Input::new(n, b))
    }

    fn load(&self, load_options_json: &str) -> Result<Dataset, JsError> {
        load(&self.names, &self.roles, &self.lengths, &self.data, load_options_json)
    }

    /// Metric scores, outputs and embeddings for `m` (embedding rows follow
    /// the items file when one is given).
    fn side_data(&self, m: &crate::ResponseMatrix) -> Result<crate::select::SideData, JsError> {
        let items = self.roles.iter().position(|r| r == "items").map(|k| {
            let start: usize = self.lengths[..k].iter().map(|&l| l as usize).sum();
            Input::new(&self.names[k], &self.data[start..start + self.lengths[k] as usize])
        });
        let metrics: Vec<Input<'_>> = self.side.iter().filter(|(r, _, _)| r == "metric").map(|(_, n, b)| Input::new(n, b)).collect();
        crate::select::SideData::load(m, &metrics, self.input("outputs").as_ref(), self.input("embeddings").as_ref(), items.as_ref())
            .map_err(|e| JsError::new(&e.to_string()))
    }

    fn truth(&self, m: &crate::ResponseMatrix) -> Result<Option<Vec<f64>>, JsError> {
        self.input("truth").map(|t| crate::read::read_truth(&t, m, u64::MAX).map_err(|e| JsError::new(&e.to_string()))).transpose()
    }
}

/// `benchsift select`: returns the subset as JSON text. Optional files with
/// roles `metric`, `outputs`, `embeddings` and `truth` as the CLI's flags.
#[wasm_bindgen]
pub fn select(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    load_options_json: &str,
    select_options_json: &str,
) -> Result<String, JsError> {
    let files = Split::new(&names, &roles, lengths, data)?;
    let dataset = files.load(load_options_json)?;
    let settings: crate::select::SelectSettings = parse_options(select_options_json)?;
    let (train, options, irt) = settings.resolve(&dataset.matrix).map_err(|e| JsError::new(&e.to_string()))?;
    let side = files.side_data(&dataset.matrix)?;
    let truth = files.truth(&dataset.matrix)?;
    let fit_options =
        crate::irt::FitOptions { model: irt, dims: settings.dims.unwrap_or(1), tolerance: crate::select::SELECTION_FIT_TOLERANCE, ..Default::default() };
    let subset = crate::select::subset::select_subset_with(&dataset.matrix, &train, &options, &fit_options, side.side(), truth.as_deref())
        .map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&subset)
}

/// `benchsift estimate`: `subset_json` from `select`, `fit_json` from `fit`
/// (empty when not needed); returns the estimates as JSON text.
#[wasm_bindgen]
pub fn estimate(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    load_options_json: &str,
    subset_json: &str,
    fit_json: &str,
    estimator: &str,
) -> Result<String, JsError> {
    let dataset = load(&names, &roles, lengths, data, load_options_json)?;
    let subset: crate::select::subset::SubsetJson = serde_json::from_str(subset_json).map_err(|e| JsError::new(&format!("subset: {e}")))?;
    let fit = if fit_json.trim().is_empty() {
        None
    } else {
        let json: crate::irt::FitJson = serde_json::from_str(fit_json).map_err(|e| JsError::new(&format!("fit: {e}")))?;
        Some(crate::irt::IrtFit::from_json(json).map_err(|e| JsError::new(&format!("fit: {e}")))?)
    };
    let estimator = crate::estimate::Estimator::parse(estimator).map_err(|e| JsError::new(&e.to_string()))?;
    let estimates = crate::select::subset::estimate_matrix(&subset, fit.as_ref(), &dataset.matrix, estimator).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&estimates)
}

/// `benchsift evaluate`; a file with role `truth` gives true scores.
/// `progress(done, total)` after each split.
#[wasm_bindgen]
pub fn evaluate(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    load_options_json: &str,
    evaluate_options_json: &str,
    progress: Option<js_sys::Function>,
) -> Result<String, JsError> {
    // Side files travel with the others; split them off before loading.
    let files = Split::new(&names, &roles, lengths, data)?;
    let dataset = files.load(load_options_json)?;
    let truth = files.truth(&dataset.matrix)?;
    let settings: crate::evaluate::EvaluateSettings = parse_options(evaluate_options_json)?;
    let mut options = settings.to_options(&dataset.matrix, truth).map_err(|e| JsError::new(&e.to_string()))?;
    options.side = files.side_data(&dataset.matrix)?;
    let mut report = |done: usize, total: usize| {
        if let Some(f) = &progress {
            let _ = f.call2(&JsValue::NULL, &JsValue::from(done as f64), &JsValue::from(total as f64));
        }
    };
    let result = crate::evaluate::evaluate(&dataset.matrix, &options, &mut report).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&result)
}

type SimilarFiles<'a> = (Option<Input<'a>>, Option<Input<'a>>);

fn similar_files<'a>(names: &'a [String], roles: &[String], lengths: &[u32], data: &'a [u8]) -> Result<SimilarFiles<'a>, JsError> {
    let (mut items, mut embeddings) = (None, None);
    let mut offset = 0usize;
    for ((name, role), &len) in names.iter().zip(roles).zip(lengths) {
        let bytes = data.get(offset..offset + len as usize).ok_or_else(|| JsError::new("internal: file lengths do not add up to the data"))?;
        offset += len as usize;
        match role.as_str() {
            "items" => items = Some(Input::new(name, bytes)),
            "embeddings" => embeddings = Some(Input::new(name, bytes)),
            _ => {}
        }
    }
    Ok((items, embeddings))
}

/// `benchsift similar` on the CPU: files with roles `items` (CSV) and/or
/// `embeddings` (.npy); returns the pairs as JSON text.
#[wasm_bindgen]
pub fn similar(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let (items, embeddings) = similar_files(&names, &roles, lengths, data)?;
    let settings: crate::similar::SimilarSettings = parse_options(options_json)?;
    let report = crate::similar::similar_files(items.as_ref(), embeddings.as_ref(), &settings).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&report)
}

/// Item ids and texts of an items CSV, in file order, so the page can show
/// any item (not only the chosen ones). Returns `{"ids": [...], "texts": [...]}`.
#[wasm_bindgen(js_name = itemTexts)]
pub fn item_texts(name: &str, data: &[u8]) -> Result<String, JsError> {
    let (ids, texts) = crate::read::read_item_texts(&Input::new(name, data), crate::read::DEFAULT_MAX_BYTES).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&serde_json::json!({ "ids": ids, "texts": texts }))
}

/// `benchsift similar` with the backend option honoured (`auto`, `cpu`,
/// `gpu`): WebGPU through wgpu where the browser offers a real adapter and
/// the job is large, else the CPU; the result's `backend` says which and
/// why. Resolves to JSON text. In Node (no WebGPU) `auto` runs on the CPU.
#[cfg(feature = "gpu")]
#[wasm_bindgen(js_name = similarGpu)]
pub async fn similar_gpu(names: Vec<String>, roles: Vec<String>, lengths: Vec<u32>, data: Vec<u8>, options_json: String) -> Result<String, JsError> {
    let (items, embeddings) = similar_files(&names, &roles, &lengths, &data)?;
    let settings: crate::similar::SimilarSettings = parse_options(&options_json)?;
    let input = crate::similar::SimilarInput::read(items.as_ref(), embeddings.as_ref()).map_err(|e| JsError::new(&e.to_string()))?;
    let report = crate::gpu::similar(&input, &settings, None).await.map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&report)
}

/// `benchsift filter`: files with roles `responses`, `items`, `models`,
/// `embeddings` (.npy, rows in items-file order) and `reference` (model,score
/// or model,rank); returns the filter report as JSON text.
#[wasm_bindgen]
pub fn filter(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    load_options_json: &str,
    filter_options_json: &str,
) -> Result<String, JsError> {
    // Embeddings and the reference travel with the others; split them off.
    let (mut keep_names, mut keep_roles, mut keep_lengths) = (Vec::new(), Vec::new(), Vec::new());
    let mut keep_data = Vec::new();
    let (mut embeddings, mut reference) = (None, None);
    let mut offset = 0usize;
    for ((name, role), &len) in names.iter().zip(&roles).zip(lengths) {
        let bytes = data.get(offset..offset + len as usize).ok_or_else(|| JsError::new("internal: file lengths do not add up to the data"))?;
        offset += len as usize;
        match role.as_str() {
            "embeddings" => embeddings = Some(Input::new(name, bytes)),
            "reference" => reference = Some(Input::new(name, bytes)),
            _ => {
                keep_names.push(name.clone());
                keep_roles.push(role.clone());
                keep_lengths.push(len);
                keep_data.extend_from_slice(bytes);
            }
        }
    }
    let files = split_files(&keep_names, &keep_roles, &keep_lengths, &keep_data)?;
    let load: LoadOptions = parse_options(load_options_json)?;
    let settings: crate::filter::FilterSettings = parse_options(filter_options_json)?;
    let extra = crate::filter::FilterFiles { embeddings, reference };
    let report = crate::filter::filter_files(&files, &load, &extra, &settings).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&report)
}

/// `benchsift select-tasks` on a models × tasks matrix; returns the chosen
/// tasks and cross-validation scores as JSON text.
#[wasm_bindgen(js_name = selectTasks)]
pub fn select_tasks(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    load_options_json: &str,
    task_options_json: &str,
) -> Result<String, JsError> {
    let files = split_files(&names, &roles, lengths, data)?;
    let load: LoadOptions = parse_options(load_options_json)?;
    let settings: crate::tasks::TaskSettings = parse_options(task_options_json)?;
    let report = crate::tasks::select_tasks_files(&files, &load, &settings).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&report)
}
