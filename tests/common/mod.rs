//! Test harness: start the real `fnmesh up` binary on loopback with a fresh data dir and
//! drive it with the real kubectl (or kube-rs).
#![allow(dead_code, unreachable_pub)]
// The harness is synchronous (processes and kubectl), with no tokio clock to pause.
#![allow(clippy::disallowed_types)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod load;
pub mod processes;
pub mod restart;
pub mod split;

/// A running `fnmesh up`, killed when dropped.
pub struct Fnmesh {
    pub child: Child,
    pub data_dir: PathBuf,
    pub api_url: String,
    /// `host:port` of the HTTP ingress.
    pub ingress: String,
    /// `host:port` of the xDS server.
    pub xds: String,
    /// Everything the banner printed (every listener's address).
    pub banner: Banner,
    _tmp: Option<tempfile::TempDir>,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fnmesh")
}

/// The kubectl to use: `KUBECTL` or the one on PATH.
pub fn kubectl_bin() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into())
}

impl Fnmesh {
    pub fn start() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut f = Self::start_in(&dir);
        f._tmp = Some(tmp);
        f
    }

    /// Start on an existing data dir (a restart).
    pub fn start_in(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// Start on `dir` with extra `up` flags.
    pub fn start_with(dir: &Path, extra: &[&str]) -> Self {
        let kubeconfig = dir.join("kubeconfig");
        let _ = std::fs::remove_file(&kubeconfig);
        let child = Command::new(bin())
            .args([
                "up",
                "--api-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
                "--xds-addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
                "--activator-addr",
                "127.0.0.1:0",
                "--autoscaler-addr",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(dir)
            .args(extra)
            // Example manifests name their functions relative to the repository root.
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn fnmesh up");
        let mut f = Fnmesh {
            child,
            data_dir: dir.to_path_buf(),
            api_url: String::new(),
            ingress: String::new(),
            xds: String::new(),
            banner: Banner::new(),
            _tmp: None,
        };
        let banner = f.wait_for_banner();
        let field = |k: &str| banner.get(k).cloned().unwrap_or_default();
        f.api_url = field("API");
        f.ingress = field("ingress").trim_start_matches("http://").to_string();
        f.xds = field("xDS");
        f.banner = banner;
        assert!(
            f.kubeconfig().exists(),
            "kubeconfig written before the banner"
        );
        f
    }

    fn wait_for_banner(&mut self) -> Banner {
        read_banner(&mut self.child, "fnmesh up")
    }

    /// The embedded API server alone (`fnmesh apiserver`) on a fresh data dir: the
    /// other components then run as separate processes (see `split`).
    pub fn start_api_only() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut child = Command::new(bin())
            .args(["apiserver", "--api-addr", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn fnmesh apiserver");
        let banner = read_banner(&mut child, "fnmesh apiserver");
        Fnmesh {
            child,
            data_dir: dir,
            api_url: banner.get("API").cloned().unwrap_or_default(),
            ingress: String::new(),
            xds: String::new(),
            banner,
            _tmp: Some(tmp),
        }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir.join("kubeconfig")
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(kubectl_bin())
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .output()
            .expect("run kubectl (is it installed? see README)")
    }

    /// kubectl that must succeed; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// `kubectl apply -f -` of `manifest`, which must succeed.
    pub fn apply(&self, manifest: &str) {
        let out = self.kubectl_stdin(&["apply", "-f", "-"], manifest);
        assert!(
            out.status.success(),
            "kubectl apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// kubectl apply of a manifest given inline.
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(kubectl_bin())
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write manifest");
        child.wait_with_output().expect("kubectl output")
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "fnmesh did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl_ok(&all)).expect("kubectl -o json")
    }
}

impl Drop for Fnmesh {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `config-autoscaler` with Knative's minimum idle times (and zero initial scale
/// allowed), so scaling to zero takes seconds, not minutes.
pub const FAST_IDLE_CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: 6s
  scale-to-zero-grace-period: 6s
  allow-zero-initial-scale: \"true\"
";

impl Fnmesh {
    /// `fnmesh up` with [`FAST_IDLE_CONFIG`] applied.
    pub fn start_fast_idle() -> Self {
        let f = Self::start();
        f.kubectl_stdin(&["create", "namespace", "knative-serving"], "");
        f.apply(FAST_IDLE_CONFIG);
        f
    }

    /// The revision's (actualReplicas, desiredReplicas) from its status; (-1, -1)
    /// while it does not exist or reports none.
    pub fn revision_replicas(&self, revision: &str) -> (i64, i64) {
        let out = self.kubectl(&["get", "revision", revision, "-o", "json"]);
        let rev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (
            rev["status"]["actualReplicas"].as_i64().unwrap_or(-1),
            rev["status"]["desiredReplicas"].as_i64().unwrap_or(-1),
        )
    }
}

/// A Knative Service manifest running the hello example.
pub fn service_yaml(name: &str, extra_spec: &str) -> String {
    service_yaml_running(name, "examples/hello.py", extra_spec)
}

/// A Knative Service manifest whose container runs the Python function `script`
/// (relative to the repository root), with `extra_spec` appended to the container.
pub fn service_yaml_running(name: &str, script: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
        - image: example.com/fn:latest
          command: [\"python3\", \"{script}\"]
{extra_spec}"
    )
}

/// A banner's `name: value` lines.
pub type Banner = std::collections::HashMap<String, String>;

/// Reads a component's banner (`  name: value` lines) from its piped stdout until the
/// `try:` line ends it; later output is drained so the process never blocks on it.
pub fn read_banner(child: &mut Child, what: &str) -> Banner {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = Banner::new();
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sent {
                continue;
            }
            if let Some((k, v)) = line.trim().split_once(':') {
                banner.insert(k.trim().to_string(), v.trim().to_string());
            }
            if line.trim().starts_with("try:") {
                let _ = tx.send(banner.clone());
                sent = true;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what} printed its banner"))
}

/// Poll until `f` returns Some, or panic after `timeout`.
pub fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Send raw bytes over HTTP/1.1 to the API and return the status code and body.
pub fn raw_http(url: &str, request: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(request).expect("send");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (code, body)
}

/// A minimal HTTP/1.1 keep-alive client for driving the ingress.
pub struct HttpClient {
    stream: BufReader<std::net::TcpStream>,
}

impl HttpClient {
    pub fn connect(addr: &str) -> Self {
        let stream = std::net::TcpStream::connect(addr).expect("connect to ingress");
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        stream.set_nodelay(true).ok();
        Self {
            stream: BufReader::new(stream),
        }
    }

    /// GET `/` with the given Host; returns (status, body).
    pub fn get(&mut self, host: &str, extra_headers: &str) -> (u16, String) {
        self.try_get(host, extra_headers).expect("HTTP exchange")
    }

    pub fn try_get(&mut self, host: &str, extra_headers: &str) -> std::io::Result<(u16, String)> {
        use std::io::{Read, Write};
        let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\n{extra_headers}\r\n");
        self.stream.get_mut().write_all(req.as_bytes())?;
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line)?;
        let code = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            if self.stream.read_line(&mut line)? == 0 {
                break;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body)?;
        Ok((code, String::from_utf8_lossy(&body).to_string()))
    }
}

/// One request on a fresh connection.
/// (0, "") when the connection fails, so it can be polled while a server comes up.
pub fn http_get(addr: &str, host: &str) -> (u16, String) {
    let Ok(stream) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut c = HttpClient {
        stream: BufReader::new(stream),
    };
    c.try_get(host, "").unwrap_or((0, String::new()))
}

/// A free loopback port (for peers that cannot bind port 0 and report back).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The revision that answered, from the hello function's body (`K_REVISION=…`).
pub fn revision_of(body: &str) -> String {
    body.split_whitespace()
        .find_map(|w| w.strip_prefix("K_REVISION="))
        .unwrap_or_default()
        .to_string()
}

/// The `split` Service running the hello function with TARGET=`target`, plus a
/// `spec.traffic` block (indented YAML, may be empty).
pub fn split_manifest(target: &str, traffic: &str) -> String {
    format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: split
spec:
  template:
    spec:
      containers:
        - command: [\"python3\", \"examples/hello.py\"]
          env:
            - name: TARGET
              value: {target}
{traffic}"
    )
}
