use super::*;

const T0: &str = "2024-05-01T12:00:00Z";
const T1: &str = "2024-05-01T12:05:00Z";

fn ksvc(image: &str) -> Value {
    json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "hello", "namespace": "default", "labels": {"app": "hello"}},
        "spec": {"template": {"spec": {"containers": [
            {"name": "user-container", "image": image, "args": ["a", "b"]}
        ]}}}
    })
}

fn entries(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
}

/// Simulates a stored create: server fields plus an Update record.
fn created(obj: Value, manager: &str) -> Value {
    let mut obj = obj;
    obj["metadata"]["uid"] = json!("u-1");
    obj["metadata"]["resourceVersion"] = json!("1");
    obj["metadata"]["creationTimestamp"] = json!(T0);
    record_update(None, &mut obj, manager, "serving.knative.dev/v1", None, T0);
    obj
}

#[test]
fn create_records_wire_format() {
    let obj = created(ksvc("img:1"), "kubectl-create");
    let e = entries(&obj);
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0],
        json!({
            "manager": "kubectl-create", "operation": "Update",
            "apiVersion": "serving.knative.dev/v1", "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"user-container\"}": {
                        ".": {}, "f:args": {}, "f:image": {}, "f:name": {}
                    }
                }}}}
            }
        })
    );
}

#[test]
fn update_moves_changed_fields_and_drops_removed_ones() {
    let old = created(ksvc("img:1"), "kubectl-create");
    let mut new = old.clone();
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("img:2");
    new["metadata"]["labels"] = json!({});
    record_update(
        Some(&old),
        &mut new,
        "controller",
        "serving.knative.dev/v1",
        None,
        T1,
    );
    let create = entry(&new, "kubectl-create", "Update").unwrap();
    let item = &create["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"user-container\"}"];
    assert!(item.get("f:image").is_none());
    assert!(item.get("f:args").is_some());
    assert!(
        create["fieldsV1"].get("f:metadata").is_none(),
        "removed label leaves every set"
    );
    let ctrl = entry(&new, "controller", "Update").unwrap();
    assert_eq!(ctrl["time"], T1);
    assert_eq!(
        ctrl["fieldsV1"],
        json!({"f:metadata": {"f:labels": {}}, "f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"user-container\"}": {"f:image": {}}}}}}})
    );
}

#[test]
fn noop_update_changes_nothing() {
    let old = created(ksvc("img:1"), "a");
    let mut new = old.clone();
    new["metadata"]["resourceVersion"] = json!("2");
    record_update(
        Some(&old),
        &mut new,
        "b",
        "serving.knative.dev/v1",
        None,
        T1,
    );
    assert_eq!(entries(&new), entries(&old));
}

#[test]
fn status_writes_are_tracked_separately() {
    let old = created(ksvc("img:1"), "a");
    let mut new = old.clone();
    new["status"] = json!({"url": "http://x", "conditions": [{"type": "Ready", "status": "True"}]});
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("ignored-by-status-write");
    record_update(
        Some(&old),
        &mut new,
        "ctrl",
        "serving.knative.dev/v1",
        Some("status"),
        T1,
    );
    let e = entry(&new, "ctrl", "Update").unwrap();
    assert_eq!(e["subresource"], "status");
    assert_eq!(
        e["fieldsV1"],
        json!({"f:status": {"f:url": {}, "f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}}}})
    );
    let mut spec_write = new.clone();
    spec_write["status"]["url"] = json!("http://y");
    record_update(
        Some(&new),
        &mut spec_write,
        "user",
        "serving.knative.dev/v1",
        None,
        T1,
    );
    assert!(
        entry(&spec_write, "user", "Update").is_none(),
        "main writes never own status"
    );
}

#[test]
fn managed_fields_reset_and_client_edits() {
    let old = created(ksvc("img:1"), "a");
    let mut new = old.clone();
    new["metadata"]["managedFields"] = json!([{}]);
    record_update(Some(&old), &mut new, "b", "v1", None, T1);
    assert!(new["metadata"].get("managedFields").is_none());

    let mut new = old.clone();
    new["metadata"]["managedFields"] = json!([]);
    record_update(Some(&old), &mut new, "b", "v1", None, T1);
    assert_eq!(entries(&new), entries(&old), "an empty list does not reset");
}

#[test]
fn apply_create_and_idempotence() {
    let first = apply(None, &ksvc("img:1"), "mgr", true, T0).unwrap();
    let e = entry(&first, "mgr", "Apply").unwrap();
    assert_eq!(e["time"], T0);
    assert!(e.get("subresource").is_none());
    assert_eq!(first["spec"], ksvc("img:1")["spec"]);
    let second = apply(Some(&first), &ksvc("img:1"), "mgr", true, T1).unwrap();
    assert_eq!(
        second, first,
        "re-applying the same config is a no-op, time included"
    );
}

#[test]
fn apply_prunes_fields_it_stopped_naming() {
    let mut cfg = ksvc("img:1");
    cfg["metadata"]["labels"]["tier"] = json!("web");
    cfg["spec"]["template"]["metadata"] = json!({"annotations": {"a": "1"}});
    let live = apply(None, &cfg, "mgr", false, T0).unwrap();
    let next = apply(Some(&live), &ksvc("img:1"), "mgr", false, T1).unwrap();
    assert_eq!(next["metadata"]["labels"], json!({"app": "hello"}));
    assert!(
        next["spec"]["template"].get("metadata").is_none(),
        "emptied maps go too"
    );
}

#[test]
fn apply_keeps_fields_another_manager_owns() {
    let live = apply(None, &ksvc("img:1"), "mgr", false, T0).unwrap();
    let mut labelled = live.clone();
    labelled["metadata"]["labels"]["team"] = json!("x");
    record_update(
        Some(&live),
        &mut labelled,
        "kubectl-label",
        "serving.knative.dev/v1",
        None,
        T1,
    );
    let mut cfg = ksvc("img:1");
    cfg["metadata"]["labels"] = json!({});
    let next = apply(Some(&labelled), &cfg, "mgr", false, T1).unwrap();
    assert_eq!(next["metadata"]["labels"], json!({"team": "x"}));
    let label = entry(&next, "kubectl-label", "Update").unwrap();
    assert_eq!(
        label["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:team": {}}}})
    );
}

#[test]
fn csa_then_ssa_with_same_manifest_shares_ownership() {
    let mut manifest = ksvc("img:1");
    manifest["metadata"]["annotations"] = json!({LAST_APPLIED: "{}"});
    let live = created(manifest.clone(), "kubectl-client-side-apply");
    let mut cfg = ksvc("img:1");
    cfg["metadata"]["annotations"] = json!({});
    let next = apply(Some(&live), &cfg, "kubectl", false, T1).unwrap();
    assert!(entry(&next, "kubectl-client-side-apply", "Update").is_some());
    assert!(entry(&next, "kubectl", "Apply").is_some());
    let synced: Value = serde_json::from_str(
        next["metadata"]["annotations"][LAST_APPLIED]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        synced["spec"], cfg["spec"],
        "last-applied follows server-side apply"
    );
}

#[test]
fn conflict_message_matches_kubernetes() {
    let live = created(ksvc("img:1"), "kubectl-client-side-apply");
    let err = apply(Some(&live), &ksvc("img:2"), "kubectl", false, T1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using serving.knative.dev/v1: .spec.template.spec.containers[name=\"user-container\"].image"
    );
    assert_eq!(err.status_causes()[0]["type"], "FieldManagerConflict");
    assert_eq!(
        err.0[0].field,
        ".spec.template.spec.containers[name=\"user-container\"].image"
    );

    let forced = apply(Some(&live), &ksvc("img:2"), "kubectl", true, T1).unwrap();
    assert_eq!(
        forced["spec"]["template"]["spec"]["containers"][0]["image"],
        "img:2"
    );
    let csa = entry(&forced, "kubectl-client-side-apply", "Update").unwrap();
    let item = &csa["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"user-container\"}"];
    assert!(item.get("f:image").is_none(), "force moves ownership");
    assert!(item.get("f:args").is_some());
}

#[test]
fn multiple_conflicts_are_grouped_by_manager() {
    let mut cfg = ksvc("img:1");
    cfg["spec"]["replicas"] = json!(1);
    let live = created(cfg.clone(), "a");
    cfg["spec"]["replicas"] = json!(2);
    cfg["spec"]["template"]["spec"]["containers"][0]["image"] = json!("img:2");
    let err = apply(Some(&live), &cfg, "b", false, T1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"a\" using serving.knative.dev/v1\n- .spec.replicas\n- .spec.template.spec.containers[name=\"user-container\"].image"
    );
}

#[test]
fn associative_lists_merge_by_key() {
    let mut cfg = ksvc("img:1");
    cfg["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
    let live = apply(None, &cfg, "mgr", false, T0).unwrap();
    let mut sidecar = live.clone();
    sidecar["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "side", "image": "s"}));
    record_update(
        Some(&live),
        &mut sidecar,
        "injector",
        "serving.knative.dev/v1",
        None,
        T1,
    );
    cfg["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "B", "value": "2"}]);
    let next = apply(Some(&sidecar), &cfg, "mgr", false, T1).unwrap();
    let containers = &next["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        containers[1]["name"], "side",
        "other manager's item survives"
    );
    assert_eq!(
        containers[0]["env"],
        json!([{"name": "B", "value": "2"}]),
        "own item pruned"
    );
}

#[test]
fn atomic_lists_replace() {
    let live = apply(None, &ksvc("img:1"), "mgr", false, T0).unwrap();
    let mut cfg = ksvc("img:1");
    cfg["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["c"]);
    let next = apply(Some(&live), &cfg, "mgr", false, T1).unwrap();
    assert_eq!(
        next["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["c"])
    );
    assert_eq!(entry(&next, "mgr", "Apply").unwrap()["time"], T1);
}

#[test]
fn apply_ignores_status_and_server_metadata() {
    let mut cfg = ksvc("img:1");
    cfg["status"] = json!({"url": "x"});
    let live = apply(None, &cfg, "mgr", false, T0).unwrap();
    assert!(live.get("status").is_none());
    let fields = &entry(&live, "mgr", "Apply").unwrap()["fieldsV1"];
    assert!(fields["f:metadata"].get("f:name").is_none());
    assert!(fields.get("f:apiVersion").is_none());

    let mut status_cfg = json!({"apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "hello", "labels": {"x": "y"}}, "status": {"url": "u"}});
    let with_status =
        apply_subresource(Some(&live), &status_cfg, "ctrl", Some("status"), false, T1).unwrap();
    assert_eq!(with_status["status"]["url"], "u");
    assert_eq!(
        with_status["metadata"]["labels"],
        live["metadata"]["labels"]
    );
    status_cfg["status"] = json!({});
    let e = entry(&with_status, "ctrl", "Apply").unwrap();
    assert_eq!(e["subresource"], "status");
}

#[test]
fn apply_to_untracked_object_uses_before_first_apply() {
    let live = ksvc("img:1");
    let err = apply(Some(&live), &ksvc("img:2"), "mgr", false, T1).unwrap_err();
    assert!(err.to_string().contains("\"before-first-apply\""), "{err}");
}

#[test]
fn invalid_configurations_are_rejected() {
    let cases = [
        json!([]),
        json!({"kind": "Service", "metadata": {"name": "x"}}),
        json!({"apiVersion": "v1", "metadata": {"name": "x"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "managedFields": []}}),
    ];
    for c in cases {
        assert!(validate_applied(None, &c).is_err(), "{c}");
    }
    assert!(validate_applied(None, &ksvc("i")).is_ok());
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}});
    assert!(validate_applied(Some(&cm), &secret).is_err());
}

#[test]
fn finalizers_are_a_set_and_ports_key_by_container_port() {
    let cfg = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "x", "finalizers": ["a"]},
        "spec": {"ports": [{"containerPort": 8080}]}});
    let live = apply(None, &cfg, "m", false, T0).unwrap();
    assert_eq!(
        entry(&live, "m", "Apply").unwrap()["fieldsV1"],
        json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}}},
               "f:spec": {"f:ports": {"k:{\"containerPort\":8080}": {".": {}, "f:containerPort": {}}}}})
    );
}
