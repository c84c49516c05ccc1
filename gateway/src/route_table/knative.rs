//! Building a table from Knative Routes: the gateway derives the host names
//! (`{name}.{namespace}.{domain}` and `{tag}-{name}.{namespace}.{domain}`) exactly as
//! Knative's ingress does, so callers hand over traffic targets, not hosts.

use crate::revision::{Revision, RevisionKey};

use super::{Route, RouteTable, RouteTableError, TagTarget, WeightedTarget};

/// A Knative Route's resolved traffic (`status.traffic`): every target names a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnativeRoute {
    /// The Route's name (the Service's name for Service-owned routes).
    pub name: String,
    /// The Route's namespace; its revisions live there too.
    pub namespace: String,
    /// Traffic targets; percents must sum to 100.
    pub traffic: Vec<TrafficTarget>,
}

/// One resolved Knative traffic target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficTarget {
    /// The revision name (in the route's namespace).
    pub revision: String,
    /// Share of the main host's traffic, 0..=100.
    pub percent: u32,
    /// Optional tag: adds the host `{tag}-{name}.{namespace}.{domain}` pinned to this
    /// revision, and makes `Knative-Serving-Tag: {tag}` select it on the main host.
    pub tag: Option<String>,
}

impl RouteTable {
    /// Compiles Knative routes under `domain` (e.g. `example.com`): each route answers
    /// `{name}.{namespace}.{domain}` with its percent split, and each tagged target gets
    /// its own host `{tag}-{name}.{namespace}.{domain}` serving only that revision.
    pub fn from_knative(
        domain: &str,
        routes: Vec<KnativeRoute>,
        revisions: Vec<Revision>,
    ) -> Result<Self, RouteTableError> {
        let mut expanded = Vec::with_capacity(routes.len());
        for route in routes {
            let sum: u64 = route.traffic.iter().map(|t| u64::from(t.percent)).sum();
            if sum != 100 {
                return Err(RouteTableError::PercentSum {
                    route: format!("{}/{}", route.namespace, route.name),
                    sum,
                });
            }
            let base = format!("{}.{}.{domain}", route.name, route.namespace);
            let key = |revision: &str| RevisionKey::new(route.namespace.clone(), revision);
            let mut tags = Vec::new();
            for target in &route.traffic {
                let Some(tag) = &target.tag else { continue };
                tags.push(TagTarget {
                    tag: tag.clone(),
                    revision: key(&target.revision),
                });
                expanded.push(Route {
                    hosts: vec![format!("{tag}-{base}")],
                    traffic: vec![WeightedTarget {
                        revision: key(&target.revision),
                        weight: 1,
                    }],
                    tags: Vec::new(),
                });
            }
            let traffic = route
                .traffic
                .iter()
                .map(|t| WeightedTarget {
                    revision: key(&t.revision),
                    weight: t.percent,
                })
                .collect();
            expanded.push(Route {
                hosts: vec![base],
                traffic,
                tags,
            });
        }
        Self::try_new(expanded, revisions)
    }
}
