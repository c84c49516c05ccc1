//! The log of recent changes that watches resume from (a watch from a resourceVersion
//! older than it gets `410 Gone` and relists, as from an etcd compaction).
//!
//! It is bounded by the size of what it holds, not only by a count: each event keeps its
//! object (and the version before it) alive, so 20,000 events of a few KiB of JSON was
//! the largest share of an idle platform's memory (events now hold the stored compact
//! JSON, shared with the objects in memory; they held `serde_json::Value`, ten times
//! that). Events younger than [`MIN_AGE`] stay whatever their size, so a
//! client that lists and then watches, or a watch resuming from its last bookmark, is
//! not sent to relist by a burst of writes; older ones go once the log is over
//! [`BYTE_BUDGET`]. [`EventLog::trim`] also runs while the store is idle, so memory a
//! burst took comes back after it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Gone, WatchEvent};

/// At most this many events, however small or recent.
const MAX_EVENTS: usize = 20_000;
/// Past this much JSON (the events' objects and the versions before them), events older
/// than [`MIN_AGE`] are dropped.
const BYTE_BUDGET: usize = 1 << 20;
/// How long an event stays regardless of [`BYTE_BUDGET`]; longer than the watch
/// bookmark interval (10 s), so a resuming watch finds its bookmark's version.
const MIN_AGE: Duration = Duration::from_secs(15);

#[derive(Debug)]
struct Entry {
    event: Arc<WatchEvent>,
    bytes: usize,
    at: Instant,
}

#[derive(Debug, Default)]
pub(super) struct EventLog {
    entries: VecDeque<Entry>,
    bytes: usize,
    /// Every change with a resourceVersion above this is in the log.
    compacted: u64,
}

impl EventLog {
    /// An empty log: changes up to `rv` (before this process started) are gone.
    pub(super) fn starting_at(rv: u64) -> Self {
        Self {
            compacted: rv,
            ..Self::default()
        }
    }

    /// Append one event of `bytes` bytes of JSON, then trim.
    pub(super) fn push(&mut self, event: Arc<WatchEvent>, bytes: usize, now: Instant) {
        self.bytes += bytes;
        self.entries.push_back(Entry {
            event,
            bytes,
            at: now,
        });
        self.trim(now);
    }

    /// Drop the oldest events beyond the count, and those over the byte budget that are
    /// older than [`MIN_AGE`].
    pub(super) fn trim(&mut self, now: Instant) {
        while let Some(oldest) = self.entries.front() {
            let too_many = self.entries.len() > MAX_EVENTS;
            let too_big =
                self.bytes > BYTE_BUDGET && now.saturating_duration_since(oldest.at) >= MIN_AGE;
            if !too_many && !too_big {
                break;
            }
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.bytes;
            self.compacted = old.event.rv;
        }
        if self.entries.is_empty() {
            // Let a burst's buffer go, too.
            self.entries.shrink_to_fit();
        }
    }

    /// Whether [`EventLog::trim`] has anything to do once events have aged.
    pub(super) fn over_budget(&self) -> bool {
        self.bytes > BYTE_BUDGET
    }

    /// The events after `from`, or `Gone` if some of them were dropped.
    pub(super) fn since(&self, from: u64) -> Result<Vec<Arc<WatchEvent>>, Gone> {
        if from < self.compacted {
            return Err(Gone {
                requested: from,
                oldest: self.compacted,
            });
        }
        Ok(self
            .entries
            .iter()
            .filter(|e| e.event.rv > from)
            .map(|e| e.event.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::compact::{Json, Stored};
    use super::super::{EventType, Version};
    use super::*;
    use serde_json::json;

    fn event(rv: u64) -> Arc<WatchEvent> {
        Arc::new(WatchEvent {
            kind: EventType::Added,
            rv,
            prefix: "/configmaps".into(),
            namespace: "ns".into(),
            object: Version(Arc::new(Stored::new(Json::from(&b"{}"[..]), &json!({})))),
            previous: None,
        })
    }

    #[test]
    fn recent_events_stay_over_budget_and_go_once_old() {
        let t0 = Instant::now();
        let mut log = EventLog::starting_at(0);
        let big = BYTE_BUDGET / 2;
        for rv in 1..=4 {
            log.push(event(rv), big, t0);
        }
        // Twice the budget, but all younger than MIN_AGE: a watch from 0 replays all.
        assert_eq!(log.since(0).unwrap().len(), 4);
        log.trim(t0 + MIN_AGE);
        // Back within budget by dropping the oldest: resuming from before them is Gone.
        assert_eq!(log.since(2).unwrap().len(), 2);
        let gone = log.since(1).unwrap_err();
        assert_eq!((gone.requested, gone.oldest), (1, 2));
    }

    #[test]
    fn small_events_are_bounded_by_count() {
        let t0 = Instant::now();
        let mut log = EventLog::starting_at(5);
        for rv in 6..6 + MAX_EVENTS as u64 + 10 {
            log.push(event(rv), 10, t0);
        }
        assert_eq!(log.entries.len(), MAX_EVENTS);
        assert!(log.since(10).is_err());
        assert!(log.since(15).is_ok());
        assert!(log.since(4).is_err(), "before the start is gone");
    }
}
