//! Redis over TLS, against Debian's `redis-server` started with `--tls-port` and certificates
//! this test makes: `rediss://` with `[redis] ca_file` runs the whole pipeline (check, an event
//! to a webhook job, the worker delivering it, `rqjobs`, the background-tasks page); a server
//! that asks for client certificates gets `[redis] client_cert` and `client_key`, also on the
//! worker's own pub/sub connection; `rediss+sentinel://` finds the master through TLS sentinels;
//! a wrong CA, a missing client certificate and unusable files are each one clear line.

mod support;

use std::{collections::HashMap, path::Path, process::Command, time::Duration};

use redis::Commands;
use support::{
    endpoint::Endpoint,
    hooks::{hook, project_at, rule},
    rq::status,
    spawn_redis, stderr, stdout,
    tls::Pki,
    wait_until, RedisServer, Running,
};

const PATIENCE: Duration = Duration::from_secs(20);

/// `[redis]` lines naming TLS files.
fn tls_keys(ca: &Path, client: Option<&support::tls::Pair>) -> String {
    let mut keys = format!("ca_file = {:?}\n", ca.display().to_string());
    if let Some(pair) = client {
        keys += &format!(
            "client_cert = {:?}\nclient_key = {:?}\n",
            pair.cert.display().to_string(),
            pair.key.display().to_string()
        );
    }
    keys
}

/// `manage <args>` in `dir` with `SSL_CERT_FILE` pointing at `decoy`, a CA that signed nothing
/// here: whatever passes does so because of `[redis] ca_file`, not the environment.
fn manage_in(dir: &Path, decoy: &Path, args: &[&str]) -> std::process::Output {
    support::run(
        support::manage(dir)
            .env("SSL_CERT_FILE", decoy)
            .env_remove("SSL_CERT_DIR")
            .args(args),
    )
}

/// `manage <args>` left running in `dir`, with the same decoy.
fn running_in(dir: &Path, decoy: &Path, args: &[&str]) -> Running {
    let decoy = decoy.display().to_string();
    Running::spawn(Some(dir), &[("SSL_CERT_FILE", &decoy)], args)
}

fn assert_ok(out: &std::process::Output) {
    assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
}

/// The one `ERROR:` line `manage check` printed about Redis.
fn redis_error(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", stdout(out));
    let text = stderr(out);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("ERROR: cannot reach Redis"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    lines[0].to_string()
}

#[test]
fn the_pipeline_runs_end_to_end_over_rediss_with_a_private_ca() {
    let pki = Pki::new("manage test CA");
    let decoy = Pki::new("a CA that signed nothing here");
    let (redis, tls_port) = RedisServer::start_tls_with(&pki, false);
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    let endpoint = Endpoint::start();
    let dir = project_at(
        &url,
        &(tls_keys(&pki.ca_file(), None)
            + "[ui]\ntoken = \"tls-page-token-0123456789\"\n"
            + &hook(
                "h",
                &format!("{}/sites/{{{{ data.slug }}}}", endpoint.base()),
                "",
            )
            + &rule("h", "")),
    );
    let run = |args: &[&str]| manage_in(dir.path(), &decoy.ca_file(), args);

    let out = run(&["check"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains(&format!("Redis: {url} (redis_version ")),
        "{}",
        stdout(&out)
    );

    // An event becomes one webhook job, written over TLS (read back here on the plain port).
    let out = run(&[
        "enqueue_event",
        "--object-type",
        "dcim.site",
        "--event",
        "created",
        "--data",
        r#"{"id": 7, "slug": "ams"}"#,
    ]);
    assert_ok(&out);
    let ids: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = &ids[0];
    assert_eq!(status(&redis, id), "queued");
    assert_eq!(endpoint.received(), 0);

    // The worker takes it over TLS and delivers it.
    assert_ok(&run(&["rqworker", "--burst", "default"]));
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/sites/ams");
    assert_eq!(requests[0].json()["data"]["id"], 7);
    assert_eq!(status(&redis, id), "finished");

    let out = run(&["rqjobs", "--json"]);
    assert_ok(&out);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} in {listed}"));
    assert_eq!(job["status"], "finished");
    assert_eq!(job["queue"], "default");

    // The page reads the same Redis over TLS.
    let page = running_in(
        dir.path(),
        &decoy.ca_file(),
        &["background_tasks", "--bind", "127.0.0.1:0"],
    );
    let address = support::background_tasks_url(&page);
    let base = address.split("/?").next().unwrap().to_string();
    let (code, home) = get(&base, "tls-page-token-0123456789");
    assert_eq!(code, 200, "{home}");
    for count in [
        "1 finished in default",
        "0 queued in default",
        "0 failed in default",
    ] {
        assert!(
            home.contains(&format!("title=\"{count}\"")),
            "{count}: {home}"
        );
    }
}

/// `GET /` with the bearer token: status and body.
fn get(base: &str, token: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(format!("{base}/"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let code = response.status().as_u16();
        (code, response.text().await.unwrap())
    })
}

#[test]
fn a_wrong_ca_is_one_clear_line_naming_the_server() {
    let pki = Pki::new("manage test CA");
    let other = Pki::new("another CA");
    let (redis, tls_port) = RedisServer::start_tls_with(&pki, false);
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    let ca = other.ca_file();
    let dir = project_at(&url, &tls_keys(&ca, None));

    let line = redis_error(&manage_in(dir.path(), &pki.ca_file(), &["check"]));
    assert_eq!(
        line,
        format!(
            "ERROR: cannot reach Redis at {url}: the TLS certificate of 127.0.0.1:{tls_port} could not be verified: it is not signed by a trusted CA (checked against [redis] ca_file {})",
            ca.display()
        )
    );
    // Any command says the same and writes nothing.
    let out = manage_in(dir.path(), &pki.ca_file(), &["rqenqueue", "manage.echo"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim_end(),
        line.replacen("ERROR:", "CommandError:", 1)
    );
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 0);

    // Without ca_file the system's CAs decide, and the line says so.
    let dir = project_at(&url, "");
    let line = redis_error(&manage_in(dir.path(), &other.ca_file(), &["check"]));
    assert!(
        line.ends_with("it is not signed by a trusted CA (checked against the system's CAs; [redis] ca_file names a private CA to trust)"),
        "{line}"
    );
}

#[test]
fn a_server_that_asks_for_client_certificates_gets_client_cert_and_key() {
    let pki = Pki::new("manage test CA");
    let (redis, tls_port) = RedisServer::start_tls_with(&pki, true);
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    let client = pki.client();
    let decoy = Pki::new("a CA that signed nothing here");

    // Without a client certificate: refused, and the line says what to set.
    let dir = project_at(&url, &tls_keys(&pki.ca_file(), None));
    let line = redis_error(&manage_in(dir.path(), &decoy.ca_file(), &["check"]));
    assert_eq!(
        line,
        format!("ERROR: cannot reach Redis at {url}: 127.0.0.1:{tls_port} refused the TLS connection: it requires a client certificate (no client certificate was sent: set [redis] client_cert and client_key)")
    );

    // A client certificate from a CA the server does not trust: refused too.
    let strangers = Pki::new("a CA the server does not know");
    let stranger = strangers.client();
    let dir = project_at(&url, &tls_keys(&pki.ca_file(), Some(&stranger)));
    let line = redis_error(&manage_in(dir.path(), &decoy.ca_file(), &["check"]));
    assert!(
        line.contains(&format!(
            "127.0.0.1:{tls_port} refused the TLS connection: it does not trust the CA that signed our client certificate (sent [redis] client_cert {})",
            stranger.cert.display()
        )),
        "{line}"
    );

    // With its own: commands work, and so does the worker, including its pub/sub connection
    // (a stop command reaches it).
    let dir = project_at(&url, &tls_keys(&pki.ca_file(), Some(&client)));
    let run = |args: &[&str]| manage_in(dir.path(), &decoy.ca_file(), args);
    let out = run(&["check"]);
    assert_ok(&out);
    let out = run(&[
        "rqenqueue",
        "manage.sleep",
        "--kwargs",
        r#"{"seconds": 60}"#,
    ]);
    assert_ok(&out);
    let id = stdout(&out).trim().to_string();
    let mut worker = running_in(
        dir.path(),
        &decoy.ca_file(),
        &["rqworker", "--name", "tls-worker", "default"],
    );
    assert!(
        wait_until(PATIENCE, || status(&redis, &id) == "started"),
        "{}",
        worker.output()
    );
    let out = run(&["rqjob", &id, "--stop"]);
    assert_ok(&out);
    assert!(
        wait_until(PATIENCE, || status(&redis, &id) == "stopped"),
        "{}",
        worker.output()
    );
    worker.stop(libc::SIGTERM, PATIENCE);

    // The files are named, never shown.
    let out = run(&["diffsettings"]);
    assert_ok(&out);
    let key = std::fs::read_to_string(&client.key).unwrap();
    let body = key.lines().nth(1).unwrap();
    assert!(stdout(&out).contains(&client.key.display().to_string()));
    assert!(!stdout(&out).contains(body), "{}", stdout(&out));
    assert!(!worker.output().contains(body));
}

#[test]
fn check_names_tls_files_that_cannot_work() {
    let pki = Pki::new("manage test CA");
    let client = pki.client();
    let key = std::fs::read_to_string(&client.key).unwrap();
    let missing = pki.dir().join("missing.pem");
    let tls_url = "rediss://127.0.0.1:1/0";
    let check = |url: &str, keys: &str| {
        let dir = project_at(url, keys);
        let out = support::run(support::manage(dir.path()).args(["check", "--skip-redis"]));
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let file = dir.path().join("manage.toml").display().to_string();
        let text = stderr(&out);
        assert!(!text.contains(key.lines().nth(1).unwrap()), "{text}");
        text.lines()
            .filter_map(|l| l.strip_prefix("ERROR: "))
            .map(|l| l.replace(&file, "manage.toml"))
            .collect::<Vec<_>>()
    };

    assert_eq!(
        check(
            tls_url,
            &format!(
                "ca_file = {:?}\nclient_cert = {:?}\nclient_key = {:?}\n",
                missing.display().to_string(),
                client.key.display().to_string(),
                client.cert.display().to_string(),
            )
        ),
        [
            format!("manage.toml: key 'redis.ca_file': cannot read {}: No such file or directory (os error 2)", missing.display()),
            format!("manage.toml: key 'redis.client_cert': {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)", client.key.display()),
            format!("manage.toml: key 'redis.client_key': {} holds no readable private key (expected PEM: -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)", client.cert.display()),
        ]
    );
    // A directory cannot be read either; a key file given as the CA is named, not shown.
    assert_eq!(
        check(
            tls_url,
            &format!(
                "ca_file = {:?}\nclient_key = {:?}\n",
                client.key.display().to_string(),
                pki.dir().display().to_string(),
            )
        ),
        [
            format!("manage.toml: key 'redis.ca_file': {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)", client.key.display()),
            format!("manage.toml: key 'redis.client_key': cannot read {}: Is a directory (os error 21)", pki.dir().display()),
            "manage.toml: key 'redis.client_key': is given without client_cert: a private key is sent with its certificate, set both".to_string(),
        ]
    );
    // TLS files with a plain URL are refused rather than ignored.
    assert_eq!(
        check(
            "redis://127.0.0.1:1/0",
            &tls_keys(&pki.ca_file(), None)
        ),
        ["manage.toml: key 'redis.ca_file': is for TLS, but [redis] url redis://127.0.0.1:1/0 does not use TLS: use rediss:// (or rediss+sentinel://), or remove this key"]
    );
}

/// A sentinel watching the master on its TLS port, and answering on a TLS port of its own
/// (and a plain one, so the test can tell it started); killed on drop.
struct TlsSentinel {
    _child: support::KillOnDrop,
    port: u16,
    tls_port: u16,
    _dir: tempfile::TempDir,
}

const MASTER: &str = "mymaster";

impl TlsSentinel {
    fn start(pki: &Pki, master_tls_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("sentinel.conf");
        let server = pki.server();
        let tls_port = std::cell::Cell::new(0);
        let (child, port) = spawn_redis("redis-server --sentinel with TLS", |port| {
            tls_port.set(support::kernel_port());
            // A sentinel rewrites its file: a fresh one for each try.
            std::fs::write(
                &conf,
                format!(
                    "port {port}\ntls-port {}\nbind 127.0.0.1\ndir {:?}\n\
                     tls-cert-file {:?}\ntls-key-file {:?}\ntls-ca-cert-file {:?}\n\
                     tls-auth-clients yes\ntls-replication yes\n\
                     sentinel monitor {MASTER} 127.0.0.1 {master_tls_port} 1\n",
                    tls_port.get(),
                    dir.path().display().to_string(),
                    server.cert.display().to_string(),
                    server.key.display().to_string(),
                    pki.ca_file().display().to_string(),
                ),
            )
            .unwrap();
            let mut command = Command::new("redis-server");
            command.arg(&conf).arg("--sentinel");
            command
        });
        Self {
            _child: support::KillOnDrop(child),
            port,
            tls_port: tls_port.get(),
            _dir: dir,
        }
    }

    /// What this sentinel says of the master (`SENTINEL master`), asked on its plain port.
    fn master(&self) -> HashMap<String, String> {
        let Ok(mut conn) = redis::Client::open(format!("redis://127.0.0.1:{}", self.port))
            .unwrap()
            .get_connection()
        else {
            return HashMap::new();
        };
        redis::cmd("SENTINEL")
            .arg("master")
            .arg(MASTER)
            .query(&mut conn)
            .unwrap_or_default()
    }
}

#[test]
fn rediss_sentinel_finds_the_master_through_tls_sentinels() {
    let pki = Pki::new("manage test CA");
    let (master, master_tls) = RedisServer::start_tls_with(&pki, true);
    let sentinel = TlsSentinel::start(&pki, master_tls);
    // The sentinel reaches the master over TLS (with its own certificate) and sees it up.
    assert!(
        wait_until(PATIENCE, || {
            let info = sentinel.master();
            info.get("flags").map(String::as_str) == Some("master")
                && info.get("role-reported").map(String::as_str) == Some("master")
        }),
        "{:?}",
        sentinel.master()
    );

    let client = pki.client();
    let decoy = Pki::new("a CA that signed nothing here");
    let url = format!(
        "rediss+sentinel://127.0.0.1:{}/{MASTER}/0",
        sentinel.tls_port
    );
    let dir = project_at(&url, &tls_keys(&pki.ca_file(), Some(&client)));
    let run = |args: &[&str]| manage_in(dir.path(), &decoy.ca_file(), args);

    let out = run(&["check"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains(&format!("Redis: {url} (redis_version ")),
        "{}",
        stdout(&out)
    );
    let out = run(&["rqenqueue", "manage.echo", "--args", "[7]"]);
    assert_ok(&out);
    let id = stdout(&out).trim().to_string();
    assert_eq!(status(&master, &id), "queued");
    assert_ok(&run(&["rqworker", "--burst", "default"]));
    assert_eq!(status(&master, &id), "finished");

    // A sentinel whose certificate is not from the CA in ca_file is named as such.
    let other = Pki::new("another CA");
    let wrong = project_at(&url, &tls_keys(&other.ca_file(), Some(&client)));
    let line = redis_error(&manage_in(wrong.path(), &decoy.ca_file(), &["check"]));
    assert_eq!(
        line,
        format!(
            "ERROR: cannot reach Redis at {url}: the TLS certificate of sentinel 127.0.0.1:{} could not be verified: it is not signed by a trusted CA (checked against [redis] ca_file {})",
            sentinel.tls_port,
            other.ca_file().display()
        )
    );

    // The same sentinel spoken to in plain text (redis+sentinel://) is not reached.
    let plain = project_at(
        &format!(
            "redis+sentinel://127.0.0.1:{}/{MASTER}/0",
            sentinel.tls_port
        ),
        "",
    );
    let out = manage_in(plain.path(), &decoy.ca_file(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}
