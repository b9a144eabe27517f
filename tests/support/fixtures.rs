//! Jobs in every status for the background-task tests: run by our worker, enqueued and run by
//! Python RQ, written by hand, and malformed in every way a producer can get it wrong.

use redis::Commands;

use super::{manage_on, python_run, python_tasks, rq::enqueue, stderr, RedisServer};

/// The ids of the jobs [`every_status`] made.
pub struct Jobs {
    /// `manage.echo(1, 2)` run by our worker: finished.
    pub finished: String,
    /// `manage.fail(message='it broke')` run by our worker: failed.
    pub failed: String,
    /// A webhook job (with a `secret` and an `Authorization` header in its kwargs) our worker failed.
    pub webhook: String,
    /// `manage.echo` on `default`, enqueued by us after the worker ran: queued.
    pub queued: String,
    /// `manage.echo` with `--retry 3`: queued, 3 retries left.
    pub retrying: String,
    /// Hand-written: running on worker `ghost-worker` (in `rq:wip:default`).
    pub started: &'static str,
}

/// Python jobs (fixed ids): queued, scheduled, deferred, canceled on `default`; finished and
/// failed by a Python worker on `pyq`; pickled (Python's default serializer) on `default`.
pub const PY_QUEUED: &str = "py-queued";
/// Scheduled an hour ahead by Python's `enqueue_in`.
pub const PY_SCHEDULED: &str = "py-scheduled";
/// Waiting on `py-queued`.
pub const PY_DEFERRED: &str = "py-deferred";
/// Canceled by Python's `job.cancel()`.
pub const PY_CANCELED: &str = "py-canceled";
/// `tasks.add(2, 3)` run by a Python worker.
pub const PY_FINISHED: &str = "py-finished";
/// `tasks.boom('x')` failed by a Python worker, with a Python traceback.
pub const PY_FAILED: &str = "py-failed";
/// Enqueued with Python's default (pickle) serializer.
pub const PY_PICKLED: &str = "py-pickled";
/// `data` is garbage; in the failed registry.
pub const BAD_GARBAGE: &str = "bad-garbage";
/// An unknown status (`pending`); in the queue list.
pub const BAD_STATUS: &str = "bad-status";
/// Only a `status` field: no data, no origin, no timestamps; in the queue list.
pub const BAD_FIELDS: &str = "bad-fields";
/// Bytes that are not UTF-8 in field names and values, a bad timestamp and timeout; failed.
pub const BAD_BYTES: &str = "bad-bytes";
/// In the finished registry, but its hash has expired.
pub const GONE: &str = "gone-job";

/// Fills `redis` with jobs in every status.
pub fn every_status(redis: &RedisServer) -> Jobs {
    let finished = enqueue(redis, &["manage.echo", "--args", "[1, 2]"]);
    let failed = enqueue(
        redis,
        &["manage.fail", "--kwargs", r#"{"message": "it broke"}"#],
    );
    let webhook = enqueue(
        redis,
        &[
            "extras.webhooks.send_webhook",
            "--kwargs",
            r#"{"webhook": "site-hook", "secret": "s3cret-value", "event_rule": "sites", "object_type": "dcim.site", "event_type": "object_created", "data": {"id": 7, "name": "Amsterdam <b>"}, "timestamp": "2026-11-28T10:00:00+00:00", "username": "admin", "headers": {"Authorization": "Bearer hunter2"}}"#,
        ],
    );
    let out = manage_on(
        redis,
        &["rqworker", "--burst", "--name", "fixture-worker", "default"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let queued = enqueue(redis, &["manage.echo", "--args", r#"["later"]"#]);
    let retrying = enqueue(
        redis,
        &["manage.fail", "--retry", "3", "--retry-interval", "10,60"],
    );

    let tasks = python_tasks();
    python_run(
        redis,
        "
import os
from datetime import timedelta
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer
r = Redis.from_url(os.environ['REDIS_URL'])
q = Queue('default', connection=r, serializer=JSONSerializer)
q.enqueue('manage.echo', 'from python', job_id='py-queued')
q.enqueue_in(timedelta(hours=1), 'manage.echo', job_id='py-scheduled')
q.enqueue('manage.echo', job_id='py-deferred', depends_on='py-queued')
q.enqueue('manage.echo', job_id='py-canceled')
Job.fetch('py-canceled', connection=r, serializer=JSONSerializer).cancel()
pyq = Queue('pyq', connection=r, serializer=JSONSerializer)
pyq.enqueue('tasks.add', 2, 3, job_id='py-finished')
pyq.enqueue('tasks.boom', 'x', job_id='py-failed')
SimpleWorker([pyq], connection=r, serializer=JSONSerializer).work(burst=True)
Queue('default', connection=r).enqueue('manage.echo', 1, job_id='py-pickled')
",
        &[tasks.path()],
    );

    let mut conn = redis.conn();
    let data = super::rq::job_data(
        "manage.sleep",
        serde_json::json!([]),
        serde_json::json!({"seconds": 600}),
    );
    // RQ's timestamp format (`utils.utcformat`): UTC with microseconds and a Z.
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let started = "hand-started";
    let _: () = conn
        .hset_multiple(
            format!("rq:job:{started}"),
            &[
                ("status", b"started".as_slice()),
                ("origin", b"default"),
                ("data", &data),
                ("created_at", now.as_bytes()),
                ("started_at", now.as_bytes()),
                ("worker_name", b"ghost-worker"),
            ],
        )
        .unwrap();
    let _: () = conn
        .zadd(
            "rq:wip:default",
            format!("{started}:0123abcd"),
            4_000_000_000i64,
        )
        .unwrap();

    let put = |conn: &mut redis::Connection, id: &str, fields: &[(&[u8], &[u8])]| {
        let _: () = conn.hset_multiple(format!("rq:job:{id}"), fields).unwrap();
    };
    put(
        &mut conn,
        BAD_GARBAGE,
        &[
            (b"data", b"\x78\x9c not zlib"),
            (b"origin", b"default"),
            (b"status", b"failed"),
        ],
    );
    let _: () = conn
        .zadd("rq:failed:default", BAD_GARBAGE, 4_000_000_000i64)
        .unwrap();
    put(
        &mut conn,
        BAD_STATUS,
        &[
            (b"data", &data),
            (b"origin", b"default"),
            (b"status", b"pending"),
        ],
    );
    put(&mut conn, BAD_FIELDS, &[(b"status", b"queued")]);
    let _: () = conn
        .rpush("rq:queue:default", &[BAD_STATUS, BAD_FIELDS])
        .unwrap();
    put(
        &mut conn,
        BAD_BYTES,
        &[
            (b"data", b"\xff\xfe\x00"),
            (b"origin", b"default"),
            (b"status", b"failed"),
            (b"\xff\xfekey", b"\x80\x81"),
            (b"created_at", b"yesterday"),
            (b"timeout", b"10m"),
            (b"meta", b"\x80\x05pickled"),
            (b"exc_info", b"<script>alert(1)</script>"),
        ],
    );
    let _: () = conn
        .zadd("rq:failed:default", BAD_BYTES, 4_000_000_000i64)
        .unwrap();
    let _: () = conn
        .zadd("rq:finished:default", GONE, 4_000_000_000i64)
        .unwrap();
    Jobs {
        finished,
        failed,
        webhook,
        queued,
        retrying,
        started,
    }
}
