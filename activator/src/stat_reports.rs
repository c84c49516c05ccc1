//! What the activator tells the autoscaler, on the same stream as the gateway but as
//! source `Activator`: every period, each revision's sampled concurrency (requests
//! held in the queue included, as Knative's activator counts them, since they are
//! demand the replicas must absorb); and at once, off the tick, a `cold` report for
//! every request that arrives for a revision with no ready replica, so the wake-up
//! starts without waiting for the next period.

use std::sync::Arc;
use std::time::Duration;

use stat_stream::{CounterRegistry, Reporter, RevisionStat, StatSource};
use tokio::task::JoinHandle;

use crate::config::ActivatorConfig;

/// One stream to the autoscaler for this activator instance; clones share it.
#[derive(Debug, Clone)]
pub(crate) struct StatReports {
    reporter: Reporter,
}

impl StatReports {
    /// Opens (and keeps reopening) the stream to `config.autoscaler`, as
    /// `config.instance`.
    pub(crate) fn spawn(config: &ActivatorConfig) -> Self {
        let reporter = Reporter::spawn(
            config.autoscaler.clone(),
            config.instance.clone(),
            StatSource::Activator,
        );
        Self { reporter }
    }

    /// Samples every counter in `counters` and reports them each `period`.
    pub(crate) fn spawn_periodic(
        &self,
        counters: Arc<CounterRegistry>,
        period: Duration,
    ) -> JoinHandle<()> {
        stat_stream::spawn_periodic(counters, self.reporter.clone(), period)
    }

    /// A request arrived for a revision with no ready replica; `waiting` counts the
    /// requests held for it including this one. Never blocks (it only queues).
    pub(crate) fn cold(&self, namespace: &str, revision: &str, waiting: usize) {
        let stat = RevisionStat {
            namespace: namespace.to_owned(),
            revision: revision.to_owned(),
            #[allow(clippy::cast_precision_loss)]
            concurrency: waiting as f64,
            requests: 1,
        };
        self.reporter.send(vec![stat], true);
    }
}
