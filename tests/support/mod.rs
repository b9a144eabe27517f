//! Test support shared by the integration tests: private `redis-server`s, the real `manage`
//! binary run to completion or left running, Python RQ as the outside oracle, and ports that
//! cannot collide. A test binary declares `mod support;` and uses what it needs.
#![allow(dead_code)]

pub mod endpoint;
pub mod fixtures;
pub mod hooks;
pub mod http;
pub mod load;
pub mod receiver;
pub mod rq;
pub mod tls;

use std::{
    net::TcpListener,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    time::{Duration, Instant},
};

/// A private `redis-server` on a loopback port of its own, with nothing persisted; stopped on
/// drop. It never touches a Redis the machine may already run on 6379.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server and waits until it answers (as itself: see [`spawn_redis`]).
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra `redis-server` arguments (e.g. `--appendonly yes`).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let args = Self::args(dir.path(), extra);
        let (child, port) = spawn_redis("redis-server", |port| {
            let mut command = Command::new("redis-server");
            command.args(["--port", &port.to_string()]).args(&args);
            command
        });
        Self { child, port, dir }
    }

    /// Starts a server that also speaks TLS on a second port, with a certificate for 127.0.0.1
    /// signed by a CA of its own. Returns it, the TLS port and the CA's PEM file.
    pub fn start_tls() -> (Self, u16, PathBuf) {
        let pki = tls::Pki::new("manage test CA");
        let (server, tls_port) = Self::start_tls_with(&pki, false);
        let ca = server.dir().join("ca.pem");
        std::fs::copy(pki.ca_file(), &ca).unwrap();
        (server, tls_port, ca)
    }

    /// Starts a server that also speaks TLS on a second port, with a certificate for 127.0.0.1
    /// signed by `pki`'s CA; with `auth_clients` it also asks clients for a certificate signed
    /// by that CA (`--tls-auth-clients yes`). Returns it and the TLS port. The plain port stays
    /// open so the test can tell it started and look at its data.
    pub fn start_tls_with(pki: &tls::Pki, auth_clients: bool) -> (Self, u16) {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = pki.server();
        let (cert, key, ca) = (
            server.cert.display().to_string(),
            server.key.display().to_string(),
            pki.ca_file().display().to_string(),
        );
        let args = Self::args(dir.path(), &[]);
        let tls_port = std::cell::Cell::new(0);
        let (child, port) = spawn_redis("redis-server with TLS", |port| {
            // Taken again by the server; if someone else got it first, the server exits and
            // both ports are picked anew.
            tls_port.set(kernel_port());
            let mut command = Command::new("redis-server");
            command
                .args(["--port", &port.to_string()])
                .args(&args)
                .args(["--tls-port", &tls_port.get().to_string()])
                .args(["--tls-cert-file", &cert, "--tls-key-file", &key])
                .args(["--tls-ca-cert-file", &ca])
                .args([
                    "--tls-auth-clients",
                    if auth_clients { "yes" } else { "no" },
                ]);
            command
        });
        (Self { child, port, dir }, tls_port.get())
    }

    fn args(dir: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push("--dir".into());
        args.push(dir.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: a Redis that takes commands and
    /// answers none, as a stalled host or a long fork looks to its clients.
    pub fn freeze(&self, frozen: bool) {
        let sig = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// A client for assertions.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("client")
    }

    /// A synchronous connection for assertions.
    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("connection")
    }

    /// The server's data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server (as an outage would) without removing its files.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and directory.
    pub fn restart_with(&mut self, extra: &[&str]) {
        self.kill();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string()])
            .args(Self::args(self.dir.path(), extra));
        self.child = start_redis(&mut command, self.port).unwrap_or_else(|why| {
            panic!(
                "redis-server did not start again on port {}: {why}",
                self.port
            )
        });
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port the kernel just handed out, for a second listening port of a server whose first port
/// [`spawn_redis`] checks (the server fails to start, and is tried again, if it was taken).
pub fn kernel_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port from the kernel")
        .port()
}

/// Starts a `redis-server` (or a sentinel) built by `command` for a port, on a port no one else
/// has: a port picked by the kernel may be taken again before the server binds it, so the
/// server counts as started only when the process answering on the port is this one (its
/// `INFO server` names our process id); otherwise it is tried again on another port.
pub fn spawn_redis(what: &str, mut command: impl FnMut(u16) -> Command) -> (Child, u16) {
    let mut failures = Vec::new();
    for _ in 0..20 {
        let port = kernel_port();
        match start_redis(&mut command(port), port) {
            Ok(child) => return (child, port),
            Err(why) => failures.push(format!("port {port}: {why}")),
        }
    }
    panic!(
        "{what} did not start (is it installed? scripts/setup.sh installs it):\n{}",
        failures.join("\n")
    )
}

/// Spawns `command` and waits until it answers on `port` as itself.
fn start_redis(command: &mut Command, port: u16) -> Result<Child, String> {
    let mut child = die_with_parent(command.stdout(Stdio::null()).stderr(Stdio::null()))
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let why = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break format!("it exited ({status}), probably because the port is taken");
        }
        match server_pid(port) {
            Some(pid) if pid == child.id() => return Ok(child),
            Some(pid) => break format!("another process ({pid}) answers there"),
            None if Instant::now() > deadline => break "it did not answer in 10 s".into(),
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    Err(why)
}

/// The `process_id` a Redis (or sentinel) on `port` reports, once it answers.
fn server_pid(port: u16) -> Option<u32> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(1))
        .ok()?;
    let info: String = redis::cmd("INFO").arg("server").query(&mut conn).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
}

/// A socket bound to a fresh port on 127.0.0.1, without `SO_REUSEADDR` (so no one else can bind
/// that port while it is open): `(descriptor, port)`.
fn bound_socket() -> (i32, u16) {
    // SAFETY: plain socket calls on a descriptor the caller then owns; the address structures
    // are zeroed and sized as the calls expect.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let bound = libc::bind(fd, &addr as *const _ as *const libc::sockaddr, size);
        assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
        let mut len = size;
        let named = libc::getsockname(fd, &mut addr as *mut _ as *mut libc::sockaddr, &mut len);
        assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
        (fd, u16::from_be(addr.sin_port))
    }
}

/// A loopback port that refuses every connection and that no one else can take while this
/// lives: a socket bound to it that never listens. For "connection refused" cases.
pub struct ClosedPort {
    fd: i32,
    port: u16,
}

impl ClosedPort {
    /// Binds a fresh port on 127.0.0.1.
    pub fn new() -> Self {
        let (fd, port) = bound_socket();
        Self { fd, port }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ClosedPort {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe {
            libc::close(self.fd);
        }
    }
}

/// A loopback port where connecting hangs, as to a host that does not answer: it listens with
/// the smallest backlog, never accepts, and its accept queue is already full, so the kernel
/// drops every new connection's SYN.
pub struct SilentPort {
    port: ClosedPort,
    _queued: Vec<std::net::TcpStream>,
}

impl SilentPort {
    /// Listens on a fresh port and fills its accept queue.
    pub fn new() -> Self {
        let port = ClosedPort::new();
        // SAFETY: `listen` on the descriptor the ClosedPort owns.
        let listening = unsafe { libc::listen(port.fd, 0) };
        assert_eq!(listening, 0, "listen: {}", std::io::Error::last_os_error());
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port.port()));
        let mut queued = Vec::new();
        while let Ok(stream) =
            std::net::TcpStream::connect_timeout(&address, Duration::from_millis(300))
        {
            queued.push(stream);
            assert!(queued.len() < 64, "the accept queue does not fill");
        }
        Self {
            port,
            _queued: queued,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http(&self) -> String {
        self.port.http()
    }
}

impl Default for SilentPort {
    fn default() -> Self {
        Self::new()
    }
}

/// Makes a child die with the test process even when the test is killed, so no server is left behind.
pub fn die_with_parent(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    }
}

/// The `manage` binary under test.
pub fn manage_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_manage"))
}

/// A `manage` command with a clean environment: its own empty working directory (so no
/// `manage.toml` is picked up) and no `MANAGE_*` variables from the caller.
pub fn manage(cwd: &Path) -> Command {
    let mut command = Command::new(manage_bin());
    command
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("MANAGE_") {
            command.env_remove(key);
        }
    }
    die_with_parent(&mut command);
    command
}

/// Runs a command to completion with `input` on its standard input (written from another
/// thread, so a large input cannot block against the command's output) and returns its output.
pub fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        // A command may stop reading early (a refused line, say): its answer is the test's.
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer thread");
    out
}

/// Runs a command to completion and returns its output.
pub fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("run manage")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Standard output of a command that must have succeeded, parsed as JSON: how tests read the
/// `--json` reports (`rqjobs`, `rqjob`, `deliveries`, …) that are the commands' stable
/// interface. A failure shows everything the command said.
pub fn stdout_json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}{}",
        stdout(output),
        stderr(output)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// Polls `check` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    check()
}

/// Sends a signal to a child process.
pub fn signal(child: &Child, sig: i32) {
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

/// The Python interpreter of the virtualenv with `rq==2.12.0` that scripts/test.sh creates.
pub fn python() -> PathBuf {
    let path = std::env::var_os("MANAGE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        path.exists(),
        "{} is missing: run `bash scripts/test.sh` once to create the Python RQ virtualenv",
        path.display()
    );
    path
}

/// Runs Python code in the RQ virtualenv with `REDIS_URL` set; panics with its output on failure.
pub fn python_run(redis: &RedisServer, code: &str, extra_path: &[&Path]) -> String {
    python_with(&redis.url(), code, extra_path, b"")
}

/// Runs Python code in the RQ virtualenv with `REDIS_URL=redis_url` and `input` on its standard
/// input; returns what it printed, and panics with its output when it fails.
pub fn python_with(redis_url: &str, code: &str, extra_path: &[&Path], input: &[u8]) -> String {
    let path: Vec<PathBuf> = extra_path.iter().map(|p| p.to_path_buf()).collect();
    let out = run_with_input(
        Command::new(python())
            .arg("-c")
            .arg(code)
            .env("REDIS_URL", redis_url)
            .env("PYTHONPATH", std::env::join_paths(path).unwrap()),
        input,
    );
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Python's verdict on a netbox signature: `hmac.new(secret, body, hashlib.sha512).hexdigest()`
/// compared with `signature`.
pub fn python_accepts_netbox_signature(secret: &str, body: &[u8], signature: &str) -> bool {
    let code = "import hmac, hashlib, sys\nsecret, signature = sys.argv[1:3]\nbody = sys.stdin.buffer.read()\nprint(hmac.compare_digest(hmac.new(secret.encode(), body, hashlib.sha512).hexdigest(), signature))";
    let out = run_with_input(
        Command::new(python()).args(["-c", code, secret, signature]),
        body,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    match stdout(&out).trim() {
        "True" => true,
        "False" => false,
        other => panic!("python said {other:?}"),
    }
}

/// A command from the RQ virtualenv's `bin/` (e.g. `rq`).
pub fn venv_bin(name: &str) -> PathBuf {
    python().parent().expect("venv bin").join(name)
}

/// A Python RQ `SimpleWorker` (JSON serializer) that drains `default` in burst mode, ready to
/// run with `PYTHONPATH` (and any other environment) added by the caller.
pub fn python_worker(redis: &RedisServer, pythonpath: &Path) -> Command {
    let mut command = Command::new(venv_bin("rq"));
    command
        .args([
            "worker",
            "--burst",
            "-S",
            "json",
            "-w",
            "rq.worker.SimpleWorker",
            "--url",
        ])
        .arg(redis.url())
        .arg("default")
        .env("PYTHONPATH", pythonpath);
    command
}

/// A Python module `tasks` with `add` and `boom`, for Python workers in tests.
pub fn python_tasks() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tasks.py"),
        "def add(a, b, scale=1):\n    return (a + b) * scale\n\ndef boom(x):\n    raise ValueError('boom: %s' % x)\n",
    )
    .unwrap();
    dir
}

/// NetBox's `extras.webhooks.send_webhook` as a Python RQ worker runs it: NetBox 4.6's body
/// (event, timestamp, object_type, username, request_id, data, then request, snapshots and
/// context when there are some), signed with `X-Hook-Signature`
/// (hex HMAC-SHA512) when `WEBHOOK_SECRET` is set, posted to `WEBHOOK_URL`. Returns the
/// directory to put on the worker's `PYTHONPATH`: the tests need nothing outside the repository.
pub fn python_webhook_jobs() -> tempfile::TempDir {
    const JOB: &str = r#"import hashlib, hmac, json, os, urllib.request


def send_webhook(webhook, event_type, object_type, data, timestamp=None, username=None,
                 request_id=None, snapshots=None, request=None, context=None, **_):
    event = {'object_created': 'created', 'object_updated': 'updated',
             'object_deleted': 'deleted'}.get(event_type, event_type)
    body = {'event': event, 'timestamp': timestamp, 'object_type': object_type,
            'username': username, 'request_id': request_id, 'data': data}
    # As NetBox 4.6.8's send_webhook: each only when there is one.
    if request:
        body['request'] = request
    if snapshots:
        body['snapshots'] = snapshots
    if context:
        body['context'] = context
    body = json.dumps(body).encode('utf-8')
    headers = {'Content-Type': 'application/json'}
    secret = os.environ.get('WEBHOOK_SECRET')
    if secret:
        headers['X-Hook-Signature'] = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
    request = urllib.request.Request(os.environ['WEBHOOK_URL'], data=body, headers=headers)
    with urllib.request.urlopen(request) as answer:
        return 'Status %d returned, webhook successfully processed.' % answer.status
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("extras")).unwrap();
    std::fs::write(dir.path().join("extras/__init__.py"), "").unwrap();
    std::fs::write(dir.path().join("extras/webhooks.py"), JOB).unwrap();
    dir
}

/// The peak resident memory of a process, from `/proc/<pid>/status` (`VmHWM`), in KiB.
pub fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A `manage` process left running (a worker, a receiver), killed on drop.
pub struct Running {
    /// The process.
    pub child: Child,
    out: PathBuf,
    err: PathBuf,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Starts `manage <args>` against `redis`, with its output in files.
    pub fn start(redis: &RedisServer, args: &[&str]) -> Self {
        Self::spawn(None, &[("MANAGE_REDIS_URL", &redis.url())], args)
    }

    /// Starts `manage <args>` in `cwd` (which holds the project's manage.toml).
    pub fn start_in(cwd: &Path, args: &[&str]) -> Self {
        Self::spawn(Some(cwd), &[], args)
    }

    /// Starts `manage <args>` in `cwd` (else in an empty directory of its own) with `env` added.
    pub fn spawn(cwd: Option<&Path>, env: &[(&str, &str)], args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let mut command = manage(cwd.unwrap_or(dir.path()));
        command.envs(env.iter().copied());
        let child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("spawn manage");
        Self {
            child,
            out,
            err,
            _dir: dir,
        }
    }

    /// What it wrote to standard output so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// What it wrote to standard error (its log) so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Standard output, then standard error: everything it said so far.
    pub fn output(&self) -> String {
        self.stdout() + &self.stderr()
    }

    /// Waits for it to exit and returns how it ended; fails the test, showing what it said,
    /// when it is still running after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {timeout:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for it to exit and checks that it exited with `code`.
    pub fn assert_exits(&mut self, code: i32, timeout: Duration) {
        let status = self.wait(timeout);
        assert_eq!(status.code(), Some(code), "{status}:\n{}", self.output());
    }

    /// Sends `sig` and checks that it then exits with code 0 within `timeout`.
    pub fn stop(&mut self, sig: i32, timeout: Duration) {
        signal(&self.child, sig);
        self.assert_exits(0, timeout);
    }

    /// Kills it with SIGKILL and checks that it died of it.
    pub fn kill(&mut self) {
        signal(&self.child, libc::SIGKILL);
        let status = self.wait(Duration::from_secs(10));
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `manage <args>` against `redis`, to completion.
pub fn manage_on(redis: &RedisServer, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run(manage(dir.path())
        .args(args)
        .env("MANAGE_REDIS_URL", redis.url()))
}

/// The `host:port` a `manage event_gateway` process printed on its first line, once it has.
pub fn gateway_address(gateway: &Running) -> String {
    assert!(
        wait_until(Duration::from_secs(10), || gateway
            .stdout()
            .contains("Event gateway: http://")),
        "the gateway did not start: {}",
        gateway.output()
    );
    gateway
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("Event gateway: http://"))
        .expect("the address line")
        .trim_end_matches("/events")
        .to_string()
}

/// The URL (with its token) a `manage background_tasks` process printed on its first line.
pub fn background_tasks_url(server: &Running) -> String {
    assert!(
        wait_until(Duration::from_secs(15), || server
            .output()
            .contains("Background tasks: http://")),
        "the server did not start: {}",
        server.output()
    );
    let output = server.output();
    let line = output
        .lines()
        .find(|l| l.starts_with("Background tasks: "))
        .expect("the URL line");
    line.trim_start_matches("Background tasks: ")
        .trim()
        .to_string()
}

/// A child process killed (and reaped) when dropped, for servers a test starts itself.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
