//! Reliability with real processes: a worker killed with SIGKILL mid-flight, Redis stopped
//! under load, and four workers sharing one Redis. Deliveries are counted by `request_id` at a
//! real HTTP receiver, as an operator checking for lost or repeated webhooks would.

mod support;

use std::time::Duration;

use redis::Commands;
use support::{
    endpoint::Endpoint,
    load::{self, deliveries, missing, twice},
    stderr, wait_until, RedisServer, Running,
};

/// 1,000 webhooks in flight when the worker is killed with SIGKILL: restarting it under the same
/// name reclaims the jobs it held at once, and every webhook arrives at least once.
#[test]
fn sigkill_with_a_thousand_in_flight_loses_nothing() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    // Slow enough that all 1000 are still in flight once the last batch has been taken.
    endpoint.set_delay(Duration::from_secs(5));
    let dir = load::project(&redis.url(), &endpoint);
    load::enqueued(dir.path(), "kill", 0..1000);

    let args = [
        "rqworker",
        "--name",
        "doomed",
        "--concurrency",
        "1000",
        "default",
    ];
    let worker = Running::start_in(dir.path(), &args);
    let mut conn = redis.conn();
    let mut most = 0;
    assert!(
        wait_until(Duration::from_secs(60), || {
            most = most.max(conn.zcard::<_, usize>("rq:wip:default").unwrap_or(0));
            most == 1000
        }),
        "the started registry never held 1000 jobs (at most {most}):\n{}",
        worker.output()
    );
    let mut worker = worker;
    worker.kill();
    let received_before_kill = endpoint.received();

    let mut again = Running::start_in(
        dir.path(),
        &[
            "rqworker",
            "--name",
            "doomed",
            "--concurrency",
            "1000",
            "--burst",
            "default",
        ],
    );
    again.assert_exits(0, Duration::from_secs(90));
    assert!(
        again
            .output()
            .contains("left by a crashed worker with this name"),
        "{}",
        again.output()
    );
    let counts = deliveries(&endpoint);
    assert_eq!(missing(&counts, "kill", 0..1000), Vec::<String>::new());
    eprintln!(
        "sigkill: {} distinct request ids delivered, {} twice ({} requests had arrived before the kill)",
        counts.len(),
        twice(&counts),
        received_before_kill
    );
    assert_eq!(conn.zcard::<_, usize>("rq:wip:default").unwrap(), 0);
    assert_eq!(conn.zcard::<_, usize>("rq:finished:default").unwrap(), 1000);
}

/// Redis stopped while webhooks are being delivered: the worker says so once, naming the URL,
/// and keeps the outcomes of the deliveries it finishes meanwhile; `enqueue_event` fails with a
/// clear error. After the restart every event that was enqueued successfully is delivered, the
/// kept outcomes are written (every job in the finished registry, none left started), and the
/// worker still stops cleanly.
#[test]
fn redis_outage_under_load_is_reported_and_survived() {
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut redis = RedisServer::start_with(&aof);
    let endpoint = Endpoint::start();
    endpoint.set_delay(Duration::from_millis(50));
    let dir = load::project(&redis.url(), &endpoint);
    load::enqueued(dir.path(), "before", 0..2000);
    let mut worker = Running::start_in(
        dir.path(),
        &[
            "rqworker",
            "--concurrency",
            "20",
            "--job-monitoring-interval",
            "1",
            "default",
        ],
    );
    assert!(wait_until(Duration::from_secs(60), || endpoint.received() >= 200));

    redis.kill();
    let down = load::enqueue(dir.path(), "during", 0..10);
    assert_eq!(down.status.code(), Some(1), "{}", stderr(&down));
    let message = stderr(&down);
    assert!(
        message.contains(&format!(
            "CommandError: cannot reach Redis at {}",
            redis.url()
        )),
        "{message}"
    );
    // The deliveries in flight finish, and their outcomes are kept: the writer says it cannot
    // record them and retries with a growing delay (0.1 s, 0.2 s, … 1.6 s), while the job loop
    // looks for Redis every second, so five retries leave it time to have logged the outage more
    // than once. (The kept outcomes are checked in the registries after the restart.)
    assert!(
        wait_until(Duration::from_secs(30), || worker
            .stderr()
            .matches("cannot record")
            .count()
            >= 5),
        "{}",
        worker.output()
    );
    let log = worker.stderr();
    assert_eq!(
        log.matches(&format!("Redis unavailable at {}", redis.url()))
            .count(),
        1,
        "the outage is logged once, naming the URL:\n{log}"
    );

    redis.restart_with(&aof);
    load::enqueued(dir.path(), "after", 0..500);
    assert!(
        wait_until(Duration::from_secs(120), || {
            let counts = deliveries(&endpoint);
            missing(&counts, "before", 0..2000).is_empty()
                && missing(&counts, "after", 0..500).is_empty()
        }),
        "missing after the outage: {:?}\n{}",
        {
            let counts = deliveries(&endpoint);
            let mut lost = missing(&counts, "before", 0..2000);
            lost.extend(missing(&counts, "after", 0..500));
            lost
        },
        worker.output()
    );
    assert!(
        wait_until(Duration::from_secs(10), || worker
            .output()
            .contains(&format!("Redis is back at {}", redis.url()))),
        "{}",
        worker.output()
    );
    let mut conn = redis.conn();
    assert!(
        wait_until(Duration::from_secs(30), || {
            conn.zcard::<_, usize>("rq:finished:default").unwrap() == 2500
                && conn.zcard::<_, usize>("rq:wip:default").unwrap() == 0
        }),
        "finished {}, started {}:\n{}",
        conn.zcard::<_, usize>("rq:finished:default").unwrap(),
        conn.zcard::<_, usize>("rq:wip:default").unwrap(),
        worker.output()
    );
    assert_eq!(conn.llen::<_, usize>("rq:queue:default").unwrap(), 0);
    worker.stop(libc::SIGTERM, Duration::from_secs(30));
    let counts = deliveries(&endpoint);
    let log = worker.output();
    eprintln!(
        "outage: {} distinct delivered, {} twice; enqueue_event said: {}; worker said:\n{}\n({} heartbeat warnings, {} outcome-write retries)",
        counts.len(),
        twice(&counts),
        message.trim(),
        log.lines()
            .filter(|l| l.contains("Redis unavailable") || l.contains("Redis is back"))
            .collect::<Vec<_>>()
            .join("\n"),
        log.matches("heartbeat failed").count(),
        log.matches("cannot record").count(),
    );
}

/// Four worker processes on one Redis share 50,000 webhooks: each arrives exactly once.
#[test]
fn four_workers_deliver_fifty_thousand_exactly_once() {
    const N: usize = 50_000;
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = load::project(&redis.url(), &endpoint);
    load::enqueued(dir.path(), "many", 0..N);
    let mut workers: Vec<Running> = (0..4)
        .map(|_| {
            Running::start_in(
                dir.path(),
                &[
                    "-v",
                    "0",
                    "rqworker",
                    "--burst",
                    "--concurrency",
                    "64",
                    "default",
                ],
            )
        })
        .collect();
    for worker in &mut workers {
        worker.assert_exits(0, Duration::from_secs(300));
    }
    let counts = deliveries(&endpoint);
    assert_eq!(endpoint.received(), N, "requests received");
    assert_eq!(counts.len(), N, "distinct request ids");
    assert_eq!(twice(&counts), 0, "request ids delivered twice");
    assert_eq!(
        redis
            .conn()
            .zcard::<_, usize>("rq:finished:default")
            .unwrap(),
        N
    );
}

/// Redis frozen (SIGSTOP) while a worker's dequeue is on its way: Redis runs the dequeue when it
/// thaws, but the reply is lost to the worker's reply timeout. The jobs it took are back on
/// their queue as soon as Redis answers again, not a heartbeat's lapse and a maintenance pass
/// (a minute or more) later: every webhook arrives within seconds, each once.
#[test]
fn jobs_taken_by_a_dequeue_whose_reply_was_lost_come_back_at_once() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = tempfile::tempdir().unwrap();
    support::hooks::write_config(
        dir.path(),
        &redis.url(),
        &format!(
            "connect_timeout = 0.5\nreply_timeout = 0.5\n{}{}",
            support::hooks::hook("h", &format!("{}/hook", endpoint.base()), ""),
            "[[event_rules]]\nname = \"sites\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"updated\"]\nwebhook = \"h\"\n"
        ),
    );
    load::enqueued(dir.path(), "lost", 0..20);
    endpoint.hold();
    let worker = Running::start_in(dir.path(), &["rqworker", "--concurrency", "5"]);
    assert!(
        wait_until(Duration::from_secs(15), || endpoint.waiting() == 5),
        "five deliveries under way: {}",
        worker.output()
    );
    redis.freeze(true);
    // The five answers free five slots: the next dequeue goes to a Redis that answers nothing.
    endpoint.release();
    let timed_out = wait_until(Duration::from_secs(15), || {
        worker.output().contains("Redis unavailable")
    });
    redis.freeze(false);
    assert!(
        timed_out,
        "the dequeue's reply timed out: {}",
        worker.output()
    );
    assert!(
        wait_until(Duration::from_secs(20), || deliveries(&endpoint).len()
            == 20),
        "{} of 20 delivered; started: {:?}; {}",
        deliveries(&endpoint).len(),
        redis
            .conn()
            .zrange::<_, Vec<String>>("rq:wip:default", 0, -1)
            .unwrap(),
        worker.output()
    );
    assert!(
        worker
            .output()
            .contains("taken while Redis's reply was lost put back"),
        "{}",
        worker.output()
    );
    assert_eq!(twice(&deliveries(&endpoint)), 0, "none was sent twice");
}
