//! Watches Revisions of every namespace, so a held request learns when its revision
//! fails to start (or is deleted) without waiting out its timeout.

use std::sync::Arc;

use crds::Revision;
use futures::StreamExt;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, reflector};

use crate::registry::Registry;

/// Watches until the stream ends (it retries by itself, so: until dropped).
pub(crate) async fn run(client: kube::Client, cache: Writer<Revision>, registry: Arc<Registry>) {
    let events = watcher::watcher(Api::<Revision>::all(client), watcher::Config::default())
        .default_backoff()
        .modify(|o| o.metadata.managed_fields = None); // what a cache holds: nobody reads managedFields
    let mut events = std::pin::pin!(reflector::reflector(cache, events));
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Apply(revision)) => {
                let namespace = revision.namespace().unwrap_or_default();
                registry.refresh(&namespace, &revision.name_any());
            }
            Ok(Event::Delete(revision)) => {
                let namespace = revision.namespace().unwrap_or_default();
                registry.remove(&namespace, &revision.name_any());
            }
            Ok(Event::InitDone) => {
                registry.forget_deleted();
                registry.refresh_all();
            }
            Ok(Event::Init | Event::InitApply(_)) => {}
            Err(error) => tracing::warn!(%error, "Revision watch failed; retrying"),
        }
    }
}
