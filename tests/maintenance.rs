//! The maintenance a cron job does on an RQ Redis: `rqempty` (RQ's `rq empty`), `rqclean`
//! (old failed and finished jobs, RQ's registry maintenance) with its dry run, and the TTLs
//! `[worker]` writes on every job, read back by Python RQ.

mod support;

use redis::Commands;
use serde_json::Value;
use support::{
    endpoint::Endpoint,
    hooks::{hook, manage_in, project},
    run_with_input, stderr, stdout, RedisServer,
};

fn enqueue_n(dir: &std::path::Path, queue: &str, n: u32) -> Vec<String> {
    let out = manage_in(
        dir,
        &[
            "rqenqueue",
            "manage.echo",
            "--queue",
            queue,
            "--count",
            &n.to_string(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

fn exists(redis: &RedisServer, key: &str) -> bool {
    redis.conn().exists(key).unwrap()
}

#[test]
fn rqempty_removes_the_jobs_of_the_queues_named_or_of_all() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let rule = "[[event_rules]]\nname = \"sites\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\", \"updated\"]\nwebhook = \"h\"\nqueue = \"other\"\n";
    let dir = project(&redis, &(hook("h", &endpoint.base(), "") + rule));
    let a = enqueue_n(dir.path(), "a", 5);
    let b = enqueue_n(dir.path(), "b", 3);
    // A chain on queue "other": the update waits for the creation.
    let lines = "{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {\"id\": 1}}\n{\"object_type\": \"dcim.site\", \"event\": \"updated\", \"data\": {\"id\": 1}}\n";
    let out = run_with_input(
        support::manage(dir.path()).args(["enqueue_event", "--lines"]),
        lines.as_bytes(),
    );
    assert!(out.status.success());
    let chain: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    let out = manage_in(dir.path(), &["rqempty", "a"]);
    assert_eq!(
        stdout(&out),
        "5 jobs removed from a queue\n",
        "{}",
        stderr(&out)
    );
    assert!(a.iter().all(|id| !exists(&redis, &format!("rq:job:{id}"))));
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:b").unwrap(), 3);
    assert!(b.iter().all(|id| exists(&redis, &format!("rq:job:{id}"))));
    // Emptying "other" removes the creation; the update, which waited for it, is released
    // onto the queue and removed with the rest rather than left waiting for ever.
    let out = manage_in(dir.path(), &["rqempty", "other", "--json"]);
    let removed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(removed["other"], 2, "{removed}");
    assert!(chain
        .iter()
        .all(|id| !exists(&redis, &format!("rq:job:{id}"))));
    assert_eq!(
        redis.conn().zcard::<_, u64>("rq:deferred:other").unwrap(),
        0
    );
    let out = manage_in(dir.path(), &["rqempty", "--all"]);
    assert!(
        stdout(&out).contains("3 jobs removed from b queue"),
        "{}",
        stdout(&out)
    );
    // Python RQ agrees: every queue is empty.
    let counts = support::python_run(
        &redis,
        "import os\nfrom redis import Redis\nfrom rq import Queue\nr = Redis.from_url(os.environ['REDIS_URL'])\nprint(sorted((q.name, q.count) for q in Queue.all(connection=r)))\n",
        &[],
    );
    assert_eq!(counts.trim(), "[('a', 0), ('b', 0), ('other', 0)]");
    let usage = manage_in(dir.path(), &["rqempty"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn rqclean_removes_old_failures_and_does_rqs_maintenance() {
    let redis = RedisServer::start();
    let dir = project(&redis, "");
    let failed: Vec<String> = (0..4)
        .map(|_| {
            let out = manage_in(dir.path(), &["rqenqueue", "manage.fail"]);
            stdout(&out).trim().to_string()
        })
        .collect();
    let finished = enqueue_n(dir.path(), "default", 2);
    let out = manage_in(dir.path(), &["rqworker", "--burst", "default"]);
    assert!(out.status.success());
    let mut conn = redis.conn();
    // Two failures ended ten days ago, two just now.
    for id in &failed[..2] {
        let _: () = conn
            .hset(
                format!("rq:job:{id}"),
                "ended_at",
                "2026-01-01T00:00:00.000000Z",
            )
            .unwrap();
    }
    // An expired registry entry and an abandoned started job, as RQ's maintenance finds them.
    let _: () = conn
        .zadd("rq:finished:default", "gone-long-ago", 1)
        .unwrap();
    let abandoned = enqueue_n(dir.path(), "default", 1).remove(0);
    let _: () = conn.lrem("rq:queue:default", 0, &abandoned).unwrap();
    let _: () = conn
        .hset(format!("rq:job:{abandoned}"), "status", "started")
        .unwrap();
    let _: () = conn
        .zadd("rq:wip:default", format!("{abandoned}:0123"), 1)
        .unwrap();

    let dry = manage_in(
        dir.path(),
        &[
            "rqclean",
            "--failed-older-than",
            "7d",
            "--finished",
            "--dry-run",
            "--json",
        ],
    );
    let report: Value =
        serde_json::from_str(&stdout(&dry)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&dry)));
    let queue = &report["queues"][0];
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        (
            queue["failed_removed"].as_u64(),
            queue["finished_removed"].as_u64()
        ),
        (Some(2), Some(3)),
        "{report}"
    );
    assert_eq!(
        (
            queue["expired_entries"].as_u64(),
            queue["abandoned"].as_u64()
        ),
        (Some(1), Some(1)),
        "{report}"
    );
    // Which jobs, not only how many: the two old failures.
    let mut named: Vec<String> = queue["failed_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    named.sort();
    let mut old = failed[..2].to_vec();
    old.sort();
    assert_eq!(named, old, "{report}");
    assert_eq!(queue["finished_ids"].as_array().unwrap().len(), 3);
    assert_eq!(
        conn.zcard::<_, u64>("rq:failed:default").unwrap(),
        4,
        "the dry run changed nothing"
    );
    assert_eq!(conn.zcard::<_, u64>("rq:finished:default").unwrap(), 3);

    let out = manage_in(dir.path(), &["rqclean", "--failed-older-than", "7d"]);
    assert_eq!(
        stdout(&out),
        "default: 2 failed and 0 finished jobs were removed, 1 expired registry entries were dropped, 1 abandoned jobs were taken back\n",
        "{}",
        stderr(&out)
    );
    for id in &failed[..2] {
        assert!(
            !exists(&redis, &format!("rq:job:{id}"))
                && !exists(&redis, &format!("rq:results:{id}"))
        );
    }
    for id in &failed[2..] {
        assert!(
            exists(&redis, &format!("rq:job:{id}")) && exists(&redis, &format!("rq:results:{id}"))
        );
    }
    assert_eq!(
        conn.zscore::<_, _, Option<f64>>("rq:finished:default", "gone-long-ago")
            .unwrap(),
        None
    );
    assert_eq!(
        conn.lrange::<_, Vec<String>>("rq:queue:default", 0, -1)
            .unwrap(),
        std::slice::from_ref(&abandoned),
        "taken back onto its queue"
    );
    let out = manage_in(dir.path(), &["rqclean", "--finished", "--queue", "default"]);
    assert!(
        stdout(&out).contains("0 failed and 2 finished jobs were removed"),
        "{}",
        stdout(&out)
    );
    assert!(finished
        .iter()
        .all(|id| !exists(&redis, &format!("rq:job:{id}"))));
    let bad = manage_in(dir.path(), &["rqclean", "--failed-older-than", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn worker_ttls_are_written_on_jobs_and_python_rq_reads_them() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    endpoint.set_status(500);
    let rule = "[[event_rules]]\nname = \"sites\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\"]\nwebhook = \"h\"\n";
    // The defaults: a week for failures, RQ's 500 s for results.
    let dir = project(&redis, &(hook("h", &endpoint.base(), "") + rule));
    let id = stdout(&manage_in(
        dir.path(),
        &[
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            "created",
            "--data",
            "{\"id\": 1}",
        ],
    ))
    .trim()
    .to_string();
    let echo = stdout(&manage_in(dir.path(), &["rqenqueue", "manage.echo"]))
        .trim()
        .to_string();
    let read = |id: &str| {
        support::python_run(
            &redis,
            &format!("import os\nfrom redis import Redis\nfrom rq.job import Job\nfrom rq.serializers import JSONSerializer\njob = Job.fetch('{id}', connection=Redis.from_url(os.environ['REDIS_URL']), serializer=JSONSerializer)\nprint(job.failure_ttl, job.result_ttl)\n"),
            &[],
        )
        .trim()
        .to_string()
    };
    assert_eq!(read(&id), "604800 500");
    assert_eq!(read(&echo), "604800 500");
    // Set in [worker], they are what jobs get, and what their keys live for once ended.
    let dir = project(
        &redis,
        &("[worker]\nfailure_ttl = 60\nresult_ttl = 30\n".to_string()
            + &hook("h", &endpoint.base(), "")
            + rule),
    );
    let failing = stdout(&manage_in(
        dir.path(),
        &[
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            "created",
            "--data",
            "{\"id\": 2}",
        ],
    ))
    .trim()
    .to_string();
    let fine = stdout(&manage_in(dir.path(), &["rqenqueue", "manage.echo"]))
        .trim()
        .to_string();
    assert_eq!(read(&failing), "60 30");
    let out = manage_in(dir.path(), &["rqworker", "--burst", "default"]);
    assert!(out.status.success());
    let ttl = |key: String| -> i64 { redis.conn().ttl(key).unwrap() };
    assert!(
        (1..=60).contains(&ttl(format!("rq:job:{failing}"))),
        "{}",
        ttl(format!("rq:job:{failing}"))
    );
    assert!((1..=60).contains(&ttl(format!("rq:results:{failing}"))));
    assert!((1..=30).contains(&ttl(format!("rq:job:{fine}"))));
}
