//! The receiving side (the autoscaler): the `Stats` service written out by hand, the
//! way tonic's code generator would write it for one client-streaming method.

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tonic::codegen::{Body, BoxFuture, Service, StdError, http};
use tonic::server::{ClientStreamingService, NamedService};
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

use crate::messages::{REPORT_PATH, ReportAck, SERVICE_NAME, StatReport};

/// Notices reporters that vanished without closing their connection.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `Stats/Report` on `listener`, putting every report received into `sink`,
/// until `shutdown` completes; then ends every stream (a reporter's stream never ends
/// by itself, and would hold graceful shutdown open forever) and returns.
pub async fn serve(
    listener: TcpListener,
    sink: mpsc::Sender<StatReport>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (stop_tx, stop) = watch::channel(false);
    let service = StatsServer { sink, stop };
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .serve_with_incoming_shutdown(service, TcpIncoming::from(listener), async move {
            shutdown.await;
            stop_tx.send_replace(true);
        })
        .await
}

/// The service: routes `Report` to [`ReportMethod`], anything else is `UNIMPLEMENTED`.
#[derive(Debug, Clone)]
struct StatsServer {
    sink: mpsc::Sender<StatReport>,
    stop: watch::Receiver<bool>,
}

impl NamedService for StatsServer {
    const NAME: &'static str = SERVICE_NAME;
}

impl<B> Service<http::Request<B>> for StatsServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != REPORT_PATH {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let method = ReportMethod {
            sink: self.sink.clone(),
            stop: self.stop.clone(),
        };
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<ReportAck, StatReport>::default());
            Ok(grpc.client_streaming(method, request).await)
        })
    }
}

/// One `Report` stream.
struct ReportMethod {
    sink: mpsc::Sender<StatReport>,
    stop: watch::Receiver<bool>,
}

impl ClientStreamingService<StatReport> for ReportMethod {
    type Response = ReportAck;
    type Future = BoxFuture<Response<ReportAck>, Status>;

    fn call(&mut self, request: Request<Streaming<StatReport>>) -> Self::Future {
        let sink = self.sink.clone();
        let mut stop = self.stop.clone();
        let peer = request.remote_addr();
        let mut reports = request.into_inner();
        Box::pin(async move {
            loop {
                let report = tokio::select! {
                    report = reports.message() => report?,
                    _ = stop.wait_for(|stopped| *stopped) => None,
                };
                let Some(report) = report else { break };
                deliver(&sink, report, peer);
            }
            Ok(Response::new(ReportAck {}))
        })
    }
}

/// Hands one report on without waiting: a consumer that falls behind loses reports
/// (the next second's supersede them) rather than stalling every reporter's stream.
fn deliver(
    sink: &mpsc::Sender<StatReport>,
    report: StatReport,
    peer: Option<std::net::SocketAddr>,
) {
    if let Err(error) = sink.try_send(report) {
        let report = error.into_inner();
        tracing::debug!(?peer, reporter = %report.reporter, "stat report dropped: the autoscaler's queue is full or closed");
    }
}
