//! The revisions the activator holds requests for: a [`RevisionState`] per revision,
//! created on its first request and kept current by the watches from their caches.

use std::collections::HashMap;
use std::sync::Arc;

use controller::endpoints::slice_revision;
use controller::routing::ObjectKey;
use crds::Revision;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use parking_lot::RwLock;
use stat_stream::CounterRegistry;

use crate::metrics::ActivatorMetrics;
use crate::revision_settings::{RevisionFailure, RevisionSettings};
use crate::revision_state::{Counting, Inputs, RevisionState};

pub(crate) struct Registry {
    client: kube::Client,
    revisions: Store<Revision>,
    slices: Store<EndpointSlice>,
    queue_capacity: usize,
    /// Each revision's concurrency counter, sampled for the autoscaler.
    counters: Arc<CounterRegistry>,
    metrics: ActivatorMetrics,
    /// namespace → revision name → state; nested so a request looks up by `&str`.
    states: RwLock<HashMap<String, HashMap<String, Arc<RevisionState>>>>,
}

/// What a request's revision turned out to be.
#[derive(Debug)]
pub(crate) enum Lookup {
    Found(Arc<RevisionState>),
    NotFound,
    /// The revision is not cached yet and the API could not be asked.
    Unavailable(kube::Error),
}

// === impl Registry ===

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("queue_capacity", &self.queue_capacity)
            .field("states", &self.states)
            .finish_non_exhaustive()
    }
}

impl Registry {
    pub(crate) fn new(
        client: kube::Client,
        revisions: Store<Revision>,
        slices: Store<EndpointSlice>,
        queue_capacity: usize,
        counters: Arc<CounterRegistry>,
        metrics: ActivatorMetrics,
    ) -> Self {
        Self {
            client,
            revisions,
            slices,
            queue_capacity,
            counters,
            metrics,
            states: RwLock::default(),
        }
    }

    /// The state for a request's revision, created on first use. A revision the watch
    /// cache does not have yet is fetched from the API, so a request racing the
    /// revision's creation waits rather than getting 404.
    pub(crate) async fn resolve(&self, namespace: &str, name: &str) -> Lookup {
        if let Some(state) = self.get(namespace, name) {
            return Lookup::Found(state);
        }
        let reference = ObjectRef::new(name).within(namespace);
        let revision = match self.revisions.get(&reference) {
            Some(cached) => cached,
            None => {
                let api = Api::<Revision>::namespaced(self.client.clone(), namespace);
                match api.get_opt(name).await {
                    Ok(Some(fetched)) => Arc::new(fetched),
                    Ok(None) => return Lookup::NotFound,
                    Err(error) => return Lookup::Unavailable(error),
                }
            }
        };
        Lookup::Found(self.insert(namespace, name, &revision))
    }

    /// Recomputes one revision's endpoints and failure after a watch event.
    pub(crate) fn refresh(&self, namespace: &str, name: &str) {
        if let Some(state) = self.get(namespace, name) {
            self.refresh_state(&state);
        }
    }

    /// Refreshes every revision, after a relist of either watch.
    pub(crate) fn refresh_all(&self) {
        for state in self.all() {
            self.refresh_state(&state);
        }
    }

    /// After a relist of Revisions: forgets the revisions it no longer has.
    pub(crate) fn forget_deleted(&self) {
        for state in self.all() {
            let reference = ObjectRef::new(&state.name).within(&state.namespace);
            if self.revisions.get(&reference).is_none() {
                self.remove(&state.namespace, &state.name);
            }
        }
    }

    /// The revision was deleted: its state, counter and series go. Requests still
    /// holding its state keep waiting until their deadline, counted but unreported;
    /// new ones look it up afresh.
    pub(crate) fn remove(&self, namespace: &str, name: &str) {
        let mut states = self.states.write();
        let Some(by_name) = states.get_mut(namespace) else {
            return;
        };
        if by_name.remove(name).is_none() {
            return;
        }
        if by_name.is_empty() {
            states.remove(namespace);
        }
        // Under the states' lock, so a state created for the same revision right
        // after keeps its fresh counter and series.
        self.counters
            .retain(|ns, revision| (ns, revision) != (namespace, name));
        self.metrics.forget(namespace, name);
    }

    /// Every replica some revision has now.
    pub(crate) fn live_endpoints(&self) -> std::collections::HashSet<std::net::SocketAddr> {
        self.all()
            .iter()
            .flat_map(|state| state.endpoints())
            .collect()
    }

    /// Every revision's state, at the moment of the call.
    pub(crate) fn all(&self) -> Vec<Arc<RevisionState>> {
        let states = self.states.read();
        states
            .values()
            .flat_map(|by_name| by_name.values().cloned())
            .collect()
    }

    fn get(&self, namespace: &str, name: &str) -> Option<Arc<RevisionState>> {
        self.states.read().get(namespace)?.get(name).cloned()
    }

    fn insert(&self, namespace: &str, name: &str, revision: &Revision) -> Arc<RevisionState> {
        let state = {
            let mut states = self.states.write();
            let by_name = states.entry(namespace.to_owned()).or_default();
            // Another request may have created it meanwhile.
            if let Some(existing) = by_name.get(name) {
                return Arc::clone(existing);
            }
            let state = Arc::new(RevisionState::new(
                namespace,
                name,
                RevisionSettings::of(revision),
                self.queue_capacity,
                RevisionFailure::of(revision),
                Counting {
                    concurrency: self.counters.counter(namespace, name),
                    metrics: self.metrics.for_revision(namespace, name),
                },
            ));
            by_name.insert(name.to_owned(), Arc::clone(&state));
            state
        };
        // Inserted before reading the caches: a watch event after this point refreshes
        // the state itself, one before it is in the caches read here.
        self.refresh_state(&state);
        state
    }

    fn refresh_state(&self, state: &RevisionState) {
        state.refresh(|inputs: &mut Inputs| {
            let reference = ObjectRef::new(&state.name).within(&state.namespace);
            // Until the watch has the revision, keep what the fetched copy said.
            if let Some(revision) = self.revisions.get(&reference) {
                inputs.condition_failure = RevisionFailure::of(&revision);
            }
            let port_name = state.settings.port_name.as_deref();
            let key = ObjectKey::new(state.namespace.as_str(), state.name.as_str());
            inputs.endpoints.clear();
            for slice in self.slices.state() {
                if slice_revision(&slice).as_ref() == Some(&key) {
                    let ready = controller::endpoints::ready_endpoints(&slice, port_name);
                    inputs.endpoints.extend(ready);
                }
            }
            inputs.endpoints.sort_unstable();
            inputs.endpoints.dedup();
        });
    }
}
