//! Group commit: the store's one writer thread. Transactions are computed and staged by
//! their callers (in order, under one lock); this thread takes everything staged so far,
//! persists it in one redb transaction with one fsync, then publishes it to memory and
//! watchers in resourceVersion order and marks it decided. While it waits for the disk,
//! further writes stage and join the next batch, so N concurrent writes cost about one
//! fsync instead of N, and no request holds a thread while it waits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use super::txn::{Change, Write};
use super::{Json, META, OBJECTS, RV_KEY, Shared, StoreError, db_err};

/// How often an idle writer thread trims the event log.
const IDLE_TRIM: Duration = Duration::from_secs(1);

/// What has been staged and not yet taken by the writer thread.
#[derive(Debug, Default)]
pub(super) struct Staging {
    /// Every staged change not yet published, latest per key: what later transactions
    /// read through.
    pub(super) overlay: BTreeMap<String, Change>,
    /// The highest resourceVersion handed out (what a batch taken now ends at: a
    /// transaction may skip numbers, a key written twice keeps only its last change).
    pub(super) rv: u64,
    /// Staged changes in order, for the writer thread to take.
    pub(super) queue: Vec<Change>,
    pub(super) stopping: bool,
}

/// How far the writer thread has got: every change with a resourceVersion up to `rv`
/// is committed and published, or has failed.
#[derive(Debug, Default)]
pub(super) struct Decided {
    pub(super) rv: u64,
    /// resourceVersion ranges (inclusive) whose changes failed to commit.
    pub(super) failed: Vec<(u64, u64)>,
}

impl Decided {
    /// The first failure touching `(from, to]`.
    pub(super) fn failure_in(&self, from: u64, to: u64) -> Option<(u64, u64)> {
        self.failed
            .iter()
            .copied()
            .find(|&(lo, hi)| lo <= to && hi > from)
    }
}

/// The writer's side of the shared store: its wake-up and how it reports progress.
#[derive(Debug)]
pub(super) struct Progress {
    pub(super) decided: Mutex<Decided>,
    /// Wakes synchronous waiters ([`super::Store::transact`]).
    pub(super) decided_cv: Condvar,
    /// Wakes asynchronous waiters ([`super::Store::durable`]) with `Decided::rv`.
    pub(super) decided_rv: watch::Sender<u64>,
    /// redb transactions committed (each one fsync), for tests that check batching.
    pub(super) commits: AtomicU64,
}

impl Progress {
    pub(super) fn new(rv: u64) -> Self {
        Self {
            decided: Mutex::new(Decided {
                rv,
                failed: Vec::new(),
            }),
            decided_cv: Condvar::new(),
            decided_rv: watch::Sender::new(rv),
            commits: AtomicU64::new(0),
        }
    }

    fn advance(&self, rv: u64, failed: Option<(u64, u64)>) {
        let mut d = self.decided.lock();
        d.rv = d.rv.max(rv);
        d.failed.extend(failed);
        drop(d);
        self.decided_cv.notify_all();
        self.decided_rv.send_replace(rv);
    }
}

/// The writer thread's loop; returns once the store is dropped and the queue drained.
pub(super) fn run(shared: &Arc<Shared>) {
    loop {
        let (batch, rv) = {
            let mut staging = shared.staging.lock();
            while staging.queue.is_empty() && !staging.stopping {
                if shared.staged.wait_for(&mut staging, IDLE_TRIM).timed_out() {
                    drop(staging);
                    shared.trim_log();
                    staging = shared.staging.lock();
                }
            }
            if staging.queue.is_empty() {
                return;
            }
            (std::mem::take(&mut staging.queue), staging.rv)
        };
        match persist(&shared.db, &batch, rv) {
            Ok(stored) => {
                shared.progress.commits.fetch_add(1, Ordering::Relaxed);
                shared.publish(batch, stored, rv);
                shared.progress.advance(rv, None);
            }
            Err(error) => fail(shared, &error),
        }
    }
}

/// One redb transaction, one fsync, for every change of the batch; returns each
/// change's JSON as stored (None for a deletion), which memory keeps too.
fn persist(
    db: &redb::Database,
    batch: &[Change],
    rv: u64,
) -> Result<Vec<Option<Json>>, StoreError> {
    let tx = db.begin_write().map_err(db_err)?;
    let mut stored = Vec::with_capacity(batch.len());
    {
        let mut objects = tx.open_table(OBJECTS).map_err(db_err)?;
        for change in batch {
            match &change.write {
                Write::Put(v) => {
                    let bytes = Json::from(serde_json::to_vec(&**v).map_err(db_err)?);
                    objects
                        .insert(change.key.as_str(), &*bytes)
                        .map_err(db_err)?;
                    stored.push(Some(bytes));
                }
                Write::Delete(_) => {
                    stored.push(None);
                    objects.remove(change.key.as_str()).map_err(db_err)?;
                }
            }
        }
        let mut meta = tx.open_table(META).map_err(db_err)?;
        meta.insert(RV_KEY, rv).map_err(db_err)?;
    }
    tx.commit().map_err(db_err)?;
    Ok(stored)
}

/// A batch that did not commit fails, and with it everything staged since (computed on
/// top of it): none of it is published, the overlay empties, every waiter up to the last
/// handed-out resourceVersion is told. resourceVersions go on from there (gaps are fine).
fn fail(shared: &Shared, error: &StoreError) {
    let mut staging = shared.staging.lock();
    let committed = shared.state.read().rv;
    tracing::error!(%error, "a storage commit failed; writes since resourceVersion {committed} fail");
    staging.overlay.clear();
    staging.queue.clear();
    let to = staging.rv;
    drop(staging);
    shared.progress.advance(to, Some((committed + 1, to)));
}
