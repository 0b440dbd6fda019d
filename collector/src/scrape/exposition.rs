//! The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 text, as scraped.
//!
//! Metadata lines (`# HELP`, `# TYPE`, `# UNIT`) are collected beside the samples, for the
//! metadata API; series are stored as exposed.
//! OpenMetrics differs where it matters here: timestamps are seconds (not milliseconds),
//! exemplars may follow ` # `, and `# EOF` ends the exposition.

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`
    PrometheusText,
    /// `application/openmetrics-text`
    OpenMetrics,
}

impl Format {
    /// The format announced by a `Content-Type`.
    pub fn from_content_type(ct: &str) -> Self {
        if ct.trim_start().starts_with("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::PrometheusText
        }
    }
}

/// One exposed sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposedSample {
    /// Metric name.
    pub name: String,
    /// Labels as exposed, in order.
    pub labels: Vec<(String, String)>,
    /// Value.
    pub value: f64,
    /// Timestamp in ms, when the exposition gives one.
    pub timestamp_ms: Option<i64>,
}

/// What a `# TYPE`, `# HELP` or `# UNIT` line says about one family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamilyMetadata {
    /// Family name.
    pub name: String,
    /// Its type (`unknown` when no `# TYPE` line).
    pub kind: String,
    /// Its help text.
    pub help: String,
    /// Its unit.
    pub unit: String,
}

/// A parsed exposition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// The samples, in order.
    pub samples: Vec<ExposedSample>,
    /// Metadata by family, in order of first mention.
    pub metadata: Vec<FamilyMetadata>,
}

/// Why an exposition does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpositionError {
    /// A line that is no sample, comment or blank.
    #[error("line {line}: {message}")]
    Line {
        /// Its number, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// OpenMetrics without its closing `# EOF`.
    #[error("OpenMetrics exposition does not end with # EOF")]
    MissingEof,
}

/// Parses an exposition; the first bad line fails it (as a Prometheus scrape does).
pub fn parse(text: &str, format: Format) -> Result<Exposition, ExpositionError> {
    let mut out = Vec::new();
    let mut metadata: Vec<FamilyMetadata> = Vec::new();
    let mut saw_eof = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if format == Format::OpenMetrics && comment.trim() == "EOF" {
                saw_eof = true;
                break;
            }
            note_metadata(comment, &mut metadata);
            continue;
        }
        let sample = parse_sample(line, format).map_err(|message| ExpositionError::Line {
            line: i + 1,
            message,
        })?;
        out.push(sample);
    }
    if format == Format::OpenMetrics && !saw_eof {
        return Err(ExpositionError::MissingEof);
    }
    Ok(Exposition {
        samples: out,
        metadata,
    })
}

/// Records a `HELP`, `TYPE` or `UNIT` comment; other comments are ignored.
fn note_metadata(comment: &str, metadata: &mut Vec<FamilyMetadata>) {
    let mut parts = comment.trim_start().splitn(3, ' ');
    let (Some(keyword), Some(name)) = (parts.next(), parts.next()) else {
        return;
    };
    if !matches!(keyword, "HELP" | "TYPE" | "UNIT") || name.is_empty() {
        return;
    }
    let text = parts.next().unwrap_or("").trim();
    let entry = match metadata.iter().position(|m| m.name == name) {
        Some(i) => &mut metadata[i],
        None => {
            metadata.push(FamilyMetadata {
                name: name.to_string(),
                kind: "unknown".into(),
                ..FamilyMetadata::default()
            });
            let last = metadata.len() - 1;
            &mut metadata[last]
        }
    };
    match keyword {
        "HELP" => entry.help = text.replace("\\n", "\n").replace("\\\\", "\\"),
        "TYPE" => entry.kind = text.to_string(),
        _ => entry.unit = text.to_string(),
    }
}

fn parse_sample(line: &str, format: Format) -> Result<ExposedSample, String> {
    let bytes = line.as_bytes();
    let mut pos = 0;
    while pos < bytes.len()
        && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_' || bytes[pos] == b':')
    {
        pos += 1;
    }
    let name = &line[..pos];
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return Err(format!("invalid metric name at {:?}", truncate(line)));
    }
    let mut labels = Vec::new();
    if bytes.get(pos) == Some(&b'{') {
        pos += 1;
        loop {
            while bytes.get(pos) == Some(&b' ') {
                pos += 1;
            }
            if bytes.get(pos) == Some(&b'}') {
                pos += 1;
                break;
            }
            let start = pos;
            while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_') {
                pos += 1;
            }
            let lname = &line[start..pos];
            if lname.is_empty() {
                return Err(format!("invalid label name in {:?}", truncate(line)));
            }
            if bytes.get(pos) != Some(&b'=') || bytes.get(pos + 1) != Some(&b'"') {
                return Err(format!("label {lname:?} needs =\"value\""));
            }
            pos += 2;
            let mut value = String::new();
            loop {
                match bytes.get(pos) {
                    None => return Err(format!("unterminated value of label {lname:?}")),
                    Some(b'\\') => {
                        match bytes.get(pos + 1) {
                            Some(b'n') => value.push('\n'),
                            Some(b'"') => value.push('"'),
                            Some(b'\\') => value.push('\\'),
                            _ => return Err(format!("invalid escape in label {lname:?}")),
                        }
                        pos += 2;
                    }
                    Some(b'"') => {
                        pos += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = line[pos..].chars().next().unwrap_or('\u{fffd}');
                        value.push(ch);
                        pos += ch.len_utf8();
                    }
                }
            }
            labels.push((lname.to_string(), value));
            while bytes.get(pos) == Some(&b' ') {
                pos += 1;
            }
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b'}') => {
                    pos += 1;
                    break;
                }
                _ => return Err(format!("expected , or }} after label {lname:?}")),
            }
        }
    }
    let mut rest = &line[pos..];
    if format == Format::OpenMetrics {
        if let Some(cut) = rest.find('#') {
            rest = &rest[..cut];
        }
    }
    let mut parts = rest.split_whitespace();
    let value_text = parts
        .next()
        .ok_or_else(|| format!("missing value for {name}"))?;
    let value = parse_value(value_text)
        .ok_or_else(|| format!("invalid value {value_text:?} for {name}"))?;
    let timestamp_ms = match parts.next() {
        None => None,
        Some(ts) => Some(match format {
            Format::PrometheusText => ts
                .parse::<i64>()
                .map_err(|_| format!("invalid timestamp {ts:?}"))?,
            Format::OpenMetrics => {
                let secs: f64 = ts
                    .parse()
                    .map_err(|_| format!("invalid timestamp {ts:?}"))?;
                if !secs.is_finite() {
                    return Err(format!("invalid timestamp {ts:?}"));
                }
                (secs * 1000.0).round() as i64
            }
        }),
    };
    if parts.next().is_some() {
        return Err(format!("unexpected text after the sample of {name}"));
    }
    Ok(ExposedSample {
        name: name.to_string(),
        labels,
        value,
        timestamp_ms,
    })
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_text_format() {
        let text = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\nhttp_requests_total{path=\"a\\\"b\\\\c\\nd\",} 3\nup +Inf\nlatency NaN\n";
        let e = parse(text, Format::PrometheusText).unwrap();
        assert_eq!(
            e.metadata,
            vec![FamilyMetadata {
                name: "http_requests_total".into(),
                kind: "counter".into(),
                help: "Requests.".into(),
                unit: String::new(),
            }]
        );
        let s = e.samples;
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0].labels,
            vec![
                ("method".into(), "post".into()),
                ("code".into(), "200".into())
            ]
        );
        assert_eq!(s[0].timestamp_ms, Some(1_395_066_363_000));
        assert_eq!(s[1].labels[0].1, "a\"b\\c\nd");
        assert_eq!(s[2].value, f64::INFINITY);
        assert!(s[3].value.is_nan());
    }

    #[test]
    fn parses_openmetrics_with_seconds_exemplars_and_eof() {
        let text = "# TYPE loans counter\nloans_total{bank=\"a\"} 17 1700000000.5 # {trace_id=\"x\"} 1\n# EOF\n";
        let s = parse(text, Format::OpenMetrics).unwrap().samples;
        assert_eq!(s[0].timestamp_ms, Some(1_700_000_000_500));
        assert_eq!(s[0].value, 17.0);
        assert!(parse("a 1\n", Format::OpenMetrics)
            .unwrap_err()
            .to_string()
            .contains("EOF"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("ok 1\nbad{x=1} 2\n", Format::PrometheusText)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "line 2: label \"x\" needs =\"value\"");
        assert!(parse("m abc", Format::PrometheusText)
            .unwrap_err()
            .to_string()
            .contains("invalid value"));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text, Format::PrometheusText);
            let _ = parse(&text, Format::OpenMetrics);
        }
    }
}
