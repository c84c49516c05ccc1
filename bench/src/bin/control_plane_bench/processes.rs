//! The six processes, and what the benchmark reads of each from /proc.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;

const COMPONENTS: [&str; 5] = ["controller", "autoscaler", "activator", "gateway", "runner"];

pub(crate) struct Split {
    processes: BTreeMap<&'static str, (Child, BTreeMap<String, String>)>,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

/// One process's CPU time and memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    pub(crate) cpu_seconds: f64,
    pub(crate) rss_kib: u64,
    pub(crate) peak_kib: u64,
    pub(crate) threads: u64,
    /// Established TCP connections (to the API, for a client; from its clients, for it).
    pub(crate) connections: usize,
}

impl Split {
    pub(crate) fn start(bin: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut split = Self {
            processes: BTreeMap::new(),
            kubeconfig: dir.path().join("kubeconfig"),
            _dir: dir,
        };
        let data = split._dir.path().to_path_buf();
        split.spawn(
            bin,
            "apiserver",
            &["--api-addr", "127.0.0.1:0", "--data-dir", path(&data)?],
        )?;
        split.kubectl_apply(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: knative-serving}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: config-autoscaler, namespace: knative-serving}\ndata:\n  allow-zero-initial-scale: \"true\"\n",
        )?;
        let kubeconfig = split.kubeconfig.clone();
        let runner_dir = data.join("runner");
        for component in COMPONENTS {
            let mut flags = vec!["--kubeconfig", path(&kubeconfig)?];
            let listen = match component {
                "controller" => "--xds-addr",
                "autoscaler" => "--stats-addr",
                "activator" | "gateway" => "--http-addr",
                _ => "",
            };
            if listen.is_empty() {
                flags.extend(["--data-dir", path(&runner_dir)?]);
            } else {
                flags.extend([listen, "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"]);
            }
            split.spawn(bin, component, &flags)?;
        }
        Ok(split)
    }

    fn spawn(&mut self, bin: &Path, component: &'static str, flags: &[&str]) -> anyhow::Result<()> {
        let mut child = Command::new(bin)
            .arg(component)
            .args(flags)
            // `CONTROL_PLANE_BENCH_LOG=controller=debug` (any RUST_LOG filter) shows what
            // a component does; its stderr is `<component>.err` in the temp dir.
            .env(
                "RUST_LOG",
                std::env::var("CONTROL_PLANE_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(
                self._dir.path().join(format!("{component}.err")),
            )?)
            .spawn()
            .with_context(|| format!("starting fnmesh {component}"))?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Keep draining stdout so a component never writes into a closed pipe.
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
        let mut banner = BTreeMap::new();
        while !banner.contains_key("try") {
            let (k, v) = rx
                .recv_timeout(Duration::from_secs(30))
                .with_context(|| format!("fnmesh {component} printed no banner"))?;
            banner.insert(k, v);
        }
        self.processes.insert(component, (child, banner));
        Ok(())
    }

    fn kubectl_apply(&self, manifest: &str) -> anyhow::Result<()> {
        use std::io::Write as _;
        let mut child = Command::new("kubectl")
            .args(["apply", "-f", "-"])
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("kubectl")?;
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(manifest.as_bytes())?;
        anyhow::ensure!(child.wait()?.success(), "kubectl apply failed");
        Ok(())
    }

    pub(crate) async fn client(&self) -> anyhow::Result<kube::Client> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    pub(crate) fn xds_addr(&self) -> String {
        self.processes["controller"]
            .1
            .get("xDS")
            .cloned()
            .unwrap_or_default()
    }

    /// Every process's usage now.
    pub(crate) fn usage(&self) -> BTreeMap<&'static str, Usage> {
        self.processes
            .iter()
            .filter_map(|(name, (child, _))| Some((*name, usage(child.id()).ok()?)))
            .collect()
    }
}

impl Drop for Split {
    fn drop(&mut self) {
        for (child, _) in self.processes.values_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str().context("a non-UTF-8 temp path")
}

fn usage(pid: u32) -> anyhow::Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').context("stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    // USER_HZ is 100 on Linux.
    Ok(Usage {
        cpu_seconds: ticks / 100.0,
        rss_kib: field("VmRSS:"),
        peak_kib: field("VmHWM:"),
        threads: field("Threads:"),
        connections: established(pid),
    })
}

/// The process's sockets that `/proc/<pid>/net/tcp{,6}` lists as ESTABLISHED (state 01).
fn established(pid: u32) -> usize {
    let owned: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| {
            let target = std::fs::read_link(fd.path()).ok()?;
            let inode = target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?;
            Some(inode.to_owned())
        })
        .collect();
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok())
        .map(|text| {
            text.lines()
                .skip(1)
                .filter(|line| {
                    // `sl local_address rem_address st … inode`: the inode is field 9.
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.len() > 9 && fields[3] == "01" && owned.contains(fields[9])
                })
                .count()
        })
        .sum()
}
