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

use crate::head_policy::{MAX_HEAD_BYTES, MAX_HEADERS, Refusal, RequestBody, RequestScan};

pub(crate) use chunked::ChunkedBody;
pub(crate) use guard::FramingGuard;

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
/// The framing decision is the shared policy's, the one the fast path makes.
fn inspect_head(buf: &[u8]) -> Result<Option<(usize, HeadFraming)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let lines = request.headers.iter().map(|h| (h.name.as_bytes(), h.value));
    let scan = match RequestScan::new(lines, request.version == Some(0)) {
        Ok(scan) => scan,
        Err(Refusal::BadFraming) => return Ok(Some((len, HeadFraming::Ambiguous))),
        // hyper answers 431 itself.
        Err(Refusal::HeadTooLarge) => return Err(()),
    };
    let body = match scan.body {
        RequestBody::Length(n) if n > 0 => State::Length(n),
        RequestBody::Chunked => State::Chunked(ChunkedBody::default()),
        RequestBody::Length(_) | RequestBody::None => State::Head,
    };
    // After an upgrade the bytes are no longer HTTP/1 (if the upstream refuses it the
    // rest of the connection goes unchecked, hyper still guards it).
    let upgrade = request.method == Some("CONNECT") || scan.mentions_upgrade();
    let body = match body {
        State::Head if upgrade => State::Passthrough,
        other => other,
    };
    Ok(Some((len, HeadFraming::Body(body))))
}
