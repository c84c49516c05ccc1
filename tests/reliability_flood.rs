//! A flood at a revision that never becomes ready (issue 10, item 5): the activator
//! holds at most its queue depth of requests for it, answers the overflow `503` with
//! `Retry-After` at once, lets go of a held request when its client leaves, and other
//! revisions keep serving through it all.
//!
//! This runs at a small depth (`--activator-queue-depth`) so it fits the test budget;
//! the figures at Knative's depth of 10,000 and for 100,000 requests come from
//! `flood-bench` (bench/, BENCHMARKS.md "Reliability"). Latencies and memory are printed
//! as FIGURE lines, not asserted.
// Real processes and real time, measured from outside: no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::time::{Duration, Instant};

use common::{Fnmesh, eventually, http_get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const WITHIN: Duration = Duration::from_secs(60);
const DEPTH: usize = 50;
const FLOOD: usize = 200;

/// `stuck` starts at zero replicas (so its Revision is Ready and routed, as one scaled
/// to zero is) and its process never listens, so no replica ever becomes ready and
/// every request for it waits in the activator; `healthy` keeps one replica up.
const MANIFESTS: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  allow-zero-initial-scale: \"true\"
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: stuck
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: \"0\"
    spec:
      containers:
        - image: example.com/fn:latest
          command: [\"python3\", \"-c\", \"import time; time.sleep(3600)\"]
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: healthy
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: \"1\"
    spec:
      containers:
        - image: example.com/fn:latest
          command: [\"python3\", \"tests/functions/slow_hello.py\", \"--flood-healthy\"]
";

/// What came back for one flood request: the status and whether it had Retry-After.
#[derive(Debug)]
struct Answered {
    status: u16,
    retry_after: bool,
    /// The activator's own answer (the gateway's 503 names no queue).
    names_the_queue: bool,
}

/// `n` requests for `stuck` at once, each on its own connection. Answers arrive on the
/// channel; the returned tasks still hold the connections that got none.
fn flood(
    runtime: &tokio::runtime::Runtime,
    ingress: &str,
    n: usize,
) -> (
    mpsc::UnboundedReceiver<Answered>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let tasks = (0..n)
        .map(|_| {
            let (tx, ingress) = (tx.clone(), ingress.to_owned());
            runtime.spawn(async move {
                let mut stream = TcpStream::connect(&ingress).await.expect("connect");
                let head = "GET / HTTP/1.1\r\nHost: stuck.default.example.com\r\n\
                            Connection: close\r\n\r\n";
                stream.write_all(head.as_bytes()).await.expect("send");
                let mut response = Vec::new();
                let _ = stream.read_to_end(&mut response).await;
                let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
                let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
                let _ = tx.send(Answered {
                    status,
                    retry_after: text.contains("\r\nretry-after: "),
                    names_the_queue: text.contains("queue for revision default/stuck"),
                });
            })
        })
        .collect();
    (rx, tasks)
}

/// The next `n` answers, or a panic naming what was awaited.
fn answers(
    runtime: &tokio::runtime::Runtime,
    rx: &mut mpsc::UnboundedReceiver<Answered>,
    n: usize,
) -> Vec<Answered> {
    runtime.block_on(async {
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            match tokio::time::timeout(WITHIN, rx.recv()).await {
                Ok(Some(answer)) => got.push(answer),
                _ => panic!("{} of {n} overflow answers came", got.len()),
            }
        }
        got
    })
}

/// Sequential GETs to `healthy`: each one's latency, asserting every one is a 200.
fn healthy_latencies(f: &Fnmesh, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            let (status, body) = http_get(&f.ingress, "healthy.default.example.com");
            assert_eq!(status, 200, "healthy during the flood: {body}");
            start.elapsed()
        })
        .collect()
}

fn percentile(latencies: &mut [Duration], p: usize) -> Duration {
    latencies.sort();
    latencies[(latencies.len() * p / 100).min(latencies.len() - 1)]
}

fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[test]
fn a_flood_at_a_never_ready_revision_is_held_to_the_queue_depth_and_spares_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let depth = DEPTH.to_string();
    let f = Fnmesh::start_with(dir.path(), &["--activator-queue-depth", &depth]);
    f.apply(MANIFESTS);
    eventually(WITHIN, "healthy answering and stuck routed", || {
        let healthy = http_get(&f.ingress, "healthy.default.example.com").0 == 200;
        let ready = f.kubectl(&[
            "wait",
            "--for=condition=Ready",
            "ksvc/stuck",
            "--timeout=1s",
        ]);
        (healthy && ready.status.success()).then_some(())
    });
    let mut before = healthy_latencies(&f, 100);
    let rss_before = resident_mib(f.child.id());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (mut rx, held) = flood(&runtime, &f.ingress, FLOOD);
    let overflow = answers(&runtime, &mut rx, FLOOD - DEPTH);
    for answer in &overflow {
        assert_eq!(answer.status, 503, "the overflow is refused: {answer:?}");
        assert!(answer.retry_after, "a 503 says when to retry: {answer:?}");
        assert!(
            answer.names_the_queue,
            "the activator refused it: {answer:?}"
        );
    }
    // With the queue full, the rest are held: none of them is answered meanwhile (the
    // healthy requests below give a late refusal time to arrive).
    let mut during = healthy_latencies(&f, 100);
    assert!(
        rx.try_recv().is_err(),
        "the activator holds exactly its queue depth ({DEPTH})"
    );
    let rss_flood = resident_mib(f.child.id());

    // Clients that leave free their places: a new flood finds the queue empty again.
    for task in held {
        task.abort();
    }
    drop(rx);
    eventually(WITHIN, "the held requests' places freed", || {
        let (mut rx, held) = flood(&runtime, &f.ingress, DEPTH + 10);
        let refused = answers(&runtime, &mut rx, 10);
        // Time for any further refusal to arrive.
        healthy_latencies(&f, 20);
        let freed = refused.iter().all(|a| a.status == 503) && rx.try_recv().is_err();
        held.iter().for_each(tokio::task::JoinHandle::abort);
        freed.then_some(())
    });

    eprintln!(
        "FIGURE flood at a never-ready revision (depth {DEPTH}, {FLOOD} at once): \
         {} answered 503 + Retry-After, {DEPTH} held; healthy p50 {:?} -> {:?}, \
         p99 {:?} -> {:?} (before -> during); fnmesh up RSS {rss_before:.1} -> \
         {rss_flood:.1} MiB",
        overflow.len(),
        percentile(&mut before, 50),
        percentile(&mut during, 50),
        percentile(&mut before, 99),
        percentile(&mut during, 99),
    );
}
