//! Writes decisions to the API: the scale through the Deployment's `/scale`
//! subresource (as Knative's PodAutoscaler does), the serving mode as an annotation the
//! controller turns into the revision's xDS endpoints (replicas or activator).
//!
//! One writer task per revision, fed the latest wanted values through a watch channel:
//! the decision loop never waits on the API, writes for one revision land in the order
//! they were decided (an older, smaller scale can never land after a newer one), and a
//! burst of decisions — one per cold request — coalesces into the latest value. A value
//! already written, but not yet in the watch caches, is not written again; a failed write
//! is retried until it lands or the decision changes.
//!
//! This is the one gate on the autoscaler's writes: only the leader writes. Every
//! replica decides (it receives every report), but two writing would fight over each
//! Deployment's scale. A follower keeps no writers, and a writer checks leadership before
//! every write and ends once its replica no longer leads, so a retry decided while
//! leading does not land after; a new leader starts fresh writers, which write whatever
//! differs from the caches (what a follower skipped) at its first decision.
//!
//! A scale to or from zero that lands is recorded as an Event on the Revision
//! ([`scale_events`](super::scale_events)), through the controller's recorder.

use std::collections::HashMap;
use std::time::Duration;

use controller::events::{EventRecorder, EventType};
use controller::labels::{SERVING_MODE_ANNOTATION, SERVING_MODE_PROXY, SERVING_MODE_SERVE};
use controller::revision::deployment::deployment_name;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, Patch, PatchParams};
use leader_election::Leadership;
use tokio::sync::watch;

use super::cluster::RevisionKey;
use super::revision_state::Replicas;
use super::scale_events::scale_event;
use crate::scaler::Outcome;

/// The field manager of the autoscaler's writes.
pub(crate) const FIELD_MANAGER: &str = "fnmesh-autoscaler";
/// Before a failed write is made again.
const RETRY: Duration = Duration::from_millis(200);

/// What the caches do not show yet: `None` is "nothing to write".
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Wanted {
    scale: Option<u32>,
    /// The scale the caches showed when this was decided.
    from: u32,
    proxy: Option<bool>,
}

pub(crate) struct Actuator {
    client: kube::Client,
    leadership: Leadership,
    events: EventRecorder,
    writers: HashMap<RevisionKey, watch::Sender<Wanted>>,
}

impl Actuator {
    pub(crate) fn new(client: kube::Client, leadership: Leadership) -> Self {
        Self {
            events: EventRecorder::new(client.clone(), FIELD_MANAGER),
            client,
            leadership,
            writers: HashMap::new(),
        }
    }

    /// A revision that is gone: its writer ends.
    pub(crate) fn forget(&mut self, key: &RevisionKey) {
        self.writers.remove(key);
    }

    /// Hands what `outcome` changes, relative to what the caches show, to the
    /// revision's writer; a follower hands nothing on. `revision` is what its scale
    /// events are about.
    pub(crate) fn apply(
        &mut self,
        key: &RevisionKey,
        outcome: Outcome,
        replicas: Replicas,
        proxy_now: Option<bool>,
        revision: Option<ObjectReference>,
    ) {
        let wanted = Wanted {
            scale: outcome.scale.filter(|&s| s != replicas.requested),
            from: replicas.requested,
            proxy: Some(outcome.proxy).filter(|&p| proxy_now != Some(p)),
        };
        if !self.leadership.is_leader() {
            self.writers.clear();
            return;
        }
        // A closed writer ended when its replica stopped leading for a while.
        if self.writers.get(key).is_none_or(watch::Sender::is_closed) {
            let events = revision.map(|r| (self.events.clone(), r));
            let writer = spawn_writer(
                self.client.clone(),
                self.leadership.clone(),
                key.clone(),
                events,
            );
            self.writers.insert(key.clone(), writer);
        }
        self.writers[key].send_if_modified(|current| {
            let changed = *current != wanted;
            *current = wanted;
            changed
        });
    }
}

fn spawn_writer(
    client: kube::Client,
    leadership: Leadership,
    key: RevisionKey,
    events: Option<(EventRecorder, ObjectReference)>,
) -> watch::Sender<Wanted> {
    let (tx, mut rx) = watch::channel(Wanted::default());
    tokio::spawn(async move {
        let api: Api<Deployment> = Api::namespaced(client, &key.namespace);
        let name = deployment_name(&key.name);
        let revision = key.to_string();
        while rx.changed().await.is_ok() {
            loop {
                let wanted = *rx.borrow_and_update();
                if !leadership.is_leader() {
                    return;
                }
                if write(&api, &name, &revision, wanted).await {
                    let event = wanted.scale.and_then(|to| scale_event(wanted.from, to));
                    if let (Some((reason, message)), Some((recorder, about))) = (event, &events) {
                        recorder.record(about.clone(), EventType::Normal, reason, message);
                    }
                    break;
                }
                // Failed: again shortly, or at once with a newer decision.
                tokio::select! {
                    () = tokio::time::sleep(RETRY) => {}
                    changed = rx.changed() => if changed.is_err() { return },
                }
            }
        }
    });
    tx
}

/// Writes `wanted`; false if a write failed.
async fn write(api: &Api<Deployment>, name: &str, revision: &str, wanted: Wanted) -> bool {
    // Merge patches under our own field manager: server-side apply would claim (and on
    // the controller's next apply, contest) the whole object.
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    // The mode first: a revision going to zero must have the activator in its path
    // before its last replica goes.
    if let Some(proxy) = wanted.proxy {
        let value = if proxy {
            SERVING_MODE_PROXY
        } else {
            SERVING_MODE_SERVE
        };
        let patch =
            serde_json::json!({"metadata": {"annotations": {SERVING_MODE_ANNOTATION: value}}});
        if let Err(error) = api.patch(name, &params, &Patch::Merge(&patch)).await {
            tracing::warn!(%revision, %error, "could not write the serving mode");
            return false;
        }
        tracing::info!(%revision, mode = value, "serving mode");
    }
    if let Some(replicas) = wanted.scale {
        let patch = serde_json::json!({"spec": {"replicas": replicas}});
        if let Err(error) = api.patch_scale(name, &params, &Patch::Merge(&patch)).await {
            tracing::warn!(%revision, %error, "could not scale");
            return false;
        }
        tracing::info!(%revision, replicas, "scaled");
    }
    true
}
