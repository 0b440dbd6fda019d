//! Times as Alertmanager writes and reads them: its API's RFC 3339 with milliseconds, and
//! Go's `time.Time` JSON in notifications (nanoseconds with trailing zeros trimmed, the zero
//! time as `0001-01-01T00:00:00Z`).

use chrono::{DateTime, SecondsFormat, Utc};

/// `2026-12-02T15:04:05.123Z`, the API's shape; 0 is Go's zero time.
pub fn api_time(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms).filter(|_| ms != 0) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "0001-01-01T00:00:00.000Z".into(),
    }
}

/// `2026-12-02T15:04:05.12Z`: Go's JSON encoding of a time, as webhook payloads carry it.
pub fn go_json_time(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms).filter(|_| ms != 0) {
        Some(t) => {
            let text = t.to_rfc3339_opts(SecondsFormat::Millis, true);
            // Trim trailing zeros of the fraction, and the dot when nothing is left.
            let (body, _) = text.split_at(text.len() - 1);
            match body.split_once('.') {
                Some((secs, frac)) => {
                    let frac = frac.trim_end_matches('0');
                    if frac.is_empty() {
                        format!("{secs}Z")
                    } else {
                        format!("{secs}.{frac}Z")
                    }
                }
                None => text,
            }
        }
        None => "0001-01-01T00:00:00Z".into(),
    }
}

/// Milliseconds since the epoch of an RFC 3339 time; `None` when it is not one. Go's zero
/// time (and any time before 1970) reads as 0, "not set".
pub fn parse_time(text: &str) -> Option<i64> {
    let t = DateTime::parse_from_rfc3339(text).ok()?;
    Some(t.timestamp_millis().max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_round_trip() {
        let ms = 1_764_687_845_120;
        assert_eq!(api_time(ms), "2025-12-02T15:04:05.120Z");
        assert_eq!(go_json_time(ms), "2025-12-02T15:04:05.12Z");
        assert_eq!(go_json_time(1_764_687_845_000), "2025-12-02T15:04:05Z");
        assert_eq!(go_json_time(0), "0001-01-01T00:00:00Z");
        assert_eq!(parse_time("2025-12-02T15:04:05.12Z"), Some(ms));
        assert_eq!(parse_time("2025-12-02T16:04:05.12+01:00"), Some(ms));
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("yesterday"), None);
    }
}
