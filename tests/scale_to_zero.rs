//! Scale to zero and back, through the real `fnmesh up`, kubectl and function
//! processes: an idle service loses its last replica, requests at zero are held and
//! answered, containerConcurrency holds per replica while load spreads over several,
//! a revision's timeout cuts a slow request, a function that cannot start fails the
//! held requests promptly, `initial-scale: 0` is ready with nothing running, and a
//! revision no route references goes to zero.
//!
//! Every test sets `stable-window: 6s` and `scale-to-zero-grace-period: 6s` in
//! `config-autoscaler` (Knative's minimums) so that idling takes seconds, not minutes.
// Real processes and real time, measured from outside: no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Fnmesh, eventually, service_yaml_running};
use serde_json::Value;

fn start() -> Fnmesh {
    Fnmesh::start_fast_idle()
}

/// One request on its own connection: (status, body, how long it took).
fn get(ingress: &str, host: &str, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let Ok(mut stream) = TcpStream::connect(ingress) else {
        return (0, String::new(), started.elapsed());
    };
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new(), started.elapsed());
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body, started.elapsed())
}

/// Deploys `tests/functions/slow_counter.py` as `name` (`extra_spec` appended to the
/// container, YAML-indented) and waits until the Service is Ready.
fn deploy_counter(f: &Fnmesh, name: &str, extra_spec: &str) {
    f.apply(&service_yaml_running(
        name,
        "tests/functions/slow_counter.py",
        extra_spec,
    ));
    wait_ready(f, "ksvc", name);
}

fn host(service: &str) -> String {
    format!("{service}.default.example.com")
}

/// `kubectl get … -o json`, or `Null` while the object does not exist (yet).
fn json(f: &Fnmesh, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = f.kubectl(&all);
    if !out.status.success() {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn wait_ready(f: &Fnmesh, kind: &str, name: &str) -> Value {
    eventually(
        Duration::from_secs(60),
        &format!("{kind} {name} ready"),
        || {
            let object = json(f, &["get", kind, name]);
            (condition(&object, "Ready")?["status"] == "True").then_some(object)
        },
    )
}

fn replicas(f: &Fnmesh, revision: &str) -> (i64, i64) {
    f.revision_replicas(revision)
}

/// How many processes run `marker` in their command line (the function's replicas).
fn processes_running(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmdline| {
            let text = String::from_utf8_lossy(cmdline).replace('\0', " ");
            text.contains(marker) && !text.contains("setpriv")
        })
        .count()
}

#[test]
fn an_idle_service_scales_to_zero_and_fifty_requests_at_zero_are_all_answered() {
    let f = start();
    // A marker unique to this test's replicas, so other tests' processes do not count.
    let marker = format!("--idle-marker-{}", std::process::id());
    deploy_counter(&f, "idle", &format!("          args: [\"{marker}\"]\n"));
    let (status, _, _) = get(&f.ingress, &host("idle"), "/");
    assert_eq!(status, 200);

    // stable window (6 s) to decide it is idle + grace period (6 s) behind the activator.
    let idle_since = Instant::now();
    eventually(Duration::from_secs(40), "no replica left", || {
        (processes_running(&marker) == 0 && replicas(&f, "idle-00001") == (0, 0)).then_some(())
    });
    let to_zero = idle_since.elapsed();
    // 6 s to see it idle + 6 s grace behind the activator + up to one 2 s tick, and the
    // last replica's drain (nothing holds a connection to it any more).
    assert!(
        to_zero < Duration::from_secs(20),
        "took {to_zero:?} to scale to zero"
    );
    let rev = json(&f, &["get", "revision", "idle-00001"]);
    let active = condition(&rev, "Active").expect("Active condition");
    assert_eq!(active["status"], "False", "{rev}");
    assert_eq!(active["reason"], "NoTraffic", "{rev}");
    assert_eq!(
        condition(&rev, "Ready").unwrap()["status"],
        "True",
        "still ready at zero: {rev}"
    );

    // Fifty at once, at zero: held by the activator and all answered.
    let ingress = f.ingress.clone();
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let ingress = ingress.clone();
            std::thread::spawn(move || get(&ingress, &host("idle"), "/?sleep=50"))
        })
        .collect();
    let results: Vec<(u16, String, Duration)> =
        clients.into_iter().map(|c| c.join().unwrap()).collect();
    let failed: Vec<_> = results.iter().filter(|(s, _, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of 50 failed: {failed:?}",
        failed.len()
    );
    assert!(processes_running(&marker) >= 1);

    // Both trips are told as Events on the revision.
    let reasons = eventually(Duration::from_secs(10), "scale events", || {
        let events = json(
            &f,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=idle-00001",
            ],
        );
        let reasons: Vec<String> = events["items"]
            .as_array()?
            .iter()
            .filter_map(|e| e["reason"].as_str().map(str::to_owned))
            .collect();
        let both = ["ScaledToZero", "ScaledFromZero"]
            .iter()
            .all(|r| reasons.iter().any(|have| have == r));
        both.then_some(reasons)
    });
    assert!(reasons.iter().any(|r| r == "RevisionReady"), "{reasons:?}");
}

#[test]
fn container_concurrency_one_holds_per_replica_and_load_spreads() {
    let f = start();
    deploy_counter(&f, "single", "      containerConcurrency: 1\n");
    // Five clients, each sending requests back to back for a while.
    let results: Vec<(u16, String, Duration)> =
        load(&f.ingress, "single", 5, 200, Duration::from_secs(12))
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
    let failed: Vec<_> = results.iter().filter(|(s, _, _)| *s != 200).collect();
    assert!(failed.is_empty(), "failed: {failed:?}");
    let field = |body: &str, key: &str| {
        body.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_default()
            .to_owned()
    };
    let most = results
        .iter()
        .map(|(_, body, _)| field(body, "most=").parse::<u32>().unwrap_or(99))
        .max()
        .unwrap();
    assert_eq!(most, 1, "a replica saw {most} requests at once");
    let pids: std::collections::BTreeSet<String> = results
        .iter()
        .map(|(_, body, _)| field(body, "pid="))
        .collect();
    assert!(
        pids.len() > 1,
        "all {} requests went to one replica",
        results.len()
    );
}

#[test]
fn a_revision_timeout_cuts_a_slow_request_with_504() {
    let f = start();
    deploy_counter(&f, "slow", "      timeoutSeconds: 2\n");
    let (status, body, took) = get(&f.ingress, &host("slow"), "/?sleep=5000");
    assert_eq!(status, 504, "{body}");
    assert!(took >= Duration::from_secs(2), "answered after {took:?}");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
}

#[test]
fn a_function_that_cannot_start_fails_held_requests_promptly() {
    let f = start();
    let manifest = "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: broken
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: \"0\"
    spec:
      containers:
        - command: [\"sh\", \"-c\", \"echo 'cannot open database' >&2; exit 3\"]
";
    f.apply(manifest);
    wait_ready(&f, "ksvc", "broken");
    let (status, body, took) = get(&f.ingress, &host("broken"), "/");
    assert!(status == 502 || status == 503, "{status}: {body}");
    assert!(
        body.contains("cannot open database") || body.contains("ExitCode3"),
        "{body}"
    );
    assert!(took < Duration::from_secs(10), "answered after {took:?}");
}

#[test]
fn zero_initial_scale_is_ready_with_nothing_running_and_wakes_on_the_first_request() {
    let f = start();
    let marker = format!("--initial-zero-{}", std::process::id());
    let manifest = format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: lazy
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: \"0\"
    spec:
      containers:
        - command: [\"python3\", \"tests/functions/slow_counter.py\", \"{marker}\"]
"
    );
    f.apply(&manifest);
    let svc = wait_ready(&f, "ksvc", "lazy");
    assert_eq!(processes_running(&marker), 0, "{svc}");
    let rev = json(&f, &["get", "revision", "lazy-00001"]);
    assert_eq!(
        condition(&rev, "Active").unwrap()["status"],
        "False",
        "{rev}"
    );
    let (status, body, _) = get(&f.ingress, &host("lazy"), "/");
    assert_eq!(status, 200, "{body}");
    assert_eq!(processes_running(&marker), 1);
}

#[test]
fn a_revision_no_route_references_scales_to_zero() {
    let f = start();
    let marker = format!("--old-revision-{}", std::process::id());
    let manifest = |target: &str| {
        format!(
            "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: old
spec:
  template:
    spec:
      containers:
        - command: [\"python3\", \"tests/functions/slow_counter.py\", \"{marker}\"]
          env:
            - name: TARGET
              value: {target}
"
        )
    };
    f.apply(&manifest("one"));
    wait_ready(&f, "revision", "old-00001");
    f.apply(&manifest("two"));
    wait_ready(&f, "revision", "old-00002");
    eventually(Duration::from_secs(40), "old-00001 at zero", || {
        (replicas(&f, "old-00001") == (0, 0)).then_some(())
    });
    // The routed revision keeps serving.
    let (status, _, _) = get(&f.ingress, &host("old"), "/");
    assert_eq!(status, 200);
}

/// Clients sending `/?sleep=MS` back to back for `for_how_long`; every response.
fn load(
    ingress: &str,
    service: &str,
    clients: usize,
    sleep_ms: u32,
    for_how_long: Duration,
) -> Vec<std::thread::JoinHandle<Vec<(u16, String, Duration)>>> {
    (0..clients)
        .map(|_| {
            let ingress = ingress.to_owned();
            let host = host(service);
            std::thread::spawn(move || {
                let until = Instant::now() + for_how_long;
                let mut seen = Vec::new();
                while Instant::now() < until {
                    seen.push(get(&ingress, &host, &format!("/?sleep={sleep_ms}")));
                }
                seen
            })
        })
        .collect()
}

#[test]
fn scaling_down_under_load_fails_no_request() {
    let f = start();
    // One request per replica as the target, and no activator in the path: the
    // replicas the autoscaler removes are the ones the gateway was sending to.
    let manifest = "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: shrink
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/target: \"1\"
        autoscaling.knative.dev/target-burst-capacity: \"0\"
    spec:
      containers:
        - command: [\"python3\", \"tests/functions/slow_counter.py\"]
";
    f.apply(manifest);
    wait_ready(&f, "ksvc", "shrink");
    let busy = load(&f.ingress, "shrink", 6, 300, Duration::from_secs(10));
    let mut results: Vec<(u16, String, Duration)> =
        busy.into_iter().flat_map(|c| c.join().unwrap()).collect();
    let peak = replicas(&f, "shrink-00001").0;
    assert!(peak > 1, "six clients at target 1 gave {peak} replicas");
    // Less load: the autoscaler removes replicas while requests are in flight.
    let quiet = load(&f.ingress, "shrink", 1, 500, Duration::from_secs(16));
    results.extend(quiet.into_iter().flat_map(|c| c.join().unwrap()));
    let after = replicas(&f, "shrink-00001").0;
    assert!(after < peak, "still {after} replicas of {peak}");
    let failed: Vec<_> = results.iter().filter(|(s, _, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed while scaling {peak} → {after}: {failed:?}",
        failed.len(),
        results.len()
    );
}
