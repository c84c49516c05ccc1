use super::*;

fn now() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().unwrap()
}

fn ksvc_columns() -> Vec<PrinterColumn> {
    let version = json!({"name": "v1", "additionalPrinterColumns": [
        {"name": "URL", "type": "string", "jsonPath": ".status.url"},
        {"name": "LatestCreated", "type": "string", "jsonPath": ".status.latestCreatedRevisionName"},
        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
        {"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].reason"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas", "priority": 1},
        {"name": "Created", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    ]});
    PrinterColumn::for_crd_version(&version)
}

fn ksvc() -> Value {
    json!({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "hello", "namespace": "default", "uid": "u1",
                     "creationTimestamp": "2024-05-01T11:54:57Z", "resourceVersion": "7"},
        "spec": {"replicas": 3},
        "status": {"url": "http://hello.default.example.com",
                   "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

#[test]
fn crd_table_wire_format() {
    let obj = ksvc();
    let t = to_table(
        &ksvc_columns(),
        &[&obj],
        "Metadata",
        json!({"resourceVersion": "9"}),
        now(),
    );
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["metadata"], json!({"resourceVersion": "9"}));
    let defs = t["columnDefinitions"].as_array().unwrap();
    assert_eq!(defs[0]["name"], "Name");
    assert_eq!(defs[0]["format"], "name");
    assert_eq!(defs[0]["type"], "string");
    assert_eq!(defs[5]["priority"], 1);
    assert_eq!(defs.len(), 7);
    let row = &t["rows"][0];
    assert_eq!(
        row["cells"],
        json!([
            "hello",
            "http://hello.default.example.com",
            null,
            "True",
            null,
            3,
            "5m3s"
        ])
    );
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(row["object"]["metadata"]["uid"], "u1");
}

#[test]
fn include_object_variants() {
    let obj = ksvc();
    let none = to_table(&[], &[&obj], "None", Value::Null, now());
    assert_eq!(none["rows"][0]["object"], Value::Null);
    assert_eq!(none["metadata"], json!({}));
    let full = to_table(&[], &[&obj], "Object", json!({}), now());
    assert_eq!(full["rows"][0]["object"], obj);
    let empty = to_table(&[], &[], "Metadata", json!({}), now());
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["columnDefinitions"].as_array().unwrap().len(), 1);
}

#[test]
fn crd_without_columns_gets_age() {
    let cols = PrinterColumn::for_crd_version(&json!({"name": "v1"}));
    assert_eq!(cols, vec![PrinterColumn::age()]);
    let obj = ksvc();
    let t = to_table(&cols, &[&obj], "Metadata", json!({}), now());
    assert_eq!(t["rows"][0]["cells"], json!(["hello", "5m3s"]));
}

#[test]
fn typed_cells_follow_cell_for_json_value() {
    let obj = json!({"metadata": {"name": "x"}, "spec": {"n": 2.7, "b": true, "s": "str", "m": {"a": 1}, "l": ["p", "q"], "d": "garbage"}});
    let col = |ty: &str, path: &str| PrinterColumn::new("c", ty, path, "");
    let cols = vec![
        col("integer", ".spec.n"),
        col("number", ".spec.n"),
        col("boolean", ".spec.b"),
        col("boolean", ".spec.s"),
        col("string", ".spec.m"),
        col("string", ".spec.l"),
        col("date", ".spec.d"),
        col("string", "not a path"),
    ];
    let t = to_table(&cols, &[&obj], "None", json!({}), now());
    assert_eq!(
        t["rows"][0]["cells"],
        json!([
            "x",
            2,
            2.7,
            true,
            null,
            "map[a:1]",
            "[p q]",
            "<invalid>",
            null
        ])
    );
}

#[test]
fn configmap_and_secret_columns() {
    let cm = json!({"metadata": {"name": "cfg", "creationTimestamp": "2024-04-28T12:00:00Z"},
                    "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    let t = to_table(
        &builtin_columns("configmaps"),
        &[&cm],
        "None",
        json!({}),
        now(),
    );
    assert_eq!(t["rows"][0]["cells"], json!(["cfg", 3, "3d"]));
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Name", "Data", "Age"]);

    let secret = json!({"metadata": {"name": "s"}, "type": "Opaque"});
    let t = to_table(
        &builtin_columns("secrets"),
        &[&secret],
        "None",
        json!({}),
        now(),
    );
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["s", "Opaque", 0, "<unknown>"])
    );
}

#[test]
fn deployment_and_namespace_columns() {
    let dep = json!({
        "metadata": {"name": "d", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"spec": {"containers": [{"name": "a", "image": "i:1"}, {"name": "b", "image": "i:2"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3}
    });
    let t = to_table(
        &builtin_columns("deployments"),
        &[&dep],
        "None",
        json!({}),
        now(),
    );
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["d", "2/3", 3, 0, "60m", "a,b", "i:1,i:2", "app=d"])
    );
    let ns = json!({"metadata": {"name": "default", "creationTimestamp": "2024-05-01T11:59:30Z"}, "status": {"phase": "Active"}});
    let t = to_table(
        &builtin_columns("namespaces"),
        &[&ns],
        "None",
        json!({}),
        now(),
    );
    assert_eq!(t["rows"][0]["cells"], json!(["default", "Active", "30s"]));
    let t = to_table(
        &builtin_columns("widgets"),
        &[&ns],
        "None",
        json!({}),
        now(),
    );
    assert_eq!(t["rows"][0]["cells"], json!(["default", "30s"]));
}

#[test]
fn service_and_event_columns() {
    let svc = json!({
        "metadata": {"name": "hello-00001", "creationTimestamp": "2024-05-01T11:59:00Z"},
        "spec": {"type": "ClusterIP", "selector": {"serving.knative.dev/revision": "hello-00001"},
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}
    });
    let t = to_table(
        &builtin_columns("services"),
        &[&svc],
        "None",
        json!({}),
        now(),
    );
    assert_eq!(
        t["rows"][0]["cells"],
        json!([
            "hello-00001",
            "ClusterIP",
            null,
            "80/TCP",
            "60s",
            "serving.knative.dev/revision=hello-00001"
        ])
    );
    let event = json!({
        "metadata": {"name": "hello.17d", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "involvedObject": {"kind": "Revision", "name": "hello-00001"},
        "type": "Normal", "reason": "RevisionReady", "message": "ready",
        "lastTimestamp": "2024-05-01T11:59:50Z"
    });
    let t = to_table(
        &builtin_columns("events"),
        &[&event],
        "None",
        json!({}),
        now(),
    );
    assert_eq!(
        t["rows"][0]["cells"],
        json!([
            "hello.17d",
            "10s",
            "Normal",
            "RevisionReady",
            "revision/hello-00001",
            "ready"
        ])
    );
}
