use std::collections::BTreeMap;
use std::sync::Arc;

use crds::{
    Condition, Configuration, ConfigurationSpec, ConfigurationStatus, Revision, RevisionSpec,
    RevisionStatus, RouteSpec, TrafficTarget,
};
use kube::api::ObjectMeta;
use proptest::prelude::*;

use super::*;

fn ready(status: &str) -> Option<Vec<Condition>> {
    Some(vec![Condition {
        type_: "Ready".into(),
        status: status.into(),
        ..Condition::default()
    }])
}

fn revision(name: &str, config: &str, status: &str) -> (String, Arc<Revision>) {
    let mut rev = Revision::new(name, RevisionSpec::default());
    rev.metadata.labels = Some(BTreeMap::from([(
        CONFIGURATION_LABEL.into(),
        config.into(),
    )]));
    rev.status = Some(RevisionStatus {
        conditions: ready(status),
        ..RevisionStatus::default()
    });
    (name.into(), Arc::new(rev))
}

fn configuration(
    name: &str,
    latest_ready: Option<&str>,
    status: &str,
) -> (String, Arc<Configuration>) {
    let cfg = Configuration {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: ConfigurationSpec::default(),
        status: Some(ConfigurationStatus {
            latest_ready_revision_name: latest_ready.map(Into::into),
            conditions: ready(status),
            ..ConfigurationStatus::default()
        }),
    };
    (name.into(), Arc::new(cfg))
}

struct World {
    configurations: BTreeMap<String, Arc<Configuration>>,
    revisions: BTreeMap<String, Arc<Revision>>,
}

/// `hello` (latest ready `hello-00002`) with ready revisions 1 and 2.
fn world() -> World {
    World {
        configurations: BTreeMap::from([configuration("hello", Some("hello-00002"), "True")]),
        revisions: BTreeMap::from([
            revision("hello-00001", "hello", "True"),
            revision("hello-00002", "hello", "True"),
        ]),
    }
}

fn key() -> ObjectKey {
    ObjectKey::new("default", "hello")
}

fn latest(percent: i64, tag: Option<&str>) -> TrafficTarget {
    TrafficTarget {
        configuration_name: Some("hello".into()),
        latest_revision: Some(true),
        percent: Some(percent),
        tag: tag.map(Into::into),
        ..TrafficTarget::default()
    }
}

fn pinned(rev: &str, percent: i64, tag: Option<&str>) -> TrafficTarget {
    TrafficTarget {
        revision_name: Some(rev.into()),
        latest_revision: Some(false),
        percent: Some(percent),
        tag: tag.map(Into::into),
        ..TrafficTarget::default()
    }
}

fn run(w: &World, traffic: Vec<TrafficTarget>) -> Result<Resolution, Missing> {
    let spec = RouteSpec {
        traffic: Some(traffic),
    };
    resolve(
        &key(),
        &spec,
        &w.configurations,
        &w.revisions,
        "example.com",
    )
}

#[test]
fn an_80_20_split_with_tags_resolves_hosts_and_urls() {
    let r = run(
        &world(),
        vec![
            latest(80, Some("current")),
            pinned("hello-00001", 20, Some("prev")),
        ],
    )
    .unwrap();
    assert_eq!(r.route.host, "hello.default.example.com");
    assert_eq!(
        r.route.targets,
        vec![
            ResolvedTarget {
                revision: "hello-00002".into(),
                percent: 80,
                tag: Some("current".into()),
                tag_host: Some("current-hello.default.example.com".into()),
            },
            ResolvedTarget {
                revision: "hello-00001".into(),
                percent: 20,
                tag: Some("prev".into()),
                tag_host: Some("prev-hello.default.example.com".into()),
            },
        ]
    );
    assert_eq!(r.traffic[0].revision_name.as_deref(), Some("hello-00002"));
    assert_eq!(r.traffic[0].latest_revision, Some(true));
    assert_eq!(r.traffic[0].configuration_name, None);
    assert_eq!(
        r.traffic[0].url.as_deref(),
        Some("http://current-hello.default.example.com")
    );
    assert_eq!(r.traffic[1].percent, Some(20));
    assert_eq!(r.traffic[1].latest_revision, Some(false));
}

#[test]
fn a_zero_percent_tag_is_kept_for_its_host() {
    let r = run(
        &world(),
        vec![latest(100, None), pinned("hello-00001", 0, Some("old"))],
    )
    .unwrap();
    assert_eq!(r.route.targets.len(), 2);
    assert_eq!(r.route.targets[1].percent, 0);
    assert_eq!(
        r.route.targets[1].tag_host.as_deref(),
        Some("old-hello.default.example.com")
    );
    assert_eq!(r.traffic.len(), 2);
}

#[test]
fn the_same_revision_from_several_targets_is_merged_as_knative_does() {
    // Both untagged targets land on hello-00002: one routing entry with their sum,
    // while status keeps the pinned and the floating entry apart.
    let r = run(
        &world(),
        vec![latest(60, None), pinned("hello-00002", 40, None)],
    )
    .unwrap();
    assert_eq!(r.route.targets.len(), 1);
    assert_eq!(r.route.targets[0].percent, 100);
    assert_eq!(r.traffic.len(), 2);

    let twice = run(&world(), vec![latest(50, None), latest(50, None)]).unwrap();
    assert_eq!(twice.traffic.len(), 1);
    assert_eq!(twice.traffic[0].percent, Some(100));
}

#[test]
fn missing_objects_fail_with_knatives_reasons() {
    let err = run(&world(), vec![pinned("nope", 100, None)]).unwrap_err();
    assert_eq!(err, Missing::RevisionMissing("nope".into()));
    assert_eq!(err.reason(), "RevisionMissing");
    assert_eq!(
        err.to_string(),
        "Revision \"nope\" referenced in traffic not found."
    );
    assert!(err.is_failure());

    let mut target = latest(100, None);
    target.configuration_name = Some("other".into());
    let err = run(&world(), vec![target]).unwrap_err();
    assert_eq!(err.reason(), "ConfigurationMissing");
    assert_eq!(
        err.to_string(),
        "Configuration \"other\" referenced in traffic not found."
    );
}

#[test]
fn unready_targets_are_unknown_and_failed_ones_false() {
    let mut w = world();
    w.configurations = BTreeMap::from([configuration("hello", None, "Unknown")]);
    let err = run(&w, vec![latest(100, None)]).unwrap_err();
    assert_eq!(err, Missing::ConfigurationNotReady("hello".into()));
    assert_eq!(err.condition_status(), "Unknown");

    w.configurations = BTreeMap::from([configuration("hello", None, "False")]);
    let err = run(&w, vec![latest(100, None)]).unwrap_err();
    assert_eq!(err, Missing::ConfigurationFailed("hello".into()));
    assert_eq!(err.condition_status(), "False");

    let mut w = world();
    w.revisions
        .extend([revision("hello-00003", "hello", "Unknown")]);
    let err = run(&w, vec![pinned("hello-00003", 100, None)]).unwrap_err();
    assert_eq!(err, Missing::RevisionNotReady("hello-00003".into()));
    w.revisions
        .extend([revision("hello-00004", "hello", "False")]);
    let err = run(&w, vec![pinned("hello-00004", 100, None)]).unwrap_err();
    assert_eq!(err, Missing::RevisionFailed("hello-00004".into()));
}

#[test]
fn a_failure_outranks_a_wait_whatever_the_order() {
    let mut w = world();
    w.revisions
        .extend([revision("hello-00003", "hello", "Unknown")]);
    let err = run(
        &w,
        vec![pinned("hello-00003", 50, None), pinned("gone", 50, None)],
    )
    .unwrap_err();
    assert_eq!(err, Missing::RevisionMissing("gone".into()));
}

#[test]
fn a_pinned_revision_needs_its_configuration() {
    let mut w = world();
    w.configurations.clear();
    let err = run(&w, vec![pinned("hello-00001", 100, None)]).unwrap_err();
    assert_eq!(err, Missing::ConfigurationMissing("hello".into()));
}

#[test]
fn no_traffic_resolves_to_no_targets() {
    let spec = RouteSpec { traffic: None };
    let w = world();
    let r = resolve(
        &key(),
        &spec,
        &w.configurations,
        &w.revisions,
        "example.com",
    )
    .unwrap();
    assert!(r.route.targets.is_empty());
    assert!(r.traffic.is_empty());
}

/// A split over the world's revisions: (pinned revision or latest, percent, tag).
fn split() -> impl Strategy<Value = Vec<TrafficTarget>> {
    prop::collection::vec((0u8..3, 0i64..=100, prop::option::of(0u8..4)), 1..6).prop_map(
        |targets| {
            let mut tags_seen = std::collections::BTreeSet::new();
            targets
                .into_iter()
                .map(|(which, percent, tag)| {
                    // Tags are unique in valid specs.
                    let tag = tag
                        .filter(|t| tags_seen.insert(*t))
                        .map(|t| format!("t{t}"));
                    match which {
                        0 => latest(percent, tag.as_deref()),
                        n => pinned(&format!("hello-0000{n}"), percent, tag.as_deref()),
                    }
                })
                .collect()
        },
    )
}

proptest! {
    #[test]
    fn resolution_preserves_percent_and_tags(traffic in split()) {
        let total: i64 = traffic.iter().map(|t| t.percent.unwrap()).sum();
        let r = run(&world(), traffic.clone()).unwrap();

        let status_total: i64 = r.traffic.iter().map(|t| t.percent.unwrap()).sum();
        prop_assert_eq!(status_total, total);
        let routed_total: u32 = r.route.targets.iter().map(|t| t.percent).sum();
        prop_assert_eq!(i64::from(routed_total), total);

        for t in traffic.iter().filter(|t| t.tag.is_some()) {
            let tag = t.tag.as_deref().unwrap();
            let host = format!("{tag}-hello.default.example.com");
            let routed = r.route.targets.iter().find(|rt| rt.tag.as_deref() == Some(tag));
            prop_assert_eq!(routed.and_then(|rt| rt.tag_host.clone()), Some(host.clone()));
            prop_assert_eq!(routed.map(|rt| i64::from(rt.percent)), t.percent);
            let url = format!("http://{host}");
            prop_assert!(r.traffic.iter().any(|st| st.url.as_deref() == Some(url.as_str())));
        }
        for t in &r.traffic {
            prop_assert!(t.revision_name.is_some());
            prop_assert!(t.configuration_name.is_none());
            prop_assert_eq!(t.url.is_some(), t.tag.is_some());
        }
        for t in &r.route.targets {
            prop_assert!(t.tag.is_some() || t.percent > 0);
            prop_assert!(["hello-00001", "hello-00002"].contains(&t.revision.as_str()));
        }
    }

    #[test]
    fn one_unknown_revision_fails_the_whole_route(traffic in split(), at in 0usize..6) {
        let mut traffic = traffic;
        let at = at % traffic.len();
        traffic[at] = pinned("missing", traffic[at].percent.unwrap(), None);
        prop_assert_eq!(
            run(&world(), traffic),
            Err(Missing::RevisionMissing("missing".into()))
        );
    }
}
