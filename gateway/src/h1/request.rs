//! A client's request head on the fast path: parsed in place, checked and routed, and
//! rewritten into the head the function receives by the shared policy
//! (`crate::head_policy`), in one pass that leaves nothing borrowed behind (the result
//! is a [`Plan`] the connection acts on).

#[cfg(test)]
mod tests;

use std::mem::MaybeUninit;

use tokio::time::Instant;

use crate::failover::Endpoints;
use crate::forwarded::ClientForwarding;
use crate::head_policy::{
    Hop, Line, MAX_HEAD_BYTES, MAX_HEADERS, Refusal, RequestBody, RequestScan,
};
use crate::proxy::{Proxy, Target};
use crate::proxy_error::ProxyError;
use crate::revision::Protocol;

/// What to do with the bytes at the front of the client's buffer.
pub(super) enum Plan {
    /// No complete head yet.
    NeedMore,
    /// Something this path leaves to hyper (HTTP/2, upgrades, chunked or `Expect`
    /// bodies, HTTP/1.0, absolute-form targets, h2c functions, heads it cannot parse).
    /// For an h2c function the revision and endpoint are already chosen: hyper uses
    /// that choice rather than making another.
    Handoff(Option<Target>),
    /// A head the gateway refuses outright, then closes: ambiguous framing (400) or
    /// too large a header block (431).
    Refuse(Refusal),
    /// The gateway answers itself (no host, unknown host, no endpoint).
    Answer(Answer),
    /// Forward to the target; the function's head is in the output buffer.
    Forward(Forward),
}

pub(super) struct Answer {
    pub(super) error: ProxyError,
    /// Present when a revision was chosen, so its metrics count the answer.
    pub(super) target: Option<Target>,
    pub(super) request: RequestFraming,
}

pub(super) struct Forward {
    pub(super) target: Target,
    pub(super) endpoints: Endpoints,
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
        Err(_) => return Plan::Handoff(None),
    };
    let (Some(method), Some(path), Some(version)) = (request.method, request.path, request.version)
    else {
        return Plan::Handoff(None);
    };
    let headers = &*request.headers;
    let lines = || headers.iter().map(line);
    // Framing is refused the same on every version, before anything else is decided.
    let scan = match RequestScan::new(lines(), version == 0) {
        Ok(scan) => scan,
        Err(refusal) => return Plan::Refuse(refusal),
    };
    let leave_to_hyper = version != 1
        || method == "CONNECT"
        || !path.starts_with('/')
        || scan.body == RequestBody::Chunked
        || scan.mentions_upgrade()
        || scan.expect;
    if leave_to_hyper {
        return Plan::Handoff(None);
    }
    let framing = RequestFraming {
        head_len,
        body_len: match scan.body {
            RequestBody::Length(n) => n,
            RequestBody::None | RequestBody::Chunked => 0,
        },
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
        return Plan::Handoff(Some(target));
    }
    let Some(endpoints) = target.endpoints.take() else {
        return Plan::Answer(Answer {
            error: ProxyError::NoEndpoints(target.label()),
            target: Some(target),
            request: framing,
        });
    };
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let hop = Hop {
        client,
        host,
        revision: target.name.as_bytes(),
        namespace: target.namespace.as_bytes(),
        upgrade: false,
    };
    scan.write_fields(lines, &hop, out);
    out.extend_from_slice(b"\r\n");
    Plan::Forward(Forward {
        target,
        endpoints,
        request: framing,
    })
}

fn line<'a>(header: &httparse::Header<'a>) -> Line<'a> {
    (header.name.as_bytes(), header.value)
}
