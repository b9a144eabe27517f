//! Writing outcomes: jobs that end at about the same time are written together in one script
//! call, each exactly as RQ writes it. Under load this turns many round trips into one; when
//! idle, a lone outcome is written at once.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::redis_conn::RedisConn;

use super::execute::Outcome;
use crate::rq::{scripts, serializer, timestamp};

/// The most outcomes written in one script call.
const MAX_BATCH: usize = 512;

/// One ended job, ready to be written.
#[derive(Debug, Clone)]
pub struct Ended {
    /// The job id.
    pub id: String,
    /// Its queue.
    pub queue: String,
    /// Its execution id in the started registry.
    pub execution: String,
    /// What happened.
    pub outcome: Outcome,
    /// The job function's details of the run, kept with the result.
    pub details: Option<Value>,
    /// The job's `result_ttl`, if set.
    pub result_ttl: Option<i64>,
    /// The job's `failure_ttl`, if set.
    pub failure_ttl: Option<i64>,
    /// Which attempt this was (1 for the first), kept as the hash's `manage_attempts`.
    pub attempt: u32,
    /// When it started and ended (epoch seconds).
    pub started: f64,
    /// When it ended (epoch seconds).
    pub ended: f64,
}

/// Script arguments per ended job (see `lua/complete.lua`).
const RECORD_LEN: usize = 13;

/// Flat script arguments for one ended job (see `lua/complete.lua`).
fn record(ended: &Ended) -> [String; RECORD_LEN] {
    let ttl = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_default();
    let none = String::new;
    let (kind, payload, ttl, x1, x2, x3) = match &ended.outcome {
        Outcome::Finished(value) => {
            let payload = if value.is_null() {
                none()
            } else {
                serializer::encode_result(value)
            };
            ("ok", payload, ttl(ended.result_ttl), none(), none(), none())
        }
        Outcome::Failed(reason) => (
            "fail",
            serializer::encode_exc(reason),
            ttl(ended.failure_ttl),
            none(),
            none(),
            none(),
        ),
        Outcome::Stopped => (
            "stopped",
            serializer::encode_exc("Job stopped by user, work-horse terminated."),
            ttl(ended.failure_ttl),
            none(),
            none(),
            none(),
        ),
        Outcome::Retry {
            reason,
            interval,
            retries_left,
            at_front,
        } => (
            "retry",
            serializer::encode_exc(reason),
            ttl(ended.failure_ttl),
            interval.to_string(),
            retries_left.to_string(),
            if *at_front { "1".into() } else { "0".into() },
        ),
        Outcome::Requeue | Outcome::Foreign(_) => {
            ("requeue", none(), none(), none(), none(), none())
        }
        Outcome::Park { key, until, .. } => (
            "park",
            none(),
            none(),
            key.clone(),
            format!("{until:.3}"),
            none(),
        ),
    };
    [
        kind.into(),
        ended.id.clone(),
        ended.queue.clone(),
        ended.execution.clone(),
        payload,
        ttl,
        format!("{:.6}", ended.started),
        format!("{:.6}", ended.ended),
        x1,
        x2,
        x3,
        ended
            .details
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default(),
        ended.attempt.to_string(),
    ]
}

/// Writes one batch. `idle` says nothing else is in flight, so the worker shows as idle.
pub async fn write(
    conn: &mut RedisConn,
    worker_key: &str,
    worker_name: &str,
    batch: &[Ended],
    idle: bool,
) -> redis::RedisResult<()> {
    let now = chrono::Utc::now();
    let successes = batch
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Finished(_)))
        .count();
    let failures = batch
        .iter()
        .filter(|e| {
            matches!(
                e.outcome,
                Outcome::Failed(_) | Outcome::Stopped | Outcome::Retry { .. }
            )
        })
        .count();
    let working: f64 = batch
        .iter()
        .filter(|e| {
            !matches!(
                e.outcome,
                Outcome::Requeue | Outcome::Foreign(_) | Outcome::Park { .. }
            )
        })
        .map(|e| (e.ended - e.started).max(0.0))
        .sum();
    let mut invocation = scripts::COMPLETE.prepare_invoke();
    invocation
        .arg(worker_key)
        .arg(worker_name)
        .arg(timestamp::format(now))
        .arg(now.timestamp())
        .arg(successes)
        .arg(failures)
        .arg(format!("{working:.6}"))
        .arg(if idle { "1" } else { "0" });
    for ended in batch {
        for part in record(ended) {
            invocation.arg(part);
        }
    }
    invocation.invoke_async::<i64>(conn).await.map(|_| ())
}

/// Receives ended jobs and writes them in batches until the channel closes, retrying through a
/// Redis outage so no outcome is dropped. `written` is told how many outcomes each batch
/// recorded; `in_flight` tells whether the worker is now idle.
pub async fn writer(
    mut conn: RedisConn,
    worker_key: String,
    worker_name: String,
    mut ended: mpsc::UnboundedReceiver<Ended>,
    written: impl Fn(usize),
    in_flight: impl Fn() -> usize,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = ended.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match ended.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut delay = Duration::from_millis(100);
        loop {
            match write(
                &mut conn,
                &worker_key,
                &worker_name,
                &batch,
                in_flight() == 0,
            )
            .await
            {
                Ok(()) => {
                    written(batch.len());
                    break;
                }
                Err(error) => {
                    tracing::warn!(
                        "cannot record {} job outcome(s) in Redis, retrying in {:?}: {error}",
                        batch.len(),
                        delay
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        batch.clear();
    }
}
