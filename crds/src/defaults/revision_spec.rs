//! Knative's `RevisionSpec.SetDefaults` with the cluster's `config-defaults`
//! ([`ClusterDefaults::current`]).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::cluster_defaults::ClusterDefaults;
use crate::container::Container;
use crate::naming::child_name;
use crate::revision::RevisionSpec;

/// Knative's stock `revision-timeout-seconds`, for readers of a revision that has none.
pub const DEFAULT_TIMEOUT_SECONDS: i64 = 300;
pub const DEFAULT_USER_CONTAINER_NAME: &str = "user-container";

/// `creating` is Knative's `IsInCreate`: some defaults (enableServiceLinks) only apply then.
pub fn default_revision_spec(spec: &mut RevisionSpec, creating: bool) {
    let cluster = ClusterDefaults::current();
    let timeout = match spec.timeout_seconds {
        Some(t) if t != 0 => t,
        _ => cluster.revision_timeout_seconds,
    };
    spec.timeout_seconds = Some(timeout);
    // Only defaulted when the default is non-zero and below the revision timeout; 0 / unset
    // means "no such timer".
    let idle = cluster.revision_idle_timeout_seconds;
    if spec.idle_timeout_seconds.is_none() && idle != 0 && idle < timeout {
        spec.idle_timeout_seconds = Some(idle);
    }
    let start = cluster
        .revision_response_start_timeout_seconds
        .unwrap_or(cluster.revision_timeout_seconds);
    if spec.response_start_timeout_seconds.is_none() && start < timeout {
        spec.response_start_timeout_seconds = Some(start);
    }
    spec.container_concurrency
        .get_or_insert(cluster.container_concurrency);
    default_container_names(&mut spec.containers);

    let single = spec.containers.len() == 1;
    let writable: BTreeSet<String> = spec
        .volumes()
        .iter()
        .filter(|v| {
            v.empty_dir.is_some() || v.persistent_volume_claim.is_some() || v.ephemeral.is_some()
        })
        .map(|v| v.name.clone())
        .collect();
    for c in &mut spec.containers {
        // Sidecars (no port, next to a serving container) get no default readiness probe.
        if single || !c.ports().is_empty() {
            default_readiness_probe(c);
        }
        for probe in [
            &mut c.readiness_probe,
            &mut c.liveness_probe,
            &mut c.startup_probe,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(grpc) = &mut probe.grpc {
                grpc.service.get_or_insert_with(String::new);
            }
        }
        if let Some(p) = &mut c.readiness_probe {
            default_readiness_timing(p);
        }
        for m in c.volume_mounts.iter_mut().flatten() {
            // Only scratch and claim volumes may be written; everything else mounts read-only.
            if !writable.contains(&m.name) {
                m.read_only = Some(true);
            }
        }
    }
    if creating && spec.enable_service_links.is_none() {
        // Knative's config-defaults ships `enable-service-links: "false"` (knative/serving#8498).
        spec.enable_service_links = Some(false);
    }
}

/// Unnamed containers become `user-container`, or `user-container-N` when there are several or
/// the plain name is taken, never clashing with a user-supplied name.
fn default_container_names(containers: &mut [Container]) {
    let taken: BTreeSet<String> = containers.iter().filter_map(|c| c.name.clone()).collect();
    let many = containers.len() > 1;
    let mut next = 0;
    for c in containers.iter_mut() {
        if c.name.as_deref().is_some_and(|n| !n.is_empty()) {
            continue;
        }
        let mut name = DEFAULT_USER_CONTAINER_NAME.to_owned();
        if many || taken.contains(&name) {
            loop {
                name = child_name(DEFAULT_USER_CONTAINER_NAME, &format!("-{next}"));
                next += 1;
                if !taken.contains(&name) {
                    break;
                }
            }
        }
        c.name = Some(name);
    }
}

/// A TCP probe on the serving port unless the user picked a handler.
fn default_readiness_probe(c: &mut Container) {
    let p = c.readiness_probe.get_or_insert_with(Probe::default);
    if p.tcp_socket.is_none() && p.http_get.is_none() && p.exec.is_none() && p.grpc.is_none() {
        p.tcp_socket = Some(TCPSocketAction {
            port: IntOrString::Int(0),
            host: None,
        });
    }
}

fn default_readiness_timing(p: &mut Probe) {
    if p.success_threshold.unwrap_or(0) == 0 {
        p.success_threshold = Some(1);
    }
    // A non-zero period opts out of Knative's aggressive probing: use the k8s defaults.
    if p.period_seconds.unwrap_or(0) != 0 {
        if p.failure_threshold.unwrap_or(0) == 0 {
            p.failure_threshold = Some(3);
        }
        if p.timeout_seconds.unwrap_or(0) == 0 {
            p.timeout_seconds = Some(1);
        }
    }
}
