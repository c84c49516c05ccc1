//! A replica that can be killed while the activator still holds idle keep-alive
//! connections to it: after [`KillableReplica::kill`] new connections are refused and a
//! request on an old one is read and dropped without an answer — what a SIGKILLed
//! process looks like before the activator has noticed its sockets close.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::{Barrier, Notify};
use tokio::task::JoinHandle;

pub struct KillableReplica {
    pub addr: SocketAddr,
    state: Arc<State>,
    accepting: JoinHandle<()>,
}

struct State {
    dead: AtomicBool,
    /// Requests that arrived after the kill.
    after_death: AtomicUsize,
    /// `/pair` answers only when two requests are in at once, so the activator holds
    /// two connections.
    pair: Barrier,
    kill: Notify,
}

impl KillableReplica {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            dead: AtomicBool::new(false),
            after_death: AtomicUsize::new(0),
            pair: Barrier::new(2),
            kill: Notify::new(),
        });
        let serving = Arc::clone(&state);
        let accepting = tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    () = serving.kill.notified() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => return,
                    },
                };
                let state = Arc::clone(&serving);
                let service = service_fn(move |request| Arc::clone(&state).handle(request));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self {
            addr,
            state,
            accepting,
        }
    }

    /// From now on: no new connection, and no answer on an old one.
    pub async fn kill(self) -> Killed {
        self.state.dead.store(true, Ordering::SeqCst);
        self.state.kill.notify_one();
        // The listener is closed once the accept loop has returned.
        self.accepting.await.unwrap();
        Killed { state: self.state }
    }
}

/// What a killed replica still tells the test.
pub struct Killed {
    state: Arc<State>,
}

impl Killed {
    /// Requests that reached one of its old connections after the kill.
    pub fn requests_after_death(&self) -> usize {
        self.state.after_death.load(Ordering::SeqCst)
    }
}

impl State {
    async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, std::io::Error> {
        if self.dead.load(Ordering::SeqCst) {
            self.after_death.fetch_add(1, Ordering::SeqCst);
            // A service error makes hyper drop the connection without a response.
            return Err(std::io::ErrorKind::ConnectionAborted.into());
        }
        if request.uri().path() == "/pair" {
            self.pair.wait().await;
        }
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
            .map_err(|never| match never {})
    }
}
