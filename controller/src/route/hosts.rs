//! The names a Route is reachable under. Knative's default `domain-template`
//! (`{name}.{namespace}.{domain}`) and `tag-template` (`{tag}-{name}`) are fixed here.

use crate::routing::ObjectKey;

/// `{name}.{namespace}.{domain}`: the Route's main host.
pub fn host(route: &ObjectKey, domain: &str) -> String {
    format!("{}.{}.{domain}", route.name, route.namespace)
}

/// `{tag}-{name}.{namespace}.{domain}`: the host of one tagged target.
pub fn tag_host(tag: &str, route: &ObjectKey, domain: &str) -> String {
    format!("{tag}-{}.{}.{domain}", route.name, route.namespace)
}

/// `{name}.{namespace}.svc.cluster.local`: the in-cluster address, whatever the domain.
pub fn cluster_local_host(route: &ObjectKey) -> String {
    host(route, crate::domain::CLUSTER_LOCAL_DOMAIN)
}

/// Plain HTTP: fnmesh does not provision certificates.
pub fn http_url(host: &str) -> String {
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_follow_knatives_default_templates() {
        let key = ObjectKey::new("default", "hello");
        assert_eq!(host(&key, "example.com"), "hello.default.example.com");
        assert_eq!(
            tag_host("v2", &key, "example.com"),
            "v2-hello.default.example.com"
        );
        assert_eq!(cluster_local_host(&key), "hello.default.svc.cluster.local");
        assert_eq!(http_url("a.b"), "http://a.b");
    }
}
