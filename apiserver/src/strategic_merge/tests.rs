use super::*;
use proptest::prelude::*;
use serde_json::json;

fn patched(target: Value, patch: Value) -> Value {
    let mut t = target;
    strategic_merge_patch(&mut t, &patch).unwrap();
    t
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "1"}},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "app", "image": "app:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
             "ports": [{"containerPort": 80}], "args": ["--a"]},
            {"name": "side", "image": "side:1"}
        ]}}}
    })
}

#[test]
fn merge_patch_semantics_for_maps() {
    let out = patched(
        deployment(),
        json!({"metadata": {"labels": {"a": null, "b": "2"}}, "spec": {"replicas": 3}}),
    );
    assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
    assert_eq!(out["spec"]["replicas"], 3);
}

#[test]
fn containers_merge_by_name() {
    let out = patched(
        deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}}),
    );
    let c = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(c.as_array().unwrap().len(), 2);
    assert_eq!(c[0]["image"], "app:2");
    assert_eq!(c[0]["args"], json!(["--a"]));
    assert_eq!(c[1]["image"], "side:1");
}

#[test]
fn nested_env_merges_and_deletes() {
    let out = patched(
        deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app",
            "env": [{"name": "Y", "$patch": "delete"}, {"name": "Z", "value": "3"}, {"name": "X", "value": "9"}]}]}}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "X", "value": "9"}, {"name": "Z", "value": "3"}])
    );
}

#[test]
fn ports_merge_by_container_port_and_primitive_lists_replace() {
    let out = patched(
        deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app",
            "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090}], "args": ["--b"]}]}}}}),
    );
    let app = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        app["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090}])
    );
    assert_eq!(app["args"], json!(["--b"]));
}

#[test]
fn list_replace_directive() {
    let out = patched(
        deployment(),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "o"}, {"$patch": "replace"}]}}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "only", "image": "o"}])
    );
}

#[test]
fn map_directives() {
    let out = patched(
        deployment(),
        json!({"metadata": {"labels": {"$patch": "replace", "z": "1"}}}),
    );
    assert_eq!(out["metadata"]["labels"], json!({"z": "1"}));
    let out = patched(
        deployment(),
        json!({"spec": {"template": {"$patch": "delete"}}}),
    );
    assert!(out["spec"].get("template").is_none());
    let out = patched(
        deployment(),
        json!({"spec": {"$retainKeys": ["replicas"], "replicas": 2}}),
    );
    assert_eq!(out["spec"], json!({"replicas": 2}));
    let out = patched(
        deployment(),
        json!({"metadata": {"$patch": "merge", "labels": {"c": "3"}}}),
    );
    assert_eq!(out["metadata"]["labels"], json!({"a": "1", "c": "3"}));
}

#[test]
fn primitive_list_directives() {
    let target = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let out = patched(
        target.clone(),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));
    let out = patched(target, json!({"metadata": {"finalizers": ["d", "a"]}}));
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["a", "b", "c", "d"]),
        "finalizers merge"
    );
}

#[test]
fn set_element_order_reorders_and_is_not_stored() {
    let out = patched(
        deployment(),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
            "containers": [{"name": "side", "image": "side:2"}]}}}}),
    );
    let c = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(c[0]["name"], "side");
    assert_eq!(c[0]["image"], "side:2");
    assert_eq!(c[1]["name"], "app");
    assert!(!out.to_string().contains('$'));
}

#[test]
fn directives_in_new_values_are_stripped() {
    let out = patched(
        json!({"data": {}}),
        json!({"spec": {"template": {"$patch": "merge", "x": {"y": null, "z": 1}},
                        "containers": [{"name": "a", "env": [{"name": "E", "value": "v"}, {"$patch": "replace"}]}]}}),
    );
    assert_eq!(
        out["spec"],
        json!({"template": {"x": {"z": 1}}, "containers": [{"name": "a", "env": [{"name": "E", "value": "v"}]}]})
    );
}

#[test]
fn unnamed_object_lists_replace() {
    let target = json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}});
    let out = patched(target, json!({"spec": {"tolerations": [{"key": "c"}]}}));
    assert_eq!(out["spec"]["tolerations"], json!([{"key": "c"}]));
    let target = json!({"spec": {"things": [{"name": "a", "v": 1}]}});
    let out = patched(target, json!({"spec": {"things": [{"name": "b", "v": 2}]}}));
    assert_eq!(
        out["spec"]["things"],
        json!([{"name": "a", "v": 1}, {"name": "b", "v": 2}]),
        "all named: merge"
    );
}

#[test]
fn errors() {
    let mut t = json!({});
    assert_eq!(
        strategic_merge_patch(&mut t, &json!([1])),
        Err(PatchError::NotAnObject)
    );
    assert_eq!(
        strategic_merge_patch(&mut t, &json!({"$patch": "delete"})),
        Err(PatchError::DeleteRoot)
    );
    let err = strategic_merge_patch(&mut t, &json!({"a": {"$patch": "explode"}})).unwrap_err();
    assert!(err.to_string().contains("explode"), "{err}");
    assert!(strategic_merge_patch(&mut t, &json!({"$bogus": 1})).is_err());
    assert!(strategic_merge_patch(&mut t, &json!({"$retainKeys": "x"})).is_err());
}

/// Arbitrary JSON without arrays and without `$` keys.
fn list_free_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i16>().prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        proptest::collection::btree_map("[a-d]", inner, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    })
}

proptest! {
    /// Without lists, a strategic merge patch is exactly RFC 7386.
    #[test]
    fn equals_json_merge_patch_without_lists(target in list_free_json(), patch in list_free_json()) {
        prop_assume!(patch.is_object());
        let mut ours = target.clone();
        strategic_merge_patch(&mut ours, &patch).unwrap();
        let mut reference = target;
        json_patch::merge(&mut reference, &patch);
        prop_assert_eq!(ours, reference);
    }
}
