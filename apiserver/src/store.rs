//! Object storage: every object as JSON in one redb file, mirrored in memory, with a
//! single global resourceVersion counter and a bounded log of recent changes that watches
//! replay from.
//!
//! Writes are staged, then group-committed ([`writer`]): a transaction is computed under
//! one lock against the committed objects plus every write staged before it, gets its
//! resourceVersions, and joins the queue; the one writer thread persists everything
//! queued in one redb transaction with one fsync, then publishes it to memory and
//! watchers in resourceVersion order. A write is acknowledged only once decided
//! ([`Store::durable`], or [`Store::transact`] which waits), so an acknowledged write
//! survives `kill -9`. Readers see committed objects only and never wait for the disk.

mod compact;
mod event_log;
mod txn;
mod writer;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;
use tokio::sync::broadcast;

use compact::{Json, Stored, parse};
use event_log::EventLog;
pub use txn::Txn;
use txn::{Change, Write};
use writer::{Progress, Staging};

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const RV_KEY: &str = "resourceVersion";

/// How far a slow watcher may fall behind the live stream before it is cut off (it then
/// resumes from its last resourceVersion via the log, or relists).
const BROADCAST_CAPACITY: usize = 8_192;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Db(String),
    #[error("storage: stored object {0} is not valid JSON: {1}")]
    Corrupt(String, serde_json::Error),
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change, as watchers see it.
#[derive(Debug)]
pub struct WatchEvent {
    pub kind: EventType,
    pub rv: u64,
    /// `group/plural`, see [`crate::resource::ResourceType::store_prefix`].
    pub prefix: String,
    pub namespace: String,
    /// The object after the change; for a deletion, its last state.
    pub object: Version,
    /// The object before the change, so a filtered watch can tell "left the selection".
    pub previous: Option<Version>,
}

/// One version of an object as the store holds it: its compact JSON and its labels,
/// shared (not copied) by the objects in memory, the event log and every watcher.
#[derive(Debug, Clone)]
pub struct Version(Arc<Stored>);

impl Version {
    /// The object's JSON, as stored.
    pub fn json(&self) -> &[u8] {
        &self.0.json
    }

    pub fn labels(&self) -> Labels<'_> {
        Labels(&self.0)
    }

    /// The object, parsed.
    pub fn object(&self) -> Arc<Value> {
        parse("(a watched object)", &self.0.json)
    }
}

/// The storage key of an object.
pub fn object_key(prefix: &str, namespace: &str, name: &str) -> String {
    format!("{prefix}/{namespace}/{name}")
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<String, Arc<Stored>>,
    /// The last committed resourceVersion.
    rv: u64,
    log: EventLog,
}

/// What the store's handle and its writer thread share.
#[derive(Debug)]
struct Shared {
    db: redb::Database,
    staging: Mutex<Staging>,
    /// Wakes the writer thread when something is staged (or the store is dropped).
    staged: Condvar,
    state: RwLock<State>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    progress: Progress,
}

#[derive(Debug)]
pub struct Store {
    shared: Arc<Shared>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Where a watch starts: what to replay and the receiver for what follows.
#[derive(Debug)]
pub struct Subscription {
    pub replay: Vec<Arc<WatchEvent>>,
    pub live: broadcast::Receiver<Arc<WatchEvent>>,
    /// The resourceVersion the replay ends at; live events at or below it are duplicates.
    pub rv: u64,
    /// With [`Store::subscribe`]'s `snapshot_prefix`: the objects under it at `rv`.
    pub snapshot: Vec<Version>,
}

/// The resourceVersion asked for is older than the log reaches back.
#[derive(Debug)]
pub struct Gone {
    pub requested: u64,
    pub oldest: u64,
}

/// One stored object's labels, as [`Store::select`] shows them.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a>(&'a Stored);

impl<'a> Labels<'a> {
    /// The value of label `key`.
    pub fn get(self, key: &str) -> Option<&'a str> {
        self.0.label(key)
    }
}

/// One object a [`Store::select`] kept: its key and its JSON, parsed on demand.
#[derive(Debug, Clone)]
pub struct Selected {
    pub key: String,
    json: Json,
}

impl Selected {
    /// The object, parsed.
    pub fn object(&self) -> Arc<Value> {
        parse(&self.key, &self.json)
    }

    /// The object's JSON, as stored.
    pub fn json(&self) -> &[u8] {
        &self.json
    }
}

/// redb's page cache (see [`Store::open`]).
const REDB_CACHE_BYTES: usize = 4 << 20;

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // redb caches up to 1 GiB of pages by default and keeps what it caches. Every
        // object is already held here in memory, so redb is read once at start and
        // otherwise only written: a small cache is enough, and the OS's page cache
        // serves the B-tree pages a commit touches.
        let db = redb::Builder::new()
            .set_cache_size(REDB_CACHE_BYTES)
            .create(path)
            .map_err(db_err)?;
        let mut state = State::default();
        {
            let tx = db.begin_write().map_err(db_err)?;
            tx.open_table(OBJECTS).map_err(db_err)?;
            tx.open_table(META).map_err(db_err)?;
            tx.commit().map_err(db_err)?;
        }
        let tx = db.begin_read().map_err(db_err)?;
        let objects = tx.open_table(OBJECTS).map_err(db_err)?;
        for row in objects.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            // Check it is JSON without building it (reads parse what they return); only
            // its labels are kept parsed.
            let stored = Stored::read(v.value())
                .map_err(|e| StoreError::Corrupt(k.value().to_string(), e))?;
            state
                .objects
                .insert(k.value().to_string(), Arc::new(stored));
        }
        let meta = tx.open_table(META).map_err(db_err)?;
        state.rv = meta.get(RV_KEY).map_err(db_err)?.map_or(0, |v| v.value());
        state.log = EventLog::starting_at(state.rv);
        drop(meta);
        drop(objects);
        drop(tx);
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        let rv = state.rv;
        let shared = Arc::new(Shared {
            db,
            staging: Mutex::new(Staging {
                rv,
                ..Staging::default()
            }),
            staged: Condvar::new(),
            state: RwLock::new(state),
            events,
            progress: Progress::new(rv),
        });
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn({
                let shared = shared.clone();
                move || writer::run(&shared)
            })
            .map_err(db_err)?;
        Ok(Self {
            shared,
            writer: Some(writer),
        })
    }

    /// The last committed resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.shared.state.read().rv
    }

    /// The highest resourceVersion handed out to a staged write (committed or not).
    pub fn staged_rv(&self) -> u64 {
        self.shared.staging.lock().rv
    }

    pub fn get(&self, key: &str) -> Option<Arc<Value>> {
        let state = self.shared.state.read();
        state.objects.get(key).map(|s| parse(key, &s.json))
    }

    /// Objects whose key starts with `key_prefix`, in key order, with the current
    /// resourceVersion.
    pub fn list(&self, key_prefix: &str) -> (Vec<Arc<Value>>, u64) {
        let state = self.shared.state.read();
        let items = state
            .objects
            .range(key_prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(key_prefix))
            .map(|(k, s)| parse(k, &s.json))
            .collect();
        (items, state.rv)
    }

    /// The objects under `key_prefix`, in key order, whose key and labels `keep`
    /// accepts, unparsed ([`Selected::object`] parses one), with the current
    /// resourceVersion. `keep` sees each object's key and a lookup of its labels, so a
    /// label selector or a continue token costs no parse of what it leaves out.
    pub fn select(
        &self,
        key_prefix: &str,
        mut keep: impl FnMut(&str, Labels<'_>) -> bool,
    ) -> (Vec<Selected>, u64) {
        let state = self.shared.state.read();
        let items = state
            .objects
            .range(key_prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(key_prefix))
            .filter(|(k, s)| keep(k, Labels(s)))
            .map(|(k, s)| Selected {
                key: k.clone(),
                json: s.json.clone(),
            })
            .collect();
        (items, state.rv)
    }

    /// Subscribe to changes after `from`; with `from` = None, to changes from now on,
    /// together with a consistent snapshot of the objects under `snapshot_prefix`.
    pub fn subscribe(
        &self,
        from: Option<u64>,
        snapshot_prefix: &str,
    ) -> Result<Subscription, Gone> {
        let state = self.shared.state.read();
        let live = self.shared.events.subscribe();
        let Some(from) = from else {
            let snapshot = state
                .objects
                .range(snapshot_prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(snapshot_prefix))
                .map(|(_, s)| Version(s.clone()))
                .collect();
            return Ok(Subscription {
                replay: Vec::new(),
                live,
                rv: state.rv,
                snapshot,
            });
        };
        let replay = state.log.since(from)?;
        Ok(Subscription {
            replay,
            live,
            rv: state.rv.max(from),
            snapshot: Vec::new(),
        })
    }

    /// Compute `f` as one atomic write and stage its changes for the writer thread,
    /// which commits and publishes them if it returns `Ok`; with `dry_run` they are
    /// computed and discarded. Returns at once: nothing staged may be acknowledged to a
    /// client before [`Store::durable`] says so.
    pub fn stage<T, E>(
        &self,
        dry_run: bool,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut staging = self.shared.staging.lock();
        let state = self.shared.state.read();
        let mut txn = Txn {
            state: &state,
            overlay: &staging.overlay,
            pending: BTreeMap::new(),
            order: Vec::new(),
            rv: staging.rv,
        };
        let out = f(&mut txn)?;
        let rv = txn.rv;
        let changes = txn.into_changes();
        drop(state);
        if dry_run || changes.is_empty() {
            return Ok(out);
        }
        for change in &changes {
            staging.overlay.insert(change.key.clone(), change.clone());
        }
        staging.queue.extend(changes);
        staging.rv = rv;
        drop(staging);
        self.shared.staged.notify_one();
        Ok(out)
    }

    /// [`Store::stage`], then wait (blocking this thread) until the write is committed.
    pub fn transact<T, E>(
        &self,
        dry_run: bool,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let from = self.current_rv();
        let out = self.stage(dry_run, f)?;
        let to = self.staged_rv();
        let mut decided = self.shared.progress.decided.lock();
        while decided.rv < to {
            self.shared.progress.decided_cv.wait(&mut decided);
        }
        check_failure(&decided, from, to)?;
        Ok(out)
    }

    /// Run `f`, which stages writes, and return its result once every write it staged or
    /// read from is committed and published — the moment a write may be acknowledged. An
    /// error means some of that failed to commit.
    pub async fn durable<T>(&self, f: impl FnOnce() -> T) -> Result<T, StoreError> {
        // Everything `f` can read that is not committed yet has a resourceVersion above
        // `from`; everything it stages is at or below `to`.
        let from = self.current_rv();
        let out = f();
        let to = self.staged_rv();
        let mut decided = self.shared.progress.decided_rv.subscribe();
        // The writer thread outlives every handle, so the channel never closes first.
        let _ = decided.wait_for(|rv| *rv >= to).await;
        check_failure(&self.shared.progress.decided.lock(), from, to)?;
        Ok(out)
    }
}

fn check_failure(decided: &writer::Decided, from: u64, to: u64) -> Result<(), StoreError> {
    match decided.failure_in(from, to) {
        Some((lo, hi)) => Err(StoreError::Db(format!(
            "the commit of resourceVersions {lo}..={hi} failed"
        ))),
        None => Ok(()),
    }
}

impl Drop for Store {
    /// Commit whatever is still staged, then stop the writer thread.
    fn drop(&mut self) {
        self.shared.staging.lock().stopping = true;
        self.shared.staged.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Shared {
    /// Drop events that have aged past the log's budget (run while no write comes).
    fn trim_log(&self) {
        if self.state.read().log.over_budget() {
            self.state.write().log.trim(tokio::time::Instant::now());
        }
    }

    /// Apply a committed batch to memory and send its events, in order.
    /// `stored` are the changes' objects as the JSON just persisted (None for a deletion).
    fn publish(&self, batch: Vec<Change>, stored: Vec<Option<Json>>, rv: u64) {
        // Lock order: staging, then state (as in `Store::stage`).
        let mut staging = self.staging.lock();
        let mut state = self.state.write();
        let now = tokio::time::Instant::now();
        for (
            Change {
                key,
                rv: change_rv,
                write,
            },
            json,
        ) in batch.into_iter().zip(stored)
        {
            if staging.overlay.get(&key).is_some_and(|c| c.rv == change_rv) {
                staging.overlay.remove(&key);
            }
            let (prefix, namespace) = split_key(&key);
            let previous = state.objects.get(&key).cloned();
            let previous_json = previous.as_deref().map_or(0, Stored::len);
            let (event, size) = match write {
                Write::Put(obj) => {
                    let json = json.unwrap_or_default();
                    // What the event can keep alive: both versions (often the previous
                    // is the log's event before it, and the new one is in `objects`).
                    let size = json.len() + previous_json;
                    let stored = Arc::new(Stored::new(json, &obj));
                    state.objects.insert(key, stored.clone());
                    let event = WatchEvent {
                        kind: if previous.is_some() {
                            EventType::Modified
                        } else {
                            EventType::Added
                        },
                        rv: change_rv,
                        prefix,
                        namespace,
                        object: Version(stored),
                        previous: previous.map(Version),
                    };
                    (event, size)
                }
                Write::Delete(event_rv) => {
                    state.objects.remove(&key);
                    let Some(last) = previous else { continue };
                    // The last state, with the deletion's resourceVersion.
                    let mut obj = Arc::unwrap_or_clone(parse(&key, &last.json));
                    set_resource_version(&mut obj, event_rv);
                    let json = Json::from(serde_json::to_vec(&obj).unwrap_or_default());
                    let size = json.len();
                    let event = WatchEvent {
                        kind: EventType::Deleted,
                        rv: event_rv,
                        prefix,
                        namespace,
                        object: Version(Arc::new(last.with_json(json))),
                        previous: None,
                    };
                    (event, size)
                }
            };
            let event = Arc::new(event);
            state.log.push(event.clone(), size, now);
            // No receivers is fine: nobody is watching.
            let _ = self.events.send(event);
        }
        state.rv = rv;
    }
}

fn split_key(key: &str) -> (String, String) {
    // group/plural/namespace/name — the group may be empty, names have no '/'.
    let mut parts = key.rsplitn(3, '/');
    let _name = parts.next();
    let namespace = parts.next().unwrap_or_default().to_string();
    let prefix = parts.next().unwrap_or_default().to_string();
    (prefix, namespace)
}

pub fn resource_version(obj: &Value) -> u64 {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub fn set_resource_version(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

#[cfg(test)]
mod group_commit_tests;
#[cfg(test)]
mod tests;
