//! The per-webhook delivery log, read back: recent deliveries newest first with filters (what
//! `manage deliveries` prints and the page lists), and each webhook's rates, percentiles and
//! per-minute and per-hour counts (the Webhooks view and its charts).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use redis::{aio::ConnectionLike, Value as RedisValue};
use serde::Serialize;

use super::TaskResult;
use crate::pipeline::{history::DURATION_BUCKETS, keys};

/// Entries read per round trip while looking for matches.
const PAGE: usize = 500;

/// One delivery attempt from a webhook's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// When it ended (UTC, milliseconds).
    pub time: String,
    /// The webhook.
    pub webhook: String,
    /// The public event (`created`, …).
    pub event: String,
    /// The object's type.
    pub object_type: String,
    /// The object's id (empty when it has none).
    pub object_id: String,
    /// Whether the answer was 2XX.
    pub ok: bool,
    /// The answer's status, or the error.
    pub status: String,
    /// How long the request took, in milliseconds.
    pub ms: f64,
    /// Which attempt of its job.
    pub attempt: u32,
    /// The job.
    pub job: String,
    #[serde(skip)]
    entry: String,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these webhooks (empty: all).
    pub webhooks: Vec<String>,
    /// Only 2XX (`Some(true)`) or only failed (`Some(false)`).
    pub ok: Option<bool>,
    /// Only since this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// The deliveries `filter` asks for, newest first across webhooks.
pub async fn list<C: ConnectionLike>(conn: &mut C, filter: &Filter) -> TaskResult<Vec<Delivery>> {
    let min = filter
        .since
        .map(|t| t.timestamp_millis().to_string())
        .unwrap_or_else(|| "-".into());
    let mut all = Vec::new();
    for webhook in &filter.webhooks {
        let key = keys::deliveries(webhook);
        let mut max = "+".to_string();
        let mut found = 0;
        while found < filter.limit {
            let reply: RedisValue = redis::cmd("XREVRANGE")
                .arg(&key)
                .arg(&max)
                .arg(&min)
                .arg("COUNT")
                .arg(PAGE)
                .query_async(conn)
                .await?;
            let page = entries(webhook, reply);
            let Some(last) = page.last() else { break };
            max = format!("({}", last.entry);
            let full = page.len() == PAGE;
            for delivery in page {
                if filter.ok.is_none_or(|ok| ok == delivery.ok) && found < filter.limit {
                    found += 1;
                    all.push(delivery);
                }
            }
            if !full {
                break;
            }
        }
    }
    all.sort_by_key(|d| std::cmp::Reverse(entry_order(&d.entry)));
    all.truncate(filter.limit);
    Ok(all)
}

/// A stream id as numbers, so ids of different lengths sort by time.
fn entry_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// The entries of an `XRANGE` reply, as deliveries of `webhook`.
fn entries(webhook: &str, reply: RedisValue) -> Vec<Delivery> {
    let RedisValue::Array(items) = reply else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let RedisValue::Array(mut parts) = item else {
                return None;
            };
            let fields = parts.pop()?;
            let id: String = redis::from_redis_value(parts.pop()?).ok()?;
            let fields: HashMap<String, String> = redis::from_redis_value(fields).ok()?;
            let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
            let ms: i64 = entry_order(&id).0 as i64;
            Some(Delivery {
                time: DateTime::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                webhook: webhook.to_string(),
                event: field("event"),
                object_type: field("object_type"),
                object_id: field("object_id"),
                ok: field("ok") == "1",
                status: field("status"),
                ms: field("ms").parse().unwrap_or(0.0),
                attempt: field("attempt").parse().unwrap_or(0),
                job: field("job"),
                entry: id,
            })
        })
        .collect()
}

/// A webhook's deliveries over a time window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Window {
    /// 2XX answers.
    pub delivered: u64,
    /// Other answers, and requests without one.
    pub failed: u64,
    /// `delivered / (delivered + failed)`, when there were any.
    pub success_rate: Option<f64>,
    /// The median duration, in milliseconds, when there were any.
    pub p50_ms: Option<f64>,
    /// The 95th percentile of durations, in milliseconds.
    pub p95_ms: Option<f64>,
}

/// A webhook's counts for the Webhooks view: the last hour and day, and the chart's bars.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Activity {
    /// The last 60 minutes.
    pub hour: Window,
    /// The last 24 hours.
    pub day: Window,
    /// `(minute start, delivered, failed)` for each of the last 60 minutes, oldest first.
    pub minutes: Vec<(i64, u64, u64)>,
    /// `(hour start, delivered, failed)` for each of the last 24 hours, oldest first.
    pub hours: Vec<(i64, u64, u64)>,
}

/// The activity of `webhook` up to `now`, from its hourly counts (two round trips: the counts,
/// and the last hour of its log for exact percentiles).
pub async fn activity<C: ConnectionLike>(
    conn: &mut C,
    webhook: &str,
    now: DateTime<Utc>,
) -> TaskResult<Activity> {
    let this_hour = now.timestamp() / 3600 * 3600;
    let hours: Vec<i64> = (0..25).rev().map(|n| this_hour - n * 3600).collect();
    let mut pipe = redis::pipe();
    for hour in &hours {
        pipe.hgetall(keys::stats(webhook, *hour));
    }
    let counts: Vec<HashMap<String, u64>> = pipe.query_async(conn).await?;
    let by_hour: HashMap<i64, HashMap<String, u64>> = hours.iter().copied().zip(counts).collect();
    let this_minute = now.timestamp() / 60 * 60;
    let minutes: Vec<(i64, u64, u64)> = (0..60)
        .rev()
        .map(|n| {
            let minute = this_minute - n * 60;
            let fields = &by_hour[&(minute / 3600 * 3600)];
            let get = |outcome: &str| {
                fields
                    .get(&format!("{outcome}:{minute}"))
                    .copied()
                    .unwrap_or(0)
            };
            (minute, get("ok"), get("failed"))
        })
        .collect();
    let day_hours: Vec<(i64, u64, u64)> = hours[1..]
        .iter()
        .map(|hour| {
            let (ok, failed) = outcome_totals(&by_hour[hour]);
            (*hour, ok, failed)
        })
        .collect();
    let mut histogram = vec![0u64; DURATION_BUCKETS.len() + 1];
    for fields in by_hour.values() {
        for (field, count) in fields {
            if let Some(index) = field
                .strip_prefix("d:")
                .and_then(|i| i.parse::<usize>().ok())
            {
                if let Some(slot) = histogram.get_mut(index) {
                    *slot += count;
                }
            }
        }
    }
    let recent = list(
        conn,
        &Filter {
            webhooks: vec![webhook.to_string()],
            since: Some(now - chrono::Duration::hours(1)),
            limit: usize::MAX,
            ..Filter::default()
        },
    )
    .await?;
    let mut durations: Vec<f64> = recent.iter().map(|d| d.ms).collect();
    durations.sort_by(f64::total_cmp);
    let hour = window(
        minutes.iter().map(|m| m.1).sum(),
        minutes.iter().map(|m| m.2).sum(),
        exact_percentile(&durations, 0.5),
        exact_percentile(&durations, 0.95),
    );
    let day = window(
        day_hours.iter().map(|h| h.1).sum(),
        day_hours.iter().map(|h| h.2).sum(),
        bucket_percentile(&histogram, 0.5),
        bucket_percentile(&histogram, 0.95),
    );
    Ok(Activity {
        hour,
        day,
        minutes,
        hours: day_hours,
    })
}

fn outcome_totals(fields: &HashMap<String, u64>) -> (u64, u64) {
    let sum = |prefix: &str| {
        fields
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    };
    (sum("ok:"), sum("failed:"))
}

fn window(delivered: u64, failed: u64, p50_ms: Option<f64>, p95_ms: Option<f64>) -> Window {
    let total = delivered + failed;
    Window {
        delivered,
        failed,
        success_rate: (total > 0).then(|| delivered as f64 / total as f64),
        p50_ms: p50_ms.filter(|_| total > 0),
        p95_ms: p95_ms.filter(|_| total > 0),
    }
}

/// The `q` quantile of sorted values (nearest rank).
fn exact_percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The `q` quantile from bucket counts, interpolated within its bucket (as Prometheus's
/// `histogram_quantile`), in milliseconds; the open last bucket gives its lower bound.
fn bucket_percentile(counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let target = q * total as f64;
    let mut seen = 0.0;
    for (index, count) in counts.iter().enumerate() {
        let lower = if index == 0 {
            0.0
        } else {
            DURATION_BUCKETS[index - 1]
        };
        let Some(upper) = DURATION_BUCKETS.get(index) else {
            return Some(lower * 1000.0);
        };
        if seen + *count as f64 >= target && *count > 0 {
            let within = (target - seen) / *count as f64;
            return Some((lower + (upper - lower) * within) * 1000.0);
        }
        seen += *count as f64;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 100.0];
        assert_eq!(exact_percentile(&sorted, 0.5), Some(3.0));
        assert_eq!(exact_percentile(&sorted, 0.95), Some(100.0));
        assert_eq!(exact_percentile(&[], 0.5), None);
        // 10 in (0, 5 ms], 10 in (5, 10 ms]: the median is the top of the first bucket.
        let mut counts = vec![0; DURATION_BUCKETS.len() + 1];
        counts[0] = 10;
        counts[1] = 10;
        assert_eq!(bucket_percentile(&counts, 0.5), Some(5.0));
        assert_eq!(bucket_percentile(&counts, 0.75), Some(7.5));
        assert_eq!(bucket_percentile(&[0; 13], 0.5), None);
    }

    #[test]
    fn stream_ids_sort_by_time() {
        assert!(entry_order("999-5") < entry_order("1000-0"));
        assert!(entry_order("1000-2") > entry_order("1000-1"));
    }
}
