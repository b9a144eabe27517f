//! Delivery: [`Deliveries`] is the job function `extras.webhooks.send_webhook`. It looks the
//! webhook up by name among those it was built with, asks the webhook's limits whether it may
//! start, renders (off the async runtime, bounded) and signs the request, sends it, and turns
//! the answer into the job's outcome: 2XX finishes it, anything else fails it with a readable
//! reason. Every attempt's status, duration and first bytes are kept with the job's result.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::future::BoxFuture;
use serde_json::Value;

use super::{
    enqueue::TRACEPARENT,
    history::{Attempt, Recorder},
    limits::{self, Ending, Gate, Limits},
    request::{self, Answer, ShownUrl},
};
use crate::{
    destinations::Policy,
    http::{build_client, HttpSettings, TlsOptions},
    redis_conn::RedisConn,
    rq::{
        functions::{JobCall, JobFailure, JobFunction, JobOutcome, JobSuccess},
        timestamp,
    },
    trace::TraceParent,
    webhooks::{
        render::{self, RenderedRequest},
        CompiledWebhook, NetboxVersion, Signer, WebhookConfig, WebhookContext, SEND_WEBHOOK,
    },
};

/// One configured webhook, ready to send: templates compiled, key decoded, client chosen.
struct Ready {
    config: WebhookConfig,
    /// The webhook's `timeout`, else `[http] timeout`.
    timeout: Duration,
    templates: Arc<CompiledWebhook>,
    /// A literal `payload_url` as reasons and logs show it, redacted once here; `None` for a
    /// template, whose rendered URL is redacted only when a reason or log line shows it.
    shown_url: Option<String>,
    signer: Signer,
    client: reqwest::Client,
    limits: Option<Limits>,
    /// A webhook without limits still has a circuit for `410 Gone`: its deliveries go through
    /// the gate only while `gone` says the circuit is open, so they cost nothing otherwise.
    circuit: Limits,
    /// The circuit of this webhook without limits may be `gone` (seen here, or by any worker
    /// within a second), so its deliveries ask the gate until one is let through.
    gone: AtomicBool,
    /// Deliveries of this webhook running in this process now.
    running: AtomicU64,
}

/// Every configured webhook by name, built once when a worker starts: the job function that
/// sends them. Cloning shares them.
#[derive(Clone)]
pub struct Deliveries {
    inner: Arc<Webhooks>,
}

struct Webhooks {
    ready: HashMap<String, Ready>,
    /// `[http] block_private` and `allow`, checked here for literal-IP URLs (the clients'
    /// resolver checks host names).
    destinations: Policy,
    /// `[http] max_body`: the largest body sent.
    max_body: usize,
    conn: RedisConn,
    history: Recorder,
}

impl JobFunction for Deliveries {
    fn call(&self, call: JobCall) -> BoxFuture<'static, JobOutcome> {
        Box::pin(send_webhook(self.inner.clone(), call))
    }
}

impl Deliveries {
    /// Builds the webhooks: templates compiled, keys decoded, and one HTTP client per distinct
    /// TLS and redirect policy, shared by the webhooks that have it, so connections are reused
    /// across deliveries. Limits and history go to `conn`'s Redis.
    pub fn new(
        webhooks: &[WebhookConfig],
        http: &HttpSettings,
        conn: RedisConn,
        history: Recorder,
    ) -> Result<Self, String> {
        let mut clients: HashMap<TlsOptions, reqwest::Client> = HashMap::new();
        let mut ready = HashMap::new();
        for config in webhooks {
            let tls = TlsOptions {
                insecure: !config.ssl_verification,
                ca_file: Some(config.ca_file_path.clone()).filter(|p| !p.is_empty()),
                follow_redirects: config.follow_redirects,
            };
            let client = match clients.get(&tls) {
                Some(client) => client.clone(),
                None => {
                    let client = build_client(http, &tls)
                        .map_err(|e| format!("webhook {}: {e}", config.name))?;
                    clients.insert(tls, client.clone());
                    client
                }
            };
            let bounds = render::Bounds {
                max_body: http.max_body.bytes(),
                ..render::Bounds::default()
            };
            let templates =
                CompiledWebhook::with_bounds(config, bounds).map_err(|e| e.to_string())?;
            let signer =
                Signer::new(config).map_err(|e| format!("webhook {}: {e}", config.name))?;
            ready.insert(
                config.name.clone(),
                Ready {
                    timeout: config
                        .timeout
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| Duration::from_secs_f64(http.timeout)),
                    config: config.clone(),
                    templates: Arc::new(templates),
                    shown_url: (!render::is_template(&config.payload_url))
                        .then(|| config.shown_url()),
                    signer,
                    client,
                    limits: Limits::of(config),
                    circuit: Limits::circuit(config),
                    gone: AtomicBool::new(false),
                    running: AtomicU64::new(0),
                },
            );
        }
        let destinations = http
            .policy()
            .map_err(|e| format!("key 'http.allow': {e}"))?;
        Ok(Self {
            inner: Arc::new(Webhooks {
                ready,
                destinations,
                max_body: http.max_body.bytes(),
                conn,
                history,
            }),
        })
    }

    /// The limits of every limited webhook, for the periodic sweep.
    pub fn limits(&self) -> Vec<Limits> {
        self.inner
            .ready
            .values()
            .filter_map(|hook| hook.limits.clone())
            .collect()
    }

    /// Deliveries running in this process now, per webhook that has any.
    pub fn running(&self) -> Vec<(String, u64)> {
        self.inner
            .ready
            .iter()
            .map(|(name, hook)| (name.clone(), hook.running.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect()
    }
}

fn text_kwarg(call: &JobCall, name: &str) -> Option<String> {
    match call.kwargs.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
}

/// NetBox's webhook context from the job's keyword arguments (the data is moved out, not
/// copied: it can be large).
fn context(call: &mut JobCall, version: NetboxVersion) -> Result<WebhookContext, JobFailure> {
    let required = |name: &str| {
        text_kwarg(call, name).ok_or_else(|| {
            JobFailure::new(format!(
                "{SEND_WEBHOOK} needs the keyword argument '{name}'"
            ))
        })
    };
    let mut ctx = WebhookContext::new(
        &required("event_type")?,
        &required("object_type")?,
        &text_kwarg(call, "timestamp").unwrap_or_default(),
        call.kwargs.remove("data").unwrap_or(Value::Null),
    );
    ctx.username = text_kwarg(call, "username");
    ctx.request_id = text_kwarg(call, "request_id");
    ctx.snapshots = call.kwargs.remove("snapshots").filter(|s| !s.is_null());
    ctx.request = call.kwargs.remove("request").filter(|r| r.is_object());
    ctx.context = call.kwargs.remove("context").filter(|c| c.is_object());
    if let Some(Value::Object(extra)) = call.kwargs.remove(super::enqueue::NETBOX_EXTRA) {
        ctx.extra = extra;
    }
    ctx.version = version;
    Ok(ctx)
}

/// Sends one webhook job.
async fn send_webhook(webhooks: Arc<Webhooks>, mut call: JobCall) -> JobOutcome {
    let name = text_kwarg(&call, "webhook").ok_or_else(|| {
        JobFailure::new(format!(
            "{SEND_WEBHOOK} needs the keyword argument 'webhook'"
        ))
    })?;
    let hook = webhooks.ready.get(&name).ok_or_else(|| JobFailure::new(format!("webhook {name:?} is not configured in this worker's settings ([[webhooks]] name = {name:?})")))?;
    let ctx = context(&mut call, hook.config.netbox_version)?;
    let logged = Logged {
        event: ctx.event.clone(),
        object_type: ctx.object_type.clone(),
        object_id: match ctx.data.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        },
        limited: hook.limits.is_some(),
        webhook: name,
    };
    let gated = hook
        .limits
        .as_ref()
        .or_else(|| hook.gone.load(Ordering::Relaxed).then_some(&hook.circuit));
    let slot = match gated {
        Some(limits) => Some(take_slot(&webhooks, limits, &call.job_id).await?),
        None => None,
    };
    if hook.limits.is_none() && slot.is_some() {
        // The gate let it through: the circuit was reset, so the next ones need no gate.
        hook.gone.store(false, Ordering::Relaxed);
    }
    // A delivery through the gate has its failures counted by the gate's scripts, not twice.
    let logged = Logged {
        limited: slot.is_some(),
        ..logged
    };
    hook.running.fetch_add(1, Ordering::Relaxed);
    let _running = Running(&hook.running);
    let started = chrono::Utc::now();
    let answer = match attempt(&webhooks, hook, &call, ctx).await {
        Ok(answer) => answer,
        Err(failure) => {
            // Nothing was sent: the slot goes back, the circuit is not moved.
            if let Some(slot) = slot {
                slot.end(Ending::Aborted, "not sent").await;
            }
            return Err(logged.not_sent(&webhooks.history, &call, started, failure));
        }
    };
    let ending = match answer.status {
        Some(status) if (200..300).contains(&status) => Ending::Ok,
        Some(410) => Ending::Gone,
        _ => Ending::Failed,
    };
    let status = answer.status_text();
    count(&logged.webhook, &answer);
    if let Some(slot) = slot {
        slot.end(ending, &status).await;
        if ending == Ending::Gone && hook.limits.is_none() {
            // The gate let it through after a reset, and the endpoint is still gone.
            hook.gone.store(true, Ordering::Relaxed);
        }
    } else if ending == Ending::Gone {
        // A webhook without limits: its circuit opens for every worker, until reset.
        hook.gone.store(true, Ordering::Relaxed);
        let mut conn = webhooks.conn.clone();
        if let Err(error) = hook
            .circuit
            .done(&mut conn, &call.job_id, Ending::Gone, &status)
            .await
        {
            tracing::warn!(
                "cannot open the circuit of webhook {}: {error}",
                logged.webhook
            );
        }
    }
    let seconds = answer.took.as_secs_f64();
    logged.record(&webhooks.history, &call, answer.ok(), status, seconds);
    outcome(&answer, answer.details(call.attempt, started))
}

/// What the delivery log says of every attempt of one job.
struct Logged {
    webhook: String,
    event: String,
    object_type: String,
    object_id: String,
    limited: bool,
}

impl Logged {
    /// One attempt into the webhook's delivery log, ended now.
    fn record(self, history: &Recorder, call: &JobCall, ok: bool, status: String, seconds: f64) {
        let ended = chrono::Utc::now();
        history.record(Attempt {
            webhook: self.webhook,
            ok,
            status,
            at: timestamp::format(ended),
            at_ms: ended.timestamp_millis(),
            limited: self.limited,
            event: self.event,
            object_type: self.object_type,
            object_id: self.object_id,
            seconds,
            attempt: call.attempt,
            job_id: call.job_id.clone(),
        });
    }

    /// An attempt that was never sent is an attempt all the same: in the job's results (its
    /// details), the delivery log and the metrics, as `not sent: <reason>`.
    fn not_sent(
        self,
        history: &Recorder,
        call: &JobCall,
        started: chrono::DateTime<chrono::Utc>,
        mut failure: JobFailure,
    ) -> JobFailure {
        let error = not_sent(&failure.reason);
        let seconds = (chrono::Utc::now() - started)
            .to_std()
            .unwrap_or_default()
            .as_secs_f64();
        crate::metrics::metrics()
            .deliveries
            .with_label_values(&[self.webhook.as_str(), "failed", "not_sent"])
            .inc();
        failure.details.get_or_insert_with(|| {
            Box::new(serde_json::json!({
                "attempt": call.attempt,
                "started_at": timestamp::format(started),
                "duration_ms": (seconds * 10_000.0).round() / 10.0,
                "status": null,
                "error": error,
                "response": null,
            }))
        });
        self.record(history, call, false, error, seconds);
        failure
    }
}

/// The status of an attempt that was never sent (a template past its bounds, a body over
/// `max_body`, a refused destination): its reason's first line, short enough for a table.
fn not_sent(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    format!("not sent: {short}")
}

/// Counts an attempt in the process's metrics.
fn count(webhook: &str, answer: &Answer) {
    let metrics = crate::metrics::metrics();
    let class = match answer.status {
        Some(status) => format!("{}xx", status / 100),
        None => "error".into(),
    };
    let outcome = if answer.ok() { "delivered" } else { "failed" };
    metrics
        .deliveries
        .with_label_values(&[webhook, outcome, &class])
        .inc();
    metrics
        .delivery_duration
        .with_label_values(&[webhook])
        .observe(answer.took.as_secs_f64());
}

/// Counts a running delivery down when it ends, however it ends.
struct Running<'a>(&'a AtomicU64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A slot of a limited webhook, held until the attempt ends. Dropped without [`Slot::end`] (the
/// job timed out, was stopped, or the worker is shutting down cold), it is given back without
/// moving the circuit.
struct Slot {
    limits: Limits,
    conn: RedisConn,
    job_id: String,
    ended: bool,
}

impl Slot {
    async fn end(mut self, ending: Ending, status: &str) {
        self.ended = true;
        if let Err(error) = self
            .limits
            .done(&mut self.conn, &self.job_id, ending, status)
            .await
        {
            // The lease ends by itself; the sweep then lets the waiting jobs go.
            tracing::warn!("cannot record the end of delivery {}: {error}", self.job_id);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let (limits, mut conn, id) = (self.limits.clone(), self.conn.clone(), self.job_id.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = limits
                    .done(&mut conn, &id, Ending::Aborted, "interrupted")
                    .await;
            });
        }
    }
}

/// Asks the webhook's limits for a slot; a delivery that may not start now waits (parked, no
/// retry used).
async fn take_slot(webhooks: &Webhooks, limits: &Limits, job_id: &str) -> Result<Slot, JobFailure> {
    let mut conn = webhooks.conn.clone();
    match limits.gate(&mut conn, job_id).await {
        Ok(Gate::Go) => Ok(Slot {
            limits: limits.clone(),
            conn,
            job_id: job_id.to_string(),
            ended: false,
        }),
        Ok(Gate::Wait(park, why)) => Err(JobFailure::park(why, park)),
        Err(error) => Err(JobFailure::new(format!(
            "cannot check the delivery limits in Redis: {error}"
        ))
        .retry_after(Some(5))),
    }
}

/// Renders, signs and sends one attempt. `Err` is a failure before anything was sent (a
/// template, a refused destination, a body over the limit).
async fn attempt(
    webhooks: &Webhooks,
    hook: &Ready,
    call: &JobCall,
    ctx: WebhookContext,
) -> Result<Answer, JobFailure> {
    let RenderedRequest { url, headers, body } = render(hook, ctx).await?;
    if body.len() > webhooks.max_body {
        return Err(JobFailure::new(format!(
            "Request body for webhook {} is {} bytes, over [http] max_body ({} bytes); not sent",
            hook.config.name,
            body.len(),
            webhooks.max_body
        )));
    }
    let method = reqwest::Method::from_bytes(hook.config.http_method.as_str().as_bytes())
        .expect("configured methods are valid");
    // Parsed once: for the destination check and the request itself.
    let parsed = url::Url::parse(&url);
    let shown_url = match &hook.shown_url {
        Some(shown) => ShownUrl::Known(shown),
        None => ShownUrl::Rendered(&url, hook.config.redact_path),
    };
    if let Ok(parsed) = &parsed {
        webhooks.destinations.check_url(parsed).map_err(|reason| {
            JobFailure::new(format!(
                "Request refused for {method} {shown_url}: {reason}"
            ))
        })?;
    }
    let signature = hook
        .signer
        .headers(&call.job_id, chrono::Utc::now().timestamp(), &body);
    let request = match parsed {
        Ok(parsed) => hook.client.request(method.clone(), parsed),
        // Unparsable: reqwest refuses it with the reason when it is sent.
        Err(_) => hook.client.request(method.clone(), &url),
    };
    let mut request = request.timeout(hook.timeout);
    for (header, value) in headers
        .iter()
        .filter(|(h, _)| !signature.iter().any(|(s, _)| s.eq_ignore_ascii_case(h)))
    {
        request = match sensitive_value(header, value) {
            Some(hidden) => request.header(header.as_str(), hidden),
            None => request.header(header.as_str(), value.as_str()),
        };
    }
    for (header, value) in &signature {
        request = request.header(*header, value.as_str());
    }
    // The change's trace continues in a span of this delivery.
    let trace = call
        .meta
        .get(TRACEPARENT)
        .and_then(Value::as_str)
        .and_then(|text| TraceParent::parse(text).ok())
        .unwrap_or_else(TraceParent::new_root)
        .child();
    request = request.header(TRACEPARENT, trace.to_string());
    tracing::debug!(
        "Sending {method} request to {shown_url} (trace {})",
        trace.trace_id()
    );
    Ok(request::send(request.body(body), &method, shown_url, hook.timeout).await)
}

/// A sensitive header's value (`Authorization`, `X-Api-Key`, …) marked so: the HTTP client's
/// debug output (`-v 3`) shows it as `Sensitive`, and HTTP/2 never indexes it.
fn sensitive_value(name: &str, value: &str) -> Option<reqwest::header::HeaderValue> {
    if !crate::redact::is_sensitive_name(name) {
        return None;
    }
    let mut value = reqwest::header::HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The templates rendered on a blocking thread when there are any (rendering is bounded, but
/// even bounded work must not hold up the runtime that carries every other delivery); the
/// default body alone is cheap and built in place.
async fn render(hook: &Ready, ctx: WebhookContext) -> Result<RenderedRequest, JobFailure> {
    if !hook.templates.has_templates() {
        return Ok(hook.templates.render(&ctx)?);
    }
    let templates = hook.templates.clone();
    tokio::task::spawn_blocking(move || templates.render(&ctx))
        .await
        .map_err(|e| JobFailure::new(format!("rendering the templates failed: {e}")))?
        .map_err(JobFailure::from)
}

/// The job's outcome for an answer: 2XX finishes it, anything else fails it, both with the
/// attempt's details.
fn outcome(answer: &Answer, details: Value) -> JobOutcome {
    if let Some(status) = answer.status.filter(|_| answer.ok()) {
        return Ok(JobSuccess {
            value: Value::from(format!(
                "Status {status} returned, webhook successfully processed."
            )),
            details: Some(details),
        });
    }
    let reason = match (answer.status, &answer.error) {
        (Some(status), _) => format!(
            "Status {status} returned with content '{}', webhook FAILED to process.",
            one_line(&answer.excerpt)
        ),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".into(),
    };
    Err(JobFailure::new(reason)
        .retry_after(answer.retry_after)
        .with_details(details))
}

/// The answer's text on one line, control characters escaped as Python's `repr` escapes them:
/// a reason is shown by its last line (`rqjobs`, the failed list) and logged as one line.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// How many deliveries of each webhook this process runs now (see [`Deliveries::running`]),
/// and the sweep of the limited webhooks: what a worker does beside delivering, until aborted.
/// Every minute the delivery logs lose what is older than `log_days`.
pub async fn keep_up(deliveries: Deliveries, worker: String, log_days: Option<u64>) {
    let limits = deliveries.limits();
    let unlimited: Vec<&str> = deliveries
        .inner
        .ready
        .iter()
        .filter(|(_, hook)| hook.limits.is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    let circuits: Vec<Limits> = unlimited
        .iter()
        .map(|name| deliveries.inner.ready[*name].circuit.clone())
        .collect();
    let mut conn = deliveries.inner.conn.clone();
    let key = super::keys::in_flight(&worker);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        if let Err(error) = limits::sweep(&mut conn, &limits).await {
            tracing::debug!("the sweep of webhook limits failed: {error}");
        }
        if let Some(days) = log_days.filter(|_| ticks % 600 == 1) {
            let oldest = chrono::Utc::now().timestamp_millis() - (days * 86_400_000) as i64;
            let mut pipe = redis::pipe();
            for name in deliveries.inner.ready.keys() {
                pipe.cmd("XTRIM")
                    .arg(super::keys::deliveries(name))
                    .arg("MINID")
                    .arg("~")
                    .arg(oldest)
                    .ignore();
            }
            if let Err(error) = pipe.query_async::<()>(&mut conn).await {
                tracing::debug!("cannot trim the delivery logs: {error}");
            }
        }
        if ticks % 10 == 1 {
            // A job parked on a circuit that was reset meanwhile goes back on its queue.
            if let Err(error) = limits::sweep(&mut conn, &circuits).await {
                tracing::debug!("the sweep of webhook circuits failed: {error}");
            }
            // Another worker's 410, or an operator's reset, reaches this one within a second
            // (and at its start: the first tick is at once).
            match limits::gone(&mut conn, &unlimited).await {
                Ok(gone) => {
                    // Only ever set here: a delivery the gate lets through clears it, so a
                    // read taken before this worker's own 410 was recorded cannot clear it.
                    for (name, _) in unlimited.iter().zip(gone).filter(|(_, gone)| *gone) {
                        deliveries.inner.ready[*name]
                            .gone
                            .store(true, Ordering::Relaxed);
                    }
                }
                Err(error) => tracing::debug!("cannot read the webhooks' circuits: {error}"),
            }
            let running = deliveries.running();
            let mut pipe = redis::pipe();
            pipe.atomic().del(&key);
            if !running.is_empty() {
                pipe.hset_multiple(&key, &running).expire(&key, 10);
            }
            if let Err(error) = pipe.query_async::<()>(&mut conn).await {
                tracing::debug!("cannot publish deliveries in flight: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_answer_stays_on_the_reasons_one_line() {
        assert_eq!(
            one_line("first\r\nsecond\there\u{1}é"),
            "first\\r\\nsecond\\there\\x01é"
        );
        let answer = Answer {
            status: Some(500),
            error: None,
            excerpt: "oops\nsee the log".into(),
            took: Duration::from_millis(3),
            retry_after: None,
        };
        let reason = outcome(&answer, Value::Null).unwrap_err().reason;
        assert_eq!(
            reason,
            "Status 500 returned with content 'oops\\nsee the log', webhook FAILED to process."
        );
        assert_eq!(reason.lines().count(), 1);
    }
}
