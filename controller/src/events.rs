//! Kubernetes Events for what users need to see (`kubectl describe`, `kubectl get
//! events`), written by the controller and the autoscaler through one
//! [`EventRecorder`] each.
//!
//! Why core/v1 Events written here rather than kube-rs's `events::Recorder`: `kubectl
//! describe` (and `kubectl get events`) read core/v1 `events`, which every
//! kube-apiserver still serves and the embedded API server stores as they are; the
//! kube-rs recorder writes `events.k8s.io/v1`, which the embedded API server would have
//! to serve as a second, converted view of the same objects for no reader of ours.
//! The core/v1 shape is also what client-go's recorder (so Knative's) writes.
//!
//! Recording never blocks and never fails the caller: a record goes into a bounded
//! queue (dropped, with a debug log, when full) that one task drains, correlating
//! repeats into counts as Kubernetes does ([`correlator`]) and writing them. A write the
//! API refuses (a follower's, under leader election) is dropped.

mod correlator;
mod writer;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use tokio::sync::mpsc;

/// Records waiting to be written; more are dropped.
const QUEUE: usize = 1024;

/// `Normal` or `Warning`, the two types Kubernetes knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One thing that happened to an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub regarding: ObjectReference,
    pub type_: EventType,
    /// Short, CamelCase, machine-readable: `RevisionReady`.
    pub reason: String,
    pub message: String,
}

/// Where a component's events go; cheap to clone.
#[derive(Debug, Clone)]
pub struct EventRecorder {
    queue: mpsc::Sender<Record>,
}

// === impl EventRecorder ===

impl EventRecorder {
    /// A recorder writing through `client` as `component` (the Events' `source` and
    /// `reportingComponent`). Spawns its writer on the current Tokio runtime; the
    /// writer ends when the last clone is dropped.
    pub fn new(client: kube::Client, component: &'static str) -> Self {
        let (queue, records) = mpsc::channel(QUEUE);
        tokio::spawn(writer::run(client, component, records));
        Self { queue }
    }

    /// A recorder whose records go to `queue`, for tests that look at them.
    pub fn to_queue(queue: mpsc::Sender<Record>) -> Self {
        Self { queue }
    }

    pub fn normal<K>(&self, about: &K, reason: &str, message: impl Into<String>)
    where
        K: Resource<DynamicType = ()>,
    {
        self.record(about.object_ref(&()), EventType::Normal, reason, message);
    }

    pub fn warning<K>(&self, about: &K, reason: &str, message: impl Into<String>)
    where
        K: Resource<DynamicType = ()>,
    {
        self.record(about.object_ref(&()), EventType::Warning, reason, message);
    }

    /// Queues one record without waiting.
    pub fn record(
        &self,
        regarding: ObjectReference,
        type_: EventType,
        reason: &str,
        message: impl Into<String>,
    ) {
        let record = Record {
            regarding,
            type_,
            reason: reason.to_owned(),
            message: message.into(),
        };
        if let Err(error) = self.queue.try_send(record) {
            tracing::debug!(%error, "event dropped");
        }
    }
}
