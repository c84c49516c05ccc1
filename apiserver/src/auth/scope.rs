//! What a namespace-scoped token may do. Inside its namespaces: every verb on every
//! namespaced resource and subresource, and `get` of the Namespace objects themselves.
//! Outside them nothing: no other namespace, no cluster-scoped resource (Namespaces
//! list, CRDs, Nodes, …) and no all-namespaces list or watch. Like any authenticated
//! user in Kubernetes (the `system:discovery` and `system:public-info-viewer` roles) it
//! may read discovery, OpenAPI, `/version` and the health checks.

use std::collections::BTreeSet;

use super::request_info::RequestInfo;
use crate::path::ResourcePath;

/// The first check, on the request's attributes alone.
pub(crate) fn allows(namespaces: &BTreeSet<String>, info: &RequestInfo) -> bool {
    let Some(r) = &info.resource else {
        return info.verb == "get" && is_public_path(&info.path);
    };
    if r.namespace.is_empty() || !namespaces.contains(&r.namespace) {
        return false;
    }
    if r.resource == "namespaces" {
        return info.verb == "get" && r.subresource.is_empty();
    }
    true
}

/// The second check, on what the path resolved to, so that no way of writing a path
/// reaches an object outside the token's namespaces even if it read differently above.
pub(crate) fn allows_resolved(
    namespaces: &BTreeSet<String>,
    info: &RequestInfo,
    rp: &ResourcePath,
) -> bool {
    if rp.rt.namespaced {
        return rp
            .namespace
            .as_ref()
            .is_some_and(|ns| namespaces.contains(ns));
    }
    rp.rt.group.is_empty()
        && rp.rt.plural == "namespaces"
        && rp.subresource.is_none()
        && info.verb == "get"
        && rp.name.as_ref().is_some_and(|n| namespaces.contains(n))
}

/// Kubernetes' discovery and public-info paths, open to every authenticated user.
fn is_public_path(path: &str) -> bool {
    matches!(
        path,
        "/api"
            | "/apis"
            | "/openapi"
            | "/version"
            | "/version/"
            | "/healthz"
            | "/livez"
            | "/readyz"
    ) || ["/api/", "/apis/", "/openapi/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn team_a() -> BTreeSet<String> {
        ["team-a".to_string()].into()
    }

    fn allowed(method: Method, path_and_query: &str) -> bool {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        allows(&team_a(), &RequestInfo::parse(&method, path, query))
    }

    #[test]
    fn every_verb_inside_its_namespace() {
        let cm = "/api/v1/namespaces/team-a/configmaps";
        for (method, path) in [
            (Method::GET, format!("{cm}/x")),
            (Method::GET, cm.to_string()),
            (Method::GET, format!("{cm}?watch=true")),
            (Method::POST, cm.to_string()),
            (Method::PUT, format!("{cm}/x")),
            (Method::PATCH, format!("{cm}/x")),
            (Method::DELETE, format!("{cm}/x")),
            (Method::DELETE, cm.to_string()),
            (Method::GET, "/api/v1/namespaces/team-a/pods/p/log".into()),
            (
                Method::PUT,
                "/apis/serving.knative.dev/v1/namespaces/team-a/services/s/status".into(),
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/team-a/deployments/d/scale".into(),
            ),
        ] {
            assert!(allowed(method.clone(), &path), "{method} {path}");
        }
    }

    #[test]
    fn nothing_outside_it() {
        for (method, path) in [
            (Method::GET, "/api/v1/namespaces/team-b/configmaps/x"),
            (Method::GET, "/api/v1/namespaces/team-b/configmaps?watch=1"),
            (Method::POST, "/api/v1/namespaces/team-b/configmaps"),
            (Method::DELETE, "/api/v1/namespaces/team-b/configmaps"),
            (Method::GET, "/api/v1/configmaps"),
            (Method::GET, "/api/v1/configmaps?watch=true"),
            (Method::GET, "/apis/serving.knative.dev/v1/services"),
            (Method::GET, "/api/v1/namespaces"),
            (Method::POST, "/api/v1/namespaces"),
            (Method::GET, "/api/v1/nodes"),
            (Method::GET, "/api/v1/nodes/n1"),
            (
                Method::GET,
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            ),
            (Method::GET, "/api/v1/namespaces/team-b"),
            (Method::DELETE, "/api/v1/namespaces/team-a"),
            (Method::PUT, "/api/v1/namespaces/team-a"),
            (Method::PUT, "/api/v1/namespaces/team-a/finalize"),
            (Method::POST, "/version"),
            (Method::HEAD, "/version"),
            (Method::GET, "/swagger.json"),
            (Method::GET, "/healthz/ping"),
            (Method::GET, "/metrics"),
        ] {
            assert!(!allowed(method.clone(), path), "{method} {path}");
        }
    }

    #[test]
    fn discovery_and_its_own_namespace_are_readable() {
        for path in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/serving.knative.dev",
            "/apis/serving.knative.dev/v1",
            "/openapi/v2",
            "/openapi/v3",
            "/openapi/v3/apis/serving.knative.dev/v1",
            "/version",
            "/healthz",
            "/livez",
            "/readyz",
            "/api/v1/namespaces/team-a",
        ] {
            assert!(allowed(Method::GET, path), "{path}");
        }
    }
}
