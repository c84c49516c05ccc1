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
