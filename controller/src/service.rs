//! Service reconciler: keeps a Service's Configuration and Route (same name) in step
//! with its spec, and mirrors their status back onto the Service.
//!
//! The decisions live in [`children`] (what the children should be) and [`status`]
//! (what the Service's status is); this file only reads, applies and writes.

pub mod children;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use crds::{Configuration, Route, Service};
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};

use crate::apply::{ReconcileError, apply, apply_status, controlled_by, get, namespace_of};
use crate::conditions;
use crate::context::Context;
use status::Child;

/// Watch Services (and the Configurations and Routes they own) until the process ends.
pub async fn run(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let (cache, objects) = crate::cache::objects(Api::<Service>::all(client.clone()));
    Controller::for_stream(objects, cache)
        .owns(
            Api::<Configuration>::all(client.clone()),
            watcher::Config::default(),
        )
        .owns(Api::<Route>::all(client), watcher::Config::default())
        // A new leader re-reconciles everything: as a follower its writes were refused.
        .reconcile_all_on(ctx.leadership.promotions())
        .with_config(crate::workers::config())
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "service reconcile");
            }
        })
        .await;
}

/// Apply the Configuration and Route, then write the Service's status.
pub async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let ns = namespace_of(svc.as_ref(), "Service")?;
    let name = svc.name_any();
    if svc.meta().deletion_timestamp.is_some() {
        // Owner references let the garbage collector remove the children.
        return Ok(Action::await_change());
    }
    let configs: Api<Configuration> = Api::namespaced(ctx.client.clone(), &ns);
    let routes: Api<Route> = Api::namespaced(ctx.client.clone(), &ns);

    let cfg = match get(&configs, "Configuration", &name).await? {
        Some(c) if !controlled_by(&c, svc.as_ref()) => None,
        existing => {
            let desired = children::make_configuration(&svc, existing.as_ref());
            let applied = apply(&configs, "Configuration", &desired).await?;
            if existing.is_none() {
                let message = format!("Created Configuration {name:?}");
                ctx.events.normal(svc.as_ref(), "Created", message);
            }
            Some(applied)
        }
    };

    // With a user-chosen revision name the Route may only move once the Configuration
    // has stamped that revision, or traffic could go to a same-named stranger.
    let byo_name = svc.spec.template.metadata.name.is_some();
    let cfg_caught_up = cfg.as_ref().is_some_and(|c| {
        c.status.as_ref().and_then(|s| s.observed_generation) == c.metadata.generation
    });
    let route = if byo_name && !cfg_caught_up {
        None
    } else {
        Some(match get(&routes, "Route", &name).await? {
            Some(r) if !controlled_by(&r, svc.as_ref()) => None,
            existing => {
                let applied = apply(&routes, "Route", &children::make_route(&svc)).await?;
                if existing.is_none() {
                    ctx.events
                        .normal(svc.as_ref(), "Created", format!("Created Route {name:?}"));
                }
                Some(applied)
            }
        })
    };

    let new_status = status::service_status(
        &svc,
        cfg.as_ref().map_or(Child::NotOwned, Child::Owned),
        route
            .as_ref()
            .map(|r| r.as_ref().map_or(Child::NotOwned, Child::Owned)),
        conditions::now(),
    );
    if svc.status.as_ref() != Some(&new_status) {
        let services: Api<Service> = Api::namespaced(ctx.client.clone(), &ns);
        apply_status(&services, "Service", &name, &new_status).await?;
    }
    Ok(Action::await_change())
}

/// Retry soon: most failures are conflicts or a briefly unreachable API.
pub fn error_policy(svc: Arc<Service>, err: &ReconcileError, _ctx: Arc<Context>) -> Action {
    // A follower's refused write: becoming leader re-reconciles everything.
    if err.is_not_leader() {
        return Action::await_change();
    }
    tracing::warn!(service = %svc.name_any(), reason = err.metric_label(), error = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(2))
}
