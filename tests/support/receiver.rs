//! `manage webhook_receiver` for tests: run on a port the kernel picks, read what it prints as
//! it prints it, talk raw HTTP to it, and stop it with a signal.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::ExitStatus,
    time::Duration,
};

use super::{signal, wait_until, Running};

/// How long any wait in these tests may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The line that ends every printed request.
pub const DASHES: &str = "------------";

/// A running `manage webhook_receiver`, killed on drop if a test fails before stopping it.
pub struct Receiver {
    process: Running,
    /// The port it reported in its Listening line.
    pub port: u16,
}

impl Receiver {
    /// Starts `manage webhook_receiver --port 0 <args>` and waits for its Listening line.
    pub fn start(args: &[&str]) -> Self {
        let mut full = vec!["webhook_receiver", "--port", "0"];
        full.extend_from_slice(args);
        let mut receiver = Self {
            process: Running::spawn(None, &[], &full),
            port: 0,
        };
        // With --json the Listening line goes to standard error, so standard output is JSON.
        let first = if args.contains(&"--json") {
            assert!(
                wait_until(PATIENCE, || receiver.process.stderr().contains('\n')),
                "{}",
                receiver.process.output()
            );
            receiver
                .process
                .stderr()
                .lines()
                .next()
                .unwrap()
                .to_string()
        } else {
            receiver.wait_for(|lines| !lines.is_empty())[0].clone()
        };
        let port =
            regex::Regex::new(r"^Listening on port http://[^ ]+:(\d+)\. Stop with CONTROL-C\.$")
                .unwrap()
                .captures(&first)
                .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))[1]
                .parse()
                .unwrap();
        assert_ne!(port, 0, "the Listening line must show the real port");
        receiver.port = port;
        receiver
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The whole lines it printed so far.
    pub fn lines(&self) -> Vec<String> {
        let text = self.process.stdout();
        let whole = text.rfind('\n').map_or("", |end| &text[..end]);
        whole.lines().map(str::to_string).collect()
    }

    /// Waits until the printed lines satisfy `done`, and returns them all.
    pub fn wait_for(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        assert!(
            wait_until(PATIENCE, || done(&self.lines())),
            "timed out; printed so far:\n{}",
            self.process.output()
        );
        self.lines()
    }

    /// Waits until `n` requests have been printed; returns the blocks, each without its final
    /// dashes line (the Listening line is left out).
    pub fn blocks(&self, n: usize) -> Vec<Vec<String>> {
        let lines = self.wait_for(|lines| lines.iter().filter(|l| *l == DASHES).count() >= n);
        split_blocks(&lines[1..])
    }

    /// Sends `sig` (`libc::SIGINT`, `libc::SIGTERM`) and waits for the process to exit; returns
    /// its status and everything it printed.
    pub fn stop(mut self, sig: i32) -> (ExitStatus, Vec<String>) {
        signal(&self.process.child, sig);
        let status = self.process.wait(PATIENCE);
        (status, self.lines())
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
