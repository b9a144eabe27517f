//! Job functions: async handlers registered by dotted name through `inventory`, as commands are.
//! A job's `func_name` picks one; an unknown name fails the job with that reason.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::future::BoxFuture;
use serde_json::{json, Map, Value};

use crate::config::Settings;

/// What a job function gets: its arguments and the worker's shared resources.
#[derive(Clone)]
pub struct JobCall {
    /// The job id.
    pub job_id: String,
    /// The queue it came from.
    pub queue: String,
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
    /// The worker's environment.
    pub env: Arc<JobEnv>,
}

/// Resources a worker shares between all its jobs.
pub struct JobEnv {
    /// The worker's settings (read when the worker started).
    pub settings: Arc<Settings>,
    /// The pooled HTTP client with the `[http]` defaults.
    pub http: reqwest::Client,
    /// Per-function state, built once per worker (e.g. compiled webhook templates).
    pub state: HashMap<&'static str, FunctionState>,
}

/// Builds a function's per-worker state from the settings, or says why it cannot.
pub type Prepare = fn(&Settings) -> Result<FunctionState, String>;

/// State a job function builds once per worker and reads on every call.
pub type FunctionState = Arc<dyn std::any::Any + Send + Sync>;

/// The longest wait a job function may ask for before its retry (an endpoint's `Retry-After`
/// can say anything; a job parked for days would look lost).
pub const MAX_RETRY_AFTER_SECS: u64 = 3600;

/// Why a job failed; the reason becomes the failure reason stored in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The failure reason, readable by a user.
    pub reason: String,
    /// The shortest wait before a retry, when the failure says so (e.g. an HTTP 429 or 503 with
    /// `Retry-After`); a retry waits `max(interval, retry_after)`, capped at
    /// [`MAX_RETRY_AFTER_SECS`]. It never adds a retry that the job does not have.
    pub retry_after: Option<u64>,
}

impl JobFailure {
    /// A failure with a reason and no opinion on when to retry.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// The same failure, asking any retry to wait at least `seconds`.
    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after = seconds.map(|s| s.min(MAX_RETRY_AFTER_SECS));
        self
    }
}

impl<E: std::fmt::Display> From<E> for JobFailure {
    fn from(error: E) -> Self {
        Self::new(error.to_string())
    }
}

/// What a job function returns: a JSON result, or a failure reason.
pub type JobOutcome = Result<Value, JobFailure>;

/// One registered job function.
pub struct JobFunction {
    /// The dotted name producers enqueue, e.g. `manage.echo`.
    pub name: &'static str,
    /// Runs one call.
    pub run: fn(JobCall) -> BoxFuture<'static, JobOutcome>,
    /// Builds per-worker state once at start (templates, clients); `None` when not needed.
    pub prepare: Option<Prepare>,
}

inventory::collect!(JobFunction);

/// The function registered under `name`.
pub fn find(name: &str) -> Option<&'static JobFunction> {
    inventory::iter::<JobFunction>
        .into_iter()
        .find(|f| f.name == name)
}

/// Every registered function name, sorted.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = inventory::iter::<JobFunction>
        .into_iter()
        .map(|f| f.name)
        .collect();
    names.sort();
    names
}

/// Registers a job function: `async fn(JobCall) -> JobOutcome`.
#[macro_export]
macro_rules! job_function {
    (name: $name:expr, run: $run:path $(, prepare: $prepare:path)? $(,)?) => {
        const _: () = {
            fn __manage_job(call: $crate::rq::functions::JobCall) -> $crate::futures::future::BoxFuture<'static, $crate::rq::functions::JobOutcome> {
                ::std::boxed::Box::pin($run(call))
            }
            $crate::inventory::submit! {
                $crate::rq::functions::JobFunction { name: $name, run: __manage_job, prepare: $crate::job_function!(@prepare $($prepare)?) }
            }
        };
    };
    (@prepare) => { None };
    (@prepare $prepare:path) => { Some($prepare) };
}

async fn echo(call: JobCall) -> JobOutcome {
    Ok(json!({ "args": call.args, "kwargs": call.kwargs }))
}

async fn sleep(call: JobCall) -> JobOutcome {
    let seconds = call
        .kwargs
        .get("seconds")
        .or_else(|| call.args.first())
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    if !(0.0..=86_400.0).contains(&seconds) {
        return Err(JobFailure::new(format!(
            "seconds must be between 0 and 86400, got {seconds}"
        )));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    Ok(json!({ "slept": seconds }))
}

async fn fail(call: JobCall) -> JobOutcome {
    let message = call
        .kwargs
        .get("message")
        .or_else(|| call.args.first())
        .and_then(Value::as_str)
        .unwrap_or("manage.fail was called");
    Err(JobFailure::new(message))
}

crate::job_function!(name: "manage.echo", run: echo);
crate::job_function!(name: "manage.sleep", run: sleep);
crate::job_function!(name: "manage.fail", run: fail);
