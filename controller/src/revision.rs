//! Revision reconciler: runs each Revision as a Deployment, gives it a Kubernetes
//! Service (which its EndpointSlices are written for), and reports the Deployment's
//! progress (written by the runner or by Kubernetes) as the Revision's conditions.
//!
//! [`deployment`] builds the Deployment, [`service`] the Service, [`serving_port`] says
//! which port both point at, and [`status`] reads the Deployment's status; this file
//! only reads and writes.

pub mod deployment;
pub mod events;
pub mod service;
pub mod serving_port;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use crds::Revision;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};

use crate::apply::{ReconcileError, apply, apply_status, controlled_by, get, namespace_of};
use crate::conditions;
use crate::context::Context;
use status::DeploymentState;

/// Watch Revisions (and the Deployments and Services they own) until the process ends.
pub async fn run(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let (cache, objects) = crate::cache::objects(Api::<Revision>::all(client.clone()));
    Controller::for_stream(objects, cache)
        .owns(
            Api::<Deployment>::all(client.clone()),
            watcher::Config::default(),
        )
        .owns(Api::<Service>::all(client), watcher::Config::default())
        // A new leader re-reconciles everything: as a follower its writes were refused.
        .reconcile_all_on(ctx.leadership.promotions())
        .with_config(crate::workers::config())
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "revision reconcile");
            }
        })
        .await;
}

/// Make sure the Deployment and the Service exist as the Revision wants them, then
/// write the status.
pub async fn reconcile(rev: Arc<Revision>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let ns = namespace_of(rev.as_ref(), "Revision")?;
    let name = rev.name_any();
    if rev.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &ns);
    let sname = service::service_name(&name);
    let service_owned = reconcile_service(&services, &rev, &sname).await?;
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
        _ if !service_owned => DeploymentState::NotOwned {
            kind: "Service",
            name: &sname,
        },
        None => DeploymentState::NotOwned {
            kind: "Deployment",
            name: &dname,
        },
        Some(d) if d.status.is_none() => DeploymentState::Pending,
        Some(d) => DeploymentState::Found(d),
    };

    let new_status = status::revision_status(&rev, state, conditions::now());
    if rev.status.as_ref() != Some(&new_status) {
        let api: Api<Revision> = Api::namespaced(ctx.client.clone(), &ns);
        apply_status(&api, "Revision", &name, &new_status).await?;
        // Once written: a status change that did not land is not news yet.
        for (type_, reason, message) in events::status_events(rev.status.as_ref(), &new_status) {
            ctx.events
                .record(rev.object_ref(&()), type_, reason, message);
        }
    }
    Ok(Action::await_change())
}

/// Applies the revision's Service unless it is as wanted; `false` if a Service of that
/// name belongs to someone else (it is left alone).
async fn reconcile_service(
    services: &Api<Service>,
    rev: &Revision,
    name: &str,
) -> Result<bool, ReconcileError> {
    let desired = service::make_service(rev);
    match get(services, "Service", name).await? {
        Some(s) if !controlled_by(&s, rev) => Ok(false),
        Some(s) if !service::drifted(&desired, &s) => Ok(true),
        _ => apply(services, "Service", &desired).await.map(|_| true),
    }
}

pub fn error_policy(rev: Arc<Revision>, err: &ReconcileError, _ctx: Arc<Context>) -> Action {
    // A follower's refused write: becoming leader re-reconciles everything.
    if err.is_not_leader() {
        return Action::await_change();
    }
    tracing::warn!(revision = %rev.name_any(), reason = err.metric_label(), error = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(2))
}
