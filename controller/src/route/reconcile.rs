//! One Route reconcile: resolve its traffic from the caches, publish it to the
//! routing table, and write the status when it differs.

use std::sync::Arc;
use std::time::Duration;

use crds::{Configuration, Revision, Route};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use serde_json::json;

use super::priming::RoutePriming;
use super::resolve::{InNamespace, assemble, resolve_targets};
use super::rolling;
use super::rollout::{self, ROLLOUT_ANNOTATION, Rollout};
use super::status::{StatusInput, build_status};
use super::triggers::key_of;
use crate::context::{Context, FIELD_MANAGER};
use crate::domain::{DomainSource, domain_for};
use crate::labels::ROLLOUT_DURATION_ANNOTATIONS;
use crate::network::NetworkSource;
use crate::routing::ObjectKey;

/// What the Route reconciler shares across reconciles.
#[derive(Debug)]
pub(crate) struct RouteContext {
    pub(crate) ctx: Arc<Context>,
    pub(crate) routes: Store<Route>,
    pub(crate) configurations: Store<Configuration>,
    pub(crate) revisions: Store<Revision>,
    pub(crate) domain: Arc<DomainSource>,
    /// The default rollout duration.
    pub(crate) network: Arc<NetworkSource>,
    /// Told of each reconcile that saw every input loaded.
    pub(crate) priming: Arc<RoutePriming>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RouteError {
    #[error("writing the Route status: {0}")]
    Status(#[source] kube::Error),
    #[error("writing the Route's rollout annotation: {0}")]
    Rollout(#[source] kube::Error),
    #[error("the {0} cache stopped")]
    CacheClosed(&'static str),
}

// === impl RouteError ===

impl RouteError {
    pub(crate) fn metric_label(&self) -> &'static str {
        match self {
            Self::Status(_) => "status_write",
            Self::Rollout(_) => "rollout_write",
            Self::CacheClosed(_) => "cache_closed",
        }
    }
}

pub(crate) async fn reconcile(
    route: Arc<Route>,
    rc: Arc<RouteContext>,
) -> Result<Action, RouteError> {
    // Resolving against a half-filled cache would report present objects as missing.
    rc.configurations
        .wait_until_ready()
        .await
        .map_err(|_| RouteError::CacheClosed("Configuration"))?;
    rc.revisions
        .wait_until_ready()
        .await
        .map_err(|_| RouteError::CacheClosed("Revision"))?;
    // Before the ConfigMaps' first lists the hosts and rollout use start-up defaults;
    // their loading re-reconciles every Route, and those reconciles count.
    let inputs_loaded = rc.domain.is_loaded() && rc.network.is_loaded();
    let key = key_of(&route);
    let result = reconcile_loaded(route, &rc, key.clone()).await;
    if inputs_loaded {
        rc.priming.settled(&key);
    }
    result
}

async fn reconcile_loaded(
    route: Arc<Route>,
    rc: &RouteContext,
    key: ObjectKey,
) -> Result<Action, RouteError> {
    let domain = domain_for(&rc.domain.current(), route.labels());
    let configurations = InNamespace {
        store: &rc.configurations,
        namespace: &key.namespace,
    };
    let revisions = InNamespace {
        store: &rc.revisions,
        namespace: &key.namespace,
    };
    let now = jiff::Timestamp::now();
    let mut rollout_plan = RolloutPlan::default();
    let outcome = resolve_targets(&route.spec, &configurations, &revisions).map(|flat| {
        let default_duration = rc.network.current().rollout_duration;
        let (flat, plan) = roll_out(&route, flat, now, default_duration);
        rollout_plan = plan;
        assemble(&flat, &key, &domain)
    });

    let routing = &rc.ctx.routing;
    let published = match &outcome {
        Ok(resolution) => {
            routing.set_route(resolution.route.clone());
            // A deletion seen while we resolved removed the entry before we set it;
            // the store already lacks the Route then, so undo our late write.
            if rc
                .routes
                .get(&ObjectRef::from_obj(route.as_ref()))
                .is_none()
            {
                routing.remove_route(&key);
                return Ok(Action::await_change());
            }
            true
        }
        Err(missing) => {
            tracing::debug!(route = %key, reason = missing.metric_label(), %missing, "traffic not assigned");
            // Keep serving what was published before: a new revision that is not
            // ready yet must not take the old one's traffic away.
            routing.snapshot().routes.contains_key(&key)
        }
    };

    let status = build_status(&StatusInput {
        previous: route.status.as_ref(),
        generation: route.metadata.generation,
        key: &key,
        domain: &domain,
        outcome: &outcome,
        published,
        now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now),
    });
    if let Some(annotation) = rollout_plan.annotation
        && route.annotations().get(ROLLOUT_ANNOTATION) != annotation.as_ref()
    {
        write_rollout(&rc.ctx.client, &route, annotation.as_deref()).await?;
    }
    if route.status.as_ref() != Some(&status) {
        tracing::debug!(route = %key, "writing status");
        write_status(&rc.ctx.client, &route, &status).await?;
    }
    Ok(match rollout_plan.next_step {
        Some(due) => {
            let wait = due.saturating_sub(nanos(now));
            Action::requeue(Duration::from_nanos(u64::try_from(wait).unwrap_or(0)))
        }
        None => Action::await_change(),
    })
}

/// What the rollout wants written and when it next needs a reconcile.
#[derive(Debug, Default)]
struct RolloutPlan {
    /// `Some(value)`: the rollout annotation should be `value` (`None`: absent).
    annotation: Option<Option<String>>,
    /// Unix nanoseconds of the next step.
    next_step: Option<i64>,
}

/// Applies the Route's gradual rollout, if it asks for one (its annotation, else
/// `config-network`'s `default_duration`), to its resolved targets.
fn roll_out(
    route: &Route,
    flat: Vec<super::resolve::Flat>,
    now: jiff::Timestamp,
    default_duration: Duration,
) -> (Vec<super::resolve::Flat>, RolloutPlan) {
    let annotations = route.annotations();
    // Admission only lets whole, non-negative seconds through.
    let duration = match ROLLOUT_DURATION_ANNOTATIONS
        .iter()
        .find_map(|key| annotations.get(*key))
    {
        Some(text) => crds::validation::parse_go_duration(text)
            .and_then(|nanos| u64::try_from(nanos).ok())
            .map(Duration::from_nanos)
            .unwrap_or_default(),
        None => default_duration,
    };
    if duration.is_zero() {
        let plan = RolloutPlan {
            annotation: Some(None),
            next_step: None,
        };
        return (flat, plan);
    }
    let previous = annotations
        .get(ROLLOUT_ANNOTATION)
        .and_then(|a| Rollout::parse(a));
    let goals = rolling::goals(&flat);
    let (state, next_step) = rollout::step(&goals, previous.as_ref(), nanos(now), duration);
    let flat = rolling::apply(flat, &state);
    let plan = RolloutPlan {
        annotation: Some(Some(state.to_annotation())),
        next_step,
    };
    (flat, plan)
}

fn nanos(time: jiff::Timestamp) -> i64 {
    i64::try_from(time.as_nanosecond()).unwrap_or(i64::MAX)
}

/// Sets (or, with `None`, removes) the rollout annotation, under a field manager of
/// its own so the Service reconciler's applies of the Route leave it alone.
async fn write_rollout(
    client: &kube::Client,
    route: &Route,
    annotation: Option<&str>,
) -> Result<(), RouteError> {
    let (name, namespace) = (route.name_any(), route.namespace().unwrap_or_default());
    let api: Api<Route> = Api::namespaced(client.clone(), &namespace);
    let annotations = match annotation {
        Some(value) => json!({ ROLLOUT_ANNOTATION: value }),
        None => json!({}),
    };
    let patch = json!({
        "apiVersion": crds::API_VERSION,
        "kind": "Route",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
    });
    let params = PatchParams::apply(ROLLOUT_FIELD_MANAGER).force();
    match api.patch(&name, &params, &Patch::Apply(&patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        // A follower computes the rollout as the leader does but does not record it.
        Err(e) if leader_election::is_not_leader(&e) => Ok(()),
        Err(e) => Err(RouteError::Rollout(e)),
    }
}

/// Owns the rollout annotation on Routes.
const ROLLOUT_FIELD_MANAGER: &str = "fnmesh-route-rollout";

async fn write_status(
    client: &kube::Client,
    route: &Route,
    status: &crds::RouteStatus,
) -> Result<(), RouteError> {
    let (name, namespace) = (route.name_any(), route.namespace().unwrap_or_default());
    let api: Api<Route> = Api::namespaced(client.clone(), &namespace);
    let patch = json!({
        "apiVersion": crds::API_VERSION,
        "kind": "Route",
        "metadata": {"name": name, "namespace": namespace},
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match api
        .patch_status(&name, &params, &Patch::Apply(&patch))
        .await
    {
        Ok(_) => Ok(()),
        // Deleted meanwhile: nothing left to report on.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        // A follower: the leader reports (and a new leader re-reconciles every Route).
        Err(e) if leader_election::is_not_leader(&e) => Ok(()),
        Err(e) => Err(RouteError::Status(e)),
    }
}

pub(crate) fn error_policy(
    route: Arc<Route>,
    error: &RouteError,
    _rc: Arc<RouteContext>,
) -> Action {
    tracing::warn!(route = %key_of(&route), %error, reason = error.metric_label(), "route reconcile failed");
    Action::requeue(Duration::from_secs(1))
}
