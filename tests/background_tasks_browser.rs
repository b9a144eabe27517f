//! The background-tasks page in a real browser: headless Chromium, driven through chromedriver
//! with WebDriver, opens the page with its token, follows a queue's failed count, opens a job,
//! clicks Requeue, and the test checks Redis. Screenshots of the queues, the job list and the job
//! land in `target/screenshots/`.

mod support;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use redis::Commands;
use support::{
    background_tasks_url, die_with_parent, manage_on, python_run, stderr, wait_until, RedisServer,
    Running,
};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free port, killed with the test.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Self {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "{CHROMEDRIVER} or {CHROMIUM} is missing: the browser test needs Debian's chromium and chromium-driver (bash scripts/setup.sh installs them)"
        );
        // Port 0: chromedriver binds a port the kernel picks and says which.
        let mut child = die_with_parent(
            Command::new(CHROMEDRIVER)
                .arg("--port=0")
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )
        .spawn()
        .expect("start chromedriver");
        let started = regex::Regex::new(r"started successfully on port (\d+)").unwrap();
        let mut said = String::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port: u16 = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("chromedriver stopped before saying its port: {said}"))
                .unwrap();
            if let Some(found) = started.captures(&line) {
                break found[1].parse().unwrap();
            }
            said.push_str(&line);
            said.push('\n');
        };
        // Keep reading, so chromedriver never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        assert!(
            wait_until(Duration::from_secs(20), || std::net::TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "chromedriver did not answer on port {port}"
        );
        Self {
            child,
            port,
            _profile: tempfile::tempdir().unwrap(),
        }
    }

    async fn client(&self) -> Client {
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    format!("--user-data-dir={}", self._profile.path().display()),
                ],
            },
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session with headless Chromium")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A screenshot of the whole page at a laptop's width: the window grows to the page's height
/// (at least a laptop's 900 pixels), so nothing below the fold is cut off.
async fn screenshot(client: &Client, name: &str) {
    for _ in 0..3 {
        let sizes = client
            .execute(
                "return [document.documentElement.scrollHeight, window.innerHeight, window.outerHeight];",
                vec![],
            )
            .await
            .expect("page size");
        let size = |i: usize| sizes[i].as_u64().unwrap_or(900) as u32;
        let (page, inner, outer) = (size(0).clamp(900, 3000), size(1), size(2));
        if inner >= page {
            break;
        }
        client
            .set_window_size(1440, page + outer.saturating_sub(inner))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(name), png).unwrap();
    client.set_window_size(1440, 900).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_follows_the_failed_count_opens_a_job_and_requeues_it() {
    let driver = Driver::start();
    let redis = RedisServer::start();
    for args in [
        vec!["rqenqueue", "manage.echo", "--args", "[1, 2]"],
        vec![
            "rqenqueue",
            "manage.fail",
            "--kwargs",
            r#"{"message": "the receiver answered 503"}"#,
        ],
        vec![
            "rqenqueue",
            "extras.webhooks.send_webhook",
            "--kwargs",
            r#"{"webhook": "site-hook", "event_type": "object_created", "object_type": "dcim.site", "data": {"id": 7, "name": "Amsterdam"}, "timestamp": "2026-11-28T10:00:00+00:00", "username": "admin"}"#,
        ],
    ] {
        let out = manage_on(&redis, &args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    python_run(
        &redis,
        "import os\nfrom redis import Redis\nfrom rq import Queue\nfrom rq.serializers import JSONSerializer\nq = Queue('default', connection=Redis.from_url(os.environ['REDIS_URL']), serializer=JSONSerializer)\nq.enqueue('manage.fail', 'from python', job_id='python-job')\n",
        &[],
    );
    let out = manage_on(
        &redis,
        &["rqworker", "--burst", "--name", "laptop-worker", "default"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = manage_on(&redis, &["rqenqueue", "manage.echo", "--queue", "low"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut conn = redis.conn();
    let failed: Vec<String> = conn.zrange("rq:failed:default", 0, -1).unwrap();
    assert_eq!(
        failed.len(),
        3,
        "manage.fail, the webhook and the Python job failed"
    );

    let _idle_worker = Running::start(&redis, &["rqworker", "--name", "idle-worker", "high"]);
    assert!(wait_until(Duration::from_secs(10), || conn
        .hget::<_, _, Option<String>>("rq:worker:idle-worker", "state")
        .unwrap()
        .as_deref()
        == Some("idle")));
    let server = Running::start(&redis, &["background_tasks", "--bind", "127.0.0.1:0"]);
    let url = background_tasks_url(&server);
    let client = driver.client().await;
    client.set_window_size(1440, 900).await.unwrap();

    client.goto(&url).await.unwrap();
    let here = client.current_url().await.unwrap();
    assert_eq!(here.path(), "/");
    assert!(
        here.query().is_none(),
        "the token left the address bar: {here}"
    );
    client
        .wait()
        .for_element(Locator::Css("table.grid"))
        .await
        .unwrap();
    screenshot(&client, "queues.png").await;

    client
        .find(Locator::Css(r#"a[href="/queues/default/failed"]"#))
        .await
        .expect("the failed count of default is a link")
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("table.jobs"))
        .await
        .unwrap();
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/queues/default/failed"
    );
    let listing = client.source().await.unwrap();
    assert!(listing.contains("the receiver answered 503"), "{listing}");
    screenshot(&client, "jobs.png").await;

    let fail_id = conn
        .zrange::<_, Vec<String>>("rq:failed:default", 0, -1)
        .unwrap()
        .into_iter()
        .find(|id| {
            conn.hget::<_, _, String>(format!("rq:job:{id}"), "description")
                .unwrap_or_default()
                .starts_with("manage.fail(message=")
        })
        .unwrap();
    client
        .find(Locator::Css(&format!(r#"a[href="/jobs/{fail_id}"]"#)))
        .await
        .expect("each job links to its page")
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("h1.job-title"))
        .await
        .unwrap();
    let page = client.source().await.unwrap();
    assert!(
        page.contains("the receiver answered 503") && page.contains("laptop-worker"),
        "{page}"
    );
    screenshot(&client, "job.png").await;

    client
        .find(Locator::Css(r#"button[value="requeue"]"#))
        .await
        .expect("a failed job offers Requeue")
        .click()
        .await
        .unwrap();
    let flash = client
        .wait()
        .for_element(Locator::Css("p.flash.success"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(flash, format!("Job {fail_id} has been re-enqueued."));
    assert_eq!(
        client.current_url().await.unwrap().path(),
        format!("/jobs/{fail_id}")
    );
    screenshot(&client, "requeued.png").await;

    assert_eq!(
        conn.hget::<_, _, String>(format!("rq:job:{fail_id}"), "status")
            .unwrap(),
        "queued"
    );
    let queued: Vec<String> = conn.lrange("rq:queue:default", 0, -1).unwrap();
    assert_eq!(queued, vec![fail_id.clone()]);
    assert!(conn
        .zscore::<_, _, Option<f64>>("rq:failed:default", &fail_id)
        .unwrap()
        .is_none());
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 2);

    client.close().await.unwrap();
}

#[test]
fn the_webhooks_view_charts_deliveries_and_requeues_a_webhooks_failures() {
    use support::endpoint::Endpoint;
    use support::hooks::{hook, manage_in, project};
    let driver = Driver::start();
    let redis = RedisServer::start();
    let good = Endpoint::start();
    let bad = Endpoint::start();
    // The ticketing endpoint fails its first twelve requests, then recovers.
    bad.answer_next(&[503; 12]);
    let rule = |webhook: &str, kind: &str| {
        format!("[[event_rules]]\nname = \"{webhook}\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\"]\nwebhook = \"{webhook}\"\nconditions = {{ attr = \"kind\", value = \"{kind}\" }}\n")
    };
    let dir = project(
        &redis,
        &(hook("crm-sync", &good.base(), "")
            + &hook("ticketing", &bad.base(), "breaker_failures = 50")
            + &rule("crm-sync", "g")
            + &rule("ticketing", "b")),
    );
    // Three rounds of deliveries, so the per-minute chart has bars of both colours.
    for round in 0..3u64 {
        let lines: String = (0..20)
            .map(|i| {
                let kind = if i % 3 == 0 { "b" } else { "g" };
                format!("{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {{\"id\": {}, \"kind\": \"{kind}\"}}}}\n", round * 100 + i)
            })
            .collect();
        let out = support::run_with_input(
            support::manage(dir.path()).args(["enqueue_event", "--lines"]),
            lines.as_bytes(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let out = manage_in(dir.path(), &["rqworker", "--burst", "default"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!((good.received(), bad.received()), (39, 21));

    let server = Running::start_in(dir.path(), &["background_tasks", "--bind", "127.0.0.1:0"]);
    let url = background_tasks_url(&server);
    // The endpoints run their own runtimes: the browser's runs beside them, not inside.
    let browsing = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    browsing.block_on(browse_webhooks(&driver, &url, &redis));
}

/// Opens the Webhooks view, a webhook's page and a job's attempts, and requeues the webhook's
/// failures from its page.
async fn browse_webhooks(driver: &Driver, url: &str, redis: &RedisServer) {
    let client = driver.client().await;
    client.set_window_size(1440, 900).await.unwrap();
    client.goto(url).await.unwrap();
    client
        .find(Locator::LinkText("Webhooks"))
        .await
        .expect("the navigation has Webhooks")
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("table.webhooks"))
        .await
        .unwrap();
    let charts = client.find_all(Locator::Css("svg.chart")).await.unwrap();
    assert_eq!(charts.len(), 2, "one chart per webhook");
    let crm = charts[0].attr("aria-label").await.unwrap().unwrap();
    let ticketing = charts[1].attr("aria-label").await.unwrap().unwrap();
    assert_eq!(crm, "Deliveries over the last hour: 39 delivered, 0 failed");
    assert_eq!(
        ticketing,
        "Deliveries over the last hour: 9 delivered, 12 failed"
    );
    let page = client.source().await.unwrap();
    assert!(
        page.contains("100.0%") && page.contains("42.9%"),
        "success rates shown"
    );
    screenshot(&client, "webhooks.png").await;

    client
        .find(Locator::Css(r#"a[href="/webhooks/ticketing"]"#))
        .await
        .expect("each webhook links to its page")
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("table.deliveries"))
        .await
        .unwrap();
    assert_eq!(
        client
            .find_all(Locator::Css("svg.chart"))
            .await
            .unwrap()
            .len(),
        2
    );
    let rows = client
        .find_all(Locator::Css("table.deliveries tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 21);
    screenshot(&client, "webhook.png").await;

    // A failed delivery links to its job, whose page lists its attempts.
    let job_link = client
        .find(Locator::Css("table.deliveries tr.bad a.mono"))
        .await
        .unwrap();
    let job_id = job_link.text().await.unwrap();
    job_link.click().await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("table.attempts"))
        .await
        .unwrap();
    let attempt = client
        .find(Locator::Css("table.attempts tbody tr"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        attempt.contains("503") && attempt.contains("answer 503"),
        "{attempt}"
    );
    screenshot(&client, "job-attempts.png").await;

    client.back().await.unwrap();
    client
        .find(Locator::Css(
            r#"form[action="/webhooks/ticketing/requeue-failed"] button"#,
        ))
        .await
        .expect("the webhook page can requeue its failed jobs")
        .click()
        .await
        .unwrap();
    let flash = client
        .wait()
        .for_element(Locator::Css("p.flash.success"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(flash, "Requeued 12 failed jobs of webhook ticketing");
    let mut conn = redis.conn();
    assert_eq!(conn.zcard::<_, u64>("rq:failed:default").unwrap(), 0);
    let queued: Vec<String> = conn.lrange("rq:queue:default", 0, -1).unwrap();
    assert_eq!(queued.len(), 12);
    assert!(queued.contains(&job_id));
    client.close().await.unwrap();
}
