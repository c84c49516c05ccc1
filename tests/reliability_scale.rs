//! Scale to zero and back under a load that stops and starts again (issue 10, item 2):
//! four clients send requests back to back for a while and stop; the load comes back
//! at each awkward moment of the way down — while the revision is idle behind the
//! activator (its grace period), while its last replica is being stopped, and at zero —
//! and no request fails in any cycle.
//!
//! `config-autoscaler` has Knative's minimum idle times (6 s), so a cycle takes ~14 s.
//! `RELIABILITY_SCALE_CYCLES=N` repeats the three moments N times (default 1).
// Real processes and real time, measured from outside: no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::time::{Duration, Instant};

use common::load::{Load, Outcome, Summary};
use common::processes::pids_running;
use common::{Fnmesh, eventually, http_get, service_yaml_running};

const HOST: &str = "tide.default.example.com";
const REVISION: &str = "tide-00001";
const WITHIN: Duration = Duration::from_secs(60);

/// Where on the way to zero the load comes back.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// Idle: the activator is in the path, the replica still runs (grace period).
    Idle,
    /// The autoscaler has just asked for zero: the last replica is draining, or has
    /// just stopped (the drain is ~0.3 s; the figures say which the load met).
    ScalingDown,
    /// No replica left.
    AtZero,
}

fn deployment(f: &Fnmesh) -> serde_json::Value {
    f.get_json(&["get", "deployment", &format!("{REVISION}-deployment")])
}

/// Until the revision is at `moment`; when it got there and how many replicas ran.
fn wait_for(f: &Fnmesh, marker: &str, moment: Moment) -> (Instant, usize) {
    eventually(WITHIN, &format!("{REVISION} {moment:?}"), || {
        let deployment = deployment(f);
        let mode = &deployment["metadata"]["annotations"]["fnmesh.dev/serving-mode"];
        let replicas = deployment["spec"]["replicas"].as_i64();
        let running = pids_running(marker).len();
        let there = match moment {
            Moment::Idle => mode == "Proxy" && replicas == Some(1) && running == 1,
            Moment::ScalingDown => replicas == Some(0),
            Moment::AtZero => replicas == Some(0) && running == 0,
        };
        there.then(|| (Instant::now(), running))
    })
}

#[test]
fn load_that_stops_and_starts_around_scale_to_zero_fails_no_request() {
    let cycles: usize = std::env::var("RELIABILITY_SCALE_CYCLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let f = Fnmesh::start_fast_idle();
    let marker = format!("--tide-{}", std::process::id());
    f.apply(&service_yaml_running(
        "tide",
        "tests/functions/slow_hello.py",
        &format!("          args: [\"{marker}\"]\n"),
    ));
    eventually(WITHIN, "tide answering", || {
        (http_get(&f.ingress, HOST).0 == 200).then_some(())
    });

    let mut all: Vec<Outcome> = Vec::new();
    let moments = [Moment::Idle, Moment::ScalingDown, Moment::AtZero];
    for moment in moments.iter().copied().cycle().take(moments.len() * cycles) {
        let load = Load::start(&f.ingress, HOST, "/?sleep=20", 4);
        load.wait_for_more_ok(40, WITHIN);
        let stopped = Instant::now();
        let burst = load.stop();
        let (reached, running) = wait_for(&f, &marker, moment);
        // The load comes back at once.
        let load = Load::start(&f.ingress, HOST, "/?sleep=20", 4);
        load.wait_for_more_ok(20, WITHIN);
        let back = load.stop();
        let slowest = back[..4.min(back.len())]
            .iter()
            .map(|o| o.done - o.sent)
            .max()
            .unwrap_or_default();
        eprintln!(
            "FIGURE scale: {moment:?} {:?} after the load stopped ({running} replica running); \
             the load back: {}; slowest of its first 4 requests {slowest:?}",
            reached - stopped,
            Summary::of(&back)
        );
        all.extend(burst);
        all.extend(back);
    }
    let summary = Summary::of(&all);
    eprintln!("FIGURE scale: all {cycles} cycles: {summary}");
    let failed: Vec<&Outcome> = all.iter().filter(|o| !o.ok()).collect();
    assert!(failed.is_empty(), "{summary}: {failed:?}");
}
