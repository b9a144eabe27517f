//! One job, decoded for people and scripts: its call, status, timestamps, worker, latest result
//! or failure, retries, and the webhook it delivers. Whatever cannot be decoded is named, not
//! hidden, and never makes the whole view fail.

use redis::aio::ConnectionLike;
use serde::Serialize;
use serde_json::Value;

use super::{
    check_job_id,
    decode::{self, LatestResult},
    jobs::{self, field},
    webhook::{self, WebhookInfo},
    TaskError, TaskResult,
};
use crate::{
    config::Settings,
    rq::{
        job::{Job, JobStatus},
        serializer::{self, Call},
    },
};

/// Everything known about one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobDetail {
    /// The job id.
    pub id: String,
    /// Its queue (`origin`), empty when missing.
    pub queue: String,
    /// The stored status, or `<undecodable: …>`.
    pub status: String,
    /// The function name, or `<undecodable: …>`.
    pub function: String,
    /// Positional arguments (secrets hidden); `None` when the data cannot be decoded.
    pub args: Option<Value>,
    /// Keyword arguments (secrets hidden); `None` when the data cannot be decoded.
    pub kwargs: Option<Value>,
    /// RQ's description (the call string).
    pub description: Option<String>,
    /// When it was created (RQ format, as stored).
    pub created_at: Option<String>,
    /// When it was last enqueued.
    pub enqueued_at: Option<String>,
    /// When it last started.
    pub started_at: Option<String>,
    /// When it last ended.
    pub ended_at: Option<String>,
    /// Its last heartbeat.
    pub last_heartbeat: Option<String>,
    /// The worker that ran or is running it.
    pub worker_name: Option<String>,
    /// Timeout in seconds as stored (`-1`: none), or `<undecodable: …>`.
    pub timeout: Option<String>,
    /// Seconds its result is kept, as stored.
    pub result_ttl: Option<String>,
    /// Seconds its failure is kept, as stored.
    pub failure_ttl: Option<String>,
    /// Retries left, when it was enqueued with a retry.
    pub retries_left: Option<i64>,
    /// Seconds between retries.
    pub retry_intervals: Option<Vec<i64>>,
    /// `meta`, decoded (secrets hidden).
    pub meta: Option<Value>,
    /// The latest entry of its results stream (return value secrets hidden).
    pub result: Option<LatestResult>,
    /// Why its latest run failed (full text: a traceback for Python workers).
    pub failure: Option<String>,
    /// The webhook it delivers, for `send_webhook` jobs.
    pub webhook: Option<WebhookInfo>,
    /// Its runs, oldest first, from its results stream (RQ keeps the newest 10).
    pub attempts: Vec<Attempt>,
    /// Everything about the job that could not be decoded.
    pub problems: Vec<String>,
}

/// Reads one job; [`TaskError::NotFound`] when its hash does not exist.
pub async fn job<C: ConnectionLike>(
    conn: &mut C,
    settings: &Settings,
    id: &str,
) -> TaskResult<JobDetail> {
    check_job_id(id)?;
    let (job, result) = jobs::fetch(conn, &[id.to_string()])
        .await?
        .pop()
        .unwrap_or_default();
    let job = job.ok_or_else(|| TaskError::NotFound(id.to_string()))?;
    let mut detail = describe(settings, &job, result);
    let runs: redis::Value = redis::cmd("XRANGE")
        .arg(crate::rq::keys::results(id))
        .arg("-")
        .arg("+")
        .query_async(conn)
        .await?;
    detail.attempts = decode::results_from_reply(runs)
        .iter()
        .map(Attempt::of)
        .collect();
    Ok(detail)
}

/// One run of a job, as its result recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// Which run of the job (as `manage` counts them), when recorded.
    pub number: Option<u64>,
    /// `successful`, `failed`, `retried`, `stopped`, …
    pub outcome: String,
    /// When the result was recorded (RQ format).
    pub at: Option<String>,
    /// How long it took, in milliseconds, when recorded.
    pub duration_ms: Option<f64>,
    /// The HTTP status, or the error (or the first line of the failure, for runs `manage` did
    /// not record details of).
    pub status: Option<String>,
    /// The first bytes of the answer.
    pub response: Option<String>,
    /// The worker.
    pub worker: String,
}

impl Attempt {
    fn of(result: &LatestResult) -> Self {
        let details = result.details.as_ref();
        let get = |name: &str| details.and_then(|d| d.get(name)).filter(|v| !v.is_null());
        let status = get("status")
            .map(|s| s.to_string())
            .or_else(|| get("error").and_then(Value::as_str).map(str::to_string))
            .or_else(|| {
                result
                    .failure
                    .as_deref()
                    .map(|f| decode::short_reason(f, 200))
            });
        Self {
            number: get("attempt").and_then(Value::as_u64),
            outcome: serde_json::to_value(result.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            at: result.created_at.clone(),
            duration_ms: get("duration_ms").and_then(Value::as_f64),
            status,
            response: get("response").and_then(Value::as_str).map(str::to_string),
            worker: result.worker_name.clone(),
        }
    }
}

/// Builds the detail of a job already read.
pub fn describe(settings: &Settings, job: &Job, result: Option<LatestResult>) -> JobDetail {
    let result = result.map(|mut r| {
        r.return_value = r.return_value.as_ref().map(decode::redact);
        r
    });
    let mut problems = Vec::new();
    let call = job.call();
    if let Err(reason) = &call {
        problems.push(reason.clone());
    }
    if let Err(reason) = job.status() {
        problems.push(reason);
    }
    let timeout = checked_timeout(job, &mut problems);
    let retry = job.retry().unwrap_or_else(|reason| {
        problems.push(reason);
        None
    });
    let meta = checked_meta(job, &mut problems);
    timestamp_problems(job, &mut problems);
    if let Some(error) = result.as_ref().and_then(|r| r.return_value_error.clone()) {
        problems.push(error);
    }
    let ended_badly = job.status().is_ok_and(JobStatus::ended_badly);
    let failure = decode::failure_text(job, result.as_ref())
        .filter(|_| ended_badly || result.as_ref().is_some_and(|r| r.failure.is_some()));
    JobDetail {
        id: job.id.clone(),
        queue: job.origin().to_string(),
        status: jobs::shown_status(job),
        function: jobs::shown_function(job),
        args: call
            .as_ref()
            .ok()
            .map(|c| decode::redact(&Value::Array(c.args.clone()))),
        kwargs: call
            .as_ref()
            .ok()
            .map(|c| decode::redact(&Value::Object(c.kwargs.clone()))),
        description: field(job, "description").map(|stored| match &call {
            Ok(call) => shown_description(call, stored),
            Err(_) => stored,
        }),
        created_at: field(job, "created_at"),
        enqueued_at: field(job, "enqueued_at"),
        started_at: field(job, "started_at"),
        ended_at: field(job, "ended_at"),
        last_heartbeat: field(job, "last_heartbeat"),
        worker_name: field(job, "worker_name"),
        timeout,
        result_ttl: field(job, "result_ttl"),
        failure_ttl: field(job, "failure_ttl"),
        retries_left: retry.as_ref().map(|r| r.retries_left),
        retry_intervals: retry.map(|r| r.intervals),
        meta,
        failure,
        webhook: call.ok().and_then(|c| webhook::info(settings, &c)),
        attempts: Vec::new(),
        result,
        problems,
    }
}

/// The stored timeout as shown, or, when it is not a number, the reason in its place (and among
/// the problems): a job a worker cannot time is still shown whole.
fn checked_timeout(job: &Job, problems: &mut Vec<String>) -> Option<String> {
    match job.int("timeout") {
        Ok(_) => field(job, "timeout"),
        Err(reason) => {
            problems.push(reason.clone());
            Some(decode::undecodable(reason))
        }
    }
}

/// The job's `meta` with secrets hidden, or, when it is not Python's JSON, the reason in its
/// place (and among the problems), so one bad field never hides the rest of the job.
fn checked_meta(job: &Job, problems: &mut Vec<String>) -> Option<Value> {
    job.fields.get("meta").map(|raw| {
        crate::rq::serializer::parse_python_json(raw)
            .map(|v| decode::redact(&v))
            .unwrap_or_else(|e| {
                problems.push(format!("meta: {e}"));
                Value::String(decode::undecodable(e))
            })
    })
}

/// Timestamps are shown as stored, so one RQ cannot read is named among the problems rather
/// than silently passed on.
fn timestamp_problems(job: &Job, problems: &mut Vec<String>) {
    for name in ["created_at", "enqueued_at", "started_at", "ended_at"] {
        if let Some(text) = field(job, name) {
            if crate::rq::timestamp::parse(&text).is_none() {
                problems.push(format!("field '{name}' is {text:?}, not a timestamp"));
            }
        }
    }
}

/// RQ's stored description is the call string, arguments included: when the arguments hold a
/// secret, it is rebuilt from the redacted call so the secret is not shown there either.
fn shown_description(call: &Call, stored: String) -> String {
    let redacted = Call {
        func_name: call.func_name.clone(),
        args: call.args.iter().map(decode::redact).collect(),
        kwargs: match decode::redact(&Value::Object(call.kwargs.clone())) {
            Value::Object(map) => map,
            _ => unreachable!("redact keeps objects"),
        },
    };
    if redacted == *call {
        stored
    } else {
        serializer::call_string(&redacted, 256)
    }
}
