//! Prometheus's number and time formatting for alert text: `humanize` (SI prefixes),
//! `humanize1024`, `humanizeDuration`, and timestamps as Go prints a UTC `time.Time`.

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

/// Go's `time.Time.String()` for a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub(crate) fn go_time_string(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    // Every i64 of nanoseconds is within chrono's years.
    let mut out = chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    if frac != 0 {
        let f = format!("{frac:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
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

    #[test]
    fn timestamps_print_as_go_times() {
        assert_eq!(go_time_string(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_time_string(-1_000_000_000),
            "1969-12-31 23:59:59 +0000 UTC"
        );
        assert_eq!(
            go_time_string(1_234_567_000_000_000),
            "1970-01-15 06:56:07 +0000 UTC"
        );
        assert_eq!(
            go_time_string(1_435_065_584_128_000_000),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
    }
}
