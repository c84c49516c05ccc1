//! A Service's status from its Configuration's and Route's, as Knative's
//! `PropagateConfigurationStatus` / `PropagateRouteStatus` compute it: `Ready` =
//! `ConfigurationsReady` ∧ `RoutesReady`, each mirroring the child's `Ready` (reason and
//! message included) once the child has observed its latest spec.

use crds::{Condition, Configuration, Route, Service, ServiceStatus, TrafficTarget};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::conditions::{ConditionManager, ConditionSet, FALSE, READY, TRUE, UNKNOWN, find};

pub const CONFIGURATIONS_READY: &str = "ConfigurationsReady";
pub const ROUTES_READY: &str = "RoutesReady";
pub const SERVICE_CONDITIONS: ConditionSet =
    ConditionSet::living(&[CONFIGURATIONS_READY, ROUTES_READY]);

/// What the Service reconciler found where a child should be.
#[derive(Clone, Copy, Debug)]
pub enum Child<'a, T> {
    /// The child exists and this Service controls it.
    Owned(&'a T),
    /// An object of that name exists but belongs to someone else.
    NotOwned,
}

/// The Service's new status. `route` is `None` when the Route was deliberately left
/// alone this time (a user-named revision not created yet): its part stays as it was.
pub fn service_status(
    svc: &Service,
    config: Child<'_, Configuration>,
    route: Option<Child<'_, Route>>,
    now: Time,
) -> ServiceStatus {
    let mut status = svc.status.clone().unwrap_or_default();
    let mut conds = status.conditions.take().unwrap_or_default();
    let mut m = SERVICE_CONDITIONS.manage(&mut conds, now);
    m.initialize();
    status.observed_generation = svc.metadata.generation;

    match config {
        Child::NotOwned => m.mark_false(
            CONFIGURATIONS_READY,
            "NotOwned",
            &format!(
                "There is an existing Configuration {:?} that we do not own.",
                svc.name_any()
            ),
        ),
        Child::Owned(cfg)
            if !observed(
                cfg.metadata.generation,
                cfg.status.as_ref().and_then(|s| s.observed_generation),
            ) =>
        {
            m.mark_unknown(
                CONFIGURATIONS_READY,
                "OutOfDate",
                "The Configuration is still working to reflect the latest desired specification.",
            );
        }
        Child::Owned(cfg) => {
            let cs = cfg.status.clone().unwrap_or_default();
            status.latest_created_revision_name = cs.latest_created_revision_name;
            status.latest_ready_revision_name = cs.latest_ready_revision_name;
            mirror(&mut m, CONFIGURATIONS_READY, cs.conditions.as_deref());
        }
    }

    match route {
        None => {}
        Some(Child::NotOwned) => m.mark_false(
            ROUTES_READY,
            "NotOwned",
            &format!(
                "There is an existing Route {:?} that we do not own.",
                svc.name_any()
            ),
        ),
        Some(Child::Owned(route))
            if !observed(
                route.metadata.generation,
                route.status.as_ref().and_then(|s| s.observed_generation),
            ) =>
        {
            m.mark_unknown(
                ROUTES_READY,
                "OutOfDate",
                "The Route is still working to reflect the latest desired specification.",
            );
        }
        Some(Child::Owned(route)) => {
            let rs = route.status.clone().unwrap_or_default();
            status.url = rs.url;
            status.address = rs.address;
            status.traffic = rs.traffic;
            mirror(&mut m, ROUTES_READY, rs.conditions.as_deref());
            if m.is_true(ROUTES_READY) && !traffic_migrated(route, config) {
                m.mark_unknown(
                    ROUTES_READY,
                    "TrafficNotMigrated",
                    "Traffic is not yet migrated to the latest revision.",
                );
            }
        }
    }
    status.conditions = Some(conds);
    status
}

fn observed(generation: Option<i64>, observed_generation: Option<i64>) -> bool {
    generation.unwrap_or_default() == observed_generation.unwrap_or_default()
}

/// Copies the child's `Ready` onto `t`; no `Ready` yet leaves `t` as it was.
fn mirror(m: &mut ConditionManager<'_>, t: &str, child: Option<&[Condition]>) {
    let Some(ready) = child.and_then(|c| find(c, READY)) else {
        return;
    };
    let reason = ready.reason.as_deref().unwrap_or_default();
    let message = ready.message.as_deref().unwrap_or_default();
    match ready.status.as_str() {
        TRUE => m.mark_true(t),
        FALSE => m.mark_false(t, reason, message),
        UNKNOWN => m.mark_unknown(t, reason, message),
        _ => {}
    }
}

/// Whether the Route serves what its spec asks, with the Service's Configuration
/// targets resolved to that Configuration's latest ready revision (Knative's
/// `checkRoutesNotReady`; `url` and `latestRevision` do not count).
fn traffic_migrated(route: &Route, config: Child<'_, Configuration>) -> bool {
    let latest_ready = match config {
        Child::Owned(cfg) => cfg
            .status
            .as_ref()
            .and_then(|s| s.latest_ready_revision_name.clone()),
        Child::NotOwned => None,
    };
    // Lenient on shape: a resolved target's configurationName and an unset percent (0)
    // say nothing about where traffic goes.
    let normalize = |t: &TrafficTarget| TrafficTarget {
        url: None,
        latest_revision: None,
        configuration_name: None,
        percent: Some(t.percent.unwrap_or_default()),
        ..t.clone()
    };
    let want: Vec<TrafficTarget> = route
        .spec
        .traffic
        .iter()
        .flatten()
        .map(|t| {
            let pinned = !t.revision_name().is_empty();
            let mut t = normalize(t);
            if !pinned {
                t.revision_name.clone_from(&latest_ready);
            }
            t
        })
        .collect();
    let got: Vec<TrafficTarget> = route
        .status
        .as_ref()
        .and_then(|s| s.traffic.as_ref())
        .into_iter()
        .flatten()
        .map(normalize)
        .collect();
    want == got
}

#[cfg(test)]
mod tests;
