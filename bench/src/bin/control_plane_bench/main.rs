//! `control-plane-bench`: the control plane at scale, in split-process mode. Starts the
//! API server and the controller, autoscaler, activator, gateway and runner as separate
//! processes, creates N Knative Services at once (`initial-scale: 0`, so no function
//! runs), and reports the time until all are Ready, each component's CPU time and RSS,
//! and what one traffic change costs over xDS (bytes pushed per resource type, time
//! until the push is complete), seen by an ADS client of its own.
//!
//! ```text
//! cargo build --release -p fnmesh -p fnmesh-bench
//! target/release/control-plane-bench --fnmesh target/release/fnmesh --services 1000 [--idle 30]
//! ```

mod ads;
mod idle_writes;
mod processes;

use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use anyhow::Context as _;
use futures::{StreamExt, stream};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};

use processes::Split;

struct Args {
    fnmesh: PathBuf,
    services: usize,
    concurrency: usize,
    /// After the traffic change, idle this long and read every process again: what a
    /// burst leaves behind once the API's event log has aged out (it keeps 15 s). The
    /// writes made meanwhile are counted per kind (watches from the resourceVersion at
    /// the start of the idle period).
    idle: Duration,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        fnmesh: PathBuf::from("target/release/fnmesh"),
        services: 1000,
        concurrency: 32,
        idle: Duration::ZERO,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--fnmesh" => args.fnmesh = value.into(),
            "--services" => args.services = value.parse()?,
            "--concurrency" => args.concurrency = value.parse()?,
            "--idle" => args.idle = Duration::from_secs(value.parse()?),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(args)
}

fn ksvc() -> ApiResource {
    ApiResource {
        group: "serving.knative.dev".into(),
        version: "v1".into(),
        api_version: "serving.knative.dev/v1".into(),
        kind: "Service".into(),
        plural: "services".into(),
    }
}

fn service(name: &str, target: &str, traffic: Option<serde_json::Value>) -> serde_json::Value {
    let mut svc = serde_json::json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": {
            "metadata": {"annotations": {"autoscaling.knative.dev/initial-scale": "0"}},
            "spec": {"containers": [{
                "image": "example.com/hello",
                "command": ["true"],
                "env": [{"name": "TARGET", "value": target}],
            }]},
        }},
    });
    if let Some(traffic) = traffic {
        svc["spec"]["traffic"] = traffic;
    }
    svc
}

fn ready(obj: &DynamicObject) -> bool {
    obj.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

async fn count_ready(api: &Api<DynamicObject>) -> anyhow::Result<usize> {
    let list = api.list(&Default::default()).await?;
    Ok(list.items.iter().filter(|o| ready(o)).count())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let split = Split::start(&args.fnmesh)?;
    let client = split.client().await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ksvc());
    println!(
        "control-plane-bench: {} Services, {} concurrent creates, split-process mode",
        args.services, args.concurrency
    );
    let before = split.usage();

    let started = Instant::now();
    let created = stream::iter(0..args.services)
        .map(|i| {
            let api = api.clone();
            async move {
                let obj: DynamicObject =
                    serde_json::from_value(service(&format!("s{i}"), "one", None))?;
                api.create(&PostParams::default(), &obj).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>()
        .await;
    let failures = created.iter().filter(|r| r.is_err()).count();
    anyhow::ensure!(
        failures == 0,
        "{failures} creates failed: {:?}",
        created.iter().find(|r| r.is_err())
    );
    let all_created = started.elapsed();
    let deadline = started + Duration::from_secs(1800);
    loop {
        let n = count_ready(&api).await?;
        if n == args.services {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "only {n} Ready after 30 minutes");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all_ready = started.elapsed();
    let after = split.usage();
    println!(
        "created all in {:.1} s, all Ready after {:.1} s",
        all_created.as_secs_f64(),
        all_ready.as_secs_f64()
    );
    print_usage(&before, &after);

    // One traffic change at that size: a second revision of s0 and a 50/50 split.
    let mut ads = ads::AdsClient::connect(&split.xds_addr()).await?;
    let initial = ads.settle(Duration::from_secs(3)).await?;
    println!("xDS initial state: {initial}");
    let traffic = serde_json::json!([
        {"revisionName": "s0-00001", "percent": 50},
        {"latestRevision": true, "percent": 50},
    ]);
    let changed = Instant::now();
    api.patch(
        "s0",
        &PatchParams::apply("control-plane-bench").force(),
        &Patch::Apply(&service("s0", "two", Some(traffic))),
    )
    .await?;
    let push = ads.settle(Duration::from_secs(3)).await?;
    println!(
        "xDS push for one traffic change: {push} (last byte {:.0} ms after the change)",
        push.last_at
            .map_or(0.0, |t| t.duration_since(changed).as_secs_f64() * 1e3)
    );
    if !args.idle.is_zero() {
        let writes = idle_writes::count(&client, args.idle).await?;
        println!("writes while idle: {writes}");
        println!("after {} s idle:", args.idle.as_secs());
        print_usage(&before, &split.usage());
    }
    Ok(())
}

/// Each process's CPU time since `before`, and its memory and threads now.
fn print_usage(
    before: &std::collections::BTreeMap<&'static str, processes::Usage>,
    now: &std::collections::BTreeMap<&'static str, processes::Usage>,
) {
    println!(
        "{:<11} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "component", "cpu s", "RSS MiB", "peak MiB", "threads", "conns"
    );
    for (name, usage) in now {
        let cpu = usage.cpu_seconds - before.get(name).map_or(0.0, |u| u.cpu_seconds);
        println!(
            "{name:<11} {cpu:>10.2} {:>10.1} {:>10.1} {:>10} {:>10}",
            usage.rss_kib as f64 / 1024.0,
            usage.peak_kib as f64 / 1024.0,
            usage.threads,
            usage.connections
        );
    }
}
