//! Maintenance a cron job does on an RQ Redis: emptying queues (`manage rqempty`, RQ's
//! `rq empty`) and removing old failed or finished jobs with RQ's registry maintenance
//! (`manage rqclean`).

use chrono::{DateTime, Utc};
use redis::aio::ConnectionLike;
use serde::Serialize;

use super::{check_queue, TaskResult};
use crate::rq::{
    keys::{self, Registry},
    queue,
    registry::{self, Ended},
    worker::upkeep,
};

/// Jobs read per round trip while looking for old ones.
const BATCH: usize = 1000;

/// Empties `queues` (every queue in `rq:queues` when empty); returns how many jobs each lost.
pub async fn empty<C: ConnectionLike>(
    conn: &mut C,
    queues: &[String],
) -> TaskResult<Vec<(String, u64)>> {
    let queues = known_or_all(conn, queues).await?;
    let mut removed = Vec::new();
    for queue in queues {
        let count = registry::empty(conn, &queue).await?;
        removed.push((queue, count));
    }
    Ok(removed)
}

async fn known_or_all<C: ConnectionLike>(
    conn: &mut C,
    queues: &[String],
) -> TaskResult<Vec<String>> {
    if queues.is_empty() {
        return Ok(queue::all_names(conn).await?);
    }
    for name in queues {
        check_queue(name)?;
    }
    Ok(queues.to_vec())
}

/// What `rqclean` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Only these queues (empty: every queue in `rq:queues`).
    pub queues: Vec<String>,
    /// Remove failed jobs that ended before this time.
    pub failed_before: Option<DateTime<Utc>>,
    /// Remove every finished job (its result too).
    pub finished: bool,
    /// Count; change nothing.
    pub dry_run: bool,
}

/// What `rqclean` did to one queue (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cleaned {
    /// The queue.
    pub queue: String,
    /// Failed jobs removed (hash and results), ended before the cutoff.
    pub failed_removed: u64,
    /// Finished jobs removed.
    pub finished_removed: u64,
    /// Entries of the finished and failed registries whose TTL had passed, dropped as RQ's
    /// maintenance drops them.
    pub expired_entries: u64,
    /// Started jobs whose worker stopped sending heartbeats, put back on the queue (or failed
    /// when abandoned too often), as RQ's maintenance does.
    pub abandoned: u64,
    /// The failed jobs removed (or, dry, that would be): what a script logs or checks.
    pub failed_ids: Vec<String>,
    /// The finished jobs removed (or, dry, that would be).
    pub finished_ids: Vec<String>,
}

/// Cleans each queue the request names.
pub async fn clean<C: ConnectionLike>(conn: &mut C, request: &Request) -> TaskResult<Vec<Cleaned>> {
    let queues = known_or_all(conn, &request.queues).await?;
    let mut out = Vec::new();
    for queue in queues {
        out.push(clean_queue(conn, &queue, request).await?);
    }
    Ok(out)
}

async fn clean_queue<C: ConnectionLike>(
    conn: &mut C,
    queue: &str,
    request: &Request,
) -> TaskResult<Cleaned> {
    let now = Utc::now().timestamp();
    let mut cleaned = Cleaned {
        queue: queue.to_string(),
        ..Cleaned::default()
    };
    let (finished_expired, failed_expired, abandoned): (u64, u64, u64) = redis::pipe()
        .zcount(Registry::Finished.key(queue), "-inf", now)
        .zcount(Registry::Failed.key(queue), 0, now)
        .zcount(Registry::Started.key(queue), "-inf", now)
        .query_async(conn)
        .await?;
    cleaned.expired_entries = finished_expired + failed_expired;
    cleaned.abandoned = abandoned;
    if !request.dry_run {
        // RQ's maintenance: expired registry entries dropped, abandoned jobs taken back.
        upkeep::clean(conn, queue, "rqclean", None).await?;
    }
    if let Some(cutoff) = request.failed_before {
        let old = ended_before(conn, queue, cutoff).await?;
        cleaned.failed_removed = if request.dry_run {
            old.len() as u64
        } else {
            registry::purge(conn, Ended::Failed, queue, &old).await?
        };
        cleaned.failed_ids = old;
    }
    if request.finished {
        let ids = registry::job_ids(conn, Registry::Finished, queue, 0, -1).await?;
        cleaned.finished_removed = if request.dry_run {
            ids.len() as u64
        } else {
            registry::purge(conn, Ended::Finished, queue, &ids).await?
        };
        cleaned.finished_ids = ids;
    }
    Ok(cleaned)
}

/// The failed jobs of `queue` that ended before `cutoff` (or whose hash is already gone).
async fn ended_before<C: ConnectionLike>(
    conn: &mut C,
    queue: &str,
    cutoff: DateTime<Utc>,
) -> TaskResult<Vec<String>> {
    let ids = registry::job_ids(conn, Registry::Failed, queue, 0, -1).await?;
    let mut old = Vec::new();
    for chunk in ids.chunks(BATCH) {
        let mut pipe = redis::pipe();
        for id in chunk {
            pipe.hget(keys::job(id), "ended_at");
        }
        let ended: Vec<Option<String>> = pipe.query_async(conn).await?;
        for (id, ended) in chunk.iter().zip(ended) {
            let ended = ended.as_deref().and_then(crate::rq::timestamp::parse);
            if ended.is_none_or(|t| t < cutoff) {
                old.push(id.clone());
            }
        }
    }
    Ok(old)
}
