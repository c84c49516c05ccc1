//! The routing-state labeler on the embedded API server settles: every routed revision
//! is labelled `active` with one write, and then an idle platform writes no revision.
//!
//! It once did not: each label write's own watch event started a pass on caches that
//! had not yet applied the other revisions' events, so the pass wrote them all again,
//! and their events started more passes (at 100 revisions, every revision rewritten
//! about once a second for as long as the controller ran).

mod common;
mod route_harness;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Cluster;
use crds::Revision;
use futures::{StreamExt as _, TryStreamExt as _};
use kube::ResourceExt;
use kube::api::{ListParams, WatchEvent, WatchParams};
use serde_json::json;

/// Enough revisions that a pass's writes arrive while the next pass runs.
const REVISIONS: usize = 20;
/// How long the test watches for a write after the last label landed. The rewrite loop
/// wrote every revision about once a second, so this sees several rounds of it; it is
/// short because nothing (no GC tick, every 30 s) is due in it.
const QUIET: Duration = Duration::from_secs(3);

fn routing_state(rev: &Revision) -> Option<&str> {
    rev.labels()
        .get("serving.knative.dev/routingState")
        .map(String::as_str)
}

/// The revisions' writes seen on the watch.
#[derive(Default)]
struct Writes {
    per_revision: BTreeMap<String, usize>,
    states: BTreeMap<String, String>,
}

impl Writes {
    fn count(&mut self, event: WatchEvent<Revision>) {
        if let WatchEvent::Modified(rev) = event {
            *self.per_revision.entry(rev.name_any()).or_default() += 1;
            let state = routing_state(&rev).unwrap_or_default().to_owned();
            self.states.insert(rev.name_any(), state);
        }
    }

    fn all_active(&self) -> bool {
        self.states.len() == REVISIONS && self.states.values().all(|s| s == "active")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_revisions_are_labelled_once_and_then_left_alone() {
    let h = Cluster::start().await;
    for i in 0..REVISIONS {
        let (name, rev) = (format!("f{i}"), format!("f{i}-00001"));
        h.create_configuration(&name, None).await;
        h.create_ready_revision(&rev, &name).await;
        h.create_route(
            &name,
            json!({}),
            json!([{"revisionName": rev, "percent": 100}]),
        )
        .await;
    }
    let revisions = h.api::<Revision>();
    let listed = revisions.list(&ListParams::default()).await.unwrap();
    let from = listed.metadata.resource_version.unwrap();
    let mut events = revisions
        .watch(&WatchParams::default().timeout(60), &from)
        .await
        .unwrap()
        .boxed();

    tokio::spawn(controller::revision_lifecycle::run(h.context()));

    // Every write of a revision from here on is the labeler's.
    let mut writes = Writes::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !writes.all_active() {
        let event = tokio::time::timeout_at(deadline, events.try_next())
            .await
            .unwrap_or_else(|_| panic!("not every revision active in 30 s: {:?}", writes.states))
            .unwrap()
            .expect("the watch ended");
        writes.count(event);
    }
    let quiet_until = tokio::time::Instant::now() + QUIET;
    while let Ok(event) = tokio::time::timeout_at(quiet_until, events.try_next()).await {
        writes.count(event.unwrap().expect("the watch ended"));
    }
    let rewritten: Vec<_> = writes
        .per_revision
        .iter()
        .filter(|(_, n)| **n != 1)
        .collect();
    assert!(
        rewritten.is_empty(),
        "each revision is written once (its label), then never again; written more: {rewritten:?}"
    );
}
