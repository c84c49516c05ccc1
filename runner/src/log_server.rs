//! The runner's kubelet-like HTTP endpoint on loopback: `GET
//! /containerLogs/{namespace}/{pod}/{container}` with the kubelet's query
//! parameters, which the API server proxies `pods/{name}/log` to. Errors are plain
//! text with the kubelet's status codes (404 for an unknown pod or container, 400 for
//! a container with no such log), which the API server turns into `Status` errors.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::log_query::LogQuery;
use crate::log_stream;
use crate::pod_registry::PodRegistry;

type Body = BoxBody<Bytes, Infallible>;

/// Chunks in flight to a slow follower before its reader waits.
const STREAM_BUFFER: usize = 16;

/// Serves `listener` until dropped.
pub(crate) async fn serve(listener: TcpListener, registry: PodRegistry) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!(error = %e, "log endpoint accept failed");
                continue;
            }
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let registry = registry.clone();
                async move { Ok::<_, Infallible>(respond(&registry, &req)) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(error = %e, "log endpoint connection ended");
            }
        });
    }
}

/// Binds the endpoint on `addr` (`fnmesh up`: an ephemeral loopback port).
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

fn respond(registry: &PodRegistry, req: &Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET is supported\n".into(),
        );
    }
    let segments: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
    let ["containerLogs", namespace, pod, container] = segments.as_slice() else {
        return text(StatusCode::NOT_FOUND, "404 page not found\n".into());
    };
    let query = match LogQuery::parse(req.uri().query().unwrap_or_default(), Timestamp::now()) {
        Ok(q) => q,
        Err(message) => return text(StatusCode::BAD_REQUEST, message),
    };
    let Some(entry) = registry.get(namespace, pod) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("pod {pod:?} does not exist\n"),
        );
    };
    if entry.container != *container {
        return text(
            StatusCode::NOT_FOUND,
            format!("container {container:?} not found in pod {pod:?}\n"),
        );
    }
    let progress = *entry.log.progress().borrow();
    let source = match log_stream::source(&progress, &query, container, pod) {
        Ok(source) => source,
        Err(message) => return text(StatusCode::BAD_REQUEST, message),
    };
    let (tx, mut rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    tokio::spawn(log_stream::send(entry.log, query, source, tx));
    let chunks = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok::<_, Infallible>(Frame::data(b))))
    });
    let mut response = Response::new(StreamBody::new(chunks).boxed());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    response
}

fn text(code: StatusCode, message: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(message)).boxed());
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
