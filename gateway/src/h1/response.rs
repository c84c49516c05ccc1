//! The function's response head on the fast path: parsed in place, and rewritten for
//! the client by the shared policy (`crate::head_policy`). The body bytes are relayed
//! verbatim, so `Transfer-Encoding` stays as the function sent it.

use std::mem::MaybeUninit;

use crate::head_policy::{MAX_HEAD_BYTES, MAX_HEADERS, ResponseBody, ResponseScan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ResponseHead {
    pub(super) head_len: usize,
    pub(super) status: u16,
    pub(super) body: ResponseBody,
    /// The function lets the connection carry another request afterwards.
    pub(super) keep_alive: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Parsed {
    Partial,
    /// An informational (1xx, not 101) head: passed on as is, then the real one follows.
    Informational {
        head_len: usize,
    },
    Complete(ResponseHead),
}

/// Parses the head at the front of `buf`; for a complete head, appends the client's
/// version of it to `out` (with `Connection: close` when `close_client`, or when the
/// body runs until close).
pub(super) fn parse(
    buf: &[u8],
    head_method: bool,
    close_client: bool,
    out: &mut Vec<u8>,
) -> Result<Parsed, &'static str> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut slots,
    );
    let head_len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err("response head too large");
        }
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(_) => return Err("unparsable response head"),
    };
    let (Some(version), Some(status)) = (response.version, response.code) else {
        return Err("unparsable response head");
    };
    let headers = &*response.headers;
    match status {
        101 => return Err("101 Switching Protocols without an upgrade request"),
        100..=199 => {
            out.extend_from_slice(&buf[..head_len]);
            return Ok(Parsed::Informational { head_len });
        }
        _ => {}
    }

    let lines = || headers.iter().map(|h| (h.name.as_bytes(), h.value));
    let scan = ResponseScan::new(lines(), version == 0, status, head_method)?;
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status_line_rest(buf));
    // The body bytes are relayed as the function encoded them.
    scan.write_fields(lines, true, false, out);
    if close_client || scan.body == ResponseBody::UntilClose {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(Parsed::Complete(ResponseHead {
        head_len,
        status,
        body: scan.body,
        keep_alive: !scan.close,
    }))
}

/// The status line after its version: `200 OK\r\n`.
fn status_line_rest(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| i + 1);
    let line = &buf[..end];
    let start = line.iter().position(|&b| b == b' ').map_or(0, |i| i + 1);
    &line[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(raw: &[u8], head_method: bool) -> (Result<Parsed, &'static str>, String) {
        let mut out = Vec::new();
        let parsed = parse(raw, head_method, false, &mut out);
        (parsed, String::from_utf8(out).unwrap())
    }

    #[test]
    fn keeps_end_to_end_fields_and_drops_hop_by_hop_ones() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-User: a\r\n\r\nhello";
        let (parsed, out) = rewrite(raw, false);
        let Ok(Parsed::Complete(head)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(head.body, ResponseBody::Length(5));
        assert!(head.keep_alive);
        assert_eq!(head.head_len, raw.len() - 5);
        assert_eq!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-User: a\r\n\r\n"
        );
    }

    #[test]
    fn works_out_the_body_framing() {
        let framing = |raw: &[u8], head_method| match rewrite(raw, head_method).0 {
            Ok(Parsed::Complete(head)) => (head.body, head.keep_alive),
            other => panic!("{other:?}"),
        };
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(framing(chunked, false), (ResponseBody::Chunked, true));
        assert_eq!(
            framing(b"HTTP/1.1 200 OK\r\n\r\n", false),
            (ResponseBody::UntilClose, false)
        );
        assert_eq!(
            framing(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true),
            (ResponseBody::Empty, true)
        );
        assert_eq!(
            framing(b"HTTP/1.1 304 Not Modified\r\n\r\n", false),
            (ResponseBody::Empty, true)
        );
        assert_eq!(
            framing(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false),
            (ResponseBody::Length(1), false)
        );
        let both = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(framing(both, false), (ResponseBody::Chunked, false));
    }

    #[test]
    fn refuses_what_it_cannot_frame() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert!(rewrite(raw, false).0.is_err());
        let raw = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";
        assert!(rewrite(raw, false).0.is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_complete_heads_rewrite_to_a_valid_head(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            head_method in proptest::prelude::any::<bool>(),
        ) {
            let mut out = Vec::new();
            if let Ok(Parsed::Complete(head)) = parse(&bytes, head_method, false, &mut out) {
                proptest::prop_assert!(head.head_len <= bytes.len());
                let mut headers = [httparse::EMPTY_HEADER; 256];
                let mut response = httparse::Response::new(&mut headers);
                let status = response.parse(&out);
                proptest::prop_assert_eq!(status, Ok(httparse::Status::Complete(out.len())));
            }
        }

        #[test]
        fn end_to_end_fields_pass_in_order(
            fields in proptest::collection::vec(("x-[a-z0-9]{1,10}", "[!-~]{1,20}"), 0..10),
        ) {
            let mut raw = String::from("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n");
            for (name, value) in &fields {
                raw.push_str(&format!("{name}: {value}\r\n"));
            }
            raw.push_str("Content-Length: 0\r\n\r\n");
            let mut out = Vec::new();
            let parsed = parse(raw.as_bytes(), false, false, &mut out);
            proptest::prop_assert!(matches!(parsed, Ok(Parsed::Complete(_))));
            let mut expected = String::from("HTTP/1.1 200 OK\r\n");
            for (name, value) in &fields {
                expected.push_str(&format!("{name}: {value}\r\n"));
            }
            expected.push_str("Content-Length: 0\r\n\r\n");
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn passes_informational_heads_on() {
        let raw = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\n";
        let head_len = raw.len() - "HTTP/1.1 200 OK\r\n".len();
        let (parsed, out) = rewrite(raw, false);
        assert_eq!(parsed, Ok(Parsed::Informational { head_len }));
        assert_eq!(out.as_bytes(), &raw[..head_len]);
    }
}
