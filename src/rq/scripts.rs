//! The Lua scripts that make each state change of a job one atomic round trip. Each script's
//! header comment documents its arguments; `redis::Script` loads it once and calls it by SHA.
//! Key names come from [`keys::lua_prelude`]: a script writes `K.queue(q)`, never `'rq:queue:'`.

use std::sync::LazyLock;

use redis::Script;

use super::keys;

/// A script's whole text: the key names of [`keys::lua_prelude`] and the shared functions of
/// `lua/lib.lua` in front of its body.
fn source(body: &str) -> String {
    format!(
        "{}{}{body}",
        keys::lua_prelude(),
        include_str!("lua/lib.lua")
    )
}

fn script(body: &str) -> Script {
    Script::new(&source(body))
}

/// A batch of new jobs pushed, chained ones deferred behind their chain's last job. Its text,
/// not a `Script`: it runs with `EVAL` inside the batch's MULTI, after the jobs' HSETs, where
/// `EVALSHA`'s retry on NOSCRIPT cannot happen (Redis caches it by its hash all the same).
pub static ENQUEUE: LazyLock<String> = LazyLock::new(|| source(include_str!("lua/enqueue.lua")));
/// Queue → started registry, for a batch of jobs, in priority order.
pub static DEQUEUE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/dequeue.lua")));
/// A batch of outcomes: finished, failed, stopped, retried, requeued.
pub static COMPLETE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/complete.lua")));
/// Jobs a dequeue took while its reply was lost, back to the front of their queues.
pub static RECLAIM_LOST: LazyLock<Script> =
    LazyLock::new(|| script(include_str!("lua/reclaim_lost.lua")));
/// Worker TTL and started-registry scores.
pub static HEARTBEAT: LazyLock<Script> =
    LazyLock::new(|| script(include_str!("lua/heartbeat.lua")));
/// Failed registry → queue.
pub static REQUEUE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/requeue.lua")));
/// Registry maintenance and abandoned jobs.
pub static CLEANUP: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/cleanup.lua")));
/// Scheduled registry → queue.
pub static SCHEDULE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/schedule.lua")));
/// A stopping worker's scheduler locks, released.
pub static RELEASE_LOCKS: LazyLock<Script> =
    LazyLock::new(|| script(include_str!("lua/release_locks.lua")));
/// A queue emptied, a slice at a time (`rq empty`).
pub static EMPTY: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/empty.lua")));
/// Ended jobs removed from their registry for good.
pub static PURGE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/purge.lua")));
/// A job, everywhere it is kept (NetBox's delete).
pub static DELETE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/delete.lua")));
/// An ended job back onto its queue (NetBox's enqueue, to re-send a webhook).
pub static ENQUEUE_AGAIN: LazyLock<Script> =
    LazyLock::new(|| script(include_str!("lua/enqueue_again.lua")));
