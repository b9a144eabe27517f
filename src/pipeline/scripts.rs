//! The pipeline's Lua scripts, each one atomic step across all workers. They name RQ's keys
//! through [`rq::keys::lua_prelude`](crate::rq::keys::lua_prelude) and get their own (a
//! webhook's key prefix) as arguments.

use std::sync::LazyLock;

use redis::Script;

use crate::rq::keys;

fn script(body: &str) -> Script {
    Script::new(&format!(
        "{}{}{body}",
        keys::lua_prelude(),
        include_str!("lua/limits_lib.lua")
    ))
}

/// May a delivery start now (circuit, slots, rate)?
pub static GATE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/gate.lua")));
/// An attempt ended: free its slot, move the circuit, let waiting deliveries go.
pub static DONE: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/done.lua")));
/// An operator's reset: the circuit closed, the jobs waiting on it back on their queues.
pub static RESET: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/reset.lua")));
/// The periodic pass: expired leases, lost probes, due jobs.
pub static SWEEP: LazyLock<Script> = LazyLock::new(|| script(include_str!("lua/sweep.lua")));
