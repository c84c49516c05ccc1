//! Counters by revision. Lookups take a lock and allocate, so callers resolve their
//! counters off the hot path (when a routing table is stored) and keep the `Arc`.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use tokio::time::Instant;

use crate::counter::ConcurrencyCounter;
use crate::messages::RevisionStat;

/// Counters by `(namespace, revision)`.
#[derive(Debug, Default)]
pub struct CounterRegistry {
    counters: Mutex<BTreeMap<(String, String), Arc<ConcurrencyCounter>>>,
}

impl CounterRegistry {
    /// The revision's counter; the same `Arc` for the same key until `retain` drops it.
    pub fn counter(&self, namespace: &str, revision: &str) -> Arc<ConcurrencyCounter> {
        let mut counters = self.lock();
        let key = (namespace.to_owned(), revision.to_owned());
        Arc::clone(counters.entry(key).or_default())
    }

    /// Drops the counters of revisions `keep` rejects (no longer routed). Requests still
    /// in flight on them keep their counter alive through their guards, unreported.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        self.lock()
            .retain(|(namespace, revision), _| keep(namespace, revision));
    }

    /// Samples every counter (so each period starts where the last ended) and returns
    /// one stat per revision whose sample is not all zero, ordered by key.
    pub fn sample_all(&self, now: Instant) -> Vec<RevisionStat> {
        self.lock()
            .iter()
            .filter_map(|((namespace, revision), counter)| {
                let sample = counter.sample(now);
                (!sample.is_zero()).then(|| RevisionStat {
                    namespace: namespace.clone(),
                    revision: revision.clone(),
                    concurrency: sample.concurrency,
                    requests: sample.requests,
                })
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, String), Arc<ConcurrencyCounter>>> {
        self.counters.lock()
    }
}
