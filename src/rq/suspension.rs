//! RQ's suspension flag, `rq:suspended`: while it exists no worker (ours or Python's) takes a
//! job; running jobs finish.

use redis::aio::ConnectionLike;

use super::keys;

/// Suspends every worker, until [`resume`] or, with `seconds`, until it expires by itself.
pub async fn suspend<C: ConnectionLike>(
    conn: &mut C,
    seconds: Option<u64>,
) -> redis::RedisResult<()> {
    let mut command = redis::cmd("SET");
    command.arg(keys::SUSPENDED).arg(1);
    if let Some(seconds) = seconds {
        command.arg("EX").arg(seconds);
    }
    command.query_async(conn).await
}

/// Lets workers take jobs again.
pub async fn resume<C: ConnectionLike>(conn: &mut C) -> redis::RedisResult<()> {
    redis::cmd("DEL")
        .arg(keys::SUSPENDED)
        .query_async(conn)
        .await
}
