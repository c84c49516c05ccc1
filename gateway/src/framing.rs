//! Refusing ambiguous HTTP/1 message framing, the raw material of request smuggling.
//!
//! hyper already answers 400 to an invalid `Content-Length` or to several differing
//! ones, but a request with both `Content-Length` and `Transfer-Encoding` it accepts
//! (RFC 9112 §6.1 allows that: the chunked framing wins and the connection closes), and
//! by the time the service sees the request the `Content-Length` is gone. The gateway
//! promises a 400 instead, so [`FramingInspector`] looks at each request head on the
//! wire before hyper does. It tracks message boundaries (`Content-Length` and chunked
//! bodies) so that every head on a keep-alive connection is checked, and swaps an
//! ambiguous head for one hyper itself rejects with 400 (then ends the stream).
//! Anything it cannot follow (HTTP/2, upgrades, heads hyper will reject anyway) it passes
//! through untouched: hyper remains the parser of record.

mod chunked;
mod guard;
#[cfg(test)]
mod tests;

use bytes::{Buf, BytesMut};

pub(crate) use chunked::ChunkedBody;
pub(crate) use guard::FramingGuard;

/// Header block limit; the proxy's hyper server is configured with the same limit and
/// answers 431 beyond it.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Header count limit, shared with hyper for the same reason.
pub(crate) const MAX_HEADERS: usize = 128;

/// A head hyper answers with `400 Bad Request` (invalid `Content-Length`).
const REJECTED_HEAD: &[u8] = b"GET / HTTP/1.1\r\ncontent-length: ambiguous-framing\r\n\r\n";

/// Sans-IO inspector for the bytes a client sends on one HTTP/1 connection.
#[derive(Debug, Default)]
pub(crate) struct FramingInspector {
    /// Received bytes; the first `vetted` of them may be handed to hyper.
    pending: BytesMut,
    vetted: usize,
    state: State,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a complete request head.
    #[default]
    Head,
    /// Inside a body of known length: this many bytes remain.
    Length(u64),
    Chunked(ChunkedBody),
    /// Not following the framing any more (HTTP/2, upgraded, or a head hyper rejects).
    Passthrough,
    /// Ambiguous framing seen: the stream ends after the rejected head.
    Rejected,
}

/// What a complete head says about the message that follows it.
#[derive(Debug, PartialEq, Eq)]
enum HeadFraming {
    Body(State),
    Ambiguous,
}

// === impl FramingInspector ===

impl FramingInspector {
    /// Whether the inspector no longer looks at the bytes, so the caller may read
    /// straight into hyper's buffer.
    pub(crate) fn is_passthrough(&self) -> bool {
        self.state == State::Passthrough && self.pending.is_empty()
    }

    /// Whether the stream must end once the vetted bytes are drained.
    pub(crate) fn is_rejected(&self) -> bool {
        self.state == State::Rejected
    }

    /// Whether vetted bytes wait to be handed to hyper.
    pub(crate) fn has_vetted(&self) -> bool {
        self.vetted > 0
    }

    /// Whether nothing is held back, so the caller may read straight into hyper's
    /// buffer and vet the new bytes there with [`Self::vet_in_place`].
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty()
            && matches!(
                self.state,
                State::Head | State::Length(_) | State::Chunked(_)
            )
    }

    /// Vets `data`, just read while [`Self::is_idle`], where it lies: returns how many
    /// of its leading bytes may be handed to hyper now. The rest (an incomplete or
    /// ambiguous head and what follows) is taken in as if [`Self::push`]ed, so it
    /// reaches hyper later, or replaced, through [`Self::vetted`].
    pub(crate) fn vet_in_place(&mut self, data: &[u8]) -> usize {
        debug_assert!(self.is_idle());
        let (vetted, _) = vet(&mut self.state, data);
        if vetted < data.len() {
            self.push(&data[vetted..]);
        }
        vetted
    }

    /// The client closed its side: hand hyper whatever partial head is left so it can
    /// answer or close as it sees fit.
    pub(crate) fn finish(&mut self) {
        if self.state != State::Rejected {
            self.state = State::Passthrough;
            self.vetted = self.pending.len();
        }
    }

    /// Takes in bytes read from the client.
    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.state == State::Rejected {
            return;
        }
        self.pending.extend_from_slice(data);
        self.advance();
    }

    /// Bytes that may be handed to hyper now.
    pub(crate) fn vetted(&self) -> &[u8] {
        &self.pending[..self.vetted]
    }

    /// Marks `n` vetted bytes as handed over.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.vetted);
        self.pending.advance(n);
        self.vetted -= n;
    }

    fn advance(&mut self) {
        let (vetted, stop) = vet(&mut self.state, &self.pending[self.vetted..]);
        self.vetted += vetted;
        if stop == Stop::Ambiguous {
            self.pending.truncate(self.vetted);
            self.pending.extend_from_slice(REJECTED_HEAD);
            self.vetted = self.pending.len();
            self.state = State::Rejected;
        }
    }
}

/// Why [`vet`] stopped short of the end of its input.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// All input vetted, or the rest is an incomplete head.
    NeedMore,
    /// The head starting at the returned offset has ambiguous framing.
    Ambiguous,
}

/// Follows the message framing through `data` from `state`: returns how many leading
/// bytes are vetted (`state` is left describing what follows them) and why it stopped.
fn vet(state: &mut State, data: &[u8]) -> (usize, Stop) {
    let mut vetted = 0;
    loop {
        let rest = &data[vetted..];
        if rest.is_empty() {
            return (vetted, Stop::NeedMore);
        }
        match *state {
            State::Head => match inspect_head(rest) {
                Ok(Some((len, HeadFraming::Body(next)))) => {
                    vetted += len;
                    *state = next;
                }
                Ok(Some((_, HeadFraming::Ambiguous))) => return (vetted, Stop::Ambiguous),
                Ok(None) if rest.len() <= MAX_HEAD_BYTES => return (vetted, Stop::NeedMore),
                // Too large, or not HTTP/1 at all: hyper decides (431, 400, or h2).
                Ok(None) | Err(()) => *state = State::Passthrough,
            },
            State::Length(remaining) => {
                let take = remaining.min(rest.len() as u64);
                vetted += take as usize;
                *state = match remaining - take {
                    0 => State::Head,
                    left => State::Length(left),
                };
            }
            State::Chunked(mut body) => {
                let (used, done) = body.advance(rest);
                vetted += used;
                *state = match done {
                    Some(true) => State::Head,
                    Some(false) => State::Passthrough,
                    None => State::Chunked(body),
                };
            }
            State::Passthrough => return (data.len(), Stop::NeedMore),
            State::Rejected => return (vetted, Stop::NeedMore),
        }
    }
}

/// Parses one head. `Ok(None)`: incomplete; `Err`: not something to second-guess hyper on.
fn inspect_head(buf: &[u8]) -> Result<Option<(usize, HeadFraming)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding: Option<&[u8]> = None;
    let mut upgrade = request.method == Some("CONNECT");
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let Some(value) = parse_content_length(header.value) else {
                return Ok(Some((len, HeadFraming::Ambiguous)));
            };
            if content_length.is_some_and(|previous| previous != value) {
                return Ok(Some((len, HeadFraming::Ambiguous)));
            }
            content_length = Some(value);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // With several lines the last coding is what counts.
            transfer_encoding = Some(header.value);
        } else if header.name.eq_ignore_ascii_case("upgrade") {
            upgrade = true;
        }
    }
    let body = match (content_length, transfer_encoding) {
        (Some(_), Some(_)) => return Ok(Some((len, HeadFraming::Ambiguous))),
        (None, Some(coding)) if is_chunked_last(coding) => State::Chunked(ChunkedBody::default()),
        (None, Some(_)) => return Ok(Some((len, HeadFraming::Ambiguous))),
        (Some(n), None) if n > 0 => State::Length(n),
        _ => State::Head,
    };
    // After an upgrade the bytes are no longer HTTP/1 (if the upstream refuses it the
    // rest of the connection goes unchecked, hyper still guards it).
    let body = match body {
        State::Head if upgrade => State::Passthrough,
        other => other,
    };
    Ok(Some((len, HeadFraming::Body(body))))
}

pub(crate) fn parse_content_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

pub(crate) fn is_chunked_last(value: &[u8]) -> bool {
    value
        .rsplit(|&b| b == b',')
        .next()
        .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}
