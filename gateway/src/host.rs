//! Host matching: the `Host` header (or `:authority`) is matched case-insensitively and
//! without its `:port`, so `Hello.Default.Example.com:8080` finds `hello.default.example.com`.

use std::borrow::Cow;

/// The lookup key for a raw `Host` value: port and a trailing root dot removed,
/// lower-cased. Borrows in the common (already lower-case) case so the hot path does not
/// allocate.
pub(crate) fn host_key(raw: &str) -> Cow<'_, str> {
    let host = strip_port(raw);
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

fn strip_port(raw: &str) -> &str {
    if raw.starts_with('[') {
        // IPv6 literal: the port, if any, follows the closing bracket.
        return match raw.find(']') {
            Some(end) => &raw[..=end],
            None => raw,
        };
    }
    match raw.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => raw,
    }
}

/// Whether `host` (already a key: lower case, no port) is a plausible DNS name or IP
/// literal. Route tables refuse anything else so a typo cannot silently never match.
pub(crate) fn is_valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.[]:_*".contains(&b))
}

/// Whether `label` is a DNS-1035 label, as Knative requires of traffic tags.
pub(crate) fn is_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_strips_port_and_case() {
        assert_eq!(
            host_key("hello.default.example.com"),
            "hello.default.example.com"
        );
        assert_eq!(
            host_key("Hello.Default.example.COM:8080"),
            "hello.default.example.com"
        );
        assert_eq!(
            host_key("hello.default.example.com."),
            "hello.default.example.com"
        );
        assert_eq!(host_key("[::1]:80"), "[::1]");
        assert_eq!(host_key("[::1]"), "[::1]");
        assert!(matches!(host_key("a.b"), Cow::Borrowed(_)));
    }

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("canary"));
        assert!(is_dns_label("v2-beta"));
        assert!(!is_dns_label("2fast"));
        assert!(!is_dns_label("Canary"));
        assert!(!is_dns_label("trailing-"));
        assert!(!is_dns_label(""));
    }
}
