//! Snapshot → Envoy resources (controller) → RouteTable parts (gateway): what the
//! Route reconciler resolved is what the gateway routes by.

use std::time::Duration;

use controller::routing::{
    ObjectKey, Protocol, ResolvedRoute, ResolvedTarget, RevisionBackend, RoutingSnapshot,
};
use controller::xds::{LISTENER_NAME, listener, resources};
use gateway::xds_client::{Translation, XdsResources};
use gateway::{RevisionKey, Route, TagTarget, WeightedTarget};

fn snapshot() -> RoutingSnapshot {
    let mut s = RoutingSnapshot::default();
    for (name, protocol, port, timeout) in [
        ("hello-00001", Protocol::Http1, 9001, 30),
        ("hello-00002", Protocol::H2c, 9002, 90),
    ] {
        let key = ObjectKey::new("default", name);
        s.backends.insert(
            key.clone(),
            RevisionBackend {
                key,
                protocol,
                endpoints: vec![([127, 0, 0, 1], port).into()],
                timeout_seconds: timeout,
                response_start_timeout_seconds: timeout,
                idle_timeout_seconds: None,
            },
        );
    }
    let target = |revision: &str, percent, tag: &str| ResolvedTarget {
        revision: revision.into(),
        percent,
        tag: Some(tag.into()),
        tag_host: Some(format!("{tag}-hello.default.example.com")),
    };
    let route = ResolvedRoute {
        key: ObjectKey::new("default", "hello"),
        host: "hello.default.example.com".into(),
        targets: vec![
            target("hello-00001", 80, "current"),
            target("hello-00002", 20, "latest"),
        ],
    };
    s.routes.insert(route.key.clone(), route);
    s
}

fn as_gateway_sees_it(s: &RoutingSnapshot) -> XdsResources {
    let r = resources(s);
    XdsResources {
        clusters: r.clusters,
        assignments: r.assignments,
        listeners: [(
            LISTENER_NAME.into(),
            listener("0.0.0.0:8080".parse().unwrap()),
        )]
        .into(),
        route_configs: [(r.routes.name.clone(), r.routes)].into(),
    }
}

#[test]
fn split_tags_protocols_and_timeouts_survive_the_round_trip() {
    let Translation::Ready(parts) = as_gateway_sees_it(&snapshot()).translate().unwrap() else {
        panic!("consistent resources must translate")
    };
    let key = |name: &str| RevisionKey::new("default", name);
    let main = parts
        .routes
        .iter()
        .find(|r| r.hosts == ["hello.default.example.com"])
        .expect("main host");
    assert_eq!(
        main,
        &Route {
            hosts: vec!["hello.default.example.com".into()],
            traffic: vec![
                WeightedTarget {
                    revision: key("hello-00001"),
                    weight: 80
                },
                WeightedTarget {
                    revision: key("hello-00002"),
                    weight: 20
                },
            ],
            tags: vec![
                TagTarget {
                    tag: "current".into(),
                    revision: key("hello-00001")
                },
                TagTarget {
                    tag: "latest".into(),
                    revision: key("hello-00002")
                },
            ],
        }
    );
    let latest = parts
        .routes
        .iter()
        .find(|r| r.hosts == ["latest-hello.default.example.com"])
        .expect("tag host");
    assert_eq!(latest.traffic.len(), 1);
    assert_eq!(latest.traffic[0].revision, key("hello-00002"));
    assert_eq!(parts.routes.len(), 3);

    let revision = |name: &str| parts.revisions.iter().find(|r| r.name == name).unwrap();
    let one = revision("hello-00001");
    assert_eq!(
        (one.protocol, one.timeout),
        (gateway::Protocol::Http1, Duration::from_secs(30))
    );
    assert_eq!(one.endpoints, vec!["127.0.0.1:9001".parse().unwrap()]);
    let two = revision("hello-00002");
    assert_eq!(
        (two.protocol, two.timeout),
        (gateway::Protocol::H2c, Duration::from_secs(90))
    );
    parts.build().expect("a valid gateway table");
}

/// Revision `name` in `default` with the given timeouts in its spec.
fn knative_revision(name: &str, spec_timeouts: serde_json::Value) -> crds::Revision {
    let mut spec = serde_json::json!({ "containers": [{ "image": "x" }] });
    spec.as_object_mut()
        .unwrap()
        .extend(spec_timeouts.as_object().unwrap().clone());
    serde_json::from_value(serde_json::json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": { "name": name, "namespace": "default" },
        "spec": spec,
    }))
    .unwrap()
}

#[test]
fn response_start_and_idle_timeouts_travel_from_the_revision_to_the_gateway() {
    let mut s = snapshot();
    for revision in [
        knative_revision(
            "hello-00001",
            serde_json::json!({
                "timeoutSeconds": 60,
                "responseStartTimeoutSeconds": 10,
                "idleTimeoutSeconds": 5,
            }),
        ),
        knative_revision("hello-00002", serde_json::json!({ "timeoutSeconds": 90 })),
    ] {
        let backend = controller::endpoints::backend(&revision, []);
        s.backends.insert(backend.key.clone(), backend);
    }
    let Translation::Ready(parts) = as_gateway_sees_it(&s).translate().unwrap() else {
        panic!("consistent resources must translate")
    };
    let limits = |name: &str| {
        let r = parts.revisions.iter().find(|r| r.name == name).unwrap();
        (r.timeout, r.response_start_timeout, r.idle_timeout)
    };
    let secs = Duration::from_secs;
    assert_eq!(
        limits("hello-00001"),
        (secs(60), Some(secs(10)), Some(secs(5)))
    );
    assert_eq!(
        limits("hello-00002"),
        (secs(90), Some(secs(90)), None),
        "unset: the response start bounded by the timeout, no idle limit"
    );
}

#[test]
fn the_gateway_waits_until_routed_clusters_have_endpoints() {
    let mut seen = as_gateway_sees_it(&snapshot());
    seen.assignments.remove("default/hello-00002");
    assert!(matches!(seen.translate().unwrap(), Translation::Waiting(_)));
    let mut seen = as_gateway_sees_it(&snapshot());
    seen.clusters.remove("default/hello-00001");
    assert!(matches!(seen.translate().unwrap(), Translation::Waiting(_)));
    let mut seen = as_gateway_sees_it(&snapshot());
    seen.route_configs.clear();
    assert!(matches!(seen.translate().unwrap(), Translation::Waiting(_)));
}
