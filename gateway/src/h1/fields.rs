//! Header fields as raw bytes: which ones the proxy cares about, comma-separated lists,
//! and writing lines into an outgoing head.

use crate::hop_by_hop::{KEEP_ALIVE, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, PROXY_CONNECTION};
use crate::internal_headers::{TAG, is_internal_name};

/// The header fields the fast path treats specially; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    Upgrade,
    Expect,
    Te,
    /// `Keep-Alive`, `Proxy-Connection`, `Proxy-Authenticate`, `Proxy-Authorization`:
    /// always dropped (the names `crate::hop_by_hop` drops on the hyper path).
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
pub(super) fn classify(name: &str) -> Field {
    let is = |known: &str| name.eq_ignore_ascii_case(known);
    // Dispatch on length first: most names are compared against one candidate at most.
    let field = match name.len() {
        2 if is("te") => Field::Te,
        4 if is("host") => Field::Host,
        6 if is("expect") => Field::Expect,
        7 if is("upgrade") => Field::Upgrade,
        9 if is("forwarded") => Field::Forwarded,
        10 if is("connection") => Field::Connection,
        10 if is(KEEP_ALIVE.as_str()) => Field::HopByHop,
        14 if is("content-length") => Field::ContentLength,
        15 if is("x-forwarded-for") => Field::XForwardedFor,
        16 if is(PROXY_CONNECTION.as_str()) => Field::HopByHop,
        17 if is("transfer-encoding") => Field::TransferEncoding,
        17 if is("x-forwarded-proto") => Field::XForwardedProto,
        18 if is(PROXY_AUTHENTICATE.as_str()) => Field::HopByHop,
        19 if is(PROXY_AUTHORIZATION.as_str()) => Field::HopByHop,
        19 if is(TAG.as_str()) => Field::Tag,
        _ => Field::Other,
    };
    if field == Field::Other && is_internal_name(name.as_bytes()) {
        return Field::Internal;
    }
    field
}

/// Whether a `Connection` line among `headers` (of `kinds`) names `name`, making it
/// hop-by-hop.
pub(super) fn named_by_connection(
    name: &str,
    headers: &[httparse::Header<'_>],
    kinds: &[Field],
) -> bool {
    headers
        .iter()
        .zip(kinds)
        .filter(|(_, kind)| **kind == Field::Connection)
        .flat_map(|(h, _)| ListItems::new(h.value))
        .any(|token| token.eq_ignore_ascii_case(name.as_bytes()))
}

/// Writes one header line.
pub(super) fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes the values of every `field` line (`kinds` classifies `headers`), each
/// followed by `", "`, so the caller's own item completes the folded list.
pub(super) fn push_existing(
    out: &mut Vec<u8>,
    headers: &[httparse::Header<'_>],
    kinds: &[Field],
    field: Field,
) {
    for (header, kind) in headers.iter().zip(kinds) {
        let value = header.value.trim_ascii();
        if !value.is_empty() && *kind == field {
            out.extend_from_slice(value);
            out.extend_from_slice(b", ");
        }
    }
}

/// The items of a comma-separated header value, trimmed, empty ones skipped.
pub(super) struct ListItems<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> ListItems<'a> {
    pub(super) fn new(value: &'a [u8]) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names_case_insensitively() {
        assert_eq!(classify("Content-Length"), Field::ContentLength);
        assert_eq!(classify("HOST"), Field::Host);
        assert_eq!(classify("Knative-Serving-Tag"), Field::Tag);
        assert_eq!(classify("Knative-Serving-Revision"), Field::Internal);
        assert_eq!(classify("K-Network-Probe"), Field::Internal);
        assert_eq!(classify("kind"), Field::Other);
        assert_eq!(classify("x-knative-serving-revision"), Field::Other);
        assert_eq!(classify("Proxy-Authorization"), Field::HopByHop);
    }

    #[test]
    fn splits_lists() {
        let items: Vec<&[u8]> = ListItems::new(b" keep-alive, ,X-Hop ,close").collect();
        assert_eq!(items, [&b"keep-alive"[..], b"X-Hop", b"close"]);
    }
}
