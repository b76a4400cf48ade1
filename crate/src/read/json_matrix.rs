//! `{"models": [...], "items": [...], "scores": [[...]]}` with `null` for a
//! missing cell. Rows of `scores` follow `models`, columns follow `items`.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::{Error, Location, Result, truncate};
use crate::matrix::{MatrixBuilder, ResponseMatrix};

use super::{ReadOptions, check_cells, check_unit_interval, finite_score};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonMatrix {
    models: Vec<String>,
    items: Vec<String>,
    scores: Vec<Vec<Cell>>,
}

/// A cell as written; anything but a number, bool or null is reported with
/// its `scores[row][column]` path instead of serde's byte offset.
#[derive(Deserialize)]
#[serde(untagged)]
enum Cell {
    Number(f64),
    Bool(bool),
    Null(()),
    Other(serde_json::Value),
}

pub(crate) fn read_json(name: &str, bytes: &[u8], options: &ReadOptions) -> Result<ResponseMatrix> {
    let parsed: JsonMatrix = serde_json::from_slice(bytes).map_err(|e| {
        let at = if e.line() > 0 { Location::line(name, e.line() as u64) } else { Location::file(name) };
        let message = match e.classify() {
            serde_json::error::Category::Eof if bytes.iter().all(u8::is_ascii_whitespace) => "the file is empty".to_string(),
            _ => format!("not a response matrix ({e}); expected {{\"models\": [...], \"items\": [...], \"scores\": [[...]]}}"),
        };
        Error::input(at, message)
    })?;
    check_unique(name, "models", &parsed.models)?;
    check_unique(name, "items", &parsed.items)?;
    if parsed.scores.len() != parsed.models.len() {
        return Err(Error::input(Location::field(name, "scores"), format!("{} rows of scores for {} models", parsed.scores.len(), parsed.models.len())));
    }
    if parsed.models.is_empty() {
        return Err(Error::input(Location::field(name, "models"), "no models"));
    }
    check_cells(name, parsed.models.len() as u64, parsed.items.len() as u64, options)?;
    let n_items = parsed.items.len();
    let mut builder = MatrixBuilder::new(parsed.items);
    let mut values = vec![None; n_items];
    for (r, (model, row)) in parsed.models.into_iter().zip(parsed.scores).enumerate() {
        if row.len() != n_items {
            return Err(Error::input(
                Location::field(name, format!("scores[{r}]")),
                format!("the row has {} scores but there are {} items", row.len(), n_items),
            ));
        }
        for (c, (slot, cell)) in values.iter_mut().zip(row).enumerate() {
            let at = |message: String| Error::input(Location::field(name, format!("scores[{r}][{c}]")), message);
            *slot = match cell {
                Cell::Number(v) => finite_score(v, &v.to_string()).map_err(at)?,
                Cell::Bool(b) => Some(b as u8 as f32),
                Cell::Null(()) => None,
                Cell::Other(v) => {
                    return Err(at(format!("{} is not a number or null", truncate(&v.to_string(), 30))));
                }
            };
            if let Some(v) = *slot {
                check_unit_interval(v, options).map_err(at)?;
            }
        }
        builder.push_row_unchecked(model, &values);
    }
    Ok(builder.into_matrix())
}

fn check_unique(name: &str, what: &str, ids: &[String]) -> Result<()> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if id.trim().is_empty() {
            return Err(Error::input(Location::field(name, format!("{what}[{i}]")), "empty id"));
        }
        if let Some(first) = seen.insert(id, i) {
            return Err(Error::input(Location::field(name, format!("{what}[{i}]")), format!("duplicate id '{}' (also {what}[{first}])", truncate(id, 40))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ResponseMatrix> {
        read_json("m.json", text.as_bytes(), &ReadOptions::default())
    }

    #[test]
    fn reads_numbers_bools_and_nulls() {
        let m = read(r#"{"models": ["a", "b"], "items": ["q1", "q2"], "scores": [[1, null], [false, 0.5]]}"#).unwrap();
        assert_eq!(m.get(0, 0), Some(1.0));
        assert_eq!(m.get(0, 1), None);
        assert_eq!(m.get(1, 0), Some(0.0));
        assert_eq!(m.get(1, 1), Some(0.5));
    }

    #[test]
    fn bad_cells_and_shapes_name_their_path() {
        let e = read(r#"{"models": ["a"], "items": ["q1", "q2"], "scores": [[1, "x"]]}"#).unwrap_err();
        assert_eq!(e.to_string(), "m.json, scores[0][1]: \"x\" is not a number or null");
        let e = read(r#"{"models": ["a"], "items": ["q1", "q2"], "scores": [[1]]}"#).unwrap_err();
        assert_eq!(e.to_string(), "m.json, scores[0]: the row has 1 scores but there are 2 items");
        let e = read(r#"{"models": ["a", "a"], "items": ["q1"], "scores": [[1], [0]]}"#).unwrap_err();
        assert_eq!(e.to_string(), "m.json, models[1]: duplicate id 'a' (also models[0])");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = read("{\"models\": [\"a\"],\n \"items\": [\"q1\"],\n \"scores\": [[1,]]}").unwrap_err();
        assert!(e.to_string().starts_with("m.json, line 3: not a response matrix"), "{e}");
        assert_eq!(read("  ").unwrap_err().to_string(), "m.json, line 1: the file is empty");
    }
}
