//! `manage event_gateway`: events over HTTP, for producers that speak HTTP rather than run
//! `manage enqueue_event`, and a NetBox relay.
//!
//! - `POST /events` (`Authorization: Bearer <[gateway] token>`): one event as JSON (the fields
//!   of `enqueue_event`), or many as JSON lines (`Content-Type: application/x-ndjson`).
//! - `POST /netbox` (`X-Hook-Signature`: hex HMAC-SHA512 of the body with
//!   `[gateway] netbox_secret`): the body NetBox's own webhooks send, so one NetBox webhook
//!   pointed here hands every change to `manage`'s rules, ordering, retries and history.
//! - `GET /live`, `GET /ready`: the probes.
//!
//! A request's events are enqueued whole or not at all: bad input is a 400 naming the field or
//! line, a missing or wrong credential a 401, a body over `[gateway] max_body` (`/netbox`:
//! `netbox_max_body`) a 413, a body slower than `body_timeout` a 408, one cut short a 400, and
//! Redis unreachable a 503 (so the sender retries). Accepted events get a 202 with their jobs.
//! `/netbox` bodies are read before their signature can be checked, so at most
//! `netbox_max_concurrent` are read at once; more get a 503 with `Retry-After`.

use std::sync::Arc;

use axum::{
    body::Body,
    error_handling::HandleErrorLayer,
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use crate::{
    config::Settings,
    pipeline::{batcher::Batcher, enqueue_bulk, lines, EnqueuedJob, Routing},
    redis_conn::RedisConn,
    serve::BodyError,
    tasks::web::probes::{self, Probes},
    webhooks::{event, sign, Event, EventType},
};

/// Requests with more events than this are written in transactions of their own instead of
/// joining the shared batches.
const BATCHED_EVENTS: usize = 1000;

/// What every handler shares.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    conn: RedisConn,
    routing: Arc<Routing>,
    batcher: Batcher,
    token: String,
    netbox_secret: String,
    max_body: usize,
    netbox_max_body: usize,
    body_timeout: std::time::Duration,
}

impl Gateway {
    /// A gateway enqueueing on `conn` under `settings` (its rules, webhooks and `[gateway]`).
    pub fn new(conn: RedisConn, settings: &Settings) -> Self {
        let routing = Arc::new(
            Routing::new(&settings.event_rules, &settings.webhooks).with_ttls(
                Some(settings.worker.result_ttl),
                Some(settings.worker.failure_ttl),
            ),
        );
        Self {
            inner: Arc::new(Inner {
                batcher: Batcher::start(conn.clone(), routing.clone()),
                conn,
                routing,
                token: settings.gateway.token.clone(),
                netbox_secret: settings.gateway.netbox_secret.clone(),
                max_body: settings.gateway.max_body.bytes(),
                netbox_max_body: settings.gateway.netbox_max_body.bytes(),
                body_timeout: settings.gateway.body_timeout(),
            }),
        }
    }
}

/// The gateway's routes, with the probes.
pub fn router(gateway: Gateway, settings: Arc<Settings>) -> Router {
    let netbox_max_concurrent = settings.gateway.netbox_max_concurrent.max(1);
    let probes = Probes::new(gateway.inner.conn.clone(), settings, None);
    // Bodies read before anyone is known: a few at a time, and the rest told to come back.
    let netbox_reads = tower::ServiceBuilder::new()
        .layer(HandleErrorLayer::new(move |_: tower::BoxError| async move {
            let mut busy = error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{netbox_max_concurrent} POST /netbox bodies are being read already ([gateway] netbox_max_concurrent); try again"),
            );
            busy.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            busy
        }))
        .load_shed()
        .concurrency_limit(netbox_max_concurrent);
    Router::new()
        .route("/events", post(events))
        .route("/netbox", post(netbox).layer(netbox_reads))
        .with_state(gateway)
        .merge(probes::router(probes, false))
        .layer(axum::middleware::from_fn(access_log))
}

/// The routes a gateway with these settings serves, for its start line.
pub fn routes(settings: &Settings) -> String {
    let on_off = |on: bool, route: &str, setting: &str| {
        if on {
            route.to_string()
        } else {
            format!("{route} off ([gateway] {setting} is not set)")
        }
    };
    [
        on_off(!settings.gateway.token.is_empty(), "POST /events", "token"),
        on_off(
            !settings.gateway.netbox_secret.is_empty(),
            "POST /netbox",
            "netbox_secret",
        ),
        "GET /live".into(),
        "GET /ready".into(),
    ]
    .join(", ")
}

/// What a handler tells the access log about its request, carried in the response's extensions.
#[derive(Clone, Default)]
struct Logged {
    /// The body's length, once read.
    bytes: Option<usize>,
    events: usize,
    jobs: usize,
    /// Why it was refused.
    reason: Option<String>,
}

/// One line per request at the default verbosity (the probes at `-v 2`): method, path,
/// status, body bytes, duration, events and jobs, and why a request was refused, as fields, so
/// that both log formats carry them. The sender of a 401 is usually a NetBox with the wrong
/// secret, and this line is the only place its operator can see it.
async fn access_log(request: Request, next: axum::middleware::Next) -> Response {
    // At `-v 0` (benchmarks, quiet services) the line costs nothing, not even its path.
    if !tracing::enabled!(tracing::Level::INFO) {
        return next.run(request).await;
    }
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let logged = response
        .extensions()
        .get::<Logged>()
        .cloned()
        .unwrap_or_default();
    let bytes = logged.bytes.or(declared).unwrap_or(0);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if path == "/live" || path == "/ready" {
        tracing::debug!(%method, path, status, bytes, ms, "{method} {path} {status}");
    } else if let Some(reason) = &logged.reason {
        tracing::info!(%method, path, status, bytes, ms, reason, "{method} {path} {status} {bytes} bytes {ms:.1} ms: {reason}");
    } else {
        let (events, jobs) = (logged.events, logged.jobs);
        tracing::info!(%method, path, status, bytes, ms, events, jobs, "{method} {path} {status} {bytes} bytes {ms:.1} ms: {events} event(s), {jobs} job(s)");
    }
    response
}

/// A JSON answer: `{"error": …}` with a status, its message kept for the access log.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    let mut response = (status, Json(json!({ "error": message }))).into_response();
    response.extensions_mut().insert(Logged {
        reason: Some(message),
        ..Logged::default()
    });
    response
}

/// `response` with the body's length added to what the access log says of it.
fn with_bytes(mut response: Response, bytes: usize) -> Response {
    let logged = response.extensions_mut().get_or_insert_default::<Logged>();
    logged.bytes = Some(bytes);
    response
}

async fn events(State(gateway): State<Gateway>, request: Request) -> Response {
    let inner = &gateway.inner;
    if inner.token.is_empty() {
        return error(
            StatusCode::UNAUTHORIZED,
            "POST /events is off: [gateway] token is not set",
        );
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::tasks::web::auth::bearer)
        .unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(inner.token.as_bytes())) {
        return error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token (Authorization: Bearer <[gateway] token>)",
        );
    }
    let lines_body = is_ndjson(request.headers());
    let body = match read(
        request.into_body(),
        inner.max_body,
        "max_body",
        inner.body_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(response) => return response,
    };
    let bytes = body.len();
    let parsed = if lines_body {
        // Up to max_body of JSON: parsed on a blocking thread, not on the runtime serving
        // the other requests.
        tokio::task::spawn_blocking(move || {
            lines::utf8(body.to_vec())
                .and_then(|text| lines::parse(&text))
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("reading the lines failed: {e}")))
    } else {
        event::parse_json(&body)
            .map(|event| vec![event])
            .map_err(|e| {
                format!("invalid event: {e}; many events go as JSON lines with Content-Type: application/x-ndjson")
            })
    };
    let response = match parsed {
        Ok(events) => enqueue(&gateway, events).await,
        Err(message) => error(
            StatusCode::BAD_REQUEST,
            format!("{message}; nothing was enqueued"),
        ),
    };
    with_bytes(response, bytes)
}

/// `Content-Type: application/x-ndjson` (or `application/jsonl`), parameters ignored.
fn is_ndjson(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            matches!(
                media.trim().to_ascii_lowercase().as_str(),
                "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines"
            )
        })
}

/// The whole body: 413 past `limit` bytes (the `[gateway]` setting `key`), 408 when it does
/// not arrive in time, 400 when it is cut short; the last two are worth sending again.
async fn read(
    body: Body,
    limit: usize,
    key: &str,
    timeout: std::time::Duration,
) -> Result<axum::body::Bytes, Response> {
    crate::serve::read_body(body, limit, timeout).await.map_err(|e| match e {
        BodyError::TooLarge => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over [gateway] {key} ({limit} bytes); nothing was enqueued"),
        ),
        BodyError::TimedOut => error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within [gateway] body_timeout ({} s); nothing was enqueued",
                timeout.as_secs_f64()
            ),
        ),
        BodyError::Broken(reason) => error(
            StatusCode::BAD_REQUEST,
            format!("the body was cut short ({reason}); nothing was enqueued"),
        ),
    })
}

/// Enqueues a request's events and answers 202 with their jobs (503 when Redis is away).
async fn enqueue(gateway: &Gateway, events: Vec<Event>) -> Response {
    let count = events.len();
    let result = if count <= BATCHED_EVENTS {
        gateway
            .inner
            .batcher
            .enqueue(events)
            .await
            .map_err(|e| (e, 0))
    } else {
        let mut conn = gateway.inner.conn.clone();
        enqueue_bulk(&mut conn, gateway.inner.routing.clone(), events)
            .await
            .map_err(|e| {
                (
                    format!(
                        "cannot reach Redis at {}: {}",
                        gateway.inner.conn.display(),
                        e.error
                    ),
                    e.enqueued_events,
                )
            })
    };
    match result {
        Ok(per_event) => {
            let jobs: Vec<EnqueuedJob> = per_event.into_iter().flatten().collect();
            let logged = Logged {
                events: count,
                jobs: jobs.len(),
                ..Logged::default()
            };
            let mut response = (
                StatusCode::ACCEPTED,
                Json(json!({ "events": count, "jobs": jobs })),
            )
                .into_response();
            response.extensions_mut().insert(logged);
            response
        }
        Err((message, enqueued)) => {
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": message, "enqueued_events": enqueued })),
            )
                .into_response();
            response.extensions_mut().insert(Logged {
                events: enqueued,
                reason: Some(message),
                ..Logged::default()
            });
            response
        }
    }
}

/// NetBox's webhook body (`extras/webhooks.py` `send_webhook`'s context, as its default body
/// sends it) as an event: every key it sent is kept, those we do not know (a newer NetBox's)
/// as given and in order, so that the default body delivered is the one NetBox sent.
fn netbox_event(body: &[u8]) -> Result<Event, String> {
    let mut fields: serde_json::Map<String, Value> =
        serde_json::from_slice(body).map_err(|e| format!("invalid NetBox webhook body: {e}"))?;
    // `shift_remove` below, not `remove`: that moves the last key into the hole, and the keys
    // left over must stay in NetBox's order.
    let mut text = |key: &str| -> Result<Option<String>, String> {
        match fields.shift_remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(format!("`{key}` must be a string, found {other}")),
        }
    };
    let name = text("event")?.ok_or("missing field `event`")?;
    let event_type = match name.as_str() {
        // NetBox sends the public name; every job end is `job_ended`.
        "job_ended" => EventType::JobCompleted,
        name => EventType::parse(name).ok_or_else(|| {
            format!(
                "unknown event {name:?}: NetBox sends created, updated, deleted, job_started or job_ended"
            )
        })?,
    };
    let object_type = text("object_type")?.ok_or("missing field `object_type`")?;
    let (timestamp, username, request_id) =
        (text("timestamp")?, text("username")?, text("request_id")?);
    let data = fields.shift_remove("data").unwrap_or(Value::Null);
    if !data.is_object() {
        return Err(
            "`data` must be a JSON object (NetBox sends the object's REST representation)".into(),
        );
    }
    let mut object = |key: &str| match fields.shift_remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value)),
        Some(other) => Err(format!(
            "`{key}` must be a JSON object or null, found {other}"
        )),
    };
    let (snapshots, request, context) =
        (object("snapshots")?, object("request")?, object("context")?);
    Ok(Event {
        object_type,
        event_type,
        data,
        snapshots,
        username,
        request_id,
        timestamp,
        traceparent: None,
        request,
        context,
        extra: fields,
    })
}

async fn netbox(State(gateway): State<Gateway>, request: Request) -> Response {
    let secret = gateway.inner.netbox_secret.clone();
    if secret.is_empty() {
        return error(
            StatusCode::UNAUTHORIZED,
            "POST /netbox is off: [gateway] netbox_secret is not set",
        );
    }
    // Without a signature there is nothing to check a body against: refused before reading it.
    let Some(signature) = request
        .headers()
        .get("x-hook-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return error(StatusCode::UNAUTHORIZED, "missing X-Hook-Signature");
    };
    let inner = &gateway.inner;
    let body = match read(
        request.into_body(),
        inner.netbox_max_body,
        "netbox_max_body",
        inner.body_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(response) => return response,
    };
    if !sign::verify_netbox(&secret, &body, &signature) {
        return with_bytes(
            error(
                StatusCode::UNAUTHORIZED,
                "X-Hook-Signature does not match the body",
            ),
            body.len(),
        );
    }
    let event = netbox_event(&body);
    let response = match event {
        Ok(event) => enqueue(&gateway, vec![event]).await,
        Err(message) => error(
            StatusCode::BAD_REQUEST,
            format!("{message}; nothing was enqueued"),
        ),
    };
    with_bytes(response, body.len())
}
