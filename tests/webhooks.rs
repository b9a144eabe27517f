//! The webhook pipeline end to end with real processes: `enqueue_event` → `rqworker` → a real
//! HTTP(S) server that records what it gets; signatures checked independently in Python.

mod support;

use std::time::Duration;

use redis::Commands;
use support::{
    endpoint::Endpoint,
    hooks::{
        burst, enqueue_site, hook, job_status, last_reason, manage_in, project, project_sending_to,
        rule, write_config,
    },
    python_run, stderr, stdout, wait_until, RedisServer, Running,
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
            "data",
            "snapshots"
        ]
    );

    let signature = request.header("x-hook-signature").unwrap().to_string();
    let body_hex = hex::encode(&request.body);
    let verdict = python_run(
        &redis,
        &format!("import hmac, hashlib\nbody = bytes.fromhex('{body_hex}')\nexpected = hmac.new(b's3cret', body, hashlib.sha512).hexdigest()\nprint(hmac.compare_digest(expected, '{signature}'))"),
        &[],
    );
    assert_eq!(verdict.trim(), "True");
    let result: redis::streams::StreamRangeReply = redis
        .conn()
        .xrevrange_count(format!("rq:results:{}", ids[0]), "+", "-", 1)
        .unwrap();
    let b64: String = result.ids[0].get("return_value").unwrap();
    assert_eq!(
        manage::rq::serializer::decode_result(b64.as_bytes()).unwrap(),
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
    let job = manage::rq::job::Job::from_fields(
        "x",
        redis
            .conn()
            .hgetall(format!(
                "rq:job:{}",
                redis
                    .conn()
                    .lindex::<_, String>("rq:queue:default", 0)
                    .unwrap()
            ))
            .unwrap(),
    );
    let call = job.call().unwrap();
    assert_eq!(call.func_name, "extras.webhooks.send_webhook");
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

    let down = format!("http://127.0.0.1:{}/", support::free_port());
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
    support::signal(&worker.child, libc::SIGTERM);
    worker.wait(Duration::from_secs(10));
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
    // We enqueue, a Python RQ worker with the baseline job delivers.
    let ids = enqueue_site(dir.path(), "created", r#"{"id": 1, "name": "é"}"#);
    let worker = support::python_worker(&redis, &support::shared_dir().join("bench/pyjobs"))
        .env(
            "BASELINE_WEBHOOKS",
            format!(r#"{{"bench": {{"payload_url": "{url}", "secret": "s3cret"}}}}"#),
        )
        .output()
        .unwrap();
    assert!(
        worker.status.success(),
        "{}",
        String::from_utf8_lossy(&worker.stderr)
    );
    assert_eq!(job_status(&redis, &ids[0]), "finished");
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
        assert!(manage::webhooks::sign::verify_netbox(
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
    let first_data: Vec<u8> = redis
        .conn()
        .hget(format!("rq:job:{}", ids[0]), "data")
        .unwrap();
    let last_data: Vec<u8> = redis
        .conn()
        .hget(format!("rq:job:{}", ids[2499]), "data")
        .unwrap();
    let id_of =
        |raw: &[u8]| manage::rq::serializer::decode_data(raw).unwrap().kwargs["data"]["id"].clone();
    assert_eq!(
        (id_of(&first_data), id_of(&last_data)),
        (0.into(), 2499.into())
    );
}
