//! Gradual rollout with `serving.knative.dev/rollout-duration`: a new revision gets 1%
//! of the traffic first, then more in equal steps, and all of it once the duration has
//! passed — seen in the Service's `status.traffic`, the Route's rollout annotation and
//! at the gateway.
// Synchronous like its harness (processes and kubectl): no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::time::{Duration, Instant};

use common::{Fnmesh, HttpClient, eventually, revision_of};
use serde_json::Value;

const HOST: &str = "hello.default.example.com";

fn manifest(target: &str) -> String {
    format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  annotations:
    serving.knative.dev/rollout-duration: \"10s\"
spec:
  template:
    spec:
      containers:
        - image: example.com/fn:latest
          command: [\"python3\", \"examples/hello.py\"]
          env:
            - name: TARGET
              value: {target}
"
    )
}

/// `status.traffic` as (revision, percent) pairs.
fn split(svc: &Value) -> Vec<(String, i64)> {
    svc["status"]["traffic"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let name = t["revisionName"].as_str().unwrap_or_default().to_string();
            (name, t["percent"].as_i64().unwrap_or_default())
        })
        .collect()
}

/// The Route's `serving.knative.dev/rollout` annotation, parsed.
fn rollout_state(route: &Value) -> Option<Value> {
    let text = route["metadata"]["annotations"]["serving.knative.dev/rollout"].as_str()?;
    serde_json::from_str(text).ok()
}

fn share_of(split: &[(String, i64)], revision: &str) -> i64 {
    split
        .iter()
        .filter(|(name, _)| name == revision)
        .map(|(_, p)| p)
        .sum()
}

#[test]
fn a_new_revision_takes_traffic_gradually_over_the_rollout_duration() {
    let f = Fnmesh::start();
    f.apply(&manifest("one"));
    eventually(Duration::from_secs(60), "hello-00001 serving", || {
        let svc = f.get_json(&["get", "ksvc", "hello"]);
        (split(&svc) == [("hello-00001".to_string(), 100)]).then_some(())
    });

    f.apply(&manifest("two"));

    // Watch the split until the new revision has everything.
    let mut seen: Vec<Vec<(String, i64)>> = Vec::new();
    let mut started = None;
    let mut mid_rollout_state = None;
    let mut gateway_saw_old_revision_mid_rollout = false;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(
            Instant::now() < deadline,
            "rollout never finished: {seen:?}"
        );
        let svc = f.get_json(&["get", "ksvc", "hello"]);
        let now = split(&svc);
        let new_share = share_of(&now, "hello-00002");
        if new_share > 0 && started.is_none() {
            started = Some(Instant::now());
        }
        if (1..100).contains(&new_share) {
            if mid_rollout_state.is_none() {
                let route = f.get_json(&["get", "route", "hello"]);
                mid_rollout_state = rollout_state(&route);
            }
            if !gateway_saw_old_revision_mid_rollout && new_share <= 60 {
                let mut client = HttpClient::connect(&f.ingress);
                gateway_saw_old_revision_mid_rollout = (0..20).any(|_| {
                    let (code, body) = client.get(HOST, "");
                    code == 200 && revision_of(&body) == "hello-00001"
                });
            }
        }
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        if new_share == 100 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = started.expect("the new revision got traffic").elapsed();

    let shares: Vec<i64> = seen.iter().map(|s| share_of(s, "hello-00002")).collect();
    assert!(
        shares.windows(2).all(|w| w[0] <= w[1]),
        "the new revision's share only grows: {seen:?}"
    );
    let partial = shares.iter().filter(|s| (1..100).contains(*s)).count();
    assert!(partial >= 3, "traffic moved in steps: {seen:?}");
    // 10 s: 1% for the first second, then 9 steps of 11% a second.
    let state = mid_rollout_state.expect("the Route carried its rollout state mid-rollout");
    let config = &state["configurations"][0];
    assert_eq!(config["stepParams"]["stepSize"], 11, "{state}");
    assert_eq!(
        config["stepParams"]["stepDuration"], 1_000_000_000_i64,
        "{state}"
    );
    let newest = config["revisions"][1]["percent"]
        .as_i64()
        .expect("two revisions");
    assert_eq!(newest % 11, 1, "1% first, then steps of 11: {state}");
    assert!(
        gateway_saw_old_revision_mid_rollout,
        "the gateway kept serving the old revision mid-rollout"
    );
    assert!(
        took >= Duration::from_secs(5),
        "too fast: {took:?} for {seen:?}"
    );

    // The state is kept on the Route, in Knative's shape.
    let route = f.get_json(&["get", "route", "hello"]);
    let state = rollout_state(&route).expect("rollout annotation");
    assert_eq!(state["configurations"][0]["configurationName"], "hello");
    assert_eq!(
        state["configurations"][0]["revisions"],
        serde_json::json!([{"revisionName": "hello-00002", "percent": 100}])
    );

    // Done: the gateway serves only the new revision.
    let mut client = HttpClient::connect(&f.ingress);
    for _ in 0..20 {
        let (code, body) = client.get(HOST, "");
        assert_eq!((code, revision_of(&body)), (200, "hello-00002".to_string()));
    }
}
