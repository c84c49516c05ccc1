//! Events expire, as in Kubernetes: kube-apiserver stores every core/v1 Event with a
//! TTL of `--event-ttl` (default one hour) counted from its last write, and the Event
//! is gone once it runs out (watchers see it `DELETED`). Without that, every Event a
//! controller ever emitted stays in the store, in memory and in every list.
//!
//! Here a sweep deletes, every [`SWEEP_PERIOD`] (or the TTL, if shorter), each Event
//! whose last write is older than the TTL. The last write is read from the Event
//! itself (the latest of its creation, `lastTimestamp`, `eventTime`,
//! `series.lastObservedTime` and its managedFields' times), so it survives a restart;
//! an Event is removed at most one sweep period late.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use crate::api::Api;
use crate::store::StoreError;

/// kube-apiserver's `--event-ttl` default.
pub const DEFAULT_EVENT_TTL: Duration = Duration::from_secs(3600);

/// How often the sweep looks for expired Events.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// Where core/v1 Events are stored (the core group's `group/plural` prefix).
const EVENTS: &str = "/events/";

/// When `event` was last written, as far as its own fields tell.
fn last_written(event: &Value) -> Option<Timestamp> {
    let parse = |v: Option<&Value>| v.and_then(Value::as_str)?.parse::<Timestamp>().ok();
    let managed = event
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|entry| parse(entry.get("time")));
    [
        "/metadata/creationTimestamp",
        "/lastTimestamp",
        "/eventTime",
        "/series/lastObservedTime",
    ]
    .into_iter()
    .map(|pointer| parse(event.pointer(pointer)))
    .chain(managed)
    .flatten()
    .max()
}

/// Whether `event` had its last write more than `ttl` before `now`. An Event that
/// says nothing about when it was written (no server wrote it) expires too.
fn expired(event: &Value, now: Timestamp, ttl: Duration) -> bool {
    let Ok(ttl) = jiff::SignedDuration::try_from(ttl) else {
        return false;
    };
    last_written(event).is_none_or(|at| at.saturating_add(ttl).is_ok_and(|end| end <= now))
}

impl Api {
    /// Deletes every Event whose last write is more than `ttl` before `now` (the
    /// caller's clock) and returns how many, once the deletions are durable.
    pub async fn expire_events(&self, now: Timestamp, ttl: Duration) -> Result<usize, StoreError> {
        // Decided on the committed objects, outside the write lock; each one is checked
        // again in the transaction, since it may have been written since.
        let (events, _) = self.store.list(EVENTS);
        let candidates: Vec<String> = events
            .iter()
            .filter(|event| expired(event, now, ttl))
            .filter_map(|event| {
                let meta = event.get("metadata")?;
                let namespace = meta.get("namespace")?.as_str()?;
                let name = meta.get("name")?.as_str()?;
                Some(format!("{EVENTS}{namespace}/{name}"))
            })
            .collect();
        if candidates.is_empty() {
            return Ok(0);
        }
        let staged = self.store.durable(|| {
            self.store.stage(false, |txn| {
                let mut deleted = 0;
                for key in &candidates {
                    if txn.get(key).is_some_and(|e| expired(&e, now, ttl)) {
                        // Nothing owns an Event's lifetime but its TTL: no finalizers
                        // or dependents to collect, as with etcd's expiry.
                        txn.delete(key);
                        deleted += 1;
                    }
                }
                Ok::<_, std::convert::Infallible>(deleted)
            })
        });
        let Ok(deleted) = staged.await?;
        Ok(deleted)
    }
}

/// Runs the sweep forever on `clock` (the wall clock outside tests).
pub async fn sweep(api: Arc<Api>, ttl: Duration, clock: impl Fn() -> Timestamp) {
    let mut tick = tokio::time::interval(SWEEP_PERIOD.min(ttl).max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match api.expire_events(clock(), ttl).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "expired events"),
            Err(error) => tracing::warn!(%error, "could not delete expired events"),
        }
    }
}

#[cfg(test)]
mod tests;
