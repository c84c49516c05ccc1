//! Object storage: every object as JSON in one redb file, mirrored in memory, with a
//! single global resourceVersion counter and a bounded log of recent changes that watches
//! replay from.
//!
//! Writes go through [`Store::transact`]: one writer at a time computes its changes
//! against the in-memory state, commits them to redb (fsync'd before the call returns, so
//! an acknowledged write survives `kill -9`), then publishes them to memory and watchers.
//! Readers never wait for the disk.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;
use tokio::sync::broadcast;

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const RV_KEY: &str = "resourceVersion";

/// How many recent changes a watch can resume from before it gets `410 Gone`.
const EVENT_LOG_CAPACITY: usize = 20_000;
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
    pub object: Arc<Value>,
    /// The object before the change, so a filtered watch can tell "left the selection".
    pub previous: Option<Arc<Value>>,
}

/// The storage key of an object.
pub fn object_key(prefix: &str, namespace: &str, name: &str) -> String {
    format!("{prefix}/{namespace}/{name}")
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<String, Arc<Value>>,
    rv: u64,
    log: VecDeque<Arc<WatchEvent>>,
    /// Every change with a resourceVersion above this is in `log`.
    compacted: u64,
}

#[derive(Debug)]
pub struct Store {
    db: redb::Database,
    writer: Mutex<()>,
    state: RwLock<State>,
    events: broadcast::Sender<Arc<WatchEvent>>,
}

/// Where a watch starts: what to replay and the receiver for what follows.
#[derive(Debug)]
pub struct Subscription {
    pub replay: Vec<Arc<WatchEvent>>,
    pub live: broadcast::Receiver<Arc<WatchEvent>>,
    /// The resourceVersion the replay ends at; live events at or below it are duplicates.
    pub rv: u64,
    /// With [`Store::subscribe`]'s `snapshot_prefix`: the objects under it at `rv`.
    pub snapshot: Vec<Arc<Value>>,
}

/// The resourceVersion asked for is older than the log reaches back.
#[derive(Debug)]
pub struct Gone {
    pub requested: u64,
    pub oldest: u64,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = redb::Database::create(path).map_err(db_err)?;
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
            let value: Value = serde_json::from_slice(v.value())
                .map_err(|e| StoreError::Corrupt(k.value().to_string(), e))?;
            state.objects.insert(k.value().to_string(), Arc::new(value));
        }
        let meta = tx.open_table(META).map_err(db_err)?;
        state.rv = meta.get(RV_KEY).map_err(db_err)?.map_or(0, |v| v.value());
        state.compacted = state.rv;
        drop(meta);
        drop(objects);
        drop(tx);
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        Ok(Self {
            db,
            writer: Mutex::new(()),
            state: RwLock::new(state),
            events,
        })
    }

    pub fn current_rv(&self) -> u64 {
        self.state.read().rv
    }

    pub fn get(&self, key: &str) -> Option<Arc<Value>> {
        self.state.read().objects.get(key).cloned()
    }

    /// Objects whose key starts with `key_prefix`, in key order, with the current
    /// resourceVersion.
    pub fn list(&self, key_prefix: &str) -> (Vec<Arc<Value>>, u64) {
        let state = self.state.read();
        let items = state
            .objects
            .range(key_prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(key_prefix))
            .map(|(_, v)| v.clone())
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
        let state = self.state.read();
        let live = self.events.subscribe();
        let Some(from) = from else {
            let snapshot = state
                .objects
                .range(snapshot_prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(snapshot_prefix))
                .map(|(_, v)| v.clone())
                .collect();
            return Ok(Subscription {
                replay: Vec::new(),
                live,
                rv: state.rv,
                snapshot,
            });
        };
        if from < state.compacted {
            return Err(Gone {
                requested: from,
                oldest: state.compacted,
            });
        }
        let replay = state.log.iter().filter(|e| e.rv > from).cloned().collect();
        Ok(Subscription {
            replay,
            live,
            rv: state.rv.max(from),
            snapshot: Vec::new(),
        })
    }

    /// Run `f` as one atomic write. Its changes are committed to disk, then published,
    /// only if it returns `Ok`; with `dry_run` they are computed and discarded.
    pub fn transact<T, E>(
        &self,
        dry_run: bool,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let _writer = self.writer.lock();
        let (out, writes, rv) = {
            let state = self.state.read();
            let mut txn = Txn {
                state: &state,
                pending: BTreeMap::new(),
                order: Vec::new(),
                rv: state.rv,
            };
            let out = f(&mut txn)?;
            let writes: Vec<(String, Write)> = txn
                .order
                .iter()
                .map(|k| (k.clone(), txn.pending[k].clone()))
                .collect();
            (out, writes, txn.rv)
        };
        if dry_run || writes.is_empty() {
            return Ok(out);
        }
        self.persist(&writes, rv)?;
        self.publish(writes, rv);
        Ok(out)
    }

    fn persist(&self, writes: &[(String, Write)], rv: u64) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut objects = tx.open_table(OBJECTS).map_err(db_err)?;
            for (key, value) in writes {
                match value {
                    Write::Put(v) => {
                        let bytes = serde_json::to_vec(&**v).map_err(db_err)?;
                        objects
                            .insert(key.as_str(), bytes.as_slice())
                            .map_err(db_err)?;
                    }
                    Write::Delete(_) => {
                        objects.remove(key.as_str()).map_err(db_err)?;
                    }
                }
            }
            let mut meta = tx.open_table(META).map_err(db_err)?;
            meta.insert(RV_KEY, rv).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    fn publish(&self, writes: Vec<(String, Write)>, rv: u64) {
        let mut state = self.state.write();
        for (key, value) in writes {
            let (prefix, namespace) = split_key(&key);
            let previous = state.objects.get(&key).cloned();
            let event = match value {
                Write::Put(obj) => {
                    state.objects.insert(key.clone(), obj.clone());
                    WatchEvent {
                        kind: if previous.is_some() {
                            EventType::Modified
                        } else {
                            EventType::Added
                        },
                        rv: resource_version(&obj),
                        prefix,
                        namespace,
                        object: obj,
                        previous,
                    }
                }
                Write::Delete(event_rv) => {
                    state.objects.remove(&key);
                    let Some(last) = previous else { continue };
                    let mut last = (*last).clone();
                    set_resource_version(&mut last, event_rv);
                    WatchEvent {
                        kind: EventType::Deleted,
                        rv: event_rv,
                        prefix,
                        namespace,
                        object: Arc::new(last),
                        previous: None,
                    }
                }
            };
            let event = Arc::new(event);
            state.log.push_back(event.clone());
            if state.log.len() > EVENT_LOG_CAPACITY
                && let Some(old) = state.log.pop_front()
            {
                state.compacted = old.rv;
            }
            // No receivers is fine: nobody is watching.
            let _ = self.events.send(event);
        }
        state.rv = rv;
    }
}

/// One pending change of a transaction.
#[derive(Clone, Debug)]
enum Write {
    Put(Arc<Value>),
    /// A deletion, with the resourceVersion its DELETED event carries.
    Delete(u64),
}

impl Write {
    fn object(&self) -> Option<&Arc<Value>> {
        match self {
            Write::Put(v) => Some(v),
            Write::Delete(_) => None,
        }
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

/// The changes of one [`Store::transact`] call, read-your-writes.
#[derive(Debug)]
pub struct Txn<'a> {
    state: &'a State,
    pending: BTreeMap<String, Write>,
    order: Vec<String>,
    rv: u64,
}

impl Txn<'_> {
    pub fn get(&self, key: &str) -> Option<Arc<Value>> {
        match self.pending.get(key) {
            Some(w) => w.object().cloned(),
            None => self.state.objects.get(key).cloned(),
        }
    }

    /// Every object (pending writes applied) whose key starts with `key_prefix`.
    pub fn scan(&self, key_prefix: &str) -> Vec<(String, Arc<Value>)> {
        let mut merged: BTreeMap<&str, Option<&Arc<Value>>> = self
            .state
            .objects
            .range(key_prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(key_prefix))
            .map(|(k, v)| (k.as_str(), Some(v)))
            .collect();
        for (k, v) in &self.pending {
            if k.starts_with(key_prefix) {
                merged.insert(k.as_str(), v.object());
            }
        }
        merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.clone())))
            .collect()
    }

    /// Store `obj` under `key` with the next resourceVersion; returns what was stored.
    pub fn put(&mut self, key: &str, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        set_resource_version(&mut obj, self.rv);
        let obj = Arc::new(obj);
        self.record(key, Write::Put(obj.clone()));
        obj
    }

    pub fn delete(&mut self, key: &str) {
        self.rv += 1;
        self.record(key, Write::Delete(self.rv));
    }

    fn record(&mut self, key: &str, value: Write) {
        if self.pending.insert(key.to_string(), value).is_none() {
            self.order.push(key.to_string());
        } else {
            // A key written twice publishes once, at its last position.
            self.order.retain(|k| k != key);
            self.order.push(key.to_string());
        }
    }
}

#[cfg(test)]
mod tests;
