//! Property tests: apply idempotence and ownership bookkeeping.

use super::*;
use proptest::prelude::*;

const T0: &str = "2024-05-01T12:00:00Z";
const T1: &str = "2024-05-01T12:05:00Z";

fn config_strategy() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        any::<i32>().prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::from)
    ];
    let env = proptest::collection::btree_map("[A-C]", "[x-z]", 0..3).prop_map(|m| {
        Value::Array(
            m.into_iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect(),
        )
    });
    (
        proptest::collection::btree_map("[a-c]", scalar, 0..3),
        proptest::collection::btree_map("[a-c]", "[x-z]", 0..3),
        env,
        proptest::collection::vec("[a-b]", 0..3),
    )
        .prop_map(|(spec, labels, env, args)| {
            let mut spec: serde_json::Map<String, Value> = spec.into_iter().collect();
            spec.insert("env".into(), env);
            spec.insert("args".into(), json!(args));
            json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t", "labels": labels}, "spec": spec})
        })
}

proptest! {
    /// Applying the same configuration twice changes nothing, time included.
    #[test]
    fn apply_is_idempotent(a in config_strategy(), b in config_strategy()) {
        let first = apply(None, &a, "m", false, T0).unwrap();
        let again = apply(Some(&first), &a, "m", false, T1).unwrap();
        prop_assert_eq!(&again, &first);
        let moved = apply(Some(&first), &b, "m", false, T1).unwrap();
        let moved_again = apply(Some(&moved), &b, "m", false, T1).unwrap();
        prop_assert_eq!(&moved_again, &moved);
    }

    /// A sole applier's object ends up exactly as its latest configuration.
    #[test]
    fn sole_applier_gets_its_config(a in config_strategy(), b in config_strategy()) {
        let first = apply(None, &a, "m", false, T0).unwrap();
        let next = apply(Some(&first), &b, "m", false, T1).unwrap();
        let strip = |v: &Value| {
            let mut v = without_managed_fields(v);
            for m in ["labels"] {
                if v["metadata"][m] == json!({}) { v["metadata"].as_object_mut().unwrap().remove(m); }
            }
            v
        };
        prop_assert_eq!(strip(&next)["spec"].clone(), strip(&b)["spec"].clone());
        prop_assert_eq!(strip(&next)["metadata"]["labels"].clone(), strip(&b)["metadata"]["labels"].clone());
    }

    /// Update records always decode back to a superset-free partition: no
    /// field is owned by two Update managers after successive updates.
    #[test]
    fn updates_partition_ownership(a in config_strategy(), b in config_strategy()) {
        let mut first = a.clone();
        record_update(None, &mut first, "one", "v1", None, T0);
        let mut second = b.clone();
        second["metadata"]["managedFields"] = first["metadata"]["managedFields"].clone();
        record_update(Some(&first), &mut second, "two", "v1", None, T1);
        let sets: Vec<FieldSet> = managed::entries_of(Some(&second)).into_iter().map(|e| e.set).collect();
        if let [x, y] = sets.as_slice() {
            prop_assert!(x.intersection(y).is_empty());
        }
        let all = sets.iter().fold(FieldSet::default(), |acc, s| acc.union(s));
        prop_assert_eq!(all, tracked(&second, None));
    }
}
