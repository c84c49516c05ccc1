//! What a request asks to do, read from its method, path and query alone, as
//! kube-apiserver's `RequestInfoFactory` reads it before authorising: the verb (get,
//! list, watch, create, update, patch, delete, deletecollection), and for `/api/…` and
//! `/apis/…` resource paths the group, namespace, resource, subresource and name. It
//! does not consult the resource table, so an unknown resource is authorised (and
//! refused) exactly like a known one.

/// The attributes of one request that authorisation decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// The URL path, as sent.
    pub path: String,
    /// The Kubernetes verb of a resource request; the lowercase HTTP method otherwise.
    pub verb: String,
    /// `None` for non-resource paths (`/version`, `/apis`, `/openapi/v3`, …).
    pub resource: Option<ResourceAttributes>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAttributes {
    pub api_group: String,
    /// Empty at the cluster scope: cluster-scoped resources and all-namespaces lists.
    /// For `/api/v1/namespaces/{name}` it is `{name}`, as in Kubernetes.
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    /// From the path, or from a `metadata.name=` field selector on a list or watch.
    pub name: String,
}

/// Path segments that name a verb rather than a resource (`/api/v1/watch/pods`).
const SPECIAL_VERBS: [&str; 2] = ["proxy", "watch"];
/// Subresources of a Namespace, which are not namespaced resources.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

impl RequestInfo {
    pub fn parse(method: &http::Method, path: &str, query: Option<&str>) -> Self {
        let non_resource = || RequestInfo {
            path: path.to_string(),
            verb: method.as_str().to_ascii_lowercase(),
            resource: None,
        };
        // The same splitting as `crate::path::parse`, so both see the same segments.
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (api_group, rest) = match segments.as_slice() {
            ["api", rest @ ..] if rest.len() >= 2 => ("", rest),
            ["apis", group, rest @ ..] if rest.len() >= 2 => (*group, rest),
            _ => return non_resource(),
        };
        // rest = version, then the resource parts.
        let mut parts = &rest[1..];
        let verb = match parts.first() {
            Some(first) if SPECIAL_VERBS.contains(first) => {
                parts = &parts[1..];
                (*first).to_string()
            }
            _ => kube_verb(method).to_string(),
        };
        let mut attrs = ResourceAttributes {
            api_group: api_group.to_string(),
            ..ResourceAttributes::default()
        };
        if let ["namespaces", ns, tail @ ..] = parts {
            attrs.namespace = (*ns).to_string();
            if tail
                .first()
                .is_some_and(|t| !NAMESPACE_SUBRESOURCES.contains(t))
            {
                parts = tail;
            }
        }
        if parts.len() >= 3 && verb != "proxy" {
            attrs.subresource = parts[2].to_string();
        }
        if parts.len() >= 2 {
            attrs.name = parts[1].to_string();
        }
        if let Some(r) = parts.first() {
            attrs.resource = (*r).to_string();
        }
        let mut verb = verb;
        if attrs.name.is_empty() && verb == "get" {
            let pairs: Vec<(String, String)> = query
                .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default();
            let first = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            // Any `watch` value but false or 0 is a watch, as Kubernetes parses it.
            verb = match first("watch").map(|v| v.to_ascii_lowercase()) {
                Some(v) if v != "false" && v != "0" => "watch".into(),
                _ => "list".into(),
            };
            if let Some(name) = first("fieldSelector").and_then(|s| exact_name(s)) {
                attrs.name = name;
            }
        }
        if attrs.name.is_empty() && verb == "delete" {
            verb = "deletecollection".into();
        }
        RequestInfo {
            path: path.to_string(),
            verb,
            resource: Some(attrs),
        }
    }
}

fn kube_verb(method: &http::Method) -> &'static str {
    match *method {
        http::Method::POST => "create",
        http::Method::GET | http::Method::HEAD => "get",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "",
    }
}

/// The name a field selector pins with `metadata.name=x` (or `==`), if it is one a
/// path segment could carry.
fn exact_name(selector: &str) -> Option<String> {
    selector.split(',').find_map(|term| {
        if term.contains("!=") {
            return None;
        }
        let (key, value) = term.split_once('=')?;
        let value = value.strip_prefix('=').unwrap_or(value).trim();
        let valid = !value.is_empty()
            && value != "."
            && value != ".."
            && !value.contains('/')
            && !value.contains('%');
        (key.trim() == "metadata.name" && valid).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn attrs(info: &RequestInfo) -> (&str, &str, &str, &str, &str, &str) {
        let r = info.resource.as_ref().expect("a resource request");
        (
            info.verb.as_str(),
            r.api_group.as_str(),
            r.namespace.as_str(),
            r.resource.as_str(),
            r.subresource.as_str(),
            r.name.as_str(),
        )
    }

    fn get(path_and_query: &str) -> RequestInfo {
        parse(Method::GET, path_and_query)
    }

    fn parse(method: Method, path_and_query: &str) -> RequestInfo {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        RequestInfo::parse(&method, path, query)
    }

    #[test]
    fn verbs_follow_kubernetes() {
        let cm = "/api/v1/namespaces/team-a/configmaps";
        assert_eq!(get(&format!("{cm}/x")).verb, "get");
        assert_eq!(parse(Method::HEAD, &format!("{cm}/x")).verb, "get");
        assert_eq!(get(cm).verb, "list");
        assert_eq!(get(&format!("{cm}?watch=true")).verb, "watch");
        assert_eq!(get(&format!("{cm}?watch=1")).verb, "watch");
        assert_eq!(get(&format!("{cm}?watch=False")).verb, "list");
        assert_eq!(get(&format!("{cm}?watch=0&watch=1")).verb, "list");
        assert_eq!(parse(Method::POST, cm).verb, "create");
        assert_eq!(parse(Method::PUT, &format!("{cm}/x")).verb, "update");
        assert_eq!(parse(Method::PATCH, &format!("{cm}/x")).verb, "patch");
        assert_eq!(parse(Method::DELETE, &format!("{cm}/x")).verb, "delete");
        assert_eq!(parse(Method::DELETE, cm).verb, "deletecollection");
        assert_eq!(
            get("/api/v1/watch/namespaces/team-a/configmaps").verb,
            "watch"
        );
    }

    #[test]
    fn resource_attributes() {
        assert_eq!(
            attrs(&get("/api/v1/namespaces/team-a/configmaps/x")),
            ("get", "", "team-a", "configmaps", "", "x")
        );
        assert_eq!(
            attrs(&get(
                "/apis/serving.knative.dev/v1/namespaces/a/services/s/status"
            )),
            ("get", "serving.knative.dev", "a", "services", "status", "s")
        );
        assert_eq!(
            attrs(&get("/api/v1/namespaces/a/pods/p/log")),
            ("get", "", "a", "pods", "log", "p")
        );
        assert_eq!(
            attrs(&get("/api/v1/configmaps?watch=true")),
            ("watch", "", "", "configmaps", "", "")
        );
        assert_eq!(
            attrs(&get("/api/v1/nodes/n1")),
            ("get", "", "", "nodes", "", "n1")
        );
        assert_eq!(
            attrs(&get(
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
            )),
            (
                "list",
                "apiextensions.k8s.io",
                "",
                "customresourcedefinitions",
                "",
                ""
            )
        );
    }

    #[test]
    fn a_namespace_is_its_own_namespace() {
        assert_eq!(
            attrs(&get("/api/v1/namespaces/team-a")),
            ("get", "", "team-a", "namespaces", "", "team-a")
        );
        assert_eq!(
            attrs(&parse(Method::PUT, "/api/v1/namespaces/team-a/finalize")),
            ("update", "", "team-a", "namespaces", "finalize", "team-a")
        );
        assert_eq!(
            attrs(&get("/api/v1/namespaces")),
            ("list", "", "", "namespaces", "", "")
        );
    }

    #[test]
    fn a_name_pinned_by_field_selector_names_the_list() {
        let info = get("/api/v1/namespaces/b/configmaps?fieldSelector=metadata.name%3Dx&watch=1");
        assert_eq!(attrs(&info), ("watch", "", "b", "configmaps", "", "x"));
        let info = get("/api/v1/namespaces/b/configmaps?fieldSelector=a%3Db,metadata.name%3D%3Dy");
        assert_eq!(attrs(&info).5, "y");
        for no_name in ["metadata.name!%3Dx", "metadata.name%3Da/b", "other%3Dx"] {
            let info = get(&format!(
                "/api/v1/namespaces/b/configmaps?fieldSelector={no_name}"
            ));
            assert_eq!(attrs(&info).5, "", "{no_name}");
        }
    }

    #[test]
    fn discovery_and_other_paths_are_not_resources() {
        for path in [
            "/",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/version",
            "/openapi/v3/apis/apps/v1",
            "/healthz",
        ] {
            let info = get(path);
            assert_eq!(info.resource, None, "{path}");
            assert_eq!(info.verb, "get");
        }
        assert_eq!(parse(Method::POST, "/version").verb, "post");
    }
}
