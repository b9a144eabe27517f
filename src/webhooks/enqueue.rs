//! From events to jobs: every enabled rule that an event matches becomes one
//! `extras.webhooks.send_webhook` job on the rule's queue, all written in one round trip.

use serde_json::{Map, Value};

use super::{event::merged_data, matching_rules, Event, JOB_TIMEOUT_SECS, SEND_WEBHOOK};
use crate::{
    config::Settings,
    error::CommandError,
    rq::{
        job::{NewJob, Retry},
        queue,
    },
    Context,
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

/// The jobs an event produces under `settings`, in rule order. The kwargs carry names, never
/// secrets: the worker looks the webhook up in its own settings when it sends.
pub fn jobs_for_event(settings: &Settings, event: &Event, now: &str) -> Vec<(NewJob, EnqueuedJob)> {
    let timestamp = event.timestamp.clone().unwrap_or_else(|| now.to_string());
    matching_rules(&settings.event_rules, event)
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
    settings: &Settings,
    events: &[Event],
) -> redis::RedisResult<Vec<Vec<EnqueuedJob>>> {
    let now = now_iso();
    let mut jobs = Vec::new();
    let mut per_event = Vec::with_capacity(events.len());
    for event in events {
        let produced = jobs_for_event(settings, event, &now);
        per_event.push(
            produced
                .iter()
                .map(|(_, summary)| summary.clone())
                .collect(),
        );
        jobs.extend(produced.into_iter().map(|(job, _)| job));
    }
    queue::enqueue_many(conn, &jobs).await?;
    Ok(per_event)
}

/// Enqueues the jobs of one event: the library API behind `manage enqueue_event`.
pub async fn enqueue_event(ctx: &Context, event: &Event) -> Result<Vec<EnqueuedJob>, CommandError> {
    let mut conn = ctx.redis().await?;
    let mut jobs = enqueue_events(&mut conn, ctx.settings(), std::slice::from_ref(event))
        .await
        .map_err(|e| ctx.unreachable(e))?;
    Ok(jobs.pop().unwrap_or_default())
}
