//! The cells kube's Go printers compute for Pods and Nodes (`printPod`,
//! `printNode`): READY as ready/total containers, STATUS as kubectl reasons it
//! (a waiting or terminated container's reason over the phase, `Terminating` once
//! deleted), RESTARTS with the last restart's age, a Node's readiness and roles.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::age_of;

fn containers(pod: &Value) -> &[Value] {
    pod.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `1/1`: ready containers of all the spec's containers.
pub(super) fn ready(pod: &Value) -> Value {
    let total = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = containers(pod)
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    json!(format!("{ready}/{total}"))
}

/// The STATUS column, following `printPod`.
pub(super) fn status(pod: &Value) -> Value {
    let text = |p: &str| pod.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let mut reason = match text("/status/reason") {
        "" => text("/status/phase").to_owned(),
        r => r.to_owned(),
    };
    let mut running = false;
    for c in containers(pod).iter().rev() {
        let state = &c["state"];
        if let Some(r) = state
            .pointer("/waiting/reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            reason = r.to_owned();
        } else if let Some(t) = state.get("terminated").filter(|t| t.is_object()) {
            reason = match t
                .get("reason")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            {
                Some(r) => r.to_owned(),
                None => match t.get("signal").and_then(Value::as_i64).filter(|s| *s != 0) {
                    Some(signal) => format!("Signal:{signal}"),
                    None => format!(
                        "ExitCode:{}",
                        t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                    ),
                },
            };
        } else if c.get("ready").and_then(Value::as_bool) == Some(true)
            && state.get("running").is_some()
        {
            running = true;
        }
    }
    if reason == "Completed" && running {
        reason = if condition_true(pod, "Ready") {
            "Running"
        } else {
            "NotReady"
        }
        .to_owned();
    }
    let terminal = matches!(text("/status/phase"), "Succeeded" | "Failed");
    if pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null())
        && !terminal
    {
        reason = "Terminating".to_owned();
    }
    json!(reason)
}

fn condition_true(obj: &Value, type_: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == type_ && c["status"] == "True")
}

/// `2 (5m ago)`: restarts of all containers, with the age of the latest restart.
pub(super) fn restarts(pod: &Value, now: Timestamp) -> Value {
    let count: i64 = containers(pod)
        .iter()
        .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
        .sum();
    let last = containers(pod)
        .iter()
        .filter_map(|c| {
            c.pointer("/lastState/terminated/finishedAt")
                .and_then(Value::as_str)
        })
        .filter_map(|t| t.parse::<Timestamp>().ok())
        .max();
    match last {
        Some(at) if count > 0 => json!(format!("{count} ({} ago)", age_of(&at.to_string(), now))),
        _ => json!(count.to_string()),
    }
}

/// `Ready`, `NotReady` or `Unknown`, plus `,SchedulingDisabled` for a cordoned node.
pub(super) fn node_status(node: &Value) -> Value {
    let ready = node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let mut status = match ready.and_then(|c| c["status"].as_str()) {
        Some("True") => "Ready",
        Some("False") => "NotReady",
        _ => "Unknown",
    }
    .to_owned();
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    json!(status)
}

/// The `node-role.kubernetes.io/<role>` labels, or `<none>`.
pub(super) fn node_roles(node: &Value) -> Value {
    let mut roles: Vec<&str> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort_unstable();
    json!(if roles.is_empty() {
        "<none>".to_owned()
    } else {
        roles.join(",")
    })
}

/// The first address of `type_` (`InternalIP`, `ExternalIP`), or `<none>`.
pub(super) fn node_address(node: &Value, type_: &str) -> Value {
    let address = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|a| a["type"] == type_)
        .and_then(|a| a["address"].as_str());
    json!(address.unwrap_or("<none>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(container_status: Value) -> Value {
        json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "user-container"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [container_status],
            },
        })
    }

    #[test]
    fn a_running_pod_reads_as_kubectl_prints_it() {
        let now: Timestamp = "2024-05-01T10:00:05Z".parse().unwrap();
        let p = pod(json!({"ready": true, "restartCount": 0, "state": {"running": {}}}));
        assert_eq!(
            (ready(&p), status(&p), restarts(&p, now)),
            (json!("1/1"), json!("Running"), json!("0"))
        );
        let restarted = pod(json!({
            "ready": true, "restartCount": 1, "state": {"running": {}},
            "lastState": {"terminated": {"exitCode": 3, "finishedAt": "2024-05-01T10:00:00Z"}},
        }));
        assert_eq!(restarts(&restarted, now), json!("1 (5s ago)"));
    }

    #[test]
    fn container_reasons_win_over_the_phase() {
        let backoff = pod(
            json!({"ready": false, "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}),
        );
        assert_eq!(
            (ready(&backoff), status(&backoff)),
            (json!("0/1"), json!("CrashLoopBackOff"))
        );
        let killed =
            pod(json!({"ready": false, "state": {"terminated": {"exitCode": 137, "signal": 9}}}));
        assert_eq!(status(&killed), json!("Signal:9"));
        let exited = pod(json!({"ready": false, "state": {"terminated": {"exitCode": 2}}}));
        assert_eq!(status(&exited), json!("ExitCode:2"));
        let mut deleting = pod(json!({"ready": true, "state": {"running": {}}}));
        deleting["metadata"]["deletionTimestamp"] = json!("2024-05-01T10:00:00Z");
        assert_eq!(status(&deleting), json!("Terminating"));
        let pending = json!({"spec": {"containers": [{}]}, "status": {"phase": "Pending"}});
        assert_eq!(
            (ready(&pending), status(&pending)),
            (json!("0/1"), json!("Pending"))
        );
    }

    #[test]
    fn nodes_show_readiness_roles_and_addresses() {
        let node = json!({
            "metadata": {"labels": {"node-role.kubernetes.io/worker": "", "kubernetes.io/os": "linux"}},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            },
        });
        assert_eq!(node_status(&node), json!("Ready,SchedulingDisabled"));
        assert_eq!(node_roles(&node), json!("worker"));
        assert_eq!(node_address(&node, "InternalIP"), json!("127.0.0.1"));
        assert_eq!(node_address(&node, "ExternalIP"), json!("<none>"));
        let stopped = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(
            (node_status(&stopped), node_roles(&stopped)),
            (json!("Unknown"), json!("<none>"))
        );
    }
}
