//! The metrics stream between the data plane and the autoscaler: the gateway and the
//! activator count each revision's requests in flight ([`ConcurrencyCounter`], a few
//! relaxed atomics per request), sample the counters every second
//! ([`spawn_periodic`]) and send the samples over one client-streaming gRPC call
//! (`/fnmesh.autoscaler.v1.Stats/Report`) per reporter ([`Reporter`]); the autoscaler
//! receives them with [`serve`].
//!
//! The gRPC messages and the service are written by hand (see [`messages`]), so the
//! build needs no protoc.

mod backoff;
mod client;
mod counter;
pub mod messages;
mod periodic;
mod queue;
mod registry;
mod reporter;
mod server;

pub use backoff::Backoff;
pub use counter::{ConcurrencyCounter, InFlight, Sample};
pub use messages::{ReportAck, RevisionStat, StatReport, StatSource};
pub use periodic::spawn_periodic;
pub use queue::CAPACITY as QUEUE_CAPACITY;
pub use registry::CounterRegistry;
pub use reporter::Reporter;
pub use server::serve;
