//! The proxy listener (HTTP/1.1 and h2c on one port), and the accept loop it shares
//! with the admin port (`admin`). Both drain gracefully: on shutdown they stop
//! accepting, let in-flight requests finish, then return.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};

use crate::config::GatewayConfig;
use crate::drain::{Drain, Signal};
use crate::forwarded::ClientForwarding;
use crate::framing::FramingGuard;
use crate::h1::{self, Handoff};
use crate::head_policy::{MAX_HEAD_BYTES, MAX_HEADERS};
use crate::pool::{IDLE_SWEEP_INTERVAL, sweep_clock};
use crate::proxy::Proxy;
use conn_guard::FirstBytesDeadline;

/// Back-off after a failed `accept` (e.g. out of file descriptors) instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The longest a listener waits for the control plane's first table before it serves
/// the empty one (Envoy's `initial_fetch_timeout` default).
const FIRST_TABLE_DEADLINE: Duration = Duration::from_secs(15);

/// Serves the proxy on `listener` until `shutdown` completes, then stops accepting and
/// waits for in-flight requests (bounded by their revisions' timeouts) to finish.
/// Upgraded (WebSocket) connections are not waited for.
///
/// A configuration still awaiting its first table (a gateway just started, or
/// restarted under load) accepts nothing until the table comes or
/// [`FIRST_TABLE_DEADLINE`] passes: it knows no route yet and would answer 404 for
/// every host that exists. Clients' connections wait in the listen backlog meanwhile,
/// as Envoy's do, whose listeners come with its first configuration.
pub async fn serve(
    listener: TcpListener,
    config: Arc<GatewayConfig>,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = pin!(shutdown);
    tokio::select! {
        () = first_table(&config, FIRST_TABLE_DEADLINE) => {}
        () = &mut shutdown => return,
    }
    let _sweeper = AbortOnDrop(tokio::spawn(evict_idle_upstreams(Arc::clone(&config))));
    let shared = Arc::new(ProxyListener {
        hyper: hyper_builder(config.header_read_timeout()),
        proxy: Proxy::new(config),
    });
    accept_until(listener, shutdown, |stream, peer, signal| {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let client = ClientForwarding::new(peer.ip());
            let mut stop = pin!(signal.stopped());
            // Plain HTTP/1.1 takes the fast path; whatever it leaves goes to hyper.
            let handoff = if shared.proxy.fast_path() {
                h1::serve(stream, &shared.proxy, &client, stop.as_mut()).await
            } else {
                Some(Handoff::untouched(stream))
            };
            if let Some(handoff) = handoff {
                shared.serve_with_hyper(handoff, client, peer, stop).await;
            }
        });
    })
    .await;
}

/// Completes once `config` has a table, or after `deadline`.
async fn first_table(config: &GatewayConfig, deadline: Duration) {
    let mut has_table = config.has_table();
    if tokio::time::timeout(deadline, has_table.wait_for(|has| *has))
        .await
        .is_err()
    {
        tracing::warn!(
            ?deadline,
            "no table from the control plane yet; serving without routes"
        );
    }
}

/// What every connection of a proxy listener shares.
struct ProxyListener {
    proxy: Proxy,
    hyper: auto::Builder<TokioExecutor>,
}

fn hyper_builder(header_read_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD_BYTES as u32);
    builder
}

impl ProxyListener {
    /// Serves the rest of a connection through hyper (HTTP/2, upgrades, and the other
    /// cases the fast path leaves), finishing in-flight requests once `stop` completes.
    async fn serve_with_hyper(
        self: Arc<Self>,
        handoff: Handoff,
        client: ClientForwarding,
        peer: SocketAddr,
        stop: Pin<&mut impl Future<Output = ()>>,
    ) {
        let Handoff {
            stream,
            buffered,
            target,
        } = handoff;
        let shared = Arc::clone(&self);
        let client = Arc::new(client);
        // The fast path's choice for the first buffered request, so no request is
        // routed twice (and round-robin advances once per request).
        let chosen = Arc::new(parking_lot::Mutex::new(target));
        let service = service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let client = Arc::clone(&client);
            let chosen = chosen.lock().take();
            async move {
                let response = shared.proxy.handle(request, &client, chosen).await;
                Ok::<_, Infallible>(response)
            }
        });
        // The guard hands hyper a head only once it is whole, and hyper's header read
        // timeout starts only after its protocol sniff: the deadline covers that wait.
        let io = TokioIo::new(FirstBytesDeadline::new(
            FramingGuard::with_prefix(&buffered, stream),
            self.proxy.header_read_timeout(),
        ));
        let connection = self.hyper.serve_connection_with_upgrades(io, service);
        let mut connection = pin!(connection);
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            () = stop => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = ended {
            tracing::debug!(%peer, %error, "proxy connection ended with an error");
        }
    }
}

/// Stops a background task when whoever started it finishes or is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Closes idle upstream connections past their timeout even when no request comes
/// to notice them.
async fn evict_idle_upstreams(config: Arc<GatewayConfig>) {
    let mut tick = tokio::time::interval(IDLE_SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        config.snapshot().evict_idle(sweep_clock());
    }
}

/// Accepts connections, handing each to `on_connection` with its drain signal, until
/// `shutdown`; then signals them all and waits for every one to end.
pub(crate) async fn accept_until(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    mut on_connection: impl FnMut(TcpStream, SocketAddr, Signal),
) {
    let drain = Drain::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Small request/response writes must not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    on_connection(stream, peer, drain.signal());
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    drain.drain().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route_table::RouteTable;

    #[tokio::test(start_paused = true)]
    async fn a_listener_waits_for_the_first_table_up_to_the_deadline() {
        let start = tokio::time::Instant::now();
        first_table(&GatewayConfig::default(), FIRST_TABLE_DEADLINE).await;
        assert_eq!(start.elapsed(), FIRST_TABLE_DEADLINE, "nothing came");

        let config = Arc::new(GatewayConfig::default());
        let start = tokio::time::Instant::now();
        let storing = {
            let config = Arc::clone(&config);
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                config.store(RouteTable::empty());
            }
        };
        tokio::join!(first_table(&config, FIRST_TABLE_DEADLINE), storing);
        assert_eq!(start.elapsed(), Duration::from_secs(2), "the table came");

        let start = tokio::time::Instant::now();
        first_table(
            &GatewayConfig::new(RouteTable::empty()),
            FIRST_TABLE_DEADLINE,
        )
        .await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "a given table needs no wait"
        );
    }
}
