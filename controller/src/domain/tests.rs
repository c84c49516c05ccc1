use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use kube::runtime::watcher::Event;

use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn config(pairs: &[(&str, &str)]) -> DomainConfig {
    DomainConfig::from_data(&map(pairs)).unwrap()
}

fn config_map(pairs: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(CONFIG_MAP_NAME.into()),
            namespace: Some(CONFIG_MAP_NAMESPACE.into()),
            ..ObjectMeta::default()
        },
        data: Some(map(pairs)),
        ..ConfigMap::default()
    }
}

#[test]
fn no_configuration_means_example_com() {
    assert_eq!(
        domain_for(&DomainConfig::default(), &map(&[])),
        "example.com"
    );
    assert_eq!(
        domain_for(&config(&[]), &map(&[("app", "x")])),
        "example.com"
    );
}

#[test]
fn a_selectorless_key_replaces_the_default() {
    let c = config(&[("fnmesh.test", "")]);
    assert_eq!(domain_for(&c, &map(&[])), "fnmesh.test");
}

#[test]
fn the_example_key_is_ignored() {
    let c = config(&[("_example", "not: [valid")]);
    assert_eq!(c, DomainConfig::default());
}

#[test]
fn the_most_specific_matching_selector_wins() {
    let c = config(&[
        ("prod.domain.com", "selector:\n  app: prod\n"),
        (
            "v2.staging.domain.com",
            "selector:\n  app: staging\n  version: v2\n",
        ),
        ("staging.domain.com", "selector:\n  app: staging\n"),
        ("default.domain.com", ""),
    ]);
    let labels = |pairs: &[(&str, &str)]| map(pairs);
    assert_eq!(
        domain_for(&c, &labels(&[("app", "prod")])),
        "prod.domain.com"
    );
    assert_eq!(
        domain_for(&c, &labels(&[("app", "staging"), ("version", "v2")])),
        "v2.staging.domain.com"
    );
    assert_eq!(
        domain_for(&c, &labels(&[("app", "staging"), ("version", "v3")])),
        "staging.domain.com"
    );
    assert_eq!(
        domain_for(&c, &labels(&[("app", "dev")])),
        "default.domain.com"
    );
    assert_eq!(domain_for(&c, &labels(&[])), "default.domain.com");
}

#[test]
fn a_selector_only_config_still_has_example_com_as_default() {
    let c = config(&[("prod.domain.com", "selector:\n  app: prod\n")]);
    assert_eq!(domain_for(&c, &map(&[("app", "prod")])), "prod.domain.com");
    assert_eq!(domain_for(&c, &map(&[("app", "dev")])), "example.com");
}

#[test]
fn equally_specific_matches_go_to_the_alphabetically_first_domain() {
    let c = config(&[
        ("b.dev", "selector:\n  app: x\n"),
        ("a.dev", "selector:\n  team: y\n"),
    ]);
    assert_eq!(
        domain_for(&c, &map(&[("app", "x"), ("team", "y")])),
        "a.dev"
    );
    let two_defaults = config(&[("z.dev", ""), ("m.dev", "")]);
    assert_eq!(domain_for(&two_defaults, &map(&[])), "m.dev");
}

#[test]
fn cluster_local_visibility_overrides_every_selector() {
    let c = config(&[("fnmesh.test", "")]);
    let labels = map(&[(VISIBILITY_LABEL, VISIBILITY_CLUSTER_LOCAL)]);
    assert_eq!(domain_for(&c, &labels), "svc.cluster.local");
    assert!(is_cluster_local(&domain_for(&c, &labels)));
}

#[test]
fn an_invalid_selector_is_an_error() {
    let err = DomainConfig::from_data(&map(&[("bad.dev", "selector: [1, 2")])).unwrap_err();
    assert_eq!(err.metric_label(), "invalid_domain_selector");
}

#[test]
fn the_source_follows_edits_and_keeps_the_last_valid_config() {
    let source = DomainSource::new();
    assert!(source.apply(&Event::Apply(config_map(&[("fnmesh.test", "")]))));
    assert_eq!(domain_for(&source.current(), &map(&[])), "fnmesh.test");
    assert!(
        !source.apply(&Event::Apply(config_map(&[("fnmesh.test", "")]))),
        "the same config again is not a change"
    );
    assert!(!source.apply(&Event::Apply(config_map(&[("x.dev", "selector: [")]))));
    assert_eq!(domain_for(&source.current(), &map(&[])), "fnmesh.test");
    assert!(source.apply(&Event::Delete(config_map(&[]))));
    assert_eq!(domain_for(&source.current(), &map(&[])), "example.com");
}

#[test]
fn a_relist_without_the_config_map_restores_the_default() {
    let source = DomainSource::new();
    source.apply(&Event::Apply(config_map(&[("fnmesh.test", "")])));
    assert!(!source.apply(&Event::Init));
    assert!(source.apply(&Event::InitDone));
    assert_eq!(*source.current(), DomainConfig::default());

    source.apply(&Event::Init);
    source.apply(&Event::InitApply(config_map(&[("fnmesh.test", "")])));
    assert!(!source.apply(&Event::InitDone));
    assert_eq!(domain_for(&source.current(), &map(&[])), "fnmesh.test");
}

#[test]
fn the_first_list_is_a_trigger_even_when_it_changes_nothing() {
    let source = DomainSource::new();
    assert!(!source.is_loaded());
    assert!(!source.apply(&Event::Init));
    assert!(
        source.apply(&Event::InitDone),
        "what was decided before the list used the start-up default"
    );
    assert!(source.is_loaded());
    source.apply(&Event::Init);
    assert!(
        !source.apply(&Event::InitDone),
        "a later relist without a change"
    );
}
