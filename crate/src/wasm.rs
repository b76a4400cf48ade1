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

/// `benchsift fit`: an IRT model on the given files; returns the fit as JSON
/// text. `progress(iteration, maxIterations, logLikelihood, maxChange)` is
/// called after each EM iteration; returning `false` stops the fit.
#[wasm_bindgen]
pub fn fit(
    names: Vec<String>,
    roles: Vec<String>,
    lengths: &[u32],
    data: &[u8],
    load_options_json: &str,
    fit_options_json: &str,
    progress: Option<js_sys::Function>,
) -> Result<String, JsError> {
    let files = split_files(&names, &roles, lengths, data)?;
    let load: LoadOptions = parse_options(load_options_json)?;
    let settings: crate::irt::FitSettings = parse_options(fit_options_json)?;
    let dataset = Dataset::load(&files, &load).map_err(|e| JsError::new(&e.to_string()))?;
    let options = settings.to_options(&dataset.matrix).map_err(|e| JsError::new(&e.to_string()))?;
    let mut callback_error = None;
    let mut report = |p: &crate::irt::Progress| -> bool {
        let Some(f) = &progress else { return true };
        let args = js_sys::Array::of4(
            &JsValue::from(p.iteration as f64),
            &JsValue::from(p.max_iterations as f64),
            &JsValue::from(p.log_likelihood),
            &JsValue::from(p.max_change),
        );
        match f.apply(&JsValue::NULL, &args) {
            Ok(v) => v.as_bool() != Some(false),
            Err(e) => {
                callback_error = Some(e);
                false
            }
        }
    };
    let fitted = crate::irt::fit(&dataset.matrix, &options, &mut report).map_err(|e| JsError::new(&e.to_string()))?;
    if let Some(e) = callback_error {
        let message = e.as_string().or_else(|| js_sys::Error::from(e).message().as_string()).unwrap_or_default();
        return Err(JsError::new(&format!("the progress callback threw: {message}")));
    }
    to_json(&fitted.to_json())
}

fn load(names: &[String], roles: &[String], lengths: &[u32], data: &[u8], load_options_json: &str) -> Result<Dataset, JsError> {
    let files = split_files(names, roles, lengths, data)?;
    let load: LoadOptions = parse_options(load_options_json)?;
    Dataset::load(&files, &load).map_err(|e| JsError::new(&e.to_string()))
}

/// `benchsift select`: returns the subset as JSON text.
#[wasm_bindgen]
pub fn select(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], load_options_json: &str, select_options_json: &str) -> Result<String, JsError> {
    let dataset = load(&names, &roles, lengths, data, load_options_json)?;
    let settings: crate::select::SelectSettings = parse_options(select_options_json)?;
    let (train, options, irt) = settings.resolve(&dataset.matrix).map_err(|e| JsError::new(&e.to_string()))?;
    let fit_options = crate::irt::FitOptions { model: irt, dims: settings.dims.unwrap_or(1), ..Default::default() };
    let subset = crate::select::select_subset_with(&dataset.matrix, &train, &options, &fit_options).map_err(|e| JsError::new(&e.to_string()))?;
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
    let subset: crate::select::SubsetJson = serde_json::from_str(subset_json).map_err(|e| JsError::new(&format!("subset: {e}")))?;
    let fit = if fit_json.trim().is_empty() {
        None
    } else {
        let json: crate::irt::FitJson = serde_json::from_str(fit_json).map_err(|e| JsError::new(&format!("fit: {e}")))?;
        Some(crate::irt::IrtFit::from_json(json).map_err(|e| JsError::new(&format!("fit: {e}")))?)
    };
    let estimator = crate::estimate::Estimator::parse(estimator).map_err(|e| JsError::new(&e.to_string()))?;
    let estimates = crate::estimate::estimate_matrix(&subset, fit.as_ref(), &dataset.matrix, estimator).map_err(|e| JsError::new(&e.to_string()))?;
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
    // The truth file travels with the others; split it off before loading.
    let truth_at = roles.iter().position(|r| r == "truth");
    let mut offset = 0usize;
    let mut truth_file: Option<(String, &[u8])> = None;
    let (mut keep_names, mut keep_roles, mut keep_lengths, mut keep_data) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, ((name, role), &len)) in names.iter().zip(&roles).zip(lengths).enumerate() {
        let bytes = data.get(offset..offset + len as usize).ok_or_else(|| JsError::new("internal: file lengths do not add up to the data"))?;
        offset += len as usize;
        if Some(k) == truth_at {
            truth_file = Some((name.clone(), bytes));
        } else {
            keep_names.push(name.clone());
            keep_roles.push(role.clone());
            keep_lengths.push(len);
            keep_data.extend_from_slice(bytes);
        }
    }
    let dataset = load(&keep_names, &keep_roles, &keep_lengths, &keep_data, load_options_json)?;
    let truth = match truth_file {
        Some((name, bytes)) => Some(crate::read::read_truth(&Input::new(&name, bytes), &dataset.matrix, u64::MAX).map_err(|e| JsError::new(&e.to_string()))?),
        None => None,
    };
    let settings: crate::evaluate::EvaluateSettings = parse_options(evaluate_options_json)?;
    let options = settings.to_options(&dataset.matrix, truth).map_err(|e| JsError::new(&e.to_string()))?;
    let mut report = |done: usize, total: usize| {
        if let Some(f) = &progress {
            let _ = f.call2(&JsValue::NULL, &JsValue::from(done as f64), &JsValue::from(total as f64));
        }
    };
    let result = crate::evaluate::evaluate(&dataset.matrix, &options, &mut report).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&result)
}

/// `benchsift similar`: files with roles `items` (CSV) and/or `embeddings`
/// (.npy); returns the pairs as JSON text.
#[wasm_bindgen]
pub fn similar(names: Vec<String>, roles: Vec<String>, lengths: &[u32], data: &[u8], options_json: &str) -> Result<String, JsError> {
    let (mut items, mut embeddings) = (None, None);
    let mut offset = 0usize;
    for ((name, role), &len) in names.iter().zip(&roles).zip(lengths) {
        let bytes = data.get(offset..offset + len as usize).ok_or_else(|| JsError::new("internal: file lengths do not add up to the data"))?;
        offset += len as usize;
        match role.as_str() {
            "items" => items = Some(Input::new(name, bytes)),
            "embeddings" => embeddings = Some(Input::new(name, bytes)),
            _ => {}
        }
    }
    let settings: crate::similar::SimilarSettings = parse_options(options_json)?;
    let report = crate::similar::similar_files(items.as_ref(), embeddings.as_ref(), &settings).map_err(|e| JsError::new(&e.to_string()))?;
    to_json(&report)
}
