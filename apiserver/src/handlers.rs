//! The verbs on resource paths: get, list, watch, create, update, patch, delete and
//! deletecollection, plus the `/scale` subresource, with Kubernetes' query parameters
//! and content negotiation (JSON or server-side `Table`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::admission::FieldValidation;
use crate::api::{Api, ListItem, ListOptions};
use crate::delete::DeleteOptions;
use crate::patch::PatchKind;
use crate::path::ResourcePath;
use crate::resource::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::{Body, Ctx, json_bytes_response, json_response, read_body};
use crate::status::ApiError;
use crate::table::{self, PrinterColumn};
use crate::watch::{self, Encoder, WatchRequest};
use crate::write::{WriteOptions, Written, decode_object};

type Query = HashMap<String, String>;

fn parse_query(req: &Request<Incoming>) -> Query {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn flag(q: &Query, k: &str) -> bool {
    matches!(q.get(k).map(String::as_str), Some("true" | "1"))
}

/// How the client wants objects rendered.
#[derive(Clone, Debug)]
enum Render {
    Json,
    /// Server-side printing with the `includeObject` policy.
    Table(String),
}

fn render_for(req: &Request<Incoming>, q: &Query) -> Render {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wants_table = accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"));
    if wants_table {
        Render::Table(
            q.get("includeObject")
                .cloned()
                .unwrap_or_else(|| "Metadata".into()),
        )
    } else {
        Render::Json
    }
}

fn table_of(
    columns: &[PrinterColumn],
    objects: &[&Value],
    include: &str,
    list_meta: Value,
) -> Value {
    table::to_table(columns, objects, include, list_meta, jiff::Timestamp::now())
}

/// Run a store write and answer only once it is durable. The write is computed in
/// memory on this worker ([`crate::store::Store::stage`]); the store's one writer thread
/// commits it with every other staged write in one fsync while this request waits,
/// holding no thread.
async fn durable<T>(api: &Api, f: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
    api.store.durable(f).await?
}

fn default_manager(req: &Request<Incoming>) -> String {
    // As kube-apiserver does: the user agent's program name.
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split('/').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown")
        .chars()
        .take(128)
        .collect()
}

fn write_options(req: &Request<Incoming>, q: &Query) -> Result<WriteOptions, ApiError> {
    Ok(WriteOptions {
        dry_run: q.get("dryRun").is_some_and(|v| v == "All"),
        field_manager: q
            .get("fieldManager")
            .cloned()
            .unwrap_or_else(|| default_manager(req)),
        field_validation: FieldValidation::parse(q.get("fieldValidation").map(String::as_str))?,
        force: flag(q, "force"),
    })
}

fn list_options(q: &Query, rt: &ResourceType) -> Result<ListOptions, ApiError> {
    let labels = match q.get("labelSelector").filter(|s| !s.is_empty()) {
        Some(s) => Some(
            LabelSelector::parse(s)
                .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?,
        ),
        None => None,
    };
    let fields = match q.get("fieldSelector").filter(|s| !s.is_empty()) {
        Some(s) => Some(
            FieldSelector::parse_for(s, rt.group, rt.plural)
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    let limit = match q.get("limit") {
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!(
                "limit: Invalid value: \"{l}\": must be a non-negative integer"
            ))
        })?),
        None => None,
    };
    Ok(ListOptions {
        labels,
        fields,
        limit,
        continue_token: q.get("continue").filter(|c| !c.is_empty()).cloned(),
    })
}

fn with_warnings(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('"', "'"));
        if let Ok(v) = header::HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

fn written(w: Written, render: &Render, columns: &[PrinterColumn]) -> Response<Body> {
    let code = if w.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let resp = object_response(code, &w.object, render, columns);
    with_warnings(resp, &w.warnings)
}

fn object_response(
    code: StatusCode,
    obj: &Value,
    render: &Render,
    columns: &[PrinterColumn],
) -> Response<Body> {
    match render {
        Render::Json => json_response(code, obj),
        Render::Table(include) => {
            json_response(code, &table_of(columns, &[obj], include, json!({})))
        }
    }
}

pub(crate) async fn resource(
    ctx: &Arc<Ctx>,
    rp: ResourcePath,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let q = parse_query(&req);
    let render = render_for(&req, &q);
    let api = ctx.api.clone();
    let columns = rp.rt.columns.clone();
    let method = req.method().clone();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let is_object = rp.name.is_some();
    let scale = rp.subresource.as_deref() == Some("scale");
    match (method, is_object) {
        (Method::GET | Method::HEAD, true) if scale => {
            let obj = api.get(&rp)?;
            Ok(json_response(StatusCode::OK, &crate::scale::to_scale(&obj)))
        }
        (Method::GET | Method::HEAD, true) => {
            let obj = api.get(&rp)?;
            Ok(object_response(StatusCode::OK, &obj, &render, &columns))
        }
        (Method::GET | Method::HEAD, false) if flag(&q, "watch") => watch(&api, rp, &q, render),
        (Method::GET | Method::HEAD, false) => list(&api, &rp, &q, &render),
        (Method::POST, false) => {
            let opts = write_options(&req, &q)?;
            let body = read_body(req.into_body()).await?;
            let obj = decode_object(&content_type, &body)?;
            let w = durable(&api, || api.create(&rp, obj, &opts)).await?;
            Ok(written(w, &render, &columns))
        }
        (Method::PUT, true) if scale => {
            let opts = write_options(&req, &q)?;
            let body = read_body(req.into_body()).await?;
            let obj = decode_object(&content_type, &body)?;
            let s = durable(&api, || api.update_scale(&rp, &obj, &opts)).await?;
            Ok(json_response(StatusCode::OK, &s))
        }
        (Method::PUT, true) => {
            let opts = write_options(&req, &q)?;
            let body = read_body(req.into_body()).await?;
            let obj = decode_object(&content_type, &body)?;
            let w = durable(&api, || api.update(&rp, obj, &opts)).await?;
            Ok(written(w, &render, &columns))
        }
        (Method::PATCH, true) => {
            let kind = PatchKind::from_content_type(&content_type)?;
            let opts = write_options(&req, &q)?;
            if kind == PatchKind::Apply && !q.contains_key("fieldManager") {
                return Err(ApiError::bad_request(
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                ));
            }
            let body = read_body(req.into_body()).await?;
            if scale {
                let s = durable(&api, || api.patch_scale(&rp, kind, &body, &opts)).await?;
                return Ok(json_response(StatusCode::OK, &s));
            }
            let w = durable(&api, || api.patch(&rp, kind, &body, &opts)).await?;
            Ok(written(w, &render, &columns))
        }
        (Method::DELETE, true) => {
            let body = read_body(req.into_body()).await?;
            let body: Value = if body.is_empty() {
                json!({})
            } else {
                serde_json::from_slice(&body)
                    .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
            };
            let opts = DeleteOptions::from_request(
                &body,
                q.get("propagationPolicy").map(String::as_str),
                q.get("dryRun").is_some_and(|v| v == "All"),
            )?;
            let obj = durable(&api, || api.delete(&rp, &opts)).await?;
            Ok(json_response(StatusCode::OK, &obj))
        }
        (Method::DELETE, false) => {
            let lo = list_options(&q, &rp.rt)?;
            let opts = DeleteOptions::from_request(
                &json!({}),
                q.get("propagationPolicy").map(String::as_str),
                q.get("dryRun").is_some_and(|v| v == "All"),
            )?;
            let status = durable(&api, || {
                let page = api.list(&rp, &lo)?;
                for item in page.items {
                    let obj = item.object();
                    let mut one = rp.clone();
                    one.name = obj.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string);
                    one.namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
                    match api.delete(&one, &opts) {
                        Ok(_) | Err(ApiError::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}))
            })
            .await?;
            Ok(json_response(StatusCode::OK, &status))
        }
        (m, _) => Err(ApiError::MethodNotAllowed {
            message: format!("{m} is not supported on this path"),
        }),
    }
}

fn list(
    api: &Api,
    rp: &ResourcePath,
    q: &Query,
    render: &Render,
) -> Result<Response<Body>, ApiError> {
    let opts = list_options(q, &rp.rt)?;
    let page = api.list(rp, &opts)?;
    let mut meta = json!({"resourceVersion": page.rv.to_string()});
    if let Some(c) = &page.continue_token {
        meta["continue"] = json!(c);
    }
    if let Some(r) = page.remaining {
        meta["remainingItemCount"] = json!(r);
    }
    match render {
        Render::Json => Ok(json_bytes_response(
            StatusCode::OK,
            json_list(&rp.rt, &meta, &page.items),
        )),
        Render::Table(include) => {
            let parsed: Vec<Arc<Value>> = page.items.iter().map(ListItem::object).collect();
            let objs: Vec<&Value> = parsed.iter().map(|o| &**o).collect();
            let doc = table_of(&rp.rt.columns, &objs, include, meta);
            Ok(json_response(StatusCode::OK, &doc))
        }
    }
}

/// A JSON list with `items` written from each object's stored JSON, unparsed: building
/// it as a `Value` held every item twice (parsed, then copied into the document), about
/// 20 times the JSON, for every informer's relist.
fn json_list(rt: &ResourceType, meta: &Value, items: &[ListItem]) -> Vec<u8> {
    let head = json!({
        "kind": rt.list_kind(),
        "apiVersion": rt.api_version(),
        "metadata": meta,
    })
    .to_string();
    let mut body = Vec::with_capacity(head.len() + 16);
    // `{...head...,"items":[...]}`: the head's object without its closing brace.
    body.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    body.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&item.json());
    }
    body.extend_from_slice(b"]}");
    body
}

fn watch(
    api: &Api,
    rp: ResourcePath,
    q: &Query,
    render: Render,
) -> Result<Response<Body>, ApiError> {
    let opts = list_options(q, &rp.rt)?;
    let from = match q.get("resourceVersion").map(String::as_str) {
        None | Some("" | "0") => None,
        Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{rv}\": must be an integer"
            ))
        })?),
    };
    let send_initial = flag(q, "sendInitialEvents");
    let columns = rp.rt.columns.clone();
    let encode: Encoder = match render {
        Render::Json => Arc::new(watch::json_line),
        Render::Table(include) => Arc::new(move |kind: &str, json: &[u8]| {
            if !matches!(kind, "ADDED" | "MODIFIED" | "DELETED") {
                return watch::json_line(kind, json);
            }
            let obj: Value = serde_json::from_slice(json).unwrap_or_default();
            let table = table_of(&columns, &[&obj], &include, json!({}));
            watch::json_line(kind, table.to_string().as_bytes())
        }),
    };
    let req = WatchRequest {
        rp,
        opts,
        // sendInitialEvents replays the current state whatever resourceVersion says.
        from: if send_initial { None } else { from },
        bookmarks: flag(q, "allowWatchBookmarks"),
        initial_events_end: send_initial,
        timeout: q
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Duration::from_secs),
    };
    let rx = match watch::start(api, req, encode.clone()) {
        Ok(rx) => rx,
        // A too-old resourceVersion is reported in-stream, as kube-apiserver does, so
        // watch clients see the ERROR event they expect and relist.
        Err(e @ ApiError::Gone { .. }) => {
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let status = serde_json::to_vec(&e.to_status()).unwrap_or_default();
            let _ = tx.try_send(encode("ERROR", &status));
            rx
        }
        Err(e) => return Err(e),
    };
    let stream = ReceiverStream::new(rx).map(|b| Ok::<_, std::convert::Infallible>(Frame::data(b)));
    let mut resp = Response::new(StreamBody::new(stream).boxed());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}
