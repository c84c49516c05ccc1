//! API server benchmark: create N Knative Services through kube-rs, list them, and
//! measure watch-event latency (write acknowledged → event delivered to a watcher) and
//! the idle resident memory of `fnmesh up` holding them.
//!
//! Usage: `api-bench <path to fnmesh> [N]` (build fnmesh with `--release` first).
#![allow(clippy::disallowed_types)] // wall-clock measurement of a separate process

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fnmesh_bench::percentile;
use futures::StreamExt;
use kube::api::{DynamicObject, ListParams, PostParams};
use kube::runtime::watcher;
use tokio::sync::Mutex;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .context("usage: api-bench <fnmesh binary> [count]")?;
    let count: usize = args.next().map_or(Ok(1000), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(&bin)
        // The API server alone: the serving components would try to run 1,000 functions.
        .args([
            "up",
            "--api-only",
            "--api-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting fnmesh up")?;
    let stdout = child.stdout.take().context("stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep draining stdout so fnmesh never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(u) = line.trim().strip_prefix("API:") {
                let _ = tx.send(u.trim().to_string());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    if url.is_empty() {
        bail!("fnmesh up did not print its API address");
    }
    let result = run(&url, count, child.id()).await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmRSS")
}

async fn run(url: &str, count: usize, pid: u32) -> anyhow::Result<()> {
    let api = fnmesh_bench::services(url)?;
    let rss_empty = rss_kib(pid)?;

    // The watcher records when each object's ADDED event arrives.
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen = arrivals.clone();
    let mut stream = watcher(api.clone(), watcher::Config::default()).boxed();
    // Wait for the initial (empty) list to finish so every create is a live event.
    while let Some(ev) = stream.next().await {
        if matches!(ev?, watcher::Event::InitDone) {
            break;
        }
    }
    let watch_task = tokio::spawn(async move {
        while let Some(Ok(ev)) = stream.next().await {
            if let watcher::Event::Apply(o) = ev {
                let now = Instant::now();
                if let Some(name) = o.metadata.name {
                    seen.lock().await.entry(name).or_insert(now);
                }
            }
        }
    });

    let mut acks = HashMap::new();
    let mut sends = HashMap::new();
    let mut create_latency = Vec::with_capacity(count);
    let started = Instant::now();
    for i in 0..count {
        let name = format!("svc-{i:05}");
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [{
                "image": "example.com/fn",
                "command": ["python3", "fn.py"],
                "env": [{"name": "TARGET", "value": format!("t{i}")}],
            }]}}},
        }))?;
        let t0 = Instant::now();
        sends.insert(name.clone(), t0);
        api.create(&PostParams::default(), &obj).await?;
        let ack = Instant::now();
        create_latency.push(ack - t0);
        acks.insert(name, ack);
    }
    let create_total = started.elapsed();

    // Wait for every event.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if arrivals.lock().await.len() >= count || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    watch_task.abort();
    let arrivals = arrivals.lock().await;
    // Events can beat the client's own view of the ack; those count as zero.
    let mut watch_latency: Vec<Duration> = acks
        .iter()
        .filter_map(|(n, ack)| arrivals.get(n).map(|at| at.saturating_duration_since(*ack)))
        .collect();
    watch_latency.sort();
    create_latency.sort();
    let early = acks
        .iter()
        .filter(|(n, ack)| arrivals.get(*n).is_some_and(|at| at < *ack))
        .count();
    let mut send_to_event: Vec<Duration> = sends
        .iter()
        .filter_map(|(n, t0)| arrivals.get(n).map(|at| at.saturating_duration_since(*t0)))
        .collect();
    send_to_event.sort();

    let mut list_times = Vec::new();
    let mut listed = 0;
    for _ in 0..20 {
        let t0 = Instant::now();
        listed = api.list(&ListParams::default()).await?.items.len();
        list_times.push(t0.elapsed());
    }
    list_times.sort();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_full = rss_kib(pid)?;

    println!(
        "objects created:           {count} in {:.2} s ({:.0}/s, sequential)",
        create_total.as_secs_f64(),
        count as f64 / create_total.as_secs_f64()
    );
    println!(
        "create latency p50 / p99:  {:.2} ms / {:.2} ms",
        ms(percentile(&create_latency, 0.5)),
        ms(percentile(&create_latency, 0.99))
    );
    println!(
        "watch events received:     {} of {count}",
        watch_latency.len()
    );
    println!(
        "watch latency p50 / p99:   {:.3} ms / {:.3} ms  (ack at client -> event at watcher)",
        ms(percentile(&watch_latency, 0.5)),
        ms(percentile(&watch_latency, 0.99))
    );
    println!(
        "  events before the ack:   {early} of {}",
        watch_latency.len()
    );
    println!(
        "request sent -> event p50 / p99: {:.3} ms / {:.3} ms",
        ms(percentile(&send_to_event, 0.5)),
        ms(percentile(&send_to_event, 0.99))
    );
    println!(
        "list {listed} objects p50:     {:.1} ms (p99 of 20: {:.1} ms)",
        ms(percentile(&list_times, 0.5)),
        ms(percentile(&list_times, 0.99))
    );
    println!(
        "RSS idle, empty:           {:.1} MiB",
        rss_empty as f64 / 1024.0
    );
    println!(
        "RSS idle, {count} services:  {:.1} MiB",
        rss_full as f64 / 1024.0
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
