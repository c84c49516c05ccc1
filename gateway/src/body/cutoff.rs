//! When the hyper path cuts a response body that is streaming: at the revision's
//! deadline, or when the function has sent nothing for its idle timeout. One timer per
//! response, touched only when it fires early (the function was active since it was
//! armed) rather than on every frame; a frame costs at most one clock read, and only
//! with an idle limit.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep};

use crate::request_limits::{RequestLimits, StreamLimit};

/// The limits on a streaming body and the one timer enforcing them.
#[derive(Debug)]
pub(crate) struct Cutoff {
    timer: Pin<Box<Sleep>>,
    limits: RequestLimits,
    /// Since when the body has been waiting for the function's next frame; `None` while
    /// a frame was just handed on (or without an idle limit, which never reads it).
    waiting_since: Option<Instant>,
}

impl Cutoff {
    /// Takes over the `timer` that bounded the wait for the response head, which has
    /// just arrived.
    pub(crate) fn new(mut timer: Pin<Box<Sleep>>, limits: RequestLimits) -> Self {
        let waiting_since = limits.idle.map(|_| Instant::now());
        let (due, _) = limits.streaming_due(waiting_since);
        // A later timer is left to fire early and move then; an earlier limit (the
        // idle one, say) must be armed now.
        if timer.deadline() > due {
            timer.as_mut().reset(due);
        }
        Self {
            timer,
            limits,
            waiting_since,
        }
    }

    /// The function produced a frame: the wait for the next one has not begun.
    pub(crate) fn frame_arrived(&mut self) {
        self.waiting_since = None;
    }

    /// Called when the function has no frame ready: ready with the limit that passed.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<StreamLimit> {
        if self.waiting_since.is_none() && self.limits.idle.is_some() {
            self.waiting_since = Some(Instant::now());
        }
        while self.timer.as_mut().poll(cx).is_ready() {
            let (due, limit) = self.limits.streaming_due(self.waiting_since);
            // The timer fired at its deadline, so now is at least that.
            if self.timer.deadline() >= due {
                return Poll::Ready(limit);
            }
            self.timer.as_mut().reset(due);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use super::*;

    fn limits(idle: Option<u64>) -> RequestLimits {
        RequestLimits::arriving_now(Duration::from_secs(10), idle.map(Duration::from_secs))
    }

    async fn expired(cutoff: &mut Cutoff) -> StreamLimit {
        poll_fn(|cx| cutoff.poll_expired(cx)).await
    }

    #[tokio::test(start_paused = true)]
    async fn frames_more_often_than_the_idle_limit_keep_the_body_going() {
        let limits = limits(Some(2));
        let start = Instant::now();
        let mut cutoff = Cutoff::new(
            Box::pin(tokio::time::sleep_until(limits.response_start)),
            limits,
        );
        for _ in 0..3 {
            let pause = tokio::time::timeout(Duration::from_secs(1), expired(&mut cutoff));
            assert!(pause.await.is_err(), "a 1 s pause is within the limit");
            cutoff.frame_arrived();
        }
        assert_eq!(expired(&mut cutoff).await, StreamLimit::Idle);
        assert_eq!(
            Instant::now() - start,
            Duration::from_secs(5),
            "2 s after the last frame"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_idle_limit_only_the_deadline_cuts() {
        let limits = limits(None);
        let start = Instant::now();
        let mut cutoff = Cutoff::new(
            Box::pin(tokio::time::sleep_until(limits.response_start)),
            limits,
        );
        assert_eq!(expired(&mut cutoff).await, StreamLimit::Deadline);
        assert_eq!(Instant::now() - start, Duration::from_secs(10));
    }
}
