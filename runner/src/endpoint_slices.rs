//! The EndpointSlices the runner publishes for a Deployment, standing in for
//! Kubernetes' EndpointSlice controller: for every Service selecting the Deployment's
//! pods ([`service_selection`]), one slice per ready replica (each has its own port,
//! and a slice carries one port set), named `<service>-<port>`, labelled with the
//! Service's labels plus `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by`, owned by the Service. A replica no Service
//! selects has no slice. Pure; the Deployment's worker applies and deletes them.

pub(crate) mod service_selection;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};

use crate::pod_template::{container_port, first_container};

/// Label naming the slices' controller.
pub(crate) const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// Our value of [`MANAGED_BY`].
pub(crate) const RUNNER: &str = "runner.fnmesh.dev";
/// Label naming the Service a slice belongs to.
pub(crate) const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Labels Kubernetes sets itself rather than copying them from the Service.
const RESERVED_LABELS: [&str; 3] = [SERVICE_NAME, MANAGED_BY, "service.kubernetes.io/headless"];

/// The name of `service`'s slice for the replica on `port`.
pub(crate) fn slice_name(service: &str, port: u16) -> String {
    format!("{service}-{port}")
}

/// The pod labels of `deployment`'s replicas: its template's.
pub(crate) fn pod_labels(deployment: &Deployment) -> BTreeMap<String, String> {
    deployment
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

/// The slices `deployment`'s replicas should have, given the `services` selecting its
/// pods: one per Service and ready endpoint, all ready. Replicas that are starting or
/// stopping have no slice (the supervisor takes a replica out of its ready set before
/// it signals it), so routing only ever sees replicas that answer.
pub(crate) fn desired_slices(
    deployment: &Deployment,
    services: &[Arc<Service>],
    ready: &[SocketAddr],
) -> Vec<EndpointSlice> {
    let container = first_container(deployment);
    services
        .iter()
        .flat_map(|service| {
            ready
                .iter()
                .filter_map(move |addr| slice_for(service, container, *addr))
        })
        .collect()
}

fn slice_for(
    service: &Service,
    container: Option<&Container>,
    addr: SocketAddr,
) -> Option<EndpointSlice> {
    let ports: Vec<EndpointPort> = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|p| endpoint_port(p, container?, addr.port()))
        .collect();
    // The replica's port is what tells its slices apart (and what the startup cleanup
    // checks), so a Service none of whose ports reach it gets no slice.
    if ports.is_empty() {
        return None;
    }
    let name = service.name_any();
    let mut labels: BTreeMap<String, String> = service
        .labels()
        .iter()
        .filter(|(k, _)| !RESERVED_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.insert(SERVICE_NAME.into(), name.clone());
    labels.insert(MANAGED_BY.into(), RUNNER.into());
    let owner = service.controller_owner_ref(&()).map(|mut o| {
        o.block_owner_deletion = Some(true);
        vec![o]
    });
    Some(EndpointSlice {
        metadata: ObjectMeta {
            name: Some(slice_name(&name, addr.port())),
            namespace: service.namespace(),
            labels: Some(labels),
            owner_references: owner,
            ..ObjectMeta::default()
        },
        address_type: "IPv4".into(),
        endpoints: Some(vec![Endpoint {
            addresses: vec![addr.ip().to_string()],
            conditions: Some(EndpointConditions {
                ready: Some(true),
                serving: Some(true),
                terminating: Some(false),
            }),
            ..Endpoint::default()
        }]),
        ports: Some(ports),
    })
}

/// A Service port as one replica serves it. Its `targetPort` (a number, a container
/// port name, or by default the port itself) must be the container's port, which each
/// local replica serves on its own `replica_port`; the runner knows no other port of
/// a replica, so any other target is not published.
fn endpoint_port(
    port: &ServicePort,
    container: &Container,
    replica_port: u16,
) -> Option<EndpointPort> {
    let declared = container_port(container);
    let target = match &port.target_port {
        None => port.port,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(name)) => {
            container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name))?
                .container_port
        }
    };
    (target == declared).then(|| EndpointPort {
        name: port.name.clone(),
        port: Some(i32::from(replica_port)),
        protocol: Some(port.protocol.clone().unwrap_or_else(|| "TCP".into())),
        app_protocol: port.app_protocol.clone(),
    })
}

/// The namespace and replica port a runner slice stands for; `None` for a slice that
/// is not ours.
pub(crate) fn slice_replica(slice: &EndpointSlice) -> Option<(String, u16)> {
    let labels = slice.metadata.labels.as_ref()?;
    if labels.get(MANAGED_BY).map(String::as_str) != Some(RUNNER) {
        return None;
    }
    let namespace = slice.metadata.namespace.clone()?;
    let port = slice.ports.as_ref()?.first()?.port?;
    Some((namespace, u16::try_from(port).ok()?))
}

#[cfg(test)]
mod tests;
