//! Cluster mode on one machine: the API and the five other components as six separate
//! processes, each given only the kubeconfig, serve a Knative Service end to end —
//! deploy, invoke, a traffic split, scale to zero and back — and heal when any one of
//! them (not the API) is killed with SIGKILL and started again on new ports.

mod common;

use std::time::Duration;

use common::split::{COMPONENTS, Split};
use common::{FAST_IDLE_CONFIG, eventually, http_get, revision_of, split_manifest};

const HOST: &str = "split.default.example.com";

/// The revisions that answered `n` requests (0 for a failed one).
fn answers(cluster: &Split, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| match http_get(&cluster.ingress(), HOST) {
            (200, body) => revision_of(&body),
            (code, body) => format!("{code} {body}"),
        })
        .collect()
}

fn wait_ready(cluster: &Split, kind: &str, name: &str) {
    cluster.api.kubectl_ok(&[
        "wait",
        &format!("{kind}/{name}"),
        "--for=condition=Ready",
        "--timeout=60s",
    ]);
}

/// Until `revision` has no replica left (idle for the window and the grace period).
fn wait_scaled_to_zero(cluster: &Split, revision: &str) {
    eventually(
        Duration::from_secs(60),
        &format!("{revision} at zero"),
        || (cluster.api.revision_replicas(revision) == (0, 0)).then_some(()),
    );
}

/// Until a request through the (current) gateway gets a 200 from `revision`.
fn wait_served_by(cluster: &Split, revision: &str, after: &str) {
    eventually(
        Duration::from_secs(60),
        &format!("{revision} answering {after}"),
        || {
            let (code, body) = http_get(&cluster.ingress(), HOST);
            (code == 200 && revision_of(&body) == revision).then_some(())
        },
    );
}

#[test]
fn six_processes_serve_split_scale_to_zero_and_heal_after_a_kill() {
    let mut cluster = Split::start();
    cluster.api.apply(FAST_IDLE_CONFIG);

    // Deploy and invoke.
    cluster.api.apply(&split_manifest("one", ""));
    wait_ready(&cluster, "ksvc", "split");
    wait_served_by(&cluster, "split-00001", "after the deploy");

    // A 50/50 split between the first revision and the latest.
    cluster.api.apply(&split_manifest(
        "two",
        "  traffic:\n    - revisionName: split-00001\n      percent: 50\n    - latestRevision: true\n      percent: 50\n",
    ));
    wait_ready(&cluster, "revision", "split-00002");
    eventually(Duration::from_secs(30), "both revisions answering", || {
        let seen = answers(&cluster, 20);
        assert!(
            seen.iter().all(|r| r.starts_with("split-0000")),
            "a request failed: {seen:?}"
        );
        (seen.iter().any(|r| r == "split-00001") && seen.iter().any(|r| r == "split-00002"))
            .then_some(())
    });

    // Back to the latest alone; idle, it scales to zero; a request wakes it.
    cluster.api.apply(&split_manifest("two", ""));
    wait_served_by(&cluster, "split-00002", "with all traffic");
    wait_scaled_to_zero(&cluster, "split-00002");
    let (code, body) = http_get(&cluster.ingress(), HOST);
    assert_eq!(
        (code, revision_of(&body).as_str()),
        (200, "split-00002"),
        "{body}"
    );

    // Any one component killed and started again: the others find it at its new
    // address and requests resume.
    for component in COMPONENTS {
        cluster.kill9(component);
        cluster.start_component(component);
        wait_served_by(
            &cluster,
            "split-00002",
            &format!("after {component} restarted"),
        );
    }

    // After all of that, scale to zero and back still works end to end.
    wait_scaled_to_zero(&cluster, "split-00002");
    let (code, body) = http_get(&cluster.ingress(), HOST);
    assert_eq!(
        (code, revision_of(&body).as_str()),
        (200, "split-00002"),
        "{body}"
    );
}
