//! Work a worker does besides running jobs: heartbeats (so its jobs are not taken for
//! abandoned), registry maintenance with abandoned-job recovery, and the scheduler.

use crate::redis_conn::RedisConn;

use crate::rq::{scripts, serializer, timestamp};

/// How often maintenance runs, in seconds (RQ: every 10 minutes; abandoned jobs are worth
/// finding sooner).
pub const MAINTENANCE_INTERVAL_SECS: u64 = 60;
/// How many times a job may be abandoned (its worker died under it) before it is failed
/// instead of requeued, so a job that kills workers does not kill them forever.
pub const MAX_ABANDONED: i64 = 3;

/// Refreshes the worker's TTL and the started-registry score of each running job
/// (`(queue, "<id>:<execution>")`). Returns false when the worker hash had vanished.
pub async fn heartbeat(
    conn: &mut RedisConn,
    worker_key: &str,
    worker_ttl: u64,
    heartbeat_ttl: u64,
    running: &[(String, String)],
) -> redis::RedisResult<bool> {
    let now = chrono::Utc::now();
    let mut invocation = scripts::HEARTBEAT.prepare_invoke();
    invocation
        .arg(worker_key)
        .arg(timestamp::format(now))
        .arg(worker_ttl)
        .arg(now.timestamp() + heartbeat_ttl as i64);
    for (queue, member) in running {
        invocation.arg(queue).arg(member);
    }
    Ok(invocation.invoke_async::<i64>(conn).await? == 1)
}

/// What one maintenance pass did to a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Abandoned jobs put back on the queue.
    pub requeued: i64,
    /// Abandoned jobs failed (abandoned too often).
    pub failed: i64,
    /// Another process held the maintenance lock.
    pub skipped: bool,
}

/// Cleans one queue's registries. With `reclaim`, takes back every running job recorded under
/// that worker name (a crashed previous run of this worker) whatever its heartbeat.
pub async fn clean(
    conn: &mut RedisConn,
    queue: &str,
    owner: &str,
    reclaim: Option<&str>,
) -> redis::RedisResult<Cleaned> {
    let now = chrono::Utc::now();
    let reason = format!(
        "Moved to FailedJobRegistry, due to AbandonedJobError, at {}",
        now.format("%Y-%m-%d %H:%M:%S%.6f+00:00")
    );
    let reply: Vec<i64> = scripts::CLEANUP
        .prepare_invoke()
        .arg(queue)
        .arg(timestamp::format(now))
        .arg(now.timestamp())
        .arg(serializer::encode_exc(&reason))
        .arg(MAX_ABANDONED)
        .arg(owner)
        .arg(reclaim.unwrap_or_default())
        .invoke_async(conn)
        .await?;
    Ok(match reply.as_slice() {
        [-1] => Cleaned {
            skipped: true,
            ..Default::default()
        },
        [requeued, failed] => Cleaned {
            requeued: *requeued,
            failed: *failed,
            skipped: false,
        },
        _ => Cleaned::default(),
    })
}

/// Moves a queue's due scheduled jobs onto it, if this scheduler holds (or takes) the lock.
/// Returns how many moved, or `None` when another scheduler holds the lock.
pub async fn schedule(
    conn: &mut RedisConn,
    queue: &str,
    scheduler_name: &str,
    lock_ttl: u64,
) -> redis::RedisResult<Option<i64>> {
    let now = chrono::Utc::now();
    let moved: i64 = scripts::SCHEDULE
        .prepare_invoke()
        .arg(queue)
        .arg(scheduler_name)
        .arg(timestamp::format(now))
        .arg(now.timestamp())
        .arg(lock_ttl)
        .invoke_async(conn)
        .await?;
    Ok((moved >= 0).then_some(moved))
}
