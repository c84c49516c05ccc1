//! Responses the gateway writes itself, as bytes.

use super::request::Refusal;
use crate::proxy_error::ProxyError;

/// Appends the plain-text response for `error`, with `Connection: close` when `close`.
pub(super) fn push_error(out: &mut Vec<u8>, error: &ProxyError, close: bool) {
    let status = error.status();
    let body = format!("{error}\n");
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    if close {
        out.extend_from_slice(b"\r\nconnection: close");
    }
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
}

/// The whole response to a refused head (the connection closes after it), as hyper
/// would send it.
pub(super) fn refusal(refusal: Refusal) -> &'static [u8] {
    match refusal {
        Refusal::BadFraming => {
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        }
        Refusal::HeadTooLarge => {
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        }
    }
}
