//! Putting failed jobs back on their queues, all of a queue's or by id, in batches of atomic
//! moves, so an interrupted run never loses or duplicates a job: what `manage requeue_failed`
//! and the page's "requeue all failed" do.

use std::collections::BTreeMap;

use redis::aio::ConnectionLike;
use serde::Serialize;

use super::TaskResult;
use crate::rq::{
    keys::{self, Registry},
    queue,
    registry::{self, Requeued},
};

/// Jobs moved per script call.
pub const BATCH: usize = 1000;

/// Which failed jobs to put back.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// These ids; empty means every failed job.
    pub ids: Vec<String>,
    /// Only these queues; empty means every queue in `rq:queues`.
    pub queues: Vec<String>,
    /// Count what would move; move nothing.
    pub dry_run: bool,
}

/// What a requeue did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Jobs requeued (or that would be) per queue; queues with none are left out.
    pub queues: BTreeMap<String, u64>,
    /// Ids asked for that are not in a failed registry (of the queues asked for).
    pub not_found: Vec<String>,
}

impl Report {
    /// Jobs requeued (or that would be) in all.
    pub fn total(&self) -> u64 {
        self.queues.values().sum()
    }
}

/// Carries out `request`; `progress` is told the total once, then each batch's size as it moves.
pub async fn requeue<C: ConnectionLike>(
    conn: &mut C,
    request: &Request,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> TaskResult<Report> {
    let queues = if request.queues.is_empty() {
        queue::all_names(conn).await?
    } else {
        request.queues.clone()
    };
    if request.ids.is_empty() {
        all(conn, &queues, request.dry_run, progress).await
    } else {
        by_id(conn, request, progress).await
    }
}

/// A step of a long requeue, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// How many jobs there are to move.
    Total(u64),
    /// This many more were handled.
    Moved(u64),
}

async fn all<C: ConnectionLike>(
    conn: &mut C,
    queues: &[String],
    dry_run: bool,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> TaskResult<Report> {
    let mut report = Report::default();
    let mut total = 0;
    for queue in queues {
        if !dry_run {
            drop_expired(conn, queue).await?;
        }
        total += registry::count(conn, Registry::Failed, queue).await?;
    }
    progress(Progress::Total(total));
    for queue in queues {
        let moved = if dry_run {
            registry::count(conn, Registry::Failed, queue).await?
        } else {
            requeue_queue(conn, queue, &mut |n| progress(Progress::Moved(n))).await?
        };
        if moved > 0 {
            report.queues.insert(queue.clone(), moved);
        }
    }
    Ok(report)
}

/// Drops entries of a queue's failed registry whose failure TTL has passed (their hashes are
/// gone or going), as `rq requeue --all` does first.
pub async fn drop_expired<C: ConnectionLike>(conn: &mut C, queue: &str) -> TaskResult<()> {
    redis::cmd("ZREMRANGEBYSCORE")
        .arg(Registry::Failed.key(queue))
        .arg(0)
        .arg(chrono::Utc::now().timestamp())
        .query_async::<()>(conn)
        .await?;
    Ok(())
}

/// Moves every failed job of `queue` back onto it in atomic batches, telling `moved` the size
/// of each batch handled. Returns how many were requeued.
pub async fn requeue_queue<C: ConnectionLike>(
    conn: &mut C,
    queue: &str,
    moved: &mut (dyn FnMut(u64) + Send),
) -> TaskResult<u64> {
    let mut requeued = 0u64;
    loop {
        let ids = registry::job_ids(conn, Registry::Failed, queue, 0, BATCH as isize).await?;
        if ids.is_empty() {
            return Ok(requeued);
        }
        let pairs: Vec<(String, String)> =
            ids.into_iter().map(|id| (queue.to_string(), id)).collect();
        let results = registry::requeue_failed(conn, &pairs).await?;
        requeued += results.iter().filter(|r| **r == Requeued::Yes).count() as u64;
        moved(pairs.len() as u64);
    }
}

async fn by_id<C: ConnectionLike>(
    conn: &mut C,
    request: &Request,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> TaskResult<Report> {
    let mut report = Report::default();
    let mut pairs = Vec::new();
    for id in &request.ids {
        if !keys::valid_job_id(id) {
            report.not_found.push(id.clone());
            continue;
        }
        let origin: Option<String> = redis::cmd("HGET")
            .arg(keys::job(id))
            .arg("origin")
            .query_async(conn)
            .await?;
        match origin.filter(|o| request.queues.is_empty() || request.queues.contains(o)) {
            Some(origin) => pairs.push((origin, id.clone())),
            None => report.not_found.push(id.clone()),
        }
    }
    progress(Progress::Total(pairs.len() as u64));
    if request.dry_run {
        for (queue, id) in pairs {
            let score: Option<f64> = redis::cmd("ZSCORE")
                .arg(Registry::Failed.key(&queue))
                .arg(&id)
                .query_async(conn)
                .await?;
            match score {
                Some(_) => *report.queues.entry(queue).or_default() += 1,
                None => report.not_found.push(id),
            }
        }
        return Ok(report);
    }
    for chunk in pairs.chunks(BATCH) {
        let results = registry::requeue_failed(conn, chunk).await?;
        for ((queue, id), result) in chunk.iter().zip(results) {
            match result {
                Requeued::Yes => *report.queues.entry(queue.clone()).or_default() += 1,
                Requeued::NotFailed | Requeued::Gone => report.not_found.push(id.clone()),
            }
        }
        progress(Progress::Moved(chunk.len() as u64));
    }
    Ok(report)
}
