//! `manage rqworker` and `manage requeue_failed` against a real Redis: bad jobs, crashes,
//! shutdowns, priority, retries, timeouts, suspension, commands, and requeue's edges.

mod support;

use std::time::Duration;

use redis::Commands;
use support::{
    manage_on, python_run,
    rq::{enqueue, in_registry, last_reason, reasons, status, zlib},
    stderr, stdout, wait_until, ClosedPort, RedisServer, Running,
};

/// How long a worker may take to do what a test waits for.
const PATIENCE: Duration = Duration::from_secs(20);

#[test]
fn bad_jobs_fail_with_a_reason_and_the_worker_goes_on() {
    let redis = RedisServer::start();
    let mut conn = redis.conn();
    let add_raw = |conn: &mut redis::Connection, id: &str, fields: &[(&str, &[u8])]| {
        let _: () = conn.hset_multiple(format!("rq:job:{id}"), fields).unwrap();
        let _: () = conn.rpush("rq:queue:default", id).unwrap();
        let _: () = conn.sadd("rq:queues", "rq:queue:default").unwrap();
    };
    add_raw(
        &mut conn,
        "garbage",
        &[
            ("data", b"\x78\x9c not zlib at all"),
            ("origin", b"default"),
            ("status", b"queued"),
        ],
    );
    let echo = zlib(br#"["manage.echo", null, [], {}]"#);
    let truncated = &echo[..8];
    add_raw(
        &mut conn,
        "truncated",
        &[
            ("data", truncated),
            ("origin", b"default"),
            ("status", b"queued"),
        ],
    );
    add_raw(
        &mut conn,
        "bad-status",
        &[
            ("data", &echo),
            ("origin", b"default"),
            ("status", b"pending"),
        ],
    );
    add_raw(
        &mut conn,
        "bad-timeout",
        &[
            ("data", &echo),
            ("origin", b"default"),
            ("status", b"queued"),
            ("timeout", b"10m"),
        ],
    );
    python_run(&redis, "import os\nfrom redis import Redis\nfrom rq import Queue\nq = Queue('default', connection=Redis.from_url(os.environ['REDIS_URL']))\nq.enqueue('manage.echo', 1, job_id='pickled')\n", &[]);
    let unknown = enqueue(&redis, &["no.such.function"]);
    let good = enqueue(&redis, &["manage.echo", "--args", "[42]"]);

    // Told to take foreign jobs (pickled, unknown functions), it fails them as RQ does.
    let out = manage_on(
        &redis,
        &["rqworker", "--burst", "--take-foreign-jobs", "default"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let cases = [
        ("garbage", "not valid JSON"),
        ("truncated", "not valid JSON"),
        ("bad-status", "unknown job status \"pending\""),
        ("bad-timeout", "field 'timeout' is \"10m\""),
        ("pickled", "pickled"),
        (
            unknown.as_str(),
            "no job function named \"no.such.function\"",
        ),
    ];
    let ids: Vec<&str> = cases.iter().map(|(id, _)| *id).collect();
    for ((id, expected), reason) in cases.iter().zip(reasons(&redis, &ids)) {
        assert_eq!(status(&redis, id), "failed", "{id}");
        assert!(reason.contains(expected), "{id}: {reason}");
        assert!(
            in_registry(&redis, "failed", "default", id),
            "{id} in the failed registry"
        );
    }
    assert_eq!(status(&redis, &good), "finished");
    assert_eq!(
        conn.zcard::<_, u64>("rq:wip:default").unwrap(),
        0,
        "nothing left in the started registry"
    );
}

#[test]
fn high_priority_queue_drains_first() {
    let redis = RedisServer::start();
    let low: Vec<String> = (0..10)
        .map(|_| enqueue(&redis, &["manage.echo", "--queue", "low"]))
        .collect();
    let high: Vec<String> = (0..10)
        .map(|_| enqueue(&redis, &["manage.echo", "--queue", "high"]))
        .collect();
    let out = manage_on(
        &redis,
        &[
            "rqworker",
            "--burst",
            "--concurrency",
            "1",
            "high",
            "default",
            "low",
        ],
    );
    assert!(out.status.success());
    let mut conn = redis.conn();
    let time = |conn: &mut redis::Connection, id: &str, field: &str| {
        conn.hget::<_, _, String>(format!("rq:job:{id}"), field)
            .unwrap()
    };
    let last_high_start = high
        .iter()
        .map(|id| time(&mut conn, id, "started_at"))
        .max()
        .unwrap();
    let first_low_start = low
        .iter()
        .map(|id| time(&mut conn, id, "started_at"))
        .min()
        .unwrap();
    assert!(
        last_high_start < first_low_start,
        "high started {last_high_start}, low started {first_low_start}"
    );
    assert_eq!(conn.zcard::<_, u64>("rq:finished:low").unwrap(), 10);
}

#[test]
fn sigkill_with_100_jobs_in_flight_loses_none() {
    let redis = RedisServer::start();
    let ids: Vec<String> = (0..100)
        .map(|_| enqueue(&redis, &["manage.sleep", "--kwargs", r#"{"seconds": 1.5}"#]))
        .collect();
    let mut conn = redis.conn();
    let mut worker = Running::start(
        &redis,
        &[
            "rqworker",
            "--name",
            "crashy",
            "--concurrency",
            "100",
            "default",
        ],
    );
    assert!(
        wait_until(Duration::from_secs(20), || conn
            .zcard::<_, u64>("rq:wip:default")
            .unwrap()
            == 100),
        "{}",
        worker.output()
    );
    worker.kill();
    assert_eq!(
        conn.zcard::<_, u64>("rq:wip:default").unwrap(),
        100,
        "still recorded as started after the crash"
    );

    // Restarted under the same name, the worker reclaims its crashed run's jobs at once.
    let out = manage_on(
        &redis,
        &[
            "rqworker",
            "--name",
            "crashy",
            "--burst",
            "--concurrency",
            "100",
            "default",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("100 abandoned job(s) put back on the queue"),
        "{}",
        stderr(&out)
    );
    let mut counts = std::collections::HashMap::new();
    for id in &ids {
        *counts.entry(status(&redis, id)).or_insert(0) += 1;
    }
    assert_eq!(counts.get("finished"), Some(&100), "{counts:?}");
}

#[test]
fn abandoned_jobs_of_other_workers_are_recovered_when_their_heartbeat_lapses() {
    let redis = RedisServer::start();
    let mut conn = redis.conn();
    let id = enqueue(&redis, &["manage.echo"]);
    // As a dead worker elsewhere leaves it: started, in the started registry, heartbeat long past.
    let _: () = conn.lpop("rq:queue:default", None).unwrap();
    let _: () = conn
        .hset_multiple(
            format!("rq:job:{id}"),
            &[("status", "started"), ("worker_name", "gone")],
        )
        .unwrap();
    let _: () = conn
        .zadd("rq:wip:default", format!("{id}:deadbeef"), 1000)
        .unwrap();
    let out = manage_on(&redis, &["rqworker", "--burst", "default"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&redis, &id), "finished");
    assert_eq!(
        conn.hget::<_, _, String>(format!("rq:job:{id}"), "abandoned_count")
            .unwrap(),
        "1"
    );
}

#[test]
fn warm_shutdown_finishes_running_jobs_and_starts_no_new_one() {
    let redis = RedisServer::start();
    let ids: Vec<String> = (0..50)
        .map(|_| enqueue(&redis, &["manage.sleep", "--kwargs", r#"{"seconds": 2}"#]))
        .collect();
    let waiting: Vec<String> = (0..10).map(|_| enqueue(&redis, &["manage.echo"])).collect();
    let mut conn = redis.conn();
    let mut worker = Running::start(&redis, &["rqworker", "--concurrency", "50", "default"]);
    assert!(
        wait_until(Duration::from_secs(20), || conn
            .zcard::<_, u64>("rq:wip:default")
            .unwrap()
            == 50),
        "{}",
        worker.output()
    );
    worker.stop(libc::SIGTERM, PATIENCE);
    for id in &ids {
        assert_eq!(status(&redis, id), "finished");
    }
    for id in &waiting {
        assert_eq!(
            status(&redis, id),
            "queued",
            "no job starts after the signal"
        );
    }
    assert_eq!(conn.llen::<_, u64>("rq:queue:default").unwrap(), 10);
    assert!(
        worker.output().contains("Warm shut down requested"),
        "{}",
        worker.output()
    );
}

#[test]
fn second_signal_is_a_cold_shutdown_that_puts_jobs_back() {
    let redis = RedisServer::start();
    let ids: Vec<String> = (0..5)
        .map(|_| enqueue(&redis, &["manage.sleep", "--kwargs", r#"{"seconds": 60}"#]))
        .collect();
    let mut conn = redis.conn();
    let mut worker = Running::start(&redis, &["rqworker", "default"]);
    assert!(wait_until(Duration::from_secs(20), || conn
        .zcard::<_, u64>("rq:wip:default")
        .unwrap()
        == 5));
    support::signal(&worker.child, libc::SIGINT);
    assert!(
        wait_until(PATIENCE, || worker
            .output()
            .contains("Waiting for 5 running job(s)")),
        "{}",
        worker.output()
    );
    worker.stop(libc::SIGINT, PATIENCE);
    for id in &ids {
        assert_eq!(status(&redis, id), "queued");
    }
    assert_eq!(conn.llen::<_, u64>("rq:queue:default").unwrap(), 5);
    assert_eq!(conn.zcard::<_, u64>("rq:wip:default").unwrap(), 0);
}

#[test]
fn retries_follow_rq_retry_semantics() {
    let redis = RedisServer::start();
    let mut conn = redis.conn();
    let now_retry = enqueue(&redis, &["manage.fail", "--retry", "2"]);
    assert!(manage_on(&redis, &["rqworker", "--burst", "default"])
        .status
        .success());
    assert_eq!(status(&redis, &now_retry), "failed");
    assert_eq!(
        conn.hget::<_, _, String>(format!("rq:job:{now_retry}"), "retries_left")
            .unwrap(),
        "0"
    );
    // Every attempt has a result: RETRIED (4) for the two that were retried, FAILED (2) last.
    let results: Vec<(String, std::collections::HashMap<String, String>)> = redis::cmd("XRANGE")
        .arg(format!("rq:results:{now_retry}"))
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .unwrap();
    let types: Vec<&str> = results.iter().map(|(_, f)| f["type"].as_str()).collect();
    assert_eq!(types, ["4", "4", "2"]);

    let later = enqueue(
        &redis,
        &["manage.fail", "--retry", "1", "--retry-interval", "1"],
    );
    assert!(manage_on(&redis, &["rqworker", "--burst", "default"])
        .status
        .success());
    assert_eq!(status(&redis, &later), "scheduled");
    assert!(conn
        .zscore::<_, _, Option<f64>>("rq:scheduled:default", &later)
        .unwrap()
        .is_some());
    let mut worker = Running::start(
        &redis,
        &["rqworker", "--with-scheduler", "--name", "first", "default"],
    );
    assert!(
        wait_until(Duration::from_secs(10), || status(&redis, &later)
            == "failed"),
        "{}",
        worker.output()
    );
    assert_eq!(
        conn.get::<_, Option<String>>("rq:scheduler-lock:default")
            .unwrap()
            .as_deref(),
        Some("first")
    );
    worker.stop(libc::SIGTERM, PATIENCE);
    // Released on the way out, as RQ's scheduler does: the next scheduler need not wait 60 s.
    assert_eq!(
        conn.get::<_, Option<String>>("rq:scheduler-lock:default")
            .unwrap(),
        None
    );
}

#[test]
fn job_timeout_fails_the_job() {
    let redis = RedisServer::start();
    let id = enqueue(
        &redis,
        &[
            "manage.sleep",
            "--kwargs",
            r#"{"seconds": 5}"#,
            "--timeout",
            "1",
        ],
    );
    assert!(manage_on(&redis, &["rqworker", "--burst", "default"])
        .status
        .success());
    assert_eq!(status(&redis, &id), "failed");
    assert_eq!(
        last_reason(&redis, &id),
        "JobTimeoutException: Task exceeded maximum timeout value (1 seconds)"
    );
}

const SUSPENDING: &str =
    "Suspending workers. No new jobs will be started. But current jobs will be completed.\n";
const RESUMING: &str = "Resuming workers.\n";

/// Whether Python RQ sees its workers as suspended (`rq.suspension.is_suspended`).
fn rq_suspended(redis: &RedisServer) -> bool {
    let said = python_run(
        redis,
        "import os\nfrom redis import Redis\nfrom rq.suspension import is_suspended\nprint(bool(is_suspended(Redis.from_url(os.environ['REDIS_URL']))))",
        &[],
    );
    match said.trim() {
        "True" => true,
        "False" => false,
        other => panic!("python said {other:?}"),
    }
}

fn worker_state(redis: &RedisServer, name: &str) -> Option<String> {
    redis
        .conn()
        .hget(format!("rq:worker:{name}"), "state")
        .unwrap()
}

#[test]
fn suspend_and_resume_and_pubsub_commands() {
    let redis = RedisServer::start();
    let mut conn = redis.conn();
    let out = manage_on(&redis, &["rqsuspend"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), SUSPENDING);
    assert!(rq_suspended(&redis), "Python RQ sees the suspension");
    let id = enqueue(&redis, &["manage.echo"]);
    let mut worker = Running::start(&redis, &["rqworker", "--name", "ctl", "default"]);
    assert!(
        wait_until(PATIENCE, || worker_state(&redis, "ctl").as_deref()
            == Some("suspended")),
        "{}",
        worker.output()
    );
    assert_eq!(
        status(&redis, &id),
        "queued",
        "suspended workers take nothing"
    );
    let out = manage_on(&redis, &["rqresume"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), RESUMING);
    assert!(
        !rq_suspended(&redis),
        "Python RQ sees the suspension lifted"
    );
    assert!(
        wait_until(PATIENCE, || status(&redis, &id) == "finished"),
        "{}",
        worker.output()
    );

    let sleeper = enqueue(&redis, &["manage.sleep", "--kwargs", r#"{"seconds": 30}"#]);
    assert!(wait_until(PATIENCE, || status(&redis, &sleeper) == "started"));
    let _: () = conn
        .publish(
            "rq:pubsub:ctl",
            format!(r#"{{"command": "stop-job", "job_id": "{sleeper}"}}"#),
        )
        .unwrap();
    assert!(
        wait_until(PATIENCE, || status(&redis, &sleeper) == "stopped"),
        "{}",
        worker.output()
    );
    assert!(in_registry(&redis, "failed", "default", &sleeper));
    assert_eq!(
        last_reason(&redis, &sleeper),
        "Job stopped by user, work-horse terminated."
    );

    let _: () = conn
        .publish("rq:pubsub:ctl", r#"{"command": "shutdown"}"#)
        .unwrap();
    worker.assert_exits(0, PATIENCE);
    assert!(
        !conn
            .sismember::<_, _, bool>("rq:workers", "rq:worker:ctl")
            .unwrap(),
        "deregistered"
    );
}

#[test]
fn a_suspended_burst_worker_takes_nothing_and_a_live_name_is_refused() {
    let redis = RedisServer::start();
    let id = enqueue(&redis, &["manage.echo"]);
    let out = manage_on(&redis, &["rqsuspend"]);
    assert_eq!(stdout(&out), SUSPENDING);
    let out = manage_on(&redis, &["rqworker", "--burst", "default"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Suspended in burst mode, exiting"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        status(&redis, &id),
        "queued",
        "a suspended worker takes nothing"
    );
    assert_eq!(stdout(&manage_on(&redis, &["rqresume"])), RESUMING);
    let out = manage_on(&redis, &["rqworker", "--burst", "default"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&redis, &id), "finished", "resumed, the job runs");

    let worker = Running::start(&redis, &["rqworker", "--name", "only-one", "default"]);
    assert!(wait_until(PATIENCE, || worker_state(&redis, "only-one").is_some()));
    let out = manage_on(
        &redis,
        &["rqworker", "--name", "only-one", "--burst", "default"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "a worker named \"only-one\" is already running (pid {}",
            worker.child.id()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_timed_suspension_ends_by_itself() {
    let redis = RedisServer::start();
    let id = enqueue(&redis, &["manage.echo"]);
    let out = manage_on(&redis, &["rqsuspend", "--duration", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("Suspending workers for 3 seconds."),
        "{}",
        stdout(&out)
    );
    let ttl: i64 = redis.conn().ttl("rq:suspended").unwrap();
    assert!(
        (1..=3).contains(&ttl),
        "rq:suspended expires by itself: TTL {ttl}"
    );
    assert!(rq_suspended(&redis));
    let worker = Running::start(&redis, &["rqworker", "--name", "patient", "default"]);
    assert!(
        wait_until(PATIENCE, || worker_state(&redis, "patient").as_deref()
            == Some("suspended")),
        "{}",
        worker.output()
    );
    // No rqresume: the job runs once the suspension has expired.
    assert!(
        wait_until(PATIENCE, || status(&redis, &id) == "finished"),
        "{}",
        worker.output()
    );
    assert!(!rq_suspended(&redis));
    assert!(
        worker.output().contains("Worker resumed"),
        "{}",
        worker.output()
    );
}

#[test]
fn requeue_failed_by_id_dry_run_json_and_queue_filter() {
    let redis = RedisServer::start();
    let mut conn = redis.conn();
    let a = enqueue(&redis, &["manage.fail", "--queue", "default"]);
    let b = enqueue(&redis, &["manage.fail", "--queue", "low"]);
    assert!(
        manage_on(&redis, &["rqworker", "--burst", "default", "low"])
            .status
            .success()
    );

    let dry = manage_on(&redis, &["requeue_failed", "--all", "--dry-run"]);
    assert_eq!(stdout(&dry), "Would requeue 2 jobs\n");
    assert_eq!(
        conn.zcard::<_, u64>("rq:failed:default").unwrap()
            + conn.zcard::<_, u64>("rq:failed:low").unwrap(),
        2,
        "dry run changes nothing"
    );

    let json = manage_on(
        &redis,
        &["requeue_failed", "--all", "--queue", "low", "--json"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["requeued"], 1);
    assert_eq!(value["queues"]["low"], 1);
    assert_eq!(status(&redis, &b), "queued");
    assert_eq!(
        status(&redis, &a),
        "failed",
        "--queue low leaves default alone"
    );

    let out = manage_on(&redis, &["requeue_failed", &a, "no-such-job"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "Requeued 1 job\n");
    assert!(
        stderr(&out).contains("Job no-such-job is not in a failed job registry"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&redis, &a), "queued");
    assert_eq!(
        conn.lrange::<_, Vec<String>>("rq:queue:default", 0, -1)
            .unwrap(),
        vec![a.clone()]
    );

    let usage = manage_on(&redis, &["requeue_failed"]);
    assert_eq!(
        usage.status.code(),
        Some(2),
        "neither --all nor ids is a usage error"
    );
}

#[test]
fn worker_reports_redis_outage_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let closed = ClosedPort::new();
    let dead = format!("redis://:pw@127.0.0.1:{}/0", closed.port());
    let out = support::run(support::manage(dir.path()).args([
        "rqworker",
        "--burst",
        "--redis-url",
        &dead,
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with(&format!(
                "CommandError: cannot reach Redis at redis://***@127.0.0.1:{}/0: ",
                closed.port()
            )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn max_jobs_stops_the_worker_after_that_many_jobs() {
    let redis = RedisServer::start();
    let ids: Vec<String> = (0..5).map(|_| enqueue(&redis, &["manage.echo"])).collect();
    // Not --burst: only --max-jobs can make it exit.
    let mut worker = Running::start(&redis, &["rqworker", "--max-jobs", "2", "default"]);
    worker.assert_exits(0, PATIENCE);
    let finished = ids
        .iter()
        .filter(|id| status(&redis, id) == "finished")
        .count();
    let queued = ids
        .iter()
        .filter(|id| status(&redis, id) == "queued")
        .count();
    assert_eq!((finished, queued), (2, 3), "{}", worker.output());
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 3);
}

#[test]
fn max_idle_time_stops_an_idle_worker() {
    let redis = RedisServer::start();
    let id = enqueue(&redis, &["manage.echo"]);
    // Not --burst: only --max-idle-time can make it exit once the queue is empty.
    let mut worker = Running::start(&redis, &["rqworker", "--max-idle-time", "1", "default"]);
    worker.assert_exits(0, PATIENCE);
    assert_eq!(status(&redis, &id), "finished");
    assert!(
        worker.output().contains("Idle for 1s, exiting"),
        "{}",
        worker.output()
    );
}

#[test]
fn pid_file_holds_the_pid_while_running_and_goes_at_exit() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("worker.pid");
    let mut worker = Running::start(
        &redis,
        &[
            "rqworker",
            "--name",
            "pidded",
            "--pid",
            pid_file.to_str().unwrap(),
            "default",
        ],
    );
    assert!(
        wait_until(PATIENCE, || worker_state(&redis, "pidded").as_deref()
            == Some("idle")),
        "{}",
        worker.output()
    );
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        worker.child.id().to_string()
    );
    worker.stop(libc::SIGTERM, PATIENCE);
    assert!(!pid_file.exists(), "the pid file is removed at exit");
}

/// The TTL Python RQ gives a worker's hash for `worker_ttl`: the oracle for ours.
fn python_worker_key_ttl(redis: &RedisServer, worker_ttl: u64) -> i64 {
    let code = format!(
        "import os\nfrom redis import Redis\nfrom rq import Worker\nr = Redis.from_url(os.environ['REDIS_URL'])\nw = Worker(['py-ttl'], connection=r, name='py-ttl-{worker_ttl}', worker_ttl={worker_ttl})\nw.register_birth()\nprint(r.ttl(w.key))\nw.register_death()"
    );
    python_run(redis, &code, &[]).trim().parse().unwrap()
}

#[test]
fn worker_ttl_sets_how_long_the_registration_lives_as_in_rq() {
    let redis = RedisServer::start();
    for (name, args, ttl) in [
        ("flag", vec!["--worker-ttl", "17"], 17),
        ("setting", vec!["--set", "worker.worker_ttl=33"], 33),
        ("default", vec![], 420),
    ] {
        let expected = python_worker_key_ttl(&redis, ttl);
        let mut full = vec!["rqworker", "--name", name];
        full.extend(args.iter().copied());
        full.push("default");
        let mut worker = Running::start(&redis, &full);
        assert!(
            wait_until(PATIENCE, || worker_state(&redis, name).as_deref()
                == Some("idle")),
            "{}",
            worker.output()
        );
        let ours: i64 = redis.conn().ttl(format!("rq:worker:{name}")).unwrap();
        assert!(
            (expected - 2..=expected).contains(&ours),
            "{name}: our worker's TTL is {ours}, Python RQ's is {expected}"
        );
        worker.stop(libc::SIGTERM, PATIENCE);
    }
}

/// Enqueues one `manage.echo` on each queue named, and runs a worker with `args` in `dir` (a
/// project with a manage.toml) one job at a time; returns the queues in the order their jobs
/// started, and the worker's log.
fn start_order(
    redis: &RedisServer,
    dir: &std::path::Path,
    queues: &[&str],
) -> (Vec<String>, String) {
    let ids: Vec<(String, String)> = queues
        .iter()
        .map(|q| {
            (
                q.to_string(),
                enqueue(redis, &["manage.echo", "--queue", q]),
            )
        })
        .collect();
    let out =
        support::run(support::manage(dir).args(["rqworker", "--burst", "--concurrency", "1"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut started: Vec<(String, String)> = ids
        .iter()
        .filter(|(_, id)| status(redis, id) == "finished")
        .map(|(q, id)| {
            let at: String = redis
                .conn()
                .hget(format!("rq:job:{id}"), "started_at")
                .unwrap();
            (at, q.clone())
        })
        .collect();
    started.sort();
    (started.into_iter().map(|(_, q)| q).collect(), stderr(&out))
}

#[test]
fn without_queues_the_worker_serves_worker_queues_in_order() {
    let redis = RedisServer::start();
    let dir = support::hooks::project(&redis, "");
    let (order, log) = start_order(&redis, dir.path(), &["low", "default", "high"]);
    assert_eq!(order, ["high", "default", "low"], "{log}");
    assert!(
        log.contains(
            "This process will service the following queues by default: high, default, low"
        ),
        "{log}"
    );

    let dir = support::hooks::project(&redis, "[worker]\nqueues = [\"low\", \"high\"]\n");
    let (order, log) = start_order(&redis, dir.path(), &["high", "default", "low"]);
    assert_eq!(order, ["low", "high"], "default is not served: {log}");
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 1);
}

#[test]
fn a_job_abandoned_again_and_again_is_failed_as_rq_fails_abandoned_jobs() {
    let redis = RedisServer::start();
    let id = enqueue(&redis, &["manage.sleep", "--kwargs", r#"{"seconds": 60}"#]);
    let abandoned = |redis: &RedisServer| -> i64 {
        redis
            .conn()
            .hget::<_, _, Option<i64>>(format!("rq:job:{id}"), "abandoned_count")
            .unwrap()
            .unwrap_or(0)
    };
    // Each time, the job runs and its worker dies under it (SIGKILL); the worker started again
    // under the same name finds the job abandoned. Three times it is put back on the queue.
    for times in 0..=3 {
        let mut worker = Running::start(&redis, &["rqworker", "--name", "victim", "default"]);
        assert!(
            wait_until(PATIENCE, || status(&redis, &id) == "started"
                && abandoned(&redis) == times),
            "round {times}: {}",
            worker.output()
        );
        worker.kill();
    }
    // The fourth time it is failed instead, as RQ fails an abandoned job.
    let out = manage_on(
        &redis,
        &["rqworker", "--name", "victim", "--burst", "default"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("0 abandoned job(s) put back on the queue, 1 failed as abandoned too often"),
        "{}",
        stderr(&out)
    );
    assert_eq!(abandoned(&redis), 4);
    assert_eq!(status(&redis, &id), "failed");
    assert!(in_registry(&redis, "failed", "default", &id));
    assert_eq!(redis.conn().zcard::<_, u64>("rq:wip:default").unwrap(), 0);

    // Python RQ's own StartedJobRegistry.cleanup fails an abandoned job of its own: the oracle.
    let theirs = python_run(
        &redis,
        "
import os, re
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
r = Redis.from_url(os.environ['REDIS_URL'])
q = Queue('pyq', connection=r, serializer=JSONSerializer)
job = q.enqueue('manage.echo', job_id='py-abandoned')
r.lrem('rq:queue:pyq', 0, 'py-abandoned')
r.hset('rq:job:py-abandoned', 'status', 'started')
r.zadd('rq:wip:pyq', {'py-abandoned:0123': 1})
StartedJobRegistry(queue=q).cleanup()
job = Job.fetch('py-abandoned', connection=r, serializer=JSONSerializer)
print(job.get_status().value)
print(job.latest_result().exc_string)
",
        &[],
    );
    let (their_status, their_reason) = theirs.trim().split_once('\n').unwrap();
    assert_eq!(their_status, "failed");
    let ours = last_reason(&redis, &id);
    let at = regex::Regex::new(r" at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00:00$").unwrap();
    assert!(at.is_match(&ours), "{ours}");
    assert!(at.is_match(their_reason), "{their_reason}");
    assert_eq!(
        at.replace(&ours, " at T"),
        at.replace(their_reason, " at T")
    );
}

#[test]
fn a_rediss_url_talks_tls_and_checks_the_certificate() {
    let (redis, tls_port, ca) = RedisServer::start_tls();
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    let over_tls = |trusted: bool, args: &[&str]| {
        let work = tempfile::tempdir().unwrap();
        let mut command = support::manage(work.path());
        command.env("MANAGE_REDIS_URL", &url);
        // The certificate is checked against the system's roots, or the bundle SSL_CERT_FILE names.
        if trusted {
            command.env("SSL_CERT_FILE", &ca);
        } else {
            command.env_remove("SSL_CERT_FILE");
        }
        support::run(command.args(args))
    };
    let out = over_tls(true, &["rqenqueue", "manage.echo", "--args", "[7]"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    let out = over_tls(true, &["rqworker", "--burst", "default"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&redis, &id), "finished");

    let out = over_tls(false, &["rqenqueue", "manage.echo"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("CommandError: cannot reach Redis at {url}: "))
            && stderr(&out).contains("certificate"),
        "{}",
        stderr(&out)
    );
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 0);
}

#[test]
fn job_monitoring_interval_sets_the_heartbeat_of_running_jobs() {
    let redis = RedisServer::start();
    let id = enqueue(&redis, &["manage.sleep", "--kwargs", r#"{"seconds": 60}"#]);
    let mut worker = Running::start(
        &redis,
        &["rqworker", "--job-monitoring-interval", "2", "default"],
    );
    let score = || -> Option<f64> {
        let members: Vec<(String, f64)> = redis
            .conn()
            .zrange_withscores("rq:wip:default", 0, -1)
            .unwrap();
        members
            .into_iter()
            .find(|(member, _)| member.starts_with(&format!("{id}:")))
            .map(|(_, score)| score)
    };
    assert!(
        wait_until(PATIENCE, || score().is_some()),
        "{}",
        worker.output()
    );
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    // As RQ: a running job's entry lives the interval plus 60 s (the default 30 gives 90).
    let first = score().unwrap();
    let left = first - now();
    assert!((58.0..=63.0).contains(&left), "entry expires in {left} s");
    // And the heartbeat renews it while the job runs.
    assert!(
        wait_until(PATIENCE, || score().is_some_and(|s| s > first)),
        "{}",
        worker.output()
    );
    // Cold shutdown: the job goes back on the queue.
    support::signal(&worker.child, libc::SIGINT);
    assert!(wait_until(PATIENCE, || worker
        .output()
        .contains("Waiting for 1 running job(s)")));
    worker.stop(libc::SIGINT, PATIENCE);
    assert_eq!(status(&redis, &id), "queued");
}

/// The largest number of jobs whose runs overlapped, from the execution times RQ keeps with
/// each result (`execution_started_at`, `execution_ended_at`).
fn most_at_once(redis: &RedisServer, ids: &[String]) -> usize {
    let runs: Vec<(f64, f64)> = ids
        .iter()
        .map(|id| {
            let reply: redis::streams::StreamRangeReply = redis
                .conn()
                .xrevrange_count(format!("rq:results:{id}"), "+", "-", 1)
                .unwrap();
            let entry = &reply.ids[0];
            let time = |field: &str| -> f64 {
                let text: String = entry
                    .get(field)
                    .unwrap_or_else(|| panic!("{field} of {id}"));
                text.parse().unwrap()
            };
            (time("execution_started_at"), time("execution_ended_at"))
        })
        .collect();
    runs.iter()
        .map(|(start, _)| runs.iter().filter(|(s, e)| s <= start && start < e).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn worker_concurrency_caps_the_jobs_in_flight() {
    let redis = RedisServer::start();
    let sleep = ["manage.sleep", "--kwargs", r#"{"seconds": 0.5}"#];
    let ids: Vec<String> = (0..6).map(|_| enqueue(&redis, &sleep)).collect();
    let out = manage_on(
        &redis,
        &[
            "--set",
            "worker.concurrency=3",
            "rqworker",
            "--burst",
            "default",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(most_at_once(&redis, &ids), 3, "[worker] concurrency");
    let ids: Vec<String> = (0..6).map(|_| enqueue(&redis, &sleep)).collect();
    let out = manage_on(
        &redis,
        &[
            "--set",
            "worker.concurrency=3",
            "rqworker",
            "--burst",
            "--concurrency",
            "2",
            "default",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        most_at_once(&redis, &ids),
        2,
        "--concurrency beats the setting"
    );
}

#[test]
fn rqenqueue_count_enqueues_that_many_distinct_jobs() {
    let redis = RedisServer::start();
    let out = manage_on(&redis, &["rqenqueue", "manage.echo", "--count", "2500"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    let queued: Vec<String> = redis.conn().lrange("rq:queue:default", 0, -1).unwrap();
    assert_eq!(printed, queued, "every id printed, in queue order");
    let mut distinct = queued.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 2500);
    let refused = manage_on(
        &redis,
        &["rqenqueue", "manage.echo", "--count", "2", "--job-id", "x"],
    );
    assert_eq!(refused.status.code(), Some(2));
}

/// NetBox's own jobs on a shared Redis: pickled, or functions nobody here has, served by
/// Python RQ workers. `check` says so; the worker leaves their queues alone, at start and when
/// one turns up later, and fails them only when told to.
#[test]
fn a_shared_redis_is_said_and_its_foreign_jobs_are_left_to_their_own_workers() {
    let redis = RedisServer::start();
    // As NetBox enqueues its webhook jobs (pickle, its own function), a housekeeping job by
    // name with the JSON serializer, and a Python RQ worker registered on `default` by RQ's own
    // code.
    python_run(
        &redis,
        "import os\nfrom redis import Redis\nfrom rq import Queue, Worker\nfrom rq.serializers import JSONSerializer\nr = Redis.from_url(os.environ['REDIS_URL'])\nQueue('default', connection=r).enqueue('extras.webhooks.send_webhook', 1, job_id='netbox-webhook')\nQueue('low', connection=r, serializer=JSONSerializer).enqueue('core.jobs.SystemHousekeepingJob', job_id='netbox-housekeeping')\nWorker(['default', 'low'], connection=r, name='netbox-worker').register_birth()\n",
        &[],
    );
    let ours = enqueue(&redis, &["manage.echo", "--queue", "high", "--args", "[1]"]);
    let dir = tempfile::tempdir().unwrap();
    let check = support::run(
        support::manage(dir.path())
            .arg("check")
            .env("MANAGE_REDIS_URL", redis.url()),
    );
    assert!(check.status.success(), "{}", stderr(&check));
    let warnings = stderr(&check);
    assert!(
        warnings.contains("WARNING: queue default holds jobs manage cannot run: 1 pickled")
            && warnings.contains("is served by 1 Python RQ worker(s) (netbox-worker)"),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "WARNING: queue low holds jobs manage cannot run: 1 of core.jobs.SystemHousekeepingJob, which no job function here runs and is served by 1 Python RQ worker(s)"
        ),
        "{warnings}"
    );
    assert!(
        stdout(&check).contains("System check identified 2 warning(s) and no errors."),
        "{}",
        stdout(&check)
    );

    let out = manage_on(&redis, &["rqworker", "--burst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("queue default holds jobs manage cannot run")
            && stderr(&out).contains("not serving it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&redis, &ours), "finished");
    for (id, queue) in [
        ("netbox-webhook", "default"),
        ("netbox-housekeeping", "low"),
    ] {
        assert_eq!(status(&redis, id), "queued", "{id} untouched");
        let queued: Vec<String> = redis
            .conn()
            .lrange(format!("rq:queue:{queue}"), 0, -1)
            .unwrap();
        assert_eq!(queued, [id]);
    }

    // One that turns up once the worker runs, on a queue that looked clean: put back at the
    // front, untouched, and the queue left; the worker goes on with the others.
    let mut worker = Running::start(&redis, &["rqworker", "mixed", "high"]);
    assert!(wait_until(PATIENCE, || worker.stderr().contains("started")));
    python_run(
        &redis,
        "import os\nfrom redis import Redis\nfrom rq import Queue\nr = Redis.from_url(os.environ['REDIS_URL'])\nq = Queue('mixed', connection=r)\nwith r.pipeline() as p:\n    for i in range(3):\n        q.enqueue('extras.webhooks.send_webhook', i, job_id='late-netbox-%d' % i, pipeline=p)\n    p.execute()\n",
        &[],
    );
    assert!(
        wait_until(PATIENCE, || worker.stderr().contains(
            "queue mixed holds job late-netbox-0 this worker cannot run (job data is pickled"
        )),
        "{}",
        worker.stderr()
    );
    let later = enqueue(
        &redis,
        &["manage.echo", "--queue", "mixed", "--args", "[2]"],
    );
    let after = enqueue(&redis, &["manage.echo", "--queue", "high", "--args", "[3]"]);
    assert!(wait_until(PATIENCE, || status(&redis, &after) == "finished"));
    for i in 0..3 {
        assert_eq!(status(&redis, &format!("late-netbox-{i}")), "queued");
    }
    assert_eq!(status(&redis, &later), "queued", "the queue is left whole");
    let queued: Vec<String> = redis.conn().lrange("rq:queue:mixed", 0, -1).unwrap();
    // Taken together, put back together, in the order they came.
    assert_eq!(
        queued,
        [
            "late-netbox-0",
            "late-netbox-1",
            "late-netbox-2",
            later.as_str()
        ]
    );
    assert!(!in_registry(&redis, "started", "mixed", "late-netbox-0"));
    worker.stop(libc::SIGTERM, PATIENCE);
}
