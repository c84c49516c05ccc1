//! The local-process reading of a Deployment's pod template: its first
//! container becomes a [`ReplicaSpec`]. Pure; ConfigMap and Secret data come
//! in as [`EnvSources`].

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::env_sources::{self, EnvError, EnvSources};
use crate::replica_spec::{ProbeAction, ReadinessProbe, ReplicaSpec, SpecError};

/// The container port when the container declares none (Knative's default).
pub(crate) const DEFAULT_CONTAINER_PORT: i32 = 8080;

/// Why a Deployment's pod template cannot run as local processes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum TemplateError {
    #[error("the pod template has no containers")]
    NoContainer,
    #[error(
        "container {0} has no command: fnmesh runs containers as local processes, so the \
         container must set `command` (there is no image entrypoint to fall back on)"
    )]
    NotRunnable(String),
    #[error("container {container}: {source}")]
    Env {
        container: String,
        #[source]
        source: EnvError,
    },
    #[error("container {container}: {source}")]
    Invalid {
        container: String,
        #[source]
        source: SpecError,
    },
}

// === impl TemplateError ===

impl TemplateError {
    /// The `ReplicaFailure` condition reason.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::NoContainer | Self::NotRunnable(_) => "ContainerNotRunnable",
            Self::Env { .. } => "CreateContainerConfigError",
            Self::Invalid { .. } => "InvalidSpec",
        }
    }
}

/// The container the runner runs: the template's first.
pub(crate) fn first_container(deployment: &Deployment) -> Option<&Container> {
    deployment.spec.template.spec.as_ref()?.containers.first()
}

/// The port the container says it listens on; each replica gets its own
/// loopback port in its place.
pub(crate) fn container_port(container: &Container) -> i32 {
    container
        .ports
        .iter()
        .flatten()
        .next()
        .map_or(DEFAULT_CONTAINER_PORT, |p| p.container_port)
}

/// What to run for `deployment`, with env references answered by `sources`.
pub(crate) fn replica_spec(
    deployment: &Deployment,
    sources: &EnvSources,
) -> Result<ReplicaSpec, TemplateError> {
    let container = first_container(deployment).ok_or(TemplateError::NoContainer)?;
    let command = container.command.clone().unwrap_or_default();
    if command.first().is_none_or(String::is_empty) {
        return Err(TemplateError::NotRunnable(container.name.clone()));
    }
    let name = deployment.metadata.name.as_deref().unwrap_or_default();
    let namespace = deployment
        .metadata
        .namespace
        .as_deref()
        .unwrap_or("default");
    let env = env_sources::resolve(container, sources, name, namespace).map_err(|source| {
        TemplateError::Env {
            container: container.name.clone(),
            source,
        }
    })?;
    let grace = deployment
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds);
    let spec = ReplicaSpec {
        command,
        args: container.args.clone().unwrap_or_default(),
        env,
        working_dir: container
            .working_dir
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(PathBuf::from),
        readiness: readiness(container),
        termination_grace_period: grace
            .map_or(ReplicaSpec::DEFAULT_TERMINATION_GRACE_PERIOD, |s| {
                Duration::from_secs(u64::try_from(s).unwrap_or(0))
            }),
    };
    spec.validate().map_err(|source| TemplateError::Invalid {
        container: container.name.clone(),
        source,
    })?;
    Ok(spec)
}

/// The readiness probe; without one (or with an `exec`/`grpc` probe the
/// runner cannot perform) a TCP check of the replica's port, as Knative does.
fn readiness(container: &Container) -> ReadinessProbe {
    let defaults = ReadinessProbe::default();
    let Some(probe) = &container.readiness_probe else {
        return defaults;
    };
    let action = if let Some(get) = &probe.http_get {
        ProbeAction::HttpGet {
            path: get
                .path
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/".into()),
            port: probe_port(container, &get.port),
            headers: get
                .http_headers
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        }
    } else if let Some(tcp) = &probe.tcp_socket {
        ProbeAction::TcpSocket {
            port: probe_port(container, &tcp.port),
        }
    } else {
        tracing::debug!(container = %container.name, "probe kind not supported locally; using TCP");
        defaults.action.clone()
    };
    ReadinessProbe {
        action,
        period: seconds(probe.period_seconds).unwrap_or(defaults.period),
        timeout: seconds(probe.timeout_seconds).unwrap_or(defaults.timeout),
        success_threshold: positive(probe, |p| p.success_threshold)
            .unwrap_or(defaults.success_threshold),
        failure_threshold: positive(probe, |p| p.failure_threshold)
            .unwrap_or(defaults.failure_threshold),
    }
}

/// `None` (the replica's own port) for port 0, the container port or its
/// name; a fixed port otherwise.
fn probe_port(container: &Container, port: &IntOrString) -> Option<u16> {
    let main = container_port(container);
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map_or(main, |p| p.container_port),
    };
    if number == 0 || number == main {
        None
    } else {
        u16::try_from(number).ok()
    }
}

fn seconds(value: Option<i32>) -> Option<Duration> {
    let secs = u64::try_from(value?).ok().filter(|&s| s > 0)?;
    Some(Duration::from_secs(secs))
}

fn positive(probe: &Probe, field: impl Fn(&Probe) -> Option<i32>) -> Option<u32> {
    u32::try_from(field(probe)?).ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests;
