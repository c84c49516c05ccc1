//! A replica's state as the status of its Pod, the way the kubelet reports a
//! container's: phase, conditions, and the container status (`ready`, `started`,
//! `restartCount`, `state` and `lastState`). Pure.

use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ContainerState as K8sContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::replica_state::{ContainerState, ReplicaState, Terminated};

/// Every replica listens on loopback: the Pod's IP and its host's.
pub(crate) const LOOPBACK: &str = "127.0.0.1";

/// The exit code a container that could not start reports (the runtime's).
const START_ERROR_EXIT_CODE: i32 = 128;

/// What the status shows of the container the replica runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ContainerInfo<'a> {
    pub(crate) name: &'a str,
    pub(crate) image: &'a str,
}

/// The status of `pod`, the Pod of `replica`.
pub(crate) fn pod_status(
    replica: &ReplicaState,
    container: ContainerInfo<'_>,
    pod: &str,
) -> PodStatus {
    let created = Some(Time(replica.created_at));
    let ready_since = Some(Time(replica.ready_changed_at));
    let ready = replica.ready && !replica.stopping;
    let (reason, message) = if ready {
        (None, None)
    } else {
        (
            Some("ContainersNotReady".to_owned()),
            Some(format!(
                "containers with unready status: [{}]",
                container.name
            )),
        )
    };
    let condition = |type_: &str,
                     status: bool,
                     at: &Option<Time>,
                     reason: &Option<String>,
                     message: &Option<String>| PodCondition {
        type_: type_.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        last_transition_time: at.clone(),
        reason: reason.clone(),
        message: message.clone(),
        ..PodCondition::default()
    };
    let conditions = vec![
        condition("Initialized", true, &created, &None, &None),
        condition("Ready", ready, &ready_since, &reason, &message),
        condition("ContainersReady", ready, &ready_since, &reason, &message),
        condition("PodScheduled", true, &created, &None, &None),
    ];
    PodStatus {
        phase: Some(phase(replica).to_owned()),
        conditions: Some(conditions),
        host_ip: Some(LOOPBACK.to_owned()),
        host_ips: Some(vec![HostIP {
            ip: LOOPBACK.to_owned(),
        }]),
        pod_ip: Some(LOOPBACK.to_owned()),
        pod_ips: Some(vec![PodIP {
            ip: LOOPBACK.to_owned(),
        }]),
        start_time: created,
        qos_class: Some("BestEffort".to_owned()),
        container_statuses: Some(vec![container_status(replica, container, pod, ready)]),
        ..PodStatus::default()
    }
}

/// The kubelet's phase for a pod with `restartPolicy: Always`: Pending until the
/// container first started, Running while it runs or restarts, and Succeeded or
/// Failed once it ended for good.
pub(crate) fn phase(replica: &ReplicaState) -> &'static str {
    match &replica.container {
        ContainerState::Terminated(t) if t.exit_code == Some(0) => "Succeeded",
        ContainerState::Terminated(_) => "Failed",
        ContainerState::Creating if replica.last_terminated.is_none() => "Pending",
        _ => "Running",
    }
}

fn container_status(
    replica: &ReplicaState,
    container: ContainerInfo<'_>,
    pod: &str,
    ready: bool,
) -> ContainerStatus {
    let (state, container_id) = match &replica.container {
        ContainerState::Creating => (waiting("ContainerCreating", None), None),
        ContainerState::Running { started_at, pid } => (
            K8sContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(Time(*started_at)),
                }),
                ..K8sContainerState::default()
            },
            Some(container_id(*pid)),
        ),
        ContainerState::BackOff { delay } => {
            let message = format!(
                "back-off {} restarting failed container={} pod={pod}",
                go_duration(*delay),
                container.name
            );
            (waiting("CrashLoopBackOff", Some(message)), None)
        }
        ContainerState::Terminated(t) => (terminated(t), t.pid.map(container_id)),
    };
    ContainerStatus {
        name: container.name.to_owned(),
        image: container.image.to_owned(),
        image_id: String::new(),
        container_id,
        ready,
        started: Some(matches!(replica.container, ContainerState::Running { .. })),
        restart_count: i32::try_from(replica.restarts).unwrap_or(i32::MAX),
        state: Some(state),
        last_state: Some(
            replica
                .last_terminated
                .as_ref()
                .map_or_else(K8sContainerState::default, terminated),
        ),
        ..ContainerStatus::default()
    }
}

/// `fnmesh://<pid>`: the runtime's name and the process that is the container.
fn container_id(pid: i32) -> String {
    format!("fnmesh://{pid}")
}

fn waiting(reason: &str, message: Option<String>) -> K8sContainerState {
    K8sContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_owned()),
            message,
        }),
        ..K8sContainerState::default()
    }
}

/// A process end as the runtime reports it: a signal as `128 + N`, a start
/// failure as `StartError` (128).
fn terminated(t: &Terminated) -> K8sContainerState {
    let (exit_code, reason) = match (t.started_at, t.exit_code, t.signal) {
        (None, _, _) => (START_ERROR_EXIT_CODE, "StartError"),
        (_, Some(0), _) => (0, "Completed"),
        (_, Some(code), _) => (code, "Error"),
        (_, None, Some(signal)) => (128 + signal, "Error"),
        (_, None, None) => (START_ERROR_EXIT_CODE, "Error"),
    };
    K8sContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code,
            reason: Some(reason.to_owned()),
            signal: t.signal,
            message: t.message.clone(),
            started_at: t.started_at.map(Time),
            finished_at: Some(Time(t.finished_at)),
            container_id: t.pid.map(container_id),
        }),
        ..K8sContainerState::default()
    }
}

/// A duration as Go prints one (`100ms`, `1.6s`, `10s`, `1m0s`), as kubelet messages
/// show the back-off.
fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        let text = format!("{secs:.3}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        return format!("{text}s");
    }
    let whole = d.as_secs();
    format!("{}m{}s", whole / 60, whole % 60)
}

#[cfg(test)]
mod tests;
