use std::collections::BTreeMap;

use crds::{Condition, ConfigurationSpec, RevisionStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;
use proptest::prelude::*;

use super::super::stamp::make_revision;
use super::super::status::{REVISION_FAILED, configuration_status};
use super::*;
use crate::conditions::{FALSE, UNKNOWN};

fn at(second: i64) -> Time {
    Time(jiff::Timestamp::from_second(second).unwrap())
}

fn config(generation: i64) -> Configuration {
    let mut cfg = Configuration::new("hello", ConfigurationSpec::default());
    cfg.metadata.namespace = Some("default".into());
    cfg.metadata.uid = Some("cfg-uid".into());
    cfg.metadata.generation = Some(generation);
    cfg
}

/// The Revision as the API server stores it: generation 1, with `ready` if given.
fn stored(cfg: &Configuration, ready: Option<(&str, &str)>) -> Revision {
    let mut rev = make_revision(cfg);
    rev.metadata.generation = Some(1);
    rev.status = ready.map(|(status, message)| RevisionStatus {
        observed_generation: Some(1),
        conditions: Some(vec![Condition {
            type_: READY.into(),
            status: status.into(),
            message: (!message.is_empty()).then(|| message.into()),
            ..Condition::default()
        }]),
        ..RevisionStatus::default()
    });
    rev
}

fn ready_of(s: &crds::ConfigurationStatus) -> &Condition {
    find(s.conditions.as_deref().unwrap(), READY).unwrap()
}

#[test]
fn finds_the_revision_of_the_current_generation() {
    let cfg1 = config(1);
    let revs = vec![stored(&cfg1, None)];
    assert!(
        matches!(latest_created(&cfg1, &revs), LatestCreated::Found(r) if r.name_any() == "hello-00001")
    );
    assert_eq!(latest_created(&config(2), &revs), LatestCreated::Missing);
}

#[test]
fn foreign_revisions_do_not_count() {
    let cfg = config(1);
    let mut rev = stored(&cfg, None);
    rev.metadata.owner_references = None;
    assert_eq!(latest_created(&cfg, &[rev.clone()]), LatestCreated::Missing);
    let mut byo = config(1);
    byo.spec.template.metadata.name = Some("hello-00001".into());
    assert_eq!(
        latest_created(&byo, &[rev]),
        LatestCreated::NameTaken("hello-00001")
    );
}

#[test]
fn ready_follows_the_latest_created() {
    let (cfg1, cfg2) = (config(1), config(2));
    let r1 = stored(&cfg1, Some((TRUE, "")));
    let r2 = stored(&cfg2, None);
    let revs = vec![r1, r2];
    let s = configuration_status(&cfg2, latest_created(&cfg2, &revs), None, &revs, at(1));
    assert_eq!(
        s.latest_created_revision_name.as_deref(),
        Some("hello-00002")
    );
    assert_eq!(s.latest_ready_revision_name.as_deref(), Some("hello-00001"));
    assert_eq!(ready_of(&s).status, UNKNOWN);
    assert_eq!(s.observed_generation, Some(2));

    let revs = vec![revs[0].clone(), stored(&cfg2, Some((TRUE, "")))];
    let s = configuration_status(&cfg2, latest_created(&cfg2, &revs), None, &revs, at(2));
    assert_eq!(s.latest_ready_revision_name.as_deref(), Some("hello-00002"));
    assert_eq!(ready_of(&s).status, TRUE);
}

#[test]
fn a_failed_revision_fails_the_configuration_with_its_message() {
    let cfg = config(1);
    let revs = vec![stored(
        &cfg,
        Some((FALSE, "container exited with code 3: boom")),
    )];
    let s = configuration_status(&cfg, latest_created(&cfg, &revs), None, &revs, at(1));
    let ready = ready_of(&s);
    assert_eq!(ready.status, FALSE);
    assert_eq!(ready.reason.as_deref(), Some(REVISION_FAILED));
    assert_eq!(
        ready.message.as_deref(),
        Some("Revision \"hello-00001\" failed with message: container exited with code 3: boom.")
    );
    assert_eq!(s.latest_ready_revision_name, None);
    // Reconciling again changes nothing (no write, no event loop).
    let mut again = cfg.clone();
    again.status = Some(s.clone());
    let s2 = configuration_status(&again, latest_created(&again, &revs), None, &revs, at(9));
    assert_eq!(s, s2);
}

#[test]
fn refused_creation_is_reported() {
    let cfg = config(1);
    let s = configuration_status(&cfg, LatestCreated::Missing, Some("bad spec"), &[], at(1));
    assert_eq!(
        ready_of(&s).message.as_deref(),
        Some("Revision creation failed with message: bad spec.")
    );
}

proptest! {
    /// Labels and annotations do not bump `metadata.generation`, so any metadata-only
    /// change still finds the existing Revision and stamps none.
    #[test]
    fn metadata_only_changes_stamp_nothing(
        labels in proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..4),
        annotations in proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..4),
        generation in 1i64..1000,
    ) {
        let before = config(generation);
        let revs = vec![stored(&before, None)];
        let mut after = before.clone();
        after.meta_mut().labels = Some(labels.into_iter().collect::<BTreeMap<_, _>>());
        after.meta_mut().annotations = Some(annotations);
        prop_assert!(matches!(latest_created(&after, &revs), LatestCreated::Found(_)));
    }

    /// Every new generation (a template change) needs a Revision of its own.
    #[test]
    fn every_generation_gets_its_own_revision(generation in 1i64..1000, later in 1i64..10) {
        let revs = vec![stored(&config(generation), None)];
        let next = config(generation + later);
        prop_assert_eq!(latest_created(&next, &revs), LatestCreated::Missing);
    }
}
