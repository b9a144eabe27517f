//! Enqueueing: one job, or many in one round trip, written as Python RQ 2.12 writes them. Jobs
//! with a chain name wait for the earlier jobs of their chain (see `lua/enqueue.lua`).

use redis::aio::ConnectionLike;

use super::{job::NewJob, keys, scripts, timestamp};

/// A batch of jobs encoded for Redis (JSON, zlib, descriptions: all the CPU work of
/// enqueueing), kept apart from the round trip so that bulk enqueuers can build the next batch
/// on another thread while this one is written.
pub struct Encoded {
    pipe: redis::Pipeline,
    ids: Vec<String>,
}

impl Encoded {
    /// The job ids, in order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Writes the batch in one atomic step; returns the ids that wait behind their chain.
    pub async fn write<C: ConnectionLike>(&self, conn: &mut C) -> redis::RedisResult<Vec<String>> {
        let (deferred,): (Vec<String>,) = self.pipe.query_async(conn).await?;
        Ok(deferred)
    }
}

/// Encodes `jobs` for one atomic write: a MULTI of every job's HSET, then one `lua/enqueue.lua`
/// that pushes them (or defers them behind their chain) in order.
pub fn encode(jobs: &[NewJob]) -> Encoded {
    let now = chrono::Utc::now();
    let text = timestamp::format(now);
    let mut pipe = redis::pipe();
    pipe.atomic();
    let mut push = redis::cmd("EVAL");
    push.arg(scripts::ENQUEUE.as_str())
        .arg(0)
        .arg(&text)
        .arg(now.timestamp());
    for job in jobs {
        let hset = pipe.cmd("HSET").arg(keys::job(&job.id));
        for (name, value) in job.fields(&text) {
            hset.arg(name).arg(value);
        }
        hset.ignore();
        push.arg(&job.id)
            .arg(&job.queue)
            .arg(if job.at_front { "1" } else { "0" })
            .arg(job.chain.as_deref().unwrap_or_default());
    }
    pipe.add_command(push);
    Encoded {
        pipe,
        ids: jobs.iter().map(|j| j.id.clone()).collect(),
    }
}

/// Writes jobs and pushes them on their queues in one atomic round trip, so a batch is
/// enqueued whole or not at all (one exception: a queue or chain key of the wrong type, put
/// there by hand, stops the script halfway; the jobs before it stay queued, the rest are
/// removed, and the error says so). Returns the ids in order.
pub async fn enqueue_many<C: ConnectionLike>(
    conn: &mut C,
    jobs: &[NewJob],
) -> redis::RedisResult<Vec<String>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let encoded = encode(jobs);
    encoded.write(conn).await?;
    Ok(encoded.ids)
}

/// Enqueues one job.
pub async fn enqueue<C: ConnectionLike>(conn: &mut C, job: &NewJob) -> redis::RedisResult<String> {
    Ok(enqueue_many(conn, std::slice::from_ref(job))
        .await?
        .remove(0))
}

/// Every queue name in `rq:queues`, sorted; members that are not queue keys are skipped.
pub async fn all_names<C: ConnectionLike>(conn: &mut C) -> redis::RedisResult<Vec<String>> {
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(keys::QUEUES)
        .query_async(conn)
        .await?;
    let mut names: Vec<String> = members
        .iter()
        .filter_map(|m| keys::queue_name(m))
        .map(str::to_string)
        .collect();
    names.sort();
    Ok(names)
}
