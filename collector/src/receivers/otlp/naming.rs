//! OpenTelemetry metric and attribute names in Prometheus form, following the
//! OpenTelemetry-to-Prometheus compatibility conventions: invalid characters become `_`,
//! the unit becomes a suffix (`s` → `_seconds`, `By` → `_bytes`, `{requests}` dropped,
//! `m/s` → `_meters_per_second`), monotonic sums end in `_total`, gauges of unit `1` in
//! `_ratio`.

/// Unit names for the UCUM codes OpenTelemetry uses.
fn unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => return None,
    })
}

/// Per-time units after a `/`.
fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// `name` with every character that is not `[a-zA-Z0-9_:]` replaced by `_`, and a leading
/// digit prefixed with `_`.
pub fn sanitize_metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// An attribute key as a label name: invalid characters become `_` and a leading digit gets
/// a `key_` prefix, as the conventions say.
pub fn sanitize_label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// The unit as a name suffix (without the leading `_`), or none.
fn unit_suffix(unit: &str) -> Option<String> {
    // Annotations in braces carry no unit: `{requests}`, `{packet}/s` keeps the `/s`.
    let mut cleaned = String::with_capacity(unit.len());
    let mut depth = 0;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            c if depth == 0 => cleaned.push(c),
            _ => {}
        }
    }
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "1" {
        return None;
    }
    let (main, per) = match cleaned.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (cleaned, None),
    };
    let main_word = match main {
        "" | "1" => None,
        m => Some(
            unit_word(m)
                .map(str::to_string)
                .unwrap_or_else(|| sanitize_label_name(m)),
        ),
    };
    let per_word = per.filter(|p| !p.is_empty()).map(|p| {
        per_unit_word(p)
            .map(str::to_string)
            .unwrap_or_else(|| sanitize_label_name(p))
    });
    match (main_word, per_word) {
        (Some(m), Some(p)) => Some(format!("{m}_per_{p}")),
        (Some(m), None) => Some(m),
        (None, Some(p)) => Some(format!("per_{p}")),
        (None, None) => None,
    }
}

/// What kind of Prometheus metric an OTLP metric becomes (it decides the suffixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A monotonic sum: `_total`.
    Counter,
    /// A gauge or a non-monotonic sum; unit `1` gives `_ratio`.
    Gauge,
    /// A histogram or summary: its `_bucket`/`_sum`/`_count` follow the base name.
    Distribution,
}

/// The Prometheus base name of an OTLP metric.
pub fn metric_name(name: &str, unit: &str, shape: Shape) -> String {
    let mut out = sanitize_metric_name(name);
    // Collapse runs of `_` the replacements made, as the conventions do.
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    if let Some(suffix) = unit_suffix(unit) {
        if !out.ends_with(&format!("_{suffix}")) && !out.contains(&format!("_{suffix}_")) {
            out.push('_');
            out.push_str(&suffix);
        }
    }
    match shape {
        Shape::Counter if !out.ends_with("_total") => out.push_str("_total"),
        Shape::Gauge if unit.trim() == "1" && !out.ends_with("_ratio") => out.push_str("_ratio"),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        assert_eq!(
            metric_name("http.server.request.duration", "s", Shape::Distribution),
            "http_server_request_duration_seconds"
        );
        assert_eq!(
            metric_name("payments.processed", "{payment}", Shape::Counter),
            "payments_processed_total"
        );
        assert_eq!(
            metric_name("process.memory.usage", "By", Shape::Gauge),
            "process_memory_usage_bytes"
        );
        assert_eq!(
            metric_name("cpu.utilization", "1", Shape::Gauge),
            "cpu_utilization_ratio"
        );
        assert_eq!(
            metric_name("throughput", "m/s", Shape::Gauge),
            "throughput_meters_per_second"
        );
        assert_eq!(
            metric_name("requests_total", "", Shape::Counter),
            "requests_total"
        );
        assert_eq!(
            metric_name("latency_seconds", "s", Shape::Gauge),
            "latency_seconds"
        );
        assert_eq!(metric_name("2xx", "", Shape::Gauge), "_2xx");
        assert_eq!(sanitize_label_name("http.route"), "http_route");
        assert_eq!(sanitize_label_name("1st"), "key_1st");
    }
}
