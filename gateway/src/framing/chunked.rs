//! Following a chunked body just far enough to know where it ends (RFC 9112 §7.1).
//! hyper decodes the body for real; this only has to agree on the boundary, and gives
//! up (so hyper alone decides) at the first byte it does not expect.

/// Position inside a chunked body.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkedBody {
    step: Step,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Reading the hex size; `digits` so far.
    #[default]
    SizeStart,
    Size {
        size: u64,
        digits: u8,
    },
    /// Skipping chunk extensions up to the end of the size line.
    Extension {
        size: u64,
    },
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer section; `empty_line` while the current line has no content yet.
    Trailers {
        empty_line: bool,
    },
}

impl ChunkedBody {
    /// Consumes from `data`; returns the bytes used and `Some(true)` when the body ended
    /// right there, `Some(false)` when the input is not valid chunked framing, `None`
    /// when more is needed.
    pub(crate) fn advance(&mut self, data: &[u8]) -> (usize, Option<bool>) {
        let mut i = 0;
        while i < data.len() {
            if let Step::Data(remaining) = self.step {
                let take = remaining.min((data.len() - i) as u64);
                i += take as usize;
                self.step = match remaining - take {
                    0 => Step::DataEnd,
                    left => Step::Data(left),
                };
                continue;
            }
            let byte = data[i];
            i += 1;
            self.step = match (self.step, byte) {
                (Step::SizeStart, b) if b.is_ascii_hexdigit() => Step::Size {
                    size: u64::from(hex(b)),
                    digits: 1,
                },
                (Step::Size { size, digits }, b) if b.is_ascii_hexdigit() => {
                    if digits >= 15 {
                        return (i, Some(false));
                    }
                    Step::Size {
                        size: (size << 4) | u64::from(hex(b)),
                        digits: digits + 1,
                    }
                }
                (Step::Size { size, .. }, b';' | b' ' | b'\t' | b'\r') => Step::Extension { size },
                (Step::Size { size, .. } | Step::Extension { size }, b'\n') => match size {
                    0 => Step::Trailers { empty_line: true },
                    n => Step::Data(n),
                },
                (Step::Extension { size }, _) => Step::Extension { size },
                (Step::DataEnd, b'\r') => Step::DataEnd,
                (Step::DataEnd, b'\n') => Step::SizeStart,
                (Step::Trailers { empty_line: true }, b'\n') => {
                    *self = Self::default();
                    return (i, Some(true));
                }
                (Step::Trailers { .. }, b'\n') => Step::Trailers { empty_line: true },
                (Step::Trailers { empty_line }, b'\r') => Step::Trailers { empty_line },
                (Step::Trailers { .. }, _) => Step::Trailers { empty_line: false },
                _ => return (i, Some(false)),
            };
        }
        (i, None)
    }
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_of_a_chunked_body() {
        let body = b"5\r\nhello\r\na;ext=1\r\n0123456789\r\n0\r\nx-trailer: 1\r\n\r\nGET";
        let mut chunked = ChunkedBody::default();
        let (used, done) = chunked.advance(body);
        assert_eq!(done, Some(true));
        assert_eq!(&body[used..], b"GET");
    }

    #[test]
    fn works_byte_by_byte() {
        let body = b"3\r\nabc\r\n0\r\n\r\n";
        let mut chunked = ChunkedBody::default();
        for (i, b) in body.iter().enumerate() {
            let (used, done) = chunked.advance(std::slice::from_ref(b));
            assert_eq!(used, 1);
            assert_eq!(done.is_some(), i == body.len() - 1, "byte {i}");
        }
    }

    #[test]
    fn gives_up_on_garbage() {
        let mut chunked = ChunkedBody::default();
        assert_eq!(chunked.advance(b"zz\r\n").1, Some(false));
    }
}
