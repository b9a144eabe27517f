//! What operators see: every attempt in the job's results (read back by Python RQ), the
//! per-webhook delivery log and its cap, targeted requeues, `/metrics` checked by promtool and
//! scraped by a real Prometheus server, `/live` and `/ready` through a Redis outage, and the
//! trace a change carries to its webhook.

mod support;

use std::{path::Path, process::Command, time::Duration};

use redis::Commands;
use serde_json::Value;
use support::{
    endpoint::Endpoint,
    hooks::{burst, enqueue_kind, hook, kind_rule, manage_in, project},
    stderr, stdout, stdout_json, wait_until, RedisServer, Running,
};

#[test]
fn every_attempt_is_recorded_and_python_rq_reads_them() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project(
        &redis,
        &(hook("h", &endpoint.base(), "") + &kind_rule("h-a", "h", "a", "retry = { max = 3 }")),
    );
    endpoint.answer_next(&[503, 503]);
    let id = enqueue_kind(dir.path(), &[], "a", 1..2).remove(0);
    burst(dir.path(), &[]);
    assert_eq!(endpoint.received(), 3);
    // Python RQ lists the three results, newest first: SUCCESSFUL, RETRIED, RETRIED.
    let listed = support::python_run(
        &redis,
        &format!("import os\nfrom redis import Redis\nfrom rq.job import Job\nfrom rq.serializers import JSONSerializer\njob = Job.fetch('{id}', connection=Redis.from_url(os.environ['REDIS_URL']), serializer=JSONSerializer)\nfor r in job.results():\n    print(r.type.name, repr(r.exc_string.splitlines()[0] if r.exc_string else r.return_value))\n"),
        &[],
    );
    assert_eq!(
        listed.trim(),
        "SUCCESSFUL 'Status 200 returned, webhook successfully processed.'\nRETRIED \"Status 503 returned with content 'answer 503', webhook FAILED to process.\"\nRETRIED \"Status 503 returned with content 'answer 503', webhook FAILED to process.\""
    );
    // rqjob shows them as a table, oldest first, with status and the answer's first bytes.
    let out = manage_in(dir.path(), &["rqjob", &id]);
    let text = stdout(&out);
    let table = text.split("Attempts:\n").nth(1).expect("an attempts table");
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{table}");
    for (row, (n, outcome, status, answer)) in rows.iter().zip([
        ("1", "retried", "503", "answer 503"),
        ("2", "retried", "503", "answer 503"),
        ("3", "successful", "200", "answer 200"),
    ]) {
        let cells: Vec<&str> = row
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells[0], n, "{row}");
        assert_eq!(cells[1], outcome, "{row}");
        assert!(cells.contains(&status) && cells.contains(&answer), "{row}");
    }
    let detail = stdout_json(&manage_in(dir.path(), &["rqjob", &id, "--json"]));
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 3);
    assert!(detail["attempts"][0]["duration_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn the_delivery_log_lists_lines_by_filter_and_stays_within_its_cap() {
    let redis = RedisServer::start();
    let good = Endpoint::start();
    let bad = Endpoint::start();
    bad.set_status(500);
    let dir = project(
        &redis,
        &("[history]\nmax_per_webhook = 5\n".to_string()
            + &hook("good", &good.base(), "")
            + &hook("bad", &bad.base(), "")
            + &kind_rule("good-g", "good", "g", "")
            + &kind_rule("bad-b", "bad", "b", "")),
    );
    let failed_ids = enqueue_kind(dir.path(), &[], "b", 1..4);
    enqueue_kind(dir.path(), &[], "g", 100..112);
    burst(dir.path(), &[]);
    let failed = stdout_json(&manage_in(
        dir.path(),
        &[
            "deliveries",
            "--webhook",
            "bad",
            "--status",
            "failed",
            "--json",
        ],
    ));
    let jobs: Vec<&str> = failed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["job"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = failed_ids.iter().map(String::as_str).collect();
    let mut got = jobs.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert!(failed
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "500" && d["ok"] == false));
    // The good webhook's log keeps its five newest of twelve.
    let len: u64 = redis.conn().xlen("manage:deliveries:good").unwrap();
    assert_eq!(len, 5);
    let kept = stdout_json(&manage_in(
        dir.path(),
        &[
            "deliveries",
            "--webhook",
            "good",
            "--json",
            "--limit",
            "100",
        ],
    ));
    let ids: Vec<u64> = kept
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["object_id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(ids.iter().all(|id| *id >= 100), "{ids:?}");
    assert!(stdout_json(&manage_in(
        dir.path(),
        &["deliveries", "--status", "ok", "--webhook", "bad", "--json"]
    ))
    .as_array()
    .unwrap()
    .is_empty());
    // Newest first, across webhooks, and --since excludes what is older.
    let all = stdout_json(&manage_in(dir.path(), &["deliveries", "--json"]));
    let times: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    let future = stdout_json(&manage_in(
        dir.path(),
        &["deliveries", "--since", "2999-01-01T00:00:00Z", "--json"],
    ));
    assert!(future.as_array().unwrap().is_empty());
    let text = stdout(&manage_in(dir.path(), &["deliveries", "--webhook", "bad"]));
    assert!(
        text.starts_with("TIME") && text.lines().count() == 4,
        "{text}"
    );
}

#[test]
fn requeue_failed_filters_pick_exactly_their_jobs() {
    let redis = RedisServer::start();
    let e503 = Endpoint::start();
    e503.set_status(503);
    let e404 = Endpoint::start();
    e404.set_status(404);
    let dir = project(
        &redis,
        &(hook("a", &e503.base(), "")
            + &hook("b", &e404.base(), "")
            + &hook("c", "http://127.0.0.1:1/refused", "")
            + &kind_rule("a-a", "a", "a", "")
            + &kind_rule("b-b", "b", "b", "")
            + &kind_rule("c-c", "c", "c", "")),
    );
    let a = enqueue_kind(dir.path(), &[], "a", 1..3);
    let b = enqueue_kind(dir.path(), &[], "b", 10..13);
    let c = enqueue_kind(dir.path(), &[], "c", 20..21);
    burst(dir.path(), &[]);
    assert_eq!(
        redis.conn().zcard::<_, u64>("rq:failed:default").unwrap(),
        6
    );
    // How many failed jobs a dry run says the filters pick (the real runs below check ids).
    let picked = |args: &[&str]| -> u64 {
        let mut full = vec!["requeue_failed", "--dry-run", "--json"];
        full.extend(args);
        let report = stdout_json(&manage_in(dir.path(), &full));
        assert_eq!(report["requeued"], 0);
        report["would_requeue"].as_u64().unwrap()
    };
    assert_eq!(picked(&["--webhook", "a"]), 2);
    assert_eq!(picked(&["--status-code", "503"]), 2);
    assert_eq!(picked(&["--status-code", "4xx"]), 3);
    assert_eq!(picked(&["--status-code", "5xx", "--webhook", "b"]), 0);
    assert_eq!(picked(&["--reason", "Connection failed"]), 1);
    assert_eq!(picked(&["--reason", "^Status 40[0-9]"]), 3);
    assert_eq!(picked(&["--since", "1h"]), 6);
    assert_eq!(picked(&["--until", "1h"]), 0);
    assert_eq!(picked(&["--all", "--queue", "other"]), 0);
    // Nothing moved in the dry runs.
    assert_eq!(
        redis.conn().zcard::<_, u64>("rq:failed:default").unwrap(),
        6
    );
    let out = manage_in(dir.path(), &["requeue_failed", "--status-code", "4xx"]);
    assert_eq!(stdout(&out), "Requeued 3 jobs\n", "{}", stderr(&out));
    let failed: Vec<String> = redis.conn().zrange("rq:failed:default", 0, -1).unwrap();
    let queued: Vec<String> = redis.conn().lrange("rq:queue:default", 0, -1).unwrap();
    let mut expected_queued = b.clone();
    expected_queued.sort();
    let mut queued_sorted = queued.clone();
    queued_sorted.sort();
    assert_eq!(queued_sorted, expected_queued);
    let mut expected_failed: Vec<String> = a.iter().chain(&c).cloned().collect();
    expected_failed.sort();
    let mut failed_sorted = failed.clone();
    failed_sorted.sort();
    assert_eq!(failed_sorted, expected_failed);
    let out = manage_in(
        dir.path(),
        &[
            "requeue_failed",
            "--webhook",
            "a",
            "--reason",
            "503",
            "--json",
        ],
    );
    let report = stdout_json(&out);
    assert_eq!(report["requeued"], 2);
    assert_eq!(report["queues"]["default"], 2);
    let bad = manage_in(dir.path(), &["requeue_failed", "--status-code", "5x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--status-code"), "{}", stderr(&bad));
    let typo = manage_in(dir.path(), &["requeue_failed", "--webhook", "nope"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        stderr(&typo).contains("--webhook: no [[webhooks]] entry is named \"nope\""),
        "{}",
        stderr(&typo)
    );
}

/// The address a worker logged for its probes.
fn probes_address(worker: &Running) -> String {
    assert!(
        wait_until(Duration::from_secs(10), || worker
            .output()
            .contains("Serving /metrics")),
        "{}",
        worker.output()
    );
    let log = worker.output();
    let line = log
        .lines()
        .find(|l| l.contains("Serving /metrics"))
        .unwrap();
    line.rsplit("http://").next().unwrap().trim().to_string()
}

fn get(url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-m", "5", "-w", "\n%{http_code}", url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.parse().unwrap_or(0), body.to_string())
}

#[test]
fn metrics_pass_promtool_and_a_real_prometheus_scrapes_them() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let failing = Endpoint::start();
    failing.set_status(500);
    let dir = project(
        &redis,
        &(hook("h", &endpoint.base(), "")
            + &hook("f", &failing.base(), "breaker_failures = 100")
            + &kind_rule("h-a", "h", "a", "")
            + &kind_rule("f-b", "f", "b", "")),
    );
    enqueue_kind(dir.path(), &[], "a", 1..8);
    enqueue_kind(dir.path(), &[], "b", 100..102);
    let worker = Running::start_in(
        dir.path(),
        &[
            "rqworker",
            "--name",
            "w1",
            "--metrics-bind",
            "127.0.0.1:0",
            "default",
        ],
    );
    let address = probes_address(&worker);
    assert!(wait_until(Duration::from_secs(10), || endpoint.received()
        == 7
        && failing.received() == 2));
    let (status, text) = get(&format!("http://{address}/metrics"));
    assert_eq!(status, 200);
    for wanted in [
        "rq_workers{name=\"w1\",queues=\"default\",state=\"idle\"} 1",
        "rq_jobs{queue=\"default\",status=\"finished\"} 7",
        "rq_jobs{queue=\"default\",status=\"failed\"} 2",
        "rq_job_successful_total{name=\"w1\",queues=\"default\"} 7",
        "rq_job_failed_total{name=\"w1\",queues=\"default\"} 2",
        "manage_deliveries_total{outcome=\"delivered\",status_class=\"2xx\",webhook=\"h\"} 7",
        "manage_deliveries_total{outcome=\"failed\",status_class=\"5xx\",webhook=\"f\"} 2",
        "manage_delivery_duration_seconds_count{webhook=\"h\"} 7",
        "manage_circuit_state{webhook=\"f\"} 0",
        "manage_jobs_in_flight 0",
    ] {
        assert!(text.contains(wanted), "{wanted} not in\n{text}");
    }
    let checked = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(checked.path(), &text).unwrap();
    let promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(checked.path()).unwrap())
        .output()
        .expect("promtool (Debian's prometheus package; scripts/setup.sh installs it)");
    assert!(
        promtool.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&promtool.stdout),
        String::from_utf8_lossy(&promtool.stderr)
    );
    // A real Prometheus server scrapes the worker every second.
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: manage\n    static_configs:\n      - targets: ['{address}']\n"),
    )
    .unwrap();
    let (prometheus, port) = start_prometheus(&config, data.path());
    let query = format!(
        "http://127.0.0.1:{port}/api/v1/query?query=sum(manage_deliveries_total%7Boutcome%3D%22delivered%22%7D)"
    );
    let mut last = String::new();
    let scraped = wait_until(Duration::from_secs(30), || {
        last = get(&query).1;
        serde_json::from_str::<Value>(&last)
            .ok()
            .and_then(|v| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .map(str::to_string)
            })
            .is_some_and(|v| v == "7")
    });
    drop(prometheus);
    assert!(scraped, "Prometheus answered {last}");
}

/// A Prometheus server on a free port (retried when another process takes the port first).
fn start_prometheus(config: &Path, data: &Path) -> (support::KillOnDrop, u16) {
    for _ in 0..5 {
        // A port nothing listens on now; if something takes it before Prometheus does, the
        // readiness check below fails and another is tried.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus (Debian's prometheus package; scripts/setup.sh installs it)");
        let mut child = support::KillOnDrop(child);
        if wait_until(Duration::from_secs(15), || {
            get(&format!("http://127.0.0.1:{port}/-/ready")).0 == 200
        }) {
            return (child, port);
        }
        let _ = child.0.kill();
    }
    panic!("prometheus did not start");
}

#[test]
fn live_and_ready_follow_a_redis_outage() {
    let mut redis = RedisServer::start();
    let dir = project(&redis, "");
    let worker = Running::start_in(
        dir.path(),
        &["rqworker", "--metrics-bind", "127.0.0.1:0", "default"],
    );
    let address = probes_address(&worker);
    assert!(wait_until(Duration::from_secs(10), || get(&format!(
        "http://{address}/ready"
    ))
    .0 == 200));
    assert_eq!(
        get(&format!("http://{address}/live")),
        (200, "live\n".into())
    );
    let (_, metrics) = get(&format!("http://{address}/metrics"));
    assert!(metrics.contains("\nmanage_redis_up 1\n"), "{metrics}");
    assert!(metrics.contains("\nrq_workers{"), "{metrics}");
    redis.kill();
    let why = answers(&address, "/ready", 503, Duration::from_secs(10));
    assert!(
        why.starts_with("not ready: Redis at redis://127.0.0.1:"),
        "{why}"
    );
    let why = answers(&address, "/live", 503, Duration::from_secs(10));
    assert!(
        why.starts_with("not live: the worker's loop is waiting for Redis at redis://127.0.0.1:"),
        "{why}"
    );
    // The worker's own metrics are still served, saying Redis did not answer.
    let (status, metrics) = get(&format!("http://{address}/metrics"));
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.contains("\nmanage_redis_up 0\n"), "{metrics}");
    assert!(metrics.contains("\nmanage_jobs_in_flight 0\n"), "{metrics}");
    assert!(!metrics.contains("rq_workers"), "{metrics}");
    redis.restart_with(&["--appendonly", "no"]);
    for probe in ["/ready", "/live"] {
        answers(&address, probe, 200, Duration::from_secs(30));
    }
}

/// Waits up to `within` for `GET path` on `address` to answer `status`; returns what it said.
fn answers(address: &str, path: &str, status: u16, within: Duration) -> String {
    let url = format!("http://{address}{path}");
    let mut last = (0, String::new());
    let answered = wait_until(within, || {
        last = get(&url);
        last.0 == status
    });
    assert!(answered, "{path} did not answer {status}: {last:?}");
    last.1
}

#[test]
fn a_delivery_continues_the_trace_of_its_change() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project(
        &redis,
        &(hook("h", &endpoint.base(), "") + &kind_rule("h-a", "h", "a", "")),
    );
    let given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let out = manage_in(
        dir.path(),
        &[
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            "created",
            "--data",
            r#"{"id": 1, "kind": "a"}"#,
            "--traceparent",
            given,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    let meta: String = redis.conn().hget(format!("rq:job:{id}"), "meta").unwrap();
    assert_eq!(meta, format!("{{\"traceparent\":\"{given}\"}}"));
    // Without one, a new trace starts.
    enqueue_kind(dir.path(), &[], "a", 2..3);
    let out = manage_in(dir.path(), &["rqworker", "--burst", "default"]);
    assert!(out.status.success());
    let requests = endpoint.requests();
    let traced: Vec<&str> = requests
        .iter()
        .map(|r| r.header("traceparent").unwrap())
        .collect();
    let ours = traced
        .iter()
        .find(|t| t.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
        .expect("the given trace id arrived");
    assert_ne!(*ours, given, "a new span id");
    assert!(ours.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && ours.ends_with("-01"));
    let other = traced.iter().find(|t| !t.contains("4bf92f35")).unwrap();
    assert_eq!(other.len(), 55, "{other}");
    // The worker's log line for the job names the trace.
    assert!(
        stderr(&out).contains(&format!("{id} [trace 4bf92f3577b34da6a3ce929d0e0e4736]")),
        "{}",
        stderr(&out)
    );
    let bad = manage_in(
        dir.path(),
        &[
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            "created",
            "--data",
            "{}",
            "--traceparent",
            "nope",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_webhooks_view_shows_rates_and_charts() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project(
        &redis,
        &(hook("h", &endpoint.base(), "") + &kind_rule("h-a", "h", "a", "")),
    );
    endpoint.answer_next(&[500, 500]);
    enqueue_kind(dir.path(), &[], "a", 1..11);
    burst(dir.path(), &[]);
    let server = Running::start_in(dir.path(), &["background_tasks", "--bind", "127.0.0.1:0"]);
    let url = support::background_tasks_url(&server);
    let (base, token) = url.split_once("/?token=").unwrap();
    let page = |path: &str| -> (u16, String) {
        let out = Command::new("curl")
            .args([
                "-s",
                "-m",
                "5",
                "-w",
                "\n%{http_code}",
                "-H",
                &format!("Authorization: Bearer {token}"),
                &format!("{base}{path}"),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.parse().unwrap(), body.to_string())
    };
    let (status, html) = page("/webhooks");
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("aria-label=\"Deliveries over the last hour: 8 delivered, 2 failed\""),
        "{html}"
    );
    assert!(html.contains("80.0%"), "{html}");
    let (status, html) = page("/webhooks/h");
    assert_eq!(status, 200);
    assert!(html.contains("Deliveries over the last day: 8 delivered, 2 failed"));
    assert_eq!(
        html.matches("href=\"/jobs/").count(),
        10,
        "every delivery links to its job"
    );
    let (status, metrics) = page("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("rq_jobs{queue=\"default\",status=\"failed\"} 2"),
        "{metrics}"
    );
    assert_eq!(get(&format!("{base}/metrics")).0, 401, "behind the token");
}
