//! The GET pages: queues, a job list, a job, the workers, and the error pages. Each reads Redis
//! through [`crate::tasks`] and renders a template; no page fails because of a job's data.

use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode, Uri},
    response::{IntoResponse, Response},
    Extension,
};
use minijinja::{context, Value};
use serde::Serialize;
use std::collections::HashMap;

use super::{AppState, Caller};
use crate::rq::job::JobStatus;
use crate::tasks::{
    check_queue, detail,
    jobs::{self, ListStatus},
    stats, workers, TaskError,
};

/// Jobs per page when the URL does not say.
pub const PER_PAGE: u64 = 25;
/// Most jobs one page may show.
const MAX_PER_PAGE: u64 = 500;
/// Longest auto-refresh interval accepted, in seconds.
const MAX_REFRESH: u64 = 3600;

/// A link of the auto-refresh switch.
#[derive(Serialize)]
struct RefreshLink {
    label: &'static str,
    href: String,
    active: bool,
}

/// The current URL with one query parameter set (or removed, for `None`).
pub fn with_param(uri: &Uri, key: &str, value: Option<&str>) -> String {
    let query = uri.query().unwrap_or_default();
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != key && k != "token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some(value) = value {
        pairs.push((key.to_string(), value.to_string()));
    }
    if pairs.is_empty() {
        return uri.path().to_string();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{}?{query}", uri.path())
}

/// What every page shows around its content: title, navigation, flash messages, the CSRF token
/// for its forms, and the auto-refresh switch.
pub(super) fn chrome(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    query: &HashMap<String, String>,
    title: &str,
    nav: &str,
) -> Value {
    let refresh = query
        .get("refresh")
        .and_then(|r| r.parse::<u64>().ok())
        .unwrap_or(state.default_refresh())
        .min(MAX_REFRESH);
    let refresh_links: Vec<RefreshLink> = [("off", 0u64), ("5 s", 5), ("30 s", 30)]
        .into_iter()
        .map(|(label, seconds)| RefreshLink {
            label,
            href: with_param(uri, "refresh", Some(&seconds.to_string())),
            active: refresh == seconds,
        })
        .collect();
    let (csrf_token, flash) = match caller {
        Caller::Session(id) => (
            Some(state.auth().csrf_token(id)),
            state.auth().take_flash(id),
        ),
        Caller::Bearer => (None, Vec::new()),
    };
    context! {
        title,
        nav,
        csrf_token,
        flash,
        refresh,
        refresh_links,
        now => crate::rq::timestamp::now(),
    }
}

/// The error page for a failed query: 404 for what does not exist, 409 for a refused action,
/// 503 when Redis cannot be reached.
pub(super) fn task_error(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    query: &HashMap<String, String>,
    error: TaskError,
) -> Response {
    let (status, title) = match &error {
        TaskError::NotFound(_) | TaskError::Invalid(_) => (StatusCode::NOT_FOUND, "Not found"),
        TaskError::Refused(_) => (StatusCode::CONFLICT, "Not possible"),
        TaskError::Redis(_) => (StatusCode::SERVICE_UNAVAILABLE, "Redis is unreachable"),
    };
    let message = match &error {
        TaskError::Redis(e) => format!("Redis is unreachable: {e}"),
        other => other.to_string(),
    };
    state.templates().page(
        status,
        "message.html",
        context! {
            message,
            kind => "error",
            ..chrome(state, caller, uri, query, title, ""),
        },
    )
}

/// A page that shows one value read from Redis, or the error page when it cannot be read.
struct Simple {
    template: &'static str,
    /// The name the value has in the template.
    key: &'static str,
    title: &'static str,
    nav: &'static str,
}

fn simple_page<T: Serialize>(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    query: &HashMap<String, String>,
    page: Simple,
    data: Result<T, TaskError>,
) -> Response {
    match data {
        Ok(data) => state.templates().page(
            StatusCode::OK,
            page.template,
            context! {
                ..Value::from_iter([(page.key, Value::from_serialize(&data))]),
                ..chrome(state, caller, uri, query, page.title, page.nav),
            },
        ),
        Err(error) => task_error(state, caller, uri, query, error),
    }
}

const QUEUES_PAGE: Simple = Simple {
    template: "queues.html",
    key: "overview",
    title: "Queues",
    nav: "queues",
};

const WORKERS_PAGE: Simple = Simple {
    template: "workers.html",
    key: "workers",
    title: "Workers",
    nav: "workers",
};

/// `GET /`: every queue with its counts (each a link to the list), and the workers.
pub async fn queues(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let overview = stats::overview(&mut state.redis()).await;
    simple_page(&state, &caller, &uri, &query, QUEUES_PAGE, overview)
}

/// `GET /workers`: every live worker in detail.
pub async fn workers(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let workers = workers::list(&mut state.redis()).await;
    simple_page(&state, &caller, &uri, &query, WORKERS_PAGE, workers)
}

/// A status tab on the job list.
#[derive(Serialize)]
struct Tab {
    status: &'static str,
    count: Option<u64>,
    active: bool,
}

/// `GET /queues/{queue}/{status}?page=N`: one page of a queue's jobs in one status.
pub async fn jobs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    Path((queue, status)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(status) = ListStatus::parse(&status).filter(|_| check_queue(&queue).is_ok()) else {
        return not_found_page(&state, &caller, &uri, &query);
    };
    let page = query
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let per_page = query
        .get("per_page")
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(PER_PAGE)
        .min(MAX_PER_PAGE);
    let mut conn = state.redis();
    let offset = (page - 1).saturating_mul(per_page);
    let listed = jobs::list(&mut conn, &queue, status, offset, per_page).await;
    let overview = stats::overview(&mut conn).await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(error) => return task_error(&state, &caller, &uri, &query, error),
    };
    let counts = overview
        .ok()
        .and_then(|o| o.queues.into_iter().find(|q| q.name == queue));
    let tabs: Vec<Tab> = ListStatus::ALL
        .into_iter()
        .map(|s| Tab {
            status: s.as_str(),
            count: counts.as_ref().map(|c| c.count(s)),
            active: s == status,
        })
        .collect();
    let pages = listed.total.div_ceil(per_page).max(1);
    let first = if listed.jobs.is_empty() {
        0
    } else {
        offset.saturating_add(1)
    };
    let last = offset.saturating_add(listed.jobs.len() as u64);
    let previous = (page > 1).then(|| with_param(&uri, "page", Some(&(page - 1).to_string())));
    let next = (page < pages).then(|| with_param(&uri, "page", Some(&(page + 1).to_string())));
    let title = format!("{queue}: {status} jobs");
    let webhooks: Vec<&str> = state
        .settings()
        .webhooks
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    state.templates().page(
        StatusCode::OK,
        "jobs.html",
        context! {
            queue,
            webhooks,
            status => status.as_str(),
            listed => Value::from_serialize(&listed),
            tabs,
            page,
            pages,
            first,
            last,
            previous,
            next,
            ..chrome(&state, &caller, &uri, &query, &title, "queues"),
        },
    )
}

/// The list a job's status belongs to, for the link back from its page.
pub fn list_for(status: Option<JobStatus>) -> &'static str {
    match status {
        Some(JobStatus::Stopped) => ListStatus::Failed.as_str(),
        other => other
            .and_then(|s| ListStatus::parse(s.as_str()))
            .unwrap_or(ListStatus::Queued)
            .as_str(),
    }
}

/// `GET /jobs/{id}`: one job, with the actions its status allows.
pub async fn job(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut conn = state.redis();
    let job = match detail::job(&mut conn, state.settings(), &id).await {
        Ok(job) => job,
        Err(error) => return task_error(&state, &caller, &uri, &query, error),
    };
    let status = JobStatus::parse(&job.status);
    let title = format!("Job {}", job.id);
    state.templates().page(
        StatusCode::OK,
        "job.html",
        context! {
            list_status => list_for(status),
            can_requeue => status.is_some_and(JobStatus::ended_badly),
            can_enqueue => matches!(status, Some(JobStatus::Finished | JobStatus::Canceled)),
            can_stop => status == Some(JobStatus::Started),
            job => Value::from_serialize(&job),
            ..chrome(&state, &caller, &uri, &query, &title, "queues"),
        },
    )
}

fn not_found_page(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    query: &HashMap<String, String>,
) -> Response {
    state.templates().page(
        StatusCode::NOT_FOUND,
        "message.html",
        context! {
            message => "There is no such page.",
            kind => "error",
            ..chrome(state, caller, uri, query, "Not found", ""),
        },
    )
}

/// Any other URL.
pub async fn not_found(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    not_found_page(&state, &caller, &uri, &query)
}

/// 401 with a page saying how to get in.
pub fn unauthorized(state: &AppState) -> Response {
    let mut response = state.templates().page(
        StatusCode::UNAUTHORIZED,
        "message.html",
        context! {
            title => "Access token needed",
            message => "This page needs its access token. Open the URL that `manage background_tasks` printed when it started (it ends in ?token=…), or send the header Authorization: Bearer <token>.",
            kind => "error",
            refresh => 0,
        },
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"manage background tasks\""),
    );
    response
}

/// 403 for a form without the right CSRF token.
pub fn forbidden(state: &AppState) -> Response {
    state
        .templates()
        .page(
            StatusCode::FORBIDDEN,
            "message.html",
            context! {
                title => "Forbidden",
                message => "The form's CSRF token is missing or wrong, so nothing was done. Reload the page and try again.",
                kind => "error",
                refresh => 0,
            },
        )
        .into_response()
}
