//! Readers for response matrices and their metadata.
//!
//! Every reader takes named bytes (the name is only used in messages and, for
//! lm-evaluation-harness logs, to find the model) so the same code runs on
//! files natively and on `File` objects in the browser. Gzip input is
//! recognised by its magic bytes and decompressed transparently; a UTF-8 BOM
//! is skipped; CRLF line ends and quoted fields are accepted.

mod csv_matrix;
mod embeddings;
mod json_matrix;
mod lm_eval;
mod meta;
mod npy;

use std::borrow::Cow;
use std::io::Read;

use serde::Deserialize;

use crate::error::{Error, Location, Result, truncate};
use crate::matrix::ResponseMatrix;

pub(crate) use csv_matrix::sniff_delimiter;
pub use embeddings::{Embeddings, read_embeddings};
pub use lm_eval::{LmEvalFile, lm_eval_samples, split_samples_file_name};
pub use meta::{TruthFile, read_item_column, read_item_texts, read_items, read_models, read_reference_ranking, read_truth};
pub use npy::read_npy;

/// One input file: its name (a path, or a browser `File.name`) and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(name: &'a str, bytes: &'a [u8]) -> Self {
        Input { name, bytes }
    }
}

/// The layout of a response file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// CSV/TSV, one row per model, first column the model id, header = item ids.
    Wide,
    /// CSV/TSV with one `model,item,score` row per cell.
    Long,
    /// `{"models": [...], "items": [...], "scores": [[...]]}`.
    Json,
    /// lm-evaluation-harness `--log_samples` JSONL files.
    LmEval,
}

impl Format {
    pub fn parse(name: &str) -> Result<Format> {
        match name.to_ascii_lowercase().as_str() {
            "wide" | "csv" | "tsv" => Ok(Format::Wide),
            "long" => Ok(Format::Long),
            "json" => Ok(Format::Json),
            "lm-eval" | "lm_eval" | "lmeval" | "jsonl" => Ok(Format::LmEval),
            other => Err(Error::invalid(format!("unknown format '{}': expected wide, long, json or lm-eval", truncate(other, 20)))),
        }
    }
}

/// Options shared by every response reader.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The layout; detected from names and content when `None`.
    pub format: Option<Format>,
    /// The per-sample field of lm-evaluation-harness logs to score by
    /// (`acc`, `acc_norm`, `exact_match`, …); a sensible one when `None`.
    pub metric: Option<String>,
    /// The lm-evaluation-harness filter to keep when a task logs several.
    pub filter: Option<String>,
    /// Refuse scores outside [0, 1] (what Bernoulli IRT models need).
    pub require_unit_interval: bool,
    /// Refuse matrices with more cells than this, before allocating them.
    pub max_cells: u64,
    /// Refuse inputs (after decompression) larger than this many bytes.
    pub max_bytes: u64,
}

/// 10⁹ cells: 250 MB as a binary matrix, which a browser tab still holds.
pub const DEFAULT_MAX_CELLS: u64 = 1_000_000_000;
/// 2 GiB: wasm32 memory is 4 GiB at most, and a parse needs headroom.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { format: None, metric: None, filter: None, require_unit_interval: false, max_cells: DEFAULT_MAX_CELLS, max_bytes: DEFAULT_MAX_BYTES }
    }
}

/// A response matrix and what the reader had to say about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub matrix: ResponseMatrix,
    pub format: Format,
    pub warnings: Vec<String>,
}

/// Reads a response matrix from one file, or from several lm-evaluation-harness
/// log files. Models and items without any observed score are dropped with a
/// warning.
pub fn read_responses(inputs: &[Input], options: &ReadOptions) -> Result<Loaded> {
    if inputs.is_empty() {
        return Err(Error::invalid("no response file given"));
    }
    let decoded: Vec<(String, Cow<[u8]>)> =
        inputs.iter().map(|input| Ok((strip_gz_suffix(input.name).to_string(), decode(input, options.max_bytes)?))).collect::<Result<_>>()?;
    let format = match options.format {
        Some(f) => f,
        None => detect_format(&decoded)?,
    };
    if format != Format::LmEval && decoded.len() > 1 {
        return Err(Error::invalid(format!("{} response files given; only lm-evaluation-harness logs can be read from several files", decoded.len())));
    }
    let (matrix, mut warnings) = match format {
        Format::Wide => (csv_matrix::read_wide(&decoded[0].0, &decoded[0].1, options)?, Vec::new()),
        Format::Long => (csv_matrix::read_long(&decoded[0].0, &decoded[0].1, options)?, Vec::new()),
        Format::Json => (json_matrix::read_json(&decoded[0].0, &decoded[0].1, options)?, Vec::new()),
        Format::LmEval => {
            let files: Vec<Input> = decoded.iter().map(|(n, b)| Input::new(n, b)).collect();
            lm_eval::read_lm_eval(&files, options)?
        }
    };
    let (matrix, dropped) = matrix.drop_empty();
    warnings.extend(dropped);
    if matrix.n_models() == 0 || matrix.n_items() == 0 {
        return Err(Error::invalid(format!("{}: no observed score in the whole matrix", decoded[0].0)));
    }
    Ok(Loaded { matrix, format, warnings })
}

fn strip_gz_suffix(name: &str) -> &str {
    name.strip_suffix(".gz").unwrap_or(name)
}

/// Gunzips (when the bytes are gzip) and strips a UTF-8 byte-order mark.
pub(crate) fn decode<'a>(input: &Input<'a>, max_bytes: u64) -> Result<Cow<'a, [u8]>> {
    let bytes = input.bytes;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(input.name, bytes.len() as u64, max_bytes));
    }
    let data: Cow<[u8]> = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(max_bytes as usize));
        let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(max_bytes + 1);
        decoder.read_to_end(&mut out).map_err(|e| Error::input(Location::file(input.name), format!("cannot decompress gzip data: {e}")))?;
        if out.len() as u64 > max_bytes {
            return Err(too_large(input.name, out.len() as u64, max_bytes));
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    };
    Ok(match data {
        Cow::Borrowed(b) => Cow::Borrowed(b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)),
        Cow::Owned(mut v) => {
            if v.starts_with(b"\xEF\xBB\xBF") {
                v.drain(..3);
            }
            Cow::Owned(v)
        }
    })
}

fn too_large(name: &str, size: u64, limit: u64) -> Error {
    Error::input(Location::file(name), format!("the input is {} MB, more than the {} MB limit", size >> 20, limit >> 20))
}

fn detect_format(files: &[(String, Cow<[u8]>)]) -> Result<Format> {
    if files.iter().any(|(name, _)| name.ends_with(".jsonl")) {
        return Ok(Format::LmEval);
    }
    let (name, bytes) = &files[0];
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Err(Error::input(Location::file(name), "the file is empty")),
        Some(b'{') if name.ends_with(".json") || files.len() == 1 => {
            // A JSONL log starts with '{' too; a JSON matrix is one object.
            if looks_like_jsonl(bytes) { Ok(Format::LmEval) } else { Ok(Format::Json) }
        }
        Some(b'{') => Ok(Format::LmEval),
        Some(_) => {
            let delimiter = csv_matrix::sniff_delimiter(name, bytes);
            if csv_matrix::is_long_header(bytes, delimiter) { Ok(Format::Long) } else { Ok(Format::Wide) }
        }
    }
}

fn looks_like_jsonl(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(1 << 16)]);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    match (lines.next(), lines.next()) {
        (Some(a), Some(b)) => a.trim_start().starts_with('{') && a.trim_end().ends_with('}') && b.trim_start().starts_with('{') && a.contains("\"doc_id\""),
        _ => false,
    }
}

/// Why a cell is not a score, or the score (`None` = missing).
pub(crate) fn parse_score(field: &[u8]) -> std::result::Result<Option<f32>, String> {
    // A binary matrix's cells, without UTF-8 checks and float parsing: most
    // of the time of reading a 6,000 × 30,000 wide CSV went there.
    match field {
        b"0" => return Ok(Some(0.0)),
        b"1" => return Ok(Some(1.0)),
        b"" => return Ok(None),
        _ => {}
    }
    let text = match std::str::from_utf8(field) {
        Ok(t) => t.trim(),
        Err(_) => return Err("the cell is not UTF-8 text".into()),
    };
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(v) = text.parse::<f64>() {
        return finite_score(v, text);
    }
    match text.to_ascii_lowercase().as_str() {
        "na" | "n/a" | "null" | "none" => Ok(None),
        "true" => Ok(Some(1.0)),
        "false" => Ok(Some(0.0)),
        _ => Err(format!("'{}' is not a number", truncate(text, 30))),
    }
}

pub(crate) fn finite_score(v: f64, text: &str) -> std::result::Result<Option<f32>, String> {
    if !v.is_finite() || (v as f32).is_infinite() {
        return Err(format!("'{}' is not a usable score (leave the cell empty for a missing score)", truncate(text, 30)));
    }
    Ok(Some(v as f32))
}

pub(crate) fn check_unit_interval(v: f32, options: &ReadOptions) -> std::result::Result<(), String> {
    if options.require_unit_interval && !(0.0..=1.0).contains(&v) {
        return Err(format!("score {v} is outside [0, 1], which a binary (Bernoulli) model requires; rescale it or use a continuous model"));
    }
    Ok(())
}

pub(crate) fn check_cells(name: &str, models: u64, items: u64, options: &ReadOptions) -> Result<()> {
    let cells = models.saturating_mul(items);
    if cells > options.max_cells {
        return Err(Error::input(
            Location::file(name),
            format!("{models} models × {items} items = {cells} cells, more than the limit of {} cells", options.max_cells),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_and_bad_cells_say_why() {
        assert_eq!(parse_score(b" 0.5 "), Ok(Some(0.5)));
        assert_eq!(parse_score(b""), Ok(None));
        assert_eq!(parse_score(b"NA"), Ok(None));
        assert_eq!(parse_score(b"TRUE"), Ok(Some(1.0)));
        assert!(parse_score(b"abc").unwrap_err().contains("'abc' is not a number"));
        assert!(parse_score(b"NaN").unwrap_err().contains("not a usable score"));
        assert!(parse_score(b"-inf").unwrap_err().contains("not a usable score"));
        assert!(parse_score(b"1e300").unwrap_err().contains("not a usable score"));
    }

    #[test]
    fn gzip_is_decompressed_transparently() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"model,q1\na,1\n").unwrap();
        let gz = enc.finish().unwrap();
        let loaded = read_responses(&[Input::new("r.csv.gz", &gz)], &ReadOptions::default()).unwrap();
        assert_eq!(loaded.matrix.item_ids(), ["q1"]);
    }

    #[test]
    fn a_gzip_bomb_is_refused_by_the_size_limit() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'0'; 10 << 20]).unwrap();
        let gz = enc.finish().unwrap();
        let options = ReadOptions { max_bytes: 1 << 20, ..Default::default() };
        let err = read_responses(&[Input::new("bomb.csv.gz", &gz)], &options).unwrap_err();
        assert!(err.to_string().contains("more than the 1 MB limit"), "{err}");
    }
}
