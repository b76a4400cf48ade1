//! `similar`: similar and duplicate items by cosine similarity of embeddings
//! (or built-in hashed n-gram features of the item texts).

use serde::Deserialize;

use super::{Files, Role};
use crate::backend::BackendChoice;
use crate::error::{Error, Result};
use crate::similar::{SimilarInput, SimilarReport};

#[derive(Debug, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SimilarRequest {
    /// Neighbours per item (when no threshold is given).
    #[arg(long, default_value_t = SimilarRequest::default().top_k)]
    pub top_k: usize,
    /// Report every pair with at least this cosine instead.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// auto: a real GPU for large inputs, else the CPU (the output's
    /// `backend` says which and why); cpu or gpu force one.
    #[arg(long, default_value_t = SimilarRequest::default().backend, value_parser = BackendChoice::parse)]
    pub backend: BackendChoice,
}

impl Default for SimilarRequest {
    fn default() -> Self {
        SimilarRequest { top_k: 10, threshold: None, backend: BackendChoice::Auto }
    }
}

/// Item ids (and texts, compared when there are no embeddings) and embeddings.
pub const FILES: &[Role] = &[Role::Items, Role::Embeddings];

/// The vectors to compare, from the files.
pub fn input(files: &Files) -> Result<SimilarInput> {
    files.check("similar", FILES)?;
    SimilarInput::read(files.one(Role::Items).as_ref(), files.one(Role::Embeddings).as_ref())
}

/// The search on the CPU: the synchronous entry point (the GPU one is
/// `gpu::similar`).
pub fn run_cpu(files: &Files, request: &SimilarRequest) -> Result<SimilarReport> {
    let input = input(files)?;
    let reason = match request.backend {
        BackendChoice::Gpu => {
            return Err(Error::invalid(
                "the GPU backend is not available on this path: this build has no gpu feature, or the call is synchronous (use the async GPU entry point)",
            ));
        }
        BackendChoice::Cpu => "the CPU was asked for",
        BackendChoice::Auto => "no GPU path on this entry point",
    };
    input.similar_cpu(request.top_k, request.threshold, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_defaults_are_the_request_defaults() {
        assert_eq!(super::super::clap_defaults::<SimilarRequest>(), SimilarRequest::default());
    }
}
