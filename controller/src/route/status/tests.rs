use crds::TrafficTarget;

use super::*;
use crate::routing::{ResolvedRoute, ResolvedTarget};

fn key() -> ObjectKey {
    ObjectKey::new("default", "hello")
}

fn at(seconds: i64) -> Time {
    Time(jiff::Timestamp::from_second(seconds).unwrap())
}

fn resolution() -> Resolution {
    Resolution {
        route: ResolvedRoute {
            key: key(),
            host: "hello.default.example.com".into(),
            targets: vec![ResolvedTarget {
                revision: "hello-00001".into(),
                percent: 100,
                tag: None,
                tag_host: None,
            }],
        },
        traffic: vec![TrafficTarget {
            revision_name: Some("hello-00001".into()),
            latest_revision: Some(true),
            percent: Some(100),
            ..TrafficTarget::default()
        }],
    }
}

fn build(
    previous: Option<&RouteStatus>,
    outcome: &Result<Resolution, Missing>,
    published: bool,
    domain: &str,
    now: i64,
) -> RouteStatus {
    build_status(&StatusInput {
        previous,
        generation: Some(3),
        key: &key(),
        domain,
        outcome,
        published,
        now: at(now),
    })
}

fn get<'a>(status: &'a RouteStatus, type_: &str) -> &'a Condition {
    status
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap()
}

#[test]
fn a_resolved_route_is_ready_with_urls_and_traffic() {
    let s = build(None, &Ok(resolution()), true, "example.com", 1);
    assert_eq!(s.observed_generation, Some(3));
    assert_eq!(s.url.as_deref(), Some("http://hello.default.example.com"));
    assert_eq!(
        s.address.as_ref().unwrap().url.as_deref(),
        Some("http://hello.default.svc.cluster.local")
    );
    assert_eq!(s.traffic, Some(resolution().traffic));
    let types: Vec<&str> = s
        .conditions
        .iter()
        .flatten()
        .map(|c| c.type_.as_str())
        .collect();
    assert_eq!(
        types,
        [
            ALL_TRAFFIC_ASSIGNED,
            CERTIFICATE_PROVISIONED,
            INGRESS_READY,
            READY
        ]
    );
    assert!(s.conditions.iter().flatten().all(Condition::is_true));
    let cert = get(&s, CERTIFICATE_PROVISIONED);
    assert_eq!(cert.reason.as_deref(), Some("TLSNotEnabled"));
    assert_eq!(cert.message.as_deref(), Some("autoTLS is not enabled"));
    assert_eq!(ready_condition(&s).unwrap().reason, None);
}

#[test]
fn a_missing_revision_keeps_the_previous_traffic_and_fails_ready() {
    let before = build(None, &Ok(resolution()), true, "example.com", 1);
    let missing = Err(Missing::RevisionMissing("gone".into()));
    let s = build(Some(&before), &missing, true, "example.com", 2);
    assert_eq!(s.traffic, before.traffic);
    let assigned = get(&s, ALL_TRAFFIC_ASSIGNED);
    assert_eq!(assigned.status, "False");
    assert_eq!(assigned.reason.as_deref(), Some("RevisionMissing"));
    assert_eq!(
        assigned.message.as_deref(),
        Some("Revision \"gone\" referenced in traffic not found.")
    );
    let ready = ready_condition(&s).unwrap();
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("RevisionMissing"));
    assert!(
        get(&s, INGRESS_READY).is_true(),
        "the old split still serves"
    );
}

#[test]
fn waiting_for_a_first_revision_is_unknown_and_not_yet_ingressed() {
    let waiting = Err(Missing::ConfigurationNotReady("hello".into()));
    let s = build(None, &waiting, false, "example.com", 1);
    assert_eq!(get(&s, ALL_TRAFFIC_ASSIGNED).status, "Unknown");
    let ingress = get(&s, INGRESS_READY);
    assert_eq!(ingress.status, "Unknown");
    assert_eq!(ingress.reason.as_deref(), Some("IngressNotConfigured"));
    let ready = ready_condition(&s).unwrap();
    assert_eq!(ready.status, "Unknown");
    assert_eq!(ready.reason.as_deref(), Some("RevisionMissing"));
    assert_eq!(s.traffic, None);
}

#[test]
fn unchanged_conditions_keep_their_transition_time() {
    let first = build(None, &Ok(resolution()), true, "example.com", 1);
    let again = build(Some(&first), &Ok(resolution()), true, "example.com", 99);
    assert_eq!(
        first, again,
        "an unchanged status is equal, so it is not rewritten"
    );

    let missing = Err(Missing::RevisionMissing("gone".into()));
    let failed = build(Some(&first), &missing, true, "example.com", 5);
    assert_eq!(
        get(&failed, ALL_TRAFFIC_ASSIGNED).last_transition_time,
        Some(at(5))
    );
    assert_eq!(
        get(&failed, INGRESS_READY).last_transition_time,
        Some(at(1))
    );
}

#[test]
fn cluster_local_routes_say_so_in_the_certificate_condition() {
    let s = build(None, &Ok(resolution()), true, "svc.cluster.local", 1);
    assert_eq!(
        s.url.as_deref(),
        Some("http://hello.default.svc.cluster.local")
    );
    assert_eq!(
        get(&s, CERTIFICATE_PROVISIONED).message.as_deref(),
        Some("TLS is not enabled for cluster-local")
    );
}
