//! Points in time as people give them on the command line: an age back from now (`90s`, `30m`,
//! `2h`, `7d`) or a time (`2026-11-29T10:00:00Z`, `2026-11-29 10:00`, RQ's own format).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// `text` as a time: a duration back from `now`, or an absolute time (UTC when it says no zone).
pub fn parse(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Some(seconds) = duration(text) {
        return Ok(now - chrono::Duration::seconds(seconds));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Some(time) = crate::rq::timestamp::parse(text) {
        return Ok(time);
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Utc.from_utc_datetime(&time));
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight")));
    }
    Err(format!(
        "expected an age such as 30m, 2h or 7d, or a time such as 2026-11-29T10:00:00Z, found {text:?}"
    ))
}

/// Seconds in `90s`, `30m`, `2h`, `7d`, `1w` (a bare number is seconds).
fn duration(text: &str) -> Option<i64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_times() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        assert_eq!(
            parse("90s", now).unwrap(),
            now - chrono::Duration::seconds(90)
        );
        assert_eq!(
            parse("2h", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap()
        );
        assert_eq!(
            parse("7d", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
        );
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 10, 30, 0).unwrap();
        for text in [
            "2026-11-29T10:30:00Z",
            "2026-11-29T11:30:00+01:00",
            "2026-11-29 10:30",
            "2026-11-29T10:30:00.000000Z",
        ] {
            assert_eq!(parse(text, now).unwrap(), at, "{text}");
        }
        assert!(parse("soon", now).unwrap_err().contains("\"soon\""));
        assert!(parse("3 parsecs", now).is_err());
    }
}
