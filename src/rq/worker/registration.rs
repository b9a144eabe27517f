//! The worker hash `rq:worker:<name>` and the sets `rq:workers`, `rq:workers:<queue>`: what
//! `rq info` and the background-tasks view show about a running worker.

use crate::redis_conn::RedisConn;

use crate::rq::{keys, timestamp};

/// Who this worker is, as written at birth.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The worker name (`--name`, else a uuid4 hex, as RQ does).
    pub name: String,
    /// Queues served, in priority order.
    pub queues: Vec<String>,
    /// This machine's host name.
    pub hostname: String,
    /// This process id.
    pub pid: u32,
}

impl Identity {
    /// The worker hash key.
    pub fn key(&self) -> String {
        keys::worker(&self.name)
    }
}

/// A worker's `state` field, as RQ writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// Registered, not yet ready.
    Started,
    /// Waiting for jobs.
    Idle,
    /// Running jobs.
    Busy,
    /// Waiting while `rq:suspended` is set.
    Suspended,
    /// Exited.
    Dead,
}

impl WorkerState {
    /// Every state, for parsing.
    pub const ALL: [WorkerState; 5] = [
        Self::Started,
        Self::Idle,
        Self::Busy,
        Self::Suspended,
        Self::Dead,
    ];

    /// The string RQ stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Idle => "idle",
            Self::Busy => "busy",
            Self::Suspended => "suspended",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored state; `None` for one RQ does not write.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What is already registered under our name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    /// Nothing, or a worker that exited cleanly.
    None,
    /// A worker with this name on this host whose process is gone: it crashed, and its jobs
    /// can be reclaimed at once.
    Crashed,
    /// A live worker has this name.
    Alive {
        /// Its host.
        hostname: String,
        /// Its process id.
        pid: String,
    },
}

/// Looks at the registration under our name before taking it.
pub async fn previous(conn: &mut RedisConn, me: &Identity) -> redis::RedisResult<Previous> {
    let (death, hostname, pid): (Option<String>, Option<String>, Option<String>) =
        redis::cmd("HMGET")
            .arg(me.key())
            .arg("death")
            .arg("hostname")
            .arg("pid")
            .query_async(conn)
            .await?;
    if death.is_some() || (hostname.is_none() && pid.is_none()) {
        return Ok(if hostname.is_some() && death.is_some() {
            Previous::Crashed
        } else {
            Previous::None
        });
    }
    let (hostname, pid) = (hostname.unwrap_or_default(), pid.unwrap_or_default());
    let dead_here = hostname == me.hostname
        && pid
            .parse::<i32>()
            .map(|p| !process_alive(p) || p as u32 == me.pid)
            .unwrap_or(true);
    Ok(if dead_here {
        Previous::Crashed
    } else {
        Previous::Alive { hostname, pid }
    })
}

fn process_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Registers the worker (RQ's birth): hash, sets, TTL, in one transaction.
pub async fn register(conn: &mut RedisConn, me: &Identity, ttl: u64) -> redis::RedisResult<()> {
    let now = timestamp::now();
    let address: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query_async::<String>(conn)
        .await
        .ok()
        .and_then(|info| {
            info.split_whitespace()
                .find_map(|part| part.strip_prefix("addr=").map(str::to_string))
        })
        .unwrap_or_default();
    let key = me.key();
    let mut pipe = redis::pipe();
    pipe.atomic()
        .del(&key)
        .hset_multiple(
            &key,
            &[
                ("birth", now.as_str()),
                ("last_heartbeat", now.as_str()),
                ("queues", &me.queues.join(",")),
                ("pid", &me.pid.to_string()),
                ("hostname", &me.hostname),
                ("ip_address", &address),
                ("version", concat!("manage-", env!("CARGO_PKG_VERSION"))),
                (
                    "python_version",
                    concat!("rust (manage ", env!("CARGO_PKG_VERSION"), ")"),
                ),
                ("state", WorkerState::Started.as_str()),
                ("successful_job_count", "0"),
                ("failed_job_count", "0"),
                ("total_working_time", "0"),
            ],
        )
        .sadd(keys::WORKERS, &key)
        .expire(&key, ttl as i64);
    for queue in &me.queues {
        pipe.sadd(keys::queue_workers(queue), &key);
    }
    pipe.query_async::<()>(conn).await
}

/// Sets the worker's state field (`idle`, `busy`, `suspended`).
pub async fn set_state(
    conn: &mut RedisConn,
    me: &Identity,
    state: WorkerState,
) -> redis::RedisResult<()> {
    redis::cmd("HSET")
        .arg(me.key())
        .arg("state")
        .arg(state.as_str())
        .query_async(conn)
        .await
}

/// Deregisters the worker (RQ's death): leaves the sets, records `death`, expires in 60 s.
pub async fn deregister(conn: &mut RedisConn, me: &Identity) -> redis::RedisResult<()> {
    let key = me.key();
    let mut pipe = redis::pipe();
    pipe.atomic().srem(keys::WORKERS, &key);
    for queue in &me.queues {
        pipe.srem(keys::queue_workers(queue), &key);
    }
    pipe.hset(&key, "death", timestamp::now())
        .hdel(&key, "current_job")
        .hset(&key, "state", WorkerState::Dead.as_str())
        .expire(&key, 60);
    pipe.query_async::<()>(conn).await
}
