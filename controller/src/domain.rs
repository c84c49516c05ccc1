//! Which domain a Route's hosts live under, following Knative's `config-domain`
//! ConfigMap (namespace `knative-serving`): every data key is a domain, its value an
//! optional `selector:` of labels the Route must carry. The most specific matching
//! selector wins (ties go to the alphabetically first domain, as in Knative); a
//! selector-less key is a default, and `example.com` is the default when no key is.
//! Routes labelled `networking.knative.dev/visibility: cluster-local` always live
//! under `svc.cluster.local`.
//!
//! [`DomainConfig`] and [`domain_for`] are pure; [`DomainSource`] keeps the live,
//! last valid configuration as the ConfigMap's watch events arrive.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Deserialize;

pub use crate::config_map::CONFIG_MAP_NAMESPACE;
use crate::config_map::{ConfigMapConfig, ConfigMapSource, EXAMPLE_KEY};

/// The live `config-domain`.
pub type DomainSource = ConfigMapSource<DomainConfig>;

pub const CONFIG_MAP_NAME: &str = "config-domain";
pub const DEFAULT_DOMAIN: &str = "example.com";
/// The domain of `cluster-local` Routes (Knative: `svc.` + the cluster domain).
pub const CLUSTER_LOCAL_DOMAIN: &str = "svc.cluster.local";
pub const VISIBILITY_LABEL: &str = "networking.knative.dev/visibility";
pub const VISIBILITY_CLUSTER_LOCAL: &str = "cluster-local";

/// Domains and the label selectors that choose them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainConfig {
    /// Domain → required labels (all must match; empty = matches every Route).
    domains: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("config-domain key {domain:?} is not a label selector: {message}")]
    Selector { domain: String, message: String },
}

/// One value of the ConfigMap: `selector:` followed by `label: value` lines.
// Other keys are ignored, as Knative's YAML decoding does.
#[derive(Debug, Default, Deserialize)]
struct SelectorValue {
    #[serde(default)]
    selector: Option<BTreeMap<String, String>>,
}

// === impl DomainConfig ===

impl ConfigMapConfig for DomainConfig {
    const NAME: &'static str = CONFIG_MAP_NAME;
    type Error = DomainError;

    fn from_data(data: &BTreeMap<String, String>) -> Result<Self, DomainError> {
        Self::from_data(data)
    }
}

impl Default for DomainConfig {
    fn default() -> Self {
        Self {
            domains: BTreeMap::from([(DEFAULT_DOMAIN.to_string(), BTreeMap::new())]),
        }
    }
}

impl DomainConfig {
    /// Parses a `config-domain` data map. A map without a selector-less key still gets
    /// `example.com` as its default, so every Route always has a domain.
    pub fn from_data(data: &BTreeMap<String, String>) -> Result<Self, DomainError> {
        let mut domains = BTreeMap::new();
        for (domain, value) in data {
            if domain == EXAMPLE_KEY {
                continue;
            }
            domains.insert(domain.clone(), parse_selector(domain, value)?);
        }
        if !domains.values().any(BTreeMap::is_empty) {
            domains.insert(DEFAULT_DOMAIN.to_string(), BTreeMap::new());
        }
        Ok(Self { domains })
    }

    pub fn from_config_map(cm: &ConfigMap) -> Result<Self, DomainError> {
        Self::from_data(&cm.data.clone().unwrap_or_default())
    }
}

fn parse_selector(domain: &str, value: &str) -> Result<BTreeMap<String, String>, DomainError> {
    // An empty value is the common "default domain" spelling (`example.org: ""`).
    if value.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let parsed: Option<SelectorValue> =
        serde_saphyr::from_str(value).map_err(|e| DomainError::Selector {
            domain: domain.to_string(),
            message: e.to_string(),
        })?;
    Ok(parsed.and_then(|v| v.selector).unwrap_or_default())
}

// === impl DomainError ===

impl DomainError {
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Selector { .. } => "invalid_domain_selector",
        }
    }
}

/// The domain for a Route with these labels.
pub fn domain_for(config: &DomainConfig, route_labels: &BTreeMap<String, String>) -> String {
    if route_labels.get(VISIBILITY_LABEL).map(String::as_str) == Some(VISIBILITY_CLUSTER_LOCAL) {
        return CLUSTER_LOCAL_DOMAIN.to_string();
    }
    let mut best: Option<(&str, usize)> = None;
    // Sorted iteration plus a strict `>` keeps the alphabetically first among equals.
    for (domain, selector) in &config.domains {
        let matches = selector.iter().all(|(k, v)| route_labels.get(k) == Some(v));
        if matches && best.is_none_or(|(_, specificity)| selector.len() > specificity) {
            best = Some((domain, selector.len()));
        }
    }
    best.map_or_else(|| DEFAULT_DOMAIN.to_string(), |(d, _)| d.to_string())
}

/// Whether hosts under `domain` are reachable only inside the cluster.
pub fn is_cluster_local(domain: &str) -> bool {
    domain == CLUSTER_LOCAL_DOMAIN
}
