use std::time::Duration;

/// Why a request could not get a replica. Each variant maps to one HTTP status in the
/// HTTP shell: `QueueFull` → 503 with `Retry-After`, `Timeout` → 504,
/// `Failed` → 502 with the reason in the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThrottleError {
    /// The revision already has `capacity` requests waiting; refusing keeps memory
    /// bounded under a flood instead of accumulating it.
    #[error("activator queue for the revision is full ({capacity} waiting)")]
    QueueFull { capacity: usize },
    /// The deadline passed before a replica had room.
    #[error("no replica had capacity within {waited:?}")]
    Timeout { waited: Duration },
    /// Every waiter was failed at once, e.g. because the function failed to start.
    #[error("revision failed: {0}")]
    Failed(String),
}

impl ThrottleError {
    /// A short, stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::QueueFull { .. } => "queue_full",
            Self::Timeout { .. } => "timeout",
            Self::Failed(_) => "failed",
        }
    }
}
