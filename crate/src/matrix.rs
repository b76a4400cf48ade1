//! The response matrix: models × items, one score per cell, some cells missing.
//!
//! Binary matrices (every observed score 0 or 1) are stored as two bitsets, an
//! observed mask and a correct mask, i.e. 2 bits a cell: a 6,000 × 30,000
//! matrix takes 45 MB instead of 1.4 GB as f64. Continuous matrices keep one
//! f32 per cell beside the same observed mask. Readers never need to know which
//! storage they will end up with: [`MatrixBuilder`] starts binary and switches
//! to f32 the first time it sees a score other than 0 or 1.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};

/// Whether every observed score is 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Binary,
    Continuous,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Binary => "binary",
            Kind::Continuous => "continuous",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Cells {
    /// One bit a cell, set when the response is correct.
    Binary(Vec<u64>),
    /// One f32 a cell, row-major; the value of a missing cell is unspecified.
    Continuous(Vec<f32>),
}

/// Optional per-item metadata, aligned with the item columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemMeta {
    pub text: Vec<Option<String>>,
    /// The top level of the items' grouping: the task (benchmark) where the
    /// items file has one, else the subject or any other group column.
    pub group: Vec<Option<String>>,
    /// The level within it: the subject (or category) of an item whose
    /// `group` is its task, where the items file has both; else empty.
    pub subgroup: Vec<Option<String>>,
    /// Cost of evaluating the item (tokens, seconds, dollars: any unit).
    pub cost: Vec<Option<f64>>,
}

/// Optional per-model metadata, aligned with the model rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelMeta {
    /// Release date as `YYYY-MM-DD`, used for "newest models held out" splits.
    pub date: Vec<Option<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMatrix {
    model_ids: Vec<String>,
    item_ids: Vec<String>,
    words_per_row: usize,
    observed: Vec<u64>,
    cells: Cells,
    items: ItemMeta,
    models: ModelMeta,
}

#[inline]
fn bit(words: &[u64], row_start: usize, col: usize) -> bool {
    words[row_start + col / 64] >> (col % 64) & 1 == 1
}

#[inline]
fn set_bit(words: &mut [u64], row_start: usize, col: usize) {
    words[row_start + col / 64] |= 1 << (col % 64);
}

impl ResponseMatrix {
    pub fn n_models(&self) -> usize {
        self.model_ids.len()
    }

    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    pub fn model_ids(&self) -> &[String] {
        &self.model_ids
    }

    pub fn item_ids(&self) -> &[String] {
        &self.item_ids
    }

    pub fn kind(&self) -> Kind {
        match self.cells {
            Cells::Binary(_) => Kind::Binary,
            Cells::Continuous(_) => Kind::Continuous,
        }
    }

    pub fn items(&self) -> &ItemMeta {
        &self.items
    }

    pub fn models(&self) -> &ModelMeta {
        &self.models
    }

    /// u64 words per model row in the bitsets (items rounded up to 64).
    pub fn words_per_row(&self) -> usize {
        self.words_per_row
    }

    /// The observed-cell bitset of one model: bit `i % 64` of word `i / 64`.
    pub fn observed_bits(&self, model: usize) -> &[u64] {
        &self.observed[model * self.words_per_row..(model + 1) * self.words_per_row]
    }

    /// The correct-response bitset of one model (binary matrices only).
    pub fn correct_bits(&self, model: usize) -> Option<&[u64]> {
        match &self.cells {
            Cells::Binary(c) => Some(&c[model * self.words_per_row..(model + 1) * self.words_per_row]),
            Cells::Continuous(_) => None,
        }
    }

    /// The scores of one model, one f32 per item, meaningful where observed
    /// (continuous matrices only).
    pub fn value_row(&self, model: usize) -> Option<&[f32]> {
        match &self.cells {
            Cells::Binary(_) => None,
            Cells::Continuous(v) => Some(&v[model * self.n_items()..(model + 1) * self.n_items()]),
        }
    }

    pub fn is_observed(&self, model: usize, item: usize) -> bool {
        bit(&self.observed, model * self.words_per_row, item)
    }

    /// The score of `model` on `item`, or `None` when the cell is missing.
    #[inline]
    pub fn get(&self, model: usize, item: usize) -> Option<f32> {
        let row = model * self.words_per_row;
        if !bit(&self.observed, row, item) {
            return None;
        }
        Some(match &self.cells {
            Cells::Binary(correct) => bit(correct, row, item) as u8 as f32,
            Cells::Continuous(values) => values[model * self.item_ids.len() + item],
        })
    }

    /// Every observed score of one model, as `(item, score)`.
    pub fn row(&self, model: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        (0..self.n_items()).filter_map(move |item| self.get(model, item).map(|s| (item, s)))
    }

    /// Number of observed cells.
    pub fn observed_count(&self) -> u64 {
        self.observed.iter().map(|w| w.count_ones() as u64).sum()
    }

    /// Fraction of cells that are missing, in [0, 1].
    pub fn missing_fraction(&self) -> f64 {
        let cells = self.n_models() as f64 * self.n_items() as f64;
        if cells == 0.0 { 0.0 } else { 1.0 - self.observed_count() as f64 / cells }
    }

    /// Mean over all observed cells (not the mean of model means: a model with
    /// many missing cells weighs less).
    pub fn mean(&self) -> f64 {
        let n = self.observed_count();
        if n == 0 {
            return f64::NAN;
        }
        let sum: f64 = match &self.cells {
            Cells::Binary(correct) => correct.iter().zip(&self.observed).map(|(c, o)| (c & o).count_ones() as f64).sum(),
            Cells::Continuous(_) => (0..self.n_models()).map(|m| self.row(m).map(|(_, s)| s as f64).sum::<f64>()).sum(),
        };
        sum / n as f64
    }

    /// Mean observed score of each model (NaN for a model with no observed cell).
    pub fn model_means(&self) -> Vec<f64> {
        (0..self.n_models())
            .map(|m| {
                let (sum, n) = self.row(m).fold((0.0, 0u64), |(s, n), (_, v)| (s + v as f64, n + 1));
                if n == 0 { f64::NAN } else { sum / n as f64 }
            })
            .collect()
    }

    /// Number of items in each group; items without a group are not counted.
    pub fn group_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for g in self.items.group.iter().flatten() {
            *counts.entry(g.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// The sub-matrix of the given models and items, in the given order, with
    /// their metadata. Indices must be in range.
    pub fn select(&self, models: &[usize], items: &[usize]) -> ResponseMatrix {
        let mut builder = MatrixBuilder::new(items.iter().map(|&i| self.item_ids[i].clone()).collect());
        if self.kind() == Kind::Continuous {
            builder.force_continuous();
        }
        let mut values = vec![None; items.len()];
        for &m in models {
            for (slot, &i) in values.iter_mut().zip(items) {
                *slot = self.get(m, i);
            }
            builder.push_row_unchecked(self.model_ids[m].clone(), &values);
        }
        let mut out = builder.into_matrix();
        let pick = |v: &Vec<Option<String>>, idx: &[usize]| -> Vec<Option<String>> {
            if v.is_empty() { Vec::new() } else { idx.iter().map(|&i| v[i].clone()).collect() }
        };
        out.items = ItemMeta {
            text: pick(&self.items.text, items),
            group: pick(&self.items.group, items),
            subgroup: pick(&self.items.subgroup, items),
            cost: if self.items.cost.is_empty() { Vec::new() } else { items.iter().map(|&i| self.items.cost[i]).collect() },
        };
        out.models = ModelMeta { date: pick(&self.models.date, models) };
        out
    }

    /// Attaches item metadata. Each vector is empty (absent) or has one entry
    /// per item.
    pub fn set_item_meta(&mut self, meta: ItemMeta) -> Result<()> {
        for (name, len) in [("text", meta.text.len()), ("group", meta.group.len()), ("subgroup", meta.subgroup.len()), ("cost", meta.cost.len())] {
            if len != 0 && len != self.n_items() {
                return Err(Error::invalid(format!("item {name} has {len} entries for {} items", self.n_items())));
            }
        }
        self.items = meta;
        Ok(())
    }

    pub fn set_model_meta(&mut self, meta: ModelMeta) -> Result<()> {
        if !meta.date.is_empty() && meta.date.len() != self.n_models() {
            return Err(Error::invalid(format!("model dates have {} entries for {} models", meta.date.len(), self.n_models())));
        }
        self.models = meta;
        Ok(())
    }

    /// Bytes held by the cells (not the ids): what the storage choice saves.
    pub fn cell_bytes(&self) -> usize {
        let cells = match &self.cells {
            Cells::Binary(c) => c.len() * 8,
            Cells::Continuous(v) => v.len() * 4,
        };
        self.observed.len() * 8 + cells
    }

    /// Drops models and items with no observed cell, returning one warning per
    /// kind of drop that happened.
    pub fn drop_empty(self) -> (ResponseMatrix, Vec<String>) {
        let model_keep: Vec<usize> = (0..self.n_models()).filter(|&m| self.row(m).next().is_some()).collect();
        let mut item_seen = vec![false; self.n_items()];
        for m in 0..self.n_models() {
            for (i, _) in self.row(m) {
                item_seen[i] = true;
            }
        }
        let item_keep: Vec<usize> = (0..self.n_items()).filter(|&i| item_seen[i]).collect();
        if model_keep.len() == self.n_models() && item_keep.len() == self.n_items() {
            return (self, Vec::new());
        }
        let mut warnings = Vec::new();
        let dropped_models: Vec<&str> = (0..self.n_models()).filter(|m| model_keep.binary_search(m).is_err()).map(|m| self.model_ids[m].as_str()).collect();
        if !dropped_models.is_empty() {
            warnings.push(format!("dropped {} model(s) with no observed score: {}", dropped_models.len(), list_preview(&dropped_models)));
        }
        let dropped_items: Vec<&str> = (0..self.n_items()).filter(|&i| !item_seen[i]).map(|i| self.item_ids[i].as_str()).collect();
        if !dropped_items.is_empty() {
            warnings.push(format!("dropped {} item(s) with no observed score: {}", dropped_items.len(), list_preview(&dropped_items)));
        }
        (self.select(&model_keep, &item_keep), warnings)
    }
}

/// "a, b, c and 12 more": names in a message without flooding it.
pub(crate) fn list_preview(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut out = names.iter().take(SHOWN).map(|n| format!("'{}'", crate::error::truncate(n, 40))).collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

/// Builds a [`ResponseMatrix`] row by row (wide formats) or cell by cell
/// (long formats), choosing the compact binary storage when it can.
#[derive(Debug)]
pub struct MatrixBuilder {
    item_ids: Vec<String>,
    model_ids: Vec<String>,
    words_per_row: usize,
    observed: Vec<u64>,
    cells: Cells,
}

impl MatrixBuilder {
    pub fn new(item_ids: Vec<String>) -> Self {
        let words_per_row = item_ids.len().div_ceil(64);
        MatrixBuilder { item_ids, model_ids: Vec::new(), words_per_row, observed: Vec::new(), cells: Cells::Binary(Vec::new()) }
    }

    /// A builder with `n_models` empty rows, for filling cell by cell.
    pub fn with_models(item_ids: Vec<String>, model_ids: Vec<String>) -> Self {
        let mut b = MatrixBuilder::new(item_ids);
        b.observed = vec![0; model_ids.len() * b.words_per_row];
        b.cells = Cells::Binary(vec![0; model_ids.len() * b.words_per_row]);
        b.model_ids = model_ids;
        b
    }

    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    pub fn n_models(&self) -> usize {
        self.model_ids.len()
    }

    /// Stores every cell as f32 even if all scores turn out to be 0 or 1.
    pub fn force_continuous(&mut self) {
        if let Cells::Binary(correct) = &self.cells {
            let n_items = self.item_ids.len();
            let mut values = vec![0.0f32; self.model_ids.len() * n_items];
            for m in 0..self.model_ids.len() {
                for i in 0..n_items {
                    if bit(correct, m * self.words_per_row, i) {
                        values[m * n_items + i] = 1.0;
                    }
                }
            }
            self.cells = Cells::Continuous(values);
        }
    }

    /// Appends a model row. `values` has one entry per item; scores must be
    /// finite (readers check that, with locations, before calling).
    /// Appends a row of 0/1/missing cells given as bitsets (`observed`, and
    /// `correct` ⊆ `observed`, `words_per_row` words each): what a wide binary
    /// CSV's fast path builds, without a call per cell. `false`, with nothing
    /// appended, once the matrix holds continuous scores (then use
    /// [`MatrixBuilder::push_row_unchecked`]).
    pub fn push_bits_row(&mut self, model_id: String, observed: &[u64], correct: &[u64]) -> bool {
        debug_assert!(observed.len() == self.words_per_row && correct.len() == self.words_per_row);
        let Cells::Binary(bits) = &mut self.cells else { return false };
        self.model_ids.push(model_id);
        self.observed.extend_from_slice(observed);
        bits.extend(correct.iter().zip(observed).map(|(c, o)| c & o));
        true
    }

    pub fn push_row_unchecked(&mut self, model_id: String, values: &[Option<f32>]) {
        debug_assert_eq!(values.len(), self.item_ids.len());
        let m = self.model_ids.len();
        self.model_ids.push(model_id);
        self.observed.resize(self.observed.len() + self.words_per_row, 0);
        match &mut self.cells {
            Cells::Binary(correct) => correct.resize(correct.len() + self.words_per_row, 0),
            Cells::Continuous(v) => v.resize(v.len() + self.item_ids.len(), 0.0),
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = *v {
                self.set(m, i, v);
            }
        }
    }

    /// Sets one cell of an existing row.
    pub fn set(&mut self, model: usize, item: usize, value: f32) {
        let row = model * self.words_per_row;
        set_bit(&mut self.observed, row, item);
        if let Cells::Binary(correct) = &mut self.cells {
            if value == 1.0 {
                set_bit(correct, row, item);
                return;
            } else if value == 0.0 {
                return;
            }
            self.force_continuous();
        }
        if let Cells::Continuous(values) = &mut self.cells {
            values[model * self.item_ids.len() + item] = value;
        }
    }

    pub fn is_set(&self, model: usize, item: usize) -> bool {
        bit(&self.observed, model * self.words_per_row, item)
    }

    pub fn into_matrix(self) -> ResponseMatrix {
        ResponseMatrix {
            model_ids: self.model_ids,
            item_ids: self.item_ids,
            words_per_row: self.words_per_row,
            observed: self.observed,
            cells: self.cells,
            items: ItemMeta::default(),
            models: ModelMeta::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    #[test]
    fn binary_rows_round_trip_through_bitsets() {
        let mut b = MatrixBuilder::new(ids("q", 130));
        let row: Vec<Option<f32>> = (0..130).map(|i| if i % 7 == 0 { None } else { Some((i % 2) as f32) }).collect();
        b.push_row_unchecked("m0".into(), &row);
        b.push_row_unchecked("m1".into(), &vec![Some(1.0); 130]);
        let m = b.into_matrix();
        assert_eq!(m.kind(), Kind::Binary);
        for (i, v) in row.iter().enumerate() {
            assert_eq!(m.get(0, i), *v, "item {i}");
            assert_eq!(m.get(1, i), Some(1.0));
        }
        assert_eq!(m.observed_count(), 130 - 19 + 130);
    }

    #[test]
    fn a_fractional_score_switches_to_continuous_and_keeps_earlier_cells() {
        let mut b = MatrixBuilder::new(ids("q", 3));
        b.push_row_unchecked("a".into(), &[Some(1.0), Some(0.0), None]);
        b.push_row_unchecked("b".into(), &[Some(0.25), None, Some(1.0)]);
        let m = b.into_matrix();
        assert_eq!(m.kind(), Kind::Continuous);
        assert_eq!(m.get(0, 0), Some(1.0));
        assert_eq!(m.get(0, 1), Some(0.0));
        assert_eq!(m.get(0, 2), None);
        assert_eq!(m.get(1, 0), Some(0.25));
        assert!((m.mean() - (1.0 + 0.0 + 0.25 + 1.0) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn binary_storage_is_two_bits_a_cell() {
        let items = 30_000;
        let mut b = MatrixBuilder::new(ids("q", items));
        let row: Vec<Option<f32>> = (0..items).map(|i| Some((i % 3 == 0) as u8 as f32)).collect();
        for m in 0..100 {
            b.push_row_unchecked(format!("m{m}"), &row);
        }
        let m = b.into_matrix();
        // 2 bits a cell, rounded up to whole u64 words per row.
        assert_eq!(m.cell_bytes(), 100 * 2 * 30_000usize.div_ceil(64) * 8);
    }

    #[test]
    fn drop_empty_removes_all_missing_rows_and_columns_and_says_so() {
        let mut b = MatrixBuilder::new(ids("q", 3));
        b.push_row_unchecked("a".into(), &[Some(1.0), None, Some(0.0)]);
        b.push_row_unchecked("ghost".into(), &[None, None, None]);
        b.push_row_unchecked("c".into(), &[Some(0.0), None, Some(1.0)]);
        let (m, warnings) = b.into_matrix().drop_empty();
        assert_eq!(m.model_ids(), ["a", "c"]);
        assert_eq!(m.item_ids(), ["q0", "q2"]);
        assert_eq!(m.get(1, 1), Some(1.0));
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("'ghost'"), "{warnings:?}");
        assert!(warnings[1].contains("'q1'"), "{warnings:?}");
    }

    #[test]
    fn select_keeps_metadata_aligned() {
        let mut b = MatrixBuilder::new(ids("q", 3));
        b.push_row_unchecked("a".into(), &[Some(1.0), Some(0.0), Some(1.0)]);
        b.push_row_unchecked("b".into(), &[Some(0.0), Some(0.0), Some(1.0)]);
        let mut m = b.into_matrix();
        m.set_item_meta(ItemMeta {
            text: vec![Some("x".into()), Some("y".into()), Some("z".into())],
            group: vec![Some("g1".into()), None, Some("g2".into())],
            subgroup: Vec::new(),
            cost: Vec::new(),
        })
        .unwrap();
        let s = m.select(&[1], &[2, 0]);
        assert_eq!(s.item_ids(), ["q2", "q0"]);
        assert_eq!(s.items().text, vec![Some("z".to_string()), Some("x".to_string())]);
        assert_eq!(s.get(0, 0), Some(1.0));
        assert_eq!(s.get(0, 1), Some(0.0));
        assert_eq!(s.group_counts().len(), 2);
    }
}
