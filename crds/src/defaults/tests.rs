use serde_json::json;

use super::*;
use crate::{Configuration, Route, Service};

fn svc(spec: serde_json::Value) -> Service {
    serde_json::from_value(json!({"metadata": {"name": "hello"}, "spec": spec})).unwrap()
}

#[test]
fn service_gets_knative_defaults() {
    let mut s = svc(json!({"template": {"spec": {"containers": [{"image": "a"}]}}}));
    default_service(&mut s, None);
    let spec = &s.spec.template.spec;
    assert_eq!(spec.timeout_seconds, Some(300));
    assert_eq!(spec.container_concurrency, Some(0));
    assert_eq!(spec.enable_service_links, Some(false));
    assert_eq!(
        spec.response_start_timeout_seconds, None,
        "default (300) is not below the timeout"
    );
    assert_eq!(spec.idle_timeout_seconds, None);
    let c = &spec.containers[0];
    assert_eq!(c.name.as_deref(), Some("user-container"));
    assert_eq!(
        serde_json::to_value(c.readiness_probe.as_ref().unwrap()).unwrap(),
        json!({"successThreshold": 1, "tcpSocket": {"port": 0}})
    );
    assert_eq!(
        serde_json::to_value(&s.spec.traffic).unwrap(),
        json!([{"latestRevision": true, "percent": 100}])
    );
}

#[test]
fn response_start_timeout_defaults_below_longer_timeouts() {
    let mut s =
        svc(json!({"template": {"spec": {"timeoutSeconds": 600, "containers": [{"image": "a"}]}}}));
    default_service(&mut s, None);
    assert_eq!(
        s.spec.template.spec.response_start_timeout_seconds,
        Some(300)
    );
}

#[test]
fn zero_timeout_becomes_default() {
    let mut s =
        svc(json!({"template": {"spec": {"timeoutSeconds": 0, "containers": [{"image": "a"}]}}}));
    default_service(&mut s, None);
    assert_eq!(s.spec.template.spec.timeout_seconds, Some(300));
}

#[test]
fn multi_container_names_avoid_clashes() {
    let mut s = svc(json!({"template": {"spec": {"containers": [
        {"image": "a", "ports": [{"containerPort": 8080}]}, {"image": "b", "name": "user-container-0"}, {"image": "c"}]}}}));
    default_service(&mut s, None);
    let names: Vec<_> = s
        .spec
        .template
        .spec
        .containers
        .iter()
        .map(|c| c.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        ["user-container-1", "user-container-0", "user-container-2"]
    );
    let probes: Vec<_> = s
        .spec
        .template
        .spec
        .containers
        .iter()
        .map(|c| c.readiness_probe.is_some())
        .collect();
    assert_eq!(
        probes,
        [true, false, false],
        "sidecars get no default probe"
    );
}

#[test]
fn user_probe_keeps_its_handler_and_gets_k8s_timing() {
    let mut s = svc(json!({"template": {"spec": {"containers": [{"image": "a",
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 0}, "periodSeconds": 5}}]}}}));
    default_service(&mut s, None);
    let p = s.spec.template.spec.containers[0]
        .readiness_probe
        .clone()
        .unwrap();
    assert!(p.tcp_socket.is_none());
    assert_eq!(
        (p.success_threshold, p.failure_threshold, p.timeout_seconds),
        (Some(1), Some(3), Some(1))
    );
}

#[test]
fn read_only_mounts_for_config_volumes() {
    let mut s = svc(json!({"template": {"spec": {
        "containers": [{"image": "a", "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}, {"name": "tmp", "mountPath": "/tmp"}]}],
        "volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "tmp", "emptyDir": {}}]}}}));
    default_service(&mut s, None);
    let mounts = s.spec.template.spec.containers[0]
        .volume_mounts
        .clone()
        .unwrap();
    assert_eq!(
        (mounts[0].read_only, mounts[1].read_only),
        (Some(true), None)
    );
}

#[test]
fn traffic_targets_default_latest_revision_and_percent() {
    let mut r: Route =
        serde_json::from_value(json!({"metadata": {"name": "r"}, "spec": {"traffic": [
        {"revisionName": "r-00001", "percent": 100}, {"configurationName": "c", "tag": "t"}]}}))
        .unwrap();
    default_route(&mut r);
    let t = r.spec.traffic.unwrap();
    assert_eq!(
        (t[0].latest_revision, t[0].percent),
        (Some(false), Some(100))
    );
    assert_eq!((t[1].latest_revision, t[1].percent), (Some(true), Some(0)));
}

#[test]
fn route_without_traffic_gets_none() {
    let mut r: Route =
        serde_json::from_value(json!({"metadata": {"name": "r"}, "spec": {}})).unwrap();
    default_route(&mut r);
    assert!(r.spec.traffic.is_none());
}

#[test]
fn update_does_not_default_enable_service_links() {
    let mut old: Configuration = serde_json::from_value(json!({"metadata": {"name": "c"}, "spec": {"template": {"spec": {"containers": [{"image": "a"}]}}}})).unwrap();
    default_configuration(&mut old, None);
    let mut new: Configuration = serde_json::from_value(json!({"metadata": {"name": "c"}, "spec": {"template": {"spec": {"containers": [{"image": "b"}]}}}})).unwrap();
    default_configuration(&mut new, Some(&old));
    assert_eq!(new.spec.template.spec.enable_service_links, None);
    assert_eq!(new.spec.template.spec.timeout_seconds, Some(300));
}

#[test]
fn resubmitting_the_original_manifest_keeps_the_stored_template() {
    let manifest = json!({"metadata": {"name": "c"}, "spec": {"template": {"metadata": {"name": "c-v1"}, "spec": {"containers": [{"image": "a"}]}}}});
    let mut old: Configuration = serde_json::from_value(manifest.clone()).unwrap();
    default_configuration(&mut old, None);
    let mut new: Configuration = serde_json::from_value(manifest).unwrap();
    default_configuration(&mut new, Some(&old));
    assert_eq!(new.spec, old.spec);
}

#[test]
fn kept_byo_name_skips_defaulting_like_knative() {
    let mut old: Configuration = serde_json::from_value(json!({"metadata": {"name": "c"}, "spec": {"template": {"metadata": {"name": "c-v1"}, "spec": {"containers": [{"image": "a"}]}}}})).unwrap();
    default_configuration(&mut old, None);
    let mut new: Configuration = serde_json::from_value(json!({"metadata": {"name": "c"}, "spec": {"template": {"metadata": {"name": "c-v1"}, "spec": {"containers": [{"image": "b"}]}}}})).unwrap();
    default_configuration(&mut new, Some(&old));
    assert_eq!(new.spec.template.spec.timeout_seconds, None);
}
