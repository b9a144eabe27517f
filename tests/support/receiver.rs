//! Helpers for the `webhook_receiver` tests: run the real binary on a free port, read what it
//! prints as it prints it, talk raw HTTP to it, and stop it with a signal.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Condvar, Mutex},
    time::{Duration, Instant},
};

/// How long any wait in these tests may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The line that ends every printed request.
pub const DASHES: &str = "------------";

/// A running `manage webhook_receiver`, killed on drop if a test fails before stopping it.
pub struct Receiver {
    child: Child,
    /// The port it reported in its Listening line.
    pub port: u16,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Starts `manage webhook_receiver --port 0 <args>` and waits for its Listening line.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_manage"))
            .arg("webhook_receiver")
            .args(["--port", "0"])
            .args(args)
            .current_dir(env!("CARGO_TARGET_TMPDIR"))
            .env_remove("MANAGE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start manage webhook_receiver");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
        let shared = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let (lock, ready) = &*shared;
                lock.lock().unwrap().push(line);
                ready.notify_all();
            }
        });
        let mut receiver = Self {
            child,
            port: 0,
            lines,
            reader: Some(reader),
        };
        let first = receiver.wait_for(|lines| !lines.is_empty())[0].clone();
        let port = regex::Regex::new(
            r"^Listening on port http://localhost:(\d+)\. Stop with CONTROL-C\.$",
        )
        .unwrap()
        .captures(&first)
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))[1]
            .parse()
            .unwrap();
        assert_ne!(port, 0, "the Listening line must show the real port");
        receiver.port = port;
        receiver
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until the printed lines satisfy `done`, and returns them all.
    pub fn wait_for(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let (lock, ready) = &*self.lines;
        let deadline = Instant::now() + PATIENCE;
        let mut lines = lock.lock().unwrap();
        while !done(&lines) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out; printed so far:\n{}",
                lines.join("\n")
            );
            lines = ready.wait_timeout(lines, left).unwrap().0;
        }
        lines.clone()
    }

    /// Waits until `n` requests have been printed; returns the blocks, each without its final
    /// dashes line (the Listening line is left out).
    pub fn blocks(&self, n: usize) -> Vec<Vec<String>> {
        let lines = self.wait_for(|lines| lines.iter().filter(|l| *l == DASHES).count() >= n);
        split_blocks(&lines[1..])
    }

    /// Sends `signal` (`INT` or `TERM`) and waits for the process to exit; returns its status and
    /// everything it printed.
    pub fn stop(mut self, signal: &str) -> (ExitStatus, Vec<String>) {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success());
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "receiver did not exit after SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.reader.take().unwrap().join().unwrap();
        let lines = self.lines.0.lock().unwrap().clone();
        (status, lines)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Splits printed lines into blocks at the dashes lines (dashes dropped; a trailing partial
/// block is ignored).
pub fn split_blocks(lines: &[String]) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current = Vec::new();
    for line in lines {
        if line == DASHES {
            blocks.push(std::mem::take(&mut current));
        } else {
            current.push(line.clone());
        }
    }
    blocks
}

/// Checks a printed log line, e.g. `[1] Tue, 07 Apr 2020 17:44:02 GMT 127.0.0.1 "POST / HTTP/1.1" 200 -`,
/// against its expected parts; the date only has to look like an HTTP date.
pub fn assert_log_line(line: &str, n: usize, request_line: &str, status: u16) {
    let pattern = format!(
        r#"^\[{n}\] (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{{4}} \d\d:\d\d:\d\d GMT 127\.0\.0\.1 "{}" {status} -$"#,
        regex::escape(request_line)
    );
    assert!(
        regex::Regex::new(&pattern).unwrap().is_match(line),
        "log line {line:?} does not match {pattern}"
    );
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The head as text.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

/// Opens a raw connection to the receiver.
pub fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads one response (head, then a Content-Length body) from `stream`.
pub fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read response head");
        assert_eq!(
            n, 1,
            "connection closed before a full response head: {raw:?}"
        );
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).unwrap();
    let status = head[9..12].parse().unwrap();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |n| n.trim().parse().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).expect("read response body");
    Response { status, head, body }
}

/// Sends `request` on a new connection and reads one response.
pub fn exchange(port: u16, request: &[u8]) -> Response {
    let mut stream = connect(port);
    stream.write_all(request).unwrap();
    read_response(&mut stream)
}
