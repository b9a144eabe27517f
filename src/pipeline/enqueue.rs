//! From events to jobs: every enabled rule that an event matches becomes one
//! `extras.webhooks.send_webhook` job on the rule's queue, all written in one round trip.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::{Map, Value};

use crate::{
    rq::{
        job::{NewJob, Retry},
        queue,
    },
    webhooks::{
        event::{matching_rules, merged_data, Event},
        EventRuleConfig, JOB_TIMEOUT_SECS, SEND_WEBHOOK,
    },
};

/// One job an event produced: which rule, which webhook, which queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnqueuedJob {
    /// The RQ job id.
    pub id: String,
    /// The event rule that matched.
    pub rule: String,
    /// The webhook it will send.
    pub webhook: String,
    /// The queue it waits on.
    pub queue: String,
}

/// The jobs an event produces under `rules`, in rule order. The kwargs carry names, never
/// secrets: the worker looks the webhook up in its own settings when it sends.
pub fn jobs_for_event(
    rules: &[EventRuleConfig],
    event: &Event,
    now: &str,
) -> Vec<(NewJob, EnqueuedJob)> {
    let timestamp = event.timestamp.clone().unwrap_or_else(|| now.to_string());
    matching_rules(rules, event)
        .map(|rule| {
            let mut kwargs = Map::new();
            kwargs.insert("webhook".into(), Value::from(rule.webhook.clone()));
            kwargs.insert("event_rule".into(), Value::from(rule.name.clone()));
            kwargs.insert("object_type".into(), Value::from(event.object_type.clone()));
            kwargs.insert("event_type".into(), Value::from(event.event_type.as_str()));
            kwargs.insert("data".into(), merged_data(rule, event));
            kwargs.insert(
                "snapshots".into(),
                event.snapshots.clone().unwrap_or(Value::Null),
            );
            kwargs.insert("timestamp".into(), Value::from(timestamp.clone()));
            kwargs.insert(
                "username".into(),
                event
                    .username
                    .clone()
                    .map(Value::from)
                    .unwrap_or(Value::Null),
            );
            kwargs.insert(
                "request_id".into(),
                event
                    .request_id
                    .clone()
                    .map(Value::from)
                    .unwrap_or(Value::Null),
            );
            let mut job = NewJob::new(rule.queue.clone(), SEND_WEBHOOK, Vec::new(), kwargs);
            job.timeout = JOB_TIMEOUT_SECS as i64;
            job.retry = rule.retry.as_ref().map(|r| Retry {
                retries_left: r.max as i64,
                intervals: if r.intervals.is_empty() {
                    vec![0]
                } else {
                    r.intervals.clone()
                },
            });
            let summary = EnqueuedJob {
                id: job.id.clone(),
                rule: rule.name.clone(),
                webhook: rule.webhook.clone(),
                queue: rule.queue.clone(),
            };
            (job, summary)
        })
        .collect()
}

/// NetBox's timestamp for an event: now, ISO 8601 with microseconds and `+00:00`.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Enqueues the jobs of many events in one round trip (one transaction), so a batch is
/// enqueued whole or not at all. Returns the jobs of each event, in order.
pub async fn enqueue_events<C: redis::aio::ConnectionLike>(
    conn: &mut C,
    rules: &[EventRuleConfig],
    events: &[Event],
) -> redis::RedisResult<Vec<Vec<EnqueuedJob>>> {
    let (pipe, per_event) = batch_pipeline(rules, events);
    if let Some(pipe) = pipe {
        pipe.query_async::<()>(conn).await?;
    }
    Ok(per_event)
}

/// Events per transaction in [`enqueue_bulk`].
pub const BULK_BATCH: usize = 1000;
/// Batches [`enqueue_bulk`] builds ahead of the one being written.
const BULK_AHEAD: usize = 2;

/// Enqueues any number of events at full speed: transactions of [`BULK_BATCH`] events, each
/// built (JSON, zlib) on a blocking thread while the one before is written, and written in
/// order, so jobs keep the events' order on their queues. Each transaction is whole or not at
/// all; on an error the transactions before it stay enqueued and the error says so by its
/// count of events done. Returns the jobs of each event, in order.
pub async fn enqueue_bulk<C: redis::aio::ConnectionLike>(
    conn: &mut C,
    rules: Arc<[EventRuleConfig]>,
    events: Vec<Event>,
) -> Result<Vec<Vec<EnqueuedJob>>, BulkError> {
    let total = events.len();
    let mut events = events.into_iter();
    let batches = std::iter::from_fn(move || {
        let batch: Vec<Event> = events.by_ref().take(BULK_BATCH).collect();
        (!batch.is_empty()).then_some(batch)
    });
    let mut built = futures::stream::iter(batches)
        .map(|batch| {
            let rules = rules.clone();
            // The batch is moved in, so its events are also freed there, off the runtime.
            tokio::task::spawn_blocking(move || batch_pipeline(&rules, &batch))
        })
        .buffered(BULK_AHEAD + 1);
    let mut out = Vec::with_capacity(total);
    while let Some(batch) = built.next().await {
        let (pipe, per_event) = batch.expect("building a batch does not panic");
        if let Some(pipe) = pipe {
            pipe.query_async::<()>(conn)
                .await
                .map_err(|error| BulkError {
                    enqueued_events: out.len(),
                    error,
                })?;
        }
        out.extend(per_event);
    }
    Ok(out)
}

/// A bulk enqueue that stopped part way: how far it got, and why.
#[derive(Debug, thiserror::Error)]
#[error("{error} (the first {enqueued_events} event(s) were enqueued)")]
pub struct BulkError {
    /// Events whose jobs are on their queues.
    pub enqueued_events: usize,
    /// What Redis said.
    pub error: redis::RedisError,
}

/// The transaction for one batch of events (`None` when no rule matched any), and the jobs of
/// each event.
fn batch_pipeline(
    rules: &[EventRuleConfig],
    events: &[Event],
) -> (Option<redis::Pipeline>, Vec<Vec<EnqueuedJob>>) {
    let now = now_iso();
    let mut jobs = Vec::new();
    let mut per_event = Vec::with_capacity(events.len());
    for event in events {
        let produced = jobs_for_event(rules, event, &now);
        per_event.push(
            produced
                .iter()
                .map(|(_, summary)| summary.clone())
                .collect(),
        );
        jobs.extend(produced.into_iter().map(|(job, _)| job));
    }
    let pipe = (!jobs.is_empty()).then(|| queue::enqueue_pipeline(&jobs));
    (pipe, per_event)
}
