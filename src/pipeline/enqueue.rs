//! From events to jobs: every enabled rule that an event matches becomes one
//! `extras.webhooks.send_webhook` job on the rule's queue, all written in one round trip.

use std::{collections::HashSet, sync::Arc};

use futures::StreamExt;
use serde_json::{Map, Value};

use crate::{
    rq::{
        job::{NewJob, Retry},
        queue,
    },
    trace::TraceParent,
    webhooks::{
        event::{matching_rules, merged_data, Event},
        EventRuleConfig, Ordering, WebhookConfig, JOB_TIMEOUT_SECS, SEND_WEBHOOK,
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

/// What the enqueue side needs from the settings: the rules, and which webhooks keep each
/// object's deliveries in order. Built once; shared by bulk enqueues across threads.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    rules: Vec<EventRuleConfig>,
    ordered: HashSet<String>,
    result_ttl: Option<i64>,
    failure_ttl: Option<i64>,
}

impl Routing {
    /// The routing of `rules` to `webhooks`.
    pub fn new(rules: &[EventRuleConfig], webhooks: &[WebhookConfig]) -> Self {
        Self {
            rules: rules.to_vec(),
            ordered: webhooks
                .iter()
                .filter(|w| w.ordering == Ordering::Object)
                .map(|w| w.name.clone())
                .collect(),
            result_ttl: None,
            failure_ttl: None,
        }
    }

    /// The same routing, writing these TTLs on its jobs (RQ's defaults when `None`).
    pub fn with_ttls(mut self, result_ttl: Option<i64>, failure_ttl: Option<i64>) -> Self {
        self.result_ttl = result_ttl;
        self.failure_ttl = failure_ttl;
        self
    }

    /// The event rules, in order.
    pub fn rules(&self) -> &[EventRuleConfig] {
        &self.rules
    }

    /// The chain a delivery of `data` to `webhook` joins: the webhook and the object
    /// (`object_type`, `data.id`), written as JSON so that no two objects share one; `None`
    /// when the webhook is unordered or the data has no id.
    pub fn chain(&self, webhook: &str, object_type: &str, data: &Value) -> Option<String> {
        if !self.ordered.contains(webhook) {
            return None;
        }
        let id = data
            .get("id")
            .filter(|id| id.is_number() || id.is_string())?;
        Some(serde_json::json!([webhook, object_type, id]).to_string())
    }
}

/// The jobs an event produces under `routing`, in rule order. The kwargs carry names, never
/// secrets: the worker looks the webhook up in its own settings when it sends.
pub fn jobs_for_event(routing: &Routing, event: &Event, now: &str) -> Vec<(NewJob, EnqueuedJob)> {
    let timestamp = event.timestamp.clone().unwrap_or_else(|| now.to_string());
    let trace = event.traceparent.unwrap_or_else(TraceParent::new_root);
    matching_rules(&routing.rules, event)
        .map(|rule| {
            let data = merged_data(rule, event);
            let chain = routing.chain(&rule.webhook, &event.object_type, &data);
            let mut job = NewJob::new(
                rule.queue.clone(),
                SEND_WEBHOOK,
                Vec::new(),
                kwargs(rule, event, data, &timestamp),
            );
            job.timeout = JOB_TIMEOUT_SECS as i64;
            job.chain = chain;
            job.result_ttl = routing.result_ttl;
            job.failure_ttl = routing.failure_ttl;
            let mut meta = Map::new();
            meta.insert(TRACEPARENT.into(), Value::from(trace.to_string()));
            job.meta = Some(meta);
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

/// NetBox's `send_webhook` keyword arguments for one rule's delivery of an event.
fn kwargs(
    rule: &EventRuleConfig,
    event: &Event,
    data: Value,
    timestamp: &str,
) -> Map<String, Value> {
    let text = |value: &Option<String>| value.clone().map(Value::from).unwrap_or(Value::Null);
    let mut kwargs = Map::new();
    kwargs.insert("webhook".into(), Value::from(rule.webhook.clone()));
    kwargs.insert("event_rule".into(), Value::from(rule.name.clone()));
    kwargs.insert("object_type".into(), Value::from(event.object_type.clone()));
    kwargs.insert("event_type".into(), Value::from(event.event_type.as_str()));
    kwargs.insert("data".into(), data);
    kwargs.insert(
        "snapshots".into(),
        event.snapshots.clone().unwrap_or(Value::Null),
    );
    kwargs.insert("timestamp".into(), Value::from(timestamp));
    kwargs.insert("username".into(), text(&event.username()));
    kwargs.insert("request_id".into(), text(&event.request_id()));
    // NetBox 4.6's keys only when there are some, so jobs of events without them stay as
    // Python producers of older versions write them.
    if let Some(request) = &event.request {
        kwargs.insert("request".into(), request.clone());
    }
    if let Some(context) = &event.context {
        kwargs.insert("context".into(), context.clone());
    }
    if !event.extra.is_empty() {
        kwargs.insert(NETBOX_EXTRA.into(), Value::Object(event.extra.clone()));
    }
    kwargs
}

/// The keyword argument carrying the keys of a relayed NetBox body that we do not know.
pub const NETBOX_EXTRA: &str = "netbox_extra";

/// The key of a job's `meta` that holds the W3C `traceparent` its deliveries continue.
pub const TRACEPARENT: &str = "traceparent";

/// NetBox's timestamp for an event: now, ISO 8601 with microseconds and `+00:00`.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Enqueues the jobs of many events in one round trip (one MULTI), so a batch is
/// enqueued whole or not at all. Returns the jobs of each event, in order.
pub async fn enqueue_events<C: redis::aio::ConnectionLike>(
    conn: &mut C,
    routing: &Routing,
    events: &[Event],
) -> redis::RedisResult<Vec<Vec<EnqueuedJob>>> {
    let (batch, per_event) = encode_batch(routing, events);
    if let Some(batch) = batch {
        batch.write(conn).await?;
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
    routing: Arc<Routing>,
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
            let routing = routing.clone();
            // The batch is moved in, so its events are also freed there, off the runtime.
            tokio::task::spawn_blocking(move || encode_batch(&routing, &batch))
        })
        .buffered(BULK_AHEAD + 1);
    let mut out = Vec::with_capacity(total);
    while let Some(batch) = built.next().await {
        let (encoded, per_event) = batch.expect("building a batch does not panic");
        if let Some(encoded) = encoded {
            encoded.write(conn).await.map_err(|error| BulkError {
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

impl BulkError {
    /// Whether Redis refused the write for want of memory (`maxmemory` reached with a policy
    /// that evicts nothing): Redis answered, so this is not an outage.
    pub fn out_of_memory(&self) -> bool {
        // A batch is one MULTI: Redis refuses the commands queued past maxmemory and aborts
        // the whole transaction, which redis-rs reports with each refused command's error.
        let refused = self.error.clone().into_server_errors();
        self.error.code() == Some("OOM")
            || refused.is_some_and(|errors| errors.iter().any(|(_, e)| e.code() == "OOM"))
            || self.error.to_string().contains("OOM command not allowed")
    }

    /// One line for the user: what stopped the enqueue and how many events got in before it.
    pub fn describe(&self, redis: &str) -> String {
        let done = self.enqueued_events;
        let unreachable = self.error.is_io_error()
            || self.error.is_timeout()
            || self.error.is_connection_dropped()
            || self.error.is_connection_refusal();
        if self.out_of_memory() {
            format!("Redis at {redis} refused the write: it is out of memory (maxmemory reached and its policy evicts nothing); {done} event(s) were enqueued before it, the rest were not")
        } else if !unreachable {
            format!("Redis at {redis} refused the write: {}; {done} event(s) were enqueued before it, the rest were not", self.error)
        } else {
            format!("cannot reach Redis at {redis}: {}; {done} event(s) were enqueued before it, the rest were not", self.error)
        }
    }
}

/// The encoded jobs of one batch of events (`None` when no rule matched any), and the jobs of
/// each event.
pub(crate) fn encode_batch(
    routing: &Routing,
    events: &[Event],
) -> (Option<queue::Encoded>, Vec<Vec<EnqueuedJob>>) {
    let now = now_iso();
    let mut jobs = Vec::new();
    let mut per_event = Vec::with_capacity(events.len());
    for event in events {
        let produced = jobs_for_event(routing, event, &now);
        per_event.push(
            produced
                .iter()
                .map(|(_, summary)| summary.clone())
                .collect(),
        );
        jobs.extend(produced.into_iter().map(|(job, _)| job));
    }
    let encoded = (!jobs.is_empty()).then(|| queue::encode(&jobs));
    (encoded, per_event)
}
