//! Durations as Prometheus writes them in rule files: `30s`, `5m`, `1h30m`, `2d`, `1w`, `1y`,
//! `100ms`, or `0`. Parsed here as Prometheus's `model.ParseDuration` does (units largest
//! first, each at most once; `0` allowed, fractions not), which the PromQL parser's looser
//! reader does not check; printed by `promql_parser::util::display_duration`.

use std::time::Duration;

/// The units, largest first, in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 31_536_000_000),
    ("w", 604_800_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

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
pub fn parse_prometheus(text: &str) -> Result<Duration, DurationError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::util::display_duration;

    #[test]
    fn parses_and_prints() {
        assert_eq!(parse_prometheus("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_prometheus("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_prometheus("0"), Ok(Duration::ZERO));
        assert_eq!(parse_prometheus("2w"), Ok(Duration::from_secs(1_209_600)));
        assert!(parse_prometheus("5").is_err());
        assert!(parse_prometheus("30m1h").is_err());
        assert!(parse_prometheus("1.5h").is_err());
        assert_eq!(display_duration(&Duration::from_secs(5400)), "1h30m");
        assert_eq!(display_duration(&Duration::from_secs(60)), "1m");
    }
}
