//! A replica must not outlive the runner, even when the runner is killed with
//! SIGKILL and gets no chance to clean up. The test re-runs this test binary
//! as the "runner" (the ignored `orphan_helper` test), kills it with SIGKILL
//! and checks that its replica is gone.

#[path = "support/fixture.rs"]
mod fixture;

use std::process::Stdio;
use std::time::Duration;

use fixture::{alive, fixture_spec, read_pid, wait_dead, wait_for};
use runner::Supervisor;

const HELPER_ENV: &str = "FNMESH_RUNNER_ORPHAN_HELPER_PID_FILE";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_die_when_the_runner_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("replica.pid");
    let mut helper = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["orphan_helper", "--exact", "--ignored", "--nocapture"])
        .env(HELPER_ENV, &pid_file)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let replica = read_pid(&pid_file, Duration::from_secs(20)).await;
    assert!(alive(replica));
    helper.kill().await.unwrap(); // SIGKILL: no cleanup in the helper runs
    wait_dead(replica, Duration::from_secs(1)).await;
}

/// The "runner" for the test above: starts one replica, publishes its pid
/// once ready, and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper process for replicas_die_when_the_runner_is_killed"]
async fn orphan_helper() {
    let Some(pid_file) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = fixture_spec(&[("FIXTURE_PID_DIR", dir.path().to_str().unwrap())]);
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let mut status = supervisor.set_replicas("ns/orphan", spec, 1).unwrap();
    wait_for(&mut status, Duration::from_secs(10), |s| {
        s.ready_replicas == 1
    })
    .await;
    let pid = fixture::pids_in(dir.path())[0];
    let tmp = std::path::Path::new(&pid_file).with_extension("tmp");
    std::fs::write(&tmp, pid.to_string()).unwrap();
    std::fs::rename(&tmp, &pid_file).unwrap();
    std::future::pending::<()>().await;
}
