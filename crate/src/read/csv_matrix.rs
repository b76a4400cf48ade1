//! Wide (one row per model) and long (`model,item,score`) CSV/TSV matrices.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::error::{Error, Location, Result, truncate};
use crate::matrix::{MatrixBuilder, ResponseMatrix};

use super::{ReadOptions, check_cells, check_unit_interval, parse_score};

/// Tab for `.tsv`/`.tab` names or a first line with tabs and no commas, else comma.
pub(crate) fn sniff_delimiter(name: &str, bytes: &[u8]) -> u8 {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tsv") || lower.ends_with(".tab") {
        return b'\t';
    }
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let tabs = first_line.iter().filter(|&&b| b == b'\t').count();
    let commas = first_line.iter().filter(|&&b| b == b',').count();
    if tabs > 0 && commas == 0 { b'\t' } else { b',' }
}

const MODEL_NAMES: &[&str] = &["model", "model_id", "model_name", "system", "llm"];
const ITEM_NAMES: &[&str] = &["item", "item_id", "question", "question_id", "doc_id", "segment", "segment_id"];
const SCORE_NAMES: &[&str] = &["score", "correct", "value", "acc", "accuracy", "result", "label"];

fn find_column(header: &csv::ByteRecord, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|want| header.iter().position(|h| std::str::from_utf8(h).is_ok_and(|h| h.trim().eq_ignore_ascii_case(want))))
}

fn long_columns(header: &csv::ByteRecord) -> Option<(usize, usize, usize)> {
    Some((find_column(header, MODEL_NAMES)?, find_column(header, ITEM_NAMES)?, find_column(header, SCORE_NAMES)?))
}

/// A long file has model, item and score columns by name; a wide file's
/// header is the model column followed by item ids.
pub(crate) fn is_long_header(bytes: &[u8], delimiter: u8) -> bool {
    let mut reader = reader(bytes, delimiter);
    let mut header = csv::ByteRecord::new();
    match reader.read_byte_record(&mut header) {
        Ok(true) => long_columns(&header).is_some() && header.len() <= 16,
        _ => false,
    }
}

fn reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(bytes)
}

fn line_of(record: &csv::ByteRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

fn csv_error(name: &str, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    let at = match line {
        Some(l) => Location::line(name, l),
        None => Location::file(name),
    };
    Error::input(at, format!("cannot read CSV: {e}"))
}

fn utf8<'a>(name: &str, line: u64, column: usize, field: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(field).map(str::trim).map_err(|_| Error::input(Location::cell(name, line, column as u64 + 1, ""), "not UTF-8 text"))
}

pub(crate) fn read_wide(name: &str, bytes: &[u8], options: &ReadOptions) -> Result<ResponseMatrix> {
    let delimiter = sniff_delimiter(name, bytes);
    let mut reader = reader(bytes, delimiter);
    let mut header = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut header).map_err(|e| csv_error(name, e))? {
        return Err(Error::input(Location::file(name), "the file is empty"));
    }
    let header_line = line_of(&header);
    if header.len() < 2 {
        return Err(Error::input(
            Location::line(name, header_line),
            format!(
                "the header has no item columns (expected the model column, then one column per item{})",
                if delimiter == b',' { ", separated by commas" } else { ", separated by tabs" }
            ),
        ));
    }
    let mut item_ids = Vec::with_capacity(header.len() - 1);
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(header.len());
    for (c, field) in header.iter().enumerate().skip(1) {
        let id = utf8(name, header_line, c, field)?;
        if id.is_empty() {
            return Err(Error::input(Location::cell(name, header_line, c as u64 + 1, ""), "empty item id in the header"));
        }
        if let Some(first) = seen.insert(id, c) {
            return Err(Error::input(
                Location::cell(name, header_line, c as u64 + 1, id),
                format!("duplicate item id '{}' (also column {})", truncate(id, 40), first + 1),
            ));
        }
        item_ids.push(id.to_string());
    }
    check_cells(name, 1, item_ids.len() as u64, options)?;
    let n_items = item_ids.len();
    let mut builder = MatrixBuilder::new(item_ids);
    let mut model_lines: HashMap<String, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut values: Vec<Option<f32>> = vec![None; n_items];
    let (mut observed, mut correct) = (vec![0u64; n_items.div_ceil(64)], vec![0u64; n_items.div_ceil(64)]);
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(name, e))? {
        let line = line_of(&record);
        if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
            continue; // a blank line, e.g. at the end of the file
        }
        if record.len() != n_items + 1 {
            return Err(Error::input(Location::line(name, line), format!("the row has {} fields but the header has {}", record.len(), n_items + 1)));
        }
        let model = utf8(name, line, 0, &record[0])?;
        if model.is_empty() {
            return Err(Error::input(Location::cell(name, line, 1, ""), "empty model id"));
        }
        match model_lines.entry(model.to_string()) {
            Entry::Occupied(first) => {
                return Err(Error::input(
                    Location::cell(name, line, 1, model),
                    format!("duplicate model id '{}' (also on line {})", truncate(model, 40), first.get()),
                ));
            }
            Entry::Vacant(slot) => {
                slot.insert(line);
            }
        }
        check_cells(name, builder.n_models() as u64 + 1, n_items as u64, options)?;
        if binary_row_bits(&record, &mut observed, &mut correct) && builder.push_bits_row(model.to_string(), &observed, &correct) {
            continue;
        }
        for (c, (slot, field)) in values.iter_mut().zip(record.iter().skip(1)).enumerate() {
            let at = |message: String| Error::input(Location::cell(name, line, c as u64 + 2, &builder_item(&header, c + 1)), message);
            *slot = parse_score(field).map_err(at)?;
            if let Some(v) = *slot {
                check_unit_interval(v, options).map_err(at)?;
            }
        }
        builder.push_row_unchecked(model.to_string(), &values);
    }
    if builder.n_models() == 0 {
        return Err(Error::input(Location::file(name), "no model rows after the header"));
    }
    Ok(builder.into_matrix())
}

/// A row's cells as bitsets when every one is exactly `0`, `1` or empty
/// (the cells after the model id); `false` at the first other cell, which
/// the general path then parses, checks and locates if it is wrong.
fn binary_row_bits(record: &csv::ByteRecord, observed: &mut [u64], correct: &mut [u64]) -> bool {
    observed.fill(0);
    correct.fill(0);
    for (c, field) in record.iter().skip(1).enumerate() {
        let (seen, right) = match field {
            b"1" => (1u64, 1u64),
            b"0" => (1, 0),
            b"" => (0, 0),
            _ => return false,
        };
        observed[c / 64] |= seen << (c % 64);
        correct[c / 64] |= right << (c % 64);
    }
    true
}

fn builder_item(header: &csv::ByteRecord, column: usize) -> String {
    String::from_utf8_lossy(&header[column]).trim().to_string()
}

pub(crate) fn read_long(name: &str, bytes: &[u8], options: &ReadOptions) -> Result<ResponseMatrix> {
    let delimiter = sniff_delimiter(name, bytes);
    let mut reader = reader(bytes, delimiter);
    let mut header = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut header).map_err(|e| csv_error(name, e))? {
        return Err(Error::input(Location::file(name), "the file is empty"));
    }
    let (mc, ic, sc) = long_columns(&header).ok_or_else(|| {
        Error::input(Location::line(name, line_of(&header)), "a long file needs model, item and score columns (e.g. a header 'model,item,score')")
    })?;
    let score_name = builder_item(&header, sc);
    let mut models: HashMap<String, u32> = HashMap::new();
    let mut items: HashMap<String, u32> = HashMap::new();
    let mut model_ids = Vec::new();
    let mut item_ids = Vec::new();
    let mut cells: Vec<(u32, u32, f32, u64)> = Vec::new();
    let mut record = csv::ByteRecord::new();
    let width = header.len();
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(name, e))? {
        let line = line_of(&record);
        if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if record.len() != width {
            return Err(Error::input(Location::line(name, line), format!("the row has {} fields but the header has {}", record.len(), width)));
        }
        let model = utf8(name, line, mc, &record[mc])?;
        let item = utf8(name, line, ic, &record[ic])?;
        if model.is_empty() {
            return Err(Error::input(Location::cell(name, line, mc as u64 + 1, "model"), "empty model id"));
        }
        if item.is_empty() {
            return Err(Error::input(Location::cell(name, line, ic as u64 + 1, "item"), "empty item id"));
        }
        let at = |message: String| Error::input(Location::cell(name, line, sc as u64 + 1, &score_name), message);
        let score = parse_score(&record[sc]).map_err(at)?;
        let m = *models.entry(model.to_string()).or_insert_with(|| {
            model_ids.push(model.to_string());
            model_ids.len() as u32 - 1
        });
        let i = *items.entry(item.to_string()).or_insert_with(|| {
            item_ids.push(item.to_string());
            item_ids.len() as u32 - 1
        });
        if let Some(v) = score {
            check_unit_interval(v, options).map_err(at)?;
            cells.push((m, i, v, line));
        }
        // Refuse early: a long file can describe a huge sparse matrix.
        if cells.len() % 4096 == 0 {
            let (models, items) = (model_ids.len() as u64, item_ids.len() as u64);
            if models.saturating_mul(items) > options.max_cells {
                return Err(Error::input(
                    Location::line(name, line),
                    format!(
                        "by this line the file already names {models} models × {items} items = {} cells, more than the limit of {} cells",
                        models.saturating_mul(items),
                        options.max_cells
                    ),
                ));
            }
        }
    }
    if model_ids.is_empty() {
        return Err(Error::input(Location::file(name), "no rows after the header"));
    }
    check_cells(name, model_ids.len() as u64, item_ids.len() as u64, options)?;
    let mut builder = MatrixBuilder::with_models(item_ids, model_ids);
    for &(m, i, v, line) in &cells {
        if builder.is_set(m as usize, i as usize) {
            let first = cells.iter().find(|c| c.0 == m && c.1 == i).map_or(0, |c| c.3);
            return Err(Error::input(Location::line(name, line), format!("a second score for the same model and item (first on line {first})")));
        }
        builder.set(m as usize, i as usize, v);
    }
    Ok(builder.into_matrix())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(text: &str) -> Result<ResponseMatrix> {
        read_wide("r.csv", text.as_bytes(), &ReadOptions::default())
    }

    fn long(text: &str) -> Result<ResponseMatrix> {
        read_long("r.csv", text.as_bytes(), &ReadOptions::default())
    }

    fn err(r: Result<ResponseMatrix>) -> String {
        r.expect_err("expected an error").to_string()
    }

    #[test]
    fn wide_reads_ids_scores_and_missing_cells() {
        let m = wide("model,q1,q2,q3\nA,1,0,\nB,0,1,1\n").unwrap();
        assert_eq!(m.model_ids(), ["A", "B"]);
        assert_eq!(m.item_ids(), ["q1", "q2", "q3"]);
        assert_eq!(m.get(0, 2), None);
        assert_eq!(m.get(1, 2), Some(1.0));
    }

    #[test]
    fn wide_accepts_crlf_quotes_with_commas_and_newlines_and_tabs() {
        let m = wide("model,\"q,1\",\"q\n2\"\r\n\"A, the model\",1,0\r\n").unwrap();
        assert_eq!(m.item_ids(), ["q,1", "q\n2"]);
        assert_eq!(m.model_ids(), ["A, the model"]);
        let t = read_wide("r.tsv", b"model\tq1\tq2\nA\t0.5\t1\n", &ReadOptions::default()).unwrap();
        assert_eq!(t.get(0, 0), Some(0.5));
    }

    #[test]
    fn rows_of_plain_0_1_and_empty_cells_read_as_the_general_path_would() {
        // 70 items: two bitset words. Rows 1, 2 and 4 take the bitset fast
        // path; row 3 (" 1", "NA", "true") the general one; row 5 has a 0.5,
        // which makes the matrix continuous after fast rows were pushed.
        let items = 70;
        let header = format!("model,{}\n", (0..items).map(|i| format!("q{i}")).collect::<Vec<_>>().join(","));
        let row = |name: &str, cell: &dyn Fn(usize) -> String| format!("{name},{}\n", (0..items).map(cell).collect::<Vec<_>>().join(","));
        let rows = [
            row("A", &|i| ["1", "0", ""][i % 3].to_string()),
            row("B", &|i| if i == 69 { "1".into() } else { "0".into() }),
            row("C", &|i| [" 1", "NA", "true", "0"][i % 4].to_string()),
            row("D", &|_| String::new()),
        ];
        let expected = |model: usize, i: usize| -> Option<f32> {
            match model {
                0 => [Some(1.0), Some(0.0), None][i % 3],
                1 => Some(if i == 69 { 1.0 } else { 0.0 }),
                2 => [Some(1.0), None, Some(1.0), Some(0.0)][i % 4],
                _ => None,
            }
        };
        let binary = wide(&format!("{header}{}", rows.concat())).unwrap();
        assert_eq!(binary.kind(), crate::matrix::Kind::Binary);
        let continuous = wide(&format!("{header}{}{}", rows.concat(), row("E", &|i| if i == 5 { "0.5".into() } else { "1".into() }))).unwrap();
        assert_eq!(continuous.kind(), crate::matrix::Kind::Continuous);
        for m in [&binary, &continuous] {
            for model in 0..4 {
                for i in 0..items {
                    assert_eq!(m.get(model, i), expected(model, i), "model {model} item {i}");
                }
            }
        }
        assert_eq!(continuous.get(4, 5), Some(0.5));
        assert_eq!(continuous.get(4, 6), Some(1.0));
        // A bad cell after fast rows is still located.
        assert_eq!(err(wide("model,q1,q2\nA,1,0\nB,1,yes\n")), "r.csv, line 3, column 3 (q2): 'yes' is not a number");
    }

    #[test]
    fn ragged_rows_name_the_line() {
        assert_eq!(err(wide("model,q1,q2\nA,1,0\nB,1\n")), "r.csv, line 3: the row has 2 fields but the header has 3");
    }

    #[test]
    fn a_non_numeric_cell_names_line_column_and_item() {
        assert_eq!(err(wide("model,q1,q2\nA,1,0\nB,1,yes\n")), "r.csv, line 3, column 3 (q2): 'yes' is not a number");
    }

    #[test]
    fn nan_and_inf_are_refused_with_their_cell() {
        let e = err(wide("model,q1,q2\nA,NaN,0\n"));
        assert!(e.starts_with("r.csv, line 2, column 2 (q1): 'NaN' is not a usable score"), "{e}");
        let e = err(wide("model,q1,q2\nA,1,inf\n"));
        assert!(e.starts_with("r.csv, line 2, column 3 (q2): 'inf'"), "{e}");
    }

    #[test]
    fn duplicate_ids_name_both_places() {
        assert_eq!(err(wide("model,q1,q2,q1\nA,1,0,1\n")), "r.csv, line 1, column 4 (q1): duplicate item id 'q1' (also column 2)");
        assert_eq!(err(wide("model,q1\nA,1\nB,0\nA,1\n")), "r.csv, line 4, column 1 (A): duplicate model id 'A' (also on line 2)");
    }

    #[test]
    fn empty_and_header_only_files_say_so() {
        assert_eq!(err(wide("")), "r.csv: the file is empty");
        assert_eq!(err(wide("model,q1,q2\n")), "r.csv: no model rows after the header");
        assert!(err(wide("model\nA\n")).contains("the header has no item columns"));
    }

    #[test]
    fn out_of_unit_interval_is_refused_only_when_required() {
        let options = ReadOptions { require_unit_interval: true, ..Default::default() };
        let e = read_wide("r.csv", b"model,q1,q2\nA,1,3.5\n", &options).unwrap_err().to_string();
        assert!(e.starts_with("r.csv, line 2, column 3 (q2): score 3.5 is outside [0, 1]"), "{e}");
        assert!(wide("model,q1,q2\nA,1,3.5\n").is_ok());
    }

    #[test]
    fn absurd_sizes_are_refused_before_allocating() {
        let options = ReadOptions { max_cells: 10, ..Default::default() };
        let header: String = (0..11).map(|i| format!(",q{i}")).collect();
        let e = read_wide("r.csv", format!("model{header}\n").as_bytes(), &options).unwrap_err().to_string();
        assert!(e.contains("more than the limit of 10 cells"), "{e}");
    }

    #[test]
    fn long_reads_extra_columns_and_any_order() {
        let m = long("item,model,score,extra\nq1,A,1,x\nq2,A,0,y\nq1,B,0.5,z\n").unwrap();
        assert_eq!(m.model_ids(), ["A", "B"]);
        assert_eq!(m.item_ids(), ["q1", "q2"]);
        assert_eq!(m.get(1, 0), Some(0.5));
        assert_eq!(m.get(1, 1), None);
    }

    #[test]
    fn long_errors_name_the_line() {
        assert_eq!(err(long("model,item,score\nA,q1,1\nA,q1,0\n")), "r.csv, line 3: a second score for the same model and item (first on line 2)");
        assert_eq!(err(long("model,item,score\nA,q1,x\n")), "r.csv, line 2, column 3 (score): 'x' is not a number");
        assert!(err(long("model,question\nA,q1\n")).contains("needs model, item and score columns"));
    }

    #[test]
    fn long_refuses_a_huge_sparse_matrix() {
        let mut text = String::from("model,item,score\n");
        for i in 0..200 {
            text.push_str(&format!("m{i},q{i},1\n"));
        }
        let options = ReadOptions { max_cells: 1000, ..Default::default() };
        let e = read_long("r.csv", text.as_bytes(), &options).unwrap_err().to_string();
        assert!(e.contains("200 models × 200 items"), "{e}");
    }
}
