//! The immutable routing snapshot: host → route → weighted revision, compiled once per
//! configuration push so a request costs one hash lookup, one random number and a
//! binary search over a handful of cumulative weights.

mod knative;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::collections::HashSet;

use http::HeaderValue;

use crate::host::{host_key, is_dns_label, is_valid_host};
use crate::revision::{Revision, RevisionKey};

pub use knative::{KnativeRoute, TrafficTarget};

/// One virtual host: the host names it answers, its weighted traffic split, and the
/// tags selectable with the `Knative-Serving-Tag` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Host names (no port) this route answers, matched case-insensitively.
    pub hosts: Vec<String>,
    /// The split for requests without a matching tag header. Zero weights are allowed
    /// (a target kept only for its tag) but the sum must be positive.
    pub traffic: Vec<WeightedTarget>,
    /// Tag → revision, for `Knative-Serving-Tag: <tag>` on this route's hosts.
    pub tags: Vec<TagTarget>,
}

/// A revision and its share of a route's traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedTarget {
    /// The revision receiving the share.
    pub revision: RevisionKey,
    /// Relative weight (Knative percents, or any xDS weights).
    pub weight: u32,
}

/// A traffic tag pinned to one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTarget {
    /// The tag, a DNS-1035 label.
    pub tag: String,
    /// The revision the tag selects.
    pub revision: RevisionKey,
}

/// Why a route table was refused. Nothing is applied when construction fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteTableError {
    /// Two revisions share a key.
    #[error("revision {0} is declared twice")]
    DuplicateRevision(RevisionKey),
    /// A revision has an empty name or namespace, or one unusable in a header.
    #[error("revision {0:?} has an invalid name or namespace")]
    InvalidRevisionName(RevisionKey),
    /// A revision has a zero timeout.
    #[error("revision {0} has a zero timeout")]
    ZeroTimeout(RevisionKey),
    /// A revision lists the same endpoint twice.
    #[error("revision {revision} lists endpoint {endpoint} twice")]
    DuplicateEndpoint {
        /// The revision.
        revision: RevisionKey,
        /// The repeated endpoint.
        endpoint: std::net::SocketAddr,
    },
    /// A route answers no host.
    #[error("route #{0} has no hosts")]
    NoHosts(usize),
    /// A host name is empty or contains characters no DNS name has.
    #[error("host {0:?} is not a valid host name")]
    InvalidHost(String),
    /// Two routes (or one route twice) claim the same host.
    #[error("host {0} is claimed twice")]
    DuplicateHost(String),
    /// A route targets a revision the table does not declare.
    #[error("route for {host} references unknown revision {revision}")]
    UnknownRevision {
        /// The route's first host.
        host: String,
        /// The missing revision.
        revision: RevisionKey,
    },
    /// A route's weights sum to zero, so it could serve nothing.
    #[error("route for {0} has no traffic (weights sum to zero)")]
    NoTraffic(String),
    /// A tag is not a DNS-1035 label.
    #[error("route for {host}: tag {tag:?} is not a DNS-1035 label")]
    InvalidTag {
        /// The route's first host.
        host: String,
        /// The offending tag.
        tag: String,
    },
    /// A tag appears twice on one route.
    #[error("route for {host}: tag {tag:?} appears twice")]
    DuplicateTag {
        /// The route's first host.
        host: String,
        /// The repeated tag.
        tag: String,
    },
    /// Knative traffic percents must sum to exactly 100.
    #[error("route {route}: traffic percents sum to {sum}, not 100")]
    PercentSum {
        /// `namespace/name` of the Knative route.
        route: String,
        /// The actual sum.
        sum: u64,
    },
}

/// An immutable routing snapshot. Build one with [`RouteTable::try_new`] (xDS-shaped:
/// explicit hosts) or [`RouteTable::from_knative`] (Knative routes + a domain), then
/// publish it with [`crate::GatewayConfig::store`].
#[derive(Debug, Default)]
pub struct RouteTable {
    hosts: HashMap<Box<str>, usize>,
    routes: Vec<CompiledRoute>,
    revisions: Vec<CompiledRevision>,
    by_key: HashMap<RevisionKey, usize>,
}

#[derive(Debug)]
struct CompiledRoute {
    /// `(cumulative weight end, revision index)`, zero weights dropped.
    split: Box<[(u64, usize)]>,
    total: u64,
    tags: Box<[(Box<str>, usize)]>,
}

/// A revision plus everything the proxy would otherwise build per request.
#[derive(Debug)]
pub(crate) struct CompiledRevision {
    pub(crate) spec: Revision,
    pub(crate) name_header: HeaderValue,
    pub(crate) namespace_header: HeaderValue,
}

// === impl RouteTable ===

impl RouteTable {
    /// A table that routes nothing: every request gets 404.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Validates and compiles `routes` over `revisions`.
    pub fn try_new(routes: Vec<Route>, revisions: Vec<Revision>) -> Result<Self, RouteTableError> {
        let mut table = Self::default();
        for revision in revisions {
            let compiled = CompiledRevision::try_new(revision)?;
            let key = compiled.spec.key();
            if table
                .by_key
                .insert(key.clone(), table.revisions.len())
                .is_some()
            {
                return Err(RouteTableError::DuplicateRevision(key));
            }
            table.revisions.push(compiled);
        }
        for (index, route) in routes.into_iter().enumerate() {
            let Some(first_host) = route.hosts.first() else {
                return Err(RouteTableError::NoHosts(index));
            };
            let first_host = first_host.clone();
            for host in &route.hosts {
                let key = host_key(host);
                if !is_valid_host(&key) {
                    return Err(RouteTableError::InvalidHost(host.clone()));
                }
                let key: Box<str> = key.into();
                if table
                    .hosts
                    .insert(key.clone(), table.routes.len())
                    .is_some()
                {
                    return Err(RouteTableError::DuplicateHost(key.into()));
                }
            }
            let compiled = table.compile_route(&first_host, route)?;
            table.routes.push(compiled);
        }
        Ok(table)
    }

    fn compile_route(&self, host: &str, route: Route) -> Result<CompiledRoute, RouteTableError> {
        let index_of = |revision: &RevisionKey| {
            self.by_key
                .get(revision)
                .copied()
                .ok_or_else(|| RouteTableError::UnknownRevision {
                    host: host.to_owned(),
                    revision: revision.clone(),
                })
        };
        let mut split = Vec::with_capacity(route.traffic.len());
        let mut total = 0u64;
        for target in &route.traffic {
            let index = index_of(&target.revision)?;
            if target.weight > 0 {
                total += u64::from(target.weight);
                split.push((total, index));
            }
        }
        if total == 0 {
            return Err(RouteTableError::NoTraffic(host.to_owned()));
        }
        let mut seen = HashSet::new();
        let mut tags = Vec::with_capacity(route.tags.len());
        for TagTarget { tag, revision } in route.tags {
            if !is_dns_label(&tag) {
                return Err(RouteTableError::InvalidTag {
                    host: host.to_owned(),
                    tag,
                });
            }
            if !seen.insert(tag.clone()) {
                return Err(RouteTableError::DuplicateTag {
                    host: host.to_owned(),
                    tag,
                });
            }
            tags.push((tag.into_boxed_str(), index_of(&revision)?));
        }
        Ok(CompiledRoute {
            split: split.into(),
            total,
            tags: tags.into(),
        })
    }

    /// The revision declared under `key`, if any.
    pub fn revision(&self, key: &RevisionKey) -> Option<&Revision> {
        self.by_key.get(key).map(|&i| &self.revisions[i].spec)
    }

    /// Every declared revision, in declaration order.
    pub fn revisions(&self) -> impl Iterator<Item = &Revision> {
        self.revisions.iter().map(|r| &r.spec)
    }

    /// Every host the table answers (lower case, no port), in no particular order.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.keys().map(AsRef::as_ref)
    }

    /// Resolves `host` (raw `Host` value) and an optional `Knative-Serving-Tag` value to
    /// a revision index, drawing the weighted pick from `roll` (uniform over `u64`).
    /// `None` means no route answers the host.
    pub(crate) fn resolve(&self, host: &str, tag: Option<&[u8]>, roll: u64) -> Option<usize> {
        let route = &self.routes[*self.hosts.get(host_key(host).as_ref())?];
        if let Some(tag) = tag
            && let Some((_, index)) = route.tags.iter().find(|(t, _)| t.as_bytes() == tag)
        {
            return Some(*index);
        }
        Some(route.pick(roll))
    }

    pub(crate) fn compiled(&self, index: usize) -> &CompiledRevision {
        &self.revisions[index]
    }
}

// === impl CompiledRoute ===

impl CompiledRoute {
    fn pick(&self, roll: u64) -> usize {
        let point = roll % self.total;
        let slot = self.split.partition_point(|&(end, _)| end <= point);
        self.split[slot].1
    }
}

// === impl CompiledRevision ===

impl CompiledRevision {
    fn try_new(spec: Revision) -> Result<Self, RouteTableError> {
        let key = spec.key();
        let header = |s: &str| {
            (!s.is_empty())
                .then(|| HeaderValue::from_str(s).ok())
                .flatten()
                .ok_or_else(|| RouteTableError::InvalidRevisionName(key.clone()))
        };
        let name_header = header(&spec.name)?;
        let namespace_header = header(&spec.namespace)?;
        if spec.timeout.is_zero() {
            return Err(RouteTableError::ZeroTimeout(key));
        }
        let mut seen = HashSet::new();
        for endpoint in &spec.endpoints {
            if !seen.insert(*endpoint) {
                return Err(RouteTableError::DuplicateEndpoint {
                    revision: key,
                    endpoint: *endpoint,
                });
            }
        }
        Ok(Self {
            spec,
            name_header,
            namespace_header,
        })
    }
}
