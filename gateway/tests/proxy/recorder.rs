//! A function that records every request exactly as it arrives on the wire, parsed by
//! its own framing: a request the gateway framed wrongly shows up as a wrong body or
//! as an extra request, never papered over by a forgiving HTTP library.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::wire::{Message, Parse, parse};

/// Builds the function's answer to each request it saw.
pub(crate) type Reply = Arc<dyn Fn(&Message) -> Vec<u8> + Send + Sync>;

/// A running recording function.
pub(crate) struct Recorder {
    pub(crate) addr: SocketAddr,
    seen: Arc<Mutex<Vec<Message>>>,
    /// Connections still open.
    open: watch::Receiver<usize>,
}

/// What the function answers when told nothing else: `200 ok` (without the body to a
/// `HEAD`).
pub(crate) fn ok_reply() -> Reply {
    Arc::new(|request| {
        let mut reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n".to_vec();
        if !request.start_line.starts_with("HEAD ") {
            reply.extend_from_slice(b"ok");
        }
        reply
    })
}

impl Recorder {
    pub(crate) async fn start() -> Self {
        Self::start_with(ok_reply()).await
    }

    pub(crate) async fn start_with(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (count, open) = watch::channel(0usize);
        let count = Arc::new(count);
        let recorded = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.send_modify(|n| *n += 1);
                let (seen, count, reply) = (
                    Arc::clone(&recorded),
                    Arc::clone(&count),
                    Arc::clone(&reply),
                );
                tokio::spawn(async move {
                    record(stream, &seen, &reply).await;
                    count.send_modify(|n| *n -= 1);
                });
            }
        });
        Self { addr, seen, open }
    }

    /// Every request recorded so far, in arrival order.
    pub(crate) fn seen(&self) -> Vec<Message> {
        self.seen.lock().clone()
    }

    /// Waits (up to 10 s) until every connection to the function has closed, so that
    /// everything ever sent to it has been parsed.
    pub(crate) async fn settle(&mut self) -> Vec<Message> {
        let settled = self.open.wait_for(|open| *open == 0);
        tokio::time::timeout(Duration::from_secs(10), settled)
            .await
            .expect("the gateway closed its connections to the function")
            .unwrap();
        self.seen()
    }
}

async fn record(mut stream: TcpStream, seen: &Mutex<Vec<Message>>, reply: &Reply) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        while !buf.is_empty() {
            match parse(&buf, true, false, false) {
                Parse::Complete(message, used) => {
                    buf.drain(..used);
                    let answer = reply(&message);
                    seen.lock().push(message);
                    if stream.write_all(&answer).await.is_err() {
                        return;
                    }
                }
                Parse::Partial => break,
                Parse::Invalid(error) => {
                    seen.lock().push(Message {
                        start_line: format!("<unparsable: {error}>"),
                        headers: Vec::new(),
                        body: std::mem::take(&mut buf),
                        framing: crate::wire::Framing::None,
                    });
                    return;
                }
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                if !buf.is_empty() {
                    seen.lock().push(Message {
                        start_line: "<incomplete>".into(),
                        headers: Vec::new(),
                        body: buf,
                        framing: crate::wire::Framing::None,
                    });
                }
                return;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
