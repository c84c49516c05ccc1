//! Crashes under load (issue 10, items 3 and 4), with real processes and SIGKILL:
//!
//! - a replica killed behind the activator (`containerConcurrency: 1`, so requests
//!   queue there) is replaced, the queued requests succeed, and only the one request
//!   in flight on it fails;
//! - a replica killed in serve mode (the gateway sends to the replicas directly) fails
//!   only requests that were in flight when it died;
//! - `kill -9` of `fnmesh up`: the replicas go with it, a restart on the same data dir
//!   serves again, with the same routes, no orphan and no duplicate replica, and
//!   `kubectl delete pod` afterwards fails nothing;
//! - the same for each process of the split-process mode killed alone, in turn.
//!
//! Every failed request is explained: it was in flight at the kill, or it was sent
//! while the killed process (or what depends on it) was down.
// Real processes and real time, measured from outside: no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use common::load::{Load, Outcome, Summary};
use common::processes::{exited, pids_running};
use common::split::Split;
use common::{Fnmesh, eventually, http_get};

const WITHIN: Duration = Duration::from_secs(60);
/// The deadline for replacing a replica or serving again (the promise is 2 s; the
/// measured time is a figure, not an assertion).
const RECOVERY: Duration = Duration::from_secs(10);

/// A Service running `slow_hello.py` with `marker` in its command line.
fn manifest(name: &str, marker: &str, annotations: &[(&str, &str)], spec: &str) -> String {
    let annotations: String = annotations
        .iter()
        .map(|(k, v)| format!("        autoscaling.knative.dev/{k}: \"{v}\"\n"))
        .collect();
    format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
spec:
  template:
    metadata:
      annotations:
{annotations}    spec:
{spec}      containers:
        - image: example.com/fn:latest
          command: [\"python3\", \"tests/functions/slow_hello.py\", \"{marker}\"]
"
    )
}

fn host(name: &str) -> String {
    format!("{name}.default.example.com")
}

fn marker(test: &str) -> String {
    format!("--{test}-{}", std::process::id())
}

/// Until `n` replicas run and the Service answers.
fn wait_serving(f: &Fnmesh, name: &str, marker: &str, n: usize) -> Vec<u32> {
    eventually(WITHIN, &format!("{n} replicas of {name} answering"), || {
        let pids = pids_running(marker);
        (pids.len() == n && http_get(&f.ingress, &host(name)).0 == 200).then_some(pids)
    })
}

fn kill9(pid: u32) {
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -9 {pid}");
}

/// The window of a kill: a failure is explained when it was in flight at some point
/// between `before` and `after`.
struct Kill {
    before: Instant,
    after: Instant,
}

impl Kill {
    fn of(pid: u32) -> Self {
        let before = Instant::now();
        kill9(pid);
        Kill {
            before,
            after: Instant::now(),
        }
    }

    fn in_flight(&self, o: &Outcome) -> bool {
        o.sent <= self.after && o.done >= self.before
    }
}

/// The first 200 from a process not in `old`, sent after `since`: when it was answered.
fn first_answer_from_new_process(load: &Load, old: &[u32], since: Instant) -> Instant {
    load.wait_for(RECOVERY, "an answer from a new replica", |all| {
        all.iter()
            .filter(|o| o.ok() && o.sent >= since)
            .find(|o| o.pid().is_some_and(|p| !old.contains(&p)))
            .map(|o| o.done)
    })
}

/// The first 200 to a request sent after `since`: when it was answered.
fn first_answer_sent_after(load: &Load, since: Instant) -> Instant {
    load.wait_for(RECOVERY, "serving again", |all| {
        all.iter()
            .filter(|o| o.ok() && o.sent >= since)
            .map(|o| o.done)
            .min()
    })
}

#[test]
fn a_killed_replica_behind_the_activator_is_replaced_and_queued_requests_succeed() {
    let f = Fnmesh::start();
    let marker = marker("queued");
    f.apply(&manifest(
        "queued",
        &marker,
        &[("min-scale", "1"), ("max-scale", "1")],
        "      containerConcurrency: 1\n",
    ));
    let old = wait_serving(&f, "queued", &marker, 1);
    // One request at a time on the replica: the other three wait in the activator.
    let load = Load::start(&f.ingress, &host("queued"), "/?sleep=100", 4);
    load.wait_for_more_ok(20, WITHIN);

    let kill = Kill::of(old[0]);
    let replaced = first_answer_from_new_process(&load, &old, kill.before);
    load.wait_for_more_ok(20, WITHIN);
    let outcomes = load.stop();

    let summary = Summary::of(&outcomes);
    let at_kill: Vec<&Outcome> = outcomes.iter().filter(|o| kill.in_flight(o)).collect();
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok()).collect();
    eprintln!(
        "FIGURE crash/replica behind activator: {summary}; in flight at the kill {} \
         (failed {}); first answer from the replacement {:?} after the kill",
        at_kill.len(),
        failed.len(),
        replaced - kill.before
    );
    assert!(
        failed.iter().all(|o| kill.in_flight(o)),
        "a request failed that was not in flight at the kill: {failed:?}"
    );
    assert!(
        failed.len() <= 1,
        "containerConcurrency 1: one request was on the replica, {} failed: {failed:?}",
        failed.len()
    );
    assert!(
        at_kill.len() >= 2,
        "requests were waiting in the activator when the replica died: {at_kill:?}"
    );
}

#[test]
fn a_killed_replica_in_serve_mode_fails_only_requests_in_flight_on_it() {
    let f = Fnmesh::start();
    let marker = marker("direct");
    // No activator in the path: the gateway sends to both replicas itself.
    f.apply(&manifest(
        "direct",
        &marker,
        &[
            ("min-scale", "2"),
            ("max-scale", "2"),
            ("target-burst-capacity", "0"),
        ],
        "",
    ));
    let old = wait_serving(&f, "direct", &marker, 2);
    let load = Load::start(&f.ingress, &host("direct"), "/?sleep=100", 4);
    load.wait_for_more_ok(40, WITHIN);

    let kill = Kill::of(old[0]);
    let replaced = first_answer_from_new_process(&load, &old, kill.before);
    load.wait_for_more_ok(40, WITHIN);
    let outcomes = load.stop();

    let summary = Summary::of(&outcomes);
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok()).collect();
    let at_kill = outcomes.iter().filter(|o| kill.in_flight(o)).count();
    eprintln!(
        "FIGURE crash/replica in serve mode: {summary}; in flight at the kill {at_kill} \
         (on both replicas); failed {}; first answer from the replacement {:?} after the kill",
        failed.len(),
        replaced - kill.before
    );
    assert!(
        failed.iter().all(|o| kill.in_flight(o)),
        "a request failed that was not in flight at the kill: {failed:?}"
    );
}

/// `(url, traffic)` of the Service's status.
fn routes(f: &Fnmesh, name: &str) -> (serde_json::Value, serde_json::Value) {
    let svc = f.get_json(&["get", "ksvc", name]);
    (
        svc["status"]["url"].clone(),
        svc["status"]["traffic"].clone(),
    )
}

/// The names of the Service's Pods.
fn pods(f: &Fnmesh, name: &str) -> Vec<String> {
    let selector = format!("serving.knative.dev/service={name}");
    let out = f.kubectl(&["get", "pods", "-l", &selector, "-o", "name"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Until exactly `n` replicas run and `n` Pods exist.
fn wait_converged(f: &Fnmesh, name: &str, marker: &str, n: usize, after: &str) -> Vec<u32> {
    eventually(WITHIN, &format!("{n} replicas of {name} {after}"), || {
        let pids = pids_running(marker);
        (pids.len() == n && pods(f, name).len() == n).then_some(pids)
    })
}

#[test]
fn kill_9_of_fnmesh_up_under_load_restarts_into_the_same_state() {
    let mut f = Fnmesh::start();
    let marker = marker("steady");
    f.apply(&manifest("steady", &marker, &[("min-scale", "2")], ""));
    let old = wait_serving(&f, "steady", &marker, 2);
    let routes_before = routes(&f, "steady");
    let load = Load::start(&f.ingress, &host("steady"), "/?sleep=20", 4);
    load.wait_for_more_ok(40, WITHIN);

    let before = Instant::now();
    f.kill9();
    let orphans_gone = eventually(RECOVERY, "the replicas gone with fnmesh", || {
        old.iter().all(|p| exited(*p)).then(Instant::now)
    });
    let spawned = f.restart_on_same_addresses();
    let serving = first_answer_sent_after(&load, spawned);
    let pids = wait_converged(&f, "steady", &marker, 2, "after the restart");
    let converged = Instant::now();
    load.wait_for_more_ok(40, WITHIN);
    assert_eq!(routes(&f, "steady"), routes_before, "the same routes");
    assert_eq!(pids_running(&marker).len(), 2, "no duplicate replica");
    assert_eq!(pods(&f, "steady").len(), 2, "no duplicate Pod");

    // A Pod deleted after the restart is replaced without a failed request.
    let victim = pods(&f, "steady")[0].clone();
    f.kubectl_ok(&["delete", &victim]);
    let replaced = first_answer_from_new_process(&load, &pids, converged);
    wait_converged(&f, "steady", &marker, 2, "after the Pod's deletion");
    load.wait_for_more_ok(40, WITHIN);
    let outcomes = load.stop();

    let summary = Summary::of(&outcomes);
    let down: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.done >= before && o.sent <= serving)
        .collect();
    let after: Vec<&Outcome> = outcomes.iter().filter(|o| o.sent > serving).collect();
    let answering: BTreeSet<u32> = outcomes
        .iter()
        .filter(|o| o.sent > serving && o.done < replaced)
        .filter_map(Outcome::pid)
        .collect();
    eprintln!(
        "FIGURE crash/fnmesh up: {summary}; while down: {}; after: {}; replicas gone {:?} \
         after the kill; serving again {:?} after the restart's spawn ({:?} after the kill); \
         converged {:?} after the spawn; the deleted Pod's replacement answering {:?} after \
         the delete",
        Summary::of(down.iter().copied()),
        Summary::of(after.iter().copied()),
        orphans_gone - before,
        serving - spawned,
        serving - before,
        converged - spawned,
        replaced - converged,
    );
    let unexplained: Vec<&&Outcome> = after.iter().filter(|o| !o.ok()).collect();
    assert!(
        unexplained.is_empty(),
        "requests failed after fnmesh served again: {unexplained:?}"
    );
    assert!(answering.len() <= 2, "two replicas, {answering:?} answered");
}

#[test]
fn kill_9_of_each_split_process_alone_under_load_recovers() {
    let mut cluster = Split::start();
    let marker = marker("split");
    cluster
        .api
        .apply(&manifest("crash", &marker, &[("min-scale", "2")], ""));
    eventually(WITHIN, "2 replicas answering", || {
        (pids_running(&marker).len() == 2 && http_get(&cluster.ingress(), &host("crash")).0 == 200)
            .then_some(())
    });
    let routes_before = routes(&cluster.api, "crash");
    let load = Load::start(&cluster.ingress(), &host("crash"), "/?sleep=20", 4);

    for component in [
        "apiserver",
        "controller",
        "autoscaler",
        "activator",
        "gateway",
        "runner",
    ] {
        load.wait_for_more_ok(40, WITHIN);
        let replicas = pids_running(&marker);
        let before = Instant::now();
        let spawned = if component == "apiserver" {
            cluster.kill9_and_restart_api()
        } else {
            cluster.kill9_and_restart(component).0
        };
        let serving = first_answer_sent_after(&load, spawned);
        wait_converged(
            &cluster.api,
            "crash",
            &marker,
            2,
            &format!("after {component} restarted"),
        );
        load.wait_for_more_ok(40, WITHIN);
        let settled = Instant::now();
        assert_eq!(
            routes(&cluster.api, "crash"),
            routes_before,
            "the same routes after {component} restarted"
        );
        let outcomes = load.outcomes();
        let window: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.done >= before && o.sent <= settled)
            .collect();
        let replaced = replicas.iter().filter(|p| exited(**p)).count();
        eprintln!(
            "FIGURE crash/split {component}: {}; serving again {:?} after its spawn; \
             {replaced} of 2 replicas replaced",
            Summary::of(window.iter().copied()),
            serving.saturating_duration_since(spawned),
        );
        let late: Vec<&&Outcome> = window
            .iter()
            .filter(|o| !o.ok() && o.sent > serving)
            .collect();
        assert!(
            late.is_empty(),
            "after {component} served again, requests failed: {late:?}"
        );
        if matches!(component, "apiserver" | "controller" | "autoscaler") {
            // The data plane never waits for the control plane.
            let failed: Vec<&&Outcome> = window.iter().filter(|o| !o.ok()).collect();
            assert!(
                failed.is_empty(),
                "{component} is not on the request path, yet requests failed: {failed:?}"
            );
        }
    }
    let summary = Summary::of(&load.stop());
    eprintln!("FIGURE crash/split: all six restarts: {summary}");
}
