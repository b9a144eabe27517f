//! `manage rqworker` and `manage requeue_failed` against a real Redis: bad jobs, crashes,
//! shutdowns, priority, retries, timeouts, suspension, commands, and requeue's edges.

mod support;

use std::time::Duration;

use redis::Commands;
use support::{manage_on, python_run, signal, stderr, stdout, wait_until, RedisServer, Running};

fn enqueue(redis: &RedisServer, args: &[&str]) -> String {
    let mut full = vec!["rqenqueue"];
    full.extend_from_slice(args);
    let out = manage_on(redis, &full);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

fn status(conn: &mut redis::Connection, id: &str) -> String {
    conn.hget::<_, _, Option<String>>(format!("rq:job:{id}"), "status")
        .unwrap()
        .unwrap_or_default()
}

fn failure_reason(conn: &mut redis::Connection, id: &str) -> String {
    let entries: redis::streams::StreamRangeReply = conn
        .xrevrange_count(format!("rq:results:{id}"), "+", "-", 1)
        .unwrap();
    let entry = entries.ids.first().expect("a result");
    let b64: String = entry.get("exc_string").expect("exc_string");
    manage::rq::serializer::decode_exc(b64.as_bytes()).unwrap()
}

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
    let truncated = &manage::rq::serializer::compress(br#"["manage.echo", null, [], {}]"#)[..8];
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
            (
                "data",
                &manage::rq::serializer::compress(br#"["manage.echo", null, [], {}]"#),
            ),
            ("origin", b"default"),
            ("status", b"pending"),
        ],
    );
    add_raw(
        &mut conn,
        "bad-timeout",
        &[
            (
                "data",
                &manage::rq::serializer::compress(br#"["manage.echo", null, [], {}]"#),
            ),
            ("origin", b"default"),
            ("status", b"queued"),
            ("timeout", b"10m"),
        ],
    );
    python_run(&redis, "import os\nfrom redis import Redis\nfrom rq import Queue\nq = Queue('default', connection=Redis.from_url(os.environ['REDIS_URL']))\nq.enqueue('manage.echo', 1, job_id='pickled')\n", &[]);
    let unknown = enqueue(&redis, &["no.such.function"]);
    let good = enqueue(&redis, &["manage.echo", "--args", "[42]"]);

    let out = manage_on(&redis, &["rqworker", "--burst", "default"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (id, reason) in [
        ("garbage", "not valid JSON"),
        ("truncated", "not valid JSON"),
        ("bad-status", "unknown job status \"pending\""),
        ("bad-timeout", "field 'timeout' is \"10m\""),
        ("pickled", "pickled"),
        (
            unknown.as_str(),
            "no job function named \"no.such.function\"",
        ),
    ] {
        assert_eq!(status(&mut conn, id), "failed", "{id}");
        assert!(
            failure_reason(&mut conn, id).contains(reason),
            "{id}: {}",
            failure_reason(&mut conn, id)
        );
        assert!(
            conn.zscore::<_, _, Option<f64>>("rq:failed:default", id)
                .unwrap()
                .is_some(),
            "{id} in the failed registry"
        );
    }
    assert_eq!(status(&mut conn, &good), "finished");
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
    signal(&worker.child, libc::SIGKILL);
    worker.wait(Duration::from_secs(5));
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
        *counts.entry(status(&mut conn, id)).or_insert(0) += 1;
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
    assert!(out.status.success());
    assert_eq!(status(&mut conn, &id), "finished");
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
    signal(&worker.child, libc::SIGTERM);
    assert_eq!(
        worker.wait(Duration::from_secs(20)),
        Some(0),
        "{}",
        worker.output()
    );
    for id in &ids {
        assert_eq!(status(&mut conn, id), "finished");
    }
    for id in &waiting {
        assert_eq!(
            status(&mut conn, id),
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
    signal(&worker.child, libc::SIGINT);
    assert!(
        wait_until(Duration::from_secs(5), || worker
            .output()
            .contains("Waiting for 5 running job(s)")),
        "{}",
        worker.output()
    );
    signal(&worker.child, libc::SIGINT);
    assert_eq!(
        worker.wait(Duration::from_secs(10)),
        Some(0),
        "{}",
        worker.output()
    );
    for id in &ids {
        assert_eq!(status(&mut conn, id), "queued");
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
    assert_eq!(status(&mut conn, &now_retry), "failed");
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
    assert_eq!(status(&mut conn, &later), "scheduled");
    assert!(conn
        .zscore::<_, _, Option<f64>>("rq:scheduled:default", &later)
        .unwrap()
        .is_some());
    let mut worker = Running::start(&redis, &["rqworker", "--with-scheduler", "default"]);
    assert!(
        wait_until(Duration::from_secs(10), || status(
            &mut redis.conn(),
            &later
        ) == "failed"),
        "{}",
        worker.output()
    );
    signal(&worker.child, libc::SIGTERM);
    worker.wait(Duration::from_secs(10));
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
    let mut conn = redis.conn();
    assert_eq!(status(&mut conn, &id), "failed");
    assert_eq!(
        failure_reason(&mut conn, &id),
        "JobTimeoutException: Task exceeded maximum timeout value (1 seconds)"
    );
}

#[test]
fn suspend_and_resume_and_pubsub_commands() {
    let redis = RedisServer::start();
    let mut conn = redis.conn();
    assert!(stdout(&manage_on(&redis, &["rqsuspend"])).starts_with("Suspending workers."));
    let id = enqueue(&redis, &["manage.echo"]);
    let mut worker = Running::start(&redis, &["rqworker", "--name", "ctl", "default"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        status(&mut conn, &id),
        "queued",
        "suspended workers take nothing"
    );
    assert_eq!(
        conn.hget::<_, _, String>("rq:worker:ctl", "state").unwrap(),
        "suspended"
    );
    assert_eq!(
        stdout(&manage_on(&redis, &["rqresume"])),
        "Resuming workers.\n"
    );
    assert!(wait_until(Duration::from_secs(5), || status(
        &mut redis.conn(),
        &id
    ) == "finished"));

    let sleeper = enqueue(&redis, &["manage.sleep", "--kwargs", r#"{"seconds": 30}"#]);
    assert!(wait_until(Duration::from_secs(5), || status(
        &mut redis.conn(),
        &sleeper
    ) == "started"));
    let _: () = conn
        .publish(
            "rq:pubsub:ctl",
            format!(r#"{{"command": "stop-job", "job_id": "{sleeper}"}}"#),
        )
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || status(
            &mut redis.conn(),
            &sleeper
        ) == "stopped"),
        "{}",
        worker.output()
    );
    assert!(conn
        .zscore::<_, _, Option<f64>>("rq:failed:default", &sleeper)
        .unwrap()
        .is_some());
    assert_eq!(
        failure_reason(&mut conn, &sleeper),
        "Job stopped by user, work-horse terminated."
    );

    let _: () = conn
        .publish("rq:pubsub:ctl", r#"{"command": "shutdown"}"#)
        .unwrap();
    assert_eq!(
        worker.wait(Duration::from_secs(10)),
        Some(0),
        "{}",
        worker.output()
    );
    assert!(
        !conn
            .sismember::<_, _, bool>("rq:workers", "rq:worker:ctl")
            .unwrap(),
        "deregistered"
    );
}

#[test]
fn burst_with_suspension_exits_and_a_live_name_is_refused() {
    let redis = RedisServer::start();
    manage_on(&redis, &["rqsuspend", "--duration", "60"]);
    assert!(manage_on(&redis, &["rqworker", "--burst"]).status.success());
    manage_on(&redis, &["rqresume"]);
    let worker = Running::start(&redis, &["rqworker", "--name", "only-one", "default"]);
    assert!(wait_until(Duration::from_secs(10), || redis
        .conn()
        .exists::<_, bool>("rq:worker:only-one")
        .unwrap()));
    let out = manage_on(
        &redis,
        &["rqworker", "--name", "only-one", "--burst", "default"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already running"), "{}", stderr(&out));
    drop(worker);
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
    assert_eq!(status(&mut conn, &b), "queued");
    assert_eq!(
        status(&mut conn, &a),
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
    assert_eq!(status(&mut conn, &a), "queued");
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
    let dead = format!("redis://:pw@127.0.0.1:{}/0", support::free_port());
    let out = support::run(support::manage(dir.path()).args([
        "rqworker",
        "--burst",
        "--redis-url",
        &dead,
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("CommandError: cannot reach Redis at redis://:***@127.0.0.1:"),
        "{}",
        stderr(&out)
    );
}
