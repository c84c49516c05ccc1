//! The wire messages, written by hand with prost's derives (no protoc, no build
//! script). The equivalent proto:
//!
//! ```proto
//! package fnmesh.autoscaler.v1;
//! service Stats { rpc Report(stream StatReport) returns (ReportAck); }
//! enum StatSource { INGRESS = 0; ACTIVATOR = 1; }
//! message RevisionStat { string namespace = 1; string revision = 2; double concurrency = 3; uint64 requests = 4; }
//! message StatReport { string reporter = 1; StatSource source = 2; bool cold = 3; repeated RevisionStat stats = 4; }
//! message ReportAck {}
//! ```

/// The gRPC service name, as `tonic::server::NamedService` reports it.
pub const SERVICE_NAME: &str = "fnmesh.autoscaler.v1.Stats";
/// The one method's path.
pub const REPORT_PATH: &str = "/fnmesh.autoscaler.v1.Stats/Report";

/// Which part of the data plane counted the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum StatSource {
    Ingress = 0,
    Activator = 1,
}

/// One revision's figures for one reporting period (normally 1 s).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RevisionStat {
    #[prost(string, tag = "1")]
    pub namespace: String,
    #[prost(string, tag = "2")]
    pub revision: String,
    /// Time-weighted average number of requests in flight during the period.
    #[prost(double, tag = "3")]
    pub concurrency: f64,
    /// Requests that arrived during the period.
    #[prost(uint64, tag = "4")]
    pub requests: u64,
}

/// What one reporter sends each period (or at once, for a cold start).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatReport {
    /// Identifies the reporting instance (e.g. `gateway-<uuid>`).
    #[prost(string, tag = "1")]
    pub reporter: String,
    #[prost(enumeration = "StatSource", tag = "2")]
    pub source: i32,
    /// Sent at once, off the 1 s tick: a request arrived for a revision with no ready replica.
    #[prost(bool, tag = "3")]
    pub cold: bool,
    #[prost(message, repeated, tag = "4")]
    pub stats: Vec<RevisionStat>,
}

/// The autoscaler's answer when a stream ends; it carries nothing.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct ReportAck {}
