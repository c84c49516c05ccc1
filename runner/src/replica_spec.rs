//! What one replica runs: the local-process reading of a pod template's container.

use std::path::PathBuf;
use std::time::Duration;

/// How to run one replica. Plain data; the Deployment watch builds it from the
/// pod template's container (env already resolved to literal values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaSpec {
    /// argv[0..]: the container's `command`. Required: with no image to supply an
    /// entrypoint, a container without a command has nothing to run locally.
    pub command: Vec<String>,
    /// The container's `args`, appended after `command`.
    pub args: Vec<String>,
    /// Resolved `env`, applied over the runner's own environment in order.
    /// `PORT` is always overwritten with the replica's allocated port.
    pub env: Vec<(String, String)>,
    /// The container's `workingDir`; `None` keeps the runner's directory.
    pub working_dir: Option<PathBuf>,
    pub readiness: ReadinessProbe,
    /// SIGTERM-to-SIGKILL delay on stop (`terminationGracePeriodSeconds`).
    pub termination_grace_period: Duration,
}

/// A readiness probe with Kubernetes' knobs and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadinessProbe {
    pub action: ProbeAction,
    /// Interval between probes once the replica has been ready once. Before
    /// that the runner probes far more often (see `probe::startup_interval`).
    pub period: Duration,
    pub timeout: Duration,
    /// Consecutive successes needed to become ready.
    pub success_threshold: u32,
    /// Consecutive failures needed to become unready.
    pub failure_threshold: u32,
}

/// What a probe does. A `None` port means the replica's allocated port, which is
/// what a pod template's container port turns into locally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeAction {
    /// `GET path` on 127.0.0.1; any status in 200..=399 is a success.
    HttpGet {
        path: String,
        port: Option<u16>,
        headers: Vec<(String, String)>,
    },
    /// A TCP connect to 127.0.0.1 succeeds.
    TcpSocket { port: Option<u16> },
}

/// Why a [`ReplicaSpec`] cannot be run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error(
        "container has no command: a replica runs as a local process, so the container \
         must set `command` (there is no image entrypoint to fall back on)"
    )]
    MissingCommand,
    #[error("readiness probe {0} must be at least 1")]
    ZeroThreshold(&'static str),
    #[error("readiness probe {0} must be greater than zero")]
    ZeroDuration(&'static str),
    #[error("readiness probe HTTP path {0:?} must be an absolute path starting with '/'")]
    RelativeProbePath(String),
    #[error("readiness probe HTTP header {0:?} is not a valid header")]
    InvalidProbeHeader(String),
}

// === impl ReplicaSpec ===

impl ReplicaSpec {
    /// Kubernetes' default `terminationGracePeriodSeconds`.
    pub const DEFAULT_TERMINATION_GRACE_PERIOD: Duration = Duration::from_secs(30);

    /// A spec running `command` with defaults everywhere else (TCP readiness on
    /// the replica's port, 30 s grace period).
    pub fn new(command: Vec<String>) -> Result<Self, SpecError> {
        let spec = Self {
            command,
            args: Vec::new(),
            env: Vec::new(),
            working_dir: None,
            readiness: ReadinessProbe::default(),
            termination_grace_period: Self::DEFAULT_TERMINATION_GRACE_PERIOD,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks what the supervisor relies on; fields are public, so the
    /// supervisor calls this again before accepting a spec.
    pub fn validate(&self) -> Result<(), SpecError> {
        match self.command.first() {
            Some(program) if !program.is_empty() => {}
            _ => return Err(SpecError::MissingCommand),
        }
        self.readiness.validate()
    }
}

// === impl ReadinessProbe ===

impl ReadinessProbe {
    fn validate(&self) -> Result<(), SpecError> {
        if self.success_threshold == 0 {
            return Err(SpecError::ZeroThreshold("successThreshold"));
        }
        if self.failure_threshold == 0 {
            return Err(SpecError::ZeroThreshold("failureThreshold"));
        }
        if self.period.is_zero() {
            return Err(SpecError::ZeroDuration("period"));
        }
        if self.timeout.is_zero() {
            return Err(SpecError::ZeroDuration("timeout"));
        }
        if let ProbeAction::HttpGet { path, headers, .. } = &self.action {
            if !path.starts_with('/') || hyper::Uri::try_from(path.as_str()).is_err() {
                return Err(SpecError::RelativeProbePath(path.clone()));
            }
            for (name, value) in headers {
                if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                    || hyper::header::HeaderValue::from_str(value).is_err()
                {
                    return Err(SpecError::InvalidProbeHeader(name.clone()));
                }
            }
        }
        Ok(())
    }
}

impl Default for ReadinessProbe {
    /// Kubernetes' probe defaults (period 10 s, timeout 1 s, thresholds 1 and 3)
    /// with a TCP check of the replica's port, which is what Knative does for a
    /// container without an explicit readiness probe.
    fn default() -> Self {
        Self {
            action: ProbeAction::TcpSocket { port: None },
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success_threshold: 1,
            failure_threshold: 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_command_is_refused_with_a_reason() {
        let err = ReplicaSpec::new(vec![]).unwrap_err();
        assert_eq!(err, SpecError::MissingCommand);
        assert!(err.to_string().contains("must set `command`"));
        assert_eq!(
            ReplicaSpec::new(vec![String::new()]).unwrap_err(),
            SpecError::MissingCommand
        );
    }

    #[test]
    fn defaults_follow_kubernetes() {
        let spec = ReplicaSpec::new(vec!["true".into()]).unwrap();
        assert_eq!(spec.termination_grace_period, Duration::from_secs(30));
        assert_eq!(spec.readiness.action, ProbeAction::TcpSocket { port: None });
        assert_eq!(spec.readiness.failure_threshold, 3);
    }

    #[test]
    fn bad_probes_are_refused() {
        let mut spec = ReplicaSpec::new(vec!["true".into()]).unwrap();
        spec.readiness.success_threshold = 0;
        assert_eq!(
            spec.validate(),
            Err(SpecError::ZeroThreshold("successThreshold"))
        );
        spec.readiness.success_threshold = 1;
        spec.readiness.action = ProbeAction::HttpGet {
            path: "healthz".into(),
            port: None,
            headers: vec![],
        };
        assert!(matches!(
            spec.validate(),
            Err(SpecError::RelativeProbePath(_))
        ));
    }
}
