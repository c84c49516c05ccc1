//! A Controller's cache of its own kind, as every cache of this crate holds objects.

use std::fmt::Debug;
use std::hash::Hash;

use futures::Stream;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

/// Every `K` of `api`, cached without managedFields (nobody reads them, and they are a
/// large share of each object), and the stream of applied objects that fills the
/// cache: what `Controller::for_stream` takes.
pub fn objects<K>(
    api: Api<K>,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
{
    let (cache, writer) = reflector::store::<K>();
    let objects = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|o| o.meta_mut().managed_fields = None)
        .reflect(writer)
        .applied_objects();
    (cache, objects)
}
