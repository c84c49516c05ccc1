//! Resolved routes → the `fnmesh-routes` route configuration: a virtual host per route
//! host (traffic split, tag-header routes first) and per tag host (one revision).

use std::collections::{BTreeMap, HashSet};

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::ClusterSpecifier;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::config::route::v3::weighted_cluster::ClusterWeight;
use envoy_types::pb::envoy::config::route::v3::{
    HeaderMatcher, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, WeightedCluster,
};
use envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::google::protobuf::{Duration, UInt32Value};

use super::resources::cluster_name;
use super::{DEFAULT_TIMEOUT_SECONDS, ROUTE_CONFIG_NAME, TAG_HEADER};
use crate::routing::{ObjectKey, ResolvedRoute, RevisionBackend};

/// Platform-internal request headers a client must not be able to set: they steer
/// probes, or are ours to add. The revision and namespace headers are not removed but
/// overwritten where they are added (every route adds them): Envoy applies a virtual
/// host's removals after a weighted cluster's additions, which would strip ours on a
/// split.
const INTERNAL_HEADERS: [&str; 4] = [
    "k-network-probe",
    "k-proxy-request",
    "k-original-host",
    "knative-serving-tag",
];

/// The limits a route gives Envoy for the revisions it sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RouteLimits {
    timeout_seconds: u64,
    /// `None`: no idle limit.
    idle_timeout_seconds: Option<u64>,
}

impl RouteLimits {
    fn of(backend: Option<&RevisionBackend>) -> Self {
        backend.map_or(
            Self {
                timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
                idle_timeout_seconds: None,
            },
            |b| Self {
                timeout_seconds: b.timeout_seconds,
                idle_timeout_seconds: b.idle_timeout_seconds,
            },
        )
    }

    /// A split's limits: Envoy has one set per route, so the most generous of its
    /// revisions' (no idle limit if one has none). Our gateway reads each revision's
    /// exact limits from its cluster's metadata instead.
    fn most_generous(self, other: Self) -> Self {
        Self {
            timeout_seconds: self.timeout_seconds.max(other.timeout_seconds),
            idle_timeout_seconds: self
                .idle_timeout_seconds
                .zip(other.idle_timeout_seconds)
                .map(|(a, b)| a.max(b)),
        }
    }
}

pub(crate) fn route_configuration<'a>(
    routes: impl Iterator<Item = &'a ResolvedRoute>,
    backends: &BTreeMap<ObjectKey, RevisionBackend>,
) -> RouteConfiguration {
    let limits_of = |key: &ObjectKey| RouteLimits::of(backends.get(key));
    // Envoy refuses a whole configuration if two virtual hosts claim one domain; the
    // Route reconciler should never produce that, but a refused push would freeze every
    // route, so the later claimant is dropped instead.
    let mut claimed = HashSet::new();
    let mut virtual_hosts = Vec::new();
    for route in routes {
        let ns = &route.key.namespace;
        let key = |revision: &str| ObjectKey::new(ns.clone(), revision);
        let mut weights: Vec<(ObjectKey, u32)> = Vec::new();
        for target in route.targets.iter().filter(|t| t.percent > 0) {
            let k = key(&target.revision);
            match weights.iter_mut().find(|(existing, _)| *existing == k) {
                Some((_, w)) => *w += target.percent,
                None => weights.push((k, target.percent)),
            }
        }
        if weights.is_empty() {
            tracing::warn!(route = %route.key, "route has no traffic; not served");
            continue;
        }
        let mut vh_routes = Vec::new();
        let mut tags_seen = HashSet::new();
        for target in &route.targets {
            let Some(tag) = &target.tag else { continue };
            if !tags_seen.insert(tag.as_str()) {
                continue;
            }
            let k = key(&target.revision);
            vh_routes.push(tag_route(tag, &k, limits_of(&k)));
        }
        let split_limits = weights
            .iter()
            .map(|(k, _)| limits_of(k))
            .reduce(RouteLimits::most_generous)
            .unwrap_or(RouteLimits::of(None));
        vh_routes.push(forward("default", prefix_match(), &weights, split_limits));
        if let Some(vh) = virtual_host(&mut claimed, route.key.to_string(), &route.host, vh_routes)
        {
            virtual_hosts.push(vh);
        }
        for target in &route.targets {
            let (Some(tag), Some(host)) = (&target.tag, &target.tag_host) else {
                continue;
            };
            let k = key(&target.revision);
            let only = forward(
                "default",
                prefix_match(),
                &[(k.clone(), 100)],
                limits_of(&k),
            );
            let name = format!("{}/{tag}", route.key);
            if let Some(vh) = virtual_host(&mut claimed, name, host, vec![only]) {
                virtual_hosts.push(vh);
            }
        }
    }
    RouteConfiguration {
        name: ROUTE_CONFIG_NAME.into(),
        virtual_hosts,
        // Apply the virtual host's removals before the per-cluster additions, so the
        // Knative-Serving-Revision header we add survives the removal of the client's.
        most_specific_header_mutations_wins: true,
        ..Default::default()
    }
}

fn virtual_host(
    claimed: &mut HashSet<String>,
    name: String,
    host: &str,
    routes: Vec<Route>,
) -> Option<VirtualHost> {
    let host = host.to_ascii_lowercase();
    if !claimed.insert(host.clone()) {
        tracing::warn!(%host, vhost = %name, "host already claimed by another route; skipped");
        return None;
    }
    Some(VirtualHost {
        name,
        domains: vec![format!("{host}:*"), host],
        routes,
        request_headers_to_remove: INTERNAL_HEADERS.iter().map(|&h| h.to_owned()).collect(),
        ..Default::default()
    })
}

fn prefix_match() -> RouteMatch {
    RouteMatch {
        path_specifier: Some(PathSpecifier::Prefix("/".into())),
        ..Default::default()
    }
}

fn tag_route(tag: &str, revision: &ObjectKey, limits: RouteLimits) -> Route {
    let mut matcher = prefix_match();
    matcher.headers.push(HeaderMatcher {
        name: TAG_HEADER.into(),
        header_match_specifier: Some(HeaderMatchSpecifier::StringMatch(StringMatcher {
            match_pattern: Some(MatchPattern::Exact(tag.to_owned())),
            ..Default::default()
        })),
        ..Default::default()
    });
    forward(
        &format!("tag-{tag}"),
        matcher,
        &[(revision.clone(), 100)],
        limits,
    )
}

/// A route to one cluster (`cluster`) or several (`weighted_clusters`, zero weights
/// already dropped). Like Knative's ingress, it tells the upstream (or the activator
/// standing in for it) which revision was picked: per weighted cluster, or on the route
/// when there is only one.
///
/// Envoy enforces `limits` natively: the action's `timeout` is the overall limit
/// (`timeoutSeconds`), its `idle_timeout` the stream idle timeout (`idleTimeoutSeconds`;
/// 0 disables Envoy's, as Knative's unset means no limit; Envoy's also runs while
/// waiting for the head). Envoy has no limit on the wait for the response head alone,
/// so `responseStartTimeoutSeconds` goes only in the cluster metadata, for our gateway.
fn forward(
    name: &str,
    matcher: RouteMatch,
    weights: &[(ObjectKey, u32)],
    limits: RouteLimits,
) -> Route {
    let seconds = |seconds: u64| Duration {
        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        nanos: 0,
    };
    let timeout = Some(seconds(limits.timeout_seconds));
    let idle_timeout = Some(seconds(limits.idle_timeout_seconds.unwrap_or(0)));
    let cluster_specifier = match weights {
        [(key, _)] => ClusterSpecifier::Cluster(cluster_name(key)),
        _ => ClusterSpecifier::WeightedClusters(WeightedCluster {
            clusters: weights
                .iter()
                .map(|(key, weight)| ClusterWeight {
                    name: cluster_name(key),
                    weight: Some(UInt32Value { value: *weight }),
                    request_headers_to_add: revision_headers(key),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
    };
    let request_headers_to_add = match weights {
        [(key, _)] => revision_headers(key),
        _ => Vec::new(),
    };
    Route {
        name: name.to_owned(),
        r#match: Some(matcher),
        action: Some(Action::Route(RouteAction {
            timeout,
            idle_timeout,
            cluster_specifier: Some(cluster_specifier),
            ..Default::default()
        })),
        request_headers_to_add,
        ..Default::default()
    }
}

fn revision_headers(key: &ObjectKey) -> Vec<HeaderValueOption> {
    let header = |name: &str, value: &str| HeaderValueOption {
        header: Some(HeaderValue {
            key: name.to_owned(),
            value: value.to_owned(),
            ..Default::default()
        }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd.into(),
        ..Default::default()
    };
    vec![
        header("knative-serving-revision", &key.name),
        header("knative-serving-namespace", &key.namespace),
    ]
}
