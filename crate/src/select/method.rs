//! The selection methods by name: what each needs and whether a seed
//! changes its subset.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Random,
    Stratified,
    IrtInfo,
    IrtCluster,
    AnchorPoints,
    MetricAvg,
    MetricVar,
    MetricCons,
    MetricBalance,
    Diversity,
    Kcenter,
    Dpp,
    Metabench,
    ForwardSelection,
    /// Not a subset: each model's items chosen as it answers (see
    /// `adaptive`); `evaluate` replays held-out models through it, and
    /// `select` refuses it.
    Adaptive,
}

impl Method {
    pub const ALL: [Method; 15] = [
        Method::Random,
        Method::Stratified,
        Method::IrtInfo,
        Method::IrtCluster,
        Method::AnchorPoints,
        Method::MetricAvg,
        Method::MetricVar,
        Method::MetricCons,
        Method::MetricBalance,
        Method::Diversity,
        Method::Kcenter,
        Method::Dpp,
        Method::Metabench,
        Method::ForwardSelection,
        Method::Adaptive,
    ];

    /// What `evaluate` runs when no methods are named: the methods that need
    /// nothing beyond the responses and are not subsumed by another.
    pub const DEFAULT_EVALUATE: [Method; 5] = [Method::Random, Method::Stratified, Method::IrtInfo, Method::IrtCluster, Method::AnchorPoints];

    pub fn parse(name: &str) -> Result<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name.trim()).ok_or_else(|| {
            Error::invalid(format!("unknown method '{}': expected one of {}", crate::error::truncate(name, 30), Method::ALL.map(|m| m.as_str()).join(", ")))
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Random => "random",
            Method::Stratified => "stratified",
            Method::IrtInfo => "irt-info",
            Method::IrtCluster => "irt-cluster",
            Method::AnchorPoints => "anchor-points",
            Method::MetricAvg => "metric-avg",
            Method::MetricVar => "metric-var",
            Method::MetricCons => "metric-cons",
            Method::MetricBalance => "metric-balance",
            Method::Diversity => "diversity",
            Method::Kcenter => "kcenter",
            Method::Dpp => "dpp",
            Method::Metabench => "metabench",
            Method::ForwardSelection => "forward-selection",
            Method::Adaptive => "adaptive",
        }
    }

    /// Whether the method needs an IRT fit of the training models.
    pub fn needs_irt(self) -> bool {
        matches!(self, Method::IrtInfo | Method::IrtCluster | Method::Metabench | Method::Adaptive)
    }

    /// Whether the seed changes the subset.
    pub fn is_seeded(self) -> bool {
        !matches!(
            self,
            Method::IrtInfo
                | Method::MetricAvg
                | Method::MetricVar
                | Method::MetricCons
                | Method::MetricBalance
                | Method::Diversity
                | Method::Dpp
                | Method::Metabench
                | Method::Adaptive
        )
    }
}
