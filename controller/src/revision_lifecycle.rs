//! What happens to revisions as routes stop referencing them, as Knative's labeler and
//! revision GC do it: each Revision carries `serving.knative.dev/routingState`
//! (`active` while a Route references it, `reserve` once none does, `pending` before
//! any has) with the time of the last change; the autoscaler scales unreferenced ones
//! to zero, and old unreferenced ones are deleted per `config-gc`.
//!
//! Driven by the Revision, Route and Configuration watches and `config-gc`; the GC
//! also runs every [`GC_INTERVAL`] because its age rules pass with time, not events.
//!
//! A pass reads caches that lag its own writes: a reflector applies an event only when
//! its stream is polled, and after a burst the watch itself can be seconds behind. So a
//! pass first applies every event already waiting, and a label it wrote is not written
//! again while the cache merely has not caught up (see [`labeler`]). Without both, each
//! label write's own event started a pass that saw the other revisions' writes still
//! missing and wrote them all again: at 100 revisions the controller rewrote every one
//! about once a second, forever.

mod gc;
mod gc_config;
mod labeler;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crds::{Configuration, Revision, Route};
use futures::{FutureExt as _, Stream, StreamExt, stream};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

pub use gc::{RevisionFacts, collect};
pub use gc_config::{GcConfig, GcSource};
use labeler::Labeler;

use crate::context::Context;
use crate::labels::{
    CONFIGURATION_LABEL, NO_GC_ANNOTATION, ROUTING_STATE_LABEL, ROUTING_STATE_MODIFIED_ANNOTATION,
};

/// How often the age rules of `config-gc` are checked without an event.
const GC_INTERVAL: Duration = Duration::from_secs(30);

pub const ACTIVE: &str = "active";
pub const RESERVE: &str = "reserve";
pub const PENDING: &str = "pending";

struct Caches {
    revisions: Store<Revision>,
    routes: Store<Route>,
    configurations: Store<Configuration>,
}

/// Runs until the process ends.
pub async fn run(ctx: Arc<Context>) {
    let (revisions, revision_writer) = reflector::store::<Revision>();
    let (routes, route_writer) = reflector::store::<Route>();
    let (configurations, configuration_writer) = reflector::store::<Configuration>();
    let gc_config = GcSource::new();
    let client = ctx.client.clone();
    let events = stream::select_all([
        watcher(
            Api::<Revision>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
        .reflect(revision_writer)
        .map(|_| ())
        .boxed(),
        watcher(
            Api::<Route>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
        .reflect(route_writer)
        .map(|_| ())
        .boxed(),
        watcher(
            Api::<Configuration>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
        .reflect(configuration_writer)
        .map(|_| ())
        .boxed(),
        Arc::clone(&gc_config).watch(client).boxed(),
        // A new leader labels and collects at once: as a follower it did neither.
        ctx.leadership.promotions().boxed(),
    ]);
    let mut events = std::pin::pin!(events);
    let caches = Caches {
        revisions,
        routes,
        configurations,
    };
    let mut tick = tokio::time::interval(GC_INTERVAL);
    let mut labeler = Labeler::default();
    loop {
        tokio::select! {
            Some(()) = events.next() => {}
            _ = tick.tick() => {}
            else => return,
        }
        apply_waiting(&mut events);
        // A pass before every first list would mislabel: with no Routes cached yet
        // every revision looks unreferenced.
        if !caches.all_listed() {
            continue;
        }
        // Its writes would be refused (see `Context::new`): a follower skips the pass.
        if !ctx.leadership.is_leader() {
            continue;
        }
        labeler.label(&ctx, &caches).await;
        collect_garbage(&ctx, &caches, &gc_config.current()).await;
    }
}

impl Caches {
    /// Whether every cache holds its first list.
    fn all_listed(&self) -> bool {
        let listed = |ready: Option<Result<(), _>>| matches!(ready, Some(Ok(())));
        listed(self.revisions.wait_until_ready().now_or_never())
            && listed(self.routes.wait_until_ready().now_or_never())
            && listed(self.configurations.wait_until_ready().now_or_never())
    }
}

/// Polls `events` until none is ready, so the caches hold every change that has
/// arrived (the reflectors apply an event as it is polled): one pass then covers a
/// whole batch instead of one pass per event on caches missing the rest.
fn apply_waiting(events: &mut (impl Stream<Item = ()> + Unpin)) {
    while let Some(Some(())) = events.next().now_or_never() {}
}

/// The routing state a revision should have, given whether a route references it and
/// the state it has.
pub fn next_routing_state(routed: bool, current: Option<&str>) -> Option<&'static str> {
    match (routed, current) {
        (true, Some(ACTIVE)) => None,
        (true, _) => Some(ACTIVE),
        (false, Some(ACTIVE)) => Some(RESERVE),
        (false, None) => Some(PENDING),
        (false, Some(_)) => None,
    }
}

fn routed_revisions(routes: &Store<Route>) -> HashSet<(String, String)> {
    let mut routed = HashSet::new();
    for route in routes.state() {
        let namespace = route.namespace().unwrap_or_default();
        let spec = route.spec.traffic.iter().flatten();
        let status = route.status.iter().flat_map(|s| s.traffic.iter().flatten());
        for name in spec.chain(status).filter_map(|t| t.revision_name.clone()) {
            routed.insert((namespace.clone(), name));
        }
    }
    routed
}

async fn collect_garbage(ctx: &Context, caches: &Caches, config: &GcConfig) {
    let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
    let mut by_configuration: BTreeMap<(String, String), Vec<RevisionFacts>> = BTreeMap::new();
    for rev in caches.revisions.state() {
        if rev.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(configuration) = rev.labels().get(CONFIGURATION_LABEL) else {
            continue;
        };
        let namespace = rev.namespace().unwrap_or_default();
        let latest = caches
            .configurations
            .get(&reflector::ObjectRef::new(configuration).within(&namespace))
            .and_then(|c| c.status.clone())
            .map(|s| [s.latest_created_revision_name, s.latest_ready_revision_name])
            .unwrap_or_default();
        let name = rev.name_any();
        let created = rev
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(now, |t| u64::try_from(t.0.as_second()).unwrap_or(0));
        let state = rev.labels().get(ROUTING_STATE_LABEL).map(String::as_str);
        let last_active = rev
            .annotations()
            .get(ROUTING_STATE_MODIFIED_ANNOTATION)
            .and_then(|v| v.parse::<jiff::Timestamp>().ok())
            .map_or(created, |t| u64::try_from(t.as_second()).unwrap_or(0));
        let facts = RevisionFacts {
            active: state == Some(ACTIVE) || latest.iter().flatten().any(|l| *l == name),
            preserved: rev.annotations().contains_key(NO_GC_ANNOTATION),
            name,
            created,
            last_active: if state == Some(ACTIVE) {
                now
            } else {
                last_active
            },
        };
        by_configuration
            .entry((namespace, configuration.clone()))
            .or_default()
            .push(facts);
    }
    for ((namespace, configuration), revisions) in by_configuration {
        let api: Api<Revision> = Api::namespaced(ctx.client.clone(), &namespace);
        for name in collect(config, &revisions, now) {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => tracing::info!(revision = %name, %configuration, "garbage-collected"),
                Err(error) => tracing::warn!(revision = %name, %error, "could not garbage-collect"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_states_follow_the_routes() {
        assert_eq!(next_routing_state(false, None), Some(PENDING));
        assert_eq!(next_routing_state(true, None), Some(ACTIVE));
        assert_eq!(next_routing_state(true, Some(PENDING)), Some(ACTIVE));
        assert_eq!(next_routing_state(true, Some(ACTIVE)), None);
        assert_eq!(next_routing_state(false, Some(ACTIVE)), Some(RESERVE));
        assert_eq!(next_routing_state(false, Some(RESERVE)), None);
        assert_eq!(next_routing_state(true, Some(RESERVE)), Some(ACTIVE));
        assert_eq!(next_routing_state(false, Some(PENDING)), None);
    }
}
