//! A Deployment's `status` from what the supervisor reports, with the
//! conditions kube-controller-manager would set (`Available`, `Progressing`)
//! plus `ReplicaFailure` saying why replicas do not run. Pure.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::status::{ReplicaFailure, ReplicaSetStatus};

/// Why a Deployment runs nothing: a `ReplicaFailure` reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Blocked {
    pub(crate) reason: &'static str,
    pub(crate) message: String,
}

/// What the status is computed from.
#[derive(Debug)]
pub(crate) struct Observation<'a> {
    pub(crate) name: &'a str,
    /// The `metadata.generation` the replicas were set from.
    pub(crate) generation: Option<i64>,
    pub(crate) desired: u32,
    /// The rolling update's `maxUnavailable`, resolved against `desired`.
    pub(crate) max_unavailable: u32,
    pub(crate) container: &'a str,
    pub(crate) replicas: &'a ReplicaSetStatus,
    pub(crate) blocked: Option<&'a Blocked>,
}

/// The status to write. Conditions whose status, reason and message are
/// unchanged keep `previous`'s timestamps, so an unchanged observation
/// computes an identical status (and nothing is written).
pub(crate) fn deployment_status(
    obs: &Observation<'_>,
    previous: Option<&DeploymentStatus>,
    now: Timestamp,
) -> DeploymentStatus {
    let rs = obs.replicas;
    let available = rs.ready_replicas;
    let minimum = obs.desired.saturating_sub(obs.max_unavailable);
    let complete = rs.updated_ready_replicas >= obs.desired
        && rs.replicas == rs.updated_replicas
        && obs.blocked.is_none();
    let previous = previous
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    let mut conditions = vec![
        if available >= minimum && obs.blocked.is_none() {
            condition(
                "Available",
                true,
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
            )
        } else {
            condition(
                "Available",
                false,
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            )
        },
        if complete {
            condition(
                "Progressing",
                true,
                "NewReplicaSetAvailable",
                format!("Deployment {:?} has successfully progressed.", obs.name),
            )
        } else {
            condition(
                "Progressing",
                true,
                "ReplicaSetUpdated",
                format!("Deployment {:?} is progressing.", obs.name),
            )
        },
    ];
    if let Some(blocked) = obs.blocked {
        conditions.push(condition(
            "ReplicaFailure",
            true,
            blocked.reason,
            blocked.message.clone(),
        ));
    } else if let Some(failure) = &rs.last_failure
        && rs.updated_ready_replicas == 0
        && obs.desired > 0
    {
        let (reason, message) = failure_condition(obs.container, failure);
        conditions.push(condition("ReplicaFailure", true, &reason, message));
    }
    for c in &mut conditions {
        let stamp = previous
            .iter()
            .find(|p| p.type_ == c.type_ && p.status == c.status)
            .and_then(|p| {
                let same = p.reason == c.reason && p.message == c.message;
                Some((
                    p.last_transition_time.clone()?,
                    same.then(|| p.last_update_time.clone()).flatten(),
                ))
            });
        let (transition, update) = stamp.unwrap_or((Time(now), None));
        c.last_transition_time = Some(transition);
        c.last_update_time = Some(update.unwrap_or(Time(now)));
    }
    DeploymentStatus {
        observed_generation: obs.generation,
        replicas: Some(count(rs.replicas)),
        updated_replicas: Some(count(rs.updated_replicas)),
        ready_replicas: Some(count(rs.ready_replicas)),
        available_replicas: Some(count(available)),
        unavailable_replicas: Some(count(
            obs.desired.max(rs.replicas).saturating_sub(available),
        )),
        terminating_replicas: None,
        collision_count: None,
        conditions: Some(conditions),
    }
}

/// `ExitCode<N>`/`Signal<N>` (or `StartError`) and the contract's message.
pub(crate) fn failure_condition(container: &str, failure: &ReplicaFailure) -> (String, String) {
    let (reason, what) = match (failure.exit_code, failure.signal) {
        (Some(code), _) => (
            format!("ExitCode{code}"),
            format!("exited with code {code}"),
        ),
        (None, Some(signal)) => (
            format!("Signal{signal}"),
            format!("was killed by signal {signal}"),
        ),
        (None, None) => ("StartError".to_owned(), "could not start".to_owned()),
    };
    let message = match failure.last_stderr_line.as_deref() {
        Some(line) => format!("container {container} {what}: {line}"),
        None => format!("container {container} {what}"),
    };
    (reason, message)
}

/// `spec.strategy.rollingUpdate.maxUnavailable` against `desired`
/// (Kubernetes' default 25 %, percentages rounded down).
pub(crate) fn max_unavailable(deployment: &Deployment, desired: u32) -> u32 {
    let value = deployment
        .spec
        .strategy
        .as_ref()
        .filter(|s| s.type_.as_deref() != Some("Recreate"))
        .and_then(|s| s.rolling_update.as_ref()?.max_unavailable.clone())
        .unwrap_or_else(|| IntOrString::String("25%".into()));
    match value {
        IntOrString::Int(n) => u32::try_from(n).unwrap_or(0),
        IntOrString::String(s) => s
            .strip_suffix('%')
            .and_then(|p| p.parse::<u64>().ok())
            .map_or(0, |p| {
                u32::try_from(u64::from(desired) * p / 100).unwrap_or(desired)
            }),
    }
}

fn condition(type_: &str, status: bool, reason: &str, message: String) -> DeploymentCondition {
    DeploymentCondition {
        type_: Some(type_.to_owned()),
        status: Some(if status { "True" } else { "False" }.to_owned()),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: None,
        last_update_time: None,
    }
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests;
