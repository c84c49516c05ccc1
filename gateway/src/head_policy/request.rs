//! A client's request head: what it says about routing and framing, whether the
//! gateway can forward it at all, and the fields the function receives.

use super::field::{Field, ListItems, classify, named_by_connection, parse_content_length};
use super::sink::HeadSink;
use super::{Line, MAX_HEADERS};
use crate::forwarded::ClientForwarding;
use crate::internal_headers::{NAMESPACE, REVISION};

/// Why a request head is refused outright (the connection closes after the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Framing the gateway cannot forward unambiguously: 400.
    BadFraming,
    /// More header fields than the gateway takes: 431.
    HeadTooLarge,
}

/// How the request body is delimited on the client's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestBody {
    /// Neither `Content-Length` nor `Transfer-Encoding`: no body.
    None,
    /// A valid `Content-Length` (possibly 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What one pass over a request's header fields found.
#[derive(Debug)]
pub(crate) struct RequestScan<'a> {
    /// Each field's kind, by index: classified once, read again when writing.
    kinds: [Field; MAX_HEADERS],
    pub(crate) host: Option<&'a [u8]>,
    /// `Knative-Serving-Tag` (the first one).
    pub(crate) tag: Option<&'a [u8]>,
    pub(crate) body: RequestBody,
    /// `Connection: close`.
    pub(crate) close: bool,
    /// `Connection: keep-alive` (what keeps an HTTP/1.0 connection open).
    pub(crate) keep_alive: bool,
    /// An `Upgrade` field is present.
    upgrade_field: bool,
    /// `Connection` carries the `upgrade` token.
    connection_upgrade: bool,
    pub(crate) expect: bool,
    /// `Connection` names fields other than `close`/`keep-alive`/`upgrade`.
    names_fields: bool,
    te_trailers: bool,
    /// `Forwarded` / `X-Forwarded-For` lines are present (most requests have none).
    earlier_forwarded: bool,
    earlier_x_forwarded_for: bool,
}

/// This hop's part of the function's head.
#[derive(Debug)]
pub(crate) struct Hop<'h> {
    pub(crate) client: &'h ClientForwarding,
    /// The host the request was routed by (`Host`, or the HTTP/2 authority).
    pub(crate) host: &'h str,
    pub(crate) revision: &'h [u8],
    pub(crate) namespace: &'h [u8],
    /// Forward as an HTTP/1.1 upgrade (`Upgrade` and `Connection: upgrade` kept).
    pub(crate) upgrade: bool,
}

// === impl RequestScan ===

impl<'a> RequestScan<'a> {
    /// Scans the fields of a request (`http10`: sent as HTTP/1.0), refusing what cannot
    /// be forwarded unambiguously.
    pub(crate) fn new(
        lines: impl Iterator<Item = Line<'a>>,
        http10: bool,
    ) -> Result<Self, Refusal> {
        let mut scan = Self {
            kinds: [Field::Other; MAX_HEADERS],
            host: None,
            tag: None,
            body: RequestBody::None,
            close: false,
            keep_alive: false,
            upgrade_field: false,
            connection_upgrade: false,
            expect: false,
            names_fields: false,
            te_trailers: false,
            earlier_forwarded: false,
            earlier_x_forwarded_for: false,
        };
        let mut length: Option<u64> = None;
        let mut codings = 0usize;
        let mut chunked = false;
        let mut ambiguous = false;
        for (index, (name, value)) in lines.enumerate() {
            let kind = classify(name);
            *scan.kinds.get_mut(index).ok_or(Refusal::HeadTooLarge)? = kind;
            match kind {
                Field::Host => ambiguous |= scan.host.replace(value.trim_ascii()).is_some(),
                Field::ContentLength => match parse_content_length(value) {
                    Some(n) if length.is_none_or(|m| m == n) => length = Some(n),
                    _ => ambiguous = true,
                },
                Field::TransferEncoding => {
                    for coding in ListItems::new(value) {
                        codings += 1;
                        chunked = coding.eq_ignore_ascii_case(b"chunked");
                    }
                    // An empty value still says "encoded", with nothing to decode by.
                    codings += usize::from(value.trim_ascii().is_empty());
                }
                Field::Connection => {
                    for token in ListItems::new(value) {
                        if token.eq_ignore_ascii_case(b"close") {
                            scan.close = true;
                        } else if token.eq_ignore_ascii_case(b"keep-alive") {
                            scan.keep_alive = true;
                        } else if token.eq_ignore_ascii_case(b"upgrade") {
                            scan.connection_upgrade = true;
                        } else {
                            scan.names_fields = true;
                        }
                    }
                }
                Field::Upgrade => scan.upgrade_field = true,
                Field::Expect => scan.expect = true,
                Field::Te => {
                    scan.te_trailers |=
                        ListItems::new(value).any(|t| t.eq_ignore_ascii_case(b"trailers"));
                }
                Field::Tag if scan.tag.is_none() => scan.tag = Some(value),
                Field::Forwarded => scan.earlier_forwarded = true,
                Field::XForwardedFor => scan.earlier_x_forwarded_for = true,
                _ => {}
            }
        }
        // Exactly one coding, `chunked`: anything else (`chunked, chunked`, `gzip,
        // chunked`, `xchunked`, `chunked` on HTTP/1.0, or beside a length) leaves
        // the gateway and the function free to disagree on where the body ends.
        scan.body = match (length, codings) {
            (None, 0) => RequestBody::None,
            (Some(n), 0) => RequestBody::Length(n),
            (None, 1) if chunked && !http10 => RequestBody::Chunked,
            _ => return Err(Refusal::BadFraming),
        };
        if ambiguous {
            return Err(Refusal::BadFraming);
        }
        Ok(scan)
    }

    /// Whether the head mentions an upgrade at all (`Upgrade` or `Connection: upgrade`).
    pub(crate) fn mentions_upgrade(&self) -> bool {
        self.upgrade_field || self.connection_upgrade
    }

    /// Whether the head asks for an HTTP/1.1 protocol upgrade (e.g. WebSocket): an
    /// `Upgrade` field announced by `Connection: upgrade`.
    pub(crate) fn asks_upgrade(&self) -> bool {
        self.upgrade_field && self.connection_upgrade
    }

    /// Writes the function's header fields: the client's end-to-end ones in order, then
    /// the framing and this hop's forwarding fields. `lines` are the fields scanned.
    pub(crate) fn write_fields<I: Iterator<Item = Line<'a>>>(
        &self,
        lines: impl Fn() -> I,
        hop: &Hop<'_>,
        sink: &mut impl HeadSink,
    ) {
        if self.host.is_none() {
            sink.push(b"host", hop.host.as_bytes());
        }
        let mut client_proto = false;
        for (index, (name, value)) in lines().enumerate() {
            let keep = match self.kinds[index] {
                Field::Host => true,
                Field::Upgrade => hop.upgrade,
                Field::XForwardedProto => {
                    let keep = !self.named(name, lines());
                    client_proto |= keep;
                    keep
                }
                Field::Other | Field::Expect => !self.named(name, lines()),
                _ => false,
            };
            if keep {
                sink.push(name, value);
            }
        }
        if let RequestBody::Length(n) = self.body {
            let mut digits = [0; 20];
            sink.push(b"content-length", format_u64(n, &mut digits));
        }
        if hop.upgrade {
            sink.push(b"connection", b"upgrade");
        }
        if self.te_trailers {
            sink.push(b"te", b"trailers");
        }
        // Earlier hops' lists are folded into one line with ours appended.
        sink.push_with("forwarded", |out| {
            if self.earlier_forwarded {
                self.push_earlier(out, &lines, Field::Forwarded);
            }
            hop.client.push_element(out, hop.host);
        });
        sink.push_with("x-forwarded-for", |out| {
            if self.earlier_x_forwarded_for {
                self.push_earlier(out, &lines, Field::XForwardedFor);
            }
            out.extend_from_slice(hop.client.client_address());
        });
        if !client_proto {
            sink.push(b"x-forwarded-proto", b"http");
        }
        sink.push(REVISION.as_str().as_bytes(), hop.revision);
        sink.push(NAMESPACE.as_str().as_bytes(), hop.namespace);
    }

    /// Whether a `Connection` field names `name`, making it hop-by-hop.
    fn named<I: Iterator<Item = Line<'a>>>(&self, name: &[u8], lines: I) -> bool {
        self.names_fields && named_by_connection(&self.kinds, lines, name)
    }

    /// Appends the values of every kept `field` line, each followed by `", "`, so the
    /// caller's own item completes the folded list.
    fn push_earlier<I: Iterator<Item = Line<'a>>>(
        &self,
        out: &mut Vec<u8>,
        lines: impl Fn() -> I,
        field: Field,
    ) {
        for (index, (name, value)) in lines().enumerate() {
            let value = value.trim_ascii();
            if self.kinds[index] == field && !value.is_empty() && !self.named(name, lines()) {
                out.extend_from_slice(value);
                out.extend_from_slice(b", ");
            }
        }
    }
}

/// `n` in decimal, written into the end of `buf`.
fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}
