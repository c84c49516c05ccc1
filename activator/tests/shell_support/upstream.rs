//! A loopback HTTP server standing in for a revision's replica: it records what it
//! saw and can hold requests until the test lets them go.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::sync::{Semaphore, watch};

type Body = BoxBody<Bytes, Infallible>;

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub version: Version,
    pub authority: Option<String>,
    pub headers: HeaderMap,
}

/// The upstream's work so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Requests being handled right now.
    pub in_flight: usize,
    /// Requests answered.
    pub answered: usize,
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub load: watch::Receiver<Load>,
    state: Arc<State>,
}

/// When the upstream waits for [`Upstream::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Open,
    /// Before answering at all.
    Head,
    /// After the head and the first half of the body.
    MidBody,
}

struct State {
    gate: Semaphore,
    gated: Gate,
    load: watch::Sender<Load>,
    most_in_flight: Mutex<usize>,
    seen: Mutex<Vec<Seen>>,
}

impl Upstream {
    /// Answers every request at once with 200 `hello`.
    pub async fn open() -> Self {
        Self::start(Gate::Open).await
    }

    /// Holds every request until [`Upstream::release`] lets one through.
    pub async fn gated() -> Self {
        Self::start(Gate::Head).await
    }

    /// Sends the head and `hel` at once, and `lo` once [`Upstream::release`] says so.
    pub async fn streaming() -> Self {
        Self::start(Gate::MidBody).await
    }

    async fn start(gated: Gate) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (load_tx, load) = watch::channel(Load::default());
        let state = Arc::new(State {
            gate: Semaphore::new(0),
            gated,
            load: load_tx,
            most_in_flight: Mutex::new(0),
            seen: Mutex::default(),
        });
        let serving = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&serving);
                let service = service_fn(move |request| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(state.handle(request).await) }
                });
                tokio::spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, load, state }
    }

    /// Lets one held request answer.
    pub fn release(&self) {
        self.state.gate.add_permits(1);
    }

    pub fn most_in_flight(&self) -> usize {
        *self.state.most_in_flight.lock()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().clone()
    }
}

impl State {
    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        self.seen.lock().push(Seen {
            version: request.version(),
            authority: request.uri().authority().map(ToString::to_string),
            headers: request.headers().clone(),
        });
        self.load.send_modify(|load| {
            load.in_flight += 1;
            let mut most = self.most_in_flight.lock();
            *most = (*most).max(load.in_flight);
        });
        if self.gated == Gate::Head {
            self.gate.acquire().await.unwrap().forget();
        }
        self.load.send_modify(|load| {
            load.in_flight -= 1;
            load.answered += 1;
        });
        if self.gated != Gate::MidBody {
            return Response::new(Full::new(Bytes::from_static(b"hello")).boxed());
        }
        let halves = futures::stream::unfold(0, move |half| {
            let state = Arc::clone(&self);
            async move {
                let chunk: &'static [u8] = match half {
                    0 => b"hel",
                    1 => {
                        state.gate.acquire().await.unwrap().forget();
                        b"lo"
                    }
                    _ => return None,
                };
                Some((Ok(Frame::data(Bytes::from_static(chunk))), half + 1))
            }
        });
        Response::new(StreamBody::new(halves).boxed())
    }
}
