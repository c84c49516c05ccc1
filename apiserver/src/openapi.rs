//! OpenAPI v3 documents per group version: the paths and operations (with the
//! `x-kubernetes-*` extensions and the `fieldValidation` parameter kubectl looks for
//! before it leaves validation to the server) and the schemas we have (the CRDs').

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Value, json};

use crate::resource::{ResourceTable, ResourceType};

/// `api/v1` or `apis/{group}/{version}`.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

pub fn root(table: &ResourceTable) -> Value {
    let mut paths = Map::new();
    for (g, v) in table.groups() {
        let p = gv_path(g, v);
        let hash = document(table, &p).map(|d| hash(&d)).unwrap_or_default();
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

fn hash(doc: &Value) -> String {
    let mut h = DefaultHasher::new();
    doc.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

/// The document for `api/v1` or `apis/g/v`.
pub fn document(table: &ResourceTable, gv: &str) -> Option<Value> {
    let (g, v) = table
        .groups()
        .into_iter()
        .find(|(g, v)| gv_path(g, v) == gv)?;
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in table
        .all()
        .iter()
        .filter(|t| t.group == g && t.version == v)
    {
        add_paths(t, &mut paths);
        if let Some(s) = &t.openapi_schema {
            let mut s = s.clone();
            s["x-kubernetes-group-version-kind"] = json!([gvk(t)]);
            schemas.insert(schema_name(t), s);
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "fnmesh", "version": crate::VERSION_INFO.git_version},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

fn gvk(t: &ResourceType) -> Value {
    json!({"group": t.group, "version": t.version, "kind": t.kind})
}

/// `dev.knative.serving.v1.Service`, in the reversed-group style Kubernetes uses.
fn schema_name(t: &ResourceType) -> String {
    let group: Vec<&str> = t.group.split('.').rev().collect();
    format!("{}.{}.{}", group.join("."), t.version, t.kind)
}

fn query(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn op(t: &ResourceType, action: &str, params: &[&str]) -> Value {
    let body_ref = match &t.openapi_schema {
        Some(_) => json!({"$ref": format!("#/components/schemas/{}", schema_name(t))}),
        None => json!({"type": "object"}),
    };
    json!({
        "operationId": format!("{action}{}", t.kind),
        "parameters": params.iter().map(|p| query(p)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": body_ref}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(t),
    })
}

fn add_paths(t: &ResourceType, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(t.group, t.version));
    let scope = if t.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", t.plural)
    } else {
        format!("{base}/{}", t.plural)
    };
    let write = ["dryRun", "fieldManager", "fieldValidation"];
    let patch = ["dryRun", "fieldManager", "fieldValidation", "force"];
    paths.insert(
        scope.clone(),
        json!({
            "get": op(t, "list", &["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"]),
            "post": op(t, "post", &write),
            "delete": op(t, "deletecollection", &["labelSelector", "fieldSelector"]),
        }),
    );
    paths.insert(
        format!("{scope}/{{name}}"),
        json!({
            "get": op(t, "get", &[]),
            "put": op(t, "put", &write),
            "patch": op(t, "patch", &patch),
            "delete": op(t, "delete", &["dryRun", "propagationPolicy"]),
        }),
    );
    for sub in ["status", "scale"] {
        let has = if sub == "status" {
            t.status_subresource
        } else {
            t.scale_subresource
        };
        if has {
            paths.insert(
                format!("{scope}/{{name}}/{sub}"),
                json!({"get": op(t, "get", &[]), "put": op(t, "put", &write), "patch": op(t, "patch", &patch)}),
            );
        }
    }
}
