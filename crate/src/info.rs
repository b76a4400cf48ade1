//! `benchsift info`: the summary a user checks before anything else.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dataset::Dataset;
use crate::matrix::Kind;
use crate::read::Format;

#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub models: usize,
    pub items: usize,
    pub missing_fraction: f64,
    pub kind: Kind,
    /// Mean over observed cells.
    pub mean: f64,
    /// Items per group (subject/task) from the items file; empty without one.
    pub groups: BTreeMap<String, usize>,
    pub format: &'static str,
    /// Lowest and highest model mean: the spread a subset must preserve.
    pub model_mean_range: [f64; 2],
    pub warnings: Vec<String>,
}

pub fn info(dataset: &Dataset) -> Info {
    let m = &dataset.matrix;
    let means = m.model_means();
    let lo = means.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = means.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    Info {
        models: m.n_models(),
        items: m.n_items(),
        missing_fraction: m.missing_fraction(),
        kind: m.kind(),
        mean: m.mean(),
        groups: m.group_counts(),
        format: match dataset.format {
            Format::Wide => "wide",
            Format::Long => "long",
            Format::Json => "json",
            Format::LmEval => "lm-eval",
        },
        model_mean_range: [lo, hi],
        warnings: dataset.warnings.clone(),
    }
}
