//! Per-container rules (Knative's `ValidateUserContainer` / `validateSidecarContainer`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    ContainerPort, EnvFromSource, EnvVar, Probe, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::dns1123_label;
use crate::container::Container;
use crate::error::{FieldError, via};

/// Ports the platform's own components listen on next to a function.
pub const RESERVED_PORTS: [i32; 6] = [8012, 8013, 8022, 9090, 9091, 8008];
/// Environment variables the platform sets for every function.
pub const RESERVED_ENV_VARS: [&str; 4] = ["PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"];
pub const VALID_PORT_NAMES: [&str; 3] = ["", "http1", "h2c"];
const RESERVED_CONTAINER_NAMES: [&str; 1] = ["queue-proxy"];
const RESERVED_MOUNT_PATHS: [&str; 3] = ["/", "/dev", "/dev/log"];

/// Whether this container serves traffic (has the port) or is a sidecar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Serving,
    Sidecar,
}

/// Validates one container; `port` is the revision's serving port (name defaulted to `http`).
pub(crate) fn validate_container(
    c: &Container,
    role: Role,
    port: &ContainerPort,
    volumes: &BTreeMap<&str, &Volume>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if *c == Container::default() {
        errs.push(FieldError::new(
            "",
            "missing field: container must not be empty",
        ));
        return errs;
    }
    if let Some(name) = c.name.as_deref() {
        if RESERVED_CONTAINER_NAMES.contains(&name) {
            errs.push(FieldError::new(
                "name",
                format!("{name:?} is a reserved container name"),
            ));
        } else if let Some(msg) = dns1123_label(name) {
            errs.push(FieldError::new(
                "name",
                format!("invalid container name {name:?}: {msg}"),
            ));
        }
    }
    let image = c.image.as_deref().unwrap_or_default();
    let command = c.command.as_deref().unwrap_or_default();
    if image.is_empty() && command.is_empty() {
        errs.push(FieldError::new(
            "image",
            "missing field: one of image or command is required",
        ));
    }
    for (i, env) in c.env().iter().enumerate() {
        errs.extend(
            validate_env(env, role)
                .into_iter()
                .map(|e| e.via(&format!("env[{i}]"))),
        );
    }
    for (i, from) in c.env_from.as_deref().unwrap_or_default().iter().enumerate() {
        errs.extend(
            validate_env_from(from)
                .into_iter()
                .map(|e| e.via(&format!("envFrom[{i}]"))),
        );
    }
    if let Some(p) = c.serving_port() {
        errs.extend(via("ports[0]", validate_port(p)));
    }
    match c.termination_message_policy.as_deref() {
        None | Some("" | "File" | "FallbackToLogsOnError") => {}
        Some(other) => errs.push(FieldError::new(
            "terminationMessagePolicy",
            format!("invalid value {other:?}: must be File or FallbackToLogsOnError"),
        )),
    }
    if let Some(sc) = &c.security_context {
        for (field, v) in [
            ("runAsUser", sc.run_as_user),
            ("runAsGroup", sc.run_as_group),
        ] {
            if let Some(v) = v.filter(|v| !(0..=i64::from(i32::MAX)).contains(v)) {
                errs.push(FieldError::new(
                    format!("securityContext.{field}"),
                    format!("expected 0 <= {v} <= {}", i32::MAX),
                ));
            }
        }
    }
    errs.extend(via(
        "volumeMounts",
        validate_mounts(c.volume_mounts(), volumes),
    ));
    let serving = (role == Role::Serving).then_some(port);
    for (field, probe) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        if let Some(p) = probe {
            errs.extend(via(
                field,
                validate_probe(p, serving, field == "readinessProbe"),
            ));
        }
    }
    errs
}

fn validate_env(env: &EnvVar, role: Role) -> Vec<FieldError> {
    // Sidecars may set PORT: only the serving container is told which port to listen on.
    let reserved = RESERVED_ENV_VARS
        .iter()
        .any(|r| *r == env.name && !(role == Role::Sidecar && *r == "PORT"));
    if env.name.is_empty() {
        vec![FieldError::new(
            "name",
            "missing field: environment variable name is required",
        )]
    } else if reserved {
        vec![FieldError::new(
            "name",
            format!("{:?} is a reserved environment variable", env.name),
        )]
    } else {
        Vec::new()
    }
}

fn validate_env_from(from: &EnvFromSource) -> Vec<FieldError> {
    match (&from.config_map_ref, &from.secret_ref) {
        (Some(_), Some(_)) => vec![FieldError::new(
            "",
            "expected exactly one, got both: configMapRef, secretRef",
        )],
        (None, None) => vec![FieldError::new(
            "",
            "expected exactly one, got neither: configMapRef, secretRef",
        )],
        _ => Vec::new(),
    }
}

/// The serving port: not one of ours, in range, TCP, named for protocol selection only.
pub(crate) fn validate_port(p: &ContainerPort) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if RESERVED_PORTS.contains(&p.container_port) {
        errs.push(FieldError::new(
            "containerPort",
            format!(
                "{} is a reserved port, please use a different value",
                p.container_port
            ),
        ));
    }
    if !(0..=65535).contains(&p.container_port) {
        errs.push(FieldError::new(
            "containerPort",
            format!("expected 0 <= {} <= 65535", p.container_port),
        ));
    }
    if let Some(proto) = p
        .protocol
        .as_deref()
        .filter(|p| !p.is_empty() && *p != "TCP")
    {
        errs.push(FieldError::new(
            "protocol",
            format!("invalid value {proto:?}: only TCP is supported"),
        ));
    }
    let name = p.name.as_deref().unwrap_or_default();
    if !VALID_PORT_NAMES.contains(&name) {
        errs.push(FieldError::new(
            "name",
            format!(
                "port name {name:?} is not allowed: name must be empty, or one of: 'h2c', 'http1'"
            ),
        ));
    }
    errs
}

fn validate_mounts(mounts: &[VolumeMount], volumes: &BTreeMap<&str, &Volume>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen_paths = BTreeSet::new();
    for (i, vm) in mounts.iter().enumerate() {
        let at = |f: &str, m: String| FieldError::new(format!("[{i}].{f}"), m);
        let volume = volumes.get(vm.name.as_str());
        if volume.is_none() {
            errs.push(at(
                "name",
                format!("volumeMount {:?} has no matching volume", vm.name),
            ));
        }
        let path = clean_path(&vm.mount_path);
        if vm.mount_path.is_empty() {
            errs.push(at(
                "mountPath",
                "missing field: mountPath is required".into(),
            ));
        } else if RESERVED_MOUNT_PATHS.contains(&path.as_str()) {
            errs.push(at(
                "mountPath",
                format!("mountPath {path:?} is a reserved path"),
            ));
        } else if !path.starts_with('/') {
            errs.push(at(
                "mountPath",
                format!(
                    "invalid value {:?}: mountPath must be absolute",
                    vm.mount_path
                ),
            ));
        } else if !seen_paths.insert(path) {
            errs.push(at(
                "mountPath",
                format!("{:?} must be unique", vm.mount_path),
            ));
        }
        let writable_kind = volume.is_none_or(|v| {
            v.empty_dir.is_some() || v.persistent_volume_claim.is_some() || v.ephemeral.is_some()
        });
        if !writable_kind && vm.read_only != Some(true) {
            errs.push(at(
                "readOnly",
                "volume mount should be readOnly for this type of volume".into(),
            ));
        }
    }
    errs
}

/// Lexical path cleaning, enough to spot `/dev/` and `//` spellings of reserved paths.
fn clean_path(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if abs { format!("/{joined}") } else { joined }
}

/// Knative's `validateProbe` (+ `validateReadinessProbe` for readiness probes).
fn validate_probe(p: &Probe, serving: Option<&ContainerPort>, readiness: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let handlers: Vec<&str> = [
        (p.http_get.is_some(), "httpGet"),
        (p.tcp_socket.is_some(), "tcpSocket"),
        (p.exec.is_some(), "exec"),
        (p.grpc.is_some(), "grpc"),
    ]
    .into_iter()
    .filter_map(|(set, n)| set.then_some(n))
    .collect();
    match handlers.len() {
        0 => errs.push(FieldError::new(
            "",
            "expected exactly one, got neither: exec, grpc, httpGet, tcpSocket",
        )),
        1 => {}
        _ => errs.push(FieldError::new(
            "",
            format!("expected exactly one, got both: {}", handlers.join(", ")),
        )),
    }
    let ports = [
        ("httpGet.port", p.http_get.as_ref().map(|h| &h.port)),
        ("tcpSocket.port", p.tcp_socket.as_ref().map(|t| &t.port)),
    ];
    for (field, port) in ports {
        let Some(port) = port else { continue };
        match (serving, port) {
            (Some(sp), IntOrString::String(s))
                if !s.is_empty() && Some(s.as_str()) != sp.name.as_deref() =>
            {
                errs.push(FieldError::new(
                    field,
                    format!("invalid value {s:?}: probe port must match container port"),
                ));
            }
            (None, IntOrString::Int(0)) => errs.push(FieldError::new(
                field,
                "invalid value 0: probe port must be specified",
            )),
            (None, IntOrString::String(s)) if s.is_empty() => {
                errs.push(FieldError::new(
                    field,
                    "invalid value \"\": probe port must be specified",
                ));
            }
            _ => {}
        }
    }
    if readiness {
        errs.extend(readiness_bounds(p));
    }
    errs
}

fn readiness_bounds(p: &Probe) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let period = p.period_seconds.unwrap_or(0);
    let max = i32::MAX;
    let mut bound = |field: &str, v: i32, lo: i32| {
        if v < lo {
            errs.push(FieldError::new(
                field,
                format!("expected {lo} <= {v} <= {max}"),
            ));
        }
    };
    bound("periodSeconds", period, 0);
    bound(
        "initialDelaySeconds",
        p.initial_delay_seconds.unwrap_or(0),
        0,
    );
    bound("successThreshold", p.success_threshold.unwrap_or(0), 1);
    let (timeout, failure) = (
        p.timeout_seconds.unwrap_or(0),
        p.failure_threshold.unwrap_or(0),
    );
    if period == 0 {
        // periodSeconds 0 selects Knative's aggressive built-in probing, which has its own timing.
        if failure != 0 {
            errs.push(FieldError::new(
                "failureThreshold",
                "failureThreshold is disallowed when periodSeconds is zero",
            ));
        }
        if timeout != 0 {
            errs.push(FieldError::new(
                "timeoutSeconds",
                "timeoutSeconds is disallowed when periodSeconds is zero",
            ));
        }
    } else {
        bound("timeoutSeconds", timeout, 1);
        bound("failureThreshold", failure, 1);
    }
    errs
}
