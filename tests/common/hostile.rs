//! Hostile HTTP/1.1 clients and what a server must do with each, shared by every
//! server fnmesh runs: the gateway on both request paths (gateway/tests/proxy/hostile.rs),
//! and the activator and the API as `fnmesh up` runs them (tests/hostile.rs).
//!
//! Each case opens a fresh connection and sends what an attacker would: requests whose
//! framing two parsers could read differently (both lengths, conflicting lengths,
//! obs-fold, bare LF, NUL), too many fields, too large a head or body, a head trickled
//! byte by byte (slowloris), and pipelined requests from a client that never reads.
//! Each must get the right 4xx or a closed connection — never a second response made
//! of body bytes — and afterwards the server still answers a normal request. The
//! never-reading client must not make the server buffer without bound: its writes
//! stall (the server stops reading), and the server's resident memory stays bounded.
//!
//! Blocking std sockets only, so any test harness can use it (async tests run it on
//! a blocking thread). Included by `#[path]`; not every user needs every item.
#![allow(dead_code, unreachable_pub)]
// Tests of real servers over real sockets: no tokio clock exists here to pause.
#![allow(clippy::disallowed_types)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a case waits for the server's answer (or its closing the connection).
const ANSWER_DEADLINE: Duration = Duration::from_secs(10);
/// What a server may read (and hold) from a client that never reads its responses,
/// beyond what the kernel's socket buffers hold: past this it is buffering without bound.
const SERVER_BUFFER_BOUND: usize = 16 * 1024 * 1024;
/// A write that makes no progress for this long has stalled: the server stopped reading.
const WRITE_STALL: Duration = Duration::from_secs(2);
/// How much more resident memory the server may hold while a never-reading client
/// is connected than before it came.
const RSS_GROWTH_BOUND: u64 = 32 * 1024 * 1024;
/// Bytes of a head that is too large for every server here (the gateway takes
/// 64 KiB, hyper's servers about 400 KiB).
const OVERSIZED_HEAD: usize = 512 * 1024;
/// Fields of a header flood: more than any server here takes (gateway 128, hyper 100).
const FLOOD_FIELDS: usize = 300;

/// A server under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Names the server in failures.
    pub name: String,
    pub addr: SocketAddr,
    /// The `Host` of requests.
    pub host: String,
    /// The path of the normal request, answered with `normal_status`.
    pub path: String,
    /// Header lines (each ending in CRLF) every request carries, e.g. what makes the
    /// activator answer without a revision.
    pub extra: String,
    pub normal_status: u16,
    /// The request body limit, if the server has one (413 beyond it), and a path
    /// whose requests' bodies are read.
    pub body_limit: Option<(&'static str, usize)>,
    /// The server's header read timeout (as configured for the test: short).
    pub header_read_timeout: Duration,
    /// The server's process, to read its resident memory; `None` for a server inside
    /// the test process, whose other tests' memory would blur the figure.
    pub pid: Option<u32>,
    /// Refuses both lengths at once with 400 (the gateway, which forwards bodies), rather
    /// than reading the body by its chunked encoding and closing afterwards, which
    /// RFC 9112 §6.3 also allows an origin server (hyper's choice).
    pub refuses_length_with_chunked: bool,
}

/// What the server must do with one case.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// One response with one of these statuses, then the connection closes.
    Refused(&'static [u16]),
    /// At most one response, whatever its status, then the connection closes: a body
    /// framed by one reading is never answered as a request of its own.
    AtMostOneThenClosed,
    /// One response: the normal answer (the server read the head its way) or 400.
    ServedOrRefused,
    /// One response with one of these statuses, or a connection reset before any (a
    /// server that stops reading a flood mid-way may reset it, losing its answer).
    RefusedOrReset(&'static [u16]),
}

/// A request smuggled in a body: answered only if a server misreads the framing.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: smuggled.example.com\r\n\r\n";

struct Case {
    name: &'static str,
    raw: Vec<u8>,
    expect: Expect,
}

impl Target {
    /// The normal request, with `more` header lines, on a connection that stays open.
    fn request(&self, method: &str, more: &str) -> String {
        format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\n{}{more}\r\n",
            self.path, self.host, self.extra
        )
    }

    fn post(&self, more: &str, body: &str) -> Vec<u8> {
        format!("{}{body}", self.request("POST", more)).into_bytes()
    }

    fn corpus(&self) -> Vec<Case> {
        use Expect::*;
        let both_lengths = if self.refuses_length_with_chunked {
            Refused(&[400])
        } else {
            AtMostOneThenClosed
        };
        let chunked_smuggle = format!("0\r\n\r\n{SMUGGLED}");
        let flood: String = (0..FLOOD_FIELDS)
            .map(|i| format!("X-F{i}: v\r\n"))
            .collect();
        let oversized = format!("X-Big: {}\r\n", "a".repeat(OVERSIZED_HEAD));
        let bare_lf = format!(
            "GET {} HTTP/1.1\nHost: {}\n{}Connection: close\n\n",
            self.path,
            self.host,
            self.extra.replace("\r\n", "\n")
        );
        vec![
            Case {
                name: "CL.TE",
                raw: self.post(
                    &format!(
                        "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
                        chunked_smuggle.len()
                    ),
                    &chunked_smuggle,
                ),
                expect: both_lengths,
            },
            Case {
                name: "TE.CL",
                raw: self.post(
                    "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                    &chunked_smuggle,
                ),
                expect: both_lengths,
            },
            Case {
                name: "conflicting Content-Length lines",
                raw: self.post(
                    &format!(
                        "Content-Length: 5\r\nContent-Length: {}\r\n",
                        5 + SMUGGLED.len()
                    ),
                    &format!("hello{SMUGGLED}"),
                ),
                expect: Refused(&[400]),
            },
            Case {
                name: "conflicting Content-Length list",
                raw: self.post(
                    &format!("Content-Length: 5, {}\r\n", 5 + SMUGGLED.len()),
                    &format!("hello{SMUGGLED}"),
                ),
                expect: Refused(&[400]),
            },
            Case {
                name: "signed Content-Length",
                raw: self.post("Content-Length: +5\r\n", &format!("hello{SMUGGLED}")),
                expect: Refused(&[400]),
            },
            Case {
                name: "obs-fold",
                raw: self.post(
                    "X-A: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                    &format!("hello{SMUGGLED}"),
                ),
                expect: Refused(&[400]),
            },
            Case {
                name: "NUL in a value",
                raw: self.post(
                    "X-A: a\0b\r\nContent-Length: 5\r\n",
                    &format!("hello{SMUGGLED}"),
                ),
                expect: Refused(&[400]),
            },
            Case {
                name: "bare LF",
                raw: bare_lf.into_bytes(),
                expect: ServedOrRefused,
            },
            Case {
                name: "header flood",
                raw: self.request("GET", &flood).into_bytes(),
                expect: Refused(&[431]),
            },
            Case {
                name: "oversized head",
                raw: self.request("GET", &oversized).into_bytes(),
                expect: RefusedOrReset(&[431]),
            },
        ]
    }

    /// Runs every case, then the slowloris and never-reading clients, checking after
    /// each that the server still answers a normal request.
    pub fn check_all(&self) {
        self.assert_serves("before anything");
        for case in self.corpus() {
            self.check(&case);
            self.assert_serves(&format!("after {}", case.name));
        }
        if let Some((path, limit)) = self.body_limit {
            self.check_oversized_body(path, limit);
            self.assert_serves("after an oversized body");
        }
        self.check_silent_client();
        self.assert_serves("after a silent client");
        self.check_slowloris();
        self.assert_serves("after slowloris");
        self.check_never_reading_client();
        self.assert_serves("after the never-reading client");
    }

    fn check(&self, case: &Case) {
        let what = format!("{}: {}", self.name, case.name);
        let exchange = exchange(self.addr, &case.raw);
        let statuses = exchange.statuses.as_slice();
        match case.expect {
            Expect::Refused(allowed) => {
                assert!(
                    matches!(statuses, [s] if allowed.contains(s)),
                    "{what}: want one of {allowed:?}, got {statuses:?}"
                );
                assert!(exchange.closed, "{what}: the connection stays open");
            }
            Expect::AtMostOneThenClosed => {
                assert!(statuses.len() <= 1, "{what}: answered {statuses:?}");
                assert!(exchange.closed, "{what}: the connection stays open");
            }
            Expect::ServedOrRefused => {
                assert!(
                    matches!(statuses, [s] if *s == self.normal_status || *s == 400),
                    "{what}: got {statuses:?}"
                );
            }
            Expect::RefusedOrReset(allowed) => {
                let reset = statuses.is_empty() && exchange.closed;
                assert!(
                    reset || matches!(statuses, [s] if allowed.contains(s)),
                    "{what}: want one of {allowed:?} or a reset, got {statuses:?}"
                );
                assert!(exchange.closed, "{what}: the connection stays open");
            }
        }
    }

    fn check_oversized_body(&self, path: &str, limit: usize) {
        let what = format!("{}: oversized body", self.name);
        let len = limit + 1;
        let mut raw = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{}Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
            self.host, self.extra
        )
        .into_bytes();
        raw.resize(raw.len() + len, b'a');
        let exchange = exchange(self.addr, &raw);
        assert_eq!(exchange.statuses, [413], "{what}");
    }

    /// A client that connects and sends nothing: closed once the header read timeout
    /// has passed (hyper's servers read a connection's first bytes with no limit of
    /// their own).
    fn check_silent_client(&self) {
        let what = format!("{}: silent client", self.name);
        let stream = TcpStream::connect(self.addr).expect("connect");
        let started = Instant::now();
        let deadline = started + self.header_read_timeout + ANSWER_DEADLINE;
        let (received, closed) = read_until_closed(&stream, deadline);
        assert!(
            closed,
            "{what}: still open after {:?} (header read timeout {:?})",
            started.elapsed(),
            self.header_read_timeout
        );
        let statuses = statuses(&received);
        assert!(
            statuses.iter().all(|s| *s == 408),
            "{what}: answered {statuses:?}"
        );
    }

    /// A head sent one byte every 50 ms, forever: the server must close the connection
    /// once its header read timeout has passed.
    fn check_slowloris(&self) {
        let what = format!("{}: slowloris", self.name);
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_nodelay(true).ok();
        let head = self.request("GET", "");
        // Never finish the head: after the request line and Host, pad fields forever.
        let start = head.trim_end_matches("\r\n");
        let mut bytes = start
            .bytes()
            .chain(b"\r\n".iter().copied())
            .collect::<Vec<_>>();
        let started = Instant::now();
        let deadline = started + self.header_read_timeout + ANSWER_DEADLINE;
        let mut sent = 0usize;
        let mut answered = Vec::new();
        let closed = loop {
            if sent == bytes.len() {
                bytes.extend_from_slice(format!("X-Pad-{sent}: x\r\n").as_bytes());
            }
            if stream.write_all(&bytes[sent..=sent]).is_err() {
                break true;
            }
            sent += 1;
            if peer_closed(&stream, &mut answered) {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            closed,
            "{what}: still open {:?} after {sent} bytes (header read timeout {:?})",
            started.elapsed(),
            self.header_read_timeout
        );
        // Closing may come with a 408, never with an answer to a head never finished.
        let statuses = statuses(&answered);
        assert!(
            statuses.iter().all(|s| *s == 408),
            "{what}: answered {statuses:?}"
        );
    }

    /// Pipelined normal requests, never reading a response: the server must stop
    /// reading (the client's writes stall) or close the connection, keep its memory
    /// bounded, and serve other clients meanwhile.
    fn check_never_reading_client(&self) {
        let what = format!("{}: never-reading client", self.name);
        let before = self.pid.and_then(resident_bytes);
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_write_timeout(Some(WRITE_STALL)).ok();
        let request = self.request("GET", "").into_bytes();
        let batch: Vec<u8> = request
            .iter()
            .copied()
            .cycle()
            .take(request.len() * 256)
            .collect();
        let cap = kernel_socket_buffers() + SERVER_BUFFER_BOUND;
        let mut written = 0usize;
        let stalled_or_closed = loop {
            if written >= cap {
                break false;
            }
            match stream.write(&batch) {
                Ok(0) => break true,
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // Timed out (stalled), or the server closed or reset the connection.
                Err(_) => break true,
            }
        };
        assert!(
            stalled_or_closed,
            "{what}: the server read {written} bytes of requests it cannot answer (bound {cap})"
        );
        // While that connection is still open, others are served.
        self.assert_serves(&format!("{what}, while it is connected"));
        let after = self.pid.and_then(resident_bytes);
        if let (Some(before), Some(after)) = (before, after) {
            assert!(
                after.saturating_sub(before) < RSS_GROWTH_BOUND,
                "{what}: resident memory grew from {before} to {after} bytes after {written} bytes of requests"
            );
        }
        let _ = stream.shutdown(Shutdown::Both);
    }

    /// A normal request on a fresh connection gets the normal answer.
    pub fn assert_serves(&self, when: &str) {
        let raw = self.request("GET", "Connection: close\r\n");
        let exchange = exchange(self.addr, raw.as_bytes());
        assert_eq!(
            exchange.statuses,
            [self.normal_status],
            "{}: a normal request {when}",
            self.name
        );
    }
}

/// What came back for one hostile write.
#[derive(Debug)]
struct Exchange {
    /// The final (non-1xx) responses' statuses, in order.
    statuses: Vec<u16>,
    /// The server closed (or reset) the connection before the deadline.
    closed: bool,
}

/// Writes `raw` on a fresh connection (from a thread of its own, so a server that
/// answers before reading everything is heard) and reads until the server closes the
/// connection or [`ANSWER_DEADLINE`] passes.
fn exchange(addr: SocketAddr, raw: &[u8]) -> Exchange {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).ok();
    let mut writer = stream.try_clone().expect("clone the socket");
    let raw = raw.to_vec();
    let writing = std::thread::spawn(move || {
        let _ = writer.write_all(&raw);
    });
    let (received, closed) = read_until_closed(&stream, Instant::now() + ANSWER_DEADLINE);
    let _ = stream.shutdown(Shutdown::Both);
    let _ = writing.join();
    Exchange {
        statuses: statuses(&received),
        closed,
    }
}

fn read_until_closed(mut stream: &TcpStream, deadline: Instant) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (received, false);
        }
        stream.set_read_timeout(Some(left)).ok();
        match stream.read(&mut chunk) {
            Ok(0) => return (received, true),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (received, false);
            }
            // Reset: closed.
            Err(_) => return (received, true),
        }
    }
}

/// Whether the peer has closed (or reset) `stream`, without blocking; whatever it sent
/// meanwhile is appended to `received`.
fn peer_closed(mut stream: &TcpStream, received: &mut Vec<u8>) -> bool {
    stream.set_nonblocking(true).ok();
    let mut chunk = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break true,
        }
    };
    stream.set_nonblocking(false).ok();
    closed
}

/// The most the kernel buffers on one loopback connection between a writer and a
/// reader that never reads: the writer's send buffer and the reader's receive buffer
/// at their maximum sizes (`tcp_wmem`, `tcp_rmem`), both ways (the server's answers
/// pile up too, but that holds back the requests, not more of them).
fn kernel_socket_buffers() -> usize {
    let max = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
            .ok()
            .and_then(|v| v.split_whitespace().nth(2)?.parse::<usize>().ok())
            .unwrap_or(8 * 1024 * 1024)
    };
    2 * (max("tcp_wmem") + max("tcp_rmem"))
}

/// The statuses of the final responses in `raw`, each response skipped by its framing.
fn statuses(mut raw: &[u8]) -> Vec<u16> {
    let mut statuses = Vec::new();
    while let Some(end) = find(raw, b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        raw = &raw[end + 4..];
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let field = |name: &str| {
            head.lines().skip(1).find_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        if field("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
            raw = skip_chunked(raw);
        } else if let Some(len) = field("content-length").and_then(|l| l.parse::<usize>().ok()) {
            raw = &raw[len.min(raw.len())..];
        }
        if !(100..200).contains(&status) {
            statuses.push(status);
        }
    }
    statuses
}

fn skip_chunked(mut raw: &[u8]) -> &[u8] {
    while let Some(end) = find(raw, b"\r\n") {
        let size = std::str::from_utf8(&raw[..end])
            .ok()
            .and_then(|line| usize::from_str_radix(line.split(';').next()?.trim(), 16).ok())
            .unwrap_or(0);
        raw = &raw[end + 2..];
        if size == 0 {
            return find(raw, b"\r\n").map_or(&[], |end| &raw[end + 2..]);
        }
        raw = &raw[(size + 2).min(raw.len())..];
    }
    raw
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `VmRSS` of process `pid`, in bytes.
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
