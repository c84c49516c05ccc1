//! Kubernetes Events tell the story of a deploy: `kubectl get events` lists the
//! revision's creation and readiness, `kubectl describe ksvc` shows the Service's own
//! events (through the field selector on `involvedObject` that kubectl sends), and a
//! revision whose container cannot start gets a warning with the reason.

mod common;

use std::time::Duration;

use common::{Fnmesh, eventually, http_get, revision_of, service_yaml};
use serde_json::Value;

const WITHIN: Duration = Duration::from_secs(60);

/// The `(type, reason, message)` of every event about `kind/name`.
fn events_about(f: &Fnmesh, kind: &str, name: &str) -> Vec<(String, String, String)> {
    let selector = format!("involvedObject.kind={kind},involvedObject.name={name}");
    let list = f.get_json(&["get", "events", "--field-selector", &selector]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("type"), text("reason"), text("message"))
        })
        .collect()
}

fn has(events: &[(String, String, String)], type_: &str, reason: &str, needle: &str) -> bool {
    events
        .iter()
        .any(|(t, r, m)| t == type_ && r == reason && m.contains(needle))
}

#[test]
fn a_deploy_is_told_by_events() {
    let f = Fnmesh::start();
    f.apply(&service_yaml("hello", ""));
    eventually(WITHIN, "hello served", || {
        let (code, body) = http_get(&f.ingress, "hello.default.example.com");
        (code == 200 && revision_of(&body) == "hello-00001").then_some(())
    });
    eventually(
        WITHIN,
        "the revision's creation and readiness as events",
        || {
            let created = events_about(&f, "Configuration", "hello");
            let revision = events_about(&f, "Revision", "hello-00001");
            (has(&created, "Normal", "Created", "hello-00001")
                && has(&revision, "Normal", "RevisionReady", "ready"))
            .then_some(())
        },
    );
    let table = f.kubectl_ok(&["get", "events"]);
    for needle in [
        "RevisionReady",
        "revision/hello-00001",
        "Created",
        "configuration/hello",
    ] {
        assert!(table.contains(needle), "{needle} in\n{table}");
    }
    // Ready once: reconciling again adds nothing.
    let ready: Vec<Value> = f.get_json(&["get", "events"])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["reason"] == "RevisionReady")
        .collect();
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!(ready[0]["count"], 1);
    assert_eq!(ready[0]["source"]["component"], "fnmesh-controller");

    let described = eventually(WITHIN, "kubectl describe ksvc lists events", || {
        let out = f.kubectl_ok(&["describe", "ksvc", "hello"]);
        (out.contains("Events:") && out.contains("Created Configuration")).then_some(out)
    });
    assert!(described.contains("Created Route"), "{described}");
    assert!(
        !described.contains("RevisionReady"),
        "only the Service's own events: {described}"
    );
    let described = f.kubectl_ok(&["describe", "revision", "hello-00001"]);
    assert!(described.contains("RevisionReady"), "{described}");
}

#[test]
fn a_revision_that_cannot_start_warns_with_the_reason() {
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
    let warning = eventually(WITHIN, "a RevisionFailed warning", || {
        events_about(&f, "Revision", "crash-00001")
            .into_iter()
            .find(|(t, r, _)| t == "Warning" && r == "RevisionFailed")
    });
    assert!(warning.2.contains("ExitCode3"), "{warning:?}");
    assert!(warning.2.contains("cannot open database"), "{warning:?}");
    let table = f.kubectl_ok(&["get", "events", "--field-selector", "type=Warning"]);
    assert!(table.contains("RevisionFailed"), "{table}");
    assert!(!table.contains("RevisionReady"), "{table}");
}
