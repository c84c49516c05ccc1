//! Rollouts under load (issue 10, item 1): four clients send requests back to back and
//! a fifth holds a 1 s request open at all times, while two new revisions roll out —
//! one by a plain template change (all traffic moves at once), one by
//! `serving.knative.dev/rollout-duration` (it moves in steps). No request fails, and
//! each old revision drains: its process exits only after the last request it was
//! serving has been answered, including the 1 s request that was in flight when
//! traffic moved off it.
//!
//! `config-autoscaler` has Knative's minimum idle times (6 s), so the old revisions
//! scale to zero seconds after they lose their traffic.
// Real processes and real time, measured from outside: no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::time::{Duration, Instant};

use common::load::{Load, Outcome, Summary};
use common::processes::exited;
use common::{Fnmesh, eventually, http_get, revision_of};

const HOST: &str = "roll.default.example.com";
const WITHIN: Duration = Duration::from_secs(60);

fn manifest(target: &str, rollout_duration: Option<&str>) -> String {
    let annotations = rollout_duration
        .map(|d| format!("  annotations:\n    serving.knative.dev/rollout-duration: \"{d}\"\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: roll
{annotations}spec:
  template:
    spec:
      containers:
        - image: example.com/fn:latest
          command: [\"python3\", \"tests/functions/slow_hello.py\"]
          env:
            - name: TARGET
              value: {target}
"
    )
}

/// The `traffic` of the Service's status as (revision, percent).
fn traffic(f: &Fnmesh) -> Vec<(String, i64)> {
    let svc = f.get_json(&["get", "ksvc", "roll"]);
    svc["status"]["traffic"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["revisionName"].as_str().unwrap_or_default().to_owned(),
                t["percent"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

/// The one process that answered for `revision`.
fn pid_of(outcomes: &[Outcome], revision: &str) -> u32 {
    let pids: std::collections::BTreeSet<u32> = outcomes
        .iter()
        .filter(|o| o.revision().as_deref() == Some(revision))
        .filter_map(Outcome::pid)
        .collect();
    assert_eq!(pids.len(), 1, "{revision} answered from {pids:?}");
    pids.into_iter().next().unwrap()
}

/// Until `pid` exits; when it did (to within the 50 ms poll).
fn wait_exit(pid: u32, what: &str) -> Instant {
    eventually(WITHIN, what, || exited(pid).then(Instant::now))
}

/// Until requests sent from now on are answered by `revision` alone: `n` in a row.
fn wait_all_on(load: &Load, revision: &str, n: usize) -> Instant {
    load.wait_for(WITHIN, &format!("only {revision} answering"), |all| {
        let recent: Vec<&Outcome> = all.iter().rev().take(n).collect();
        (recent.len() == n
            && recent
                .iter()
                .all(|o| o.revision().as_deref() == Some(revision)))
        .then(Instant::now)
    })
}

#[test]
fn two_rollouts_under_load_fail_no_request_and_old_revisions_drain() {
    let f = Fnmesh::start_fast_idle();
    f.apply(&manifest("one", None));
    eventually(WITHIN, "roll-00001 answering", || {
        let (code, body) = http_get(&f.ingress, HOST);
        (code == 200 && revision_of(&body) == "roll-00001").then_some(())
    });

    let fast = Load::start(&f.ingress, HOST, "/?sleep=20", 4);
    let holding = Load::start(&f.ingress, HOST, "/?sleep=1000", 1);
    fast.wait_for_more_ok(40, WITHIN);
    holding.wait_for_more_ok(1, WITHIN);

    // A plain template change: the new revision takes all traffic once it is ready.
    let applied_two = Instant::now();
    f.apply(&manifest("two", None));
    let all_on_two = wait_all_on(&fast, "roll-00002", 40);
    holding.wait_for_more_ok(2, WITHIN);

    // A gradual one: 1% first, then steps, over 6 s.
    let applied_three = Instant::now();
    f.apply(&manifest("three", Some("6s")));
    eventually(WITHIN, "roll-00003 with all the traffic", || {
        (traffic(&f) == [("roll-00003".to_owned(), 100)]).then_some(())
    });
    let all_on_three = wait_all_on(&fast, "roll-00003", 40);
    holding.wait_for_more_ok(2, WITHIN);

    // The old revisions lose their replicas once idle; see when their processes exit.
    let so_far: Vec<Outcome> = fast
        .outcomes()
        .into_iter()
        .chain(holding.outcomes())
        .collect();
    let one_pid = pid_of(&so_far, "roll-00001");
    let two_pid = pid_of(&so_far, "roll-00002");
    let one_exit = wait_exit(one_pid, "roll-00001's process exiting");
    let two_exit = wait_exit(two_pid, "roll-00002's process exiting");
    fast.wait_for_more_ok(20, WITHIN);

    let fast = fast.stop();
    let holding = holding.stop();
    let all: Vec<&Outcome> = fast.iter().chain(&holding).collect();
    let summary = Summary::of(all.iter().copied());
    let held = Summary::of(&holding);
    eprintln!("FIGURE rollout: fast clients: {}", Summary::of(&fast));
    eprintln!("FIGURE rollout: 1 s client: {held}");
    let failed: Vec<&&Outcome> = all.iter().filter(|o| !o.ok()).collect();
    assert!(failed.is_empty(), "{summary}: {failed:?}");

    for (revision, exit, moved_on) in [
        ("roll-00001", one_exit, "roll-00002"),
        ("roll-00002", two_exit, "roll-00003"),
    ] {
        let served: Vec<&&Outcome> = all
            .iter()
            .filter(|o| o.revision().as_deref() == Some(revision))
            .collect();
        let last = served.iter().map(|o| o.done).max().expect("it served");
        assert!(
            last < exit,
            "{revision}'s process exited {:?} before its last answer",
            last - exit
        );
        // The moment traffic first reached the next revision.
        let moved = all
            .iter()
            .filter(|o| o.revision().as_deref() == Some(moved_on))
            .map(|o| o.sent)
            .min()
            .expect("the next revision served");
        let held_across = holding
            .iter()
            .filter(|o| o.revision().as_deref() == Some(revision) && o.in_flight_at(moved))
            .count();
        eprintln!(
            "FIGURE rollout: {revision}: 1 s requests in flight when traffic moved: {held_across}; \
             last answer {:?} before its process exited",
            exit - last
        );
        if revision == "roll-00001" {
            // A plain change moves everything at once: the 1 s request open at that
            // moment was on the old revision and was answered.
            assert_eq!(held_across, 1, "{held}");
        }
    }
    eprintln!(
        "FIGURE rollout: all traffic on roll-00002 {:?} after its apply, on roll-00003 {:?} after its",
        all_on_two - applied_two,
        all_on_three - applied_three
    );
}
