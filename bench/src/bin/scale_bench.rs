//! Scale-to-zero benchmarks (issue 8; BENCHMARKS.md, "Scale to zero"). Each mode but
//! `limit` starts its own `fnmesh up` (every address on 127.0.0.1:0, state in a temp
//! dir) and deploys Services whose container is `hello_fn` (this crate's smallest
//! function), started at zero with `initial-scale: "0"`.
//!
//! - `limit <hello_fn> [N]`: the platform-free bound. Spawn `hello_fn` with `PORT`,
//!   connect until it listens, send one request: spawn → response, N times.
//! - `cold <fnmesh> <hello_fn> [N] [services]`: one request through the ingress at a
//!   revision at zero (no replica, no process), send → full response, N times. Services
//!   take turns, so one can drain to zero (~14 s with the 6 s windows used here) while
//!   the others are measured.
//! - `burst <fnmesh> <hello_fn> [connections] [rounds]`: that many connections at once,
//!   one request each, at a revision at zero; latency, answers, fnmesh's peak RSS.
//! - `step <fnmesh> <hello_fn> [clients] [seconds] [rounds]`: from zero to that many
//!   clients sending back-to-back 50 ms requests, with Knative's default windows and
//!   targets; the revision's replicas against the KPA's desired count over time.
//!
//! Build with `cargo build --release -p fnmesh -p fnmesh-bench` first.
#![allow(clippy::disallowed_types)] // wall-clock measurement against separate processes

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fnmesh_bench::percentile;
use kube::api::{Api, ApiResource, DynamicObject};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const USAGE: &str = "usage: scale-bench limit <hello_fn> [N]
       scale-bench cold <fnmesh> <hello_fn> [N] [services]
       scale-bench burst <fnmesh> <hello_fn> [connections] [rounds]
       scale-bench step <fnmesh> <hello_fn> [clients] [seconds] [rounds]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| -> anyhow::Result<usize> {
        args.get(i)
            .map_or(Ok(default), |s| s.parse().context(USAGE))
    };
    let path = |i: usize| -> anyhow::Result<PathBuf> {
        let p = args.get(i).context(USAGE)?;
        // The runner starts the function from its own working directory.
        std::fs::canonicalize(p).with_context(|| format!("{p} (build it first)"))
    };
    match args.first().map(String::as_str) {
        Some("limit") => limit(&path(1)?, num(2, 30)?),
        Some("cold") => cold(&path(1)?, &path(2)?, num(3, 30)?, num(4, 6)?).await,
        Some("burst") => burst(&path(1)?, &path(2)?, num(3, 1000)?, num(4, 3)?).await,
        Some("step") => step(&path(1)?, &path(2)?, num(3, 200)?, num(4, 30)?, num(5, 3)?).await,
        _ => bail!(USAGE),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `p50 / p99 / max` of `samples` in ms.
fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})",
        ms(percentile(samples, 0.5)),
        ms(percentile(samples, 0.99)),
        ms(samples.last().copied().unwrap_or_default()),
        samples.len()
    )
}

fn limit(hello: &Path, n: usize) -> anyhow::Result<()> {
    let mut samples = Vec::new();
    for _ in 0..n {
        // A port the kernel just handed out and released, as the runner picks one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let start = Instant::now();
        let mut child = Command::new(hello)
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .spawn()?;
        // Poll every 100 µs: ten times finer than the runner's 1 ms readiness probe, so
        // this is the bound, not another platform.
        let mut stream = loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if start.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_micros(100));
                }
                Err(e) => bail!("hello_fn did not listen within 10 s: {e}"),
            }
        };
        stream.write_all(b"GET / HTTP/1.1\r\nhost: limit\r\nconnection: close\r\n\r\n")?;
        let mut first = [0u8; 1];
        stream.read_exact(&mut first)?;
        let at_first_byte = start.elapsed();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest)?;
        if !rest.starts_with(b"TTP/1.1 200") {
            bail!("unexpected answer {:?}", String::from_utf8_lossy(&rest));
        }
        samples.push(at_first_byte);
        child.kill()?;
        child.wait()?;
    }
    println!(
        "limit: spawn → first response byte, {}",
        summary(&mut samples)
    );
    Ok(())
}

/// One `fnmesh up`, stopped (with every function it started: they run under
/// `--pdeathsig KILL`) when dropped.
struct Fnmesh {
    child: Child,
    api: String,
    ingress: String,
    metrics: String,
    kubeconfig: String,
    hello: PathBuf,
    _dir: tempfile::TempDir,
}

impl Fnmesh {
    /// Starts it and writes `config-autoscaler` (plus Knative's
    /// `allow-zero-initial-scale`, so Services can start at zero).
    fn start(bin: &Path, hello: &Path, config: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut cmd = Command::new(bin);
        cmd.arg("up").arg("--data-dir").arg(dir.path().join("data"));
        for flag in [
            "--api-addr",
            "--http-addr",
            "--xds-addr",
            "--metrics-addr",
            "--activator-addr",
            "--autoscaler-addr",
        ] {
            cmd.args([flag, "127.0.0.1:0"]);
        }
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("up.err"))?)
            .spawn()
            .context("starting fnmesh up")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Keep draining stdout so fnmesh never writes into a closed pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some((k, v)) = line.trim().split_once(": ") {
                    let _ = tx.send((k.to_string(), v.trim().to_string()));
                }
            }
        });
        let mut banner = std::collections::HashMap::new();
        while !banner.contains_key("try") {
            let (k, v) = rx
                .recv_timeout(Duration::from_secs(30))
                .context("fnmesh up did not print its banner")?;
            banner.insert(k, v);
        }
        let field = |k: &str| banner.get(k).cloned().with_context(|| format!("no {k}:"));
        let fnmesh = Self {
            api: field("API")?,
            ingress: field("ingress")?.trim_start_matches("http://").to_string(),
            metrics: field("metrics")?
                .trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_string(),
            kubeconfig: field("kubeconfig")?,
            hello: hello.to_path_buf(),
            child,
            _dir: dir,
        };
        // `apply`: fnmesh up may have made the namespace already (for the activator's
        // Service).
        fnmesh.kubectl(
            &["apply", "-f", "-"],
            Some("apiVersion: v1\nkind: Namespace\nmetadata: {name: knative-serving}\n"),
        )?;
        let mut data = String::from("  allow-zero-initial-scale: \"true\"\n");
        for (k, v) in config {
            data.push_str(&format!("  {k}: \"{v}\"\n"));
        }
        fnmesh.kubectl(
            &["apply", "-f", "-"],
            Some(&format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: config-autoscaler, namespace: knative-serving}}\ndata:\n{data}"
            )),
        )?;
        Ok(fnmesh)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let mut child = Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("kubectl")?;
        let mut input = child.stdin.take().context("stdin")?;
        input.write_all(stdin.unwrap_or_default().as_bytes())?;
        drop(input);
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "kubectl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A Service running `hello_fn`, started at zero; `annotations` go on the template.
    /// Returns once it is Ready.
    fn deploy(&self, name: &str, annotations: &[(&str, &str)]) -> anyhow::Result<()> {
        let mut notes = String::from("        autoscaling.knative.dev/initial-scale: \"0\"\n");
        for (k, v) in annotations {
            notes.push_str(&format!("        {k}: \"{v}\"\n"));
        }
        let manifest = format!(
            "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
spec:
  template:
    metadata:
      annotations:
{notes}    spec:
      containers:
        - image: example.com/hello-fn
          command: [\"{}\"]
",
            self.hello.display()
        );
        self.kubectl(&["apply", "-f", "-"], Some(&manifest))?;
        self.kubectl(
            &[
                "wait",
                "--for=condition=Ready",
                &format!("ksvc/{name}"),
                "--timeout=60s",
            ],
            None,
        )?;
        Ok(())
    }

    fn revisions(&self) -> anyhow::Result<Api<DynamicObject>> {
        let client = kube::Client::try_from(kube::Config::new(self.api.parse()?))?;
        let resource = ApiResource {
            group: "serving.knative.dev".into(),
            version: "v1".into(),
            api_version: "serving.knative.dev/v1".into(),
            kind: "Revision".into(),
            plural: "revisions".into(),
        };
        Ok(Api::namespaced_with(client, "default", &resource))
    }

    /// `revision`'s value of each gauge in `names` on fnmesh's `/metrics` (0 if absent).
    async fn gauges<const N: usize>(
        &self,
        revision: &str,
        names: [&str; N],
    ) -> anyhow::Result<[f64; N]> {
        let mut conn = BufReader::new(TcpStream::connect(&self.metrics).await?);
        let (_, body) = get(&mut conn, "metrics", "/metrics", true).await?;
        let quoted = format!("\"{revision}\"");
        let mut values = [0.0; N];
        for line in String::from_utf8_lossy(&body).lines() {
            for (i, name) in names.iter().enumerate() {
                if line.starts_with(&format!("{name}{{")) && line.contains(&quoted) {
                    values[i] = line
                        .rsplit(' ')
                        .next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0.0);
                }
            }
        }
        Ok(values)
    }
}

impl Drop for Fnmesh {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(actualReplicas, desiredReplicas)` from the revision's status (absent = 0).
async fn replicas(revisions: &Api<DynamicObject>, name: &str) -> anyhow::Result<(u64, u64)> {
    let rev = revisions.get(name).await?;
    let status = &rev.data["status"];
    Ok((
        status["actualReplicas"].as_u64().unwrap_or(0),
        status["desiredReplicas"].as_u64().unwrap_or(0),
    ))
}

/// Processes started for `revision` (the runner passes `K_REVISION` to each).
fn processes_of(revision: &str) -> usize {
    let needle = format!("K_REVISION={revision}\0");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("environ")).ok())
        .filter(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .count()
}

/// Waits until `revision` reports no replica and none of its processes is left.
async fn wait_for_zero(revisions: &Api<DynamicObject>, revision: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if replicas(revisions, revision).await?.0 == 0 && processes_of(revision) == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{revision} did not scale to zero within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `GET path` and reads the whole response (content-length, chunked or until
/// close): its status and body.
async fn get(
    conn: &mut BufReader<TcpStream>,
    host: &str,
    path: &str,
    close: bool,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let connection = if close { "connection: close\r\n" } else { "" };
    conn.get_mut()
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n{connection}\r\n").as_bytes())
        .await?;
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        bail!("connection closed before a response");
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .context("status line")?
        .parse()?;
    let (mut len, mut chunked) = (None, false);
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = Some(v.trim().parse()?);
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.to_ascii_lowercase().contains("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            conn.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)?;
            let mut chunk = vec![0; size + 2];
            conn.read_exact(&mut chunk).await?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = len {
        body.resize(len, 0);
        conn.read_exact(&mut body).await?;
    } else {
        conn.read_to_end(&mut body).await?;
    }
    Ok((status, body))
}

async fn cold(bin: &Path, hello: &Path, n: usize, services: usize) -> anyhow::Result<()> {
    let fnmesh = Fnmesh::start(
        bin,
        hello,
        &[
            ("stable-window", "6s"),
            ("scale-to-zero-grace-period", "6s"),
        ],
    )?;
    let revisions = fnmesh.revisions()?;
    for i in 0..services {
        fnmesh.deploy(&format!("cold-{i}"), &[])?;
    }
    let mut samples = Vec::new();
    // Sample 0 warms up the path (first connections, first spawn) and is not counted.
    for s in 0..=n {
        let service = format!("cold-{}", s % services);
        let revision = format!("{service}-00001");
        wait_for_zero(&revisions, &revision).await?;
        // The previous sample's scale-down and EndpointSlice churn settle first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut conn = BufReader::new(TcpStream::connect(&fnmesh.ingress).await?);
        conn.get_ref().set_nodelay(true)?;
        let host = format!("{service}.default.example.com");
        let start = Instant::now();
        let (status, _) = get(&mut conn, &host, "/", true).await?;
        let took = start.elapsed();
        if status != 200 {
            bail!("{service}: status {status}");
        }
        if s > 0 {
            samples.push(took);
        }
        eprintln!("sample {s}: {service} {:.2} ms", ms(took));
    }
    println!(
        "cold start through fnmesh (send → full response, revision at zero): {}",
        summary(&mut samples)
    );
    Ok(())
}

/// `VmHWM` (peak) and `VmRSS` of `pid`, in KiB.
fn memory_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| name.to_string())
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

async fn burst(bin: &Path, hello: &Path, connections: usize, rounds: usize) -> anyhow::Result<()> {
    let fnmesh = Fnmesh::start(bin, hello, &[])?;
    let revisions = fnmesh.revisions()?;
    let mut p50s = Vec::new();
    for round in 0..rounds {
        // A fresh Service per round: one that just served 1,000 requests would take a
        // stable window and a grace period to drain back to zero.
        let service = format!("burst-{round}");
        fnmesh.deploy(&service, &[])?;
        wait_for_zero(&revisions, &format!("{service}-00001")).await?;
        let (peak_before, rss_before) = memory_kib(fnmesh.pid())?;
        let host = Arc::new(format!("{service}.default.example.com"));
        let gate = Arc::new(tokio::sync::Barrier::new(connections));
        let ingress = Arc::new(fnmesh.ingress.clone());
        let started = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                let (host, gate, ingress) = (host.clone(), gate.clone(), ingress.clone());
                tokio::spawn(async move {
                    gate.wait().await;
                    let start = Instant::now();
                    let answer = async {
                        let mut conn = BufReader::new(TcpStream::connect(ingress.as_str()).await?);
                        get(&mut conn, &host, "/", true).await
                    }
                    .await;
                    (answer.map(|(status, _)| status), start.elapsed())
                })
            })
            .collect();
        let (mut latencies, mut ok, mut failures) = (Vec::new(), 0, Vec::new());
        for task in tasks {
            let (answer, took) = task.await?;
            latencies.push(took);
            match answer {
                Ok(200) => ok += 1,
                Ok(status) => failures.push(format!("status {status}")),
                Err(e) => failures.push(e.to_string()),
            }
        }
        let wall = started.elapsed();
        let (peak_after, rss_after) = memory_kib(fnmesh.pid())?;
        let (actual, desired) = replicas(&revisions, &format!("{service}-00001")).await?;
        failures.sort();
        failures.dedup();
        let p50 = {
            latencies.sort();
            percentile(&latencies, 0.5)
        };
        p50s.push(p50);
        println!(
            "burst {round}: {ok}/{connections} answered 200 in {:.0} ms; latency {}; \
             fnmesh VmHWM {:.1} → {:.1} MiB, VmRSS {:.1} → {:.1} MiB; replicas {actual} \
             (desired {desired}) right after{}",
            ms(wall),
            summary(&mut latencies),
            peak_before as f64 / 1024.0,
            peak_after as f64 / 1024.0,
            rss_before as f64 / 1024.0,
            rss_after as f64 / 1024.0,
            if failures.is_empty() {
                String::new()
            } else {
                format!("; failures: {}", failures.join(", "))
            }
        );
        fnmesh.kubectl(&["delete", "ksvc", &service], None)?;
    }
    println!("burst: median p50 over rounds {}", summary(&mut p50s));
    Ok(())
}

/// One sample of the revision's scale while the step runs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    actual: u64,
    desired: u64,
    kpa_desired: f64,
    panic: f64,
    proxy: f64,
}

async fn step(
    bin: &Path,
    hello: &Path,
    clients: usize,
    seconds: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    // Knative's default windows (60 s stable, 6 s panic) and targets (100 per replica,
    // 70% utilisation): the KPA as it runs out of the box.
    let fnmesh = Fnmesh::start(bin, hello, &[])?;
    let revisions = fnmesh.revisions()?;
    for round in 0..rounds {
        let service = format!("step-{round}");
        let revision = format!("{service}-00001");
        fnmesh.deploy(&service, &[])?;
        wait_for_zero(&revisions, &revision).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let host = Arc::new(format!("{service}.default.example.com"));
        let ingress = Arc::new(fnmesh.ingress.clone());
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (stop, host, ingress) = (stop.clone(), host.clone(), ingress.clone());
                tokio::spawn(async move {
                    // (seconds since the step, latency) of every answered request.
                    let mut done = Vec::new();
                    let mut errors = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(stream) = TcpStream::connect(ingress.as_str()).await else {
                            errors += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        let mut conn = BufReader::new(stream);
                        while !stop.load(Ordering::Relaxed) {
                            let start = Instant::now();
                            match get(&mut conn, &host, "/?sleep=50", false).await {
                                Ok((200, _)) => done.push((
                                    start.duration_since(t0).as_secs_f64(),
                                    start.elapsed(),
                                )),
                                Ok(_) => errors += 1,
                                Err(_) => {
                                    errors += 1;
                                    break;
                                }
                            }
                        }
                    }
                    (done, errors)
                })
            })
            .collect();
        let mut series: Vec<(f64, Scale)> = Vec::new();
        while t0.elapsed() < Duration::from_secs(seconds as u64) {
            let (actual, desired) = replicas(&revisions, &revision).await?;
            let [kpa_desired, panic, proxy] = fnmesh
                .gauges(
                    &revision,
                    [
                        "fnmesh_autoscaler_desired_pods",
                        "fnmesh_autoscaler_panic_mode",
                        "fnmesh_autoscaler_proxy_mode",
                    ],
                )
                .await?;
            let scale = Scale {
                actual,
                desired,
                kpa_desired,
                panic,
                proxy,
            };
            if series.last().is_none_or(|(_, last)| *last != scale) {
                series.push((t0.elapsed().as_secs_f64(), scale));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let (mut done, mut errors) = (Vec::new(), 0);
        for task in tasks {
            let (d, e) = task.await?;
            done.extend(d);
            errors += e;
        }
        println!(
            "step {round}: 0 → {clients} clients (50 ms requests), time series (s since the step):"
        );
        for (t, s) in &series {
            println!(
                "  {t:6.2}  actualReplicas {} desiredReplicas {} kpa_desired {} panic {} proxy {}",
                s.actual, s.desired, s.kpa_desired, s.panic, s.proxy
            );
        }
        // The KPA's count at the end is the one the step settles on.
        let target = series.last().map_or(0.0, |(_, s)| s.kpa_desired);
        let first = |f: &dyn Fn(&Scale) -> bool| {
            series
                .iter()
                .find(|(_, s)| f(s))
                .map_or("never".to_string(), |(t, _)| format!("{t:.2} s"))
        };
        println!(
            "step {round}: KPA desired {target}: first desired at {}, first ready at {}, \
             ready = KPA desired from {}",
            first(&|s| s.kpa_desired >= target),
            first(&|s| s.actual as f64 >= target),
            // The sample after the last one where they differed.
            match series
                .iter()
                .rposition(|(_, s)| s.actual as f64 != s.kpa_desired)
            {
                Some(i) => series.get(i + 1),
                None => series.first(),
            }
            .map_or("never".to_string(), |(t, _)| format!("{t:.2} s")),
        );
        for window in (0..seconds).step_by(5) {
            let mut lat: Vec<Duration> = done
                .iter()
                .filter(|(t, _)| (*t as usize) >= window && (*t as usize) < window + 5)
                .map(|(_, l)| *l)
                .collect();
            if !lat.is_empty() {
                let rps = lat.len() as f64 / 5.0;
                println!(
                    "  {window:3}–{:3} s: {rps:.0} rps, latency {}",
                    window + 5,
                    summary(&mut lat)
                );
            }
        }
        println!("  errors: {errors}");
        fnmesh.kubectl(&["delete", "ksvc", &service], None)?;
    }
    Ok(())
}
