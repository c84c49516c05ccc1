//! The sending side's one gRPC call, written out by hand the way tonic's code
//! generator would write a client-streaming method.

use std::time::Duration;

use futures::Stream;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic_prost::ProstCodec;

use crate::messages::{REPORT_PATH, ReportAck, StatReport};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Notices an autoscaler that vanished without closing the connection.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a stream to the autoscaler ended.
#[derive(Debug)]
pub(crate) enum StreamEnd {
    /// Could not connect; nothing was sent.
    Connect(tonic::transport::Error),
    /// The stream failed (the connection broke, or the server refused it).
    Failed(tonic::Status),
    /// The server ended the stream (it is shutting down).
    Closed,
}

pub(crate) async fn connect(addr: std::net::SocketAddr) -> Result<Channel, StreamEnd> {
    Endpoint::from_shared(format!("http://{addr}"))
        .map_err(StreamEnd::Connect)?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .connect()
        .await
        .map_err(StreamEnd::Connect)
}

/// `Stats/Report`: sends `reports` until the stream fails or the server ends it.
pub(crate) async fn report(
    channel: Channel,
    reports: impl Stream<Item = StatReport> + Send + 'static,
) -> StreamEnd {
    let mut grpc = tonic::client::Grpc::new(channel);
    if let Err(error) = grpc.ready().await {
        return StreamEnd::Failed(tonic::Status::unavailable(error.to_string()));
    }
    let path = PathAndQuery::from_static(REPORT_PATH);
    let codec = ProstCodec::<StatReport, ReportAck>::default();
    match grpc
        .client_streaming(tonic::Request::new(reports), path, codec)
        .await
    {
        Ok(_) => StreamEnd::Closed,
        Err(status) => StreamEnd::Failed(status),
    }
}
