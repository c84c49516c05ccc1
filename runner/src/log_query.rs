//! What a `kubectl logs` request asks for, in the kubelet's terms
//! (`follow`, `previous`, `timestamps`, `tailLines`, `limitBytes`, `sinceSeconds`,
//! `sinceTime`), and how CRI log records become the text it shows. Pure.

use jiff::Timestamp;

/// The options of a container log request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogQuery {
    pub(crate) follow: bool,
    pub(crate) previous: bool,
    pub(crate) timestamps: bool,
    /// Start this many records before the end.
    pub(crate) tail_lines: Option<u64>,
    /// Stop after this many bytes of output.
    pub(crate) limit_bytes: Option<u64>,
    /// Skip records older than this.
    pub(crate) since: Option<Timestamp>,
}

/// One parsed CRI record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub(crate) time: Timestamp,
    pub(crate) time_text: &'a str,
    pub(crate) complete: bool,
    pub(crate) content: &'a [u8],
}

// === impl LogQuery ===

impl LogQuery {
    /// Reads a query string; `now` anchors `sinceSeconds`. Errors name the parameter.
    pub(crate) fn parse(query: &str, now: Timestamp) -> Result<Self, String> {
        let mut q = Self::default();
        let mut since_seconds = None;
        let mut since_time = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "follow" => q.follow = boolean(&key, &value)?,
                "previous" => q.previous = boolean(&key, &value)?,
                "timestamps" => q.timestamps = boolean(&key, &value)?,
                "tailLines" => {
                    // A negative count means "all", as the kubelet reads it.
                    q.tail_lines = u64::try_from(integer(&key, &value)?).ok();
                }
                "limitBytes" => {
                    let n = integer(&key, &value)?;
                    q.limit_bytes =
                        Some(u64::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
                            format!("limitBytes: Invalid value: {n}: must be greater than 0")
                        })?);
                }
                "sinceSeconds" => {
                    let n = integer(&key, &value)?;
                    if n <= 0 {
                        return Err(format!(
                            "sinceSeconds: Invalid value: {n}: must be greater than 0"
                        ));
                    }
                    since_seconds = Some(n);
                }
                "sinceTime" => {
                    let at: Timestamp = value
                        .parse()
                        .map_err(|e| format!("sinceTime: Invalid value: {value:?}: {e}"))?;
                    since_time = Some(at);
                }
                // container, insecureSkipTLSVerifyBackend, stream …: not ours to refuse.
                _ => {}
            }
        }
        q.since = match (since_seconds, since_time) {
            (Some(_), Some(_)) => {
                return Err("at most one of sinceTime or sinceSeconds may be specified".into());
            }
            (Some(secs), None) => now.checked_sub(jiff::SignedDuration::from_secs(secs)).ok(),
            (None, at) => at,
        };
        Ok(q)
    }
}

fn boolean(key: &str, value: &str) -> Result<bool, String> {
    // Go's strconv.ParseBool, which the kubelet's query decoding uses.
    match value {
        "" | "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "{key}: Invalid value: {value:?}: must be true or false"
        )),
    }
}

fn integer(key: &str, value: &str) -> Result<i64, String> {
    value
        .parse()
        .map_err(|_| format!("{key}: Invalid value: {value:?}: must be an integer"))
}

/// Parses one CRI line (without its newline); `None` for a line that is not one.
pub(crate) fn parse_record(line: &[u8]) -> Option<Record<'_>> {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let time_text = std::str::from_utf8(parts.next()?).ok()?;
    let _stream = parts.next()?;
    let tag = parts.next()?;
    let content = parts.next().unwrap_or_default();
    Some(Record {
        time: time_text.parse().ok()?,
        time_text,
        complete: tag != b"P",
        content,
    })
}

/// The suffix of `bytes` (newline-terminated CRI lines) holding its last `n` lines;
/// the kubelet counts raw log lines, pieces of long lines included.
pub(crate) fn tail(bytes: &[u8], n: u64) -> &[u8] {
    let Ok(n) = usize::try_from(n) else {
        return bytes;
    };
    if n == 0 {
        return &bytes[bytes.len()..];
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let newlines = body.iter().rev().enumerate().filter(|(_, b)| **b == b'\n');
    match newlines.map(|(from_end, _)| from_end).nth(n - 1) {
        Some(from_end) => &bytes[body.len() - from_end..],
        None => bytes,
    }
}

/// Turns records into output under a query's `since`, `timestamps` and `limitBytes`,
/// across calls (a follower renders as the log grows).
#[derive(Debug)]
pub(crate) struct Renderer<'q> {
    query: &'q LogQuery,
    sent: u64,
}

// === impl Renderer ===

impl<'q> Renderer<'q> {
    pub(crate) fn new(query: &'q LogQuery) -> Self {
        Self { query, sent: 0 }
    }

    /// Whether `limitBytes` has been reached.
    pub(crate) fn done(&self) -> bool {
        self.query.limit_bytes.is_some_and(|l| self.sent >= l)
    }

    /// Renders the complete lines of `bytes`; returns the output and how many bytes
    /// of `bytes` were consumed (a trailing piece without its newline waits).
    pub(crate) fn render(&mut self, bytes: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut consumed = 0;
        while !self.done() {
            let Some(len) = bytes[consumed..].iter().position(|&b| b == b'\n') else {
                break;
            };
            let line = &bytes[consumed..consumed + len];
            consumed += len + 1;
            let Some(record) = parse_record(line) else {
                continue;
            };
            if self.query.since.is_some_and(|since| record.time < since) {
                continue;
            }
            let mut text = Vec::with_capacity(record.content.len() + 40);
            if self.query.timestamps {
                text.extend_from_slice(record.time_text.as_bytes());
                text.push(b' ');
            }
            text.extend_from_slice(record.content);
            if record.complete {
                text.push(b'\n');
            }
            if let Some(limit) = self.query.limit_bytes {
                let room = usize::try_from(limit - self.sent).unwrap_or(usize::MAX);
                text.truncate(room);
            }
            self.sent += text.len() as u64;
            out.extend_from_slice(&text);
        }
        (out, consumed)
    }
}

#[cfg(test)]
mod tests;
