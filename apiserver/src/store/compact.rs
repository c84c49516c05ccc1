//! Committed objects live in memory as their compact JSON, not as `serde_json::Value`: a
//! Value costs 8–10 times its JSON (a B-tree node per JSON object, 32 bytes per value, a
//! `String` per key) — for a Knative Service's five objects about 140 KiB against 16 KiB
//! of JSON, the largest share of an idle platform's memory (issue 9). Reads parse what
//! they return; the bytes are the ones the writer thread already made for redb.

use std::sync::Arc;

use serde_json::Value;

/// One committed object, as the JSON stored on disk.
pub(super) type Json = Arc<[u8]>;

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
