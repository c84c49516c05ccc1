//! Request metrics in a private Prometheus registry. Handles are resolved per revision
//! when a table is stored, so recording a request is two atomic adds, never a label
//! lookup.

use std::time::Duration;

use http::StatusCode;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder,
};

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Latency buckets (seconds), from sub-millisecond hits up to Knative's maximum timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 600.0,
];

/// Failed to register or encode metrics.
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// The gateway's metric families.
#[derive(Debug)]
pub(crate) struct GatewayMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    unrouted: IntCounter,
}

/// Pre-resolved handles for one revision.
#[derive(Debug)]
pub(crate) struct RevisionMetrics {
    by_class: [IntCounter; 5],
    latency: Histogram,
}

// === impl GatewayMetrics ===

impl GatewayMetrics {
    pub(crate) fn new() -> Self {
        let requests = IntCounterVec::new(
            Opts::new(
                "fnmesh_gateway_requests_total",
                "Requests proxied per revision, by response status class.",
            ),
            &["namespace", "revision", "code_class"],
        )
        .expect("valid metric options");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "fnmesh_gateway_request_duration_seconds",
                "Time from a request's arrival until its response finished, per revision.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["namespace", "revision"],
        )
        .expect("valid metric options");
        let unrouted = IntCounter::new(
            "fnmesh_gateway_unrouted_requests_total",
            "Requests for a host no route answers (404).",
        )
        .expect("valid metric options");
        let registry = Registry::new();
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(unrouted.clone()),
        ] {
            registry
                .register(collector)
                .expect("fresh registry has no duplicates");
        }
        Self {
            registry,
            requests,
            latency,
            unrouted,
        }
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn for_revision(&self, namespace: &str, name: &str) -> RevisionMetrics {
        RevisionMetrics {
            by_class: CLASSES
                .map(|class| self.requests.with_label_values(&[namespace, name, class])),
            latency: self.latency.with_label_values(&[namespace, name]),
        }
    }

    /// Drops a revision's series once no table references it, so the registry does not
    /// grow with every revision ever routed.
    pub(crate) fn forget(&self, namespace: &str, name: &str) {
        for class in CLASSES {
            let _ = self.requests.remove_label_values(&[namespace, name, class]);
        }
        let _ = self.latency.remove_label_values(&[namespace, name]);
    }

    pub(crate) fn record_unrouted(&self) {
        self.unrouted.inc();
    }

    /// The text exposition format of everything registered.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, MetricsError> {
        let mut out = Vec::with_capacity(4096);
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(out)
    }
}

// === impl RevisionMetrics ===

impl RevisionMetrics {
    pub(crate) fn record(&self, status: StatusCode, elapsed: Duration) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.by_class[class].inc();
        self.latency.observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_by_class_and_forgets() {
        let metrics = GatewayMetrics::new();
        let rev = metrics.for_revision("default", "hello-00001");
        rev.record(StatusCode::OK, Duration::from_millis(3));
        rev.record(StatusCode::BAD_GATEWAY, Duration::from_millis(3));
        let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
        assert!(text.contains(
            r#"fnmesh_gateway_requests_total{code_class="2xx",namespace="default",revision="hello-00001"} 1"#
        ));
        assert!(text.contains(
            r#"fnmesh_gateway_requests_total{code_class="5xx",namespace="default",revision="hello-00001"} 1"#
        ));
        metrics.forget("default", "hello-00001");
        let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
        assert!(!text.contains("hello-00001"));
    }
}
