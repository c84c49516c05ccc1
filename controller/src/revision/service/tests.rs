use crds::{Container, RevisionSpec};
use k8s_openapi::api::core::v1::ContainerPort;

use super::*;
use crate::labels::{CONFIGURATION_LABEL, REVISION_UID_LABEL};

fn revision(ports: Option<Vec<ContainerPort>>) -> Revision {
    let mut rev = Revision::new(
        "hello-00001",
        RevisionSpec {
            containers: vec![Container {
                command: Some(vec!["hello".into()]),
                ports,
                ..Container::default()
            }],
            ..RevisionSpec::default()
        },
    );
    rev.metadata.namespace = Some("default".into());
    rev.metadata.uid = Some("rev-uid".into());
    rev.metadata.labels = Some(BTreeMap::from([(
        CONFIGURATION_LABEL.to_owned(),
        "hello".to_owned(),
    )]));
    rev
}

fn port(name: Option<&str>, number: i32) -> Option<Vec<ContainerPort>> {
    Some(vec![ContainerPort {
        name: name.map(str::to_owned),
        container_port: number,
        ..ContainerPort::default()
    }])
}

fn only_port(svc: &Service) -> &ServicePort {
    &svc.spec.as_ref().unwrap().ports.as_ref().unwrap()[0]
}

#[test]
fn selects_the_revision_pods_owned_and_labelled_as_knative_does() {
    let svc = make_service(&revision(None));
    assert_eq!(svc.metadata.name.as_deref(), Some("hello-00001"));
    assert_eq!(svc.metadata.namespace.as_deref(), Some("default"));
    let owner = &svc.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("Revision", "rev-uid", Some(true))
    );
    let labels = svc.labels();
    assert_eq!(labels[REVISION_LABEL], "hello-00001");
    assert_eq!(labels[REVISION_UID_LABEL], "rev-uid");
    assert_eq!(labels[CONFIGURATION_LABEL], "hello");
    let spec = svc.spec.as_ref().unwrap();
    assert_eq!(
        spec.selector,
        Some(BTreeMap::from([(
            REVISION_LABEL.to_owned(),
            "hello-00001".to_owned()
        )]))
    );
    assert_eq!(spec.cluster_ip, None, "no cluster IP is asked for");
}

#[test]
fn the_port_follows_the_protocol_and_targets_the_user_port() {
    let p = only_port(&make_service(&revision(None))).clone();
    assert_eq!(
        (p.name.as_deref(), p.port, p.target_port),
        (Some("http"), 80, Some(IntOrString::Int(8080))),
        "Knative's default user port"
    );
    let p = only_port(&make_service(&revision(port(Some("http1"), 9000)))).clone();
    assert_eq!(
        (p.name.as_deref(), p.port, p.target_port),
        (Some("http"), 80, Some(IntOrString::Int(9000)))
    );
    let p = only_port(&make_service(&revision(port(Some("h2c"), 9001)))).clone();
    assert_eq!(
        (p.name.as_deref(), p.port, p.target_port),
        (Some("http2"), 81, Some(IntOrString::Int(9001)))
    );
}

#[test]
fn drift_ignores_server_defaults_but_not_a_changed_selector() {
    let desired = make_service(&revision(None));
    let mut existing = desired.clone();
    let spec = existing.spec.as_mut().unwrap();
    spec.session_affinity = Some("None".into());
    spec.ports.as_mut().unwrap()[0].protocol = Some("TCP".into());
    existing
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("added-by".into(), "someone".into());
    assert!(!drifted(&desired, &existing));
    existing.spec.as_mut().unwrap().selector = Some(BTreeMap::new());
    assert!(drifted(&desired, &existing));
}
