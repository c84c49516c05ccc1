//! A Revision plus its EndpointSlices → the [`RevisionBackend`] the gateways route to.
//! Pure, so the slice rules (readiness, ports, address types) are unit tested.

use std::net::{IpAddr, SocketAddr};

use crds::Revision;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;

use crate::revision::service::{PORT_NAME_H2C, PORT_NAME_HTTP1, port_name};
use crate::revision::serving_port::protocol;
use crate::routing::{ObjectKey, RevisionBackend};
use crate::xds::DEFAULT_TIMEOUT_SECONDS;

/// The port names a revision's serving port goes by: its Service's (Knative's), and
/// the container port names Knative accepts, for slices written from a Service that
/// named its port after the container's.
const SERVING_PORT_NAMES: [&str; 4] = [PORT_NAME_HTTP1, PORT_NAME_H2C, "h2c", "http1"];

/// The backend for `revision` from the slices that belong to it.
pub fn backend<'a>(
    revision: &Revision,
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
) -> RevisionBackend {
    let protocol = protocol(revision);
    let port_name = Some(port_name(protocol));
    // Knative reads 0 (and unset) as "not set": the default timeout, a response start
    // bounded by the timeout alone, no idle limit.
    let seconds = |value: Option<i64>| value.and_then(|t| u64::try_from(t).ok()).filter(|&t| t > 0);
    let timeout_seconds = seconds(revision.spec.timeout_seconds).unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let response_start_timeout_seconds = seconds(revision.spec.response_start_timeout_seconds)
        .map_or(timeout_seconds, |t| t.min(timeout_seconds));
    let idle_timeout_seconds = seconds(revision.spec.idle_timeout_seconds);
    let mut endpoints: Vec<SocketAddr> = slices
        .into_iter()
        .flat_map(|slice| ready_endpoints(slice, port_name))
        .collect();
    endpoints.sort_unstable();
    endpoints.dedup();
    RevisionBackend {
        key: ObjectKey::new(
            revision.namespace().unwrap_or_default(),
            revision.name_any(),
        ),
        protocol,
        endpoints,
        timeout_seconds,
        response_start_timeout_seconds,
        idle_timeout_seconds,
    }
}

/// The ready `address:port`s of one slice: those of the port named `port_name` (the
/// revision Service's), else of a serving port name, else of its first port.
/// Kubernetes reads an absent `ready` as ready; terminating endpoints are not. Each
/// local replica publishes its own slice with its own port, so the port comes from the
/// slice, not the revision.
pub fn ready_endpoints(slice: &EndpointSlice, port_name: Option<&str>) -> Vec<SocketAddr> {
    if slice.address_type == "FQDN" {
        return Vec::new();
    }
    let ports = slice.ports.as_deref().unwrap_or_default();
    let port = ports
        .iter()
        .find(|p| p.name.as_deref().is_some_and(|n| Some(n) == port_name))
        .or_else(|| {
            ports.iter().find(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|n| SERVING_PORT_NAMES.contains(&n))
            })
        })
        .or_else(|| ports.first())
        .and_then(|p| p.port)
        .and_then(|p| u16::try_from(p).ok());
    let Some(port) = port else {
        return Vec::new();
    };
    slice
        .endpoints
        .iter()
        .flatten()
        .filter(|e| {
            let conditions = e.conditions.as_ref();
            conditions.and_then(|c| c.ready).unwrap_or(true)
                && !conditions.and_then(|c| c.terminating).unwrap_or(false)
        })
        .flat_map(|e| &e.addresses)
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, port))
        .collect()
}
