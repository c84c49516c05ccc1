//! Replica stdout/stderr: written line by line to the replica's container log
//! (what `kubectl logs` reads) and forwarded to tracing (the terminal of
//! `fnmesh up`), with the last stderr line kept for status messages. Memory stays
//! bounded however the process writes: a line longer than `MAX_LINE` bytes goes on
//! in pieces, as the CRI log format splits it.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

use crate::container_log::{ContainerLog, Stream};

/// Longest piece of a line handled at once; a longer line goes on in more pieces.
const MAX_LINE: usize = 4096;
/// Longest stderr line kept for status messages.
const MAX_TAIL: usize = 512;

/// The last non-blank line a replica wrote to stderr.
#[derive(Clone, Debug, Default)]
pub(crate) struct LastLine(Arc<Mutex<Option<String>>>);

/// Forwards `reader` to `log` and tracing until EOF, recording lines into `last`
/// if given.
pub(crate) fn forward<R>(
    reader: R,
    replica: Arc<str>,
    stream: Stream,
    log: Arc<ContainerLog>,
    last: Option<LastLine>,
) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let name = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    tokio::spawn(async move {
        read_lines(BufReader::new(reader), |piece, complete| {
            log.write(stream, piece, complete);
            let text = String::from_utf8_lossy(piece);
            tracing::info!(target: "runner::replica", replica = %replica, stream = name, "{text}");
            if let Some(last) = &last {
                last.record(&text);
            }
        })
        .await;
    })
}

/// Calls `on_line(piece, complete)` for each line (without its line ending, `\r\n`
/// included) in pieces of at most `MAX_LINE` bytes; `complete` is false for every
/// piece of a longer line but its last. Stops at EOF or on a read error.
async fn read_lines<R>(mut reader: R, mut on_line: impl FnMut(&[u8], bool))
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
        let taken = chunk.len().min(room);
        line.extend_from_slice(&chunk[..taken]);
        let ended = ended && taken == chunk.len();
        reader.consume(taken + usize::from(ended));
        if ended {
            on_line(line.strip_suffix(b"\r").unwrap_or(&line), true);
            line.clear();
        } else if line.len() == MAX_LINE {
            on_line(&line, false);
            line.clear();
        }
    }
    if !line.is_empty() {
        on_line(&line, true);
    }
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

    async fn lines_of(input: &[u8]) -> Vec<(String, bool)> {
        let mut lines = Vec::new();
        read_lines(BufReader::with_capacity(7, input), |l, complete| {
            lines.push((String::from_utf8_lossy(l).into_owned(), complete));
        })
        .await;
        lines
    }

    #[tokio::test]
    async fn splits_lines_across_buffer_refills() {
        let lines = lines_of(b"first line\r\nsecond, longer line\n\nlast without newline").await;
        let texts: Vec<&str> = lines.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            texts,
            [
                "first line",
                "second, longer line",
                "",
                "last without newline"
            ]
        );
        assert!(lines.iter().all(|(_, complete)| *complete));
    }

    #[tokio::test]
    async fn splits_overlong_lines_into_pieces() {
        let mut input = vec![b'x'; MAX_LINE * 2 + 5];
        input.extend_from_slice(b"\nnext\n");
        let lines = lines_of(&input).await;
        let shape: Vec<(usize, bool)> = lines.iter().map(|(l, c)| (l.len(), *c)).collect();
        assert_eq!(
            shape,
            [(MAX_LINE, false), (MAX_LINE, false), (5, true), (4, true)]
        );
        assert_eq!(lines[3].0, "next");
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
