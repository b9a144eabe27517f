//! Tolerant readers shared by every view: job hashes and results streams as a pipeline returns
//! them, RQ timestamps for people, short failure reasons, and secrets kept out of sight.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use redis::Value as RedisValue;
use serde::Serialize;
use serde_json::Value;

use crate::rq::{job::Job, serializer, timestamp};

/// How a value that cannot be decoded is shown, everywhere.
pub fn undecodable(reason: impl std::fmt::Display) -> String {
    format!("<undecodable: {reason}>")
}

/// The fields of an `HGETALL` reply; `None` when the hash does not exist (or the key is not a
/// hash). Field names that are not UTF-8 are kept, lossily, rather than failing the whole hash.
pub fn hash_from_reply(reply: RedisValue) -> Option<HashMap<String, Vec<u8>>> {
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = redis::from_redis_value(reply).ok()?;
    if pairs.is_empty() {
        return None;
    }
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v))
            .collect(),
    )
}

/// A job hash from an `HGETALL` reply; `None` when there is no such job.
pub fn job_from_reply(id: &str, reply: RedisValue) -> Option<Job> {
    hash_from_reply(reply).map(|fields| Job::from_fields(id, fields))
}

/// What kind of outcome a results-stream entry records (RQ's `Result.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    /// The function returned.
    Successful,
    /// It raised, timed out or was stopped (RQ records a user stop as failed too).
    Failed,
    /// Stopped.
    Stopped,
    /// Failed and was retried.
    Retried,
    /// Failed after its last retry.
    MaxRetriesExceeded,
    /// A type this version does not know.
    Unknown,
}

/// The latest entry of `rq:results:<id>`, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct LatestResult {
    /// What happened.
    pub kind: ResultKind,
    /// When it was recorded (from the stream entry id), RQ format.
    pub created_at: Option<String>,
    /// The worker that recorded it; empty for failures written by maintenance.
    pub worker_name: String,
    /// The return value, for a successful run that returned something.
    pub return_value: Option<Value>,
    /// Why the return value could not be read.
    pub return_value_error: Option<String>,
    /// The failure text (a traceback for Python workers), for a failed run.
    pub failure: Option<String>,
    /// What `manage` kept about the run (`details`): for a webhook, the attempt's number,
    /// duration, status or error, and the first bytes of the answer.
    pub details: Option<Value>,
}

/// The latest result from an `XREVRANGE … COUNT 1` reply; `None` when there is none.
pub fn result_from_reply(reply: RedisValue) -> Option<LatestResult> {
    results_from_reply(reply).into_iter().next()
}

/// Every result in an `XRANGE` or `XREVRANGE` reply, in its order.
pub fn results_from_reply(reply: RedisValue) -> Vec<LatestResult> {
    redis::from_redis_value::<redis::streams::StreamRangeReply>(reply)
        .map(|reply| reply.ids.into_iter().map(result_from_entry).collect())
        .unwrap_or_default()
}

/// One results-stream entry, decoded.
fn result_from_entry(entry: redis::streams::StreamId) -> LatestResult {
    let text = |field: &str| -> Option<Vec<u8>> {
        entry
            .map
            .get(field)
            .and_then(|v| redis::from_redis_value_ref::<Vec<u8>>(v).ok())
    };
    let kind = match text("type")
        .and_then(|t| String::from_utf8(t).ok())
        .as_deref()
    {
        Some("1") => ResultKind::Successful,
        Some("2") => ResultKind::Failed,
        Some("3") => ResultKind::Stopped,
        Some("4") => ResultKind::Retried,
        Some("5") => ResultKind::MaxRetriesExceeded,
        _ => ResultKind::Unknown,
    };
    let created_at = entry
        .id
        .split('-')
        .next()
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(timestamp::format);
    let (return_value, return_value_error) = match text("return_value") {
        None => (None, None),
        Some(raw) => match serializer::decode_result(&raw) {
            Some(value) => (Some(value), None),
            None => (
                None,
                Some(undecodable(
                    "the return value is not base64 of JSON (pickled by a Python worker without -S json?)",
                )),
            ),
        },
    };
    let failure = text("exc_string").map(|raw| {
        serializer::decode_exc(&raw)
            .unwrap_or_else(|| undecodable("the failure text is not base64 of zlib text"))
    });
    LatestResult {
        kind,
        created_at,
        worker_name: text("worker_name")
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .unwrap_or_default(),
        return_value,
        return_value_error,
        failure,
        details: text("details").and_then(|raw| serde_json::from_slice(&raw).ok()),
    }
}

/// The failure text of a job: its latest result's, else the legacy `exc_info` field.
pub fn failure_text(job: &Job, result: Option<&LatestResult>) -> Option<String> {
    if let Some(text) = result.and_then(|r| r.failure.clone()) {
        return Some(text);
    }
    let raw = job.fields.get("exc_info")?;
    let text = String::from_utf8_lossy(&serializer::decompress_or_raw(raw)).into_owned();
    Some(text).filter(|t| !t.trim().is_empty())
}

/// One line that says why a job failed: the last line of a traceback (`ValueError: boom`),
/// cut to `limit` characters.
pub fn short_reason(text: &str, limit: usize) -> String {
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    cut(line, limit)
}

/// Cuts text to `limit` characters, marking the cut with `…`.
pub fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A stored timestamp as people read it: `2026-11-28 03:39:42 UTC`; text that is not a
/// timestamp is shown as it is, so nothing is hidden.
pub fn display_time(text: &str) -> String {
    match timestamp::parse(text) {
        Some(time) => time.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => text.to_string(),
    }
}

/// How long ago a stored timestamp was, roughly: `12s ago`, `5 min ago`, `3 h ago`, `2 days ago`
/// (or `in 5 min` for the future); empty when it is not a timestamp.
pub fn age(text: &str, now: DateTime<Utc>) -> String {
    let Some(time) = timestamp::parse(text) else {
        return String::new();
    };
    let seconds = (now - time).num_seconds();
    let (amount, future) = (seconds.unsigned_abs(), seconds < 0);
    let span = match amount {
        0..=59 => format!("{amount}s"),
        60..=3599 => format!("{} min", amount / 60),
        3600..=172_799 => format!("{} h", amount / 3600),
        _ => format!("{} days", amount / 86_400),
    };
    if future {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// A copy of a JSON value as the redaction policy shows it: every entry named like a secret
/// ([`crate::redact::is_sensitive_name`]) replaced by `********`, and every URL in an entry named
/// `…url` redacted, so a page or a terminal never shows a webhook secret, an `Authorization`
/// header or a key in a URL that a producer put in a job.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, entry)| {
                    let shown = match entry {
                        Value::Null => Value::Null,
                        _ if crate::redact::is_sensitive_name(key) => {
                            Value::String("********".into())
                        }
                        Value::String(text) if key.to_ascii_lowercase().ends_with("url") => {
                            Value::String(crate::redact::url(text))
                        }
                        other => redact(other),
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Pretty JSON for people, secrets hidden.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(&redact(value)).unwrap_or_else(undecodable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasons_are_the_last_traceback_line() {
        let tb = "Traceback (most recent call last):\n  File \"x\"\nValueError: boom: x\n";
        assert_eq!(short_reason(tb, 80), "ValueError: boom: x");
        assert_eq!(short_reason("abcdef", 4), "abc…");
        assert_eq!(short_reason("", 4), "");
    }

    #[test]
    fn secrets_are_hidden_at_any_depth() {
        let value = json!({"webhook": "w", "secret": "s3cret", "headers": {"Authorization": "Bearer x", "X-Api-Key": "k"}, "list": [{"api_key": 1}], "payload_url": "https://u:p@h/x?key=k"});
        let shown = redact(&value);
        assert_eq!(shown["headers"]["X-Api-Key"], "********");
        assert_eq!(shown["payload_url"], "https://***@h/x?key=***");
        assert_eq!(shown["secret"], "********");
        assert_eq!(shown["headers"]["Authorization"], "********");
        assert_eq!(shown["list"][0]["api_key"], "********");
        assert_eq!(shown["webhook"], "w");
    }

    #[test]
    fn times_read_well_and_bad_ones_stay_visible() {
        assert_eq!(
            display_time("2026-11-28T03:39:42.117746Z"),
            "2026-11-28 03:39:42 UTC"
        );
        assert_eq!(display_time("yesterday"), "yesterday");
        let now = timestamp::parse("2026-11-28T03:40:42Z").unwrap();
        assert_eq!(age("2026-11-28T03:39:42Z", now), "1 min ago");
        assert_eq!(age("2026-11-28T03:41:00Z", now), "in 18s");
        assert_eq!(age("nope", now), "");
    }
}
