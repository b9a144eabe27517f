//! Opening Redis clients from `[redis] url`, directly or through Sentinel.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind, Value,
};

use crate::redis_url::RedisTarget;

/// A client for the configured server. For Sentinel, the sentinels are asked for the current
/// master each time, so calling this again after a failover finds the new one.
pub async fn client_for(url: &str, timeout: Duration) -> anyhow::Result<redis::Client> {
    match RedisTarget::parse(url).map_err(anyhow::Error::msg)? {
        RedisTarget::Direct(url) => Ok(redis::Client::open(url)?),
        RedisTarget::Sentinel {
            sentinels,
            master,
            db,
            password,
        } => {
            let master_addr = ask_sentinels(&sentinels, &master, timeout).await?;
            let auth = password
                .map(|p| {
                    format!(
                        ":{}@",
                        url::form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                    )
                })
                .unwrap_or_default();
            Ok(redis::Client::open(format!(
                "redis://{auth}{master_addr}/{db}"
            ))?)
        }
    }
}

/// A Redis URL with its password hidden, for messages; unparsable ones are masked as text.
pub fn display(url: &str) -> String {
    RedisTarget::parse(url)
        .map(|target| target.to_string())
        .unwrap_or_else(|_| crate::redis_url::mask_password(url))
}

/// Asks each sentinel in turn for the master's address (`SENTINEL get-master-addr-by-name`).
async fn ask_sentinels(
    sentinels: &[String],
    master: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let mut last_error = None;
    for sentinel in sentinels {
        let attempt = async {
            let client = redis::Client::open(format!("redis://{sentinel}"))?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(master)
                .query_async(&mut conn)
                .await?;
            anyhow::Ok(addr)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(Some((host, port)))) => return Ok(format!("{host}:{port}")),
            Ok(Ok(None)) => {
                last_error = Some(anyhow::anyhow!(
                    "sentinel {sentinel} does not know master {master:?}"
                ))
            }
            Ok(Err(e)) => last_error = Some(e.context(format!("sentinel {sentinel}"))),
            Err(_) => {
                last_error = Some(anyhow::anyhow!(
                    "sentinel {sentinel} did not answer in {timeout:?}"
                ))
            }
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no sentinel given")))
}

/// The shared Redis connection every command and the worker use: a multiplexed
/// [`ConnectionManager`] that reconnects by itself after an outage. Behind a Sentinel URL it
/// also follows failovers: when the server it talks to turns read-only (a demoted master) or
/// drops the connection, it asks the sentinels for the current master and, if that moved,
/// swaps in a connection to the new one. Cloning is cheap; clones share the swap.
#[derive(Clone)]
pub struct RedisConn {
    current: Arc<RwLock<Current>>,
    follow: Option<Arc<Follow>>,
    target: Arc<Target>,
}

/// The configured address, for dedicated clients and for messages.
struct Target {
    url: String,
    timeout: Duration,
    display: String,
}

/// The connection in use and how many times it was swapped (so concurrent failures swap once).
#[derive(Clone)]
struct Current {
    conn: ConnectionManager,
    generation: u64,
}

/// What is needed to find and reach a new master after a failover.
struct Follow {
    url: String,
    timeout: Duration,
    /// The longest wait for one reply (see [`RedisConn::connect`]).
    reply_timeout: Duration,
    master: std::sync::Mutex<String>,
    /// Held while asking the sentinels; holds when they were last asked.
    asking: tokio::sync::Mutex<Option<Instant>>,
}

/// The least time between two rounds of asking the sentinels, so a flood of errors on many
/// in-flight commands turns into one question.
const RESOLVE_EVERY: Duration = Duration::from_millis(500);

impl RedisConn {
    /// Connects to the configured server (for Sentinel, the master the sentinels name now).
    /// `timeout` bounds connecting, and `reply_timeout` (at least `timeout`) every reply on the
    /// shared connection, so a hung server cannot hang a command. Nothing sent on it blocks on
    /// the server side (blocking pops and pub/sub use their own connections), so a reply that
    /// late means a hung server; failing lets the caller log it and retry.
    pub async fn connect(
        url: &str,
        timeout: Duration,
        reply_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let sentinel = matches!(
            RedisTarget::parse(url).map_err(anyhow::Error::msg)?,
            RedisTarget::Sentinel { .. }
        );
        let client = client_for(url, timeout).await?;
        let master = client.get_connection_info().addr().to_string();
        let reply_timeout = reply_timeout.max(timeout);
        let conn = manager(client, timeout, reply_timeout).await?;
        let target = Arc::new(Target {
            url: url.to_string(),
            timeout,
            display: display(url),
        });
        Ok(Self {
            target,
            current: Arc::new(RwLock::new(Current {
                conn,
                generation: 0,
            })),
            follow: sentinel.then(|| {
                Arc::new(Follow {
                    url: url.to_string(),
                    timeout,
                    reply_timeout,
                    master: std::sync::Mutex::new(master),
                    asking: tokio::sync::Mutex::new(None),
                })
            }),
        })
    }

    /// The configured address with any password hidden, for log lines and errors.
    pub fn display(&self) -> &str {
        &self.target.display
    }

    /// A client of its own for what cannot share the multiplexed connection (blocking
    /// commands, pub/sub); behind Sentinel it goes to the master the sentinels name now.
    pub async fn dedicated_client(&self) -> anyhow::Result<redis::Client> {
        client_for(&self.target.url, self.target.timeout).await
    }

    /// The server's `redis_version`, or `unknown` when `INFO` does not say.
    pub async fn server_version(&mut self) -> RedisResult<String> {
        let info: String = redis::cmd("INFO").arg("server").query_async(self).await?;
        Ok(info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("unknown")
            .trim()
            .to_string())
    }

    fn current(&self) -> Current {
        self.current.read().expect("redis connection lock").clone()
    }

    /// After an error that may mean a failover: asks the sentinels where the master is and
    /// swaps connections if it moved. True when the connection now in use is newer than the
    /// one that failed.
    async fn follow_master(&self, follow: &Follow, failed: u64) -> bool {
        let mut asked = follow.asking.lock().await;
        if self.current().generation != failed {
            return true;
        }
        if asked.is_some_and(|at| at.elapsed() < RESOLVE_EVERY) {
            return false;
        }
        *asked = Some(Instant::now());
        let client = match client_for(&follow.url, follow.timeout).await {
            Ok(client) => client,
            Err(error) => {
                tracing::warn!("cannot ask the sentinels for the current master: {error:#}");
                return false;
            }
        };
        let address = client.get_connection_info().addr().to_string();
        if *follow.master.lock().expect("master lock") == address {
            return false;
        }
        match manager(client, follow.timeout, follow.reply_timeout).await {
            Ok(conn) => {
                tracing::warn!("Redis master moved to {address} (failover); using it from now on");
                *follow.master.lock().expect("master lock") = address;
                let mut current = self.current.write().expect("redis connection lock");
                current.conn = conn;
                current.generation += 1;
                true
            }
            Err(error) => {
                tracing::warn!("cannot connect to the new Redis master {address}: {error}");
                false
            }
        }
    }

    /// Runs one request, following a failover when the error says the master moved. A
    /// command refused with READONLY did nothing, so it is sent again to the new master;
    /// any other failure is returned for the caller to retry as it sees fit.
    async fn request<'a, T, F>(&'a self, send: F) -> RedisResult<T>
    where
        F: Fn(ConnectionManager) -> RedisFuture<'a, T>,
    {
        let Current { conn, generation } = self.current();
        let result = send(conn).await;
        let (Some(follow), Err(error)) = (&self.follow, &result) else {
            return result;
        };
        let read_only = is_read_only(error);
        if !(read_only || error.is_io_error() || error.is_connection_dropped()) {
            return result;
        }
        if self.follow_master(follow, generation).await && read_only {
            return send(self.current().conn).await;
        }
        result
    }
}

/// Whether the server refused a write because it is a replica (also inside a script or
/// transaction, where the code is wrapped in another error).
fn is_read_only(error: &RedisError) -> bool {
    error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
        || error.to_string().contains("READONLY")
}

async fn manager(
    client: redis::Client,
    timeout: Duration,
    reply_timeout: Duration,
) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(reply_timeout))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2));
    ConnectionManager::new_with_config(client, config).await
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let this: &'a RedisConn = self;
        Box::pin(
            this.request(move |mut conn| {
                Box::pin(async move { conn.req_packed_command(cmd).await })
            }),
        )
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let this: &'a RedisConn = self;
        Box::pin(this.request(move |mut conn| {
            Box::pin(async move { conn.req_packed_commands(pipeline, offset, count).await })
        }))
    }

    fn get_db(&self) -> i64 {
        self.current().conn.get_db()
    }
}
