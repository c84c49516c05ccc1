//! API discovery as clients find it: the legacy documents (`/api`, `/apis`,
//! `APIResourceList` per group version) and the aggregated `APIGroupDiscoveryList` that
//! kubectl asks for first. Both are derived from the resource table.

use serde_json::{Value, json};

use crate::resource::{ResourceTable, ResourceType};

const SUB_VERBS: [&str; 3] = ["get", "patch", "update"];

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_doc(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

pub fn group_list(table: &ResourceTable) -> Value {
    let groups: Vec<Value> = table
        .groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| group_doc(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(table: &ResourceTable, group: &str) -> Option<Value> {
    let (g, v) = table.groups().into_iter().find(|(g, _)| *g == group)?;
    let mut doc = group_doc(g, v);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `APIResourceList` for one group version, or None if we serve no such version.
pub fn resource_list(table: &ResourceTable, group: &str, version: &str) -> Option<Value> {
    let types: Vec<_> = table
        .all()
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in types {
        resources.push(json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": t.verbs(),
            "shortNames": t.short_names,
            "categories": t.categories,
        }));
        for (sub, kind) in subresources(t) {
            let mut r = json!({
                "name": format!("{}/{sub}", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": kind["kind"],
                "verbs": SUB_VERBS,
            });
            if kind["group"] != t.group {
                r["group"] = kind["group"].clone();
                r["version"] = kind["version"].clone();
            }
            resources.push(r);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

/// The subresources of a type with their response kinds.
fn subresources(t: &ResourceType) -> Vec<(&'static str, Value)> {
    let own = json!({"group": t.group, "version": t.version, "kind": t.kind});
    let mut out = Vec::new();
    if t.scale_subresource {
        out.push((
            "scale",
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
        ));
    }
    if t.status_subresource {
        out.push(("status", own));
    }
    out
}

/// Which aggregated discovery version the client accepts, if any.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    let wants = |v: &str| {
        accept.split(',').any(|part| {
            part.contains("as=APIGroupDiscoveryList")
                && part.contains("g=apidiscovery.k8s.io")
                && part.split(';').any(|p| p.trim() == format!("v={v}"))
        })
    };
    if wants("v2") {
        Some("v2")
    } else if wants("v2beta1") {
        Some("v2beta1")
    } else {
        None
    }
}

pub fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// The aggregated document for `/api` (core = true) or `/apis`.
pub fn aggregated(table: &ResourceTable, core: bool, version: &str) -> Value {
    let items: Vec<Value> = table
        .groups()
        .into_iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, v)| {
            let resources: Vec<Value> = table
                .all()
                .iter()
                .filter(|t| t.group == g && t.version == v)
                .map(|t| {
                    let subs: Vec<Value> = subresources(t)
                        .into_iter()
                        .map(|(sub, kind)| {
                            json!({"subresource": sub, "responseKind": kind, "verbs": SUB_VERBS})
                        })
                        .collect();
                    let mut r = json!({
                        "resource": t.plural,
                        "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
                        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": t.singular,
                        "verbs": t.verbs(),
                        "subresources": subs,
                    });
                    if !t.short_names.is_empty() {
                        r["shortNames"] = json!(t.short_names);
                    }
                    if !t.categories.is_empty() {
                        r["categories"] = json!(t.categories);
                    }
                    r
                })
                .collect();
            let mut meta = json!({"creationTimestamp": null});
            if !g.is_empty() {
                meta["name"] = json!(g);
            }
            json!({
                "metadata": meta,
                "versions": [{"version": v, "resources": resources, "freshness": "Current"}],
            })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_accept_is_detected_by_version() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(kubectl), Some("v2"));
        assert_eq!(aggregated_version("application/json"), None);
    }
}
