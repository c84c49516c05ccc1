//! The EndpointSlices the runner publishes for a Deployment: one per ready
//! replica (each has its own port, and a slice carries one port set), named
//! `<deployment>-<port>`. Pure; the shell applies and deletes them.

use std::net::SocketAddr;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

/// Label naming the slices' controller.
pub(crate) const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// Our value of [`MANAGED_BY`].
pub(crate) const RUNNER: &str = "runner.fnmesh.dev";
/// Label naming the "service" (for us, the Deployment) a slice belongs to.
pub(crate) const SERVICE_NAME: &str = "kubernetes.io/service-name";

/// The name of the slice for the replica of `deployment` on `port`.
pub(crate) fn slice_name(deployment: &str, port: u16) -> String {
    format!("{deployment}-{port}")
}

/// The slices `deployment` should have: one per ready endpoint, all ready.
/// Replicas that are starting or stopping have no slice (the supervisor takes
/// a replica out of its ready set before it signals it), so routing only
/// ever sees replicas that answer.
pub(crate) fn desired_slices(
    deployment: &Deployment,
    port_name: &str,
    ready: &[SocketAddr],
) -> Vec<EndpointSlice> {
    let name = deployment.metadata.name.as_deref().unwrap_or_default();
    let mut labels = deployment
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(SERVICE_NAME.into(), name.into());
    labels.insert(MANAGED_BY.into(), RUNNER.into());
    let owner = deployment.controller_owner_ref(&());
    ready
        .iter()
        .map(|addr| EndpointSlice {
            metadata: ObjectMeta {
                name: Some(slice_name(name, addr.port())),
                namespace: deployment.metadata.namespace.clone(),
                labels: Some(labels.clone()),
                owner_references: owner.clone().map(|o| vec![o]),
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
            ports: Some(vec![EndpointPort {
                name: Some(port_name.into()),
                port: Some(i32::from(addr.port())),
                protocol: Some("TCP".into()),
                app_protocol: None,
            }]),
        })
        .collect()
}

/// The Deployment key (`namespace/name`) and replica port a runner slice
/// stands for, from its labels and port; `None` for a slice that is not ours.
pub(crate) fn slice_owner(slice: &EndpointSlice) -> Option<(String, u16)> {
    let labels = slice.metadata.labels.as_ref()?;
    if labels.get(MANAGED_BY).map(String::as_str) != Some(RUNNER) {
        return None;
    }
    let deployment = labels.get(SERVICE_NAME)?;
    let namespace = slice.metadata.namespace.as_deref()?;
    let port = slice.ports.as_ref()?.first()?.port?;
    Some((
        format!("{namespace}/{deployment}"),
        u16::try_from(port).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slice_per_ready_replica() {
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "rev-deployment", "namespace": "ns", "uid": "u-1"},
            "spec": {
                "selector": {},
                "template": {"metadata": {"labels": {"serving.knative.dev/revision": "rev"}}},
            },
        }))
        .unwrap();
        let ready: Vec<SocketAddr> = vec![
            "127.0.0.1:4001".parse().unwrap(),
            "127.0.0.1:4002".parse().unwrap(),
        ];
        let slices = desired_slices(&d, "h2c", &ready);
        assert_eq!(slices.len(), 2);
        let s = &slices[0];
        assert_eq!(s.metadata.name.as_deref(), Some("rev-deployment-4001"));
        let labels = s.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["serving.knative.dev/revision"], "rev");
        assert_eq!(labels[SERVICE_NAME], "rev-deployment");
        assert_eq!(labels[MANAGED_BY], RUNNER);
        let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("Deployment", "u-1", Some(true))
        );
        let endpoint = &s.endpoints.as_ref().unwrap()[0];
        assert_eq!(endpoint.addresses, ["127.0.0.1"]);
        assert_eq!(endpoint.conditions.as_ref().unwrap().ready, Some(true));
        let port = &s.ports.as_ref().unwrap()[0];
        assert_eq!((port.name.as_deref(), port.port), (Some("h2c"), Some(4001)));
        assert_eq!(slice_owner(s), Some(("ns/rev-deployment".into(), 4001)));
    }
}
