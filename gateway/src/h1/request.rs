//! A client's request head: parsed in place, checked, routed, and rewritten into the head
//! the function receives, in one pass that leaves nothing borrowed behind (the result is
//! a [`Plan`] the connection acts on).

#[cfg(test)]
mod tests;

use std::mem::MaybeUninit;
use std::sync::Arc;

use tokio::time::Instant;

use super::fields::{self, Field, ListItems};
use crate::forwarded::ClientForwarding;
use crate::framing::{MAX_HEAD_BYTES, MAX_HEADERS, is_chunked_last, parse_content_length};
use crate::internal_headers::{NAMESPACE, REVISION};
use crate::pool::Http1Endpoint;
use crate::proxy::{Proxy, Target};
use crate::proxy_error::ProxyError;
use crate::revision::Protocol;

/// What to do with the bytes at the front of the client's buffer.
pub(super) enum Plan {
    /// No complete head yet.
    NeedMore,
    /// Something this path leaves to hyper (HTTP/2, upgrades, chunked or `Expect`
    /// bodies, HTTP/1.0, absolute-form targets, h2c functions, heads it cannot parse).
    Handoff,
    /// A head the gateway refuses outright, then closes: ambiguous framing (400) or
    /// too large a header block (431).
    Refuse(Refusal),
    /// The gateway answers itself (no host, unknown host, no endpoint).
    Answer(Answer),
    /// Forward to the target; the function's head is in the output buffer.
    Forward(Forward),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    BadFraming,
    HeadTooLarge,
}

pub(super) struct Answer {
    pub(super) error: ProxyError,
    /// Present when a revision was chosen, so its metrics count the answer.
    pub(super) target: Option<Target>,
    pub(super) request: RequestFraming,
}

pub(super) struct Forward {
    pub(super) target: Target,
    pub(super) endpoint: Arc<Http1Endpoint>,
    pub(super) request: RequestFraming,
}

/// Where the request ends and what the client asked of the connection.
#[derive(Debug, Clone, Copy)]
pub(super) struct RequestFraming {
    /// Length of the head in the client's buffer.
    pub(super) head_len: usize,
    /// `Content-Length` of the body that follows (0 without one).
    pub(super) body_len: u64,
    /// `Connection: close`: answer, then close.
    pub(super) close: bool,
    /// `HEAD`: the response has no body whatever its headers say.
    pub(super) head_method: bool,
}

/// What one pass over the header lines found.
struct Scan<'a> {
    /// Each header line's kind, by index: classified once, read again when writing.
    kinds: [Field; MAX_HEADERS],
    host: Option<&'a [u8]>,
    tag: Option<&'a [u8]>,
    content_length: Option<u64>,
    transfer_encoding: Option<&'a [u8]>,
    close: bool,
    handoff: bool,
    ambiguous: bool,
    /// `Connection` names headers other than `close`/`keep-alive`: those are hop-by-hop.
    names_headers: bool,
    forwarded: bool,
    x_forwarded_for: bool,
    x_forwarded_proto: bool,
    te_trailers: bool,
}

/// Parses the head at the front of `buf` and decides; for [`Plan::Forward`] the head
/// to send the function is appended to `out`.
pub(super) fn plan(
    buf: &[u8],
    proxy: &Proxy,
    client: &ClientForwarding,
    out: &mut Vec<u8>,
) -> Plan {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let head_len = match request.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD_BYTES => len,
        Ok(httparse::Status::Complete(_)) | Err(httparse::Error::TooManyHeaders) => {
            return Plan::Refuse(Refusal::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Plan::Refuse(Refusal::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => return Plan::NeedMore,
        Err(_) => return Plan::Handoff,
    };
    let (Some(method), Some(path), Some(1)) = (request.method, request.path, request.version)
    else {
        return Plan::Handoff;
    };
    if method == "CONNECT" || !path.starts_with('/') {
        return Plan::Handoff;
    }
    let headers = &*request.headers;
    let scan = scan(headers);
    if scan.ambiguous {
        return Plan::Refuse(Refusal::BadFraming);
    }
    let body_len = match (scan.content_length, scan.transfer_encoding) {
        (Some(_), Some(_)) => return Plan::Refuse(Refusal::BadFraming),
        (None, Some(coding)) if is_chunked_last(coding) => return Plan::Handoff,
        (None, Some(_)) => return Plan::Refuse(Refusal::BadFraming),
        (length, None) => length.unwrap_or(0),
    };
    if scan.handoff {
        return Plan::Handoff;
    }
    let framing = RequestFraming {
        head_len,
        body_len,
        close: scan.close,
        head_method: method == "HEAD",
    };
    let arrival = Instant::now();
    let Some(host) = scan.host else {
        return Plan::Answer(Answer {
            error: ProxyError::MissingHost,
            target: None,
            request: framing,
        });
    };
    let host = std::str::from_utf8(host).unwrap_or_default();
    let Some(mut target) = proxy.resolve(host, scan.tag, arrival) else {
        proxy.record_unrouted();
        return Plan::Answer(Answer {
            error: ProxyError::UnknownHost(host.to_owned()),
            target: None,
            request: framing,
        });
    };
    if target.protocol == Protocol::H2c {
        return Plan::Handoff;
    }
    let Some(endpoint) = target.endpoint.take() else {
        return Plan::Answer(Answer {
            error: ProxyError::NoEndpoints(target.label()),
            target: Some(target),
            request: framing,
        });
    };
    write_upstream_head(out, method, path, headers, &scan, client, host, &target);
    Plan::Forward(Forward {
        target,
        endpoint,
        request: framing,
    })
}

fn scan<'a>(headers: &[httparse::Header<'a>]) -> Scan<'a> {
    let mut scan = Scan {
        kinds: [Field::Other; MAX_HEADERS],
        host: None,
        tag: None,
        content_length: None,
        transfer_encoding: None,
        close: false,
        handoff: false,
        ambiguous: false,
        names_headers: false,
        forwarded: false,
        x_forwarded_for: false,
        x_forwarded_proto: false,
        te_trailers: false,
    };
    for (header, kind) in headers.iter().zip(&mut scan.kinds) {
        let value = header.value;
        *kind = fields::classify(header.name);
        match *kind {
            Field::Host => {
                if scan.host.replace(value.trim_ascii()).is_some() {
                    scan.ambiguous = true;
                }
            }
            Field::ContentLength => match parse_content_length(value) {
                Some(n) if scan.content_length.is_none_or(|m| m == n) => {
                    scan.content_length = Some(n);
                }
                _ => scan.ambiguous = true,
            },
            Field::TransferEncoding => scan.transfer_encoding = Some(value),
            Field::Connection => {
                for token in ListItems::new(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        scan.close = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        scan.handoff = true;
                    } else if !token.eq_ignore_ascii_case(b"keep-alive") {
                        scan.names_headers = true;
                    }
                }
            }
            Field::Upgrade | Field::Expect => scan.handoff = true,
            Field::Te => {
                scan.te_trailers |=
                    ListItems::new(value).any(|t| t.eq_ignore_ascii_case(b"trailers"));
            }
            Field::Tag => scan.tag = Some(value),
            Field::Forwarded => scan.forwarded = true,
            Field::XForwardedFor => scan.x_forwarded_for = true,
            Field::XForwardedProto => scan.x_forwarded_proto = true,
            Field::HopByHop | Field::Internal | Field::Other => {}
        }
    }
    scan
}

/// The function's head: the client's request line and headers, minus hop-by-hop and
/// internal ones, plus this hop's forwarding headers and the chosen revision.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
fn write_upstream_head(
    out: &mut Vec<u8>,
    method: &str,
    path: &str,
    headers: &[httparse::Header<'_>],
    scan: &Scan<'_>,
    client: &ClientForwarding,
    host: &str,
    target: &Target,
) {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let kinds = &scan.kinds[..headers.len()];
    for (header, kind) in headers.iter().zip(kinds) {
        let keep = match kind {
            // A client's own X-Forwarded-Proto stands (the hyper path keeps it too).
            Field::Host | Field::ContentLength | Field::XForwardedProto | Field::Other => {
                !(scan.names_headers && fields::named_by_connection(header.name, headers, kinds))
            }
            _ => false,
        };
        if keep {
            fields::push_header(out, header.name.as_bytes(), header.value);
        }
    }
    if scan.te_trailers {
        out.extend_from_slice(b"te: trailers\r\n");
    }
    // Earlier hops' lists are folded into one line with ours appended.
    out.extend_from_slice(b"forwarded: ");
    if scan.forwarded {
        fields::push_existing(out, headers, kinds, Field::Forwarded);
    }
    client.push_element(out, host);
    out.extend_from_slice(b"\r\nx-forwarded-for: ");
    if scan.x_forwarded_for {
        fields::push_existing(out, headers, kinds, Field::XForwardedFor);
    }
    out.extend_from_slice(client.client_address());
    out.extend_from_slice(b"\r\n");
    if !scan.x_forwarded_proto {
        out.extend_from_slice(b"x-forwarded-proto: http\r\n");
    }
    fields::push_header(out, REVISION.as_str().as_bytes(), target.name.as_bytes());
    fields::push_header(
        out,
        NAMESPACE.as_str().as_bytes(),
        target.namespace.as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
}
