//! Watch streams: from a resourceVersion (replayed from the store's log, or `410 Gone`
//! when it is older than the log), or from now with the current objects as ADDED;
//! selector-aware (an object leaving the selection is a DELETED), with bookmarks and a
//! server-side timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::api::{Api, ListOptions};
use crate::path::ResourcePath;
use crate::status::ApiError;
use crate::store::{EventType, WatchEvent};

/// Turns one event (type, object) into the bytes of one line on the wire.
pub type Encoder = Arc<dyn Fn(&str, &Value) -> Bytes + Send + Sync>;

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
            if self.req.opts.matches(obj) && !self.send("ADDED", obj).await {
                return;
            }
        }
        if self.req.initial_events_end {
            let mut b = self.bookmark(last_rv);
            b["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            if !self.send("BOOKMARK", &b).await {
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
                    if !self.send("BOOKMARK", &b).await { return; }
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
                        let _ = self.send("ERROR", &status).await;
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
        let now_in = self.req.opts.matches(&event.object);
        let was_in = event
            .previous
            .as_ref()
            .is_some_and(|p| self.req.opts.matches(p));
        let kind = match event.kind {
            EventType::Added if now_in => "ADDED",
            EventType::Modified if now_in && was_in => "MODIFIED",
            EventType::Modified if now_in => "ADDED",
            EventType::Modified if was_in => "DELETED",
            EventType::Deleted if now_in => "DELETED",
            _ => return true,
        };
        self.send(kind, &event.object).await
    }

    async fn send(&self, kind: &str, obj: &Value) -> bool {
        self.tx.send((self.encode)(kind, obj)).await.is_ok()
    }
}
