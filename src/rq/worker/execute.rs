//! Running one job: decode it, find its function, run it under its timeout, and say what
//! happened. A bad job becomes a failure with a reason; it never stops the worker.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use tokio::sync::oneshot;

use super::fetch::Taken;
use crate::rq::{
    functions::{self, Functions, JobCall, JobFailure, JobFunction, JobSuccess},
    job::JobStatus,
};

/// Why a running job was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// A user asked (`stop-job`): the job ends as `stopped`.
    Stop,
    /// Cold shutdown: the job goes back to the front of its queue.
    Requeue,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It returned this value.
    Finished(Value),
    /// It failed with this reason and has no retries left.
    Failed(String),
    /// It failed and will run again after `interval` seconds.
    Retry {
        /// Why this attempt failed.
        reason: String,
        /// Seconds before the next attempt (0: at once).
        interval: i64,
        /// Retries left after this one.
        retries_left: i64,
        /// Go to the front of the queue (RQ's `enqueue_at_front_on_retry`).
        at_front: bool,
    },
    /// A user stopped it.
    Stopped,
    /// It goes back on its queue untouched (shutdown).
    Requeue,
    /// It is not this worker's to run (pickled: NetBox's own jobs): it goes back to the front
    /// of its queue, for the workers whose job it is, and this worker leaves that queue.
    Foreign(String),
    /// Its function set it aside to wait (a delivery limit, an open circuit): it is written
    /// as deferred into the sorted set `key`, scored `until`; it used no retry.
    Park {
        /// Why it waits.
        reason: String,
        /// The sorted set it waits in.
        key: String,
        /// When it may be tried again (unix seconds).
        until: f64,
    },
}

impl Outcome {
    /// A word for the log line.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Finished(_) => "finished",
            Self::Failed(_) => "failed",
            Self::Retry { .. } => "retry",
            Self::Stopped => "stopped",
            Self::Requeue => "requeued",
            Self::Foreign(_) => "left to its own workers",
            Self::Park { .. } => "parked",
        }
    }
}

/// A job's outcome and what its function said about the run (kept with the result).
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    /// How it ended.
    pub outcome: Outcome,
    /// The function's details of the run, if any.
    pub details: Option<Value>,
}

impl From<Outcome> for Ran {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            details: None,
        }
    }
}

/// Runs a taken job to its outcome.
pub async fn run(
    taken: &Taken,
    functions: &Functions,
    interrupt: oneshot::Receiver<Interrupt>,
) -> Ran {
    match prepare(taken, functions) {
        Ok((function, call, timeout)) => {
            call_under_timeout(taken, function, call, timeout, interrupt).await
        }
        Err(outcome) => outcome.into(),
    }
}

/// What a job needs to run: its function, its call, and its timeout in seconds.
type Runnable<'f> = (&'f Arc<dyn JobFunction>, JobCall, Option<u64>);

/// The function, call and timeout of a job, or the outcome of a job that cannot run.
fn prepare<'f>(taken: &Taken, functions: &'f Functions) -> Result<Runnable<'f>, Outcome> {
    let failed = |reason: String| failure(taken, reason, None);
    let status = taken.job.status().map_err(Outcome::Failed)?;
    if matches!(status, JobStatus::Canceled | JobStatus::Stopped) {
        return Err(Outcome::Failed(format!("job was {status} before it ran")));
    }
    let call = taken.job.call().map_err(Outcome::Failed)?;
    let timeout = taken.job.timeout().map_err(Outcome::Failed)?;
    // Unreadable retry fields would otherwise only show when the job fails, hiding its reason.
    taken.job.retry().map_err(Outcome::Failed)?;
    let Some(function) = functions.find(&call.func_name) else {
        return Err(failed(format!(
            "no job function named {:?} is registered in this worker (known: {})",
            call.func_name,
            functions.names().join(", ")
        )));
    };
    let job_call = JobCall {
        job_id: taken.job.id.clone(),
        queue: taken.queue.clone(),
        execution: taken.execution.clone(),
        attempt: attempt_number(taken),
        meta: match taken.job.meta() {
            Some(Value::Object(meta)) => meta,
            _ => Default::default(),
        },
        args: call.args,
        kwargs: call.kwargs,
    };
    Ok((function, job_call, timeout))
}

/// Calls the function under the job's timeout, unless the job is interrupted first.
async fn call_under_timeout(
    taken: &Taken,
    function: &Arc<dyn JobFunction>,
    call: JobCall,
    timeout: Option<u64>,
    interrupt: oneshot::Receiver<Interrupt>,
) -> Ran {
    let work = function.call(call);
    let timed = async {
        match timeout {
            Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), work)
                .await
                .unwrap_or_else(|_| Err(functions::JobFailure::new(format!("JobTimeoutException: Task exceeded maximum timeout value ({seconds} seconds)")))),
            None => work.await,
        }
    };
    tokio::select! {
        result = timed => match result {
            Ok(JobSuccess { value, details }) => Ran { outcome: Outcome::Finished(value), details },
            Err(JobFailure { reason, park: Some(park), .. }) => Outcome::Park { reason, key: park.key, until: park.until }.into(),
            Err(JobFailure { reason, retry_after, details, .. }) => Ran { outcome: failure(taken, reason, retry_after), details: details.map(|d| *d) },
        },
        Ok(why) = interrupt => match why {
            Interrupt::Stop => Outcome::Stopped,
            Interrupt::Requeue => Outcome::Requeue,
        }.into(),
    }
}

/// A failure, or a retry when the job has retries left (RQ's exception-based retry). The retry
/// waits the job's next interval, or `retry_after` seconds when the failure asked for longer
/// (already capped by [`functions::JobFailure::retry_after`]).
fn failure(taken: &Taken, reason: String, retry_after: Option<u64>) -> Outcome {
    match taken.job.retry() {
        Ok(Some(retry)) if retry.retries_left > 0 => {
            let at_front = taken
                .job
                .text("enqueue_at_front_on_retry")
                .is_some_and(|v| v == "1");
            Outcome::Retry {
                reason,
                interval: retry
                    .next_interval()
                    .max(retry_after.map_or(0, |s| s as i64)),
                retries_left: retry.retries_left - 1,
                at_front,
            }
        }
        _ => Outcome::Failed(reason),
    }
}

/// This run's attempt number: one more than the attempts the job hash has counted.
pub fn attempt_number(taken: &Taken) -> u32 {
    taken
        .job
        .int("manage_attempts")
        .ok()
        .flatten()
        .map_or(1, |done| done.max(0) as u32 + 1)
}
