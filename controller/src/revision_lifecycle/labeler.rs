//! The routing-state labels, written only when a revision's state really changes.
//!
//! The pass decides on watch caches, and after a burst those lag: the events of the
//! labeler's own writes can be seconds behind, arriving after older versions of the
//! same revision (other components' status writes) that still lack the label. A pass
//! that trusted such a version wrote the label again — with a new
//! `routingStateModified`, so one more event — and at scale the rewrites kept the
//! watches behind for good. So the labeler remembers each write until the cache shows
//! it (the state written, or the version the write returned) and meanwhile does not
//! make the same write again. A different decision is written at once, and a memory
//! older than [`VISIBLE_WITHIN`] is dropped, so a label someone else changed after
//! ours is corrected, late but surely.

use std::collections::HashMap;
use std::time::Duration;

use crds::Revision;
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use tokio::time::Instant;

use super::{Caches, next_routing_state, routed_revisions};
use crate::context::{Context, FIELD_MANAGER};
use crate::labels::{ROUTING_STATE_LABEL, ROUTING_STATE_MODIFIED_ANNOTATION};

/// How long a write may take to show in the cache before it is made again: a watch
/// this far behind is broken (and relists), not busy.
const VISIBLE_WITHIN: Duration = Duration::from_secs(60);

/// Label writes in flight at once: after a burst every revision needs one, and one at a
/// time they landed long after the Services were Ready.
const CONCURRENT_WRITES: usize = 8;

/// `(namespace, name)` of a revision.
type Key = (String, String);

/// One write the cache may not show yet.
#[derive(Debug)]
struct Written {
    state: &'static str,
    /// The `resourceVersion` the write returned: the cache at it holds the write.
    resource_version: Option<String>,
    at: Instant,
}

impl Written {
    /// Whether the cache, showing `version` with `state`, holds this write (or has a
    /// reason of its own to show its state), or this write is too old to trust.
    fn settled(&self, version: Option<&str>, state: Option<&str>, now: Instant) -> bool {
        state == Some(self.state)
            || version.is_some() && version == self.resource_version.as_deref()
            || now.duration_since(self.at) >= VISIBLE_WITHIN
    }
}

/// Writes routing-state labels, remembering what it wrote until the cache shows it.
#[derive(Debug, Default)]
pub(super) struct Labeler {
    written: HashMap<Key, Written>,
}

impl Labeler {
    /// Labels every revision whose state changed, from the caches.
    pub(super) async fn label(&mut self, ctx: &Context, caches: &Caches) {
        let routed = routed_revisions(&caches.routes);
        let revisions = caches.revisions.state();
        let now = Instant::now();
        let live: HashMap<Key, &Revision> = revisions
            .iter()
            .map(|r| {
                (
                    (r.namespace().unwrap_or_default(), r.name_any()),
                    r.as_ref(),
                )
            })
            .collect();
        self.written.retain(|key, written| {
            live.get(key).is_some_and(|r| {
                !written.settled(r.metadata.resource_version.as_deref(), state_of(r), now)
            })
        });
        let due: Vec<(Key, &'static str)> = live
            .into_iter()
            .filter(|(_, rev)| rev.metadata.deletion_timestamp.is_none())
            .filter_map(|(key, rev)| {
                let next = self.due(&key, routed.contains(&key), state_of(rev))?;
                Some((key, next))
            })
            .collect();
        let mut due = due.into_iter();
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < CONCURRENT_WRITES
                && let Some((key, next)) = due.next()
            {
                in_flight.push(write_routing_state(ctx.client.clone(), key, next));
            }
            let Some((key, next, written)) = in_flight.next().await else {
                break;
            };
            if let Some(resource_version) = written {
                self.wrote(key, next, resource_version, Instant::now());
            }
        }
    }

    /// The state to write to the revision `key`, which the cache shows in `current`
    /// (`None`: nothing to write). Call after dropping the settled writes.
    fn due(&self, key: &Key, routed: bool, current: Option<&str>) -> Option<&'static str> {
        let next = next_routing_state(routed, current)?;
        let pending = self.written.get(key).is_some_and(|w| w.state == next);
        (!pending).then_some(next)
    }

    fn wrote(
        &mut self,
        key: Key,
        state: &'static str,
        resource_version: Option<String>,
        at: Instant,
    ) {
        let written = Written {
            state,
            resource_version,
            at,
        };
        self.written.insert(key, written);
    }
}

fn state_of(rev: &Revision) -> Option<&str> {
    rev.labels().get(ROUTING_STATE_LABEL).map(String::as_str)
}

/// Labels one revision with `state` (and the time of the change); returns them with
/// the written revision's `resourceVersion`, or `None` if the write failed.
async fn write_routing_state(
    client: kube::Client,
    key: Key,
    state: &'static str,
) -> (Key, &'static str, Option<Option<String>>) {
    let patch = serde_json::json!({"metadata": {
        "labels": {ROUTING_STATE_LABEL: state},
        "annotations": {ROUTING_STATE_MODIFIED_ANNOTATION: jiff::Timestamp::now().to_string()},
    }});
    let api: Api<Revision> = Api::namespaced(client, &key.0);
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let written = match api.patch(&key.1, &params, &Patch::Merge(&patch)).await {
        Ok(written) => {
            tracing::debug!(revision = %key.1, state, "routing state");
            Some(written.metadata.resource_version)
        }
        Err(error) => {
            tracing::debug!(revision = %key.1, %error, "routing state not written");
            None
        }
    };
    (key, state, written)
}

#[cfg(test)]
mod tests {
    use super::super::{ACTIVE, PENDING, RESERVE};
    use super::*;

    fn key() -> Key {
        ("default".into(), "hello-00001".into())
    }

    /// Drops what the cache, at `version` with `state`, shows settled (as a pass does).
    fn observe(labeler: &mut Labeler, version: &str, state: Option<&str>, now: Instant) {
        labeler
            .written
            .retain(|_, w| !w.settled(Some(version), state, now));
    }

    #[test]
    fn a_write_the_cache_does_not_show_yet_is_not_made_again() {
        let start = Instant::now();
        let mut labeler = Labeler::default();
        assert_eq!(labeler.due(&key(), true, None), Some(ACTIVE));
        labeler.wrote(key(), ACTIVE, Some("10".into()), start);
        // Older versions of the revision arrive, none with the label yet.
        for (version, later) in [("7", 1), ("8", 5), ("9", 30)] {
            let now = start + Duration::from_secs(later);
            observe(&mut labeler, version, None, now);
            assert_eq!(labeler.due(&key(), true, None), None, "at {version}");
        }
    }

    #[test]
    fn once_the_cache_shows_the_write_a_real_change_is_written() {
        let start = Instant::now();
        let mut labeler = Labeler::default();
        labeler.wrote(key(), ACTIVE, Some("10".into()), start);
        observe(&mut labeler, "10", Some(ACTIVE), start);
        assert!(labeler.written.is_empty());
        assert_eq!(
            labeler.due(&key(), true, Some(ACTIVE)),
            None,
            "nothing changed"
        );
        assert_eq!(labeler.due(&key(), false, Some(ACTIVE)), Some(RESERVE));
    }

    #[test]
    fn a_changed_decision_is_written_at_once() {
        let start = Instant::now();
        let mut labeler = Labeler::default();
        labeler.wrote(key(), PENDING, Some("10".into()), start);
        observe(&mut labeler, "9", None, start);
        assert_eq!(labeler.due(&key(), true, None), Some(ACTIVE));
    }

    #[test]
    fn a_write_that_never_shows_is_made_again_after_a_while() {
        let start = Instant::now();
        let mut labeler = Labeler::default();
        labeler.wrote(key(), ACTIVE, Some("10".into()), start);
        observe(&mut labeler, "11", Some(RESERVE), start + VISIBLE_WITHIN);
        assert_eq!(labeler.due(&key(), true, Some(RESERVE)), Some(ACTIVE));
    }
}
