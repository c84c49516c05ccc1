//! Slice and revision rules of [`backend`].

use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

use super::*;
use crate::routing::Protocol;

fn revision(port_name: Option<&str>, timeout: Option<i64>) -> Revision {
    let mut port = json!({ "containerPort": 8080 });
    if let Some(name) = port_name {
        port["name"] = json!(name);
    }
    serde_json::from_value(json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": { "name": "hello-00001", "namespace": "ns" },
        "spec": {
            "timeoutSeconds": timeout,
            "containers": [{ "image": "x", "ports": [port] }],
        },
    }))
    .unwrap()
}

fn slice(
    address_type: &str,
    ports: serde_json::Value,
    endpoints: serde_json::Value,
) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": { "name": "s", "namespace": "ns" },
        "addressType": address_type,
        "ports": ports,
        "endpoints": endpoints,
    }))
    .unwrap()
}

fn ep(address: &str, ready: Option<bool>, terminating: bool) -> serde_json::Value {
    json!({ "addresses": [address], "conditions": { "ready": ready, "terminating": terminating } })
}

#[test]
fn protocol_and_timeout_come_from_the_revision() {
    let b = backend(&revision(Some("h2c"), Some(42)), []);
    assert_eq!(b.key, ObjectKey::new("ns", "hello-00001"));
    assert_eq!(b.protocol, Protocol::H2c);
    assert_eq!(b.timeout_seconds, 42);
    assert!(b.endpoints.is_empty());
    let b = backend(&revision(Some("http1"), None), []);
    assert_eq!(b.protocol, Protocol::Http1);
    assert_eq!(b.timeout_seconds, 300);
}

/// A revision with `timeoutSeconds`, `responseStartTimeoutSeconds` and
/// `idleTimeoutSeconds` as given (`None`: unset).
fn revision_with_timeouts(
    timeout: Option<i64>,
    response_start: Option<i64>,
    idle: Option<i64>,
) -> Revision {
    let mut revision = revision(None, timeout);
    revision.spec.response_start_timeout_seconds = response_start;
    revision.spec.idle_timeout_seconds = idle;
    revision
}

#[test]
fn response_start_and_idle_timeouts_have_knatives_meaning_when_unset() {
    let limits = |timeout, response_start, idle| {
        let b = backend(&revision_with_timeouts(timeout, response_start, idle), []);
        (
            b.timeout_seconds,
            b.response_start_timeout_seconds,
            b.idle_timeout_seconds,
        )
    };
    assert_eq!(limits(Some(60), Some(10), Some(5)), (60, 10, Some(5)));
    assert_eq!(
        limits(Some(60), None, None),
        (60, 60, None),
        "unset: the timeout bounds the response start, nothing the pauses"
    );
    assert_eq!(
        limits(Some(60), Some(0), Some(0)),
        (60, 60, None),
        "0 is unset"
    );
    assert_eq!(limits(None, None, None), (300, 300, None));
    assert_eq!(
        limits(Some(60), Some(90), None).1,
        60,
        "never beyond the timeout"
    );
}

#[test]
fn only_ready_ip_endpoints_count_each_on_its_slices_port() {
    let ports = |p: u16| json!([{ "name": "http", "port": p, "protocol": "TCP" }]);
    let slices = [
        slice(
            "IPv4",
            ports(3001),
            json!([ep("127.0.0.1", Some(true), false)]),
        ),
        slice(
            "IPv4",
            ports(3002),
            json!([ep("127.0.0.1", Some(false), false)]),
        ),
        // Kubernetes reads an absent `ready` as ready.
        slice("IPv4", ports(3003), json!([ep("127.0.0.1", None, false)])),
        slice(
            "IPv4",
            ports(3004),
            json!([ep("127.0.0.1", Some(true), true)]),
        ),
        slice("IPv6", ports(3005), json!([ep("::1", Some(true), false)])),
        slice(
            "FQDN",
            ports(3006),
            json!([ep("example.com", Some(true), false)]),
        ),
        // The same replica twice counts once.
        slice(
            "IPv4",
            ports(3001),
            json!([ep("127.0.0.1", Some(true), false)]),
        ),
    ];
    let b = backend(&revision(None, None), &slices);
    let got: Vec<String> = b.endpoints.iter().map(ToString::to_string).collect();
    assert_eq!(got, ["127.0.0.1:3001", "127.0.0.1:3003", "[::1]:3005"]);
}

#[test]
fn the_serving_port_is_picked_among_several() {
    let s = slice(
        "IPv4",
        json!([{ "name": "metrics", "port": 9090 }, { "name": "h2c", "port": 8012 }]),
        json!([ep("10.0.0.1", Some(true), false)]),
    );
    assert_eq!(ready_endpoints(&s, Some("h2c"))[0].port(), 8012);
    assert_eq!(
        ready_endpoints(&s, None)[0].port(),
        8012,
        "a known serving name wins"
    );
    let unnamed = slice(
        "IPv4",
        json!([{ "port": 7000 }]),
        json!([ep("10.0.0.1", None, false)]),
    );
    assert_eq!(ready_endpoints(&unnamed, Some("http"))[0].port(), 7000);
    let portless = slice("IPv4", json!([]), json!([ep("10.0.0.1", None, false)]));
    assert!(ready_endpoints(&portless, None).is_empty());
}

#[test]
fn a_slice_belongs_to_the_service_it_names_not_to_a_revision_label() {
    let labelled = |labels: serde_json::Value| -> EndpointSlice {
        serde_json::from_value(json!({
            "metadata": { "name": "s", "namespace": "ns", "labels": labels },
            "addressType": "IPv4",
        }))
        .unwrap()
    };
    let s = labelled(json!({
        "kubernetes.io/service-name": "hello-00001",
        "serving.knative.dev/revision": "someone-else",
    }));
    assert_eq!(
        slice_revision(&s),
        Some(ObjectKey::new("ns", "hello-00001"))
    );
    let unnamed = labelled(json!({ "serving.knative.dev/revision": "hello-00001" }));
    assert_eq!(slice_revision(&unnamed), None, "no Service, no revision");
}

#[test]
fn an_h2c_revision_reads_its_services_http2_port() {
    let rev = revision(Some("h2c"), None);
    let s = slice(
        "IPv4",
        json!([{ "name": "http2", "port": 4001 }]),
        json!([ep("127.0.0.1", Some(true), false)]),
    );
    let b = backend(&rev, [&s]);
    assert_eq!(b.protocol, Protocol::H2c);
    assert_eq!(b.endpoints[0].port(), 4001);
}
