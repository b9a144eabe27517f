//! Background tasks: what `manage rqstats`, `rqjobs`, `rqjob` and the `background_tasks` web page
//! show and do, written once so the command line and the page always agree. Every function works
//! on any job in the RQ layout, Python-enqueued ones and malformed ones included: what cannot be
//! decoded is shown as `<undecodable: reason>`, never an error.
//!
//! - [`stats`]: per-queue counts of every registry, with the workers serving each queue.
//! - [`workers`]: the live workers and what they are doing.
//! - [`metrics`]: the Prometheus text of `GET /metrics`.
//! - [`jobs`]: a page of one queue's jobs in one status, fetched in one round trip.
//! - [`detail`]: one job, decoded: call, timestamps, worker, result or failure, webhook.
//! - [`actions`]: requeue, requeue all failed, delete, stop, enqueue again.
//! - [`foreign`]: queues shared with other RQ software (jobs we cannot run, Python workers).
//! - [`clean`]: emptying queues and removing old jobs (`rqempty`, `rqclean`).
//! - [`requeue`]: failed jobs back on their queues, all or by id, in atomic batches.
//! - [`webhook`]: what a webhook job says about its webhook.
//! - [`webhooks`]: every configured webhook: circuit, in flight, waiting, last status.
//! - [`deliveries`]: the per-webhook delivery log, filtered, and each webhook's activity.
//! - [`when`]: ages and times as given on the command line.
//! - [`decode`]: tolerant readers shared by the views (hashes, results, times, secrets).
//! - [`text`]: the plain-text tables of the commands.
//! - [`web`]: the `background_tasks` web server.

pub mod actions;
pub mod clean;
pub mod decode;
pub mod deliveries;
pub mod detail;
pub mod foreign;
pub mod jobs;
pub mod metrics;
pub mod requeue;
pub mod stats;
pub mod text;
pub mod web;
pub mod webhook;
pub mod webhooks;
pub mod when;
pub mod workers;

/// Why a background-task query or action could not be done.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// Redis could not be reached or refused the command.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    /// There is no such job (or its hash has expired).
    #[error("Job {0} does not exist")]
    NotFound(String),
    /// The job exists but is not in a state that allows the action; the text says why.
    #[error("{0}")]
    Refused(String),
    /// The request itself is wrong (an id or queue name RQ would not accept).
    #[error("{0}")]
    Invalid(String),
}

/// What task functions return.
pub type TaskResult<T> = Result<T, TaskError>;

/// Checks a job id against RQ's rules before it goes into any key.
pub fn check_job_id(id: &str) -> TaskResult<()> {
    if crate::rq::keys::valid_job_id(id) {
        Ok(())
    } else {
        Err(TaskError::Invalid(format!(
            "invalid job id {id:?}: RQ job ids use letters, digits, '-' and '_'"
        )))
    }
}

/// Checks a queue name before it goes into any key.
pub fn check_queue(name: &str) -> TaskResult<()> {
    if crate::rq::keys::valid_queue_name(name) {
        Ok(())
    } else {
        Err(TaskError::Invalid(format!(
            "invalid queue name {name:?}: use letters, digits, '-', '_' and '.'"
        )))
    }
}
