//! A function's response head: how its body is delimited (RFC 9112 §6.3), whether its
//! connection can be reused, and the fields the client receives.

use super::field::{
    Field, ListItems, classify, is_chunked_last, named_by_connection, parse_content_length,
};
use super::sink::HeadSink;
use super::{Line, MAX_HEADERS};

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseBody {
    /// No body (`HEAD`, 204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// Until the function closes the connection.
    UntilClose,
}

/// What one pass over a final (non-1xx) response's fields found.
#[derive(Debug)]
pub(crate) struct ResponseScan {
    kinds: [Field; MAX_HEADERS],
    pub(crate) body: ResponseBody,
    /// The function will not take another request on this connection.
    pub(crate) close: bool,
    /// A `Content-Length` beside `Transfer-Encoding` is wrong by definition (RFC 9112
    /// §6.3): it is not passed on, and the connection is not trusted again.
    drop_length: bool,
    names_fields: bool,
}

impl ResponseScan {
    /// Scans the fields of a response with `status` (`http10`: sent as HTTP/1.0) to a
    /// request whose method was `HEAD` when `head_method`.
    pub(crate) fn new<'a>(
        lines: impl Iterator<Item = Line<'a>>,
        http10: bool,
        status: u16,
        head_method: bool,
    ) -> Result<Self, &'static str> {
        let mut kinds = [Field::Other; MAX_HEADERS];
        let mut length = None;
        let mut chunked = None;
        let mut close = http10;
        let mut names_fields = false;
        for (index, (name, value)) in lines.enumerate() {
            let kind = classify(name);
            *kinds
                .get_mut(index)
                .ok_or("too many response header fields")? = kind;
            match kind {
                Field::ContentLength => match parse_content_length(value) {
                    Some(n) if length.is_none_or(|m| m == n) => length = Some(n),
                    _ => return Err("invalid Content-Length"),
                },
                Field::TransferEncoding => chunked = Some(is_chunked_last(value)),
                Field::Connection => {
                    for token in ListItems::new(value) {
                        if token.eq_ignore_ascii_case(b"close") {
                            close = true;
                        } else if token.eq_ignore_ascii_case(b"keep-alive") {
                            close &= !http10;
                        } else {
                            names_fields = true;
                        }
                    }
                }
                _ => {}
            }
        }
        let body = if head_method || status == 204 || status == 304 {
            ResponseBody::Empty
        } else {
            match (chunked, length) {
                (Some(true), _) => ResponseBody::Chunked,
                (Some(false), _) | (None, None) => ResponseBody::UntilClose,
                (None, Some(n)) => ResponseBody::Length(n),
            }
        };
        let drop_length = chunked.is_some() && length.is_some() && body != ResponseBody::Empty;
        Ok(Self {
            kinds,
            body,
            close: close || drop_length || body == ResponseBody::UntilClose,
            drop_length,
            names_fields,
        })
    }

    /// Writes the client's header fields: the function's end-to-end ones, in order.
    /// `relays_encoding`: the body goes on as the function encoded it, so its
    /// `Transfer-Encoding` stays (otherwise the relaying path re-frames it).
    /// `switching`: a 101 to an upgrade request, which keeps `Upgrade`.
    pub(crate) fn write_fields<'a, I: Iterator<Item = Line<'a>>>(
        &self,
        lines: impl Fn() -> I,
        relays_encoding: bool,
        switching: bool,
        sink: &mut impl HeadSink,
    ) {
        for (index, (name, value)) in lines().enumerate() {
            let keep = match self.kinds[index] {
                Field::ContentLength => !self.drop_length,
                Field::TransferEncoding => relays_encoding,
                Field::Upgrade => switching,
                Field::Connection | Field::HopByHop | Field::Te => false,
                _ => !self.named(name, lines()),
            };
            if keep {
                sink.push(name, value);
            }
        }
        if switching {
            sink.push(b"connection", b"upgrade");
        }
    }

    fn named<'a, I: Iterator<Item = Line<'a>>>(&self, name: &[u8], lines: I) -> bool {
        self.names_fields && named_by_connection(&self.kinds, lines, name)
    }
}
