//! The supervisor against real processes: readiness, env, probes, restarts,
//! scale-down signals, process groups and rollouts.

#[path = "support/fixture.rs"]
mod fixture;

use std::time::Duration;

use fixture::{alive, fixture_spec, get, pids_in, read_pid, sh, try_get, wait_dead, wait_for};
use runner::{ProbeAction, ReplicaSpec, SpecError, Supervisor, SupervisorError};
use tokio::time::Instant;

const STARTUP: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_replica_serves_on_its_port_with_its_env() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let spec = fixture_spec(&[("GREETING", "hello"), ("K_SERVICE", "fn")]);
    let mut status = supervisor.set_replicas("default/hello", spec, 1).unwrap();

    let ready = wait_for(&mut status, STARTUP, |s| s.ready_replicas == 1).await;
    assert_eq!(ready.replicas, 1);
    let addr = ready.ready_endpoints[0];
    assert!(addr.ip().is_loopback());
    assert_eq!(get(addr, "/env/GREETING").await, (200, "hello".into()));
    assert_eq!(get(addr, "/env/K_SERVICE").await, (200, "fn".into()));
    assert_eq!(get(addr, "/env/PORT").await, (200, addr.port().to_string()));
    assert_eq!(supervisor.keys(), ["default/hello"]);

    supervisor.shutdown().await;
    assert!(supervisor.status("default/hello").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_probe_path_decides_readiness() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let probed = |path: &str| {
        let mut spec = fixture_spec(&[("READY_PATH", "/healthz")]);
        spec.readiness.action = ProbeAction::HttpGet {
            path: path.into(),
            port: None,
            headers: vec![("X-Probe".into(), "yes".into())],
        };
        spec
    };
    let mut good = supervisor
        .set_replicas("ns/good", probed("/healthz"), 1)
        .unwrap();
    let mut bad = supervisor.set_replicas("ns/bad", probed("/"), 1).unwrap();

    let ready = wait_for(&mut good, STARTUP, |s| s.ready_replicas == 1).await;
    assert_eq!(get(ready.ready_endpoints[0], "/").await.0, 500);
    // The fixture answers /healthz as soon as it listens; give the other
    // replica ample time to (wrongly) become ready.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let bad_status = bad.borrow_and_update().clone();
    assert_eq!((bad_status.replicas, bad_status.ready_replicas), (1, 0));

    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_replica_restarts_with_growing_backoff() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let spec = sh("echo starting; echo 'fatal: config missing' >&2; exit 3");
    let mut status = supervisor.set_replicas("ns/crash", spec, 1).unwrap();

    // When each restart count was first seen.
    let mut seen: Vec<(u32, Instant)> = Vec::new();
    while seen.len() < 4 {
        let s = wait_for(&mut status, STARTUP, |s| {
            s.last_failure
                .as_ref()
                .is_some_and(|f| seen.last().is_none_or(|(r, _)| f.restarts > *r))
        })
        .await;
        let failure = s.last_failure.unwrap();
        assert_eq!(failure.exit_code, Some(3));
        assert_eq!(failure.signal, None);
        assert_eq!(
            failure.last_stderr_line.as_deref(),
            Some("fatal: config missing")
        );
        assert_eq!(s.ready_replicas, 0);
        seen.push((failure.restarts, Instant::now()));
    }
    let restarts: Vec<u32> = seen.iter().map(|(r, _)| *r).collect();
    assert_eq!(restarts, [0, 1, 2, 3]);
    let gaps: Vec<Duration> = seen.windows(2).map(|w| w[1].1 - w[0].1).collect();
    // Delays are 100, 200, 400 ms (plus a process start each).
    assert!(gaps[0] >= Duration::from_millis(90), "{gaps:?}");
    assert!(gaps[1] > gaps[0] && gaps[2] > gaps[1], "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(390), "{gaps:?}");

    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exits_by_signal_and_unknown_commands_are_reported() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let mut killed = supervisor
        .set_replicas("ns/killed", sh("kill -9 $$"), 1)
        .unwrap();
    let missing = ReplicaSpec::new(vec!["/no/such/binary".into()]).unwrap();
    let mut unknown = supervisor.set_replicas("ns/unknown", missing, 1).unwrap();

    let s = wait_for(&mut killed, STARTUP, |s| s.last_failure.is_some()).await;
    let failure = s.last_failure.unwrap();
    assert_eq!((failure.exit_code, failure.signal), (None, Some(9)));

    let s = wait_for(&mut unknown, STARTUP, |s| s.last_failure.is_some()).await;
    let failure = s.last_failure.unwrap();
    assert_eq!(failure.exit_code, Some(127));
    let line = failure.last_stderr_line.unwrap();
    assert!(line.contains("/no/such/binary"), "{line}");

    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_to_zero_sends_sigterm() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir_env = dir.path().to_str().unwrap();
    let spec = fixture_spec(&[("FIXTURE_PID_DIR", dir_env)]);
    let mut status = supervisor.set_replicas("ns/two", spec.clone(), 2).unwrap();
    let ready = wait_for(&mut status, STARTUP, |s| s.ready_replicas == 2).await;
    assert_eq!(ready.ready_endpoints.len(), 2);
    assert_ne!(ready.ready_endpoints[0], ready.ready_endpoints[1]);
    let pids = pids_in(dir.path());
    assert_eq!(pids.len(), 2);

    supervisor.set_replicas("ns/two", spec, 0).unwrap();
    let s = wait_for(&mut status, Duration::from_secs(1), |s| s.replicas == 0).await;
    assert!(s.ready_endpoints.is_empty());
    for pid in pids {
        wait_dead(pid, Duration::from_secs(5)).await;
        assert!(
            dir.path().join(format!("{pid}.term")).exists(),
            "no SIGTERM seen by {pid}"
        );
    }
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_ignoring_sigterm_is_killed_after_the_grace_period() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let child_file = dir.path().join("child.pid");
    let mut spec = fixture_spec(&[
        ("FIXTURE_PID_DIR", dir.path().to_str().unwrap()),
        ("FIXTURE_IGNORE_TERM", "1"),
        ("FIXTURE_CHILD_PID_FILE", child_file.to_str().unwrap()),
    ]);
    spec.termination_grace_period = Duration::from_millis(500);
    let mut status = supervisor.set_replicas("ns/stubborn", spec, 1).unwrap();
    wait_for(&mut status, STARTUP, |s| s.ready_replicas == 1).await;
    let pid = pids_in(dir.path())[0];
    let child = read_pid(&child_file, STARTUP).await;
    assert!(alive(pid) && alive(child));

    let started = Instant::now();
    assert!(supervisor.remove("ns/stubborn").await);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(!alive(pid));
    // The replica's own child, in its process group, is gone too.
    wait_dead(child, Duration::from_secs(1)).await;
    assert!(!supervisor.remove("ns/stubborn").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_die_when_the_replica_exits_by_itself() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let child_file = dir.path().join("child.pid");
    let script = format!(
        "sleep 1000 & echo $! > {0}.tmp && mv {0}.tmp {0}; sleep 0.3; exit 1",
        child_file.display()
    );
    let mut status = supervisor
        .set_replicas("ns/forker", sh(&script), 1)
        .unwrap();
    let child = read_pid(&child_file, STARTUP).await;
    wait_for(&mut status, STARTUP, |s| s.last_failure.is_some()).await;
    wait_dead(child, Duration::from_secs(1)).await;
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_change_is_make_before_break() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let v1 = fixture_spec(&[("VERSION", "1")]);
    let mut status = supervisor.set_replicas("ns/roll", v1, 2).unwrap();
    wait_for(&mut status, STARTUP, |s| s.ready_replicas == 2).await;

    let v2 = fixture_spec(&[("VERSION", "2")]);
    supervisor.set_replicas("ns/roll", v2, 2).unwrap();
    let deadline = Instant::now() + STARTUP;
    let mut saw_surge = false;
    loop {
        let s = status.borrow_and_update().clone();
        assert!(
            s.ready_replicas >= 2,
            "capacity dropped during rollout: {s:?}"
        );
        saw_surge |= s.replicas > 2;
        let mut versions = Vec::new();
        for addr in &s.ready_endpoints {
            // An endpoint being replaced may vanish between status and GET.
            if let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr))
                    .await
            {
                drop(stream);
                // ... or be stopped while answering.
                if let Some((_, version)) = try_get(*addr, "/env/VERSION").await {
                    versions.push(version);
                }
            }
        }
        if s.replicas == 2 && versions == ["2", "2"] {
            break;
        }
        assert!(Instant::now() < deadline, "rollout did not finish: {s:?}");
        let _ = tokio::time::timeout(Duration::from_secs(1), status.changed()).await;
    }
    assert!(saw_surge, "new replicas should start before old ones stop");
    supervisor.shutdown().await;
}

#[tokio::test]
async fn invalid_specs_and_a_missing_setpriv_are_typed_errors() {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let mut spec = sh("true");
    spec.command.clear();
    let err = supervisor.set_replicas("ns/none", spec, 1).unwrap_err();
    assert!(matches!(
        err,
        SupervisorError::InvalidSpec(SpecError::MissingCommand)
    ));
    assert!(err.to_string().contains("no command"), "{err}");
    assert!(supervisor.status("ns/none").is_none());

    let err = Supervisor::with_setpriv("/no/setpriv", std::env::temp_dir()).unwrap_err();
    assert!(matches!(err, SupervisorError::SetprivMissing(_)));

    supervisor.shutdown().await;
    let err = supervisor
        .set_replicas("ns/late", sh("true"), 1)
        .unwrap_err();
    assert!(matches!(err, SupervisorError::ShutDown));
}
