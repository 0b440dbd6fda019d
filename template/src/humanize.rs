//! Prometheus's number and time formatting for alert text: `humanize` (SI prefixes),
//! `humanize1024`, `humanizeDuration`.

use super::go_fmt::format_g;

/// Prometheus's `humanize`: SI prefixes, four significant digits.
pub(crate) fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format_g(v, Some(4));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

pub(crate) fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return format_g(v, Some(4));
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

pub(crate) fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return format_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", format_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        return if days != 0 {
            format!("{sign}{days}d {h}h {m}m {s}s")
        } else if h != 0 {
            format!("{sign}{h}h {m}m {s}s")
        } else if m != 0 {
            format!("{sign}{m}m {s}s")
        } else {
            format!("{sign}{}s", format_g(v, Some(4)))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_g(v, Some(4)))
}

/// Seconds to nanoseconds at millisecond precision, as Prometheus's `floatToTime`;
/// `None` for NaN and infinities.
pub(crate) fn float_to_time(v: f64) -> Result<Option<i64>, String> {
    if !v.is_finite() {
        return Ok(None);
    }
    let ns = v * 1e9;
    if ns >= i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            format_g(v, None)
        ));
    }
    Ok(Some((ns as i64).div_euclid(1_000_000) * 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizers_match_prometheus() {
        let h: Vec<String> = [0.0, 1.0, 1234567.0, 0.12]
            .into_iter()
            .map(humanize)
            .collect();
        assert_eq!(h, ["0", "1", "1.235M", "120m"]);
        let h: Vec<String> = [0.0, 1.0, 1048576.0, 0.12]
            .into_iter()
            .map(humanize1024)
            .collect();
        assert_eq!(h, ["0", "1", "1Mi", "0.12"]);
        let d: Vec<String> = [
            0.0,
            1.0,
            60.0,
            3600.0,
            86400.0,
            86400.0 + 3600.0,
            -(162_245.0),
            899.99,
        ]
        .into_iter()
        .map(humanize_duration)
        .collect();
        assert_eq!(
            d,
            [
                "0s",
                "1s",
                "1m 0s",
                "1h 0m 0s",
                "1d 0h 0m 0s",
                "1d 1h 0m 0s",
                "-1d 21h 4m 5s",
                "14m 59s"
            ]
        );
        let d: Vec<String> = [0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345]
            .into_iter()
            .map(humanize_duration)
            .collect();
        assert_eq!(
            d,
            ["100ms", "100us", "123.5ms", "1m 0s", "1m 0s", "1.234s", "12.35s"]
        );
    }
}
