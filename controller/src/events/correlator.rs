//! What to write for each event recorded, as client-go's `EventCorrelator` decides it,
//! so a repeating event never floods the API:
//!
//! - an event identical to one written before (same object, type, reason, message and
//!   source) is not written again: the existing Event's `count` goes up and its
//!   `lastTimestamp` moves (client-go's `EventLogger`);
//! - each object may have a burst of 25 writes, then one per 5 minutes (client-go's
//!   spam filter, a token bucket per source and object); the rest are dropped.
//!
//! Bounded: it remembers the last 4096 distinct events, as client-go's LRU does. Pure
//! (time comes in), so the rules are tested on paused time.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use tokio::time::Instant;

use super::Record;

const BURST: u32 = 25;
const REFILL: Duration = Duration::from_secs(300);
const REMEMBERED: usize = 4096;

/// One write to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Write {
    /// The Event's name: `<object>.<hex nanoseconds>`, as client-go names them.
    pub(crate) name: String,
    pub(crate) count: i32,
    pub(crate) first: Timestamp,
    pub(crate) last: Timestamp,
    /// A new Event, or an update of `name`'s count and last time.
    pub(crate) create: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EventKey {
    object: [String; 6],
    type_: &'static str,
    reason: String,
    message: String,
}

#[derive(Debug)]
struct Seen {
    name: String,
    count: i32,
    first: Timestamp,
    used: Instant,
}

#[derive(Debug)]
struct Bucket {
    tokens: u32,
    refilled: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Correlator {
    seen: HashMap<EventKey, Seen>,
    buckets: HashMap<[String; 6], Bucket>,
}

// === impl Correlator ===

impl Correlator {
    /// The write `record` calls for at `now` (`wall` is the same instant as a
    /// timestamp), or `None` if the object has used up its writes.
    pub(crate) fn observe(
        &mut self,
        record: &Record,
        now: Instant,
        wall: Timestamp,
    ) -> Option<Write> {
        let object = object_key(&record.regarding);
        if !self.take_token(&object, now) {
            return None;
        }
        let key = EventKey {
            object,
            type_: record.type_.as_str(),
            reason: record.reason.clone(),
            message: record.message.clone(),
        };
        if let Some(seen) = self.seen.get_mut(&key) {
            seen.count = seen.count.saturating_add(1);
            seen.used = now;
            return Some(Write {
                name: seen.name.clone(),
                count: seen.count,
                first: seen.first,
                last: wall,
                create: false,
            });
        }
        self.forget_oldest();
        let name = format!(
            "{}.{:x}",
            record.regarding.name.as_deref().unwrap_or_default(),
            wall.as_nanosecond()
        );
        self.seen.insert(
            key,
            Seen {
                name: name.clone(),
                count: 1,
                first: wall,
                used: now,
            },
        );
        Some(Write {
            name,
            count: 1,
            first: wall,
            last: wall,
            create: true,
        })
    }

    /// The Event `name` is gone from the API (deleted, or expired): the next repeat
    /// starts a new one.
    pub(crate) fn forget(&mut self, name: &str) {
        self.seen.retain(|_, seen| seen.name != name);
    }

    fn take_token(&mut self, object: &[String; 6], now: Instant) -> bool {
        let bucket = self.buckets.entry(object.clone()).or_insert(Bucket {
            tokens: BURST,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled);
        let earned = u32::try_from(elapsed.as_secs() / REFILL.as_secs()).unwrap_or(u32::MAX);
        if earned > 0 {
            bucket.tokens = bucket.tokens.saturating_add(earned).min(BURST);
            bucket.refilled += REFILL * earned.min(BURST);
            if bucket.tokens == BURST {
                bucket.refilled = now;
            }
        }
        if bucket.tokens == 0 {
            return false;
        }
        bucket.tokens -= 1;
        true
    }

    fn forget_oldest(&mut self) {
        if self.seen.len() < REMEMBERED {
            return;
        }
        let oldest = self
            .seen
            .iter()
            .min_by_key(|(_, seen)| seen.used)
            .map(|(key, _)| key.clone());
        if let Some(key) = oldest {
            self.seen.remove(&key);
        }
        // Buckets of objects no remembered event is about any more go too.
        let live: std::collections::HashSet<&[String; 6]> =
            self.seen.keys().map(|k| &k.object).collect();
        self.buckets.retain(|object, _| live.contains(object));
    }
}

/// What identifies the object an event is about (not its resourceVersion, which
/// moves with every write).
fn object_key(r: &ObjectReference) -> [String; 6] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        text(&r.api_version),
        text(&r.kind),
        text(&r.namespace),
        text(&r.name),
        text(&r.uid),
        text(&r.field_path),
    ]
}

#[cfg(test)]
mod tests;
