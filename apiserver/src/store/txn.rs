//! One write transaction's view and changes: it reads the committed objects with every
//! staged-but-not-yet-committed write laid over them (so concurrent writes are computed
//! in order, each against all earlier ones), and records its own changes, read-your-writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::{State, parse, set_resource_version};

/// One pending change to one key.
#[derive(Clone, Debug)]
pub(super) enum Write {
    Put(Arc<Value>),
    /// A deletion, with the resourceVersion its DELETED event carries.
    Delete(u64),
}

impl Write {
    pub(super) fn object(&self) -> Option<&Arc<Value>> {
        match self {
            Write::Put(v) => Some(v),
            Write::Delete(_) => None,
        }
    }
}

/// A change as staged and committed: the key, the resourceVersion it was given, what.
#[derive(Clone, Debug)]
pub(super) struct Change {
    pub(super) key: String,
    pub(super) rv: u64,
    pub(super) write: Write,
}

/// The changes of one [`super::Store::transact`] or [`super::Store::stage`] call.
#[derive(Debug)]
pub struct Txn<'a> {
    pub(super) state: &'a State,
    /// Staged writes of earlier transactions, not yet committed: key → latest.
    pub(super) overlay: &'a BTreeMap<String, Change>,
    pub(super) pending: BTreeMap<String, Change>,
    pub(super) order: Vec<String>,
    pub(super) rv: u64,
}

impl Txn<'_> {
    pub fn get(&self, key: &str) -> Option<Arc<Value>> {
        match self.pending.get(key).or_else(|| self.overlay.get(key)) {
            Some(c) => c.write.object().cloned(),
            None => self.state.objects.get(key).map(|s| parse(key, &s.json)),
        }
    }

    /// Every object (pending and staged writes applied) whose key starts with
    /// `key_prefix`.
    pub fn scan(&self, key_prefix: &str) -> Vec<(String, Arc<Value>)> {
        let mut merged: BTreeMap<&str, Option<Arc<Value>>> = self
            .state
            .objects
            .range(key_prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(key_prefix))
            .map(|(k, s)| (k.as_str(), Some(parse(k, &s.json))))
            .collect();
        for layer in [self.overlay, &self.pending] {
            for (k, c) in layer
                .range(key_prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(key_prefix))
            {
                merged.insert(k.as_str(), c.write.object().cloned());
            }
        }
        merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
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

    fn record(&mut self, key: &str, write: Write) {
        let change = Change {
            key: key.to_string(),
            rv: self.rv,
            write,
        };
        if self.pending.insert(key.to_string(), change).is_none() {
            self.order.push(key.to_string());
        } else {
            // A key written twice publishes once, at its last position.
            self.order.retain(|k| k != key);
            self.order.push(key.to_string());
        }
    }

    /// The changes in the order they were made (a key written twice at its last write).
    pub(super) fn into_changes(mut self) -> Vec<Change> {
        self.order
            .iter()
            .filter_map(|k| self.pending.remove(k))
            .collect()
    }
}
