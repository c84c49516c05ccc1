//! [`Leadership`]: whether this replica leads now, as a value to read before acting and
//! a stream of changes to react to (a new leader re-reconciles everything).

use futures::Stream;
use tokio::sync::watch;

/// Whether this replica leads now. Cheap to clone; every clone follows the same
/// elector.
#[derive(Debug, Clone)]
pub struct Leadership {
    rx: watch::Receiver<bool>,
}

impl Leadership {
    /// A replica that is alone (`fnmesh up`): it always leads, and no Lease is needed.
    pub fn always() -> Self {
        // With the sender gone the value can never change.
        Self {
            rx: watch::channel(true).1,
        }
    }

    /// Whether this replica may act now.
    pub fn is_leader(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until leadership changes and returns the new value; never returns once it
    /// cannot change any more (an [`always`](Self::always) leader, or an elector that
    /// ended, which leaves `false`).
    pub async fn changed(&mut self) -> bool {
        match self.rx.changed().await {
            Ok(()) => *self.rx.borrow_and_update(),
            Err(_) => std::future::pending().await,
        }
    }

    /// Waits until this replica leads.
    pub async fn led(&mut self) {
        // `wait_for` only fails once the value can no longer change.
        if self.rx.wait_for(|leading| *leading).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Yields once each time this replica becomes leader after it was not (not for the
    /// leadership it starts with): the moment to reconcile everything a follower skipped.
    pub fn promotions(&self) -> impl Stream<Item = ()> + Send + 'static {
        let mut rx = self.rx.clone();
        rx.mark_unchanged();
        futures::stream::unfold(rx, |mut rx| async move {
            loop {
                rx.changed().await.ok()?;
                if *rx.borrow_and_update() {
                    return Some(((), rx));
                }
            }
        })
    }
}

/// The elector's side: sets the value, and leaves `false` behind however it ends (a
/// stopped or aborted elector must not leave its replica acting).
#[derive(Debug)]
pub(crate) struct LeadingFlag {
    tx: watch::Sender<bool>,
}

impl LeadingFlag {
    pub(crate) fn new() -> (Self, Leadership) {
        let (tx, rx) = watch::channel(false);
        (Self { tx }, Leadership { rx })
    }

    pub(crate) fn set(&self, leading: bool) {
        self.tx.send_if_modified(|current| {
            let changed = *current != leading;
            *current = leading;
            changed
        });
    }
}

impl Drop for LeadingFlag {
    fn drop(&mut self) {
        self.set(false);
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn always_leads_and_never_changes() {
        let mut leadership = Leadership::always();
        assert!(leadership.is_leader());
        leadership.led().await;
        let changed =
            tokio::time::timeout(std::time::Duration::from_millis(10), leadership.changed());
        assert!(changed.await.is_err(), "an always-leader changed");
    }

    #[tokio::test]
    async fn promotions_count_transitions_to_leader() {
        let (flag, leadership) = LeadingFlag::new();
        let mut promotions = std::pin::pin!(leadership.promotions());
        flag.set(true);
        assert_eq!(promotions.next().await, Some(()));
        flag.set(false);
        flag.set(true);
        assert_eq!(promotions.next().await, Some(()));
        assert!(leadership.is_leader());
        drop(flag);
        assert!(
            !leadership.is_leader(),
            "a dropped elector left its replica leading"
        );
        assert_eq!(promotions.next().await, None);
    }
}
