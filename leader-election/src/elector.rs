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

use std::hash::{BuildHasher, RandomState};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{Notify, watch};
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
    task: Option<JoinHandle<()>>,
}

impl LeaderElector {
    /// Starts campaigning for `config.name` in `config.namespace` through `client`.
    pub fn spawn(client: kube::Client, config: ElectionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let (flag, leadership) = LeadingFlag::new();
        let (stop, stopped) = watch::channel(false);
        let campaign = Campaign {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            flag,
            changes: Arc::new(Notify::new()),
        };
        let task = tokio::spawn(campaign.run(stopped));
        Ok(Self {
            leadership,
            stop,
            task: Some(task),
        })
    }

    /// Whether this replica leads, now and as it changes.
    pub fn leadership(&self) -> Leadership {
        self.leadership.clone()
    }

    /// The clean stop: stops leading first, then clears `holderIdentity` (if this
    /// candidate holds the Lease) so a follower takes over without waiting for expiry.
    pub async fn release(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LeaderElector {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
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
            tokio::select! {
                () = sleep_until(next.min(deadline)) => {}
                () = stopped(stop) => return true,
            }
            let started = Instant::now();
            let attempt = if started >= deadline {
                None
            } else {
                tokio::select! {
                    attempt = timeout_at(deadline, self.try_acquire_or_renew()) => attempt.ok(),
                    () = stopped(stop) => return true,
                }
            };
            match attempt {
                Some(Attempt::Holding) => {
                    renewed = started;
                    next = Instant::now() + retry;
                }
                Some(Attempt::Failed) => next = Instant::now() + retry,
                Some(Attempt::HeldByOther) => {
                    let holder = self.observed.as_ref().map(Observed::holder);
                    tracing::warn!(lease = %self.config.name, ?holder, "another candidate holds the lease; no longer leading");
                    return false;
                }
                None => {
                    tracing::warn!(lease = %self.config.name, deadline = ?renew_deadline, "could not renew the lease in time; no longer leading");
                    return false;
                }
            }
        }
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
