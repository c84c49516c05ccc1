//! The per-stream protocol, driven by a fake Envoy that subscribes and ACKs the way
//! Envoy does (CDS/LDS wildcard, EDS for every cluster it was given, RDS by name).

use std::collections::{BTreeMap, VecDeque};

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::google::protobuf::{Struct, Value};
use envoy_types::pb::google::rpc::Status;
use prost::Message;

use super::*;
use crate::routing::{ObjectKey, ResolvedRoute, ResolvedTarget, RevisionBackend, RoutingSnapshot};
use crate::xds::resources::resources;

fn snapshot(version: u64, revisions: &[&str], route_to: &[(&str, u32)]) -> Arc<Resources> {
    let mut s = RoutingSnapshot {
        version,
        ..Default::default()
    };
    for (i, name) in revisions.iter().enumerate() {
        let key = ObjectKey::new("default", *name);
        s.backends.insert(
            key.clone(),
            RevisionBackend::with_default_timeouts(
                key,
                Default::default(),
                vec![SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16))],
            ),
        );
    }
    let route = ResolvedRoute {
        key: ObjectKey::new("default", "hello"),
        host: "hello.default.example.com".into(),
        targets: route_to
            .iter()
            .map(|(revision, percent)| ResolvedTarget {
                revision: (*revision).into(),
                percent: *percent,
                tag: None,
                tag_host: None,
            })
            .collect(),
    };
    s.routes.insert(route.key.clone(), route);
    Arc::new(resources(&s))
}

fn request(kind: ResourceType, names: &[String], version: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        version_info: version.into(),
        resource_names: names.to_vec(),
        type_url: kind.type_url().into(),
        response_nonce: nonce.into(),
        ..Default::default()
    }
}

/// What one response carried, as names (for RDS: the clusters it routes to).
fn names(response: &DiscoveryResponse) -> Vec<String> {
    let kind = ResourceType::from_type_url(&response.type_url).unwrap();
    response
        .resources
        .iter()
        .flat_map(|any| match kind {
            ResourceType::Cluster => vec![Cluster::decode(&*any.value).unwrap().name],
            ResourceType::Endpoint => {
                vec![
                    ClusterLoadAssignment::decode(&*any.value)
                        .unwrap()
                        .cluster_name,
                ]
            }
            ResourceType::Listener => vec![Listener::decode(&*any.value).unwrap().name],
            ResourceType::Route => {
                let routes = RouteConfiguration::decode(&*any.value).unwrap();
                referenced_clusters(&routes).into_iter().collect()
            }
        })
        .collect()
}

struct FakeEnvoy {
    stream: AdsStream,
    /// Per type: subscribed names, last version, last nonce.
    subscriptions: BTreeMap<ResourceType, (Vec<String>, String, String)>,
    log: Vec<(ResourceType, Vec<String>)>,
}

impl FakeEnvoy {
    fn connect(resources: Arc<Resources>) -> Self {
        let mut envoy = Self {
            stream: AdsStream::new(resources),
            subscriptions: BTreeMap::new(),
            log: Vec::new(),
        };
        let mut first = request(ResourceType::Cluster, &[], "", "");
        first.node = Some(Node {
            id: "envoy".into(),
            metadata: Some(Struct {
                fields: [(
                    LISTEN_ADDR_METADATA_KEY.to_owned(),
                    Value {
                        kind: Some(Kind::StringValue("127.0.0.1:18080".into())),
                    },
                )]
                .into(),
            }),
            ..Default::default()
        });
        let out = envoy.stream.on_request(first);
        envoy.handle(out);
        for kind in [ResourceType::Listener, ResourceType::Route] {
            let names = match kind {
                ResourceType::Route => vec![ROUTE_CONFIG_NAME.to_owned()],
                _ => Vec::new(),
            };
            envoy.subscribe(kind, names);
        }
        envoy
    }

    fn subscribe(&mut self, kind: ResourceType, names: Vec<String>) {
        let entry = self.subscriptions.entry(kind).or_default();
        entry.0 = names;
        let (names, version, nonce) = entry.clone();
        let out = self
            .stream
            .on_request(request(kind, &names, &version, &nonce));
        self.handle(out);
    }

    fn update(&mut self, resources: Arc<Resources>) {
        let out = self.stream.on_resources(resources);
        self.handle(out);
    }

    /// Processes responses like Envoy: ACK each, and follow new clusters with EDS.
    fn handle(&mut self, responses: Vec<DiscoveryResponse>) {
        let mut queue = VecDeque::from(responses);
        while let Some(response) = queue.pop_front() {
            let kind = ResourceType::from_type_url(&response.type_url).unwrap();
            let got = names(&response);
            self.log.push((kind, got.clone()));
            let entry = self.subscriptions.entry(kind).or_default();
            entry.1.clone_from(&response.version_info);
            entry.2.clone_from(&response.nonce);
            let ack = request(kind, &entry.0, &entry.1, &entry.2);
            queue.extend(self.stream.on_request(ack));
            if kind == ResourceType::Cluster {
                let eds = self
                    .subscriptions
                    .entry(ResourceType::Endpoint)
                    .or_default();
                if eds.0 != got {
                    eds.0 = got;
                    let r = request(ResourceType::Endpoint, &eds.0, &eds.1, &eds.2);
                    queue.extend(self.stream.on_request(r));
                }
            }
        }
    }

    fn position(&self, from: usize, what: impl Fn(&(ResourceType, Vec<String>)) -> bool) -> usize {
        from + self.log[from..]
            .iter()
            .position(what)
            .expect("expected push missing")
    }
}

#[test]
fn routes_wait_for_acked_clusters_and_their_endpoints() {
    let mut stream = AdsStream::new(snapshot(1, &["a"], &[("a", 100)]));
    let cds = stream.on_request(request(ResourceType::Cluster, &[], "", ""));
    assert_eq!(cds.len(), 1);
    let rds_names = [ROUTE_CONFIG_NAME.to_owned()];
    assert!(
        stream
            .on_request(request(ResourceType::Route, &rds_names, "", ""))
            .is_empty(),
        "routes to an unacknowledged cluster are held back"
    );
    let ack = request(
        ResourceType::Cluster,
        &[],
        &cds[0].version_info,
        &cds[0].nonce,
    );
    assert!(stream.on_request(ack).is_empty(), "still no endpoints sent");
    let eds = stream.on_request(request(
        ResourceType::Endpoint,
        &["default/a".into()],
        "",
        "",
    ));
    let kinds: Vec<_> = eds.iter().map(|r| r.type_url.as_str()).collect();
    assert_eq!(
        kinds,
        [
            ResourceType::Endpoint.type_url(),
            ResourceType::Route.type_url()
        ],
        "endpoints, then the routes they unblock"
    );
}

#[test]
fn listener_address_comes_from_node_metadata() {
    let envoy = FakeEnvoy::connect(snapshot(1, &["a"], &[("a", 100)]));
    assert_eq!(
        envoy.stream.listen_addr,
        "127.0.0.1:18080".parse::<SocketAddr>().unwrap()
    );
    let mut plain = AdsStream::new(snapshot(1, &["a"], &[("a", 100)]));
    plain.on_request(request(ResourceType::Listener, &[], "", ""));
    assert_eq!(plain.listen_addr, DEFAULT_LISTEN_ADDR);
}

#[test]
fn stale_nonces_are_ignored_and_nacks_keep_the_previous_version() {
    let mut envoy = FakeEnvoy::connect(snapshot(1, &["a"], &[("a", 100)]));
    let stale = request(ResourceType::Cluster, &[], "0", "nonce-from-long-ago");
    assert!(envoy.stream.on_request(stale).is_empty());

    let before = envoy.stream.types[ResourceType::Cluster.index()]
        .acked
        .clone()
        .unwrap();
    let out = envoy
        .stream
        .on_resources(snapshot(2, &["a", "b"], &[("a", 100)]));
    let cds = out
        .iter()
        .find(|r| r.type_url == ResourceType::Cluster.type_url())
        .unwrap();
    let mut nack = request(ResourceType::Cluster, &[], &before.version, &cds.nonce);
    nack.error_detail = Some(Status {
        code: 3,
        message: "bad cluster".into(),
        details: Vec::new(),
    });
    assert!(
        envoy.stream.on_request(nack).is_empty(),
        "a NACK is not answered by the same push"
    );
    let acked = envoy.stream.types[ResourceType::Cluster.index()]
        .acked
        .as_ref()
        .unwrap();
    assert_eq!(
        acked.version, before.version,
        "the NACKed version is not taken as applied"
    );
}

#[test]
fn rollout_is_make_before_break() {
    let mut envoy = FakeEnvoy::connect(snapshot(1, &["a"], &[("a", 100)]));
    assert!(
        envoy
            .log
            .iter()
            .any(|(k, n)| *k == ResourceType::Route && n == &["default/a"])
    );
    let start = envoy.log.len();

    // Revision a disappears entirely while b takes all traffic.
    envoy.update(snapshot(2, &["b"], &[("b", 100)]));
    let a = "default/a".to_owned();
    let b = "default/b".to_owned();
    let with_both = envoy.position(start, |(k, n)| {
        *k == ResourceType::Cluster && n.contains(&a) && n.contains(&b)
    });
    let endpoints_b = envoy.position(start, |(k, n)| {
        *k == ResourceType::Endpoint && n.contains(&b)
    });
    let routes_b = envoy.position(start, |(k, n)| {
        *k == ResourceType::Route && n == std::slice::from_ref(&b)
    });
    let without_a = envoy.position(start, |(k, n)| {
        *k == ResourceType::Cluster && !n.contains(&a)
    });
    assert!(with_both < endpoints_b, "{:?}", envoy.log);
    assert!(endpoints_b < routes_b, "{:?}", envoy.log);
    assert!(routes_b < without_a, "{:?}", envoy.log);
    // And it settles: nothing more to push.
    assert!(envoy.stream.push().is_empty());
}

#[test]
fn unchanged_types_are_not_pushed_again() {
    let mut envoy = FakeEnvoy::connect(snapshot(1, &["a"], &[("a", 100)]));
    let start = envoy.log.len();
    // Only an endpoint moves: just EDS goes out.
    let mut moved = (*snapshot(2, &["a"], &[("a", 100)])).clone();
    moved.assignments = snapshot(3, &["x", "a"], &[("a", 100)]).assignments.clone();
    moved.assignments.remove("default/x");
    envoy.update(Arc::new(moved));
    let kinds: Vec<_> = envoy.log[start..].iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, [ResourceType::Endpoint]);
}

#[test]
fn an_endpoint_change_pushes_only_that_revisions_assignment() {
    let revisions = ["a", "b", "c"];
    let mut envoy = FakeEnvoy::connect(snapshot(1, &revisions, &[("a", 100)]));
    // The first EDS push carries every assignment.
    let first_eds = envoy
        .log
        .iter()
        .find(|(k, _)| *k == ResourceType::Endpoint)
        .unwrap();
    assert_eq!(first_eds.1.len(), 3, "{:?}", envoy.log);
    let start = envoy.log.len();
    // b gets another replica; a and c are unchanged.
    let mut scaled = (*snapshot(2, &revisions, &[("a", 100)])).clone();
    // Third in this list, b's endpoint becomes 127.0.0.1:9002.
    let more = snapshot(3, &["x", "y", "b"], &[("a", 100)]);
    scaled
        .assignments
        .insert("default/b".into(), more.assignments["default/b"].clone());
    envoy.update(Arc::new(scaled));
    assert_eq!(
        envoy.log[start..],
        [(ResourceType::Endpoint, vec!["default/b".to_owned()])],
    );
    assert!(envoy.stream.push().is_empty());
}

#[test]
fn a_new_revision_pushes_only_its_own_assignment() {
    let mut envoy = FakeEnvoy::connect(snapshot(1, &["a", "b"], &[("a", 100)]));
    let start = envoy.log.len();
    envoy.update(snapshot(2, &["a", "b", "c"], &[("a", 100)]));
    let eds: Vec<_> = envoy.log[start..]
        .iter()
        .filter(|(k, _)| *k == ResourceType::Endpoint)
        .collect();
    assert_eq!(
        eds,
        [&(ResourceType::Endpoint, vec!["default/c".to_owned()])],
        "{:?}",
        envoy.log
    );
}
