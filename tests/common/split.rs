//! Cluster mode on one machine: the embedded API server and the other five components
//! (`fnmesh controller`, `autoscaler`, `activator`, `gateway`, `runner`) as separate
//! processes, each told only the kubeconfig; they find each other through the API.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::restart::address;
use super::{Banner, Fnmesh, bin, read_banner};

/// The components besides the API, in start order.
pub const COMPONENTS: [&str; 5] = ["controller", "autoscaler", "activator", "gateway", "runner"];

/// Six processes; every one is killed when dropped.
pub struct Split {
    /// The API server (and the kubectl helpers, which only need its kubeconfig).
    pub api: Fnmesh,
    running: BTreeMap<&'static str, (Child, Banner)>,
}

impl Split {
    pub fn start() -> Self {
        let mut split = Self::api_only();
        for component in COMPONENTS {
            split.start_component(component);
        }
        split
    }

    /// The API server alone; start components with [`Split::start_component`].
    pub fn api_only() -> Self {
        Split {
            api: Fnmesh::start_api_only(),
            running: BTreeMap::new(),
        }
    }

    /// Starts `component` (again) on fresh loopback ports; returns its banner.
    pub fn start_component(&mut self, component: &'static str) -> Banner {
        let listen: Vec<String> = match component {
            "controller" => vec!["--xds-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"],
            "autoscaler" => vec![
                "--stats-addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
            ],
            "activator" | "gateway" => vec![
                "--http-addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
            ],
            "runner" => vec![],
            other => panic!("no component {other}"),
        }
        .into_iter()
        .map(str::to_owned)
        .collect();
        self.start_component_listening(component, &listen)
    }

    /// SIGKILL of `component`, then the same component again on the addresses it had,
    /// as a supervisor restarts a crashed process; returns when the new one was
    /// spawned (to measure recovery from) and its banner.
    pub fn kill9_and_restart(&mut self, component: &'static str) -> (Instant, Banner) {
        let (_, banner) = self
            .running
            .get(component)
            .unwrap_or_else(|| panic!("{component} is not running"));
        let at = |key: &str| address(&banner[key]);
        let listen: Vec<String> = match component {
            "controller" => vec!["--xds-addr".into(), at("xDS")],
            "autoscaler" => vec!["--stats-addr".into(), at("stats")],
            "activator" => vec!["--http-addr".into(), at("activator")],
            "gateway" => vec!["--http-addr".into(), at("ingress")],
            _ => vec![],
        };
        let metrics = banner.get("metrics").map(|m| address(m));
        let mut listen = listen;
        if let Some(metrics) = metrics {
            listen.extend(["--metrics-addr".into(), metrics]);
        }
        self.kill9(component);
        let spawned = Instant::now();
        let banner = self.start_component_listening(component, &listen);
        (spawned, banner)
    }

    /// SIGKILL of the API server, then `fnmesh apiserver` again on its data dir and
    /// address; returns when it was spawned.
    pub fn kill9_and_restart_api(&mut self) -> Instant {
        self.api.kill9();
        self.api.restart_on_same_addresses()
    }

    fn start_component_listening(&mut self, component: &'static str, listen: &[String]) -> Banner {
        assert!(
            !self.running.contains_key(component),
            "{component} is already running"
        );
        let mut command = Command::new(bin());
        command
            .arg(component)
            .arg("--kubeconfig")
            .arg(self.api.kubeconfig())
            .args(listen);
        if component == "runner" {
            command
                .arg("--data-dir")
                .arg(self.api.data_dir.join("runner"));
        }
        let mut child = command
            // Example manifests name their functions relative to the repository root.
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn fnmesh {component}: {e}"));
        let banner = read_banner(&mut child, &format!("fnmesh {component}"));
        self.running.insert(component, (child, banner.clone()));
        banner
    }

    /// The process id of a running component.
    pub fn pid(&self, component: &str) -> u32 {
        self.running
            .get(component)
            .map(|(child, _)| child.id())
            .unwrap_or_else(|| panic!("{component} is not running"))
    }

    /// SIGKILL: no clean stop, nothing withdrawn.
    pub fn kill9(&mut self, component: &str) {
        let (mut child, _) = self
            .running
            .remove(component)
            .unwrap_or_else(|| panic!("{component} is not running"));
        let _ = child.kill();
        let _ = child.wait();
    }

    /// `host:port` of the gateway's ingress (it changes when the gateway restarts).
    pub fn ingress(&self) -> String {
        self.banner("gateway", "ingress")
            .trim_start_matches("http://")
            .to_string()
    }

    pub fn banner(&self, component: &str, key: &str) -> String {
        self.running
            .get(component)
            .and_then(|(_, banner)| banner.get(key).cloned())
            .unwrap_or_else(|| panic!("{component} is not running or printed no {key}"))
    }
}

impl Drop for Split {
    fn drop(&mut self) {
        // The runner first, so its replicas stop with it.
        for (_, (child, _)) in self.running.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
