//! Taking a batch of jobs: queues (in priority order) to the started registry, atomically.

use std::collections::HashMap;

use redis::Value;

use crate::redis_conn::RedisConn;

use crate::rq::{job::Job, scripts, timestamp};

/// The first 24 hex digits of every execution id this process makes; random per process.
static EXECUTION_PREFIX: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| uuid::Uuid::new_v4().simple().to_string()[..24].to_string());
/// The counter that makes each execution id unique within the process.
static NEXT_EXECUTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The job hash fields a worker reads to run a job and record its outcome: the dequeue
/// script returns only these, since parsing whole hashes was a tenth of the worker's CPU.
pub const WORKER_FIELDS: [&str; 11] = [
    "status",
    "data",
    "timeout",
    "result_ttl",
    "failure_ttl",
    "retries_left",
    "retry_intervals",
    "enqueue_at_front_on_retry",
    "manage_attempts",
    "meta",
    "enqueued_at",
];

/// A job taken off a queue, now recorded in the started registry under `execution`.
#[derive(Debug, Clone)]
pub struct Taken {
    /// The queue it came from.
    pub queue: String,
    /// The job as it was before it was marked started.
    pub job: Job,
    /// The execution id in `rq:wip:<queue>` (`<id>:<execution>`).
    pub execution: String,
}

/// What a fetch found.
#[derive(Debug)]
pub enum Fetched {
    /// `rq:suspended` is set: take nothing.
    Suspended,
    /// Zero or more jobs.
    Jobs(Vec<Taken>),
}

/// The most lost dequeues remembered at once.
const MAX_LOST: usize = 256;

/// The execution ids of a dequeue whose reply never came: Redis may have run it all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    /// The counter the dequeue numbered its executions after.
    pub first: u64,
    /// How many it may have taken.
    pub count: usize,
}

/// Puts back at the front of their queues the jobs that dequeues in `lost` took for worker
/// `name` while their replies were lost; returns how many went back.
pub async fn reclaim_lost(
    conn: &mut RedisConn,
    name: &str,
    queues: &[String],
    lost: &[Lost],
) -> redis::RedisResult<u64> {
    let mut invocation = scripts::RECLAIM_LOST.prepare_invoke();
    invocation
        .arg(name)
        .arg(timestamp::format(chrono::Utc::now()))
        .arg(&*EXECUTION_PREFIX)
        .arg(queues.len());
    for queue in queues {
        invocation.arg(queue);
    }
    for range in lost {
        invocation.arg(range.first).arg(range.count);
    }
    invocation.invoke_async(conn).await
}

/// Takes up to `count` jobs for worker `name` from `queues`, first non-empty queue first. When
/// the reply does not come, the dequeue it may have run is added to `lost`, for
/// [`reclaim_lost`] once Redis answers again.
pub async fn take(
    conn: &mut RedisConn,
    worker_key: &str,
    name: &str,
    queues: &[String],
    count: usize,
    heartbeat_ttl: u64,
    lost: &mut Vec<Lost>,
) -> redis::RedisResult<Fetched> {
    let now = chrono::Utc::now();
    let mut invocation = scripts::DEQUEUE.prepare_invoke();
    invocation
        .arg(worker_key)
        .arg(name)
        .arg(timestamp::format(now))
        .arg(now.timestamp())
        .arg(heartbeat_ttl)
        .arg(count)
        .arg(queues.len());
    for queue in queues {
        invocation.arg(queue);
    }
    let counter = NEXT_EXECUTION.fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
    let first = counter % (1 << 32);
    invocation.arg(&*EXECUTION_PREFIX).arg(first);
    invocation.arg(&WORKER_FIELDS[..]);
    let reply: Vec<Value> = match invocation.invoke_async(conn).await {
        Ok(reply) => reply,
        Err(error) => {
            // Bounded through a long outage: past this many, the heartbeat's lapse still
            // brings the jobs back, only later.
            if lost.len() < MAX_LOST {
                lost.push(Lost { first, count });
            }
            return Err(error);
        }
    };
    let mut items = reply.into_iter();
    match items.next() {
        Some(Value::BulkString(flag)) if flag == b"suspended" => return Ok(Fetched::Suspended),
        Some(Value::SimpleString(flag)) if flag == "suspended" => return Ok(Fetched::Suspended),
        _ => {}
    }
    let mut taken = Vec::new();
    for item in items {
        let Value::Array(parts) = item else { continue };
        if parts.len() == 3 {
            let mut parts = parts.into_iter().map(text);
            let (queue, id) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            tracing::warn!(
                "{queue}: dropped job id {:?} from the queue: it has no job hash (rq:job:<id> does not exist)",
                shortened(&id)
            );
            continue;
        }
        let mut parts = parts.into_iter();
        let (Some(queue), Some(id), Some(execution), Some(Value::Array(values))) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let fields: HashMap<String, Vec<u8>> = WORKER_FIELDS
            .iter()
            .zip(values)
            .filter(|(_, value)| !matches!(value, Value::Nil))
            .map(|(field, value)| (field.to_string(), bytes(value)))
            .collect();
        taken.push(Taken {
            queue: text(queue),
            job: Job::from_fields(text(id), fields),
            execution: text(execution),
        });
    }
    Ok(Fetched::Jobs(taken))
}

/// An id short enough for a log line (ids are arbitrary bytes, of any length).
fn shortened(id: &str) -> String {
    const MAX: usize = 100;
    match id.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} bytes)", &id[..cut], id.len()),
        None => id.to_string(),
    }
}

fn bytes(value: Value) -> Vec<u8> {
    match value {
        Value::BulkString(b) => b,
        Value::SimpleString(s) => s.into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        _ => Vec::new(),
    }
}

fn text(value: Value) -> String {
    String::from_utf8_lossy(&bytes(value)).into_owned()
}
