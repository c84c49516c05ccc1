//! What the benchmark binaries share.
#![allow(clippy::disallowed_types)] // wall-clock measurement against separate processes

use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject};

/// Knative Services in namespace `default` of the API at `url` (plain HTTP, no auth:
/// `fnmesh up` on loopback).
pub fn services(url: &str) -> anyhow::Result<Api<DynamicObject>> {
    let client = kube::Client::try_from(kube::Config::new(url.parse()?))?;
    let resource = ApiResource {
        group: "serving.knative.dev".into(),
        version: "v1".into(),
        api_version: "serving.knative.dev/v1".into(),
        kind: "Service".into(),
        plural: "services".into(),
    };
    Ok(Api::namespaced_with(client, "default", &resource))
}

/// The `p` quantile (0..=1) of `sorted`, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `(group, version, kind, plural)` of everything the platform's components write.
pub const PLATFORM_KINDS: [(&str, &str, &str, &str); 11] = [
    ("serving.knative.dev", "v1", "Service", "services"),
    (
        "serving.knative.dev",
        "v1",
        "Configuration",
        "configurations",
    ),
    ("serving.knative.dev", "v1", "Route", "routes"),
    ("serving.knative.dev", "v1", "Revision", "revisions"),
    ("apps", "v1", "Deployment", "deployments"),
    ("", "v1", "Service", "services"),
    ("", "v1", "Pod", "pods"),
    ("", "v1", "Event", "events"),
    ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    ("coordination.k8s.io", "v1", "Lease", "leases"),
    ("", "v1", "ConfigMap", "configmaps"),
];

/// The dynamic-API description of one of [`PLATFORM_KINDS`].
pub fn api_resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    let api_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version,
        kind: kind.into(),
        plural: plural.into(),
    }
}
