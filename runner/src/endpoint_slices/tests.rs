use serde_json::json;

use super::*;

fn deployment(ports: serde_json::Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "rev-deployment", "namespace": "ns", "uid": "d-1"},
        "spec": {
            "selector": {},
            "template": {
                "metadata": {"labels": {"app": "rev"}},
                "spec": {"containers": [{"name": "c", "ports": ports}]},
            },
        },
    }))
    .unwrap()
}

fn service(name: &str, ports: serde_json::Value) -> Arc<Service> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {
                "name": name, "namespace": "ns", "uid": format!("{name}-uid"),
                "labels": {"team": "blue", "kubernetes.io/service-name": "spoofed"},
            },
            "spec": {"selector": {"app": "rev"}, "ports": ports},
        }))
        .unwrap(),
    )
}

fn ready() -> Vec<SocketAddr> {
    vec![
        "127.0.0.1:4001".parse().unwrap(),
        "127.0.0.1:4002".parse().unwrap(),
    ]
}

#[test]
fn one_slice_per_service_and_ready_replica_labelled_and_owned_as_kubernetes_does() {
    let d = deployment(json!([{"name": "h2c", "containerPort": 9000}]));
    let svc = service(
        "rev",
        json!([{"name": "http2", "port": 81, "targetPort": 9000}]),
    );
    let other = service("other", json!([{"port": 9000}]));
    let slices = desired_slices(&d, &[svc, other], &ready());
    let names: Vec<&str> = slices
        .iter()
        .filter_map(|s| s.metadata.name.as_deref())
        .collect();
    assert_eq!(names, ["rev-4001", "rev-4002", "other-4001", "other-4002"]);

    let s = &slices[0];
    let labels = s.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["team"], "blue", "the Service's labels are copied");
    assert_eq!(
        labels[SERVICE_NAME], "rev",
        "but not over the reserved ones"
    );
    assert_eq!(labels[MANAGED_BY], RUNNER);
    assert!(
        !labels.contains_key("app"),
        "pod labels are not slice labels"
    );
    let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("Service", "rev-uid", Some(true))
    );
    let endpoint = &s.endpoints.as_ref().unwrap()[0];
    assert_eq!(endpoint.addresses, ["127.0.0.1"]);
    assert_eq!(endpoint.conditions.as_ref().unwrap().ready, Some(true));
    let port = &s.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.port, port.protocol.as_deref()),
        (Some("http2"), Some(4001), Some("TCP")),
        "the Service's port name, the replica's own port"
    );
    assert_eq!(slice_replica(s), Some(("ns".into(), 4001)));
}

#[test]
fn target_ports_resolve_against_the_container_port() {
    let d = deployment(json!([{"name": "user-port", "containerPort": 8080}]));
    let port_of = |ports: serde_json::Value| {
        desired_slices(&d, &[service("s", ports)], &ready()[..1])
            .first()
            .map(|s| s.ports.clone().unwrap_or_default().len())
    };
    assert_eq!(
        port_of(json!([{"port": 80, "targetPort": "user-port"}])),
        Some(1)
    );
    assert_eq!(
        port_of(json!([{"port": 8080}])),
        Some(1),
        "targetPort defaults to port"
    );
    assert_eq!(
        port_of(json!([{"port": 80, "targetPort": 8080}, {"name": "m", "port": 9090}])),
        Some(1),
        "a port the replica does not serve is left out"
    );
    assert_eq!(
        port_of(json!([{"port": 80, "targetPort": "metrics"}])),
        None
    );
    assert_eq!(port_of(json!([])), None, "no port reaches it: no slice");
}

#[test]
fn no_service_no_slice() {
    let d = deployment(json!(null));
    assert!(desired_slices(&d, &[], &ready()).is_empty());
}
