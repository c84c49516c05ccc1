//! The running autoscaler: reports from gateways and activators in over gRPC, one KPA
//! per revision, decisions out through each revision Deployment's `/scale` and its
//! serving mode. Everything it knows about revisions comes from watches; nothing on
//! the wake path waits for a tick: a cold request's report is decided on arrival.
//!
//! One task owns all per-revision state, so there are no locks: it selects over the
//! report stream, a 1 s tick (close each revision's second of reports), a 2 s tick
//! (Knative's decision interval) and watch events. Writes to the API run as their own
//! tasks so a slow API never delays a decision.
//!
//! Several replicas may run (see `docs/architecture.md`, High availability): every one
//! receives every report and decides, so a follower's windows are warm when it takes
//! over; only the leader writes (the gate is in [`actuate`]).

mod actuate;
mod cluster;
mod config_source;
mod metrics;
mod revision_state;
mod scale_events;

use std::collections::HashMap;
use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{FutureExt as _, StreamExt};
use leader_election::Leadership;
use stat_stream::{StatReport, StatSource};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::intake::SecondTotals;
use actuate::Actuator;
use cluster::{Cluster, RevisionKey};
use metrics::AutoscalerMetrics;
use revision_state::RevisionState;

/// Knative's decision interval (`tickInterval`).
const DECISION_INTERVAL: Duration = Duration::from_secs(2);
/// Reports are bucketed per second.
const BUCKET: Duration = Duration::from_secs(1);
/// Reports waiting to be bucketed; beyond this the stream pushes back.
const REPORT_QUEUE: usize = 4096;

/// Runs until `shutdown`: serves the metrics stream on `stats`, watches the API
/// through `client`, decides for every revision, scales them while `leadership` says
/// this replica leads ([`Leadership::always`] for an autoscaler that runs alone), and
/// keeps its per-revision gauges on `registry` (for whoever serves `/metrics`).
pub async fn run(
    client: kube::Client,
    stats: TcpListener,
    registry: prometheus::Registry,
    leadership: Leadership,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (sink, mut reports) = mpsc::channel(REPORT_QUEUE);
    let server = tokio::spawn(async move {
        if let Err(error) = stat_stream::serve(stats, sink, std::future::pending()).await {
            tracing::error!(%error, "the metrics stream server stopped");
        }
    });
    let (cluster, changes) = Cluster::watch(client.clone());
    let mut changes = pin!(changes);
    let mut promoted = leadership.clone();
    let actuator = Actuator::new(client, leadership);
    let mut autoscaler = Autoscaler {
        cluster,
        actuator,
        metrics: AutoscalerMetrics::new(&registry),
        revisions: HashMap::new(),
    };

    let mut seconds = tokio::time::interval(BUCKET);
    seconds.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut decisions = tokio::time::interval(DECISION_INTERVAL);
    decisions.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(report) = reports.recv() => autoscaler.on_report(&report),
            _ = seconds.tick() => autoscaler.close_second(),
            _ = decisions.tick() => {
                autoscaler.sync();
                autoscaler.decide_all();
            }
            Some(()) = changes.next() => {
                // The caches take an event as the stream is polled: apply all that are
                // waiting, then resync once (a sync reads every revision, so one per
                // event made a burst of N revisions cost N² reads).
                while let Some(Some(())) = changes.next().now_or_never() {}
                autoscaler.sync();
            }
            // A new leader writes what it decides at once, not at the next tick.
            leading = promoted.changed() => if leading {
                autoscaler.sync();
                autoscaler.decide_all();
            },
        }
    }
    server.abort();
}

struct Autoscaler {
    cluster: Cluster,
    actuator: Actuator,
    metrics: AutoscalerMetrics,
    revisions: HashMap<RevisionKey, RevisionState>,
}

impl Autoscaler {
    fn on_report(&mut self, report: &StatReport) {
        let source = StatSource::try_from(report.source).unwrap_or(StatSource::Ingress);
        let now = now();
        let mut woken = Vec::new();
        for stat in &report.stats {
            let key = RevisionKey::new(&stat.namespace, &stat.revision);
            let Some(state) = self.revisions.get_mut(&key) else {
                continue;
            };
            if report.cold {
                let mut totals = SecondTotals::default();
                totals.add(source, stat);
                state.record_cold(now, totals.value(state.scaling.metric));
                let at_zero = self.cluster.replicas(&key).is_none_or(|r| r.requested == 0);
                if at_zero || state.is_inactive() {
                    woken.push(key);
                }
            } else {
                state.collecting.add(source, stat);
            }
        }
        // Knative decides at once when a request arrives for a revision at zero.
        for key in woken {
            self.decide(&key, now);
        }
    }

    fn close_second(&mut self) {
        let at = now().saturating_sub(BUCKET);
        for state in self.revisions.values_mut() {
            state.close_second(at);
        }
    }

    /// Brings the tracked revisions in line with the watch caches.
    fn sync(&mut self) {
        let config = self.cluster.config();
        let now = now();
        let current = self.cluster.revisions();
        let (metrics, actuator) = (&self.metrics, &mut self.actuator);
        self.revisions.retain(|key, _| {
            let live = current.contains_key(key);
            if !live {
                metrics.forget(key);
                actuator.forget(key);
            }
            live
        });
        for (key, inputs) in current {
            let routed = self.cluster.routed(&key);
            let replicas = self.cluster.replicas(&key).unwrap_or_default();
            match self.revisions.get_mut(&key) {
                Some(state) if state.inputs_changed(&inputs) || self.cluster.config_changed() => {
                    if let Err(error) = state.reconfigure(&config, inputs, routed, replicas, now) {
                        tracing::warn!(revision = %key, %error, "keeping the previous autoscaling settings");
                    }
                }
                Some(_) => {}
                None => match RevisionState::new(&config, inputs, routed, replicas, now) {
                    Ok(state) => {
                        self.revisions.insert(key, state);
                    }
                    Err(error) => {
                        tracing::warn!(revision = %key, %error, "not autoscaling the revision");
                    }
                },
            }
        }
        self.cluster.mark_config_seen();
    }

    fn decide_all(&mut self) {
        let now = now();
        let keys: Vec<RevisionKey> = self.revisions.keys().cloned().collect();
        for key in keys {
            self.decide(&key, now);
        }
    }

    fn decide(&mut self, key: &RevisionKey, now: Duration) {
        let Some(state) = self.revisions.get_mut(key) else {
            return;
        };
        let Some(replicas) = self.cluster.replicas(key) else {
            // No Deployment yet: the controller has not made it.
            return;
        };
        let routed = self.cluster.routed(key);
        let (decision, outcome) = state.step(now, routed, replicas);
        tracing::debug!(revision = %key, ?replicas, routed, ?decision, ?outcome, "decided");
        self.metrics
            .observe(key, replicas, decision.as_ref(), outcome);
        let revision = self.cluster.revision_ref(key);
        self.actuator
            .apply(key, outcome, replicas, self.cluster.proxy(key), revision);
    }
}

/// Wall-clock time since the Unix epoch: the decider's clock in production.
fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
