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
}

impl Revision {
    /// A revision with the default timeout.
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
        }
    }

    /// The same revision with another request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// This revision's key.
    pub fn key(&self) -> RevisionKey {
        RevisionKey::new(self.namespace.clone(), self.name.clone())
    }
}
