use serde_json::{Value, json};

use super::*;
use crate::defaults::{default_revision, default_service};
use crate::{Revision, Route, Service};

fn service(spec: Value) -> Service {
    let mut s: Service = serde_json::from_value(json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": spec,
    }))
    .unwrap();
    default_service(&mut s, None);
    s
}

fn template(spec: Value) -> Value {
    json!({"spec": spec})
}

fn one(image_fields: Value) -> Value {
    let mut c = json!({"image": "ghcr.io/x/hello"});
    c.as_object_mut()
        .unwrap()
        .extend(image_fields.as_object().unwrap().clone());
    template(json!({"containers": [c]}))
}

fn errors_of(spec: Value) -> Vec<String> {
    validate_service(&service(spec), None)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_err(errs: &[String], want: &str) {
    assert!(
        errs.iter().any(|e| e == want),
        "wanted {want:?} in {errs:#?}"
    );
}

#[test]
fn minimal_service_is_valid() {
    assert_eq!(
        errors_of(json!({"template": one(json!({}))})),
        Vec::<String>::new()
    );
}

#[test]
fn reserved_env_vars() {
    for name in RESERVED_ENV_VARS {
        let errs =
            errors_of(json!({"template": one(json!({"env": [{"name": name, "value": "1"}]}))}));
        assert_err(
            &errs,
            &format!(
                "spec.template.spec.containers[0].env[0].name: {name:?} is a reserved environment variable"
            ),
        );
    }
}

#[test]
fn reserved_ports() {
    for port in RESERVED_PORTS {
        let errs = errors_of(json!({"template": one(json!({"ports": [{"containerPort": port}]}))}));
        assert_err(
            &errs,
            &format!(
                "spec.template.spec.containers[0].ports[0].containerPort: {port} is a reserved port, please use a different value"
            ),
        );
    }
}

#[test]
fn port_names_and_count() {
    let errs = errors_of(
        json!({"template": one(json!({"ports": [{"containerPort": 8080, "name": "grpc"}]}))}),
    );
    assert!(errs.iter().any(|e| e.starts_with(
        "spec.template.spec.containers[0].ports[0].name: port name \"grpc\" is not allowed"
    )));
    for name in VALID_PORT_NAMES {
        assert!(
            errors_of(
                json!({"template": one(json!({"ports": [{"containerPort": 8080, "name": name}]}))})
            )
            .is_empty()
        );
    }
    let errs = errors_of(
        json!({"template": one(json!({"ports": [{"containerPort": 8080}, {"containerPort": 8081}]}))}),
    );
    assert!(
        errs.iter().any(|e| e.starts_with(
            "spec.template.spec.containers[*].ports: more than one container port is set"
        )),
        "{errs:?}"
    );
}

#[test]
fn sidecars_need_one_serving_port() {
    let two = |a: Value, b: Value| {
        errors_of(json!({"template": template(json!({"containers": [a, b]}))}))
    };
    let errs = two(json!({"image": "a"}), json!({"image": "b"}));
    assert!(
        errs.iter()
            .any(|e| e.starts_with("spec.template.spec.containers[*].ports: missing field")),
        "{errs:?}"
    );
    assert!(
        two(
            json!({"image": "a", "ports": [{"containerPort": 8080}]}),
            json!({"image": "b", "env": [{"name": "PORT", "value": "1"}]})
        )
        .is_empty()
    );
}

#[test]
fn container_needs_image_or_command() {
    let errs = errors_of(json!({"template": template(json!({"containers": [{"name": "x"}]}))}));
    assert_err(
        &errs,
        "spec.template.spec.containers[0].image: missing field: one of image or command is required",
    );
    assert!(
        errors_of(json!({"template": template(json!({"containers": [{"command": ["./fn"]}]}))}))
            .is_empty()
    );
    let errs = errors_of(json!({"template": template(json!({"containers": []}))}));
    assert_err(
        &errs,
        "spec.template.spec.containers: missing field: at least one container is required",
    );
}

#[test]
fn container_concurrency_bounds() {
    let errs = errors_of(
        json!({"template": template(json!({"containerConcurrency": 1001, "containers": [{"image": "a"}]}))}),
    );
    assert_err(
        &errs,
        "spec.template.spec.containerConcurrency: expected 0 <= 1001 <= 1000",
    );
    let errs = errors_of(
        json!({"template": template(json!({"containerConcurrency": -1, "containers": [{"image": "a"}]}))}),
    );
    assert_err(
        &errs,
        "spec.template.spec.containerConcurrency: expected 0 <= -1 <= 1000",
    );
    assert!(errors_of(json!({"template": template(json!({"containerConcurrency": 1000, "containers": [{"image": "a"}]}))})).is_empty());
}

#[test]
fn timeout_bounds() {
    let errs = errors_of(
        json!({"template": template(json!({"timeoutSeconds": 601, "containers": [{"image": "a"}]}))}),
    );
    assert_err(
        &errs,
        "spec.template.spec.timeoutSeconds: expected 0 <= 601 <= 600 (max-revision-timeout-seconds)",
    );
    assert!(errors_of(json!({"template": template(json!({"timeoutSeconds": 600, "containers": [{"image": "a"}]}))})).is_empty());
    let errs = errors_of(
        json!({"template": template(json!({"timeoutSeconds": 10, "idleTimeoutSeconds": 20, "containers": [{"image": "a"}]}))}),
    );
    assert_err(
        &errs,
        "spec.template.spec.idleTimeoutSeconds: expected 0 <= 20 <= 10 (timeoutSeconds)",
    );
}

#[test]
fn object_names() {
    let named = |name: &str| {
        let mut s = service(json!({"template": one(json!({}))}));
        s.metadata.name = Some(name.to_owned());
        validate_service(&s, None)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert!(named("Hello")[0].starts_with("metadata.name: not a DNS 1035 label"));
    assert!(named("1hello")[0].starts_with("metadata.name: not a DNS 1035 label"));
    assert!(named(&"a".repeat(57)).is_empty());
    assert!(
        named(&"a".repeat(58))[0].starts_with("metadata.name: must be no more than 57 characters")
    );
    assert_err(
        &named(""),
        "metadata.name: name or generateName is required",
    );
}

#[test]
fn byo_revision_name_needs_parent_prefix() {
    let errs = errors_of(
        json!({"template": {"metadata": {"name": "other-v1"}, "spec": {"containers": [{"image": "a"}]}}}),
    );
    assert_err(
        &errs,
        "spec.template.metadata.name: \"other-v1\" must have prefix \"hello-\"",
    );
    assert!(errors_of(json!({"template": {"metadata": {"name": "hello-v1"}, "spec": {"containers": [{"image": "a"}]}}})).is_empty());
}

#[test]
fn kept_revision_name_with_changed_template_is_refused() {
    let old = service(
        json!({"template": {"metadata": {"name": "hello-v1"}, "spec": {"containers": [{"image": "a"}]}}}),
    );
    let mut new = old.clone();
    new.spec.template.spec.containers[0].image = Some("b".into());
    let errs: Vec<String> = validate_service(&new, Some(&old))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        errs[0].starts_with(
            "spec.template.metadata.name: saw changes to the template without a name change"
        ),
        "{errs:?}"
    );
    new.spec.template.metadata.name = Some("hello-v2".into());
    assert!(validate_service(&new, Some(&old)).is_empty());
}

#[test]
fn revision_spec_is_immutable() {
    let mut old: Revision = serde_json::from_value(
        json!({"metadata": {"name": "r-1"}, "spec": {"containers": [{"image": "a"}]}}),
    )
    .unwrap();
    default_revision(&mut old, None);
    let mut new = old.clone();
    new.spec.timeout_seconds = Some(10);
    let errs = validate_revision(&new, Some(&old));
    assert_eq!(errs[0].field, "spec");
    assert!(errs[0].message.starts_with("immutable fields changed"));
    new.spec = old.spec.clone();
    new.metadata.labels = Some([("x".to_owned(), "y".to_owned())].into());
    assert!(validate_revision(&new, Some(&old)).is_empty());
}

#[test]
fn service_label_needs_owner_reference() {
    let mut r: Route = serde_json::from_value(json!({
        "metadata": {"name": "r", "labels": {"serving.knative.dev/service": "r"}},
        "spec": {"traffic": [{"percent": 100, "configurationName": "r"}]}}))
    .unwrap();
    let errs = validate_route(&r, None);
    assert_eq!(errs[0].field, "metadata.labels.serving.knative.dev/service");
    r.metadata.owner_references = Some(vec![
        serde_json::from_value(json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "r", "uid": "u"}))
        .unwrap(),
    ]);
    assert!(validate_route(&r, None).is_empty());
}

#[test]
fn volumes_and_mounts() {
    let errs = errors_of(json!({"template": template(json!({
        "containers": [{"image": "a", "volumeMounts": [{"name": "cfg", "mountPath": "/dev"}, {"name": "nope", "mountPath": "rel"}]}],
        "volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "unused", "emptyDir": {}}]}))}));
    assert_err(
        &errs,
        "spec.template.spec.containers[0].volumeMounts[0].mountPath: mountPath \"/dev\" is a reserved path",
    );
    assert_err(
        &errs,
        "spec.template.spec.containers[0].volumeMounts[1].name: volumeMount \"nope\" has no matching volume",
    );
    assert_err(
        &errs,
        "spec.template.spec.volumes[1].name: volume with name \"unused\" not mounted",
    );
}

#[test]
fn readiness_probe_rules() {
    let errs = errors_of(
        json!({"template": one(json!({"readinessProbe": {"tcpSocket": {"port": 0}, "failureThreshold": 5}}))}),
    );
    assert_err(
        &errs,
        "spec.template.spec.containers[0].readinessProbe.failureThreshold: failureThreshold is disallowed when periodSeconds is zero",
    );
    let errs = errors_of(
        json!({"template": one(json!({"readinessProbe": {"httpGet": {"port": "other"}}}))}),
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("readinessProbe.httpGet.port: invalid value \"other\"")),
        "{errs:?}"
    );
}

#[test]
fn service_metadata_may_not_carry_autoscaling_annotations() {
    let mut s = service(json!({"template": one(json!({}))}));
    s.metadata.annotations = Some(
        [(
            "autoscaling.knative.dev/min-scale".to_owned(),
            "1".to_owned(),
        )]
        .into(),
    );
    let errs = validate_service(&s, None);
    assert_eq!(
        errs[0].field,
        "metadata.annotations.autoscaling.knative.dev/min-scale"
    );
}

#[test]
fn rollout_duration_annotation() {
    let mut s = service(json!({"template": one(json!({}))}));
    s.metadata.annotations = Some(
        [(
            "serving.knative.dev/rollout-duration".to_owned(),
            "1500ms".to_owned(),
        )]
        .into(),
    );
    let errs = validate_service(&s, None);
    assert_eq!(
        errs[0].to_string(),
        "metadata.annotations.serving.knative.dev/rollout-duration: rollout-duration=1500ms is not at second precision"
    );
}

mod autoscaling_annotations;
mod traffic;
