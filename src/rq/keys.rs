//! Every Redis key RQ uses, built in one place so no other module spells one by hand. The Lua
//! scripts get theirs from [`lua_prelude`], which is made from the functions here.

use std::fmt::Write;

/// The set of all queue keys (`rq:queue:<name>` members, never bare names).
pub const QUEUES: &str = "rq:queues";
/// The set of all worker keys.
pub const WORKERS: &str = "rq:workers";
/// Present while workers are suspended (`rq suspend`).
pub const SUSPENDED: &str = "rq:suspended";

/// Prefix of queue lists.
pub const QUEUE_PREFIX: &str = "rq:queue:";
/// Prefix of job hashes.
pub const JOB_PREFIX: &str = "rq:job:";

/// `rq:queue:<name>`: the list of queued job ids.
pub fn queue(name: &str) -> String {
    format!("{QUEUE_PREFIX}{name}")
}

/// The queue name in a `rq:queues` member, if it is one.
pub fn queue_name(key: &str) -> Option<&str> {
    key.strip_prefix(QUEUE_PREFIX)
        .filter(|name| !name.is_empty() && !name.ends_with(":intermediate"))
}

/// `rq:queue:<name>:intermediate`: RQ's reliable-dequeue list.
pub fn intermediate(name: &str) -> String {
    format!("{QUEUE_PREFIX}{name}:intermediate")
}

/// `rq:job:<id>`: the job hash.
pub fn job(id: &str) -> String {
    format!("{JOB_PREFIX}{id}")
}

/// `rq:results:<id>`: the stream of a job's results.
pub fn results(id: &str) -> String {
    format!("rq:results:{id}")
}

/// `rq:job:<id>:dependents`.
pub fn dependents(id: &str) -> String {
    format!("rq:job:{id}:dependents")
}

/// `rq:job::<id>:dependencies`: the ids a job waits on. The double colon is RQ's own spelling.
pub fn dependencies(id: &str) -> String {
    format!("rq:job::{id}:dependencies")
}

/// `rq:execution:<id>:<execution>`: RQ 2.x's per-execution hash (we do not write it; we
/// delete what Python workers left).
pub fn execution(id: &str, execution: &str) -> String {
    format!("rq:execution:{id}:{execution}")
}

/// `rq:executions:<id>`: RQ 2.x's set of a job's executions.
pub fn executions(id: &str) -> String {
    format!("rq:executions:{id}")
}

/// The registries a queue has, each a sorted set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Registry {
    /// Jobs running now: `rq:wip:<q>`, members `<id>:<execution id>`.
    Started,
    /// `rq:finished:<q>`.
    Finished,
    /// `rq:failed:<q>`.
    Failed,
    /// `rq:scheduled:<q>`: score is when the job is due.
    Scheduled,
    /// `rq:deferred:<q>`: waiting on dependencies.
    Deferred,
    /// `rq:canceled:<q>`.
    Canceled,
}

impl Registry {
    /// Every registry, in the order status views list them.
    pub const ALL: [Registry; 6] = [
        Self::Started,
        Self::Deferred,
        Self::Finished,
        Self::Failed,
        Self::Scheduled,
        Self::Canceled,
    ];

    /// The registry's key for a queue.
    pub fn key(self, queue: &str) -> String {
        let prefix = match self {
            Self::Started => "rq:wip:",
            Self::Finished => "rq:finished:",
            Self::Failed => "rq:failed:",
            Self::Scheduled => "rq:scheduled:",
            Self::Deferred => "rq:deferred:",
            Self::Canceled => "rq:canceled:",
        };
        format!("{prefix}{queue}")
    }

    /// The job status that goes with this registry.
    pub fn status(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Scheduled => "scheduled",
            Self::Deferred => "deferred",
            Self::Canceled => "canceled",
        }
    }
}

/// Prefix of worker hashes.
pub const WORKER_PREFIX: &str = "rq:worker:";

/// `rq:worker:<name>`: the worker hash.
pub fn worker(name: &str) -> String {
    format!("{WORKER_PREFIX}{name}")
}

/// The worker name in a `rq:workers` member, if it is one.
pub fn worker_name(key: &str) -> Option<&str> {
    key.strip_prefix(WORKER_PREFIX)
        .filter(|name| !name.is_empty())
}

/// `rq:workers:<queue>`: the workers serving a queue.
pub fn queue_workers(queue: &str) -> String {
    format!("rq:workers:{queue}")
}

/// `rq:pubsub:<worker>`: where commands for a worker are published.
pub fn pubsub(worker: &str) -> String {
    format!("rq:pubsub:{worker}")
}

/// `rq:clean_registries:<queue>`: the maintenance lock.
pub fn clean_registries_lock(queue: &str) -> String {
    format!("rq:clean_registries:{queue}")
}

/// `rq:scheduler-lock:<queue>`: held by the one scheduler that moves a queue's due jobs.
pub fn scheduler_lock(queue: &str) -> String {
    format!("rq:scheduler-lock:{queue}")
}

/// `rq:scheduler:<name>`: the scheduler's registration hash.
pub fn scheduler(name: &str) -> String {
    format!("rq:scheduler:{name}")
}

/// Lua that defines a local table `K` with every key name as a constant or a function, e.g.
/// `K.queue(q)`, `K.job(id)`, `K.failed(q)`, `K.execution(id, exec)`. It is put in front of
/// every script, so the scripts name keys only through it and this module stays their one
/// owner. Each function is made by calling the Rust one with placeholders and cutting its
/// result where they landed.
pub fn lua_prelude() -> String {
    let mut lua = String::from("local K = {}\n");
    for (name, value) in [
        ("queues", QUEUES),
        ("workers", WORKERS),
        ("suspended", SUSPENDED),
    ] {
        writeln!(lua, "K.{name} = {}", lua_string(value)).expect("writing to a String");
    }
    /// A key function of one argument (a queue name, a job id, …).
    type KeyOf = fn(&str) -> String;
    let one: [(&str, KeyOf); 13] = [
        ("queue", queue),
        ("intermediate", intermediate),
        ("job", job),
        ("results", results),
        ("dependents", dependents),
        ("dependencies", dependencies),
        ("executions", executions),
        ("worker", worker),
        ("queue_workers", queue_workers),
        ("pubsub", pubsub),
        ("clean_registries_lock", clean_registries_lock),
        ("scheduler_lock", scheduler_lock),
        ("scheduler", scheduler),
    ];
    for (name, build) in one {
        lua_function(&mut lua, name, &["a"], &build("\u{1}"));
    }
    for registry in Registry::ALL {
        lua_function(&mut lua, registry.status(), &["a"], &registry.key("\u{1}"));
    }
    lua_function(
        &mut lua,
        "execution",
        &["a", "b"],
        &execution("\u{1}", "\u{2}"),
    );
    lua
}

/// `function K.<name>(a, b) return '<prefix>' .. a .. '<middle>' .. b end`, from a key built
/// with the placeholders `\u{1}`, `\u{2}` where the arguments go.
fn lua_function(lua: &mut String, name: &str, args: &[&str], template: &str) {
    let mut parts = Vec::new();
    let mut rest = template;
    for (index, arg) in args.iter().enumerate() {
        let placeholder = char::from(index as u8 + 1);
        let (before, after) = rest
            .split_once(placeholder)
            .expect("every argument appears in the key");
        if !before.is_empty() {
            parts.push(lua_string(before));
        }
        parts.push(arg.to_string());
        rest = after;
    }
    if !rest.is_empty() {
        parts.push(lua_string(rest));
    }
    writeln!(
        lua,
        "function K.{name}({}) return {} end",
        args.join(", "),
        parts.join(" .. ")
    )
    .expect("writing to a String");
}

/// A Lua string literal; key names hold no quote or backslash.
fn lua_string(text: &str) -> String {
    debug_assert!(!text.contains(['\'', '\\']));
    format!("'{text}'")
}

/// Whether a job id is one RQ accepts (`[A-Za-z0-9_-]+`), so ids with `:` or spaces never reach a key.
pub fn valid_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether a queue name is safe in a key (no `:` or whitespace).
pub fn valid_queue_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_match_rq() {
        assert_eq!(queue("default"), "rq:queue:default");
        assert_eq!(intermediate("default"), "rq:queue:default:intermediate");
        assert_eq!(Registry::Started.key("q"), "rq:wip:q");
        assert_eq!(Registry::Failed.key("q"), "rq:failed:q");
        assert_eq!(worker("w1"), "rq:worker:w1");
        assert_eq!(worker_name("rq:worker:w1"), Some("w1"));
        assert_eq!(dependencies("j"), "rq:job::j:dependencies");
        assert_eq!(queue_name("rq:queue:high"), Some("high"));
        assert_eq!(queue_name("high"), None);
        assert_eq!(queue_name("rq:queue:high:intermediate"), None);
    }

    #[test]
    fn the_lua_prelude_builds_the_same_names() {
        let prelude = lua_prelude();
        assert!(prelude.contains("K.queues = 'rq:queues'"), "{prelude}");
        assert!(prelude.contains("function K.queue(a) return 'rq:queue:' .. a end"));
        assert!(prelude.contains("function K.started(a) return 'rq:wip:' .. a end"));
        assert!(
            prelude.contains(
                "function K.dependencies(a) return 'rq:job::' .. a .. ':dependencies' end"
            ),
            "{prelude}"
        );
        assert!(prelude
            .contains("function K.execution(a, b) return 'rq:execution:' .. a .. ':' .. b end"));
    }

    #[test]
    fn no_script_spells_a_key() {
        let scripts = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/rq/lua"))
            .expect("the scripts folder");
        for entry in scripts {
            let path = entry.expect("a script").path();
            let text = std::fs::read_to_string(&path).expect("a readable script");
            for (number, line) in text.lines().enumerate() {
                let code = line.split("--").next().unwrap_or_default();
                assert!(
                    !code.contains("'rq:") && !code.contains("\"rq:"),
                    "{}:{}: spells a key; use the K table of keys::lua_prelude: {line}",
                    path.display(),
                    number + 1
                );
            }
        }
    }

    #[test]
    fn job_ids_follow_rq_rules() {
        assert!(valid_job_id("a-b_C9"));
        assert!(valid_job_id("0b8a9f0e-1111-4a2b-9c3d-aaaaaaaaaaaa"));
        assert!(!valid_job_id("a:b"));
        assert!(!valid_job_id("a b"));
        assert!(!valid_job_id(""));
    }
}
