//! Item embeddings in the forms people have them: NumPy `.npy`, JSON, JSON
//! Lines and CSV. Text forms may name their rows (an id per vector), and
//! are then matched to items by id; unnamed rows follow the items file's
//! order, as `.npy` rows do.
//!
//! JSON: `[[0.1, …], …]` (rows in items order), `[{"id": "q1", "embedding":
//! [0.1, …]}, …]` (`vector` or `values` also name the numbers, `item_id`
//! or `item` the id), or `{"q1": [0.1, …], …}`. JSON Lines: one such array
//! or record per line. CSV/TSV: one vector per row, optionally a first
//! column of ids, optionally a header row (a row with no number in it).

use std::collections::HashMap;

use serde::Deserialize;

use super::{Input, decode, npy};
use crate::error::{Error, Location, Result, truncate};

pub use npy::Embeddings;

/// Reads embeddings of any supported form, told apart by content.
pub fn read_embeddings(input: &Input, max_bytes: u64) -> Result<Embeddings> {
    let bytes = decode(input, max_bytes)?;
    if bytes.starts_with(b"\x93NUMPY") {
        return npy::read_npy(&Input::new(input.name, &bytes), max_bytes);
    }
    let name = input.name.strip_suffix(".gz").unwrap_or(input.name);
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Error::input(
            Location::file(name),
            format!("not a .npy file and not UTF-8 text (byte {}): embeddings are .npy, JSON, JSON Lines or CSV", e.valid_up_to()),
        )
    })?;
    match text.trim_start().as_bytes().first() {
        None => Err(Error::input(Location::file(name), "the file is empty")),
        Some(b'[' | b'{') => read_json(name, text),
        Some(_) => read_csv(name, &bytes),
    }
}

/// What a vector's id may be written as.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Integer(i64),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Text(s) => s,
            Id::Integer(i) => i.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct Record {
    #[serde(alias = "item_id", alias = "item")]
    id: Id,
    #[serde(alias = "vector", alias = "values")]
    embedding: Vec<f32>,
}

/// One JSON Lines line: a bare vector or a named one.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Vector(Vec<f32>),
    Record(Record),
}

const JSON_FORMS: &str = "expected [[numbers], …], [{\"id\": …, \"embedding\": [numbers]}, …], {\"id\": [numbers], …} or one vector or record per line";

fn json_error(name: &str, line_offset: usize, e: serde_json::Error) -> Error {
    let at = Location::cell(name, (e.line() + line_offset) as u64, e.column() as u64, "");
    Error::input(at, format!("not embeddings JSON ({JSON_FORMS}): {e}"))
}

/// Collects rows, checking that every vector has the first one's length,
/// that its numbers are finite, and that ids are unique and given for every
/// vector or none; each `push` names where its row came from for errors.
struct Rows<'a> {
    name: &'a str,
    dims: usize,
    data: Vec<f32>,
    ids: Vec<String>,
    seen: HashMap<String, usize>,
}

impl<'a> Rows<'a> {
    fn new(name: &'a str) -> Self {
        Rows { name, dims: 0, data: Vec::new(), ids: Vec::new(), seen: HashMap::new() }
    }

    fn push(&mut self, at: Location, id: Option<String>, vector: &[f32]) -> Result<()> {
        let row = self.data.len() / self.dims.max(1);
        if row == 0 && self.dims == 0 {
            if vector.is_empty() {
                return Err(Error::input(at, "the first vector has no numbers"));
            }
            self.dims = vector.len();
        } else if vector.len() != self.dims {
            return Err(Error::input(at, format!("this vector has {} numbers but the first has {}", vector.len(), self.dims)));
        }
        if let Some(bad) = vector.iter().position(|v| !v.is_finite()) {
            return Err(Error::input(at, format!("number {} is {}, not a finite float32", bad + 1, vector[bad])));
        }
        if let Some(id) = id {
            if self.ids.len() != row {
                return Err(Error::input(at, "this vector has an id but the ones before it do not: name every vector or none"));
            }
            if let Some(first) = self.seen.insert(id.clone(), row) {
                return Err(Error::input(at, format!("id '{}' was already given to vector {}", truncate(&id, 40), first + 1)));
            }
            self.ids.push(id);
        } else if !self.ids.is_empty() {
            return Err(Error::input(at, "this vector has no id but the ones before it do: name every vector or none"));
        }
        self.data.extend_from_slice(vector);
        Ok(())
    }

    fn finish(self) -> Result<Embeddings> {
        let rows = self.data.len() / self.dims.max(1);
        if rows == 0 {
            return Err(Error::input(Location::file(self.name), "the file holds no vectors"));
        }
        let ids = (!self.ids.is_empty()).then_some(self.ids);
        Ok(Embeddings { rows, dims: self.dims, data: self.data, ids })
    }
}

fn read_json(name: &str, text: &str) -> Result<Embeddings> {
    let mut rows = Rows::new(name);
    let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    // JSON Lines: several non-empty lines, the first a whole JSON value.
    let first_is_whole = lines.first().is_some_and(|(_, l)| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok());
    if lines.len() > 1 && first_is_whole {
        for (i, line) in lines {
            let at = Location::line(name, i as u64 + 1);
            match serde_json::from_str::<Line>(line) {
                Ok(Line::Vector(v)) => rows.push(at, None, &v)?,
                Ok(Line::Record(r)) => rows.push(at, Some(r.id.into_string()), &r.embedding)?,
                Err(_) => return Err(Error::input(at, format!("not a vector or an {{\"id\", \"embedding\"}} record ({JSON_FORMS})"))),
            }
        }
        return rows.finish();
    }
    let start = text.trim_start();
    if start.starts_with('{') {
        let map: std::collections::BTreeMap<String, Vec<f32>> = serde_json::from_str(text).map_err(|e| json_error(name, 0, e))?;
        for (id, v) in map {
            let at = Location::field(name, format!("\"{}\"", truncate(&id, 40)));
            rows.push(at, Some(id), &v)?;
        }
        return rows.finish();
    }
    let records_first = start[1..].trim_start().starts_with('{');
    if records_first {
        let records: Vec<Record> = serde_json::from_str(text).map_err(|e| json_error(name, 0, e))?;
        for (i, r) in records.into_iter().enumerate() {
            rows.push(Location::field(name, format!("record {}", i + 1)), Some(r.id.into_string()), &r.embedding)?;
        }
    } else {
        let vectors: Vec<Vec<f32>> = serde_json::from_str(text).map_err(|e| json_error(name, 0, e))?;
        for (i, v) in vectors.iter().enumerate() {
            rows.push(Location::field(name, format!("vector {}", i + 1)), None, v)?;
        }
    }
    rows.finish()
}

fn read_csv(name: &str, bytes: &[u8]) -> Result<Embeddings> {
    let delimiter = super::sniff_delimiter(name, bytes);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(bytes);
    let mut rows = Rows::new(name);
    let mut record = csv::StringRecord::new();
    let mut has_ids: Option<bool> = None;
    let mut header: Option<csv::StringRecord> = None;
    let mut vector = Vec::new();
    let number = |s: &str| s.trim().parse::<f32>().ok();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = e.position().map_or(Location::file(name), |p| Location::line(name, p.line()));
                return Err(Error::input(at, format!("cannot read CSV: {e}")));
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if has_ids.is_none() {
            // A header has no number after its first field (which may be an
            // id column's name, or a number-free label for the first dimension).
            // pandas' `to_csv` heads the dimensions 0, 1, 2, … after the index.
            let numbered = record.len() > 2 && record.iter().skip(1).enumerate().all(|(d, f)| f.trim() == d.to_string());
            let no_numbers = record.len() > 1 && record.iter().all(|f| number(f).is_none());
            if header.is_none() && rows.data.is_empty() && (no_numbers || numbered) {
                header = Some(record.clone());
                continue;
            }
            has_ids = Some(number(&record[0]).is_none());
        }
        let skip = usize::from(has_ids == Some(true));
        vector.clear();
        for (c, field) in record.iter().enumerate().skip(skip) {
            let value = number(field).ok_or_else(|| {
                let label = header.as_ref().and_then(|h| h.get(c)).unwrap_or("");
                Error::input(Location::cell(name, line, c as u64 + 1, label), format!("'{}' is not a number", truncate(field.trim(), 30)))
            })?;
            vector.push(value);
        }
        let id = (skip == 1).then(|| record[0].trim().to_string());
        if id.as_deref() == Some("") {
            return Err(Error::input(Location::cell(name, line, 1, ""), "the id is empty"));
        }
        rows.push(Location::line(name, line), id, &vector)?;
    }
    rows.finish()
}

impl Embeddings {
    /// Each row's item id: the file's own ids, or else `order` — the ids of
    /// `order_of` (the items file, or the responses), whose order the
    /// vectors then follow.
    pub fn row_ids(&self, name: &str, order: Option<&[String]>, order_of: &str) -> Result<Vec<String>> {
        match (&self.ids, order) {
            (Some(own), _) => Ok(own.clone()),
            (None, Some(order)) if order.len() == self.rows => Ok(order.to_vec()),
            (None, Some(order)) => Err(Error::invalid(format!(
                "{name} has {} unnamed vectors but {order_of} has {} items: give one vector per item, in {order_of}'s order, or name each vector by item id",
                self.rows,
                order.len()
            ))),
            (None, None) => Err(Error::invalid(format!("{name} does not name its vectors: give the items file, whose rows give their order"))),
        }
    }

    /// The vectors in the order of `ids` (matched by id when the file names
    /// its vectors, else by position); an error names the first item with no
    /// vector.
    pub fn ordered_as(&self, name: &str, ids: &[String]) -> Result<Vec<f32>> {
        let own = self.row_ids(name, Some(ids), "the items file")?;
        let row: HashMap<&str, usize> = own.iter().enumerate().map(|(r, id)| (id.as_str(), r)).collect();
        let mut data = Vec::with_capacity(ids.len() * self.dims);
        for id in ids {
            let r = *row.get(id.as_str()).ok_or_else(|| Error::invalid(format!("item '{}' has no vector in {name}", truncate(id, 40))))?;
            data.extend_from_slice(self.row(r));
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> Result<Embeddings> {
        read_embeddings(&Input::new(name, text.as_bytes()), u64::MAX)
    }

    fn ids(e: &Embeddings) -> Vec<&str> {
        e.ids.as_ref().map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    #[test]
    fn every_json_form_reads_the_same_vectors() {
        let rows = read("e.json", "[[1, 2, 3], [4, 5, 6.5]]").unwrap();
        assert_eq!((rows.rows, rows.dims, rows.ids.clone()), (2, 3, None));
        assert_eq!(rows.data, [1., 2., 3., 4., 5., 6.5]);
        let records = read("e.json", r#"[{"id": "q2", "embedding": [4, 5, 6.5]}, {"item_id": 7, "vector": [1, 2, 3]}]"#).unwrap();
        assert_eq!(ids(&records), ["q2", "7"]);
        assert_eq!(records.row(1), [1., 2., 3.]);
        let map = read("e.json", r#"{"b": [4, 5, 6.5], "a": [1, 2, 3]}"#).unwrap();
        assert_eq!(map.ordered_as("e.json", &["a".into(), "b".into()]).unwrap(), rows.data);
        let lines = read("e.jsonl", "[1, 2, 3]\n\n[4, 5, 6.5]\n").unwrap();
        assert_eq!(lines, rows);
        let named = read("e.jsonl", "{\"id\": \"a\", \"values\": [1, 2, 3]}\n{\"id\": \"b\", \"values\": [4, 5, 6.5]}").unwrap();
        assert_eq!(ids(&named), ["a", "b"]);
    }

    #[test]
    fn csv_with_and_without_ids_and_headers() {
        let plain = read("e.csv", "1,2,3\n4,5,6.5\n").unwrap();
        assert_eq!((plain.rows, plain.dims, plain.ids.clone()), (2, 3, None));
        let headed = read("e.csv", "d0,d1,d2\n1,2,3\n4,5,6.5\n").unwrap();
        assert_eq!(headed, plain);
        let named = read("e.tsv", "item_id\td0\td1\td2\nq1\t1\t2\t3\nq2\t4\t5\t6.5\n").unwrap();
        assert_eq!(ids(&named), ["q1", "q2"]);
        assert_eq!(named.data, plain.data);
        let pandas = read("e.csv", ",0,1,2\nq1,1,2,3\nq2,4,5,6.5\n").unwrap();
        assert_eq!((ids(&pandas), pandas.data.clone()), (vec!["q1", "q2"], plain.data.clone()));
        let unheaded = read("e.csv", "q1,1,2,3\n\"q,2\",4,5,6.5\n").unwrap();
        assert_eq!(ids(&unheaded), ["q1", "q,2"]);
    }

    #[test]
    fn npy_bytes_are_recognised_whatever_the_name() {
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }".to_string();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        npy.extend(1.5f32.to_le_bytes().into_iter().chain(2.5f32.to_le_bytes()));
        let e = read_embeddings(&Input::new("vectors.bin", &npy), u64::MAX).unwrap();
        assert_eq!((e.data.clone(), e.ids), (vec![1.5, 2.5], None));
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let err = |name: &str, text: &str| read(name, text).unwrap_err().to_string();
        assert_eq!(err("e.csv", ""), "e.csv: the file is empty");
        assert_eq!(err("e.csv", "1,2\n3,x\n"), "e.csv, line 2, column 2: 'x' is not a number");
        assert_eq!(err("e.csv", "id,a,b\nq1,1,2\nq2,3,oops\n"), "e.csv, line 3, column 3 (b): 'oops' is not a number");
        assert_eq!(err("e.csv", "1,2,3\n4,5\n"), "e.csv, line 2: this vector has 2 numbers but the first has 3");
        assert_eq!(err("e.csv", "q1,1,2\nq1,3,4\n"), "e.csv, line 2: id 'q1' was already given to vector 1");
        assert_eq!(err("e.json", "[[1, 2], [3]]"), "e.json, vector 2: this vector has 1 numbers but the first has 2");
        assert!(err("e.json", "[[1, 2], [3, \"x\"]]").starts_with("e.json, line 1, column "), "{}", err("e.json", "[[1, 2], [3, \"x\"]]"));
        assert_eq!(err("e.json", "[]"), "e.json: the file holds no vectors");
        assert_eq!(err("e.json", "[[]]"), "e.json, vector 1: the first vector has no numbers");
        assert!(err("e.json", "[[1e300]]").starts_with("e.json, line 1, column 7: not embeddings JSON"));
        assert!(err("e.json", "[[1e300]]").ends_with("number out of range at line 1 column 7"));
        assert_eq!(err("e.csv", "q1,1\n,2\n"), "e.csv, line 2, column 1: the id is empty");
        assert_eq!(err("e.jsonl", "[1, 2]\n{\"id\": \"a\"}\n"), format!("e.jsonl, line 2: not a vector or an {{\"id\", \"embedding\"}} record ({JSON_FORMS})"));
        assert!(read_embeddings(&Input::new("e.npy", b"\xff\xfe\x00"), u64::MAX).unwrap_err().to_string().contains("not a .npy file and not UTF-8"));
    }

    #[test]
    fn rows_are_matched_to_items_by_id_or_by_position() {
        let named = read("e.csv", "b,4,5\na,1,2\n").unwrap();
        let order: Vec<String> = vec!["a".into(), "b".into()];
        assert_eq!(named.ordered_as("e.csv", &order).unwrap(), [1., 2., 4., 5.]);
        let err = named.ordered_as("e.csv", &["a".into(), "c".into()]).unwrap_err().to_string();
        assert_eq!(err, "item 'c' has no vector in e.csv");
        let plain = read("e.csv", "1,2\n4,5\n").unwrap();
        assert_eq!(plain.ordered_as("e.csv", &order).unwrap(), [1., 2., 4., 5.]);
        assert!(plain.ordered_as("e.csv", &order[..1]).unwrap_err().to_string().contains("2 unnamed vectors but the items file has 1 items"));
        assert!(plain.row_ids("e.csv", None, "the items file").unwrap_err().to_string().contains("does not name its vectors"));
    }
}
