//! Platform-internal headers. Knative reserves `Knative-Serving-*` and `K-*` for the
//! platform (`K-Network-Probe`, `Knative-Serving-Revision`, `K-Proxy-Request`,
//! `K-Original-Host`, …); a client that could send them could steer routing, skip
//! metrics or impersonate a probe, so the gateway drops every one arriving from outside
//! and sets its own.

use http::{HeaderMap, HeaderName};

/// Selects a route's tagged revision on its main host. Read, then stripped.
pub(crate) const TAG: HeaderName = HeaderName::from_static("knative-serving-tag");
/// The revision the gateway chose, for the upstream.
pub(crate) const REVISION: HeaderName = HeaderName::from_static("knative-serving-revision");
/// The namespace of that revision.
pub(crate) const NAMESPACE: HeaderName = HeaderName::from_static("knative-serving-namespace");

/// Whether a header name (any case) is reserved for the platform.
pub(crate) fn is_internal_name(name: &[u8]) -> bool {
    [&b"k-"[..], b"knative-serving-"].iter().any(|prefix| {
        name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix)
    })
}

fn is_internal(name: &HeaderName) -> bool {
    is_internal_name(name.as_str().as_bytes())
}

/// Removes every internal header. Allocates only when there is something to remove.
pub(crate) fn strip_internal(headers: &mut HeaderMap) {
    if !headers.keys().any(is_internal) {
        return;
    }
    let doomed: Vec<HeaderName> = headers.keys().filter(|n| is_internal(n)).cloned().collect();
    for name in doomed {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_internal_headers() {
        let mut headers = HeaderMap::new();
        for name in [
            "K-Network-Probe",
            "Knative-Serving-Revision",
            "knative-serving-tag",
            "K-Proxy-Request",
            "K-Original-Host",
        ] {
            headers.insert(HeaderName::try_from(name).unwrap(), "x".parse().unwrap());
        }
        headers.append("k-network-probe", "y".parse().unwrap());
        headers.insert("kind", "user".parse().unwrap());
        headers.insert("x-knative-serving-revision", "user".parse().unwrap());
        strip_internal(&mut headers);
        let left: Vec<_> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(headers.contains_key("kind"));
        assert!(headers.contains_key("x-knative-serving-revision"));
    }
}
