//! What is kept about each delivery attempt, written in batches off the delivery path: for
//! webhooks without limits, the last status and the failures in a row that `manage webhooks`
//! shows (webhooks with limits keep them in the same hash, atomically with their circuit).
//! Under load many attempts become one round trip; when idle, one attempt is written at once.

use std::time::Duration;

use tokio::sync::mpsc;

use super::keys;
use crate::redis_conn::RedisConn;

/// The most attempts written in one round trip.
const MAX_BATCH: usize = 1024;

/// One ended attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The webhook's name.
    pub webhook: String,
    /// Whether the answer was 2XX.
    pub ok: bool,
    /// The answer's status (`200`) or the error (`connection refused`, `timed out`).
    pub status: String,
    /// When it ended (RQ timestamp).
    pub at: String,
    /// Whether the webhook's limits already recorded it (then only the log gets it).
    pub limited: bool,
}

/// Where deliveries send their attempts. Cloning shares the writer.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Attempt>,
}

impl Recorder {
    /// Starts the writer on `conn`; it ends once every clone of the recorder is dropped and
    /// what they sent is written.
    pub fn start(conn: RedisConn) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, tokio::spawn(write_all(conn, rx)))
    }

    /// Queues an attempt for writing.
    pub fn record(&self, attempt: Attempt) {
        // The writer ends only after every recorder is gone, so this cannot fail while one exists.
        let _ = self.tx.send(attempt);
    }
}

async fn write_all(mut conn: RedisConn, mut rx: mpsc::UnboundedReceiver<Attempt>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pipe = pipeline(&batch);
        if pipe.cmd_iter().next().is_none() {
            batch.clear();
            continue;
        }
        let mut delay = Duration::from_millis(100);
        while let Err(error) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(
                "cannot record {} delivery attempt(s) in Redis, retrying in {delay:?}: {error}",
                batch.len()
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        batch.clear();
    }
}

fn pipeline(batch: &[Attempt]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    for attempt in batch.iter().filter(|a| !a.limited) {
        let key = keys::webhook(&attempt.webhook);
        pipe.hset_multiple(
            &key,
            &[("last_status", &attempt.status), ("last_at", &attempt.at)],
        )
        .ignore();
        if attempt.ok {
            pipe.hset(&key, "failures", 0).ignore();
        } else {
            pipe.hincr(&key, "failures", 1).ignore();
        }
    }
    pipe
}
