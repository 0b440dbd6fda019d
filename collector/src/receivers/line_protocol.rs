//! Influx line protocol:
//! `measurement[,tag=value...] field=value[,field=value...] [timestamp]`, one point a line.
//!
//! Escapes follow Influx: `\,` and `\ ` in measurements; `\,`, `\=` and `\ ` in tag and field
//! keys and tag values; `\"` and `\\` inside string field values. Errors name the line.

use std::fmt;

/// A field's value as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// `1.5`, `1`, `-2e3`
    Float(f64),
    /// `12i`
    Int(i64),
    /// `12u`
    UInt(u64),
    /// `t`, `true`, `F`, ...
    Bool(bool),
    /// `"text"`
    Str(String),
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Measurement name.
    pub measurement: String,
    /// Tags in the order sent.
    pub tags: Vec<(String, String)>,
    /// Fields in the order sent (later duplicates win when applied).
    pub fields: Vec<(String, FieldValue)>,
    /// Timestamp in the request's precision, if sent.
    pub timestamp: Option<i64>,
}

/// A line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a request body; the first bad line fails the whole body.
pub fn parse(body: &str) -> Result<Vec<(usize, Point)>, LineError> {
    let mut out = Vec::new();
    for (i, line) in body.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim_start();
        if trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let point = parse_line(trimmed).map_err(|message| LineError {
            line: line_no,
            message,
        })?;
        out.push((line_no, point));
    }
    Ok(out)
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Reads up to an unescaped byte in `stops`; `escapable` bytes may follow a backslash.
    fn read_until(&mut self, stops: &[u8], escapable: &[u8]) -> String {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'\\' {
                if let Some(n) = self.s.get(self.pos + 1).copied() {
                    if escapable.contains(&n) || n == b'\\' {
                        out.push(n);
                        self.pos += 2;
                        continue;
                    }
                }
            } else if stops.contains(&b) {
                break;
            }
            out.push(b);
            self.pos += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') || self.peek() == Some(b'\t') {
            self.pos += 1;
        }
    }
}

fn parse_line(line: &str) -> Result<Point, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let mut c = Cursor {
        s: line.as_bytes(),
        pos: 0,
    };
    let measurement = c.read_until(b", ", b", ");
    if measurement.is_empty() {
        return Err("missing measurement".into());
    }
    let mut tags = Vec::new();
    while c.peek() == Some(b',') {
        c.pos += 1;
        let key = c.read_until(b"=, ", b",= ");
        if c.peek() != Some(b'=') {
            return Err(format!("tag {key:?} has no value (expected key=value)"));
        }
        c.pos += 1;
        let value = c.read_until(b", ", b",= ");
        if key.is_empty() {
            return Err("empty tag key".into());
        }
        if value.is_empty() {
            return Err(format!("tag {key:?} has an empty value"));
        }
        tags.push((key, value));
    }
    if c.peek() != Some(b' ') {
        return Err("missing fields (expected a space after the measurement and tags)".into());
    }
    c.skip_spaces();
    let mut fields = Vec::new();
    loop {
        let key = c.read_until(b"=, ", b",= ");
        if key.is_empty() {
            return Err("missing field key".into());
        }
        if c.peek() != Some(b'=') {
            return Err(format!("field {key:?} has no value (expected key=value)"));
        }
        c.pos += 1;
        let value = parse_field_value(&mut c).map_err(|e| format!("field {key:?}: {e}"))?;
        fields.push((key, value));
        if c.peek() == Some(b',') {
            c.pos += 1;
            continue;
        }
        break;
    }
    c.skip_spaces();
    let rest = std::str::from_utf8(&c.s[c.pos..]).unwrap_or("").trim();
    let timestamp = if rest.is_empty() {
        None
    } else {
        Some(
            rest.parse::<i64>()
                .map_err(|_| format!("invalid timestamp {rest:?} (expected an integer)"))?,
        )
    };
    Ok(Point {
        measurement,
        tags,
        fields,
        timestamp,
    })
}

fn parse_field_value(c: &mut Cursor<'_>) -> Result<FieldValue, String> {
    if c.peek() == Some(b'"') {
        c.pos += 1;
        let mut out = Vec::new();
        loop {
            match c.peek() {
                None => return Err("unterminated string value".into()),
                Some(b'\\') if matches!(c.s.get(c.pos + 1), Some(b'"') | Some(b'\\')) => {
                    out.push(c.s[c.pos + 1]);
                    c.pos += 2;
                }
                Some(b'"') => {
                    c.pos += 1;
                    break;
                }
                Some(b) => {
                    out.push(b);
                    c.pos += 1;
                }
            }
        }
        return Ok(FieldValue::Str(String::from_utf8_lossy(&out).into_owned()));
    }
    let start = c.pos;
    while let Some(b) = c.peek() {
        if b == b',' || b == b' ' || b == b'\t' {
            break;
        }
        c.pos += 1;
    }
    let raw =
        std::str::from_utf8(&c.s[start..c.pos]).map_err(|_| "value is not UTF-8".to_string())?;
    match raw {
        "" => Err("empty value".into()),
        "t" | "T" | "true" | "True" | "TRUE" => Ok(FieldValue::Bool(true)),
        "f" | "F" | "false" | "False" | "FALSE" => Ok(FieldValue::Bool(false)),
        _ if raw.ends_with('i') => raw[..raw.len() - 1]
            .parse()
            .map(FieldValue::Int)
            .map_err(|_| format!("invalid integer {raw:?}")),
        _ if raw.ends_with('u') => raw[..raw.len() - 1]
            .parse()
            .map(FieldValue::UInt)
            .map_err(|_| format!("invalid unsigned integer {raw:?}")),
        _ => {
            // Only plain decimal notation: Rust would also accept "inf" and "NaN".
            let plain = raw
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
            match raw.parse::<f64>() {
                Ok(v) if plain && v.is_finite() => Ok(FieldValue::Float(v)),
                _ => Err(format!("invalid number {raw:?}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_tags_fields_escapes_and_types() {
        let body = "# comment\n\ncpu\\ load,host=a\\,b,region=us\\ east value=0.64,count=3i,up=t,big=7u,msg=\"say \\\"hi\\\"\" 1700000000000000000\n";
        let points = parse(body).unwrap();
        assert_eq!(points.len(), 1);
        let (line, p) = &points[0];
        assert_eq!(*line, 3);
        assert_eq!(p.measurement, "cpu load");
        assert_eq!(
            p.tags,
            vec![
                ("host".into(), "a,b".into()),
                ("region".into(), "us east".into())
            ]
        );
        assert_eq!(
            p.fields,
            vec![
                ("value".into(), FieldValue::Float(0.64)),
                ("count".into(), FieldValue::Int(3)),
                ("up".into(), FieldValue::Bool(true)),
                ("big".into(), FieldValue::UInt(7)),
                ("msg".into(), FieldValue::Str("say \"hi\"".into())),
            ]
        );
        assert_eq!(p.timestamp, Some(1_700_000_000_000_000_000));
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let cases = [
            (
                "m v=1\nm,t=1 v=abc",
                "line 2: field \"v\": invalid number \"abc\"",
            ),
            (
                "m v=1\n\nm",
                "line 3: missing fields (expected a space after the measurement and tags)",
            ),
            (
                "m,t v=1",
                "line 1: tag \"t\" has no value (expected key=value)",
            ),
            (
                "m v=1 12x",
                "line 1: invalid timestamp \"12x\" (expected an integer)",
            ),
            (
                "m v=\"open",
                "line 1: field \"v\": unterminated string value",
            ),
            ("m v=NaN", "line 1: field \"v\": invalid number \"NaN\""),
            (",t=1 v=1", "line 1: missing measurement"),
        ];
        for (body, want) in cases {
            assert_eq!(parse(body).unwrap_err().to_string(), want, "{body:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(body in "\\PC{0,200}") {
            let _ = parse(&body);
        }

        #[test]
        fn round_trips_generated_points(
            m in "[a-z][a-z0-9 ,]{0,8}",
            tags in proptest::collection::vec(("[a-z][a-z0-9 ,=]{0,5}", "[a-z0-9 ,=]{1,6}"), 0..3),
            v in -1e9f64..1e9,
            ts in proptest::option::of(any::<i64>()),
        ) {
            let esc = |s: &str, set: &[char]| s.chars().map(|c| if set.contains(&c) { format!("\\{c}") } else { c.to_string() }).collect::<String>();
            let mut line = esc(&m, &[',', ' ']);
            for (k, val) in &tags {
                line.push_str(&format!(",{}={}", esc(k, &[',', '=', ' ']), esc(val, &[',', '=', ' '])));
            }
            line.push_str(&format!(" f={v:?}"));
            if let Some(t) = ts { line.push_str(&format!(" {t}")); }
            let p = parse(&line).unwrap().remove(0).1;
            prop_assert_eq!(p.measurement, m);
            prop_assert_eq!(p.tags, tags);
            prop_assert_eq!(p.fields, vec![("f".to_string(), FieldValue::Float(v))]);
            prop_assert_eq!(p.timestamp, ts);
        }
    }
}
