//! lm-evaluation-harness `--log_samples` output: one JSONL line per
//! (document, filter) with the per-sample metrics as top-level fields.
//!
//! lm-eval writes `<output_path>/<model>/samples_<task>_<timestamp>.jsonl`, so
//! the model is the file's folder; a folderless `samples_*` file belongs to a
//! single unnamed model, and any other folderless file is one model named by
//! the file. The item id is `<task>/<doc_id>`.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::error::{Error, Location, Result, truncate};
use crate::matrix::{MatrixBuilder, ResponseMatrix};

use super::{Input, ReadOptions, check_cells, check_unit_interval};

/// Preferred per-sample metrics, most common first.
const DEFAULT_METRICS: &[&str] = &["acc", "exact_match", "acc_norm", "pass@1", "pass_at_1", "em", "f1", "correct"];

/// Where a log file sits: which model and which task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LmEvalFile {
    pub model: String,
    pub task: String,
}

/// `samples_<task>_<timestamp>.jsonl` → `(task, timestamp)`.
pub fn split_samples_file_name(file_name: &str) -> Option<(&str, &str)> {
    let stem = file_name.strip_suffix(".jsonl")?.strip_prefix("samples_")?;
    let (task, stamp) = stem.rsplit_once('_')?;
    let looks_like_time = stamp.starts_with(|c: char| c.is_ascii_digit()) && stamp.contains('T');
    (looks_like_time && !task.is_empty()).then_some((task, stamp))
}

fn locate(name: &str, default_model: &str) -> LmEvalFile {
    let normalized = name.replace('\\', "/");
    let (folder, file) = match normalized.rsplit_once('/') {
        Some((folder, file)) => (folder.rsplit('/').find(|p| !p.is_empty() && *p != "."), file),
        None => (None, normalized.as_str()),
    };
    let parsed = split_samples_file_name(file);
    let stem = file.strip_suffix(".jsonl").unwrap_or(file);
    match (folder, parsed) {
        (Some(folder), Some((task, _))) => LmEvalFile { model: folder.to_string(), task: task.to_string() },
        (Some(folder), None) => LmEvalFile { model: folder.to_string(), task: stem.to_string() },
        (None, Some((task, _))) => LmEvalFile { model: default_model.to_string(), task: task.to_string() },
        (None, None) => LmEvalFile { model: stem.to_string(), task: String::new() },
    }
}

fn doc_id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn metric_value(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(*b as u8 as f64),
        _ => None,
    }
}

struct Record {
    line: u64,
    fields: serde_json::Map<String, Value>,
}

/// Parses one samples file into records, refusing lines that are not objects.
fn parse_lines(input: &Input) -> Result<Vec<Record>> {
    let text = std::str::from_utf8(input.bytes).map_err(|e| Error::input(Location::file(input.name), format!("not UTF-8 text (byte {})", e.valid_up_to())))?;
    let mut records = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = n as u64 + 1;
        let fields: serde_json::Map<String, Value> =
            serde_json::from_str(line).map_err(|e| Error::input(Location::line(input.name, line_no), format!("not a JSON object: {e}")))?;
        records.push(Record { line: line_no, fields });
    }
    if records.is_empty() {
        return Err(Error::input(Location::file(input.name), "the file is empty"));
    }
    Ok(records)
}

/// The metric to score a file by: the first of `wanted` (the user's
/// comma-separated list, or the defaults) that its first record has, else the
/// first numeric metric the record lists.
fn metric_for(input: &Input, first: &Record, wanted: Option<&str>) -> Result<String> {
    let candidates: Vec<&str> = match wanted {
        Some(list) => list.split(',').map(str::trim).filter(|m| !m.is_empty()).collect(),
        None => DEFAULT_METRICS.to_vec(),
    };
    if let Some(found) = candidates.iter().find(|m| first.fields.get(**m).and_then(metric_value).is_some()) {
        return Ok(found.to_string());
    }
    if wanted.is_none() {
        if let Some(listed) = choose_listed_metric(&first.fields) {
            return Ok(listed);
        }
    }
    let fields: Vec<&str> = first
        .fields
        .keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "doc" | "arguments" | "resps" | "filtered_resps" | "doc_hash" | "prompt_hash" | "target_hash"))
        .collect();
    Err(Error::input(
        Location::line(input.name, first.line),
        format!(
            "no {} field (fields here: {})",
            match wanted {
                Some(_) => candidates.iter().map(|c| format!("'{}'", truncate(c, 30))).collect::<Vec<_>>().join(" or "),
                None => "numeric per-sample metric such as acc or exact_match; choose one with the metric option".into(),
            },
            truncate(&fields.join(", "), 200)
        ),
    ))
}

fn choose_listed_metric(record: &serde_json::Map<String, Value>) -> Option<String> {
    record.get("metrics")?.as_array()?.iter().filter_map(Value::as_str).find(|m| record.get(*m).and_then(metric_value).is_some()).map(str::to_string)
}

/// Reads the logs into a matrix; returns it with notes for the user (which
/// filter was used where several were logged, which older runs were skipped).
pub(crate) fn read_lm_eval(files: &[Input], options: &ReadOptions) -> Result<(ResponseMatrix, Vec<String>)> {
    let mut warnings = Vec::new();
    // Several runs of the same task for the same model (lm-eval appends to the
    // same folder): keep the newest by the timestamp in the file name.
    let mut chosen: HashMap<(String, String), usize> = HashMap::new();
    let places: Vec<LmEvalFile> = files.iter().map(|f| locate(f.name, "model")).collect();
    for (i, place) in places.iter().enumerate() {
        let key = (place.model.clone(), place.task.clone());
        match chosen.get(&key) {
            None => {
                chosen.insert(key, i);
            }
            Some(&j) => {
                let stamp = |k: usize| {
                    let file = files[k].name.rsplit(['/', '\\']).next().unwrap_or("");
                    split_samples_file_name(file).map(|(_, s)| s.to_string())
                };
                let (si, sj) = (stamp(i), stamp(j));
                if si.is_none() || sj.is_none() || si == sj {
                    return Err(Error::input(
                        Location::file(files[i].name),
                        format!("task '{}' of model '{}' is also in {}; put each model's logs in its own folder", place.task, place.model, files[j].name),
                    ));
                }
                let (newer, older) = if si > sj { (i, j) } else { (j, i) };
                warnings.push(format!("{}: an older run of the same task, skipped for {}", files[older].name, files[newer].name));
                chosen.insert(key, newer);
            }
        }
    }
    let mut keep: Vec<usize> = chosen.into_values().collect();
    keep.sort_unstable();

    let mut model_order: Vec<String> = Vec::new();
    let mut item_order: Vec<String> = Vec::new();
    let mut item_index: HashMap<String, usize> = HashMap::new();
    let mut cells: BTreeMap<(usize, usize), (f32, usize, u64)> = BTreeMap::new();
    for &f in &keep {
        let (input, place) = (&files[f], &places[f]);
        let m = match model_order.iter().position(|x| *x == place.model) {
            Some(m) => m,
            None => {
                model_order.push(place.model.clone());
                model_order.len() - 1
            }
        };
        let records = parse_lines(input)?;
        let mut filters: Vec<&str> = Vec::new();
        for r in &records {
            if let Some(f) = r.fields.get("filter").and_then(Value::as_str) {
                if !filters.contains(&f) {
                    filters.push(f);
                }
            }
        }
        let filter = match &options.filter {
            Some(wanted) if filters.contains(&wanted.as_str()) => Some(wanted.as_str()),
            _ => filters.first().copied(),
        };
        if filters.len() > 1 {
            warnings.push(format!("{}: logs filters {}; scored by '{}' (choose with the filter option)", input.name, filters.join(", "), filter.unwrap_or("")));
        }
        let records: Vec<&Record> = records.iter().filter(|r| r.fields.get("filter").and_then(Value::as_str).is_none_or(|f| Some(f) == filter)).collect();
        let metric = metric_for(input, records[0], options.metric.as_deref())?;
        for record in records {
            let at = || Location::line(input.name, record.line);
            let doc_id = record
                .fields
                .get("doc_id")
                .and_then(doc_id_text)
                .ok_or_else(|| Error::input(at(), "no 'doc_id' field: is this an lm-evaluation-harness samples file?"))?;
            let value = match record.fields.get(&metric) {
                None => return Err(Error::input(at(), format!("no '{metric}' field, unlike line {} of this file", records_first_line(input)))),
                Some(v) => {
                    metric_value(v).ok_or_else(|| Error::input(at(), format!("'{metric}' is {}, not a per-sample number", truncate(&v.to_string(), 40))))?
                }
            };
            let score = super::finite_score(value, &value.to_string()).map_err(|msg| Error::input(at(), msg))?.unwrap_or_default();
            check_unit_interval(score, options).map_err(|msg| Error::input(at(), msg))?;
            let item = if place.task.is_empty() { doc_id } else { format!("{}/{}", place.task, doc_id) };
            let i = *item_index.entry(item.clone()).or_insert_with(|| {
                item_order.push(item);
                item_order.len() - 1
            });
            if let Some((_, first_file, first_line)) = cells.get(&(m, i)) {
                return Err(Error::input(
                    at(),
                    format!("doc '{}' appears twice for model '{}' (first at {}, line {first_line})", item_order[i], place.model, files[*first_file].name),
                ));
            }
            cells.insert((m, i), (score, f, record.line));
        }
    }
    check_cells(files[0].name, model_order.len() as u64, item_order.len() as u64, options)?;
    let mut builder = MatrixBuilder::with_models(item_order, model_order);
    for ((m, i), (score, _, _)) in cells {
        builder.set(m, i, score);
    }
    Ok((builder.into_matrix(), warnings))
}

fn records_first_line(input: &Input) -> u64 {
    let text = String::from_utf8_lossy(input.bytes);
    text.lines().position(|l| !l.trim().is_empty()).map_or(1, |p| p as u64 + 1)
}

/// Item ids as lm-evaluation-harness `--samples` takes them: each
/// `<task>/<doc_id>` (how benchsift names the items of its logs) under its
/// task, indices ascending (the harness maps the k-th evaluated document
/// back through the list, so its logs keep the original indices and read
/// back with the same ids). Ids of another form are refused, the first
/// three named.
pub fn lm_eval_samples(ids: &[&str]) -> Result<BTreeMap<String, Vec<u64>>> {
    let mut samples: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut bad = Vec::new();
    for id in ids {
        match id.rsplit_once('/').and_then(|(task, doc)| Some((task, doc.parse::<u64>().ok()?))).filter(|(task, _)| !task.is_empty()) {
            Some((task, doc)) => samples.entry(task.to_string()).or_default().push(doc),
            None => bad.push(format!("'{}'", truncate(id, 40))),
        }
    }
    if !bad.is_empty() {
        return Err(Error::invalid(format!(
            "{} of {} item ids are not lm-evaluation-harness document indices ({}{}): expected <task>/<doc_id>, as benchsift reads samples_*.jsonl logs",
            bad.len(),
            ids.len(),
            bad[..bad.len().min(3)].join(", "),
            if bad.len() > 3 { ", …" } else { "" }
        )));
    }
    for docs in samples.values_mut() {
        docs.sort_unstable();
        docs.dedup();
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_model_and_task() {
        assert_eq!(split_samples_file_name("samples_arc_easy_2024-05-20T12-34-56.123456.jsonl"), Some(("arc_easy", "2024-05-20T12-34-56.123456")));
        assert_eq!(split_samples_file_name("other.jsonl"), None);
        assert_eq!(locate("out/gpt2/samples_hellaswag_2024-01-01T00-00-00.jsonl", "model"), LmEvalFile { model: "gpt2".into(), task: "hellaswag".into() });
        assert_eq!(locate("llama.jsonl", "model"), LmEvalFile { model: "llama".into(), task: String::new() });
    }

    fn read(files: &[(&str, &str)], options: &ReadOptions) -> Result<ResponseMatrix> {
        let inputs: Vec<Input> = files.iter().map(|(n, t)| Input::new(n, t.as_bytes())).collect();
        read_lm_eval(&inputs, options).map(|(m, _)| m)
    }

    #[test]
    fn folders_are_models_and_the_metric_is_chosen() {
        let a = "{\"doc_id\": 0, \"acc\": 1.0, \"acc_norm\": 0.0}\n{\"doc_id\": 1, \"acc\": 0.0, \"acc_norm\": 1.0}\n";
        let b = "{\"doc_id\": 1, \"acc\": 1.0, \"acc_norm\": 1.0}\n";
        let files = [("a/samples_t_2024-01-01T00-00-00.jsonl", a), ("b/samples_t_2024-01-02T00-00-00.jsonl", b)];
        let m = read(&files, &ReadOptions::default()).unwrap();
        assert_eq!(m.model_ids(), ["a", "b"]);
        assert_eq!(m.item_ids(), ["t/0", "t/1"]);
        assert_eq!(m.get(0, 0), Some(1.0));
        assert_eq!(m.get(1, 0), None);
        let norm = read(&files, &ReadOptions { metric: Some("acc_norm".into()), ..Default::default() }).unwrap();
        assert_eq!(norm.get(0, 0), Some(0.0));
    }

    #[test]
    fn bad_lines_are_located() {
        let e = read(&[("m/x.jsonl", "{\"doc_id\": 0, \"acc\": 1}\n{\"doc_id\": 1, \"acc\": \n")], &ReadOptions::default()).unwrap_err();
        assert!(e.to_string().starts_with("m/x.jsonl, line 2: not a JSON object"), "{e}");
        let e = read(&[("m/x.jsonl", "{\"acc\": 1}\n")], &ReadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("no 'doc_id' field"), "{e}");
        let opts = ReadOptions { metric: Some("bleu".into()), ..Default::default() };
        let e = read(&[("m/x.jsonl", "{\"doc_id\": 0, \"acc\": 1}\n")], &opts).unwrap_err();
        assert_eq!(e.to_string(), "m/x.jsonl, line 1: no 'bleu' field (fields here: acc, doc_id)");
        let opts = ReadOptions { metric: Some("acc_norm, acc".into()), ..Default::default() };
        assert!(read(&[("m/x.jsonl", "{\"doc_id\": 0, \"acc\": 1}\n")], &opts).is_ok());
    }
}
