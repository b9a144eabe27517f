//! Running as a service: systemd's readiness protocol (`Type=notify`) spoken by the worker and the
//! servers, and the unit files in `deploy/systemd/` checked by systemd's own `systemd-analyze`
//! and run as systemd would run them.

mod support;

use std::{
    collections::BTreeMap,
    os::unix::net::UnixDatagram,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use redis::Commands;
use support::{endpoint::Endpoint, hooks, wait_until, RedisServer, Running};

/// A socket standing in for systemd's `NOTIFY_SOCKET`.
struct Notifications {
    socket: UnixDatagram,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Notifications {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Self {
            socket,
            path,
            _dir: dir,
        }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// The next message, as its `KEY=value` lines; fails the test after 30 s without one.
    fn next(&self, waiting_for: &str, process: &Running) -> BTreeMap<String, String> {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).unwrap_or_else(|e| {
            panic!(
                "no notification ({waiting_for}) on NOTIFY_SOCKET: {e}\n{}",
                process.output()
            )
        });
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Waits for `READY=1` and returns the status line sent with it.
    fn ready(&self, process: &Running) -> String {
        let message = self.next("READY=1", process);
        assert_eq!(
            message.get("READY").map(String::as_str),
            Some("1"),
            "{message:?}"
        );
        message.get("STATUS").cloned().unwrap_or_default()
    }

    /// Waits for `STOPPING=1`.
    fn stopping(&self, process: &Running) {
        let message = self.next("STOPPING=1", process);
        assert_eq!(
            message.get("STOPPING").map(String::as_str),
            Some("1"),
            "{message:?}"
        );
    }
}

fn registered_workers(redis: &RedisServer) -> Vec<String> {
    redis.conn().smembers("rq:workers").unwrap()
}

/// The `http://ADDR:PORT` a server printed after `prefix`.
fn printed_address(server: &Running, prefix: &str) -> String {
    let output = server.output();
    let line = output
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line when ready:\n{output}"));
    let url = line.trim_start_matches(prefix).trim();
    let rest = url.trim_start_matches("http://");
    let address = rest.split(['/', ' ']).next().unwrap();
    address.trim_end_matches('.').to_string()
}

/// `READY=1` comes once the worker is registered in Redis (systemd's `start` returns then, and
/// units ordered after it start), and `STOPPING=1` as soon as SIGTERM arrives; it then stops
/// warm and exits 0.
#[test]
fn the_worker_tells_systemd_it_is_ready_once_registered_and_when_it_stops() {
    let redis = RedisServer::start();
    let notify = Notifications::new();
    let mut worker = Running::spawn(
        None,
        &[
            ("MANAGE_REDIS_URL", &redis.url()),
            ("NOTIFY_SOCKET", notify.path()),
        ],
        &["rqworker", "--name", "unit-1"],
    );
    let status = notify.ready(&worker);
    assert_eq!(
        registered_workers(&redis),
        vec!["rq:worker:unit-1".to_string()],
        "READY=1 came before the worker was registered"
    );
    assert!(status.contains("unit-1"), "status line: {status:?}");
    support::signal(&worker.child, libc::SIGTERM);
    notify.stopping(&worker);
    worker.assert_exits(0, Duration::from_secs(20));
    assert!(registered_workers(&redis).is_empty());
}

/// The page and the gateway say `READY=1` only once they accept connections.
#[test]
fn the_servers_tell_systemd_they_are_ready_once_they_accept_connections() {
    let redis = RedisServer::start();
    // The command, what it prints before its address, and the environment it needs besides.
    type Server<'a> = (&'a [&'a str], &'a str, &'a [(&'a str, &'a str)]);
    let servers: [Server; 3] = [
        (
            &["background_tasks", "--bind", "127.0.0.1:0"],
            "Background tasks: ",
            &[],
        ),
        (
            &["event_gateway", "--bind", "127.0.0.1:0"],
            "Event gateway: ",
            &[("MANAGE_GATEWAY__TOKEN", "a-token-of-some-length")],
        ),
        (
            &["webhook_receiver", "--port", "0"],
            "Listening on port ",
            &[],
        ),
    ];
    for (args, prefix, extra_env) in servers {
        let notify = Notifications::new();
        let url = redis.url();
        let mut env = vec![
            ("MANAGE_REDIS_URL", url.as_str()),
            ("NOTIFY_SOCKET", notify.path()),
        ];
        env.extend_from_slice(extra_env);
        let mut server = Running::spawn(None, &env, args);
        let status = notify.ready(&server);
        let address = printed_address(&server, prefix).replace("localhost", "127.0.0.1");
        std::net::TcpStream::connect(&address).unwrap_or_else(|e| {
            panic!(
                "{}: READY=1 but {address} refuses connections: {e}",
                args[0]
            )
        });
        assert!(
            status.contains(address.rsplit(':').next().unwrap()),
            "{}: the status names the port: {status:?}",
            args[0]
        );
        support::signal(&server.child, libc::SIGTERM);
        notify.stopping(&server);
        server.assert_exits(0, Duration::from_secs(20));
    }
}

/// Without `NOTIFY_SOCKET` nothing is sent and nothing complains.
#[test]
fn without_notify_socket_the_worker_says_nothing_of_it() {
    let redis = RedisServer::start();
    let mut worker = Running::start(&redis, &["rqworker", "--burst"]);
    worker.assert_exits(0, Duration::from_secs(20));
    assert!(
        !worker.output().to_lowercase().contains("notify"),
        "{}",
        worker.output()
    );
}

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd")
}

/// A unit's `[Service]` settings, each key with every value it was given.
fn service_section(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut settings = BTreeMap::<String, Vec<String>>::new();
    let mut in_service = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if let (true, Some((key, value))) = (in_service, line.split_once('=')) {
            if !line.starts_with('#') {
                settings
                    .entry(key.to_string())
                    .or_default()
                    .push(value.to_string());
            }
        }
    }
    settings
}

/// Each unit as `systemd-analyze verify` sees it, with `ExecStart` pointing at the binary under
/// test (verify insists the program exists): no error and not one warning; and sandboxed as
/// README says (`systemd-analyze security` exposure at most 2 of 10).
#[test]
fn the_units_pass_systemd_analyze_verify_without_a_warning() {
    let scratch = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(units_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".service") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("ExecStart=/usr/local/bin/manage "),
            "{name}: runs the binary `cargo install` or the image puts in /usr/local/bin"
        );
        let text = text.replace(
            "/usr/local/bin/manage",
            support::manage_bin().to_str().unwrap(),
        );
        let instance = name.replace("@.service", "@1.service");
        let copy = scratch.path().join(&instance);
        std::fs::write(&copy, text).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&copy)
            .output()
            .expect("systemd-analyze (Debian's systemd package) runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{instance}: {}\n{stderr}",
            out.status
        );
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes"])
            .arg(&copy)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        let exposure: f64 = report
            .lines()
            .find_map(|l| l.split_once("Overall exposure level for "))
            .and_then(|(_, rest)| rest.split(": ").nth(1))
            .and_then(|level| level.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{instance}: no exposure level in\n{report}"));
        assert!(
            exposure <= 2.0,
            "{instance}: systemd-analyze security rates its exposure {exposure}, README says 1.4:\n{report}"
        );
        checked.push(instance);
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "manage-background-tasks.service",
            "manage-event-gateway.service",
            "manage-rqworker@1.service"
        ]
    );
}

/// What each unit promises the operator: systemd waits for readiness, restarts after a crash,
/// stops with SIGTERM (a warm stop) and gives it time to finish.
#[test]
fn the_units_restart_on_failure_wait_for_readiness_and_stop_warm() {
    for name in [
        "manage-rqworker@.service",
        "manage-background-tasks.service",
        "manage-event-gateway.service",
    ] {
        let unit = std::fs::read_to_string(units_dir().join(name)).unwrap();
        let service = service_section(&unit);
        let one = |key: &str| service.get(key).and_then(|v| v.last()).cloned();
        assert_eq!(one("Type").as_deref(), Some("notify"), "{name}");
        assert_eq!(one("Restart").as_deref(), Some("on-failure"), "{name}");
        assert_eq!(one("KillSignal").as_deref(), Some("SIGTERM"), "{name}");
        assert!(
            service["Environment"].contains(&"MIMALLOC_ARENA_EAGER_COMMIT=0".to_string()),
            "{name}"
        );
        assert_ne!(one("User").as_deref(), Some("root"), "{name}");
        assert!(one("User").is_some(), "{name} runs as its own user");
        // Room for every connection the servers take (max_connections = 4096 by default).
        let files: u64 = one("LimitNOFILE").unwrap_or_default().parse().unwrap_or(0);
        assert!(files >= 8192, "{name}: LimitNOFILE = {files}");
        assert_eq!(
            one("SystemCallErrorNumber").as_deref(),
            Some("EPERM"),
            "{name}"
        );
    }
}

/// `%l` as systemd expands it: the host name up to its first dot.
fn short_hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    name.trim().split('.').next().unwrap().to_string()
}

/// The worker unit's `ExecStart`, expanded for instance `instance` as systemd would, with the
/// binary under test in place of /usr/local/bin/manage.
fn worker_unit_command(instance: &str) -> Vec<String> {
    let unit = std::fs::read_to_string(units_dir().join("manage-rqworker@.service")).unwrap();
    let exec = service_section(&unit)["ExecStart"].last().unwrap().clone();
    let mut words = exec
        .split_whitespace()
        .map(|w| w.replace("%i", instance).replace("%l", &short_hostname()));
    assert_eq!(words.next().as_deref(), Some("/usr/local/bin/manage"));
    words.collect()
}

/// The worker unit's command line gives the same worker name at every start, so when systemd
/// restarts a worker killed with SIGKILL, the webhook the dead one was sending is sent again at
/// once, not after its registration expires (420 s).
#[test]
fn a_worker_restarted_by_its_unit_takes_back_the_dead_ones_job_at_once() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    endpoint.hold();
    let dir = hooks::project_sending_to(&redis, &format!("{}/hook", endpoint.base()), "");
    let ids = hooks::enqueue_site(dir.path(), "created", r#"{"id": 1, "name": "a"}"#);
    let args = worker_unit_command("1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = dir.path().join("manage.toml");
    let config = config.to_str().unwrap();
    let expected = format!("{}-1", short_hostname());

    let notify = Notifications::new();
    let env = [("MANAGE_CONFIG", config), ("NOTIFY_SOCKET", notify.path())];
    let mut first = Running::spawn(None, &env, &args);
    notify.ready(&first);
    assert_eq!(
        registered_workers(&redis),
        vec![format!("rq:worker:{expected}")]
    );
    assert!(
        wait_until(Duration::from_secs(20), || endpoint.received() == 1),
        "{}",
        first.output()
    );
    first.kill();

    endpoint.release();
    let mut second = Running::spawn(None, &env, &args);
    notify.ready(&second);
    assert!(
        wait_until(Duration::from_secs(20), || endpoint.received() == 2),
        "the restarted worker did not send the dead one's webhook again:\n{}",
        second.output()
    );
    let status = support::rq::status(&redis, &ids[0]);
    assert!(
        wait_until(Duration::from_secs(10), || support::rq::status(
            &redis, &ids[0]
        ) == "finished"),
        "job {} is {status}",
        ids[0]
    );
    support::signal(&second.child, libc::SIGTERM);
    second.assert_exits(0, Duration::from_secs(20));
}

/// The settings `deploy/compose.yaml` mounts pass `manage check` (with Redis's address from the
/// environment, as compose gives it).
#[test]
fn the_compose_example_settings_pass_check() {
    let redis = RedisServer::start();
    let settings = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/manage.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = support::run(
        support::manage(dir.path())
            .arg("check")
            .env("MANAGE_CONFIG", &settings)
            .env("MANAGE_REDIS_URL", redis.url()),
    );
    assert!(
        out.status.success(),
        "{}{}",
        support::stdout(&out),
        support::stderr(&out)
    );
}
