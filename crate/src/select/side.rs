//! Inputs beyond the responses that some selectors use: automatic
//! metrics' scores, model outputs, item embeddings (and the vectors used
//! without them).

use super::cluster;
use super::diversity::ItemVectors;
use super::metric::{self, MetricScores, Outputs};
use crate::error::{Error, Result};
use crate::matrix::ResponseMatrix;

/// Inputs beyond the responses that some selectors use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Side<'a> {
    /// Automatic metrics' scores (`metric-*`; default: the responses).
    /// metric-avg/var/cons take one; `metric-balance` any number.
    pub metrics: &'a [MetricScores],
    /// Model outputs (`diversity`).
    pub outputs: Option<&'a Outputs>,
    /// Item vectors (`kcenter`, `dpp`; default: see [`item_vectors`]).
    pub vectors: Option<&'a ItemVectors>,
}

/// Owned side inputs, as the CLI and the JS API load them.
#[derive(Debug, Clone, Default)]
pub struct SideData {
    pub metrics: Vec<MetricScores>,
    pub outputs: Option<Outputs>,
    /// Item embeddings, one unit row per matrix item.
    pub embeddings: Option<ItemVectors>,
}

impl SideData {
    pub fn side(&self) -> Side<'_> {
        Side { metrics: &self.metrics, outputs: self.outputs.as_ref(), vectors: self.embeddings.as_ref() }
    }

    /// Loads the side files: metric matrices (any format `read_responses`
    /// reads, one per metric), outputs (wide CSV of texts), embeddings (.npy, rows in the
    /// items file's order, or in the matrix's item order without one).
    pub fn load(
        m: &ResponseMatrix,
        metrics: &[crate::read::Input],
        outputs: Option<&crate::read::Input>,
        embeddings: Option<&crate::read::Input>,
        items_file: Option<&crate::read::Input>,
    ) -> Result<SideData> {
        let metrics = metrics
            .iter()
            .map(|input| {
                let loaded = crate::read::read_responses(std::slice::from_ref(input), &Default::default())?;
                MetricScores::align(&loaded.matrix, m).map_err(|e| Error::invalid(format!("{}: {e}", input.name)))
            })
            .collect::<Result<Vec<_>>>()?;
        let outputs = outputs.map(|o| metric::read_outputs(o, m, crate::read::DEFAULT_MAX_BYTES)).transpose()?;
        let embeddings = match embeddings {
            Some(input) => {
                let e = crate::read::read_embeddings(input, crate::read::DEFAULT_MAX_BYTES)?;
                let (order, order_of) = match (&e.ids, items_file) {
                    (Some(_), _) => (None, ""),
                    (None, Some(items)) => (Some(crate::read::read_item_texts(items, crate::read::DEFAULT_MAX_BYTES)?.0), "the items file"),
                    (None, None) => (Some(m.item_ids().to_vec()), "the response matrix"),
                };
                let ids = e.row_ids(input.name, order.as_deref(), order_of)?;
                let index: std::collections::HashMap<&str, usize> = ids.iter().enumerate().map(|(r, id)| (id.as_str(), r)).collect();
                let unit = crate::similar::normalize(&e.data, e.dims);
                let mut data = Vec::with_capacity(m.n_items() * e.dims);
                for id in m.item_ids() {
                    let r = *index.get(id.as_str()).ok_or_else(|| Error::invalid(format!("item '{}' has no embedding row", crate::error::truncate(id, 40))))?;
                    data.extend_from_slice(&unit[r * e.dims..(r + 1) * e.dims]);
                }
                Some(ItemVectors { dims: e.dims, data, source: "embeddings" })
            }
            None => None,
        };
        Ok(SideData { metrics, outputs, embeddings })
    }
}

/// Vectors for `kcenter`/`dpp` without embeddings: the items' built-in
/// text features when at least half the items have text, else each item's
/// standardised responses over the training models.
pub fn item_vectors(m: &ResponseMatrix, train: &[usize]) -> ItemVectors {
    let text = &m.items().text;
    let with_text = text.iter().filter(|t| t.as_deref().is_some_and(|t| !t.trim().is_empty())).count();
    if !text.is_empty() && with_text * 2 >= m.n_items() {
        let texts: Vec<&str> = text.iter().map(|t| t.as_deref().unwrap_or("")).collect();
        return ItemVectors { dims: crate::similar::text::DIMS, data: crate::similar::text::features(&texts), source: "text-features" };
    }
    let all: Vec<usize> = (0..m.n_items()).collect();
    let rows = cluster::standardized_responses(m, train, &all);
    ItemVectors { dims: train.len(), data: rows.concat(), source: "responses" }
}
