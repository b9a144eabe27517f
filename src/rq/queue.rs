//! Enqueueing: one job, or many in one round trip, written as Python RQ 2.12 writes them.

use redis::aio::ConnectionLike;

use super::{job::NewJob, keys, timestamp};

/// Writes jobs and pushes them on their queues in one atomic round trip (MULTI/EXEC), so a
/// batch is enqueued whole or not at all. Returns the ids in order.
pub async fn enqueue_many<C: ConnectionLike>(
    conn: &mut C,
    jobs: &[NewJob],
) -> redis::RedisResult<Vec<String>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    enqueue_pipeline(jobs).query_async::<()>(conn).await?;
    Ok(jobs.iter().map(|j| j.id.clone()).collect())
}

/// The MULTI/EXEC pipeline that enqueues `jobs`: all the CPU work of enqueueing (JSON, zlib,
/// the description), kept apart from the round trip so that bulk enqueuers can build the
/// next batch on another thread while this one is written.
pub fn enqueue_pipeline(jobs: &[NewJob]) -> redis::Pipeline {
    let now = timestamp::now();
    let mut pipe = redis::pipe();
    pipe.atomic();
    let mut queues: Vec<&str> = Vec::new();
    for job in jobs {
        let key = keys::job(&job.id);
        pipe.hset_multiple(&key, &job.fields(&now)).ignore();
        if job.at_front {
            pipe.lpush(keys::queue(&job.queue), &job.id).ignore();
        } else {
            pipe.rpush(keys::queue(&job.queue), &job.id).ignore();
        }
        if !queues.contains(&job.queue.as_str()) {
            queues.push(&job.queue);
        }
    }
    for queue in queues {
        pipe.sadd(keys::QUEUES, keys::queue(queue)).ignore();
    }
    pipe
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
