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
