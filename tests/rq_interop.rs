//! Interoperability with Python RQ 2.12 on the same Redis, both ways: jobs, results, failures,
//! `rq info`, `rq worker`, `rq requeue`.

mod support;

use std::time::Duration;

use redis::Commands;
use support::{
    manage_on, python_run, python_tasks, python_worker, stderr, stdout, venv_bin, wait_until,
    RedisServer, Running,
};

const PY_PRELUDE: &str = "
import os, json
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.serializers import JSONSerializer
r = Redis.from_url(os.environ['REDIS_URL'])
q = Queue('default', connection=r, serializer=JSONSerializer)
";

#[test]
fn python_enqueues_and_our_worker_runs_reads_back_in_python() {
    let redis = RedisServer::start();
    python_run(
        &redis,
        &format!(
            "{PY_PRELUDE}
q.enqueue('manage.echo', 1, 'two', job_id='py-ok', flag=True, n=None)
q.enqueue('manage.fail', message='it broke', job_id='py-fail')
"
        ),
        &[],
    );
    let out = manage_on(&redis, &["rqworker", "--burst", "default"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = python_run(
        &redis,
        &format!(
            "{PY_PRELUDE}
ok = Job.fetch('py-ok', connection=r, serializer=JSONSerializer)
print(ok.get_status().value)
print(json.dumps(ok.return_value(), sort_keys=True))
failed = Job.fetch('py-fail', connection=r, serializer=JSONSerializer)
print(failed.get_status().value)
print('py-fail' in FailedJobRegistry(queue=q).get_job_ids())
print('py-ok' in FinishedJobRegistry(queue=q).get_job_ids())
print(failed.latest_result().exc_string)
"
        ),
        &[],
    );
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "finished");
    assert_eq!(
        lines[1],
        r#"{"args": [1, "two"], "kwargs": {"flag": true, "n": null}}"#
    );
    assert_eq!(lines[2], "failed");
    assert_eq!(lines[3], "True");
    assert_eq!(lines[4], "True");
    assert!(lines[5].contains("it broke"), "{report}");
}

#[test]
fn rq_info_shows_our_queues_registries_and_running_worker() {
    let redis = RedisServer::start();
    for _ in 0..3 {
        assert!(
            manage_on(&redis, &["rqenqueue", "manage.echo", "--queue", "default"])
                .status
                .success()
        );
    }
    assert!(
        manage_on(&redis, &["rqenqueue", "manage.fail", "--queue", "default"])
            .status
            .success()
    );
    assert!(manage_on(&redis, &["rqworker", "--burst", "default"])
        .status
        .success());
    assert!(
        manage_on(&redis, &["rqenqueue", "manage.echo", "--queue", "low"])
            .status
            .success()
    );
    let worker = Running::start(
        &redis,
        &["rqworker", "--name", "rust-worker-1", "high", "default"],
    );
    assert!(wait_until(Duration::from_secs(10), || redis
        .conn()
        .sismember::<_, _, bool>("rq:workers", "rq:worker:rust-worker-1")
        .unwrap()));
    let info = std::process::Command::new(venv_bin("rq"))
        .args(["info", "-S", "json", "--url", &redis.url()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(
        text.contains("default") && text.contains("3 finished") && text.contains("1 failed"),
        "{text}"
    );
    assert!(
        regex::Regex::new(r"low\s+\|\S* 1, 0 executing")
            .unwrap()
            .is_match(&text),
        "queued job in low: {text}"
    );
    assert!(
        text.contains("rust-worker-1") && text.contains("idle high, default"),
        "{text}"
    );
    drop(worker);
}

#[test]
fn python_worker_runs_jobs_we_enqueued() {
    let redis = RedisServer::start();
    let tasks = python_tasks();
    let out = manage_on(
        &redis,
        &[
            "rqenqueue",
            "tasks.add",
            "--args",
            "[2, 3]",
            "--kwargs",
            r#"{"scale": 10}"#,
            "--job-id",
            "ours-1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "ours-1");
    let worker = python_worker(&redis, tasks.path()).output().unwrap();
    assert!(
        worker.status.success(),
        "{}",
        String::from_utf8_lossy(&worker.stderr)
    );
    let report = python_run(&redis, &format!("{PY_PRELUDE}\njob = Job.fetch('ours-1', connection=r, serializer=JSONSerializer)\nprint(job.get_status().value, job.return_value(), job.description)"), &[]);
    assert_eq!(report.trim(), "finished 50 tasks.add(2, 3, scale=10)");
}

#[test]
fn rq_requeue_moves_jobs_our_worker_failed_and_we_run_them() {
    let redis = RedisServer::start();
    let out = manage_on(
        &redis,
        &[
            "rqenqueue",
            "manage.sleep",
            "--kwargs",
            r#"{"seconds": 2}"#,
            "--timeout",
            "1",
            "--job-id",
            "slow-1",
        ],
    );
    assert!(out.status.success());
    assert!(manage_on(&redis, &["rqworker", "--burst", "default"])
        .status
        .success());
    let mut conn = redis.conn();
    assert_eq!(
        conn.hget::<_, _, String>("rq:job:slow-1", "status")
            .unwrap(),
        "failed"
    );
    let reason = python_run(&redis, &format!("{PY_PRELUDE}\nprint(Job.fetch('slow-1', connection=r, serializer=JSONSerializer).latest_result().exc_string)"), &[]);
    assert!(
        reason.contains("Task exceeded maximum timeout value (1 seconds)"),
        "{reason}"
    );

    let _: () = conn.hset("rq:job:slow-1", "timeout", 10).unwrap();
    let requeue = std::process::Command::new(venv_bin("rq"))
        .args([
            "requeue",
            "--all",
            "-S",
            "json",
            "--queue",
            "default",
            "--url",
            &redis.url(),
        ])
        .output()
        .unwrap();
    assert!(
        requeue.status.success(),
        "{}",
        String::from_utf8_lossy(&requeue.stderr)
    );
    assert_eq!(
        conn.lrange::<_, Vec<String>>("rq:queue:default", 0, -1)
            .unwrap(),
        vec!["slow-1"]
    );
    assert!(manage_on(&redis, &["rqworker", "--burst", "default"])
        .status
        .success());
    assert_eq!(
        conn.hget::<_, _, String>("rq:job:slow-1", "status")
            .unwrap(),
        "finished"
    );
    assert_eq!(
        conn.xlen::<_, u64>("rq:results:slow-1").unwrap(),
        2,
        "one failure, then one success"
    );
}

#[test]
fn requeue_failed_moves_jobs_python_failed() {
    let redis = RedisServer::start();
    let tasks = python_tasks();
    python_run(&redis, &format!("{PY_PRELUDE}\nfor i in range(5):\n    q.enqueue('tasks.boom', i, job_id='py-boom-%d' % i)\n"), &[]);
    let worker = python_worker(&redis, tasks.path()).output().unwrap();
    assert!(worker.status.success());
    let mut conn = redis.conn();
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 5);

    let out = manage_on(&redis, &["requeue_failed", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Requeued 5 jobs\n");
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 0);
    assert_eq!(conn.llen::<_, u64>("rq:queue:default").unwrap(), 5);
    let statuses = python_run(
        &redis,
        &format!(
            "{PY_PRELUDE}\nprint(sorted(set(j.get_status().value for j in q.jobs)), len(q.jobs))"
        ),
        &[],
    );
    assert_eq!(statuses.trim(), "['queued'] 5");
    assert_eq!(
        stdout(&manage_on(&redis, &["requeue_failed", "--all"])),
        "Nothing to do\n"
    );
}

#[test]
fn rqenqueue_at_front_result_ttl_and_failure_ttl_mean_what_they_mean_in_rq() {
    let redis = RedisServer::start();
    let enqueue = |args: &[&str]| support::rq::enqueue(&redis, args);
    let a = enqueue(&["manage.echo", "--queue", "mine"]);
    let b = enqueue(&["manage.echo", "--queue", "mine"]);
    let front = enqueue(&["manage.echo", "--queue", "mine", "--at-front"]);
    let kept = enqueue(&["manage.echo", "--queue", "mine", "--result-ttl", "100"]);
    let failing = enqueue(&["manage.fail", "--queue", "mine", "--failure-ttl", "200"]);
    // Python RQ reads the queue's order and the jobs' TTLs as we wrote them.
    let report = python_run(
        &redis,
        &format!(
            "{PY_PRELUDE}
mine = Queue('mine', connection=r, serializer=JSONSerializer)
print(json.dumps(mine.job_ids))
print(Job.fetch('{kept}', connection=r, serializer=JSONSerializer).result_ttl)
print(Job.fetch('{failing}', connection=r, serializer=JSONSerializer).failure_ttl)
"
        ),
        &[],
    );
    let lines: Vec<&str> = report.lines().collect();
    let order: Vec<String> = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(order, [&front, &a, &b, &kept, &failing].map(String::clone));
    assert_eq!(lines[1..], ["100", "200"]);

    // Run, ours by our worker and the same jobs of Python's by a Python worker: the job hashes
    // expire alike.
    let out = manage_on(
        &redis,
        &["rqworker", "--burst", "--concurrency", "1", "mine"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut conn = redis.conn();
    let started = |conn: &mut redis::Connection, id: &str| -> String {
        conn.hget(format!("rq:job:{id}"), "started_at").unwrap()
    };
    assert!(
        started(&mut conn, &front) < started(&mut conn, &a),
        "--at-front runs first"
    );
    let tasks = python_tasks();
    let theirs = python_run(
        &redis,
        "
import os
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
r = Redis.from_url(os.environ['REDIS_URL'])
q = Queue('theirs', connection=r, serializer=JSONSerializer)
q.enqueue('tasks.add', 1, 2, job_id='py-kept', result_ttl=100)
q.enqueue('tasks.boom', 'x', job_id='py-failing', failure_ttl=200)
SimpleWorker([q], connection=r, serializer=JSONSerializer).work(burst=True)
print('TTL', r.ttl('rq:job:py-kept'), r.ttl('rq:job:py-failing'))
",
        &[tasks.path()],
    );
    let theirs: Vec<i64> = theirs
        .lines()
        .find_map(|l| l.strip_prefix("TTL "))
        .unwrap_or_else(|| panic!("{theirs}"))
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    let ours: Vec<i64> = [&kept, &failing]
        .iter()
        .map(|id| conn.ttl(format!("rq:job:{id}")).unwrap())
        .collect();
    assert_eq!(
        support::rq::status(&redis, &failing),
        "failed",
        "the failure TTL is a failed job's"
    );
    for (ours, theirs) in ours.iter().zip(&theirs) {
        assert!(
            (theirs - 10..=*theirs).contains(ours),
            "our TTLs {ours:?}, Python RQ's {theirs:?}"
        );
    }
    let default_ttl: i64 = conn.ttl(format!("rq:job:{a}")).unwrap();
    assert!(
        default_ttl > 200,
        "without --result-ttl, RQ's default (500 s): {default_ttl}"
    );
}
