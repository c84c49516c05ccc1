//! One path for endpoints: every revision gets a Kubernetes Service named after it,
//! and its ready replicas are found through the EndpointSlices labelled
//! `kubernetes.io/service-name: <revision>` — written, on a single node, by the
//! runner from the Service's selector, as Kubernetes' EndpointSlice controller would.

mod common;

use std::time::Duration;

use common::{Fnmesh, eventually, http_get, revision_of, service_yaml};
use serde_json::Value;

const WITHIN: Duration = Duration::from_secs(60);

/// The ready endpoints (`address:port`) of the revision's slices.
fn ready_endpoints(slices: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for slice in slices["items"].as_array().into_iter().flatten() {
        let port = &slice["ports"][0]["port"];
        for endpoint in slice["endpoints"].as_array().into_iter().flatten() {
            if endpoint["conditions"]["ready"] == true {
                out.push(format!(
                    "{}:{port}",
                    endpoint["addresses"][0].as_str().unwrap_or("")
                ));
            }
        }
    }
    out
}

#[test]
fn a_revision_has_a_service_and_its_ready_replica_a_slice_for_it() {
    let f = Fnmesh::start();
    f.apply(&service_yaml("hello", ""));
    eventually(WITHIN, "hello served", || {
        let (code, body) = http_get(&f.ingress, "hello.default.example.com");
        (code == 200 && revision_of(&body) == "hello-00001").then_some(())
    });

    let svc = f.get_json(&["get", "svc", "hello-00001"]);
    assert_eq!(
        svc["spec"]["selector"],
        serde_json::json!({"serving.knative.dev/revision": "hello-00001"})
    );
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["ports"][0]["name"], "http");
    assert_eq!(
        svc["spec"]["ports"][0]["targetPort"], 8080,
        "Knative's user port"
    );
    assert_eq!(
        svc["metadata"]["labels"]["serving.knative.dev/service"],
        "hello"
    );
    let owner = &svc["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["name"]),
        (&"Revision".into(), &"hello-00001".into())
    );
    let table = f.kubectl_ok(&["get", "svc", "hello-00001"]);
    assert!(
        table.contains("ClusterIP") && table.contains("80/TCP"),
        "{table}"
    );

    let slices = f.get_json(&[
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=hello-00001",
    ]);
    let endpoints = ready_endpoints(&slices);
    assert_eq!(endpoints.len(), 1, "one ready replica: {slices}");
    let slice = &slices["items"][0];
    assert_eq!(slice["ports"][0]["name"], "http");
    assert_eq!(
        slice["metadata"]["labels"]["serving.knative.dev/revision"], "hello-00001",
        "the Service's labels are copied"
    );
    assert_eq!(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
    // The endpoint is the replica itself.
    let (code, body) = http_get(&endpoints[0], "anything");
    assert_eq!(
        (code, revision_of(&body).as_str()),
        (200, "hello-00001"),
        "{body}"
    );

    // Without its Service a revision's replicas have no slice, and none route; the
    // controller puts the Service back.
    f.kubectl_ok(&["delete", "svc", "hello-00001"]);
    eventually(WITHIN, "the Service recreated and its slice back", || {
        let slices = f.get_json(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=hello-00001",
        ]);
        (ready_endpoints(&slices).len() == 1).then_some(())
    });
    let again = f.get_json(&["get", "svc", "hello-00001"]);
    assert_ne!(
        again["metadata"]["uid"], svc["metadata"]["uid"],
        "a new Service"
    );
}
