//! Server-side printing: turns objects into the `meta.k8s.io/v1` `Table`
//! that `kubectl get` asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! Mirrors kube-apiserver: the CRD table convertor for custom resources
//! (Name, then the CRD's `additionalPrinterColumns`, missing values as null
//! cells which kubectl shows as `<none>`, `date` columns as a human age), and
//! a few of the built-in printers kubectl users expect for core kinds.

mod duration;
mod jsonpath;
mod pod;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

pub use duration::human_duration;
use jsonpath::JsonPath;

/// One column of a table, as a CRD's `additionalPrinterColumns` entry.
///
/// `json_path` is a CRD JSONPath (`.status.url`); built-in columns also use
/// `fnmesh:` paths for the derived cells kube's Go printers compute (counts,
/// `ready/desired`, ages), see [`builtin_columns`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i32,
    pub json_path: String,
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATION_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

impl PrinterColumn {
    fn new(name: &str, type_: &str, json_path: &str, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            type_: type_.to_owned(),
            format: String::new(),
            description: description.to_owned(),
            priority: 0,
            json_path: json_path.to_owned(),
        }
    }

    fn wide(mut self) -> Self {
        self.priority = 1;
        self
    }

    /// The Age column CRDs get when they declare no printer columns.
    pub fn age() -> Self {
        Self::new(
            "Age",
            "date",
            ".metadata.creationTimestamp",
            CREATION_DESCRIPTION,
        )
    }

    /// Reads one `additionalPrinterColumns` entry of a v1 CRD version.
    pub fn from_crd(column: &Value) -> Option<Self> {
        let text = |k: &str| {
            column
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let priority = column.get("priority").and_then(Value::as_i64).unwrap_or(0);
        Some(Self {
            name: column.get("name")?.as_str()?.to_owned(),
            type_: column.get("type")?.as_str()?.to_owned(),
            format: text("format"),
            description: text("description"),
            priority: i32::try_from(priority).unwrap_or(0),
            json_path: column.get("jsonPath")?.as_str()?.to_owned(),
        })
    }

    /// The columns of one CRD version (`spec.versions[i]`), defaulting to Age
    /// when the version declares none, as apiextensions-apiserver does.
    pub fn for_crd_version(version: &Value) -> Vec<Self> {
        match version
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
        {
            Some(cols) if !cols.is_empty() => cols.iter().filter_map(Self::from_crd).collect(),
            _ => vec![Self::age()],
        }
    }
}

/// Columns (after Name, which [`to_table`] always adds) for resources that
/// have no CRD printer columns, modelled on kube's built-in printers.
pub fn builtin_columns(resource: &str) -> Vec<PrinterColumn> {
    let age = PrinterColumn::new("Age", "string", "fnmesh:age", CREATION_DESCRIPTION);
    let mut cols = match resource {
        "configmaps" => vec![PrinterColumn::new(
            "Data",
            "string",
            "fnmesh:count(.data,.binaryData)",
            "Data contains the configuration data.",
        )],
        "secrets" => vec![
            PrinterColumn::new("Type", "string", ".type", "The type of secret"),
            PrinterColumn::new(
                "Data",
                "string",
                "fnmesh:count(.data)",
                "Data contains the secret data.",
            ),
        ],
        "deployments" => vec![
            PrinterColumn::new(
                "Ready",
                "string",
                "fnmesh:ready(.status.readyReplicas,.spec.replicas)",
                "Number of the pod with ready state",
            ),
            PrinterColumn::new(
                "Up-to-date",
                "string",
                "fnmesh:int(.status.updatedReplicas)",
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            PrinterColumn::new(
                "Available",
                "string",
                "fnmesh:int(.status.availableReplicas)",
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
        ],
        "namespaces" => vec![PrinterColumn::new(
            "Status",
            "string",
            ".status.phase",
            "The status of the namespace",
        )],
        "leases" => vec![PrinterColumn::new(
            "Holder",
            "string",
            ".spec.holderIdentity",
            "The holder of the lease",
        )],
        "services" => vec![
            PrinterColumn::new("Type", "string", ".spec.type", "The type of the service"),
            PrinterColumn::new(
                "Cluster-IP",
                "string",
                ".spec.clusterIP",
                "The cluster IP of the service (none on a single node)",
            ),
            PrinterColumn::new(
                "Port(s)",
                "string",
                "fnmesh:ports(.spec.ports)",
                "The ports of the service",
            ),
        ],
        "events" => vec![
            PrinterColumn::new(
                "Last Seen",
                "string",
                "fnmesh:since(.lastTimestamp,.eventTime,.metadata.creationTimestamp)",
                "The time the event was last seen",
            ),
            PrinterColumn::new("Type", "string", ".type", "The type of the event"),
            PrinterColumn::new("Reason", "string", ".reason", "The reason of the event"),
            PrinterColumn::new(
                "Object",
                "string",
                "fnmesh:object(.involvedObject)",
                "The object the event is about",
            ),
            PrinterColumn::new("Message", "string", ".message", "The message of the event"),
        ],
        "pods" => vec![
            PrinterColumn::new(
                "Ready",
                "string",
                "fnmesh:podReady",
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            PrinterColumn::new(
                "Status",
                "string",
                "fnmesh:podStatus",
                "The aggregate status of the containers in this pod.",
            ),
            PrinterColumn::new(
                "Restarts",
                "string",
                "fnmesh:podRestarts",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
        ],
        "nodes" => vec![
            PrinterColumn::new(
                "Status",
                "string",
                "fnmesh:nodeStatus",
                "The status of the node",
            ),
            PrinterColumn::new(
                "Roles",
                "string",
                "fnmesh:nodeRoles",
                "The roles of the node",
            ),
        ],
        "endpointslices" => vec![PrinterColumn::new(
            "AddressType",
            "string",
            ".addressType",
            "The type of address carried by this EndpointSlice.",
        )],
        _ => Vec::new(),
    };
    if resource != "events" {
        cols.push(age);
    }
    if resource == "services" {
        cols.push(
            PrinterColumn::new(
                "Selector",
                "string",
                "fnmesh:selector(.spec.selector)",
                "The selector of the service",
            )
            .wide(),
        );
    }
    if resource == "pods" {
        cols.extend([
            PrinterColumn::new("IP", "string", ".status.podIP", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.").wide(),
            PrinterColumn::new("Node", "string", ".spec.nodeName", "Name of the Node this pod is bound to.").wide(),
            PrinterColumn::new("Nominated Node", "string", "fnmesh:orNone(.status.nominatedNodeName)", "Name of the node nominated by the scheduler to run this pod.").wide(),
            PrinterColumn::new("Readiness Gates", "string", "fnmesh:none", "The readiness gates of this pod.").wide(),
        ]);
    }
    if resource == "nodes" {
        cols.extend([
            PrinterColumn::new("Version", "string", ".status.nodeInfo.kubeletVersion", "Kubelet Version reported by the node."),
            PrinterColumn::new("Internal-IP", "string", "fnmesh:nodeAddress(InternalIP)", "List of internal IPs (if available) of the node.").wide(),
            PrinterColumn::new("External-IP", "string", "fnmesh:nodeAddress(ExternalIP)", "List of external IPs (if available) of the node.").wide(),
            PrinterColumn::new("OS-Image", "string", ".status.nodeInfo.osImage", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).").wide(),
            PrinterColumn::new("Kernel-Version", "string", ".status.nodeInfo.kernelVersion", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).").wide(),
            PrinterColumn::new("Container-Runtime", "string", ".status.nodeInfo.containerRuntimeVersion", "Container Runtime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).").wide(),
        ]);
    }
    if resource == "deployments" {
        cols.push(
            PrinterColumn::new(
                "Containers",
                "string",
                "fnmesh:join(.spec.template.spec.containers[*].name)",
                "Names of each container in the template.",
            )
            .wide(),
        );
        cols.push(
            PrinterColumn::new(
                "Images",
                "string",
                "fnmesh:join(.spec.template.spec.containers[*].image)",
                "Images referenced by each container in the template.",
            )
            .wide(),
        );
        cols.push(
            PrinterColumn::new(
                "Selector",
                "string",
                "fnmesh:selector(.spec.selector.matchLabels)",
                "Label selector for pods.",
            )
            .wide(),
        );
    }
    cols
}

/// Renders `objects` as a `meta.k8s.io/v1` Table. `columns` excludes Name,
/// which is always first. `include_object` is the `?includeObject=` value:
/// `None`, `Object`, or (default) `Metadata`, which embeds a
/// `PartialObjectMetadata`. `list_meta` becomes the table's `metadata`
/// (resourceVersion, continue, remainingItemCount).
pub fn to_table(
    columns: &[PrinterColumn],
    objects: &[&Value],
    include_object: &str,
    list_meta: Value,
    now: Timestamp,
) -> Value {
    let name_col = PrinterColumn {
        format: "name".to_owned(),
        ..PrinterColumn::new("Name", "string", ".metadata.name", NAME_DESCRIPTION)
    };
    let definitions: Vec<Value> = std::iter::once(&name_col)
        .chain(columns)
        .map(|c| {
            json!({
                "name": c.name, "type": c.type_, "format": c.format,
                "description": c.description, "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let name = obj
                .pointer("/metadata/name")
                .cloned()
                .unwrap_or_else(|| json!(""));
            let cells: Vec<Value> = std::iter::once(name)
                .chain(columns.iter().map(|c| cell(c, obj, now)))
                .collect();
            json!({ "cells": cells, "object": row_object(obj, include_object) })
        })
        .collect();
    let metadata = if list_meta.is_object() {
        list_meta
    } else {
        Value::Object(Map::new())
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

fn row_object(obj: &Value, include_object: &str) -> Value {
    match include_object {
        "None" => Value::Null,
        "Object" => obj.clone(),
        _ => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

fn age_of(value: &str, now: Timestamp) -> String {
    match value.parse::<Timestamp>() {
        Ok(ts) => human_duration(now.duration_since(ts)),
        Err(_) => "<invalid>".to_owned(),
    }
}

/// One cell, following the CRD convertor's `cellForJSONValue`: a missing
/// value or a type mismatch is null.
fn cell(col: &PrinterColumn, obj: &Value, now: Timestamp) -> Value {
    if let Some(expr) = col.json_path.strip_prefix("fnmesh:") {
        return computed_cell(expr, obj, now);
    }
    let Some(path) = JsonPath::parse(&col.json_path) else {
        return Value::Null;
    };
    let Some(value) = path.find(obj).into_iter().next() else {
        return Value::Null;
    };
    match (col.type_.as_str(), value) {
        (_, Value::Null) => Value::Null,
        ("string", v) => Value::String(go_text(v)),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::from),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => Value::String(age_of(s, now)),
        _ => Value::Null,
    }
}

/// Renders a value as Go's `fmt.Print` would, which is what kubectl's
/// JSONPath printer produces for `string` columns.
fn go_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".to_owned(),
        Value::Bool(_) | Value::Number(_) => v.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_text).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_text(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn computed_cell(expr: &str, obj: &Value, now: Timestamp) -> Value {
    let (func, args) = match expr.split_once('(') {
        Some((f, rest)) => (f, rest.strip_suffix(')').unwrap_or(rest)),
        None => (expr, ""),
    };
    let args: Vec<&str> = args.split(',').filter(|a| !a.is_empty()).collect();
    let find_all = |p: &str| {
        JsonPath::parse(p)
            .map(|jp| jp.find(obj))
            .unwrap_or_default()
    };
    let first = |p: &str| find_all(p).into_iter().next();
    let int = |p: &str, default: i64| first(p).and_then(Value::as_i64).unwrap_or(default);
    match func {
        "age" => obj
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .map_or_else(|| json!("<unknown>"), |s| json!(age_of(s, now))),
        "count" => {
            let n: usize = args
                .iter()
                .filter_map(|p| first(p))
                .filter_map(Value::as_object)
                .map(Map::len)
                .sum();
            json!(n)
        }
        "int" => json!(args.first().map_or(0, |p| int(p, 0))),
        // Deployments default spec.replicas to 1 when unset.
        "ready" => match args.as_slice() {
            [ready, desired] => json!(format!("{}/{}", int(ready, 0), int(desired, 1))),
            _ => Value::Null,
        },
        "join" => {
            let items: Vec<String> = args.iter().flat_map(|p| find_all(p)).map(go_text).collect();
            json!(items.join(","))
        }
        // The first of several timestamps that is set, as an age (events carry
        // `lastTimestamp` or, written by events.k8s.io clients, `eventTime`).
        "since" => args
            .iter()
            .find_map(|p| first(p).and_then(Value::as_str).map(str::to_owned))
            .map_or_else(|| json!("<unknown>"), |s| json!(age_of(&s, now))),
        // `kind/name` of a reference, kind in lower case, as kube's event printer.
        "object" => {
            let reference = args.first().and_then(|p| first(p));
            let text = |k: &str| {
                reference
                    .and_then(|r| r.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            json!(format!("{}/{}", text("kind").to_lowercase(), text("name")))
        }
        // `80/TCP,443:30443/TCP`, as kube's service printer.
        "ports" => {
            let ports = args
                .first()
                .and_then(|p| first(p))
                .and_then(Value::as_array);
            let parts: Vec<String> = ports
                .into_iter()
                .flatten()
                .map(|p| {
                    let port = p.get("port").map_or_else(String::new, go_text);
                    let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(node) => format!("{port}:{node}/{protocol}"),
                        None => format!("{port}/{protocol}"),
                    }
                })
                .collect();
            json!(if parts.is_empty() {
                "<none>".to_owned()
            } else {
                parts.join(",")
            })
        }
        "podReady" => pod::ready(obj),
        "podStatus" => pod::status(obj),
        "podRestarts" => pod::restarts(obj, now),
        "nodeStatus" => pod::node_status(obj),
        "nodeRoles" => pod::node_roles(obj),
        "nodeAddress" => pod::node_address(obj, args.first().copied().unwrap_or_default()),
        "none" => json!("<none>"),
        // Go printers write `<none>` themselves where a CRD column would be empty.
        "orNone" => args
            .first()
            .and_then(|p| first(p))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map_or_else(|| json!("<none>"), |v| json!(v)),
        "selector" => {
            let labels = args
                .first()
                .and_then(|p| first(p))
                .and_then(Value::as_object);
            let parts: Vec<String> = labels
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", go_text(v)))
                .collect();
            json!(if parts.is_empty() {
                "<none>".to_owned()
            } else {
                parts.join(",")
            })
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests;
