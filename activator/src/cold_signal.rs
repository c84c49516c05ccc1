use std::fmt;
use std::sync::Arc;

/// How the activator pokes the autoscaler: called on every request that arrives for
/// a revision without a ready endpoint, with `(namespace, revision, waiting)` where
/// `waiting` counts the requests held for it including this one. Called on the
/// request path, so it must be cheap and must not block (e.g. a channel send).
#[derive(Clone)]
pub struct ColdSignal(Arc<Poke>);

/// `(namespace, revision, waiting)`.
type Poke = dyn Fn(&str, &str, usize) + Send + Sync;

impl ColdSignal {
    pub fn new(poke: impl Fn(&str, &str, usize) + Send + Sync + 'static) -> Self {
        Self(Arc::new(poke))
    }

    /// A signal nobody listens to (no autoscaler wired in).
    pub fn noop() -> Self {
        Self::new(|_, _, _| {})
    }

    pub fn fire(&self, namespace: &str, revision: &str, waiting: usize) {
        (self.0)(namespace, revision, waiting);
    }
}

impl Default for ColdSignal {
    fn default() -> Self {
        Self::noop()
    }
}

impl fmt::Debug for ColdSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ColdSignal").finish_non_exhaustive()
    }
}
