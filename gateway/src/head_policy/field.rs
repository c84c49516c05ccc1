//! Header field names the policy treats specially, and comma-separated list values.

use crate::internal_headers::{TAG, is_internal_name};

/// The kinds of header field; everything not named here is `Other` (end-to-end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    Upgrade,
    Expect,
    Te,
    /// `Keep-Alive`, `Proxy-Connection`, `Proxy-Authenticate`, `Proxy-Authorization`:
    /// always dropped.
    HopByHop,
    /// `Knative-Serving-Tag`: read for routing, then dropped like every internal header.
    Tag,
    /// `K-*` and `Knative-Serving-*` (other than the tag): dropped.
    Internal,
    Forwarded,
    XForwardedFor,
    XForwardedProto,
    Other,
}

/// Classifies a header name, case-insensitively.
pub(crate) fn classify(name: &[u8]) -> Field {
    let is = |known: &str| name.eq_ignore_ascii_case(known.as_bytes());
    // Dispatch on length first: most names are compared against one candidate at most.
    let field = match name.len() {
        2 if is("te") => Field::Te,
        4 if is("host") => Field::Host,
        6 if is("expect") => Field::Expect,
        7 if is("upgrade") => Field::Upgrade,
        9 if is("forwarded") => Field::Forwarded,
        10 if is("connection") => Field::Connection,
        10 if is("keep-alive") => Field::HopByHop,
        14 if is("content-length") => Field::ContentLength,
        15 if is("x-forwarded-for") => Field::XForwardedFor,
        16 if is("proxy-connection") => Field::HopByHop,
        17 if is("transfer-encoding") => Field::TransferEncoding,
        17 if is("x-forwarded-proto") => Field::XForwardedProto,
        18 if is("proxy-authenticate") => Field::HopByHop,
        19 if is("proxy-authorization") => Field::HopByHop,
        19 if is(TAG.as_str()) => Field::Tag,
        _ => Field::Other,
    };
    if field == Field::Other && is_internal_name(name) {
        return Field::Internal;
    }
    field
}

/// The items of a comma-separated header value, trimmed, empty ones skipped.
#[derive(Debug, Clone)]
pub(crate) struct ListItems<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> ListItems<'a> {
    pub(crate) fn new(value: &'a [u8]) -> Self {
        Self { rest: Some(value) }
    }
}

impl<'a> Iterator for ListItems<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let rest = self.rest?;
            let (item, tail) = match rest.iter().position(|&b| b == b',') {
                Some(comma) => (&rest[..comma], Some(&rest[comma + 1..])),
                None => (rest, None),
            };
            self.rest = tail;
            let item = item.trim_ascii();
            if !item.is_empty() {
                return Some(item);
            }
        }
    }
}

/// Whether a `Connection` line among `lines` (classified as `kinds`) names `name`,
/// making that field hop-by-hop.
pub(crate) fn named_by_connection<'a>(
    kinds: &[Field],
    lines: impl Iterator<Item = super::Line<'a>>,
    name: &[u8],
) -> bool {
    lines
        .zip(kinds)
        .filter(|(_, kind)| **kind == Field::Connection)
        .flat_map(|((_, value), _)| ListItems::new(value))
        .any(|token| token.eq_ignore_ascii_case(name))
}

/// A `Content-Length` value: 1*DIGIT, surrounding whitespace allowed, nothing else
/// (no sign, no list).
pub(crate) fn parse_content_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Whether the last coding of a `Transfer-Encoding` value is `chunked`.
pub(crate) fn is_chunked_last(value: &[u8]) -> bool {
    value
        .rsplit(|&b| b == b',')
        .next()
        .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names_case_insensitively() {
        assert_eq!(classify(b"Content-Length"), Field::ContentLength);
        assert_eq!(classify(b"HOST"), Field::Host);
        assert_eq!(classify(b"Knative-Serving-Tag"), Field::Tag);
        assert_eq!(classify(b"Knative-Serving-Revision"), Field::Internal);
        assert_eq!(classify(b"K-Network-Probe"), Field::Internal);
        assert_eq!(classify(b"kind"), Field::Other);
        assert_eq!(classify(b"x-knative-serving-revision"), Field::Other);
        assert_eq!(classify(b"Proxy-Authorization"), Field::HopByHop);
    }

    #[test]
    fn splits_lists() {
        let items: Vec<&[u8]> = ListItems::new(b" keep-alive, ,X-Hop ,close").collect();
        assert_eq!(items, [&b"keep-alive"[..], b"X-Hop", b"close"]);
    }

    #[test]
    fn content_length_is_digits_only() {
        assert_eq!(parse_content_length(b" 42 "), Some(42));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"1,1",
            b"0x10",
            b"1 1",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_content_length(bad), None, "{bad:?}");
        }
    }
}
