//! The `Status` bodies of 401 and 403, byte for byte as kube-apiserver writes them
//! (its field order, its message shapes), so clients that match on them — kubectl's
//! `Error from server (Forbidden): …` — read ours the same way.

use super::User;
use super::request_info::RequestInfo;

/// kube-apiserver's answer to a missing or unknown token.
pub const UNAUTHORIZED: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;

/// The 403 `Status` for `user` doing `info`.
pub fn forbidden(user: &User, info: &RequestInfo) -> String {
    let reason = sanitize(&forbidden_message(user, info));
    let (message, details) = match &info.resource {
        None => (format!("forbidden: {reason}"), String::from("{}")),
        Some(r) => {
            let qualified = if r.api_group.is_empty() {
                r.resource.clone()
            } else {
                format!("{}.{}", r.resource, r.api_group)
            };
            let message = if r.name.is_empty() {
                format!("{qualified} is forbidden: {reason}")
            } else {
                format!("{qualified} {} is forbidden: {reason}", go_quote(&r.name))
            };
            // Go's StatusDetails order, each field omitted when empty.
            let fields: Vec<String> = [
                ("name", &r.name),
                ("group", &r.api_group),
                ("kind", &r.resource),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("\"{k}\":{}", json_string(v)))
            .collect();
            (message, format!("{{{}}}", fields.join(",")))
        }
    };
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":{},"reason":"Forbidden","details":{details},"code":403}}"#,
        json_string(&message)
    )
}

/// kube-apiserver's `forbiddenMessage`.
fn forbidden_message(user: &User, info: &RequestInfo) -> String {
    let who = go_quote(&user.name);
    let Some(r) = &info.resource else {
        return format!(
            "User {who} cannot {} path {}",
            info.verb,
            go_quote(&info.path)
        );
    };
    let mut resource = r.resource.clone();
    if !r.subresource.is_empty() {
        resource = format!("{resource}/{}", r.subresource);
    }
    let scope = if r.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {}", go_quote(&r.namespace))
    };
    format!(
        "User {who} cannot {} resource {} in API group {} {scope}",
        info.verb,
        go_quote(&resource),
        go_quote(&r.api_group)
    )
}

/// kube-apiserver escapes these in the message, which may echo the request's path.
fn sanitize(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Go's `%q`: a double-quoted string with Go escapes.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;
    use http::Method;

    fn alice() -> User {
        User {
            name: "alice".into(),
            uid: "1".into(),
            groups: Vec::new(),
            scope: Scope::Namespaces(["team-a".to_string()].into()),
        }
    }

    fn status(method: Method, path: &str, query: Option<&str>) -> String {
        forbidden(&alice(), &RequestInfo::parse(&method, path, query))
    }

    #[test]
    fn a_named_object_in_another_namespace() {
        assert_eq!(
            status(Method::GET, "/api/v1/namespaces/other/configmaps/x", None),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" is forbidden: User \"alice\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"other\"","reason":"Forbidden","details":{"name":"x","kind":"configmaps"},"code":403}"#
        );
    }

    #[test]
    fn a_list_at_the_cluster_scope_in_a_group() {
        assert_eq!(
            status(
                Method::GET,
                "/apis/serving.knative.dev/v1/services",
                Some("watch=true")
            ),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"services.serving.knative.dev is forbidden: User \"alice\" cannot watch resource \"services\" in API group \"serving.knative.dev\" at the cluster scope","reason":"Forbidden","details":{"group":"serving.knative.dev","kind":"services"},"code":403}"#
        );
    }

    #[test]
    fn a_subresource_is_named_with_its_resource() {
        let s = status(Method::GET, "/api/v1/namespaces/b/pods/p/log", None);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v["message"],
            r#"pods "p" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "b""#
        );
        assert_eq!(
            v["details"],
            serde_json::json!({"name": "p", "kind": "pods"})
        );
    }

    #[test]
    fn a_path_that_is_not_a_resource() {
        let s = status(Method::GET, "/metrics<x>", None);
        assert_eq!(
            s,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \"alice\" cannot get path \"/metrics&lt;x&gt;\"","reason":"Forbidden","details":{},"code":403}"#
        );
    }

    #[test]
    fn names_are_quoted_as_go_quotes_them() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }

    #[test]
    fn unauthorized_is_a_status() {
        let v: serde_json::Value = serde_json::from_str(UNAUTHORIZED).unwrap();
        assert_eq!(v["reason"], "Unauthorized");
        assert_eq!(v["code"], 401);
    }
}
