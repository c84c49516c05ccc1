//! A flood at a revision that never becomes ready (issue 10 item 5): `requests` GETs,
//! at most `in_flight` of them unanswered at once, at `stuck` (started at zero, its
//! process never listens), while one client measures `healthy` (one replica up)
//! before and during. The activator holds `depth` of them and answers the rest `503`
//! with `Retry-After`; what matters is fnmesh's peak memory and the healthy latency.
//!
//! `rate` paces the flood's starts (requests per second, open loop); 0 starts each as
//! soon as an in-flight place frees (closed loop: as fast as the machine answers).
//! The healthy client runs on its own thread and runtime, so the flood's thousands of
//! client tasks do not queue ahead of it in the benchmark's own scheduler.
//!
//! Each held request costs three sockets in `fnmesh up` (client → gateway, gateway →
//! activator, the activator's side): run it under `prlimit --nofile=…` when
//! `depth` × 3 nears the open-file limit.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::harness::*;
use super::summary;

const STUCK: &str = "apiVersion: serving.knative.dev/v1
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
        - image: example.com/never-ready
          command: [\"sleep\", \"3600\"]
";

/// What the flood's answers were.
#[derive(Default)]
struct Tally {
    refused_with_retry_after: AtomicUsize,
    other: AtomicUsize,
    failed: AtomicUsize,
}

pub(crate) async fn flood(
    bin: &Path,
    hello: &Path,
    requests: usize,
    depth: usize,
    in_flight: usize,
    rate: usize,
) -> anyhow::Result<()> {
    if in_flight <= depth {
        bail!("in flight ({in_flight}) must exceed the queue depth ({depth})");
    }
    let depth_flag = depth.to_string();
    let fnmesh =
        Fnmesh::start_with_flags(bin, hello, &[], &["--activator-queue-depth", &depth_flag])?;
    fnmesh.deploy("healthy", &[("autoscaling.knative.dev/min-scale", "1")])?;
    fnmesh.kubectl(&["apply", "-f", "-"], Some(STUCK))?;
    fnmesh.kubectl(
        &[
            "wait",
            "--for=condition=Ready",
            "ksvc/stuck",
            "--timeout=60s",
        ],
        None,
    )?;
    let ingress = Arc::new(fnmesh.ingress.clone());
    let mut before = healthy_on_own_thread(&ingress, |done| done < 2000).await??;
    let (_, rss_before) = memory_kib(fnmesh.pid())?;

    let tally = Arc::new(Tally::default());
    let slots = Arc::new(Semaphore::new(in_flight));
    let started = Instant::now();
    let flooding = {
        let (tally, ingress) = (tally.clone(), ingress.clone());
        tokio::spawn(async move {
            let mut pace = (rate > 0).then(|| {
                let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
                pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                pace
            });
            for _ in 0..requests {
                if let Some(pace) = pace.as_mut() {
                    pace.tick().await;
                }
                let slot = slots.clone().acquire_owned().await.expect("open");
                let (tally, ingress) = (tally.clone(), ingress.clone());
                tokio::spawn(async move {
                    match one_stuck_request(&ingress).await {
                        Ok((503, true)) => &tally.refused_with_retry_after,
                        Ok(_) => &tally.other,
                        Err(_) => &tally.failed,
                    }
                    .fetch_add(1, Ordering::SeqCst);
                    drop(slot);
                });
            }
        })
    };
    // Healthy latency for as long as the flood runs: until every overflow is answered.
    let flood_over = Arc::new(AtomicBool::new(false));
    let measuring = {
        let (ingress, flood_over) = (ingress.clone(), flood_over.clone());
        healthy_on_own_thread(&ingress, move |_| !flood_over.load(Ordering::SeqCst))
    };
    let answered = |t: &Tally| {
        t.refused_with_retry_after.load(Ordering::SeqCst)
            + t.other.load(Ordering::SeqCst)
            + t.failed.load(Ordering::SeqCst)
    };
    let mut peak_rss = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while answered(&tally) < requests - depth && Instant::now() < deadline {
        peak_rss = peak_rss.max(memory_kib(fnmesh.pid())?.1);
        // Sampling pace of the memory probe, not a wait for an event.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let flood_time = started.elapsed();
    flood_over.store(true, Ordering::SeqCst);
    let mut during = measuring.await??;
    let (hwm, rss_held) = memory_kib(fnmesh.pid())?;
    peak_rss = peak_rss.max(rss_held);
    flooding.abort();
    println!(
        "flood: {requests} requests at a never-ready revision, {in_flight} in flight at most, \
         {}, queue depth {depth}: {} answered 503 + Retry-After, {} other answers, {} failed, \
         {} still held, in {:.1} s",
        if rate > 0 {
            format!("{rate} started per second")
        } else {
            "closed loop".into()
        },
        tally.refused_with_retry_after.load(Ordering::SeqCst),
        tally.other.load(Ordering::SeqCst),
        tally.failed.load(Ordering::SeqCst),
        requests - answered(&tally),
        flood_time.as_secs_f64(),
    );
    println!(
        "fnmesh up RSS {:.1} MiB before, peak {:.1} MiB sampled (VmHWM {:.1} MiB), \
         {:.1} MiB with the queue full",
        rss_before as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        rss_held as f64 / 1024.0,
    );
    println!("healthy before: {}", summary(&mut before));
    println!("healthy during: {}", summary(&mut during));
    Ok(())
}

/// One GET for `stuck` on its own connection: its status and whether it carried
/// `Retry-After`.
async fn one_stuck_request(ingress: &str) -> anyhow::Result<(u16, bool)> {
    let mut stream = TcpStream::connect(ingress).await?;
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nhost: stuck.default.example.com\r\nconnection: close\r\n\r\n",
        )
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, text.contains("\r\nretry-after:")))
}

/// [`healthy_while`] on a thread of its own with a single-threaded runtime: what it
/// measures is fnmesh, not the benchmark's own scheduler full of flood tasks.
fn healthy_on_own_thread(
    ingress: &str,
    more: impl FnMut(usize) -> bool + Send + 'static,
) -> tokio::sync::oneshot::Receiver<anyhow::Result<Vec<Duration>>> {
    let ingress = ingress.to_owned();
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let latencies = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(healthy_while(&ingress, more)));
        let _ = done.send(latencies);
    });
    result
}

/// GETs to `healthy` back to back on one keep-alive connection while `more(done)` says
/// so: their latencies.
async fn healthy_while(
    ingress: &str,
    mut more: impl FnMut(usize) -> bool,
) -> anyhow::Result<Vec<Duration>> {
    let mut conn = BufReader::new(TcpStream::connect(ingress).await?);
    let mut latencies = Vec::new();
    while more(latencies.len()) {
        let start = Instant::now();
        let (status, _) = get(&mut conn, "healthy.default.example.com", "/", false).await?;
        if status != 200 {
            bail!("healthy answered {status}");
        }
        latencies.push(start.elapsed());
    }
    Ok(latencies)
}
