//! The activator's own EndpointSlice, so the controller can point cold revisions at
//! it. In a cluster Kubernetes writes this from the `activator-service` Service;
//! outside one each activator instance publishes (and withdraws) its own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::config::{ACTIVATOR_SERVICE, ActivatorConfig};

/// The field manager of everything the activator writes.
pub(crate) const FIELD_MANAGER: &str = "fnmesh-activator";
pub(crate) const MANAGED_BY: &str = "fnmesh-activator";

/// Creates or replaces the slice naming `listening` (after making sure the namespace
/// exists).
pub(crate) async fn publish(
    client: &kube::Client,
    config: &ActivatorConfig,
    listening: SocketAddr,
) -> anyhow::Result<()> {
    ensure_namespace(client, &config.namespace).await?;
    let ip = advertised_ip(listening.ip(), config.advertise_ip);
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": config.instance,
            "namespace": config.namespace,
            "labels": {
                "kubernetes.io/service-name": ACTIVATOR_SERVICE,
                "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
        "addressType": if ip.is_ipv4() { "IPv4" } else { "IPv6" },
        "endpoints": [{
            "addresses": [ip.to_string()],
            "conditions": {"ready": true, "serving": true, "terminating": false},
        }],
        "ports": [{"name": "http", "port": listening.port(), "protocol": "TCP"}],
    });
    // Server-side apply: creates it, or replaces what a previous run of the same
    // instance left behind.
    slices(client, config)
        .patch(
            &config.instance,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&slice),
        )
        .await
        .with_context(|| {
            format!(
                "publishing EndpointSlice {}/{}",
                config.namespace, config.instance
            )
        })?;
    Ok(())
}

/// Deletes the slice, so nothing is routed to an activator that is going away.
pub(crate) async fn withdraw(client: &kube::Client, config: &ActivatorConfig) {
    match slices(client, config)
        .delete(&config.instance, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(error) => tracing::warn!(%error, "could not delete the activator's EndpointSlice"),
    }
}

fn slices(client: &kube::Client, config: &ActivatorConfig) -> Api<EndpointSlice> {
    Api::namespaced(client.clone(), &config.namespace)
}

async fn ensure_namespace(client: &kube::Client, name: &str) -> anyhow::Result<()> {
    let namespace: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
    }))?;
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error).with_context(|| format!("creating namespace {name}")),
    }
}

/// A listener on `0.0.0.0` / `::` cannot be dialled at that address: publish the
/// configured one, else loopback of the same family.
fn advertised_ip(listening: IpAddr, configured: Option<IpAddr>) -> IpAddr {
    if !listening.is_unspecified() {
        return listening;
    }
    configured.unwrap_or(match listening {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_listener_address_is_published_as_is() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(advertised_ip(ip, Some("10.9.9.9".parse().unwrap())), ip);
    }

    #[test]
    fn an_unspecified_listener_address_is_replaced() {
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        assert_eq!(advertised_ip(any, None), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let v6: IpAddr = "::".parse().unwrap();
        assert_eq!(advertised_ip(v6, None), IpAddr::V6(Ipv6Addr::LOCALHOST));
        let configured: IpAddr = "192.168.1.5".parse().unwrap();
        assert_eq!(advertised_ip(any, Some(configured)), configured);
    }
}
