//! Thread-per-core serving: the proxy on dedicated OS threads, each with its own
//! single-threaded tokio runtime, so a request never crosses threads (no work stealing,
//! no cross-thread wakeups). The threads accept from the same listening socket and keep
//! their own upstream connections (see `pool::http1`); the route table and the metrics
//! stay shared.

use std::cell::Cell;
use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::config::GatewayConfig;
use crate::server::serve;

thread_local! {
    /// This thread's index among the proxy workers; [`NOT_A_WORKER`] elsewhere.
    static WORKER: Cell<usize> = const { Cell::new(NOT_A_WORKER) };
}

/// How many worker threads the largest [`serve_on_threads`] so far started: each
/// upstream endpoint keeps that many idle lists.
static WORKER_COUNT: AtomicUsize = AtomicUsize::new(1);

/// Every thread outside [`serve_on_threads`] (e.g. [`serve`] on a shared runtime, whose
/// threads share one I/O driver) counts as this one worker.
const NOT_A_WORKER: usize = usize::MAX;

/// The proxy worker the current thread is.
pub(crate) fn current_worker() -> usize {
    WORKER.get()
}

pub(crate) fn worker_count() -> usize {
    WORKER_COUNT.load(Ordering::Relaxed)
}

/// Serves the proxy on `listener` with `threads` worker threads until `shutdown`
/// completes, then lets every worker drain (as [`serve`] does) and returns once all
/// have stopped. Call it from within a tokio runtime; the workers do not use it.
///
/// # Errors
/// The listener cannot be shared with the workers, or a worker thread or its runtime
/// cannot be started.
pub async fn serve_on_threads(
    listener: TcpListener,
    config: Arc<GatewayConfig>,
    threads: NonZeroUsize,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    WORKER_COUNT.fetch_max(threads.get(), Ordering::Relaxed);
    let listener = listener.into_std()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every worker holds a sender; `recv` returns `None` once all have exited.
    let (alive_tx, mut alive_rx) = mpsc::channel::<Infallible>(1);
    for worker in 0..threads.get() {
        let listener = listener.try_clone()?;
        let config = Arc::clone(&config);
        let mut stop = stop_rx.clone();
        let alive = alive_tx.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("gateway-{worker}"))
            .spawn(move || {
                WORKER.set(worker);
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::error!(worker, %error, "gateway worker cannot listen");
                            return;
                        }
                    };
                    let shutdown = async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    };
                    serve(listener, config, shutdown).await;
                });
                drop(alive);
            })?;
    }
    drop((alive_tx, listener));
    shutdown.await;
    let _ = stop_tx.send(true);
    while alive_rx.recv().await.is_some() {}
    Ok(())
}
