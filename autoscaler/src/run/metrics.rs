//! The autoscaler's view per revision, for Prometheus: what it decided, what it saw.
//! Gauges are set on every decision and dropped with the revision.

use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry};

use super::cluster::RevisionKey;
use super::revision_state::Replicas;
use crate::kpa::Decision;
use crate::scaler::Outcome;

const LABELS: [&str; 2] = ["namespace", "revision"];

#[derive(Debug, Clone)]
pub(crate) struct AutoscalerMetrics {
    desired: IntGaugeVec,
    requested: IntGaugeVec,
    ready: IntGaugeVec,
    panic: IntGaugeVec,
    proxy: IntGaugeVec,
    stable: GaugeVec,
    panic_concurrency: GaugeVec,
    excess_burst_capacity: IntGaugeVec,
}

impl AutoscalerMetrics {
    /// Registers the families on `registry` (an already registered family is an error
    /// the caller made; it is logged and the metrics still work unexported).
    pub(crate) fn new(registry: &Registry) -> Self {
        let int = |name: &str, help: &str| {
            IntGaugeVec::new(Opts::new(name, help), &LABELS).expect("valid metric options")
        };
        let float = |name: &str, help: &str| {
            GaugeVec::new(Opts::new(name, help), &LABELS).expect("valid metric options")
        };
        let metrics = Self {
            desired: int(
                "fnmesh_autoscaler_desired_pods",
                "Replicas the KPA recommends for the load, before min/max-scale and scale to zero.",
            ),
            requested: int(
                "fnmesh_autoscaler_requested_pods",
                "Replicas the revision's Deployment asks for (its /scale).",
            ),
            ready: int("fnmesh_autoscaler_ready_pods", "Replicas ready to serve."),
            panic: int(
                "fnmesh_autoscaler_panic_mode",
                "1 while the KPA is in panic mode.",
            ),
            proxy: int(
                "fnmesh_autoscaler_proxy_mode",
                "1 while the activator is in the revision's request path.",
            ),
            stable: float(
                "fnmesh_autoscaler_stable_request_concurrency",
                "Average of the scaling metric over the stable window.",
            ),
            panic_concurrency: float(
                "fnmesh_autoscaler_panic_request_concurrency",
                "Average of the scaling metric over the panic window.",
            ),
            excess_burst_capacity: int(
                "fnmesh_autoscaler_excess_burst_capacity",
                "Spare capacity beyond the target burst capacity; negative puts the activator in the path.",
            ),
        };
        for collector in metrics.collectors() {
            if let Err(error) = registry.register(collector) {
                tracing::warn!(%error, "autoscaler metric not registered");
            }
        }
        metrics
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.desired.clone()),
            Box::new(self.requested.clone()),
            Box::new(self.ready.clone()),
            Box::new(self.panic.clone()),
            Box::new(self.proxy.clone()),
            Box::new(self.stable.clone()),
            Box::new(self.panic_concurrency.clone()),
            Box::new(self.excess_burst_capacity.clone()),
        ]
    }

    pub(crate) fn observe(
        &self,
        key: &RevisionKey,
        replicas: Replicas,
        decision: Option<&Decision>,
        outcome: Outcome,
    ) {
        let labels = [key.namespace.as_str(), key.name.as_str()];
        self.requested
            .with_label_values(&labels)
            .set(i64::from(replicas.requested));
        self.ready
            .with_label_values(&labels)
            .set(i64::from(replicas.ready));
        self.proxy
            .with_label_values(&labels)
            .set(i64::from(outcome.proxy));
        if let Some(d) = decision {
            self.desired
                .with_label_values(&labels)
                .set(i64::from(d.desired_pods));
            self.panic
                .with_label_values(&labels)
                .set(i64::from(d.panic));
            self.stable
                .with_label_values(&labels)
                .set(d.observed_stable);
            self.panic_concurrency
                .with_label_values(&labels)
                .set(d.observed_panic);
            self.excess_burst_capacity
                .with_label_values(&labels)
                .set(i64::from(d.excess_burst_capacity));
        }
    }

    pub(crate) fn forget(&self, key: &RevisionKey) {
        let labels = [key.namespace.as_str(), key.name.as_str()];
        for family in [
            &self.desired,
            &self.requested,
            &self.ready,
            &self.panic,
            &self.proxy,
            &self.excess_burst_capacity,
        ] {
            let _ = family.remove_label_values(&labels);
        }
        let _ = self.stable.remove_label_values(&labels);
        let _ = self.panic_concurrency.remove_label_values(&labels);
    }
}
