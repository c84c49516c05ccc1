//! The elector: one task per candidate that takes the Lease when it is free or expired,
//! renews it while leading, and says through [`Leadership`] whether its replica leads.
//!
//! client-go's loop, step for step: read the Lease; if another holds it and it has not
//! expired (by this candidate's clock, see [`crate::record`]), wait; else write our
//! record with the `resourceVersion` we read, so of two candidates that read the same
//! Lease only one write lands. A leader renews every retry period; when no renewal has
//! succeeded for the renew deadline it stops leading at once (the request still in
//! flight is dropped), which is before anyone else can see its lease expire, since
//! others count from when they saw the last successful renewal and lease duration >
//! renew deadline.
//!
//! Beyond client-go, a candidate also watches the Lease: a change (a release, a renewal)
//! makes it look again at once, and it looks again exactly when the lease it saw
//! expires, so a follower takes over a lease duration after the last renewal it saw
//! rather than up to two retry periods later.

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::{AbortHandle, Abortable};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};

use crate::config::{ConfigError, ElectionConfig, JITTER};
use crate::leadership::{Leadership, LeadingFlag};
use crate::record::{Observed, first_claim};

/// A running candidate. Dropping it aborts the campaign as a crash would (leadership
/// flips to false; the Lease expires for the others); [`release`](Self::release) is the
/// clean stop that hands the Lease over at once.
#[derive(Debug)]
pub struct LeaderElector {
    leadership: Leadership,
    stop: watch::Sender<bool>,
    abort: AbortHandle,
    /// Closes once the campaign has ended (released, or aborted).
    ended: oneshot::Receiver<()>,
}

impl LeaderElector {
    /// Starts campaigning for `config.name` in `config.namespace` through `client`, on
    /// the current runtime: renewals compete with everything else that runtime runs (see
    /// [`Self::spawn_dedicated`]).
    pub fn spawn(client: kube::Client, config: ElectionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let (elector, campaign) = Self::prepare(config);
        tokio::spawn(campaign(client));
        Ok(elector)
    }

    /// Starts campaigning on a thread of its own, with its own single-threaded runtime
    /// and the client `connect` builds there (its own connections to the API). A
    /// component's reconciles can then neither hold up a renewal's timer nor queue it
    /// behind their requests, so a busy replica keeps its Lease. (A replica whose main
    /// runtime hangs keeps it too; its `/healthz`, served by that runtime, stops
    /// answering and the liveness probe restarts it, as for any hung process.)
    pub fn spawn_dedicated<C>(connect: C, config: ElectionConfig) -> Result<Self, SpawnError>
    where
        C: FnOnce() -> Result<kube::Client, kube::Error> + Send + 'static,
    {
        config.validate()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SpawnError::Runtime)?;
        let lease = config.name.clone();
        let (elector, campaign) = Self::prepare(config);
        std::thread::Builder::new()
            .name(format!("lease {lease}"))
            .spawn(move || {
                runtime.block_on(async move {
                    // Built here: kube's client spawns its request queue on the runtime
                    // it is built in, and its connections on the one that sends.
                    match connect() {
                        Ok(client) => campaign(client).await,
                        Err(error) => {
                            tracing::error!(%lease, %error, "cannot build the client for leader election; not campaigning");
                        }
                    }
                });
            })
            .map_err(SpawnError::Thread)?;
        Ok(elector)
    }

    /// The elector's handles, and the campaign to run (with the client) wherever the
    /// caller chooses.
    fn prepare(
        config: ElectionConfig,
    ) -> (
        Self,
        impl FnOnce(kube::Client) -> Pin<Box<dyn Future<Output = ()> + Send>>,
    ) {
        let (flag, leadership) = LeadingFlag::new();
        let (stop, stopped) = watch::channel(false);
        let (abort, registration) = AbortHandle::new_pair();
        let (ended_tx, ended) = oneshot::channel();
        let campaign = move |client: kube::Client| -> Pin<Box<dyn Future<Output = ()> + Send>> {
            let campaign = Campaign {
                api: Api::namespaced(client, &config.namespace),
                config,
                observed: None,
                flag,
                changes: Arc::new(Notify::new()),
            };
            Box::pin(async move {
                let _ = Abortable::new(campaign.run(stopped), registration).await;
                drop(ended_tx);
            })
        };
        let elector = Self {
            leadership,
            stop,
            abort,
            ended,
        };
        (elector, campaign)
    }

    /// Whether this replica leads, now and as it changes.
    pub fn leadership(&self) -> Leadership {
        self.leadership.clone()
    }

    /// The clean stop: stops leading first, then clears `holderIdentity` (if this
    /// candidate holds the Lease) so a follower takes over without waiting for expiry.
    pub async fn release(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.ended).await;
    }
}

impl Drop for LeaderElector {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// Why [`LeaderElector::spawn_dedicated`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("starting the leader election runtime: {0}")]
    Runtime(std::io::Error),
    #[error("starting the leader election thread: {0}")]
    Thread(std::io::Error),
}

/// What one read-then-write of the Lease came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// Our record is on the Lease now.
    Holding,
    /// Another holder's lease has not expired.
    HeldByOther,
    /// The API failed or another candidate wrote first.
    Failed,
}

struct Campaign {
    api: Api<Lease>,
    config: ElectionConfig,
    observed: Option<Observed>,
    flag: LeadingFlag,
    /// Signalled by the Lease watch.
    changes: Arc<Notify>,
}

impl Campaign {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let watch = tokio::spawn(watch_lease(
            self.api.clone(),
            self.config.name.clone(),
            Arc::clone(&self.changes),
        ));
        let _watch = AbortOnDrop(watch);
        let identity = self.config.identity.clone();
        loop {
            let Some(renewed) = self.acquire(&mut stop).await else {
                return;
            };
            self.flag.set(true);
            tracing::info!(lease = %self.config.name, %identity, "leading");
            let stopped = self.lead(renewed, &mut stop).await;
            self.flag.set(false);
            if stopped {
                self.release().await;
                return;
            }
        }
    }

    /// Tries until this candidate holds the Lease; the instant before the read that led
    /// to the successful write (renew deadlines count from there), or `None` if stopped.
    async fn acquire(&mut self, stop: &mut watch::Receiver<bool>) -> Option<Instant> {
        loop {
            let started = Instant::now();
            let attempt = tokio::select! {
                attempt = timeout(self.config.renew_deadline, self.try_acquire_or_renew()) => {
                    attempt.unwrap_or(Attempt::Failed)
                }
                () = stopped(stop) => return None,
            };
            if attempt == Attempt::Holding {
                return Some(started);
            }
            let mut next = Instant::now() + jittered(self.config.retry_period);
            if attempt == Attempt::HeldByOther
                && let Some(observed) = &self.observed
            {
                next = next.min(observed.expires_at());
            }
            tokio::select! {
                () = sleep_until(next) => {}
                () = self.changes.notified() => {}
                () = stopped(stop) => return None,
            }
        }
    }

    /// Renews until stopped (true) or until leadership is lost (false): the renew
    /// deadline passed without a renewal, or another candidate holds the Lease.
    async fn lead(&mut self, mut renewed: Instant, stop: &mut watch::Receiver<bool>) -> bool {
        let (retry, renew_deadline) = (self.config.retry_period, self.config.renew_deadline);
        let mut next = Instant::now() + retry;
        loop {
            let deadline = renewed + renew_deadline;
            // A renewal already due (its round trip outlasted the retry period) is not
            // a late timer.
            let wake = next.min(deadline).max(Instant::now());
            tokio::select! {
                () = sleep_until(wake) => {}
                () = stopped(stop) => return true,
            }
            let started = Instant::now();
            // A timer that fires late means the runtime was too busy to run this task;
            // a slow round trip means the API (or the connection to it) was.
            let late = started - wake;
            let attempt = if started >= deadline {
                None
            } else {
                tokio::select! {
                    attempt = timeout_at(deadline, self.renew()) => attempt.ok(),
                    () = stopped(stop) => return true,
                }
            };
            let took = started.elapsed();
            tracing::debug!(lease = %self.config.name, ?late, ?took, ?attempt, "renewal");
            match attempt {
                Some(Attempt::Holding) => {
                    renewed = started;
                    // Paced from the attempt's start, not its end: on an API that takes
                    // seconds to answer, a slow round trip must not also push the next
                    // renewal later (two of them would then not fit in the deadline).
                    next = started + retry;
                }
                Some(Attempt::Failed) => next = Instant::now() + retry,
                Some(Attempt::HeldByOther) => {
                    let holder = self.observed.as_ref().map(Observed::holder);
                    tracing::warn!(lease = %self.config.name, ?holder, "another candidate holds the lease; no longer leading");
                    return false;
                }
                None => {
                    tracing::warn!(lease = %self.config.name, deadline = ?renew_deadline, ?late, ?took, "could not renew the lease in time; no longer leading");
                    return false;
                }
            }
        }
    }

    /// A leader's renewal. client-go's fast path first: write over the record this
    /// leader last wrote, one round trip instead of two (half the requests to wait for
    /// on a busy API); its `resourceVersion` makes it land only if nobody wrote since,
    /// and anything else falls back to the read-then-write of
    /// [`Self::try_acquire_or_renew`].
    async fn renew(&mut self) -> Attempt {
        let (name, identity) = (&self.config.name, &self.config.identity);
        if let Some(observed) = &self.observed
            && observed.holder() == identity.as_str()
            && Instant::now() < observed.expires_at()
        {
            let mut lease = observed.lease.clone();
            lease.spec = Some(observed.claim(identity, self.config.lease_duration_seconds()));
            match self.api.replace(name, &PostParams::default(), &lease).await {
                Ok(written) => {
                    self.observed = Some(Observed::update(
                        self.observed.take(),
                        written,
                        Instant::now(),
                    ));
                    return Attempt::Holding;
                }
                Err(error) => {
                    tracing::debug!(lease = %name, %error, "could not renew optimistically; reading the lease");
                }
            }
        }
        self.try_acquire_or_renew().await
    }

    /// client-go's `tryAcquireOrRenew`: read, judge, write with the read's
    /// `resourceVersion`.
    async fn try_acquire_or_renew(&mut self) -> Attempt {
        let (name, identity) = (&self.config.name, &self.config.identity);
        let seconds = self.config.lease_duration_seconds();
        let current = match self.api.get_opt(name).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return self.create().await,
            Err(error) => {
                tracing::debug!(lease = %name, %error, "could not read the lease");
                return Attempt::Failed;
            }
        };
        let now = Instant::now();
        let observed = Observed::update(self.observed.take(), current, now);
        let held = observed.held_by_other(identity, now);
        let mut lease = observed.lease.clone();
        lease.spec = Some(observed.claim(identity, seconds));
        self.observed = Some(observed);
        if held {
            return Attempt::HeldByOther;
        }
        match self.api.replace(name, &PostParams::default(), &lease).await {
            Ok(written) => {
                self.observed = Some(Observed::update(
                    self.observed.take(),
                    written,
                    Instant::now(),
                ));
                Attempt::Holding
            }
            Err(error) => {
                // A 409 is another candidate's write landing first: it won.
                tracing::debug!(lease = %name, %error, "could not write the lease");
                Attempt::Failed
            }
        }
    }

    async fn create(&mut self) -> Attempt {
        let config = &self.config;
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(config.name.clone()),
                namespace: Some(config.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(first_claim(
                &config.identity,
                config.lease_duration_seconds(),
            )),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(written) => {
                self.observed = Some(Observed::update(None, written, Instant::now()));
                Attempt::Holding
            }
            Err(error) => {
                tracing::debug!(lease = %config.name, %error, "could not create the lease");
                Attempt::Failed
            }
        }
    }

    /// Clears the holder if it is us. One retry on a conflict: a renewal cut short by
    /// the stop may have landed after all.
    async fn release(&mut self) {
        let (name, identity) = (&self.config.name, &self.config.identity);
        for _ in 0..2 {
            let Some(observed) = &self.observed else {
                return;
            };
            if observed.holder() != identity.as_str() {
                return;
            }
            let mut lease = observed.lease.clone();
            lease.spec = Some(observed.release());
            let written = timeout(
                self.config.renew_deadline,
                self.api.replace(name, &PostParams::default(), &lease),
            )
            .await;
            match written {
                Ok(Ok(_)) => {
                    tracing::info!(lease = %name, %identity, "released the lease");
                    return;
                }
                Ok(Err(kube::Error::Api(status))) if status.code == 409 => {
                    match timeout(self.config.renew_deadline, self.api.get_opt(name)).await {
                        Ok(Ok(Some(fresh))) => {
                            self.observed = Some(Observed::update(
                                self.observed.take(),
                                fresh,
                                Instant::now(),
                            ));
                        }
                        _ => break,
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(lease = %name, %error, "could not release the lease; it expires instead");
                    return;
                }
                Err(_) => break,
            }
        }
        tracing::warn!(lease = %name, "could not release the lease; it expires instead");
    }
}

/// Wakes the candidate whenever the Lease changes.
async fn watch_lease(api: Api<Lease>, name: String, changes: Arc<Notify>) {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = pin!(watcher(api, config).default_backoff());
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) => changes.notify_one(),
            Ok(_) => {}
            // The watcher retries with backoff; the candidate's timer still runs.
            Err(error) => tracing::debug!(lease = %name, %error, "lease watch failed"),
        }
    }
}

/// Resolves once a stop is asked for (or the elector is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// `period` stretched by a random fraction of [`JITTER`], as client-go's `wait.Jitter`.
fn jittered(period: Duration) -> Duration {
    // Each `RandomState` is keyed afresh: a random number without a crate for it.
    let random = RandomState::new().hash_one(0u8);
    let fraction = (random >> 11) as f64 / (1u64 << 53) as f64;
    period.mul_f64(1.0 + JITTER * fraction)
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_client_gos_bounds() {
        let period = Duration::from_secs(2);
        for _ in 0..1000 {
            let j = jittered(period);
            assert!(j >= period && j < period.mul_f64(1.0 + JITTER), "{j:?}");
        }
    }
}
