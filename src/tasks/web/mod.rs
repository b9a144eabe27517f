//! `manage background_tasks`: the queues, jobs and workers as a web page, with the actions an
//! admin needs, served by axum with HTML rendered on the server (minijinja, auto-escaped) and
//! usable without JavaScript.
//!
//! URLs (all need the token; see [`auth`]):
//! - `GET /`: queues with a count per registry (each a link), workers.
//! - `GET /queues/{queue}/{status}?page=N`: a page of that queue's jobs in that status.
//! - `GET /jobs/{id}`: one job.
//! - `GET /workers`: the workers in detail.
//! - `GET /webhooks`, `GET /webhooks/{name}`: each webhook's circuit, rates, durations and
//!   charts, and its recent deliveries; `POST /webhooks/{name}/reset|requeue-failed`.
//! - `POST /jobs/{id}/requeue|delete|stop|enqueue`, `POST /queues/{queue}/requeue-failed`.
//! - `GET /metrics`: Prometheus's text format (what Redis knows).
//! - `GET /static/style.css`: the stylesheet (public).
//!
//! Any page takes `?refresh=N` to reload itself every N seconds (`[ui] refresh` sets a default).
//!
//! - [`auth`]: token, sessions, CSRF.
//! - [`render`]: the templates and their filters.
//! - [`pages`]: the GET handlers.
//! - [`probes`]: `/live`, `/ready` and `/metrics`, for the worker's own listener.
//! - [`actions`]: the POST handlers.
//! - [`webhooks`], [`chart`]: the Webhooks view and its SVG charts.

pub mod actions;
pub mod auth;
pub mod chart;
pub mod pages;
pub mod probes;
pub mod render;
pub mod webhooks;

use std::{future::Future, sync::Arc};

use crate::redis_conn::RedisConn;
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};

use crate::config::Settings;
pub use auth::{Auth, Caller};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    redis: RedisConn,
    settings: Arc<Settings>,
    auth: Auth,
    templates: render::Templates,
    refresh: u64,
}

impl AppState {
    /// State for one server: its Redis connection, settings, token, and default refresh.
    pub fn new(
        redis: RedisConn,
        settings: Arc<Settings>,
        token: impl Into<String>,
        cookie_name: impl Into<String>,
    ) -> Self {
        let refresh = settings.ui.refresh;
        Self {
            inner: Arc::new(Inner {
                redis,
                settings,
                auth: Auth::new(token, cookie_name),
                templates: render::Templates::new(),
                refresh,
            }),
        }
    }

    /// A handle on the shared Redis connection.
    pub fn redis(&self) -> RedisConn {
        self.inner.redis.clone()
    }

    /// The settings the server started with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Token, sessions and CSRF.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The templates.
    pub fn templates(&self) -> &render::Templates {
        &self.inner.templates
    }

    /// Seconds between automatic reloads when the URL does not say (0: off).
    pub fn default_refresh(&self) -> u64 {
        self.inner.refresh
    }
}

/// The whole application: public stylesheet, pages and actions behind the token, and security
/// headers on every response.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/", get(pages::queues))
        .route("/workers", get(pages::workers))
        .route("/queues/{queue}/{status}", get(pages::jobs))
        .route("/queues/{queue}/requeue-failed", post(actions::requeue_all))
        .route("/jobs/{id}", get(pages::job))
        .route("/jobs/{id}/{action}", post(actions::job_action))
        .route("/metrics", get(metrics))
        .route("/webhooks", get(webhooks::list))
        .route("/webhooks/{name}", get(webhooks::one))
        .route("/webhooks/{name}/{action}", post(webhooks::action))
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), require_auth));
    Router::new()
        .route("/static/style.css", get(stylesheet))
        .merge(protected)
        .layer(middleware::from_fn_with_state(state.clone(), whole_body))
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// Serves `router` on `listener` within `[ui]`'s bounds until `shutdown` completes, then
/// finishes open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::serve::serve(listener, router, settings.ui.limits(), shutdown).await
}

/// The largest form the page takes; its forms carry a CSRF token and a name or two.
const MAX_FORM: usize = 64 * 1024;

/// Reads every request's body whole before its handler runs, within `[ui] body_timeout` and
/// [`MAX_FORM`], so a client holding a body back is answered 408 instead of holding a task.
async fn whole_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let timeout = state.settings().ui.body_timeout();
    match crate::serve::read_body(body, MAX_FORM, timeout).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(error) => {
            let (status, message) = match error {
                crate::serve::BodyError::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("a form is at most {MAX_FORM} bytes"),
                ),
                crate::serve::BodyError::TimedOut => (
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request's body did not arrive within [ui] body_timeout ({} s)",
                        timeout.as_secs_f64()
                    ),
                ),
                crate::serve::BodyError::Broken(reason) => (
                    StatusCode::BAD_REQUEST,
                    format!("the request's body was cut short ({reason})"),
                ),
            };
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{message}\n"),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: what Redis knows, in Prometheus's text format (behind the token).
async fn metrics(State(state): State<AppState>) -> Response {
    match super::metrics::render(&mut state.redis(), state.settings(), false).await {
        Ok(text) => ([(header::CONTENT_TYPE, probes::CONTENT_TYPE)], text).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot read Redis: {error}\n"),
        )
            .into_response(),
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        render::STYLESHEET,
    )
        .into_response()
}

/// No framing, no sniffing, no referrer (a URL may still carry the token), only our own styles,
/// forms posting only to us, and nothing cached.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Lets a request through with a [`Caller`] when it carries the bearer token or a live session
/// cookie; turns `?token=` into a session and a redirect; refuses everything else with 401.
async fn require_auth(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let auth = state.auth();
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        return match auth::bearer(value.to_str().unwrap_or_default()) {
            Some(token) if auth.token_matches(token) => {
                request.extensions_mut().insert(Caller::Bearer);
                next.run(request).await
            }
            _ => pages::unauthorized(&state),
        };
    }
    let query = request.uri().query().unwrap_or_default();
    let token = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    if let Some(token) = token {
        let safe = matches!(*request.method(), Method::GET | Method::HEAD);
        if !(safe && auth.token_matches(&token)) {
            return pages::unauthorized(&state);
        }
        let rest: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != "token")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        // `//host/…` and `/\\host/…` are other sites to a browser: one slash keeps it here.
        let mut location = format!("/{}", request.uri().path().trim_start_matches(['/', '\\']));
        if !rest.is_empty() {
            location.push('?');
            location.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(rest)
                    .finish(),
            );
        }
        let cookie = format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            auth.cookie_name(),
            auth.new_session()
        );
        return (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location), (header::SET_COOKIE, cookie)],
        )
            .into_response();
    }
    let session = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == auth.cookie_name())
        .find_map(|(_, value)| auth.session(value));
    match session {
        Some(id) => {
            request.extensions_mut().insert(Caller::Session(id));
            next.run(request).await
        }
        None => pages::unauthorized(&state),
    }
}
