//! Loki's protobuf push body (`logproto.PushRequest`), snappy block-compressed as every Loki
//! client sends it. Stream labels arrive as one string in Prometheus's selector syntax,
//! `{job="payment", level="warn"}`.

use super::{Entry, Stream};
use crate::errors::IngestError;

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    /// The streams.
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    /// `{name="value", ...}`.
    #[prost(string, tag = "1")]
    pub labels: String,
    /// The lines.
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    /// The labels' hash (ignored).
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    /// When.
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// The line.
    #[prost(string, tag = "2")]
    pub line: String,
    /// Structured metadata.
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPair>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// The name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// Decodes a snappy-compressed push of at most `limit` bytes once decompressed.
pub(super) fn decode(raw: &[u8], limit: usize) -> Result<Vec<Stream>, IngestError> {
    let not_snappy = |e: snap::Error| {
        IngestError::BadRequest(format!("body is not snappy block-compressed: {e}"))
    };
    if snap::raw::decompress_len(raw).map_err(not_snappy)? > limit {
        return Err(IngestError::TooLarge { limit });
    }
    let data = snap::raw::Decoder::new()
        .decompress_vec(raw)
        .map_err(not_snappy)?;
    let push: PushRequest = prost::Message::decode(data.as_slice())
        .map_err(|e| IngestError::BadRequest(format!("body is not a Loki protobuf push: {e}")))?;
    push.streams
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let labels = parse_labels(&s.labels).map_err(|e| {
                IngestError::BadRequest(format!("streams[{i}]: labels {:?}: {e}", s.labels))
            })?;
            let entries = s
                .entries
                .into_iter()
                .enumerate()
                .map(|(j, e)| {
                    entry(e).map_err(|why| {
                        IngestError::BadRequest(format!("streams[{i}].values[{j}]: {why}"))
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Stream { labels, entries })
        })
        .collect()
}

fn entry(e: EntryAdapter) -> Result<Entry, String> {
    let ts = e.timestamp.unwrap_or_default();
    let time_ns = u64::try_from(ts.seconds)
        .ok()
        .zip(u64::try_from(ts.nanos).ok())
        .and_then(|(s, n)| s.checked_mul(1_000_000_000)?.checked_add(n))
        .ok_or_else(|| format!("timestamp {}s {}ns is out of range", ts.seconds, ts.nanos))?;
    Ok(Entry {
        time_ns,
        line: e.line,
        metadata: e
            .structured_metadata
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect(),
    })
}

/// `{name="value", other="with \"quotes\""}` as pairs.
pub(crate) fn parse_labels(text: &str) -> Result<Vec<(String, String)>, String> {
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or("expected {name=\"value\", ...}")?;
    let mut out = Vec::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or("expected name=\"value\"")?;
        let name = rest[..eq].trim();
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("{name:?} is not a label name"));
        }
        let (value, after) = quoted(rest[eq + 1..].trim_start())?;
        out.push((name.to_string(), value));
        rest = after.trim_start();
        rest = match rest.strip_prefix(',') {
            Some(r) => r.trim_start(),
            None if rest.is_empty() => rest,
            None => return Err(format!("expected , or }} before {rest:?}")),
        };
    }
    Ok(out)
}

/// A double-quoted string with Go's escapes, and what follows it.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let body = s
        .strip_prefix('"')
        .ok_or("a label value is a double-quoted string")?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &body[i + 1..])),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(c @ ('"' | '\\')) => value.push(c),
                other => return Err(format!("unknown escape \\{}", other.unwrap_or(' '))),
            },
            c => value.push(c),
        }
    }
    Err("unterminated label value".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_strings_parse_as_prometheus_writes_them() {
        assert_eq!(
            parse_labels(r#"{job="payment", msg="say \"hi\"\n",x="}"}"#).expect("parses"),
            [
                ("job".to_string(), "payment".to_string()),
                ("msg".to_string(), "say \"hi\"\n".to_string()),
                ("x".to_string(), "}".to_string())
            ]
        );
        assert_eq!(parse_labels("{}").expect("empty"), []);
        for bad in [
            "job=\"a\"",
            "{job=a}",
            "{1x=\"a\"}",
            "{a=\"b\" c=\"d\"}",
            "{a=\"b}",
        ] {
            assert!(parse_labels(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decodes_a_snappy_push() {
        let push = PushRequest {
            streams: vec![StreamAdapter {
                labels: r#"{service_name="loan", level="error"}"#.into(),
                entries: vec![EntryAdapter {
                    timestamp: Some(Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 7,
                    }),
                    line: "drawdown failed".into(),
                    structured_metadata: vec![LabelPair {
                        name: "trace_id".into(),
                        value: "0102030405060708090a0b0c0d0e0f10".into(),
                    }],
                }],
                hash: 0,
            }],
        };
        let raw = snap::raw::Encoder::new()
            .compress_vec(&prost::Message::encode_to_vec(&push))
            .expect("compresses");
        let streams = decode(&raw, 1 << 20).expect("decodes");
        assert_eq!(streams[0].entries[0].time_ns, 1_700_000_000_000_000_007);
        assert_eq!(streams[0].labels.len(), 2);
        assert!(matches!(
            decode(&raw, 4),
            Err(IngestError::TooLarge { limit: 4 })
        ));
        assert!(decode(b"plain", 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("snappy"));
    }
}
