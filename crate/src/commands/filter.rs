//! `filter`: SMART filtering — easy, likely contaminated and near-duplicate
//! items removed, each with the evidence.

use serde::Deserialize;

use super::{Files, Role};
use crate::dataset::LoadOptions;
use crate::error::{Error, Result};
use crate::filter::{
    AnswerOnly, ContaminationOptions, DuplicateOptions, EasyOptions, FilterInputs, FilterOptions, FilterReport, ReferenceModels, Vectors, filter,
};
use crate::irt::IrtModel;
use crate::irt::Scale;

/// Filter settings as users give them; each stage runs unless turned off.
#[derive(Debug, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FilterRequest {
    /// Run the easy-item stage.
    #[arg(long = "no-easy", action = clap::ArgAction::SetFalse)]
    pub easy: bool,
    /// The reference models: each task's K strongest by mean score (SMART
    /// uses 7); also the answer-only test's.
    #[arg(long, default_value_t = FilterRequest::default().easy_top_k)]
    pub easy_top_k: usize,
    /// Fraction of those models that must answer correctly (easy and answer-only).
    #[arg(long, default_value_t = FilterRequest::default().easy_min_fraction)]
    pub easy_min_fraction: f64,
    /// A continuous score (a probability of the right answer) counts as
    /// correct at or above this; 0/1 responses are their value.
    #[arg(long, default_value_t = FilterRequest::default().easy_confidence)]
    pub easy_confidence: f64,
    /// IRT rule instead: predicted P(correct) at least this for each of them.
    #[arg(long)]
    pub easy_probability: Option<f64>,
    /// Fraction of each task's easy items to keep (the least easy ones).
    #[arg(long, default_value_t = FilterRequest::default().easy_keep)]
    pub easy_keep: f64,
    /// Run the contamination stage.
    #[arg(long = "no-contamination", action = clap::ArgAction::SetFalse)]
    pub contamination: bool,
    /// Residual-correlation (Q3) threshold (default: the simulated quantile, see --contamination-rate).
    #[arg(long)]
    pub contamination_q3: Option<f64>,
    /// The residual test's false-flag rate on data that follow the fitted model.
    #[arg(long, default_value_t = FilterRequest::default().contamination_rate)]
    pub contamination_rate: f64,
    /// Items an item must share its residual pattern with.
    #[arg(long, default_value_t = FilterRequest::default().contamination_neighbours)]
    pub contamination_neighbours: usize,
    /// Remove the items the residual test flags (by default they are reported only).
    #[arg(long)]
    pub remove_residual_flags: bool,
    /// Drop the residual test's second condition, that an item stand out
    /// from its task (beyond the far-out fence of the task's values).
    #[arg(long = "no-residual-fence", action = clap::ArgAction::SetFalse)]
    pub residual_fence: bool,
    /// Seed of the simulation that sets the default Q3 threshold.
    #[arg(long, default_value_t = FilterRequest::default().seed)]
    pub seed: u64,
    /// Flag items whose items-file 'contamination' score is at least this.
    #[arg(long)]
    pub contamination_score_threshold: Option<f64>,
    /// Run the near-duplicate stage.
    #[arg(long = "no-duplicates", action = clap::ArgAction::SetFalse)]
    pub duplicates: bool,
    /// Cosine at or above which items are duplicates (default: from the data).
    #[arg(long)]
    pub duplicate_threshold: Option<f32>,
    /// No stage removes more than this fraction of a task's items (above it,
    /// the stage keeps them, lists them as flagged and warns).
    #[arg(long, default_value_t = FilterRequest::default().max_removed_fraction)]
    pub max_removed_fraction: f64,
    /// IRT model fitted for the easy rule, the residuals and representatives.
    #[arg(long, default_value_t = FilterRequest::default().irt)]
    pub irt: String,
}

impl Default for FilterRequest {
    fn default() -> Self {
        let (options, easy, contamination) = (FilterOptions::default(), EasyOptions::default(), ContaminationOptions::default());
        FilterRequest {
            easy: true,
            easy_top_k: options.reference.top_k,
            easy_min_fraction: options.reference.min_fraction,
            easy_confidence: options.reference.confidence,
            easy_probability: easy.probability,
            easy_keep: easy.keep_fraction,
            contamination: true,
            contamination_q3: contamination.q3,
            contamination_rate: contamination.rate,
            contamination_neighbours: contamination.neighbours,
            remove_residual_flags: contamination.remove_flagged,
            residual_fence: contamination.fence,
            seed: contamination.seed,
            contamination_score_threshold: contamination.score_threshold,
            duplicates: true,
            duplicate_threshold: DuplicateOptions::default().threshold,
            max_removed_fraction: options.max_removed_fraction,
            irt: options.irt.as_str().into(),
        }
    }
}

/// The responses; the items file gives tasks, texts, the optional
/// `contamination` column and the embeddings' row order; answer-only
/// responses (the items prompted without their questions); a reference
/// ranking to correlate with.
pub const FILES: &[Role] = &[Role::Responses, Role::Items, Role::Models, Role::AnswerOnly, Role::Embeddings, Role::Reference];

impl FilterRequest {
    pub fn to_options(&self) -> Result<FilterOptions> {
        let options = FilterOptions {
            reference: ReferenceModels { top_k: self.easy_top_k, min_fraction: self.easy_min_fraction, confidence: self.easy_confidence },
            easy: self.easy.then_some(EasyOptions { probability: self.easy_probability, keep_fraction: self.easy_keep }),
            contamination: self.contamination.then_some(ContaminationOptions {
                q3: self.contamination_q3,
                rate: self.contamination_rate,
                neighbours: self.contamination_neighbours,
                seed: self.seed,
                remove_flagged: self.remove_residual_flags,
                fence: self.residual_fence,
                score_threshold: self.contamination_score_threshold,
            }),
            duplicates: self.duplicates.then_some(DuplicateOptions { threshold: self.duplicate_threshold }),
            irt: IrtModel::parse(&self.irt)?,
            max_removed_fraction: self.max_removed_fraction,
            random_draws: FilterOptions::default().random_draws,
        };
        if options.irt == IrtModel::Beta {
            return Err(Error::invalid("the filter's residuals need a Bernoulli model: use rasch, 1pl, 2pl, 3pl or 4pl"));
        }
        options.validate()?;
        Ok(options)
    }
}

/// Answer-only responses aligned with `m`'s items, their models matched to
/// `m`'s by id, scores mapped into [0, 1] as the main matrix's are.
fn answer_only(input: &crate::read::Input, m: &crate::ResponseMatrix) -> Result<AnswerOnly> {
    let loaded = crate::read::read_responses(std::slice::from_ref(input), &Default::default())?;
    let a = loaded.matrix;
    let columns: Vec<Option<usize>> = m.item_ids().iter().map(|id| a.item_ids().iter().position(|x| x == id)).collect();
    if columns.iter().all(Option::is_none) {
        return Err(Error::invalid(format!("{}: none of its items is among the responses' items", crate::error::truncate(input.name, 80))));
    }
    let scale = match a.kind() {
        crate::matrix::Kind::Binary => Scale::Identity,
        crate::matrix::Kind::Continuous => Scale::detect(&a),
    };
    let models = (0..a.n_models())
        .map(|j| {
            let row = m.model_ids().iter().position(|id| *id == a.model_ids()[j]);
            let scores = columns.iter().map(|c| c.and_then(|c| a.get(j, c)).map_or(f32::NAN, |v| scale.apply(v as f64) as f32)).collect();
            (row, scores)
        })
        .collect();
    Ok(AnswerOnly { models })
}

/// The filter on the files.
pub fn run(files: &Files, load: &LoadOptions, request: &FilterRequest) -> Result<FilterReport> {
    let options = request.to_options()?;
    files.check("filter", FILES)?;
    let dataset = files.load(load)?;
    let m = &dataset.matrix;
    let max = crate::read::DEFAULT_MAX_BYTES;
    let position: std::collections::HashMap<&str, usize> = m.item_ids().iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut inputs = FilterInputs::default();
    let mut warnings = dataset.warnings.clone();
    if let Some(items) = files.one(Role::Items) {
        if let Some((ids, values)) = crate::read::read_item_column(&items, &["contamination", "contamination_score", "contaminated"], max)? {
            let mut scores = vec![None; m.n_items()];
            for (id, v) in ids.iter().zip(values) {
                if let Some(&i) = position.get(id.as_str()) {
                    scores[i] = v;
                }
            }
            inputs.contamination_scores = Some(scores);
        }
    }
    if options.duplicates.is_some() {
        match files.one(Role::Embeddings) {
            Some(input) => {
                let e = crate::read::read_embeddings(&input, max)?;
                let order = match (&e.ids, files.one(Role::Items)) {
                    (None, Some(items)) => Some(crate::read::read_item_texts(&items, max)?.0),
                    _ => None,
                };
                let ids = e.row_ids(input.name, order.as_deref(), "the items file")?;
                let mut v = Vectors { data: vec![0.0; m.n_items() * e.dims], dims: e.dims, has_vector: vec![false; m.n_items()], features: "embeddings" };
                for (r, id) in ids.iter().enumerate() {
                    if let Some(&i) = position.get(id.as_str()) {
                        v.data[i * e.dims..(i + 1) * e.dims].copy_from_slice(e.row(r));
                        v.has_vector[i] = true;
                    }
                }
                let missing = v.has_vector.iter().filter(|h| !**h).count();
                if missing > 0 {
                    warnings.push(format!("{missing} item(s) have no embedding row and take no part in the duplicate stage"));
                }
                inputs.vectors = Some(v);
            }
            None => {
                let texts = &m.items().text;
                if texts.iter().any(|t| t.as_deref().is_some_and(|t| !t.trim().is_empty())) {
                    let refs: Vec<&str> = (0..m.n_items()).map(|i| texts.get(i).and_then(|t| t.as_deref()).unwrap_or("")).collect();
                    let has_vector = refs.iter().map(|t| !t.trim().is_empty()).collect();
                    inputs.vectors =
                        Some(Vectors { data: crate::similar::text::features(&refs), dims: crate::similar::text::DIMS, has_vector, features: "hashed-ngrams" });
                }
            }
        }
    }
    if let Some(a) = files.one(Role::AnswerOnly) {
        inputs.answer_only = Some(answer_only(&a, m)?);
    }
    if let Some(r) = files.one(Role::Reference) {
        inputs.reference = Some(crate::read::read_reference_ranking(&r, m.model_ids(), max)?);
    }
    let mut report = filter(m, &inputs, &options)?;
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_request_defaults() {
        assert_eq!(super::super::clap_defaults::<FilterRequest>(), FilterRequest::default());
        assert_eq!(FilterRequest::default().to_options().unwrap(), FilterOptions::default());
    }
}
