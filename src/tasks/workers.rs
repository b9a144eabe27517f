//! The live workers, read from `rq:workers` and each `rq:worker:<name>` hash in one round trip,
//! with the defaults `rq info` uses for missing fields.

use redis::aio::ConnectionLike;
use serde::Serialize;

use super::{decode::hash_from_reply, TaskResult};
use crate::rq::keys;

/// One worker as the views show it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerInfo {
    /// The worker name.
    pub name: String,
    /// `idle`, `busy`, `started`, `suspended`…, or `?` when not recorded.
    pub state: String,
    /// The job it is running now, if busy.
    pub current_job: Option<String>,
    /// Jobs it finished.
    pub successes: u64,
    /// Jobs it failed.
    pub failures: u64,
    /// Seconds spent running jobs.
    pub total_working_time: f64,
    /// When it started, RQ format.
    pub birth: Option<String>,
    /// Its last sign of life, RQ format.
    pub last_heartbeat: Option<String>,
    /// Queues it serves, in priority order.
    pub queues: Vec<String>,
    /// Host it runs on.
    pub hostname: String,
    /// Its process id.
    pub pid: String,
    /// What it is (`manage-0.1.0`, or Python RQ's version).
    pub version: String,
}

/// Every live worker, sorted by name. Members of `rq:workers` whose hash has expired (a worker
/// that died without deregistering) are left out, as `rq info` does.
pub async fn list<C: ConnectionLike>(conn: &mut C) -> TaskResult<Vec<WorkerInfo>> {
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(keys::WORKERS)
        .query_async(conn)
        .await?;
    let names: Vec<&str> = members
        .iter()
        .filter_map(|m| keys::worker_name(m))
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for name in &names {
        pipe.cmd("HGETALL").arg(keys::worker(name));
    }
    let replies: Vec<redis::Value> = pipe.query_async(conn).await?;
    let mut workers: Vec<WorkerInfo> = names
        .iter()
        .zip(replies)
        .filter_map(|(name, reply)| {
            let hash = hash_from_reply(reply)?;
            let text = |field: &str| {
                hash.get(field)
                    .map(|v| String::from_utf8_lossy(v).trim().to_string())
                    .unwrap_or_default()
            };
            let some = |field: &str| Some(text(field)).filter(|t| !t.is_empty());
            Some(WorkerInfo {
                name: name.to_string(),
                state: some("state").unwrap_or_else(|| "?".into()),
                current_job: some("current_job"),
                successes: text("successful_job_count").parse().unwrap_or(0),
                failures: text("failed_job_count").parse().unwrap_or(0),
                total_working_time: text("total_working_time").parse().unwrap_or(0.0),
                birth: some("birth"),
                last_heartbeat: some("last_heartbeat"),
                queues: text("queues")
                    .split(',')
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                    .map(str::to_string)
                    .collect(),
                hostname: text("hostname"),
                pid: text("pid"),
                version: text("version"),
            })
        })
        .collect();
    workers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(workers)
}
