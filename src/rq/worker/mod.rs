//! `manage rqworker`'s engine: a [`Worker`] takes jobs off RQ queues and runs many at once in
//! one process, each with the job function its `func_name` names in the worker's
//! [`Functions`](crate::rq::functions::Functions).
//!
//! One job's path through the worker, file by file:
//! - `run`: [`Worker`]: start (register), fill free slots, spawn a task per job, shut down.
//! - [`registration`]: the worker hash and sets that `rq info` reads, birth to death.
//! - [`fetch`]: a batch of jobs moves from the queues to the started registry atomically.
//! - [`execute`]: one job runs under its timeout and becomes an [`execute::Outcome`].
//! - [`complete`]: outcomes are written in batches, each exactly as RQ writes it.
//! - [`in_flight`]: the jobs running now, for heartbeats, `stop-job` and shutdown.
//! - [`upkeep`]: heartbeats, registry maintenance, abandoned jobs, the scheduler.
//! - [`control`]: pub/sub commands (`shutdown`, `stop-job`) and signals.

pub mod complete;
pub mod control;
pub mod execute;
pub mod fetch;
pub mod in_flight;
pub mod registration;
mod run;
pub mod upkeep;

pub use run::{Health, Pending, Worker, WorkerError, WorkerOptions, WorkerReport};

/// Seconds added to the job-monitoring interval for a running job's started-registry score,
/// as RQ does (`job_monitoring_interval + 60`).
pub const HEARTBEAT_GRACE_SECS: u64 = 60;
