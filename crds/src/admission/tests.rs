use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn hello() -> Value {
    json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {
            "name": "hello", "namespace": "default", "uid": "1234", "resourceVersion": "7",
            "generation": 2, "creationTimestamp": "2025-01-02T03:04:05Z",
            "finalizers": ["serving.knative.dev/x"],
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "serving.knative.dev/v1",
                               "time": "2025-01-02T03:04:05Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}],
            "ownerReferences": [{"apiVersion": "v1", "kind": "Namespace", "name": "default", "uid": "9"}]
        },
        "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/x/hello", "env": [{"name": "TARGET", "value": "world"}]}]}}}
    })
}

#[test]
fn admit_defaults_and_keeps_metadata() {
    let mut obj = hello();
    admit(ServingKind::Service, &mut obj, None).unwrap();
    assert_eq!(obj["metadata"], hello()["metadata"]);
    assert_eq!(obj["spec"]["template"]["spec"]["timeoutSeconds"], 300);
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["name"],
        "user-container"
    );
    assert_eq!(
        obj["spec"]["traffic"],
        json!([{"latestRevision": true, "percent": 100}])
    );
    assert_eq!(obj["apiVersion"], "serving.knative.dev/v1");
    assert_eq!(obj["kind"], "Service");
}

#[test]
fn admit_keeps_status() {
    let status = json!({
        "observedGeneration": 2,
        "conditions": [{"type": "Ready", "status": "False", "severity": "", "reason": "RevisionFailed",
                        "message": "boom", "lastTransitionTime": "2025-01-02T03:04:05Z"}],
        "latestCreatedRevisionName": "hello-00002", "latestReadyRevisionName": "hello-00001",
        "url": "http://hello.default.example.com",
        "address": {"url": "http://hello.default.svc.cluster.local"},
        "traffic": [{"revisionName": "hello-00001", "latestRevision": true, "percent": 100}]
    });
    let mut obj = hello();
    obj["status"] = status.clone();
    admit(ServingKind::Service, &mut obj, None).unwrap();
    assert_eq!(obj["status"], status);
}

#[test]
fn admit_reports_shape_errors_by_path() {
    let mut obj = hello();
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"containerPort": "eighty"}]);
    let before = obj.clone();
    let errs = admit(ServingKind::Service, &mut obj, None).unwrap_err();
    assert_eq!(
        errs[0].field,
        "spec.template.spec.containers[0].ports[0].containerPort"
    );
    assert!(
        errs[0].message.contains("invalid type"),
        "{}",
        errs[0].message
    );
    assert_eq!(obj, before, "obj is untouched on error");
}

#[test]
fn admit_refuses_wrong_kind() {
    let mut obj = hello();
    let errs = admit(ServingKind::Route, &mut obj, None).unwrap_err();
    assert_eq!(errs[0].field, "kind");
}

#[test]
fn admit_validates_updates_against_old() {
    let mut old = hello();
    old["spec"]["template"]["metadata"] = json!({"name": "hello-v1"});
    admit(ServingKind::Service, &mut old, None).unwrap();
    let mut new = old.clone();
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("ghcr.io/x/hello:2");
    let errs = admit(ServingKind::Service, &mut new, Some(&old)).unwrap_err();
    assert_eq!(errs[0].field, "spec.template.metadata.name");
}

#[test]
fn prune_drops_unknown_fields_without_defaulting() {
    let mut obj = hello();
    obj["spec"]["bogus"] = json!(1);
    let pruned = prune(ServingKind::Service, &obj).unwrap();
    assert!(pruned["spec"].get("bogus").is_none());
    assert!(pruned["spec"].get("traffic").is_none());
    assert_eq!(pruned["metadata"]["uid"], "1234");
}

#[test]
fn every_kind_admits_a_minimal_object() {
    let objs = [
        (
            ServingKind::Configuration,
            json!({"metadata": {"name": "c"}, "spec": {"template": {"spec": {"containers": [{"image": "a"}]}}}}),
        ),
        (
            ServingKind::Revision,
            json!({"metadata": {"name": "c-00001"}, "spec": {"containers": [{"command": ["./f"]}]}}),
        ),
        (
            ServingKind::Route,
            json!({"metadata": {"name": "r"}, "spec": {"traffic": [{"configurationName": "c", "percent": 100}]}}),
        ),
    ];
    for (kind, mut obj) in objs {
        admit(kind, &mut obj, None).unwrap_or_else(|e| panic!("{kind:?}: {e:?}"));
        assert_eq!(obj["kind"], kind.kind());
    }
}

fn service_with_traffic(percents: &[i64]) -> Value {
    let mut obj = hello();
    let traffic: Vec<Value> = percents
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                json!({"percent": p})
            } else {
                json!({"percent": p, "revisionName": format!("hello-{i:05}")})
            }
        })
        .collect();
    obj["spec"]["traffic"] = Value::Array(traffic);
    obj
}

proptest! {
    #[test]
    fn traffic_not_summing_to_100_is_refused(percents in prop::collection::vec(0i64..=100, 1..6)) {
        let sum: i64 = percents.iter().sum();
        prop_assume!(sum != 100);
        let mut obj = service_with_traffic(&percents);
        let errs = admit(ServingKind::Service, &mut obj, None).unwrap_err();
        let want = format!("spec.traffic: traffic percentages must sum to 100, got {sum}");
        prop_assert!(errs.iter().any(|e| e.to_string() == want), "{:?}", errs);
    }

    #[test]
    fn admit_is_idempotent(
        percents in prop::collection::vec(0i64..=100, 1..4),
        cc in prop::option::of(0i64..=1000),
        timeout in prop::option::of(0i64..=600),
        containers in 1usize..3,
    ) {
        let mut obj = service_with_traffic(&percents);
        let last = percents.len() - 1;
        obj["spec"]["traffic"][last]["percent"] = json!(100 - percents[..last].iter().sum::<i64>().min(100));
        let spec = &mut obj["spec"]["template"]["spec"];
        if let Some(cc) = cc { spec["containerConcurrency"] = json!(cc); }
        if let Some(t) = timeout { spec["timeoutSeconds"] = json!(t); }
        let mut list = vec![json!({"image": "a", "ports": [{"containerPort": 8080}]})];
        list.extend((1..containers).map(|_| json!({"image": "sidecar"})));
        spec["containers"] = Value::Array(list);
        if admit(ServingKind::Service, &mut obj, None).is_ok() {
            let once = obj.clone();
            admit(ServingKind::Service, &mut obj, None).unwrap();
            prop_assert_eq!(&obj, &once);
            // And re-admitting as an update of itself is accepted unchanged too.
            let mut again = once.clone();
            admit(ServingKind::Service, &mut again, Some(&once)).unwrap();
            prop_assert_eq!(again, once);
        }
    }

    #[test]
    fn revision_name_is_a_short_stable_dns_label(config in "[a-z]([-a-z0-9]{0,80}[a-z0-9])?", generation in 1i64..1_000_000) {
        let name = crate::revision_name(&config, generation);
        prop_assert!(name.len() <= 63);
        prop_assert_eq!(&name, &crate::revision_name(&config, generation));
        prop_assert!(crate::validation::names::dns1035_label(&name, false).is_none(), "{}", name);
        let plain = format!("{config}-{generation:05}");
        if plain.len() <= 63 {
            prop_assert_eq!(name, plain);
        }
    }
}
