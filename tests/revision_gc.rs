//! Knative's routing-state labels and revision garbage collection, through the real
//! `fnmesh up` and kubectl: revisions a route references are `active`, ones it stopped
//! referencing become `reserve`, and with a `config-gc` that keeps none, those are
//! deleted while the routed one stays.

mod common;

use std::time::Duration;

use common::{Fnmesh, eventually};

const KEEP_NONE: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: config-gc
  namespace: knative-serving
data:
  retain-since-create-time: disabled
  retain-since-last-active-time: 1s
  min-non-active-revisions: \"0\"
  max-non-active-revisions: disabled
";

fn manifest(target: &str) -> String {
    format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: gc
spec:
  template:
    spec:
      containers:
        - command: [\"python3\", \"examples/hello.py\"]
          env:
            - name: TARGET
              value: {target}
"
    )
}

fn routing_state(f: &Fnmesh, revision: &str) -> Option<String> {
    let out = f.kubectl(&[
        "get",
        "revision",
        revision,
        "-o",
        "jsonpath={.metadata.labels.serving\\.knative\\.dev/routingState}",
    ]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn exists(f: &Fnmesh, revision: &str) -> bool {
    f.kubectl(&["get", "revision", revision]).status.success()
}

#[test]
fn unreferenced_revisions_go_to_reserve_and_are_collected() {
    let f = Fnmesh::start();
    f.kubectl_stdin(&["create", "namespace", "knative-serving"], "");
    f.apply(&manifest("one"));
    eventually(Duration::from_secs(60), "gc-00001 active", || {
        (routing_state(&f, "gc-00001").as_deref() == Some("active")).then_some(())
    });
    // Nothing is collected under Knative's defaults (48 h, 20 kept).
    f.apply(&manifest("two"));
    eventually(Duration::from_secs(60), "gc-00001 in reserve", || {
        (routing_state(&f, "gc-00002").as_deref() == Some("active")
            && routing_state(&f, "gc-00001").as_deref() == Some("reserve"))
        .then_some(())
    });
    assert!(exists(&f, "gc-00001"));
    let modified = f.kubectl_ok(&[
        "get",
        "revision",
        "gc-00001",
        "-o",
        "jsonpath={.metadata.annotations.serving\\.knative\\.dev/routingStateModified}",
    ]);
    assert!(modified.contains('T'), "an RFC 3339 time: {modified:?}");

    // Keep none: the reserve revision goes, the routed one stays.
    f.apply(KEEP_NONE);
    eventually(Duration::from_secs(90), "gc-00001 collected", || {
        (!exists(&f, "gc-00001")).then_some(())
    });
    assert!(exists(&f, "gc-00002"));
    assert_eq!(routing_state(&f, "gc-00002").as_deref(), Some("active"));
}
