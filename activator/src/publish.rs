//! The activator's own EndpointSlice, so the controller can point cold revisions at
//! it. In a cluster Kubernetes writes this from the `activator-service` Service;
//! outside one each activator instance publishes (and withdraws) its own.

use std::net::SocketAddr;

use crate::config::{ACTIVATOR_SERVICE, ActivatorConfig};

/// The field manager of everything the activator writes.
pub(crate) const FIELD_MANAGER: &str = "fnmesh-activator";

fn publication(config: &ActivatorConfig) -> discovery::Publication {
    discovery::Publication {
        namespace: config.namespace.clone(),
        service: ACTIVATOR_SERVICE.to_owned(),
        port_name: discovery::ACTIVATOR_PORT.to_owned(),
        name: config.instance.clone(),
        managed_by: FIELD_MANAGER.to_owned(),
        advertise_ip: config.advertise_ip,
        host: config.host.clone(),
    }
}

/// Creates or replaces the slice naming `listening`, unless `config` says not to.
pub(crate) async fn publish(
    client: &kube::Client,
    config: &ActivatorConfig,
    listening: SocketAddr,
) -> anyhow::Result<()> {
    if !config.publish {
        return Ok(());
    }
    let publication = publication(config);
    discovery::publish(client, &publication, listening).await?;
    // A failed check leaves an orphan listed, which the activator's users eject on
    // their first refused connection: not worth failing the start for.
    if let Err(error) = discovery::prune_dead(client, &publication).await {
        tracing::warn!(error = %format!("{error:#}"), "could not check for dead EndpointSlices");
    }
    Ok(())
}

/// Deletes the slice, so nothing is routed to an activator that is going away.
pub(crate) async fn withdraw(client: &kube::Client, config: &ActivatorConfig) {
    if config.publish {
        discovery::withdraw(client, &publication(config)).await;
    }
}
