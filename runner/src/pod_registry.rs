//! The Pods this runner has published, by namespace and name: what the Pod writer
//! owns, what the log endpoint serves, and how a Pod deletion finds its replica.
//! A Pod leaves the registry when it stops being ours to write: the runner deletes
//! it, or someone else did.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::container_log::ContainerLog;
use crate::replica::ReplicaId;

/// One published Pod.
#[derive(Clone, Debug)]
pub(crate) struct PodEntry {
    /// The Deployment's key (`namespace/name`) and uid.
    pub(crate) owner: String,
    pub(crate) owner_uid: String,
    pub(crate) replica: ReplicaId,
    pub(crate) container: String,
    pub(crate) log: Arc<ContainerLog>,
    /// Whether the Pod has been created in the API (until then a missing Pod is
    /// not a deleted one).
    pub(crate) created: bool,
}

/// Shared by the Pod writers, the Pod deletion watch and the log endpoint.
#[derive(Clone, Debug, Default)]
pub(crate) struct PodRegistry(Arc<RwLock<HashMap<(String, String), PodEntry>>>);

// === impl PodRegistry ===

impl PodRegistry {
    pub(crate) fn insert(&self, namespace: &str, name: &str, entry: PodEntry) {
        self.0
            .write()
            .insert((namespace.to_owned(), name.to_owned()), entry);
    }

    pub(crate) fn mark_created(&self, namespace: &str, name: &str) {
        if let Some(entry) = self.0.write().get_mut(&key(namespace, name)) {
            entry.created = true;
        }
    }

    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<PodEntry> {
        self.0.read().get(&key(namespace, name)).cloned()
    }

    pub(crate) fn contains(&self, namespace: &str, name: &str) -> bool {
        self.0.read().contains_key(&key(namespace, name))
    }

    pub(crate) fn remove(&self, namespace: &str, name: &str) -> Option<PodEntry> {
        self.0.write().remove(&key(namespace, name))
    }

    /// `(namespace, name)` of every Pod created in the API.
    pub(crate) fn created(&self) -> Vec<(String, String)> {
        self.0
            .read()
            .iter()
            .filter(|(_, e)| e.created)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_owned(), name.to_owned())
}
