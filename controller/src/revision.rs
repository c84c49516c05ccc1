//! Revision reconciler: runs each Revision as a Deployment and reports the
//! Deployment's progress (written by the runner or by Kubernetes) as the Revision's
//! conditions.
//!
//! [`deployment`] builds the Deployment and [`status`] reads its status; this file only
//! reads and writes.

pub mod deployment;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use crds::Revision;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};

use crate::apply::{ReconcileError, apply, apply_status, controlled_by, get, namespace_of};
use crate::conditions;
use crate::context::Context;
use status::DeploymentState;

/// Watch Revisions (and the Deployments they own) until the process ends.
pub async fn run(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    Controller::new(
        Api::<Revision>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Deployment>::all(client), watcher::Config::default())
    .run(reconcile, error_policy, ctx)
    .for_each(|res| async move {
        if let Err(e) = res {
            tracing::debug!(error = %e, "revision reconcile");
        }
    })
    .await;
}

/// Make sure the Deployment exists as the Revision wants it, then write the status.
pub async fn reconcile(rev: Arc<Revision>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let ns = namespace_of(rev.as_ref(), "Revision")?;
    let name = rev.name_any();
    if rev.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let mut desired = deployment::make_deployment(&rev);
    let dname = desired.name_any();

    let existing = get(&deployments, "Deployment", &dname).await?;
    let current = match existing {
        Some(d) if !controlled_by(&d, rev.as_ref()) => None,
        Some(d) => {
            // Keep whatever scale is there: after the first write it is the autoscaler's.
            desired.spec.replicas = d.spec.replicas;
            if deployment::drifted(&desired, &d) {
                Some(apply(&deployments, "Deployment", &desired).await?)
            } else {
                Some(d)
            }
        }
        None => Some(apply(&deployments, "Deployment", &desired).await?),
    };
    let state = match &current {
        None => DeploymentState::NotOwned(&dname),
        Some(d) if d.status.is_none() => DeploymentState::Pending,
        Some(d) => DeploymentState::Found(d),
    };

    let new_status = status::revision_status(&rev, state, conditions::now());
    if rev.status.as_ref() != Some(&new_status) {
        let api: Api<Revision> = Api::namespaced(ctx.client.clone(), &ns);
        apply_status(&api, "Revision", &name, &new_status).await?;
    }
    Ok(Action::await_change())
}

pub fn error_policy(rev: Arc<Revision>, err: &ReconcileError, _ctx: Arc<Context>) -> Action {
    tracing::warn!(revision = %rev.name_any(), reason = err.metric_label(), error = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(2))
}
