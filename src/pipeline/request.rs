//! Sending one rendered request and reading its answer: what every attempt has, whatever its
//! outcome (status or error, duration, the first bytes of the answer), and the readable reason
//! of a failure.

use std::{
    fmt,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// The URL as reasons and logs show it ([`crate::redact`]'s policy): worked out once per
/// webhook when `payload_url` is literal, and only when a reason or a log line needs it when
/// the URL is rendered from a template, so a successful delivery never pays for it.
#[derive(Debug, Clone, Copy)]
pub enum ShownUrl<'a> {
    /// Already redacted.
    Known(&'a str),
    /// A rendered URL and the webhook's `redact_path`, redacted when shown.
    Rendered(&'a str, Option<bool>),
}

impl fmt::Display for ShownUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Known(shown) => f.write_str(shown),
            Self::Rendered(url, redact_path) => {
                f.write_str(&crate::redact::webhook_url(url, redact_path))
            }
        }
    }
}

/// How much of an answer's body is kept: in the failure reason and the attempt's details.
pub const ANSWER_BYTES: usize = 500;

/// What one attempt got.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Why there was no answer (connection, TLS, timeout…), already readable.
    pub error: Option<String>,
    /// The first [`ANSWER_BYTES`] of the answer's body, control characters escaped.
    pub excerpt: String,
    /// How long the request took.
    pub took: Duration,
    /// The wait a 429 or 503 asked for (`Retry-After`), in seconds.
    pub retry_after: Option<u64>,
}

impl Answer {
    /// A 2XX.
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The status as `manage webhooks` shows it: `200`, or the error.
    pub fn status_text(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".into(),
        }
    }

    /// The attempt as kept with the job's result: its number, when, how long, the status or
    /// error, and the first bytes of the answer.
    pub fn details(&self, attempt: u32, started: chrono::DateTime<chrono::Utc>) -> Value {
        json!({
            "attempt": attempt,
            "started_at": crate::rq::timestamp::format(started),
            "duration_ms": (self.took.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
            "status": self.status,
            "error": self.error,
            "response": self.excerpt,
        })
    }
}

/// Sends `request` and reads its answer (at most [`ANSWER_BYTES`] of the body).
pub async fn send(
    request: reqwest::RequestBuilder,
    method: &reqwest::Method,
    shown_url: ShownUrl<'_>,
    timeout: Duration,
) -> Answer {
    let started = Instant::now();
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = retry_after(&response, std::time::SystemTime::now());
            let excerpt = first_bytes(response, ANSWER_BYTES).await;
            Answer {
                status: Some(status),
                error: None,
                excerpt,
                took: started.elapsed(),
                retry_after,
            }
        }
        Err(error) => Answer {
            status: None,
            error: Some(describe_send_error(&error, method, shown_url, timeout)),
            excerpt: String::new(),
            took: started.elapsed(),
            retry_after: None,
        },
    }
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

/// A reason for a request that got no answer: timeout, refused, TLS, redirect loop… Every URL in
/// it is shown as the redaction policy shows URLs (a redirect's target too).
fn describe_send_error(
    error: &reqwest::Error,
    method: &reqwest::Method,
    url: ShownUrl<'_>,
    timeout: Duration,
) -> String {
    // A connect timeout ([http] connect_timeout) is a connection failure, not the request's.
    if error.is_timeout() && !error.is_connect() {
        let seconds = timeout.as_secs_f64();
        return format!("Request to {url} timed out after {seconds} seconds");
    }
    let mut causes = Vec::new();
    let mut refused = false;
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        refused |= cause.is::<crate::destinations::Refused>();
        let text = cause.to_string();
        if !causes.iter().any(|c: &String| c.contains(&text)) {
            causes.push(text);
        }
        source = cause.source();
    }
    // A destination refused by [http] block_private, on a redirect or after DNS, is named so
    // whichever step found it, as README promises.
    let kind = if refused {
        "Request refused"
    } else if error.is_redirect() {
        "Too many redirects"
    } else if error.is_connect() {
        "Connection failed"
    } else {
        "Request failed"
    };
    let detail = if causes.is_empty() {
        // reqwest's own text names the URL as sent; the reason names it once, redacted.
        let mut text = error.to_string();
        if let Some(sent) = error.url() {
            text = text.replace(&format!(" for url ({sent})"), "");
        }
        text
    } else {
        causes.join(": ")
    };
    format!(
        "{kind} for {method} {url}: {}",
        crate::redact::urls_in(&detail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rq::functions::JobFailure;

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
