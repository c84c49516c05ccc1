//! Slices an earlier run on this host left behind. An instance's slice is named after
//! its host and listen port, so a restart on a fixed port replaces its own slice; one
//! on an ephemeral port (`:0`) gets a new port, hence a new name, and the slice of the
//! run that was killed (no clean stop withdrew it) would stay listed. On publishing,
//! an instance deletes every other slice of its service and writer on its host whose
//! address refuses connections: nothing listens there any more. A live replica's
//! listener accepts (its kernel does, even before the process calls accept), so it is
//! never taken for dead; a slice of another host is left to that host.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{DeleteParams, ListParams};

use crate::publish::{HOST_LABEL, Publication, slices};

/// How long a connection attempt to a listed address may take: a refusal on this host
/// is immediate, and anything slower is not taken for dead.
const PROBE: Duration = Duration::from_secs(1);

/// Deletes the dead slices of `publication`'s service, writer and host other than its
/// own; returns their names.
pub async fn prune_dead(
    client: &kube::Client,
    publication: &Publication,
) -> anyhow::Result<Vec<String>> {
    let selector = format!(
        "kubernetes.io/service-name={},endpointslice.kubernetes.io/managed-by={},{HOST_LABEL}={}",
        publication.service, publication.managed_by, publication.host
    );
    let api = slices(client, publication);
    let listed = api.list(&ListParams::default().labels(&selector)).await?;
    let mut pruned = Vec::new();
    for slice in listed {
        let Some(name) = slice.metadata.name.clone() else {
            continue;
        };
        if name == publication.name || !all_refused(&slice).await {
            continue;
        }
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(error.into()),
        }
        tracing::info!(slice = %name, "deleted the EndpointSlice of an instance that is gone");
        pruned.push(name);
    }
    Ok(pruned)
}

/// Whether every address the slice lists refuses a connection (and it lists one).
async fn all_refused(slice: &EndpointSlice) -> bool {
    let ports: Vec<u16> = slice
        .ports
        .iter()
        .flatten()
        .filter_map(|p| p.port.and_then(|p| u16::try_from(p).ok()))
        .collect();
    let addresses: Vec<SocketAddr> = slice
        .endpoints
        .iter()
        .flatten()
        .flat_map(|e| &e.addresses)
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .flat_map(|ip| ports.iter().map(move |port| SocketAddr::new(ip, *port)))
        .collect();
    if addresses.is_empty() {
        return false;
    }
    for addr in addresses {
        match tokio::time::timeout(PROBE, tokio::net::TcpStream::connect(addr)).await {
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            _ => return false,
        }
    }
    true
}
