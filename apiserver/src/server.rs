//! The HTTP server: listener, authentication and authorisation (see [`crate::auth`]),
//! body limits, and dispatch of each request to discovery, OpenAPI or the resource
//! handlers.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::api::Api;
use crate::auth::{self, Authenticator, Scoped};
use crate::path::{self, Endpoint};
use crate::status::ApiError;
use crate::{discovery, handlers, openapi};
use conn_guard::FirstBytesDeadline;

/// Requests larger than this are refused with 413, as kube-apiserver does.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How long a client may take to send a whole HTTP/1.1 request head (hyper's default).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

pub type Body = BoxBody<Bytes, Infallible>;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    /// The admin token, required as `Authorization: Bearer <token>` when set. It
    /// must be set off loopback and with a token file ([`auth::requires_token`]).
    pub token: Option<String>,
    /// `--token-auth-file`: more tokens, each naming a user and optionally the
    /// namespaces it may touch.
    pub token_auth_file: Option<PathBuf>,
    /// A connection that takes longer than this to send a request head (slowloris) is
    /// closed; [`DEFAULT_HEADER_READ_TIMEOUT`] unless told.
    pub header_read_timeout: Duration,
    /// `--event-ttl`: how long an Event lives after its last write
    /// ([`crate::event_ttl::DEFAULT_EVENT_TTL`], an hour, unless told).
    pub event_ttl: Duration,
}

/// A bound, not yet serving, API server.
#[derive(Debug)]
pub struct ApiServer {
    api: Arc<Api>,
    listener: TcpListener,
    addr: SocketAddr,
    auth: Authenticator,
    /// HTTPS whenever a token is required (clients do not send tokens in the clear).
    tls: Option<crate::tls::ServerTls>,
    header_read_timeout: Duration,
    event_ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data dir {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Auth(#[from] auth::AuthConfigError),
}

impl ApiServer {
    pub async fn bind(config: &ServerConfig) -> Result<Self, StartError> {
        // Every auth mistake fails here, before anything is created or bound.
        let token_file = match &config.token_auth_file {
            Some(path) => Some(auth::load_token_file(path).map_err(auth::AuthConfigError::from)?),
            None => None,
        };
        let auth = Authenticator::new(config.addr, config.token.clone(), token_file)?;
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
        let db = config.data_dir.join("fnmesh.redb");
        let api = tokio::task::spawn_blocking(move || Api::open(&db))
            .await
            .map_err(|e| crate::store::StoreError::Db(e.to_string()))??;
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|e| StartError::Bind(config.addr, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Bind(config.addr, e))?;
        let tls = if auth.requires_token() {
            Some(crate::tls::load_or_create(&config.data_dir, addr)?)
        } else {
            None
        };
        Ok(Self {
            api: Arc::new(api),
            listener,
            addr,
            auth,
            tls,
            header_read_timeout: config.header_read_timeout.max(Duration::from_millis(1)),
            event_ttl: config.event_ttl,
        })
    }

    /// Start a server on an ephemeral loopback port in the background (for tests and
    /// embedding); it runs until the runtime shuts down.
    pub async fn start_ephemeral(data_dir: &std::path::Path) -> Result<SocketAddr, StartError> {
        let server = Self::bind(&ServerConfig {
            data_dir: data_dir.to_path_buf(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            token_auth_file: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            event_ttl: crate::event_ttl::DEFAULT_EVENT_TTL,
        })
        .await?;
        let addr = server.local_addr();
        tokio::spawn(server.serve(std::future::pending()));
        Ok(addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The certificate clients must trust, when the API serves HTTPS.
    pub fn tls_cert_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.cert_pem.as_str())
    }

    /// `https://…` or `http://…`, as clients should address it.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", crate::kubeconfig::client_host(self.addr))
    }

    pub fn api(&self) -> Arc<Api> {
        self.api.clone()
    }

    /// Serve until `shutdown` resolves; in-flight requests are not awaited (watches
    /// would hold shutdown forever), but every acknowledged write is already on disk.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let ctx = Arc::new(Ctx {
            api: self.api,
            addr: self.addr,
            auth: self.auth,
        });
        let sweep = tokio::spawn(crate::event_ttl::sweep(
            ctx.api.clone(),
            self.event_ttl,
            jiff::Timestamp::now,
        ));
        let _sweep = AbortOnDrop(sweep);
        tokio::pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
                () = &mut shutdown => return,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let ctx = ctx.clone();
            let tls = self.tls.clone();
            let header_read_timeout = self.header_read_timeout;
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let ctx = ctx.clone();
                    async move { Ok::<_, Infallible>(handle(ctx, req).await) }
                });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                // Without a timer hyper enforces no header read timeout at all, and a
                // head trickled byte by byte (slowloris) would hold its connection open.
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_read_timeout);
                let served = match tls {
                    None => {
                        let io = FirstBytesDeadline::new(stream, header_read_timeout);
                        builder.serve_connection(TokioIo::new(io), service).await
                    }
                    // A handshake gets as long as a head: a client that never sends
                    // its hello does not hold the connection open.
                    Some(tls) => {
                        match tokio::time::timeout(header_read_timeout, tls.acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(s)) => {
                                let io = FirstBytesDeadline::new(s, header_read_timeout);
                                builder.serve_connection(TokioIo::new(io), service).await
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!("TLS handshake timed out");
                                return;
                            }
                        }
                    }
                };
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended");
                }
            });
        }
    }
}

/// Ends the Event sweep with the server.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) api: Arc<Api>,
    pub(crate) addr: SocketAddr,
    auth: Authenticator,
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub fn json_response(code: StatusCode, v: &Value) -> Response<Body> {
    json_bytes_response(code, v.to_string())
}

/// A response whose body is JSON already serialized.
pub fn json_bytes_response(code: StatusCode, json: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(json));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &e.to_status())
}

async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Response<Body> {
    let Some(user) = ctx.auth.authenticate(req.headers()) else {
        return status_response(StatusCode::UNAUTHORIZED, auth::UNAUTHORIZED);
    };
    let scoped = match auth::authorize(&user, req.method(), req.uri().path(), req.uri().query()) {
        Ok(scoped) => scoped,
        Err(forbidden) => return status_response(StatusCode::FORBIDDEN, forbidden),
    };
    match route(&ctx, req, scoped.as_ref()).await {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    }
}

/// A `Status` body rendered by [`auth`], byte for byte as Kubernetes writes it.
fn status_response(code: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Read the whole body, refusing more than [`MAX_BODY_BYTES`].
pub async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::TooLarge {
            message: "the request is too large: request bodies are limited to 3 MiB".into(),
        }),
        Err(e) => Err(ApiError::bad_request(format!("reading request body: {e}"))),
    }
}

async fn route(
    ctx: &Arc<Ctx>,
    req: Request<Incoming>,
    scoped: Option<&Scoped>,
) -> Result<Response<Body>, ApiError> {
    let too_big = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES);
    if too_big {
        return Err(ApiError::TooLarge {
            message: "the request is too large: request bodies are limited to 3 MiB".into(),
        });
    }
    let endpoint =
        path::parse(&ctx.api.table, req.uri().path()).map_err(|_| ApiError::NotFound {
            message: "the server could not find the requested resource".into(),
            kind: String::new(),
            name: String::new(),
            group: String::new(),
        })?;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let table = &ctx.api.table;
    let not_found = || ApiError::NotFound {
        message: "the server could not find the requested resource".into(),
        kind: String::new(),
        name: String::new(),
        group: String::new(),
    };
    let read_only = |m: &Method| m == Method::GET || m == Method::HEAD;
    if let (Endpoint::Resource(rp), Some(scoped)) = (&endpoint, scoped)
        && !scoped.allows(rp)
    {
        return Ok(status_response(StatusCode::FORBIDDEN, scoped.forbidden()));
    }
    match endpoint {
        Endpoint::Resource(rp) if rp.subresource.as_deref() == Some("log") => {
            crate::pod_log::serve(&ctx.api, &rp, req).await
        }
        Endpoint::Resource(rp) => handlers::resource(ctx, rp, req).await,
        _ if !read_only(req.method()) => Err(ApiError::MethodNotAllowed {
            message: format!("the server does not allow {} here", req.method()),
        }),
        Endpoint::Version => Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(crate::VERSION_INFO).unwrap_or_default(),
        )),
        Endpoint::Health => {
            let mut r = Response::new(full("ok"));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain"),
            );
            Ok(r)
        }
        Endpoint::CoreVersions | Endpoint::Groups => {
            let core = matches!(endpoint, Endpoint::CoreVersions);
            if let Some(v) = discovery::aggregated_version(&accept) {
                let mut r = json_response(StatusCode::OK, &discovery::aggregated(table, core, v));
                if let Ok(ct) =
                    header::HeaderValue::from_str(&discovery::aggregated_content_type(v))
                {
                    r.headers_mut().insert(header::CONTENT_TYPE, ct);
                }
                return Ok(r);
            }
            let doc = if core {
                discovery::core_versions(&ctx.addr.to_string())
            } else {
                discovery::group_list(table)
            };
            Ok(json_response(StatusCode::OK, &doc))
        }
        Endpoint::Group(g) => discovery::group(table, &g)
            .map(|d| json_response(StatusCode::OK, &d))
            .ok_or_else(not_found),
        Endpoint::GroupVersion(g, v) => discovery::resource_list(table, &g, &v)
            .map(|d| json_response(StatusCode::OK, &d))
            .ok_or_else(not_found),
        Endpoint::OpenApiV2 => {
            // We publish OpenAPI v3 only. An empty protobuf message is a valid, empty
            // v2 document, so clients that still fetch v2 degrade to "no schema".
            let mut r = Response::new(full(Bytes::new()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(
                    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                ),
            );
            Ok(r)
        }
        Endpoint::OpenApiV3Root => Ok(json_response(StatusCode::OK, &openapi::root(table))),
        Endpoint::OpenApiV3(gv) => openapi::document(table, &gv)
            .map(|d| json_response(StatusCode::OK, &d))
            .ok_or_else(not_found),
    }
}
