//! Item metadata (`item_id,text,subject|task|group,cost`) and model metadata
//! (`model,release_date`) CSVs, attached to an already-read matrix by id.

use std::collections::HashMap;

use crate::error::{Error, Location, Result, truncate};
use crate::matrix::{ItemMeta, ModelMeta, ResponseMatrix, list_preview};

use super::csv_matrix::sniff_delimiter;
use super::{Input, decode};

struct Table {
    name: String,
    header: Vec<String>,
    /// (line, fields)
    rows: Vec<(u64, Vec<String>)>,
}

fn read_table(input: &Input, max_bytes: u64) -> Result<Table> {
    let name = input.name.strip_suffix(".gz").unwrap_or(input.name).to_string();
    let bytes = decode(input, max_bytes)?;
    let mut reader = csv::ReaderBuilder::new().delimiter(sniff_delimiter(&name, &bytes)).has_headers(false).flexible(true).from_reader(&bytes[..]);
    let mut records = reader.records();
    let to_error = |e: csv::Error| {
        let at = e.position().map_or_else(|| Location::file(&name), |p| Location::line(&name, p.line()));
        let message = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
            _ => format!("cannot read CSV: {e}"),
        };
        Error::input(at, message)
    };
    let header = match records.next() {
        None => return Err(Error::input(Location::file(&name), "the file is empty")),
        Some(r) => r.map_err(to_error)?.iter().map(|h| h.trim().to_string()).collect::<Vec<_>>(),
    };
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(to_error)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if record.len() != header.len() {
            return Err(Error::input(Location::line(&name, line), format!("the row has {} fields but the header has {}", record.len(), header.len())));
        }
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(Table { name, header, rows })
}

impl Table {
    fn column(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|want| self.header.iter().position(|h| h.eq_ignore_ascii_case(want)))
    }

    /// The id column by name, else the first column; rows keyed by id, with
    /// duplicates refused.
    fn ids(&self, names: &[&str]) -> Result<(usize, HashMap<&str, usize>)> {
        let col = self.column(names).unwrap_or(0);
        let mut index = HashMap::with_capacity(self.rows.len());
        for (r, (line, fields)) in self.rows.iter().enumerate() {
            let id = fields[col].trim();
            let at = Location::cell(&self.name, *line, col as u64 + 1, &self.header[col]);
            if id.is_empty() {
                return Err(Error::input(at, "empty id"));
            }
            if let Some(first) = index.insert(id, r) {
                return Err(Error::input(at, format!("duplicate id '{}' (also on line {})", truncate(id, 40), self.rows[first].0)));
            }
        }
        Ok((col, index))
    }
}

fn unmatched_warning(table: &Table, what: &str, index: &HashMap<&str, usize>, known: &[String]) -> Option<String> {
    let known: std::collections::HashSet<&str> = known.iter().map(String::as_str).collect();
    let mut unknown: Vec<(usize, &str)> = index.iter().filter(|(id, _)| !known.contains(*id)).map(|(id, r)| (*r, *id)).collect();
    unknown.sort_unstable();
    let names: Vec<&str> = unknown.iter().map(|(_, id)| *id).collect();
    (!names.is_empty()).then(|| format!("{}: {} {what} id(s) not in the responses were ignored: {}", table.name, names.len(), list_preview(&names)))
}

/// Reads an items CSV and attaches text, group and cost to `matrix`'s items.
/// Returns warnings (ids that match no item).
pub fn read_items(input: &Input, matrix: &mut ResponseMatrix, max_bytes: u64) -> Result<Vec<String>> {
    let table = read_table(input, max_bytes)?;
    let (_, index) = table.ids(&["item_id", "item", "id", "question_id", "doc_id"])?;
    let text_col = table.column(&["text", "question", "prompt", "input", "source_text"]);
    // Tasks (benchmarks) are the top level where there are both: a
    // leaderboard's items are grouped by benchmark, and MMLU's also by subject.
    let task_col = table.column(&["task", "benchmark", "group"]);
    let subject_col = table.column(&["subject", "category", "domain"]);
    let (group_col, subgroup_col) = match task_col {
        Some(t) => (Some(t), subject_col),
        None => (subject_col, None),
    };
    let cost_col = table.column(&["cost"]);
    let mut meta = ItemMeta::default();
    let row_of: Vec<Option<usize>> = matrix.item_ids().iter().map(|id| index.get(id.as_str()).copied()).collect();
    let field = |col: Option<usize>| -> Vec<Option<String>> {
        match col {
            None => Vec::new(),
            Some(c) => row_of.iter().map(|r| r.map(|r| table.rows[r].1[c].clone()).filter(|s| !s.trim().is_empty())).collect(),
        }
    };
    meta.text = field(text_col);
    meta.group = field(group_col).into_iter().map(|g| g.map(|g| g.trim().to_string())).collect();
    meta.subgroup = field(subgroup_col).into_iter().map(|g| g.map(|g| g.trim().to_string())).collect();
    if let Some(c) = cost_col {
        meta.cost = row_of
            .iter()
            .map(|r| {
                let Some(r) = *r else { return Ok(None) };
                let (line, fields) = &table.rows[r];
                let text = fields[c].trim();
                if text.is_empty() {
                    return Ok(None);
                }
                let at = || Location::cell(&table.name, *line, c as u64 + 1, &table.header[c]);
                match text.parse::<f64>() {
                    Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
                    Ok(_) => Err(Error::input(at(), format!("cost '{}' must be a finite number ≥ 0", truncate(text, 30)))),
                    Err(_) => Err(Error::input(at(), format!("'{}' is not a number", truncate(text, 30)))),
                }
            })
            .collect::<Result<_>>()?;
    }
    let warnings = unmatched_warning(&table, "item", &index, matrix.item_ids()).into_iter().collect();
    matrix.set_item_meta(meta)?;
    Ok(warnings)
}

/// Reads a models CSV (`model`, and a release date column such as
/// `release_date`, `date` or `release`) and attaches the dates to `matrix`.
pub fn read_models(input: &Input, matrix: &mut ResponseMatrix, max_bytes: u64) -> Result<Vec<String>> {
    let table = read_table(input, max_bytes)?;
    let (_, index) = table.ids(&["model", "model_id", "id", "name", "system"])?;
    let mut meta = ModelMeta::default();
    if let Some(c) = table.column(&["release_date", "date", "release", "released", "release date"]) {
        meta.date = matrix
            .model_ids()
            .iter()
            .map(|id| {
                let Some(&r) = index.get(id.as_str()) else { return Ok(None) };
                let (line, fields) = &table.rows[r];
                let text = fields[c].trim();
                if text.is_empty() {
                    return Ok(None);
                }
                parse_date(text).map(Some).ok_or_else(|| {
                    Error::input(
                        Location::cell(&table.name, *line, c as u64 + 1, &table.header[c]),
                        format!("'{}' is not a date (expected YYYY-MM-DD, YYYY/M/D or YYYY-MM)", truncate(text, 30)),
                    )
                })
            })
            .collect::<Result<_>>()?;
    }
    let warnings = unmatched_warning(&table, "model", &index, matrix.model_ids()).into_iter().collect();
    matrix.set_model_meta(meta)?;
    Ok(warnings)
}

/// Item ids and texts of an items CSV in file order (texts empty where
/// absent), for similarity search without a response matrix.
pub fn read_item_texts(input: &Input, max_bytes: u64) -> Result<(Vec<String>, Vec<String>)> {
    let table = read_table(input, max_bytes)?;
    let (id_col, _) = table.ids(&["item_id", "item", "id", "question_id", "doc_id"])?;
    let text_col = table.column(&["text", "question", "prompt", "input", "source_text"]);
    Ok(table.rows.iter().map(|(_, f)| (f[id_col].trim().to_string(), text_col.map_or(String::new(), |c| f[c].clone()))).unzip())
}

/// Item ids in file order and one value per id.
pub type ItemColumn = (Vec<String>, Vec<Option<f64>>);

/// One numeric column of an items CSV (the first header of `names` present,
/// case-insensitive), keyed by item id in file order; `None` when the file has
/// no such column. Empty cells are `None`; anything else must be a finite number.
pub fn read_item_column(input: &Input, names: &[&str], max_bytes: u64) -> Result<Option<ItemColumn>> {
    let table = read_table(input, max_bytes)?;
    let (id_col, _) = table.ids(&["item_id", "item", "id", "question_id", "doc_id"])?;
    let Some(col) = table.column(names) else { return Ok(None) };
    let mut ids = Vec::with_capacity(table.rows.len());
    let mut values = Vec::with_capacity(table.rows.len());
    for (line, fields) in &table.rows {
        ids.push(fields[id_col].trim().to_string());
        let text = fields[col].trim();
        if text.is_empty() || ["na", "nan", "null", "none"].contains(&text.to_ascii_lowercase().as_str()) {
            values.push(None);
            continue;
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => values.push(Some(v)),
            _ => {
                return Err(Error::input(
                    Location::cell(&table.name, *line, col as u64 + 1, &table.header[col]),
                    format!("'{}' is not a number", truncate(text, 30)),
                ));
            }
        }
    }
    Ok(Some((ids, values)))
}

/// A reference ranking of models (`model,score` or `model,rank`): one value
/// per model of `model_ids` (None where the file does not list it), oriented
/// so that higher is better (ranks are negated).
pub fn read_reference_ranking(input: &Input, model_ids: &[String], max_bytes: u64) -> Result<Vec<Option<f64>>> {
    let table = read_table(input, max_bytes)?;
    let (_, index) = table.ids(&["model", "model_id", "id", "name", "system"])?;
    let (col, sign) = match table.column(&["rank", "ranking", "position"]) {
        Some(c) => (c, -1.0),
        None => (
            table
                .column(&["score", "elo", "rating", "arena_score", "value", "mean"])
                .or_else(|| (table.header.len() >= 2).then_some(1))
                .ok_or_else(|| Error::input(Location::line(&table.name, 1), "expected a header 'model,score' or 'model,rank'"))?,
            1.0,
        ),
    };
    model_ids
        .iter()
        .map(|id| {
            let Some(&r) = index.get(id.as_str()) else { return Ok(None) };
            let (line, fields) = &table.rows[r];
            let text = fields[col].trim();
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(sign * v)),
                _ => Err(Error::input(
                    Location::cell(&table.name, *line, col as u64 + 1, &table.header[col]),
                    format!("'{}' is not a number", truncate(text, 30)),
                )),
            }
        })
        .collect()
}

/// True full-benchmark scores as a file gave them: one column (`model,score`)
/// or one per task (`model,arc,gsm8k,…`, whose mean is the composite).
#[derive(Debug, Clone, PartialEq)]
pub struct TruthFile {
    /// The file's name, for messages.
    pub name: String,
    /// The score columns: one (the composite) or one per task.
    pub columns: Vec<String>,
    /// Per model of the matrix, its score in every column; `None` when the
    /// file has no row for it or leaves a cell empty (`NA` and `nan` too).
    pub rows: Vec<Option<Vec<f64>>>,
}

/// Reads true full scores for the models of `matrix`, for matrices that
/// hold only part of a benchmark (or of a leaderboard's benchmarks). A
/// column named `score`, `truth`, `true_score`, `accuracy`, `mean` or
/// `value` is the composite; else, where two columns or more are named as
/// tasks of the matrix's items (their top-level groups: an items file's
/// `task` column), those columns are the tasks; else the column after the
/// id is the composite (so `model,acc,stderr` reads `acc`, not the mean of
/// the two). Text that is not a number is refused with its cell.
pub fn read_truth(input: &Input, matrix: &ResponseMatrix, max_bytes: u64) -> Result<TruthFile> {
    let table = read_table(input, max_bytes)?;
    let (id_col, index) = table.ids(&["model", "model_id", "id", "name", "system"])?;
    let groups: std::collections::HashSet<&str> = matrix.items().group.iter().flatten().map(String::as_str).collect();
    let tasks: Vec<usize> = (0..table.header.len()).filter(|&c| c != id_col && groups.contains(table.header[c].trim())).collect();
    let columns: Vec<usize> = match table.column(&["score", "truth", "true_score", "accuracy", "mean", "value"]) {
        Some(c) => vec![c],
        None if tasks.len() >= 2 => tasks,
        None => (0..table.header.len()).filter(|&c| c != id_col).take(1).collect(),
    };
    if columns.is_empty() {
        return Err(Error::input(Location::line(&table.name, 1), "expected a header 'model,score' (or 'model,<task>,<task>,…' naming the items file's tasks)"));
    }
    let rows = matrix
        .model_ids()
        .iter()
        .map(|id| {
            let Some(&r) = index.get(id.as_str()) else { return Ok(None) };
            let (line, fields) = &table.rows[r];
            let mut values = Vec::with_capacity(columns.len());
            for &col in &columns {
                let text = fields.get(col).map_or("", |f| f.trim());
                if text.is_empty() || text.eq_ignore_ascii_case("na") || text.eq_ignore_ascii_case("nan") {
                    return Ok(None);
                }
                match text.parse::<f64>() {
                    Ok(v) if v.is_finite() => values.push(v),
                    _ => {
                        return Err(Error::input(
                            Location::cell(&table.name, *line, col as u64 + 1, &table.header[col]),
                            format!("'{}' is not a number", truncate(text, 30)),
                        ));
                    }
                }
            }
            Ok(Some(values))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TruthFile { name: table.name.clone(), columns: columns.iter().map(|&c| table.header[c].trim().to_string()).collect(), rows })
}

/// `2023-8-30`, `2023/08/30`, `2023-08` and `2023` → `2023-08-30`,
/// `2023-08-01`, `2023-01-01`; anything after a `T` or space (a time) is ignored.
pub(crate) fn parse_date(text: &str) -> Option<String> {
    let date = text.split(['T', ' ']).next()?;
    let parts: Vec<&str> = date.split(['-', '/', '.']).collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let year: u32 = parts[0].parse().ok()?;
    let month: u32 = parts.get(1).map_or(Some(1), |p| p.parse().ok())?;
    let day: u32 = parts.get(2).map_or(Some(1), |p| p.parse().ok())?;
    if parts[0].len() != 4 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{ReadOptions, read_responses};

    fn matrix() -> ResponseMatrix {
        let csv = b"model,q1,q2,q3\nA,1,0,1\nB,0,0,1\n";
        read_responses(&[Input::new("r.csv", csv)], &ReadOptions::default()).unwrap().matrix
    }

    #[test]
    fn truth_files_give_one_composite_column_or_one_per_task() {
        let m = matrix();
        // A column named score is the composite, whatever else is there.
        let t = read_truth(&Input::new("t.csv", b"model,score,notes\nB,0.4,x\nA,0.5,y\n"), &m, u64::MAX).unwrap();
        assert_eq!((t.columns, t.rows), (vec!["score".to_string()], vec![Some(vec![0.5]), Some(vec![0.4])]));
        // Columns not named as tasks: the first is the composite.
        let t = read_truth(&Input::new("t.csv", b"model,acc,stderr\nA,0.5,0.01\nB,0.4,0.02\n"), &m, u64::MAX).unwrap();
        assert_eq!((t.columns, t.rows), (vec!["acc".to_string()], vec![Some(vec![0.5]), Some(vec![0.4])]));
        // Columns named as the items' tasks are the tasks (others, like a
        // trailing empty one, are not read); an empty, NA or absent score
        // leaves the model without one.
        let mut m = matrix();
        read_items(&Input::new("items.csv", b"item_id,task\nq1,arc\nq2,mmlu\nq3,arc\n"), &mut m, u64::MAX).unwrap();
        let t = read_truth(&Input::new("t.csv", b"model,arc,mmlu,\nA,61.5,NA,\n"), &m, u64::MAX).unwrap();
        assert_eq!((t.columns, t.rows), (vec!["arc".to_string(), "mmlu".to_string()], vec![None, None]));
        let t = read_truth(&Input::new("t.csv", b"model,arc,mmlu\nA,61.5,40\nB,,30\n"), &m, u64::MAX).unwrap();
        assert_eq!(t.rows, vec![Some(vec![61.5, 40.0]), None]);
        let err = read_truth(&Input::new("t.csv", b"model,arc,mmlu\nA,61.5,forty\n"), &m, u64::MAX).unwrap_err().to_string();
        assert!(err.contains("t.csv") && err.contains("line 2") && err.contains("mmlu") && err.contains("'forty' is not a number"), "{err}");
    }

    #[test]
    fn tasks_are_the_top_level_group_and_subjects_the_level_within() {
        let mut m = matrix();
        let items = b"item_id,task,subject\nq1,mmlu,law\nq2,arc,\nq3,mmlu,math\n";
        read_items(&Input::new("items.csv", items), &mut m, u64::MAX).unwrap();
        assert_eq!(m.items().group, vec![Some("mmlu".to_string()), Some("arc".to_string()), Some("mmlu".to_string())]);
        assert_eq!(m.items().subgroup, vec![Some("law".to_string()), None, Some("math".to_string())]);
        // Subjects alone are the top level, as before.
        let mut m = matrix();
        read_items(&Input::new("items.csv", b"item_id,subject\nq1,law\n"), &mut m, u64::MAX).unwrap();
        assert_eq!(m.items().group[0].as_deref(), Some("law"));
        assert!(m.items().subgroup.is_empty());
    }

    #[test]
    fn items_attach_by_id_in_any_order_and_unknown_ids_warn() {
        let mut m = matrix();
        let items = b"item_id,text,subject,cost\nq3,\"Third, with comma\",math,2.5\nq1,First,law,1\nzz,Ghost,law,1\n";
        let warnings = read_items(&Input::new("items.csv", items), &mut m, u64::MAX).unwrap();
        assert_eq!(m.items().text[0].as_deref(), Some("First"));
        assert_eq!(m.items().text[1], None);
        assert_eq!(m.items().text[2].as_deref(), Some("Third, with comma"));
        assert_eq!(m.items().cost, vec![Some(1.0), None, Some(2.5)]);
        assert_eq!(m.group_counts().get("math"), Some(&1));
        assert_eq!(warnings, vec!["items.csv: 1 item id(s) not in the responses were ignored: 'zz'".to_string()]);
    }

    #[test]
    fn bad_item_rows_name_line_and_column() {
        let mut m = matrix();
        let e = read_items(&Input::new("items.csv", b"item_id,cost\nq1,-1\n"), &mut m, u64::MAX).unwrap_err();
        assert_eq!(e.to_string(), "items.csv, line 2, column 2 (cost): cost '-1' must be a finite number ≥ 0");
        let e = read_items(&Input::new("items.csv", b"item_id,text\nq1,a\nq1,b\n"), &mut m, u64::MAX).unwrap_err();
        assert_eq!(e.to_string(), "items.csv, line 3, column 1 (item_id): duplicate id 'q1' (also on line 2)");
        let e = read_items(&Input::new("items.csv", b""), &mut m, u64::MAX).unwrap_err();
        assert_eq!(e.to_string(), "items.csv: the file is empty");
    }

    #[test]
    fn model_dates_are_normalised() {
        let mut m = matrix();
        let models = b"model,Company,Release\nA,X,2023/3/15\nB,Y,2024-11\n";
        read_models(&Input::new("models.csv", models), &mut m, u64::MAX).unwrap();
        assert_eq!(m.models().date, vec![Some("2023-03-15".to_string()), Some("2024-11-01".to_string())]);
        let e = read_models(&Input::new("models.csv", b"model,date\nA,yesterday\n"), &mut m, u64::MAX).unwrap_err();
        assert!(e.to_string().starts_with("models.csv, line 2, column 2 (date): 'yesterday' is not a date"), "{e}");
    }

    #[test]
    fn dates_parse() {
        assert_eq!(parse_date("2023-08-30T12:00:00").as_deref(), Some("2023-08-30"));
        assert_eq!(parse_date("2023").as_deref(), Some("2023-01-01"));
        assert_eq!(parse_date("23-1-1"), None);
        assert_eq!(parse_date("2023-13-01"), None);
    }
}
