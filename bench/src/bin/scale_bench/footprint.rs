//! The platform's own footprint (issue 9): `fnmesh up`'s resident memory and thread
//! count empty, while N Services are created at once, once they are all Ready, and after
//! they idle. Functions' processes are not counted (they are other processes); in the
//! `zero` flavour none runs at all (`initial-scale: "0"`).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fnmesh_bench::{PLATFORM_KINDS, api_resource};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::runtime::watcher;

use super::harness::Fnmesh;

/// What each Service runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Flavour {
    /// `hello_fn` with `initial-scale: "0"`: Ready with no process.
    Zero,
    /// `python3 examples/hello.py`, one replica each (as the reporter ran).
    Python,
}

impl Flavour {
    pub(crate) fn parse(s: Option<&str>) -> anyhow::Result<Self> {
        match s {
            None | Some("zero") => Ok(Self::Zero),
            Some("python") => Ok(Self::Python),
            Some(other) => bail!("flavour {other}: must be zero or python"),
        }
    }
}

/// One reading of `/proc/<pid>/status` (KiB, threads).
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    rss: u64,
    hwm: u64,
    anon: u64,
    threads: u64,
}

fn sample(pid: u32) -> anyhow::Result<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| name.to_string())
    };
    Ok(Sample {
        rss: field("VmRSS:")?,
        hwm: field("VmHWM:")?,
        anon: field("RssAnon:")?,
        threads: field("Threads:")?,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn line(label: &str, s: Sample) {
    println!(
        "{label:<22} RSS {:7.1} MiB (anon {:7.1} MiB), threads {:3}, VmHWM {:7.1} MiB",
        mib(s.rss),
        mib(s.anon),
        s.threads,
        mib(s.hwm)
    );
}

pub(crate) async fn footprint(
    bin: &Path,
    hello: &Path,
    count: usize,
    flavour: Flavour,
    concurrency: usize,
    idle: Duration,
) -> anyhow::Result<()> {
    let fnmesh = Fnmesh::start(bin, hello, &[])?;
    let pid = fnmesh.pid();
    let api = fnmesh_bench::services(&fnmesh.api)?;
    // Let the components finish their start-up lists and watches.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let empty = sample(pid)?;
    line("empty", empty);

    // Sample threads and RSS every 20 ms through the burst: VmHWM has the RSS peak, the
    // thread count has no kernel-side peak.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = std::thread::spawn({
        let sampling = sampling.clone();
        move || {
            let mut peak = Sample::default();
            while sampling.load(Ordering::Relaxed) {
                if let Ok(s) = sample(pid) {
                    peak.threads = peak.threads.max(s.threads);
                    peak.rss = peak.rss.max(s.rss);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        }
    });

    let ready = tokio::spawn(wait_all_ready(api.clone(), count, pid));
    let started = Instant::now();
    let python = std::fs::canonicalize("examples/hello.py");
    let manifests = (0..count).map(|i| manifest(i, flavour, hello, python.as_deref().ok()));
    let failed: Vec<String> = futures::stream::iter(manifests)
        .map(|m| {
            let api = api.clone();
            async move {
                let m = m?;
                api.create(&PostParams::default(), &m)
                    .await
                    .map(|_| ())
                    .map_err(anyhow::Error::from)
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|r| async move { r.err().map(|e| e.to_string()) })
        .collect()
        .await;
    let created = started.elapsed();
    if !failed.is_empty() {
        bail!("{} creates failed, first: {}", failed.len(), failed[0]);
    }
    println!(
        "created {count} Services in {:.1} s ({:.0}/s, {concurrency} at once)",
        created.as_secs_f64(),
        count as f64 / created.as_secs_f64()
    );
    ready.await??;
    let all_ready = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let peak = sampler
        .join()
        .map_err(|_| anyhow::anyhow!("sampler panicked"))?;
    println!("all Ready after {:.1} s", all_ready.as_secs_f64());
    let at_ready = sample(pid)?;
    println!(
        "burst peak             RSS {:7.1} MiB (VmHWM {:.1} MiB), threads {}",
        mib(peak.rss),
        mib(at_ready.hwm),
        peak.threads
    );
    line("all Ready", at_ready);

    tokio::time::sleep(idle).await;
    let idled = sample(pid)?;
    line(&format!("idle {} s", idle.as_secs()), idled);
    let per_service = (idled.rss.saturating_sub(empty.rss)) as f64 / count as f64;
    println!(
        "per idle Service       {per_service:.1} KiB ((idle - empty) / {count}); target 100 KiB: {:.2}×",
        per_service / 100.0
    );
    println!(
        "empty                  {:.1} MiB; target 30 MiB: {:.2}×",
        mib(empty.rss),
        mib(empty.rss) / 30.0
    );
    print_object_counts(&fnmesh).await?;
    Ok(())
}

fn manifest(
    i: usize,
    flavour: Flavour,
    hello: &Path,
    python: Option<&Path>,
) -> anyhow::Result<DynamicObject> {
    let name = format!("fp-{i:05}");
    let value = match flavour {
        Flavour::Zero => serde_json::json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/initial-scale": "0"}},
                "spec": {"containers": [{
                    "image": "example.com/hello-fn",
                    "command": [hello],
                }]},
            }},
        }),
        Flavour::Python => serde_json::json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [{
                "image": "example.com/fn:latest",
                "command": ["python3", python.context("examples/hello.py (run from the repository root)")?],
                "env": [{"name": "TARGET", "value": format!("t{i}")}],
            }]}}},
        }),
    };
    Ok(serde_json::from_value(value)?)
}

fn is_ready(svc: &DynamicObject) -> bool {
    svc.data["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// Returns once `count` Services are Ready (a watch, not a poll: listing 10,000 Services
/// every second would itself weigh on the server being measured); prints progress with
/// fnmesh's memory every 30 s, so a run cut short still tells something.
async fn wait_all_ready(api: Api<DynamicObject>, count: usize, pid: u32) -> anyhow::Result<()> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(3600);
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let mut ready = HashSet::new();
    let mut next_report = started + Duration::from_secs(30);
    loop {
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(30);
            let s = sample(pid)?;
            println!(
                "  {:4.0} s: {}/{count} Ready, RSS {:.1} MiB, threads {}",
                started.elapsed().as_secs_f64(),
                ready.len(),
                mib(s.rss),
                s.threads
            );
        }
        let event = tokio::time::timeout_at(deadline.into(), stream.try_next())
            .await
            .context("Services not all Ready within an hour")??;
        let Some(event) = event else {
            bail!("the Service watch ended")
        };
        match event {
            watcher::Event::Apply(s) | watcher::Event::InitApply(s) => {
                let name = s.metadata.name.clone().unwrap_or_default();
                if is_ready(&s) {
                    ready.insert(name);
                } else {
                    ready.remove(&name);
                }
            }
            watcher::Event::Delete(s) => {
                ready.remove(&s.metadata.name.clone().unwrap_or_default());
            }
            watcher::Event::Init | watcher::Event::InitDone => {}
        }
        if ready.len() >= count {
            return Ok(());
        }
    }
}

/// How many objects of each kind the store holds (one `limit=1` list each).
async fn print_object_counts(fnmesh: &Fnmesh) -> anyhow::Result<()> {
    let client = kube::Client::try_from(kube::Config::new(fnmesh.api.parse()?))?;
    let mut counts = Vec::new();
    for (group, version, kind, plural) in PLATFORM_KINDS {
        let resource = api_resource(group, version, kind, plural);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let page = api.list(&ListParams::default().limit(1)).await?;
        let n =
            page.items.len() as u64 + page.metadata.remaining_item_count.unwrap_or(0).max(0) as u64;
        let name = if group.is_empty() {
            plural.to_string()
        } else {
            format!("{plural}.{group}")
        };
        counts.push(format!("{name} {n}"));
    }
    println!("objects                {}", counts.join(", "));
    Ok(())
}
