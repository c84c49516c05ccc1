//! Deploy a function as a Knative Service with `fnmesh up` and invoke it through the
//! gateway: revisions, traffic splits, tags, failing containers — real processes, real
//! HTTP, the real kubectl.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Fnmesh, HttpClient, eventually, http_get, revision_of};
use serde_json::Value;

const READY_TIMEOUT: Duration = Duration::from_secs(60);

fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// Wait until `kind/name` has condition Ready with `status`, returning the object.
fn wait_ready(f: &Fnmesh, kind: &str, name: &str, status: &str) -> Value {
    eventually(
        READY_TIMEOUT,
        &format!("{kind}/{name} Ready={status}"),
        || {
            let out = f.kubectl(&["get", kind, name, "-o", "json"]);
            let obj: Value = serde_json::from_slice(&out.stdout).ok()?;
            let ready = condition(&obj, "Ready")?;
            (ready["status"] == status).then_some(obj)
        },
    )
}

/// Wait until the ingress answers `host` from `revision`.
fn wait_served_by(f: &Fnmesh, host: &str, revision: &str) -> String {
    eventually(
        READY_TIMEOUT,
        &format!("{host} served by {revision}"),
        || {
            let (code, body) = http_get(&f.ingress, host);
            (code == 200 && revision_of(&body) == revision).then_some(body)
        },
    )
}

#[test]
fn hello_turns_ready_answers_and_rolls_out_new_revisions() {
    let f = Fnmesh::start();
    f.kubectl_ok(&["apply", "-f", &example("hello.yaml")]);
    let svc = wait_ready(&f, "ksvc", "hello", "True");
    assert_eq!(svc["status"]["url"], "http://hello.default.example.com");
    assert_eq!(svc["status"]["latestReadyRevisionName"], "hello-00001");

    let body = wait_served_by(&f, "hello.default.example.com", "hello-00001");
    assert!(body.contains("Hello fnmesh!"), "{body}");
    assert!(body.contains("K_SERVICE=hello "), "{body}");
    assert!(body.contains("K_CONFIGURATION=hello "), "{body}");

    // A template change makes hello-00002 and traffic follows latestRevision.
    let changed = std::fs::read_to_string(example("hello.yaml"))
        .expect("example")
        .replace("value: fnmesh", "value: again");
    f.apply(&changed);
    let body = wait_served_by(&f, "hello.default.example.com", "hello-00002");
    assert!(body.contains("Hello again!"), "{body}");

    // Metadata-only changes make no revision.
    f.kubectl_ok(&["label", "ksvc", "hello", "team=blue"]);
    std::thread::sleep(Duration::from_millis(500));
    let revs = f.kubectl_ok(&["get", "revisions", "-o", "name"]);
    assert_eq!(revs.lines().count(), 2, "{revs}");

    // Unknown hosts are 404s.
    let (code, _) = http_get(&f.ingress, "nope.default.example.com");
    assert_eq!(code, 404);
}

#[test]
fn traffic_splits_by_percent_and_tag() {
    let f = Fnmesh::start();
    f.kubectl_ok(&["apply", "-f", &example("split-v1.yaml")]);
    wait_served_by(&f, "split.default.example.com", "split-v1");
    f.kubectl_ok(&["apply", "-f", &example("split.yaml")]);
    let svc = eventually(READY_TIMEOUT, "status.traffic with tags", || {
        let svc = f.get_json(&["get", "ksvc", "split"]);
        let n = svc["status"]["traffic"].as_array().map_or(0, Vec::len);
        let current = svc["status"]["observedGeneration"] == svc["metadata"]["generation"];
        (n == 3 && current).then_some(svc)
    });
    let urls: Vec<&str> = svc["status"]["traffic"]
        .as_array()
        .expect("traffic")
        .iter()
        .filter_map(|t| t["url"].as_str())
        .collect();
    for url in [
        "http://current-split.default.example.com",
        "http://candidate-split.default.example.com",
        "http://latest-split.default.example.com",
    ] {
        assert!(urls.contains(&url), "{url} in {urls:?}");
    }

    // Each tag host serves only its revision.
    for (host, rev) in [
        ("current-split.default.example.com", "split-v1"),
        ("candidate-split.default.example.com", "split-v2"),
        ("latest-split.default.example.com", "split-v2"),
    ] {
        wait_served_by(&f, host, rev);
        let mut c = HttpClient::connect(&f.ingress);
        for _ in 0..20 {
            let (code, body) = c.get(host, "");
            assert_eq!((code, revision_of(&body)), (200, rev.to_string()), "{host}");
        }
    }

    // 1,000 requests on the main host land 80±5% / 20±5%.
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut c = HttpClient::connect(&f.ingress);
    for _ in 0..1000 {
        let (code, body) = c.get("split.default.example.com", "");
        assert_eq!(code, 200);
        *counts.entry(revision_of(&body)).or_default() += 1;
    }
    let one = counts.get("split-v1").copied().unwrap_or(0);
    let two = counts.get("split-v2").copied().unwrap_or(0);
    assert_eq!(one + two, 1000, "{counts:?}");
    assert!((750..=850).contains(&one), "{counts:?}");
    assert!((150..=250).contains(&two), "{counts:?}");
}

#[test]
fn a_container_that_exits_shows_ready_false_with_its_message() {
    let f = Fnmesh::start();
    let manifest = "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: crash
spec:
  template:
    spec:
      containers:
        - command: [\"sh\", \"-c\", \"echo 'cannot open database' >&2; exit 3\"]
";
    f.apply(manifest);
    let rev = wait_ready(&f, "revision", "crash-00001", "False");
    let msg = condition(&rev, "Ready")
        .map(|c| c["message"].to_string())
        .unwrap_or_default();
    assert!(msg.contains("cannot open database"), "{rev}");
    assert!(msg.contains('3'), "{rev}");
    let cfg = wait_ready(&f, "configuration", "crash", "False");
    let msg = condition(&cfg, "Ready")
        .map(|c| c["message"].to_string())
        .unwrap_or_default();
    assert!(msg.contains("cannot open database"), "{cfg}");
    let svc = wait_ready(&f, "ksvc", "crash", "False");
    assert!(svc.to_string().contains("cannot open database"), "{svc}");
}

#[test]
fn a_container_without_a_command_says_it_cannot_run_locally() {
    let f = Fnmesh::start();
    let manifest = "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: image-only
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
";
    f.apply(manifest);
    let rev = wait_ready(&f, "revision", "image-only-00001", "False");
    let text = rev["status"].to_string();
    assert!(text.contains("command"), "{text}");
}
