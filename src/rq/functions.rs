//! Job functions: what runs a job, picked by the job's `func_name`. A worker is given a
//! [`Functions`] table: the built-in ones, those other crates register through `inventory`
//! with [`job_function!`](crate::job_function), and any added with [`Functions::register`]
//! (how the webhook pipeline adds `extras.webhooks.send_webhook`, with its webhooks and HTTP
//! clients inside). An unknown name fails the job with that reason.

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use futures::future::BoxFuture;
use serde_json::{json, Map, Value};

/// What a job function gets: the job's identity and its arguments.
#[derive(Debug, Clone)]
pub struct JobCall {
    /// The job id.
    pub job_id: String,
    /// The queue it came from.
    pub queue: String,
    /// The execution id of this run (the job's member in the started registry is
    /// `<job_id>:<execution>`).
    pub execution: String,
    /// Which run of the job this is: 1 for the first, 2 for the first retry (or the first run
    /// after a requeue), and so on.
    pub attempt: u32,
    /// The job's `meta` (empty when it has none or it is not JSON).
    pub meta: Map<String, Value>,
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
}

/// The longest wait a job function may ask for before its retry (an endpoint's `Retry-After`
/// can say anything; a job parked for days would look lost).
pub const MAX_RETRY_AFTER_SECS: u64 = 3600;

/// A job that returned: its result, and what the job function wants kept about this run.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSuccess {
    /// The return value (RQ's `return_value`).
    pub value: Value,
    /// What the run was like (for a webhook: the answer's status and first bytes), kept with
    /// the result in the job's results stream as the field `details`.
    pub details: Option<Value>,
}

impl From<Value> for JobSuccess {
    fn from(value: Value) -> Self {
        Self {
            value,
            details: None,
        }
    }
}

/// Why a job did not finish. Usually a failure, whose reason becomes the failure reason stored
/// in Redis; or, with [`park`](Self::park), a job set aside to wait (not a failure at all).
#[derive(Debug, Clone, PartialEq)]
pub struct JobFailure {
    /// The failure reason, readable by a user.
    pub reason: String,
    /// The shortest wait before a retry, when the failure says so (e.g. an HTTP 429 or 503 with
    /// `Retry-After`); a retry waits `max(interval, retry_after)`, capped at
    /// [`MAX_RETRY_AFTER_SECS`]. It never adds a retry that the job does not have.
    pub retry_after: Option<u64>,
    /// What the run was like, kept with the failure (see [`JobSuccess::details`]); boxed to
    /// keep the error small on the happy path.
    pub details: Option<Box<Value>>,
    /// Not a failure: the job waits, uses no retry, and is written as deferred.
    pub park: Option<Park>,
}

/// Where a job set aside by its function waits: the sorted set `key`, scored by the time it may
/// be tried again. Whoever owns the set puts the job back on its queue (as `lua/lib.lua`'s
/// deferred jobs are put back); the worker only moves it there.
#[derive(Debug, Clone, PartialEq)]
pub struct Park {
    /// The sorted set it waits in.
    pub key: String,
    /// Its score: unix seconds it may run again.
    pub until: f64,
}

impl JobFailure {
    /// A failure with a reason and no opinion on when to retry.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry_after: None,
            details: None,
            park: None,
        }
    }

    /// A job that must wait: `reason` says why (for the log), `park` where.
    pub fn park(reason: impl Into<String>, park: Park) -> Self {
        Self {
            park: Some(park),
            ..Self::new(reason)
        }
    }

    /// The same failure, asking any retry to wait at least `seconds`.
    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after = seconds.map(|s| s.min(MAX_RETRY_AFTER_SECS));
        self
    }

    /// The same failure, with what the run was like.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }
}

impl<E: std::fmt::Display> From<E> for JobFailure {
    fn from(error: E) -> Self {
        Self::new(error.to_string())
    }
}

/// What a job function returns: a JSON result, or a failure reason.
pub type JobOutcome = Result<JobSuccess, JobFailure>;

/// Code that runs jobs. Any `Fn(JobCall) -> impl Future<Output = JobOutcome>` is one; a type
/// with state of its own (compiled templates, HTTP clients) implements it directly.
pub trait JobFunction: Send + Sync + 'static {
    /// Runs one call.
    fn call(&self, call: JobCall) -> BoxFuture<'static, JobOutcome>;
}

impl<F, Fut> JobFunction for F
where
    F: Fn(JobCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = JobOutcome> + Send + 'static,
{
    fn call(&self, call: JobCall) -> BoxFuture<'static, JobOutcome> {
        Box::pin(self(call))
    }
}

/// The job functions a worker runs, by dotted name. Cloning shares the functions.
#[derive(Clone, Default)]
pub struct Functions {
    by_name: HashMap<String, Arc<dyn JobFunction>>,
}

impl Functions {
    /// No functions at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// `manage.echo`, `manage.sleep`, `manage.fail`, and every function registered with
    /// [`job_function!`](crate::job_function) by this crate or another linked into the program.
    pub fn builtin() -> Self {
        let mut functions = Self::new();
        for registered in inventory::iter::<Registered> {
            functions = functions.register(registered.name, registered.run);
        }
        functions
    }

    /// Adds (or replaces) the function that runs jobs named `name`.
    pub fn register(mut self, name: impl Into<String>, function: impl JobFunction) -> Self {
        self.by_name.insert(name.into(), Arc::new(function));
        self
    }

    /// The function for `name`.
    pub fn find(&self, name: &str) -> Option<&Arc<dyn JobFunction>> {
        self.by_name.get(name)
    }

    /// Every name, sorted, for the message of an unknown one.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        names.sort();
        names
    }
}

/// A stateless job function registered through `inventory` (see [`job_function!`](crate::job_function)).
pub struct Registered {
    /// The dotted name producers enqueue, e.g. `manage.echo`.
    pub name: &'static str,
    /// Runs one call.
    pub run: fn(JobCall) -> BoxFuture<'static, JobOutcome>,
}

inventory::collect!(Registered);

/// Registers a stateless job function, `async fn(JobCall) -> JobOutcome`, under a dotted name,
/// so that every [`Functions::builtin`] table has it.
#[macro_export]
macro_rules! job_function {
    (name: $name:expr, run: $run:path $(,)?) => {
        const _: () = {
            fn __manage_job(
                call: $crate::rq::functions::JobCall,
            ) -> $crate::futures::future::BoxFuture<'static, $crate::rq::functions::JobOutcome>
            {
                ::std::boxed::Box::pin($run(call))
            }
            $crate::inventory::submit! {
                $crate::rq::functions::Registered { name: $name, run: __manage_job }
            }
        };
    };
}

async fn echo(call: JobCall) -> JobOutcome {
    Ok(json!({ "args": call.args, "kwargs": call.kwargs }).into())
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
    Ok(json!({ "slept": seconds }).into())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_registered_and_more_can_be_added() {
        let functions = Functions::builtin();
        assert_eq!(
            functions.names(),
            ["manage.echo", "manage.fail", "manage.sleep"]
        );
        let functions =
            functions.register("x.y", |_call: JobCall| async { Ok(Value::Null.into()) });
        assert!(functions.find("x.y").is_some());
        assert!(functions.find("x.z").is_none());
    }
}
