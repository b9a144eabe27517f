//! The POST actions. A browser session must send the form's CSRF token; a script with the bearer
//! token need not. A browser is redirected (303) to the page that shows the result, with a
//! message saying what was done; a script gets that message as plain text.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};

use super::{pages, AppState, Caller};
use crate::rq::job::JobStatus;
use crate::tasks::{
    actions::{self, Done},
    TaskError, TaskResult,
};

/// Whether the request may act: a session's form must carry this session's CSRF token;
/// scripts with the bearer token need none.
pub(super) fn csrf_ok(state: &AppState, caller: &Caller, body: &[u8]) -> bool {
    let Caller::Session(session) = caller else {
        return true;
    };
    let token = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    state.auth().csrf_ok(session, &token)
}

/// Answers an action: a redirect with a flash message for a browser, text for a script.
pub(super) fn answer(
    state: &AppState,
    caller: &Caller,
    outcome: TaskResult<Done>,
    success_to: impl FnOnce(&Done) -> String,
    failure_to: String,
) -> Response {
    match (caller, outcome) {
        (Caller::Session(session), Ok(done)) => {
            state.auth().push_flash(session, "success", &done.message);
            redirect(success_to(&done))
        }
        (Caller::Session(session), Err(error)) => {
            state.auth().push_flash(session, "error", describe(&error));
            redirect(failure_to)
        }
        (Caller::Bearer, Ok(done)) => text(StatusCode::OK, &done.message),
        (Caller::Bearer, Err(error)) => text(status_of(&error), &describe(&error)),
    }
}

fn describe(error: &TaskError) -> String {
    match error {
        TaskError::Redis(e) => format!("Redis is unreachable: {e}"),
        other => other.to_string(),
    }
}

fn status_of(error: &TaskError) -> StatusCode {
    match error {
        TaskError::NotFound(_) => StatusCode::NOT_FOUND,
        TaskError::Invalid(_) => StatusCode::BAD_REQUEST,
        TaskError::Refused(_) => StatusCode::CONFLICT,
        TaskError::Redis(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn redirect(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// `POST /jobs/{id}/requeue|delete|stop|enqueue`.
pub async fn job_action(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if !csrf_ok(&state, &caller, &body) {
        return pages::forbidden(&state);
    }
    let mut conn = state.redis();
    let outcome = match action.as_str() {
        "requeue" => actions::requeue(&mut conn, &id).await,
        "delete" => actions::delete(&mut conn, &id).await,
        "stop" => actions::stop(&mut conn, &id).await,
        "enqueue" => actions::enqueue_again(&mut conn, &id).await,
        _ => return text(StatusCode::NOT_FOUND, "There is no such action."),
    };
    let job_page = format!("/jobs/{id}");
    let failure_to = match &outcome {
        Err(TaskError::NotFound(_) | TaskError::Invalid(_)) => "/".to_string(),
        _ => job_page.clone(),
    };
    let deleted = action == "delete";
    answer(
        &state,
        &caller,
        outcome,
        move |done| {
            if !deleted {
                job_page
            } else if crate::tasks::check_queue(&done.queue).is_err() {
                "/".into()
            } else {
                format!(
                    "/queues/{}/{}",
                    done.queue,
                    pages::list_for(JobStatus::parse(&done.status_before))
                )
            }
        },
        failure_to,
    )
}

/// `POST /queues/{queue}/requeue-failed`: every failed job of the queue back onto it, or, with
/// the form field `webhook`, every failed job of that webhook in the queue.
pub async fn requeue_all(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(queue): Path<String>,
    body: Bytes,
) -> Response {
    if !csrf_ok(&state, &caller, &body) {
        return pages::forbidden(&state);
    }
    let webhook = url::form_urlencoded::parse(&body)
        .find(|(k, v)| k == "webhook" && !v.is_empty())
        .map(|(_, v)| v.into_owned());
    let mut conn = state.redis();
    let outcome = match webhook {
        None => actions::requeue_all_failed(&mut conn, &queue).await,
        Some(name) if !state.settings().webhooks.iter().any(|w| w.name == name) => {
            Err(TaskError::NotFound(format!("webhook {name}")))
        }
        Some(name) => requeue_webhook_failed(&mut conn, &queue, &name).await,
    };
    let back = if crate::tasks::check_queue(&queue).is_ok() {
        format!("/queues/{queue}/failed")
    } else {
        "/".into()
    };
    answer(&state, &caller, outcome, |_| back.clone(), back.clone())
}

/// One webhook's failed jobs in `queue` back onto it.
async fn requeue_webhook_failed(
    conn: &mut crate::redis_conn::RedisConn,
    queue: &str,
    webhook: &str,
) -> TaskResult<Done> {
    crate::tasks::check_queue(queue)?;
    let request = crate::tasks::requeue::Request {
        queues: vec![queue.to_string()],
        filter: crate::tasks::requeue::Filter {
            webhook: Some(webhook.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    let report = crate::tasks::requeue::requeue(conn, &request, &mut |_| {}).await?;
    let total = report.total();
    let noun = if total == 1 { "job" } else { "jobs" };
    Ok(Done {
        message: format!("Requeued {total} failed {noun} of webhook {webhook} in {queue}"),
        queue: queue.to_string(),
        status_before: "failed".into(),
    })
}
