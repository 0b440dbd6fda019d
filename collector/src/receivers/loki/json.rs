//! Loki's JSON push body: `{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>"],
//! ["<ns>", "<line>", {structured metadata}]]}]}`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Entry, Stream};
use crate::errors::IngestError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Push {
    streams: Vec<JsonStream>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonStream {
    #[serde(default)]
    stream: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<Vec<Value>>,
}

/// Decodes a whole JSON push; the error names the stream and entry at fault.
pub(super) fn decode(body: &[u8]) -> Result<Vec<Stream>, IngestError> {
    let push: Push = serde_json::from_slice(body)
        .map_err(|e| IngestError::BadRequest(format!("body is not a Loki JSON push: {e}")))?;
    push.streams
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let entries = s
                .values
                .into_iter()
                .enumerate()
                .map(|(j, v)| {
                    entry(v).map_err(|e| {
                        IngestError::BadRequest(format!("streams[{i}].values[{j}]: {e}"))
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Stream {
                labels: s.stream.into_iter().collect(),
                entries,
            })
        })
        .collect()
}

/// `["<ns>", "<line>"]` or `["<ns>", "<line>", {"key": "value"}]`.
fn entry(value: Vec<Value>) -> Result<Entry, String> {
    let mut it = value.into_iter();
    let (Some(Value::String(ts)), Some(Value::String(line))) = (it.next(), it.next()) else {
        return Err(
            "an entry is [\"<unix ns>\", \"<line>\"] with an optional metadata object".into(),
        );
    };
    let time_ns = ts
        .parse::<u64>()
        .map_err(|_| format!("timestamp {ts:?} is not a number of nanoseconds"))?;
    let metadata = match it.next() {
        None => Vec::new(),
        Some(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                other => Err(format!(
                    "structured metadata {k:?} is not a string: {other}"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "structured metadata must be an object, got {other}"
            ))
        }
    };
    if it.next().is_some() {
        return Err("an entry has at most three elements".into());
    }
    Ok(Entry {
        time_ns,
        line,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_streams_and_names_bad_entries() {
        let body = br#"{"streams":[{"stream":{"job":"risk","level":"info"},"values":[["1700000000000000000","scored"],["1700000000000000001","late",{"trace_id":"ab"}]]}]}"#;
        let streams = decode(body).expect("decodes");
        assert_eq!(streams[0].labels[0], ("job".into(), "risk".into()));
        assert_eq!(streams[0].entries[1].time_ns, 1_700_000_000_000_000_001);
        assert_eq!(
            streams[0].entries[1].metadata,
            [("trace_id".into(), "ab".into())]
        );
        let bad = br#"{"streams":[{"stream":{"job":"a"},"values":[["1","ok"],[12,"x"]]}]}"#;
        let e = decode(bad).unwrap_err().to_string();
        assert!(e.starts_with("streams[0].values[1]: an entry is"), "{e}");
        let e = decode(br#"{"streams":[{"stream":{"job":"a"},"values":[["soon","x"]]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"soon\" is not a number of nanoseconds"), "{e}");
        assert!(decode(b"{")
            .unwrap_err()
            .to_string()
            .contains("not a Loki JSON push"));
    }
}
