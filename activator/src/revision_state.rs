//! One revision as the request path sees it: its settings, its throttler, whether it
//! is failed, and how its requests are counted. Shared by every request for the
//! revision and updated by the watches.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use stat_stream::ConcurrencyCounter;
use tokio::sync::watch;

use crate::metrics::RevisionMetrics;
use crate::revision_settings::{RevisionFailure, RevisionSettings};
use crate::throttler::{RevisionThrottler, ThrottlerConfig};

/// A revision's throttling and counting state.
#[derive(Debug)]
pub(crate) struct RevisionState {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) settings: RevisionSettings,
    pub(crate) throttler: RevisionThrottler,
    /// Requests in flight here, for the autoscaler: each from its arrival (held ones
    /// are demand too) until its response body ends.
    pub(crate) concurrency: Arc<ConcurrencyCounter>,
    pub(crate) metrics: RevisionMetrics,
    /// Mirrors the throttler's replica count, so a request can tell "cold" without
    /// taking the throttler's lock.
    ready_endpoints: AtomicUsize,
    /// `Some` while the revision reports a failure, has no ready endpoint and never had
    /// one: then nothing will serve the requests it holds, so they are answered at once.
    /// A watch channel rather than `RevisionThrottler::fail_waiting` alone, so a
    /// request that joins the queue just after the failure was published still sees it.
    failure: watch::Sender<Option<Arc<RevisionFailure>>>,
    /// The last observed inputs; its lock orders refreshes from both watches, so the
    /// one that read the caches last is the one that lands last.
    inputs: Mutex<Inputs>,
}

/// What the watches last said about the revision.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    pub(crate) condition_failure: Option<RevisionFailure>,
    pub(crate) endpoints: Vec<SocketAddr>,
    /// The revision has had a ready replica since this state was created. A failure
    /// reported after that is a replica that crashed (or was killed) while serving: the
    /// runner or kubelet replaces it, so the requests held for it wait for the
    /// replacement (up to their timeout, as Knative's activator waits) instead of
    /// failing as if the revision could never start.
    pub(crate) has_served: bool,
}

/// How a new state counts its requests.
#[derive(Debug)]
pub(crate) struct Counting {
    pub(crate) concurrency: Arc<ConcurrencyCounter>,
    pub(crate) metrics: RevisionMetrics,
}

// === impl RevisionState ===

impl RevisionState {
    pub(crate) fn new(
        namespace: &str,
        name: &str,
        settings: RevisionSettings,
        queue_capacity: usize,
        condition_failure: Option<RevisionFailure>,
        counting: Counting,
    ) -> Self {
        let throttler = RevisionThrottler::new(ThrottlerConfig {
            container_concurrency: settings.container_concurrency,
            queue_capacity,
        });
        let failure = condition_failure.clone().map(Arc::new);
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            settings,
            throttler,
            concurrency: counting.concurrency,
            metrics: counting.metrics,
            ready_endpoints: AtomicUsize::new(0),
            failure: watch::Sender::new(failure),
            inputs: Mutex::new(Inputs {
                condition_failure,
                endpoints: Vec::new(),
                has_served: false,
            }),
        }
    }

    /// The replicas the revision currently has.
    pub(crate) fn endpoints(&self) -> Vec<SocketAddr> {
        self.inputs.lock().endpoints.clone()
    }

    pub(crate) fn has_ready_endpoint(&self) -> bool {
        self.ready_endpoints.load(Ordering::Relaxed) > 0
    }

    /// Updates the inputs with `read` (which reads the watch caches) under the state's
    /// lock, then applies them: endpoints to the throttler, failure to waiters.
    pub(crate) fn refresh(&self, read: impl FnOnce(&mut Inputs)) {
        let mut inputs = self.inputs.lock();
        read(&mut inputs);
        self.ready_endpoints
            .store(inputs.endpoints.len(), Ordering::Relaxed);
        self.throttler.update_endpoints(inputs.endpoints.clone());
        inputs.has_served |= !inputs.endpoints.is_empty();
        let failure = inputs
            .condition_failure
            .as_ref()
            .filter(|_| inputs.endpoints.is_empty() && !inputs.has_served);
        self.failure.send_if_modified(|published| {
            if published.as_deref() == failure {
                return false;
            }
            *published = failure.cloned().map(Arc::new);
            true
        });
    }

    /// Follows the published failure (see the `failure` field).
    pub(crate) fn watch_failure(&self) -> watch::Receiver<Option<Arc<RevisionFailure>>> {
        self.failure.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::ActivatorMetrics;
    use crate::revision_settings::Protocol;

    fn state(failure: Option<RevisionFailure>) -> RevisionState {
        let settings = RevisionSettings {
            container_concurrency: 1,
            timeout: Duration::from_secs(300),
            protocol: Protocol::Http1,
            port_name: None,
        };
        let counting = Counting {
            concurrency: Arc::new(ConcurrencyCounter::new()),
            metrics: ActivatorMetrics::new().for_revision("default", "r"),
        };
        RevisionState::new("default", "r", settings, 10, failure, counting)
    }

    fn crashed() -> RevisionFailure {
        RevisionFailure {
            condition: "ContainerHealthy".into(),
            reason: "Signal9".into(),
            message: "killed".into(),
        }
    }

    #[test]
    fn a_failure_before_any_ready_replica_fails_the_held_requests() {
        let s = state(None);
        s.refresh(|i| i.condition_failure = Some(crashed()));
        assert_eq!(s.watch_failure().borrow().as_deref(), Some(&crashed()));
    }

    #[test]
    fn a_crash_after_serving_keeps_the_held_requests_waiting_for_the_replacement() {
        let s = state(None);
        let replica: SocketAddr = "127.0.0.1:9".parse().unwrap();
        s.refresh(|i| i.endpoints = vec![replica]);
        s.refresh(|i| {
            i.endpoints.clear();
            i.condition_failure = Some(crashed());
        });
        assert!(s.watch_failure().borrow().is_none());
    }
}
