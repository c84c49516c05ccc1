//! Stamping a Revision out of a Configuration's template, as Knative's
//! `configuration/resources.MakeRevision` does: the template's metadata and spec, the
//! name `<config>-<generation:05>` (or the user's), labels tying it to its
//! Configuration (and Service), and a controller owner reference.

use crds::{Configuration, Revision};
use kube::ResourceExt;
use kube::api::ObjectMeta;

use crate::apply::controller_ref;
use crate::labels::{
    CONFIGURATION_GENERATION_LABEL, CONFIGURATION_LABEL, CONFIGURATION_UID_LABEL,
    CREATOR_ANNOTATION, ROUTES_ANNOTATION, SERVICE_LABEL, SERVICE_UID_LABEL, UPDATER_ANNOTATION,
};

/// The Configuration's `metadata.generation` (0 before the API server stamped one).
pub fn generation(cfg: &Configuration) -> i64 {
    cfg.metadata.generation.unwrap_or_default()
}

/// The name of the Revision for the Configuration's current template.
pub fn revision_name(cfg: &Configuration) -> String {
    match cfg.spec.template.metadata.name.as_deref() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => crds::revision_name(&cfg.name_any(), generation(cfg)),
    }
}

/// The Revision for the Configuration's current template.
pub fn make_revision(cfg: &Configuration) -> Revision {
    let template = &cfg.spec.template;
    let mut labels = template.metadata.labels.clone().unwrap_or_default();
    let cfg_labels = cfg.labels();
    labels.insert(CONFIGURATION_LABEL.into(), cfg.name_any());
    labels.insert(
        CONFIGURATION_GENERATION_LABEL.into(),
        generation(cfg).to_string(),
    );
    if let Some(uid) = cfg.uid() {
        labels.insert(CONFIGURATION_UID_LABEL.into(), uid);
    }
    for key in [SERVICE_LABEL, SERVICE_UID_LABEL] {
        if let Some(v) = cfg_labels.get(key).filter(|v| !v.is_empty()) {
            labels.insert(key.into(), v.clone());
        }
    }

    let mut annotations = template.metadata.annotations.clone().unwrap_or_default();
    let cfg_annotations = cfg.annotations();
    if let Some(updater) = cfg_annotations.get(UPDATER_ANNOTATION) {
        annotations.insert(CREATOR_ANNOTATION.into(), updater.clone());
    }
    if let Some(routes) = cfg_annotations.get(ROUTES_ANNOTATION) {
        annotations.insert(ROUTES_ANNOTATION.into(), routes.clone());
    }

    let mut rev = Revision::new(&revision_name(cfg), template.spec.clone());
    rev.metadata = ObjectMeta {
        name: Some(revision_name(cfg)),
        namespace: cfg.namespace(),
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        owner_references: controller_ref(cfg),
        ..ObjectMeta::default()
    };
    rev
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crds::ConfigurationSpec;
    use proptest::prelude::*;

    use super::*;

    fn config(name: &str, generation: i64) -> Configuration {
        let mut cfg = Configuration::new(name, ConfigurationSpec::default());
        cfg.metadata.namespace = Some("default".into());
        cfg.metadata.uid = Some("cfg-uid".into());
        cfg.metadata.generation = Some(generation);
        cfg
    }

    #[test]
    fn stamps_labels_owner_and_template_metadata() {
        let mut cfg = config("hello", 2);
        cfg.metadata.labels = Some(BTreeMap::from([
            (SERVICE_LABEL.to_string(), "hello".to_string()),
            ("team".to_string(), "not-copied".to_string()),
        ]));
        cfg.spec.template.metadata.labels =
            Some(BTreeMap::from([("app-tier".into(), "web".into())]));
        cfg.spec.template.metadata.annotations = Some(BTreeMap::from([(
            "autoscaling.knative.dev/min-scale".into(),
            "2".into(),
        )]));
        let rev = make_revision(&cfg);
        assert_eq!(rev.name_any(), "hello-00002");
        assert_eq!(rev.namespace().as_deref(), Some("default"));
        let labels = rev.labels();
        assert_eq!(labels[CONFIGURATION_LABEL], "hello");
        assert_eq!(labels[CONFIGURATION_GENERATION_LABEL], "2");
        assert_eq!(labels[CONFIGURATION_UID_LABEL], "cfg-uid");
        assert_eq!(labels[SERVICE_LABEL], "hello");
        assert_eq!(labels["app-tier"], "web");
        assert!(
            !labels.contains_key("team"),
            "only template labels are copied"
        );
        assert_eq!(rev.annotations()["autoscaling.knative.dev/min-scale"], "2");
        let owner = &rev.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.controller),
            ("Configuration", "hello", Some(true))
        );
    }

    #[test]
    fn user_named_revision_keeps_its_name() {
        let mut cfg = config("hello", 7);
        cfg.spec.template.metadata.name = Some("hello-blue".into());
        assert_eq!(make_revision(&cfg).name_any(), "hello-blue");
    }

    proptest! {
        #[test]
        fn one_name_per_generation(
            name in "[a-z][a-z0-9-]{0,40}[a-z0-9]",
            a in 1i64..100_000,
            b in 1i64..100_000,
        ) {
            let (ra, rb) = (revision_name(&config(&name, a)), revision_name(&config(&name, b)));
            prop_assert_eq!(ra == rb, a == b);
            prop_assert!(ra.len() <= crds::MAX_NAME_LEN);
            let expected = format!("{name}-{a:05}");
            prop_assert_eq!(ra, expected);
        }
    }
}
