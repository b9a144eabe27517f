//! Running one job: decode it, find its function, run it under its timeout, and say what
//! happened. A bad job becomes a failure with a reason; it never stops the worker.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use super::fetch::Taken;
use crate::rq::{
    functions::{self, Functions, JobCall},
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
        }
    }
}

/// Runs a taken job to its outcome.
pub async fn run(
    taken: &Taken,
    functions: &Functions,
    interrupt: oneshot::Receiver<Interrupt>,
) -> Outcome {
    let failed = |reason: String| failure(taken, reason, None);
    if let Err(reason) = taken.job.status() {
        return Outcome::Failed(reason);
    }
    if let Ok(JobStatus::Canceled | JobStatus::Stopped) = taken.job.status() {
        return Outcome::Failed(format!(
            "job was {} before it ran",
            taken.job.status().map(|s| s.as_str()).unwrap_or("?")
        ));
    }
    let call = match taken.job.call() {
        Ok(call) => call,
        Err(reason) => return Outcome::Failed(reason),
    };
    let timeout = match taken.job.timeout() {
        Ok(timeout) => timeout,
        Err(reason) => return Outcome::Failed(reason),
    };
    // Unreadable retry fields would otherwise only show when the job fails, hiding its reason.
    if let Err(reason) = taken.job.retry() {
        return Outcome::Failed(reason);
    }
    let Some(function) = functions.find(&call.func_name) else {
        return failed(format!(
            "no job function named {:?} is registered in this worker (known: {})",
            call.func_name,
            functions.names().join(", ")
        ));
    };
    let job_call = JobCall {
        job_id: taken.job.id.clone(),
        queue: taken.queue.clone(),
        execution: taken.execution.clone(),
        args: call.args,
        kwargs: call.kwargs,
    };
    let work = function.call(job_call);
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
            Ok(value) => Outcome::Finished(value),
            Err(functions::JobFailure { reason, retry_after }) => failure(taken, reason, retry_after),
        },
        Ok(why) = interrupt => match why {
            Interrupt::Stop => Outcome::Stopped,
            Interrupt::Requeue => Outcome::Requeue,
        },
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
