//! A Revision's status from its Deployment's, which the runner (or, in a cluster,
//! Kubernetes) writes. `Ready` = `ResourcesAvailable` ∧ `ContainerHealthy`; `Active`
//! only says whether replicas are wanted and is not part of `Ready`.
//!
//! - a ready replica makes both True; once True, `ResourcesAvailable` stays True when
//!   the Revision scales to zero (it proved it can run, as Knative's "initialized");
//! - `ReplicaFailure` (`ExitCode<N>`, `Signal<N>`) makes `ContainerHealthy` False with the
//!   runner's reason and message; `ContainerNotRunnable` and a passed progress deadline
//!   make `ResourcesAvailable` False.

use crds::{ContainerStatus, Revision, RevisionStatus};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::conditions::{ConditionSet, FALSE, TRUE};
use crate::revision::deployment::initial_replicas;

pub const RESOURCES_AVAILABLE: &str = "ResourcesAvailable";
pub const CONTAINER_HEALTHY: &str = "ContainerHealthy";
pub const ACTIVE: &str = "Active";
pub const REVISION_CONDITIONS: ConditionSet =
    ConditionSet::living(&[RESOURCES_AVAILABLE, CONTAINER_HEALTHY]);

const DEPLOYING: &str = "Deploying";
const CONTAINER_NOT_RUNNABLE: &str = "ContainerNotRunnable";
const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// What the Revision reconciler found where the Deployment should be.
#[derive(Clone, Copy, Debug)]
pub enum DeploymentState<'a> {
    /// Just applied (or not visible yet): nothing to report.
    Pending,
    /// A child (the Deployment or the Service) of that name belongs to someone else.
    NotOwned {
        kind: &'static str,
        name: &'a str,
    },
    Found(&'a Deployment),
}

pub fn revision_status(
    rev: &Revision,
    deployment: DeploymentState<'_>,
    now: Time,
) -> RevisionStatus {
    let mut status = rev.status.clone().unwrap_or_default();
    let mut conds = status.conditions.take().unwrap_or_default();
    let mut m = REVISION_CONDITIONS.manage(&mut conds, now);
    m.initialize();
    status.observed_generation = rev.metadata.generation;
    status.container_statuses = Some(
        rev.spec
            .containers
            .iter()
            .map(|c| ContainerStatus {
                name: Some(
                    c.name
                        .clone()
                        .unwrap_or_else(|| crds::defaults::DEFAULT_USER_CONTAINER_NAME.into()),
                ),
                image_digest: None,
            })
            .collect(),
    );

    let d = match deployment {
        DeploymentState::Pending => {
            if !m.is_true(RESOURCES_AVAILABLE) {
                m.mark_unknown(RESOURCES_AVAILABLE, DEPLOYING, "");
            }
            status.conditions = Some(conds);
            return status;
        }
        DeploymentState::NotOwned { kind, name } => {
            m.mark_false(
                RESOURCES_AVAILABLE,
                "NotOwned",
                &format!("There is an existing {kind} {name:?} that we do not own."),
            );
            status.conditions = Some(conds);
            return status;
        }
        DeploymentState::Found(d) => d,
    };

    let desired = d.spec.replicas.unwrap_or(1);
    let ds = d.status.clone().unwrap_or_default();
    let ready = ds.ready_replicas.unwrap_or(0);
    let ds_conditions = ds.conditions.unwrap_or_default();
    let failure =
        condition(&ds_conditions, "ReplicaFailure").filter(|c| c.status.as_deref() == Some(TRUE));
    let deadline = condition(&ds_conditions, "Progressing").filter(|c| {
        c.status.as_deref() == Some(FALSE)
            && c.reason.as_deref() == Some(PROGRESS_DEADLINE_EXCEEDED)
    });

    // `initial-scale: 0` (with `allow-zero-initial-scale`): nothing has to prove itself
    // before the first request, so the revision is ready at zero, as Knative's is.
    let proven = ready > 0 || (desired == 0 && initial_replicas(rev.annotations()) == 0);
    // Health of the container itself.
    match failure {
        Some(f) if f.reason.as_deref() != Some(CONTAINER_NOT_RUNNABLE) => {
            m.mark_false(CONTAINER_HEALTHY, reason(f), message(f));
        }
        _ if proven => m.mark_true(CONTAINER_HEALTHY),
        _ if !m.is_true(CONTAINER_HEALTHY) => m.mark_unknown(CONTAINER_HEALTHY, DEPLOYING, ""),
        _ => {}
    }
    // Whether the platform could give it what it needs to run.
    match (failure, deadline) {
        (Some(f), _) if f.reason.as_deref() == Some(CONTAINER_NOT_RUNNABLE) => {
            m.mark_false(RESOURCES_AVAILABLE, reason(f), message(f));
        }
        (_, Some(p)) if ready == 0 => {
            m.mark_false(RESOURCES_AVAILABLE, PROGRESS_DEADLINE_EXCEEDED, message(p));
        }
        _ if proven => m.mark_true(RESOURCES_AVAILABLE),
        _ if !m.is_true(RESOURCES_AVAILABLE) => m.mark_unknown(RESOURCES_AVAILABLE, DEPLOYING, ""),
        _ => {}
    }
    if desired == 0 {
        m.mark_false(ACTIVE, "NoTraffic", "The target is not receiving traffic.");
    } else if ready > 0 {
        m.mark_true(ACTIVE);
    } else {
        m.mark_unknown(ACTIVE, "Activating", "The target is being activated.");
    }

    status.actual_replicas = Some(ready);
    status.desired_replicas = Some(desired);
    status.conditions = Some(conds);
    status
}

fn condition<'a>(conds: &'a [DeploymentCondition], t: &str) -> Option<&'a DeploymentCondition> {
    conds.iter().find(|c| c.type_.as_deref() == Some(t))
}

fn reason(c: &DeploymentCondition) -> &str {
    c.reason.as_deref().unwrap_or_default()
}

fn message(c: &DeploymentCondition) -> &str {
    c.message.as_deref().unwrap_or_default()
}

#[cfg(test)]
mod tests;
