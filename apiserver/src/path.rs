//! Kubernetes REST paths → what they address.

use std::sync::Arc;

use crate::resource::{ResourceTable, ResourceType};

/// What a request path addresses.
#[derive(Debug)]
pub enum Endpoint {
    Version,
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    GroupVersion(String, String),
    OpenApiV2,
    OpenApiV3Root,
    /// `/openapi/v3/{api/v1 | apis/g/v}`
    OpenApiV3(String),
    Resource(ResourcePath),
}

/// A resource collection, object or subresource.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    pub rt: Arc<ResourceType>,
    /// The namespace from the path; `None` for cluster-scoped kinds and for
    /// all-namespaces lists.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

#[derive(Debug)]
pub enum PathError {
    NotFound,
}

pub fn parse(table: &ResourceTable, path: &str) -> Result<Endpoint, PathError> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["version"] => Ok(Endpoint::Version),
        ["healthz" | "readyz" | "livez", ..] => Ok(Endpoint::Health),
        ["api"] => Ok(Endpoint::CoreVersions),
        ["apis"] => Ok(Endpoint::Groups),
        ["apis", group] => Ok(Endpoint::Group((*group).to_string())),
        ["api", "v1"] => Ok(Endpoint::GroupVersion(String::new(), "v1".into())),
        ["apis", group, version] => Ok(Endpoint::GroupVersion(
            (*group).to_string(),
            (*version).to_string(),
        )),
        ["openapi", "v2"] | ["swagger.json"] => Ok(Endpoint::OpenApiV2),
        ["openapi", "v3"] => Ok(Endpoint::OpenApiV3Root),
        ["openapi", "v3", rest @ ..] => Ok(Endpoint::OpenApiV3(rest.join("/"))),
        ["api", "v1", rest @ ..] => resource(table, "", "v1", rest),
        ["apis", group, version, rest @ ..] => resource(table, group, version, rest),
        _ => Err(PathError::NotFound),
    }
}

fn resource(
    table: &ResourceTable,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Endpoint, PathError> {
    let find = |plural: &str| {
        table
            .find(group, version, plural)
            .cloned()
            .ok_or(PathError::NotFound)
    };
    let (namespace, rest) = match rest {
        // `/api/v1/namespaces/{name}[/status]` addresses a Namespace object itself.
        ["namespaces", _] | ["namespaces", _, "status" | "finalize"] if group.is_empty() => {
            (None, rest)
        }
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some((*ns).to_string()), tail),
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return Err(PathError::NotFound),
    };
    let rt = find(plural)?;
    if namespace.is_some() && !rt.namespaced {
        return Err(PathError::NotFound);
    }
    if namespace.is_none() && name.is_some() && rt.namespaced {
        return Err(PathError::NotFound);
    }
    let sub = match sub {
        None => None,
        Some("status") if rt.status_subresource => Some("status".to_string()),
        Some("scale") if rt.scale_subresource => Some("scale".to_string()),
        Some("finalize") if rt.plural == "namespaces" => Some("finalize".to_string()),
        Some("log") if rt.plural == "pods" => Some("log".to_string()),
        Some(_) => return Err(PathError::NotFound),
    };
    Ok(Endpoint::Resource(ResourcePath {
        rt,
        namespace,
        name: name.map(str::to_string),
        subresource: sub,
    }))
}
