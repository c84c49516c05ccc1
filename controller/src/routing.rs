//! The routing state the control plane serves: which hosts go to which revisions in
//! which proportions (written by the Route reconciler) and where each revision's ready
//! endpoints are (written by the endpoints watcher). The xDS server subscribes to it and
//! turns every change into a new snapshot. Plain data, so both sides test without I/O.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

/// `namespace/name` of a Route or Revision.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One Route as the Route reconciler resolved it: every target names a revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedRoute {
    pub key: ObjectKey,
    /// `{name}.{namespace}.{domain}`.
    pub host: String,
    pub targets: Vec<ResolvedTarget>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// Revision name (same namespace as the Route).
    pub revision: String,
    /// Share of the main host's traffic, 0..=100; all targets sum to 100.
    pub percent: u32,
    pub tag: Option<String>,
    /// `{tag}-{name}.{namespace}.{domain}` for tagged targets.
    pub tag_host: Option<String>,
}

/// How the gateway speaks to a revision's endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Http1,
    /// The container's port is named `h2c`.
    H2c,
}

/// A revision's serving endpoints, as its EndpointSlices say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionBackend {
    pub key: ObjectKey,
    pub protocol: Protocol,
    /// Ready endpoints only.
    pub endpoints: Vec<SocketAddr>,
    /// The revision's `timeoutSeconds`.
    pub timeout_seconds: u64,
    /// Its `responseStartTimeoutSeconds`, never more than `timeout_seconds`: the
    /// response head must come within this of a request's arrival (Knative's
    /// `timeoutSeconds` when unset or 0).
    pub response_start_timeout_seconds: u64,
    /// Its `idleTimeoutSeconds`: the longest a streaming response may go without a byte
    /// from the function. `None` (unset or 0): no such limit.
    pub idle_timeout_seconds: Option<u64>,
}

impl RevisionBackend {
    /// A backend with Knative's default limits: `timeoutSeconds` 300, a response start
    /// bounded by that alone, no idle limit.
    pub fn with_default_timeouts(
        key: ObjectKey,
        protocol: Protocol,
        endpoints: Vec<SocketAddr>,
    ) -> Self {
        let timeout_seconds = crate::xds::DEFAULT_TIMEOUT_SECONDS;
        Self {
            key,
            protocol,
            endpoints,
            timeout_seconds,
            response_start_timeout_seconds: timeout_seconds,
            idle_timeout_seconds: None,
        }
    }
}

/// A consistent copy of the routing state at one version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoutingSnapshot {
    pub version: u64,
    pub routes: BTreeMap<ObjectKey, ResolvedRoute>,
    pub backends: BTreeMap<ObjectKey, RevisionBackend>,
}

/// The shared, versioned routing state. Writers replace whole entries; every change
/// that alters something bumps the version and wakes subscribers.
#[derive(Debug)]
pub struct RoutingTable {
    state: Mutex<RoutingSnapshot>,
    version: watch::Sender<u64>,
    /// Which writers have not yet published their first complete view.
    incomplete: watch::Sender<Incomplete>,
}

/// The writers a freshly started controller waits for before its table is whole: a
/// table served before them would lack Routes or endpoints that exist, and a gateway
/// taking it would answer 404 or 503 for them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Incomplete {
    routes: bool,
    backends: bool,
}

impl Incomplete {
    fn is_whole(self) -> bool {
        !self.routes && !self.backends
    }
}

impl Default for RoutingTable {
    fn default() -> Self {
        Self {
            state: Mutex::new(RoutingSnapshot::default()),
            version: watch::channel(0).0,
            incomplete: watch::channel(Incomplete::default()).0,
        }
    }
}

impl RoutingTable {
    /// A table that is whole as it is (whatever is written to it is all there is).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A table the controller's watches fill: whole only once the Route reconciler
    /// ([`RoutingTable::routes_complete`]) and the endpoints watcher
    /// ([`RoutingTable::backends_complete`]) have each published everything their first
    /// lists held.
    pub fn filled_by_watches() -> Arc<Self> {
        let table = Self::default();
        table.incomplete.send_replace(Incomplete {
            routes: true,
            backends: true,
        });
        Arc::new(table)
    }

    /// Every Route listed at start has been resolved and published (or found absent).
    pub fn routes_complete(&self) {
        self.incomplete
            .send_if_modified(|i| std::mem::take(&mut i.routes));
    }

    /// Every revision listed at start has its endpoints published.
    pub fn backends_complete(&self) {
        self.incomplete
            .send_if_modified(|i| std::mem::take(&mut i.backends));
    }

    /// Completes once the table is whole (at once for [`RoutingTable::new`]).
    pub async fn whole(&self) {
        let mut incomplete = self.incomplete.subscribe();
        // The sender lives in `self`, so the wait cannot fail while we borrow it.
        let _ = incomplete.wait_for(|i| i.is_whole()).await;
    }

    pub fn is_whole(&self) -> bool {
        self.incomplete.borrow().is_whole()
    }

    fn change(&self, f: impl FnOnce(&mut RoutingSnapshot) -> bool) {
        let mut state = self.state.lock();
        if f(&mut state) {
            state.version += 1;
            let v = state.version;
            drop(state);
            self.version.send_replace(v);
        }
    }

    pub fn set_route(&self, route: ResolvedRoute) {
        self.change(|s| s.routes.insert(route.key.clone(), route.clone()).as_ref() != Some(&route));
    }

    pub fn remove_route(&self, key: &ObjectKey) {
        self.change(|s| s.routes.remove(key).is_some());
    }

    pub fn set_backend(&self, backend: RevisionBackend) {
        self.change(|s| {
            s.backends
                .insert(backend.key.clone(), backend.clone())
                .as_ref()
                != Some(&backend)
        });
    }

    pub fn remove_backend(&self, key: &ObjectKey) {
        self.change(|s| s.backends.remove(key).is_some());
    }

    pub fn snapshot(&self) -> RoutingSnapshot {
        self.state.lock().clone()
    }

    /// Wakes on every version change; read [`RoutingTable::snapshot`] after.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(percent: u32) -> ResolvedRoute {
        ResolvedRoute {
            key: ObjectKey::new("default", "hello"),
            host: "hello.default.example.com".into(),
            targets: vec![ResolvedTarget {
                revision: "hello-00001".into(),
                percent,
                tag: None,
                tag_host: None,
            }],
        }
    }

    #[test]
    fn only_real_changes_bump_the_version() {
        let table = RoutingTable::new();
        let rx = table.subscribe();
        table.set_route(route(100));
        assert_eq!(*rx.borrow(), 1);
        table.set_route(route(100));
        assert_eq!(*rx.borrow(), 1, "same route again is not a change");
        table.remove_route(&ObjectKey::new("default", "nope"));
        assert_eq!(*rx.borrow(), 1);
        table.remove_route(&ObjectKey::new("default", "hello"));
        assert_eq!(*rx.borrow(), 2);
        assert!(table.snapshot().routes.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_filled_table_is_whole_only_once_both_writers_are_done() {
        assert!(RoutingTable::new().is_whole());
        let table = RoutingTable::filled_by_watches();
        let mut whole = std::pin::pin!(table.whole());
        assert!(futures::poll!(whole.as_mut()).is_pending());
        table.routes_complete();
        table.routes_complete();
        assert!(
            futures::poll!(whole.as_mut()).is_pending(),
            "backends pending"
        );
        table.backends_complete();
        assert!(futures::poll!(whole.as_mut()).is_ready());
        assert!(table.is_whole());
    }
}
