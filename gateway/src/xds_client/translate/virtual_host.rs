//! One Envoy virtual host → one gateway [`Route`].

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::ClusterSpecifier;
use envoy_types::pb::envoy::config::route::v3::{HeaderMatcher, VirtualHost};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::google::protobuf::Duration as ProtoDuration;

use super::revision_key;
use crate::route_table::{Route, TagTarget, WeightedTarget};

/// The header selecting a tagged revision.
const TAG_HEADER: &str = "knative-serving-tag";

/// What the routes to one cluster say about its limits, for a control plane that puts
/// no fnmesh metadata on the cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct RouteTimeouts {
    /// The longest route `timeout`.
    pub(super) timeout: Option<Duration>,
    /// The longest route `idle_timeout`; `None` as soon as one route has none (or
    /// zero, which disables Envoy's): then that cluster has no idle limit.
    pub(super) idle: Option<Duration>,
}

impl RouteTimeouts {
    /// Folds in another route's limits: a cluster gets the most generous of them.
    fn widen(&mut self, other: Self) {
        self.timeout = self.timeout.max(other.timeout);
        self.idle = self.idle.zip(other.idle).map(|(a, b)| a.max(b));
    }
}

/// The route for `vh`, or `None` when it has no usable host or no untagged traffic
/// (logged; a generic control plane may send shapes the gateway does not model).
/// Hosts already claimed by an earlier virtual host are dropped, as Envoy's first
/// match would. Records, per routed cluster, the most generous route limits in
/// `timeouts`.
pub(super) fn route(
    vh: &VirtualHost,
    hosts_seen: &mut BTreeSet<String>,
    timeouts: &mut BTreeMap<String, RouteTimeouts>,
) -> Option<Route> {
    let mut hosts = Vec::new();
    for domain in &vh.domains {
        let host = domain
            .strip_suffix(":*")
            .unwrap_or(domain)
            .to_ascii_lowercase();
        if host.contains('*') {
            tracing::debug!(vhost = %vh.name, %domain, "wildcard domain not served by the gateway");
            continue;
        }
        if hosts_seen.contains(&host) || hosts.contains(&host) {
            continue;
        }
        hosts.push(host);
    }
    let mut traffic: Option<Vec<WeightedTarget>> = None;
    let mut tags = Vec::new();
    let mut used: Vec<(String, RouteTimeouts)> = Vec::new();
    for route in &vh.routes {
        let Some(Action::Route(action)) = &route.action else {
            continue;
        };
        let targets: Vec<(&str, u32)> = match &action.cluster_specifier {
            Some(ClusterSpecifier::Cluster(name)) => vec![(name, 1)],
            Some(ClusterSpecifier::WeightedClusters(weighted)) => weighted
                .clusters
                .iter()
                .map(|c| (c.name.as_str(), c.weight.as_ref().map_or(0, |w| w.value)))
                .collect(),
            _ => continue,
        };
        let Some(keys) = targets
            .iter()
            .map(|(name, _)| revision_key(name))
            .collect::<Option<Vec<_>>>()
        else {
            tracing::warn!(vhost = %vh.name, "route to a cluster not named <namespace>/<revision>; skipped");
            continue;
        };
        let headers = route.r#match.as_ref().map_or(&[][..], |m| &m.headers[..]);
        match (headers, &keys[..]) {
            ([], _) if traffic.is_none() => {
                traffic = Some(
                    keys.into_iter()
                        .zip(&targets)
                        .map(|(revision, (_, weight))| WeightedTarget {
                            revision,
                            weight: *weight,
                        })
                        .collect(),
                );
            }
            ([matcher], [revision]) if tag_of(matcher).is_some() => {
                let tag = tag_of(matcher).unwrap_or_default().to_owned();
                if tags.iter().any(|t: &TagTarget| t.tag == tag) {
                    continue;
                }
                tags.push(TagTarget {
                    tag,
                    revision: revision.clone(),
                });
            }
            _ => {
                tracing::debug!(vhost = %vh.name, route = %route.name, "route shape not modelled; skipped");
                continue;
            }
        }
        let timeout = RouteTimeouts {
            timeout: action.timeout.as_ref().and_then(non_zero),
            idle: action.idle_timeout.as_ref().and_then(non_zero),
        };
        used.extend(
            targets
                .iter()
                .map(|(name, _)| ((*name).to_owned(), timeout)),
        );
    }
    let traffic = traffic.filter(|t| t.iter().any(|w| w.weight > 0));
    let (Some(traffic), false) = (traffic, hosts.is_empty()) else {
        tracing::warn!(vhost = %vh.name, "virtual host without hosts or untagged traffic; skipped");
        return None;
    };
    hosts_seen.extend(hosts.iter().cloned());
    for (name, timeout) in used {
        match timeouts.entry(name) {
            Entry::Vacant(entry) => {
                entry.insert(timeout);
            }
            Entry::Occupied(mut entry) => entry.get_mut().widen(timeout),
        }
    }
    Some(Route {
        hosts,
        traffic,
        tags,
    })
}

/// A protobuf duration that is a positive limit (zero, negative: none).
fn non_zero(duration: &ProtoDuration) -> Option<Duration> {
    let seconds = u64::try_from(duration.seconds).ok()?;
    let nanos = u32::try_from(duration.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)?;
    Some(Duration::new(seconds, nanos)).filter(|d| !d.is_zero())
}

/// The tag an exact `Knative-Serving-Tag` match selects.
fn tag_of(matcher: &HeaderMatcher) -> Option<&str> {
    if !matcher.name.eq_ignore_ascii_case(TAG_HEADER) || matcher.invert_match {
        return None;
    }
    #[allow(deprecated)]
    match &matcher.header_match_specifier {
        Some(HeaderMatchSpecifier::ExactMatch(tag)) => Some(tag),
        Some(HeaderMatchSpecifier::StringMatch(m)) if !m.ignore_case => match &m.match_pattern {
            Some(MatchPattern::Exact(tag)) => Some(tag),
            _ => None,
        },
        _ => None,
    }
}
