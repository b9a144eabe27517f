//! Work a worker does besides running jobs: heartbeats (so its jobs are not taken for
//! abandoned), registry maintenance with abandoned-job recovery, and the scheduler.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    in_flight::InFlight,
    registration::{self, Identity},
};
use crate::{
    redis_conn::RedisConn,
    rq::{scripts, serializer, timestamp},
};

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
pub async fn clean<C: redis::aio::ConnectionLike>(
    conn: &mut C,
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

/// Releases the scheduler locks this worker holds; returns how many it held.
pub async fn release_locks(conn: &mut RedisConn, me: &Identity) -> redis::RedisResult<i64> {
    let mut invocation = scripts::RELEASE_LOCKS.prepare_invoke();
    invocation.arg(&me.name);
    for queue in &me.queues {
        invocation.arg(queue);
    }
    invocation.invoke_async(conn).await
}

/// What the upkeep loop needs to know about its worker.
pub struct Upkeep {
    /// The shared connection.
    pub conn: RedisConn,
    /// Who the worker is.
    pub me: Identity,
    /// The jobs whose heartbeats are kept.
    pub in_flight: Arc<InFlight>,
    /// Seconds the worker hash lives without a heartbeat.
    pub registration_ttl: u64,
    /// Seconds a running job's started-registry entry lives without a heartbeat.
    pub heartbeat_ttl: u64,
    /// Seconds between heartbeats (at most 10, at least 1).
    pub heartbeat_every: Duration,
    /// Also move due scheduled jobs onto their queues.
    pub with_scheduler: bool,
    /// Told of every heartbeat Redis took.
    pub health: Arc<super::run::Health>,
}

impl Upkeep {
    /// Heartbeats every few seconds, maintenance every minute, the scheduler every second;
    /// runs until aborted.
    pub async fn run(mut self) {
        let mut last_heartbeat = Instant::now();
        let mut last_maintenance = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if last_heartbeat.elapsed() >= self.heartbeat_every {
                last_heartbeat = Instant::now();
                self.beat().await;
            }
            if last_maintenance.elapsed() >= Duration::from_secs(MAINTENANCE_INTERVAL_SECS) {
                last_maintenance = Instant::now();
                maintain(&mut self.conn, &self.me, None).await;
            }
            if self.with_scheduler {
                for queue in &self.me.queues {
                    if let Err(error) = schedule(&mut self.conn, queue, &self.me.name, 60).await {
                        tracing::debug!("scheduler pass on {queue} failed: {error}");
                    }
                }
            }
        }
    }

    async fn beat(&mut self) {
        let running = self.in_flight.members();
        let key = self.me.key();
        match heartbeat(
            &mut self.conn,
            &key,
            self.registration_ttl,
            self.heartbeat_ttl,
            &running,
        )
        .await
        {
            Ok(true) => self.health.beat(),
            Ok(false) => {
                tracing::warn!(
                    "Worker {} not found in registry; re-registering.",
                    self.me.name
                );
                match registration::register(&mut self.conn, &self.me, self.registration_ttl).await
                {
                    Ok(()) => self.health.beat(),
                    Err(error) => tracing::warn!("re-registering failed: {error}"),
                }
            }
            Err(error) => tracing::warn!("heartbeat failed: {error}"),
        }
    }
}

/// One maintenance pass over the worker's queues; `reclaim` takes back a crashed run's jobs.
pub async fn maintain(conn: &mut RedisConn, me: &Identity, reclaim: Option<&str>) {
    for queue in &me.queues {
        match clean(conn, queue, &me.name, reclaim).await {
            Ok(cleaned) if cleaned.requeued + cleaned.failed > 0 => tracing::warn!(
                "{queue}: {} abandoned job(s) put back on the queue, {} failed as abandoned too often{}",
                cleaned.requeued,
                cleaned.failed,
                if reclaim.is_some() { " (left by a crashed worker with this name)" } else { "" }
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!("maintenance of {queue} failed: {error}"),
        }
    }
}
