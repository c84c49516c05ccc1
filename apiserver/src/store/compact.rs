//! Committed objects live in memory as their compact JSON, not as `serde_json::Value`: a
//! Value costs 8–10 times its JSON (a B-tree node per JSON object, 32 bytes per value, a
//! `String` per key) — for a Knative Service's five objects about 140 KiB against 16 KiB
//! of JSON, the largest share of an idle platform's memory (issue 9). Reads parse what
//! they return; the bytes are the ones the writer thread already made for redb.
//!
//! Each object's labels are kept beside its JSON, already parsed: a list with a label
//! selector (every reconcile of a Configuration lists its Revisions by label) or one page
//! of a paged list then parses only the objects it returns. Parsing every object of the
//! collection to test the selector made a burst of N creates cost O(N²) parses: 1,000
//! Services in split mode did not finish creating in 20 minutes.
//!
//! Watch events share these versions (`Arc<Stored>`) instead of holding parsed copies:
//! the event log and every watcher's queue keep JSON, and a watch writes it to the wire
//! as it is.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

/// One committed object's JSON, as stored on disk.
pub(super) type Json = Arc<[u8]>;

/// One committed object: its JSON and its labels.
#[derive(Debug)]
pub(super) struct Stored {
    pub(super) json: Json,
    /// `metadata.labels` with string values (the only ones a selector can match),
    /// sorted by key; empty for none, which allocates nothing.
    labels: Box<[(Box<str>, Box<str>)]>,
}

impl Stored {
    /// The stored form of `obj`, whose JSON is `json`.
    pub(super) fn new(json: Json, obj: &Value) -> Self {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        Self {
            json,
            labels: labels_of(labels),
        }
    }

    /// The stored form of JSON read back from disk, or the error if it is not JSON.
    /// Reads only the labels into memory (one pass that still checks the whole text).
    pub(super) fn read(json: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Object {
            #[serde(default)]
            metadata: Option<Metadata>,
        }
        #[derive(Deserialize)]
        struct Metadata {
            #[serde(default)]
            labels: Option<Map<String, Value>>,
        }
        let object: Object = serde_json::from_slice(json)?;
        let labels = object.metadata.and_then(|m| m.labels);
        Ok(Self {
            json: Json::from(json),
            labels: labels_of(labels.as_ref()),
        })
    }

    /// The same object as `json` (changed elsewhere than its labels, e.g. only its
    /// resourceVersion).
    pub(super) fn with_json(&self, json: Json) -> Self {
        Self {
            json,
            labels: self.labels.clone(),
        }
    }

    /// The value of label `key`.
    pub(super) fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.labels[i].1)
    }

    pub(super) fn len(&self) -> usize {
        self.json.len()
    }
}

fn labels_of(labels: Option<&Map<String, Value>>) -> Box<[(Box<str>, Box<str>)]> {
    let mut labels: Vec<(Box<str>, Box<str>)> = labels
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str().into(), v.as_str()?.into())))
        .collect();
    labels.sort_unstable();
    labels.into_boxed_slice()
}

/// The object `json` holds (stored under `key`). Only the writer thread stores bytes and it
/// serializes them from a `Value`, so this fails only on a corrupt file read at start.
pub(super) fn parse(key: &str, json: &[u8]) -> Arc<Value> {
    match serde_json::from_slice(json) {
        Ok(v) => Arc::new(v),
        Err(error) => {
            tracing::error!(%error, key, "a stored object is not valid JSON");
            Arc::new(Value::Null)
        }
    }
}
