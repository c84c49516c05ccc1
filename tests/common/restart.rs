//! Starting `fnmesh up` (or `fnmesh apiserver`) again after a crash, on the same data
//! dir and the same addresses, as a supervisor (systemd, a shell loop) restarts it:
//! clients keep the ingress address and the kubeconfig they had.

use std::process::{Command, Stdio};
use std::time::Instant;

use super::{Fnmesh, bin, read_banner};

/// `host:port` of a banner value (`http://127.0.0.1:8080/metrics` → `127.0.0.1:8080`).
pub fn address(banner_value: &str) -> String {
    let rest = banner_value
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    rest.split('/').next().unwrap_or_default().to_owned()
}

impl Fnmesh {
    /// Starts the same command again on the same data dir and listeners (after
    /// [`Fnmesh::kill9`]); returns when the new process was spawned, to measure from.
    pub fn restart_on_same_addresses(&mut self) -> Instant {
        let is_up = self.banner.contains_key("ingress");
        let at = |key: &str| {
            address(
                self.banner
                    .get(key)
                    .unwrap_or_else(|| panic!("the banner printed no {key}")),
            )
        };
        let mut args: Vec<String> = if is_up {
            [
                ("up", None),
                ("--api-addr", Some("API")),
                ("--http-addr", Some("ingress")),
                ("--xds-addr", Some("xDS")),
                ("--metrics-addr", Some("metrics")),
                ("--activator-addr", Some("activator")),
                ("--autoscaler-addr", Some("autoscaler")),
            ]
            .iter()
            .flat_map(|(flag, key)| std::iter::once(flag.to_string()).chain(key.map(at)))
            .collect()
        } else {
            vec!["apiserver".into(), "--api-addr".into(), at("API")]
        };
        args.push("--data-dir".into());
        let spawned = Instant::now();
        let mut child = Command::new(bin())
            .args(&args)
            .arg(&self.data_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn fnmesh again");
        let banner = read_banner(&mut child, "the restarted fnmesh");
        self.child = child;
        self.api_url = banner.get("API").cloned().unwrap_or_default();
        if is_up {
            self.ingress = address(&banner["ingress"]);
            self.xds = banner["xDS"].clone();
        }
        self.banner = banner;
        spawned
    }
}
