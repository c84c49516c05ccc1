//! The API under concurrent writers (`fnmesh apiserver`, real HTTP, kube-rs clients):
//! optimistic concurrency loses no update (every read-modify-write either lands on the
//! version it read or gets `409 Conflict`), watches deliver every acknowledged change
//! exactly once and in resourceVersion order, and a SIGKILL in the middle of the load
//! loses no acknowledged write.
//!
//! Each writer loops: GET an object, PUT (ConfigMaps) or merge-PATCH with
//! `metadata.resourceVersion` as a precondition (a Knative Service's annotation) its
//! counter + 1, retry on 409. An acknowledged write is recorded with the counter value
//! and resourceVersion the server answered; the checks compare those records with the
//! stored objects and the watch streams.

// parking_lot is not a dependency of this crate; std's Mutex guards the test's records.
#![allow(clippy::disallowed_types)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

const NAMESPACE: &str = "default";
const WRITERS: usize = 8;
/// The label the label-selector watch selects by.
const WATCHED: &str = "fnmesh.test/watched";
const COUNT_ANNOTATION: &str = "fnmesh.test/count";

// === the apiserver process ===

/// A running `fnmesh apiserver`, killed when dropped.
struct ApiServer {
    child: Child,
    url: String,
}

impl ApiServer {
    /// Starts on `dir` (a fresh or an existing data dir) at `addr`.
    fn start(dir: &Path, addr: &str) -> Self {
        let mut child = Command::new(common::bin())
            .args(["apiserver", "--api-addr", addr, "--data-dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn fnmesh apiserver");
        let banner = common::read_banner(&mut child, "fnmesh apiserver");
        let url = banner.get("API").cloned().expect("banner names the API");
        Self { child, url }
    }

    fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in URL")
    }

    fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().expect("API URL"));
        kube::Client::try_from(config).expect("kube client")
    }

    /// SIGKILL, and reap it: no process outlives the test.
    fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL the apiserver");
        let status = self.child.wait().expect("reap the apiserver");
        assert!(!status.success(), "killed, not exited: {status}");
    }

    /// SIGTERM: a clean stop.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        let status = self.child.wait().expect("reap the apiserver");
        assert!(status.success(), "clean exit on SIGTERM: {status}");
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// === the counters ===

fn config_maps() -> ApiResource {
    ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        plural: "configmaps".into(),
    }
}

fn knative_services() -> ApiResource {
    ApiResource {
        group: "serving.knative.dev".into(),
        version: "v1".into(),
        api_version: "serving.knative.dev/v1".into(),
        kind: "Service".into(),
        plural: "services".into(),
    }
}

/// How an object holds its counter and how a writer bumps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    /// `data.count`, written with PUT.
    ConfigMap,
    /// The `fnmesh.test/count` annotation, written with a merge PATCH whose
    /// `metadata.resourceVersion` is the precondition.
    KnativeService,
}

/// One shared counter object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Target {
    kind: Kind,
    name: String,
    /// Carries the label the label-selector watch selects.
    watched: bool,
}

impl Target {
    fn config_map(name: &str, watched: bool) -> Self {
        Self {
            kind: Kind::ConfigMap,
            name: name.into(),
            watched,
        }
    }

    fn knative_service(name: &str) -> Self {
        Self {
            kind: Kind::KnativeService,
            name: name.into(),
            watched: false,
        }
    }

    fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        let ar = match self.kind {
            Kind::ConfigMap => config_maps(),
            Kind::KnativeService => knative_services(),
        };
        Api::namespaced_with(client.clone(), NAMESPACE, &ar)
    }

    fn manifest(&self) -> Value {
        let labels = if self.watched {
            json!({WATCHED: "yes"})
        } else {
            json!({WATCHED: "no"})
        };
        match self.kind {
            Kind::ConfigMap => json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": self.name, "labels": labels},
                "data": {"count": "0"},
            }),
            Kind::KnativeService => json!({
                "apiVersion": "serving.knative.dev/v1",
                "kind": "Service",
                "metadata": {
                    "name": self.name,
                    "labels": labels,
                    "annotations": {COUNT_ANNOTATION: "0"},
                },
                "spec": {"template": {"spec": {"containers": [
                    {"image": "example.com/counter:latest"}
                ]}}},
            }),
        }
    }

    async fn create(&self, client: &kube::Client) -> Ack {
        let obj: DynamicObject = serde_json::from_value(self.manifest()).expect("manifest");
        let created = self
            .api(client)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("create {}: {e}", self.name));
        self.ack(&created)
    }

    /// The counter and resourceVersion of `obj`.
    fn ack(&self, obj: &DynamicObject) -> Ack {
        Ack {
            target: self.clone(),
            count: count_of(self.kind, obj),
            rv: rv_of(obj),
        }
    }

    async fn read(&self, client: &kube::Client) -> Result<DynamicObject, kube::Error> {
        self.api(client).get(&self.name).await
    }

    /// Its counter, read again while the connection is being re-established (a pooled
    /// connection to a killed server fails once).
    async fn count_now(&self, client: &kube::Client) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.read(client).await {
                Ok(obj) => return count_of(self.kind, &obj),
                Err(e) => assert!(Instant::now() < deadline, "read {}: {e}", self.name),
            }
        }
    }

    /// Writes `count` on top of `read` (whose resourceVersion is the precondition).
    async fn write(
        &self,
        client: &kube::Client,
        read: DynamicObject,
        count: u64,
    ) -> Result<DynamicObject, kube::Error> {
        let api = self.api(client);
        match self.kind {
            Kind::ConfigMap => {
                let mut obj = read;
                obj.data["data"]["count"] = json!(count.to_string());
                api.replace(&self.name, &PostParams::default(), &obj).await
            }
            Kind::KnativeService => {
                let patch = json!({"metadata": {
                    "resourceVersion": read.metadata.resource_version,
                    "annotations": {COUNT_ANNOTATION: count.to_string()},
                }});
                api.patch(&self.name, &PatchParams::default(), &Patch::Merge(patch))
                    .await
            }
        }
    }
}

fn count_of(kind: Kind, obj: &DynamicObject) -> u64 {
    let text = match kind {
        Kind::ConfigMap => obj.data["data"]["count"].as_str(),
        Kind::KnativeService => obj
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(COUNT_ANNOTATION))
            .map(String::as_str),
    };
    text.and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{kind:?} without a counter: {obj:?}"))
}

fn rv_of(obj: &DynamicObject) -> u64 {
    obj.metadata
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .expect("a numeric resourceVersion")
}

/// An acknowledged write (or creation): what the server answered.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Ack {
    target: Target,
    count: u64,
    rv: u64,
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

// === the writers ===

/// What all writers record.
#[derive(Default)]
struct Ledger {
    acks: Mutex<Vec<Ack>>,
    /// Writes whose outcome the writer never learnt (the connection broke): they may or
    /// may not have been committed.
    unknown: Mutex<Vec<(Target, u64)>>,
    conflicts: AtomicUsize,
}

impl Ledger {
    fn acked(&self) -> usize {
        self.acks.lock().unwrap().len()
    }
}

/// Whether writers may start requests: the restart test closes it around the restart.
type Gate = watch::Receiver<bool>;

/// One writer: read-modify-write on `targets` in turn until `stop` says so.
async fn writer(
    id: usize,
    client: kube::Client,
    targets: Arc<Vec<Target>>,
    ledger: Arc<Ledger>,
    mut gate: Gate,
    stop: impl Fn(&Ledger) -> bool,
) {
    let mut turn = id;
    while !stop(&ledger) {
        let target = &targets[turn % targets.len()];
        turn += 1;
        loop {
            gate.wait_for(|open| *open).await.expect("gate");
            if stop(&ledger) {
                return;
            }
            let Ok(read) = target.read(&client).await else {
                // The server is down: wait for the gate, then read again.
                tokio::task::yield_now().await;
                continue;
            };
            let next = count_of(target.kind, &read) + 1;
            match target.write(&client, read, next).await {
                Ok(written) => {
                    let ack = target.ack(&written);
                    assert_eq!(ack.count, next, "the server stored what was written");
                    ledger.acks.lock().unwrap().push(ack);
                    break;
                }
                Err(e) if is_conflict(&e) => {
                    ledger.conflicts.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    ledger.unknown.lock().unwrap().push((target.clone(), next));
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}

fn spawn_writers(
    client: &kube::Client,
    targets: &Arc<Vec<Target>>,
    ledger: &Arc<Ledger>,
    gate: &Gate,
    stop: impl Fn(&Ledger) -> bool + Clone + Send + Sync + 'static,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..WRITERS)
        .map(|id| {
            tokio::spawn(writer(
                id,
                client.clone(),
                targets.clone(),
                ledger.clone(),
                gate.clone(),
                stop.clone(),
            ))
        })
        .collect()
}

async fn join_all(writers: Vec<tokio::task::JoinHandle<()>>) {
    for w in writers {
        w.await.expect("writer");
    }
}

/// Every acknowledged write took a resourceVersion of its own, and per object the
/// acknowledged counters are distinct: two writers never both succeeded from one read.
fn assert_acks_distinct(acks: &[Ack]) {
    let mut rvs = HashSet::new();
    let mut counts = HashSet::new();
    for a in acks {
        assert!(
            rvs.insert(a.rv),
            "two acknowledged writes share resourceVersion {}",
            a.rv
        );
        assert!(
            counts.insert((a.target.clone(), a.count)),
            "{} was acknowledged twice at count {}: a lost update",
            a.target.name,
            a.count
        );
    }
}

// === the watches ===

/// One watch's events, as (object, counter, resourceVersion) in arrival order.
#[derive(Default)]
struct Seen {
    events: Mutex<Vec<Ack>>,
}

/// Starts a watch of `ar` from `rv` and records its ADDED/MODIFIED events; any other
/// event (DELETED, ERROR) fails the test.
async fn start_watch(
    client: &kube::Client,
    ar: &ApiResource,
    kind: Kind,
    params: WatchParams,
    rv: u64,
) -> Arc<Seen> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, ar);
    let mut stream = api
        .watch(&params, &rv.to_string())
        .await
        .expect("start watch")
        .boxed();
    let seen = Arc::new(Seen::default());
    let out = seen.clone();
    tokio::spawn(async move {
        while let Some(event) = stream.try_next().await.expect("watch stream") {
            let obj = match event {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => o,
                WatchEvent::Bookmark(_) => continue,
                other => panic!("unexpected watch event {other:?}"),
            };
            let name = obj.metadata.name.clone().expect("name");
            let watched = obj.metadata.labels.as_ref().and_then(|l| l.get(WATCHED))
                == Some(&"yes".to_string());
            let ack = Ack {
                target: Target {
                    kind,
                    name,
                    watched,
                },
                count: count_of(kind, &obj),
                rv: rv_of(&obj),
            };
            out.events.lock().unwrap().push(ack);
        }
    });
    seen
}

/// Waits until the watch has delivered the fence write, then checks that what it
/// delivered before is exactly `expected`, each once, in increasing resourceVersion.
async fn assert_watch_delivers(what: &str, seen: &Seen, fence: &Ack, expected: &[Ack]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if seen.events.lock().unwrap().iter().any(|e| e.rv == fence.rv) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the fence write (resourceVersion {}) did not arrive",
            fence.rv
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let events = seen.events.lock().unwrap().clone();
    for pair in events.windows(2) {
        assert!(
            pair[0].rv < pair[1].rv,
            "{what}: resourceVersion {} came after {}",
            pair[1].rv,
            pair[0].rv
        );
    }
    let before_fence: Vec<Ack> = events
        .into_iter()
        .take_while(|e| e.rv != fence.rv)
        .collect();
    let mut want = expected.to_vec();
    want.sort_by_key(|a| a.rv);
    assert_eq!(
        before_fence.len(),
        want.len(),
        "{what}: {} events before the fence for {} acknowledged writes",
        before_fence.len(),
        want.len()
    );
    assert_eq!(
        before_fence, want,
        "{what}: the events are the acknowledged writes"
    );
}

// === the tests ===

/// Eight writers on three ConfigMaps and a Knative Service: counters equal the number of
/// acknowledged writes, 409s happen, and four watches (one per type, a label selector,
/// one resumed mid-load from a resourceVersion it had seen) each deliver exactly the
/// acknowledged writes they cover.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_lose_no_update_and_watches_see_each_write_once() {
    const WRITES: usize = 240;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ApiServer::start(dir.path(), "127.0.0.1:0");
    let client = server.client();
    let targets = Arc::new(vec![
        Target::config_map("counter-a", true),
        Target::config_map("counter-b", true),
        Target::config_map("counter-c", false),
        Target::knative_service("counter-ksvc"),
    ]);
    let mut created = Vec::new();
    for t in targets.iter() {
        created.push(t.create(&client).await);
    }
    let start_rv = created.iter().map(|a| a.rv).max().expect("created");

    let all = WatchParams::default();
    let labelled = WatchParams::default().labels(&format!("{WATCHED}=yes"));
    let cm_watch = start_watch(
        &client,
        &config_maps(),
        Kind::ConfigMap,
        all.clone(),
        start_rv,
    )
    .await;
    let ksvc_watch = start_watch(
        &client,
        &knative_services(),
        Kind::KnativeService,
        all.clone(),
        start_rv,
    )
    .await;
    let label_watch =
        start_watch(&client, &config_maps(), Kind::ConfigMap, labelled, start_rv).await;

    let ledger = Arc::new(Ledger::default());
    let (_open, gate) = watch::channel(true);
    let run = async {
        let writers = spawn_writers(&client, &targets, &ledger, &gate, |l| l.acked() >= WRITES);
        // Halfway, a watch resumes from the last resourceVersion the ConfigMap watch
        // delivered, as a client reconnecting after a dropped watch does.
        let deadline = Instant::now() + Duration::from_secs(20);
        while ledger.acked() < WRITES / 2 || cm_watch.events.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "half the writes in time");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let resume_rv = cm_watch.events.lock().unwrap().last().expect("an event").rv;
        let resumed = start_watch(
            &client,
            &config_maps(),
            Kind::ConfigMap,
            all.clone(),
            resume_rv,
        )
        .await;
        join_all(writers).await;
        (resume_rv, resumed)
    };
    let (resume_rv, resumed_watch) = tokio::time::timeout(Duration::from_secs(25), run)
        .await
        .expect("the load finished in time");

    let acks = ledger.acks.lock().unwrap().clone();
    let conflicts = ledger.conflicts.load(Ordering::Relaxed);
    assert!(
        ledger.unknown.lock().unwrap().is_empty(),
        "no request failed outright"
    );
    assert!(acks.len() >= WRITES, "{} writes acknowledged", acks.len());
    assert!(
        conflicts > 0,
        "the writers contended: no 409 in {} writes",
        acks.len()
    );
    assert_acks_distinct(&acks);
    for t in targets.iter() {
        let stored = t.count_now(&client).await;
        let successes = acks.iter().filter(|a| &a.target == t).count();
        assert_eq!(
            stored as usize, successes,
            "{}: the counter equals its acknowledged writes",
            t.name
        );
        let counts: BTreeSet<u64> = acks
            .iter()
            .filter(|a| &a.target == t)
            .map(|a| a.count)
            .collect();
        assert_eq!(
            counts,
            (1..=successes as u64).collect(),
            "{}: every count once",
            t.name
        );
    }

    // A fence write per type: once a watch delivers it, it has delivered all before it.
    let cm_fence = Target::config_map("fence", true).create(&client).await;
    let ksvc_fence = Target::knative_service("fence").create(&client).await;
    let of_kind = |k: Kind| -> Vec<Ack> {
        acks.iter()
            .filter(|a| a.target.kind == k)
            .cloned()
            .collect()
    };
    let cms = of_kind(Kind::ConfigMap);
    let watched: Vec<Ack> = cms.iter().filter(|a| a.target.watched).cloned().collect();
    let after_resume: Vec<Ack> = cms.iter().filter(|a| a.rv > resume_rv).cloned().collect();
    assert_watch_delivers("ConfigMap watch", &cm_watch, &cm_fence, &cms).await;
    assert_watch_delivers(
        "Knative Service watch",
        &ksvc_watch,
        &ksvc_fence,
        &of_kind(Kind::KnativeService),
    )
    .await;
    assert_watch_delivers("label-selector watch", &label_watch, &cm_fence, &watched).await;
    assert_watch_delivers("resumed watch", &resumed_watch, &cm_fence, &after_resume).await;
    eprintln!(
        "{} acknowledged writes, {conflicts} conflicts; resumed from {resume_rv}",
        acks.len()
    );
    server.stop();
}

/// Writers run while the apiserver is SIGKILLed and restarted on the same data dir:
/// every acknowledged write is in the restarted store, which holds nothing nobody
/// wrote, and the writers carry on against the new process.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_load_loses_no_acknowledged_write() {
    const BEFORE_KILL: usize = 60;
    const AFTER_RESTART: usize = 60;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = ApiServer::start(dir.path(), "127.0.0.1:0");
    // The restart binds the same port, so clients reconnect as to any restarted server.
    let addr = format!("127.0.0.1:{}", server.port());
    let client = server.client();
    let targets = Arc::new(vec![
        Target::config_map("counter-a", true),
        Target::config_map("counter-b", false),
        Target::knative_service("counter-ksvc"),
    ]);
    for t in targets.iter() {
        t.create(&client).await;
    }
    let ledger = Arc::new(Ledger::default());
    let (open, gate) = watch::channel(true);
    let total = BEFORE_KILL + AFTER_RESTART;
    let writers = spawn_writers(&client, &targets, &ledger, &gate, move |l| {
        l.acked() >= total
    });

    let deadline = Instant::now() + Duration::from_secs(20);
    while ledger.acked() < BEFORE_KILL {
        assert!(Instant::now() < deadline, "{BEFORE_KILL} writes in time");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // No new request starts from here, but those under way stay in flight at the kill.
    open.send_replace(false);
    server.kill9();
    let acked_before: Vec<Ack> = ledger.acks.lock().unwrap().clone();
    let server = ApiServer::start(dir.path(), &addr);

    // The restarted store, before anyone writes again.
    let mut at_restart = BTreeMap::new();
    for t in targets.iter() {
        let stored = t.count_now(&client).await;
        let highest_acked = acked_before
            .iter()
            .filter(|a| &a.target == t)
            .map(|a| a.count)
            .max()
            .unwrap_or(0);
        assert!(
            stored >= highest_acked,
            "{}: count {stored} after the restart, but {highest_acked} was acknowledged",
            t.name
        );
        let possible = ledger
            .acks
            .lock()
            .unwrap()
            .iter()
            .any(|a| &a.target == t && a.count == stored)
            || ledger
                .unknown
                .lock()
                .unwrap()
                .iter()
                .any(|(u, c)| u == t && *c == stored)
            || stored == 0;
        assert!(
            possible,
            "{}: count {stored} was neither acknowledged nor in flight",
            t.name
        );
        at_restart.insert(t.name.clone(), stored);
    }
    let in_flight = ledger.unknown.lock().unwrap().len();
    open.send_replace(true);
    tokio::time::timeout(Duration::from_secs(20), join_all(writers))
        .await
        .expect("the writers reconnected and finished");

    let acks = ledger.acks.lock().unwrap().clone();
    assert!(
        acks.len() - acked_before.len() >= AFTER_RESTART,
        "writes acknowledged after the restart"
    );
    assert_acks_distinct(&acks);
    let unknown = ledger.unknown.lock().unwrap().clone();
    for t in targets.iter() {
        let stored = t.count_now(&client).await;
        // Each count up to the stored one was written by someone: acknowledged, or sent
        // with its outcome lost to the kill. Nothing acknowledged is above it.
        for c in 1..=stored {
            let acked = acks.iter().any(|a| &a.target == t && a.count == c);
            let maybe = unknown.iter().any(|(u, uc)| u == t && *uc == c);
            assert!(acked || maybe, "{}: count {c} was never written", t.name);
        }
        let top = acks
            .iter()
            .filter(|a| &a.target == t)
            .map(|a| a.count)
            .max();
        assert!(
            top.unwrap_or(0) <= stored,
            "{}: an acknowledged count above {stored}",
            t.name
        );
    }
    eprintln!(
        "{} writes acknowledged before the kill, {in_flight} in flight at it, counts at restart {at_restart:?}, {} after",
        acked_before.len(),
        acks.len() - acked_before.len()
    );
    server.stop();
}
