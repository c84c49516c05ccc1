//! What the autoscaler reads from the API, as watch caches: Revisions (settings, and
//! whether a route references them, from the controller's routing-state label), their
//! Deployments (requested and ready replicas, current serving mode) and
//! `config-autoscaler`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use controller::labels::{
    PROGRESS_DEADLINE_ANNOTATIONS, REVISION_LABEL, ROUTING_STATE_LABEL, SERVING_MODE_ANNOTATION,
    SERVING_MODE_PROXY,
};
use controller::revision::deployment::deployment_name;
use controller::revision_lifecycle;
use crds::Revision;
use futures::{Stream, StreamExt, stream};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};

use super::config_source::AutoscalerConfigSource;
use super::revision_state::{Replicas, RevisionInputs};
use crate::config::AutoscalerConfig;
use crate::go_duration::{parse_go_duration, to_std};

/// `namespace/name` of a revision.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RevisionKey {
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl RevisionKey {
    pub(crate) fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for RevisionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

pub(crate) struct Cluster {
    revisions: Store<Revision>,
    deployments: Store<Deployment>,
    config: Arc<AutoscalerConfigSource>,
    config_dirty: Arc<AtomicBool>,
}

impl Cluster {
    /// Starts the watches; the stream yields after every change worth a resync.
    pub(crate) fn watch(client: kube::Client) -> (Self, impl Stream<Item = ()> + Send) {
        let (revisions, revision_writer) = reflector::store::<Revision>();
        let (deployments, deployment_writer) = reflector::store::<Deployment>();
        let config = AutoscalerConfigSource::new();
        let config_dirty = Arc::new(AtomicBool::new(false));

        let revision_events = watcher(
            Api::<Revision>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
        .reflect(revision_writer)
        .map(|_| ())
        .boxed();
        let deployment_events = watcher(
            Api::<Deployment>::all(client.clone()),
            watcher::Config::default().labels(REVISION_LABEL),
        )
        .default_backoff()
        .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
        .reflect(deployment_writer)
        .map(|_| ())
        .boxed();
        let dirty = Arc::clone(&config_dirty);
        let config_events = Arc::clone(&config)
            .watch(client)
            .map(move |()| dirty.store(true, Ordering::Relaxed))
            .boxed();
        let changes = stream::select_all([revision_events, deployment_events, config_events]);
        let cluster = Self {
            revisions,
            deployments,
            config,
            config_dirty,
        };
        (cluster, changes)
    }

    pub(crate) fn config(&self) -> Arc<AutoscalerConfig> {
        self.config.current()
    }

    /// Whether `config-autoscaler` changed since [`Self::mark_config_seen`].
    pub(crate) fn config_changed(&self) -> bool {
        self.config_dirty.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_config_seen(&self) {
        self.config_dirty.store(false, Ordering::Relaxed);
    }

    /// Every live revision and what its settings are resolved from.
    pub(crate) fn revisions(&self) -> HashMap<RevisionKey, RevisionInputs> {
        self.revisions
            .state()
            .iter()
            .filter(|r| r.metadata.deletion_timestamp.is_none())
            .map(|r| {
                let key = RevisionKey::new(&r.namespace().unwrap_or_default(), &r.name_any());
                let annotations = r.annotations().clone();
                let progress_deadline = PROGRESS_DEADLINE_ANNOTATIONS
                    .iter()
                    .find_map(|k| annotations.get(*k))
                    .and_then(|v| parse_seconds(v));
                let inputs = RevisionInputs {
                    annotations,
                    container_concurrency: r
                        .spec
                        .container_concurrency
                        .and_then(|cc| u32::try_from(cc).ok())
                        .unwrap_or(0),
                    progress_deadline,
                };
                (key, inputs)
            })
            .collect()
    }

    /// Whether the revision is reachable: Knative's PodAutoscaler reachability from the
    /// controller's `serving.knative.dev/routingState` label — unreachable only in
    /// `reserve` (no route references it any more); `pending` counts as reachable.
    pub(crate) fn routed(&self, key: &RevisionKey) -> bool {
        self.revisions
            .get(&ObjectRef::new(&key.name).within(&key.namespace))
            .is_none_or(|r| {
                r.labels().get(ROUTING_STATE_LABEL).map(String::as_str)
                    != Some(revision_lifecycle::RESERVE)
            })
    }

    /// A reference to the revision, for the events about it.
    pub(crate) fn revision_ref(&self, key: &RevisionKey) -> Option<ObjectReference> {
        self.revisions
            .get(&ObjectRef::new(&key.name).within(&key.namespace))
            .map(|r| r.object_ref(&()))
    }

    fn deployment(&self, key: &RevisionKey) -> Option<Arc<Deployment>> {
        self.deployments
            .get(&ObjectRef::new(&deployment_name(&key.name)).within(&key.namespace))
    }

    /// The revision Deployment's requested and ready replicas.
    pub(crate) fn replicas(&self, key: &RevisionKey) -> Option<Replicas> {
        let d = self.deployment(key)?;
        let count = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        Some(Replicas {
            requested: count(d.spec.replicas),
            ready: count(d.status.as_ref().and_then(|s| s.ready_replicas)),
        })
    }

    /// The serving mode currently on the Deployment (`None`: not written yet).
    pub(crate) fn proxy(&self, key: &RevisionKey) -> Option<bool> {
        let d = self.deployment(key)?;
        d.annotations()
            .get(SERVING_MODE_ANNOTATION)
            .map(|mode| mode == SERVING_MODE_PROXY)
    }
}

/// Knative's progress deadline, a Go duration; an unparsable or negative one is the
/// default (the webhook would have refused it).
fn parse_seconds(value: &str) -> Option<Duration> {
    parse_go_duration(value.trim())
        .filter(|&nanos| nanos > 0)
        .map(to_std)
}
