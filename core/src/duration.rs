//! Durations as Prometheus writes them: `30s`, `5m`, `1h30m`, `2d`, `1w`, `1y`, `100ms`, or
//! `0`. The one reader and writer of this notation in Taishan: rule files, promtool tests,
//! the query API's `step`, PromQL test scripts, templates' `humanizeDuration` inputs and
//! `alertmanager.yml` all go through [`parse`] and [`format`].
//!
//! [`parse`] is Prometheus's `model.ParseDuration` (units largest first, each at most once;
//! `0` allowed, fractions not); [`format`] is its `model.Duration.String` (years and weeks
//! only when they divide the whole, so 8 days print as `8d`, not `1w1d`).

use std::time::Duration;

/// The units, largest first, in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * DAY_MS),
    ("w", 7 * DAY_MS),
    ("d", DAY_MS),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

const DAY_MS: u64 = 86_400_000;

/// A duration that Prometheus would not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was written.
    #[error("empty duration string")]
    Empty,
    /// Not numbers with units, largest first.
    #[error("not a valid duration string: {0:?} (examples: 30s, 5m, 1h30m, 2d, 1w; units ms, s, m, h, d, w, y)")]
    Invalid(String),
    /// More milliseconds than fit.
    #[error("duration out of range: {0:?}")]
    OutOfRange(String),
}

/// Parses a Prometheus duration; units must go from largest to smallest, each at most once.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let bad = || DurationError::Invalid(text.to_string());
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut last_rank: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let rank = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        if last_rank.is_some_and(|r| r >= rank) {
            return Err(bad());
        }
        last_rank = Some(rank);
        total = n
            .checked_mul(UNITS[rank].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| DurationError::OutOfRange(text.to_string()))?;
    }
    Ok(Duration::from_millis(total))
}

/// [`parse`], in milliseconds as `i64` (the unit of sample timestamps).
pub fn parse_ms(text: &str) -> Result<i64, DurationError> {
    let d = parse(text)?;
    i64::try_from(d.as_millis()).map_err(|_| DurationError::OutOfRange(text.to_string()))
}

/// Writes `d` as Prometheus does: `1h30m`, `5m`, `8d`, `2w`, `0s`; below a millisecond is
/// dropped.
pub fn format(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        // Years and weeks only when exact: 90d reads better than 12w6d.
        let exact_only = size >= UNITS[1].1;
        if ms >= size && !(exact_only && ms % size != 0) {
            out.push_str(&(ms / size).to_string());
            out.push_str(unit);
            ms %= size;
        }
    }
    out
}

/// [`format`] of a millisecond count; negative counts print with a leading `-`.
pub fn format_ms(ms: i64) -> String {
    let text = format(Duration::from_millis(ms.unsigned_abs()));
    match ms < 0 {
        true => format!("-{text}"),
        false => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_prometheus_reads() {
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("2w"), Ok(Duration::from_secs(1_209_600)));
        assert_eq!(parse("1y"), Ok(Duration::from_secs(31_536_000)));
        assert_eq!(parse_ms("1m30s"), Ok(90_000));
        assert_eq!(parse(""), Err(DurationError::Empty));
        for bad in ["5", "30m1h", "1.5h", "1h1h", "h", "1x", "-1m", " 1m"] {
            assert!(
                matches!(parse(bad), Err(DurationError::Invalid(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("99999999999999999y"),
            Err(DurationError::OutOfRange(_))
        ));
    }

    #[test]
    fn formats_as_prometheus_writes() {
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_secs(60)), "1m");
        assert_eq!(format(Duration::ZERO), "0s");
        assert_eq!(format(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format(Duration::from_secs(8 * 86_400)), "8d");
        assert_eq!(format(Duration::from_secs(14 * 86_400)), "2w");
        assert_eq!(format(Duration::from_secs(365 * 86_400)), "1y");
        assert_eq!(format(Duration::from_secs(90 * 86_400 + 3600)), "90d1h");
        assert_eq!(format_ms(-90_000), "-1m30s");
    }

    proptest::proptest! {
        #[test]
        fn what_is_written_reads_back(ms in 0u64..10_000_000_000_000) {
            let d = Duration::from_millis(ms);
            proptest::prop_assert_eq!(parse(&format(d)), Ok(d));
        }
    }
}
