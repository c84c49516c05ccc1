//! Replica stdout/stderr: forwarded line by line to tracing, with the last
//! stderr line kept for status messages. Memory stays bounded however the
//! process writes: lines are cut at `MAX_LINE` bytes.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

/// Longest line forwarded; the rest of a longer line is dropped.
const MAX_LINE: usize = 4096;
/// Longest stderr line kept for status messages.
const MAX_TAIL: usize = 512;

/// The last non-blank line a replica wrote to stderr.
#[derive(Clone, Debug, Default)]
pub(crate) struct LastLine(Arc<Mutex<Option<String>>>);

/// Forwards `reader` to tracing until EOF, recording lines into `last` if given.
pub(crate) fn forward<R>(
    reader: R,
    replica: Arc<str>,
    stream: &'static str,
    last: Option<LastLine>,
) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        read_lines(BufReader::new(reader), |line| {
            tracing::info!(target: "runner::replica", replica = %replica, stream, "{line}");
            if let Some(last) = &last {
                last.record(line);
            }
        })
        .await;
    })
}

/// Calls `on_line` for each line (without its line ending), cutting lines
/// at `MAX_LINE` bytes. Stops at EOF or on a read error.
async fn read_lines<R>(mut reader: R, mut on_line: impl FnMut(&str))
where
    R: AsyncBufReadExt + Unpin,
{
    let mut line = Vec::with_capacity(256);
    loop {
        let buf = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf,
        };
        let (chunk, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(end) => (&buf[..end], true),
            None => (buf, false),
        };
        let room = MAX_LINE - line.len();
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = chunk.len() + usize::from(ended);
        reader.consume(consumed);
        if ended {
            emit(&line, &mut on_line);
            line.clear();
        }
    }
    if !line.is_empty() {
        emit(&line, &mut on_line);
    }
}

fn emit(line: &[u8], on_line: &mut impl FnMut(&str)) {
    let text = String::from_utf8_lossy(line);
    on_line(text.trim_end_matches('\r'));
}

// === impl LastLine ===

impl LastLine {
    fn record(&self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let mut end = line.len().min(MAX_TAIL);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        *self.0.lock() = Some(line[..end].to_owned());
    }

    pub(crate) fn get(&self) -> Option<String> {
        self.0.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines_of(input: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        read_lines(BufReader::with_capacity(7, input), |l| {
            lines.push(l.to_owned());
        })
        .await;
        lines
    }

    #[tokio::test]
    async fn splits_lines_across_buffer_refills() {
        let lines = lines_of(b"first line\r\nsecond, longer line\n\nlast without newline").await;
        assert_eq!(
            lines,
            [
                "first line",
                "second, longer line",
                "",
                "last without newline"
            ]
        );
    }

    #[tokio::test]
    async fn cuts_overlong_lines() {
        let mut input = vec![b'x'; MAX_LINE * 3];
        input.extend_from_slice(b"\nnext\n");
        let lines = lines_of(&input).await;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn last_line_skips_blank_lines_and_is_bounded() {
        let last = LastLine::default();
        last.record("boom: bad config");
        last.record("   ");
        assert_eq!(last.get().as_deref(), Some("boom: bad config"));
        last.record(&"é".repeat(MAX_TAIL));
        assert!(last.get().unwrap().len() <= MAX_TAIL);
    }
}
