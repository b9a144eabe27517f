//! Delivery: [`Deliveries`] is the job function `extras.webhooks.send_webhook`. It looks the
//! webhook up by name among those it was built with, renders and signs the request, sends it,
//! and turns the answer into the job's outcome: 2XX finishes it, anything else fails it with a
//! readable reason.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::future::BoxFuture;
use serde_json::Value;

use crate::{
    destinations::Policy,
    http::{build_client, credentials_removed, without_credentials, HttpSettings, TlsOptions},
    rq::functions::{JobCall, JobFailure, JobFunction, JobOutcome},
    webhooks::{
        render::RenderedRequest, CompiledWebhook, Signer, WebhookConfig, WebhookContext,
        SEND_WEBHOOK,
    },
};

/// How much of a failed answer's body goes into the failure reason.
const REASON_BODY_BYTES: usize = 500;

/// One configured webhook, ready to send: templates compiled, key decoded, client chosen.
struct Ready {
    config: WebhookConfig,
    /// The webhook's `timeout`, else `[http] timeout`.
    timeout: Duration,
    templates: CompiledWebhook,
    signer: Signer,
    client: reqwest::Client,
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
}

impl JobFunction for Deliveries {
    fn call(&self, call: JobCall) -> BoxFuture<'static, JobOutcome> {
        Box::pin(send_webhook(self.inner.clone(), call))
    }
}

impl Deliveries {
    /// Builds the webhooks: templates compiled, keys decoded, and one HTTP client per distinct
    /// TLS and redirect policy, shared by the webhooks that have it, so connections are reused
    /// across deliveries.
    pub fn new(webhooks: &[WebhookConfig], http: &HttpSettings) -> Result<Self, String> {
        Ok(Self {
            inner: Arc::new(Webhooks::new(webhooks, http)?),
        })
    }
}

impl Webhooks {
    fn new(webhooks: &[WebhookConfig], http: &HttpSettings) -> Result<Self, String> {
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
            let templates = CompiledWebhook::new(config).map_err(|e| e.to_string())?;
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
                    templates,
                    signer,
                    client,
                },
            );
        }
        let destinations = http
            .policy()
            .map_err(|e| format!("key 'http.allow': {e}"))?;
        Ok(Webhooks {
            ready,
            destinations,
        })
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
fn context(call: &mut JobCall) -> Result<WebhookContext, JobFailure> {
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
    let ctx = context(&mut call)?;
    let RenderedRequest { url, headers, body } = hook.templates.render(&ctx)?;
    let method = reqwest::Method::from_bytes(hook.config.http_method.as_str().as_bytes())
        .expect("configured methods are valid");
    // Parsed once: for the log-safe form, the destination check and the request itself.
    let parsed = url::Url::parse(&url);
    let safe_url = parsed
        .as_ref()
        .ok()
        .and_then(credentials_removed)
        .unwrap_or_else(|| url.clone());
    if let Ok(parsed) = &parsed {
        webhooks.destinations.check_url(parsed).map_err(|reason| {
            JobFailure::new(format!("Request refused for {method} {safe_url}: {reason}"))
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
        request = request.header(header.as_str(), value.as_str());
    }
    for (header, value) in &signature {
        request = request.header(*header, value.as_str());
    }
    tracing::debug!(
        "Sending {method} request to {safe_url} ({} {})",
        ctx.object_type,
        ctx.event
    );
    let response =
        request.body(body).send().await.map_err(|e| {
            JobFailure::new(describe_send_error(&e, &method, &safe_url, hook.timeout))
        })?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Ok(Value::from(format!(
            "Status {status} returned, webhook successfully processed."
        )));
    }
    let retry_after = retry_after(&response, std::time::SystemTime::now());
    let content = first_bytes(response, REASON_BODY_BYTES).await;
    Err(JobFailure::new(format!(
        "Status {status} returned with content '{content}', webhook FAILED to process."
    ))
    .retry_after(retry_after))
}

/// The seconds a 429 or 503 answer asks the client to wait (`Retry-After`, as seconds or as an
/// HTTP date), so that a retry does not come back sooner than the endpoint allows.
fn retry_after(response: &reqwest::Response, now: std::time::SystemTime) -> Option<u64> {
    if !matches!(response.status().as_u16(), 429 | 503) {
        return None;
    }
    parse_retry_after(response.headers().get("retry-after")?.to_str().ok()?, now)
}

/// `Retry-After` as seconds from `now`: delta-seconds or an HTTP date (a date in the past is 0).
fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).map_or(0, |d| d.as_secs()))
}

/// The first `limit` bytes of an answer's body, without downloading the rest, shown as text
/// with control characters escaped.
async fn first_bytes(mut response: reqwest::Response, limit: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match tokio::time::timeout(Duration::from_secs(5), response.chunk()).await {
            Ok(Ok(Some(chunk))) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(limit);
    String::from_utf8_lossy(&bytes)
        .chars()
        .flat_map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// A reason for a request that got no answer: timeout, refused, TLS, redirect loop…
fn describe_send_error(
    error: &reqwest::Error,
    method: &reqwest::Method,
    url: &str,
    timeout: Duration,
) -> String {
    // A connect timeout ([http] connect_timeout) is a connection failure, not the request's.
    if error.is_timeout() && !error.is_connect() {
        let seconds = timeout.as_secs_f64();
        return format!("Request to {url} timed out after {seconds} seconds");
    }
    let mut causes = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.iter().any(|c: &String| c.contains(&text)) {
            causes.push(text);
        }
        source = cause.source();
    }
    let kind = if error.is_redirect() {
        "Too many redirects"
    } else if error.is_connect() {
        "Connection failed"
    } else {
        "Request failed"
    };
    let detail = if causes.is_empty() {
        error.without_url_text()
    } else {
        causes.join(": ")
    };
    format!("{kind} for {method} {url}: {detail}")
}

trait WithoutUrlText {
    fn without_url_text(&self) -> String;
}

impl WithoutUrlText for reqwest::Error {
    fn without_url_text(&self) -> String {
        let mut copy_text = self.to_string();
        if let Some(url) = self.url() {
            copy_text = copy_text.replace(url.as_str(), &without_credentials(url.as_str()));
        }
        copy_text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 120 ", now), Some(120));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(parse_retry_after(&later, now), Some(90));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(0));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn retry_after_is_capped() {
        let failure = JobFailure::new("x").retry_after(Some(10_000_000));
        assert_eq!(
            failure.retry_after,
            Some(crate::rq::functions::MAX_RETRY_AFTER_SECS)
        );
    }
}
