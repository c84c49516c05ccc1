//! Watch streams: from a resourceVersion (replayed from the store's log, or `410 Gone`
//! when it is older than the log), or from now with the current objects as ADDED;
//! selector-aware (an object leaving the selection is a DELETED), with bookmarks and a
//! server-side timeout.
//!
//! Events carry the objects' stored JSON; a watch decides label selectors on the stored
//! labels and parses an object only for a field selector or a table, so a JSON watch
//! writes each event by splicing that JSON into its line.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::api::{Api, ListOptions};
use crate::path::ResourcePath;
use crate::status::ApiError;
use crate::store::{EventType, Version, WatchEvent};

/// Turns one event (type, the object's JSON) into the bytes of one line on the wire.
pub type Encoder = Arc<dyn Fn(&str, &[u8]) -> Bytes + Send + Sync>;

/// The line `{"type":kind,"object":object}` for an object already serialized as JSON.
pub fn json_line(kind: &str, object: &[u8]) -> Bytes {
    const HEAD: &[u8] = b"{\"type\":\"";
    const MIDDLE: &[u8] = b"\",\"object\":";
    let mut line = Vec::with_capacity(HEAD.len() + kind.len() + MIDDLE.len() + object.len() + 2);
    line.extend_from_slice(HEAD);
    // Event types are fixed upper-case words: nothing to escape.
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(MIDDLE);
    line.extend_from_slice(object);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

const BOOKMARK_EVERY: Duration = Duration::from_secs(10);
const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug)]
pub struct WatchRequest {
    pub rp: ResourcePath,
    pub opts: ListOptions,
    /// None: start now with the current objects as ADDED events.
    pub from: Option<u64>,
    pub bookmarks: bool,
    /// `sendInitialEvents=true`: end the initial ADDED events with a marked bookmark.
    pub initial_events_end: bool,
    pub timeout: Option<Duration>,
}

pub fn start(
    api: &Api,
    req: WatchRequest,
    encode: Encoder,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let prefix = Api::collection_prefix(&req.rp);
    let sub = api
        .store
        .subscribe(req.from, &prefix)
        .map_err(|g| ApiError::Gone {
            message: format!("too old resource version: {} ({})", g.requested, g.oldest),
        })?;
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        let mut w = Watcher {
            req,
            encode,
            tx,
            store_prefix: String::new(),
        };
        w.store_prefix = w.req.rp.rt.store_prefix();
        w.run(sub).await;
    });
    Ok(rx)
}

struct Watcher {
    req: WatchRequest,
    encode: Encoder,
    tx: mpsc::Sender<Bytes>,
    store_prefix: String,
}

impl Watcher {
    async fn run(&mut self, sub: crate::store::Subscription) {
        let mut last_rv = sub.rv;
        for obj in &sub.snapshot {
            if self.selects(obj) && !self.send("ADDED", obj.json()).await {
                return;
            }
        }
        if self.req.initial_events_end {
            let mut b = self.bookmark(last_rv);
            b["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            if !self.send_value("BOOKMARK", &b).await {
                return;
            }
        }
        for event in &sub.replay {
            if !self.forward(event).await {
                return;
            }
        }
        let mut live = sub.live;
        let timeout = self.req.timeout.unwrap_or(MAX_TIMEOUT).min(MAX_TIMEOUT);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut bookmarks = tokio::time::interval(BOOKMARK_EVERY);
        bookmarks.tick().await;
        loop {
            tokio::select! {
                () = &mut deadline => return,
                () = self.tx.closed() => return,
                _ = bookmarks.tick(), if self.req.bookmarks => {
                    let b = self.bookmark(last_rv);
                    if !self.send_value("BOOKMARK", &b).await { return; }
                }
                event = live.recv() => match event {
                    Ok(event) => {
                        if event.rv <= last_rv { continue; }
                        last_rv = event.rv;
                        if !self.forward(&event).await { return; }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to keep up: tell the client to resume from its last
                        // resourceVersion (or relist), as an expired watch would.
                        let status = ApiError::Gone {
                            message: "watch fell behind; resume from the last resourceVersion".into(),
                        }.to_status();
                        let _ = self.send_value("ERROR", &status).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    fn bookmark(&self, rv: u64) -> Value {
        json!({
            "kind": self.req.rp.rt.kind,
            "apiVersion": self.req.rp.rt.api_version(),
            "metadata": {"resourceVersion": rv.to_string()},
        })
    }

    /// Send one stored change if this watch covers it; false when the client is gone.
    async fn forward(&self, event: &WatchEvent) -> bool {
        if event.prefix != self.store_prefix {
            return true;
        }
        if let Some(ns) = &self.req.rp.namespace
            && &event.namespace != ns
        {
            return true;
        }
        let now_in = self.selects(&event.object);
        let was_in = event.previous.as_ref().is_some_and(|p| self.selects(p));
        let kind = match event.kind {
            EventType::Added if now_in => "ADDED",
            EventType::Modified if now_in && was_in => "MODIFIED",
            EventType::Modified if now_in => "ADDED",
            EventType::Modified if was_in => "DELETED",
            EventType::Deleted if now_in => "DELETED",
            _ => return true,
        };
        self.send(kind, event.object.json()).await
    }

    /// Whether this watch's selectors take `obj`: labels on the stored labels, fields
    /// (the only reason to parse it) on the object.
    fn selects(&self, obj: &Version) -> bool {
        let opts = &self.req.opts;
        opts.labels
            .as_ref()
            .is_none_or(|s| s.matches_by(|k| obj.labels().get(k)))
            && opts
                .fields
                .as_ref()
                .is_none_or(|f| f.matches(&obj.object()))
    }

    async fn send(&self, kind: &str, json: &[u8]) -> bool {
        self.tx.send((self.encode)(kind, json)).await.is_ok()
    }

    async fn send_value(&self, kind: &str, obj: &Value) -> bool {
        self.send(kind, &serde_json::to_vec(obj).unwrap_or_default())
            .await
    }
}

#[cfg(test)]
mod tests;
