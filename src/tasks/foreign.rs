//! Queues shared with other RQ software: jobs on them that no function here can run (pickled
//! data, as NetBox's own jobs are; names nobody registered), and Python RQ workers serving them.
//! `manage check` and `manage rqworker` look before they act, so that pointing `manage` at
//! NetBox's own Redis is said out loud instead of failing NetBox's jobs.

use std::collections::BTreeMap;

use redis::aio::ConnectionLike;

use crate::rq::keys;

use super::TaskResult;

/// Jobs looked at per queue: the oldest ones, which the next worker would take first.
const SAMPLE: isize = 100;

/// What a queue holds that is not `manage`'s.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Foreign {
    /// The queue.
    pub queue: String,
    /// Of the jobs looked at, how many Python's pickle serializer wrote.
    pub pickled: usize,
    /// Of the jobs looked at, the functions nobody here runs, with how many of each.
    pub unknown: BTreeMap<String, usize>,
    /// The Python RQ workers (not `manage`'s) registered on the queue.
    pub python_workers: Vec<String>,
}

impl Foreign {
    /// Whether the queue holds jobs that a worker here would have to fail.
    pub fn has_jobs(&self) -> bool {
        self.pickled > 0 || !self.unknown.is_empty()
    }

    /// Whether a worker here should leave the queue to others: it holds pickled jobs (no
    /// worker of ours can ever run them), or jobs of functions we lack that Python workers on
    /// it can run. An unknown name alone is a mistake (a typo, a missing plugin) and fails, as
    /// RQ fails it, so that one bad job cannot stop a queue.
    pub fn leave_to_others(&self) -> bool {
        self.pickled > 0 || (!self.unknown.is_empty() && !self.python_workers.is_empty())
    }

    /// One sentence for a warning.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.has_jobs() {
            let mut kinds = Vec::new();
            if self.pickled > 0 {
                kinds.push(format!(
                    "{} pickled (Python RQ's default serializer, as NetBox's own jobs are)",
                    self.pickled
                ));
            }
            for (name, count) in &self.unknown {
                kinds.push(format!(
                    "{count} of {name}, which no job function here runs"
                ));
            }
            parts.push(format!(
                "holds jobs manage cannot run: {}",
                kinds.join(", ")
            ));
        }
        if !self.python_workers.is_empty() {
            parts.push(format!(
                "is served by {} Python RQ worker(s) ({})",
                self.python_workers.len(),
                self.python_workers.join(", ")
            ));
        }
        format!("queue {} {}", self.queue, parts.join(" and "))
    }
}

/// Looks at each of `queues`: its oldest jobs against the functions `known`, and its workers.
/// Only the queues with something foreign are returned.
pub async fn survey<C: ConnectionLike>(
    conn: &mut C,
    queues: &[String],
    known: &[&str],
) -> TaskResult<Vec<Foreign>> {
    let mut found = Vec::new();
    for queue in queues {
        super::check_queue(queue)?;
        let (ids, workers): (Vec<String>, Vec<String>) = redis::pipe()
            .cmd("LRANGE")
            .arg(keys::queue(queue))
            .arg(0)
            .arg(SAMPLE - 1)
            .cmd("SMEMBERS")
            .arg(keys::queue_workers(queue))
            .query_async(conn)
            .await?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGETALL").arg(keys::job(id));
        }
        for worker in &workers {
            pipe.cmd("HGET").arg(worker).arg("version");
        }
        let replies: Vec<redis::Value> = if ids.is_empty() && workers.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(conn).await?
        };
        let (jobs, versions) = replies.split_at(ids.len().min(replies.len()));
        let mut foreign = Foreign {
            queue: queue.clone(),
            ..Foreign::default()
        };
        for (id, reply) in ids.iter().zip(jobs) {
            let Some(job) = super::decode::job_from_reply(id, reply.clone()) else {
                continue;
            };
            if job.is_pickled() {
                foreign.pickled += 1;
            } else if let Ok(call) = job.call() {
                if !known.contains(&call.func_name.as_str()) {
                    *foreign.unknown.entry(call.func_name).or_default() += 1;
                }
            }
        }
        for (worker, version) in workers.iter().zip(versions) {
            let version: Option<String> = redis::from_redis_value(version.clone()).ok().flatten();
            // Ours write `manage-<version>`; a worker whose hash is gone is not counted.
            if version.is_some_and(|v| !v.starts_with("manage-")) {
                let name = worker.strip_prefix(keys::WORKER_PREFIX).unwrap_or(worker);
                foreign.python_workers.push(name.to_string());
            }
        }
        if foreign.has_jobs() || !foreign.python_workers.is_empty() {
            found.push(foreign);
        }
    }
    Ok(found)
}
