//! `manage background_tasks` over HTTP against a real Redis: the token, the session cookie and
//! the CSRF check; each action's effect on Redis; every page rendering every kind of job.

mod support;

use std::time::Duration;

use redis::Commands;
use reqwest::{header, StatusCode};
use support::{
    background_tasks_url, fixtures, hooks, manage_on, rq::status as job_status, stderr, stdout,
    wait_until, RedisServer, Running,
};

/// A running server and an HTTP client that does not follow redirects or keep cookies, so the
/// test sees exactly what a browser would be told.
struct Server {
    _process: Running,
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Server {
    fn start(redis: &RedisServer, extra: &[&str]) -> Self {
        let mut args = vec!["background_tasks", "--bind", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Self::serve(Running::start(redis, &args))
    }

    /// The page of the project in `dir` (its manage.toml names the webhooks).
    fn start_in(dir: &std::path::Path) -> Self {
        Self::serve(Running::start_in(
            dir,
            &["background_tasks", "--bind", "127.0.0.1:0"],
        ))
    }

    fn serve(process: Running) -> Self {
        let url = background_tasks_url(&process);
        let (base, token) = url.split_once("/?token=").expect("URL with a token");
        Self {
            base: base.to_string(),
            token: token.to_string(),
            _process: process,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    async fn bearer_get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn bearer_post(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Logs in as a browser does (`?token=`) and returns the session cookie (`name=value`).
    async fn login(&self) -> String {
        let response = self.get(&format!("/?token={}", self.token)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    async fn session_get(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(self.url(path))
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn session_post(
        &self,
        cookie: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .await
            .unwrap()
    }
}

fn csrf_in(page: &str) -> String {
    regex::Regex::new(r#"name="csrf_token" value="([0-9a-f]+)""#)
        .unwrap()
        .captures(page)
        .unwrap_or_else(|| panic!("a CSRF token in the form:\n{page}"))[1]
        .to_string()
}

#[tokio::test]
async fn without_the_token_the_page_and_every_action_are_refused() {
    let redis = RedisServer::start();
    let jobs = fixtures::every_status(&redis);
    let server = Server::start(&redis, &[]);
    let mut conn = redis.conn();
    let before: Vec<String> = conn.zrange("rq:failed:default", 0, -1).unwrap();

    let failed = jobs.failed.as_str();
    for path in [
        "/".to_string(),
        "/workers".into(),
        "/queues/default/failed".into(),
        format!("/jobs/{failed}"),
        "/no/such/page".into(),
        "/?token=wrong".into(),
    ] {
        let response = server.get(&path).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        let body = response.text().await.unwrap();
        assert!(body.contains("Access token needed"), "{path}: {body}");
        assert!(!body.contains(failed), "{path} shows nothing");
    }
    let wrong = server
        .http
        .get(server.url("/"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let forged_cookie = server
        .http
        .get(server.url("/"))
        .header(header::COOKIE, "manage_session_1=abc.def; other=1")
        .send()
        .await
        .unwrap();
    assert_eq!(forged_cookie.status(), StatusCode::UNAUTHORIZED);

    for path in [
        format!("/jobs/{failed}/requeue"),
        format!("/jobs/{failed}/delete"),
        format!("/jobs/{}/stop", jobs.started),
        format!("/jobs/{}/enqueue", jobs.finished),
        "/queues/default/requeue-failed".into(),
        format!("/jobs/{failed}/requeue?token={}", server.token),
    ] {
        let response = server.http.post(server.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(
        conn.zrange::<_, Vec<String>>("rq:failed:default", 0, -1)
            .unwrap(),
        before
    );
    assert_eq!(job_status(&redis, failed), "failed");
    assert_eq!(job_status(&redis, &jobs.finished), "finished");

    let css = server.get("/static/style.css").await;
    assert_eq!(css.status(), StatusCode::OK, "the stylesheet is public");
    assert_eq!(
        css.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
}

#[tokio::test]
async fn a_browser_session_needs_the_forms_csrf_token_to_act() {
    let redis = RedisServer::start();
    let jobs = fixtures::every_status(&redis);
    let server = Server::start(&redis, &[]);
    let mut conn = redis.conn();
    let failed = jobs.failed.as_str();

    let response = server
        .get(&format!(
            "/queues/default/failed?token={}&page=1",
            server.token
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/queues/default/failed?page=1",
        "the token leaves the address bar"
    );
    let set_cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let (status, page) = server
        .session_get(&cookie, "/queues/default/failed?page=1")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(failed) && page.contains("it broke"), "{page}");
    let csrf = csrf_in(&page);
    let headers = server.get("/static/style.css").await;
    assert_eq!(headers.headers()[header::X_FRAME_OPTIONS], "DENY");
    assert!(headers.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));

    let other_session = server.login().await;
    let (_, other_page) = server.session_get(&other_session, "/").await;
    assert!(other_page.contains("Queues"));
    let (_, other_list) = server
        .session_get(&other_session, "/queues/default/failed")
        .await;
    let other_csrf = csrf_in(&other_list);
    assert_ne!(other_csrf, csrf);
    let path = format!("/jobs/{failed}/requeue");
    for form in [
        vec![],
        vec![("csrf_token", "0000")],
        vec![("csrf_token", other_csrf.as_str())],
    ] {
        let response = server.session_post(&cookie, &path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form:?}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("CSRF token is missing or wrong"));
    }
    let response = server
        .session_post(&cookie, "/queues/default/requeue-failed", &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(job_status(&redis, failed), "failed", "nothing changed");
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 4);

    let response = server
        .session_post(&cookie, &path, &[("csrf_token", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        format!("/jobs/{failed}").as_str()
    );
    assert_eq!(job_status(&redis, failed), "queued");
    let (_, page) = server
        .session_get(&cookie, &format!("/jobs/{failed}"))
        .await;
    assert!(
        page.contains(&format!("Job {failed} has been re-enqueued.")),
        "{page}"
    );
    let (_, page) = server
        .session_get(&cookie, &format!("/jobs/{failed}"))
        .await;
    assert!(
        !page.contains("has been re-enqueued"),
        "a flash is shown once"
    );

    let response = server
        .session_post(
            &cookie,
            "/queues/default/requeue-failed",
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(
        response.headers()[header::LOCATION],
        "/queues/default/failed"
    );
    let (_, page) = server.session_get(&cookie, "/queues/default/failed").await;
    assert!(page.contains("Requeued 3 jobs"), "{page}");
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 0);

    let path = format!("/jobs/{}/delete", jobs.finished);
    let response = server
        .session_post(&cookie, &path, &[("csrf_token", &csrf)])
        .await;
    assert_eq!(
        response.headers()[header::LOCATION],
        "/queues/default/finished",
        "back to the list the job was in"
    );
    let (_, page) = server
        .session_get(&cookie, "/queues/default/finished")
        .await;
    assert!(
        page.contains(&format!("Job {} has been deleted.", jobs.finished)),
        "{page}"
    );
    assert!(!conn
        .exists::<_, bool>(format!("rq:job:{}", jobs.finished))
        .unwrap());

    let response = server
        .session_post(
            &cookie,
            &format!("/jobs/{failed}/requeue"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a refusal is a message too"
    );
    let (_, page) = server
        .session_get(&cookie, &format!("/jobs/{failed}"))
        .await;
    assert!(page.contains("only failed jobs can be requeued"), "{page}");
}

#[tokio::test]
async fn each_action_changes_redis_as_it_says() {
    let redis = RedisServer::start();
    let jobs = fixtures::every_status(&redis);
    let server = Server::start(&redis, &[]);
    let mut conn = redis.conn();

    let (status, text) = server
        .bearer_post(&format!("/jobs/{}/requeue", jobs.failed))
        .await;
    assert_eq!(
        (status, text),
        (
            StatusCode::OK,
            format!("Job {} has been re-enqueued.\n", jobs.failed)
        )
    );
    assert_eq!(job_status(&redis, &jobs.failed), "queued");
    let (status, _) = server
        .bearer_post(&format!("/jobs/{}/requeue", jobs.failed))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, text) = server
        .bearer_post(&format!("/jobs/{}/enqueue", jobs.finished))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, format!("Job {} has been enqueued.\n", jobs.finished));
    assert_eq!(job_status(&redis, &jobs.finished), "queued");
    assert_eq!(
        conn.lrange::<_, Vec<String>>("rq:queue:default", -1, -1)
            .unwrap(),
        vec![jobs.finished.clone()]
    );

    let (status, text) = server
        .bearer_post(&format!("/jobs/{}/delete", jobs.webhook))
        .await;
    assert_eq!(
        (status, text),
        (
            StatusCode::OK,
            format!("Job {} has been deleted.\n", jobs.webhook)
        )
    );
    assert!(!conn
        .exists::<_, bool>(format!("rq:job:{}", jobs.webhook))
        .unwrap());
    assert!(conn
        .zscore::<_, _, Option<f64>>("rq:failed:default", &jobs.webhook)
        .unwrap()
        .is_none());

    let (status, text) = server.bearer_post("/queues/default/requeue-failed").await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "Requeued 2 jobs\n")
    );
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 0);
    for id in [fixtures::BAD_GARBAGE, fixtures::BAD_BYTES] {
        assert_eq!(job_status(&redis, id), "queued");
    }

    let (status, _) = server.bearer_post("/jobs/no-such-job/delete").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.bearer_post("/jobs/a:b/delete").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server
        .bearer_post(&format!("/jobs/{}/dance", jobs.queued))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, text) = server
        .bearer_post(&format!("/jobs/{}/stop", jobs.queued))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(text.contains("is not running"), "{text}");

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
    let sleeping = stdout(&out).trim().to_string();
    let _worker = Running::start(&redis, &["rqworker", "--name", "sleeper", "slow"]);
    assert!(wait_until(Duration::from_secs(15), || job_status(
        &redis, &sleeping
    ) == "started"));
    let (status, page) = server.bearer_get(&format!("/jobs/{sleeping}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"value="stop""#),
        "a running job offers Stop"
    );
    let (status, text) = server.bearer_post(&format!("/jobs/{sleeping}/stop")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(wait_until(Duration::from_secs(10), || job_status(
        &redis, &sleeping
    ) == "stopped"));
}

#[tokio::test]
async fn every_page_renders_every_job_whatever_it_holds() {
    let redis = RedisServer::start();
    let jobs = fixtures::every_status(&redis);
    let server = Server::start(&redis, &[]);

    let (status, home) = server.bearer_get("/").await;
    assert_eq!(status, StatusCode::OK);
    for link in [
        "/queues/default/failed",
        "/queues/pyq/finished",
        "/queues/default/canceled",
    ] {
        assert!(
            home.contains(&format!("href=\"{link}\"")),
            "{link} in {home}"
        );
    }
    assert!(
        !home.contains("http-equiv=\"refresh\""),
        "no refresh unless asked"
    );
    let (_, refreshing) = server.bearer_get("/?refresh=5").await;
    assert!(refreshing.contains(r#"<meta http-equiv="refresh" content="5">"#));

    let links = regex::Regex::new(r#"href="/jobs/([^"]+)""#).unwrap();
    let mut ids = Vec::new();
    for queue in ["default", "pyq"] {
        for status in [
            "queued",
            "started",
            "deferred",
            "finished",
            "failed",
            "scheduled",
            "canceled",
        ] {
            let (code, page) = server
                .bearer_get(&format!("/queues/{queue}/{status}?per_page=100"))
                .await;
            assert_eq!(code, StatusCode::OK, "{queue}/{status}");
            ids.extend(links.captures_iter(&page).map(|c| c[1].to_string()));
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 18, "{ids:?}");
    for id in &ids {
        let (code, page) = server.bearer_get(&format!("/jobs/{id}")).await;
        if id == fixtures::GONE {
            assert_eq!(code, StatusCode::NOT_FOUND);
            assert!(page.contains("Job gone-job does not exist"), "{page}");
        } else {
            assert_eq!(code, StatusCode::OK, "{id}: {page}");
        }
    }

    let (_, garbage) = server
        .bearer_get(&format!("/jobs/{}", fixtures::BAD_BYTES))
        .await;
    assert!(garbage.contains("&lt;undecodable:"), "{garbage}");
    assert!(
        !garbage.contains("<script>") && garbage.contains("&lt;script&gt;alert(1)"),
        "data is escaped: {garbage}"
    );
    let (_, pending) = server.bearer_get("/queues/default/queued").await;
    assert!(pending.contains("&lt;undecodable: unknown job status &quot;pending&quot;&gt;"));

    let (_, webhook) = server.bearer_get(&format!("/jobs/{}", jobs.webhook)).await;
    for expected in [
        "site-hook",
        "object_created",
        "dcim.site",
        "Amsterdam &lt;b&gt;",
        "not in the settings",
    ] {
        assert!(webhook.contains(expected), "{expected} in {webhook}");
    }
    assert!(
        !webhook.contains("hunter2") && !webhook.contains("s3cret-value"),
        "secrets stay hidden: {webhook}"
    );
    let (_, python) = server
        .bearer_get(&format!("/jobs/{}", fixtures::PY_FAILED))
        .await;
    assert!(python.contains("Traceback") && python.contains("ValueError: boom: x"));
    assert!(
        python.contains(r#"value="requeue""#),
        "a failed job offers Requeue"
    );
    let (_, finished) = server
        .bearer_get(&format!("/jobs/{}", fixtures::PY_FINISHED))
        .await;
    assert!(
        finished.contains(r#"value="enqueue""#),
        "a finished job offers Enqueue again"
    );

    let (_, first) = server
        .bearer_get("/queues/default/queued?per_page=2&page=2")
        .await;
    assert!(first.contains("Jobs 3–4 of 6"), "{first}");
    assert!(first.contains("per_page=2&amp;page=3"), "{first}");
    assert!(first.contains("per_page=2&amp;page=1"), "{first}");

    for path in [
        "/jobs/a:b",
        "/queues/default/pending",
        "/queues/bad:name/failed",
        "/nowhere",
    ] {
        let (code, _) = server.bearer_get(path).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
    }
    let (code, workers) = server.bearer_get("/workers").await;
    assert_eq!(code, StatusCode::OK);
    assert!(workers.contains("No workers are running."));
}

#[test]
fn it_prints_its_real_address_takes_a_configured_token_and_stops_on_sigterm() {
    let redis = RedisServer::start();
    let mut server = Running::start(&redis, &["background_tasks", "--bind", "127.0.0.1:0"]);
    let url = background_tasks_url(&server);
    let re = regex::Regex::new(r"^http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{64})$").unwrap();
    let port: u16 = re.captures(&url).unwrap_or_else(|| panic!("{url}"))[1]
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    assert!(server.output().contains("Stop with CONTROL-C."));
    server.stop(libc::SIGTERM, Duration::from_secs(10));

    let token = "a-configured-token-0123456789";
    let configured = Running::start(
        &redis,
        &[
            "background_tasks",
            "--bind",
            "127.0.0.1:0",
            "--set",
            &format!("ui.token={token}"),
        ],
    );
    assert!(background_tasks_url(&configured).ends_with(&format!("?token={token}")));

    let mut from_settings = Running::start(
        &redis,
        &[
            "--set",
            "ui.bind=127.0.0.2:0",
            "--set",
            "ui.refresh=7",
            "background_tasks",
        ],
    );
    let url = background_tasks_url(&from_settings);
    assert!(url.starts_with("http://127.0.0.2:"), "[ui] bind: {url}");
    let page = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = reqwest::Client::new();
        let base = url.split_once("/?token=").unwrap();
        client
            .get(format!("{}/", base.0))
            .bearer_auth(base.1)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(
        page.contains(r#"<meta http-equiv="refresh" content="7">"#),
        "[ui] refresh: {page}"
    );
    from_settings.stop(libc::SIGINT, Duration::from_secs(10));

    let bad = manage_on(&redis, &["background_tasks", "--bind", "localhost"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let short = manage_on(&redis, &["background_tasks", "--set", "ui.token=short"]);
    assert_eq!(short.status.code(), Some(1));
    assert!(stderr(&short).contains("ui.token"), "{}", stderr(&short));
    let shown = manage_on(
        &redis,
        &["diffsettings", "--set", &format!("ui.token={token}")],
    );
    assert!(!stdout(&shown).contains(token), "{}", stdout(&shown));
}

#[tokio::test]
async fn tokens_and_passwords_in_arguments_and_results_are_never_shown() {
    let redis = RedisServer::start();
    let secrets = ["tok-Q1w2", "pw-E3r4", "pw-T5y6", "tok-U7i8"];
    let id = support::rq::enqueue(
        &redis,
        &[
            "manage.echo",
            "--args",
            r#"[{"token": "tok-Q1w2", "user": "alice"}]"#,
            "--kwargs",
            r#"{"password": "pw-E3r4", "nested": {"db_password": "pw-T5y6", "api_token": "tok-U7i8"}, "note": "shown"}"#,
        ],
    );
    let out = manage_on(&redis, &["rqworker", "--burst", "default"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The secrets really are in the job's arguments and in its result.
    let result = support::rq::latest_results(&redis, &[&id])
        .remove(&id)
        .flatten()
        .expect("a result");
    let stored = result.return_value.to_string();
    assert!(secrets.iter().all(|s| stored.contains(s)), "{stored}");

    let text = manage_on(&redis, &["rqjob", &id]);
    assert!(text.status.success(), "{}", stderr(&text));
    let json = manage_on(&redis, &["rqjob", &id, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(shown["args"][0]["token"], "********");
    assert_eq!(shown["args"][0]["user"], "alice");
    assert_eq!(shown["kwargs"]["password"], "********");
    assert_eq!(shown["kwargs"]["nested"]["db_password"], "********");
    assert_eq!(shown["kwargs"]["nested"]["api_token"], "********");
    assert_eq!(shown["kwargs"]["note"], "shown");
    assert_eq!(
        shown["result"]["return_value"]["kwargs"]["password"],
        "********"
    );
    assert_eq!(
        shown["result"]["return_value"]["args"][0]["token"],
        "********"
    );
    let server = Server::start(&redis, &[]);
    let (status, page) = server.bearer_get(&format!("/jobs/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("alice") && page.contains("shown"), "{page}");
    for (what, said) in [
        ("rqjob", stdout(&text)),
        ("rqjob --json", stdout(&json)),
        ("the job page", page),
    ] {
        for secret in secrets {
            assert!(!said.contains(secret), "{what} shows {secret}:\n{said}");
        }
    }
}

/// The failed list offers "requeue all failed of this webhook": only that webhook's failed jobs
/// go back, the others' stay failed.
#[tokio::test]
async fn the_failed_list_requeues_all_failed_of_one_webhook() {
    let redis = RedisServer::start();
    // A thread-run server: the test's own runtime must not host another.
    let url = hooks::raw_server(|stream| {
        hooks::answer_with(
            stream,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
    });
    let dir = hooks::project(
        &redis,
        &(hooks::hook("a", &url, "")
            + &hooks::hook("b", &url, "")
            + &hooks::rule("a", "")
            + &hooks::rule("b", "")),
    );
    let mut a_jobs = Vec::new();
    let mut b_jobs = Vec::new();
    for id in 1..=2 {
        let ids = hooks::enqueue_site(dir.path(), "created", &format!(r#"{{"id": {id}}}"#));
        a_jobs.push(ids[0].clone());
        b_jobs.push(ids[1].clone());
    }
    hooks::burst(dir.path(), &[]);
    let mut conn = redis.conn();
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 4);

    let server = Server::start_in(dir.path());
    let cookie = server.login().await;
    let (status, page) = server.session_get(&cookie, "/queues/default/failed").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Requeue all failed of webhook"), "{page}");
    for name in ["a", "b"] {
        assert!(page.contains(&format!(r#"<option value="{name}">{name}</option>"#)));
    }
    let csrf = csrf_in(&page);
    let response = server
        .session_post(
            &cookie,
            "/queues/default/requeue-failed",
            &[("csrf_token", &csrf), ("webhook", "a")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    for id in &a_jobs {
        assert_eq!(job_status(&redis, id), "queued", "webhook a's job {id}");
    }
    for id in &b_jobs {
        assert_eq!(job_status(&redis, id), "failed", "webhook b's job {id}");
    }
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 2);
    let (_, page) = server.session_get(&cookie, "/queues/default/failed").await;
    assert!(
        page.contains("Requeued 2 failed jobs of webhook a in default"),
        "the flash message says what moved:\n{page}"
    );

    let unknown = server
        .http
        .post(server.url("/queues/default/requeue-failed"))
        .bearer_auth(&server.token)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("webhook=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 2);
}
