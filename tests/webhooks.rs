//! The webhook pipeline end to end with real processes: `enqueue_event` → `rqworker` → a real
//! HTTP(S) server that records what it gets; signatures checked independently in Python.

mod support;

use std::time::Duration;

use redis::Commands;
use support::{
    endpoint::Endpoint,
    hooks::{
        burst, enqueue_site, hook, manage_in, project, project_sending_to, rule, write_config,
    },
    python_accepts_netbox_signature, python_run,
    rq::{calls, last_reason, latest_results, status as job_status},
    stderr, stdout, wait_until, ClosedPort, RedisServer, Running,
};

const SITE: &str = r#"{"id": 4, "name": "Site 4", "slug": "site-4", "status": {"value": "active", "label": "Active"}, "tags": [{"slug": "edge"}]}"#;

#[test]
fn delivers_with_templates_headers_and_a_signature_python_accepts() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let config = hook("site-hook", &format!("{}/hooks/{{{{ data.slug }}}}?event={{{{ event }}}}", endpoint.base()), "secret = \"s3cret\"\nadditional_headers = \"X-Env: prod\\nX-Object: {{ object_type }}\"")
        + &rule("site-hook", "conditions = { and = [{ attr = \"status.value\", value = \"active\" }] }\naction_data = { foo = 1 }");
    let dir = project(&redis, &config);
    let ids = enqueue_site(dir.path(), "created", SITE);
    assert_eq!(ids.len(), 1);
    burst(dir.path(), &[]);
    assert_eq!(job_status(&redis, &ids[0]), "finished");
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/site-4?event=created");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-env"), Some("prod"));
    assert_eq!(request.header("x-object"), Some("dcim.site"));
    let body = request.json();
    assert_eq!(body["event"], "created");
    assert_eq!(body["object_type"], "dcim.site");
    assert_eq!(body["username"], "admin");
    assert_eq!(body["request_id"], "req-1");
    assert_eq!(body["data"]["foo"], 1, "action_data merged into data");
    assert_eq!(body["data"]["slug"], "site-4");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "event",
            "timestamp",
            "object_type",
            "username",
            "request_id",
            "data"
        ],
        "NetBox 4.6.8's keys: no request, no snapshots, so neither key"
    );

    let signature = request.header("x-hook-signature").unwrap();
    assert!(python_accepts_netbox_signature(
        "s3cret",
        &request.body,
        signature
    ));
    assert!(!python_accepts_netbox_signature(
        "another",
        &request.body,
        signature
    ));
    let result = latest_results(&redis, &[&ids[0]]).remove(&ids[0]).unwrap();
    let result = result.expect("a result");
    assert_eq!(result.kind, "successful");
    assert_eq!(
        result.return_value,
        "Status 200 returned, webhook successfully processed."
    );
}

#[test]
fn body_template_method_and_content_type() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let config = hook(
        "put-hook",
        &format!("{}/x", endpoint.base()),
        "http_method = \"PUT\"\nhttp_content_type = \"text/plain\"\nbody_template = \"{{ event }} {{ data.name }} by {{ username }}{{ missing }}\"",
    ) + &rule("put-hook", "");
    let dir = project(&redis, &config);
    enqueue_site(dir.path(), "updated", SITE);
    burst(dir.path(), &[]);
    let request = &endpoint.requests()[0];
    assert_eq!(request.method, "PUT");
    assert_eq!(request.header("content-type"), Some("text/plain"));
    assert_eq!(
        String::from_utf8_lossy(&request.body),
        "updated Site 4 by admin",
        "undefined names render empty"
    );
    assert!(
        request.header("x-hook-signature").is_none(),
        "no secret, no signature"
    );
}

#[test]
fn only_matching_enabled_rules_enqueue() {
    let redis = RedisServer::start();
    let config = hook("h", "http://127.0.0.1:9/", "")
        + &rule("h", "conditions = { or = [{ attr = \"tags.slug\", value = \"edge\", op = \"contains\" }, { attr = \"id\", value = 100, op = \"gte\" }] }")
        + "[[event_rules]]\nname = \"off\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\"]\nwebhook = \"h\"\nenabled = false\n";
    let dir = project(&redis, &config);
    assert_eq!(
        enqueue_site(dir.path(), "created", SITE).len(),
        1,
        "tag edge matches; the disabled rule does not"
    );
    assert_eq!(
        enqueue_site(dir.path(), "object_updated", SITE).len(),
        1,
        "NetBox's long event name"
    );
    assert!(
        enqueue_site(dir.path(), "deleted", SITE).is_empty(),
        "deleted is not in the rule's event types"
    );
    assert!(
        enqueue_site(dir.path(), "created", r#"{"id": 5, "tags": []}"#).is_empty(),
        "neither condition holds"
    );
    assert_eq!(
        enqueue_site(dir.path(), "created", r#"{"id": 500, "tags": []}"#).len(),
        1,
        "the second condition holds"
    );
    assert!(
        enqueue_site(dir.path(), "created", r#"{"name": "no id, no tags"}"#).is_empty(),
        "a missing attribute fails the rule, as in NetBox"
    );
    let out = manage_in(
        dir.path(),
        &[
            "enqueue_event",
            "--object-type",
            "dcim.device",
            "--event",
            "created",
            "--data",
            SITE,
        ],
    );
    assert!(out.status.success() && stdout(&out).is_empty());
    // Site 4's update waits behind its creation (ordering = "object", the default); site 500's
    // creation does not.
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 2);
    assert_eq!(
        redis.conn().zcard::<_, u64>("rq:deferred:default").unwrap(),
        1
    );
    let first: String = redis.conn().lindex("rq:queue:default", 0).unwrap();
    let call = calls(&redis, &[&first]).remove(0);
    assert_eq!(call.func_name, "extras.webhooks.send_webhook");
    assert_eq!(call.args, serde_json::json!([]));
    let names: Vec<&str> = call.kwargs.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "webhook",
            "event_rule",
            "object_type",
            "event_type",
            "data",
            "snapshots",
            "timestamp",
            "username",
            "request_id"
        ]
    );
}

#[test]
fn standard_webhooks_signature_verifies_with_the_python_package() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let dir = project(
        &redis,
        &(hook(
            "std",
            &format!("{}/std", endpoint.base()),
            &format!("secret = \"{secret}\"\nsigning = \"standard\""),
        ) + &rule("std", "")),
    );
    enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    let request = &endpoint.requests()[0];
    let headers = serde_json::json!({
        "webhook-id": request.header("webhook-id").unwrap(),
        "webhook-timestamp": request.header("webhook-timestamp").unwrap(),
        "webhook-signature": request.header("webhook-signature").unwrap(),
    });
    let verdict = python_run(
        &redis,
        &format!("import json\nfrom standardwebhooks.webhooks import Webhook\nWebhook('{secret}').verify(bytes.fromhex('{}'), json.loads('{headers}'))\nprint('verified')", hex::encode(&request.body)),
        &[],
    );
    assert_eq!(verdict.trim(), "verified");
    assert!(request.header("x-hook-signature").is_none());
}

#[test]
fn a_failure_is_kept_with_its_reason_then_fixed_config_and_requeue_deliver_it() {
    let redis = RedisServer::start();
    let broken = Endpoint::start();
    broken.set_status(500);
    let dir = project_sending_to(&redis, &format!("{}/a", broken.base()), "");
    let ids = enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    assert_eq!(job_status(&redis, &ids[0]), "failed");
    assert!(redis
        .conn()
        .zscore::<_, _, Option<f64>>("rq:failed:default", &ids[0])
        .unwrap()
        .is_some());
    assert_eq!(
        last_reason(&redis, &ids[0]),
        "Status 500 returned with content 'answer 500', webhook FAILED to process."
    );

    let closed = ClosedPort::new();
    let down = format!("{}/", closed.http());
    write_config(
        dir.path(),
        &redis.url(),
        &(hook("h", &down, "") + &rule("h", "")),
    );
    assert_eq!(
        stdout(&manage_in(dir.path(), &["requeue_failed", "--all"])),
        "Requeued 1 job\n"
    );
    burst(dir.path(), &[]);
    let reason = last_reason(&redis, &ids[0]);
    assert!(
        reason.starts_with("Connection failed for POST http://127.0.0.1:"),
        "{reason}"
    );

    let fixed = Endpoint::start();
    write_config(
        dir.path(),
        &redis.url(),
        &(hook("h", &format!("{}/fixed", fixed.base()), "") + &rule("h", "")),
    );
    assert_eq!(
        stdout(&manage_in(dir.path(), &["requeue_failed", "--all"])),
        "Requeued 1 job\n"
    );
    burst(dir.path(), &[]);
    assert_eq!(job_status(&redis, &ids[0]), "finished");
    let delivered = fixed.requests();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].json()["timestamp"],
        broken.requests()[0].json()["timestamp"],
        "the original event data is resent"
    );
}

#[test]
fn tls_with_a_private_ca_and_refused_without_it() {
    let redis = RedisServer::start();
    let (ca, cert, key) = support::endpoint::self_signed_ca();
    let endpoint = Endpoint::start_tls(&cert, &key);
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca).unwrap();
    let config = hook(
        "trusted",
        &format!("{}/tls", endpoint.base()),
        &format!("ca_file_path = \"{}\"", ca_path.display()),
    ) + &hook("untrusted", &format!("{}/tls", endpoint.base()), "")
        + &rule("trusted", "")
        + &rule("untrusted", "");
    let project = project(&redis, &config);
    let ids = enqueue_site(project.path(), "created", SITE);
    assert_eq!(ids.len(), 2);
    burst(project.path(), &[]);
    assert_eq!(job_status(&redis, &ids[0]), "finished");
    assert_eq!(job_status(&redis, &ids[1]), "failed");
    let reason = last_reason(&redis, &ids[1]);
    assert!(
        reason.contains("certificate") || reason.contains("Certificate"),
        "{reason}"
    );
    assert_eq!(endpoint.requests().len(), 1);
}

#[test]
fn timeout_and_redirects() {
    let redis = RedisServer::start();
    let slow = Endpoint::start();
    slow.set_delay(Duration::from_secs(3));
    let redirecting = Endpoint::start();
    redirecting.set_redirect(Some("/landed"));
    let config = hook("slow", &format!("{}/slow", slow.base()), "timeout = 1")
        + &hook("moved", &format!("{}/moved", redirecting.base()), "")
        + &hook(
            "follow",
            &format!("{}/follow", redirecting.base()),
            "follow_redirects = true",
        )
        + &rule("slow", "")
        + &rule("moved", "")
        + &rule("follow", "");
    let dir = project(&redis, &config);
    let ids = enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    assert_eq!(
        last_reason(&redis, &ids[0]),
        format!("Request to {}/slow timed out after 1 seconds", slow.base())
    );
    assert_eq!(job_status(&redis, &ids[1]), "failed");
    assert!(
        last_reason(&redis, &ids[1]).starts_with("Status 302 returned"),
        "{}",
        last_reason(&redis, &ids[1])
    );
    assert_eq!(job_status(&redis, &ids[2]), "finished");
    // The two deliveries run concurrently, so their requests may arrive in either order.
    let paths: Vec<String> = redirecting
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    // The two jobs run concurrently: only the redirect's own order is fixed.
    let position = |path: &str| paths.iter().position(|p| p == path).unwrap();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths.contains(&"/moved".to_string()), "{paths:?}");
    assert!(position("/follow") < position("/landed"), "{paths:?}");
}

#[test]
fn retry_schedule_follows_the_rule() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    endpoint.set_status(503);
    let dir = project_sending_to(
        &redis,
        &format!("{}/r", endpoint.base()),
        "retry = { max = 2, intervals = [1] }",
    );
    let ids = enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    assert_eq!(job_status(&redis, &ids[0]), "scheduled");
    assert_eq!(
        redis
            .conn()
            .hget::<_, _, String>(format!("rq:job:{}", ids[0]), "retries_left")
            .unwrap(),
        "1"
    );
    let mut worker = Running::start_in(dir.path(), &["rqworker", "--with-scheduler", "default"]);
    assert!(
        wait_until(Duration::from_secs(15), || job_status(&redis, &ids[0])
            == "failed"),
        "{}",
        worker.output()
    );
    assert_eq!(
        endpoint.requests().len(),
        3,
        "first attempt and two retries"
    );
    worker.stop(libc::SIGTERM, Duration::from_secs(20));
}

#[test]
fn python_rq_and_manage_deliver_each_others_webhook_jobs() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let url = format!("{}/interop", endpoint.base());
    let dir = project(
        &redis,
        &(hook("bench", &url, "secret = \"s3cret\"") + &rule("bench", "")),
    );
    // Python enqueues, we deliver.
    python_run(
        &redis,
        "import os\nfrom redis import Redis\nfrom rq import Queue\nfrom rq.serializers import JSONSerializer\nq = Queue('default', connection=Redis.from_url(os.environ['REDIS_URL']), serializer=JSONSerializer)\nq.enqueue('extras.webhooks.send_webhook', kwargs=dict(webhook='bench', event_rule='bench', object_type='dcim.site', event_type='object_created', data={'id': 1, 'name': 'é'}, snapshots=None, timestamp='2026-01-01T00:00:00+00:00', username='admin', request_id='req-py'), job_id='from-python')\n",
        &[],
    );
    burst(dir.path(), &[]);
    assert_eq!(job_status(&redis, "from-python"), "finished");
    // We enqueue, a Python RQ worker with NetBox's job delivers.
    let ids = enqueue_site(dir.path(), "created", r#"{"id": 1, "name": "é"}"#);
    let jobs = support::python_webhook_jobs();
    let worker = support::python_worker(&redis, jobs.path())
        .env("WEBHOOK_URL", &url)
        .env("WEBHOOK_SECRET", "s3cret")
        .output()
        .unwrap();
    assert!(
        worker.status.success(),
        "{}",
        String::from_utf8_lossy(&worker.stderr)
    );
    assert_eq!(
        job_status(&redis, &ids[0]),
        "finished",
        "the Python worker's run of our job: {}\n{}",
        support::rq::last_reason(&redis, &ids[0]),
        String::from_utf8_lossy(&worker.stderr)
    );
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 2);
    let (ours, theirs) = (&requests[0], &requests[1]);
    let mut ours_json = ours.json();
    let mut theirs_json = theirs.json();
    for body in [&mut ours_json, &mut theirs_json] {
        body["timestamp"] = serde_json::Value::Null;
        body["request_id"] = serde_json::Value::Null;
    }
    assert_eq!(
        ours_json, theirs_json,
        "the same JSON value from both workers"
    );
    for request in [ours, theirs] {
        assert!(python_accepts_netbox_signature(
            "s3cret",
            &request.body,
            request.header("x-hook-signature").unwrap()
        ));
    }
}

#[test]
fn bad_webhook_config_names_the_file_the_entry_and_the_key() {
    let redis = RedisServer::start();
    let config = hook("a", "ftp://example.com/", "")
        + &hook(
            "b",
            "http://example.com/",
            "ssl_verification = false\nca_file_path = \"/etc/ssl/x.pem\"",
        )
        + &hook("c", "http://example.com/{{ oops", "")
        + &rule("missing", "");
    let dir = project(&redis, &config);
    let out = manage_in(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("manage.toml: webhooks[0] (a): key 'payload_url'"),
        "{err}"
    );
    assert!(
        err.contains("Do not specify a CA certificate file if SSL verification is disabled."),
        "{err}"
    );
    assert!(err.contains("webhooks[2] (c)"), "{err}");
    assert!(
        err.contains("event_rules[0]") && err.contains("missing"),
        "{err}"
    );
    let out = manage_in(
        dir.path(),
        &[
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            "created",
            "--data",
            "{}",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "commands refuse to run on a bad config"
    );
}

#[test]
fn bad_event_input_is_refused_and_nothing_is_enqueued() {
    let redis = RedisServer::start();
    let dir = project_sending_to(&redis, "http://127.0.0.1:9/", "");
    for (args, message) in [
        (
            vec![
                "--object-type",
                "dcim.site",
                "--event",
                "created",
                "--data",
                "{not json",
            ],
            "not valid JSON",
        ),
        (
            vec![
                "--object-type",
                "dcim.site",
                "--event",
                "created",
                "--data",
                "[1]",
            ],
            "expected a JSON object",
        ),
        (
            vec![
                "--object-type",
                "dcim.site",
                "--event",
                "exploded",
                "--data",
                "{}",
            ],
            "expected created, updated, deleted",
        ),
        (
            vec![
                "--object-type",
                "dcim.site",
                "--event",
                "created",
                "--data",
                "@/no/such/file",
            ],
            "cannot read",
        ),
    ] {
        let mut full = vec!["enqueue_event"];
        full.extend(args);
        let out = manage_in(dir.path(), &full);
        assert_eq!(out.status.code(), Some(2), "{full:?}");
        assert!(stderr(&out).contains(message), "{full:?}: {}", stderr(&out));
    }
    let out = support::run_with_input(
        support::manage(dir.path()).args(["enqueue_event", "--lines"]),
        format!("{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {SITE}}}\n{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": \n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 2") && stderr(&out).contains("nothing was enqueued"),
        "{}",
        stderr(&out)
    );
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 0);

    let lines: String = (0..2500).map(|i| format!("{{\"object_type\": \"dcim.site\", \"event_type\": \"object_updated\", \"data\": {{\"id\": {i}}}}}\n")).collect();
    let out = support::run_with_input(
        support::manage(dir.path()).args(["enqueue_event", "--lines", "--json"]),
        lines.as_bytes(),
    );
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["events"], 2500);
    let ids: Vec<&str> = summary["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2500);
    // Three transactions, built in parallel, land on the queue in the events' order.
    let queued: Vec<String> = redis.conn().lrange("rq:queue:default", 0, -1).unwrap();
    assert_eq!(queued, ids);
    let ends = calls(&redis, &[ids[0], ids[2499]]);
    assert_eq!(
        (&ends[0].kwargs["data"]["id"], &ends[1].kwargs["data"]["id"]),
        (&0.into(), &2499.into())
    );
}

#[test]
fn get_patch_and_delete_are_sent_with_the_body() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let methods = ["GET", "PATCH", "DELETE"];
    let config: String = methods
        .iter()
        .map(|m| {
            hook(
                m,
                &format!("{}/{m}", endpoint.base()),
                &format!("http_method = \"{m}\""),
            ) + &rule(m, "")
        })
        .collect();
    let dir = project(&redis, &config);
    let ids = enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    for id in &ids {
        assert_eq!(job_status(&redis, id), "finished");
    }
    let mut seen: Vec<(String, String, String)> = endpoint
        .requests()
        .iter()
        .map(|r| {
            let slug = r.json()["data"]["slug"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (r.method.clone(), r.path.clone(), slug)
        })
        .collect();
    seen.sort();
    let expected: Vec<(String, String, String)> = ["DELETE", "GET", "PATCH"]
        .iter()
        .map(|m| (m.to_string(), format!("/{m}"), "site-4".to_string()))
        .collect();
    assert_eq!(seen, expected, "each method, with the JSON body");
}

/// A forwarding HTTP proxy on loopback: it takes absolute-form requests (`POST http://host/path`),
/// sends them on to the host, relays the answer, and records each request line it got.
fn start_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let request_line = line.trim_end().to_string();
                let mut parts = request_line.split(' ');
                let (method, target) = (parts.next().unwrap(), parts.next().unwrap());
                let url = url::Url::parse(target).expect("an absolute-form request");
                let mut head = format!(
                    "{method} {} HTTP/1.1\r\n",
                    &url[url::Position::BeforePath..]
                );
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header == "\r\n" {
                        break;
                    }
                    let name = header.split(':').next().unwrap().to_ascii_lowercase();
                    if name == "content-length" {
                        length = header.split(':').nth(1).unwrap().trim().parse().unwrap();
                    }
                    if name != "connection" && name != "proxy-connection" {
                        head.push_str(&header);
                    }
                }
                head.push_str("Connection: close\r\n\r\n");
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                record.lock().unwrap().push(request_line);
                let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
                let mut upstream = std::net::TcpStream::connect(address).unwrap();
                upstream.write_all(head.as_bytes()).unwrap();
                upstream.write_all(&body).unwrap();
                let mut answer = Vec::new();
                upstream.read_to_end(&mut answer).unwrap();
                let mut client = client;
                client.write_all(&answer).unwrap();
            });
        }
    });
    (base, seen)
}

#[test]
fn http_proxy_carries_every_request_and_environment_proxies_are_ignored() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let (proxy, through_proxy) = start_proxy();
    let bogus = ClosedPort::new();
    let target = format!("{}/through", endpoint.base());
    let run_burst = |dir: &std::path::Path| {
        let mut command = support::manage(dir);
        for name in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            command.env(name, bogus.http());
        }
        command.env_remove("NO_PROXY").env_remove("no_proxy");
        let out = support::run(command.args(["rqworker", "--burst", "default"]));
        assert!(out.status.success(), "{}", stderr(&out));
    };

    let dir = project(
        &redis,
        &(format!("[http]\nproxy = \"{proxy}\"\n") + &hook("h", &target, "") + &rule("h", "")),
    );
    let ids = enqueue_site(dir.path(), "created", SITE);
    run_burst(dir.path());
    assert_eq!(
        job_status(&redis, &ids[0]),
        "finished",
        "{}",
        last_reason_or_none(&redis, &ids[0])
    );
    assert_eq!(
        *through_proxy.lock().unwrap(),
        [format!("POST {target} HTTP/1.1")],
        "the request went through the configured proxy, not the environment's"
    );
    assert_eq!(endpoint.received(), 1);

    // Without [http] proxy, the environment's proxy is not used either: the request goes direct.
    write_config(
        dir.path(),
        &redis.url(),
        &(hook("h", &target, "") + &rule("h", "")),
    );
    let ids = enqueue_site(dir.path(), "created", SITE);
    run_burst(dir.path());
    assert_eq!(
        job_status(&redis, &ids[0]),
        "finished",
        "{}",
        last_reason_or_none(&redis, &ids[0])
    );
    assert_eq!(through_proxy.lock().unwrap().len(), 1);
    assert_eq!(endpoint.received(), 2);
}

/// The failure reason, when the job has one (for assertion messages).
fn last_reason_or_none(redis: &RedisServer, id: &str) -> String {
    latest_results(redis, &[id])
        .remove(id)
        .flatten()
        .and_then(|r| r.exc_string)
        .unwrap_or_default()
}

#[test]
fn ssl_verification_false_accepts_a_self_signed_certificate() {
    let redis = RedisServer::start();
    let (cert, key) = support::endpoint::self_signed();
    let endpoint = Endpoint::start_tls(&cert, &key);
    let url = format!("{}/tls", endpoint.base());
    let config = hook("lenient", &url, "ssl_verification = false")
        + &hook("strict", &url, "")
        + &rule("lenient", "")
        + &rule("strict", "");
    let dir = project(&redis, &config);
    let ids = enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    assert_eq!(job_status(&redis, &ids[0]), "finished");
    assert_eq!(job_status(&redis, &ids[1]), "failed");
    let reason = last_reason(&redis, &ids[1]);
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    assert_eq!(endpoint.received(), 1);
}

#[test]
fn user_agent_is_the_configured_one() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let url = format!("{}/ua", endpoint.base());
    let dir = project_sending_to(&redis, &url, "");
    enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    write_config(
        dir.path(),
        &redis.url(),
        &("[http]\nuser_agent = \"NetBox/4.6 (webhooks)\"\n".to_string()
            + &hook("h", &url, "")
            + &rule("h", "")),
    );
    enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    let agents: Vec<String> = endpoint
        .requests()
        .iter()
        .map(|r| r.header("user-agent").unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        agents,
        [
            format!("manage/{}", env!("CARGO_PKG_VERSION")),
            "NetBox/4.6 (webhooks)".to_string()
        ]
    );
}

#[test]
fn pool_max_idle_per_host_decides_whether_connections_are_kept() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let url = format!("{}/pool", endpoint.base());
    // Four deliveries one after another: how many connections did they take?
    let connections = |http: &str| {
        let before = endpoint.received();
        let dir = project(
            &redis,
            &(http.to_string() + &hook("h", &url, "") + &rule("h", "")),
        );
        for _ in 0..4 {
            enqueue_site(dir.path(), "created", SITE);
        }
        burst(dir.path(), &["--set", "worker.concurrency=1"]);
        let requests = endpoint.requests();
        assert_eq!(requests.len(), before + 4);
        let mut ports: Vec<u16> = requests[before..].iter().map(|r| r.peer.port()).collect();
        ports.sort_unstable();
        ports.dedup();
        ports.len()
    };
    assert_eq!(
        connections(""),
        1,
        "by default an idle connection is kept and reused"
    );
    assert_eq!(
        connections("[http]\npool_max_idle_per_host = 0\n"),
        4,
        "with none kept, each delivery opens its own"
    );
}

#[test]
fn enqueue_event_reads_data_from_standard_input_and_keeps_the_timestamp() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_sending_to(&redis, &format!("{}/stdin", endpoint.base()), "");
    let timestamp = "2026-01-02T03:04:05.678901+00:00";
    let out = support::run_with_input(
        support::manage(dir.path()).args([
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            "created",
            "--data",
            "-",
            "--timestamp",
            timestamp,
        ]),
        SITE.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    let call = calls(&redis, &[&id]).remove(0);
    let site: serde_json::Value = serde_json::from_str(SITE).unwrap();
    assert_eq!(call.kwargs["data"], site);
    assert_eq!(call.kwargs["timestamp"], timestamp);
    burst(dir.path(), &[]);
    let body = endpoint.requests()[0].json();
    assert_eq!(body["data"], site);
    assert_eq!(body["timestamp"], timestamp);
}

#[test]
fn http_timeout_bounds_webhooks_that_set_none() {
    let redis = RedisServer::start();
    let hanging = support::hooks::raw_server(|stream| {
        std::thread::sleep(Duration::from_secs(30));
        drop(stream);
    });
    let config = "[http]\ntimeout = 1.5\n".to_string()
        + &hook("inherits", &format!("{hanging}/inherits"), "")
        + &hook("own", &format!("{hanging}/own"), "timeout = 2")
        + &rule("inherits", "")
        + &rule("own", "");
    let dir = project(&redis, &config);
    let ids = enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        support::rq::reasons(&redis, &ids),
        [
            format!("Request to {hanging}/inherits timed out after 1.5 seconds"),
            format!("Request to {hanging}/own timed out after 2 seconds"),
        ]
    );
}

#[test]
fn http_connect_timeout_bounds_opening_a_connection() {
    let silent = support::SilentPort::new();
    let redis = RedisServer::start();
    let url = format!("{}/silent", silent.http());
    let dir = project(
        &redis,
        &("[http]\nconnect_timeout = 1\n".to_string()
            + &hook("h", &url, "timeout = 60")
            + &rule("h", "")),
    );
    let ids = enqueue_site(dir.path(), "created", SITE);
    burst(dir.path(), &[]);
    let reason = last_reason(&redis, &ids[0]);
    // Not "timed out after 60 seconds": the webhook's timeout never came into it.
    assert!(
        reason.starts_with(&format!("Connection failed for POST {url}: "))
            && !reason.contains("timed out after"),
        "{reason}"
    );
}

#[test]
fn snapshots_are_sent_and_a_rule_s_queue_is_used() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_sending_to(
        &redis,
        &format!("{}/snap", endpoint.base()),
        "queue = \"high\"",
    );
    let snapshots = r#"{"prechange": {"name": "Old"}, "postchange": {"name": "Site 4"}}"#;
    let out = manage_in(
        dir.path(),
        &[
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            "updated",
            "--data",
            SITE,
            "--snapshots",
            snapshots,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    let on_high: Vec<String> = redis.conn().lrange("rq:queue:high", 0, -1).unwrap();
    assert_eq!(on_high, std::slice::from_ref(&id), "the rule's queue");
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 0);
    let out = manage_in(dir.path(), &["rqworker", "--burst", "high"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(job_status(&redis, &id), "finished");
    let body = endpoint.requests()[0].json();
    assert_eq!(
        body["snapshots"],
        serde_json::from_str::<serde_json::Value>(snapshots).unwrap()
    );
}

#[test]
fn netbox_4_6_request_comes_in_every_way_and_reaches_body_and_templates() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let config = hook("plain", &format!("{}/plain", endpoint.base()), "")
        + &hook(
            "templated",
            &format!("{}/templated", endpoint.base()),
            // From NetBox plugin documentation: works on 4.6 and before.
            "body_template = \"{{ request.method if request is defined }} {{ request.path if request is defined }} {{ request.user if request is defined else username }}\"",
        )
        + &rule("plain", "")
        + &rule("templated", "");
    let dir = project(&redis, &config);
    let check = manage_in(dir.path(), &["check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    // The flags build NetBox's `request` from the method, path, id and user.
    let out = manage_in(
        dir.path(),
        &[
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            "updated",
            "--data",
            SITE,
            "--username",
            "ann",
            "--request-id",
            "r-flags",
            "--request-method",
            "PATCH",
            "--request-path",
            "/api/dcim/sites/4/",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A JSON line gives it whole; one without it has no `request` key at all.
    support::hooks::enqueue_lines(
        dir.path(),
        &[],
        "{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {\"id\": 5}, \"request\": {\"id\": \"r-line\", \"method\": \"POST\", \"path\": \"/api/dcim/sites/\", \"user\": \"bob\"}}\n{\"object_type\": \"dcim.site\", \"event\": \"updated\", \"data\": {\"id\": 6}, \"username\": \"cy\"}\n",
    );
    burst(dir.path(), &[]);
    let requests = endpoint.requests();
    let plain: Vec<serde_json::Value> = requests
        .iter()
        .filter(|r| r.path == "/plain")
        .map(|r| r.json())
        .collect();
    let by_id = |id: u64| {
        plain
            .iter()
            .find(|b| b["data"]["id"] == id)
            .unwrap()
            .clone()
    };
    let flags = by_id(4);
    assert_eq!(
        flags["request"],
        serde_json::json!({"id": "r-flags", "method": "PATCH", "path": "/api/dcim/sites/4/", "user": "ann"})
    );
    let keys: Vec<String> = flags.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "event",
            "timestamp",
            "object_type",
            "username",
            "request_id",
            "data",
            "request"
        ]
    );
    let line = by_id(5);
    assert_eq!(line["request"]["path"], "/api/dcim/sites/");
    // NetBox 4.6 sets username and request_id from the request.
    assert_eq!(
        (line["username"].as_str(), line["request_id"].as_str()),
        (Some("bob"), Some("r-line"))
    );
    assert!(by_id(6).get("request").is_none(), "{}", by_id(6));
    let mut templated: Vec<String> = requests
        .iter()
        .filter(|r| r.path == "/templated")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    templated.sort();
    assert_eq!(
        templated,
        [
            "  cy",
            "PATCH /api/dcim/sites/4/ ann",
            "POST /api/dcim/sites/ bob"
        ]
    );
}
