//! `fnmesh_activator_queue_depth`: requests waiting per revision, read from the
//! throttlers when Prometheus scrapes rather than kept in step on the request path,
//! so it costs nothing per request and cannot drift from the queues it describes.

use std::sync::Weak;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGaugeVec, Opts};

use crate::registry::Registry;

const LABELS: [&str; 2] = ["namespace", "revision"];

#[derive(Debug)]
pub(crate) struct QueueDepth {
    /// Never set: it holds the descriptor the registry checks scrapes against.
    template: IntGaugeVec,
    /// Weak: the registry may outlive the activator on a shared Prometheus registry.
    revisions: Weak<Registry>,
}

impl QueueDepth {
    pub(crate) fn new(revisions: Weak<Registry>) -> Self {
        Self {
            template: family(),
            revisions,
        }
    }
}

fn family() -> IntGaugeVec {
    IntGaugeVec::new(
        Opts::new(
            "fnmesh_activator_queue_depth",
            "Requests waiting in the activator for a replica, per revision.",
        ),
        &LABELS,
    )
    .expect("valid metric options")
}

impl Collector for QueueDepth {
    fn desc(&self) -> Vec<&Desc> {
        self.template.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(revisions) = self.revisions.upgrade() else {
            return Vec::new();
        };
        // A fresh family per scrape: concurrent scrapes do not share it, and revisions
        // that are gone simply are not in it.
        let now = family();
        for state in revisions.all() {
            let depth = i64::try_from(state.throttler.queue_depth()).unwrap_or(i64::MAX);
            now.with_label_values(&[state.namespace.as_str(), state.name.as_str()])
                .set(depth);
        }
        now.collect()
    }
}
