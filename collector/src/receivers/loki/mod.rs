//! Loki's push API, for apps and agents that ship logs to Loki (Promtail, Grafana Alloy,
//! logging handlers): `POST /loki/api/v1/push`, JSON (plain or gzip) or snappy-compressed
//! protobuf, answered 204 once durable, as Loki answers.
//!
//! Each entry becomes a log record. The stream's `service_name` label (else `service`,
//! `app`, `application`, `job`) names the service, `level` (else `severity`,
//! `detected_level`, `lvl`) the severity; the other labels and the entry's structured
//! metadata become attributes, and a `trace_id` / `span_id` among them ties the line to
//! its trace. A malformed stream or entry refuses the push whole, naming it.

mod json;
pub mod proto;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use super::log_records::{
    attribute, hex_id, severity_number, text, RecordsByService, UNKNOWN_SERVICE,
};
use super::{Endpoints, Listener, Receiver, Shared, Summary};
use crate::errors::{ErrorBody, IngestError};
use crate::ingest::{IngestPath, IngestState};
use crate::tenant::Tenancy;

/// The ingest path label of Loki pushes.
pub const PATH: IngestPath = IngestPath::new("loki");

/// Labels that name a stream's service, most specific first.
const SERVICE_LABELS: [&str; 5] = ["service_name", "service", "app", "application", "job"];
/// Labels that carry a line's level.
const LEVEL_LABELS: [&str; 4] = ["level", "severity", "detected_level", "lvl"];

/// The Loki push receiver.
#[derive(Debug, Clone, Copy)]
pub struct Loki;

impl Receiver for Loki {
    fn name(&self) -> &'static str {
        PATH.as_str()
    }

    fn summary(&self) -> Summary {
        Summary {
            what: "Loki push",
            listener: Listener::Api,
            paths: &["/loki/api/v1/push"],
        }
    }

    fn endpoints(&self, shared: &Shared) -> Endpoints {
        let state = &shared.ingest;
        Endpoints::Api(
            Router::new()
                .route("/loki/api/v1/push", post(push))
                .with_state(state.clone()),
        )
    }
}

/// One stream of a push, whichever encoding it came in.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Stream {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) entries: Vec<Entry>,
}

/// One line of a stream.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Entry {
    pub(crate) time_ns: u64,
    pub(crate) line: String,
    pub(crate) metadata: Vec<(String, String)>,
}

async fn push(State(state): State<IngestState>, req: Request) -> Response {
    state
        .handle(PATH, ErrorBody::Text, async {
            let to = Tenancy::of_http(req.headers(), req.extensions())?;
            let protobuf = is_protobuf(req.headers())?;
            let (parts, body) = req.into_parts();
            let streams = if protobuf {
                let limit = state.max_body_bytes;
                let raw = axum::body::to_bytes(body, limit)
                    .await
                    .map_err(|_| IngestError::TooLarge { limit })?;
                proto::decode(&raw, limit)?
            } else {
                let body = state.read_body(&parts.headers, body).await?;
                json::decode(&body)?
            };
            let records = to_records(streams, state.now_ns()).map_err(IngestError::BadRequest)?;
            let request = ExportLogsServiceRequest {
                resource_logs: records.into_resource_logs(),
            };
            state.store_logs(PATH, &to, request).await
        })
        .await
}

/// Loki takes JSON or (snappy-compressed) protobuf; protobuf is its default.
fn is_protobuf(headers: &axum::http::HeaderMap) -> Result<bool, IngestError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-protobuf");
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/json" => Ok(false),
        "application/x-protobuf" | "application/protobuf" | "" => Ok(true),
        other => Err(IngestError::UnsupportedMediaType(format!(
            "Content-Type {other:?} is not a Loki push: send application/json or application/x-protobuf (snappy)"
        ))),
    }
}

fn first_of<'a>(labels: &'a [(String, String)], names: &[&str]) -> Option<&'a (String, String)> {
    names
        .iter()
        .find_map(|n| labels.iter().find(|(k, _)| k == n))
}

/// The streams as log records, one resource per service.
pub(crate) fn to_records(streams: Vec<Stream>, now_ns: u64) -> Result<RecordsByService, String> {
    let mut out = RecordsByService::default();
    for (i, stream) in streams.into_iter().enumerate() {
        if stream.labels.is_empty() {
            return Err(format!("streams[{i}]: a stream needs at least one label"));
        }
        let service =
            first_of(&stream.labels, &SERVICE_LABELS).map(|(k, v)| (k.clone(), v.clone()));
        let level = first_of(&stream.labels, &LEVEL_LABELS).map(|(_, v)| v.clone());
        for (j, entry) in stream.entries.into_iter().enumerate() {
            let mut record = LogRecord {
                time_unix_nano: entry.time_ns,
                observed_time_unix_nano: now_ns,
                body: text(entry.line),
                ..Default::default()
            };
            if let Some(level) = &level {
                record.severity_number = severity_number(level);
                record.severity_text = level.clone();
            }
            let extra = stream.labels.iter().chain(entry.metadata.iter());
            for (key, value) in extra {
                if service.as_ref().is_some_and(|(k, _)| k == key) {
                    continue;
                }
                let at = || format!("streams[{i}].values[{j}]");
                match key.as_str() {
                    "trace_id" | "traceID" | "traceId" => {
                        record.trace_id = hex_id(value, 16)
                            .ok_or_else(|| format!("{}: {key} must be 32 hex digits", at()))?;
                    }
                    "span_id" | "spanID" | "spanId" => {
                        record.span_id = hex_id(value, 8)
                            .ok_or_else(|| format!("{}: {key} must be 16 hex digits", at()))?;
                    }
                    _ => record
                        .attributes
                        .push(attribute(key.clone(), value.clone())),
                }
            }
            let name = service
                .as_ref()
                .map_or(UNKNOWN_SERVICE, |(_, v)| v.as_str());
            out.push(name, record);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn streams_become_records_of_their_service() {
        let streams = vec![Stream {
            labels: labels(&[
                ("job", "payment"),
                ("level", "warning"),
                ("channel", "bank-a"),
            ]),
            entries: vec![Entry {
                time_ns: 5,
                line: "transfer slow".into(),
                metadata: labels(&[("trace_id", "0102030405060708090a0b0c0d0e0f10")]),
            }],
        }];
        let records = to_records(streams, 9).expect("converts");
        let logs = records.into_resource_logs();
        assert_eq!(logs.len(), 1);
        let r = &logs[0].scope_logs[0].log_records[0];
        assert_eq!((r.time_unix_nano, r.observed_time_unix_nano), (5, 9));
        assert_eq!(
            (r.severity_number, r.severity_text.as_str()),
            (13, "warning")
        );
        assert_eq!(r.trace_id.len(), 16);
        let keys: Vec<&str> = r.attributes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["level", "channel"]);
        let service = &logs[0].resource.as_ref().expect("resource").attributes[0];
        assert_eq!(service.value, text("payment"));
    }

    #[test]
    fn bad_streams_are_named() {
        let e = to_records(vec![Stream::default()], 0).unwrap_err();
        assert_eq!(e, "streams[0]: a stream needs at least one label");
        let bad_trace = vec![Stream {
            labels: labels(&[("app", "x")]),
            entries: vec![
                Entry::default(),
                Entry {
                    metadata: labels(&[("traceID", "xyz")]),
                    ..Default::default()
                },
            ],
        }];
        let e = to_records(bad_trace, 0).unwrap_err();
        assert_eq!(e, "streams[0].values[1]: traceID must be 32 hex digits");
    }
}
