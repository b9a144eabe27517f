//! The registries of a queue: counts for the views, listing job ids, and moving failed jobs back.

use redis::aio::ConnectionLike;

use super::{keys, scripts, timestamp};

/// How a requeue of one job went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeued {
    /// Back on its queue.
    Yes,
    /// It was not in that failed registry.
    NotFailed,
    /// It was in the registry but its hash had expired; the stale entry was removed.
    Gone,
}

/// Moves `(queue, job id)` pairs from their failed registries to their queues; each job atomically.
pub async fn requeue_failed<C: ConnectionLike>(
    conn: &mut C,
    pairs: &[(String, String)],
) -> redis::RedisResult<Vec<Requeued>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let mut invocation = scripts::REQUEUE.prepare_invoke();
    invocation.arg(timestamp::now());
    for (queue, id) in pairs {
        invocation.arg(queue).arg(id);
    }
    let codes: Vec<i64> = invocation.invoke_async(conn).await?;
    Ok(codes
        .into_iter()
        .map(|code| match code {
            1 => Requeued::Yes,
            -1 => Requeued::Gone,
            _ => Requeued::NotFailed,
        })
        .collect())
}

/// Ids in a registry, oldest first, from `start` for `count` (`-1` for all). Started-registry
/// members are `<id>:<execution>`; the id part is returned.
pub async fn job_ids<C: ConnectionLike>(
    conn: &mut C,
    registry: keys::Registry,
    queue: &str,
    start: isize,
    count: isize,
) -> redis::RedisResult<Vec<String>> {
    let stop = if count < 0 { -1 } else { start + count - 1 };
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(registry.key(queue))
        .arg(start)
        .arg(stop)
        .query_async(conn)
        .await?;
    Ok(members
        .into_iter()
        .map(|m| m.split(':').next().unwrap_or_default().to_string())
        .collect())
}

/// Number of entries in a registry.
pub async fn count<C: ConnectionLike>(
    conn: &mut C,
    registry: keys::Registry,
    queue: &str,
) -> redis::RedisResult<u64> {
    redis::cmd("ZCARD")
        .arg(registry.key(queue))
        .query_async(conn)
        .await
}

/// Jobs removed per script call, so a long queue or registry never holds Redis for long.
const SLICE: usize = 10_000;

/// Empties a queue (as `rq empty`): its jobs are deleted; jobs waiting for them go on their
/// queues. Returns how many were removed.
pub async fn empty<C: ConnectionLike>(conn: &mut C, queue: &str) -> redis::RedisResult<u64> {
    let mut removed = 0;
    loop {
        let (slice, left): (u64, u64) = scripts::EMPTY
            .prepare_invoke()
            .arg(queue)
            .arg(SLICE)
            .arg(timestamp::now())
            .invoke_async(conn)
            .await?;
        removed += slice;
        if left == 0 || slice == 0 {
            return Ok(removed);
        }
    }
}

/// The registries of jobs that have ended, which [`purge`] removes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `rq:failed:<q>`.
    Failed,
    /// `rq:finished:<q>`.
    Finished,
}

impl Ended {
    /// The registry itself.
    pub fn registry(self) -> keys::Registry {
        match self {
            Self::Failed => keys::Registry::Failed,
            Self::Finished => keys::Registry::Finished,
        }
    }
}

/// Removes `ids` for good from an ended-jobs registry of `queue` (hash, results, dependency
/// sets too). Returns how many were there.
pub async fn purge<C: ConnectionLike>(
    conn: &mut C,
    registry: Ended,
    queue: &str,
    ids: &[String],
) -> redis::RedisResult<u64> {
    let name = registry.registry().status();
    let mut removed = 0;
    for chunk in ids.chunks(SLICE) {
        let mut invocation = scripts::PURGE.prepare_invoke();
        invocation.arg(name).arg(queue).arg(timestamp::now());
        for id in chunk {
            invocation.arg(id);
        }
        removed += invocation.invoke_async::<u64>(conn).await?;
    }
    Ok(removed)
}
