use crds::{
    Condition, ConfigurationSpec, ConfigurationStatus, RouteSpec, RouteStatus, ServiceSpec,
};

use super::*;
use crate::conditions::find;

fn at(second: i64) -> Time {
    Time(jiff::Timestamp::from_second(second).unwrap())
}

fn ready(status: &str, reason: &str, message: &str) -> Vec<Condition> {
    vec![Condition {
        type_: READY.into(),
        status: status.into(),
        reason: (!reason.is_empty()).then(|| reason.into()),
        message: (!message.is_empty()).then(|| message.into()),
        ..Condition::default()
    }]
}

fn service() -> Service {
    let mut svc = Service::new("hello", ServiceSpec::default());
    svc.metadata.generation = Some(3);
    svc
}

fn config(conds: Vec<Condition>) -> Configuration {
    let mut cfg = Configuration::new("hello", ConfigurationSpec::default());
    cfg.metadata.generation = Some(2);
    cfg.status = Some(ConfigurationStatus {
        observed_generation: Some(2),
        conditions: Some(conds),
        latest_created_revision_name: Some("hello-00002".into()),
        latest_ready_revision_name: Some("hello-00002".into()),
        ..ConfigurationStatus::default()
    });
    cfg
}

fn route(conds: Vec<Condition>, served: &str) -> Route {
    let mut route = Route::new(
        "hello",
        RouteSpec {
            traffic: Some(vec![TrafficTarget {
                configuration_name: Some("hello".into()),
                latest_revision: Some(true),
                percent: Some(100),
                ..TrafficTarget::default()
            }]),
        },
    );
    route.metadata.generation = Some(1);
    route.status = Some(RouteStatus {
        observed_generation: Some(1),
        conditions: Some(conds),
        url: Some("http://hello.default.example.com".into()),
        traffic: Some(vec![TrafficTarget {
            revision_name: Some(served.into()),
            latest_revision: Some(true),
            percent: Some(100),
            ..TrafficTarget::default()
        }]),
        ..RouteStatus::default()
    });
    route
}

fn cond<'a>(s: &'a ServiceStatus, t: &str) -> &'a Condition {
    find(s.conditions.as_deref().unwrap(), t).unwrap()
}

#[test]
fn ready_when_both_children_are() {
    let (cfg, rt) = (
        config(ready(TRUE, "", "")),
        route(ready(TRUE, "", ""), "hello-00002"),
    );
    let s = service_status(
        &service(),
        Child::Owned(&cfg),
        Some(Child::Owned(&rt)),
        at(1),
    );
    assert_eq!(cond(&s, READY).status, TRUE);
    assert_eq!(s.observed_generation, Some(3));
    assert_eq!(s.latest_ready_revision_name.as_deref(), Some("hello-00002"));
    assert_eq!(s.url.as_deref(), Some("http://hello.default.example.com"));
    assert_eq!(
        s.traffic.as_ref().unwrap()[0].revision_name(),
        "hello-00002"
    );
}

#[test]
fn a_failing_revision_shows_on_the_service() {
    let msg = "Revision \"hello-00002\" failed with message: exited with code 3.";
    let cfg = config(ready(FALSE, "RevisionFailed", msg));
    let rt = route(ready(TRUE, "", ""), "hello-00001");
    let s = service_status(
        &service(),
        Child::Owned(&cfg),
        Some(Child::Owned(&rt)),
        at(1),
    );
    let r = cond(&s, READY);
    assert_eq!(
        (r.status.as_str(), r.reason.as_deref()),
        (FALSE, Some("RevisionFailed"))
    );
    assert_eq!(r.message.as_deref(), Some(msg));
    assert_eq!(cond(&s, CONFIGURATIONS_READY).status, FALSE);
}

#[test]
fn stale_children_are_out_of_date() {
    let mut cfg = config(ready(TRUE, "", ""));
    cfg.metadata.generation = Some(3);
    let s = service_status(&service(), Child::Owned(&cfg), None, at(1));
    assert_eq!(
        cond(&s, CONFIGURATIONS_READY).reason.as_deref(),
        Some("OutOfDate")
    );
    assert_eq!(cond(&s, ROUTES_READY).status, UNKNOWN);
}

#[test]
fn traffic_not_yet_on_the_latest_ready_is_not_ready() {
    let (cfg, rt) = (
        config(ready(TRUE, "", "")),
        route(ready(TRUE, "", ""), "hello-00001"),
    );
    let s = service_status(
        &service(),
        Child::Owned(&cfg),
        Some(Child::Owned(&rt)),
        at(1),
    );
    let r = cond(&s, ROUTES_READY);
    assert_eq!(
        (r.status.as_str(), r.reason.as_deref()),
        (UNKNOWN, Some("TrafficNotMigrated"))
    );
}

#[test]
fn children_owned_by_others_are_reported() {
    let s = service_status(&service(), Child::NotOwned, Some(Child::NotOwned), at(1));
    assert_eq!(
        cond(&s, CONFIGURATIONS_READY).reason.as_deref(),
        Some("NotOwned")
    );
    assert_eq!(cond(&s, ROUTES_READY).reason.as_deref(), Some("NotOwned"));
    assert_eq!(cond(&s, READY).status, FALSE);
}
