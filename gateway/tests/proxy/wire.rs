//! HTTP/1.1 at the byte level for tests: messages parsed with their framing (so a
//! message that is framed wrongly shows up as a wrong split, never hidden), and a raw
//! client that writes bytes and reads the responses that come back.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A parsed message: start line, fields as sent, decoded body, and how it was framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) start_line: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) framing: Framing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length,
    Chunked,
    UntilClose,
    /// Both `Content-Length` and `Transfer-Encoding`: what a proxy must never send.
    Ambiguous,
}

/// What parsing the front of a buffer gave.
#[derive(Debug)]
pub(crate) enum Parse {
    Partial,
    Complete(Message, usize),
    Invalid(String),
}

impl Message {
    /// The values of `name` (any case), in order.
    pub(crate) fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(crate) fn status(&self) -> u16 {
        self.start_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// Parses one request (`request`) or response at the front of `buf`; at `eof` a
/// response without framing ends with the buffer; `to_head`: a response to `HEAD`.
pub(crate) fn parse(buf: &[u8], request: bool, eof: bool, to_head: bool) -> Parse {
    let mut fields = [httparse::EMPTY_HEADER; 256];
    let parsed: Result<Option<Head>, httparse::Error> = if request {
        let mut head = httparse::Request::new(&mut fields);
        head.parse(buf).map(|status| match status {
            httparse::Status::Complete(len) => Some((
                len,
                format!(
                    "{} {} HTTP/1.{}",
                    head.method.unwrap_or_default(),
                    head.path.unwrap_or_default(),
                    head.version.unwrap_or_default()
                ),
                collect(head.headers),
            )),
            httparse::Status::Partial => None,
        })
    } else {
        let mut head = httparse::Response::new(&mut fields);
        head.parse(buf).map(|status| match status {
            httparse::Status::Complete(len) => Some((
                len,
                format!(
                    "HTTP/1.{} {} {}",
                    head.version.unwrap_or_default(),
                    head.code.unwrap_or_default(),
                    head.reason.unwrap_or_default()
                ),
                collect(head.headers),
            )),
            httparse::Status::Partial => None,
        })
    };
    let (head_len, start_line, headers) = match parsed {
        Ok(Some(head)) => head,
        Ok(None) => return Parse::Partial,
        Err(error) => return Parse::Invalid(error.to_string()),
    };
    let message = |body: Vec<u8>, framing| Message {
        start_line: start_line.clone(),
        headers: headers.clone(),
        body,
        framing,
    };
    let lengths: Vec<&str> = field_values(&headers, "content-length");
    let encodings: Vec<&str> = field_values(&headers, "transfer-encoding");
    let rest = &buf[head_len..];
    let bodiless = !request && {
        let status = message(Vec::new(), Framing::None).status();
        to_head || status == 204 || status == 304 || (100..200).contains(&status)
    };
    if bodiless {
        return Parse::Complete(message(Vec::new(), Framing::None), head_len);
    }
    match (lengths.as_slice(), encodings.as_slice()) {
        ([], []) if request => Parse::Complete(message(Vec::new(), Framing::None), head_len),
        ([], []) if eof => Parse::Complete(message(rest.to_vec(), Framing::UntilClose), buf.len()),
        ([], []) => Parse::Partial,
        ([length], []) => {
            let Ok(length) = length.trim().parse::<usize>() else {
                return Parse::Invalid(format!("content-length {length:?}"));
            };
            if rest.len() < length {
                return Parse::Partial;
            }
            let body = rest[..length].to_vec();
            Parse::Complete(message(body, Framing::Length), head_len + length)
        }
        ([], [coding]) if coding.trim().eq_ignore_ascii_case("chunked") => {
            match decode_chunked(rest) {
                Some(Ok((body, used))) => {
                    Parse::Complete(message(body, Framing::Chunked), head_len + used)
                }
                Some(Err(error)) => Parse::Invalid(error),
                None => Parse::Partial,
            }
        }
        (_, [_, ..]) if !lengths.is_empty() => {
            Parse::Complete(message(Vec::new(), Framing::Ambiguous), buf.len())
        }
        _ => Parse::Invalid(format!("framing {lengths:?} {encodings:?}")),
    }
}

/// A parsed head: its length, start line and fields.
type Head = (usize, String, Vec<(String, String)>);

fn collect(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

fn field_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A chunked body at the front of `buf`: `None` while incomplete, else the decoded
/// bytes and how many bytes it took.
pub(crate) fn decode_chunked(buf: &[u8]) -> Option<Result<(Vec<u8>, usize), String>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + buf[at..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&buf[at..line_end]).unwrap_or("?");
        let size = line.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            return Some(Err(format!("chunk size {line:?}")));
        };
        at = line_end + 2;
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                let end = at + buf[at..].windows(2).position(|w| w == b"\r\n")?;
                let empty = end == at;
                at = end + 2;
                if empty {
                    return Some(Ok((body, at)));
                }
            }
        }
        if buf.len() < at + size + 2 {
            return None;
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

/// Writes `raw` to a fresh connection to `addr`, then reads responses until `expected`
/// have come, the server closes, or 5 s pass. Returns them and whether the connection
/// was closed by the server.
pub(crate) async fn send_raw(
    addr: SocketAddr,
    raw: &[u8],
    expected: usize,
) -> (Vec<Message>, bool) {
    send_raw_after_head(addr, raw, expected, false).await
}

/// [`send_raw`] where the first request may be a `HEAD` (its response has no body).
pub(crate) async fn send_raw_after_head(
    addr: SocketAddr,
    raw: &[u8],
    expected: usize,
    head_first: bool,
) -> (Vec<Message>, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    read_responses(&mut stream, expected, head_first).await
}

/// Reads responses from `stream` (see [`send_raw_after_head`]).
async fn read_responses(
    stream: &mut TcpStream,
    expected: usize,
    head_first: bool,
) -> (Vec<Message>, bool) {
    let mut buf = Vec::new();
    let mut responses = Vec::new();
    let mut eof = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        while !buf.is_empty() {
            let to_head = head_first && responses.is_empty();
            match parse(&buf, false, eof, to_head) {
                Parse::Complete(message, used) => {
                    buf.drain(..used);
                    // Interim (1xx) responses precede the one that counts.
                    if !(100..200).contains(&message.status()) {
                        responses.push(message);
                    }
                }
                Parse::Partial => break,
                Parse::Invalid(error) => panic!("unparsable response ({error}): {buf:?}"),
            }
        }
        if eof || responses.len() >= expected {
            return (responses, eof);
        }
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => eof = true,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return (responses, false),
        }
    }
}
