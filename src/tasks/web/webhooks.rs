//! The Webhooks view: every webhook with its circuit, deliveries and success rate over the last
//! hour and day, p50 and p95 durations, last status, and a chart of delivered and failed per
//! minute; one webhook's page adds the per-hour chart of the day and its recent deliveries
//! (each linking to its job), and the actions: close its circuit, requeue all its failed jobs.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{StatusCode, Uri},
    response::Response,
    Extension,
};
use minijinja::{context, Value};
use serde::Serialize;

use super::{actions, chart, pages, AppState, Caller};
use crate::{
    pipeline::limits,
    tasks::{
        actions::Done,
        deliveries::{self, Activity, Delivery},
        requeue,
        webhooks::{self, WebhookRow},
        TaskError, TaskResult,
    },
};

/// One webhook as the view shows it.
#[derive(Serialize)]
struct View {
    #[serde(flatten)]
    row: WebhookRow,
    activity: Activity,
    /// Delivered and failed per minute over the last hour, as SVG.
    minutes_chart: String,
    /// Delivered and failed per hour over the last day, as SVG.
    hours_chart: String,
}

async fn views(state: &AppState, only: Option<&str>) -> TaskResult<Vec<View>> {
    let mut conn = state.redis();
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for row in webhooks::all(&mut conn, state.settings()).await? {
        if only.is_some_and(|name| name != row.name) {
            continue;
        }
        let activity = deliveries::activity(&mut conn, &row.name, now).await?;
        out.push(View {
            minutes_chart: chart::bars(&activity.minutes, "%H:%M", "the last hour"),
            hours_chart: chart::bars(&activity.hours, "%H:00", "the last day"),
            row,
            activity,
        });
    }
    Ok(out)
}

/// `GET /webhooks`: every webhook.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match views(&state, None).await {
        Ok(views) => state.templates().page(
            StatusCode::OK,
            "webhooks.html",
            context! {
                webhooks => Value::from_serialize(&views),
                ..pages::chrome(&state, &caller, &uri, &query, "Webhooks", "webhooks"),
            },
        ),
        Err(error) => pages::task_error(&state, &caller, &uri, &query, error),
    }
}

/// `GET /webhooks/{name}`: one webhook, its charts and its recent deliveries.
pub async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let read = async {
        let view = views(&state, Some(&name))
            .await?
            .pop()
            .ok_or_else(|| TaskError::NotFound(format!("webhook {name}")))?;
        let filter = deliveries::Filter {
            webhooks: vec![name.clone()],
            ok: query.get("status").map(|s| s == "ok"),
            since: None,
            limit: 100,
        };
        let recent: Vec<Delivery> = deliveries::list(&mut state.redis(), &filter).await?;
        Ok::<_, TaskError>((view, recent))
    };
    match read.await {
        Ok((view, recent)) => state.templates().page(
            StatusCode::OK,
            "webhook.html",
            context! {
                webhook => Value::from_serialize(&view),
                deliveries => Value::from_serialize(&recent),
                status_filter => query.get("status").cloned(),
                ..pages::chrome(&state, &caller, &uri, &query, &format!("Webhook {name}"), "webhooks"),
            },
        ),
        Err(error) => pages::task_error(&state, &caller, &uri, &query, error),
    }
}

/// `POST /webhooks/{name}/reset|requeue-failed`.
pub async fn action(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if !actions::csrf_ok(&state, &caller, &body) {
        return pages::forbidden(&state);
    }
    let page = format!("/webhooks/{}", urlencoding(&name));
    let outcome = if !state.settings().webhooks.iter().any(|w| w.name == name) {
        Err(TaskError::NotFound(format!("webhook {name}")))
    } else {
        match action.as_str() {
            "reset" => reset(&state, &name).await,
            "requeue-failed" => requeue_failed(&state, &name).await,
            _ => Err(TaskError::NotFound(format!("action {action}"))),
        }
    };
    actions::answer(&state, &caller, outcome, |_| page.clone(), page.clone())
}

async fn reset(state: &AppState, name: &str) -> TaskResult<Done> {
    let before = limits::reset(&mut state.redis(), name).await?;
    Ok(Done {
        message: format!(
            "Webhook {name}: circuit closed (it was {before}); waiting jobs go back on their queues."
        ),
        queue: String::new(),
        status_before: before,
    })
}

async fn requeue_failed(state: &AppState, name: &str) -> TaskResult<Done> {
    let request = requeue::Request {
        filter: requeue::Filter {
            webhook: Some(name.to_string()),
            ..requeue::Filter::default()
        },
        ..requeue::Request::default()
    };
    let report = requeue::requeue(&mut state.redis(), &request, &mut |_| {}).await?;
    let total = report.total();
    let noun = if total == 1 { "job" } else { "jobs" };
    Ok(Done {
        message: format!("Requeued {total} failed {noun} of webhook {name}"),
        queue: String::new(),
        status_before: "failed".into(),
    })
}

/// A path segment with the characters a webhook name may hold escaped.
fn urlencoding(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
