//! `RevisionSpec` rules: the pod-spec subset (Knative's `ValidatePodSpec`) plus the
//! serving knobs.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ContainerPort, Volume};

use super::container::{Role, validate_container};
use super::names::{dns1123_label, dns1123_subdomain};
use crate::cluster_defaults::ClusterDefaults;
use crate::error::{FieldError, via};
use crate::revision::RevisionSpec;

/// Paths are relative to the spec (`containers[0].image`, `timeoutSeconds`).
pub fn validate_revision_spec(spec: &RevisionSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let volumes = validate_volumes(spec, &mut errs);

    let (port, port_errs) = serving_port(spec);
    errs.extend(via("containers[*]", port_errs));
    let multi = spec.containers.len() > 1;
    let mut names = BTreeSet::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let at = format!("containers[{i}]");
        if multi
            && let Some(name) = c.name.as_deref()
            && !names.insert(name)
        {
            errs.push(FieldError::new(
                format!("{at}.name"),
                format!("duplicate container name {name:?}"),
            ));
        }
        let role = if multi && c.ports().is_empty() {
            Role::Sidecar
        } else {
            Role::Serving
        };
        errs.extend(via(&at, validate_container(c, role, &port, &volumes)));
    }
    if spec.containers.is_empty() {
        errs.push(FieldError::new(
            "containers",
            "missing field: at least one container is required",
        ));
    }
    if let Some(sa) = spec
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
        && let Some(msg) = dns1123_subdomain(sa)
    {
        errs.push(FieldError::new(
            "serviceAccountName",
            format!("invalid value {sa:?}: {msg}"),
        ));
    }
    if spec.automount_service_account_token == Some(true) {
        // Knative only lets users turn the token off.
        errs.push(FieldError::new(
            "automountServiceAccountToken",
            "must not set the field(s): only false is allowed",
        ));
    }
    errs.extend(validate_knobs(spec));
    errs
}

fn validate_knobs(spec: &RevisionSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let cluster = ClusterDefaults::current();
    let max_timeout = cluster.max_revision_timeout_seconds;
    if let Some(t) = spec.timeout_seconds
        && t != 0
        && !(0..=max_timeout).contains(&t)
    {
        errs.push(FieldError::new(
            "timeoutSeconds",
            format!("expected 0 <= {t} <= {max_timeout} (max-revision-timeout-seconds)"),
        ));
    }
    let limit = spec
        .timeout_seconds
        .filter(|t| *t > 0)
        .unwrap_or(max_timeout);
    for (field, v) in [
        (
            "responseStartTimeoutSeconds",
            spec.response_start_timeout_seconds,
        ),
        ("idleTimeoutSeconds", spec.idle_timeout_seconds),
    ] {
        if let Some(v) = v.filter(|v| !(0..=limit).contains(v)) {
            errs.push(FieldError::new(
                field,
                format!("expected 0 <= {v} <= {limit} (timeoutSeconds)"),
            ));
        }
    }
    let max_cc = cluster.container_concurrency_max_limit;
    if let Some(cc) = spec.container_concurrency
        && !(0..=max_cc).contains(&cc)
    {
        errs.push(FieldError::new(
            "containerConcurrency",
            format!("expected 0 <= {cc} <= {max_cc}"),
        ));
    }
    errs
}

/// The one serving port across all containers (name defaulted to `http`, port to 8080 as
/// Knative does for probe matching), and errors when there are several or, with sidecars, none.
fn serving_port(spec: &RevisionSpec) -> (ContainerPort, Vec<FieldError>) {
    let mut errs = Vec::new();
    let count: usize = spec.containers.iter().map(|c| c.ports().len()).sum();
    let mut port = spec
        .containers
        .iter()
        .find_map(|c| c.serving_port().cloned())
        .unwrap_or_default();
    if port.name.as_deref().unwrap_or_default().is_empty() {
        port.name = Some("http".to_owned());
    }
    if port.container_port == 0 {
        port.container_port = 8080;
    }
    if count == 0 && spec.containers.len() > 1 {
        errs.push(FieldError::new(
            "ports",
            "missing field: exactly one container must declare the serving port",
        ));
    }
    if count > 1 {
        errs.push(FieldError::new(
            "ports",
            format!("more than one container port is set: only a single port is allowed across all containers, got {count}"),
        ));
    }
    (port, errs)
}

fn validate_volumes<'a>(
    spec: &'a RevisionSpec,
    errs: &mut Vec<FieldError>,
) -> BTreeMap<&'a str, &'a Volume> {
    let mounted: BTreeSet<&str> = spec
        .containers
        .iter()
        .flat_map(|c| c.volume_mounts().iter().map(|m| m.name.as_str()))
        .collect();
    let mut volumes = BTreeMap::new();
    for (i, v) in spec.volumes().iter().enumerate() {
        let at = |m: String| FieldError::new(format!("volumes[{i}].name"), m);
        if v.name.is_empty() {
            errs.push(at("missing field: volume name is required".into()));
        } else if let Some(msg) = dns1123_label(&v.name) {
            errs.push(at(format!("invalid volume name {:?}: {msg}", v.name)));
        }
        if volumes.insert(v.name.as_str(), v).is_some() {
            errs.push(at(format!("duplicate volume name {:?}", v.name)));
        }
        if !mounted.contains(v.name.as_str()) {
            errs.push(at(format!("volume with name {:?} not mounted", v.name)));
        }
        let sources = [
            v.secret.is_some(),
            v.config_map.is_some(),
            v.projected.is_some(),
            v.empty_dir.is_some(),
        ];
        match sources.iter().filter(|s| **s).count() {
            1 => {}
            0 => errs.push(FieldError::new(
                format!("volumes[{i}]"),
                "expected exactly one, got neither: configMap, emptyDir, projected, secret (other volume types are not supported)",
            )),
            _ => errs.push(FieldError::new(format!("volumes[{i}]"), "expected exactly one volume source, got several")),
        }
    }
    volumes
}
