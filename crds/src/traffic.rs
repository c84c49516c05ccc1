//! `TrafficTarget`: one entry of a Route's (or Service's) traffic split.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficTarget {
    /// Exposes this target on its own host, `{tag}-{route}.{ns}.{domain}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_name: Option<String>,
    /// Float to the configuration's latest ready revision (true) or pin `revisionName` (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_revision: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i64>,
    /// Status only: the tag's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

// === impl TrafficTarget ===

impl TrafficTarget {
    pub fn tag(&self) -> &str {
        self.tag.as_deref().unwrap_or_default()
    }

    pub fn revision_name(&self) -> &str {
        self.revision_name.as_deref().unwrap_or_default()
    }

    pub fn configuration_name(&self) -> &str {
        self.configuration_name.as_deref().unwrap_or_default()
    }
}
