//! `manage rqstats`, `rqjobs` and `rqjob` against a real Redis holding jobs in every status: run
//! by our worker, enqueued and run by Python RQ, written by hand, and malformed.

mod support;

use std::{collections::HashMap, time::Duration};

use redis::Commands;
use serde_json::Value;
use support::{
    fixtures::{self, *},
    manage_on,
    rq::status,
    stderr, stdout, stdout_json, wait_until, RedisServer, Running,
};

#[test]
fn rqjobs_lists_every_status_ours_pythons_and_malformed_jobs() {
    let redis = RedisServer::start();
    let jobs = fixtures::every_status(&redis);

    let all = stdout_json(&manage_on(&redis, &["rqjobs", "--json", "--limit", "1000"]));
    let listed = all["jobs"].as_array().unwrap();
    assert_eq!(all["total"].as_u64().unwrap(), listed.len() as u64);
    let by_id: HashMap<&str, &Value> = listed
        .iter()
        .map(|j| (j["id"].as_str().unwrap(), j))
        .collect();
    let status = |id: &str| by_id[id]["status"].as_str().unwrap().to_string();
    for (id, expected) in [
        (jobs.finished.as_str(), "finished"),
        (jobs.failed.as_str(), "failed"),
        (jobs.webhook.as_str(), "failed"),
        (jobs.queued.as_str(), "queued"),
        (jobs.started, "started"),
        (PY_QUEUED, "queued"),
        (PY_SCHEDULED, "scheduled"),
        (PY_DEFERRED, "deferred"),
        (PY_CANCELED, "canceled"),
        (PY_FINISHED, "finished"),
        (PY_FAILED, "failed"),
        (BAD_FIELDS, "queued"),
        (GONE, "missing"),
    ] {
        assert_eq!(status(id), expected, "{id}");
    }
    assert_eq!(
        status(BAD_STATUS),
        r#"<undecodable: unknown job status "pending">"#
    );
    assert_eq!(by_id[jobs.failed.as_str()]["reason"], "it broke");
    assert_eq!(by_id[PY_FAILED]["reason"], "ValueError: boom: x");
    assert_eq!(by_id[PY_FAILED]["queue"], "pyq");
    assert_eq!(by_id[PY_FINISHED]["function"], "tasks.add");
    // RQ keeps the function's name in plain text in the description: shown, saying so.
    assert!(by_id[PY_PICKLED]["function"]
        .as_str()
        .unwrap()
        .starts_with("manage.echo <from its description: job data is pickled"));
    assert!(by_id[BAD_GARBAGE]["function"]
        .as_str()
        .unwrap()
        .starts_with("<undecodable: job data is not valid JSON"));
    assert!(by_id[BAD_FIELDS]["function"]
        .as_str()
        .unwrap()
        .contains("no 'data' field"));
    assert!(by_id[BAD_BYTES]["function"]
        .as_str()
        .unwrap()
        .starts_with("<undecodable:"));
    assert!(by_id[jobs.finished.as_str()]["ended_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let failed = stdout_json(&manage_on(
        &redis,
        &[
            "rqjobs", "--json", "--queue", "default", "--status", "failed",
        ],
    ));
    let mut ids: Vec<&str> = failed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![
        jobs.failed.as_str(),
        jobs.webhook.as_str(),
        BAD_GARBAGE,
        BAD_BYTES,
    ];
    expected.sort();
    assert_eq!(ids, expected);

    // Both flags repeat: jobs of either queue, in either status.
    let both = stdout_json(&manage_on(
        &redis,
        &[
            "rqjobs", "--json", "--queue", "default", "--queue", "pyq", "--status", "failed",
            "--status", "finished",
        ],
    ));
    let mut ids: Vec<&str> = both["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![
        jobs.failed.as_str(),
        jobs.webhook.as_str(),
        BAD_GARBAGE,
        BAD_BYTES,
        jobs.finished.as_str(),
        GONE,
        PY_FINISHED,
        PY_FAILED,
    ];
    expected.sort();
    assert_eq!(ids, expected);

    let text = manage_on(&redis, &["rqjobs", "--queue", "pyq"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = stdout(&text);
    let header = text.lines().next().unwrap();
    for column in [
        "ID", "QUEUE", "STATUS", "FUNCTION", "CREATED", "ENDED", "REASON",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        text.contains("ValueError: boom: x") && text.contains("tasks.add"),
        "{text}"
    );

    let limited = stdout(&manage_on(&redis, &["rqjobs", "--limit", "2"]));
    assert_eq!(limited.lines().count(), 4, "{limited}");
    assert!(
        limited.contains(&format!("Showing 2 of {} jobs", listed.len())),
        "{limited}"
    );
    assert_eq!(
        stdout(&manage_on(&redis, &["rqjobs", "--queue", "empty"])),
        "No jobs.\n"
    );
    let bad = manage_on(&redis, &["rqjobs", "--status", "pending"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn rqjob_shows_one_job_as_text_and_json_whatever_wrote_it() {
    let redis = RedisServer::start();
    let jobs = fixtures::every_status(&redis);

    let failed = manage_on(&redis, &["rqjob", &jobs.failed]);
    assert!(failed.status.success(), "{}", stderr(&failed));
    let text = stdout(&failed);
    for expected in [
        format!("Job               {}", jobs.failed),
        "Queue             default".to_string(),
        "Status            failed".to_string(),
        "Function          manage.fail".to_string(),
        "Worker            fixture-worker".to_string(),
        "Failure:\n  it broke".to_string(),
        "\"message\": \"it broke\"".to_string(),
    ] {
        assert!(text.contains(&expected), "{expected:?} in\n{text}");
    }

    let finished = stdout_json(&manage_on(&redis, &["rqjob", &jobs.finished, "--json"]));
    assert_eq!(finished["status"], "finished");
    assert_eq!(finished["function"], "manage.echo");
    assert_eq!(finished["args"], serde_json::json!([1, 2]));
    assert_eq!(finished["worker_name"], "fixture-worker");
    assert_eq!(finished["result"]["kind"], "successful");
    assert_eq!(
        finished["result"]["return_value"],
        serde_json::json!({"args": [1, 2], "kwargs": {}})
    );
    assert!(finished["failure"].is_null());
    assert_eq!(finished["problems"], serde_json::json!([]));

    let webhook = manage_on(&redis, &["rqjob", &jobs.webhook]);
    let text = stdout(&webhook);
    assert!(text.contains("Webhook           site-hook"), "{text}");
    assert!(text.contains("Event             object_created"), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("s3cret-value"),
        "secrets stay hidden:\n{text}"
    );
    assert!(
        text.contains("secret='********'"),
        "even in the description:\n{text}"
    );
    let webhook = stdout_json(&manage_on(&redis, &["rqjob", &jobs.webhook, "--json"]));
    assert_eq!(webhook["webhook"]["name"], "site-hook");
    assert_eq!(webhook["webhook"]["object_type"], "dcim.site");
    assert_eq!(webhook["kwargs"]["headers"]["Authorization"], "********");
    assert!(
        webhook["webhook"]["target"].is_null(),
        "not in these settings"
    );

    // With the webhook configured, the target shows, its user name and password as ***, never the
    // secret.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("manage.toml"),
        format!("[redis]\nurl = \"{}\"\n[[webhooks]]\nname = \"site-hook\"\npayload_url = \"https://user:pw1234@hooks.example.com/in\"\nsecret = \"topsecret\"\n", redis.url()),
    )
    .unwrap();
    let configured =
        support::run(support::manage(dir.path()).args(["rqjob", &jobs.webhook, "--json"]));
    let configured: serde_json::Value = serde_json::from_slice(&configured.stdout).unwrap();
    assert_eq!(
        configured["webhook"]["target"],
        "POST https://***@hooks.example.com/in"
    );
    assert!(
        !configured.to_string().contains("pw1234") && !configured.to_string().contains("topsecret")
    );

    let python = stdout_json(&manage_on(&redis, &["rqjob", PY_FAILED, "--json"]));
    assert_eq!(python["function"], "tasks.boom");
    assert_eq!(python["args"], serde_json::json!(["x"]));
    let failure = python["failure"].as_str().unwrap();
    assert!(
        failure.starts_with("Traceback") && failure.contains("ValueError: boom: x"),
        "{failure}"
    );
    let python = stdout_json(&manage_on(&redis, &["rqjob", PY_FINISHED, "--json"]));
    assert_eq!(python["result"]["return_value"], 5);
    let scheduled = stdout_json(&manage_on(&redis, &["rqjob", PY_SCHEDULED, "--json"]));
    assert_eq!(scheduled["status"], "scheduled");

    let retrying = stdout(&manage_on(&redis, &["rqjob", &jobs.retrying]));
    assert!(
        retrying.contains("Retries left      3 (intervals [10, 60] s)"),
        "{retrying}"
    );

    for (id, expected) in [
        (BAD_GARBAGE, "<undecodable: job data is not valid JSON"),
        (
            PY_PICKLED,
            "manage.echo <from its description: job data is pickled",
        ),
        (BAD_STATUS, r#"<undecodable: unknown job status "pending">"#),
        (BAD_FIELDS, "<undecodable: job has no 'data' field>"),
        (BAD_BYTES, "field 'timeout' is \"10m\""),
    ] {
        let out = manage_on(&redis, &["rqjob", id]);
        assert!(out.status.success(), "{id}: {}", stderr(&out));
        assert!(stdout(&out).contains(expected), "{id}:\n{}", stdout(&out));
        let out = stdout_json(&manage_on(&redis, &["rqjob", id, "--json"]));
        assert!(!out["problems"].as_array().unwrap().is_empty(), "{id}");
    }

    let missing = manage_on(&redis, &["rqjob", "no-such-job"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        stderr(&missing),
        "CommandError: Job no-such-job does not exist\n"
    );
    let invalid = manage_on(&redis, &["rqjob", "a:b"]);
    assert_eq!(invalid.status.code(), Some(2));
    let two = manage_on(&redis, &["rqjob", &jobs.failed, "--requeue", "--delete"]);
    assert_eq!(two.status.code(), Some(2), "one action at a time");
}

#[test]
fn rqjob_actions_change_redis_and_refuse_what_does_not_apply() {
    let redis = RedisServer::start();
    let jobs = fixtures::every_status(&redis);
    let mut conn = redis.conn();

    let out = manage_on(&redis, &["rqjob", &jobs.failed, "--requeue"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("Job {} has been re-enqueued.\n", jobs.failed)
    );
    assert_eq!(status(&redis, &jobs.failed), "queued");
    let queue: Vec<String> = conn.lrange("rq:queue:default", 0, -1).unwrap();
    assert_eq!(queue.last(), Some(&jobs.failed));
    assert!(conn
        .zscore::<_, _, Option<f64>>("rq:failed:default", &jobs.failed)
        .unwrap()
        .is_none());
    let again = manage_on(&redis, &["rqjob", &jobs.failed, "--requeue"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("is not in the failed job registry"),
        "{}",
        stderr(&again)
    );

    let out = manage_on(&redis, &["rqjob", PY_FAILED, "--requeue", "--json"]);
    let value = stdout_json(&out);
    assert_eq!(value["action"], "requeue");
    assert_eq!(value["queue"], "pyq");
    assert_eq!(
        value["message"],
        format!("Job {PY_FAILED} has been re-enqueued.")
    );

    let out = manage_on(&redis, &["rqjob", &jobs.finished, "--enqueue-again"]);
    assert_eq!(
        stdout(&out),
        format!("Job {} has been enqueued.\n", jobs.finished)
    );
    assert_eq!(status(&redis, &jobs.finished), "queued");
    assert_eq!(
        conn.ttl::<_, i64>(format!("rq:job:{}", jobs.finished))
            .unwrap(),
        -1,
        "a queued job no longer expires with its old result"
    );
    assert!(conn
        .zscore::<_, _, Option<f64>>("rq:finished:default", &jobs.finished)
        .unwrap()
        .is_none());
    assert_eq!(
        conn.lrange::<_, Vec<String>>("rq:queue:default", -1, -1)
            .unwrap(),
        vec![jobs.finished.clone()]
    );
    let out = manage_on(&redis, &["rqjob", PY_CANCELED, "--enqueue-again"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(conn.zcard::<_, u64>("rq:canceled:default").unwrap(), 0);
    let refused = manage_on(&redis, &["rqjob", &jobs.queued, "--enqueue-again"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("has not ended"),
        "{}",
        stderr(&refused)
    );

    for id in [jobs.webhook.as_str(), jobs.started, PY_DEFERRED, BAD_BYTES] {
        let out = manage_on(&redis, &["rqjob", id, "--delete"]);
        assert_eq!(
            stdout(&out),
            format!("Job {id} has been deleted.\n"),
            "{}",
            stderr(&out)
        );
        assert!(!conn.exists::<_, bool>(format!("rq:job:{id}")).unwrap());
        assert!(!conn.exists::<_, bool>(format!("rq:results:{id}")).unwrap());
    }
    assert_eq!(conn.zcard::<_, u64>("rq:wip:default").unwrap(), 0);
    assert_eq!(conn.zcard::<_, u64>("rq:deferred:default").unwrap(), 0);
    let failed: Vec<String> = conn.zrange("rq:failed:default", 0, -1).unwrap();
    assert_eq!(failed, vec![BAD_GARBAGE.to_string()]);
    let gone = manage_on(&redis, &["rqjob", jobs.started, "--delete"]);
    assert_eq!(gone.status.code(), Some(1));

    let refused = manage_on(&redis, &["rqjob", &jobs.queued, "--stop"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("is not running"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn rqjob_stop_reaches_the_worker_running_the_job() {
    let redis = RedisServer::start();
    let out = manage_on(
        &redis,
        &[
            "rqenqueue",
            "manage.sleep",
            "--queue",
            "slow",
            "--kwargs",
            r#"{"seconds": 60}"#,
        ],
    );
    let id = stdout(&out).trim().to_string();
    let mut conn = redis.conn();
    let _worker = Running::start(&redis, &["rqworker", "--name", "sleeper", "slow"]);
    assert!(wait_until(Duration::from_secs(15), || status(&redis, &id) == "started"));
    let stats = stdout_json(&manage_on(&redis, &["rqstats", "--json"]));
    let worker = &stats["workers"][0];
    assert_eq!(worker["name"], "sleeper");
    assert_eq!(worker["state"], "busy");
    assert_eq!(worker["current_job"], id.as_str());

    let out = manage_on(&redis, &["rqjob", &id, "--stop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("Job {id} has been sent a stop command; worker sleeper is stopping it.\n")
    );
    assert!(wait_until(Duration::from_secs(10), || status(&redis, &id) == "stopped"));
    assert!(conn
        .zscore::<_, _, Option<f64>>("rq:failed:slow", &id)
        .unwrap()
        .is_some());
    let text = stdout(&manage_on(&redis, &["rqjob", &id]));
    assert!(text.contains("Job stopped by user"), "{text}");
    let again = manage_on(&redis, &["rqjob", &id, "--stop"]);
    assert_eq!(again.status.code(), Some(1));
    let requeued = manage_on(&redis, &["rqjob", &id, "--requeue"]);
    assert!(requeued.status.success(), "a stopped job can be requeued");
}

#[test]
fn rqstats_counts_every_registry_and_shows_workers() {
    let redis = RedisServer::start();
    let jobs = fixtures::every_status(&redis);
    let mut conn = redis.conn();
    let _worker = Running::start(&redis, &["rqworker", "--name", "stats-worker", "high"]);
    assert!(wait_until(Duration::from_secs(10), || conn
        .hget::<_, _, Option<String>>("rq:worker:stats-worker", "state")
        .unwrap()
        .as_deref()
        == Some("idle")));

    let stats = stdout_json(&manage_on(&redis, &["rqstats", "--json"]));
    let queues = stats["queues"].as_array().unwrap();
    let names: Vec<&str> = queues.iter().map(|q| q["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["default", "high", "pyq"]);
    let default = &queues[0];
    let expect = |key: &str, redis_key: &str, conn: &mut redis::Connection| {
        let count: u64 = if key == "queued" {
            conn.llen(redis_key).unwrap()
        } else {
            conn.zcard(redis_key).unwrap()
        };
        assert_eq!(default[key].as_u64().unwrap(), count, "{key}");
        count
    };
    assert_eq!(expect("queued", "rq:queue:default", &mut conn), 6);
    assert_eq!(expect("started", "rq:wip:default", &mut conn), 1);
    assert_eq!(expect("deferred", "rq:deferred:default", &mut conn), 1);
    assert_eq!(expect("finished", "rq:finished:default", &mut conn), 2);
    assert_eq!(expect("failed", "rq:failed:default", &mut conn), 4);
    assert_eq!(expect("scheduled", "rq:scheduled:default", &mut conn), 1);
    assert_eq!(expect("canceled", "rq:canceled:default", &mut conn), 1);
    assert_eq!(queues[1]["workers"], serde_json::json!(["stats-worker"]));
    assert_eq!(queues[2]["finished"], 1);
    assert_eq!(queues[2]["failed"], 1);
    let workers = stats["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0]["name"], "stats-worker");
    assert_eq!(workers[0]["state"], "idle");
    assert_eq!(workers[0]["successes"], 0);
    assert!(workers[0]["last_heartbeat"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(stats["suspended"], false);
    let by_id = stdout_json(&manage_on(&redis, &["rqjobs", "--json", "--limit", "1000"]));
    let listed: Vec<&str> = by_id["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    for id in [&jobs.finished, &jobs.failed, &jobs.queued, &jobs.webhook] {
        assert!(listed.contains(&id.as_str()), "{id} listed");
    }

    let text = stdout(&manage_on(&redis, &["rqstats"]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("QUEUE") && lines[0].ends_with("WORKERS"),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("default")
            && l.split_whitespace().collect::<Vec<_>>()[1..7] == ["6", "1", "1", "2", "4", "1"]),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("high") && l.ends_with("stats-worker")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("stats-worker") && l.contains(" idle ")),
        "{text}"
    );
    assert!(text.ends_with("3 queues, 1 worker\n"), "{text}");

    let mut watching = Running::start(&redis, &["rqstats", "--interval", "1"]);
    assert!(
        wait_until(Duration::from_secs(10), || watching
            .output()
            .matches("QUEUE ")
            .count()
            >= 2),
        "a block per interval: {}",
        watching.output()
    );
    assert!(
        !watching.output().contains('\x1b'),
        "no screen clearing into a file"
    );
    watching.stop(libc::SIGINT, Duration::from_secs(10));
}

/// Without `--limit`, `rqjobs` shows 50 jobs and says how many there are.
#[test]
fn rqjobs_shows_fifty_jobs_unless_told() {
    let redis = RedisServer::start();
    let out = manage_on(
        &redis,
        &[
            "rqenqueue",
            "manage.echo",
            "--queue",
            "default",
            "--count",
            "51",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&manage_on(&redis, &["rqjobs"]));
    let lines: Vec<&str> = listed.lines().collect();
    // The header, 50 jobs, and the line saying what was left out.
    assert_eq!(lines.len(), 52, "{listed}");
    assert_eq!(
        lines[51],
        "Showing 50 of 51 jobs; use --limit, --queue or --status to see others."
    );
    let all = stdout(&manage_on(&redis, &["rqjobs", "--limit", "51"]));
    assert_eq!(all.lines().count(), 52, "header and 51 jobs:\n{all}");
}

/// `rqstats --interval` on a terminal redraws the screen like `top`; into a pipe it appends
/// plain blocks, with no escape codes.
#[test]
fn rqstats_interval_redraws_on_a_terminal_and_appends_into_a_pipe() {
    let redis = RedisServer::start();
    let manage = support::manage_bin();
    // `script` gives the command a pseudo-terminal; `timeout` ends it with SIGINT (Ctrl-C).
    let out = std::process::Command::new("script")
        .args(["-qfec"])
        .arg(format!(
            "timeout -s INT 2.5 {} rqstats --interval 1",
            manage.display()
        ))
        .arg("/dev/null")
        .env("MANAGE_REDIS_URL", redis.url())
        .env("NO_COLOR", "1")
        .output()
        .expect("script (util-linux) runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    let redraws = screen
        .matches("\x1b[H\x1b[2JEvery 1 s; Ctrl-C to stop. ")
        .count();
    assert!(redraws >= 2, "{redraws} redraws:\n{screen:?}");

    let mut piped = support::manage(&std::env::temp_dir());
    piped
        .args(["rqstats", "--interval", "1"])
        .env("MANAGE_REDIS_URL", redis.url())
        .stdout(std::process::Stdio::piped());
    let mut child = piped.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    support::signal(&child, libc::SIGINT);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut text = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut text).unwrap();
    assert!(!text.contains('\x1b'), "{text:?}");
    assert!(text.matches(" UTC\n").count() >= 2, "{text}");
}
