//! Platform-internal headers. Knative reserves `Knative-Serving-*` and `K-*` for the
//! platform (`K-Network-Probe`, `Knative-Serving-Revision`, `K-Proxy-Request`,
//! `K-Original-Host`, …); a client that could send them could steer routing, skip
//! metrics or impersonate a probe, so the gateway drops every one arriving from outside
//! and sets its own.

use http::HeaderName;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_prefixes_any_case() {
        for name in [
            "K-Network-Probe",
            "knative-serving-tag",
            "K-ORIGINAL-HOST",
            "k-",
        ] {
            assert!(is_internal_name(name.as_bytes()), "{name}");
        }
        for name in ["kind", "x-knative-serving-revision", "k", "knative-serving"] {
            assert!(!is_internal_name(name.as_bytes()), "{name}");
        }
    }
}
