//! The HTTP server under `event_gateway`, `background_tasks` and the worker's probes, made to
//! face clients that mean harm as well as those that are merely slow.
//!
//! It is hyper's own HTTP/1.1 connection with its header read timeout (which also closes a
//! keep-alive connection that sends nothing), behind a cap on open connections: a connection
//! over the cap is answered 503 and closed at once, so that a flood of idle sockets can neither
//! use up the process's file descriptors nor keep `/live` from answering. When accepting fails
//! anyway (the descriptors of the whole machine are gone), the loop backs off instead of
//! spinning, and says so once a second at most. A write that makes no progress for the header
//! timeout (a client that stopped reading) ends its connection. Bodies are read whole within a
//! deadline by [`read_body`], which tells too large (413) from slow (408) and cut short (400).

use std::{
    future::Future,
    io,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::Router;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{io::AsyncWriteExt, net::TcpListener, sync::Semaphore};

/// Header fields a request may carry; hyper's own default, and the receiver's (431 past it).
const MAX_HEADERS: usize = 100;

/// How long a refused connection gets to read its 503.
const LINGER: Duration = Duration::from_secs(1);

/// Refused connections that may linger at once (each holds a descriptor beyond the cap; the
/// cap leaves [`RESERVED_DESCRIPTORS`] for everything else, this among it).
const MAX_LINGERING: usize = 16;

/// How long requests in progress get to finish after the stop signal; then the server returns
/// and their connections go with the process.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The bounds of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a connection's first byte (or the end of its previous response) to the end of a
    /// request's head.
    pub header_timeout: Duration,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// The setting `max_connections` comes from, for the warnings.
    pub setting: &'static str,
}

impl Limits {
    /// The cap lowered to what the process's file-descriptor limit leaves room for, with a
    /// warning naming the setting, so that the cap, not `accept`, is what refuses connections.
    pub fn within_descriptors(mut self) -> Self {
        let room = raise_descriptor_limit().saturating_sub(RESERVED_DESCRIPTORS);
        if self.max_connections > room {
            tracing::warn!(
                "{} = {} is more than the file-descriptor limit leaves room for; taking {room} (raise LimitNOFILE or ulimit -n)",
                self.setting, self.max_connections
            );
            self.max_connections = room.max(1);
        }
        self
    }
}

/// Descriptors kept for everything but client connections: Redis, the HTTP client's pool, logs.
const RESERVED_DESCRIPTORS: usize = 64;

/// Raises the soft limit on open files to the hard one, as Go's runtime and nginx's
/// `worker_rlimit_nofile` do, since the soft default of 1,024 is far below what a server needs
/// and the hard limit is the operator's real decision. Returns the limit now in force.
pub fn raise_descriptor_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then lets the
/// requests in progress finish (idle connections are closed at once).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let lingering = Arc::new(Semaphore::new(MAX_LINGERING));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(MAX_HEADERS);
    let mut refusals = Refusals::default();
    let mut backoff = Duration::ZERO;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = Duration::ZERO;
                stream
            }
            // The client gave up between SYN and accept: nothing to do.
            Err(error) if is_per_connection(&error) => continue,
            Err(error) => {
                // Out of file descriptors, usually: wait, doubling, rather than spin.
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                refusals.accept_failed(&error);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refusals.busy(limits.max_connections, limits.setting);
            // Lingering holds a descriptor: only a few refusals at once may, the rest close
            // at once (their clients may see a reset instead of the 503).
            let linger = lingering.clone().try_acquire_owned().ok();
            tokio::spawn(refuse_busy(stream, linger));
            continue;
        };
        let _ = stream.set_nodelay(true);
        // A client that stops reading its answers would block the write for ever, holding
        // its slot: a write that makes no progress for the header timeout ends the connection.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.header_timeout));
        let service = TowerToHyperService::new(router.clone());
        let connection =
            graceful.watch(http.serve_connection(TokioIo::new(Box::pin(stream)), service));
        tokio::spawn(async move {
            // A client that resets or times out ends its own connection; nothing to report.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in progress {}s after the stop signal: closing their connections",
            SHUTDOWN_GRACE.as_secs()
        );
    }
    Ok(())
}

/// Errors of `accept` that concern one connection only, not the listener.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Answers 503 and closes; with a `linger` slot, first reads (and drops) what the client sends
/// for a moment: closing a socket with unread input resets it, and the client would see a
/// reset, not the 503.
async fn refuse_busy(
    mut stream: tokio::net::TcpStream,
    linger: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    use tokio::io::AsyncReadExt;
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 21\r\n\r\nToo many connections\n";
    let _ = tokio::time::timeout(LINGER, stream.write_all(BUSY)).await;
    let _ = tokio::time::timeout(LINGER, stream.shutdown()).await;
    if linger.is_none() {
        return;
    }
    let deadline = tokio::time::Instant::now() + LINGER;
    let mut scratch = [0u8; 4096];
    while let Ok(Ok(read)) = tokio::time::timeout_at(deadline, stream.read(&mut scratch)).await {
        if read == 0 {
            break;
        }
    }
}

/// Connections refused, said in one warning a second at most: a flood must not become a flood
/// of log lines too.
#[derive(Default)]
pub struct Refusals {
    since_warning: u64,
    warned: Option<Instant>,
}

impl Refusals {
    /// One connection answered 503 because `max` are open, `setting` being what sets `max`.
    pub fn busy(&mut self, max: usize, setting: &str) {
        if let Some(count) = self.count() {
            tracing::warn!(
                "{count} connection(s) answered 503: {max} are open already ({setting})"
            );
        }
    }

    fn accept_failed(&mut self, error: &io::Error) {
        if let Some(count) = self.count() {
            tracing::warn!("cannot accept {count} connection(s): {error}; backing off");
        }
    }

    /// Counts one refusal; the count since the last warning when one is due now.
    fn count(&mut self) -> Option<u64> {
        self.since_warning = self.since_warning.saturating_add(1);
        if self
            .warned
            .is_some_and(|at| at.elapsed() < Duration::from_secs(1))
        {
            return None;
        }
        self.warned = Some(Instant::now());
        Some(std::mem::take(&mut self.since_warning))
    }
}

/// Why a request's body could not be read whole.
#[derive(Debug)]
pub enum BodyError {
    /// It is longer than the limit (413: the sender must send less, not again).
    TooLarge,
    /// It did not arrive within the deadline (408: the sender may try again).
    TimedOut,
    /// The client stopped sending before its end, or broke the framing (400).
    Broken(String),
}

/// Reads a whole body of at most `limit` bytes within `timeout`, telling a body that is too
/// large from one that is slow and one that was cut short, since senders retry only the last
/// two.
pub async fn read_body(
    body: axum::body::Body,
    limit: usize,
    timeout: Duration,
) -> Result<axum::body::Bytes, BodyError> {
    use http_body_util::BodyExt;
    // A Content-Length past the limit is refused before a byte of it is read.
    if usize::try_from(axum::body::HttpBody::size_hint(&body).lower()).map_or(true, |n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(BodyError::TimedOut),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            Err(BodyError::TooLarge)
        }
        Ok(Err(error)) => Err(BodyError::Broken(error.to_string())),
    }
}
