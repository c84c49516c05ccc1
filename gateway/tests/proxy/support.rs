//! Real peers for the proxy tests: echo upstreams (HTTP/1.1 or h2c) that report the
//! request they saw, a running gateway with its admin port, and plain clients.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use gateway::{GatewayConfig, KnativeRoute, Protocol, Revision, RouteTable, TrafficTarget};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub(crate) const DOMAIN: &str = "example.com";

/// What an echo upstream saw, parsed from its response body.
#[derive(Debug)]
pub(crate) struct Echo {
    /// The label the upstream was started with (its revision name).
    pub(crate) revision: String,
    /// The HTTP version the request arrived with.
    pub(crate) version: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Echo {
    pub(crate) fn parse(body: &str) -> Self {
        let mut lines = body.lines();
        let revision = lines.next().unwrap_or_default().to_owned();
        let version = lines.next().unwrap_or_default().to_owned();
        let headers = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        Self {
            revision,
            version,
            headers,
        }
    }

    /// The only value of header `name`, panicking when it is repeated.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        assert!(
            values.next().is_none(),
            "{name} repeated in {:?}",
            self.headers
        );
        first
    }
}

/// An upstream function that echoes each request (see [`Echo`]), answers WebSocket
/// upgrades by echoing bytes, waits 2 s on `/slow`, and pauses 2 s mid-body on
/// `/slow-body`.
pub(crate) async fn start_echo_upstream(revision: &str, protocol: Protocol) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let revision: Arc<str> = revision.into();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let revision = Arc::clone(&revision);
            let service = service_fn(move |request| echo(Arc::clone(&revision), request));
            let io = TokioIo::new(stream);
            tokio::spawn(async move {
                let _ = match protocol {
                    Protocol::Http1 => {
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .with_upgrades()
                            .await
                    }
                    Protocol::H2c => {
                        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(io, service)
                            .await
                    }
                };
            });
        }
    });
    addr
}

type EchoBody = Either<Full<Bytes>, SlowBody>;

async fn echo(
    revision: Arc<str>,
    mut request: Request<Incoming>,
) -> Result<Response<EchoBody>, Infallible> {
    if request.headers().contains_key("upgrade") {
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let mut io = TokioIo::new(upgraded);
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = io.read(&mut buf).await {
                if io.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
        return Ok(Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .body(Either::Left(Full::default()))
            .unwrap());
    }
    if request.uri().path() == "/slow-body" {
        return Ok(Response::new(Either::Right(SlowBody::default())));
    }
    if request.uri().path() == "/slow" {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let mut body = format!("{revision}\n{:?}\n", request.version());
    if request.version() == http::Version::HTTP_2
        && let Some(authority) = request.uri().authority()
    {
        body.push_str(&format!(":authority: {authority}\n"));
    }
    for (name, value) in request.headers() {
        body.push_str(&format!(
            "{name}: {}\n",
            value.to_str().unwrap_or("<binary>")
        ));
    }
    let _ = request.into_body().collect().await;
    Ok(Response::new(Either::Left(Full::new(Bytes::from(body)))))
}

/// A body that sends `partial\n` at once and `rest\n` two seconds later.
#[derive(Default)]
struct SlowBody {
    sent: u8,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl hyper::body::Body for SlowBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.sent {
            0 => {
                self.sent = 1;
                self.pause = Some(Box::pin(tokio::time::sleep(Duration::from_secs(2))));
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"partial\n")))))
            }
            1 => {
                let pause = self.pause.as_mut().expect("set with the first frame");
                std::task::ready!(pause.as_mut().poll(cx));
                self.sent = 2;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"rest\n")))))
            }
            _ => Poll::Ready(None),
        }
    }
}

/// Which of the gateway's two request paths serves plain HTTP/1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// The byte-level fast path (the default), handing rarer requests to hyper.
    Fast,
    /// hyper for every connection (`GatewayConfig::without_http1_fast_path`).
    Hyper,
}

impl Path {
    pub(crate) const BOTH: [Path; 2] = [Path::Fast, Path::Hyper];
}

/// A gateway serving on 127.0.0.1 with its admin port; shuts down when dropped.
pub(crate) struct RunningGateway {
    pub(crate) addr: SocketAddr,
    pub(crate) admin_addr: SocketAddr,
    pub(crate) config: Arc<GatewayConfig>,
    shutdown: watch::Sender<bool>,
    pub(crate) stopped: Option<tokio::task::JoinHandle<()>>,
    admin_stopped: Option<tokio::task::JoinHandle<()>>,
}

impl RunningGateway {
    pub(crate) async fn start(table: RouteTable) -> Self {
        Self::start_with(table, None, Path::Fast).await
    }

    /// A gateway whose plain HTTP/1.1 requests take `path`.
    pub(crate) async fn start_on(path: Path, table: RouteTable) -> Self {
        Self::start_with(table, None, path).await
    }

    /// The gateway as `fnmesh up` runs it: on `threads` worker threads of its own.
    pub(crate) async fn start_on_threads(table: RouteTable, threads: usize) -> Self {
        Self::start_with(table, Some(NonZeroUsize::new(threads).unwrap()), Path::Fast).await
    }

    async fn start_with(table: RouteTable, threads: Option<NonZeroUsize>, path: Path) -> Self {
        Self::start_configured(table, threads, path, |config| config).await
    }

    /// A gateway on `path` whose configuration `configure` adjusts first.
    pub(crate) async fn start_configured(
        table: RouteTable,
        threads: Option<NonZeroUsize>,
        path: Path,
        configure: impl FnOnce(GatewayConfig) -> GatewayConfig,
    ) -> Self {
        let config = match path {
            Path::Fast => GatewayConfig::new(table),
            Path::Hyper => GatewayConfig::new(table).without_http1_fast_path(),
        };
        let config = Arc::new(configure(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let admin_addr = admin.local_addr().unwrap();
        let (shutdown, signal) = watch::channel(false);
        let stopping = move || {
            let mut signal = signal.clone();
            async move {
                let _ = signal.wait_for(|stop| *stop).await;
            }
        };
        let stopped = match threads {
            None => tokio::spawn(gateway::serve(listener, Arc::clone(&config), stopping())),
            Some(threads) => {
                let serving =
                    gateway::serve_on_threads(listener, Arc::clone(&config), threads, stopping());
                tokio::spawn(async move { serving.await.unwrap() })
            }
        };
        let admin_stopped = tokio::spawn(gateway::serve_metrics(
            admin,
            Arc::clone(&config),
            stopping(),
        ));
        Self {
            addr,
            admin_addr,
            config,
            shutdown,
            stopped: Some(stopped),
            admin_stopped: Some(admin_stopped),
        }
    }

    /// Begins graceful shutdown.
    pub(crate) fn shut_down(&mut self) {
        let _ = self.shutdown.send(true);
    }

    /// Shuts down and waits until the gateway has let go of everything, its upstream
    /// connections included.
    pub(crate) async fn stop(mut self) {
        self.shut_down();
        for task in [self.stopped.take(), self.admin_stopped.take()]
            .into_iter()
            .flatten()
        {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the gateway stops")
                .unwrap();
        }
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A revision in namespace `default`.
pub(crate) fn revision(name: &str, protocol: Protocol, endpoints: &[SocketAddr]) -> Revision {
    Revision::new("default", name, protocol, endpoints.to_vec())
}

/// One Knative route `name` in `default` with `(revision, percent, tag)` targets.
pub(crate) fn knative_route(name: &str, targets: &[(&str, u32, Option<&str>)]) -> KnativeRoute {
    KnativeRoute {
        name: name.into(),
        namespace: "default".into(),
        traffic: targets
            .iter()
            .map(|(revision, percent, tag)| TrafficTarget {
                revision: (*revision).into(),
                percent: *percent,
                tag: tag.map(Into::into),
            })
            .collect(),
    }
}

/// A table with route `hello` sending everything to one HTTP/1.1 echo revision.
pub(crate) async fn single_revision_table(name: &str) -> RouteTable {
    let upstream = start_echo_upstream(name, Protocol::Http1).await;
    RouteTable::from_knative(
        DOMAIN,
        vec![knative_route("hello", &[(name, 100, None)])],
        vec![revision(name, Protocol::Http1, &[upstream])],
    )
    .unwrap()
}

/// A keep-alive HTTP/1.1 client connection to `addr`.
pub(crate) async fn http1_connection(
    addr: SocketAddr,
) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection.with_upgrades());
    sender
}

/// An h2c (prior knowledge) client connection to `addr`.
pub(crate) async fn h2c_connection(
    addr: SocketAddr,
) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

/// A GET request for `path` on `host`, with extra headers.
pub(crate) fn get(host: &str, path: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut builder = Request::get(path).header("host", host);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::default()).unwrap()
}

/// Sends one request on a fresh HTTP/1.1 connection; returns status and body text.
pub(crate) async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> (StatusCode, String) {
    let mut connection = http1_connection(addr).await;
    let response = connection.send_request(request).await.unwrap();
    read_response(response).await
}

pub(crate) async fn read_response(response: Response<Incoming>) -> (StatusCode, String) {
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Writes `raw` to a fresh connection and reads until the server closes it (or 5 s).
pub(crate) async fn raw_exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status codes of every response in a raw HTTP/1.1 exchange, in order.
pub(crate) fn statuses(raw: &str) -> Vec<u16> {
    raw.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| raw.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

/// The admin port's `/metrics` text.
pub(crate) async fn scrape_metrics(admin: SocketAddr) -> String {
    let request = Request::get("/metrics")
        .header("host", "admin")
        .body(Full::default())
        .unwrap();
    let (status, body) = send(admin, request).await;
    assert_eq!(status, StatusCode::OK);
    body
}
