//! The 1 s tick: sample every counter, send what was seen.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::registry::CounterRegistry;
use crate::reporter::Reporter;

/// Every `period` (1 s in production): `registry.sample_all` → `reporter.send(_, false)`.
/// A report goes out even when nothing was seen, so the autoscaler hears that the
/// reporter is alive and that its revisions are idle.
pub fn spawn_periodic(
    registry: Arc<CounterRegistry>,
    reporter: Reporter,
    period: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        // A late tick (a stalled runtime) makes one longer period, not a burst of
        // short ones; the averages stay right either way because they divide by the
        // measured length.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first tick is immediate; the first sample should cover a whole period.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            reporter.send(registry.sample_all(Instant::now()), false);
        }
    })
}
