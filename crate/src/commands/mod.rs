//! The commands as their three faces see them — the CLI (`main.rs`), the
//! wasm exports (`wasm.rs`) and through them the JS API — and the one layer
//! between those faces and the statistical core.
//!
//! - **One request type per command** ([`fit::FitRequest`],
//!   [`select::SelectRequest`], …). Its fields are the command's options and
//!   its `Default` is their defaults, each spelled once: clap derives the
//!   CLI's flags from the same struct (a test checks that clap's defaults are
//!   `Default`'s), and the wasm exports deserialise it from the JS option
//!   object, where an unknown key is refused by name ([`parse`]). [`schema`]
//!   lists every request's keys and files for the JS side, and a test holds
//!   `www/lib/types.d.ts` against it.
//! - **One file-role model** ([`Role`], [`Files`]): every input file travels
//!   with its role (responses, items, models, truth, metric scores, …) from
//!   the page's file picker to here, where it is split once.
//! - **One `run` per command**: files + request → the command's result, the
//!   value the CLI prints as JSON and the JS API returns.

pub mod adapt;
pub mod estimate;
pub mod evaluate;
pub mod filter;
pub mod fit;
pub mod info;
pub mod select;
pub mod similar;
pub mod tasks;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::dataset::{Dataset, DatasetFiles, LoadOptions};
use crate::error::{Error, Result};
use crate::read::Input;

/// What an input file is for. `name` is the role on the wire (the wasm
/// exports' `roles` array); `key` is the JS API's option key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The response matrix (several files only for lm-evaluation-harness logs).
    Responses,
    /// Items CSV: ids, texts, groups, costs.
    Items,
    /// Models CSV: ids, release dates.
    Models,
    /// True full-benchmark scores per model.
    Truth,
    /// An automatic metric's scores (metric-* selectors; several for metric-balance).
    Metric,
    /// Model outputs (the diversity selector).
    Outputs,
    /// Item embeddings.
    Embeddings,
    /// An external ranking of the models (the filter's reference).
    Reference,
    /// Responses to the items prompted without their questions (the
    /// filter's answer-only contamination test).
    AnswerOnly,
    /// A subset file written by `select`.
    Subset,
    /// A fit file written by `fit`.
    Fit,
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::Responses,
        Role::Items,
        Role::Models,
        Role::Truth,
        Role::Metric,
        Role::Outputs,
        Role::Embeddings,
        Role::Reference,
        Role::AnswerOnly,
        Role::Subset,
        Role::Fit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Responses => "responses",
            Role::Items => "items",
            Role::Models => "models",
            Role::Truth => "truth",
            Role::Metric => "metric",
            Role::Outputs => "outputs",
            Role::Embeddings => "embeddings",
            Role::Reference => "reference",
            Role::AnswerOnly => "answer-only",
            Role::Subset => "subset",
            Role::Fit => "fit",
        }
    }

    /// The JS API's option key for files of this role (responses are the
    /// first argument instead).
    pub fn key(self) -> &'static str {
        match self {
            Role::Metric => "metricScores",
            Role::Reference => "referenceRanking",
            Role::AnswerOnly => "answerOnly",
            other => other.name(),
        }
    }

    /// Whether a command may take several files of this role.
    pub fn many(self) -> bool {
        matches!(self, Role::Responses | Role::Metric)
    }

    /// Whether the JS API takes this role as a JSON value (an object that
    /// `select` or `fit` returned) rather than as file bytes.
    pub fn json(self) -> bool {
        matches!(self, Role::Subset | Role::Fit)
    }

    /// The name a file of this role gets when the JS API is given bare
    /// bytes or a JSON value (it appears in messages).
    pub fn file_name(self) -> &'static str {
        match self {
            Role::Responses => "responses",
            Role::Items => "items.csv",
            Role::Models => "models.csv",
            Role::Truth => "truth.csv",
            Role::Metric => "metric.csv",
            Role::Outputs => "outputs.csv",
            Role::Embeddings => "embeddings.npy",
            Role::Reference => "ranking.csv",
            Role::AnswerOnly => "answer-only.csv",
            Role::Subset => "subset.json",
            Role::Fit => "fit.json",
        }
    }

    pub fn parse(name: &str) -> Result<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name).ok_or_else(|| Error::invalid(format!("unknown file role '{}'", crate::error::truncate(name, 30))))
    }
}

/// A command's input files, each with its role, in the order given.
#[derive(Debug, Clone, Default)]
pub struct Files<'a> {
    entries: Vec<(Role, Input<'a>)>,
}

impl<'a> Files<'a> {
    pub fn new() -> Self {
        Files::default()
    }

    pub fn push(&mut self, role: Role, input: Input<'a>) {
        self.entries.push((role, input));
    }

    /// Files as the wasm exports receive them: one buffer, with each file's
    /// name, role and length.
    pub fn unpack(names: &'a [String], roles: &[String], lengths: &[u32], data: &'a [u8]) -> Result<Files<'a>> {
        if names.len() != roles.len() || names.len() != lengths.len() {
            return Err(Error::invalid("internal: names, roles and lengths differ in length"));
        }
        let mut files = Files::new();
        let mut offset = 0usize;
        for ((name, role), &len) in names.iter().zip(roles).zip(lengths) {
            let end = offset.checked_add(len as usize).filter(|&end| end <= data.len());
            let bytes = end.map(|end| &data[offset..end]).ok_or_else(|| Error::invalid("internal: file lengths do not add up to the data"))?;
            offset += len as usize;
            files.push(Role::parse(role)?, Input::new(name, bytes));
        }
        if offset != data.len() {
            return Err(Error::invalid("internal: file lengths do not add up to the data"));
        }
        Ok(files)
    }

    /// Refuses files of roles the command does not read, by name: a file
    /// given for nothing is a mistake the user should hear about.
    pub fn check(&self, command: &str, takes: &[Role]) -> Result<()> {
        for (role, input) in &self.entries {
            if !takes.contains(role) {
                let names: Vec<&str> = takes.iter().map(|r| r.name()).collect();
                return Err(Error::invalid(format!(
                    "{command} takes no {} file ('{}'); it takes {}",
                    role.name(),
                    crate::error::truncate(input.name, 60),
                    names.join(", ")
                )));
            }
            if !role.many() && self.all(*role).len() > 1 {
                return Err(Error::invalid(format!("{command} takes one {} file, not {}", role.name(), self.all(*role).len())));
            }
        }
        Ok(())
    }

    /// The first file of `role`.
    pub fn one(&self, role: Role) -> Option<Input<'a>> {
        self.entries.iter().find(|(r, _)| *r == role).map(|(_, i)| *i)
    }

    /// Every file of `role`, in order.
    pub fn all(&self, role: Role) -> Vec<Input<'a>> {
        self.entries.iter().filter(|(r, _)| *r == role).map(|(_, i)| *i).collect()
    }

    /// The response matrix's files.
    pub fn dataset(&self) -> DatasetFiles<'a> {
        DatasetFiles { responses: self.all(Role::Responses), items: self.one(Role::Items), models: self.one(Role::Models) }
    }

    /// The response matrix with its item and model metadata.
    pub fn load(&self, options: &LoadOptions) -> Result<Dataset> {
        if self.one(Role::Responses).is_none() {
            return Err(Error::invalid("no response file given"));
        }
        Dataset::load(&self.dataset(), options)
    }

    /// True full scores of `m`'s models, when a truth file was given: see
    /// [`KnownTruth`].
    pub fn truth(&self, m: &crate::ResponseMatrix) -> Result<Option<KnownTruth>> {
        let Some(input) = self.one(Role::Truth) else { return Ok(None) };
        KnownTruth::new(crate::read::read_truth(&input, m, u64::MAX)?, m).map(Some)
    }

    /// The fit file, read and checked, when one was given.
    pub fn fit(&self) -> Result<Option<crate::irt::IrtFit>> {
        let Some(input) = self.one(Role::Fit) else { return Ok(None) };
        let name = crate::error::truncate(input.name, 80);
        let json: crate::irt::FitJson = serde_json::from_slice(input.bytes).map_err(|e| Error::invalid(format!("{name}: not a fit file: {e}")))?;
        crate::irt::IrtFit::from_json(json).map(Some).map_err(|e| Error::invalid(format!("{name}: {e}")))
    }

    /// The selectors' side inputs for `m`: metric scores, outputs and
    /// embeddings (whose rows follow the items file when they carry no ids).
    pub fn side_data(&self, m: &crate::ResponseMatrix) -> Result<crate::select::SideData> {
        let items = self.one(Role::Embeddings).and(self.one(Role::Items));
        crate::select::SideData::load(m, &self.all(Role::Metric), self.one(Role::Outputs).as_ref(), self.one(Role::Embeddings).as_ref(), items.as_ref())
    }
}

/// A request and the load options from one JS option object: the keys of
/// [`LoadOptions`] go to it, every other key to `T`, which refuses keys it
/// does not know by name. `null` counts as absent (the default). Empty text
/// is an empty object.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<(LoadOptions, T)> {
    let mut map: Map<String, Value> =
        if json.trim().is_empty() { Map::new() } else { serde_json::from_str(json).map_err(|e| Error::invalid(format!("options: {e}")))? };
    map.retain(|_, v| !v.is_null());
    let mut load = Map::new();
    for &key in field_names::<LoadOptions>() {
        if let Some(v) = map.remove(key) {
            load.insert(key.to_string(), v);
        }
    }
    let options_error = |e: serde_json::Error| Error::invalid(format!("options: {e}"));
    let load: LoadOptions = serde_json::from_value(Value::Object(load)).map_err(options_error)?;
    let request: T = serde_json::from_value(Value::Object(map)).map_err(options_error)?;
    Ok((load, request))
}

/// The keys a deserialisable struct accepts, as serde names them (camelCase
/// here): read off its derived `Deserialize`, so they cannot drift from it.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields = None;
    let _ = T::deserialize(probe::Probe(&mut fields));
    fields.unwrap_or(&[])
}

/// A deserializer that records the field list a derived `Deserialize`
/// announces, then stops.
mod probe {
    use serde::de::{self, Visitor};

    #[derive(Debug)]
    pub struct Stop;

    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("probed")
        }
    }

    impl std::error::Error for Stop {}

    impl de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }

    pub struct Probe<'a>(pub &'a mut Option<&'static [&'static str]>);

    impl<'de> de::Deserializer<'de> for Probe<'_> {
        type Error = Stop;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }

        fn deserialize_struct<V: Visitor<'de>>(self, _: &'static str, fields: &'static [&'static str], _: V) -> Result<V::Value, Stop> {
            *self.0 = Some(fields);
            Err(Stop)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
}

/// One command's keys and files, for the JS side.
#[derive(Debug, Clone, Serialize)]
pub struct CommandSchema {
    /// Option keys, the load options' first.
    pub options: Vec<&'static str>,
    /// Roles of the files it takes.
    pub files: Vec<&'static str>,
}

/// A role as the JS side packs it.
#[derive(Debug, Clone, Serialize)]
pub struct RoleSchema {
    pub role: &'static str,
    pub key: &'static str,
    pub many: bool,
    pub json: bool,
    /// The name given to bare bytes or a JSON value.
    pub file: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Schema {
    pub roles: Vec<RoleSchema>,
    pub commands: std::collections::BTreeMap<&'static str, CommandSchema>,
}

fn command<T: DeserializeOwned>(loads: bool, files: &[Role]) -> CommandSchema {
    let mut options: Vec<&'static str> = if loads { field_names::<LoadOptions>().to_vec() } else { Vec::new() };
    options.extend_from_slice(field_names::<T>());
    CommandSchema { options, files: files.iter().map(|r| r.name()).collect() }
}

/// Every command's option keys and file roles, and how each role travels.
pub fn schema() -> Schema {
    let commands = [
        ("info", command::<info::InfoRequest>(true, info::FILES)),
        ("fit", command::<fit::FitRequest>(true, fit::FILES)),
        ("select", command::<select::SelectRequest>(true, select::FILES)),
        ("estimate", command::<estimate::EstimateRequest>(true, estimate::FILES)),
        ("adapt", command::<adapt::AdaptRequest>(true, adapt::FILES)),
        ("evaluate", command::<evaluate::EvaluateRequest>(true, evaluate::FILES)),
        ("similar", command::<similar::SimilarRequest>(false, similar::FILES)),
        ("filter", command::<filter::FilterRequest>(true, filter::FILES)),
        ("selectTasks", command::<tasks::SelectTasksRequest>(true, tasks::FILES)),
    ];
    Schema {
        roles: Role::ALL.iter().map(|&r| RoleSchema { role: r.name(), key: r.key(), many: r.many(), json: r.json(), file: r.file_name() }).collect(),
        commands: commands.into_iter().collect(),
    }
}

/// A request as clap fills it from `args` alone (the flags a command
/// requires, or none), for the tests that its other fields are `Default`'s.
#[cfg(test)]
pub(crate) fn clap_defaults_with<T: clap::Args + clap::FromArgMatches>(args: &[&str]) -> T {
    let command = T::augment_args(clap::Command::new("test").no_binary_name(true));
    let matches = command.try_get_matches_from(args).expect("the flags parse");
    T::from_arg_matches(&matches).expect("a request")
}

#[cfg(test)]
pub(crate) fn clap_defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    clap_defaults_with(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_the_serde_keys() {
        assert_eq!(field_names::<LoadOptions>(), ["format", "metric", "filter", "requireUnitInterval", "maxCells"]);
        assert!(field_names::<select::SelectRequest>().contains(&"costBudget"));
    }

    #[test]
    fn unknown_keys_are_refused_by_name_and_load_keys_split_off() {
        let (load, request): (LoadOptions, select::SelectRequest) = parse(r#"{"format": "wide", "budget": 5, "seed": null}"#).unwrap();
        assert_eq!(load.format.as_deref(), Some("wide"));
        assert_eq!(request.budget, Some(5));
        assert_eq!(request.seed, select::SelectRequest::default().seed);
        let e = parse::<select::SelectRequest>(r#"{"budgett": 5}"#).unwrap_err().to_string();
        assert!(e.starts_with("options: unknown field `budgett`, expected one of"), "{e}");
    }

    #[test]
    fn files_unpack_by_role_and_refuse_what_a_command_does_not_take() {
        let names = vec!["r.csv".to_string(), "e.npy".to_string()];
        let roles = vec!["responses".to_string(), "embeddings".to_string()];
        let files = Files::unpack(&names, &roles, &[3, 2], b"abcde").unwrap();
        assert_eq!(files.one(Role::Responses).unwrap().bytes, b"abc");
        assert_eq!(files.one(Role::Embeddings).unwrap().bytes, b"de");
        let e = files.check("info", info::FILES).unwrap_err().to_string();
        assert_eq!(e, "info takes no embeddings file ('e.npy'); it takes responses, items, models");
        assert!(Files::unpack(&names, &roles, &[3, 3], b"abcde").is_err());
        assert!(Files::unpack(&names, &["responses".into(), "nope".into()], &[3, 2], b"abcde").unwrap_err().to_string().contains("unknown file role 'nope'"));
    }
}

/// The truth file's scores of the models that have one in every column, and
/// the matrix of just those models when that left any out (a leaderboard
/// often knows a full score for only some of its models, or not every
/// benchmark's).
#[derive(Debug, Clone)]
pub struct KnownTruth {
    /// The responses of the models with scores, when some had none.
    pub matrix: Option<crate::ResponseMatrix>,
    /// Those models' rows in the matrix the file was read for.
    pub models: Vec<usize>,
    /// Per model of the matrix the scores are for: the composite.
    pub composite: Vec<f64>,
    /// Per task, when the file had a column per task.
    pub tasks: Option<crate::calibrate::TaskTruth>,
    /// Says which models were left out, when any were.
    pub warning: Option<String>,
}

impl KnownTruth {
    fn new(file: crate::read::TruthFile, m: &crate::ResponseMatrix) -> Result<KnownTruth> {
        let known: Vec<usize> = (0..m.n_models()).filter(|&j| file.rows[j].is_some()).collect();
        let what = if file.columns.len() > 1 { format!("a score for every task ({})", file.columns.join(", ")) } else { "a score".to_string() };
        let lack = if file.columns.len() > 1 { format!("a score for some of the tasks ({})", file.columns.join(", ")) } else { "a score".to_string() };
        if known.len() < 2 {
            return Err(Error::invalid(format!("{}: {} of the {} models of the responses have {what}; at least 2 must", file.name, known.len(), m.n_models())));
        }
        let rows: Vec<&Vec<f64>> = known.iter().map(|&j| file.rows[j].as_ref().expect("known")).collect();
        let tasks = crate::calibrate::TaskTruth::new(file.columns.clone(), (0..file.columns.len()).map(|k| rows.iter().map(|r| r[k]).collect()).collect());
        let composite = match &tasks {
            Some(t) => t.composites(),
            None => rows.iter().map(|r| r[0]).collect(),
        };
        let left_out = m.n_models() - known.len();
        let (matrix, warning) = if left_out == 0 {
            (None, None)
        } else {
            let first = m.model_ids()[(0..m.n_models()).find(|j| file.rows[*j].is_none()).expect("one is left out")].clone();
            let all: Vec<usize> = (0..m.n_items()).collect();
            let warning = format!(
                "{}: {left_out} of the {} models lack {lack} (e.g. '{}'); they are left out, and the other {} are used",
                file.name,
                m.n_models(),
                crate::error::truncate(&first, 40),
                known.len()
            );
            (Some(m.select(&known, &all)), Some(warning))
        };
        Ok(KnownTruth { matrix, models: known, composite, tasks, warning })
    }

    /// `rows` of the matrix the file was read for, as rows of [`Self::matrix`]
    /// (those of models with scores; the rest are left out).
    pub fn rows_among_known(&self, rows: &[usize]) -> Vec<usize> {
        if self.matrix.is_none() {
            return rows.to_vec();
        }
        rows.iter().filter_map(|r| self.models.binary_search(r).ok()).collect()
    }

    /// The composite and tasks as the core takes them.
    pub fn view(&self) -> crate::calibrate::Truth<'_> {
        crate::calibrate::Truth { composite: &self.composite, tasks: self.tasks.as_ref() }
    }
}
