//! JSON lines for apps without an OpenTelemetry SDK: `POST /api/v1/logs`, one JSON object
//! per line (plain or gzip). Common field names are understood — `time`/`timestamp`/`ts`,
//! `level`/`severity`, `message`/`msg`/`body`, `service`, `trace_id`/`traceId`,
//! `span_id`/`spanId` — and every other field becomes an attribute. A malformed line refuses
//! the whole request with its line number.

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs};
use serde_json::Value;

use super::log_records::{
    attribute, hex_id, severity_number, text, RecordsByService, UNKNOWN_SERVICE,
};
use super::{Endpoints, Listener, Receiver, Shared, Summary};
use crate::errors::{ErrorBody, IngestError};
use crate::ingest::{IngestPath, IngestState};
use crate::tenant::Tenancy;

/// The ingest path label of JSON log lines.
pub const PATH: IngestPath = IngestPath::new("json_logs");

/// The JSON-lines log receiver.
#[derive(Debug, Clone, Copy)]
pub struct JsonLogs;

impl Receiver for JsonLogs {
    fn name(&self) -> &'static str {
        PATH.as_str()
    }

    fn summary(&self) -> Summary {
        Summary {
            what: "JSON log lines",
            listener: Listener::Api,
            paths: &["/api/v1/logs"],
        }
    }

    fn endpoints(&self, shared: &Shared) -> Endpoints {
        let state = &shared.ingest;
        Endpoints::Api(
            Router::new()
                .route("/api/v1/logs", post(receive))
                .with_state(state.clone()),
        )
    }
}

/// A timestamp: RFC 3339, or a number of seconds, milliseconds or nanoseconds (told apart
/// by magnitude).
fn time_ns(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => humantime::parse_rfc3339_weak(s)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as u64),
        Value::Number(n) => {
            let f = n.as_f64()?;
            if !f.is_finite() || f < 0.0 {
                return None;
            }
            Some(if f < 1e11 {
                (f * 1e9) as u64
            } else if f < 1e14 {
                (f * 1e6) as u64
            } else {
                f as u64
            })
        }
        _ => None,
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One line as a log record and its service; the error names what is wrong.
fn parse_line(line: &str, now_ns: u64) -> Result<(String, LogRecord), String> {
    let Value::Object(fields) =
        serde_json::from_str::<Value>(line).map_err(|e| format!("not JSON: {e}"))?
    else {
        return Err("not a JSON object".into());
    };
    let mut record = LogRecord {
        observed_time_unix_nano: now_ns,
        ..Default::default()
    };
    let mut service = String::from(UNKNOWN_SERVICE);
    for (key, value) in fields {
        match key.as_str() {
            "time" | "timestamp" | "ts" | "@timestamp" => {
                record.time_unix_nano =
                    time_ns(&value).ok_or_else(|| format!("{key:?} is not a time: {value}"))?;
            }
            "level" | "severity" | "lvl" => {
                let level = scalar_text(&value);
                record.severity_number = severity_number(&level);
                record.severity_text = level;
            }
            "message" | "msg" | "body" | "log" => record.body = text(scalar_text(&value)),
            "service" | "service.name" | "service_name" | "app" => service = scalar_text(&value),
            "trace_id" | "traceId" | "trace.id" => {
                record.trace_id = hex_id(&scalar_text(&value), 16)
                    .ok_or_else(|| format!("{key:?} must be 32 hex digits"))?;
            }
            "span_id" | "spanId" | "span.id" => {
                record.span_id = hex_id(&scalar_text(&value), 8)
                    .ok_or_else(|| format!("{key:?} must be 16 hex digits"))?;
            }
            _ => record.attributes.push(attribute(key, scalar_text(&value))),
        }
    }
    Ok((service, record))
}

/// A line of a JSON-lines body that is not a log record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct JsonLineError {
    /// Its number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// Parses a whole body into OTLP resource logs, one resource per service.
pub fn parse_json_lines(body: &str, now_ns: u64) -> Result<Vec<ResourceLogs>, JsonLineError> {
    let mut records = RecordsByService::default();
    for (n, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (service, record) = parse_line(line, now_ns).map_err(|message| JsonLineError {
            line: n + 1,
            message,
        })?;
        records.push(&service, record);
    }
    Ok(records.into_resource_logs())
}

async fn receive(State(state): State<IngestState>, req: Request) -> Response {
    state
        .handle(PATH, ErrorBody::Text, async {
            let to = Tenancy::of_http(req.headers(), req.extensions())?;
            let (parts, body) = req.into_parts();
            let bytes = state.read_body(&parts.headers, body).await?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| IngestError::BadRequest("body is not UTF-8".into()))?;
            let resource_logs = parse_json_lines(text, state.now_ns())
                .map_err(|e| IngestError::BadRequest(e.to_string()))?;
            let request = ExportLogsServiceRequest { resource_logs };
            state.store_logs(PATH, &to, request).await
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_field_names_are_understood() {
        let body = "{\"ts\": 1700000000.5, \"level\": \"warn\", \"msg\": \"slow\", \"service\": \"risk\", \"trace_id\": \"0102030405060708090a0b0c0d0e0f10\", \"order\": 42}\n\n{\"message\": \"hi\", \"time\": \"2023-11-14T22:13:20Z\"}\n";
        let logs = parse_json_lines(body, 7).unwrap();
        assert_eq!(logs.len(), 2);
        let r = &logs[0].scope_logs[0].log_records[0];
        assert_eq!(r.time_unix_nano, 1_700_000_000_500_000_000);
        assert_eq!((r.severity_number, r.severity_text.as_str()), (13, "warn"));
        assert_eq!(r.trace_id.len(), 16);
        assert_eq!(r.attributes[0].key, "order");
        let r2 = &logs[1].scope_logs[0].log_records[0];
        assert_eq!(r2.time_unix_nano, 1_700_000_000_000_000_000);
        assert_eq!(r2.observed_time_unix_nano, 7);
        let err = parse_json_lines("{\"msg\": 1}\n{bad\n", 0)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 2: not JSON"), "{err}");
        assert!(parse_json_lines("{\"trace_id\": \"xyz\"}", 0)
            .unwrap_err()
            .to_string()
            .contains("32 hex digits"));
    }
}
