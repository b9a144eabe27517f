//! Nothing left behind: a service runs for months, so every key a job brings into Redis must go
//! when its job goes. Each test walks one path a job can take (a chain, a retry, a breaker's hold
//! and reset, a requeue, a delete, `rqclean`, `rqempty`, enqueue-again, a killed worker's
//! recovery) with `result_ttl` and `failure_ttl` of one second, waits past them, lets a worker
//! run its registry maintenance, and asserts that only the keys listed in [`LONG_LIVED`] remain,
//! and that no registry names a job that is gone. Where Python RQ 2.12 has the same step, the
//! keys it leaves are the oracle: ours may not leave a kind of key it does not.

mod support;

use std::{
    collections::BTreeSet,
    path::Path,
    time::{Duration, Instant},
};

use redis::Commands;
use support::{
    background_tasks_url,
    endpoint::Endpoint,
    hooks::{enqueue_site_events, hook, manage_in, project},
    http, python_run, stderr, wait_until, RedisServer, Running,
};

/// The keys an installation keeps however long it runs, each bounded by something an operator
/// configures (queues, webhooks, workers alive) rather than by the jobs that went through.
/// Prefixes end in `:`; anything else must match exactly.
const LONG_LIVED: &[&str] = &[
    // The set of queue keys, and of live workers (RQ keeps both).
    "rq:queues",
    "rq:workers",
    // Queue lists exist only while jobs wait; registries only while they hold members.
    "rq:queue:",
    "rq:wip:",
    "rq:finished:",
    "rq:failed:",
    "rq:deferred:",
    "rq:scheduled:",
    "rq:canceled:",
    // A webhook's state (last status, failures in a row, circuit) and its waiting sets.
    "manage:webhook:",
    // A webhook's delivery log, capped by [history] max_per_webhook and days.
    "manage:deliveries:",
    // A webhook's hourly counts (they expire after the history's days).
    "manage:stats:",
];

/// The registries, whose members must name jobs that still exist once maintenance has run.
const REGISTRIES: &[&str] = &[
    "rq:wip:",
    "rq:finished:",
    "rq:failed:",
    "rq:deferred:",
    "rq:scheduled:",
    "rq:canceled:",
];

/// A job's keys live one second past its end.
const SHORT_TTLS: &str = "[worker]\nresult_ttl = 1\nfailure_ttl = 1\n";

/// A rule sending every change of a site to webhook `h`.
const RULE: &str = "[[event_rules]]\nname = \"sites\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\", \"updated\", \"deleted\"]\nwebhook = \"h\"\n";

fn long_lived(key: &str) -> bool {
    LONG_LIVED.iter().any(|kept| {
        if kept.ends_with(':') {
            key.starts_with(kept)
        } else {
            key == *kept
        }
    })
}

fn all_keys(redis: &RedisServer) -> Vec<String> {
    let mut conn = redis.conn();
    let mut keys: Vec<String> = conn
        .scan::<String>()
        .unwrap()
        .map(|key| key.unwrap())
        .collect();
    keys.sort();
    keys
}

/// What is left that should not be: keys outside [`LONG_LIVED`], `manage:stats:` without a TTL,
/// and registry members whose job hash is gone.
fn strays(redis: &RedisServer) -> Vec<String> {
    let mut conn = redis.conn();
    let mut found = Vec::new();
    for key in all_keys(redis) {
        if !long_lived(&key) {
            let ttl: i64 = conn.ttl(&key).unwrap();
            // A stopped worker's hash stays for a minute, as RQ's register_death leaves it.
            if !(key.starts_with("rq:worker:") && (0..=60).contains(&ttl)) {
                found.push(format!("{key} (ttl {ttl})"));
            }
            continue;
        }
        if key.starts_with("manage:stats:") && conn.ttl::<_, i64>(&key).unwrap() < 0 {
            found.push(format!("{key} (no TTL)"));
        }
        if REGISTRIES.iter().any(|r| key.starts_with(r)) {
            for member in conn.zrange::<_, Vec<String>>(&key, 0, -1).unwrap() {
                let id = member.split(':').next().unwrap_or_default();
                if !conn.exists::<_, bool>(format!("rq:job:{id}")).unwrap() {
                    found.push(format!("{key} names {member}, which is gone"));
                }
            }
        }
    }
    found
}

/// Waits past the jobs' TTLs and lets a worker's start-up maintenance clean the registries, as a
/// long-running worker does every few minutes; then nothing but [`LONG_LIVED`] may remain.
fn assert_nothing_left(redis: &RedisServer, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = manage_in(dir, &["rqworker", "--burst"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let left = strays(redis);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind after every TTL had passed:\n{}",
            left.join("\n")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The kinds of keys present, with ids and names replaced: what two runs can be compared by.
fn shapes(keys: &[String], ids: &[String]) -> BTreeSet<String> {
    keys.iter()
        .map(|key| {
            let mut shape = key.clone();
            for id in ids {
                shape = shape.replace(id.as_str(), "<id>");
            }
            shape
        })
        .collect()
}

/// A project whose webhook `h` (with `hook_extra` TOML) gets every site change, its rule with
/// `rule_extra`, and the jobs' TTLs given by `ttls` TOML.
fn project_with(
    redis: &RedisServer,
    endpoint: &Endpoint,
    ttls: &str,
    hook_extra: &str,
    rule_extra: &str,
) -> tempfile::TempDir {
    project(
        redis,
        &format!(
            "{ttls}{}{RULE}{rule_extra}",
            hook("h", &format!("{}/hook", endpoint.base()), hook_extra)
        ),
    )
}

fn project_for(
    redis: &RedisServer,
    endpoint: &Endpoint,
    hook_extra: &str,
    rule_extra: &str,
) -> tempfile::TempDir {
    project_with(redis, endpoint, SHORT_TTLS, hook_extra, rule_extra)
}

fn job_ids(redis: &RedisServer) -> Vec<String> {
    all_keys(redis)
        .into_iter()
        .filter_map(|key| {
            key.strip_prefix("rq:job:")
                .filter(|rest| !rest.contains(':'))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn an_ordered_chain_leaves_nothing_once_its_jobs_expire() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "");
    let mut events = Vec::new();
    for event in ["created", "updated", "deleted"] {
        for site in 1..=20 {
            events.push((site, event));
        }
    }
    enqueue_site_events(dir.path(), &events);
    let mut conn = redis.conn();
    assert_eq!(conn.zcard::<_, u64>("rq:deferred:default").unwrap(), 40);
    let ids = job_ids(&redis);
    let out = manage_in(dir.path(), &["rqworker", "--burst", "--concurrency", "16"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(endpoint.received(), 60);
    let ours = shapes(&all_keys(&redis), &ids);
    assert!(
        ours.contains("rq:job::<id>:dependencies"),
        "the chain's dependency sets exist while the jobs do: {ours:?}"
    );
    assert_nothing_left(&redis, dir.path());

    // Python RQ's own chain (depends_on) on another Redis: the kinds of keys it leaves once its
    // jobs have expired are all we may leave.
    assert_rq_leaves_no_less(
        &redis,
        r#"
a = q.enqueue('tasks.add', 1, 2, result_ttl=1, failure_ttl=1)
b = q.enqueue('tasks.add', 3, 4, depends_on=a, result_ttl=1, failure_ttl=1)
c = q.enqueue('tasks.add', 5, 6, depends_on=b, result_ttl=1, failure_ttl=1)
Worker([q], connection=conn).work(burst=True)
"#,
    );
}

/// Runs `steps` with Python RQ 2.12 on a Redis of its own (`conn`, queue `q`, `Worker` and the
/// `tasks` module at hand), waits past its one-second TTLs, lets a worker clean the registries,
/// and asserts that every key left on `ours` is of a kind Python RQ left too, or ours alone
/// (`manage:`): where RQ has the same step, we leave no more than it does.
fn assert_rq_leaves_no_less(ours: &RedisServer, steps: &str) {
    let theirs = RedisServer::start();
    let tasks = support::python_tasks();
    let code = format!(
        "import os, time, redis, rq\nfrom rq import Queue, Worker\nconn = redis.Redis.from_url(os.environ['REDIS_URL'])\nq = Queue('default', connection=conn)\n{steps}\ntime.sleep(2.5)\nWorker([q], connection=conn).work(burst=True)\nprint('\\n'.join(sorted(k.decode() for k in conn.keys('*'))))\n"
    );
    let printed = python_run(&theirs, &code, &[tasks.path()]);
    let rq_left: BTreeSet<String> = printed.lines().map(str::to_string).collect();
    assert!(
        !rq_left
            .iter()
            .any(|k| k.starts_with("rq:job:") || k.starts_with("rq:results:")),
        "Python RQ lets its jobs' keys expire: {rq_left:?}"
    );
    for key in all_keys(ours) {
        let kind = key.split(':').take(2).collect::<Vec<_>>().join(":");
        assert!(
            key.starts_with("manage:") || rq_left.iter().any(|k| k.starts_with(&kind)),
            "{key} is left here but Python RQ leaves nothing of its kind: {rq_left:?}"
        );
    }
}

#[test]
fn a_retried_delivery_leaves_nothing() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "retry = { max = 2 }\n");
    endpoint.answer_next(&[500, 503]);
    enqueue_site_events(
        dir.path(),
        &[(1, "created"), (1, "updated"), (2, "created")],
    );
    let out = manage_in(dir.path(), &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        endpoint.received(),
        5,
        "two failures retried, then three successes"
    );
    assert_nothing_left(&redis, dir.path());
}

#[test]
fn failed_jobs_requeued_and_delivered_leave_nothing() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "");
    endpoint.set_status(500);
    enqueue_site_events(
        dir.path(),
        &[(1, "created"), (1, "updated"), (2, "created")],
    );
    let out = manage_in(dir.path(), &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        redis.conn().zcard::<_, u64>("rq:failed:default").unwrap(),
        3
    );
    endpoint.set_status(200);
    let out = manage_in(dir.path(), &["requeue_failed", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = manage_in(dir.path(), &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(endpoint.received(), 6);
    assert_nothing_left(&redis, dir.path());
    // Python RQ's job fails, is requeued (as `rq requeue --all` does) and fails again.
    assert_rq_leaves_no_less(
        &redis,
        r#"
from rq.registry import FailedJobRegistry
q.enqueue('tasks.boom', 1, result_ttl=1, failure_ttl=1)
Worker([q], connection=conn).work(burst=True)
for job_id in FailedJobRegistry(queue=q).get_job_ids():
    FailedJobRegistry(queue=q).requeue(job_id)
Worker([q], connection=conn).work(burst=True)
"#,
    );
}

#[test]
fn jobs_that_fail_for_good_leave_nothing_once_failure_ttl_passes() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "");
    endpoint.set_status(500);
    let events: Vec<(u64, &str)> = (1..=10)
        .flat_map(|s| [(s, "created"), (s, "updated")])
        .collect();
    enqueue_site_events(dir.path(), &events);
    let out = manage_in(dir.path(), &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        redis.conn().zcard::<_, u64>("rq:failed:default").unwrap(),
        20
    );
    assert_nothing_left(&redis, dir.path());
}

#[test]
fn a_breakers_hold_and_reset_leave_nothing() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(
        &redis,
        &endpoint,
        "breaker_failures = 1\nbreaker_open = 3600\n",
        "",
    );
    endpoint.set_status(500);
    let events: Vec<(u64, &str)> = (1..=10).map(|s| (s, "created")).collect();
    enqueue_site_events(dir.path(), &events);
    let mut worker = Running::start_in(dir.path(), &["rqworker", "--concurrency", "1"]);
    let waiting = || -> u64 { redis.conn().zcard("manage:webhook:h:waiting").unwrap() };
    assert!(
        wait_until(Duration::from_secs(20), || waiting() > 0),
        "the open circuit holds the later jobs: {}",
        worker.output()
    );
    endpoint.set_status(200);
    let out = manage_in(dir.path(), &["webhooks", "--reset", "h"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // One failure opened the circuit; the nine held back are delivered after the reset.
    assert!(
        wait_until(Duration::from_secs(20), || endpoint.received() == 10
            && waiting() == 0),
        "the reset sends what waited: {}",
        worker.output()
    );
    worker.stop(libc::SIGTERM, Duration::from_secs(15));
    assert_nothing_left(&redis, dir.path());
}

#[test]
fn rqclean_and_rqempty_leave_nothing() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "");
    endpoint.set_status(500);
    enqueue_site_events(dir.path(), &[(1, "created"), (2, "created")]);
    let out = manage_in(dir.path(), &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    endpoint.set_status(200);
    enqueue_site_events(dir.path(), &[(3, "created")]);
    let out = manage_in(dir.path(), &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Queued chains, emptied before any worker runs them: the waiting ones must not be stranded.
    enqueue_site_events(
        dir.path(),
        &[(4, "created"), (4, "updated"), (5, "created")],
    );
    let out = manage_in(
        dir.path(),
        &["rqclean", "--failed-older-than", "0", "--finished"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = manage_in(dir.path(), &["rqempty", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_nothing_left(&redis, dir.path());
}

#[test]
fn deleted_and_enqueued_again_jobs_leave_nothing() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    // Finished jobs stay long enough to be acted on from the page; deleting them is what ends
    // them here.
    let dir = project_with(&redis, &endpoint, "[worker]\nresult_ttl = 600\n", "", "");
    enqueue_site_events(
        dir.path(),
        &[(1, "created"), (1, "updated"), (2, "created")],
    );
    let ids = job_ids(&redis);
    let server = Running::start_in(dir.path(), &["background_tasks", "--bind", "127.0.0.1:0"]);
    let url = background_tasks_url(&server);
    let address = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let token = url.split("token=").nth(1).unwrap().to_string();
    let bearer = format!("Bearer {token}");
    let post = |path: &str| http::call(&address, "POST", path, &[("Authorization", &bearer)], b"");
    // Deleting a chain's first job lets the next go; then deliver and enqueue one again.
    let first = ids
        .iter()
        .find(|id| {
            redis
                .conn()
                .hget::<_, _, String>(format!("rq:job:{id}"), "status")
                .unwrap()
                == "queued"
        })
        .unwrap()
        .clone();
    assert_eq!(post(&format!("/jobs/{first}/delete")).status, 200);
    let out = manage_in(dir.path(), &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(endpoint.received(), 2);
    let finished: Vec<String> = redis.conn().zrange("rq:finished:default", 0, -1).unwrap();
    for id in &finished {
        assert_eq!(post(&format!("/jobs/{id}/enqueue")).status, 200);
    }
    let out = manage_in(dir.path(), &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(endpoint.received(), 4);
    for id in &finished {
        assert_eq!(post(&format!("/jobs/{id}/delete")).status, 200);
    }
    drop(server);
    assert_nothing_left(&redis, dir.path());
}

#[test]
fn a_killed_workers_jobs_recovered_leave_nothing() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "");
    endpoint.hold();
    let events: Vec<(u64, &str)> = (1..=10)
        .flat_map(|s| [(s, "created"), (s, "updated")])
        .collect();
    enqueue_site_events(dir.path(), &events);
    let mut worker = Running::start_in(dir.path(), &["rqworker", "--name", "doomed"]);
    assert!(
        wait_until(Duration::from_secs(15), || endpoint.waiting() == 10),
        "the first delivery of every site is under way: {}",
        worker.output()
    );
    worker.kill();
    endpoint.release();
    // The same name takes back the dead run's jobs at once.
    let out = manage_in(dir.path(), &["rqworker", "--burst", "--name", "doomed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(endpoint.received() >= 20);
    assert_nothing_left(&redis, dir.path());
}
