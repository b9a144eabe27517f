//! One webhook never hurts the others: `max_in_flight` and `rate_limit` hold across worker
//! processes, the circuit breaker holds a failing webhook's jobs (without using their retries)
//! and probes before it closes, `410 Gone` opens it until `manage webhooks --reset`, and a
//! runaway template fails fast in bounded memory, while other webhooks keep delivering.

mod support;

use std::{path::Path, time::Duration};

use redis::Commands;
use serde_json::Value;
use support::{
    endpoint::Endpoint,
    hooks::{enqueue_kind, hook, kind_rule, manage_in, project, QUIET},
    peak_kib, stderr, stdout, wait_until, RedisServer, Running,
};

/// `manage webhooks --json`, by name.
fn webhook_state(dir: &Path, name: &str) -> Value {
    let out = manage_in(dir, &["webhooks", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Value = serde_json::from_str(&stdout(&out)).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == name)
        .cloned()
        .unwrap()
}

/// `count` workers named w0, w1, … with `extra` flags (32 jobs in flight each unless they say).
fn workers(dir: &Path, count: usize, extra: &[&str]) -> Vec<Running> {
    (0..count)
        .map(|n| {
            let name = format!("w{n}");
            let mut args = vec!["rqworker", "--name", &name];
            if !extra.contains(&"--concurrency") {
                args.extend(["--concurrency", "32"]);
            }
            args.extend(extra);
            args.push("default");
            Running::start_in(dir, &args)
        })
        .collect()
}

fn finished(redis: &RedisServer) -> u64 {
    redis.conn().zcard("rq:finished:default").unwrap()
}

#[test]
fn max_in_flight_holds_across_two_workers() {
    let redis = RedisServer::start();
    let slow = Endpoint::start();
    slow.set_delay(Duration::from_millis(300));
    let dir = project(
        &redis,
        &(hook("slow", &slow.base(), "max_in_flight = 2") + &kind_rule("slow", "slow", "s", "")),
    );
    enqueue_kind(dir.path(), QUIET, "s", 1..21);
    let mut running = workers(dir.path(), 2, &["--burst"]);
    for worker in &mut running {
        worker.assert_exits(0, Duration::from_secs(60));
    }
    assert_eq!(slow.received(), 20);
    assert_eq!(
        slow.most_at_once(),
        2,
        "never more than two, and two were used"
    );
    assert_eq!(finished(&redis), 20);
    // Waiting used no retry: every job was attempted once.
    let ids: Vec<String> = redis.conn().zrange("rq:finished:default", 0, -1).unwrap();
    for id in ids {
        let attempts: u64 = redis
            .conn()
            .hget(format!("rq:job:{id}"), "manage_attempts")
            .unwrap();
        assert_eq!(attempts, 1, "{id}");
    }
    assert!(running.iter().any(|w| w.output().contains("waits (deferred, no retry used): webhook slow waits: 2 (max_in_flight) deliveries are under way")));
}

#[test]
fn rate_limit_holds_across_two_workers() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project(
        &redis,
        &(hook("limited", &endpoint.base(), "rate_limit = 50")
            + &kind_rule("limited", "limited", "r", "")),
    );
    enqueue_kind(dir.path(), QUIET, "r", 1..401);
    let _running = workers(dir.path(), 2, &[]);
    assert!(
        wait_until(Duration::from_secs(30), || endpoint.received() >= 320),
        "only {} arrived",
        endpoint.received()
    );
    let mut arrivals: Vec<_> = endpoint.requests().iter().map(|r| r.at).collect();
    arrivals.sort();
    // Over five seconds from the first request, 50 a second: 250, within 10 %.
    let window = Duration::from_secs(5);
    let in_window = arrivals
        .iter()
        .filter(|at| **at - arrivals[0] < window)
        .count();
    assert!(
        (225..=275).contains(&in_window),
        "{in_window} requests in the first five seconds (rate_limit = 50)"
    );
}

#[test]
fn an_open_circuit_holds_jobs_probes_and_closes() {
    let redis = RedisServer::start();
    let flaky = Endpoint::start();
    let steady = Endpoint::start();
    flaky.set_status(503);
    let dir = project(
        &redis,
        &(hook(
            "flaky",
            &flaky.base(),
            "breaker_failures = 3\nbreaker_open = 1",
        ) + &hook("steady", &steady.base(), "")
            + &kind_rule("flaky", "flaky", "f", "retry = { max = 1 }")
            + &kind_rule("steady", "steady", "s", "")),
    );
    enqueue_kind(dir.path(), QUIET, "f", 1..31);
    let running = workers(dir.path(), 2, &["--concurrency", "2"]);
    assert!(
        wait_until(Duration::from_secs(20), || webhook_state(
            dir.path(),
            "flaky"
        )["circuit"]
            == "open"),
        "{}",
        webhook_state(dir.path(), "flaky")
    );
    let failed_before = flaky.received();
    let state = webhook_state(dir.path(), "flaky");
    assert!(state["failures"].as_u64().unwrap() >= 3, "{state}");
    assert!(state["waiting"].as_u64().unwrap() > 0, "{state}");
    assert_eq!(state["last_status"], "503");
    // Meanwhile another webhook on the same workers delivers everything it is given.
    enqueue_kind(dir.path(), QUIET, "s", 1000..1200);
    assert!(
        wait_until(Duration::from_secs(20), || steady.received() == 200),
        "steady got {}",
        steady.received()
    );
    // A probe comes alone while the circuit is open; it fails, and the circuit opens again.
    assert!(
        wait_until(Duration::from_secs(20), || flaky.received() > failed_before),
        "no probe came"
    );
    assert!(wait_until(Duration::from_secs(10), || {
        let state = webhook_state(dir.path(), "flaky");
        state["circuit"] == "open" && state["failures"].as_u64() > Some(3)
    }));
    assert_eq!(
        flaky.received(),
        failed_before + 1,
        "one probe, nothing beside it"
    );
    // The endpoint recovers: the next probe succeeds, the circuit closes, the jobs go.
    flaky.set_status(200);
    assert!(
        wait_until(Duration::from_secs(30), || webhook_state(
            dir.path(),
            "flaky"
        )["circuit"]
            == "closed"
            && finished(&redis) == 230),
        "{} finished; {}",
        finished(&redis),
        webhook_state(dir.path(), "flaky")
    );
    // Jobs that waited used no retry: no job has more attempts than its one retry allows, and
    // every job of the flaky webhook delivered.
    let mut conn = redis.conn();
    let ids: Vec<String> = conn.zrange("rq:finished:default", 0, -1).unwrap();
    let mut attempts = 0;
    for id in &ids {
        let n: u64 = conn
            .hget(format!("rq:job:{id}"), "manage_attempts")
            .unwrap();
        assert!(n <= 2, "{id} attempted {n} times");
        attempts += n;
    }
    assert_eq!(attempts as usize, flaky.received() + steady.received());
    assert_eq!(webhook_state(dir.path(), "flaky")["failures"], 0);
    // The operator reads the outage in the workers' logs as a few lines, not one per job.
    let logs: String = running.iter().map(Running::output).collect();
    let count = |text: &str| logs.matches(text).count();
    assert_eq!(
        count("webhook flaky: circuit open after 3 failed attempts in a row (last: 503)"),
        1,
        "{logs}"
    );
    assert!(
        count("webhook flaky: the probe failed (503)") >= 1,
        "{logs}"
    );
    assert_eq!(
        count("webhook flaky: circuit closed (a delivery answered 200)"),
        1,
        "{logs}"
    );
    assert_eq!(
        count(" WARN "),
        count("failed in ") + count("webhook flaky: "),
        "{logs}"
    );
}

#[test]
fn gone_opens_the_circuit_until_reset() {
    gone_until_reset("breaker_failures = 5\nbreaker_open = 1");
}

/// A webhook with no limits and no breaker has a circuit for `410 Gone` all the same.
#[test]
fn gone_opens_the_circuit_of_a_webhook_without_a_breaker_too() {
    gone_until_reset("");
}

/// One `410 Gone` holds every later delivery of the webhook (no probes, no retries used) until
/// `manage webhooks --reset`, which sends them.
fn gone_until_reset(webhook_extra: &str) {
    let redis = RedisServer::start();
    let gone = Endpoint::start();
    gone.set_status(410);
    let dir = project(
        &redis,
        &(hook("gone", &gone.base(), webhook_extra) + &kind_rule("gone", "gone", "g", "")),
    );
    enqueue_kind(dir.path(), QUIET, "g", 1..11);
    let _running = workers(dir.path(), 1, &["--concurrency", "1"]);
    assert!(
        wait_until(Duration::from_secs(20), || webhook_state(
            dir.path(),
            "gone"
        )["circuit"]
            == "gone"),
        "{}",
        webhook_state(dir.path(), "gone")
    );
    assert_eq!(gone.received(), 1, "one 410 is enough");
    // Past breaker_open no probe comes: only an operator closes it.
    let waited = std::time::Instant::now();
    assert!(!wait_until(Duration::from_secs(3), || gone.received() > 1));
    assert!(waited.elapsed() >= Duration::from_secs(3));
    assert_eq!(webhook_state(dir.path(), "gone")["waiting"], 9);
    gone.set_status(200);
    let out = manage_in(dir.path(), &["webhooks", "--reset", "gone"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Webhook gone: circuit closed (it was gone); waiting jobs go back on their queues.\n"
    );
    assert!(
        wait_until(Duration::from_secs(20), || gone.received() == 10),
        "{} arrived",
        gone.received()
    );
    let out = manage_in(dir.path(), &["webhooks"]);
    let table = stdout(&out);
    assert!(table.starts_with("WEBHOOK"), "{table}");
    let row = table.lines().find(|l| l.starts_with("gone ")).unwrap();
    assert!(row.contains(" closed ") && row.contains(" 200 "), "{row}");
    let unknown = manage_in(dir.path(), &["webhooks", "--reset", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn runaway_templates_fail_fast_in_bounded_memory_while_others_deliver() {
    let redis = RedisServer::start();
    let bomb = Endpoint::start();
    let other = Endpoint::start();
    let nested =
        "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}";
    let huge = "{% for i in range(100000) %}{{ 'x' * 1048 }}{% endfor %}";
    let dir = project(
        &redis,
        &(hook(
            "bomb",
            &bomb.base(),
            &format!("body_template = \"{nested}\""),
        ) + &hook("huge", &bomb.base(), &format!("body_template = \"{huge}\""))
            + &hook("other", &other.base(), "")
            + &kind_rule("bomb", "bomb", "b", "")
            + &kind_rule("huge", "huge", "h", "")
            + &kind_rule("other", "other", "o", "")),
    );
    enqueue_kind(dir.path(), QUIET, "b", 1..4);
    enqueue_kind(dir.path(), QUIET, "h", 10..11);
    enqueue_kind(dir.path(), QUIET, "o", 100..300);
    let mut worker = Running::start_in(dir.path(), &["rqworker", "--concurrency", "64", "default"]);
    assert!(
        wait_until(Duration::from_secs(60), || redis
            .conn()
            .zcard::<_, u64>("rq:failed:default")
            .unwrap()
            == 4
            && other.received() == 200),
        "{}",
        worker.output()
    );
    let peak = peak_kib(worker.child.id());
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    assert_eq!(
        bomb.received(),
        0,
        "nothing was sent for the runaway templates"
    );
    let log = worker.output();
    assert_eq!(
        log.matches("Error rendering request body for webhook bomb: the template ran out of fuel")
            .count(),
        3,
        "{log}"
    );
    assert!(
        log.contains("Error rendering request body for webhook huge: the rendered text is over 10485760 bytes (the bound for body_template); rendering stopped"),
        "{log}"
    );
    worker.stop(libc::SIGTERM, Duration::from_secs(10));
    // Never sent, yet attempts all the same: in the webhook's delivery log and the job's results.
    let out = manage_in(
        dir.path(),
        &[
            "deliveries",
            "--webhook",
            "bomb",
            "--status",
            "failed",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let logged: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let logged = logged.as_array().unwrap();
    assert_eq!(logged.len(), 3, "{logged:?}");
    for line in logged {
        let status = line["status"].as_str().unwrap();
        assert!(
            status.starts_with(
                "not sent: Error rendering request body for webhook bomb: the template ran out of fuel"
            ),
            "{status}"
        );
        let job = stdout(&manage_in(
            dir.path(),
            &["rqjob", line["job"].as_str().unwrap()],
        ));
        assert!(
            job.lines()
                .any(|l| l.trim_start().starts_with("1 ") && l.contains("not sent: ")),
            "the job's attempts table shows attempt 1, not sent:\n{job}"
        );
    }
}

/// Across worker processes: one worker's `410` holds a webhook without limits on the others too
/// (each reads its webhooks' circuits every second, so the test waits out that second, the
/// promised bound), and the reset sends every job that waited.
#[test]
fn one_workers_410_holds_a_webhook_without_limits_on_every_worker() {
    let redis = RedisServer::start();
    let gone = Endpoint::start();
    gone.set_status(410);
    let dir = project(
        &redis,
        &(hook("gone", &gone.base(), "") + &kind_rule("gone", "gone", "g", "")),
    );
    let _running = workers(dir.path(), 2, &["--concurrency", "4"]);
    enqueue_kind(dir.path(), QUIET, "g", 1..2);
    assert!(
        wait_until(Duration::from_secs(20), || webhook_state(
            dir.path(),
            "gone"
        )["circuit"]
            == "gone"),
        "{}",
        webhook_state(dir.path(), "gone")
    );
    assert_eq!(gone.received(), 1);
    std::thread::sleep(Duration::from_millis(1500));
    enqueue_kind(dir.path(), QUIET, "g", 2..22);
    assert!(
        wait_until(Duration::from_secs(20), || webhook_state(
            dir.path(),
            "gone"
        )["waiting"]
            == 20),
        "{}",
        webhook_state(dir.path(), "gone")
    );
    assert_eq!(
        gone.received(),
        1,
        "neither worker sent to the gone endpoint again"
    );
    gone.set_status(200);
    let out = manage_in(dir.path(), &["webhooks", "--reset", "gone"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        wait_until(Duration::from_secs(20), || gone.received() == 21),
        "{} arrived",
        gone.received()
    );
}
