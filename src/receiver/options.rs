//! What the receiver does with each request, as chosen on the command line, and the parser for
//! `--max-body` sizes.

use std::time::Duration;

use super::signature::Verifier;

/// The receiver's settings. `Default` is NetBox's behaviour: headers shown, JSON pretty-printed,
/// every request answered `200`.
#[derive(Clone)]
pub struct ReceiverOptions {
    /// `--no-headers`: leave out the header lines (and `headers` in `--json`).
    pub no_headers: bool,
    /// `--raw`: print every body as received, even JSON.
    pub raw: bool,
    /// `--json`: one JSON object per request instead of NetBox's lines.
    pub json: bool,
    /// `--status`: the status accepted requests are answered with.
    pub status: u16,
    /// `--secret`: check `X-Hook-Signature` with this key.
    pub verifier: Option<Verifier>,
    /// `--max-body`: larger bodies are refused with 413.
    pub max_body: u64,
    /// `--read-timeout`: how long one request (head and body) may take to arrive, and an idle
    /// keep-alive connection may wait for the next; then the connection is closed.
    pub read_timeout: Duration,
    /// `--max-connections`: connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Larger request heads are refused with 431.
    pub max_head: usize,
    /// `--delay`: wait this long before answering, to play a slow endpoint.
    pub delay: Duration,
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        Self {
            no_headers: false,
            raw: false,
            json: false,
            status: 200,
            verifier: None,
            max_body: 10 * 1024 * 1024,
            read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_head: 64 * 1024,
            delay: Duration::ZERO,
        }
    }
}

pub use crate::size::parse_size;
