//! Refused writes: a clear Kubernetes Status naming the field and the rule, and nothing
//! stored.

mod common;

use common::{Fnmesh, raw_http, service_yaml};

fn refused(f: &Fnmesh, manifest: &str) -> String {
    let out = f.kubectl_stdin(&["apply", "-f", "-"], manifest);
    assert!(!out.status.success(), "apply should be refused");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn traffic_that_does_not_sum_to_100_is_refused_and_not_stored() {
    let f = Fnmesh::start();
    let manifest = service_yaml(
        "split",
        "  traffic:\n    - latestRevision: true\n      percent: 90\n",
    );
    let err = refused(&f, &manifest);
    assert!(err.contains("spec.traffic"), "{err}");
    assert!(err.contains("must sum to 100"), "{err}");
    assert!(err.contains("90"), "{err}");
    let get = f.kubectl(&["get", "ksvc", "split"]);
    assert!(String::from_utf8_lossy(&get.stderr).contains("NotFound"));
}

#[test]
fn reserved_env_port_is_refused_and_not_stored() {
    let f = Fnmesh::start();
    let manifest = service_yaml(
        "env",
        "          env:\n            - name: PORT\n              value: \"9000\"\n",
    );
    let err = refused(&f, &manifest);
    assert!(err.contains("PORT"), "{err}");
    assert!(err.contains("reserved"), "{err}");
    let get = f.kubectl(&["get", "ksvc", "env"]);
    assert!(String::from_utf8_lossy(&get.stderr).contains("NotFound"));
}

#[test]
fn a_refused_update_leaves_the_stored_object_unchanged() {
    let f = Fnmesh::start();
    let ok = f.kubectl_stdin(&["apply", "-f", "-"], &service_yaml("keep", ""));
    assert!(ok.status.success());
    let before = f.get_json(&["get", "ksvc", "keep"]);
    let bad = service_yaml(
        "keep",
        "  traffic:\n    - latestRevision: true\n      percent: 50\n",
    );
    let err = refused(&f, &bad);
    assert!(err.contains("must sum to 100, got 50"), "{err}");
    let after = f.get_json(&["get", "ksvc", "keep"]);
    // The controller may have written status meanwhile; the spec is what was refused.
    assert_eq!(
        before["metadata"]["generation"],
        after["metadata"]["generation"]
    );
    assert_eq!(before["spec"], after["spec"]);
}

fn post(url: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    raw_http(url, &req)
}

#[test]
fn garbage_oversized_and_badly_named_bodies_get_kubernetes_errors() {
    let f = Fnmesh::start();
    let path = "/api/v1/namespaces/default/configmaps";
    let (code, body) = post(&f.api_url, path, b"{not json");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("\"kind\":\"Status\""), "{body}");

    let big = format!(
        r#"{{"metadata":{{"name":"big"}},"data":{{"x":"{}"}}}}"#,
        "a".repeat(3 * 1024 * 1024 + 10)
    );
    let (code, body) = post(&f.api_url, path, big.as_bytes());
    assert_eq!(code, 413, "{body}");

    let (code, body) = post(&f.api_url, path, br#"{"metadata":{"name":"Bad_Name"}}"#);
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("metadata.name"), "{body}");
    assert!(body.contains("\"reason\":\"Invalid\""), "{body}");

    let (code, body) = post(
        &f.api_url,
        "/apis/serving.knative.dev/v1/namespaces/default/services",
        br#"{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"s"},"spec":{"template":{"spec":{"containers":[{"image":"x"}]}},"traffic":[{"percent":90,"latestRevision":true}]}}"#,
    );
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("\"causes\""), "{body}");
    assert!(body.contains("\"field\":\"spec.traffic\""), "{body}");

    let (code, _) = post(
        &f.api_url,
        "/api/v1/namespaces/nope/configmaps",
        br#"{"metadata":{"name":"a"}}"#,
    );
    assert_eq!(code, 404);
}

const CONFIG_DEFAULTS: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: config-defaults
  namespace: knative-serving
data:
  revision-timeout-seconds: \"20\"
  max-revision-timeout-seconds: \"30\"
";

#[test]
fn config_defaults_set_revision_defaults_and_limits_and_bad_values_are_refused() {
    let f = Fnmesh::start();
    f.kubectl_stdin(&["create", "namespace", "knative-serving"], "");
    // A bad value is refused with its key, and nothing is stored.
    let err = refused(&f, &CONFIG_DEFAULTS.replace("\"20\"", "\"soon\""));
    assert!(err.contains("data.revision-timeout-seconds"), "{err}");
    assert!(
        !f.kubectl(&[
            "-n",
            "knative-serving",
            "get",
            "configmap",
            "config-defaults"
        ])
        .status
        .success()
    );

    f.apply(CONFIG_DEFAULTS);
    f.apply(&service_yaml("timed", ""));
    let timeout = f.kubectl_ok(&[
        "get",
        "ksvc",
        "timed",
        "-o",
        "jsonpath={.spec.template.spec.timeoutSeconds}",
    ]);
    assert_eq!(timeout.trim(), "20");
    // The cluster's maximum, not Knative's stock 600, bounds a revision's timeout.
    let err = refused(&f, &service_yaml("long", "      timeoutSeconds: 60\n"));
    assert!(err.contains("timeoutSeconds"), "{err}");
    assert!(err.contains("30"), "{err}");
}
