//! Configuration reconciler: stamps an immutable Revision for every template change
//! and reports the latest created and latest ready Revision.
//!
//! [`stamp`] builds the Revision, [`latest`] finds the latest created / ready ones and
//! [`status`] computes the Configuration's status; this file reads and writes.

pub mod latest;
pub mod stamp;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use crds::{Configuration, Revision};
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};

use crate::apply::{ReconcileError, apply_status, create, get, list, namespace_of};
use crate::conditions;
use crate::context::Context;
use crate::labels::CONFIGURATION_LABEL;
use latest::LatestCreated;

/// Watch Configurations (and the Revisions they own) until the process ends.
pub async fn run(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let (cache, objects) = crate::cache::objects(Api::<Configuration>::all(client.clone()));
    Controller::for_stream(objects, cache)
        .owns(Api::<Revision>::all(client), watcher::Config::default())
        // A new leader re-reconciles everything: as a follower its writes were refused.
        .reconcile_all_on(ctx.leadership.promotions())
        .with_config(crate::workers::config())
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "configuration reconcile");
            }
        })
        .await;
}

/// Stamp the current template's Revision if it is missing, then write the status.
pub async fn reconcile(
    cfg: Arc<Configuration>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let ns = namespace_of(cfg.as_ref(), "Configuration")?;
    let name = cfg.name_any();
    if cfg.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let revisions_api: Api<Revision> = Api::namespaced(ctx.client.clone(), &ns);
    let mut revisions = list(
        &revisions_api,
        "Revision",
        &format!("{CONFIGURATION_LABEL}={name}"),
    )
    .await?;
    // A user-chosen name may already belong to a Revision of another Configuration,
    // which the label selector does not list.
    let wanted = stamp::revision_name(&cfg);
    if !revisions.iter().any(|r| r.name_any() == wanted)
        && let Some(r) = get(&revisions_api, "Revision", &wanted).await?
    {
        revisions.push(r);
    }

    let mut creation_error = None;
    if latest::latest_created(&cfg, &revisions) == LatestCreated::Missing {
        match create(&revisions_api, "Revision", &stamp::make_revision(&cfg)).await {
            Ok(rev) => {
                tracing::info!(revision = %rev.name_any(), configuration = %name, "created revision");
                let message = format!("Created Revision {:?}", rev.name_any());
                ctx.events.normal(cfg.as_ref(), "Created", message);
                revisions.push(rev);
            }
            Err(e) => match refusal(&e) {
                Some(message) => {
                    let failed = format!("Failed to create Revision: {message}");
                    ctx.events.warning(cfg.as_ref(), "CreationFailed", failed);
                    creation_error = Some(message);
                }
                // Lost a race or the API is unwell: retry with fresh reads.
                None => return Err(e),
            },
        }
    }

    let new_status = status::configuration_status(
        &cfg,
        latest::latest_created(&cfg, &revisions),
        creation_error.as_deref(),
        &revisions,
        conditions::now(),
    );
    if cfg.status.as_ref() != Some(&new_status) {
        let api: Api<Configuration> = Api::namespaced(ctx.client.clone(), &ns);
        apply_status(&api, "Configuration", &name, &new_status).await?;
    }
    Ok(Action::await_change())
}

pub fn error_policy(cfg: Arc<Configuration>, err: &ReconcileError, _ctx: Arc<Context>) -> Action {
    // A follower's refused write: becoming leader re-reconciles everything.
    if err.is_not_leader() {
        return Action::await_change();
    }
    tracing::warn!(configuration = %cfg.name_any(), reason = err.metric_label(), error = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(2))
}

/// The API's message when it refused the Revision itself (invalid or forbidden), which
/// retrying cannot fix and the user must see.
fn refusal(err: &ReconcileError) -> Option<String> {
    match err {
        ReconcileError::Api {
            source: kube::Error::Api(s),
            ..
        } if matches!(s.code, 400 | 403 | 422) => Some(s.message.clone()),
        _ => None,
    }
}
