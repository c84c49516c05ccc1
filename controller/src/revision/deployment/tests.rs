use crds::RevisionSpec;
use k8s_openapi::api::core::v1::ContainerPort;
use proptest::prelude::*;

use super::*;

fn revision(annotations: &[(&str, &str)]) -> Revision {
    let mut rev = Revision::new(
        "hello-00001",
        RevisionSpec {
            containers: vec![Container {
                name: Some("user-container".into()),
                command: Some(vec!["python3".into(), "app.py".into()]),
                env: Some(vec![var("TARGET", "world")]),
                ..Container::default()
            }],
            timeout_seconds: Some(300),
            ..RevisionSpec::default()
        },
    );
    rev.metadata.namespace = Some("default".into());
    rev.metadata.uid = Some("rev-uid".into());
    rev.metadata.labels = Some(BTreeMap::from([
        (CONFIGURATION_LABEL.to_string(), "hello".to_string()),
        (SERVICE_LABEL.to_string(), "hello".to_string()),
        (
            "serving.knative.dev/configurationGeneration".to_string(),
            "1".to_string(),
        ),
    ]));
    rev.metadata.annotations = Some(
        annotations
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    );
    rev
}

fn env_of(d: &Deployment) -> BTreeMap<String, String> {
    d.spec.template.spec.as_ref().unwrap().containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn follows_the_serving_contract() {
    let d = make_deployment(&revision(&[]));
    assert_eq!(d.metadata.name.as_deref(), Some("hello-00001-deployment"));
    assert_eq!(d.metadata.namespace.as_deref(), Some("default"));
    let owner = &d.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(owner.kind, "Revision");
    assert_eq!(owner.name, "hello-00001");
    assert_eq!(owner.controller, Some(true));
    assert_eq!(owner.block_owner_deletion, Some(true));

    let pod_meta = d.spec.template.metadata.as_ref().unwrap();
    for labels in [
        d.metadata.labels.as_ref().unwrap(),
        pod_meta.labels.as_ref().unwrap(),
    ] {
        assert_eq!(labels["app"], "hello-00001");
        assert_eq!(labels[REVISION_LABEL], "hello-00001");
        assert_eq!(labels[REVISION_UID_LABEL], "rev-uid");
        assert_eq!(labels[CONFIGURATION_LABEL], "hello");
        assert_eq!(labels[SERVICE_LABEL], "hello");
        assert_eq!(labels["serving.knative.dev/configurationGeneration"], "1");
    }
    assert_eq!(
        d.spec.selector.match_labels,
        Some(BTreeMap::from([(
            REVISION_UID_LABEL.to_string(),
            "rev-uid".to_string()
        )]))
    );
    assert_eq!(
        pod_meta.annotations.as_ref().unwrap()[TIMEOUT_SECONDS_ANNOTATION],
        "300"
    );
    assert_eq!(d.spec.replicas, Some(1));

    let env = env_of(&d);
    assert_eq!(env["TARGET"], "world");
    assert_eq!(env["PORT"], "8080");
    assert_eq!(env["K_SERVICE"], "hello");
    assert_eq!(env["K_CONFIGURATION"], "hello");
    assert_eq!(env["K_REVISION"], "hello-00001");
    let c = &d.spec.template.spec.as_ref().unwrap().containers[0];
    assert_eq!(c.command.as_deref().unwrap(), ["python3", "app.py"]);
}

#[test]
fn port_comes_from_the_container() {
    let mut rev = revision(&[]);
    rev.spec.containers[0].ports = Some(vec![ContainerPort {
        container_port: 9000,
        name: Some("h2c".into()),
        ..ContainerPort::default()
    }]);
    rev.metadata.labels.as_mut().unwrap().remove(SERVICE_LABEL);
    let d = make_deployment(&rev);
    let env = env_of(&d);
    assert_eq!(env["PORT"], "9000");
    assert!(!env.contains_key("K_SERVICE"), "no Service, no K_SERVICE");
    let c = &d.spec.template.spec.as_ref().unwrap().containers[0];
    assert_eq!(c.ports.as_ref().unwrap()[0].name.as_deref(), Some("h2c"));
}

#[test]
fn replicas_follow_scale_annotations() {
    let replicas = |a: &[(&str, &str)]| make_deployment(&revision(a)).spec.replicas;
    assert_eq!(replicas(&[(INITIAL_SCALE_ANNOTATION, "3")]), Some(3));
    assert_eq!(replicas(&[(MIN_SCALE_ANNOTATION, "2")]), Some(2));
    assert_eq!(
        replicas(&[(INITIAL_SCALE_ANNOTATION, "2"), (MIN_SCALE_ANNOTATION, "5")]),
        Some(5)
    );
    assert_eq!(
        replicas(&[("autoscaling.knative.dev/minScale", "4")]),
        Some(4)
    );
}

#[test]
fn drift_ignores_replicas_and_extra_labels() {
    let desired = make_deployment(&revision(&[]));
    let mut existing = desired.clone();
    existing.spec.replicas = Some(7);
    existing
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("added-by".into(), "someone".into());
    assert!(!drifted(&desired, &existing));
    existing.spec.template.spec.as_mut().unwrap().containers[0].env = None;
    assert!(drifted(&desired, &existing));
}

proptest! {
    #[test]
    fn replicas_are_max_of_initial_and_min(initial in 1i32..50, min in 0i32..50) {
        let mut a = BTreeMap::new();
        a.insert(INITIAL_SCALE_ANNOTATION.to_string(), initial.to_string());
        a.insert(MIN_SCALE_ANNOTATION.to_string(), min.to_string());
        prop_assert_eq!(initial_replicas(&a), initial.max(min));
    }
}
