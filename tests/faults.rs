//! Misbehaving endpoints end to end: each job ends failed (or scheduled for its retry) with a
//! reason a user can act on, and one slow endpoint never holds up deliveries to the others.

mod support;

use std::{
    io::Write,
    net::TcpStream,
    os::fd::AsRawFd,
    sync::{Arc, Condvar, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::Commands;
use support::{
    endpoint::{self_signed_ca, Endpoint},
    hooks::{
        answer_with, burst, enqueue_site, hook, project, project_sending_to, raw_server, rule,
    },
    rq::{in_failed, reasons, status as job_status, zlib},
    run_with_input, stderr, wait_until, ClosedPort, RedisServer, Running,
};

const SITE: &str = r#"{"id": 4, "name": "Site 4"}"#;

/// Closes the connection with a TCP reset instead of an answer.
fn reset(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}

/// Accepts and never answers (until the client gives up).
fn hang(stream: TcpStream) {
    std::thread::sleep(Duration::from_secs(30));
    drop(stream);
}

/// A 500 with a 50 MB body, written for as long as the client reads.
fn huge(mut stream: TcpStream) {
    let size = 50 * 1024 * 1024;
    let _ = write!(
        stream,
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n"
    );
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..size / chunk.len() {
        if stream.write_all(&chunk).is_err() {
            return;
        }
    }
}

/// A 429 asking for two minutes' patience.
fn too_many(stream: TcpStream) {
    answer_with(
        stream,
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow",
    );
}

#[test]
fn each_misbehaving_endpoint_fails_its_job_with_a_readable_reason() {
    let redis = RedisServer::start();
    let closed = ClosedPort::new();
    let refused = closed.http();
    let resetting = raw_server(reset);
    let hanging = raw_server(hang);
    let broken = Endpoint::start();
    broken.set_status(503);
    let huge_answer = raw_server(huge);
    let looping = Endpoint::start();
    looping.set_redirect(Some("/loop"));
    let (_ca, cert, key) = self_signed_ca();
    let untrusted = Endpoint::start_tls(&cert, &key);
    let hooks = [
        hook("refused", &format!("{refused}/r"), ""),
        hook("reset", &format!("{resetting}/r"), ""),
        hook("hang", &format!("{hanging}/r"), "timeout = 1"),
        hook("broken", &format!("{}/r", broken.base()), ""),
        hook("huge", &format!("{huge_answer}/r"), ""),
        hook(
            "loop",
            &format!("{}/loop", looping.base()),
            "follow_redirects = true",
        ),
        hook("tls", &format!("{}/r", untrusted.base()), ""),
    ];
    let names = ["refused", "reset", "hang", "broken", "huge", "loop", "tls"];
    let config = hooks.concat() + &names.map(|n| rule(n, "")).concat();
    let dir = project(&redis, &config);
    let ids = enqueue_site(dir.path(), "created", SITE);
    assert_eq!(ids.len(), names.len());
    burst(dir.path(), &[]);
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let reasons = reasons(&redis, &ids);
    let reason = |i: usize| {
        assert_eq!(job_status(&redis, ids[i]), "failed", "{}", names[i]);
        assert!(in_failed(&redis, ids[i]), "{}", names[i]);
        reasons[i].clone()
    };

    let r = reason(0);
    assert!(
        r.starts_with(&format!("Connection failed for POST {refused}/r: "))
            && r.contains("refused"),
        "{r}"
    );
    let r = reason(1);
    assert!(
        r.starts_with(&format!("Request failed for POST {resetting}/r: "))
            || r.starts_with(&format!("Connection failed for POST {resetting}/r: ")),
        "{r}"
    );
    assert_eq!(
        reason(2),
        format!("Request to {hanging}/r timed out after 1 seconds")
    );
    assert_eq!(
        reason(3),
        "Status 503 returned with content 'answer 503', webhook FAILED to process."
    );
    assert_eq!(
        reason(4),
        format!(
            "Status 500 returned with content '{}', webhook FAILED to process.",
            "x".repeat(500)
        )
    );
    let r = reason(5);
    assert!(
        r.starts_with(&format!(
            "Too many redirects for POST {}/loop",
            looping.base()
        )),
        "{r}"
    );
    assert_eq!(
        looping.requests().len(),
        11,
        "the first request and 10 redirects"
    );
    let r = reason(6);
    assert!(r.to_lowercase().contains("certificate"), "{r}");
    assert!(untrusted.requests().is_empty());
}

#[test]
fn a_429_retry_waits_at_least_what_retry_after_says() {
    let redis = RedisServer::start();
    let limited = raw_server(too_many);
    let dir = project_sending_to(
        &redis,
        &format!("{limited}/r"),
        "retry = { max = 2, intervals = [1] }",
    );
    let ids = enqueue_site(dir.path(), "created", SITE);
    let epoch = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = epoch();
    burst(dir.path(), &[]);
    let after = epoch();
    assert_eq!(job_status(&redis, &ids[0]), "scheduled");
    // Scores are whole seconds: due 120 s after the 429 arrived, which was during the burst.
    let due: u64 = redis
        .conn()
        .zscore("rq:scheduled:default", &ids[0])
        .unwrap();
    assert!(
        (before + 120..=after + 121).contains(&due),
        "due {due}: not 120 s after the answer (the burst ran from {before} to {after})"
    );
    assert_eq!(
        redis
            .conn()
            .hget::<_, _, String>(format!("rq:job:{}", ids[0]), "retries_left")
            .unwrap(),
        "1"
    );
}

/// A gate a test opens once: until then, whoever waits at it waits.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, changed) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = changed.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }
}

#[test]
fn a_hanging_endpoint_does_not_starve_the_others() {
    let redis = RedisServer::start();
    let gate = Gate::default();
    let held = gate.clone();
    // Answers only once the test opens the gate: until then its deliveries hang.
    let hanging = raw_server(move |stream| {
        held.wait();
        answer_with(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        );
    });
    let fast = Endpoint::start();
    let config = hook("slow", &format!("{hanging}/slow"), "timeout = 120")
        + &hook("fast", &format!("{}/fast", fast.base()), "")
        + "[[event_rules]]\nname = \"slow\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"deleted\"]\nwebhook = \"slow\"\n"
        + "[[event_rules]]\nname = \"fast\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\"]\nwebhook = \"fast\"\n";
    let dir = project(&redis, &config);
    let lines: String = (0..5)
        .map(|i| format!("{{\"object_type\": \"dcim.site\", \"event\": \"deleted\", \"data\": {{\"id\": {i}}}}}\n"))
        .chain((0..200).map(|i| format!("{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {{\"id\": {i}}}}}\n")))
        .collect();
    let out = support::run_with_input(
        support::manage(dir.path()).args(["enqueue_event", "--lines"]),
        lines.as_bytes(),
    );
    assert!(out.status.success(), "{}", support::stderr(&out));
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 205);
    let (slow_ids, fast_ids) = ids.split_at(5);

    let mut worker = Running::start_in(dir.path(), &["rqworker", "--burst", "default"]);
    assert!(
        wait_until(Duration::from_secs(60), || fast_ids
            .iter()
            .all(|id| job_status(&redis, id) == "finished")),
        "{}",
        worker.output()
    );
    assert_eq!(fast.received(), 200);
    let still_waiting = slow_ids
        .iter()
        .filter(|id| job_status(&redis, id) == "started")
        .count();
    assert_eq!(
        still_waiting, 5,
        "all fast deliveries finished while the slow ones were still in flight"
    );
    gate.open();
    worker.assert_exits(0, Duration::from_secs(60));
    for id in slow_ids {
        assert_eq!(job_status(&redis, id), "finished");
    }
}

/// A job hash as field names and raw values.
type Fields = Vec<(String, Vec<u8>)>;

/// Writes a job hash and pushes its id, as a buggy or hostile producer might.
fn add_raw(conn: &mut redis::Connection, id: &str, fields: &[(&str, &[u8])]) {
    if !fields.is_empty() {
        let _: () = conn.hset_multiple(format!("rq:job:{id}"), fields).unwrap();
    }
    let _: () = conn.rpush("rq:queue:default", id).unwrap();
    let _: () = conn.sadd("rq:queues", "rq:queue:default").unwrap();
}

#[test]
fn malformed_job_hashes_and_bad_ids_fail_or_are_dropped_and_the_worker_goes_on() {
    let redis = RedisServer::start();
    let mut conn = redis.conn();
    let echo = zlib(br#"["manage.echo", null, [], {}]"#);
    let failing = zlib(br#"["manage.fail", null, [], {}]"#);
    let queued: &[(&str, &[u8])] = &[("origin", b"default"), ("status", b"queued")];
    let with = |extra: &[(&'static str, &'static [u8])], data: &[u8]| -> Fields {
        let mut fields: Vec<(String, Vec<u8>)> = queued
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        if !data.is_empty() {
            fields.push(("data".into(), data.to_vec()));
        }
        fields
    };
    let cases: Vec<(&str, Fields, &str)> = vec![
        ("no-data", with(&[], b""), "job has no 'data' field"),
        (
            "no-origin",
            vec![
                ("status".into(), b"queued".to_vec()),
                ("data".into(), echo.clone()),
            ],
            "",
        ),
        (
            "bad-retries",
            with(&[("retries_left", b"many")], &failing),
            "field 'retries_left' is \"many\", not an integer",
        ),
        (
            "bad-intervals",
            with(
                &[("retries_left", b"2"), ("retry_intervals", b"5s")],
                &failing,
            ),
            "field 'retry_intervals' is \"5s\", not a list of integers",
        ),
        (
            "data-object",
            with(&[], &zlib(br#"{"func": "manage.echo"}"#)),
            "",
        ),
        (
            "kwargs-list",
            with(&[], &zlib(br#"["manage.echo", null, [], [1, 2]]"#)),
            "",
        ),
    ];
    for (id, fields, _) in &cases {
        let fields: Vec<(&str, &[u8])> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        add_raw(&mut conn, id, &fields);
    }
    let long_id = "x".repeat(1024);
    for id in ["bad id", "a:b", long_id.as_str()] {
        add_raw(
            &mut conn,
            id,
            &with(&[], &echo)
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect::<Vec<_>>(),
        );
    }
    // Ids with no job hash at all are skipped.
    add_raw(&mut conn, "no hash:here", &[]);
    add_raw(
        &mut conn,
        "good",
        &[
            ("origin", b"default"),
            ("status", b"queued"),
            ("data", &echo),
        ],
    );

    let out = support::manage_on(&redis, &["-v", "2", "rqworker", "--burst", "default"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let failed: Vec<&str> = cases
        .iter()
        .filter(|(_, _, reason)| !reason.is_empty())
        .map(|(id, _, _)| *id)
        .chain(["data-object", "kwargs-list"])
        .collect();
    let shown = reasons(&redis, &failed);
    let (shown, odd) = shown.split_at(failed.len() - 2);
    for ((id, _, reason), shown) in cases.iter().filter(|c| !c.2.is_empty()).zip(shown) {
        assert_eq!(job_status(&redis, id), "failed", "{id}");
        assert!(in_failed(&redis, id), "{id}");
        assert_eq!(shown, reason, "{id}");
    }
    assert!(odd[0].ends_with("not an array"), "{}", odd[0]);
    assert!(
        odd[1].ends_with("kwargs is [1,2] instead of an object"),
        "{}",
        odd[1]
    );
    // The worker knows which queue it took a job from; a missing origin does not stop it.
    assert_eq!(job_status(&redis, "no-origin"), "finished");
    // Redis keys are binary-safe: odd ids are ordinary jobs, and ids with ':' do not confuse
    // the started registry's "<id>:<execution>" members.
    for id in ["bad id", "a:b", long_id.as_str()] {
        assert_eq!(
            job_status(&redis, id),
            "finished",
            "{}",
            &id[..id.len().min(10)]
        );
    }
    assert_eq!(conn.zcard::<_, u64>("rq:wip:default").unwrap(), 0);
    assert_eq!(
        conn.llen::<_, u64>("rq:queue:default").unwrap(),
        0,
        "the id without a hash is dropped"
    );
    assert_eq!(job_status(&redis, "good"), "finished");
    assert!(
        support::stderr(&out).contains(
            "default: dropped job id \"no hash:here\" from the queue: it has no job hash"
        ),
        "{}",
        support::stderr(&out)
    );
}

#[test]
fn bad_flags_and_input_are_refused_with_exit_2_and_nothing_is_enqueued() {
    use std::{ffi::OsStr, os::unix::ffi::OsStrExt};
    let redis = RedisServer::start();
    let dir = project_sending_to(&redis, "http://127.0.0.1:9/", "");
    std::fs::write(dir.path().join("bad.json"), b"{\"name\": \"\xff\"}").unwrap();
    let cases: Vec<(Vec<&OsStr>, &str)> = vec![
        (
            ["rqworker", "--burst", "--concurrency", "0"]
                .map(OsStr::new)
                .to_vec(),
            "invalid value '0' for '--concurrency <CONCURRENCY>'",
        ),
        (
            ["rqworker", "--burst", "--concurrency", "many"]
                .map(OsStr::new)
                .to_vec(),
            "invalid value 'many' for '--concurrency <CONCURRENCY>'",
        ),
        (
            ["-v", "7", "check"].map(OsStr::new).to_vec(),
            "7 is not in 0..=3",
        ),
        (
            vec![
                OsStr::new("enqueue_event"),
                OsStr::new("--object-type"),
                OsStr::new("dcim.site"),
                OsStr::new("--event"),
                OsStr::new("created"),
                OsStr::new("--data"),
                OsStr::from_bytes(b"{\"name\": \"\xff\"}"),
            ],
            "invalid UTF-8",
        ),
        (
            [
                "enqueue_event",
                "--object-type",
                "dcim.site",
                "--event",
                "created",
                "--data",
                "@bad.json",
            ]
            .map(OsStr::new)
            .to_vec(),
            "cannot read the file: stream did not contain valid UTF-8",
        ),
        (
            [
                "enqueue_event",
                "--object-type",
                "dcim.site",
                "--event",
                "object_exploded",
                "--data",
                "{}",
            ]
            .map(OsStr::new)
            .to_vec(),
            "object_exploded",
        ),
    ];
    for (args, message) in cases {
        let out = support::run(support::manage(dir.path()).args(&args));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            support::stderr(&out)
        );
        assert!(
            support::stderr(&out).contains(message),
            "{args:?}: {}",
            support::stderr(&out)
        );
    }
    let out = support::run_with_input(
        support::manage(dir.path()).args(["enqueue_event", "--lines"]),
        b"{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {}}\n{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {\"name\": \"\xff\"}}\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(
        support::stderr(&out).contains("nothing was enqueued"),
        "{}",
        support::stderr(&out)
    );
    let keys: Vec<String> = redis.conn().keys("rq:*").unwrap();
    assert!(keys.is_empty(), "nothing written to Redis: {keys:?}");
}

#[test]
fn a_full_redis_is_named_in_one_line_with_what_got_in() {
    let redis =
        RedisServer::start_with(&["--maxmemory", "8mb", "--maxmemory-policy", "noeviction"]);
    let dir = support::hooks::project_sending_to(&redis, "http://127.0.0.1:9/", "");
    let lines: String = (0..30_000)
        .map(|i| format!("{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {{\"id\": {i}, \"name\": \"{}\"}}}}\n", "x".repeat(50)))
        .collect();
    let out = support::run_with_input(
        support::manage(dir.path()).args(["enqueue_event", "--lines"]),
        lines.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let said = support::stderr(&out);
    assert_eq!(
        said.lines().count(),
        1,
        "one line, not every refused command: {said}"
    );
    let enqueued: u64 = redis.conn().llen("rq:queue:default").unwrap();
    assert!(enqueued < 30_000, "Redis was meant to fill up");
    assert_eq!(
        said.trim_end(),
        format!("CommandError: Redis at {} refused the write: it is out of memory (maxmemory reached and its policy evicts nothing); {enqueued} event(s) were enqueued before it, the rest were not", redis.url())
    );
}

/// A queue key of the wrong type (written by hand) stops a batch halfway: the error says so,
/// and no job hash is left behind on no queue.
#[test]
fn a_queue_key_of_the_wrong_type_leaves_no_job_behind() {
    let redis = RedisServer::start();
    let dir = support::hooks::project_sending_to(&redis, "http://127.0.0.1:9/", "");
    redis
        .conn()
        .set::<_, _, ()>("rq:queue:default", "not a list")
        .unwrap();
    let lines: String = (0..3)
        .map(|i| format!("{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {{\"id\": {i}}}}}\n"))
        .collect();
    let out = support::run_with_input(
        support::manage(dir.path()).args(["enqueue_event", "--lines"]),
        lines.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let said = support::stderr(&out);
    assert!(
        said.contains("enqueue stopped at job") && said.contains("WRONGTYPE"),
        "{said}"
    );
    let jobs: Vec<String> = redis.conn().keys("rq:job:*").unwrap();
    assert!(jobs.is_empty(), "job hashes left on no queue: {jobs:?}");
}

/// A runaway line on `enqueue_event --lines` (or `--data -`) is refused by its number as soon
/// as it passes the limit, `[http] max_body` unless `--max-line` says otherwise, and nothing is
/// enqueued: a 12 MiB line is one event no webhook could carry.
#[test]
fn a_line_over_the_limit_is_refused_by_its_number_and_nothing_is_enqueued() {
    let redis = RedisServer::start();
    let dir = project_sending_to(&redis, "http://127.0.0.1:9/", "");
    let good = "{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {\"id\": 1}}\n";
    let huge = format!(
        "{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {{\"id\": 2, \"comments\": \"{}\"}}}}\n",
        "x".repeat(12 << 20)
    );
    let other = good.replace("\"id\": 1", "\"id\": 3");
    let input = format!("{good}{huge}{other}");
    let cases: [(&[&str], &str); 3] = [
        (
            &["enqueue_event", "--lines"],
            "line 2: longer than the limit of 10485760 bytes (--max-line)",
        ),
        (
            &["enqueue_event", "--lines", "--max-line", "1KiB"],
            "line 2: longer than the limit of 1024 bytes (--max-line)",
        ),
        (
            &[
                "enqueue_event",
                "--object-type",
                "dcim.site",
                "--event",
                "created",
                "--data",
                "-",
                "--max-line",
                "1MiB",
            ],
            "line 1: longer than the limit of 1048576 bytes (--max-line)",
        ),
    ];
    for (args, expected) in cases {
        let stdin = if args.contains(&"-") { &huge } else { &input };
        let out = run_with_input(support::manage(dir.path()).args(args), stdin.as_bytes());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected) && stderr(&out).contains("nothing was enqueued"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 0);
    }
    // With room for it, the same input goes in whole.
    let out = run_with_input(
        support::manage(dir.path()).args(["enqueue_event", "--lines", "--max-line", "13MiB"]),
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 3);
}
