//! What makes a Route reconcile besides its own edits: Configurations and Revisions
//! it points at (directly, or a Revision of a Configuration it floats on), and its own
//! deletion, which takes it out of the routing table without a finalizer.

use std::collections::BTreeSet;
use std::sync::Arc;

use crds::{Configuration, Revision, Route};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

use super::priming::RoutePriming;
use super::resolve::CONFIGURATION_LABEL;
use crate::routing::{ObjectKey, RoutingTable};

/// Routes of the Configuration's namespace that name it in their traffic.
pub(crate) fn routes_for_configuration(
    routes: &Store<Route>,
    cfg: &Configuration,
) -> Vec<ObjectRef<Route>> {
    let name = cfg.name_any();
    matching(routes, cfg.namespace(), |route| {
        targets(route).any(|t| t.configuration_name() == name)
    })
}

/// Routes that pin the Revision, or float on its Configuration (its readiness or
/// arrival can complete their resolution).
pub(crate) fn routes_for_revision(routes: &Store<Route>, rev: &Revision) -> Vec<ObjectRef<Route>> {
    let name = rev.name_any();
    let config = rev.labels().get(CONFIGURATION_LABEL).cloned();
    matching(routes, rev.namespace(), |route| {
        targets(route).any(|t| {
            t.revision_name() == name
                || config
                    .as_deref()
                    .is_some_and(|c| t.configuration_name() == c)
        })
    })
}

fn targets(route: &Route) -> impl Iterator<Item = &crds::TrafficTarget> {
    route.spec.traffic.iter().flatten()
}

fn matching(
    routes: &Store<Route>,
    namespace: Option<String>,
    wants: impl Fn(&Route) -> bool,
) -> Vec<ObjectRef<Route>> {
    routes
        .state()
        .iter()
        .filter(|r| r.namespace() == namespace && wants(r))
        .map(|r| ObjectRef::from_obj(r.as_ref()))
        .collect()
}

pub(crate) fn key_of(route: &Route) -> ObjectKey {
    ObjectKey::new(route.namespace().unwrap_or_default(), route.name_any())
}

/// Removes deleted Routes from the routing table, including Routes deleted while
/// the watch was down (absent from the next relist).
#[derive(Debug)]
pub(crate) struct DeletionTracker {
    routing: Arc<RoutingTable>,
    relisted: Option<BTreeSet<ObjectKey>>,
    /// Told of the first list and of every deletion.
    priming: Arc<RoutePriming>,
}

// === impl DeletionTracker ===

impl DeletionTracker {
    pub(crate) fn new(routing: Arc<RoutingTable>, priming: Arc<RoutePriming>) -> Self {
        Self {
            routing,
            relisted: None,
            priming,
        }
    }

    pub(crate) fn observe(&mut self, event: &watcher::Event<Route>) {
        match event {
            watcher::Event::Delete(route) => {
                let key = key_of(route);
                self.routing.remove_route(&key);
                self.priming.settled(&key);
            }
            watcher::Event::Init => self.relisted = Some(BTreeSet::new()),
            watcher::Event::InitApply(route) => {
                if let Some(keys) = self.relisted.as_mut() {
                    keys.insert(key_of(route));
                }
            }
            watcher::Event::InitDone => {
                let Some(listed) = self.relisted.take() else {
                    return;
                };
                self.priming.listed(listed.clone());
                let gone: Vec<ObjectKey> = self
                    .routing
                    .snapshot()
                    .routes
                    .into_keys()
                    .filter(|k| !listed.contains(k))
                    .collect();
                for key in gone {
                    self.routing.remove_route(&key);
                }
            }
            watcher::Event::Apply(_) => {}
        }
    }
}

#[cfg(test)]
mod tests;
