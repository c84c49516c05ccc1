//! The Node this runner stands for, as a kubelet registers its own: named after the
//! host, reachable on loopback (`status.addresses` InternalIP), its log endpoint's
//! port in `status.daemonEndpoints.kubeletEndpoint.Port` (where the API server sends
//! `kubectl logs`), and a Ready condition that is True while the runner runs and
//! Unknown once it stopped. Its Pods carry its name in `spec.nodeName`.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::deployment_worker::FIELD_MANAGER;
use crate::pod_status::LOOPBACK;

/// The node name: the host name, as the kubelet's default (lower case; a name
/// Kubernetes would refuse becomes `localhost`).
pub(crate) fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    valid_name(&host.trim().to_lowercase()).unwrap_or_else(|| "localhost".into())
}

fn valid_name(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    ok.then(|| name.to_owned())
}

/// Registers (or refreshes) the Node with its log endpoint on `kubelet_port`.
pub(crate) async fn register(
    client: &Client,
    name: &str,
    kubelet_port: u16,
) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": std::env::consts::OS,
                "kubernetes.io/arch": arch(),
            },
        },
    });
    nodes
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&node),
        )
        .await?;
    let status = status(name, kubelet_port, true, Timestamp::now());
    nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await?;
    Ok(())
}

/// The runner stopped: the Node's readiness becomes Unknown, as when a kubelet stops
/// posting its status.
pub(crate) async fn mark_stopped(client: &Client, name: &str) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let patch = json!({"status": {"conditions": [ready_condition(false, Timestamp::now())]}});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(())
}

/// The Node's status. Pure.
pub(crate) fn status(name: &str, kubelet_port: u16, ready: bool, now: Timestamp) -> Value {
    json!({
        "addresses": [
            {"type": "InternalIP", "address": LOOPBACK},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "conditions": [ready_condition(ready, now)],
        "nodeInfo": {
            "architecture": arch(),
            "operatingSystem": std::env::consts::OS,
            "kubeletVersion": concat!("v1.37.0-fnmesh.", env!("CARGO_PKG_VERSION")),
            "containerRuntimeVersion": concat!("fnmesh://", env!("CARGO_PKG_VERSION")),
            "kernelVersion": kernel_version(),
            "osImage": os_image(),
            "bootID": "",
            "machineID": "",
            "systemUUID": "",
            "kubeProxyVersion": "",
        },
    })
}

fn ready_condition(ready: bool, now: Timestamp) -> Value {
    let (status, reason, message) = if ready {
        (
            "True",
            "KubeletReady",
            "the fnmesh runner is running this node's replicas",
        )
    } else {
        ("Unknown", "NodeStatusUnknown", "the fnmesh runner stopped")
    };
    json!({
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": now.to_string(),
        "lastTransitionTime": now.to_string(),
    })
}

/// Go's GOARCH names, which Kubernetes labels use.
fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `PRETTY_NAME` of `/etc/os-release`, as the kubelet reports it.
fn os_image() -> String {
    let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_default()
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_kubernetes_refuses_fall_back() {
        assert_eq!(
            valid_name("build-7.example").as_deref(),
            Some("build-7.example")
        );
        assert_eq!(valid_name("bad_name"), None);
        assert_eq!(valid_name("-x"), None);
        assert_eq!(valid_name(""), None);
        assert!(valid_name(&node_name()).is_some());
    }

    #[test]
    fn the_status_points_at_the_log_endpoint_on_loopback() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let s = status("host-a", 10250, true, now);
        assert_eq!(s["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
        assert_eq!(
            s["addresses"][0],
            json!({"type": "InternalIP", "address": "127.0.0.1"})
        );
        assert_eq!(s["conditions"][0]["status"], "True");
        // The shape k8s-openapi reads back.
        let node: Node =
            serde_json::from_value(json!({"metadata": {"name": "host-a"}, "status": s})).unwrap();
        assert_eq!(
            node.status
                .unwrap()
                .daemon_endpoints
                .unwrap()
                .kubelet_endpoint
                .unwrap()
                .port,
            10250
        );
        assert_eq!(ready_condition(false, now)["status"], "Unknown");
    }
}
