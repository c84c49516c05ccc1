//! What the gateway knows about one revision: where its ready endpoints are and how
//! to talk to them. Plain data; the compiled, hot-path form lives in `route_table`.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Knative's default `timeoutSeconds` for a revision.
pub const DEFAULT_REVISION_TIMEOUT: Duration = Duration::from_secs(300);

/// Identifies a revision across the table: `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RevisionKey {
    /// The revision's namespace.
    pub namespace: String,
    /// The revision's name, e.g. `hello-00001`.
    pub name: String,
}

impl RevisionKey {
    /// A key for `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for RevisionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The protocol a revision's container speaks (Knative port name `http1` or `h2c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// HTTP/1.1 (port name `""` or `http1`).
    #[default]
    Http1,
    /// HTTP/2 over cleartext with prior knowledge (port name `h2c`).
    H2c,
}

/// A revision as the gateway routes to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The revision's namespace.
    pub namespace: String,
    /// The revision's name.
    pub name: String,
    /// How to speak to its endpoints.
    pub protocol: Protocol,
    /// Ready endpoints (pods / processes, or the activator while in proxy mode).
    /// Empty means the revision has no capacity: requests get 503.
    pub endpoints: Vec<SocketAddr>,
    /// Hard limit from a request's arrival (`timeoutSeconds`): 504 if no response head
    /// was sent by then, otherwise the response body is cut.
    pub timeout: Duration,
    /// The function must send its response head within this of the request's arrival
    /// (`responseStartTimeoutSeconds`), else 504. `None` (or zero): only
    /// [`timeout`](Self::timeout) bounds the wait, which is Knative's meaning when unset.
    pub response_start_timeout: Option<Duration>,
    /// Once the response head is in, the longest the function may send nothing more
    /// (`idleTimeoutSeconds`) before the response is cut. `None` (or zero): no limit.
    pub idle_timeout: Option<Duration>,
}

impl Revision {
    /// A revision with the default timeout and neither a response-start nor an idle
    /// limit.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        protocol: Protocol,
        endpoints: Vec<SocketAddr>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            protocol,
            endpoints,
            timeout: DEFAULT_REVISION_TIMEOUT,
            response_start_timeout: None,
            idle_timeout: None,
        }
    }

    /// The same revision with another request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same revision with a limit on the wait for the response head.
    #[must_use]
    pub fn with_response_start_timeout(mut self, timeout: Duration) -> Self {
        self.response_start_timeout = Some(timeout);
        self
    }

    /// The same revision with a limit on pauses in the response body.
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// This revision's key.
    pub fn key(&self) -> RevisionKey {
        RevisionKey::new(self.namespace.clone(), self.name.clone())
    }
}
