//! What an admin can do to jobs, from `manage rqjob` or the page: requeue a failed job, requeue
//! every failed job of a queue, delete a job, stop a running one, enqueue an ended one again
//! (re-send a webhook). Each state change is one atomic step; each outcome is a sentence that
//! says what was done, in NetBox's words where NetBox has them.

use redis::aio::ConnectionLike;
use serde::Serialize;

use super::{check_job_id, check_queue, requeue, TaskError, TaskResult};
use crate::rq::{
    job::JobStatus,
    keys,
    registry::{self, Requeued},
    scripts, timestamp,
};

/// What an action did.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    /// The sentence shown to the user, e.g. `Job <id> has been re-enqueued.`
    pub message: String,
    /// The queue concerned (the job's origin), so a page can go back to it.
    pub queue: String,
    /// The job's status before the action.
    pub status_before: String,
}

/// Bytes from Redis as text, whatever a producer stored.
fn lossy(bytes: Option<Vec<u8>>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Job hash fields, each `None` when absent; [`TaskError::NotFound`] when the hash has none.
async fn fields<C: ConnectionLike, const N: usize>(
    conn: &mut C,
    id: &str,
    names: [&str; N],
) -> TaskResult<[Option<String>; N]> {
    let values: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
        .arg(keys::job(id))
        .arg(&names[..])
        .query_async(conn)
        .await?;
    let mut values = values.into_iter().map(lossy);
    let out: [Option<String>; N] = std::array::from_fn(|_| values.next().flatten());
    if out.iter().all(Option::is_none) {
        return Err(TaskError::NotFound(id.to_string()));
    }
    Ok(out)
}

async fn origin_and_status<C: ConnectionLike>(
    conn: &mut C,
    id: &str,
) -> TaskResult<(String, String)> {
    let [origin, status] = fields(conn, id, ["origin", "status"]).await?;
    Ok((origin.unwrap_or_default(), status.unwrap_or_default()))
}

/// Moves one failed (or stopped) job from its queue's failed registry back onto the queue.
pub async fn requeue<C: ConnectionLike>(conn: &mut C, id: &str) -> TaskResult<Done> {
    check_job_id(id)?;
    let (origin, status) = origin_and_status(conn, id).await?;
    if origin.is_empty() {
        return Err(TaskError::Refused(format!(
            "Job {id} has no origin queue to go back to"
        )));
    }
    let outcome = registry::requeue_failed(conn, &[(origin.clone(), id.to_string())]).await?;
    match outcome.first() {
        Some(Requeued::Yes) => Ok(Done {
            message: format!("Job {id} has been re-enqueued."),
            queue: origin,
            status_before: status,
        }),
        Some(Requeued::Gone) => Err(TaskError::NotFound(id.to_string())),
        _ => Err(TaskError::Refused(format!(
            "Job {id} is not in the failed job registry of queue {origin} (its status is {status:?}); only failed jobs can be requeued"
        ))),
    }
}

/// Moves every failed job of a queue back onto it, in atomic batches; entries whose failure TTL
/// has passed are dropped first, as `rq requeue --all` does. Returns how many were requeued.
pub async fn requeue_all_failed<C: ConnectionLike>(conn: &mut C, queue: &str) -> TaskResult<Done> {
    check_queue(queue)?;
    requeue::drop_expired(conn, queue).await?;
    let moved = requeue::requeue_queue(conn, queue, &mut |_| {}).await?;
    let noun = if moved == 1 { "job" } else { "jobs" };
    Ok(Done {
        message: format!("Requeued {moved} {noun}"),
        queue: queue.to_string(),
        status_before: JobStatus::Failed.to_string(),
    })
}

/// Deletes a job everywhere RQ keeps it: queue, registries, hash, results, dependencies.
pub async fn delete<C: ConnectionLike>(conn: &mut C, id: &str) -> TaskResult<Done> {
    check_job_id(id)?;
    let reply: Vec<Vec<u8>> = scripts::DELETE
        .prepare_invoke()
        .arg(id)
        .arg(timestamp::now())
        .invoke_async(conn)
        .await?;
    let mut reply = reply
        .into_iter()
        .map(|b| lossy(Some(b)).unwrap_or_default());
    let (Some(status), Some(origin)) = (reply.next(), reply.next()) else {
        return Err(TaskError::NotFound(id.to_string()));
    };
    Ok(Done {
        message: format!("Job {id} has been deleted."),
        queue: origin,
        status_before: status,
    })
}

/// Asks the worker running a job to stop it (`stop-job` on `rq:pubsub:<worker>`, as RQ's
/// `send_stop_job_command` does); the worker records it as stopped.
pub async fn stop<C: ConnectionLike>(conn: &mut C, id: &str) -> TaskResult<Done> {
    check_job_id(id)?;
    let [worker, status, origin] = fields(conn, id, ["worker_name", "status", "origin"]).await?;
    let status = status.unwrap_or_default();
    if JobStatus::parse(&status) != Some(JobStatus::Started) {
        return Err(TaskError::Refused(format!(
            "Job {id} is not running (its status is {status:?}); only started jobs can be stopped"
        )));
    }
    let Some(worker) = worker.filter(|w| !w.is_empty()) else {
        return Err(TaskError::Refused(format!(
            "Job {id} names no worker to stop it"
        )));
    };
    let command = serde_json::json!({"command": "stop-job", "job_id": id}).to_string();
    let listeners: u64 = redis::cmd("PUBLISH")
        .arg(keys::pubsub(&worker))
        .arg(command)
        .query_async(conn)
        .await?;
    if listeners == 0 {
        return Err(TaskError::Refused(format!(
            "Job {id}: worker {worker} is not listening for commands (has it died?); the job will be recovered as abandoned"
        )));
    }
    Ok(Done {
        message: format!("Job {id} has been sent a stop command; worker {worker} is stopping it."),
        queue: origin.unwrap_or_default(),
        status_before: status,
    })
}

/// Puts a job that has ended (finished, failed, stopped, canceled) back at the end of its queue,
/// e.g. to send a webhook again.
pub async fn enqueue_again<C: ConnectionLike>(conn: &mut C, id: &str) -> TaskResult<Done> {
    check_job_id(id)?;
    let (code, origin, status): (i64, Vec<u8>, Vec<u8>) = scripts::ENQUEUE_AGAIN
        .prepare_invoke()
        .arg(id)
        .arg(timestamp::now())
        .invoke_async(conn)
        .await?;
    let (origin, status) = (
        lossy(Some(origin)).unwrap_or_default(),
        lossy(Some(status)).unwrap_or_default(),
    );
    match code {
        1 => Ok(Done {
            message: format!("Job {id} has been enqueued."),
            queue: origin,
            status_before: status,
        }),
        0 => Err(TaskError::Refused(format!(
            "Job {id} has not ended (its status is {status:?}); only finished, failed, stopped or canceled jobs can be enqueued again"
        ))),
        -2 => Err(TaskError::Refused(format!(
            "Job {id} has no origin queue to go back to"
        ))),
        _ => Err(TaskError::NotFound(id.to_string())),
    }
}
