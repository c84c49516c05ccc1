//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`, as kube-apiserver answers it: the
//! options are checked, the container chosen (the only one, or the one named), the
//! Pod's Node looked up, and the request proxied to that Node's kubelet endpoint
//! (`status.daemonEndpoints.kubeletEndpoint.Port` on its InternalIP: in single-node
//! mode the runner's loopback endpoint), streaming for `follow=true`. The kubelet's
//! refusals come back as `Status` errors carrying its message.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, BodyStream, Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio_stream::StreamExt;

use crate::api::Api;
use crate::path::ResourcePath;
use crate::server::Body;
use crate::status::ApiError;

/// The query parameters the kubelet takes, passed on as given.
const KUBELET_OPTIONS: [&str; 7] = [
    "follow",
    "previous",
    "timestamps",
    "tailLines",
    "limitBytes",
    "sinceSeconds",
    "sinceTime",
];
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a kubelet's error body becomes the message.
const MAX_ERROR_BODY: usize = 4096;

/// Answers a `pods/{name}/log` request.
pub(crate) async fn serve(
    api: &Api,
    rp: &ResourcePath,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed {
            message: format!("{} is not supported on pods/log", req.method()),
        });
    }
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let pod = api.get(rp)?;
    let pod_name = rp.name.as_deref().unwrap_or_default();
    validate(&query, pod_name)?;
    let container = container(&pod, pod_name, query.get("container").map(String::as_str))?;
    let (host, port) = kubelet_of(api, &pod, pod_name)?;
    let namespace = rp.namespace.as_deref().unwrap_or_default();
    let options = {
        let mut upstream = form_urlencoded::Serializer::new(String::new());
        for option in KUBELET_OPTIONS {
            if let Some(value) = query.get(option) {
                upstream.append_pair(option, value);
            }
        }
        upstream.finish()
    };
    let path = format!("/containerLogs/{namespace}/{pod_name}/{container}?{options}");
    proxy(&host, port, &path).await
}

/// kube-apiserver's `PodLogOptions` validation.
fn validate(query: &HashMap<String, String>, pod: &str) -> Result<(), ApiError> {
    let invalid = |field: &str, value: &str, rule: &str| {
        ApiError::bad_request(format!(
            "PodLogOptions \"{pod}\" is invalid: {field}: Invalid value: {value}: {rule}"
        ))
    };
    let number = |field: &str| -> Result<Option<i64>, ApiError> {
        query
            .get(field)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| invalid(field, &format!("{v:?}"), "must be an integer"))
            })
            .transpose()
    };
    if let Some(n) = number("tailLines")?
        && n < 0
    {
        return Err(invalid(
            "tailLines",
            &n.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    if let Some(n) = number("limitBytes")?
        && n < 1
    {
        return Err(invalid(
            "limitBytes",
            &n.to_string(),
            "must be greater than 0",
        ));
    }
    if let Some(n) = number("sinceSeconds")?
        && n < 1
    {
        return Err(invalid(
            "sinceSeconds",
            &n.to_string(),
            "must be greater than 0",
        ));
    }
    if query.contains_key("sinceSeconds") && query.contains_key("sinceTime") {
        return Err(ApiError::bad_request(format!(
            "PodLogOptions \"{pod}\" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
        )));
    }
    for flag in ["follow", "previous", "timestamps"] {
        if let Some(v) = query.get(flag)
            && !matches!(
                v.as_str(),
                "" | "true"
                    | "false"
                    | "1"
                    | "0"
                    | "True"
                    | "False"
                    | "TRUE"
                    | "FALSE"
                    | "t"
                    | "f"
                    | "T"
                    | "F"
            )
        {
            return Err(invalid(flag, &format!("{v:?}"), "must be a boolean"));
        }
    }
    Ok(())
}

/// The container to read: the named one, or the pod's only one.
fn container(pod: &Value, pod_name: &str, wanted: Option<&str>) -> Result<String, ApiError> {
    let names: Vec<&str> = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|k| pod.pointer(&format!("/spec/{k}")).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    match wanted.filter(|w| !w.is_empty()) {
        Some(name) if names.contains(&name) => Ok(name.to_owned()),
        Some(name) => Err(ApiError::bad_request(format!(
            "container {name} is not valid for pod {pod_name}"
        ))),
        None => match names.as_slice() {
            [only] => Ok((*only).to_owned()),
            [] => Err(ApiError::bad_request(format!(
                "pod {pod_name} has no containers"
            ))),
            many => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                many.join(" ")
            ))),
        },
    }
}

/// The address and port of the kubelet on the Pod's Node.
fn kubelet_of(api: &Api, pod: &Value, pod_name: &str) -> Result<(String, u16), ApiError> {
    let node_name = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!("pod {pod_name} does not have a host assigned"))
        })?;
    let nodes = api
        .table
        .find("", "v1", "nodes")
        .cloned()
        .ok_or_else(|| ApiError::Internal("the nodes resource is not served".into()))?;
    let node = api.get(&ResourcePath {
        rt: nodes,
        namespace: None,
        name: Some(node_name.to_owned()),
        subresource: None,
    })?;
    let addresses = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let host = ["InternalIP", "Hostname", "ExternalIP"]
        .iter()
        .find_map(|t| {
            addresses
                .iter()
                .find(|a| a["type"] == *t)
                .and_then(|a| a["address"].as_str())
        })
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "node {node_name:?} has no address to reach its kubelet at"
            ))
        })?;
    let port = node
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "node {node_name:?} publishes no kubelet endpoint port"
            ))
        })?;
    Ok((host.to_owned(), port))
}

/// GETs `path` from the kubelet and streams its answer back.
async fn proxy(host: &str, port: u16, path: &str) -> Result<Response<Body>, ApiError> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let unreachable = |e: &dyn std::fmt::Display| {
        ApiError::Internal(format!("Get \"http://{authority}{path}\": {e}"))
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&authority))
        .await
        .map_err(|_| unreachable(&"dial tcp: i/o timeout"))?
        .map_err(|e| unreachable(&format!("dial tcp {authority}: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "kubelet connection ended");
        }
    });
    let request = Request::get(path)
        .header(header::HOST, &authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(&e))?;
    let status = response.status();
    if !status.is_success() {
        let body = response
            .into_body()
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)])
            .trim()
            .to_owned();
        return Err(kubelet_error(status, text));
    }
    let frames = BodyStream::new(response.into_body())
        .map_while(Result::ok)
        .filter_map(|frame| frame.into_data().ok())
        .map(|data| Ok::<_, Infallible>(Frame::data(data)));
    let mut out = Response::new(StreamBody::new(frames).boxed());
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(out)
}

/// A kubelet refusal as the `Status` kube-apiserver makes of it: its code, its text.
fn kubelet_error(status: StatusCode, message: String) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound {
            message,
            kind: "pods/log".into(),
            name: String::new(),
            group: String::new(),
        },
        StatusCode::BAD_REQUEST => ApiError::BadRequest { message },
        _ => ApiError::Internal(message),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn options_are_validated_naming_the_field() {
        assert!(validate(&q(&[("tailLines", "0"), ("follow", "true")]), "p").is_ok());
        for (pairs, wanted) in [
            (q(&[("tailLines", "-1")]), "tailLines: Invalid value: -1"),
            (
                q(&[("limitBytes", "0")]),
                "limitBytes: Invalid value: 0: must be greater than 0",
            ),
            (q(&[("sinceSeconds", "x")]), "sinceSeconds"),
            (
                q(&[("sinceSeconds", "5"), ("sinceTime", "2024-01-01T00:00:00Z")]),
                "at most one of",
            ),
            (q(&[("previous", "maybe")]), "previous"),
        ] {
            let err = validate(&pairs, "p").unwrap_err().to_string();
            assert!(err.contains(wanted), "{err}");
        }
    }

    #[test]
    fn the_container_is_the_only_one_or_the_named_one() {
        let one = json!({"spec": {"containers": [{"name": "user-container"}]}});
        assert_eq!(container(&one, "p", None).unwrap(), "user-container");
        assert_eq!(container(&one, "p", Some("")).unwrap(), "user-container");
        let err = container(&one, "p", Some("queue-proxy")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "container queue-proxy is not valid for pod p"
        );
        let two = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let err = container(&two, "p", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a container name must be specified for pod p, choose one of: [a b]"
        );
    }

    #[test]
    fn kubelet_refusals_keep_their_code_and_text() {
        let e = kubelet_error(
            StatusCode::BAD_REQUEST,
            "previous terminated container \"c\" in pod \"p\" not found".into(),
        );
        assert_eq!(e.code(), 400);
        assert!(e.to_string().starts_with("previous terminated container"));
        assert_eq!(
            kubelet_error(StatusCode::NOT_FOUND, "gone".into()).code(),
            404
        );
        assert_eq!(
            kubelet_error(StatusCode::BAD_GATEWAY, "x".into()).code(),
            500
        );
    }
}
