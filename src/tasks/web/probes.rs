//! The probes a service manager or Kubernetes asks a long-running process: `GET /live` (200
//! while its main loop runs; a worker's loop does not while it cannot reach Redis), `GET /ready` (200 while Redis answers and, for a worker, its
//! heartbeat is fresh; 503 with the reason otherwise) and `GET /metrics` (Prometheus).

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::{config::Settings, redis_conn::RedisConn, rq::worker::Health};

/// What the probes read.
#[derive(Clone)]
pub struct Probes {
    conn: RedisConn,
    settings: Arc<Settings>,
    /// The worker's, when the process is a worker; else the process is live while it serves.
    health: Option<Arc<Health>>,
}

impl Probes {
    /// Probes of a process on `conn` (a worker when `health` is given).
    pub fn new(conn: RedisConn, settings: Arc<Settings>, health: Option<Arc<Health>>) -> Self {
        Self {
            conn,
            settings,
            health,
        }
    }
}

/// `/live`, `/ready` and, with `metrics`, `/metrics`.
pub fn router(probes: Probes, metrics: bool) -> Router {
    let router = Router::new()
        .route("/live", get(live))
        .route("/ready", get(ready));
    let router = if metrics {
        router.route("/metrics", get(self::metrics))
    } else {
        router
    };
    router.with_state(probes)
}

async fn live(State(probes): State<Probes>) -> Response {
    match &probes.health {
        Some(health) if !health.running() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not live: the worker's loop has stopped\n",
        )
            .into_response(),
        Some(health) if health.waiting_for_redis() => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not live: the worker's loop is waiting for Redis at {}\n",
                probes.conn.display()
            ),
        )
            .into_response(),
        _ => (StatusCode::OK, "live\n").into_response(),
    }
}

async fn ready(State(mut probes): State<Probes>) -> Response {
    let ping = tokio::time::timeout(
        Duration::from_secs(2),
        redis::cmd("PING").query_async::<String>(&mut probes.conn),
    )
    .await;
    let not_ready = |why: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response()
    };
    match ping {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            return not_ready(format!(
                "Redis at {} does not answer: {error}",
                probes.conn.display()
            ))
        }
        Err(_) => {
            return not_ready(format!(
                "Redis at {} did not answer within 2 s",
                probes.conn.display()
            ))
        }
    }
    if let Some(age) = probes.health.as_ref().and_then(|h| h.stale_heartbeat()) {
        return not_ready(format!("the worker's last heartbeat was {age} s ago"));
    }
    (StatusCode::OK, "ready\n").into_response()
}

async fn metrics(State(mut probes): State<Probes>) -> Response {
    let process = probes.health.is_some();
    match super::super::metrics::render(&mut probes.conn, &probes.settings, process).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot read Redis: {error}\n"),
        )
            .into_response(),
    }
}

/// Prometheus's text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
