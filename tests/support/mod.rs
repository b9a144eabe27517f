//! Test support shared by the integration tests: a private `redis-server` per test on a free
//! port, and helpers to run the real `manage` binary.
#![allow(dead_code)]

pub mod endpoint;
pub mod fixtures;
pub mod hooks;
pub mod load;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

/// A private `redis-server` on a free loopback port, with nothing persisted; stopped on drop.
/// It never touches a Redis the machine may already run on 6379.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server and waits until it answers PING.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra `redis-server` arguments (e.g. `--appendonly yes`).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(dir.path().display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = die_with_parent(
            Command::new("redis-server")
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .spawn()
        .expect("redis-server must be installed (scripts/test.sh installs it)");
        let server = Self { child, port, dir };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut conn) = self.client().get_connection() {
                if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
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
        let mut args: Vec<String> = [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(self.dir.path().display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        self.child = die_with_parent(
            Command::new("redis-server")
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .spawn()
        .expect("redis-server");
        self.wait_ready();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
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
        stdin.write_all(&input).expect("write standard input");
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

/// `../shared` beside the repository (reference material and the Python baselines).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("MANAGE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Runs Python code in the RQ virtualenv with `REDIS_URL` set; panics with its output on failure.
pub fn python_run(redis: &RedisServer, code: &str, extra_path: &[&Path]) -> String {
    let mut path: Vec<PathBuf> = extra_path.iter().map(|p| p.to_path_buf()).collect();
    path.push(shared_dir().join("bench/pyjobs"));
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .env("REDIS_URL", redis.url())
        .env("PYTHONPATH", std::env::join_paths(path).unwrap())
        .stdin(Stdio::null())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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

/// A `manage` process left running (a worker, a receiver), killed on drop.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Starts `manage <args>` against `redis` with stdout and stderr in a log file.
    pub fn start(redis: &RedisServer, args: &[&str]) -> Self {
        Self::spawn(None, Some(redis), args)
    }

    /// Starts `manage <args>` in `cwd` (which holds the project's manage.toml), with stdout and
    /// stderr in a log file.
    pub fn start_in(cwd: &Path, args: &[&str]) -> Self {
        Self::spawn(Some(cwd), None, args)
    }

    /// Runs in `cwd` (else in the log's own directory), told `redis`'s URL when given.
    fn spawn(cwd: Option<&Path>, redis: Option<&RedisServer>, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut command = manage(cwd.unwrap_or(dir.path()));
        if let Some(redis) = redis {
            command.env("MANAGE_REDIS_URL", redis.url());
        }
        let child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("spawn manage");
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for it to exit, up to `timeout`; returns the exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
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
