//! `info`: the summary a user checks before anything else.

use serde::Deserialize;

use super::{Files, Role};
use crate::dataset::LoadOptions;
use crate::error::Result;
use crate::info::Info;

/// `info` takes no options beyond how to read the files.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct InfoRequest {}

pub const FILES: &[Role] = &[Role::Responses, Role::Items, Role::Models];

pub fn run(files: &Files, load: &LoadOptions, _request: &InfoRequest) -> Result<Info> {
    files.check("info", FILES)?;
    Ok(crate::info::info(&files.load(load)?))
}
