//! Which port of a Revision receives requests and how it is spoken to: the rule the
//! Deployment (`PORT`), the revision's Service (`targetPort`, port name) and the
//! routing backend (protocol) all read, so they cannot disagree.

use crds::{Container, Revision};
use k8s_openapi::api::core::v1::ContainerPort;

use crate::routing::Protocol;

/// The port a function listens on when its container declares none (Knative's default
/// user port).
pub const DEFAULT_USER_PORT: i32 = 8080;

/// The index of the container that receives requests: the one declaring a port, else
/// the first.
pub fn serving_container(containers: &[Container]) -> usize {
    containers
        .iter()
        .position(|c| !c.ports().is_empty())
        .unwrap_or(0)
}

/// The serving container's declared port, if any.
pub fn serving_port(rev: &Revision) -> Option<&ContainerPort> {
    let containers = &rev.spec.containers;
    containers
        .get(serving_container(containers))
        .and_then(Container::serving_port)
}

/// The port the function listens on (`PORT`).
pub fn user_port(rev: &Revision) -> i32 {
    serving_port(rev).map_or(DEFAULT_USER_PORT, |p| p.container_port)
}

/// HTTP/2 cleartext when the serving port is named `h2c` (Knative's signal), else
/// HTTP/1.1.
pub fn protocol(rev: &Revision) -> Protocol {
    match serving_port(rev).and_then(|p| p.name.as_deref()) {
        Some("h2c") => Protocol::H2c,
        _ => Protocol::Http1,
    }
}
