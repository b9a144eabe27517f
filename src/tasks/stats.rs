//! Per-queue counts of every registry and the workers serving each queue: the first thing the
//! page and `manage rqstats` show.

use redis::aio::ConnectionLike;
use serde::Serialize;

use super::{
    workers::{self, WorkerInfo},
    TaskResult,
};
use crate::rq::{
    keys::{self, Registry},
    queue,
};

/// One queue's counts.
#[derive(Debug, Clone, Serialize)]
pub struct QueueStats {
    /// The queue name.
    pub name: String,
    /// Jobs waiting in the queue list.
    pub queued: u64,
    /// Jobs running now.
    pub started: u64,
    /// Jobs waiting on dependencies.
    pub deferred: u64,
    /// Jobs that finished and are kept for their result TTL.
    pub finished: u64,
    /// Jobs that failed or were stopped.
    pub failed: u64,
    /// Jobs waiting for their time (retries with an interval, `enqueue_at`).
    pub scheduled: u64,
    /// Jobs canceled before they ran.
    pub canceled: u64,
    /// Names of the live workers serving this queue.
    pub workers: Vec<String>,
}

impl QueueStats {
    /// The count for a list status.
    pub fn count(&self, status: super::jobs::ListStatus) -> u64 {
        use super::jobs::ListStatus::*;
        match status {
            Queued => self.queued,
            Started => self.started,
            Deferred => self.deferred,
            Finished => self.finished,
            Failed => self.failed,
            Scheduled => self.scheduled,
            Canceled => self.canceled,
        }
    }
}

/// Everything the overview shows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// Every queue, sorted by name.
    pub queues: Vec<QueueStats>,
    /// Every live worker, sorted by name.
    pub workers: Vec<WorkerInfo>,
    /// Whether `rq suspend` / `manage rqsuspend` is in force.
    pub suspended: bool,
}

/// The overview: the queues of `rq:queues` plus those a live worker serves (so an empty queue
/// with a worker still shows), each with all its counts, in one round trip after the workers.
pub async fn overview<C: ConnectionLike>(conn: &mut C) -> TaskResult<Overview> {
    let workers = workers::list(conn).await?;
    let mut names = queue::all_names(conn).await?;
    for worker in &workers {
        names.extend(worker.queues.iter().cloned());
    }
    names.retain(|n| keys::valid_queue_name(n));
    names.sort();
    names.dedup();
    let mut pipe = redis::pipe();
    pipe.cmd("EXISTS").arg(keys::SUSPENDED);
    for name in &names {
        pipe.cmd("LLEN").arg(keys::queue(name));
        for registry in COUNTED {
            pipe.cmd("ZCARD").arg(registry.key(name));
        }
    }
    let counts: Vec<u64> = pipe.query_async(conn).await?;
    let suspended = counts.first().copied().unwrap_or(0) > 0;
    let queues = names
        .into_iter()
        .zip(counts[1..].chunks(1 + COUNTED.len()))
        .map(|(name, c)| QueueStats {
            workers: workers
                .iter()
                .filter(|w| w.queues.contains(&name))
                .map(|w| w.name.clone())
                .collect(),
            name,
            queued: c[0],
            started: c[1],
            deferred: c[2],
            finished: c[3],
            failed: c[4],
            scheduled: c[5],
            canceled: c[6],
        })
        .collect();
    Ok(Overview {
        queues,
        workers,
        suspended,
    })
}

/// The registries counted, in the order of the fields after `queued`.
const COUNTED: [Registry; 6] = [
    Registry::Started,
    Registry::Deferred,
    Registry::Finished,
    Registry::Failed,
    Registry::Scheduled,
    Registry::Canceled,
];
