//! `adapt`: one round of an adaptive test — the answers so far in, the
//! state and the next items out.

use serde::{Deserialize, Serialize};

use super::{Files, Role};
use crate::adaptive::{AdaptiveOptions, AdaptiveState, AdaptiveTest, StartRule, StopRules};
use crate::dataset::{Dataset, DatasetFiles, LoadOptions};
use crate::error::{Error, Result, truncate};
use crate::estimate::Estimator;
use crate::irt::scoring::ThetaMethod;
use crate::matrix::MatrixBuilder;

#[derive(Debug, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AdaptRequest {
    /// How many items to ask next.
    #[arg(long, default_value_t = AdaptRequest::default().batch)]
    pub batch: usize,
    /// Stop once θ's standard error is at most this.
    #[arg(long)]
    pub target_se: Option<f64>,
    /// Stop once the full score's 95% interval is at most ± this (on the scores' scale).
    #[arg(long)]
    pub target_half_width: Option<f64>,
    /// Stop after this many items.
    #[arg(long)]
    pub max_items: Option<usize>,
    /// Stop once θ moved by less than this over the last batch.
    #[arg(long)]
    pub min_change: Option<f64>,
    /// Draw each item at random among this many of the most informative
    /// (exposure control; 1 takes the most informative).
    #[arg(long, default_value_t = AdaptRequest::default().randomesque)]
    pub randomesque: usize,
    /// The share of items drawn at random from the bank instead (evenly
    /// spaced through the test): their residuals correct the pirt score
    /// for how far the fit misdescribes the model.
    #[arg(long, default_value_t = AdaptRequest::default().explore)]
    pub explore: f64,
    /// Seed of the randomesque draw.
    #[arg(long, default_value_t = AdaptRequest::default().seed)]
    pub seed: u64,
    /// Comma-separated item ids never to ask.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Keep each item group (the items file's task, else subject) at its
    /// share of the bank.
    #[arg(long)]
    pub balance: bool,
    /// How θ is estimated: eap (posterior mean) or map (posterior mode), under N(0, 1).
    #[arg(long, default_value_t = AdaptRequest::default().theta)]
    pub theta: String,
    /// The first items before any answer: information (at θ = 0) or median (difficulty).
    #[arg(long, default_value_t = AdaptRequest::default().start)]
    pub start: String,
    /// The full score at θ: pirt (observed scores where answered) or irt.
    #[arg(long, default_value_t = AdaptRequest::default().estimator)]
    pub estimator: String,
    /// Whose answers, when the answers file holds several models.
    #[arg(long)]
    pub model: Option<String>,
    /// Simulate: the answers are the model's recorded responses to the
    /// whole bank, and the test is run on them until a stop rule holds
    /// (items it has no response to are skipped). Leave the model out of the
    /// fit for an honest replay.
    #[arg(long)]
    pub replay: bool,
}

impl Default for AdaptRequest {
    fn default() -> Self {
        AdaptRequest {
            batch: 1,
            target_se: None,
            target_half_width: None,
            max_items: None,
            min_change: None,
            randomesque: 1,
            explore: 0.0,
            seed: 0,
            exclude: Vec::new(),
            balance: false,
            theta: "eap".into(),
            start: "information".into(),
            estimator: Estimator::Pirt.as_str().into(),
            model: None,
            replay: false,
        }
    }
}

/// The fit (the item bank), the answers so far (any response format; none
/// at the start), and an items file for texts and groups.
pub const FILES: &[Role] = &[Role::Fit, Role::Responses, Role::Items];

/// An item to ask next.
#[derive(Debug, Clone, Serialize)]
pub struct NextItem {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Fisher information at the current θ.
    pub information: f64,
}

/// One answer as the test used it.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub id: String,
    pub score: f64,
}

/// The test after the answers so far, and what to ask next.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Adaptation {
    /// Whose answers were read (absent at the start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub theta_method: &'static str,
    pub estimator: &'static str,
    pub items_in_bank: usize,
    /// The current state: θ, its SE, the full score with its interval, and
    /// why the test stopped (null while it goes on).
    pub state: AdaptiveState,
    /// The state before any answer, then after each.
    pub history: Vec<AdaptiveState>,
    pub answers: Vec<Answer>,
    /// Up to `batch` items to ask next (none once stopped).
    pub next: Vec<NextItem>,
    /// In a replay: the model's mean over every recorded answer on the
    /// fit's items, its full score to compare the estimate with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_mean: Option<f64>,
}

impl AdaptRequest {
    fn options(&self) -> Result<AdaptiveOptions> {
        let theta = match self.theta.trim() {
            "eap" => ThetaMethod::Eap,
            "map" => ThetaMethod::Map,
            other => return Err(Error::invalid(format!("unknown θ method '{}': expected eap or map", truncate(other, 20)))),
        };
        Ok(AdaptiveOptions {
            theta,
            estimator: Estimator::parse(&self.estimator)?,
            batch: self.batch,
            randomesque: self.randomesque,
            explore: self.explore,
            seed: self.seed,
            start: StartRule::parse(&self.start)?,
            stop: StopRules { target_se: self.target_se, target_half_width: self.target_half_width, max_items: self.max_items, min_change: self.min_change },
        })
    }
}

/// The adaptive test over the fit, given the answers so far; warnings say
/// what of the files was not used.
pub fn run(files: &Files, load: &LoadOptions, request: &AdaptRequest) -> Result<(Adaptation, Vec<String>)> {
    files.check("adapt", FILES)?;
    let fit = files.fit()?.ok_or_else(|| Error::invalid("give the fit file of the item bank (benchsift fit writes it; in JS, the `fit` option)"))?;
    let options = request.options()?;
    let ids = &fit.item_ids;
    let index: std::collections::HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut warnings = Vec::new();
    // The items file, read against the fit's items.
    let (texts, groups) = match files.one(Role::Items) {
        None => (Vec::new(), Vec::new()),
        Some(input) => {
            let mut bank = MatrixBuilder::new(ids.clone()).into_matrix();
            warnings.extend(crate::read::read_items(&input, &mut bank, crate::read::ReadOptions::default().max_bytes)?);
            (bank.items().text.clone(), bank.items().group.clone())
        }
    };
    if request.balance && groups.iter().all(Option::is_none) {
        return Err(Error::invalid("content balancing needs item groups: give an items file with a task or subject column"));
    }
    let mut excluded = Vec::with_capacity(request.exclude.len());
    for id in request.exclude.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        excluded.push(*index.get(id).ok_or_else(|| Error::invalid(format!("excluded item '{}' is not in the fit", truncate(id, 60))))?);
    }
    let mut test = AdaptiveTest::new(&fit, options, request.balance.then_some(groups.as_slice()), &excluded)?;
    let mut recorded_mean = None;
    let model = match files.one(Role::Responses) {
        None if request.replay => return Err(Error::invalid("a replay needs the model's recorded answers (a responses file)")),
        None => None,
        Some(_) => {
            let dataset = Dataset::load(&DatasetFiles { responses: files.all(Role::Responses), items: None, models: None }, load)?;
            warnings.extend(dataset.warnings);
            let m = &dataset.matrix;
            let row = match &request.model {
                Some(name) => m
                    .model_ids()
                    .iter()
                    .position(|id| id == name)
                    .ok_or_else(|| Error::invalid(format!("model '{}' is not in the answers (it has {})", truncate(name, 60), preview(m.model_ids()))))?,
                None if m.n_models() == 1 => 0,
                None => {
                    return Err(Error::invalid(format!(
                        "the answers hold {} models ({}): name one with --model (in JS, `model`)",
                        m.n_models(),
                        preview(m.model_ids())
                    )));
                }
            };
            let answer_name = files.one(Role::Responses).map_or("answers", |r| r.name);
            let located = |e: Error| Error::invalid(format!("{}: {e}", truncate(answer_name, 80)));
            let mut unknown = Vec::new();
            // The model's answers by the fit's item index.
            let mut recorded: Vec<Option<f64>> = vec![None; ids.len()];
            for (k, x) in m.row(row) {
                let id = &m.item_ids()[k];
                match index.get(id.as_str()) {
                    Some(&i) if request.replay => recorded[i] = Some(f64::from(x)),
                    Some(&i) => {
                        test.record(i, f64::from(x)).map_err(located)?;
                    }
                    None => unknown.push(id.clone()),
                }
            }
            if request.replay {
                let known: Vec<f64> = recorded.iter().flatten().copied().collect();
                recorded_mean = (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64);
                if test.options().stop == StopRules::default() {
                    return Err(Error::invalid("a replay needs a stop rule (a target SE or half-width, a maximum number of items, or a minimum change)"));
                }
                test = crate::adaptive::replay(test, |i| recorded[i]).map_err(located)?;
            }
            if !unknown.is_empty() {
                warnings.push(format!("{}: {} answered item(s) not in the fit were ignored: {}", truncate(answer_name, 80), unknown.len(), preview(&unknown)));
            }
            Some(m.model_ids()[row].clone())
        }
    };
    let next = test
        .next(request.batch)
        .into_iter()
        .map(|p| NextItem {
            id: ids[p.item].clone(),
            text: texts.get(p.item).cloned().flatten(),
            group: groups.get(p.item).cloned().flatten(),
            information: p.information,
        })
        .collect();
    let theta_method = if test.options().theta == ThetaMethod::Map { "map" } else { "eap" };
    Ok((
        Adaptation {
            model,
            theta_method,
            estimator: test.options().estimator.as_str(),
            items_in_bank: ids.len(),
            state: test.state(),
            history: test.history().to_vec(),
            answers: test.answers().iter().map(|&(i, score)| Answer { id: ids[i].clone(), score }).collect(),
            next,
            recorded_mean,
        },
        warnings,
    ))
}

fn preview(ids: &[String]) -> String {
    let shown: Vec<String> = ids.iter().take(3).map(|s| format!("'{}'", truncate(s, 40))).collect();
    if ids.len() > 3 { format!("{}, …", shown.join(", ")) } else { shown.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_request_defaults() {
        assert_eq!(super::super::clap_defaults::<AdaptRequest>(), AdaptRequest::default());
    }
}
