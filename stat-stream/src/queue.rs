//! The reports waiting to be sent: bounded, dropping the oldest, because after an
//! outage the autoscaler wants the latest figures, not a backlog of stale ones.

use parking_lot::{Mutex, MutexGuard};
use std::collections::VecDeque;
use tokio::sync::Notify;

use crate::messages::StatReport;

/// Reports kept while the autoscaler is unreachable (a minute of 1 s reports).
pub const CAPACITY: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Queue {
    reports: Mutex<VecDeque<StatReport>>,
    /// One waiter (the stream being sent); `notify_one` keeps a permit when nobody
    /// waits, so a push between `pop` and `notified` is not missed.
    pushed: Notify,
}

impl Queue {
    /// Never blocks for longer than the lock (the one consumer only pops under it).
    pub(crate) fn push(&self, report: StatReport) {
        {
            let mut reports = self.lock();
            if reports.len() == CAPACITY {
                reports.pop_front();
                tracing::debug!("stat report queue full; dropped the oldest report");
            }
            reports.push_back(report);
        }
        self.pushed.notify_one();
    }

    /// The oldest report, waiting for one if there is none.
    pub(crate) async fn pop(&self) -> StatReport {
        loop {
            if let Some(report) = self.lock().pop_front() {
                return report;
            }
            self.pushed.notified().await;
        }
    }

    /// A copy of what is waiting, oldest first (to seed a new stream's queue).
    pub(crate) fn snapshot(&self) -> Vec<StatReport> {
        self.lock().iter().cloned().collect()
    }

    /// Drops everything waiting.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<StatReport>> {
        self.reports.lock()
    }
}
