//! RQ's timestamps: `%Y-%m-%dT%H:%M:%S.%fZ` in UTC, which Python's `utcparse` reads back.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Formats a time as RQ writes it: six fraction digits and a literal `Z`.
pub fn format(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Now, in RQ's format.
pub fn now() -> String {
    format(Utc::now())
}

/// Parses what RQ (or any tolerant writer) stored: fraction digits optional, `Z` or `+00:00`.
/// Empty means "not set".
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    let bare = text.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(bare, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Seconds since the epoch as a float, as RQ's executions and results use.
pub fn epoch_f64(time: DateTime<Utc>) -> f64 {
    time.timestamp_micros() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rq_format() {
        let text = "2026-11-28T03:39:42.117746Z";
        let time = parse(text).unwrap();
        assert_eq!(format(time), text);
        assert_eq!(
            parse("2026-11-28T03:39:42Z").map(format).as_deref(),
            Some("2026-11-28T03:39:42.000000Z")
        );
        assert_eq!(
            parse("2026-11-28T03:39:42.5+00:00").map(format).as_deref(),
            Some("2026-11-28T03:39:42.500000Z")
        );
        assert_eq!(parse(""), None);
        assert_eq!(parse("yesterday"), None);
    }
}
