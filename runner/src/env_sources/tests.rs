use super::*;

fn container(value: serde_json::Value) -> Container {
    serde_json::from_value(value).unwrap()
}

fn sources() -> EnvSources {
    let mut s = EnvSources::default();
    s.config_maps.insert(
        "cfg".into(),
        BTreeMap::from([("A".into(), "from-cm".into()), ("B".into(), "b".into())]),
    );
    s.secrets.insert(
        "sec".into(),
        BTreeMap::from([("token".into(), "s3cret".into())]),
    );
    s
}

#[test]
fn env_from_then_env_later_wins() {
    let c = container(serde_json::json!({
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "sec"}, "prefix": "S_"}],
        "env": [
            {"name": "A", "value": "literal"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "token"}}},
            {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "B"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ],
    }));
    assert_eq!(
        references(&c),
        References {
            config_maps: BTreeSet::from(["cfg".into()]),
            secrets: BTreeSet::from(["sec".into()]),
        }
    );
    let env = resolve(&c, &sources(), "p", "ns").unwrap();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("A", "literal"),
            ("B", "b"),
            ("S_token", "s3cret"),
            ("TOKEN", "s3cret"),
            ("FROM_CM", "b"),
            ("POD", "ns"),
        ]
    );
}

#[test]
fn missing_required_refs_fail_and_optional_ones_are_skipped() {
    let missing = container(serde_json::json!({
        "name": "c",
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}],
    }));
    assert_eq!(
        resolve(&missing, &sources(), "p", "ns"),
        Err(EnvError::ConfigMapNotFound("nope".into()))
    );
    let missing_key = container(serde_json::json!({
        "name": "c",
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k"}}}],
    }));
    let err = resolve(&missing_key, &sources(), "p", "ns").unwrap_err();
    assert_eq!(err.to_string(), "couldn't find key k in Secret sec");
    let optional = container(serde_json::json!({
        "name": "c",
        "envFrom": [{"secretRef": {"name": "gone", "optional": true}}],
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k", "optional": true}}}],
    }));
    assert_eq!(resolve(&optional, &sources(), "p", "ns"), Ok(vec![]));
}
