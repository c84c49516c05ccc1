//! What every component Deployment in deploy/ must have: the one image with the
//! component as its first argument, listeners on 0.0.0.0 matching the declared ports,
//! readiness and liveness probes on the metrics port, requests and limits, a
//! locked-down container, and its pod's IP and name from the downward API.

use serde_json::Value;

use crate::manifests::Manifest;

/// The image every component runs (the contract's).
pub(crate) const IMAGE: &str = "ghcr.io/fnmesh/fnmesh:0.1.0";
/// The container port the probes use: the metrics listener (`--metrics-addr`).
pub(crate) const METRICS_PORT_NAME: &str = "http-metrics";

/// Everything `deployment` breaks, one message each.
pub(crate) fn problems(deployment: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    let id = deployment.id();
    let mut fail = |what: String| problems.push(format!("{id}: {what}"));
    let spec = &deployment.object["spec"];
    if spec["replicas"].as_i64().unwrap_or(1) < 2 {
        fail("replicas: at least 2, for availability".into());
    }
    let pod = &spec["template"]["spec"];
    if pod["serviceAccountName"].as_str().is_none_or(str::is_empty) {
        fail("spec.template.spec.serviceAccountName: must name its own ServiceAccount".into());
    }
    let pod_security = &pod["securityContext"];
    if pod_security["runAsNonRoot"] != true {
        fail("pod securityContext.runAsNonRoot: must be true".into());
    }
    if pod_security["seccompProfile"]["type"] != "RuntimeDefault" {
        fail("pod securityContext.seccompProfile.type: must be RuntimeDefault".into());
    }
    let containers = pod["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        fail("no containers".into());
    }
    for container in &containers {
        let name = container["name"].as_str().unwrap_or("?");
        for problem in container_problems(deployment.name(), container) {
            fail(format!("container {name}: {problem}"));
        }
    }
    problems
}

fn container_problems(component: &str, c: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |what: &str| problems.push(what.to_owned());
    if c["image"] != IMAGE {
        fail(&format!("image: must be {IMAGE}, got {}", c["image"]));
    }
    let args: Vec<&str> = c["args"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if args.first() != Some(&component) {
        fail(&format!(
            "args[0]: must be the component {component:?}, got {args:?}"
        ));
    }
    // Every `--*-addr=HOST:PORT` flag listens on 0.0.0.0.
    let mut listen_ports = Vec::new();
    let mut metrics_port = None;
    for arg in &args {
        let Some((flag, value)) = arg.split_once('=') else {
            continue;
        };
        if !flag.ends_with("-addr") {
            continue;
        }
        match value
            .strip_prefix("0.0.0.0:")
            .and_then(|p| p.parse::<i64>().ok())
        {
            Some(port) => {
                listen_ports.push(port);
                if flag == "--metrics-addr" {
                    metrics_port = Some(port);
                }
            }
            None => fail(&format!(
                "{flag}: must listen on 0.0.0.0:<port>, got {value:?}"
            )),
        }
    }
    if metrics_port.is_none() {
        fail("args: --metrics-addr=0.0.0.0:<port> is missing (the probes' port)");
    }
    let ports = c["ports"].as_array().cloned().unwrap_or_default();
    let declared: Vec<i64> = ports
        .iter()
        .filter_map(|p| p["containerPort"].as_i64())
        .collect();
    let mut sorted_declared = declared.clone();
    sorted_declared.sort_unstable();
    listen_ports.sort_unstable();
    if sorted_declared != listen_ports {
        fail(&format!(
            "ports: must declare exactly the listeners' ports {listen_ports:?}, got {sorted_declared:?}"
        ));
    }
    let named_metrics = ports
        .iter()
        .find(|p| p["name"] == METRICS_PORT_NAME)
        .and_then(|p| p["containerPort"].as_i64());
    if metrics_port.is_some() && named_metrics != metrics_port {
        fail(&format!(
            "ports: {METRICS_PORT_NAME} must be the --metrics-addr port {metrics_port:?}, got {named_metrics:?}"
        ));
    }
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &c[probe]["httpGet"];
        if get["path"] != path || get["port"] != METRICS_PORT_NAME {
            fail(&format!(
                "{probe}: must be httpGet {path} on port {METRICS_PORT_NAME}, got {}",
                c[probe]
            ));
        }
    }
    for bound in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            if c["resources"][bound][resource].is_null() {
                fail(&format!("resources.{bound}.{resource}: must be set"));
            }
        }
    }
    let security = &c["securityContext"];
    let rules: [(&str, &Value, Value); 5] = [
        ("runAsNonRoot", &security["runAsNonRoot"], true.into()),
        (
            "readOnlyRootFilesystem",
            &security["readOnlyRootFilesystem"],
            true.into(),
        ),
        (
            "allowPrivilegeEscalation",
            &security["allowPrivilegeEscalation"],
            false.into(),
        ),
        (
            "capabilities.drop",
            &security["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
        ),
        (
            "seccompProfile.type",
            &security["seccompProfile"]["type"],
            "RuntimeDefault".into(),
        ),
    ];
    for (field, got, wanted) in rules {
        if *got != wanted {
            fail(&format!(
                "securityContext.{field}: must be {wanted}, got {got}"
            ));
        }
    }
    for (env, field_path) in [("POD_IP", "status.podIP"), ("POD_NAME", "metadata.name")] {
        let from = c["env"]
            .as_array()
            .and_then(|e| e.iter().find(|v| v["name"] == env))
            .map(|v| &v["valueFrom"]["fieldRef"]["fieldPath"]);
        if from.is_none_or(|f| *f != field_path) {
            fail(&format!(
                "env {env}: must come from the downward API ({field_path})"
            ));
        }
    }
    problems
}
