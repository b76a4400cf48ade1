//! Where a computation ran and why, and where the user asks it to run:
//! shared by the IRT fit, the cosine search and their GPU paths, so none of
//! them has to import another for it.

use serde::{Deserialize, Serialize};

use crate::parallel;

/// Where the numbers were computed, and why there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    /// `cpu` or `gpu`.
    pub device: String,
    pub threads: usize,
    pub reason: String,
}

impl Backend {
    pub fn cpu(reason: &str) -> Backend {
        Backend { device: "cpu".into(), threads: parallel::threads(), reason: reason.into() }
    }

    /// Work done on a GPU, driven from one host thread.
    pub fn gpu(reason: &str) -> Backend {
        Backend { device: "gpu".into(), threads: 1, reason: reason.into() }
    }
}

/// Where the user asks a computation to run: `auto` lets benchsift decide
/// (and say why), `cpu` and `gpu` force one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Auto,
    Cpu,
    Gpu,
}

impl BackendChoice {
    pub fn parse(s: &str) -> crate::error::Result<BackendChoice> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu),
            other => Err(crate::error::Error::invalid(format!("unknown backend '{other}': use auto, cpu or gpu"))),
        }
    }
}

impl std::fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Gpu => "gpu",
        })
    }
}
