//! Load for the reliability tests: client threads sending GETs back to back through the
//! ingress on keep-alive connections until told to stop, recording every request —
//! when it was sent and answered, its status, the body (the test functions print the
//! revision and the pid that served it) or how it failed.
//!
//! A client behaves as an ordinary HTTP client does for an idempotent GET: a keep-alive
//! connection the server closed between two requests is not a failure, the request
//! goes on a fresh connection (counted in `clean_closes`). Everything else — a refused
//! connection, a reset or an EOF after the request was sent, a timeout, a status other
//! than 200 — is a failed request.
// parking_lot is not a dependency of this crate: std's Mutex guards the records.
#![allow(clippy::disallowed_types)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a client waits for a response before it counts a timeout.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a failed request, so a dead ingress is tried ~50 times a second per
/// client rather than in a busy loop (pacing, not waiting for anything).
const PACE_AFTER_FAILURE: Duration = Duration::from_millis(20);

/// One request and what became of it.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub client: usize,
    /// When its bytes were about to be written.
    pub sent: Instant,
    /// When the response (or the failure) was complete.
    pub done: Instant,
    pub result: Result<Answer, Failure>,
}

#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// How a request failed before any complete response.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// The connection could not be made.
    Connect(ErrorKind),
    /// The connection broke after the request was sent (reset, EOF, timeout, garbage).
    Exchange(ErrorKind),
}

impl Outcome {
    pub fn ok(&self) -> bool {
        matches!(&self.result, Ok(a) if a.status == 200)
    }

    /// Why it failed (`"502"`, `"connect ConnectionRefused"`, …); None for a 200.
    pub fn failure(&self) -> Option<String> {
        match &self.result {
            Ok(a) if a.status == 200 => None,
            Ok(a) => Some(a.status.to_string()),
            Err(Failure::Connect(kind)) => Some(format!("connect {kind:?}")),
            Err(Failure::Exchange(kind)) => Some(format!("exchange {kind:?}")),
        }
    }

    /// The revision that answered (`K_REVISION=…` in a 200's body).
    pub fn revision(&self) -> Option<String> {
        self.field("K_REVISION=")
    }

    /// The process that answered (`pid=…` in a 200's body).
    pub fn pid(&self) -> Option<u32> {
        self.field("pid=")?.parse().ok()
    }

    fn field(&self, key: &str) -> Option<String> {
        let Ok(answer) = &self.result else {
            return None;
        };
        if answer.status != 200 {
            return None;
        }
        answer
            .body
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .map(str::to_owned)
    }

    /// Whether it had been sent and not yet answered at `t`.
    pub fn in_flight_at(&self, t: Instant) -> bool {
        self.sent <= t && t <= self.done
    }
}

/// Counts over a set of outcomes: the figures a reliability test reports.
#[derive(Debug, Default)]
pub struct Summary {
    pub sent: usize,
    pub ok: usize,
    /// Failed requests by [`Outcome::failure`].
    pub failed: BTreeMap<String, usize>,
    /// 200s by the revision that answered.
    pub by_revision: BTreeMap<String, usize>,
}

impl Summary {
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut summary = Summary::default();
        for outcome in outcomes {
            summary.sent += 1;
            match outcome.failure() {
                None => {
                    summary.ok += 1;
                    let revision = outcome.revision().unwrap_or_default();
                    *summary.by_revision.entry(revision).or_default() += 1;
                }
                Some(kind) => *summary.failed.entry(kind).or_default() += 1,
            }
        }
        summary
    }

    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent {}, ok {}, failed {} {:?}, by revision {:?}",
            self.sent,
            self.ok,
            self.failed_total(),
            self.failed,
            self.by_revision
        )
    }
}

/// Clients sending `GET path` with `Host: host` to `addr` back to back.
pub struct Load {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Outcome>>>,
    clean_closes: Arc<AtomicUsize>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(addr: &str, host: &str, path: &str, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let clean_closes = Arc::new(AtomicUsize::new(0));
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let clients = (0..clients)
            .map(|client| {
                let mut worker = Client {
                    id: client,
                    addr: addr.to_owned(),
                    request: request.clone(),
                    connection: None,
                    clean_closes: clean_closes.clone(),
                };
                let stop = stop.clone();
                let log = log.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let outcome = worker.one_request();
                        let failed = !outcome.ok();
                        log.lock().unwrap().push(outcome);
                        if failed {
                            std::thread::sleep(PACE_AFTER_FAILURE);
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            log,
            clean_closes,
            clients,
        }
    }

    /// Every outcome so far, in the order they completed.
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.log.lock().unwrap().clone()
    }

    /// Polls the outcomes until `f` returns Some, or panics after `timeout`.
    pub fn wait_for<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut(&[Outcome]) -> Option<T>,
    ) -> T {
        super::eventually(timeout, what, || f(&self.log.lock().unwrap()))
    }

    /// Until `n` more requests than now have been answered with 200.
    pub fn wait_for_more_ok(&self, n: usize, timeout: Duration) {
        let before = self.outcomes().iter().filter(|o| o.ok()).count();
        self.wait_for(timeout, &format!("{n} more answers"), |all| {
            (all.iter().filter(|o| o.ok()).count() >= before + n).then_some(())
        });
    }

    /// Keep-alive connections the server closed between requests (not failures).
    pub fn clean_closes(&self) -> usize {
        self.clean_closes.load(Ordering::Relaxed)
    }

    /// Stops every client after its request in flight; returns every outcome.
    pub fn stop(mut self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients.drain(..) {
            client.join().expect("load client");
        }
        self.outcomes()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct Client {
    id: usize,
    addr: String,
    request: String,
    connection: Option<BufReader<TcpStream>>,
    clean_closes: Arc<AtomicUsize>,
}

impl Client {
    fn one_request(&mut self) -> Outcome {
        let sent = Instant::now();
        let result = self.exchange();
        if !matches!(&result, Ok(answer) if answer.keep_alive) {
            self.connection = None;
        }
        Outcome {
            client: self.id,
            sent,
            done: Instant::now(),
            result: result.map(|r| r.answer),
        }
    }

    fn exchange(&mut self) -> Result<Exchanged, Failure> {
        if let Some(connection) = &self.connection
            && closed_by_peer(connection.get_ref())
        {
            // A clean close between requests: any client retries on a fresh connection.
            self.clean_closes.fetch_add(1, Ordering::Relaxed);
            self.connection = None;
        }
        if self.connection.is_none() {
            let stream = TcpStream::connect(&self.addr).map_err(|e| Failure::Connect(e.kind()))?;
            stream.set_read_timeout(Some(RESPONSE_TIMEOUT)).ok();
            stream.set_nodelay(true).ok();
            self.connection = Some(BufReader::new(stream));
        }
        let connection = self.connection.as_mut().expect("connected above");
        let broken = |e: std::io::Error| Failure::Exchange(e.kind());
        connection
            .get_mut()
            .write_all(self.request.as_bytes())
            .map_err(broken)?;
        read_response(connection).map_err(broken)
    }
}

/// Whether the server has closed `stream` (EOF pending, nothing else unread).
fn closed_by_peer(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let closed = match stream.peek(&mut [0u8; 1]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    };
    let _ = stream.set_nonblocking(false);
    closed
}

struct Exchanged {
    answer: Answer,
    keep_alive: bool,
}

/// One HTTP/1.1 response: status line, headers, then a Content-Length or chunked body.
fn read_response(stream: &mut BufReader<TcpStream>) -> std::io::Result<Exchanged> {
    let eof = || std::io::Error::from(ErrorKind::UnexpectedEof);
    let mut status_line = String::new();
    if stream.read_line(&mut status_line)? == 0 {
        return Err(eof());
    }
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::from(ErrorKind::InvalidData))?;
    let mut length = 0usize;
    let mut chunked = false;
    let mut keep_alive = true;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Err(eof());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value
                .parse()
                .map_err(|_| std::io::Error::from(ErrorKind::InvalidData))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep_alive = !value.eq_ignore_ascii_case("close");
        }
    }
    let body = if chunked {
        read_chunked(stream)?
    } else {
        let mut body = vec![0; length];
        stream.read_exact(&mut body)?;
        body
    };
    Ok(Exchanged {
        answer: Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        },
        keep_alive,
    })
}

fn read_chunked(stream: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        stream.read_line(&mut size_line)?;
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| std::io::Error::from(ErrorKind::InvalidData))?;
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                let mut line = String::new();
                if stream.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        let mut chunk = vec![0; size + 2];
        stream.read_exact(&mut chunk)?;
        chunk.truncate(size);
        body.extend(chunk);
    }
}
