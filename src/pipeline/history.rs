//! What is kept about each delivery attempt, written in batches off the delivery path:
//!
//! - the per-webhook delivery log `manage:deliveries:<webhook>`, a stream of the newest
//!   `[history] max_per_webhook` attempts (older than `[history] days` trimmed by the sweep):
//!   time, event, object, status or error, duration, attempt, job;
//! - per-webhook counts by minute and a duration histogram by hour, in
//!   `manage:stats:<webhook>:<hour>` (kept a day), for the Webhooks view's rates and charts;
//! - for webhooks without limits, the last status and failures in a row that
//!   `manage webhooks` shows (webhooks with limits keep them atomically with their circuit).
//!
//! Under load many attempts become one round trip, and the counts of one batch are summed
//! before they are sent; when idle, one attempt is written at once.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::keys;
use crate::redis_conn::RedisConn;

/// The most attempts written in one round trip.
const MAX_BATCH: usize = 1024;

/// Upper bounds (seconds) of the delivery-duration buckets: the Webhooks view's percentiles and
/// the `manage_delivery_duration_seconds` histogram use the same ones.
pub const DURATION_BUCKETS: [f64; 12] = crate::metrics::SECONDS_BUCKETS;

/// Seconds the hourly stats are kept: a day, and an hour for the one being filled.
const STATS_TTL: i64 = 25 * 3600;

/// `[history]`: what is kept about deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistorySettings {
    /// Keep the delivery log and the per-minute counts; off, nothing of either is written.
    pub enabled: bool,
    /// Deliveries kept in each webhook's log (the newest).
    pub max_per_webhook: u64,
    /// Days a delivery stays in its webhook's log at most.
    pub days: u64,
}

impl Default for HistorySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_per_webhook: 10_000,
            days: 7,
        }
    }
}

/// One ended attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The webhook's name.
    pub webhook: String,
    /// Whether the answer was 2XX.
    pub ok: bool,
    /// The answer's status (`200`) or the error (`Connection failed for …`).
    pub status: String,
    /// When it ended (RQ timestamp).
    pub at: String,
    /// When it ended, unix milliseconds (its minute and hour in the stats).
    pub at_ms: i64,
    /// Whether the webhook's limits already recorded the last status and the failures.
    pub limited: bool,
    /// The public event name (`created`, …).
    pub event: String,
    /// The object's type.
    pub object_type: String,
    /// The object's id (`data.id`), as text; empty when it has none.
    pub object_id: String,
    /// How long the request took, in seconds.
    pub seconds: f64,
    /// Which attempt of the job this was.
    pub attempt: u32,
    /// The job.
    pub job_id: String,
}

/// Where deliveries send their attempts. Cloning shares the writer.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Attempt>,
}

impl Recorder {
    /// Starts the writer on `conn`; it ends once every clone of the recorder is dropped and
    /// what they sent is written.
    pub fn start(
        conn: RedisConn,
        settings: HistorySettings,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, tokio::spawn(write_all(conn, settings, rx)))
    }

    /// Queues an attempt for writing.
    pub fn record(&self, attempt: Attempt) {
        // The writer ends only after every recorder is gone, so this cannot fail while one exists.
        let _ = self.tx.send(attempt);
    }
}

async fn write_all(
    mut conn: RedisConn,
    settings: HistorySettings,
    mut rx: mpsc::UnboundedReceiver<Attempt>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pipe = pipeline(&batch, &settings);
        let mut delay = Duration::from_millis(100);
        while !batch.is_empty() && pipe.cmd_iter().next().is_some() {
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(
                        "cannot record {} delivery attempt(s) in Redis, retrying in {delay:?}: {error}",
                        batch.len()
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        batch.clear();
    }
}

/// The bucket of `seconds` in [`DURATION_BUCKETS`] (the last index means "longer").
pub fn bucket(seconds: f64) -> usize {
    DURATION_BUCKETS
        .iter()
        .position(|upper| seconds <= *upper)
        .unwrap_or(DURATION_BUCKETS.len())
}

/// Each webhook's last status and failures in a row after a batch of its attempts (in order):
/// what `manage webhooks` shows of a webhook without limits (a limited one's are kept by its
/// scripts). Folded per webhook, so a busy batch costs two commands a webhook, not two an attempt.
struct LastSeen<'a> {
    status: &'a str,
    at: &'a str,
    /// Failures since the batch's last success; with `reset`, the whole count.
    failures: i64,
    reset: bool,
}

fn last_seen(batch: &[Attempt]) -> BTreeMap<&str, LastSeen<'_>> {
    let mut seen: BTreeMap<&str, LastSeen> = BTreeMap::new();
    for attempt in batch.iter().filter(|a| !a.limited) {
        let entry = seen.entry(attempt.webhook.as_str()).or_insert(LastSeen {
            status: "",
            at: "",
            failures: 0,
            reset: false,
        });
        entry.status = &attempt.status;
        entry.at = &attempt.at;
        if attempt.ok {
            entry.failures = 0;
            entry.reset = true;
        } else {
            entry.failures += 1;
        }
    }
    seen
}

fn pipeline(batch: &[Attempt], settings: &HistorySettings) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    for (webhook, last) in last_seen(batch) {
        let key = keys::webhook(webhook);
        pipe.hset_multiple(&key, &[("last_status", last.status), ("last_at", last.at)])
            .ignore();
        if last.reset {
            pipe.hset(&key, "failures", last.failures).ignore();
        } else {
            pipe.hincr(&key, "failures", last.failures).ignore();
        }
    }
    if !settings.enabled {
        return pipe;
    }
    // Counts are summed per key and field first: a busy batch is a few increments, not one each.
    let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
    for attempt in batch {
        let minute = attempt.at_ms / 60_000 * 60;
        let stats = keys::stats(&attempt.webhook, minute / 3600 * 3600);
        let outcome = if attempt.ok { "ok" } else { "failed" };
        *counts
            .entry((stats.clone(), format!("{outcome}:{minute}")))
            .or_default() += 1;
        *counts
            .entry((stats, format!("d:{}", bucket(attempt.seconds))))
            .or_default() += 1;
        pipe.cmd("XADD")
            .arg(keys::deliveries(&attempt.webhook))
            .arg("MAXLEN")
            .arg(settings.max_per_webhook)
            // The server's clock names the entry: ids must grow, whichever worker writes.
            .arg("*")
            .arg(&[
                ("event", attempt.event.as_str()),
                ("object_type", &attempt.object_type),
                ("object_id", &attempt.object_id),
                ("ok", if attempt.ok { "1" } else { "0" }),
                ("status", &attempt.status),
                ("ms", &format!("{:.1}", attempt.seconds * 1000.0)),
                ("attempt", &attempt.attempt.to_string()),
                ("job", &attempt.job_id),
            ])
            .ignore();
    }
    let mut expiring = std::collections::BTreeSet::new();
    for ((key, field), count) in counts {
        pipe.hincr(&key, field, count).ignore();
        expiring.insert(key);
    }
    for key in expiring {
        pipe.expire(key, STATS_TTL).ignore();
    }
    pipe
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(webhook: &str, ok: bool, status: &str) -> Attempt {
        Attempt {
            webhook: webhook.into(),
            ok,
            status: status.into(),
            at: format!("at-{status}"),
            at_ms: 0,
            limited: false,
            event: "created".into(),
            object_type: "dcim.site".into(),
            object_id: "1".into(),
            seconds: 0.01,
            attempt: 1,
            job_id: "j".into(),
        }
    }

    #[test]
    fn a_batch_folds_into_each_webhooks_last_status_and_failures_in_a_row() {
        let batch = [
            attempt("a", false, "500"),
            attempt("b", false, "503"),
            attempt("a", true, "200"),
            attempt("a", false, "502"),
            attempt("b", false, "504"),
            attempt("a", false, "timed out"),
        ];
        let seen = last_seen(&batch);
        let a = &seen["a"];
        assert_eq!((a.status, a.at), ("timed out", "at-timed out"));
        assert_eq!(
            (a.failures, a.reset),
            (2, true),
            "two failures since the success"
        );
        let b = &seen["b"];
        assert_eq!(
            (b.status, b.failures, b.reset),
            ("504", 2, false),
            "two more in a row"
        );
    }

    #[test]
    fn durations_fall_in_prometheus_style_buckets() {
        assert_eq!(bucket(0.001), 0);
        assert_eq!(bucket(0.005), 0);
        assert_eq!(bucket(0.0051), 1);
        assert_eq!(bucket(0.3), 6);
        assert_eq!(bucket(31.0), DURATION_BUCKETS.len());
    }
}
