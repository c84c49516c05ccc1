//! Two `fnmesh controller` processes against one API (with the runner), as two replicas
//! of the controller: they elect a leader on the `fnmesh-controller` Lease, the other
//! takes over when the leader is killed with SIGKILL (after the lease runs out) and acts,
//! and a leader stopped cleanly hands the Lease over at once.
// Processes and kubectl, driven synchronously: there is no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fnmesh, bin, eventually, read_banner, service_yaml};

const LEASE: &str = "fnmesh-controller";

/// `fnmesh controller` as the replica `name` (its identity and its instance).
fn controller(api: &Fnmesh, name: &str) -> Child {
    let mut child = Command::new(bin())
        .arg("controller")
        .arg("--kubeconfig")
        .arg(api.kubeconfig())
        .args(["--xds-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
        .args(["--identity", name, "--instance", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn fnmesh controller {name}: {e}"));
    read_banner(&mut child, &format!("fnmesh controller {name}"));
    child
}

/// The single-node kubelet, so Revisions get ready replicas.
fn runner(api: &Fnmesh) -> Child {
    let mut child = Command::new(bin())
        .arg("runner")
        .arg("--kubeconfig")
        .arg(api.kubeconfig())
        .arg("--data-dir")
        .arg(api.data_dir.join("runner"))
        // The example manifests name their functions relative to the repository root.
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn fnmesh runner");
    read_banner(&mut child, "fnmesh runner");
    child
}

/// The Lease's holder (empty when released) and its transitions.
fn lease(api: &Fnmesh) -> Option<(String, i64)> {
    let out = api.kubectl(&["get", "lease", LEASE, "-n", "knative-serving", "-o", "json"]);
    let lease: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let spec = &lease["spec"];
    Some((
        spec["holderIdentity"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        spec["leaseTransitions"].as_i64().unwrap_or(0),
    ))
}

fn held_by(api: &Fnmesh, candidates: &[&str], within: Duration) -> (String, i64) {
    eventually(
        within,
        &format!("one of {candidates:?} holding {LEASE}"),
        || lease(api).filter(|(holder, _)| candidates.contains(&holder.as_str())),
    )
}

fn serve(api: &Fnmesh, name: &str) {
    api.apply(&service_yaml(name, ""));
    api.kubectl_ok(&[
        "wait",
        &format!("ksvc/{name}"),
        "--for=condition=Ready",
        "--timeout=90s",
    ]);
}

fn stop(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn two_controller_processes_elect_one_leader_and_hand_over() {
    let api = Fnmesh::start_api_only();
    let _runner = Killed(runner(&api));
    let mut replicas = vec![
        ("controller-a", Killed(controller(&api, "controller-a"))),
        ("controller-b", Killed(controller(&api, "controller-b"))),
    ];

    let (leader, transitions) = held_by(
        &api,
        &["controller-a", "controller-b"],
        Duration::from_secs(30),
    );
    assert_eq!(transitions, 0);
    serve(&api, "one");

    // The leader dies without a word: the other waits out the lease (15 s after the
    // last renewal it saw), takes it, and acts.
    let index = replicas.iter().position(|(n, _)| *n == leader).unwrap();
    let (_, mut dead) = replicas.remove(index);
    let killed = Instant::now();
    stop(&mut dead.0, "-KILL");
    let follower = replicas[0].0;
    let (holder, transitions) = held_by(&api, &[follower], Duration::from_secs(40));
    let took = killed.elapsed();
    assert_eq!((holder.as_str(), transitions), (follower, 1));
    assert!(
        took >= Duration::from_secs(10) && took <= Duration::from_secs(25),
        "took the lease {took:?} after the leader was killed"
    );
    serve(&api, "two");
    let revisions = api.kubectl_ok(&["get", "revisions", "-o", "name"]);
    let mut revisions: Vec<&str> = revisions.lines().collect();
    revisions.sort_unstable();
    assert_eq!(
        revisions,
        [
            "revision.serving.knative.dev/one-00001",
            "revision.serving.knative.dev/two-00001"
        ]
    );

    // A third replica joins; the leader stops cleanly and releases the Lease, so the
    // newcomer takes over at once instead of after the lease duration.
    replicas.push(("controller-c", Killed(controller(&api, "controller-c"))));
    let stopped = Instant::now();
    stop(&mut replicas[0].1.0, "-TERM");
    let (holder, transitions) = held_by(&api, &["controller-c"], Duration::from_secs(30));
    let took = stopped.elapsed();
    assert_eq!((holder.as_str(), transitions), ("controller-c", 2));
    assert!(
        took < Duration::from_secs(8),
        "took a released lease {took:?} after the clean stop"
    );
    serve(&api, "three");
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
