use std::collections::BTreeMap;

use crds::{ConfigurationSpec, RevisionSpec, RouteSpec, TrafficTarget};
use kube::runtime::reflector;
use kube::runtime::watcher::Event;

use super::*;
use crate::routing::{ResolvedRoute, ResolvedTarget};

fn route(ns: &str, name: &str, traffic: Vec<TrafficTarget>) -> Route {
    let mut r = Route::new(
        name,
        RouteSpec {
            traffic: Some(traffic),
        },
    );
    r.metadata.namespace = Some(ns.into());
    r
}

fn to_config(name: &str) -> TrafficTarget {
    TrafficTarget {
        configuration_name: Some(name.into()),
        ..TrafficTarget::default()
    }
}

fn to_revision(name: &str) -> TrafficTarget {
    TrafficTarget {
        revision_name: Some(name.into()),
        ..TrafficTarget::default()
    }
}

fn store(routes: Vec<Route>) -> Store<Route> {
    let (reader, mut writer) = reflector::store();
    for r in routes {
        writer.apply_watcher_event(&Event::Apply(r));
    }
    reader
}

fn names(refs: Vec<ObjectRef<Route>>) -> Vec<String> {
    let mut names: Vec<String> = refs.into_iter().map(|r| r.name).collect();
    names.sort();
    names
}

#[test]
fn configuration_events_reach_the_routes_naming_it_in_that_namespace() {
    let routes = store(vec![
        route("a", "floats", vec![to_config("hello")]),
        route("a", "other", vec![to_config("bye")]),
        route("b", "elsewhere", vec![to_config("hello")]),
    ]);
    let mut cfg = Configuration::new("hello", ConfigurationSpec::default());
    cfg.metadata.namespace = Some("a".into());
    assert_eq!(names(routes_for_configuration(&routes, &cfg)), ["floats"]);
}

#[test]
fn revision_events_reach_pinning_and_floating_routes() {
    let routes = store(vec![
        route("a", "pins", vec![to_revision("hello-00001")]),
        route("a", "floats", vec![to_config("hello")]),
        route("a", "unrelated", vec![to_revision("bye-00001")]),
    ]);
    let mut rev = Revision::new("hello-00001", RevisionSpec::default());
    rev.metadata.namespace = Some("a".into());
    rev.metadata.labels = Some(BTreeMap::from([(
        CONFIGURATION_LABEL.into(),
        "hello".into(),
    )]));
    assert_eq!(
        names(routes_for_revision(&routes, &rev)),
        ["floats", "pins"]
    );
}

fn publish(table: &RoutingTable, ns: &str, name: &str) {
    table.set_route(ResolvedRoute {
        key: ObjectKey::new(ns, name),
        host: format!("{name}.{ns}.example.com"),
        targets: vec![ResolvedTarget {
            revision: "r".into(),
            percent: 100,
            tag: None,
            tag_host: None,
        }],
    });
}

#[test]
fn deletions_and_relists_prune_the_routing_table() {
    let table = RoutingTable::new();
    publish(&table, "a", "kept");
    publish(&table, "a", "deleted");
    publish(&table, "a", "gone-while-disconnected");
    let mut tracker =
        DeletionTracker::new(table.clone(), Arc::new(RoutePriming::new(table.clone())));

    tracker.observe(&Event::Delete(route("a", "deleted", vec![])));
    tracker.observe(&Event::Init);
    tracker.observe(&Event::InitApply(route("a", "kept", vec![])));
    tracker.observe(&Event::InitDone);

    let left: Vec<ObjectKey> = table.snapshot().routes.into_keys().collect();
    assert_eq!(left, [ObjectKey::new("a", "kept")]);
}

#[test]
fn the_first_list_and_deletions_reach_the_priming() {
    let table = RoutingTable::filled_by_watches();
    table.backends_complete();
    let priming = Arc::new(RoutePriming::new(table.clone()));
    let mut tracker = DeletionTracker::new(table.clone(), priming.clone());
    tracker.observe(&Event::Init);
    tracker.observe(&Event::InitApply(route("a", "kept", vec![])));
    tracker.observe(&Event::InitApply(route("a", "doomed", vec![])));
    tracker.observe(&Event::InitDone);
    priming.settled(&ObjectKey::new("a", "kept"));
    assert!(!table.is_whole(), "doomed is listed and not settled");
    tracker.observe(&Event::Delete(route("a", "doomed", vec![])));
    assert!(table.is_whole(), "a deleted Route is not waited for");
}
