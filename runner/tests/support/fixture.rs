//! Helpers shared by the runner's process tests.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use runner::{ProbeAction, ReplicaSetStatus, ReplicaSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

pub fn fixture_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replica.py")
}

/// The fixture replica with `env`, probed over HTTP on `/`.
pub fn fixture_spec(env: &[(&str, &str)]) -> ReplicaSpec {
    let mut spec = ReplicaSpec::new(vec![
        "python3".into(),
        fixture_script().display().to_string(),
    ])
    .unwrap();
    spec.env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    spec.readiness.action = ProbeAction::HttpGet {
        path: "/".into(),
        port: None,
        headers: vec![],
    };
    spec.readiness.period = Duration::from_millis(200);
    spec.termination_grace_period = Duration::from_secs(5);
    spec
}

pub fn sh(script: &str) -> ReplicaSpec {
    ReplicaSpec::new(vec!["sh".into(), "-c".into(), script.into()]).unwrap()
}

/// Waits until the status satisfies `done`, returning it.
pub async fn wait_for(
    status: &mut watch::Receiver<ReplicaSetStatus>,
    within: Duration,
    done: impl FnMut(&ReplicaSetStatus) -> bool,
) -> ReplicaSetStatus {
    let waited = tokio::time::timeout(within, status.wait_for(done))
        .await
        .map(|r| r.map(|s| s.clone()));
    match waited {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => panic!("replica set went away"),
        Err(_) => panic!("timed out; last status: {:?}", *status.borrow()),
    }
}

/// `GET path` over HTTP/1.0; returns (status code, body).
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (code, body)
}

/// Like [`get`], but `None` instead of a panic if the connection fails
/// (a replica being replaced may close it mid-request).
pub async fn try_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let code = response.get(9..12)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((code, body))
}

/// Whether `pid` is alive: present in /proc and not a zombie (a reparented
/// grandchild may never be reaped in a container).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            state != Some(Some('Z'))
        }
        Err(_) => false,
    }
}

pub async fn wait_dead(pid: i32, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while alive(pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "process {pid} still alive after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads a pid file, waiting for it to appear.
pub async fn read_pid(path: &Path, within: Duration) -> i32 {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text.trim().parse().unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no pid file {path:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The pids that wrote `DIR/<pid>` files (see the fixture).
pub fn pids_in(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}
