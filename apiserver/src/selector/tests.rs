use super::*;
use proptest::prelude::*;
use serde_json::json;

fn labels(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap()
}

#[test]
fn empty_selector_matches_everything() {
    let s = sel("");
    assert!(s.is_empty());
    assert!(s.matches(None));
    assert!(s.matches(Some(&labels(json!({"a": "b"})))));
    assert!(sel("   ").is_empty());
}

#[test]
fn full_grammar_from_the_brief() {
    let s = sel("app=x,tier!=db,env in (a,b),env notin (c),has,!gone,k==v");
    let mut l = labels(json!({"app": "x", "tier": "web", "env": "a", "has": "", "k": "v"}));
    assert!(s.matches(Some(&l)));
    l.insert("gone".into(), json!("1"));
    assert!(!s.matches(Some(&l)));
    l.remove("gone");
    l.insert("tier".into(), json!("db"));
    assert!(!s.matches(Some(&l)));
    l.insert("tier".into(), json!("web"));
    l.insert("env".into(), json!("c"));
    assert!(!s.matches(Some(&l)));
}

#[test]
fn not_equal_and_notin_match_absent_keys() {
    assert!(sel("tier!=db").matches(None));
    assert!(sel("tier notin (db)").matches(Some(&labels(json!({})))));
    assert!(!sel("tier=db").matches(None));
    assert!(!sel("tier in (db)").matches(None));
}

#[test]
fn whitespace_is_tolerated() {
    let s = sel("  app = x ,  env  in  ( a , b ) , ! gone ");
    assert!(s.matches(Some(&labels(json!({"app": "x", "env": "b"})))));
}

#[test]
fn empty_value_is_allowed() {
    let s = sel("app=");
    assert!(s.matches(Some(&labels(json!({"app": ""})))));
    assert!(!s.matches(Some(&labels(json!({"app": "x"})))));
    assert!(sel("app in ()").matches(Some(&labels(json!({"app": ""})))));
}

#[test]
fn prefixed_keys() {
    let s = sel("app.kubernetes.io/name=web,serving.knative.dev/service");
    let l = labels(json!({"app.kubernetes.io/name": "web", "serving.knative.dev/service": "s"}));
    assert!(s.matches(Some(&l)));
}

#[test]
fn numeric_comparisons() {
    let l = labels(json!({"n": "5"}));
    assert!(sel("n>3").matches(Some(&l)));
    assert!(!sel("n>5").matches(Some(&l)));
    assert!(sel("n<6").matches(Some(&l)));
    assert!(!sel("n<3").matches(None));
    assert!(LabelSelector::parse("n>x").is_err());
}

#[test]
fn malformed_selectors_are_errors_naming_the_problem() {
    for bad in [
        "app=x,",
        ",app",
        "app in (a",
        "app in a",
        "app x",
        "!app=x",
        "=x",
        "app=x=y",
        "-bad=x",
        "app=has space",
        "app=-x",
        "UPPER.example.com/x=y",
    ] {
        let err = LabelSelector::parse(bad).expect_err(bad);
        assert!(
            err.to_string().starts_with("unable to parse requirement"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn long_values_are_rejected() {
    let long = "a".repeat(64);
    assert!(LabelSelector::parse(&format!("app={long}")).is_err());
    assert!(LabelSelector::parse(&format!("app={}", &long[..63])).is_ok());
}

#[test]
fn field_selector_basics() {
    let obj = json!({"metadata": {"name": "web", "namespace": "default"}});
    let f = FieldSelector::parse("metadata.name=web,metadata.namespace!=kube-system").unwrap();
    assert!(f.matches(&obj));
    assert_eq!(f.pinned_name(), Some("web"));
    assert_eq!(f.pinned_namespace(), None);
    let f = FieldSelector::parse("metadata.name==other").unwrap();
    assert!(!f.matches(&obj));
    assert_eq!(f.pinned_name(), Some("other"));
    let f = FieldSelector::parse("metadata.name!=web").unwrap();
    assert!(!f.matches(&obj));
    assert_eq!(f.pinned_name(), None);
    assert!(FieldSelector::parse("").unwrap().matches(&obj));
}

#[test]
fn field_selector_errors() {
    let err = FieldSelector::parse("spec.replicas=1").unwrap_err();
    assert_eq!(err.to_string(), "field label not supported: spec.replicas");
    let err = FieldSelector::parse("metadata.name").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
    );
}

#[test]
fn field_selector_escapes_and_resource_fields() {
    let obj = json!({"type": "a,b", "metadata": {"name": "n"}});
    let f = FieldSelector::parse_for(r"type=a\,b", "", "secrets").unwrap();
    assert!(f.matches(&obj));
    let err = FieldSelector::parse_for("type=x", "", "configmaps").unwrap_err();
    assert_eq!(err.to_string(), "field label not supported: type");
}

/// What `kubectl describe` sends for an object's events, and the fields whose
/// path is not their name or whose absence is not "".
#[test]
fn event_and_pod_fields() {
    let event = json!({
        "metadata": {"name": "hello.1", "namespace": "default"},
        "involvedObject": {"kind": "Service", "namespace": "default", "name": "hello", "uid": "u-1"},
        "source": {"component": "fnmesh-controller"},
        "type": "Normal",
    });
    let describe = "involvedObject.name=hello,involvedObject.namespace=default,\
                    involvedObject.kind=Service,involvedObject.uid=u-1";
    let f = FieldSelector::parse_for(describe, "", "events").unwrap();
    assert!(f.matches(&event));
    let other_uid = FieldSelector::parse_for("involvedObject.uid=u-2", "", "events").unwrap();
    assert!(
        !other_uid.matches(&event),
        "a re-created object's events are not its"
    );
    let f = FieldSelector::parse_for("source=fnmesh-controller,type!=Warning", "", "events");
    assert!(f.unwrap().matches(&event), "source reads source.component");
    let f = FieldSelector::parse_for("involvedObject.fieldPath=", "", "events").unwrap();
    assert!(f.matches(&event), "a missing string field reads as empty");
    assert!(FieldSelector::parse("involvedObject.name=hello").is_err());

    let pod = json!({"spec": {"nodeName": "n1"}});
    let f = FieldSelector::parse_for("spec.nodeName=n1,spec.hostNetwork=false", "", "pods");
    assert!(f.unwrap().matches(&pod), "a missing bool reads as false");
}

fn key_strategy() -> impl Strategy<Value = String> {
    "[a-c]"
}

fn value_strategy() -> impl Strategy<Value = String> {
    "[x-z]{0,2}"
}

proptest! {
    /// An equality selector built from an object's own labels always matches it,
    /// and a selector pinning a different value never does.
    #[test]
    fn equality_selector_from_labels_matches(
        pairs in proptest::collection::btree_map(key_strategy(), value_strategy(), 0..3),
    ) {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let s = LabelSelector::parse(&text.join(",")).unwrap();
        let l: Map<String, Value> = pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        prop_assert!(s.matches(Some(&l)));
        for (k, v) in &pairs {
            let other = LabelSelector::parse(&format!("{k}={v}q")).unwrap();
            prop_assert!(!other.matches(Some(&l)));
            let neg = LabelSelector::parse(&format!("{k}!={v}")).unwrap();
            prop_assert!(!neg.matches(Some(&l)));
        }
    }

    /// `k in (set)` agrees with set membership and `notin` is its complement.
    #[test]
    fn in_and_notin_are_complements(
        key in key_strategy(),
        set in proptest::collection::vec("[x-z]{1,2}", 1..4),
        have in proptest::option::of("[x-z]{1,2}"),
    ) {
        let list = set.join(",");
        let in_sel = LabelSelector::parse(&format!("{key} in ({list})")).unwrap();
        let notin_sel = LabelSelector::parse(&format!("{key} notin ({list})")).unwrap();
        let l: Map<String, Value> = have.iter().map(|v| (key.clone(), json!(v))).collect();
        prop_assert_eq!(in_sel.matches(Some(&l)), have.as_ref().is_some_and(|h| set.contains(h)));
        prop_assert_eq!(notin_sel.matches(Some(&l)), !in_sel.matches(Some(&l)));
    }

    /// Parsing never panics on arbitrary input.
    #[test]
    fn parse_never_panics(s in "[a-z!=,() <>/.\\\\-]{0,20}") {
        let _ = LabelSelector::parse(&s);
        let _ = FieldSelector::parse(&s);
    }
}
