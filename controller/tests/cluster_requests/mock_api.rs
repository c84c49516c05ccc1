//! A scripted API server on kube's tower-test mock: every request is recorded and
//! answered by the scenario's rule. Events (which the controller records in the
//! background) are accepted and kept apart, so the scenarios assert the reconciler's
//! own requests in order.

use std::sync::Arc;

use http::{Request, Response, StatusCode};
use kube::client::Body;
use parking_lot::Mutex;
use serde_json::{Value, json};

/// One request as the API saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) uri: String,
    pub(crate) content_type: String,
    pub(crate) body: Value,
}

impl Seen {
    /// `METHOD /path?query`, the query's parameters sorted (clients order them freely).
    pub(crate) fn summary(&self) -> String {
        let (path, query) = self.uri.split_once('?').unwrap_or((&self.uri, ""));
        let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
        params.sort_unstable();
        if params.is_empty() {
            format!("{} {path}", self.method)
        } else {
            format!("{} {path}?{}", self.method, params.join("&"))
        }
    }

    /// The resource (plural) the path names: `services`, `deployments`, `revisions`, …
    pub(crate) fn kind(&self) -> &str {
        let path = self.uri.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        segments
            .iter()
            .position(|s| *s == "namespaces")
            .and_then(|i| segments.get(i + 2))
            .copied()
            .unwrap_or_default()
    }
}

/// How the scripted API answers one request.
pub(crate) enum Answer {
    NotFound,
    /// The request's own body, with a resourceVersion: what server-side apply returns
    /// for an object nobody else manages.
    Echo,
    /// `NotFound` for reads, `Echo` for writes.
    NotFoundOrEcho,
    Json(Value),
    /// For a `/status` write: this object with the request's status, as the API
    /// returns the whole object.
    WithStatus(Value),
}

pub(crate) struct MockApi {
    client: kube::Client,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl MockApi {
    pub(crate) fn start(answer: impl Fn(&Seen) -> Answer + Send + 'static) -> Self {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap_or_default();
                let request = Seen {
                    method: parts.method.to_string(),
                    uri: parts
                        .uri
                        .path_and_query()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    content_type: parts
                        .headers
                        .get(http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned(),
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                };
                let response = if request.kind() == "events" {
                    json_response(StatusCode::CREATED, &request.body)
                } else {
                    let response = match answer(&request) {
                        Answer::NotFoundOrEcho if request.method == "GET" => not_found(&request),
                        Answer::NotFound => not_found(&request),
                        Answer::Echo | Answer::NotFoundOrEcho => {
                            let mut object = request.body.clone();
                            object["metadata"]["resourceVersion"] = json!("1");
                            json_response(StatusCode::OK, &object)
                        }
                        Answer::Json(object) => json_response(StatusCode::OK, &object),
                        Answer::WithStatus(mut object) => {
                            object["status"] = request.body["status"].clone();
                            json_response(StatusCode::OK, &object)
                        }
                    };
                    recorded.lock().push(request);
                    response
                };
                respond.send_response(response);
            }
        });
        Self {
            client: kube::Client::new(service, "default"),
            seen,
        }
    }

    pub(crate) fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The reconciler's requests so far, in order (events excluded).
    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.seen.lock().clone()
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn not_found(request: &Seen) -> Response<Body> {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": "NotFound", "code": 404,
            "message": format!("{} not found", request.uri),
        }),
    )
}
