//! The activator's Prometheus metrics, per revision (labels `namespace`, `revision`):
//! requests answered by status class, and how long cold requests waited for the
//! revision's first replica. Handles are resolved when a revision's state is created,
//! so recording is an atomic add, never a label lookup; the series are dropped with
//! the revision. The queue depth is read from the throttlers when scraped (see
//! [`queue_depth`](crate::queue_depth)).

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts};

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Cold-start buckets (seconds): from a replica that was already starting (1 ms) to
/// a slow runtime's first start (a minute).
const COLD_START_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The families the handles come from; clones share them.
#[derive(Debug, Clone)]
pub(crate) struct ActivatorMetrics {
    requests: IntCounterVec,
    cold_start: HistogramVec,
}

/// One revision's handles.
#[derive(Debug)]
pub(crate) struct RevisionMetrics {
    by_class: [IntCounter; 5],
    cold_start: Histogram,
}

/// Collectors registered on a Prometheus registry until this is dropped, so an
/// activator that stops leaves no families behind on a registry it shares (and a
/// later one can register them again).
#[derive(Debug)]
pub(crate) struct Registered {
    registry: prometheus::Registry,
    collectors: Vec<Shared>,
}

/// A collector both the registry and [`Registered`] hold: unregistering takes a
/// collector with the same descriptors.
#[derive(Clone)]
struct Shared(Arc<dyn Collector>);

// === impl ActivatorMetrics ===

impl ActivatorMetrics {
    pub(crate) fn new() -> Self {
        let requests = IntCounterVec::new(
            Opts::new(
                "fnmesh_activator_requests_total",
                "Requests the activator answered per revision, by response status class.",
            ),
            &["namespace", "revision", "code_class"],
        )
        .expect("valid metric options");
        let cold_start = HistogramVec::new(
            HistogramOpts::new(
                "fnmesh_activator_cold_start_seconds",
                "Time a request that arrived with no ready replica waited in the activator for one.",
            )
            .buckets(COLD_START_BUCKETS.to_vec()),
            &["namespace", "revision"],
        )
        .expect("valid metric options");
        Self {
            requests,
            cold_start,
        }
    }

    pub(crate) fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.cold_start.clone()),
        ]
    }

    pub(crate) fn for_revision(&self, namespace: &str, name: &str) -> RevisionMetrics {
        RevisionMetrics {
            by_class: CLASSES
                .map(|class| self.requests.with_label_values(&[namespace, name, class])),
            cold_start: self.cold_start.with_label_values(&[namespace, name]),
        }
    }

    /// Drops a revision's series once it is gone, so the registry does not grow with
    /// every revision ever seen. Requests still holding the old handles record into
    /// series nobody exports.
    pub(crate) fn forget(&self, namespace: &str, name: &str) {
        for class in CLASSES {
            let _ = self.requests.remove_label_values(&[namespace, name, class]);
        }
        let _ = self.cold_start.remove_label_values(&[namespace, name]);
    }
}

// === impl RevisionMetrics ===

impl RevisionMetrics {
    pub(crate) fn record(&self, status: StatusCode) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.by_class[class].inc();
    }

    pub(crate) fn record_cold_start(&self, waited: Duration) {
        self.cold_start.observe(waited.as_secs_f64());
    }
}

// === impl Registered ===

impl Registered {
    /// Registers each collector; one that cannot be (its name is taken, e.g. by a
    /// second activator on the same registry) is logged and works unexported.
    pub(crate) fn on(
        registry: &prometheus::Registry,
        collectors: impl IntoIterator<Item = Box<dyn Collector>>,
    ) -> Self {
        let mut registered = Vec::new();
        for collector in collectors {
            let shared = Shared(Arc::from(collector));
            match registry.register(Box::new(shared.clone())) {
                Ok(()) => registered.push(shared),
                Err(error) => tracing::warn!(%error, "activator metric not registered"),
            }
        }
        Self {
            registry: registry.clone(),
            collectors: registered,
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        for collector in self.collectors.drain(..) {
            let _ = self.registry.unregister(Box::new(collector));
        }
    }
}

// === impl Shared ===

impl Collector for Shared {
    fn desc(&self) -> Vec<&Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.0.collect()
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.desc().iter().map(|d| d.fq_name.as_str()).collect();
        f.debug_tuple("Shared").field(&names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exported(registry: &prometheus::Registry) -> Vec<String> {
        registry
            .gather()
            .iter()
            .map(|f| f.name().to_owned())
            .collect()
    }

    #[test]
    fn records_by_class_and_forgets() {
        let metrics = ActivatorMetrics::new();
        let registry = prometheus::Registry::new();
        let _registered = Registered::on(&registry, metrics.collectors());
        let revision = metrics.for_revision("default", "hello-00001");
        revision.record(StatusCode::OK);
        revision.record(StatusCode::GATEWAY_TIMEOUT);
        revision.record_cold_start(Duration::from_millis(700));
        let value = |class: &str| {
            metrics
                .requests
                .with_label_values(&["default", "hello-00001", class])
                .get()
        };
        assert_eq!((value("2xx"), value("5xx"), value("4xx")), (1, 1, 0));
        let cold = metrics
            .cold_start
            .with_label_values(&["default", "hello-00001"]);
        assert_eq!(cold.get_sample_count(), 1);

        metrics.forget("default", "hello-00001");
        assert!(exported(&registry).is_empty(), "{:?}", exported(&registry));
    }

    const BOTH: [&str; 2] = [
        "fnmesh_activator_cold_start_seconds",
        "fnmesh_activator_requests_total",
    ];

    #[test]
    fn dropping_the_registration_unregisters_so_a_successor_can_register() {
        let registry = prometheus::Registry::new();
        let first = ActivatorMetrics::new();
        first
            .for_revision("default", "hello-00001")
            .record(StatusCode::OK);
        let registered = Registered::on(&registry, first.collectors());
        assert_eq!(exported(&registry), BOTH);
        drop(registered);
        assert!(exported(&registry).is_empty());

        let second = ActivatorMetrics::new();
        let _registered = Registered::on(&registry, second.collectors());
        second
            .for_revision("default", "hello-00001")
            .record(StatusCode::OK);
        assert_eq!(exported(&registry), BOTH);
    }
}
