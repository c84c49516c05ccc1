//! One `fnmesh up` per benchmark and what the benchmarks read from it: replica counts,
//! the function's processes, fnmesh's memory, one timed request.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kube::api::{Api, ApiResource, DynamicObject};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One `fnmesh up`, stopped (with every function it started: they run under
/// `--pdeathsig KILL`) when dropped.
pub(crate) struct Fnmesh {
    pub(crate) child: Child,
    pub(crate) api: String,
    pub(crate) ingress: String,
    pub(crate) metrics: String,
    pub(crate) kubeconfig: String,
    pub(crate) hello: PathBuf,
    pub(crate) _dir: tempfile::TempDir,
}

impl Fnmesh {
    /// Starts it and writes `config-autoscaler` (plus Knative's
    /// `allow-zero-initial-scale`, so Services can start at zero).
    pub(crate) fn start(bin: &Path, hello: &Path, config: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_with_flags(bin, hello, config, &[])
    }

    /// [`Fnmesh::start`] with more `fnmesh up` flags.
    pub(crate) fn start_with_flags(
        bin: &Path,
        hello: &Path,
        config: &[(&str, &str)],
        flags: &[&str],
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut cmd = Command::new(bin);
        cmd.arg("up").arg("--data-dir").arg(dir.path().join("data"));
        cmd.args(flags);
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

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
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
    pub(crate) fn deploy(&self, name: &str, annotations: &[(&str, &str)]) -> anyhow::Result<()> {
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

    pub(crate) fn revisions(&self) -> anyhow::Result<Api<DynamicObject>> {
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
    pub(crate) async fn gauges<const N: usize>(
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
pub(crate) async fn replicas(
    revisions: &Api<DynamicObject>,
    name: &str,
) -> anyhow::Result<(u64, u64)> {
    let rev = revisions.get(name).await?;
    let status = &rev.data["status"];
    Ok((
        status["actualReplicas"].as_u64().unwrap_or(0),
        status["desiredReplicas"].as_u64().unwrap_or(0),
    ))
}

/// Processes started for `revision` (the runner passes `K_REVISION` to each).
pub(crate) fn processes_of(revision: &str) -> usize {
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
pub(crate) async fn wait_for_zero(
    revisions: &Api<DynamicObject>,
    revision: &str,
) -> anyhow::Result<()> {
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
pub(crate) async fn get(
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

/// `VmHWM` (peak) and `VmRSS` of `pid`, in KiB.
pub(crate) fn memory_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
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
