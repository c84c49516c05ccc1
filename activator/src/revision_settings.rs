//! What the activator reads from a Revision: how to throttle and reach it, and
//! whether it failed to start. Pure, so the defaults are unit tested.

use std::fmt;
use std::time::Duration;

use crds::Revision;

/// Knative's default `timeoutSeconds`.
pub(crate) const DEFAULT_TIMEOUT: Duration =
    Duration::from_secs(crds::defaults::DEFAULT_TIMEOUT_SECONDS.unsigned_abs());

/// Conditions whose `False` means the revision cannot serve: the runner (or kubelet)
/// reports crashes as `ContainerHealthy`, unrunnable containers and missed progress
/// deadlines as `ResourcesAvailable`.
const FAILURE_CONDITIONS: [&str; 2] = ["ContainerHealthy", "ResourcesAvailable"];

/// How the activator talks to the revision's replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http1,
    /// The container port is named `h2c`: HTTP/2 with prior knowledge.
    H2c,
}

/// The serving knobs of a Revision. Knative Revisions are immutable, so these are
/// read once, when the revision's throttler is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevisionSettings {
    /// Per replica; 0 means unlimited.
    pub(crate) container_concurrency: usize,
    /// From arrival to the end of the response.
    pub(crate) timeout: Duration,
    pub(crate) protocol: Protocol,
    /// The serving port's name, which picks the port out of an EndpointSlice.
    pub(crate) port_name: Option<String>,
}

/// Why a revision cannot start, from its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevisionFailure {
    pub(crate) condition: String,
    pub(crate) reason: String,
    pub(crate) message: String,
}

// === impl RevisionSettings ===

impl RevisionSettings {
    pub(crate) fn of(revision: &Revision) -> Self {
        let spec = &revision.spec;
        let port_name = spec
            .containers
            .first()
            .and_then(|c| c.serving_port())
            .and_then(|p| p.name.clone());
        let protocol = match port_name.as_deref() {
            Some("h2c") => Protocol::H2c,
            _ => Protocol::Http1,
        };
        let timeout = spec
            .timeout_seconds
            .and_then(|t| u64::try_from(t).ok())
            .filter(|&t| t > 0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let container_concurrency = spec
            .container_concurrency
            .and_then(|cc| usize::try_from(cc).ok())
            .unwrap_or(0);
        Self {
            container_concurrency,
            timeout,
            protocol,
            port_name,
        }
    }
}

// === impl RevisionFailure ===

impl RevisionFailure {
    /// The first failure condition that is `False`, if any.
    pub(crate) fn of(revision: &Revision) -> Option<Self> {
        let conditions = revision.status.as_ref()?.conditions.as_deref()?;
        FAILURE_CONDITIONS.iter().find_map(|wanted| {
            let c = conditions
                .iter()
                .find(|c| c.type_ == *wanted && c.status == "False")?;
            Some(Self {
                condition: c.type_.clone(),
                reason: c.reason.clone().unwrap_or_default(),
                message: c.message.clone().unwrap_or_default(),
            })
        })
    }
}

impl fmt::Display for RevisionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = if self.reason.is_empty() {
            &self.condition
        } else {
            &self.reason
        };
        write!(f, "{reason}")?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(json: serde_json::Value) -> Revision {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": json["spec"],
            "status": json["status"],
        }))
        .unwrap()
    }

    #[test]
    fn defaults_are_knatives() {
        let s = RevisionSettings::of(&revision(serde_json::json!({
            "spec": {"containers": [{"image": "x"}]},
        })));
        assert_eq!(s.container_concurrency, 0);
        assert_eq!(s.timeout, Duration::from_secs(300));
        assert_eq!(s.protocol, Protocol::Http1);
        assert_eq!(s.port_name, None);
    }

    #[test]
    fn an_h2c_port_and_explicit_knobs() {
        let s = RevisionSettings::of(&revision(serde_json::json!({
            "spec": {
                "containerConcurrency": 3, "timeoutSeconds": 7,
                "containers": [{"image": "x", "ports": [{"name": "h2c", "containerPort": 9000}]}],
            },
        })));
        assert_eq!(s.container_concurrency, 3);
        assert_eq!(s.timeout, Duration::from_secs(7));
        assert_eq!(s.protocol, Protocol::H2c);
        assert_eq!(s.port_name.as_deref(), Some("h2c"));
    }

    #[test]
    fn a_false_health_condition_is_a_failure_quoting_reason_and_message() {
        let r = revision(serde_json::json!({
            "spec": {"containers": [{"image": "x"}]},
            "status": {"conditions": [
                {"type": "ResourcesAvailable", "status": "Unknown"},
                {"type": "ContainerHealthy", "status": "False", "reason": "ExitCode1",
                 "message": "container user-container exited with code 1: boom"},
            ]},
        }));
        let failure = RevisionFailure::of(&r).unwrap();
        assert_eq!(
            failure.to_string(),
            "ExitCode1: container user-container exited with code 1: boom"
        );
    }

    #[test]
    fn unknown_or_true_conditions_are_not_failures() {
        let r = revision(serde_json::json!({
            "spec": {"containers": [{"image": "x"}]},
            "status": {"conditions": [
                {"type": "ResourcesAvailable", "status": "Unknown", "reason": "Deploying"},
                {"type": "ContainerHealthy", "status": "True"},
            ]},
        }));
        assert_eq!(RevisionFailure::of(&r), None);
    }
}
