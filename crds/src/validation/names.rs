//! Kubernetes name grammars (DNS-1035 labels, DNS-1123 labels/subdomains, qualified names).

const LABEL_MAX: usize = 63;
const SUBDOMAIN_MAX: usize = 253;

/// Problems with `value` as a DNS-1035 label (`[a-z]([-a-z0-9]*[a-z0-9])?`, ≤ 63);
/// `prefix` relaxes the end rule, as for `generateName`.
pub(crate) fn dns1035_label(value: &str, prefix: bool) -> Option<String> {
    let bytes = value.as_bytes();
    let body_ok = bytes
        .iter()
        .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let start_ok = bytes.first().is_some_and(u8::is_ascii_lowercase);
    let end_ok = prefix
        || bytes
            .last()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if value.len() > LABEL_MAX {
        return Some(format!("must be no more than {LABEL_MAX} characters"));
    }
    (!(body_ok && start_ok && end_ok)).then(|| {
        "must be a DNS-1035 label: lower case alphanumeric characters or '-', starting with a \
         letter and ending with an alphanumeric character"
            .to_owned()
    })
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, ≤ 63.
pub(crate) fn dns1123_label(value: &str) -> Option<String> {
    if value.len() > LABEL_MAX {
        return Some(format!("must be no more than {LABEL_MAX} characters"));
    }
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = value.as_bytes();
    let ok = b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && b.iter().all(|c| alnum(c) || *c == b'-');
    (!ok).then(|| {
        "must be a DNS-1123 label: lower case alphanumeric characters or '-', starting and \
         ending with an alphanumeric character"
            .to_owned()
    })
}

/// Dot-separated DNS-1123 labels, ≤ 253.
pub(crate) fn dns1123_subdomain(value: &str) -> Option<String> {
    if value.len() > SUBDOMAIN_MAX {
        return Some(format!("must be no more than {SUBDOMAIN_MAX} characters"));
    }
    value
        .split('.')
        .any(|l| dns1123_label(l).is_some())
        .then(|| "must be a DNS-1123 subdomain".to_owned())
}

/// A Kubernetes qualified name: optional `<dns-subdomain>/` then
/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, ≤ 63.
pub(crate) fn qualified_name(value: &str) -> Option<String> {
    let (prefix, name) = match value.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, value),
    };
    if let Some(p) = prefix
        && (p.is_empty() || dns1123_subdomain(&p.to_ascii_lowercase()).is_some())
    {
        return Some("prefix part must be a DNS-1123 subdomain".to_owned());
    }
    if name.is_empty() || name.len() > LABEL_MAX {
        return Some(format!("name part must be 1 to {LABEL_MAX} characters"));
    }
    let b = name.as_bytes();
    let ok = b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c));
    (!ok).then(|| {
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and \
         end with an alphanumeric character"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1035() {
        assert!(dns1035_label("hello-1", false).is_none());
        assert!(dns1035_label("1hello", false).is_some());
        assert!(dns1035_label("hello-", false).is_some());
        assert!(dns1035_label("hello-", true).is_none());
        assert!(dns1035_label("Hello", false).is_some());
        assert!(dns1035_label("", false).is_some());
        assert!(dns1035_label(&"a".repeat(64), false).is_some());
    }

    #[test]
    fn qualified() {
        assert!(qualified_name("Hello_World.1").is_none());
        assert!(qualified_name("example.com/x").is_none());
        assert!(qualified_name("-x").is_some());
        assert!(qualified_name("/x").is_some());
    }

    #[test]
    fn subdomain() {
        assert!(dns1123_subdomain("default").is_none());
        assert!(dns1123_subdomain("a.b-c").is_none());
        assert!(dns1123_subdomain("a..b").is_some());
    }
}
