//! The Route's `status`, built from a resolution outcome as Knative reports it:
//! `Ready` = `AllTrafficAssigned` ∧ `IngressReady` ∧ `CertificateProvisioned`, the
//! latter `True`/`TLSNotEnabled` since fnmesh serves plain HTTP.

#[cfg(test)]
mod tests;

use crds::{Addressable, Condition, RouteStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::hosts::{cluster_local_host, host, http_url};
use super::missing::Missing;
use super::resolve::Resolution;
use crate::domain::is_cluster_local;
use crate::routing::ObjectKey;

pub const ALL_TRAFFIC_ASSIGNED: &str = "AllTrafficAssigned";
pub const INGRESS_READY: &str = "IngressReady";
pub const CERTIFICATE_PROVISIONED: &str = "CertificateProvisioned";
pub const READY: &str = "Ready";

/// Everything the status depends on.
#[derive(Debug)]
pub struct StatusInput<'a> {
    pub previous: Option<&'a RouteStatus>,
    pub generation: Option<i64>,
    pub key: &'a ObjectKey,
    pub domain: &'a str,
    pub outcome: &'a Result<Resolution, Missing>,
    /// The routing table serves this Route (now or from an earlier resolution).
    pub published: bool,
    pub now: Time,
}

pub fn build_status(input: &StatusInput<'_>) -> RouteStatus {
    let previous = input.previous;
    let traffic = match input.outcome {
        Ok(resolution) => Some(resolution.traffic.clone()),
        // Knative leaves the last assigned traffic in place while a target is missing;
        // it is what the routing table still serves.
        Err(_) => previous.and_then(|p| p.traffic.clone()),
    };
    let conditions = conditions(input)
        .into_iter()
        .map(|c| carry_transition_time(c, previous, &input.now))
        .collect();
    RouteStatus {
        observed_generation: input.generation,
        conditions: Some(conditions),
        annotations: previous.and_then(|p| p.annotations.clone()),
        url: Some(http_url(&host(input.key, input.domain))),
        address: Some(Addressable {
            url: Some(http_url(&cluster_local_host(input.key))),
            ..Addressable::default()
        }),
        traffic,
    }
}

/// The four conditions, sorted by type as Knative keeps them.
fn conditions(input: &StatusInput<'_>) -> Vec<Condition> {
    let traffic = match input.outcome {
        Ok(_) => condition(ALL_TRAFFIC_ASSIGNED, "True", None, None),
        Err(m) => condition(
            ALL_TRAFFIC_ASSIGNED,
            m.condition_status(),
            Some(m.reason()),
            Some(m.to_string()),
        ),
    };
    let tls_message = if is_cluster_local(input.domain) {
        "TLS is not enabled for cluster-local"
    } else {
        "autoTLS is not enabled"
    };
    let certificate = condition(
        CERTIFICATE_PROVISIONED,
        "True",
        Some("TLSNotEnabled"),
        Some(tls_message.into()),
    );
    let ingress = if input.published {
        condition(INGRESS_READY, "True", None, None)
    } else {
        condition(
            INGRESS_READY,
            "Unknown",
            Some("IngressNotConfigured"),
            Some("Ingress has not yet been reconciled.".into()),
        )
    };
    let ready = ready(&[&traffic, &ingress, &certificate]);
    vec![traffic, certificate, ingress, ready]
}

/// Ready mirrors the first False dependent, else the first Unknown one, else True.
fn ready(dependents: &[&Condition]) -> Condition {
    let worst = ["False", "Unknown"]
        .iter()
        .find_map(|status| dependents.iter().find(|c| c.status == *status));
    match worst {
        Some(c) => condition(READY, &c.status, c.reason.as_deref(), c.message.clone()),
        None => condition(READY, "True", None, None),
    }
}

fn condition(
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<String>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.map(Into::into),
        message,
        ..Condition::default()
    }
}

/// A condition keeps its transition time while nothing about it changes, so an
/// unchanged status compares equal and is not written again.
fn carry_transition_time(
    mut c: Condition,
    previous: Option<&RouteStatus>,
    now: &Time,
) -> Condition {
    let before = previous
        .and_then(|p| p.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|p| p.type_ == c.type_));
    c.last_transition_time = match before {
        Some(p)
            if p.status == c.status
                && p.reason == c.reason
                && p.message == c.message
                && p.severity == c.severity =>
        {
            p.last_transition_time.clone()
        }
        _ => Some(now.clone()),
    };
    c
}

/// The `Ready` condition of a status, if any (for callers and tests).
pub fn ready_condition(status: &RouteStatus) -> Option<&Condition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == READY)
}
