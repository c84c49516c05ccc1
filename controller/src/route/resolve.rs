//! Traffic resolution, the pure core of the Route reconciler: every `spec.traffic`
//! entry becomes a concrete, ready Revision, following knative/serving's
//! `BuildTrafficConfiguration` — a `configurationName` target floats to the
//! Configuration's `latestReadyRevisionName`, a `revisionName` target needs that
//! Revision to exist and be Ready, and one bad target fails the whole Route (so a
//! half-resolved split is never published).

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use crds::{Condition, Configuration, Revision, RouteSpec, TrafficTarget};
use kube::runtime::reflector::{ObjectRef, Store};

use super::hosts::{host, http_url, tag_host};
use super::missing::Missing;
use crate::routing::{ObjectKey, ResolvedRoute, ResolvedTarget};

/// The label a Revision carries naming its Configuration.
pub const CONFIGURATION_LABEL: &str = "serving.knative.dev/configuration";

/// Finds an object of the Route's namespace by name.
pub trait Lookup<T> {
    fn lookup(&self, name: &str) -> Option<Arc<T>>;
}

/// A Route's traffic, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    /// What the routing table serves.
    pub route: ResolvedRoute,
    /// `status.traffic`: every target named by revision, tagged ones with their URL.
    pub traffic: Vec<TrafficTarget>,
}

/// Resolves `spec` for the Route `key` whose hosts live under `domain`.
pub fn resolve(
    key: &ObjectKey,
    spec: &RouteSpec,
    configurations: &impl Lookup<Configuration>,
    revisions: &impl Lookup<Revision>,
    domain: &str,
) -> Result<Resolution, Missing> {
    resolve_targets(spec, configurations, revisions).map(|flat| assemble(&flat, key, domain))
}

/// Every target of `spec` at the revision level, or why one cannot be resolved.
pub(crate) fn resolve_targets(
    spec: &RouteSpec,
    configurations: &impl Lookup<Configuration>,
    revisions: &impl Lookup<Revision>,
) -> Result<Vec<Flat>, Missing> {
    let mut flat: Vec<Flat> = Vec::new();
    let mut deferred: Option<Missing> = None;
    for (index, target) in spec.traffic.iter().flatten().enumerate() {
        match resolve_target(index, target, configurations, revisions) {
            Ok(f) => flat.push(f),
            // As Knative: look at every target, report a failure over an in-progress
            // wait, and among equals the last one seen.
            Err(m) => {
                if deferred.is_none() || m.is_failure() {
                    deferred = Some(m);
                }
            }
        }
    }
    match deferred {
        Some(missing) => Err(missing),
        None => Ok(flat),
    }
}

/// The status and routing views of resolved targets.
pub(crate) fn assemble(flat: &[Flat], key: &ObjectKey, domain: &str) -> Resolution {
    Resolution {
        traffic: status_traffic(flat, key, domain),
        route: ResolvedRoute {
            key: key.clone(),
            host: host(key, domain),
            targets: routing_targets(flat, key, domain),
        },
    }
}

/// One spec target at the revision level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Flat {
    pub(crate) tag: Option<String>,
    pub(crate) revision: String,
    pub(crate) latest: bool,
    pub(crate) percent: i64,
    /// The Configuration a `configurationName` target floats with (its revision is
    /// the latest ready one, and may be rolled out gradually).
    pub(crate) floats_with: Option<String>,
}

fn resolve_target(
    index: usize,
    target: &TrafficTarget,
    configurations: &impl Lookup<Configuration>,
    revisions: &impl Lookup<Revision>,
) -> Result<Flat, Missing> {
    let mut floats_with = None;
    let (revision, latest) = if !target.revision_name().is_empty() {
        let name = target.revision_name();
        let rev = revisions
            .lookup(name)
            .ok_or_else(|| Missing::RevisionMissing(name.into()))?;
        match ready_status(rev.status.as_ref().and_then(|s| s.conditions.as_deref())) {
            "True" => {}
            "False" => return Err(Missing::RevisionFailed(name.into())),
            _ => return Err(Missing::RevisionNotReady(name.into())),
        }
        // A pinned revision still needs its Configuration, as in Knative.
        if let Some(config) = rev
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(CONFIGURATION_LABEL))
            && configurations.lookup(config).is_none()
        {
            return Err(Missing::ConfigurationMissing(config.clone()));
        }
        (name.to_string(), target.latest_revision.unwrap_or(false))
    } else if !target.configuration_name().is_empty() {
        let name = target.configuration_name();
        let config = configurations
            .lookup(name)
            .ok_or_else(|| Missing::ConfigurationMissing(name.into()))?;
        let status = config.status.as_ref();
        let latest_ready = status
            .and_then(|s| s.latest_ready_revision_name.as_deref())
            .unwrap_or_default();
        if latest_ready.is_empty() {
            return Err(
                match ready_status(status.and_then(|s| s.conditions.as_deref())) {
                    "False" => Missing::ConfigurationFailed(name.into()),
                    _ => Missing::ConfigurationNotReady(name.into()),
                },
            );
        }
        revisions
            .lookup(latest_ready)
            .ok_or_else(|| Missing::RevisionMissing(latest_ready.into()))?;
        floats_with = Some(name.to_string());
        (
            latest_ready.to_string(),
            target.latest_revision.unwrap_or(true),
        )
    } else {
        return Err(Missing::NoTarget(index));
    };
    Ok(Flat {
        tag: target.tag.clone().filter(|t| !t.is_empty()),
        revision,
        latest,
        percent: target.percent.unwrap_or(0),
        floats_with,
    })
}

/// The `Ready` condition's status, `Unknown` when absent.
fn ready_status(conditions: Option<&[Condition]>) -> &str {
    conditions
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map_or("Unknown", |c| c.status.as_str())
}

/// Knative merges targets equal in tag, revision and `latestRevision`, keeping order.
fn status_traffic(flat: &[Flat], key: &ObjectKey, domain: &str) -> Vec<TrafficTarget> {
    let mut out: Vec<TrafficTarget> = Vec::with_capacity(flat.len());
    for f in flat {
        let same = out.iter_mut().find(|t| {
            t.tag == f.tag
                && t.revision_name.as_deref() == Some(f.revision.as_str())
                && t.latest_revision == Some(f.latest)
        });
        if let Some(t) = same {
            t.percent = Some(t.percent.unwrap_or(0) + f.percent);
            continue;
        }
        out.push(TrafficTarget {
            tag: f.tag.clone(),
            revision_name: Some(f.revision.clone()),
            configuration_name: None,
            latest_revision: Some(f.latest),
            percent: Some(f.percent),
            url: f
                .tag
                .as_deref()
                .map(|t| http_url(&tag_host(t, key, domain))),
        });
    }
    out
}

/// The routing table's view: one entry per (tag, revision); untagged targets with
/// no traffic carry nothing and are left out, tagged ones stay for their tag host.
fn routing_targets(flat: &[Flat], key: &ObjectKey, domain: &str) -> Vec<ResolvedTarget> {
    let mut out: Vec<ResolvedTarget> = Vec::with_capacity(flat.len());
    for f in flat {
        let percent = u32::try_from(f.percent.clamp(0, 100)).unwrap_or_default();
        if f.tag.is_none() && percent == 0 {
            continue;
        }
        if let Some(t) = out
            .iter_mut()
            .find(|t| t.tag == f.tag && t.revision == f.revision)
        {
            t.percent += percent;
            continue;
        }
        out.push(ResolvedTarget {
            revision: f.revision.clone(),
            percent,
            tag: f.tag.clone(),
            tag_host: f.tag.as_deref().map(|t| tag_host(t, key, domain)),
        });
    }
    out
}

// === impl Lookup ===

impl<T> Lookup<T> for BTreeMap<String, Arc<T>> {
    fn lookup(&self, name: &str) -> Option<Arc<T>> {
        self.get(name).cloned()
    }
}

/// A reflector store seen from one namespace.
pub struct InNamespace<'a, K: kube::Resource + Clone + 'static>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    pub store: &'a Store<K>,
    pub namespace: &'a str,
}

impl<K> std::fmt::Debug for InNamespace<'_, K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InNamespace")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl<K> Lookup<K> for InNamespace<'_, K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    fn lookup(&self, name: &str) -> Option<Arc<K>> {
        self.store.get(&ObjectRef::new(name).within(self.namespace))
    }
}
