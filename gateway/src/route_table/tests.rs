use std::time::Duration;

use super::*;
use crate::revision::Protocol;

fn rev(name: &str) -> Revision {
    Revision::new(
        "default",
        name,
        Protocol::Http1,
        vec!["127.0.0.1:1".parse().unwrap()],
    )
}

fn target(revision: &str, percent: u32, tag: Option<&str>) -> TrafficTarget {
    TrafficTarget {
        revision: revision.into(),
        percent,
        tag: tag.map(Into::into),
    }
}

fn route(name: &str, traffic: Vec<TrafficTarget>) -> KnativeRoute {
    KnativeRoute {
        name: name.into(),
        namespace: "default".into(),
        traffic,
    }
}

fn name_of(table: &RouteTable, index: usize) -> &str {
    &table.compiled(index).spec.name
}

#[test]
fn weighted_pick_follows_cumulative_weights() {
    let table = RouteTable::from_knative(
        "example.com",
        vec![route(
            "hello",
            vec![
                target("a", 80, None),
                target("b", 0, Some("t")),
                target("c", 20, None),
            ],
        )],
        vec![rev("a"), rev("b"), rev("c")],
    )
    .unwrap();
    let pick = |roll| {
        name_of(
            &table,
            table
                .resolve("hello.default.example.com", None, roll)
                .unwrap(),
        )
    };
    assert_eq!(pick(0), "a");
    assert_eq!(pick(79), "a");
    assert_eq!(pick(80), "c");
    assert_eq!(pick(99), "c");
    assert_eq!(pick(100), "a");
}

#[test]
fn tag_hosts_and_tag_header_select_the_tagged_revision() {
    let table = RouteTable::from_knative(
        "example.com",
        vec![route(
            "hello",
            vec![
                target("a", 100, Some("current")),
                target("b", 0, Some("canary")),
            ],
        )],
        vec![rev("a"), rev("b")],
    )
    .unwrap();
    for roll in [0, 50, 99] {
        let tag_host = table
            .resolve("canary-hello.default.example.com", None, roll)
            .unwrap();
        assert_eq!(name_of(&table, tag_host), "b");
        let by_header = table
            .resolve("hello.default.example.com", Some(b"canary"), roll)
            .unwrap();
        assert_eq!(name_of(&table, by_header), "b");
        let unknown_tag = table
            .resolve("hello.default.example.com", Some(b"nope"), roll)
            .unwrap();
        assert_eq!(name_of(&table, unknown_tag), "a");
    }
    // The header only works on the route's own hosts' tags: a tag host has none.
    let on_tag_host = table
        .resolve("current-hello.default.example.com", Some(b"canary"), 0)
        .unwrap();
    assert_eq!(name_of(&table, on_tag_host), "a");
    assert_eq!(table.resolve("other.default.example.com", None, 0), None);
    assert_eq!(table.hosts().count(), 3);
}

#[test]
fn invalid_tables_are_refused() {
    let one = || vec![route("hello", vec![target("a", 100, None)])];
    assert_eq!(
        RouteTable::from_knative("example.com", one(), vec![rev("a"), rev("a")]).unwrap_err(),
        RouteTableError::DuplicateRevision(RevisionKey::new("default", "a"))
    );
    assert!(matches!(
        RouteTable::from_knative("example.com", one(), vec![]),
        Err(RouteTableError::UnknownRevision { .. })
    ));
    assert!(matches!(
        RouteTable::from_knative(
            "example.com",
            vec![route("hello", vec![target("a", 90, None)])],
            vec![rev("a")]
        ),
        Err(RouteTableError::PercentSum { sum: 90, .. })
    ));
    assert!(matches!(
        RouteTable::from_knative(
            "example.com",
            vec![route(
                "hello",
                vec![target("a", 50, Some("x")), target("a", 50, Some("x"))]
            )],
            vec![rev("a")]
        ),
        Err(RouteTableError::DuplicateHost(_) | RouteTableError::DuplicateTag { .. })
    ));
    assert!(matches!(
        RouteTable::from_knative(
            "example.com",
            vec![route("hello", vec![target("a", 100, Some("Bad_Tag"))])],
            vec![rev("a")]
        ),
        Err(RouteTableError::InvalidTag { .. } | RouteTableError::InvalidHost(_))
    ));
    let mut twice = rev("a");
    twice.endpoints.push(twice.endpoints[0]);
    assert!(matches!(
        RouteTable::from_knative("example.com", one(), vec![twice]),
        Err(RouteTableError::DuplicateEndpoint { .. })
    ));
    assert!(matches!(
        RouteTable::from_knative(
            "example.com",
            one(),
            vec![rev("a").with_timeout(Duration::ZERO)]
        ),
        Err(RouteTableError::ZeroTimeout(_))
    ));
}

#[test]
fn generic_routes_validate_hosts_and_traffic() {
    let key = RevisionKey::new("default", "a");
    let generic = |hosts: Vec<&str>, weight| Route {
        hosts: hosts.into_iter().map(Into::into).collect(),
        traffic: vec![WeightedTarget {
            revision: key.clone(),
            weight,
        }],
        tags: vec![],
    };
    assert_eq!(
        RouteTable::try_new(vec![generic(vec![], 1)], vec![rev("a")]).unwrap_err(),
        RouteTableError::NoHosts(0)
    );
    assert!(matches!(
        RouteTable::try_new(vec![generic(vec!["a b"], 1)], vec![rev("a")]),
        Err(RouteTableError::InvalidHost(_))
    ));
    assert!(matches!(
        RouteTable::try_new(vec![generic(vec!["a.example"], 0)], vec![rev("a")]),
        Err(RouteTableError::NoTraffic(_))
    ));
    assert!(matches!(
        RouteTable::try_new(
            vec![generic(vec!["a.example"], 1), generic(vec!["A.example"], 1)],
            vec![rev("a")]
        ),
        Err(RouteTableError::DuplicateHost(_))
    ));
    let table = RouteTable::try_new(
        vec![generic(vec!["A.Example", "a.svc.local"], 7)],
        vec![rev("a")],
    )
    .unwrap();
    assert!(table.resolve("a.example:80", None, 3).is_some());
    assert!(table.resolve("A.SVC.LOCAL", None, 3).is_some());
    assert_eq!(table.revision(&key).map(|r| r.name.as_str()), Some("a"));
}
