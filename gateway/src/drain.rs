//! Graceful shutdown for a listener's connections: a [`Drain`] hands each connection a
//! [`Signal`]; draining tells them all to finish what they are doing and waits until
//! every signal has been dropped, i.e. every connection has ended.

use tokio::sync::watch;

#[derive(Debug)]
pub(crate) struct Drain {
    stop: watch::Sender<bool>,
}

/// Held by one connection for as long as it runs.
#[derive(Debug)]
pub(crate) struct Signal {
    stop: watch::Receiver<bool>,
}

impl Drain {
    pub(crate) fn new() -> Self {
        Self {
            stop: watch::Sender::new(false),
        }
    }

    pub(crate) fn signal(&self) -> Signal {
        Signal {
            stop: self.stop.subscribe(),
        }
    }

    /// Tells every connection to stop and waits for all of them to end.
    pub(crate) async fn drain(self) {
        self.stop.send_replace(true);
        self.stop.closed().await;
    }
}

impl Signal {
    /// Completes once draining starts; the connection ends when this is dropped.
    pub(crate) async fn stopped(mut self) {
        let _ = self.stop.wait_for(|stop| *stop).await;
    }
}
