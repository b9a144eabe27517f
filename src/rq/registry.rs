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
