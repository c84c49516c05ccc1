//! Moving message bodies between the two sockets byte for byte: a known length, a
//! chunked body (followed just far enough to find its end), or everything until the
//! sender closes. Relaying a response body stamps the [`Activity`] after each write,
//! when the relay goes back to waiting for the function, for the idle timeout.

use std::io;

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::timers::Activity;
use crate::framing::ChunkedBody;

/// Read size for bodies that do not fit the first read.
const CHUNK: usize = 16 * 1024;

#[derive(Debug)]
pub(super) enum RelayError {
    /// The sending side failed or closed before the body ended.
    Read,
    /// The receiving side failed.
    Write(io::Error),
    /// The chunked framing is broken.
    BadChunk,
}

/// Copies exactly `remaining` bytes from `from` to `to`; `buf` is scratch. `activity`
/// is stamped when `from` is the function.
pub(super) async fn copy_length(
    from: &mut TcpStream,
    to: &mut TcpStream,
    buf: &mut BytesMut,
    mut remaining: u64,
    activity: Option<&Activity>,
) -> Result<(), RelayError> {
    while remaining > 0 {
        buf.clear();
        let want = usize::try_from(remaining).unwrap_or(usize::MAX).min(CHUNK);
        buf.reserve(want);
        let mut limited = (&mut *buf).limit(want);
        let n = read_into(from, &mut limited).await?;
        to.write_all(&buf[..n]).await.map_err(RelayError::Write)?;
        if let Some(activity) = activity {
            activity.waiting();
        }
        remaining -= n as u64;
    }
    Ok(())
}

/// Copies the rest of a chunked body from `from` to `to`, `body` tracking where it is.
/// Returns whether the sender stopped exactly at the end (nothing read past it).
pub(super) async fn copy_chunked(
    from: &mut TcpStream,
    to: &mut TcpStream,
    buf: &mut BytesMut,
    mut body: ChunkedBody,
    activity: &Activity,
) -> Result<bool, RelayError> {
    loop {
        buf.clear();
        buf.reserve(CHUNK);
        let n = read_into(from, buf).await?;
        let (used, done) = body.advance(&buf[..n]);
        to.write_all(&buf[..used])
            .await
            .map_err(RelayError::Write)?;
        activity.waiting();
        match done {
            Some(true) => return Ok(used == n),
            Some(false) => return Err(RelayError::BadChunk),
            None => {}
        }
    }
}

/// Copies from `from` to `to` until `from` closes.
pub(super) async fn copy_until_close(
    from: &mut TcpStream,
    to: &mut TcpStream,
    buf: &mut BytesMut,
    activity: &Activity,
) -> Result<(), RelayError> {
    loop {
        buf.clear();
        buf.reserve(CHUNK);
        match from.read_buf(buf).await {
            Ok(0) => return Ok(()),
            Ok(n) => to.write_all(&buf[..n]).await.map_err(RelayError::Write)?,
            Err(_) => return Err(RelayError::Read),
        }
        activity.waiting();
    }
}

/// One read; end of stream is an error here (a body was still expected).
async fn read_into(from: &mut TcpStream, buf: &mut impl BufMut) -> Result<usize, RelayError> {
    match from.read_buf(buf).await {
        Ok(0) => Err(RelayError::Read),
        Ok(n) => Ok(n),
        Err(_) => Err(RelayError::Read),
    }
}

/// Takes up to `len` body bytes off the front of `buf` into `out`; returns how many.
pub(super) fn take_buffered(buf: &mut BytesMut, len: u64, out: &mut Vec<u8>) -> u64 {
    let take = usize::try_from(len).unwrap_or(usize::MAX).min(buf.len());
    out.extend_from_slice(&buf[..take]);
    buf.advance(take);
    take as u64
}
